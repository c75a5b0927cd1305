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
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import structlog

from bot.badges import BadgeRules
from bot.chain import MAX_BLOCK_RANGE, ChainClient
from bot.errors import ChainError
from bot.manners import find_custom_opts, find_mutes
from bot.metrics import Metric
from bot.operations import Block, CommentKey, comments_by
from bot.optouts import (
    Opt,
    find_opt_commands,
    read_replies,
    replies_to,
    texts_to_keep,
    unread_replies,
)
from bot.payouts import Payout, Prices, count_payouts
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Lookups, Store
from bot.tallies import CountedVote, CountingRules, Tally, count_blocks, referenced_comments, upvote_pairs

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
    payouts: int = 0
    """Payouts (virtual operations) the batch counted."""
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
        executor: Executor | None = None,
    ) -> None:
        """``with_baselines``: accounts earn badges on lifetime counts, baselines from history (see
        :mod:`bot.baselines`). ``executor`` reads the next range ahead (default: a thread of its own)."""
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
        self._executor = executor
        self._ahead_store: Store | None = None  # the read-ahead thread's own connection (reads only)
        self._committed: _Committed | None = None  # what the last commit changed (see _lookups)
        self._payouts = bool(badges.ladders.get(Metric.PAYOUT))
        """Whether batches read their payouts: only with the payout family on (its reads cost calls)."""

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
        stored = self.store.load_checkpoint()
        checkpoint = stored or self.checkpoint(state.irreversible_block)
        target = next_range(checkpoint.block_num, state.irreversible_block, self.batch_size, stop_at)
        if target is None:
            return None
        first, count = target
        read = self._fetch_blocks(first, count, checkpoint.block_id or None, timer)
        blocks = read.blocks
        self._read_ahead(blocks[-1], state.irreversible_block, stop_at)
        lookups = self._lookups(read, stored)
        created_before, learned = self._comment_times(read, lookups)
        timer.lap("lookup")
        tally = count_blocks(blocks, created_before, lookups.counted_votes, self._counting_rules(blocks[0]))
        if read.prices is not None:
            tally.increments.update(count_payouts(read.payouts, read.prices))
        timer.lap("count")
        births = self._births(tally)
        timer.lap("lookup")
        last = blocks[-1]
        changes = self._outbox_changes(blocks, tally, age=state.time - last.timestamp)
        timer.lap("badges")
        committed = Checkpoint(last.num, last.block_id, last.timestamp)
        touched = _Committed(stored, committed, _touched(tally, learned))
        self._committed = None  # until the commit is done: a failed one leaves the store as it was
        plan = self.store.commit_batch(
            tally,
            learned,
            committed,
            changes,
            first=Checkpoint(blocks[0].num, blocks[0].block_id, blocks[0].timestamp),
            with_baselines=self.with_baselines,
            births=births,
        )
        self._committed = touched
        timer.lap("commit")
        report = BatchReport(
            first=first,
            last=last.num,
            irreversible=state.irreversible_block,
            operations=sum(len(block.events) for block in blocks),
            tally=tally,
            payouts=len(read.payouts),
            changes=changes,
            badges=len(plan.badges),
            seconds=timer.laps,
        )
        self._log(report)
        return report

    def _fetch_blocks(self, first: int, count: int, previous_id: str | None, timer: _Timer) -> _Read:
        """Blocks ``first`` … ``first + count - 1`` (or fewer) linked to ``previous_id``, parsed, with what
        was already looked up for them: the range read ahead if it is the one wanted, else read now
        (raises the chain's error when no node sent blocks that fit)."""
        read = self._take_ahead(first, count, previous_id)
        timer.lap("fetch")
        return read

    def _read_ahead(self, last: Block, irreversible: int, stop_at: int | None) -> None:
        """Start reading the range after ``last`` — its blocks, the store's facts about the comments and
        pairs it names, and the creation times the store does not have — while this batch is looked up,
        counted and committed: the waits for the node and SQLite's reads overlap the work. One range is
        held at most."""
        target = next_range(last.num, irreversible, self.batch_size, stop_at)
        if target is None:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._ahead = (last, target[1], self._executor.submit(self._read_range, *target, last.block_id))

    def _read_range(self, first: int, count: int, previous_id: str) -> _Read:
        """In the read-ahead thread. The store's facts are read as of the checkpoint they carry: most
        often before the batch being committed meanwhile, and then what that commit changed is read again
        (:meth:`_lookups`). The creation times are asked for the comments the store does not remember now;
        a comment that batch creates is asked needlessly, harmlessly (the chain's answer is the same)."""
        blocks = self._range_chain.fetch_blocks(first, count, previous_id)
        payouts, prices = self._read_payouts(blocks)
        if self._ahead_store is None:
            self._ahead_store = self.store.reopen(purpose="read-ahead")
        keys, pairs = referenced_comments(blocks), upvote_pairs(blocks)
        lookups = self._ahead_store.load_lookups(keys, pairs)
        missing = keys - lookups.comment_times.keys()
        asked = self._range_chain.fetch_comment_times(missing) if missing else {}
        return _Read(blocks, keys, pairs, lookups, asked, payouts, prices)

    def _read_payouts(self, blocks: list[Block]) -> tuple[list[Payout], Prices | None]:
        """With the payout family on, the payouts of ``blocks`` (the virtual operations of the same range)
        and the figures that convert them, read right after them (see :class:`bot.payouts.Prices`)."""
        if not self._payouts:
            return [], None
        payouts = self._range_chain.fetch_payouts(blocks[0].num, len(blocks))
        return payouts, self._range_chain.fetch_prices()

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
        blocks = self._range_chain.fetch_blocks(first, count, previous_id)
        payouts, prices = self._read_payouts(blocks)
        return _Read(blocks, referenced_comments(blocks), upvote_pairs(blocks), None, {}, payouts, prices)

    def _lookups(self, read: _Read, stored: Checkpoint | None) -> Lookups:
        """The store's facts for ``read``'s blocks as of the ``stored`` checkpoint. Facts read ahead as of
        the checkpoint before the last commit are kept but for the comments that commit changed, read
        again (a comment it created, deleted or counted a vote on: pairs counted in one batch must not
        count again in the next); facts of any other age are read again whole.

        A comment that commit forgot as paid out keeps its creation time here: it is still the chain's
        answer, and a vote on it counts nothing either way."""
        ahead, committed = read.lookups, self._committed
        if ahead is not None and ahead.checkpoint == stored:
            return ahead
        if ahead is None or committed is None or (ahead.checkpoint, stored) != committed.moved:
            return self.store.load_lookups(read.keys, read.pairs)
        stale = read.keys & committed.touched
        fresh = self.store.load_lookups(stale, {pair for pair in read.pairs if pair[0] in stale})
        return ahead.redone(stale, fresh)

    def _births(self, tally: Tally) -> dict[str, int]:
        """With the birthday family on, the creation times of the accounts ``tally`` counts that the store
        does not have, asked of the chain: once per account, as the commit remembers them (an account the
        chain does not answer for is asked again when next counted)."""
        if not self.badges.birthday:
            return {}
        missing = self.store.load_missing_births({account for account, _ in tally.increments})
        return self.chain.fetch_account_creations(missing) if missing else {}

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
        custom = find_custom_opts(blocks, self.badges.custom_json_id)
        for refused in custom.refused:
            log.warning("opt_command_refused", signers=list(refused.signers), reason=refused.reason)
        return OutboxChanges(
            rules=self.badges,
            age=age,
            opt_commands=_in_order(find_opt_commands(read), custom.commands),
            mutes=find_mutes(blocks, bot),
            digests=custom.digests,
            reply_texts=texts_to_keep(read),
            delivered=comments_by(blocks, bot),
        )

    def _comment_times(
        self, read: _Read, lookups: Lookups
    ) -> tuple[dict[CommentKey, int | None], dict[CommentKey, int]]:
        """Creation times of the comments ``read``'s blocks name: from the store, else asked from the chain
        once (or already, ahead).

        Returns all the times known, and those newly learned from the chain (to remember in the commit,
        paid-out ones included: the most voted old posts keep getting votes). Nothing is kept in memory
        from one batch to the next but what the last commit changed (a batch's worth), so the process's
        memory does not grow with the chain's length.
        """
        known: dict[CommentKey, int | None] = dict(lookups.comment_times)
        looked_up = {key: created for key, created in read.asked.items() if key not in known}
        missing = read.keys - known.keys() - looked_up.keys()
        if missing:
            looked_up.update(self.chain.fetch_comment_times(missing))
        known.update(looked_up)
        learned = {key: created for key, created in looked_up.items() if created is not None}
        return known, learned

    def _log(self, report: BatchReport) -> None:
        for permlink, block in report.changes.delivered.items():
            log.info("notification_included", permlink=permlink, block=block)
        for account, opts in report.changes.opt_commands.items():
            for opt in opts:
                families = "all" if opt.families is None else sorted(opt.families)
                log.info(f"opt_{opt.command}", account=account, families=families, by=opt.source)
        for account, muted in report.changes.mutes.items():
            log.info("muted" if muted else "unmuted", account=account)
        for account, digest in report.changes.digests.items():
            log.info("digest_chosen", account=account, digest=digest.value)
        tally = report.tally
        log.info(
            "batch_committed",
            blocks=f"{report.first}-{report.last}",
            operations=report.operations,
            payouts=report.payouts,
            increments=sum(n for (_, metric), n in tally.increments.items() if metric is not Metric.PAYOUT),
            unresolved_votes=tally.unresolved_votes,
            badges=report.badges,
            opt_commands=len(report.changes.opt_commands),
            lag=report.lag,
            seconds=round(sum(report.seconds.values()), 3),
        )


