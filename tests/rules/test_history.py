"""Reading account history into a baseline: the live counting rules, one page at a time (bot.history), and the
store's side of it, deduplication across pages and the seam with live counting (bot.baselines)."""

from __future__ import annotations

import decimal
import json
from collections import Counter
from dataclasses import replace
from fractions import Fraction
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
    PayoutSighting,
    ReplySighting,
    Side,
    index_span,
    is_oldest_page,
    next_request,
    parse_history,
    read_page,
)
from bot.metrics import Metric
from bot.operations import format_timestamp
from bot.payouts import PayoutKind, Prices
from bot.store import Checkpoint, Store
from bot.tallies import PAYOUT_WINDOW, Tally
from devnet.legacy import nai_asset
from tests.support.paths import FIXTURES
from tests.support.recount import Figures, recount_history, recount_payout

T = HF24_TIME + 100 * 86_400  # modern times: effective_comment_vote exists
S = 5_000  # the block live counting starts at
R, G, P, C, Y = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS, Metric.REPLIES
H = Metric.PAYOUT
RULES = BadgeRules(ladders={metric: (1, 2, 3) for metric in Metric}, bot="badge-bot")
PRICES = Prices(  # mainnet at block 5,000,000: see tests/rules/test_payouts.py
    vesting_fund=149_190_428_013, vesting_shares=448_144_916_705_468_383, median_base=637, median_quote=1000
)


def vote(
    index: int, voter: str, author: str, permlink: str, weight: int = 10000, block: int = 100
) -> HistoryEntry:
    value = {"voter": voter, "author": author, "permlink": permlink, "weight": weight}
    return HistoryEntry(index, block, T + block * 3, "vote", value)


def effective(
    index: int, voter: str, author: str, permlink: str, block: int = 100, rshares: int = 5
) -> HistoryEntry:
    value = {"voter": voter, "author": author, "permlink": permlink, "weight": 1, "rshares": rshares}
    return HistoryEntry(index, block, T + block * 3, "effective_comment_vote", value)


def comment(index: int, author: str, permlink: str, parent: str = "", block: int = 100) -> HistoryEntry:
    value = {"author": author, "permlink": permlink, "parent_author": parent, "parent_permlink": "x"}
    return HistoryEntry(index, block, T + block * 3, "comment", value)


def delete(index: int, author: str, permlink: str, block: int = 100) -> HistoryEntry:
    return HistoryEntry(
        index, block, T + block * 3, "delete_comment", {"author": author, "permlink": permlink}
    )


def sightings(*entries: HistoryEntry, account: str = "alice", **kwargs: Any) -> tuple[Any, ...]:
    return read_page(entries, account, before_block=S, prices=PRICES, **kwargs).sightings


def test_an_effective_upvote_counts_for_the_accounts_side() -> None:
    page = (vote(0, "bob", "alice", "p"), effective(1, "bob", "alice", "p"))
    assert sightings(*page) == (PairSighting(Side.AUTHOR, "alice", "p", "bob", T + 300),)
    assert sightings(*page, account="bob") == (PairSighting(Side.VOTER, "alice", "p", "bob", T + 300),)


@pytest.mark.parametrize("weight", [0, -10000, -1])
def test_downvotes_and_unvotes_never_count_even_when_effective(weight: int) -> None:
    assert sightings(vote(0, "bob", "alice", "p", weight), effective(1, "bob", "alice", "p")) == ()


@pytest.mark.parametrize(
    ("what", "weight", "rshares", "counts"),
    [
        ("an upvote", 10000, 7_000_000_000, True),
        ("a dust upvote (HF20: the threshold subtracted)", 10000, 0, True),
        ("an upvote in the last 12 hours, scaled to nothing", 100, 0, True),
        ("an unvote", 0, 0, False),
        ("an unvote before HF14, which spent voting power", 0, 4_224_869_679, False),
        ("a downvote", -10000, -7_000_000_000, False),
        ("a dust downvote", -100, 0, False),
    ],
)
def test_the_votes_weight_not_the_effective_operations_rshares_says_whether_an_upvote_took_effect(
    what: str, weight: int, rshares: int, counts: bool
) -> None:
    """Why the vote operations are still read: hived gives ``rshares = weight < 0 ? -abs_rshares :
    abs_rshares`` with the dust threshold subtracted (never below 0) and scaled down in the last 12 hours
    before cashout (openhive-network/hive 1584099c, ``libraries/chain/hive_evaluator_social.cpp`` lines
    706-713, 746), so rshares 0 is an upvote or an unvote; before HF14 an unvote's rshares were positive
    (@camilla's of 2016-09-11, below). A reading by rshares alone would break these."""
    page = (vote(0, "bob", "alice", "p", weight), effective(1, "bob", "alice", "p", rshares=rshares))
    assert [s.voter for s in sightings(*page) if isinstance(s, PairSighting)] == (["bob"] if counts else [])


