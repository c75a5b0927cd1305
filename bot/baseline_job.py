"""The baseline job: computes baselines, reading pages of several accounts' histories at once.

A step reads one page of an account's history below where its baseline stopped
(:func:`bot.history.next_request`) — :meth:`BaselineJob.read`, network only — and commits what the page adds
together with the new position (:meth:`BaselineJob.commit`, one transaction): a restart resumes at the next
page, and a page is never counted twice.

:meth:`BaselineJob.run` reads the backlog (the waiting baselines) ``in_flight`` pages at a time, one page per
account, in worker threads, each with its own clone of the chain client: the clones share the nodes' health
and their node budget (:mod:`bot.chain.pool`), so the pages spread over the nodes, each node at most its
calls a second, and a node backing off gets none while the others go on. Which accounts come next is
:func:`bot.backlog.choose`'s, over the backlog loaded in one query every :data:`REFRESH` seconds. Each page
is committed as it comes, in the job's own thread with its own store connection: the follower, committing
through its own, waits at most for one short transaction. After each page the estimate of the entries the
account has left is stored (:func:`bot.backlog.estimate_entries_left`), for the order and for ``status``.

A stop (the daemon's stop event) ends the run promptly: no page is asked any more, a page waiting for its
node's budget is dropped, the pages under way are awaited and dropped — a page is committed whole or not at
all. When no node is left to ask (:class:`~bot.errors.TransientChainError`), no page is asked any more
either; the pages under way are committed as they come, and the error is raised: the job runs again at its
next tick.

A page's payouts are converted to HP (:func:`bot.payouts.worth`) with the chain's figures as the job read
them (:meth:`BaselineJob.fetch_prices`): once, when it first has a page to ask, then again once they are
:data:`PRICES_MAX_AGE` old. Nodes serve the figures of now, not of the block a payout is in, so "the figures
of the time the baseline was read" is the honest rule, and one reading per hour serves every page of every
account meanwhile: two calls an hour, where a reading per page would triple the calls of the backlog, which
the node budget bounds. A baseline read within the hour has one set of figures; one that straddles a
reading (a deep history, or a restart halfway) has two, an hour apart: the vesting price moves by parts in a
million an hour, the median feed at most once an hour (hived recomputes it every ``FEED_INTERVAL_BLOCKS``,
1200 blocks). Keeping each baseline's figures across restarts would need them in the store (a schema
change) for a difference below the rounding of most payouts. A page's payouts are committed with the page,
converted: a value once added is kept, and a page is never counted twice (above).

A node error leaves the baseline where it is, to be tried again next run; a history the bot cannot read
(malformed, refused by every node) marks the baseline failed, shown by ``status``; ``hive-badge-bot
bootstrap NAME`` starts it again.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import structlog

from bot.backlog import Waiting, choose, estimate_entries_left
from bot.badges import BadgeRules
from bot.baselines import Baseline, BaselineState, StalePage
from bot.chain import ChainClient
from bot.errors import ChainDataError, PermanentChainError, TransientChainError
from bot.history import (
    FILTER_HIGH,
    FILTER_LOW,
    MAX_PAGE,
    PageReading,
    index_span,
    is_oldest_page,
    next_request,
    parse_history,
    read_page,
)
from bot.metrics import count_json
from bot.payouts import Prices
from bot.store import Store
from bot.tallies import CountingRules

log = structlog.get_logger("bot.baseline_job")

REFRESH = 30.0
"""Seconds between two loads of the backlog in a run: accounts queued meanwhile join it then."""
POLL = 0.2
"""Seconds a run waits for a page at most before it looks at the stop event again."""
PRICES_MAX_AGE = 3600.0
"""Seconds the job converts payouts with the figures it read before reading them again (see above)."""


@dataclass(frozen=True, slots=True)
class PageReport:
    baseline: Baseline
    entries: int


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """What :meth:`BaselineJob.read` brought back for one baseline, for :meth:`BaselineJob.commit`."""

    baseline: Baseline
    """The baseline as it was when the page was asked for."""
    reading: PageReading | None
    """``None``: the history could not be read (``error`` says why)."""
    entries: int
    """Entries the node returned (all calls of the step)."""
    calls: int
    """Calls made to a node for this step."""
    lowest: int | None
    """The lowest raw history index the page spanned (``None``: none), for the estimate of what is left."""
    highest: int | None
    """The highest raw history index the page spanned."""
    error: str | None = None
    """A :class:`ChainDataError` or :class:`PermanentChainError`: the baseline is marked failed."""


class BaselineJob:
    """Reads account histories into baselines. The constructor only assigns."""

    def __init__(
        self,
        chain: ChainClient,
        store: Store,
        rules: CountingRules,
        badges: BadgeRules,
        *,
        page_size: int = MAX_PAGE,
        in_flight: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``in_flight``: pages :meth:`run` reads at once (one per account)."""
        self.chain = chain
        self.store = store
        self.rules = rules
        self.badges = badges
        self.page_size = page_size
        self.in_flight = in_flight
        self._clock = clock
        self._prices: tuple[float, Prices] | None = None

    def run(self, stop: threading.Event) -> int:
        """Read and commit pages of the backlog until none is waiting or ``stop`` is set (see the module
        docstring); the pages committed."""
        live_start = self.store.baselines.load_live_start()
        if live_start is None:
            return 0
        reader = _Reader(self, stop)
        try:
            return self._run(reader, stop, live_start)
        finally:
            reader.close()

    def _run(self, reader: _Reader, stop: threading.Event, live_start: tuple[int, int]) -> int:
        backlog: dict[str, Waiting] = {}
        in_flight: dict[Future[FetchedPage], Waiting] = {}
        refreshed, committed = float("-inf"), 0
        error: TransientChainError | None = None
        while not stop.is_set():
            if self._clock() - refreshed >= REFRESH:
                backlog = {item.account: item for item in self.store.baselines.load_waiting()}
                refreshed = self._clock()
            if error is None:
                try:
                    self._fill(reader, backlog, in_flight, live_start)
                except TransientChainError as exc:  # the figures could not be read: no page is asked
                    error = exc
            if not in_flight:
                break
            done, _ = wait(in_flight, timeout=POLL, return_when=FIRST_COMPLETED)
            for future in done:
                item = in_flight.pop(future)
                backlog.pop(item.account, None)
                try:
                    page = future.result()
                except TransientChainError as exc:
                    error = exc
                    continue
                except _Stopped:
                    continue
                if (left := self._commit(page, item)) is not None:
                    backlog[item.account] = left
                committed += 1
        if error is not None and not stop.is_set():
            raise error
        return committed

    def _fill(
        self,
        reader: _Reader,
        backlog: dict[str, Waiting],
        in_flight: dict[Future[FetchedPage], Waiting],
        live_start: tuple[int, int],
    ) -> None:
        """Ask the next page of each account :func:`~bot.backlog.choose` picks for the free slots; one no
        longer waiting (failed, or requeued since the backlog was loaded) leaves the backlog instead."""
        busy = list(in_flight.values())
        accounts = {item.account for item in busy}
        ready = [item for item in backlog.values() if item.account not in accounts]
        for item in choose(ready, busy, self.in_flight - len(in_flight)):
            current = self.store.baselines.load(item.account)
            if current is None or current.state is not BaselineState.WAITING:
                backlog.pop(item.account, None)
            else:
                in_flight[reader.submit(current, live_start, self.fetch_prices())] = item

    def _commit(self, page: FetchedPage, item: Waiting) -> Waiting | None:
        """Commit ``page``; the account as the backlog sees it now (None: its baseline is no longer
        waiting)."""
        updated = self.commit(page).baseline
        if updated.state is not BaselineState.WAITING:
            return None
        if not updated.pages:  # requeued meanwhile: its page was dropped, it starts again
            return Waiting(item.account, item.queued, 0, None, item.live)
        left = _entries_left(page)
        return Waiting(
            item.account, item.queued, updated.pages, item.entries_left if left is None else left, item.live
        )

    def step(self) -> PageReport | None:
        """Read and commit one page; ``None`` when no baseline is waiting (or live counting has not begun)."""
        baselines = self.store.baselines
        live_start = baselines.load_live_start()
        current = baselines.load_next()
        if current is None or live_start is None:
            return None
        return self.commit(self.read(current, live_start, self.fetch_prices()))

    def fetch_prices(self) -> Prices:
        """The figures to convert the next page's payouts with: those the job read last, unless they are
        :data:`PRICES_MAX_AGE` old or it has none (then read from a node: two calls). In the job's thread."""
        now = self._clock()
        if self._prices is None or now - self._prices[0] >= PRICES_MAX_AGE:
            self._prices = (now, self.chain.fetch_prices())
        return self._prices[1]

    def read(self, current: Baseline, live_start: tuple[int, int], prices: Prices) -> FetchedPage:
        """The next page of ``current``'s history, read, its payouts converted with ``prices``. Network
        only, no store access: runs in worker threads. A node error
        (:class:`~bot.errors.TransientChainError`) propagates: the page is asked again later."""
        start, limit = next_request(current.next_start, self.page_size)
        try:
            raw = self.chain.fetch_account_history(
                current.account, start, limit, filter_low=FILTER_LOW, filter_high=FILTER_HIGH
            )
            entries = parse_history(raw, current.account)
            span = index_span(raw)
        except (ChainDataError, PermanentChainError) as exc:
            return FetchedPage(current, None, 0, 1, None, None, error=str(exc))
        reading = read_page(
            entries,
            current.account,
            before_block=live_start[0],
            prices=prices,
            carry=current.carry,
            effective_before_hf24=current.effective_before_hf24,
            count_self_votes=self.rules.count_self_votes,
            oldest=is_oldest_page(len(raw), limit),
            lowest=None if span is None else span[0],
        )
        return FetchedPage(current, reading, len(raw), 1, *(span or (None, None)))

    def commit(self, page: FetchedPage) -> PageReport:
        """Commit what ``page`` adds to its baseline (or mark it failed), in the job's thread, one
        transaction."""
        baselines = self.store.baselines
        account = page.baseline.account
        if page.reading is None:
            baselines.mark_failed(account, page.error or "unreadable history")
            log.error("baseline_failed", account=account, error=page.error)
            failed = baselines.load(account)
            return PageReport(failed or page.baseline, 0)
        try:
            updated = baselines.commit_page(
                account,
                page.reading,
                entries=page.entries,
                rules=self.badges,
                entries_left=_entries_left(page),
                read_from=page.baseline,
            )
        except StalePage as exc:
            log.info("baseline_page_dropped", account=account, reason=str(exc))
            return PageReport(baselines.load(account) or page.baseline, 0)
        if updated.state is BaselineState.DONE:
            log.info(
                "baseline_done",
                account=updated.account,
                pages=updated.pages,
                counts={metric.value: count_json(metric, n) for metric, n in updated.counts.items()},
            )
        return PageReport(updated, page.entries)


