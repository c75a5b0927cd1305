"""Reading account history into a baseline: the live counting rules, one page at a time (bot.history), and the
store's side of it, deduplication across pages and the seam with live counting (bot.baselines)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.badges import BadgeRules
from bot.baselines import BaselineState
from bot.errors import ChainDataError
from bot.history import (
    HF24_TIME,
    CommentDeleted,
    CommentSighting,
    HistoryEntry,
    PairSighting,
    Side,
    next_request,
    parse_history,
    read_page,
)
from bot.metrics import Metric
from bot.operations import format_timestamp
from bot.store import Checkpoint, Store
from bot.tallies import PAYOUT_WINDOW, Tally

T = HF24_TIME + 100 * 86_400  # modern times: effective_comment_vote exists
S = 5_000  # the block live counting starts at
R, G, P, C = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS
RULES = BadgeRules(ladders={metric: (1, 2, 3) for metric in Metric}, bot="badge-bot")


def vote(
    index: int, voter: str, author: str, permlink: str, weight: int = 10000, block: int = 100
) -> HistoryEntry:
    value = {"voter": voter, "author": author, "permlink": permlink, "weight": weight}
    return HistoryEntry(index, block, T + block * 3, "vote", value)


def effective(index: int, voter: str, author: str, permlink: str, block: int = 100) -> HistoryEntry:
    value = {"voter": voter, "author": author, "permlink": permlink, "weight": 1, "rshares": 5}
    return HistoryEntry(index, block, T + block * 3, "effective_comment_vote", value)


def comment(index: int, author: str, permlink: str, parent: str = "", block: int = 100) -> HistoryEntry:
    value = {"author": author, "permlink": permlink, "parent_author": parent, "parent_permlink": "x"}
    return HistoryEntry(index, block, T + block * 3, "comment", value)


def delete(index: int, author: str, permlink: str, block: int = 100) -> HistoryEntry:
    return HistoryEntry(
        index, block, T + block * 3, "delete_comment", {"author": author, "permlink": permlink}
    )


def sightings(*entries: HistoryEntry, account: str = "alice", **kwargs: Any) -> tuple[Any, ...]:
    return read_page(entries, account, before_block=S, **kwargs).sightings


def test_an_effective_upvote_counts_for_the_accounts_side() -> None:
    page = (vote(0, "bob", "alice", "p"), effective(1, "bob", "alice", "p"))
    assert sightings(*page) == (PairSighting(Side.AUTHOR, "alice", "p", "bob", T + 300),)
    assert sightings(*page, account="bob") == (PairSighting(Side.VOTER, "alice", "p", "bob", T + 300),)


@pytest.mark.parametrize("weight", [0, -10000, -1])
def test_downvotes_and_unvotes_never_count_even_when_effective(weight: int) -> None:
    assert sightings(vote(0, "bob", "alice", "p", weight), effective(1, "bob", "alice", "p")) == ()


def test_a_vote_without_its_effective_operation_did_not_take_effect() -> None:
    """A vote on a paid-out comment: in history, without effect."""
    assert sightings(vote(0, "bob", "alice", "p"), effective(1, "bob", "alice", "other")) == ()


def test_before_hf24_a_vote_with_weight_counts_without_an_effective_operation() -> None:
    old = HistoryEntry(
        0, 7, HF24_TIME - 1, "vote", {"voter": "bob", "author": "alice", "permlink": "p", "weight": 1}
    )
    assert sightings(old) == (PairSighting(Side.AUTHOR, "alice", "p", "bob", HF24_TIME - 1),)


def test_an_effective_operation_on_the_newer_page_is_carried_to_its_vote() -> None:
    newer = read_page([effective(5, "bob", "alice", "p", block=100)], "alice", before_block=S)
    assert newer.sightings == () and newer.carry == {("bob", "alice", "p", 100)}
    older = read_page([vote(4, "bob", "alice", "p", block=100)], "alice", before_block=S, carry=newer.carry)
    assert older.sightings == (PairSighting(Side.AUTHOR, "alice", "p", "bob", T + 300),)
    assert older.carry == frozenset()


def test_a_carried_effective_operation_is_dropped_once_its_block_is_behind() -> None:
    reading = read_page(
        [comment(3, "alice", "q", block=90)], "alice", before_block=S, carry={("bob", "alice", "p", 100)}
    )
    assert reading.carry == frozenset()


def test_self_votes_count_on_both_sides_unless_the_config_says_otherwise() -> None:
    page = (vote(0, "alice", "alice", "p"), effective(1, "alice", "alice", "p"))
    assert {s.side for s in sightings(*page)} == {Side.AUTHOR, Side.VOTER}
    assert sightings(*page, count_self_votes=False) == ()


def test_comments_are_sighted_newest_first_and_only_the_accounts_own() -> None:
    page = (
        comment(0, "alice", "post"),
        comment(1, "bob", "re-bob", parent="alice"),
        comment(2, "alice", "re", parent="carol"),
    )
    assert sightings(*page) == (CommentSighting("re", is_root=False), CommentSighting("post", is_root=True))
    assert sightings(delete(0, "alice", "post")) == (CommentDeleted("post"),)


def test_entries_from_the_first_live_block_on_are_left_to_live_counting() -> None:
    assert sightings(comment(0, "alice", "late", block=S), comment(1, "alice", "early", block=S - 1)) == (
        CommentSighting("early", is_root=True),
    )


def test_next_request_pages_backwards_within_hiveds_start_rule() -> None:
    assert next_request(None, 1000) == (-1, 1000)
    assert next_request(5000, 1000) == (5000, 1000)
    assert next_request(41, 1000) == (41, 42)  # hived: start >= limit - 1


def test_parse_history_keeps_the_counting_operations_in_index_order() -> None:
    raw = [
        [7, _entry("comment_operation", {"author": "a", "permlink": "p", "parent_author": ""})],
        [3, _entry("transfer_operation", {"from": "a"})],
        [5, _entry("vote_operation", {"voter": "b", "author": "a", "permlink": "p", "weight": 1})],
    ]
    assert [(e.index, e.kind) for e in parse_history(raw, "a")] == [(5, "vote"), (7, "comment")]
    with pytest.raises(ChainDataError, match="history of @a, item 0: malformed entry"):
        parse_history([[1, {"op": {"type": "vote_operation"}}]], "a")


def _entry(kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "block": 9,
        "timestamp": format_timestamp(T),
        "op": {"type": kind, "value": value},
        "trx_id": "0" * 40,
    }


# -- the store's side --------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A store whose live counting started at block S (time T + 3 S)."""
    opened = Store.open(tmp_path / "bot.sqlite")
    opened.commit_batch(Tally(), {}, Checkpoint(S, "00", T + 3 * S), lifetime=True)
    return opened