def test_an_upvote_then_an_unvote_counts_once_a_changed_vote_once_a_downvote_never(store: Store) -> None:
    queue(store, "alice")
    page(
        store,
        "alice",
        vote(0, "bob", "alice", "p", block=100),
        effective(1, "bob", "alice", "p", block=100, rshares=0),  # a dust upvote
        vote(2, "bob", "alice", "p", 0, block=101),  # the unvote
        effective(3, "bob", "alice", "p", block=101, rshares=0),
        vote(4, "carol", "alice", "p", 5000, block=102),
        effective(5, "carol", "alice", "p", block=102),
        vote(6, "carol", "alice", "p", 10000, block=103),  # changed
        effective(7, "carol", "alice", "p", block=103),
        vote(8, "dave", "alice", "p", -10000, block=104),
        effective(9, "dave", "alice", "p", block=104, rshares=-5),
        last=True,
    )
    counts = store.load_counts("alice")
    assert counts is not None and counts[R] == 2


def test_a_vote_without_its_effective_operation_did_not_take_effect() -> None:
    """A vote on a paid-out comment: in history, without effect."""
    assert sightings(vote(0, "bob", "alice", "p"), effective(1, "bob", "alice", "other")) == ()


def before_hf24(*entries: HistoryEntry) -> tuple[HistoryEntry, ...]:
    """``entries`` moved to 2019, a year before HF24."""
    return tuple(replace(entry, time=entry.time - T + OLD) for entry in entries)


OLD = HF24_TIME - 365 * 86_400
BOB_ALICE = (vote(1, "bob", "alice", "p"), effective(2, "bob", "alice", "p"))
"""bob's upvote on alice/p, with its effective operation."""
OTHER_EFFECTIVE = (vote(3, "carol", "alice", "q", block=101), effective(4, "carol", "alice", "q", block=101))
"""Another upvote that took effect: the page shows the node emits effective operations in its era."""


@pytest.mark.parametrize(
    ("era", "page", "newer_pages_showed_one", "counted", "unconfirmed", "shows_one"),
    [
        ("after HF24", BOB_ALICE, False, {"bob"}, set(), False),
        ("after HF24", (BOB_ALICE[0],), False, set(), set(), False),  # paid out
        ("after HF24", (BOB_ALICE[0], *OTHER_EFFECTIVE), False, {"carol"}, set(), False),
        ("before HF24", BOB_ALICE, False, {"bob"}, set(), True),  # a replayed node's old vote
        ("before HF24", (BOB_ALICE[0], *OTHER_EFFECTIVE), False, {"carol"}, set(), True),  # paid out
        ("before HF24", (BOB_ALICE[0],), True, set(), set(), True),  # paid out: a newer page showed one
        ("before HF24", (BOB_ALICE[0],), False, set(), {"bob"}, False),  # none seen yet: set aside
    ],
)
def test_a_vote_counts_when_its_effective_operation_follows_in_every_era(
    era: str,
    page: tuple[HistoryEntry, ...],
    newer_pages_showed_one: bool,
    counted: set[str],
    unconfirmed: set[str],
    shows_one: bool,
) -> None:
    entries = before_hf24(*page) if era == "before HF24" else page
    reading = read_page(
        entries, "alice", before_block=S, prices=PRICES, effective_before_hf24=newer_pages_showed_one
    )
    assert {s.voter for s in reading.sightings if isinstance(s, PairSighting)} == counted
    assert {s.voter for s in reading.unconfirmed} == unconfirmed
    assert reading.effective_before_hf24 == shows_one


def test_downvotes_and_self_votes_are_not_set_aside_before_hf24_either() -> None:
    page = before_hf24(vote(0, "bob", "alice", "p", -10000), vote(1, "alice", "alice", "q"))
    reading = read_page(page, "alice", before_block=S, prices=PRICES, count_self_votes=False)
    assert reading.sightings == () and reading.unconfirmed == ()