def _in_order(replies: Mapping[str, list[Opt]], customs: Mapping[str, list[Opt]]) -> dict[str, list[Opt]]:
    """Each account's commands of a batch as they apply: its replies', then its custom_json ones (each in
    chain order). Both in one batch from one account are rare; a batch is the unit the bot decides in."""
    return {
        account: [*replies.get(account, ()), *customs.get(account, ())] for account in {**replies, **customs}
    }


@dataclass(frozen=True, slots=True)
class _Read:
    """A range as read (ahead): its blocks, the comments and upvote pairs they name, the store's facts
    about them (``None``: not read yet), the creation times asked of the chain for the others, and the
    range's payouts with the figures that convert them (``None``: the payout family is off)."""

    blocks: list[Block]
    keys: set[CommentKey]
    pairs: set[CountedVote]
    lookups: Lookups | None
    asked: Mapping[CommentKey, int | None]
    payouts: list[Payout]
    prices: Prices | None


@dataclass(frozen=True, slots=True)
class _Committed:
    """The last commit: the checkpoint it moved (from, to), and the comments whose facts it changed."""

    before: Checkpoint | None
    after: Checkpoint
    touched: frozenset[CommentKey]

    @property
    def moved(self) -> tuple[Checkpoint | None, Checkpoint]:
        return (self.before, self.after)


def _touched(tally: Tally, learned: Mapping[CommentKey, int]) -> frozenset[CommentKey]:
    """The comments whose stored facts a commit of ``tally`` changes: created, learned or deleted, or with
    a pair counted."""
    pairs = {comment for comment, _ in tally.counted_votes}
    return frozenset(tally.created.keys() | learned.keys() | tally.deleted | pairs)


class _Timer:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = clock()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self._clock()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now
