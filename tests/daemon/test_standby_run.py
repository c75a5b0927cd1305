"""Active/standby in the ``run`` process: a poster that lost the lease broadcasts nothing after its *sent*
is committed; ``run`` on a lease stands by, acts once it holds it, stops acting when it loses it, stands by
again in the same process, acts again when it takes it back, and releases it when told to stop.

The daemon here writes to an SQLite store (the store on PostgreSQL is being ported in parallel): its
lease is on the real PostgreSQL server, as a ``run`` process's is."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from structlog.testing import capture_logs

from bot.app import run_with_lease
from bot.config import HaSettings
from bot.daemon import EXIT_OK, Daemon
from bot.db import PostgresUrl
from bot.errors import LeaseLostError
from bot.outbox import State
from bot.schema_pg import BASELINE_SCHEMA
from bot.standby import TimedHolding, load_lease
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from tests.support.chains import FIRST, bot_config, generated_chain
from tests.support.notifying import START, SteppedBot, bot_comments
from tests.support.notifying import generated_chain as notifying_chain

TAKEOVER = 1.5


def test_a_poster_that_lost_the_lease_marks_sent_but_broadcasts_nothing(tmp_path: Path) -> None:
    with DevNode(notifying_chain(), head=START, irreversible_lag=1) as node:
        bot = SteppedBot(node, tmp_path / "bot.sqlite")
        bot.poster.holding = TimedHolding("host-a")  # never acquired, or lapsed: the same to the poster
        try:
            with capture_logs() as logs, pytest.raises(LeaseLostError, match="not broadcast"):
                bot.run(START + 200)
            sent = bot.poster_store.outbox.load_notifications(State.SENT)
            head = node.clock.head()
            node.clock.set_head(head + 10)
            comments = list(bot_comments(node, START, head + 10))
        finally:
            bot.close()
    assert len(sent) == 1
    assert comments == []
    assert not any("broadcast_transaction" in method for method in node.requests)
    withheld = [entry for entry in logs if entry["event"] == "broadcast_withheld"]
    assert withheld and withheld[0]["permlink"] == sent[0].permlink


def test_a_job_that_meets_a_lost_lease_stops_the_daemon_with_exit_0_rather_than_retrying(
    tmp_path: Path,
) -> None:
    with DevNode(notifying_chain(), head=START + 200, irreversible_lag=1) as node:
        bot = SteppedBot(node, tmp_path / "bot.sqlite")
        bot.poster.holding = TimedHolding("host-a")
        daemon = Daemon(bot.follower, bot.poster, poll_interval=0.05)
        try:
            with capture_logs() as logs:
                exit_code = daemon.run(install_signal_handlers=False)
        finally:
            bot.close()
    assert exit_code == EXIT_OK
    assert {"event": "stop_requested", "reason": "lease lost", "log_level": "info"} in logs
    assert [e["job"] for e in logs if e["event"] == "job_stopped"] == ["post"]


@pytest.fixture
def lease(fresh_postgres: str) -> PostgresUrl:
    with psycopg.connect(fresh_postgres, autocommit=True) as connection:
        connection.execute(BASELINE_SCHEMA)
    return PostgresUrl(fresh_postgres)


@pytest.fixture(scope="module")
def node() -> Iterator[DevNode]:
    chain: ChainGenerator = generated_chain()
    with DevNode(chain, head=FIRST + 50) as served:
        yield served


def events(logs: list[MutableMapping[str, Any]]) -> list[str]:
    return [entry["event"] for entry in logs if entry["event"].startswith(("lease_", "daemon_", "job_"))]


def wait_for(logs: list[MutableMapping[str, Any]], event: str, count: int = 1, seconds: float = 10) -> float:
    """Wait until ``event`` has been logged ``count`` times; the monotonic time it was seen."""
    deadline = time.monotonic() + seconds
    while sum(entry["event"] == event for entry in logs) < count:
        assert time.monotonic() < deadline, f"no {event} ({count}) in {events(logs)}"
        time.sleep(0.01)
    return time.monotonic()


def test_run_on_a_lease_stands_by_acts_stops_when_it_loses_it_and_acts_again_when_it_takes_it_back(
    node: DevNode, lease: PostgresUrl, tmp_path: Path
) -> None:
    config = bot_config(
        [node.url], tmp_path / "bot.sqlite", ha=HaSettings(takeover=TAKEOVER, holder="host-a")
    )
    config = dataclasses.replace(config, chain=dataclasses.replace(config.chain, poll_interval=0.1))
    terminate = threading.Event()
    exit_codes: list[int] = []
    with capture_logs() as logs, psycopg.connect(lease.url, autocommit=True) as other:
        other.execute(  # another bot holds the lease at first: this one stands by
            "INSERT INTO lease VALUES (1, 'host-b', 7, now(), clock_timestamp() + interval '0.8 s')"
        )
        running = threading.Thread(
            target=lambda: exit_codes.append(run_with_lease(config, lease, terminate=terminate))
        )
        running.start()
        wait_for(logs, "lease_held_elsewhere")
        assert "daemon_started" not in events(logs)
        wait_for(logs, "daemon_started")

        taken_at = time.monotonic()  # another takes the lease over (as if this one had been too late)
        other.execute(
            "UPDATE lease SET holder = 'host-b', token = token + 1, expires_at = clock_timestamp() + interval '1 s'"
        )
        stopped_at = wait_for(logs, "daemon_stopped")
        wait_for(logs, "daemon_started", count=2)  # its lease expired: this one takes it back

        terminate.set()
        running.join(10)

    assert exit_codes == [0]
    assert stopped_at - taken_at < config.ha.terms.renew_every + 0.5
    acquired = [entry for entry in logs if entry["event"] == "lease_acquired"]
    assert [(entry["holder"], entry["token"]) for entry in acquired] == [("host-a", 8), ("host-a", 10)]
    assert ("lease_lost", "host-a", 8) in {(e["event"], e.get("holder"), e.get("token")) for e in logs}
    assert events(logs)[-2:] == ["daemon_stopped", "lease_released"]
    view = load_lease(lease)
    assert view is not None and not view.active and view.lease.token == 10
