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
from bot.history import FILTER_HIGH, FILTER_LOW, MAX_PAGE, next_request, parse_history, read_page
from bot.store import Store
from bot.tallies import CountingRules

log = structlog.get_logger("bot.baseline_job")


@dataclass(frozen=True, slots=True)
class PageReport:
    baseline: Baseline
    entries: int


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
        start, limit = next_request(current.next_start, self.page_size)
        try:
            raw = self.chain.fetch_account_history(
                current.account, start, limit, filter_low=FILTER_LOW, filter_high=FILTER_HIGH
            )
            entries = parse_history(raw, current.account)
        except (ChainDataError, PermanentChainError) as exc:
            baselines.mark_failed(current.account, str(exc))
            log.error("baseline_failed", account=current.account, error=str(exc))
            failed = baselines.load(current.account)
            return None if failed is None else PageReport(failed, 0)
        reading = read_page(
            entries,
            current.account,
            before_block=live_start[0],
            carry=current.carry,
            effective_before_hf24=current.effective_before_hf24,
            count_self_votes=self.rules.count_self_votes,
        )
        updated = baselines.commit_page(current.account, reading, entries=len(raw), rules=self.badges)
        if updated.state is BaselineState.DONE:
            log.info(
                "baseline_done",
                account=updated.account,
                pages=updated.pages,
                counts={metric.value: n for metric, n in updated.counts.items()},
            )
        return PageReport(updated, len(entries))
