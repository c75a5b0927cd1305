"""The counting rules: which operations add to which account's counts. Pure functions only.

- ``upvotes_received`` of A: distinct (voter, A, permlink) whose vote with weight > 0 took effect.
  A vote takes effect only while the comment is not paid out: its block time is less than
  :data:`PAYOUT_WINDOW` (7 days) after the comment's creation. A pair counts once, ever: a changed vote,
  or an unvote followed by a new upvote, does not count again. Downvotes and unvotes never count.
- ``upvotes_given`` of V: the same pairs, from the voter's side.
- ``posts`` / ``comments``: new root posts / new replies. Re-sending an existing (author, permlink) is an
  edit and does not count. A comment deleted and then created again is a new comment.
- ``replies`` of A: the new replies (as ``comments`` counts them) whose parent's author is A, by an author
  other than A. Every author counts, the bot's own account and ``notifications.ignore`` too: counts are
  facts of the chain, not of the config (the ignore list only keeps notifications back).
- Self-votes count unless :attr:`CountingRules.count_self_votes` is false.

:func:`count_blocks` needs two facts from outside, gathered by the caller before it is called:
the creation time of every comment the blocks refer to that existed before the batch (``None`` when
nobody knows: the chain no longer has it), and which (comment, voter) pairs were already counted.
A vote on a comment whose creation time is unknown is not counted (never guessed) and is reported
in :attr:`Tally.unresolved_votes`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field

from bot.metrics import Metric
from bot.operations import Block, Comment, CommentKey, DeleteComment, Vote

PAYOUT_WINDOW = 604_800
"""Seconds after its creation during which votes on a comment take effect (HIVE_CASHOUT_WINDOW_SECONDS)."""

CountedVote = tuple[CommentKey, str]
"""((author, permlink), voter): an upvote pair that has been counted."""


@dataclass(frozen=True, slots=True)
class CountingRules:
    count_self_votes: bool = True
    seam_time: int | None = None
    """When live counting started, with lifetime baselines on: pairs counted on comments created before it
    are reported in :attr:`Tally.seam_pairs` (a baseline may hold them already)."""


@dataclass(slots=True)
class Tally:
    """What one batch of blocks changes."""

    increments: Counter[tuple[str, Metric]] = field(default_factory=Counter)
    created: dict[CommentKey, int] = field(default_factory=dict)
    """Comments created in the batch (and still there at its end), with their creation times."""
    counted_votes: set[CountedVote] = field(default_factory=set)
    """Pairs counted in the batch, to be remembered while their comment can still take votes."""
    deleted: set[CommentKey] = field(default_factory=set)
    """Comments deleted in the batch: forget them, and their counted pairs, before remembering the rest."""
    seam_pairs: set[CountedVote] = field(default_factory=set)
    """Counted pairs whose comment was created before :attr:`CountingRules.seam_time`."""
    root_posts: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Each author's newest root post created in the batch (and still there at its end): (permlink, time)."""
    unresolved_votes: int = 0


def is_reply_received(author: str, parent_author: str) -> bool:
    """Whether a new comment by ``author`` under a comment of ``parent_author`` is a reply the parent's author
    received: not a root post (no parent), not a self-reply."""
    return parent_author not in ("", author)


def referenced_comments(blocks: Iterable[Block]) -> set[CommentKey]:
    """Every comment a vote or comment operation in ``blocks`` names."""
    keys: set[CommentKey] = set()
    for block in blocks:
        for event in block.events:
            keys.add(event.comment if isinstance(event, Vote) else event.key)
    return keys


def upvote_pairs(blocks: Iterable[Block]) -> set[CountedVote]:
    """Every (comment, voter) pair with an upvote in ``blocks``: the pairs whose history matters."""
    return {
        (event.comment, event.voter)
        for block in blocks
        for event in block.events
        if isinstance(event, Vote) and event.weight > 0
    }


def count_blocks(
    blocks: Iterable[Block],
    created_before: Mapping[CommentKey, int | None],
    counted_before: Set[CountedVote],
    rules: CountingRules,
) -> Tally:
    """Apply the counting rules to ``blocks`` (consecutive, in order)."""
    counter = _Counter(created_before, counted_before, rules)
    for block in blocks:
        for event in block.events:
            if isinstance(event, Vote):
                counter.vote(event, block.timestamp)
            elif isinstance(event, Comment):
                counter.comment(event, block.timestamp)
            else:
                counter.delete(event)
    return counter.tally


class _Counter:
    """The running state of one :func:`count_blocks` call."""

    def __init__(
        self,
        created_before: Mapping[CommentKey, int | None],
        counted_before: Set[CountedVote],
        rules: CountingRules,
    ) -> None:
        self.created_before = created_before
        self.counted_before = counted_before
        self.rules = rules
        self.tally = Tally()
        self.existing: dict[CommentKey, int] = {}
        self.seen: set[CommentKey] = set()
        self.roots: dict[str, list[tuple[str, int]]] = {}
        """Root posts created in the batch and not deleted since, per author, oldest first."""

    def creation_time(self, key: CommentKey, now: int) -> int | None:
        """When the comment ``key`` that exists just before time ``now`` was created, if known."""
        if key not in self.seen:
            self.seen.add(key)
            before = self.created_before.get(key)
            if before is not None and before < now:
                self.existing[key] = before
        return self.existing.get(key)

    def comment(self, comment: Comment, now: int) -> None:
        if self.creation_time(comment.key, now) is not None:
            return  # an edit
        self.existing[comment.key] = now
        self.tally.created[comment.key] = now
        metric = Metric.POSTS if comment.is_root else Metric.COMMENTS
        self.tally.increments[(comment.author, metric)] += 1
        if is_reply_received(comment.author, comment.parent_author):
            self.tally.increments[(comment.parent_author, Metric.REPLIES)] += 1
        if comment.is_root:
            self.roots.setdefault(comment.author, []).append((comment.permlink, now))
            self.tally.root_posts[comment.author] = (comment.permlink, now)

    def delete(self, delete: DeleteComment) -> None:
        key = delete.key
        self.seen.add(key)
        self.existing.pop(key, None)
        self.tally.created.pop(key, None)
        self.tally.deleted.add(key)
        roots = [root for root in self.roots.get(delete.author, []) if root[0] != delete.permlink]
        if delete.author in self.roots:
            self.roots[delete.author] = roots
            if roots:
                self.tally.root_posts[delete.author] = roots[-1]
            else:
                self.tally.root_posts.pop(delete.author, None)
        self.tally.counted_votes = {pair for pair in self.tally.counted_votes if pair[0] != key}

    def vote(self, vote: Vote, now: int) -> None:
        if vote.weight <= 0:
            return
        if vote.voter == vote.author and not self.rules.count_self_votes:
            return
        comment = vote.comment  # a new tuple each time it is asked for: ~200,000 votes a day
        created = self.creation_time(comment, now)
        if created is None:
            self.tally.unresolved_votes += 1
            return
        if now - created >= PAYOUT_WINDOW:
            return  # paid out: the chain accepts the vote but ignores it
        pair = (comment, vote.voter)
        if pair in self.tally.counted_votes:
            return
        if pair in self.counted_before and comment not in self.tally.deleted:
            return
        self.tally.counted_votes.add(pair)
        if self.rules.seam_time is not None and created < self.rules.seam_time:
            self.tally.seam_pairs.add(pair)
        self.tally.increments[(vote.author, Metric.UPVOTES_RECEIVED)] += 1
        self.tally.increments[(vote.voter, Metric.UPVOTES_GIVEN)] += 1