def test_an_effective_operation_on_the_newer_page_is_carried_to_its_vote() -> None:
    newer = read_page([effective(5, "bob", "alice", "p", block=100)], "alice", before_block=S, prices=PRICES)
    assert newer.sightings == () and newer.carry == {("bob", "alice", "p", 100)}
    older = read_page(
        [vote(4, "bob", "alice", "p", block=100)], "alice", before_block=S, prices=PRICES, carry=newer.carry
    )
    assert older.sightings == (PairSighting(Side.AUTHOR, "alice", "p", "bob", T + 300),)
    assert older.carry == frozenset()


def test_a_carried_effective_operation_is_dropped_once_its_block_is_behind() -> None:
    reading = read_page(
        [comment(3, "alice", "q", block=90)],
        "alice",
        before_block=S,
        prices=PRICES,
        carry={("bob", "alice", "p", 100)},
    )
    assert reading.carry == frozenset()


def test_self_votes_count_on_both_sides_unless_the_config_says_otherwise() -> None:
    page = (vote(0, "alice", "alice", "p"), effective(1, "alice", "alice", "p"))
    assert {s.side for s in sightings(*page)} == {Side.AUTHOR, Side.VOTER}
    assert sightings(*page, count_self_votes=False) == ()


def test_comments_are_sighted_newest_first_the_accounts_own_and_the_replies_it_received() -> None:
    page = (
        comment(0, "alice", "post"),
        comment(1, "bob", "re-bob", parent="alice"),
        comment(2, "alice", "re", parent="carol"),
    )
    assert sightings(*page) == (
        CommentSighting("re", is_root=False),
        ReplySighting("bob", "re-bob"),
        CommentSighting("post", is_root=True),
    )
    assert sightings(delete(0, "alice", "post")) == (CommentDeleted("post"),)


def test_entries_from_the_first_live_block_on_are_left_to_live_counting() -> None:
    assert sightings(comment(0, "alice", "late", block=S), comment(1, "alice", "early", block=S - 1)) == (
        CommentSighting("early", is_root=True),
    )


@pytest.mark.parametrize(
    ("returned", "limit", "lowest", "oldest"),
    [
        (24, 30, 4, True),  # hived's only_high_filter: 30 asked from index 50 of @gtg, 24 come, lowest 4
        (34, 34, 2166, False),  # effective_comment_vote_operation: as many as asked, more may lie below
        (0, 1000, None, True),  # nothing at or below start
        (1000, 1000, 0, True),  # every entry taken, down to index 0
        (1000, 1000, 7, False),
    ],
)
def test_a_page_with_fewer_entries_than_asked_or_down_to_index_0_is_the_oldest(
    returned: int, limit: int, lowest: int | None, oldest: bool
) -> None:
    entries = [] if lowest is None else [comment(lowest, "alice", "p")]
    reading = read_page(
        entries, "alice", before_block=S, prices=PRICES, oldest=is_oldest_page(returned, limit)
    )
    assert reading.oldest == oldest


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


def test_a_full_page_of_other_types_from_a_node_ignoring_the_filter_moves_the_position_below_it() -> None:
    """A node that ignores the filter may answer a whole page of transfers: the next page starts below them,
    not again from the newest entry (a page without a counted entry must not look empty)."""
    raw = [[index, _entry("transfer_operation", {"from": "a"})] for index in range(9_000, 10_000)]
    entries = parse_history(raw, "a")
    span = index_span(raw)
    reading = read_page(
        entries,
        "a",
        before_block=S,
        prices=PRICES,
        oldest=is_oldest_page(len(raw), 1000),
        lowest=span and span[0],
    )
    assert entries == [] and span == (9_000, 9_999)
    assert reading.lowest == 9_000 and not reading.oldest
    assert index_span([]) is None


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
    opened.commit_batch(Tally(), {}, Checkpoint(S, "00", T + 3 * S), with_baselines=True)
    return opened


