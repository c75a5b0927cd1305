"""Hive birthdays: the anniversary of an account's creation, in chain time. Pure functions.

The rule (README, "Hive birthdays"):

- An account's birthday is the UTC date of its ``created`` (the chain's creation time) in later years. An
  account created on February 29 has its birthday on February 28 in a year without one (the day stays
  in February, and comes before, never after, a full year of days).
- The birthday of year N (N ≥ 1: the day of the creation itself is none) is reached when the chain's time
  reaches that date's start, 00:00 UTC: by the first irreversible block at or after it. The account then
  earns the badge ``(account, birthday, N)``, once: a badge already held is never earned again.
- Which days a batch of blocks reaches: those whose start lies after the time of the block before the
  batch and at or before the time of its last block (:func:`days_begun`). Batches follow one another
  without gap or overlap, so each day is reached by one batch only: after a restart, or after downtime,
  the batches that follow reach the days missed, once, and their badges are too old to announce (the
  caller's ``max_crossing_age``: recorded silently, never caught up in bulk).
- Only accounts whose creation time the store has are looked at: the accounts the bot has met (a row in
  its counts), their ``created`` asked of a node once, when a batch first counts them with the family on.
  An account met on its birthday, after the day's start, earns it the next year.

Finding the accounts whose birthday a day is costs one index look-up per day reached: the store keeps each
account's creation with its birthday as ``month * 100 + day`` (:func:`birthday_key`), indexed. A batch that
reaches no day (most: a day is 28,800 blocks) reads nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.badges import Badge
from bot.metrics import Occasion

DAY = 86_400


@dataclass(frozen=True, slots=True)
class Birth:
    """An account and its creation time (epoch seconds, chain time)."""

    account: str
    created: int


@dataclass(frozen=True, slots=True)
class Birthday:
    """A birthday badge earned, and when (the start of its day, epoch seconds)."""

    badge: Badge
    reached: int


def birthday_key(created: int) -> int:
    """``month * 100 + day`` of ``created``'s UTC date: what the store indexes births by."""
    born = _utc_date(created)
    return born.month * 100 + born.day


def days_begun(since: int, until: int) -> list[date]:
    """The UTC dates whose start (00:00) lies in ``(since, until]``, oldest first."""
    first = _utc_date(since) + timedelta(days=1)
    return [first + timedelta(days=n) for n in range(max(0, (until - _start(first)) // DAY + 1))]


def birthday_keys(day: date) -> tuple[int, ...]:
    """The :func:`birthday_key` values whose birthday ``day`` is: its own, and on February 28 of a year
    without a February 29, the accounts born on one."""
    key = day.month * 100 + day.day
    if key == 228 and not calendar.isleap(day.year):
        return (228, 229)
    return (key,)


def years_on(created: int, day: date) -> int | None:
    """How many years old an account created at ``created`` turns on ``day``; None: ``day`` is not its
    birthday (or is the day it was created)."""
    born = _utc_date(created)
    years = day.year - born.year
    if years < 1 or birthday_key(created) not in birthday_keys(day):
        return None
    return years


def find_birthdays(
    births: Iterable[Birth], since: int, until: int, held: Set[tuple[str, int]] = frozenset()
) -> list[Birthday]:
    """The birthday badges a batch earns: those of ``births`` whose birthday begins in ``(since, until]``
    (:func:`days_begun`), less those ``held`` already ((account, years) pairs)."""
    return sorted(_birthdays(list(births), days_begun(since, until), held), key=_order)


def _birthdays(births: list[Birth], days: list[date], held: Set[tuple[str, int]]) -> Iterator[Birthday]:
    for day in days:
        for birth in births:
            years = years_on(birth.created, day)
            if years is not None and (birth.account, years) not in held:
                yield Birthday(Badge(birth.account, Occasion.BIRTHDAY, years), _start(day))


def _order(birthday: Birthday) -> tuple[int, Badge]:
    return birthday.reached, birthday.badge


def _utc_date(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def _start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
