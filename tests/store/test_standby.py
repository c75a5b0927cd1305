"""The keeper (bot.standby) on a real PostgreSQL server, with short terms (a 1.5 s lease): of two keepers
one holds; a killed holder's lease is taken over within ``ha.takeover``; a holder whose renewals fail
stops acting before its lease runs out on the server; a released lease is taken at once; ``status``
reads who holds it; and a write fenced by a lapsed holding raises and writes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from structlog.testing import capture_logs

from bot.cli import format_lease, lease_report
from bot.db import PostgresDatabase, PostgresUrl, connect_postgres, open_postgres
from bot.errors import LeaseLostError
from bot.lease import ACQUIRE, RENEW, Holding, Terms
from bot.schema_pg import BASELINE_SCHEMA
from bot.standby import Keeper, TimedHolding, load_lease
from tests.support.processes import poll

TERMS = Terms(duration=1.5, margin=0.3)
"""``ha.takeover: 1.5s``, as the config makes it (a fifth of it as the margin): renewals every 0.5 s."""

MakeKeeper = Callable[[str], Keeper]


@pytest.fixture
def url(fresh_postgres: str) -> PostgresUrl:
    with psycopg.connect(fresh_postgres, autocommit=True) as connection:
        connection.execute(BASELINE_SCHEMA)
        connection.execute("CREATE TABLE writes (holder TEXT NOT NULL)")
    return PostgresUrl(fresh_postgres)


@pytest.fixture
def keeper(url: PostgresUrl) -> Iterator[MakeKeeper]:
    """Started keepers, each asking for the lease; closed (released) at the end."""
    started: list[Keeper] = []

    def make(holder: str) -> Keeper:
        started.append(Keeper(url, TimedHolding(holder), TERMS))
        started[-1].start()
        return started[-1]

    yield make
    for each in started:
        each.close()


def held_within(keeper: Keeper, seconds: float) -> bool:
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    held = keeper.wait_held(stop)
    stop.set()
    return held


def holders(*keepers: Keeper) -> list[str]:
    return [each.holding.holder for each in keepers if each.holding.held()]


def test_of_two_keepers_on_one_store_exactly_one_holds_and_keeps_holding_through_its_renewals(
    keeper: MakeKeeper,
) -> None:
    a = keeper("host-a")
    assert held_within(a, 2)
    b = keeper("host-b")
    assert not held_within(b, 3 * TERMS.duration)
    assert holders(a, b) == ["host-a"]
    assert a.holding.token == 1


def test_asking_again_for_a_lease_still_held_returns_at_once_rather_than_wait_for_a_loss(
    keeper: MakeKeeper,
) -> None:
    """``run`` asks again after its daemon stopped at the margin: if the renewal in flight then succeeded,
    the keeper still holds the lease and keeps renewing it, and asking must not wait for an acquisition
    that never comes (the process would hold the lease for ever, acting on nothing)."""
    a = keeper("host-a")
    assert held_within(a, 2)

    asked_at = time.monotonic()
    assert held_within(a, 3 * TERMS.duration)
    assert time.monotonic() - asked_at < TERMS.renew_every
    assert a.holding.token == 1


def test_a_killed_holders_lease_is_taken_over_within_ha_takeover(keeper: MakeKeeper) -> None:
    a, b = keeper("host-a"), keeper("host-b")
    assert held_within(a, 2)
    waiting = threading.Thread(target=held_within, args=(b, 10))
    waiting.start()
    time.sleep(TERMS.duration)  # renewed meanwhile: b still waits
    assert holders(a, b) == ["host-a"]

    killed_at = time.monotonic()
    a.close(release=False)
    waiting.join()

    took = time.monotonic() - killed_at
    assert holders(a, b) == ["host-b"] and b.holding.token == 2
    assert took < TERMS.duration + TERMS.renew_every + 0.5, took


def test_a_released_lease_is_taken_at_once(keeper: MakeKeeper) -> None:
    a, b = keeper("host-a"), keeper("host-b")
    assert held_within(a, 2)
    waiting = threading.Thread(target=held_within, args=(b, 10))
    waiting.start()
    time.sleep(TERMS.renew_every)

    released_at = time.monotonic()
    with capture_logs() as logs:
        a.close()
    waiting.join()

    assert time.monotonic() - released_at < TERMS.renew_every + 0.3
    assert holders(a, b) == ["host-b"]
    assert {"event": "lease_released", "holder": "host-a", "token": 1, "log_level": "info"} in logs


def test_a_holder_whose_renewals_fail_stops_acting_before_its_lease_runs_out_on_the_server(
    keeper: MakeKeeper, url: PostgresUrl
) -> None:
    a = keeper("host-a")
    lost = threading.Event()
    a.on_lost = lost.set
    assert held_within(a, 2)
    blocker = psycopg.connect(url.url, autocommit=True)
    with blocker, capture_logs() as logs, blocker.transaction():  # every renewal waits on it, times out
        blocker.execute("SELECT * FROM lease FOR UPDATE")
        while a.holding.held():
            time.sleep(0.005)
        still_valid = blocker.execute("SELECT expires_at > clock_timestamp() FROM lease").fetchone()
        assert lost.wait(TERMS.renew_every + 0.5)

    assert still_valid == (True,)
    events = [entry["event"] for entry in logs]
    assert events[0] == "lease_renew_failed" and "lease_lost" in events
    assert a.holding.token is None


def test_a_holder_whose_connection_is_killed_reconnects_and_keeps_its_lease(
    keeper: MakeKeeper, url: PostgresUrl
) -> None:
    a = keeper("host-a")
    assert held_within(a, 2)
    with psycopg.connect(url.url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hive-badge-bot lease'"
        )
    time.sleep(2 * TERMS.duration)

    assert a.holding.held() and a.holding.token == 1


def test_status_reads_the_holder_its_token_and_whether_it_is_still_active(
    keeper: MakeKeeper, url: PostgresUrl
) -> None:
    assert load_lease(url) is None
    a = keeper("host-a")
    assert held_within(a, 2)

    view = load_lease(url)
    assert view is not None and view.active
    assert (view.lease.holder, view.lease.token) == ("host-a", 1)
    assert view.lease.acquired_at < time.time() < view.lease.expires_at

    a.close(release=False)
    time.sleep(TERMS.duration)
    view = load_lease(url)
    assert view is not None and not view.active


def test_a_write_fenced_by_a_lapsed_holding_raises_and_writes_nothing(
    keeper: MakeKeeper, url: PostgresUrl
) -> None:
    a = keeper("host-a")
    assert held_within(a, 2)
    db = open_postgres(url, purpose="test", holding=a.holding)
    try:
        with db.transaction():
            db.execute("INSERT INTO writes VALUES (?)", ("while held",))
        a.holding.stop_at = time.monotonic()  # the margin reached, the keeper's thread not there yet
        with pytest.raises(LeaseLostError), db.transaction():
            db.execute("INSERT INTO writes VALUES (?)", ("after the margin",))
        assert [row[0] for row in db.execute("SELECT holder FROM writes")] == ["while held"]
    finally:
        db.close()


def test_a_statement_longer_than_the_connections_statement_timeout_is_cancelled(url: PostgresUrl) -> None:
    connection: psycopg.Connection[Any] = connect_postgres(url, purpose="test", statement_timeout=0.2)
    with connection, pytest.raises(psycopg.errors.QueryCanceled):
        connection.execute("SELECT pg_sleep(2)")


def test_status_shows_the_active_holder_since_when_until_when_and_its_token_then_no_active_bot(
    keeper: MakeKeeper, url: PostgresUrl
) -> None:
    assert format_lease(lease_report(url)["lease"]).endswith("none yet (no bot has run on this store)")
    a = keeper("host-a")
    assert held_within(a, 2)

    report = lease_report(url)["lease"]
    assert report["holder"] == "host-a" and report["token"] == 1 and report["active"]
    assert report["acquired_at"] <= report["expires_at"]
    assert format_lease(report) == (
        f"active bot:         host-a (token 1) since {report['acquired_at']}, lease until {report['expires_at']}"
    )

    a.close()
    assert format_lease(lease_report(url)["lease"]).endswith("none (the last, host-a, token 1: released)")


def test_a_sqlite_stores_status_has_no_lease(tmp_path: Path) -> None:
    assert lease_report(tmp_path / "bot.sqlite") == {}


def waits_on_a_lock(watcher: psycopg.Connection[Any], pid: int) -> bool:
    """Whether the backend ``pid`` comes to wait on a lock (polled for up to 5 s)."""
    deadline = time.monotonic() + 5
    query = "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted"
    while time.monotonic() < deadline:
        row = watcher.execute(query, (pid,)).fetchone()
        if row is not None and row[0] > 0:
            return True
        time.sleep(0.01)
    return False


def test_writers_queued_for_the_writer_lock_do_not_hold_a_renewal_back(url: PostgresUrl) -> None:
    """A renewal waits for the write in progress (its fence holds the lease row), not for the writers
    queued behind it: they take the writer lock first and are fenced once they have it. Fenced while
    queued, the three jobs' back-to-back writes kept the row locked and starved the renewal (its
    statement timeout is a third of the lease) until the holder lost a lease nobody else wanted: the
    failover test (tests/support/failover.py) saw it."""
    watcher = psycopg.connect(url.url, autocommit=True)
    row = watcher.execute(ACQUIRE, {"holder": "host-a", "duration": 60}).fetchone()
    assert row is not None
    holding = Holding("host-a")
    holding.token = row[1]
    first, queued = (
        PostgresDatabase(lambda: connect_postgres(url, purpose="test"), url, holding) for _ in "ab"
    )
    renewer = psycopg.connect(url.url, autocommit=True)
    inside, release = threading.Event(), threading.Event()

    def queued_write() -> None:
        with queued.transaction():
            inside.set()
            release.wait(10)

    renewal = {"holder": "host-a", "token": holding.token, "duration": 60}
    threads = [threading.Thread(target=queued_write)]
    threads.append(threading.Thread(target=lambda: renewer.execute(RENEW, renewal).fetchone()))
    try:
        with first.transaction():
            first.execute("INSERT INTO writes VALUES (?)", ("first",))
            threads[0].start()
            assert waits_on_a_lock(watcher, queued.connection.info.backend_pid)
            threads[1].start()
            assert waits_on_a_lock(watcher, renewer.info.backend_pid)
        assert inside.wait(5)
        threads[1].join(5)  # blocked by the queued writer, it would wait for its release (10 s)
        assert not threads[1].is_alive(), "the renewal waits for a writer that was only queued"
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
        for db in (first, queued):
            db.close()
        watcher.close()
        renewer.close()


FROZEN_WRITER = """
import sys
import psycopg
from bot.db import PostgresDatabase, PostgresUrl, connect_postgres
from bot.lease import ACQUIRE, BOUND_IDLE, Holding, Terms, idle_timeout