def page(store: Store, account: str, *entries: HistoryEntry, last: bool = False) -> None:
    """Read ``entries`` as one page of ``account``'s history; ``last``: the oldest page (its lowest index is
    0), which finishes the baseline."""
    current = store.baselines.load(account)
    assert current is not None
    reading = read_page(
        entries,
        account,
        before_block=S,
        prices=PRICES,
        carry=current.carry,
        effective_before_hf24=current.effective_before_hf24,
    )
    lowest = 0 if last else max(1, reading.lowest or 1)  # the oldest page is the one with index 0
    reading = replace(reading, lowest=lowest, oldest=last)
    store.baselines.commit_page(account, reading, entries=len(entries), rules=RULES)


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
    assert baseline.counts == {R: 1, G: 0, P: 1, C: 0, Y: 0, H: 0}
    assert store.load_counts("alice") == {R: 1, G: 0, P: 1, C: 0, Y: 0, H: 0}


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
    assert store.load_counts("alice") == {R: 0, G: 0, P: 2, C: 0, Y: 0, H: 0}


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        pytest.param(comment(0, "bob", "r", "alice"), (ReplySighting("bob", "r"),), id="a reply by another"),
        pytest.param(comment(0, "alice", "r", "alice"), (CommentSighting("r", False),), id="a self-reply"),
        pytest.param(comment(0, "alice", "r", "bob"), (CommentSighting("r", False),), id="a reply it sent"),
        pytest.param(comment(0, "bob", "r", "carol"), (), id="a reply between others (a node not filtering)"),
        pytest.param(delete(0, "bob", "r"), (), id="another's delete"),
    ],
)
def test_what_a_comment_operation_in_the_accounts_history_shows(
    entry: HistoryEntry, shown: tuple[Any, ...]
) -> None:
    assert sightings(entry) == shown


def test_a_reply_received_counts_once_in_the_baseline_however_often_edited_across_pages(store: Store) -> None:
    """Newest first, the reply's last edit comes first, its creation last: one reply; a self-reply none."""
    queue(store, "alice")
    page(
        store, "alice", comment(5, "bob", "r", "alice", block=60), comment(6, "carol", "r", "alice", block=61)
    )
    page(
        store,
        "alice",
        comment(1, "alice", "p", block=10),
        comment(2, "bob", "r", "alice", block=20),
        comment(3, "bob", "r", "alice", block=30),  # an edit
        comment(4, "alice", "self", "alice", block=40),  # a self-reply
        last=True,
    )
    assert store.load_counts("alice") == {R: 0, G: 0, P: 1, C: 1, Y: 2, H: 0}


def test_the_baseline_adds_to_live_counts_and_its_badges_are_recorded_silently(store: Store) -> None:
    store.commit_batch(
        Tally(increments=Counter({("alice", P): 1})),
        {},
        Checkpoint(S + 1, "01", T + 3 * S + 3),
        with_baselines=True,
    )
    page(store, "alice", comment(0, "alice", "a"), comment(1, "alice", "b", block=101), last=True)
    assert store.load_counts("alice") == {R: 0, G: 0, P: 3, C: 0, Y: 0, H: 0}
    announced = {(row["threshold"], row["announced"]) for row in store.outbox.load_badges("alice")}
    assert announced == {(1, "baseline"), (2, "baseline"), (3, "baseline")}


def test_until_its_baseline_is_done_an_account_earns_no_badge(store: Store) -> None:
    from bot.plan import OutboxChanges

    store.commit_batch(
        Tally(increments=Counter({("alice", P): 2})),
        {},
        Checkpoint(S + 1, "01", T + 3 * S + 3),
        OutboxChanges(rules=RULES),
        with_baselines=True,
    )
    assert store.outbox.load_badges("alice") == []
    page(store, "alice", last=True)  # an empty history
    store.commit_batch(
        Tally(increments=Counter({("alice", P): 1})),
        {},
        Checkpoint(S + 2, "02", T + 3 * S + 6),
        OutboxChanges(rules=RULES),
        with_baselines=True,
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
    store.commit_batch(
        live, {("alice", "p"): created}, Checkpoint(S + 1, "01", T + 3 * S + 3), with_baselines=True
    )
    block = S - 100  # in the 7 days before S
    bob_upvoted_alice(store, "alice", block)
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0, Y: 0, H: 0}


def test_a_pair_the_baseline_counted_is_not_counted_again_live_for_that_side(store: Store) -> None:
    queue(store, "alice")
    block = S - 100
    bob_upvoted_alice(store, "alice", block)
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0, Y: 0, H: 0}
    live = Tally(
        increments=Counter({("alice", R): 1, ("bob", G): 1}),
        counted_votes={(("alice", "p"), "bob")},
        seam_pairs={(("alice", "p"), "bob")},
    )
    store.commit_batch(
        live,
        {("alice", "p"): T + 3 * S - 86_400},
        Checkpoint(S + 1, "01", T + 3 * S + 3),
        with_baselines=True,
    )
    # alice's side was the baseline's
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0, Y: 0, H: 0}
    assert store.load_counts("bob") == {R: 0, G: 1, P: 0, C: 0, Y: 0, H: 0}  # bob's side is live's
    queue(store, "bob")
    bob_upvoted_alice(store, "bob", block)
    # and bob's baseline leaves it to live
    assert store.load_counts("bob") == {R: 0, G: 1, P: 0, C: 0, Y: 0, H: 0}


