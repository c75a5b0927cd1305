"""The baseline job: computes baselines, one page of account history per run, paced.

Each run takes the baseline in progress (or the next waiting one), reads one page of the account's history
below where it stopped (:func:`bot.history.next_request`), and commits what the page adds together with the
new position (:meth:`bot.baselines.Baselines.commit_page`): a restart resumes at the next page, and a page is
never counted twice. The job runs every ``1 / calls_per_second`` seconds in its own thread with its own store
connection, so it never holds up following the chain.

A node error leaves the baseline where it is, to be tried again next run; a history the bot cannot read
(malformed, refused by every node) marks the baseline failed, shown by ``status``; ``hive-badge-bot
bootstrap NAME`` starts it again.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bot.badges import BadgeRules
from bot.baselines import Baseline, BaselineState
from bot.chain import ChainClient
from bot.errors import ChainDataError, PermanentChainError
from bot.history import (
    FILTER_HIGH,
    FILTER_LOW,
    MAX_PAGE,
    PageReading,
    next_request,
    parse_history,
    read_page,
)
from bot.store import Store
from bot.tallies import CountingRules

log = structlog.get_logger("bot.baseline_job")


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
    ) -> None:
        self.chain = chain
        self.store = store
        self.rules = rules
        self.badges = badges
        self.page_size = page_size

    def step(self) -> PageReport | None:
        """Read and commit one page; ``None`` when no baseline is waiting (or live counting has not begun)."""
        baselines = self.store.baselines
        live_start = baselines.load_live_start()
        current = baselines.load_next()
        if current is None or live_start is None:
            return None
        return self.commit(self.read(current, live_start))

    def read(self, current: Baseline, live_start: tuple[int, int]) -> FetchedPage:
        """The next page of ``current``'s history, read. Network only, no store access: runs in worker
        threads. A node error (:class:`~bot.errors.TransientChainError`) propagates: the page is asked
        again later."""
        start, limit = next_request(current.next_start, self.page_size)
        try:
            raw = self.chain.fetch_account_history(
                current.account, start, limit, filter_low=FILTER_LOW, filter_high=FILTER_HIGH
            )
            entries = parse_history(raw, current.account)
        except (ChainDataError, PermanentChainError) as exc:
            return FetchedPage(current, None, 0, 1, None, None, error=str(exc))
        reading = read_page(
            entries,
            current.account,
            before_block=live_start[0],
            carry=current.carry,
            effective_before_hf24=current.effective_before_hf24,
            count_self_votes=self.rules.count_self_votes,
        )
        indices = [entry.index for entry in entries]
        return FetchedPage(
            current, reading, len(raw), 1, min(indices, default=None), max(indices, default=None)
        )

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
        updated = baselines.commit_page(account, page.reading, entries=page.entries, rules=self.badges)
        if updated.state is BaselineState.DONE:
            log.info(
                "baseline_done",
                account=updated.account,
                pages=updated.pages,
                counts={metric.value: n for metric, n in updated.counts.items()},
            )
        return PageReport(updated, page.entries)