url = PostgresUrl(sys.argv[1])
rows = [(str(n),) for n in range(2_000_000)]
connection = connect_postgres(url, purpose="frozen", statement_timeout=1.5)
connection.execute(BOUND_IDLE.replace("%(timeout)s", "$1"), (idle_timeout(Terms(1.5, 0.3)),))
holding = Holding("host-a")
holding.token = psycopg.Cursor(connection).execute(ACQUIRE, {"holder": "host-a", "duration": 1.5}).fetchone()[1]
db = PostgresDatabase(lambda: connection, url, holding)
with db.transaction():
    db.executemany("INSERT INTO writes VALUES (?)", rows)
"""


def test_a_holder_frozen_in_the_middle_of_many_writes_cannot_hold_the_takeover_back(url: PostgresUrl) -> None:
    """Frozen (SIGSTOP) while it sends many rows in one fenced transaction, the holder's session must still
    end at the margin: a pipelined ``executemany`` left it waiting for the rest of the pipeline with no
    timeout, its lock on the lease row holding the takeover back until it was thawed."""
    argv = [sys.executable, "-c", FROZEN_WRITER, url.url]
    writer = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": "."})
    inserting = (
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '%frozen' AND query LIKE 'INSERT%'"
    )
    with psycopg.connect(url.url, autocommit=True) as other:
        try:
            poll(lambda: other.execute(inserting).fetchone() == (1,), "the rows to be sent", bound=20)
            writer.send_signal(signal.SIGSTOP)
            other.execute("SET statement_timeout = '6s'")
            deadline = time.monotonic() + 6
            taken = None
            while taken is None and time.monotonic() < deadline:
                taken = other.execute(ACQUIRE, {"holder": "host-b", "duration": 1.5}).fetchone()
                time.sleep(0.1)
        finally:
            writer.kill()
            writer.wait()
    assert taken is not None and taken[:2] == ("host-b", 2)
