"""The bot's follower against the devnet node, through real beem over HTTP: counts, batches, restarts, failover,
and the read-ahead (exact whether the next range's lookups ran before the batch in hand committed or after)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.app import build_follower
from bot.errors import ChainDataError, ChainError
from bot.follower import Follower
from bot.location import Location
from bot.metrics import Metric
from bot.operations import parse_timestamp
from bot.store import Checkpoint, Store
from bot.tallies import PAYOUT_WINDOW
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.recorded import RecordedChain
from tests.support.chains import (
    FIRST,
    LAST,
    WITH_PAYOUT,
    Counts,
    bot_config,
    chain_client,
    follow,
    follow_with,
    generated_chain,
    load_all_counts,
)
from tests.support.executors import AtOnce, WhenAsked
from tests.support.paid import paid, with_payouts
from tests.support.paths import FIXTURES
from tests.support.recount import recount

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return generated_chain()


@pytest.fixture(scope="module")
def node(chain: ChainGenerator) -> Iterator[DevNode]:
    with DevNode(chain, head=LAST + 1, irreversible_lag=1) as served:
        yield served


@pytest.fixture(scope="module")
def raw_blocks(chain: ChainGenerator) -> list[dict[str, Any]]:
    return [block for num in range(FIRST, LAST + 1) if (block := chain.block(num)) is not None]


@pytest.fixture(scope="module")
def truth(chain: ChainGenerator, raw_blocks: list[dict[str, Any]], node: DevNode) -> Counts:
    """The recount of the segment, its payouts too (read from the node's raw answers, tests/support/paid)."""
    return with_payouts(recount(raw_blocks, chain.comment_created), paid(node.url, FIRST, LAST))


@pytest.fixture(scope="module")
def counted(node: DevNode, module_store_location: Location) -> Counts:
    """The segment counted once by the bot, in batches of 1000, the payout family on: once on each
    backend."""
    return follow([node.url], module_store_location, stop_at=LAST, payout=True)


def operations(
    raw_blocks: list[dict[str, Any]], kind: str = "vote_operation"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each operation of ``kind`` in the blocks, with its block's time."""
    for block in raw_blocks:
        for transaction in block["transactions"]:
            for operation in transaction["operations"]:
                if operation["type"] == kind:
                    yield parse_timestamp(block["timestamp"]), operation["value"]


def test_the_segment_holds_the_cases_the_rules_are_about(
    chain: ChainGenerator, raw_blocks: list[dict[str, Any]]
) -> None:
    """Without these the recount comparison below would prove little."""
    pair_votes = Counter((v["voter"], v["author"], v["permlink"]) for _, v in operations(raw_blocks))
    paid_out = [
        v
        for time, v in operations(raw_blocks)
        if time - (chain.comment_created(v["author"], v["permlink"]) or time) >= PAYOUT_WINDOW
    ]
    assert sum(1 for n in pair_votes.values() if n > 1) >= 20  # vote edits and unvotes
    assert len(paid_out) >= 100
    assert sum(1 for _, v in operations(raw_blocks) if v["weight"] < 0) >= 20
    assert sum(1 for _, v in operations(raw_blocks) if v["voter"] == v["author"]) >= 20
    replies = Counter(
        (
            "self" if c["parent_author"] == c["author"] else "other",
            "new" if chain.comment_created(c["author"], c["permlink"]) == time else "edit",
        )
        for time, c in operations(raw_blocks, "comment_operation")
        if c["parent_author"]
    )
    assert replies["other", "new"] >= 500 and replies["other", "edit"] >= 20
    assert replies["self", "new"] >= 5 and replies["self", "edit"] >= 1, replies


def test_counts_after_a_generated_segment_equal_an_independent_recount(
    counted: Counts, truth: Counts
) -> None:
    assert len(truth) > 1000
    assert sum(1 for values in truth.values() if values[Metric.PAYOUT]) > 1000  # payouts in every block
    assert counted == truth


def test_self_votes_are_left_out_when_the_config_says_so(
    chain: ChainGenerator, raw_blocks: list[dict[str, Any]], node: DevNode, tmp_path: Path
) -> None:
    counted = follow([node.url], tmp_path / "bot.sqlite", stop_at=LAST, count_self_votes=False)
    assert counted == recount(raw_blocks, chain.comment_created, count_self_votes=False)
    assert counted != recount(raw_blocks, chain.comment_created)


def test_batch_size_does_not_change_the_counts(node: DevNode, counted: Counts, tmp_path: Path) -> None:
    big = follow([node.url], tmp_path / "bot.sqlite", stop_at=FIRST + 600, batch_size=1000, payout=True)
    assert big == follow(
        [node.url], tmp_path / "small.sqlite", stop_at=FIRST + 600, batch_size=37, payout=True
    )


def test_restart_resumes_right_after_the_checkpoint(node: DevNode, counted: Counts, tmp_path: Path) -> None:
    store_path = tmp_path / "bot.sqlite"
    follow([node.url], store_path, stop_at=FIRST + 1234, payout=True)
    calls_before = len(node.requests)
    with capture_logs() as logs:  # start_block is ignored
        resumed = follow([node.url], store_path, stop_at=LAST, start=FIRST + 99_999, payout=True)
    assert resumed == counted
    batches = [entry["blocks"] for entry in logs if entry["event"] == "batch_committed"]
    assert batches[0] == f"{FIRST + 1235}-{FIRST + 2234}"
    assert batches[-1].endswith(f"-{LAST}")
    assert "block_api.get_block_range" in list(node.requests)[calls_before:]


def test_only_irreversible_blocks_are_processed(chain: ChainGenerator, tmp_path: Path) -> None:
    with (
        DevNode(chain, head=FIRST + 50, irreversible_lag=2) as node,
        Store.open(tmp_path / "s.sqlite") as store,
    ):
        follower = build_follower(bot_config([node.url], tmp_path / "s.sqlite"), store)
        report = follower.step()
        assert report is not None and report.last == FIRST + 48
        assert follower.step() is None  # nothing new is irreversible
        node.clock.set_head(FIRST + 51)
        report = follower.step()
        assert report is not None and (report.first, report.last) == (FIRST + 49, FIRST + 49)


def test_start_block_head_starts_at_the_irreversible_block(chain: ChainGenerator, tmp_path: Path) -> None:
    with DevNode(chain, head=FIRST + 500) as node, Store.open(tmp_path / "s.sqlite") as store:
        follower = build_follower(bot_config([node.url], tmp_path / "s.sqlite", start_block=None), store)
        report = follower.step()
        assert report is not None and report.first == report.last == FIRST + 499


def test_a_failed_node_is_set_aside_and_the_next_one_answers(
    node: DevNode, tmp_path: Path, truth: Counts
) -> None:
    with capture_logs() as logs:
        counted = follow([UNREACHABLE, node.url], tmp_path / "bot.sqlite", stop_at=FIRST + 300)
    failures = [e for e in logs if e["event"] == "node_failed" and e["log_level"] == "warning"]
    assert len(failures) == 1  # one incident: the dead node backs off; its retries, if any, are debug lines
    assert failures[0]["node"] == UNREACHABLE
    assert counted == follow([node.url], tmp_path / "direct.sqlite", stop_at=FIRST + 300)


def test_a_block_that_does_not_link_to_the_checkpoint_is_refused(
    chain: ChainGenerator, tmp_path: Path
) -> None:
    """Another chain (another seed) at the same heights: its first block does not follow our checkpoint."""
    store_path = tmp_path / "bot.sqlite"
    with DevNode(chain, head=FIRST + 20) as node:
        follow([node.url], store_path, stop_at=FIRST + 10)
    other = ChainGenerator(99, FIRST, chain.block_time(FIRST), blocks=100)
    with DevNode(other, head=FIRST + 20) as node, Store.open(store_path) as store:
        follower = build_follower(bot_config([node.url], store_path, start_block=None), store)
        with pytest.raises(ChainDataError, match=f"block {FIRST + 11}: previous is"):
            follower.step()
        checkpoint = store.load_checkpoint()
        assert checkpoint is not None and checkpoint.block_num == FIRST + 10


def test_a_batch_that_fails_midway_commits_nothing_and_is_redone_whole(
    chain: ChainGenerator, counted: Counts, tmp_path: Path
) -> None:
    """The lookups of the second batch fail after its blocks were fetched; a new follower redoes it whole.
    (Only the first batch is irreversible at first, so that nothing of the second is read ahead.)"""
    store_path = tmp_path / "bot.sqlite"
    with DevNode(chain, head=FIRST + 1000) as node:
        real = node.api.methods["database_api.find_comments"]
        armed, crashed = threading.Event(), threading.Event()

        def crash_when_armed(params: Any) -> Any:
            if armed.is_set():
                crashed.set()
                raise KeyError("the bot dies here")  # the node answers an error: the batch is abandoned
            return real(params)

        node.api.methods["database_api.find_comments"] = crash_when_armed
        with Store.open(store_path) as store:
            follower = build_follower(bot_config([node.url], store_path, badges=WITH_PAYOUT), store)
            follower.step(LAST)
            node.clock.set_head(LAST + 1)
            armed.set()
            with pytest.raises(ChainError, match="find_comments"):
                follower.step(LAST)
            follower.close()
            assert crashed.is_set()
            checkpoint = store.load_checkpoint()
            assert checkpoint is not None and checkpoint.block_num == FIRST + 999
        armed.clear()
        assert follow([node.url], store_path, stop_at=LAST, payout=True) == counted


def test_real_2016_mainnet_blocks_are_followed_end_to_end(tmp_path: Path) -> None:
    recorded = RecordedChain.from_file(FIXTURES / "mainnet-blocks-1000000-1000999.block_api.json")
    with DevNode(recorded, head=1_000_999, irreversible_lag=0) as node, capture_logs() as logs:
        counted = follow([node.url], tmp_path / "bot.sqlite", start=1_000_000, stop_at=1_000_999)
    # three reply operations, one of them a re-send of another (an edit: the recording takes the first one
    # seen as the creation); six votes, all on comments made before the recording, which the node does not
    # know: the bot does not guess their age and counts none of them. Each reply is one its parent's author
    # received (@steem-id's edit of its reply to @dantheman no more than the reply itself)
    assert counted == {
        "steem-id": {**dict.fromkeys(Metric, 0), Metric.COMMENTS: 1},
        "steemoholic": {**dict.fromkeys(Metric, 0), Metric.COMMENTS: 1},
        "dantheman": {**dict.fromkeys(Metric, 0), Metric.REPLIES: 1},
        "thechive": {**dict.fromkeys(Metric, 0), Metric.REPLIES: 1},
    }
    assert sum(entry["unresolved_votes"] for entry in logs if entry["event"] == "batch_committed") == 6
    with Store.open(tmp_path / "bot.sqlite") as store:
        assert store.load_checkpoint() == Checkpoint(
            1_000_999, recorded.block_id(1_000_999), recorded.block_time(1_000_999)
        )
        assert load_all_counts(store) == counted


AHEAD_BATCH = 1000
"""Blocks a batch: the segment's vote edits come 1,232 blocks or more after the first upvote, some of them in
the next batch."""


def follow_ahead(executor: Executor, url: str, path: Path) -> Counts:
    """The segment followed in batches of :data:`AHEAD_BATCH`, the next range (its payouts too) read ahead
    by ``executor``."""
    config = bot_config([url], path, badges=WITH_PAYOUT)
    with Store.open(path) as store:
        rules, badges = config.counting_rules(), config.badge_rules()
        follower = Follower(
            chain_client(url),
            store,
            rules,
            badges,
            batch_size=AHEAD_BATCH,
            start_block=FIRST,
            executor=executor,
        )
        return follow_with(follower, store, LAST)


def test_the_segment_holds_what_a_stale_read_ahead_would_miscount(
    chain: ChainGenerator, raw_blocks: list[dict[str, Any]]
) -> None:
    """Upvote pairs voted again in the next batch, and comments created in one batch and voted on in the
    next: what a lookup read before the batch's commit does not know."""
    batch_of: dict[object, int] = {}  # pair or comment → the batch it was first upvoted or created in
    again = created_then_voted = 0
    for block in raw_blocks:
        batch = (int(block["block_id"][:8], 16) - FIRST) // AHEAD_BATCH
        time = parse_timestamp(block["timestamp"])
        for transaction in block["transactions"]:
            for operation in transaction["operations"]:
                value, kind = operation["value"], operation["type"]
                if kind == "comment_operation":
                    comment = (value["author"], value["permlink"])
                    if chain.comment_created(*comment) == time:
                        batch_of.setdefault(comment, batch)
                elif kind == "vote_operation" and value["weight"] > 0:
                    comment = (value["author"], value["permlink"])
                    again += batch_of.setdefault((comment, value["voter"]), batch) == batch - 1
                    created_then_voted += batch_of.get(comment) == batch - 1
    assert again >= 10
    assert created_then_voted >= 100


@pytest.mark.parametrize("executor", [AtOnce, WhenAsked], ids=["read-before-commit", "read-after-commit"])
def test_counts_are_exact_whether_the_read_ahead_ran_before_or_after_the_commit(
    executor: type[Executor], node: DevNode, truth: Counts, tmp_path: Path
) -> None:
    assert follow_ahead(executor(), node.url, tmp_path / "bot.sqlite") == truth