def page(store: Store, account: str, *entries: HistoryEntry, last: bool = False) -> None:
    """Read ``entries`` as one page of ``account``'s history; ``last``: the oldest page (its lowest index is
    0), which finishes the baseline."""
    current = store.baselines.load(account)
    assert current is not None
    reading = read_page(entries, account, before_block=S, carry=current.carry)
    lowest = 0 if last else max(1, reading.lowest or 1)  # the oldest page is the one with index 0
    store.baselines.commit_page(account, replace(reading, lowest=lowest), entries=len(entries), rules=RULES)


def bob_upvoted_alice(store: Store, account: str, block: int) -> None:
    """``account``'s whole history (one page): bob's upvote on alice/p in ``block``, which took effect."""
    page(
        store,
        account,
        vote(0, "bob", "alice", "p", block=block),
        effective(1, "bob", "alice", "p", block=block),
        last=True,
    )


def queue(store: Store, *accounts: str) -> None:
    store.baselines.requeue(accounts, S)


def test_a_pair_seen_on_several_pages_counts_once(store: Store) -> None:
    queue(store, "alice")
    page(
        store,
        "alice",
        vote(9, "bob", "alice", "p", 5000, block=200),
        effective(10, "bob", "alice", "p", block=200),
    )
    page(
        store, "alice", vote(3, "bob", "alice", "p", block=100), effective(4, "bob", "alice", "p", block=100)
    )
    page(store, "alice", comment(0, "alice", "p", block=50), last=True)
    baseline = store.baselines.load("alice")
    assert baseline is not None and baseline.state is BaselineState.DONE
    assert baseline.counts == {R: 1, G: 0, P: 1, C: 0}
    assert store.load_counts("alice") == {R: 1, G: 0, P: 1, C: 0}


def test_a_comment_deleted_and_created_again_counts_twice_edits_never(store: Store) -> None:
    queue(store, "alice")
    page(
        store,
        "alice",
        comment(0, "alice", "p", block=10),
        comment(1, "alice", "p", block=11),  # an edit
        delete(2, "alice", "p", block=12),
        comment(3, "alice", "p", block=13),  # created again
        comment(4, "alice", "p", block=14),  # an edit
        last=True,
    )
    assert store.load_counts("alice") == {R: 0, G: 0, P: 2, C: 0}