def _entries_left(page: FetchedPage) -> int | None:
    """The estimate of the entries ``page``'s account has left below it (None: the page spanned none)."""
    if page.lowest is None or page.highest is None:
        return None
    return estimate_entries_left(page.lowest, page.highest, page.entries)


class _Stopped(Exception):
    """A stop was asked while a page waited for its node's budget: the page is dropped."""


class _Reader:
    """The worker threads of a run. Each reads through a copy of the job whose chain client is its own
    clone (its own connections; the nodes' health and budgets shared), and waits for a node's budget
    only until a stop is asked."""

    def __init__(self, job: BaselineJob, stop: threading.Event) -> None:
        self._job = job
        self._stop = stop
        self._threads = ThreadPoolExecutor(job.in_flight, thread_name_prefix="baseline-read")
        self._local = threading.local()
        self._clients: list[ChainClient] = []
        self._lock = threading.Lock()

    def submit(self, current: Baseline, live_start: tuple[int, int], prices: Prices) -> Future[FetchedPage]:
        return self._threads.submit(self._read, current, live_start, prices)

    def close(self) -> None:
        """Wait for the pages under way (their results are not committed any more), close the clones."""
        self._threads.shutdown(wait=True, cancel_futures=True)
        for client in self._clients:
            client.close()

    def _read(self, current: Baseline, live_start: tuple[int, int], prices: Prices) -> FetchedPage:
        worker: BaselineJob | None = getattr(self._local, "job", None)
        if worker is None:
            worker = copy.copy(self._job)
            worker.chain = self._job.chain.clone(wait=self._wait)
            with self._lock:
                self._clients.append(worker.chain)
            self._local.job = worker
        return worker.read(current, live_start, prices)

    def _wait(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped
