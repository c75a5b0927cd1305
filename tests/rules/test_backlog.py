"""The backlog's order (bot.backlog): probes, giants, shortest rest first, no starvation, as rules and as
properties over rounds of reading (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.backlog import Waiting, calls_left, choose, estimate_entries_left

PAGE = 1000


def waiting(account: str, *, queued: int = 10, left: int | None = None, live: int = 0) -> Waiting:
    return Waiting(account, queued, 0 if left is None else 1, left, live)


def names(items: list[Waiting]) -> list[str]:
    return [item.account for item in items]


@pytest.mark.parametrize(
    ("lowest", "highest", "entries", "left"),
    [
        (0, 999, 1000, 0),  # the page reached index 0: nothing below
        (9000, 9999, 1000, 9000),  # every raw entry matched
        (9000, 9999, 100, 900),  # one in ten matched
        (1_000_000, 1_049_999, 1000, 20_000),  # a sparse history: 50,000 raw entries for 1000 matching
        (5, 5, 0, 0),  # nothing matched: no evidence of more
    ],
)
def test_entries_left_are_the_raw_entries_below_the_page_at_its_matching_density(
    lowest: int, highest: int, entries: int, left: int
) -> None:
    assert estimate_entries_left(lowest, highest, entries) == left


def test_an_estimate_from_an_impossible_span_names_it() -> None:
    with pytest.raises(ValueError, match=r"lowest ≤ highest, got 10\.\.5"):
        estimate_entries_left(10, 5, 3)


def test_not_begun_accounts_are_probed_first_the_most_active_live_first() -> None:
    backlog = [waiting("old", queued=1), waiting("short", left=10), waiting("quiet"), waiting("busy", live=9)]
    assert names(choose(backlog, [], 4)) == ["old", "busy", "quiet", "short"]


def test_begun_accounts_go_shortest_rest_first_then_most_live_then_earliest_queued() -> None:
    backlog = [
        waiting("a", queued=1, left=0),
        waiting("long", left=5000),
        waiting("calm", queued=3, left=200),
        waiting("lively", queued=4, left=200, live=5),
        waiting("late", queued=5, left=200),
        waiting("short", left=100),
    ]
    assert names(choose(backlog, [], 6)) == ["a", "short", "lively", "calm", "late", "long"]


def test_a_giant_whose_rest_is_as_long_as_the_backlog_per_slot_goes_ahead_of_probes() -> None:
    short = [waiting(f"s{n}", left=100) for n in range(20)]
    probes = [waiting(f"p{n}") for n in range(5)]
    giant = waiting("giant", left=1_000_000)
    chosen = choose([waiting("first", queued=1), *probes, *short, giant], [], 4)
    assert names(chosen) == ["first", "giant", "p0", "p1"]


def test_giants_hold_at_most_their_share_of_the_slots_counting_those_in_flight() -> None:
    giants = [waiting(f"g{n}", left=1_000_000 + n) for n in range(4)]
    probes = [waiting(f"p{n}") for n in range(4)]
    assert names(choose([*giants, *probes], [], 4)) == ["g0", "g3", "g2", "p0"]
    assert names(choose([*giants[1:], *probes], giants[:1], 3)) == ["g3", "p0", "p1"]


def test_the_earliest_queued_account_always_holds_a_slot() -> None:
    backlog = [waiting("patient", queued=1, left=900_000), *(waiting(f"new{n}", queued=50) for n in range(9))]
    assert names(choose(backlog, [], 1)) == ["patient"]


def test_calls_left_count_a_page_per_page_size_and_one_for_a_probe() -> None:
    backlog = [
        waiting("probe"),
        waiting("done-soon", left=0),
        waiting("two", left=1001),
        waiting("one", left=1000),
    ]
    assert calls_left(backlog, PAGE) == 1 + 1 + 2 + 1


def test_calls_left_refuses_an_empty_page() -> None:
    with pytest.raises(ValueError, match="page_size 0"):
        calls_left([], 0)


# Properties: rounds of reading. Each account has a true length in pages, learnt at its probe; every
# round, each chosen account reads one page; new short accounts may arrive every round.

lengths = st.lists(st.integers(1, 40), min_size=1, max_size=25)


def backlog_of(pages: list[int], first_queued: int = 0) -> dict[str, tuple[Waiting, int]]:
    return {
        f"a{first_queued + n}": (Waiting(f"a{first_queued + n}", first_queued + n, 0, None, n % 3), length)
        for n, length in enumerate(pages)
    }


def read_one_page(item: Waiting, length: int) -> Waiting | None:
    pages = item.pages + 1
    return None if pages >= length else replace(item, pages=pages, entries_left=(length - pages) * PAGE)


@settings(max_examples=200, deadline=None)
@given(pages=lengths, busy=st.sets(st.integers(0, 24)), free=st.integers(0, 12))
def test_choose_never_picks_an_account_in_flight_nor_more_than_free(
    pages: list[int], busy: set[int], free: int
) -> None:
    backlog = [item for item, _ in backlog_of(pages).values()]
    in_flight = [item for n, item in enumerate(backlog) if n in busy]
    chosen = choose(backlog, in_flight, free)
    assert len(chosen) <= free
    assert not {item.account for item in chosen} & {item.account for item in in_flight}
    assert len({item.account for item in chosen}) == len(chosen)
    assert len(chosen) == min(free, len(backlog) - len(in_flight))


@settings(max_examples=150, deadline=None)
@given(pages=lengths, free=st.integers(1, 6), arrivals=st.lists(st.integers(0, 10), max_size=60))
def test_every_waiting_account_finishes_under_a_stream_of_new_short_accounts(
    pages: list[int], free: int, arrivals: list[int]
) -> None:
    """The first accounts finish within as many rounds as their pages in all: the earliest queued one reads
    a page every round, whatever arrives after it."""
    first = backlog_of(pages)
    backlog = dict(first)
    for round_number in range(sum(pages)):
        arriving = arrivals[round_number] if round_number < len(arrivals) else 0
        queued = 1000 + round_number * 10
        backlog |= backlog_of([1] * arriving, queued)
        for item in choose([item for item, _ in backlog.values()], [], free):
            length = backlog.pop(item.account)[1]
            if (after := read_one_page(item, length)) is not None:
                backlog[item.account] = (after, length)
    assert not set(first) & set(backlog)
