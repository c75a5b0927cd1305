"""Badges: which thresholds a batch's counts cross, and what a notification announces. Pure functions.

A badge is (account, metric, threshold), earned when the account's count for the metric reaches the
threshold. Counts only grow, so a badge is earned once, ever. A count that jumps past several thresholds at
once earns each of them; a notification announces, per metric, only the highest, with the next threshold of
the ladder as the next target (none after the last one).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass

from bot.manners import DEFAULT_CUSTOM_JSON_ID
from bot.metrics import FAMILIES, Family, Metric, unit

Ladders = Mapping[Metric, tuple[int, ...]]
"""The thresholds of each metric, strictly increasing (validated by :mod:`bot.config`), in the unit people
read: a count reaches ``t`` at ``t * unit(metric)`` (:func:`bot.metrics.unit`: HP for a payout count kept in
0.001 HP)."""


@dataclass(frozen=True, slots=True)
class BadgeRules:
    """Who earns badges and which are announced (from the config)."""

    ladders: Ladders
    bot: str
    """The bot's own account: it earns badges like anyone, but is never notified."""
    ignore: frozenset[str] = frozenset()
    max_crossing_age: float = 86_400
    per_account_interval: float = 86_400
    digest_interval: float = 7 * 86_400
    """How long an account on a digest waits between two notifications (see :func:`bot.plan.due_time`)."""
    custom_json_id: str = DEFAULT_CUSTOM_JSON_ID
    """The id of the ``custom_json`` opt commands (``notifications.custom_json_id``, see :mod:`bot.manners`)."""
    birthday: bool = False
    """Whether accounts earn birthday badges (``badges.birthday.enabled``, see :mod:`bot.birthdays`)."""


@dataclass(frozen=True, slots=True, order=True)
class Badge:
    """An account's badge of a family: a counted metric's at a threshold, or an occasion's (a birthday's
    threshold is the years). The field keeps its first name, ``metric``, as the store's column does."""

    account: str
    metric: Family
    threshold: int


@dataclass(frozen=True, slots=True)
class Announcement:
    """One line of a notification: the highest badge of a metric, and the next target if there is one."""

    metric: Family
    threshold: int
    next_threshold: int | None


def find_crossings(
    before: Mapping[str, Mapping[Metric, int]],
    increments: Mapping[tuple[str, Metric], int],
    ladders: Ladders,
) -> list[Badge]:
    """The badges earned when ``increments`` are added to the counts ``before`` (absent accounts: zeros)."""
    return sorted(_crossings(before, increments, ladders))


def _crossings(
    before: Mapping[str, Mapping[Metric, int]],
    increments: Mapping[tuple[str, Metric], int],
    ladders: Ladders,
) -> Iterator[Badge]:
    for (account, metric), added in increments.items():
        old = before.get(account, {}).get(metric, 0)
        new = old + added
        scale = unit(metric)
        for threshold in ladders.get(metric, ()):  # a family without a ladder earns none
            if old < threshold * scale <= new:
                yield Badge(account, metric, threshold)


def select_announcements(badges: Iterable[Badge], ladders: Ladders) -> list[Announcement]:
    """What a notification about ``badges`` (one account's) says: per family, in :data:`FAMILIES` order.
    An occasion has no ladder, hence no next target."""
    highest: dict[Family, int] = {}
    for badge in badges:
        highest[badge.metric] = max(highest.get(badge.metric, 0), badge.threshold)
    return [
        Announcement(family, highest[family], _next_threshold(family, highest[family], ladders))
        for family in FAMILIES
        if family in highest
    ]


def _next_threshold(family: Family, reached: int, ladders: Ladders) -> int | None:
    if not isinstance(family, Metric):
        return None
    return next((threshold for threshold in ladders[family] if threshold > reached), None)


class Silence(enum.StrEnum):
    """Why an earned badge is recorded without being announced."""

    IGNORED = "ignored"  # the bot's own account, or on the ignore list
    OPTED_OUT = "opted_out"  # the account opted out (of the badge's family, or of all)
    MUTED = "muted"  # the account mutes the bot
    STALE = "stale"  # found too long after it was earned (catching up, replaying history)
    BASELINE = "baseline"  # reached by the account's history before the bot followed it


@dataclass(frozen=True, slots=True)
class EarnedBadge:
    badge: Badge
    silence: Silence | None  # None: announce it


@dataclass(frozen=True, slots=True)
class Quiet:
    """Who is not to hear of which badges: ``opted_out`` accounts of no family, ``stopped`` ones not of the
    families named, ``muted`` ones of none (:func:`bot.plan.plan_batch` builds it for a batch)."""

    bot: str
    ignore: Set[str]
    opted_out: Set[str]
    stopped: Mapping[str, Set[Family]]
    muted: Set[str]

    def silence(self, badge: Badge, age: float, max_age: float) -> Silence | None:
        account = badge.account
        if account == self.bot or account in self.ignore:
            return Silence.IGNORED
        if account in self.opted_out or badge.metric in self.stopped.get(account, ()):
            return Silence.OPTED_OUT
        if account in self.muted:
            return Silence.MUTED
        if age > max_age:
            return Silence.STALE
        return None