def test_votes_older_than_the_seam_window_need_no_mark(store: Store) -> None:
    queue(store, "alice")
    old_block = S - PAYOUT_WINDOW // 3 - 10
    bob_upvoted_alice(store, "alice", old_block)
    assert store.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0, Y: 0, H: 0}
    assert store._db.execute("SELECT count(*) FROM seam_votes").fetchone()[0] == 0


def test_requeue_takes_a_finished_baseline_back_out_and_computes_it_again(store: Store) -> None:
    queue(store, "alice")
    page(store, "alice", comment(0, "alice", "a"), last=True)
    assert store.load_counts("alice") == {R: 0, G: 0, P: 1, C: 0, Y: 0, H: 0}
    queue(store, "alice")
    assert store.load_counts("alice") == {R: 0, G: 0, P: 0, C: 0, Y: 0, H: 0}
    page(store, "alice", comment(0, "alice", "a"), comment(1, "alice", "b", block=101), last=True)
    assert store.load_counts("alice") == {R: 0, G: 0, P: 2, C: 0, Y: 0, H: 0}


def test_an_old_nodes_votes_before_hf24_count_when_the_oldest_page_is_in_even_across_a_restart(
    store: Store, tmp_path: Path
) -> None:
    """A node whose history has no effective operation before HF24: the upvotes there are set aside, page
    by page, in the store (a restart between pages keeps them), and counted with the oldest page."""
    queue(store, "alice")
    page(
        store,
        "alice",
        *before_hf24(vote(5, "bob", "alice", "p", block=300), comment(4, "alice", "r", block=299)),
    )
    baseline = store.baselines.load("alice")
    assert baseline is not None and baseline.counts == {
        R: 0,
        G: 0,
        P: 1,
        C: 0,
        Y: 0,
        H: 0,
    }  # set aside, not counted
    store.close()
    reopened = Store.open(tmp_path / "bot.sqlite")
    page(
        reopened,
        "alice",
        *before_hf24(vote(1, "bob", "alice", "p", block=200), vote(0, "carol", "alice", "p")),
        last=True,
    )
    assert reopened.load_counts("alice") == {R: 2, G: 0, P: 1, C: 0, Y: 0, H: 0}
    assert reopened._db.execute("SELECT count(*) FROM baseline_unconfirmed").fetchone()[0] == 0


def test_a_replayed_nodes_votes_before_hf24_without_their_effective_operation_never_count(
    store: Store, tmp_path: Path
) -> None:
    """The effective operation before HF24 that proves the node emits them may be on an older page, read
    after a restart: the votes set aside on the newer pages (cast on paid-out comments) are dropped."""
    queue(store, "alice")
    page(store, "alice", *before_hf24(vote(5, "bob", "alice", "p", block=300)))
    store.close()
    reopened = Store.open(tmp_path / "bot.sqlite")
    page(reopened, "alice", *before_hf24(vote(3, "carol", "alice", "q"), effective(4, "carol", "alice", "q")))
    baseline = reopened.baselines.load("alice")
    assert baseline is not None and baseline.effective_before_hf24
    page(reopened, "alice", *before_hf24(vote(0, "dave", "alice", "p", block=50)), last=True)
    assert reopened.load_counts("alice") == {R: 1, G: 0, P: 0, C: 0, Y: 0, H: 0}


# -- a real node's answer ------------------------------------------------------------------------------

CAMILLA = FIXTURES / "mainnet-camilla-2016-get_account_history.json"
"""hived's pattern test ``get_account_history/only_account`` (mainnet replayed to 5,000,000 blocks): @camilla's
newest 1000 entries, September 2016 (see ``tests/fixtures/README.md``)."""


def upvotes_followed_by_their_effective_op(raw: list[Any]) -> tuple[int, set[tuple[str, ...]]]:
    """Straight from the node's answer: how many upvotes, and which are followed by their effective op."""

    def key(entry: dict[str, Any] | None) -> tuple[str, ...]:
        value = entry["op"]["value"] if entry else {}
        return tuple(str(value.get(field)) for field in ("voter", "author", "permlink"))

    upvotes, followed = 0, set()
    for (_, entry), (_, after) in zip(raw, [*raw[1:], [None, None]], strict=True):
        if entry["op"]["type"] == "vote_operation" and entry["op"]["value"]["weight"] > 0:
            upvotes += 1
            if (
                after
                and after["op"]["type"] == "effective_comment_vote_operation"
                and key(after) == key(entry)
            ):
                followed.add(key(entry))
    return upvotes, followed


