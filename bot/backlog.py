"""The order in which the backlog is read: which waiting baselines get the next pages. Pure.

The backlog is every baseline still waiting for pages. One page of an account is in flight at a time (the
pages of one filtered history depend on the one before), so an account of P pages is a chain of P
sequential calls, while the node budget allows many calls at once across accounts. The aim: most accounts
done early — an account earns no badge until its baseline is in — and the whole backlog done close to its
lower bound (every call it needs ÷ the budget). In order:

1. **Giants on the critical path.** Shortest first alone would leave the longest histories to the end,
   and their chains run one page at a time: the backlog would end with a few accounts read page after
   page, the budget idle. So a begun account whose rest is a large share of the whole backlog's rest per
   slot (:data:`CRITICAL`) — its chain alone about as long as the backlog's drain — goes ahead of
   everything else, the longest first: its chain starts early and ends with the rest. In entries, as
   ``entries_left ≥ CRITICAL × total entries left ÷ slots`` (page size cancels out). Giants hold at most
   :data:`GIANT_SHARE` of the slots, so that a backlog of many long histories still serves the short ones.
2. **Probe.** The first page of every account is its probe: most accounts finish in one page, and the page
   tells how long the rest is (:func:`estimate_entries_left`, from the raw index span the page covered and
   the share of it that matched). Not-begun accounts go next, the most active live first (the sum of its
   live counts: the accounts about to cross a threshold), then the earliest queued.
3. **Then shortest rest first** (fewest entries left), the most active live first among equals, then the
   earliest queued, then the name.

And a floor against starvation: the earliest-queued account of the backlog always holds one slot (it is
chosen first whenever it is not in flight), so every account is chosen and finished in time, whatever
stream of new accounts arrives ahead of it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CRITICAL = 0.5
"""A begun account is a giant when its rest is at least this share of the backlog's rest per slot."""
GIANT_ENTRIES = 10_000
"""…and at least this long: ten full pages. A shorter chain ends within seconds wherever it runs."""
GIANT_SHARE = 0.5
"""The share of the slots (free + in flight) giants may hold."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """A baseline still to read, as the policy sees it."""

    account: str
    queued: int  # block at which it was queued: earlier first among equals (then the name)
    pages: int  # pages read so far (0: not begun)
    entries_left: int | None  # estimated matching history entries still to read; None: not begun
    live: int  # sum of its live counts so far: its activity

    def __post_init__(self) -> None:
        if self.pages < 0:
            raise ValueError(f"pages read cannot be negative, got {self.pages} for {self.account}")
        if self.entries_left is not None and self.entries_left < 0:
            raise ValueError(f"entries left cannot be negative, got {self.entries_left} for {self.account}")


def estimate_entries_left(lowest: int, highest: int, entries: int) -> int:
    """After a page holding ``entries`` matching entries between raw history indices lowest..highest:
    the matching entries expected below ``lowest`` at that density."""
    if lowest < 0 or highest < lowest or entries < 0:
        raise ValueError(f"a page spans raw indices 0 ≤ lowest ≤ highest, got {lowest}..{highest}, {entries}")
    return round(lowest * entries / (highest - lowest + 1))


def choose(waiting: Sequence[Waiting], in_flight: Sequence[Waiting], free: int) -> list[Waiting]:
    """Up to ``free`` of ``waiting`` (none of them in flight) to read one page of next, best first."""
    busy = {item.account for item in in_flight}
    ready = [item for item in waiting if item.account not in busy]
    if free <= 0 or not ready:
        return []
    first = _oldest([*ready, *in_flight])
    floor = [first] if first.account not in busy else []
    slots = free + len(in_flight)
    critical = _critical_entries([*waiting, *in_flight], slots)
    giants_free = max(1, int(GIANT_SHARE * slots)) - sum(_is_giant(item, critical) for item in in_flight)
    rest = heapq.nsmallest(free, (item for item in ready if item is not first), key=_rank)
    giants = sorted((item for item in ready if item is not first and _is_giant(item, critical)), key=_longest)
    giants = giants[: max(0, giants_free)]
    chosen = {item.account for item in giants}
    return (floor + giants + [item for item in rest if item.account not in chosen])[:free]


def calls_left(waiting: Iterable[Waiting], page_size: int) -> int:
    """Calls still needed to finish them (a not-begun account: at least one)."""
    if page_size < 1:
        raise ValueError(f"a page holds at least one entry, got page_size {page_size}")
    return sum(_pages_left(item, page_size) for item in waiting)


def _pages_left(item: Waiting, page_size: int) -> int:
    return max(1, math.ceil((item.entries_left or 0) / page_size))


def _oldest(items: Iterable[Waiting]) -> Waiting:
    return min(items, key=lambda item: (item.queued, item.account))


def _critical_entries(backlog: Iterable[Waiting], slots: int) -> float:
    """The entries left from which a begun account is a giant: :data:`CRITICAL` of the rest per slot."""
    total = sum({item.account: item.entries_left or 0 for item in backlog}.values())
    return CRITICAL * total / max(1, slots)


def _is_giant(item: Waiting, critical: float) -> bool:
    return item.entries_left is not None and item.entries_left >= max(critical, GIANT_ENTRIES)


def _longest(item: Waiting) -> tuple[int, int, str]:
    return (-(item.entries_left or 0), item.queued, item.account)


def _rank(item: Waiting) -> tuple[int, int, int, int, str]:
    """Smaller is sooner: probes (most live first), then the shortest rest first."""
    if item.entries_left is None:
        return (0, -item.live, 0, item.queued, item.account)
    return (1, item.entries_left, -item.live, item.queued, item.account)
