"""Follow the chain: fetch irreversible blocks in ranges, count them, commit counts and checkpoint together.

One :meth:`Follower.step` is one batch: fetch → parse → look up what the counting rules need →
count → find earned badges, STOP/START replies and the bot's own comments → one store commit that also
moves the checkpoint. Nothing is written until the commit, so a crash anywhere in a step loses nothing
and a restart does the batch again from the checkpoint.

A node whose blocks do not fit — none although they are irreversible, malformed, or not linked to the
checkpoint — is set aside (:meth:`~bot.chain.ChainClient.set_aside`) and the next node is asked, in the
same step. A node that sent far fewer blocks than asked for is set aside too, once its blocks are taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import structlog

from bot.badges import BadgeRules
from bot.chain import MAX_BLOCK_RANGE, ChainClient
from bot.chain.client import MAX_NODE_LAG
from bot.errors import ChainDataError, ChainError
from bot.operations import Block, CommentKey, comments_by, parse_block_range
from bot.optouts import (
    OptCommand,
    count_opt_commands,
    read_replies,
    replies_to,
    texts_to_keep,
    unread_replies,
)
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store
from bot.tallies import CountingRules, Tally, count_blocks, referenced_comments, upvote_pairs

log = structlog.get_logger("bot.follower")

_RANGE_CALL = "block_api.get_block_range"


def next_range(
    checkpoint: int, irreversible: int, batch_size: int, stop_at: int | None
) -> tuple[int, int] | None:
    """``(first, count)`` of the next blocks to process after ``checkpoint``, or ``None`` if none is due."""
    end = min(irreversible, checkpoint + batch_size)
    if stop_at is not None:
        end = min(end, stop_at)
    return None if end <= checkpoint else (checkpoint + 1, end - checkpoint)


def check_continuity(blocks: list[Block], first: int, previous_id: str | None) -> None:
    """Raise :class:`ChainDataError` unless ``blocks`` are ``first, first+1, …`` each linked to the last."""
    for offset, block in enumerate(blocks):
        if block.num != first + offset:
            raise ChainDataError(f"expected block {first + offset}, the node sent block {block.num}")
        if previous_id is not None and block.previous != previous_id:
            raise ChainDataError(
                f"block {block.num}: previous is {block.previous}, but block {block.num - 1} is {previous_id}"
            )
        previous_id = block.block_id


@dataclass(slots=True)
class BatchReport:
    first: int
    last: int
    irreversible: int
    operations: int
    tally: Tally
    changes: OutboxChanges = field(default_factory=OutboxChanges)
    badges: int = 0
    """Badges the batch earned, announced or silent."""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def lag(self) -> int:
        return self.irreversible - self.last


class Follower:
    """Moves the store's checkpoint forward, one batch at a time."""

    def __init__(
        self,
        chain: ChainClient,
        store: Store,
        rules: CountingRules,
        badges: BadgeRules,
        *,
        batch_size: int = MAX_BLOCK_RANGE,
        start_block: int | None = None,
        lifetime: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``lifetime``: accounts earn badges on lifetime counts, baselines from history (see
        :mod:`bot.baselines`)."""
        self.chain = chain
        self.store = store
        self.rules = rules
        self.badges = badges
        self.batch_size = batch_size
        self.start_block = start_block
        self.lifetime = lifetime
        self._clock = clock
        self._range_chain = chain.clone()  # reads ahead, in the background: its own connections
        self._ahead: tuple[int, int, Future[_Read]] | None = None  # (first, count, the range on its way)
        self._executor: ThreadPoolExecutor | None = None
        self._ahead_store: Store | None = None  # the read-ahead thread's own connection (reads only)

    def close(self) -> None:
        """Stop reading ahead (a range on its way is dropped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._ahead_store is not None:
            self._ahead_store.close()
            self._ahead_store = None
        self._ahead = None

    def checkpoint(self, irreversible: int) -> Checkpoint:
        """The stored checkpoint, or where to start: just before ``start_block`` (``None``: the irreversible head)."""
        stored = self.store.load_checkpoint()
        if stored is not None:
            return stored
        start = irreversible if self.start_block is None else self.start_block
        return Checkpoint(block_num=start - 1, block_id="", block_time=0)

    def step(self, stop_at: int | None = None) -> BatchReport | None:
        """Process the next batch of irreversible blocks; ``None`` when there is none yet."""
        timer = _Timer(self._clock)
        state = self.chain.fetch_state()
        checkpoint = self.checkpoint(state.irreversible_block)
        target = next_range(checkpoint.block_num, state.irreversible_block, self.batch_size, stop_at)
        if target is None:
            return None
        first, count = target
        blocks, asked = self._fetch_blocks(first, count, checkpoint.block_id or None, timer)
        self._read_ahead(blocks[-1].num, state.irreversible_block, stop_at)
        created_before, learned = self._comment_times(blocks, asked)
        counted_before = self.store.load_counted_votes(upvote_pairs(blocks))
        timer.lap("lookup")
        tally = count_blocks(blocks, created_before, counted_before, self._counting_rules(blocks[0]))
        timer.lap("count")
        last = blocks[-1]
        changes = self._outbox_changes(blocks, tally, age=state.time - last.timestamp)
        timer.lap("badges")
        plan = self.store.commit_batch(
            tally,
            learned,
            Checkpoint(last.num, last.block_id, last.timestamp),
            changes,
            first=Checkpoint(blocks[0].num, blocks[0].block_id, blocks[0].timestamp),
            lifetime=self.lifetime,
        )
        timer.lap("commit")
        report = BatchReport(
            first=first,
            last=last.num,
            irreversible=state.irreversible_block,
            operations=sum(len(block.events) for block in blocks),
            tally=tally,
            changes=changes,
            badges=len(plan.badges),
            seconds=timer.laps,
        )
        self._log(report)
        return report

    def _fetch_blocks(
        self, first: int, count: int, previous_id: str | None, timer: _Timer
    ) -> tuple[list[Block], Mapping[CommentKey, int | None]]:
        """Blocks ``first`` … ``first + count - 1`` (or fewer), parsed and checked, from the first node whose
        blocks fit, with the creation times already asked for them; raises the last node's
        :class:`ChainDataError` when no node is left to ask. The range read ahead, if it is the one wanted,
        is the first tried."""
        chain = self._range_chain
        for _ in chain.nodes:  # each node at most once
            read = self._take_ahead(first, count)
            count = read.count
            timer.lap("fetch")
            try:
                blocks = read.blocks if read.blocks is not None else parse_block_range(read.raw, first)
                if not blocks:
                    raise ChainDataError(
                        f"no block {first} although block {first + count - 1} is irreversible"
                    )
                check_continuity(blocks, first, previous_id)
            except ChainDataError as exc:
                if not chain.set_aside(str(exc), _RANGE_CALL):
                    raise
                continue
            finally:
                timer.lap("parse")
            if count - len(blocks) > MAX_NODE_LAG:  # good blocks, but too few: ask another node next time
                chain.set_aside(
                    f"sent {len(blocks)} of blocks {first} … {first + count - 1}, all irreversible",
                    _RANGE_CALL,
                )
            return blocks, read.asked
        raise ChainDataError(f"no node sent blocks {first} … {first + count - 1} that fit the chain")

    def _read_ahead(self, last: int, irreversible: int, stop_at: int | None) -> None:
        """Start reading the range after ``last`` — its blocks, and the creation times the store does not
        have for the comments it names — while this batch is looked up, counted and committed: the waits
        for the node overlap the work. One range is held at most."""
        target = next_range(last, irreversible, self.batch_size, stop_at)
        if target is None:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._ahead = (*target, self._executor.submit(self._read_range, *target))

    def _read_range(self, first: int, count: int) -> _Read:
        """In the read-ahead thread. The creation times are asked for the comments the store does not
        remember now; a comment the batch being committed meanwhile creates is asked needlessly, harmlessly
        (the chain's answer is the same). A range that does not parse is left to the caller to judge."""
        raw = self._range_chain.fetch_blocks(first, count)
        try:
            blocks = parse_block_range(raw, first)
        except ChainDataError:
            return _Read(raw, count, None, {})
        if self._ahead_store is None:
            self._ahead_store = Store.open(self.store.path, create=False)
        keys = referenced_comments(blocks)
        missing = keys - self._ahead_store.load_comment_times(keys).keys()
        asked = self._range_chain.fetch_comment_times(missing) if missing else {}
        return _Read(raw, count, blocks, asked)

    def _take_ahead(self, first: int, count: int) -> _Read:
        """The range read ahead if it starts at ``first`` (it may be shorter than ``count``: a batch is what
        it holds), else ``first`` … read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == first and ahead[1] <= count:
            try:
                return ahead[2].result()
            except ChainError:
                pass  # it failed in the background (logged there): ask again now
        return _Read(self._range_chain.fetch_blocks(first, count), count, None, {})

    def _counting_rules(self, first: Block) -> CountingRules:
        """With lifetime counts, pairs on comments older than live counting are reported (the seam)."""
        if not self.lifetime:
            return self.rules
        start = self.store.baselines.load_live_start()
        return replace(self.rules, seam_time=first.timestamp if start is None else start[1])

    def _outbox_changes(self, blocks: list[Block], tally: Tally, age: float) -> OutboxChanges:
        """STOP/START replies and the bot's own comments in ``blocks`` (``age`` chain seconds old); the
        badges earned are found in the commit, from the counts as they are there. A reply's text is read
        from the blocks and the texts kept from earlier ones; a node is asked only for those it leaves
        unknown (see :mod:`bot.optouts`)."""
        bot = self.badges.bot
        replies = replies_to(blocks, bot)
        kept = self.store.load_reply_texts(reply.key for reply in replies) if replies else {}
        read = read_replies(replies, kept)
        unread = unread_replies(read)
        if unread:
            read = read_replies(replies, kept, self.chain.fetch_contents(unread))
        return OutboxChanges(
            rules=self.badges,
            age=age,
            opt_commands=count_opt_commands(read),
            reply_texts=texts_to_keep(read),
            delivered=comments_by(blocks, bot),
        )

    def _comment_times(
        self, blocks: list[Block], asked: Mapping[CommentKey, int | None]
    ) -> tuple[dict[CommentKey, int | None], dict[CommentKey, int]]:
        """Creation times of the comments ``blocks`` name: from the store, else asked from the chain once.

        Returns all the times known, and those newly learned from the chain (to remember in the commit,
        paid-out ones included: the most voted old posts keep getting votes). Nothing is kept in memory
        from one batch to the next, so the process's memory does not grow with the chain's length.
        """
        keys = referenced_comments(blocks)
        known: dict[CommentKey, int | None] = dict(self.store.load_comment_times(keys))
        looked_up = {key: created for key, created in asked.items() if key not in known}
        missing = keys - known.keys() - looked_up.keys()
        if missing:
            looked_up.update(self.chain.fetch_comment_times(missing))
        known.update(looked_up)
        learned = {key: created for key, created in looked_up.items() if created is not None}
        return known, learned

    def _log(self, report: BatchReport) -> None:
        for permlink, block in report.changes.delivered.items():
            log.info("notification_included", permlink=permlink, block=block)
        for account, command in report.changes.opt_commands.items():
            log.info("opted_out" if command is OptCommand.STOP else "opted_in", account=account, by="reply")
        tally = report.tally
        log.info(
            "batch_committed",
            blocks=f"{report.first}-{report.last}",
            operations=report.operations,
            increments=sum(tally.increments.values()),
            unresolved_votes=tally.unresolved_votes,
            badges=report.badges,
            opt_commands=len(report.changes.opt_commands),
            lag=report.lag,
            seconds=round(sum(report.seconds.values()), 3),
        )


@dataclass(frozen=True, slots=True)
class _Read:
    """A range as read (ahead): its bytes, the count asked for, its blocks if they parsed, and the creation
    times asked for the comments they name."""

    raw: bytes
    count: int
    blocks: list[Block] | None
    asked: Mapping[CommentKey, int | None]


class _Timer:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = clock()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self._clock()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now
