"""STOP and START: which replies to the bot opt their authors out of notifications, or back in. Pure.

A comment (new or edited) whose parent is a comment by the bot's account, and whose text holds the word
STOP — any case, as a whole word: "stop", "STOP!", "Stop please", but not "nonstop" or "stopped" — opts
out its author, the account that wrote the reply, whoever the notification was for. START the same way
opts back in; a text with both is a STOP. Within one batch the author's last reply decides.

An edit may carry a diff-match-patch text (starting with ``@@ ``) instead of the whole body: such replies
are listed by :func:`patched_replies` so the caller can read their stored text from a node first.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

from bot.operations import Block, Comment, CommentKey

_STOP = re.compile(r"(?<![^\W_])stop(?![^\W_])", re.IGNORECASE)
_START = re.compile(r"(?<![^\W_])start(?![^\W_])", re.IGNORECASE)
"""A word is delimited by anything that is not a letter or digit (so "stop_" and "_stop" still count)."""


class OptCommand(enum.StrEnum):
    STOP = "stop"
    START = "start"


def parse_opt_command(text: str) -> OptCommand | None:
    if _STOP.search(text):
        return OptCommand.STOP
    if _START.search(text):
        return OptCommand.START
    return None


def is_patch(body: str) -> bool:
    """Whether a comment operation's body is a diff-match-patch text rather than the comment's text."""
    return body.startswith("@@ ")


def replies_to(blocks: Iterable[Block], account: str) -> list[Comment]:
    """Comment operations (creations and edits) answering a comment by ``account``, in chain order,
    leaving out ``account``'s own."""
    return [
        event
        for block in blocks
        for event in block.events
        if isinstance(event, Comment) and event.parent_author == account and event.author != account
    ]


def patched_replies(replies: Iterable[Comment]) -> set[CommentKey]:
    return {reply.key for reply in replies if is_patch(reply.body)}


def count_opt_commands(
    replies: Iterable[Comment], stored_texts: Mapping[CommentKey, str | None]
) -> dict[str, OptCommand]:
    """Each replier's last STOP or START. A patched reply is read from ``stored_texts`` (its text as the
    chain stores it; ``None``: deleted since, which says nothing)."""
    commands: dict[str, OptCommand] = {}
    for reply in replies:
        text = stored_texts.get(reply.key) if is_patch(reply.body) else reply.body
        command = parse_opt_command(text) if text is not None else None
        if command is not None:
            commands[reply.author] = command
    return commands
