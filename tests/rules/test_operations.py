import itertools
import json

import pytest

from bot.errors import ChainDataError
from bot.operations import Comment, DeleteComment, Vote, parse_block, parse_blocks, parse_timestamp
from tests.support.blocks import block, delete, post, vote
from tests.support.paths import FIXTURES


def test_vote_comment_and_delete_operations_become_events_in_chain_order() -> None:
    raw = block(7, post("alice", "p1"), vote("bob", "alice", "p1", 5000), delete("alice", "p1"))
    parsed = parse_block(raw)
    assert parsed.num == 7
    assert parsed.events == (
        Comment("alice", "p1", "", "hive-123", "hello"),
        Vote("bob", "alice", "p1", 5000),
        DeleteComment("alice", "p1"),
    )


def test_operations_the_bot_does_not_count_are_skipped() -> None:
    raw = block(3, {"type": "custom_json_operation", "value": {"id": "x"}}, {"type": "future_operation"})
    assert parse_block(raw).events == ()


def test_timestamp_is_read_as_utc() -> None:
    assert parse_timestamp("1970-01-02T00:00:00") == 86_400


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.pop("timestamp"), "block 9: Object missing required field 'timestamp'"),
        (lambda b: b.update(block_id="zz"), "is not hexadecimal"),
        (lambda b: b.update(timestamp="yesterday"), "block 9: timestamp"),
        (
            lambda b: b["transactions"][0]["operations"][0]["value"].update(weight="full"),
            r"block 9 transaction 0 operation 0 \(vote_operation\): Expected 'int', got 'str' - at '\$.weight'",
        ),
        (
            lambda b: b["transactions"][0]["operations"][0]["value"].update(weight=10001),
            r"Expected 'int' <= 10000 - at '\$.weight'",
        ),
        (
            lambda b: b["transactions"][0]["operations"][0]["value"].pop("voter"),
            "block 9 transaction 0 operation 0 .*missing required field 'voter'",
        ),
        (
            lambda b: b["transactions"][0].update(operations=None),
            r"block 9: Expected 'array', got 'null' - at '\$.blocks\[0\].transactions\[0\].operations'",
        ),
        (
            lambda b: b["transactions"].append("junk"),
            r"block 9: Expected 'object', got 'str' - at '\$.blocks\[0\].transactions\[1\]'",
        ),
    ],
)
def test_malformed_block_names_the_block_and_the_field(mutate, message) -> None:  # type: ignore[no-untyped-def]
    raw = block(9, vote("bob", "alice", "p"))
    mutate(raw)
    with pytest.raises(ChainDataError, match=message):
        parse_block(raw)


def test_real_2016_blocks_parse_with_their_votes_and_replies() -> None:
    raw = json.loads((FIXTURES / "mainnet-blocks-1000000-1000999.block_api.json").read_text())["blocks"]
    blocks = parse_blocks(raw)
    assert [b.num for b in blocks] == list(range(1_000_000, 1_001_000))
    assert all(b.previous == a.block_id for a, b in itertools.pairwise(blocks))
    events = [e for b in blocks for e in b.events]
    assert sum(isinstance(e, Vote) for e in events) == 6
    assert sum(isinstance(e, Comment) for e in events) == 3
    assert blocks[0].timestamp == parse_timestamp("2016-04-29T04:12:00")


def test_real_2025_blocks_parse() -> None:
    calls = json.loads((FIXTURES / "mainnet-2025-get_block-calls.json").read_text())
    real = {c["res"]["result"]["block"]["block_id"]: c["res"]["result"]["block"] for c in calls[10:]}
    blocks = parse_blocks(real.values())
    assert sorted(b.num for b in blocks) == [97_477_292, 97_477_294, 97_477_296, 97_477_298]
    votes = [e for b in blocks for e in b.events if isinstance(e, Vote)]
    comments = [e for b in blocks for e in b.events if isinstance(e, Comment)]
    assert len(votes) == 13
    assert len(comments) == 8
    assert Vote("xeldal", "trip-hop", "destinations-without-cars-catalina-california", 10000) in votes