@pytest.mark.parametrize("page_size", [1000, 97])
def test_a_replayed_mainnet_nodes_2016_history_counts_exactly_the_upvotes_its_effective_ops_confirm(
    page_size: int,
) -> None:
    """2016, four years before HF24, and the node still says which votes took effect: 368 of @camilla's
    374 upvotes are followed by their ``effective_comment_vote``; the other 6 were cast on comments already
    paid out, and do not count. Read newest page first, as the baseline job does."""
    raw = json.loads(CAMILLA.read_text())["history"]
    upvotes, followed = upvotes_followed_by_their_effective_op(raw)
    assert (upvotes, len(followed)) == (374, 368)
    entries = parse_history(raw, "camilla")
    carry: frozenset[tuple[str, str, str, int]] = frozenset()
    seen_before_hf24, pairs = False, []
    for top in range(len(entries), 0, -page_size):
        reading = read_page(
            entries[max(0, top - page_size) : top],
            "camilla",
            before_block=10**9,
            prices=PRICES,
            carry=carry,
            effective_before_hf24=seen_before_hf24,
        )
        carry, seen_before_hf24 = reading.carry, reading.effective_before_hf24
        pairs += [s for s in reading.sightings if isinstance(s, PairSighting)]
        assert reading.unconfirmed == () or not seen_before_hf24
    assert seen_before_hf24
    assert {(s.voter, s.author, s.permlink) for s in pairs} == followed
    assert Counter(s.side for s in pairs) == {Side.AUTHOR: 276 + 4, Side.VOTER: 88 + 4}  # 4 self-votes


# -- payouts -----------------------------------------------------------------------------------------------
# Real values from hived's pattern tests (openhive-network/hive 1584099c,
# tests/python/api_tests/pattern_tests/tavern/account_history_api_patterns/get_account_history/):
# author_reward_operation (@xeroc, index 18094) and curation_reward_operation (@adm, indices 74247, 74250).
# The benefactor reward is shaped as hived's comment_benefactor_reward_operation (its pattern answers none).


XEROC_AUTHOR_REWARD = {
    "author": "xeroc",
    "permlink": "this-piston-rocks-public-steem-steem-api-for-piston-users-and-developers",
    "hbd_payout": nai_asset("0.021 HBD"),
    "hive_payout": nai_asset("0.000 HIVE"),
    "vesting_payout": nai_asset("29.859881 VESTS"),
    "curators_vesting_payout": nai_asset("0.000000 VESTS"),
    "payout_must_be_claimed": False,
}
ADM_CURATION_REWARD = {
    "author": "pfunk",
    "permlink": "re-dailybest-sketch-4-birds-in-love-20160911t123342655z",
    "curator": "adm",
    "reward": nai_asset("9.173354 VESTS"),
    "payout_must_be_claimed": False,
}
BENEFACTOR_REWARD = {
    "benefactor": "bob",
    "author": "alice",
    "permlink": "p",
    "hbd_payout": nai_asset("1.000 HBD"),
    "hive_payout": nai_asset("0.250 HIVE"),
    "vesting_payout": nai_asset("3952.229956 VESTS"),
    "payout_must_be_claimed": False,
}
# their worth at PRICES, in 0.001 HP: 0.021 HBD → 0.032, 29.859881 VESTS → 0.009; 9.173354 VESTS → 0.003;
# 1.000 HBD → 1.569, 0.250 HIVE, 3952.229956 VESTS → 1.315 (tests/rules/test_payouts.py)
XEROC_WORTH, ADM_WORTH, BOB_WORTH = 41, 3, 3_134
FIGURES = Figures(  # PRICES, for the recount's own arithmetic
    hive_per_vests=Fraction(PRICES.vesting_fund, 10**3) / Fraction(PRICES.vesting_shares, 10**6),
    hive_per_hbd=Fraction(PRICES.median_quote, PRICES.median_base),
)


def paid(index: int, kind: PayoutKind, value: dict[str, Any], block: int = 100) -> HistoryEntry:
    """A payout entry as parse_history reads it from a node's answer."""
    raw = {"block": block, "timestamp": format_timestamp(T + block * 3), "op": {"type": kind, "value": value}}
    (entry,) = parse_history([[index, raw]], "x")
    return entry


