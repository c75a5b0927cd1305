"""The activity metrics the bot counts and awards badges for.

`Metric` is the one name for these across the codebase: config keys, store columns and reply templates all use
its string values.
"""

from __future__ import annotations

import enum


class Metric(enum.StrEnum):
    """One kind of activity counted per account."""

    UPVOTES_RECEIVED = "upvotes_received"
    UPVOTES_GIVEN = "upvotes_given"
    POSTS = "posts"
    COMMENTS = "comments"
    REPLIES = "replies"
    """Replies received: new comments by other accounts whose parent is one of the account's (README, "What
    is counted"). A family added after the first four: no badges unless ``badges:`` gives it a ladder."""
    PAYOUT = "payout"
    """Rewards received (author, curation, beneficiary), in HP equivalent (:mod:`bot.payouts`). Its counts
    are kept in thousandths of HP (:data:`PAYOUT_UNIT`); its thresholds, like every family's, in the unit
    people read (HP): :func:`unit` relates them. Optional, like ``replies``."""


PAYOUT_DECIMALS = 3
PAYOUT_UNIT = 10**PAYOUT_DECIMALS
"""How many of :attr:`Metric.PAYOUT`'s count units make one HP: its count is kept in 0.001 HP, the precision
of a HIVE amount on chain, so that every payout adds exactly what it is worth (rounded down to 0.001 HP as
hived rounds), where whole HP would drop most curation rewards."""


def unit(metric: Metric) -> int:
    """How many of ``metric``'s count units make one unit of its thresholds: a count reaches a threshold
    ``t`` when it is at least ``t * unit(metric)``."""
    return PAYOUT_UNIT if metric is Metric.PAYOUT else 1


def decimal(metric: Metric, count: int) -> str:
    """``count`` exactly, in the unit of ``metric``'s thresholds, as a plain decimal: ``"1234.567"`` (HP)
    for a payout count of 1_234_567, ``"12"`` for 12 posts. What the JSON answers carry for a payout: a
    string, as Hive's own APIs write amounts, that no consumer can take for thousandths of HP, and that a
    float would not round."""
    if metric is not Metric.PAYOUT:
        return str(count)
    whole, part = divmod(count, PAYOUT_UNIT)
    return f"{whole}.{part:0{PAYOUT_DECIMALS}d}"


def count_json(metric: Metric, count: int) -> int | str:
    """A count as the JSON answers carry it: a whole number, or for a payout a decimal string in HP
    (``"1234.567"``, :func:`decimal`). Not the thousandths it is kept in, which a consumer
    would read as HP, nor a JSON number with a fraction, which many parsers round: a string cannot be
    misread, and is how Hive's own APIs write amounts."""
    return decimal(metric, count) if metric is Metric.PAYOUT else count


def shown(metric: Metric, count: int) -> str:
    """``count`` as a person reads it, wherever one does (board, ranking, command line): thousands
    separated, a payout in HP with three decimals: ``"1,234.567 HP"``, ``"1,234"``. The one place a count
    is written for people: its thresholds are written by :func:`shown_threshold`."""
    whole, point, part = decimal(metric, count).partition(".")
    return _with_unit(metric, f"{int(whole):,}{point}{part}")


def shown_threshold(family: Family, threshold: int) -> str:
    """A badge's threshold (in the unit people read: :func:`unit`) as a person reads it: ``"5,000 HP"``,
    ``"1,000"``."""
    return _with_unit(family, f"{threshold:,}")


def _with_unit(family: Family, number: str) -> str:
    return f"{number} HP" if family is Metric.PAYOUT else number


class Occasion(enum.StrEnum):
    """A badge family that is not counted: earned on a date of the chain, not at a threshold of a count.
    Its badge's threshold is a number of the occasion's own (a birthday's: the years)."""

    BIRTHDAY = "birthday"
    """The anniversary of the account's creation (:mod:`bot.birthdays`)."""


Family = Metric | Occasion
"""A badge family — the name badges, opt-outs and templates use: a counted :class:`Metric`, or an
:class:`Occasion`. Their values never clash (checked by ``tests/rules/test_birthdays.py``)."""

FAMILIES: tuple[Family, ...] = (*Metric, *Occasion)
"""Every family, counted ones first (the order a notification lists its badges in)."""


def as_family(value: str) -> Family:
    """The family whose value is ``value`` (as the store keeps it); ValueError if none is."""
    return Metric(value) if value in Metric._value2member_map_ else Occasion(value)