def test_the_baseline_adds_to_live_counts_and_its_badges_are_recorded_silently(store: Store) -> None:
    store.commit_batch(
        Tally(increments=Counter({("alice", P): 1})),
        {},
        Checkpoint(S + 1, "01", T + 3 * S + 3),
        lifetime=True,
    )
    page(store, "alice", comment(0, "alice", "a"), comment(1, "alice", "b", block=101), last=True)
    assert store.load_counts("alice") == {R: 0, G: 0, P: 3, C: 0}
    announced = {(row["threshold"], row["announced"]) for row in store.outbox.load_badges("alice")}
    assert announced == {(1, "baseline"), (2, "baseline"), (3, "baseline")}


def test_until_its_baseline_is_done_an_account_earns_no_badge(store: Store) -> None:
    from bot.outbox import OutboxChanges

    store.commit_batch(
        Tally(increments=Counter({("alice", P): 2})),
        {},
        Checkpoint(S + 1, "01", T + 3 * S + 3),
        OutboxChanges(rules=RULES),
        lifetime=True,
    )
    assert store.outbox.load_badges("alice") == []
    page(store, "alice", last=True)  # an empty history
    store.commit_batch(
        Tally(increments=Counter({("alice", P): 1})),
        {},
        Checkpoint(S + 2, "02", T + 3 * S + 6),
        OutboxChanges(rules=RULES),
        lifetime=True,
    )
    announced = {(row["threshold"], row["announced"]) for row in store.outbox.load_badges("alice")}
    assert announced == {(1, "baseline"), (2, "baseline"), (3, "waiting")}


def test_a_pair_counted_live_is_not_counted_again_by_the_baseline(store: Store) -> None:
    """bob upvoted alice/p just before S and changed the vote after: live counted it first."""
    created = T + 3 * S - 86_400
    live = Tally(
        increments=Counter({("alice", R): 1, ("bob", G): 1}),
        counted_votes={(("alice", "p"), "bob")},
        seam_pairs={(("alice", "p"), "bob")},
    )
    store.commit_batch(live, {("alice", "p"): created}, Checkpoint(S + 1, "01", T + 3 * S + 3), lifetime=True)
    block = S - 100  # in the 7 days before S
    bob_upvoted_alice(store, "alice", block)
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0}


def test_a_pair_the_baseline_counted_is_not_counted_again_live_for_that_side(store: Store) -> None:
    queue(store, "alice")
    block = S - 100
    bob_upvoted_alice(store, "alice", block)
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0}
    live = Tally(
        increments=Counter({("alice", R): 1, ("bob", G): 1}),
        counted_votes={(("alice", "p"), "bob")},
        seam_pairs={(("alice", "p"), "bob")},
    )
    store.commit_batch(
        live, {("alice", "p"): T + 3 * S - 86_400}, Checkpoint(S + 1, "01", T + 3 * S + 3), lifetime=True
    )
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0}  # alice's side was the baseline's
    assert store.load_counts("bob") == {R: 0, G: 1, P: 0, C: 0}  # bob's side is live's
    queue(store, "bob")
    bob_upvoted_alice(store, "bob", block)
    assert store.load_counts("bob") == {R: 0, G: 1, P: 0, C: 0}  # and bob's baseline leaves it to live


def test_votes_older_than_the_seam_window_need_no_mark(store: Store) -> None:
    queue(store, "alice")
    old_block = S - PAYOUT_WINDOW // 3 - 10
    bob_upvoted_alice(store, "alice", old_block)
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0}
    assert store._db.execute("SELECT count(*) FROM seam_votes").fetchone()[0] == 0


def test_requeue_takes_a_finished_baseline_back_out_and_computes_it_again(store: Store) -> None:
    queue(store, "alice")
    page(store, "alice", comment(0, "alice", "a"), last=True)
    assert store.load_counts("alice") == {R: 0, G: 0, P: 1, C: 0}
    queue(store, "alice")
    assert store.load_counts("alice") == {R: 0, G: 0, P: 0, C: 0}
    page(store, "alice", comment(0, "alice", "a"), comment(1, "alice", "b", block=101), last=True)
    assert store.load_counts("alice") == {R: 0, G: 0, P: 2, C: 0}