@pytest.mark.parametrize(
    ("account", "entry", "shown"),
    [
        pytest.param(
            "xeroc",
            paid(0, PayoutKind.AUTHOR, XEROC_AUTHOR_REWARD),
            (PayoutSighting(PayoutKind.AUTHOR, XEROC_WORTH),),
            id="an author reward, the author's",
        ),
        pytest.param(
            "adm",
            paid(0, PayoutKind.CURATION, ADM_CURATION_REWARD),
            (PayoutSighting(PayoutKind.CURATION, ADM_WORTH),),
            id="a curation reward, the curator's",
        ),
        pytest.param(
            "pfunk",
            paid(0, PayoutKind.CURATION, ADM_CURATION_REWARD),
            (),
            id="a curation reward, not the author's",
        ),
        pytest.param(
            "bob",
            paid(0, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD),
            (PayoutSighting(PayoutKind.BENEFACTOR, BOB_WORTH),),
            id="a benefactor reward, the beneficiary's",
        ),
        pytest.param(
            "alice",
            paid(0, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD),
            (),
            id="a benefactor reward in the author's history (forward_impacted puts it there): not the author's",
        ),
        pytest.param(
            "xeroc",
            paid(0, PayoutKind.AUTHOR, XEROC_AUTHOR_REWARD, block=S - 1),
            (PayoutSighting(PayoutKind.AUTHOR, XEROC_WORTH),),
            id="in the block before S",
        ),
        pytest.param(
            "xeroc",
            paid(0, PayoutKind.AUTHOR, XEROC_AUTHOR_REWARD, block=S),
            (),
            id="from S on: live counting's",
        ),
        pytest.param(
            "xeroc",
            paid(
                0,
                PayoutKind.AUTHOR,
                XEROC_AUTHOR_REWARD
                | {"hbd_payout": nai_asset("0.000 HBD"), "vesting_payout": nai_asset("0.000999 VESTS")},
            ),
            (),
            id="worth nothing in 0.001 HP",
        ),
    ],
)
def test_a_payout_counts_for_the_account_it_pays_before_s(
    account: str, entry: HistoryEntry, shown: tuple[PayoutSighting, ...]
) -> None:
    assert sightings(entry, account=account) == shown


def test_every_payout_counts_and_the_other_operations_read_as_without_payouts() -> None:
    """Two payouts of the same amount are two payments (no deduplication); votes, comments and edits
    between them are read as they would be without them."""
    others = (
        comment(1, "alice", "p"),
        vote(3, "bob", "alice", "p"),
        effective(4, "bob", "alice", "p"),
        comment(5, "alice", "p"),  # an edit
        comment(7, "carol", "r", "alice"),
    )
    payouts = (
        paid(0, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD),
        paid(2, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD | {"benefactor": "alice", "author": "dave"}),
        paid(6, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD | {"benefactor": "alice", "author": "dave"}),
    )
    shown = sightings(*sorted(others + payouts, key=lambda entry: entry.index))
    assert [s for s in shown if not isinstance(s, PayoutSighting)] == list(sightings(*others))
    assert [s for s in shown if isinstance(s, PayoutSighting)] == [
        PayoutSighting(PayoutKind.BENEFACTOR, BOB_WORTH)
    ] * 2


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (PayoutKind.AUTHOR, XEROC_AUTHOR_REWARD, XEROC_WORTH),
        (PayoutKind.CURATION, ADM_CURATION_REWARD, ADM_WORTH),
        (PayoutKind.BENEFACTOR, BENEFACTOR_REWARD, BOB_WORTH),
    ],
)
def test_the_recount_values_a_payout_as_the_bot_does_with_its_own_arithmetic(
    kind: PayoutKind, value: dict[str, Any], expected: int
) -> None:
    assert recount_payout({"type": kind.value, "value": value}, FIGURES) == expected


def test_the_recount_values_an_exact_conversion_exactly_whatever_decimal_rounding_beem_left() -> None:
    """beem sets its thread's decimal rounding to ROUND_DOWN when it signs an amount (beembase.objects.
    value_to_decimal): a recount in Decimal then undervalued 0.637 HBD (1.000 HIVE exactly) by 0.001."""
    value = XEROC_AUTHOR_REWARD | {
        "hbd_payout": nai_asset("0.637 HBD"),
        "hive_payout": nai_asset("0.000 HIVE"),
        "vesting_payout": nai_asset("0.000000 VESTS"),
    }
    with decimal.localcontext(rounding=decimal.ROUND_DOWN):
        assert recount_payout({"type": PayoutKind.AUTHOR.value, "value": value}, FIGURES) == 1_000


