"""The daemon's own ``GET /metrics`` (``metrics.listen``): the daemon runs in-process against the devnet,
posting with a real (devnet) key, and a scraper reads it over HTTP while it works."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.app import open_daemon
from bot.config import Config, MetricsSettings
from bot.daemon import Daemon
from bot.location import Location
from bot.poster import Outcome
from bot.store import Store
from devnet import keys
from devnet.node import DevNode
from tests.support import notifying
from tests.support.chains import bot_config
from tests.support.processes import BOUND, checkpoint_of, poll
from tests.support.scrape import Samples, by_label, scrape, value

DEAD_NODE = "http://127.0.0.1:9"  # the discard port: nothing answers there


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Config, str]]:
    """The daemon running in a thread against a devnet whose head moves a block every 30 ms, its first
    node dead; yields its config and its metrics' address."""
    monkeypatch.setenv("TEST_POSTING_KEY", keys.private_key(notifying.BOT, "posting", "devnet"))
    port = free_port()
    with DevNode(notifying.generated_chain(), head=notifying.START + 2500, speed=100) as node:
        config = bot_config(
            [DEAD_NODE, node.url],
            tmp_path / "state" / "bot.sqlite",
            account=notifying.BOT,
            start_block=notifying.START,
            dry_run=False,
            badges=notifying.LADDERS,
            notifications=notifying.SETTINGS,
            metrics=MetricsSettings(listen=("127.0.0.1", port)),
        )
        with capture_logs(), open_daemon(config) as daemon:  # its threads' log lines stay out of the output
            thread = threading.Thread(target=_run, args=(daemon,), daemon=True)
            thread.start()
            try:
                yield config, f"http://127.0.0.1:{port}/metrics"
            finally:
                daemon.request_stop("the test is over")
                thread.join(BOUND)


def _run(daemon: Daemon) -> None:
    daemon.run(install_signal_handlers=False)


def test_the_checkpoint_gauge_follows_the_store_and_the_batch_counters_grow(
    running: tuple[Config, str],
) -> None:
    """The batch counters grow once a batch is committed *and* its step has returned: the scrapes wait for
    the counters themselves (the store's checkpoint moves a moment before them)."""
    config, url = running
    poll(lambda: (checkpoint_of(config.store) or 0) > notifying.START, "a first batch")
    first = _scrape_when(config.store, url, lambda s: value(s, "batches_total") >= 1, "a first batch counted")
    second = _scrape_when(
        config.store,
        url,
        lambda s: (
            value(s, "batches_total") > value(first, "batches_total")
            and value(s, "checkpoint_block") > value(first, "checkpoint_block")
        ),
        "another batch counted",
    )
    assert value(second, "operations_total") > value(first, "operations_total") > 0
    assert value(second, "batch_duration_seconds_count") == value(second, "batches_total")
    assert value(second, "batch_duration_seconds_sum") > 0
    assert value(second, "lag_blocks") >= 0


def test_node_failures_are_counted_by_node(running: tuple[Config, str]) -> None:
    config, url = running
    poll(lambda: (checkpoint_of(config.store) or 0) > notifying.START, "a first batch")
    failures = by_label(scrape(url), "node_failures_total", "node")
    assert failures[DEAD_NODE] >= 1
    assert failures[config.nodes[1]] == 0


@pytest.mark.slow
def test_broadcasts_are_counted_by_outcome_with_the_resource_credits_read_before(
    running: tuple[Config, str],
) -> None:
    config, url = running
    poll(
        lambda: by_label(scrape(url), "broadcasts_total", "outcome")[Outcome.SENT] >= 1,
        "a broadcast",
        every=0.2,
    )
    samples = scrape(url)
    assert set(by_label(samples, "broadcasts_total", "outcome")) == {outcome.value for outcome in Outcome}
    assert 0 < value(samples, "resource_credits_percent") <= 100
    with Store.open_read_only(config.store) as store:
        states = store.outbox.load_summary()["notifications"]
    assert isinstance(states, dict)
    scraped = by_label(scrape(url), "notifications", "state")
    assert scraped["sent"] + scraped["delivered"] >= 1
    assert set(scraped) == set(states)


def _scrape_when(store_path: Location, url: str, condition: Callable[[Samples], bool], what: str) -> Samples:
    """The first scrape (each checked by :func:`_scrape_between_store_reads`) for which ``condition`` holds."""
    found: list[Samples] = []

    def holds() -> bool:
        found[:] = [_scrape_between_store_reads(store_path, url)]
        return condition(found[0])

    poll(holds, what, every=0.1)
    return found[0]


def _scrape_between_store_reads(store_path: Location, url: str) -> Samples:
    """A scrape whose checkpoint gauge lies between the store's checkpoint just before and just after."""
    before = checkpoint_of(store_path) or 0
    samples = scrape(url)
    after = checkpoint_of(store_path) or 0
    assert before <= value(samples, "checkpoint_block") <= after
    return samples
