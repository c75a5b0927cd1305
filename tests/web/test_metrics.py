"""``GET /metrics`` of ``serve``: Prometheus's text format, every value read from the store the follower
filled (see ``conftest.py``)."""

from __future__ import annotations

import time

from bot.store import Store
from tests.support.scrape import by_label, scrape, value
from tests.support.web import Served


def test_serve_metrics_give_the_stores_checkpoint_and_its_lag(served: Served, store: Store) -> None:
    before = time.time()
    samples = scrape(served.url + "/metrics")
    after = time.time()
    checkpoint = store.load_checkpoint()
    assert checkpoint is not None
    assert value(samples, "checkpoint_block") == checkpoint.block_num
    assert (
        before - checkpoint.block_time
        <= value(samples, "checkpoint_lag_seconds")
        <= after - checkpoint.block_time
    )


def test_serve_metrics_give_notifications_and_baselines_by_state_as_the_store_has_them(
    served: Served, store: Store
) -> None:
    samples = scrape(served.url + "/metrics")
    notifications = store.outbox.load_summary()["notifications"]
    baselines = store.baselines.load_summary()["baselines"]
    assert by_label(samples, "notifications", "state") == notifications
    assert by_label(samples, "baselines", "state") == baselines
    assert by_label(samples, "baselines", "state")["waiting"] == 1  # the one conftest.py queued


def test_serve_metrics_give_the_stores_totals(served: Served, store: Store) -> None:
    samples = scrape(served.url + "/metrics")
    outbox = store.outbox.load_summary()
    assert value(samples, "accounts") == store.load_summary()["accounts"] > 0
    assert value(samples, "badges") == outbox["badges"]
    assert value(samples, "opted_out") == outbox["opted_out"] == 1


def test_serve_metrics_have_none_of_the_daemons_own(served: Served) -> None:
    """Batches, broadcasts and node failures happen in the daemon: ``run``'s ``/metrics`` counts them."""
    names = {name for name, _ in scrape(served.url + "/metrics")}
    assert not any("batches" in name or "broadcasts" in name or "node_failures" in name for name in names)
