"""Property-based tests (hypothesis) over what the bot reads from the chain: the parser takes any block a
node may send without failing other than by a ChainDataError naming the place; the counts do not depend on
how blocks are cut into batches, nor on replaying a batch that was not committed."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ChainDataError
from bot.operations import Comment, DeleteComment, parse_block, parse_blocks
from bot.optouts import find_opt_commands, parse_opt_command, read_replies, replies_to
from bot.store import Checkpoint, Store
from bot.tallies import PAYOUT_WINDOW, CountingRules, count_blocks, referenced_comments, upvote_pairs
from tests.support.blocks import block, block_id, delete, post, reply, time_of, vote
from tests.support.chains import load_all_counts

ACCOUNTS = st.sampled_from(["alice", "bob", "carol", "dan"])
PERMLINKS = st.sampled_from(["p", "q", "r"])
any_text = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def operations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["post", "reply", "vote", "delete", "edit-patch", "unknown"]))
    author, permlink = draw(ACCOUNTS), draw(PERMLINKS)
    if kind == "post":
        return post(author, permlink, draw(any_text.filter(bool)))
    if kind == "reply":
        return reply(author, permlink, draw(ACCOUNTS | st.just("badge-bot")), draw(PERMLINKS), draw(any_text))
    if kind == "vote":
        return vote(draw(ACCOUNTS), author, permlink, draw(st.integers(-10000, 10000)))
    if kind == "delete":
        return delete(author, permlink)
    if kind == "edit-patch":
        return reply(author, permlink, "badge-bot", "n", "@@ -1,4 +1,4 @@\n-stop\n+STOP\n")
    return {"type": draw(st.text(min_size=1, max_size=30)) + "_operation", "value": draw(json_values)}


@st.composite
def chains(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Consecutive blocks 1 … n of random posts, replies, votes (edits, unvotes, downvotes), deletes and
    operations of types the bot does not know, some blocks days apart (paid-out comments)."""
    blocks, time = [], time_of(1)
    alive: dict[tuple[str, str], int] = {}
    for num in range(1, draw(st.integers(1, 12)) + 1):
        time += draw(st.sampled_from([3, 3, 3, 86_400, 3 * 86_400]))
        kept = [op for op in draw(st.lists(operations(), max_size=6)) if _allowed(op, alive, time)]
        blocks.append(block(num, *kept, time=time))
    return blocks


def _allowed(operation: dict[str, Any], alive: dict[tuple[str, str], int], time: int) -> bool:
    """As hived: a comment can be deleted only before it is paid out (and then created again)."""
    value = operation["value"]
    if operation["type"] == "comment_operation":
        alive.setdefault((value["author"], value["permlink"]), time)
    elif operation["type"] == "delete_comment_operation":
        created = alive.get((value["author"], value["permlink"]))
        if created is None or time - created >= PAYOUT_WINDOW:
            return False
        del alive[(value["author"], value["permlink"])]
    return True


def chain_times(blocks: list[Any]) -> dict[tuple[str, str], int]:
    """Each comment's creation time as a node at the end of ``blocks`` answers find_comments."""
    times: dict[tuple[str, str], int] = {}
    for parsed in blocks:
        for event in parsed.events:
            if isinstance(event, Comment):
                times.setdefault(event.key, parsed.timestamp)
            elif isinstance(event, DeleteComment):
                times.pop(event.key, None)
    return times


def count_in_batches(blocks: list[dict[str, Any]], cuts: list[int], path: Path) -> dict[str, Any]:
    """Count ``blocks`` into a new store at ``path`` as the follower does, one batch per slice: creation
    times the store does not remember are asked from a node that has all the blocks."""
    parsed = parse_blocks(blocks)
    node = chain_times(parsed)
    with Store.open(path) as store:
        for part in _slices(parsed, cuts):
            keys = referenced_comments(part)
            created: dict[tuple[str, str], int | None] = dict(store.load_comment_times(keys))
            created.update({key: node.get(key) for key in keys - created.keys()})  # asked from the node
            counted = store.load_counted_votes(upvote_pairs(part))
            tally = count_blocks(part, created, counted, CountingRules())
            last = part[-1]
            store.commit_batch(tally, {}, Checkpoint(last.num, last.block_id, last.timestamp))
        return load_all_counts(store)


