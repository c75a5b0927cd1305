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
