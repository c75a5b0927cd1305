"""Badges: which thresholds a batch crosses, what a notification announces, which badges stay silent."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.badges import (
    Announcement,
    Badge,
    EarnedBadge,
    Ladders,
    Quiet,
    Silence,
    find_crossings,
    select_announcements,
)
from bot.metrics import Metric, unit

R, G, P, C, Y = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS, Metric.REPLIES

LADDERS: Ladders = {
    R: (10, 50, 100, 200),
    G: (10, 50, 100),
    P: (1, 5, 10),
    C: (10,),
    Y: (10, 100),
    Metric.PAYOUT: (10, 100),
}


# --- find_crossings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "added", "earned"),
    [
        (0, 1, [1]),  # the first post: the count reaches the threshold exactly
        (0, 0, []),
        (1, 1, []),  # already past 1, not yet 5
        (4, 1, [5]),
        (5, 1, []),  # 5 was earned before: never again
        (0, 10, [1, 5, 10]),  # a jump past several thresholds earns them all
        (3, 100, [5, 10]),
        (10, 1000, []),  # past the last threshold: nothing more to earn
        (9, 1, [10]),
    ],
)
def test_crossings_are_the_thresholds_in_old_exclusive_new_inclusive(
    before: int, added: int, earned: list[int]
) -> None:
    crossings = find_crossings({"alice": {P: before}}, {("alice", P): added}, LADDERS)

    assert crossings == [Badge("alice", P, threshold) for threshold in earned]


@pytest.mark.parametrize(
    ("before", "added", "earned"),
    [
        (0, 9_999, []),  # 9.999 HP: short of 10 HP
        (0, 10_000, [10]),  # the count is kept in 0.001 HP, the threshold read in HP
        (9_999, 1, [10]),
        (10_000, 89_999, []),
        (0, 100_000, [10, 100]),
    ],
)
def test_a_payout_threshold_in_hp_is_reached_by_a_count_in_thousandths_of_hp(
    before: int, added: int, earned: list[int]
) -> None:
    crossings = find_crossings({"alice": {Metric.PAYOUT: before}}, {("alice", Metric.PAYOUT): added}, LADDERS)

    assert crossings == [Badge("alice", Metric.PAYOUT, threshold) for threshold in earned]


def test_an_account_absent_from_before_starts_from_zero() -> None:
    assert find_crossings({}, {("alice", P): 5}, LADDERS) == [Badge("alice", P, 1), Badge("alice", P, 5)]


def test_a_metric_absent_from_before_starts_from_zero() -> None:
    crossings = find_crossings({"alice": {R: 500}}, {("alice", C): 10}, LADDERS)

    assert crossings == [Badge("alice", C, 10)]


def test_crossings_of_several_accounts_and_metrics_are_sorted() -> None:
    increments = Counter({("bob", R): 10, ("alice", P): 1, ("alice", R): 60, ("bob", G): 9})
    before = {"bob": {G: 1}}

    assert find_crossings(before, increments, LADDERS) == [
        Badge("alice", P, 1),
        Badge("alice", R, 10),
        Badge("alice", R, 50),
        Badge("bob", G, 10),
        Badge("bob", R, 10),
    ]


counts = st.integers(min_value=0, max_value=300)
metrics = st.sampled_from(list(Metric))
accounts = st.sampled_from(["alice", "bob", "carol"])


@st.composite
def batches(draw: st.DrawFn) -> tuple[dict[str, dict[Metric, int]], dict[tuple[str, Metric], int]]:
    before = draw(st.dictionaries(accounts, st.dictionaries(metrics, counts)))
    increments = draw(st.dictionaries(st.tuples(accounts, metrics), counts))
    return before, increments


@given(batches())
def test_crossings_equal_every_threshold_between_the_old_and_the_new_count(
    batch: tuple[dict[str, dict[Metric, int]], dict[tuple[str, Metric], int]],
) -> None:
    before, increments = batch

    expected = set()
    for (account, metric), added in increments.items():
        old = before.get(account, {}).get(metric, 0)
        expected |= {
            Badge(account, metric, t) for t in LADDERS[metric] if old < t * unit(metric) <= old + added
        }

    crossings = find_crossings(before, increments, LADDERS)
    assert crossings == sorted(expected)
    assert len(set(crossings)) == len(crossings)


@given(batches(), st.data())
def test_one_batch_earns_what_the_same_increments_split_in_two_batches_earn(
    batch: tuple[dict[str, dict[Metric, int]], dict[tuple[str, Metric], int]], data: st.DataObject
) -> None:
    before, increments = batch
    first = {key: data.draw(st.integers(0, added)) for key, added in increments.items()}
    second = {key: added - first[key] for key, added in increments.items()}
    middle = {account: dict(metrics_) for account, metrics_ in before.items()}
    for (account, metric), added in first.items():
        middle.setdefault(account, {})[metric] = middle.get(account, {}).get(metric, 0) + added

    split = find_crossings(before, first, LADDERS) + find_crossings(middle, second, LADDERS)

    assert sorted(split) == find_crossings(before, increments, LADDERS)
    assert len(set(split)) == len(split)  # no badge earned twice


# --- select_announcements ----------------------------------------------------------------------------------


def test_a_jump_over_several_thresholds_announces_only_the_highest_with_the_next_target() -> None:
    badges = [Badge("alice", R, 10), Badge("alice", R, 50), Badge("alice", R, 100)]

    assert select_announcements(badges, LADDERS) == [Announcement(R, 100, 200)]


def test_the_last_threshold_of_a_ladder_has_no_next_target() -> None:
    assert select_announcements([Badge("alice", R, 200)], LADDERS) == [Announcement(R, 200, None)]
    assert select_announcements([Badge("alice", C, 10)], LADDERS) == [Announcement(C, 10, None)]


def test_announcements_are_one_per_metric_in_metric_order_whatever_the_badge_order() -> None:
    badges = [Badge("alice", C, 10), Badge("alice", P, 5), Badge("alice", R, 10), Badge("alice", P, 1)]

    assert select_announcements(badges, LADDERS) == [
        Announcement(R, 10, 50),
        Announcement(P, 5, 10),
        Announcement(C, 10, None),
    ]


def test_no_badges_announce_nothing() -> None:
    assert select_announcements([], LADDERS) == []


@given(st.lists(st.tuples(metrics, st.integers(0, 3)), min_size=1))
def test_each_announcement_names_the_highest_badge_and_the_threshold_right_after_it(
    picks: list[tuple[Metric, int]],
) -> None:
    badges = [Badge("alice", m, LADDERS[m][i % len(LADDERS[m])]) for m, i in picks]

    announcements = select_announcements(badges, LADDERS)

    assert [a.metric for a in announcements] == [m for m in Metric if m in {b.metric for b in badges}]
    for item in announcements:
        assert isinstance(item.metric, Metric)
        ladder = LADDERS[item.metric]
        assert item.threshold == max(b.threshold for b in badges if b.metric is item.metric)
        position = ladder.index(item.threshold)
        assert item.next_threshold == (ladder[position + 1] if position + 1 < len(ladder) else None)


# --- Quiet: which badges are silent ----------------------------------------------------------------------


def plan(account: str, *, age: float = 0, opted_out: frozenset[str] = frozenset()) -> Silence | None:
    quiet = Quiet("badge-bot", {"ignored-one"}, opted_out, {}, frozenset())
    return quiet.silence(Badge(account, P, 1), age, 3600)


@pytest.mark.parametrize(
    ("account", "age", "opted_out", "silence"),
    [
        ("alice", 0, frozenset(), None),
        ("alice", 3600, frozenset(), None),  # exactly max_age old: still announced
        ("alice", 3601, frozenset(), Silence.STALE),
        ("badge-bot", 0, frozenset(), Silence.IGNORED),  # the bot never notifies itself
        ("ignored-one", 0, frozenset(), Silence.IGNORED),
        ("alice", 0, frozenset({"alice"}), Silence.OPTED_OUT),
        ("bob", 0, frozenset({"alice"}), None),
        # when several reasons apply, the most lasting one is recorded
        ("badge-bot", 99_999, frozenset({"badge-bot"}), Silence.IGNORED),
        ("ignored-one", 0, frozenset({"ignored-one"}), Silence.IGNORED),
        ("alice", 99_999, frozenset({"alice"}), Silence.OPTED_OUT),
    ],
)
def test_which_badges_are_announced_and_why_the_others_are_silent(
    account: str, age: float, opted_out: frozenset[str], silence: Silence | None
) -> None:
    assert plan(account, age=age, opted_out=opted_out) == silence


def test_every_earned_badge_is_planned_silent_or_not_in_order() -> None:
    badges = [Badge("alice", P, 1), Badge("badge-bot", P, 1), Badge("carol", P, 1), Badge("alice", P, 5)]

    quiet = Quiet("badge-bot", set(), {"carol"}, {}, frozenset())
    planned = [EarnedBadge(badge, quiet.silence(badge, 0, 60)) for badge in badges]

    assert planned == [
        EarnedBadge(Badge("alice", P, 1), None),
        EarnedBadge(Badge("badge-bot", P, 1), Silence.IGNORED),
        EarnedBadge(Badge("carol", P, 1), Silence.OPTED_OUT),
        EarnedBadge(Badge("alice", P, 5), None),
    ]


def test_silence_reasons_are_the_strings_stored_in_the_outbox() -> None:
    assert {silence.value for silence in Silence} == {"ignored", "opted_out", "muted", "stale", "baseline"}