def _slices(items: list[Any], cuts: list[int]) -> Iterator[list[Any]]:
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < len(items)}), len(items)]
    for start, end in itertools.pairwise(bounds):
        yield items[start:end]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain=chains(), cuts=st.lists(st.integers(0, 12), max_size=5))
def test_counts_do_not_depend_on_how_blocks_are_cut_into_batches(
    chain: list[dict[str, Any]], cuts: list[int], tmp_path_factory: Any
) -> None:
    directory = tmp_path_factory.mktemp("batches")
    assert count_in_batches(chain, cuts, directory / "cut.sqlite") == count_in_batches(
        chain, [], directory / "whole.sqlite"
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain=chains())
def test_a_batch_counted_again_after_a_crash_changes_nothing(
    chain: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    """Counting a batch and not committing it (the process died) leaves the store as it was: a restart
    counts it from the same state and gets the same counts."""
    path = tmp_path_factory.mktemp("replay") / "bot.sqlite"
    parsed = parse_blocks(chain)
    with Store.open(path) as store:
        keys = referenced_comments(parsed)
        created: dict[tuple[str, str], int | None] = dict(store.load_comment_times(keys))
        count_blocks(parsed, created, store.load_counted_votes(upvote_pairs(parsed)), CountingRules())
        assert store.load_checkpoint() is None and load_all_counts(store) == {}
    assert count_in_batches(chain, [], path) == count_in_batches(chain, [], path.with_name("fresh.sqlite"))


@settings(max_examples=300, deadline=None)
@given(raw=json_values)
def test_the_parser_fails_only_with_an_error_that_names_the_place(raw: Any) -> None:
    for candidate in (raw, {**_valid_block(), "transactions": raw}, _with_operation(raw)):
        try:
            parse_block(candidate)
        except ChainDataError as exc:
            assert str(exc).startswith("block")
        except (TypeError, AttributeError) as exc:  # pragma: no cover - the failure this test looks for
            raise AssertionError(f"{type(exc).__name__} from {candidate!r:.200}") from exc


@settings(max_examples=200, deadline=None)
@given(
    body=any_text,
    title=any_text,
    metadata=any_text,
    permlink=st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=255),
)
def test_any_comment_text_parses_and_never_reaches_the_counts_but_as_a_comment(
    body: str, title: str, metadata: str, permlink: str
) -> None:
    """Huge or odd bodies, control characters, lone surrogates, malformed json_metadata, permlinks at the
    length limit, parents the bot never saw: a comment is a comment."""
    operation = reply("alice", permlink, "ghost", "never-seen", body)
    operation["value"].update(title=title, json_metadata=metadata)
    tally = count_blocks(parse_blocks([block(1, operation)]), {}, set(), CountingRules())
    assert dict(tally.increments) == {("alice", _comments()): 1, ("ghost", _replies()): 1}


@settings(max_examples=300, deadline=None)
@given(text=any_text)
def test_stop_detection_never_fails_and_replies_to_others_say_nothing(text: str) -> None:
    command = parse_opt_command(text)
    assert command is None or command.value in ("stop", "start")
    parsed = parse_blocks([block(1, reply("alice", "r", "not-the-bot", "n", text))])
    assert find_opt_commands(read_replies(replies_to(parsed, "badge-bot"), {})) == {}


def test_a_huge_body_is_parsed(tmp_path: Path) -> None:
    huge = "STOP " + "x" * 64_000
    parsed = parse_blocks([block(1, reply("alice", "r", "badge-bot", "n", huge))])
    assert (
        find_opt_commands(read_replies(replies_to(parsed, "badge-bot"), {}))["alice"][-1].command.value
        == "stop"
    )


def _comments() -> Any:
    from bot.metrics import Metric

    return Metric.COMMENTS


def _replies() -> Any:
    from bot.metrics import Metric

    return Metric.REPLIES


def _valid_block() -> dict[str, Any]:
    return block(3, vote("bob", "alice", "p"))


def _with_operation(value: Any) -> dict[str, Any]:
    raw = _valid_block()
    raw["transactions"][0]["operations"] = [{"type": "vote_operation", "value": value}]
    return raw


def test_block_ids_of_the_hand_made_chains_link() -> None:
    assert block(2)["previous"] == block_id(1)