@pytest.mark.parametrize("page_size", [1000, 97])
def test_a_replayed_mainnet_nodes_2016_history_counts_its_author_and_curation_rewards_as_the_recount(
    page_size: int,
) -> None:
    """@camilla's newest 1000 entries (the fixture above, a node replayed to block 5,000,000, whose figures
    PRICES are) hold 10 author rewards and 86 curation rewards, all hers; read newest page first, the
    baseline's payout equals the recount's (comment_reward and comment_payout_update are not payouts)."""
    raw = json.loads(CAMILLA.read_text())["history"]
    entries = parse_history(raw, "camilla")
    shown = [
        sighting
        for top in range(len(entries), 0, -page_size)
        for sighting in read_page(
            entries[max(0, top - page_size) : top], "camilla", before_block=10**9, prices=PRICES
        ).sightings
        if isinstance(sighting, PayoutSighting)
    ]
    assert Counter(s.kind for s in shown) == {PayoutKind.CURATION: 86, PayoutKind.AUTHOR: 10}
    assert sum(s.worth for s in shown) == recount_history([e for _, e in raw], "camilla", FIGURES)[H] > 0


def test_the_history_filter_asks_for_the_payouts_by_hiveds_op_ids() -> None:
    """``get_account_history_op_filter_low`` (account_history_api.hpp, openhive-network/hive 1584099c):
    author_reward 0x00080000'00000000, curation_reward 0x00100000'00000000, comment_benefactor_reward
    0x80000000'00000000 — the bits hived's pattern tests ask with (@xeroc's 2251799813685248, @adm's
    4503599627370496, @blocktrades' 9223372036854775808)."""
    from bot.history import FILTER_LOW

    for bit in (2_251_799_813_685_248, 4_503_599_627_370_496, 9_223_372_036_854_775_808):
        assert FILTER_LOW & bit == bit


def test_a_malformed_payout_is_an_error_naming_the_entry() -> None:
    value = XEROC_AUTHOR_REWARD | {"hbd_payout": nai_asset("0.021 HIVE")}
    with pytest.raises(ChainDataError, match=r"history of @xeroc, item 0: malformed entry.*@@000000013"):
        parse_history([[5, _entry("author_reward_operation", value)]], "xeroc")


def test_a_baselines_payouts_add_to_live_counts_and_the_badges_they_reach_are_recorded_silently(
    store: Store,
) -> None:
    """Live counting gave bob 0.600 HP; his history before S holds 3.134 HP and 3.134 HP: 6.868 HP in all,
    every threshold of his ladder (1, 2, 3 HP) reached before the bot followed him."""
    store.commit_batch(
        Tally(increments=Counter({("bob", H): 600})),
        {},
        Checkpoint(S + 1, "01", T + 3 * S + 3),
        with_baselines=True,
    )
    page(store, "bob", paid(7, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD, block=300))
    page(store, "bob", paid(3, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD), comment(0, "bob", "p"), last=True)
    baseline = store.baselines.load("bob")
    assert baseline is not None and baseline.state is BaselineState.DONE
    assert baseline.counts == {R: 0, G: 0, P: 1, C: 0, Y: 0, H: 2 * BOB_WORTH}
    assert store.load_counts("bob") == {R: 0, G: 0, P: 1, C: 0, Y: 0, H: 600 + 2 * BOB_WORTH}
    announced = {
        (row["metric"], row["threshold"], row["announced"]) for row in store.outbox.load_badges("bob")
    }
    assert {(m, t, a) for m, t, a in announced if m == H} == {
        (H, 1, "baseline"),
        (H, 2, "baseline"),
        (H, 3, "baseline"),
    }


def test_a_page_of_payouts_committed_is_not_counted_again_when_committed_a_second_time(store: Store) -> None:
    """A page commits with its position: the same page again (read before the first commit, as a restart
    might redo it) is not the baseline's next page, and is dropped whole."""
    from bot.baselines import StalePage

    queue(store, "bob")
    before = store.baselines.load("bob")
    reading = read_page(
        [paid(7, PayoutKind.BENEFACTOR, BENEFACTOR_REWARD)], "bob", before_block=S, prices=PRICES
    )
    store.baselines.commit_page("bob", reading, entries=1, rules=RULES, read_from=before)
    with pytest.raises(StalePage):
        store.baselines.commit_page("bob", reading, entries=1, rules=RULES, read_from=before)
    after = store.baselines.load("bob")
    assert after is not None and after.counts[H] == BOB_WORTH and after.pages == 1
