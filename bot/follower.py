"""Follow the chain: fetch irreversible blocks in ranges, count them, commit counts and checkpoint together.

One :meth:`Follower.step` is one batch: fetch → parse → look up what the counting rules need →
count → find earned badges, STOP/START replies and the bot's own comments → one store commit that also
moves the checkpoint. Nothing is written until the commit, so a crash anywhere in a step loses nothing
and a restart does the batch again from the checkpoint.

The follower asks the chain for blocks linked to its checkpoint and gets them, or an error: which node
sends them, and which ones are set aside for blocks that do not fit, is the chain adapter's business
(:meth:`~bot.chain.ChainClient.fetch_blocks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import structlog

from bot.badges import BadgeRules
from bot.chain import MAX_BLOCK_RANGE, ChainClient
from bot.errors import ChainError
from bot.operations import Block, CommentKey, comments_by
from bot.optouts import (
    OptCommand,
    find_opt_commands,
    read_replies,
    replies_to,
    texts_to_keep,
    unread_replies,
)
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store
from bot.tallies import CountingRules, Tally, count_blocks, referenced_comments, upvote_pairs

log = structlog.get_logger("bot.follower")


def next_range(
    checkpoint: int, irreversible: int, batch_size: int, stop_at: int | None
) -> tuple[int, int] | None:
    """``(first, count)`` of the next blocks to process after ``checkpoint``, or ``None`` if none is due."""
    end = min(irreversible, checkpoint + batch_size)
    if stop_at is not None:
        end = min(end, stop_at)
    return None if end <= checkpoint else (checkpoint + 1, end - checkpoint)


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
        with_baselines: bool = False,
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
        self.with_baselines = with_baselines
        self._clock = clock
        self._range_chain = chain.clone()  # reads ahead, in the background: its own connections
        self._ahead: tuple[Block, int, Future[_Read]] | None = None  # after which block, count, the range
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
        self._read_ahead(blocks[-1], state.irreversible_block, stop_at)
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
            with_baselines=self.with_baselines,
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
        """Blocks ``first`` … ``first + count - 1`` (or fewer) linked to ``previous_id``, parsed, with the
        creation times already asked for them: the range read ahead if it is the one wanted, else read now
        (raises the chain's error when no node sent blocks that fit)."""
        read = self._take_ahead(first, count, previous_id)
        timer.lap("fetch")
        return read.blocks, read.asked

    def _read_ahead(self, last: Block, irreversible: int, stop_at: int | None) -> None:
        """Start reading the range after ``last`` — its blocks, and the creation times the store does not
        have for the comments it names — while this batch is looked up, counted and committed: the waits
        for the node overlap the work. One range is held at most."""
        target = next_range(last.num, irreversible, self.batch_size, stop_at)
        if target is None:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._ahead = (last, target[1], self._executor.submit(self._read_range, *target, last.block_id))

    def _read_range(self, first: int, count: int, previous_id: str) -> _Read:
        """In the read-ahead thread. The creation times are asked for the comments the store does not
        remember now; a comment the batch being committed meanwhile creates is asked needlessly, harmlessly
        (the chain's answer is the same)."""
        blocks = self._range_chain.fetch_blocks(first, count, previous_id)
        if self._ahead_store is None:
            self._ahead_store = Store.open(self.store.path, create=False)
        keys = referenced_comments(blocks)
        missing = keys - self._ahead_store.load_comment_times(keys).keys()
        asked = self._range_chain.fetch_comment_times(missing) if missing else {}
        return _Read(blocks, asked)

    def _take_ahead(self, first: int, count: int, previous_id: str | None) -> _Read:
        """The range read ahead if it follows the block the checkpoint is (it may be shorter than
        ``count``: a batch is what it holds), else ``first`` … read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            after, ahead_count, future = ahead
            if (after.num, after.block_id) == (first - 1, previous_id) and ahead_count <= count:
                try:
                    return future.result()
                except ChainError:
                    pass  # it failed in the background (logged there): ask again now
        return _Read(self._range_chain.fetch_blocks(first, count, previous_id), {})

    def _counting_rules(self, first: Block) -> CountingRules:
        """With lifetime counts, pairs on comments older than live counting are reported (the seam)."""
        if not self.with_baselines:
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
            opt_commands=find_opt_commands(read),
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
    """A range as read (ahead): its blocks, and the creation times asked for the comments they name."""

    blocks: list[Block]
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
