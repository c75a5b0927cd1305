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
