"""STOP and START: which replies to the bot opt their authors out of notifications, or back in. Pure.

A comment (new or edited) whose parent is a comment by the bot's account, and whose text holds the word
STOP — any case, as a whole word: "stop", "STOP!", "Stop please", but not "nonstop" or "stopped" — opts
out its author, the account that wrote the reply, whoever the notification was for. START the same way
opts back in; a text with both is a STOP. Within one batch the author's replies apply in chain order (so
the last whole STOP or START decides).

A STOP (or START) may name families — :data:`~bot.metrics.Family` values (the badges' keys, and
``birthday``), or ``all`` —
in a list right after the word: "STOP posts", "stop comments, posts", "STOP upvotes_given and posts".
The list's items are separated by spaces, a comma or ``&`` (spaces around), or the word ``and``; a ``-``
in a name reads as ``_``; the list ends at the first word that is not a family (or at any other
character: "STOP. Posts are fine" names none). A command that names none, or names ``all``, is about every
family: whatever is unclear stops more, never less. An account opted out of every family that STARTs
some is opted out of the others it was (every family the bot knows then).

An edit may carry a diff-match-patch text (starting with ``@@ ``) instead of the whole body, as PeakD and
Ecency send them. The reply's text after such an edit is the patch applied to its text before it
(:func:`text_after`), read from the blocks: from earlier in the batch, or kept by the store from earlier
batches. So a STOP holds even if the reply is deleted before the bot reads its blocks, and no node is asked.
Only a patch whose previous text is unknown (the bot never saw it, or no longer keeps it) or that does not
apply cleanly leaves the text to be read from a node (:func:`unread_replies`); a node that has no text for
it any more (the reply was deleted since) leaves it unread, and such a reply says nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

from bot.metrics import FAMILIES, Family, Metric, Occasion
from bot.operations import Block, Comment, CommentKey

MAX_KEPT_TEXT = 16_384
"""Characters of a reply's text the store keeps at most: a longer text is not kept (a later patch to it is
read from a node). Replies to a notification are a few words; this bounds what one reply can cost."""

_STOP = re.compile(r"(?<![^\W_])stop(?![^\W_])", re.IGNORECASE)
_START = re.compile(r"(?<![^\W_])start(?![^\W_])", re.IGNORECASE)
"""A word is delimited by anything that is not a letter or digit (so "stop_" and "_stop" still count)."""


class OptCommand(enum.StrEnum):
    STOP = "stop"
    START = "start"


ALL = "all"
"""The word (and the custom_json value) that means every family."""
SOURCE_WORDS: Mapping[str, str] = {
    "reply": "by a STOP reply",
    "custom_json": "by custom_json",
    "operator": "by the operator",
}
"""How each source of an opt-out reads, where people see it (``optout list``, the board)."""


@dataclass(frozen=True, slots=True)
class Opt:
    """One STOP or START: of every family (``families`` None), or of those named."""

    command: OptCommand
    families: frozenset[Family] | None = None
    source: str = "reply"
    """Where it was read: ``reply`` or ``custom_json`` (the store keeps the last one's)."""


@dataclass(frozen=True, slots=True)
class OptState:
    """What an account is opted out of: every family (``everything``, a STOP without families: today's and
    any family added later), or the ``families`` named."""

    everything: bool = False
    families: frozenset[Family] = frozenset()

    def wants(self, family: Family) -> bool:
        """Whether the account is notified of ``family``'s badges."""
        return not self.everything and family not in self.families

    @property
    def opted_in(self) -> bool:
        return not self.everything and not self.families

    def apply(self, opt: Opt) -> OptState:
        if opt.families is None:
            return OptState(everything=opt.command is OptCommand.STOP)
        if opt.command is OptCommand.STOP:
            return self if self.everything else OptState(families=self.families | opt.families)
        stopped = frozenset(FAMILIES) if self.everything else self.families
        return OptState(families=stopped - opt.families)


def apply_opts(state: OptState, opts: Iterable[Opt]) -> OptState:
    """``state`` after ``opts``, in order."""
    for opt in opts:
        state = state.apply(opt)
    return state


def parse_family(word: str) -> Family | str | None:
    """A family's name (any case, ``-`` for ``_``) → its :data:`~bot.metrics.Family`, or :data:`ALL`;
    None: not one. Read from :data:`~bot.metrics.FAMILIES` each time: a family added there is one here."""
    name = word.lower().replace("-", "_")
    if name == ALL:
        return ALL
    return next((family for family in FAMILIES if family.value == name), None)


_ITEM = re.compile(r"(?:\s*[,&]\s*|\s+and\s+|\s+)([a-z0-9_-]+)(?![^\W_])", re.IGNORECASE)
"""One item of a family list, with the separator before it."""


def parse_opt_command(text: str) -> OptCommand | None:
    opt = parse_opt(text)
    return None if opt is None else opt.command


def parse_opt(text: str) -> Opt | None:
    """A reply's STOP or START, with the families it names (see the module's docstring)."""
    for command, word in ((OptCommand.STOP, _STOP), (OptCommand.START, _START)):
        found = list(word.finditer(text))
        if found:
            named = [_named_families(text, match.end()) for match in found]
            if any(families is None for families in named):
                return Opt(command)
            return Opt(command, frozenset().union(*(families or () for families in named)))
    return None


def _named_families(text: str, start: int) -> frozenset[Family] | None:
    """The families listed in ``text`` from ``start`` (just after a STOP or START); None: all of them (none
    named, or ``all``)."""
    named: set[Family] = set()
    while (item := _ITEM.match(text, start)) is not None:
        family = parse_family(item.group(1))
        if family is None:
            break
        if not isinstance(family, Metric | Occasion):
            return None
        named.add(family)
        start = item.end()
    return frozenset(named) or None


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


def text_after(previous: str | None, body: str) -> str | None:
    """A reply's text after a comment operation with ``body``, its text before being ``previous`` (None:
    unknown). A diff-match-patch body is applied to ``previous``; None when that cannot be done cleanly (no
    previous text, a body that only looks like a patch, a patch made against another text)."""
    if not is_patch(body):
        return body
    if previous is None:
        return None
    dmp = diff_match_patch()
    try:
        patched, applied = dmp.patch_apply(dmp.patch_fromText(body), previous)
    except ValueError:  # "Invalid patch string"
        return None
    return str(patched) if all(applied) else None


@dataclass(frozen=True, slots=True)
class ReadReply:
    """A reply operation and the reply's text after it: read from the blocks, or else the text a node has
    now (None: unknown)."""

    reply: Comment
    text: str | None
    from_blocks: bool


def read_replies(
    replies: Iterable[Comment],
    kept: Mapping[CommentKey, str],
    fetched: Mapping[CommentKey, str | None] | None = None,
) -> list[ReadReply]:
    """Each reply operation, in chain order, with the reply's text after it: :func:`text_after` its text
    before — from an earlier operation in ``replies``, else ``kept`` (the store's, from earlier batches) —
    else, when that leaves it unknown, the text a node has now (``fetched``). A node's text is never patched:
    it may already hold the later edits."""
    texts = dict(kept)
    read: list[ReadReply] = []
    for reply in replies:
        text = text_after(texts.get(reply.key), reply.body)
        if text is not None:
            texts[reply.key] = text
            read.append(ReadReply(reply, text, from_blocks=True))
        else:
            texts.pop(reply.key, None)
            read.append(ReadReply(reply, (fetched or {}).get(reply.key), from_blocks=False))
    return read


def unread_replies(read: Iterable[ReadReply]) -> set[CommentKey]:
    """The replies whose text the blocks leave unknown: to read from a node."""
    return {item.reply.key for item in read if not item.from_blocks}


def texts_to_keep(read: Iterable[ReadReply]) -> dict[CommentKey, str | None]:
    """Each reply's last text read from the blocks, to keep for the patches of later batches; None: forget
    the one kept (the text is unknown now, or longer than :data:`MAX_KEPT_TEXT`)."""
    last = {item.reply.key: item for item in read}
    return {
        key: item.text if item.from_blocks and len(item.text or "") <= MAX_KEPT_TEXT else None
        for key, item in last.items()
    }


def find_opt_commands(read: Iterable[ReadReply]) -> dict[str, list[Opt]]:
    """Each replier's STOPs and STARTs, in chain order, read from the reply's text after each operation
    (an unknown text says nothing)."""
    commands: dict[str, list[Opt]] = {}
    for item in read:
        opt = parse_opt(item.text) if item.text is not None else None
        if opt is not None:
            commands.setdefault(item.reply.author, []).append(opt)
    return commands
