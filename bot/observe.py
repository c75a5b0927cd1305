"""The bot's metrics for Prometheus, in one module: ``GET /metrics`` of ``serve`` and of ``run``.

Two kinds, each registered in a :class:`~prometheus_client.CollectorRegistry` passed in (never the
library's global one, so that two apps — or two tests — in a process never share a value):

- :class:`StoreCollector` reads the store at each scrape — the checkpoint, its lag, notifications and
  baselines by state, the backlog, totals — so ``serve`` and ``run`` say what the store says, whoever wrote it;
- :class:`DaemonMetrics` counts what the daemon's jobs do — batches and their duration, operations,
  broadcasts by outcome, node failures by node, resource credits — reported to it by the jobs
  (:class:`~bot.daemon.Daemon`); these exist only in the daemon, which is the process that does them.

Every name starts with ``hive_badge_bot_``; the README lists them. Nothing here decides anything: the pure
rule modules never import it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.chain import ChainClient
from bot.follower import BatchReport
from bot.poster import Outcome, PostReport
from bot.store import Store

PREFIX = "hive_badge_bot_"
BATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds; a batch of up to 1000 blocks takes from a few tens of milliseconds (quiet blocks, a local
node) to tens of seconds (busy blocks, a slow node)."""


class StoreCollector(Collector):
    """What the store says, read at each scrape. A lock keeps concurrent scrapes (the daemon's metrics
    server answers each in a thread of its own) off the one connection at the same time."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float] = time.time,
        *,
        backlog: tuple[int, float] | None = None,
    ) -> None:
        """``backlog``: the page size and the calls a second the baseline job makes in all, to show the
        backlog and its time to done (None: no baselines, no backlog)."""
        self._store = store
        self._clock = clock
        self._backlog = backlog
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            checkpoint = self._store.load_checkpoint()
            outbox = self._store.outbox.load_summary()
            baselines = self._store.baselines.load_summary()
            accounts = self._store.load_summary()["accounts"]
            backlog = None if self._backlog is None else self._store.baselines.load_backlog(*self._backlog)
        if checkpoint is not None:
            yield _gauge("checkpoint_block", "The last block the store has counted.", checkpoint.block_num)
            yield _gauge(
                "checkpoint_lag_seconds",
                "Seconds from the checkpoint's block time to now (absent before the first batch).",
                max(0.0, self._clock() - checkpoint.block_time),
            )
        yield _by_label(
            "notifications", "Notifications in the outbox, by state.", "state", outbox["notifications"]
        )
        yield _by_label(
            "baselines", "Accounts' lifetime baselines, by state.", "state", baselines["baselines"]
        )
        if backlog is not None:
            yield from _backlog_gauges(backlog["backlog"])
        yield _gauge("accounts", "Accounts with counts in the store.", accounts)
        yield _gauge("badges", "Badges earned (announced, silent or from a baseline).", outbox["badges"])
        yield _gauge("opted_out", "Accounts that replied STOP (and not START since).", outbox["opted_out"])


class DaemonMetrics:
    """What the daemon's jobs do, as they report it; node failures are read from the chain clients at
    each scrape (their pools count them, shared between a client and its clones)."""

    def __init__(self, registry: CollectorRegistry, chains: Sequence[ChainClient]) -> None:
        self.lag_blocks = Gauge(
            PREFIX + "lag_blocks",
            "Irreversible blocks not yet counted, after the last batch.",
            registry=registry,
        )
        self.batches = Counter(PREFIX + "batches", "Batches of blocks committed.", registry=registry)
        self.batch_seconds = Histogram(
            PREFIX + "batch_duration_seconds",
            "Seconds a batch took: fetch, count, commit.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.operations = Counter(
            PREFIX + "operations", "Operations in the blocks counted.", registry=registry
        )
        self.broadcasts = Counter(
            PREFIX + "broadcasts",
            "Post steps that handled a notification, by outcome.",
            ["outcome"],
            registry=registry,
        )
        for outcome in Outcome:
            self.broadcasts.labels(outcome=outcome.value)  # every outcome shows, at 0 until it happens
        self.resource_credits = Gauge(
            PREFIX + "resource_credits_percent",
            "The bot account's resource credits as last read before a broadcast, in % of its maximum.",
            registry=registry,
        )
        registry.register(_NodeFailuresCollector(chains))

    def batch_committed(self, report: BatchReport) -> None:
        self.batches.inc()
        self.batch_seconds.observe(sum(report.seconds.values()))
        self.operations.inc(report.operations)
        self.lag_blocks.set(report.lag)

    def post_stepped(self, report: PostReport | None, credits_percent: float | None) -> None:
        if report is not None:
            self.broadcasts.labels(outcome=report.outcome.value).inc()
        if credits_percent is not None:
            self.resource_credits.set(credits_percent)


class _NodeFailuresCollector(Collector):
    def __init__(self, chains: Sequence[ChainClient]) -> None:
        self._chains = chains

    def collect(self) -> Iterator[Metric]:
        totals: dict[str, int] = {}
        for chain in self._chains:
            for node, failures in chain.node_failures().items():
                totals[node] = totals.get(node, 0) + failures
        family = CounterMetricFamily(
            PREFIX + "node_failures", "Failed calls to a node (it was set aside), by node.", labels=["node"]
        )
        for node, failures in totals.items():
            family.add_metric([node], failures)
        yield family


def _backlog_gauges(backlog: object) -> Iterator[Metric]:
    assert isinstance(backlog, Mapping)
    yield _gauge("backlog_accounts", "Accounts whose baseline is still to read.", backlog["accounts"])
    yield _gauge(
        "backlog_entries_left",
        "History entries the begun baselines still have to read (estimated from their last page).",
        backlog["entries_left"],
    )
    yield _gauge(
        "backlog_seconds_left",
        "Seconds until the backlog is read, at every history node's budget (estimated).",
        backlog["seconds_left"],
    )


def _gauge(name: str, documentation: str, value: object) -> GaugeMetricFamily:
    assert isinstance(value, int | float)  # the store's summaries are typed loosely: counts are numbers
    return GaugeMetricFamily(PREFIX + name, documentation, value=value)


def _by_label(name: str, documentation: str, label: str, values: object) -> GaugeMetricFamily:
    assert isinstance(values, Mapping)
    family = GaugeMetricFamily(PREFIX + name, documentation, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family
