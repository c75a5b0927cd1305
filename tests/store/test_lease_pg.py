"""The lease (bot.lease) on a real PostgreSQL server: one holder at a time, a takeover only after expiry
on the server's clock with a higher token, and the fence — a lost holder's write transaction raises and
leaves nothing, and a write that passed the fence holds the takeover back until it commits."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bot.lease import ACQUIRE, BOUND_IDLE, FENCE, FENCE_FAILED, RELEASE, RENEW, Lease, Terms, idle_timeout
from bot.schema_pg import BASELINE_SCHEMA

Connect = Callable[[], psycopg.Connection[Any]]
SHORT = 1.0
"""A lease's duration in these tests, in seconds."""


@pytest.fixture
def connect(postgres_url: str) -> Iterator[Connect]:
    """Connections (autocommit: each statement its own transaction unless a test opens one) to a schema of
    the test's own holding :data:`BASELINE_SCHEMA` and a table ``writes`` for fenced writes."""
    name = f"lease_{secrets.token_hex(4)}"
    opened: list[psycopg.Connection[Any]] = []

    def connection() -> psycopg.Connection[Any]:
        opened.append(psycopg.connect(postgres_url, autocommit=True, options=f"-c search_path={name}"))
        return opened[-1]

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        with connection().transaction() as setup:
            setup.connection.execute(BASELINE_SCHEMA)
            setup.connection.execute("CREATE TABLE writes (holder TEXT NOT NULL)")
        yield connection
        for each in opened:
            each.close()
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def acquire(db: psycopg.Connection[Any], holder: str, duration: float = SHORT) -> Lease | None:
    return _lease(db.execute(ACQUIRE, {"holder": holder, "duration": duration}).fetchone())


def renew(db: psycopg.Connection[Any], lease: Lease, duration: float = SHORT) -> Lease | None:
    parameters = {"holder": lease.holder, "token": lease.token, "duration": duration}
    return _lease(db.execute(RENEW, parameters).fetchone())


def _lease(row: tuple[Any, ...] | None) -> Lease | None:
    return None if row is None else Lease(*row[:4])


def fenced_write(db: psycopg.Connection[Any], lease: Lease) -> None:
    """One write transaction of the active process: the fence first, then the write."""
    with db.transaction():
        db.execute(FENCE, {"holder": lease.holder, "token": lease.token})
        db.execute("INSERT INTO writes VALUES (%s)", (lease.holder,))


def wait_for_expiry(db: psycopg.Connection[Any], lease: Lease) -> None:
    """Sleep until the server's clock has passed the lease's expiry."""
    while (now := db.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()) is not None:
        if now[0] > lease.expires_at:
            return
        time.sleep(lease.expires_at - now[0] + 0.01)


def written(db: psycopg.Connection[Any]) -> list[str]:
    return [holder for (holder,) in db.execute("SELECT holder FROM writes ORDER BY holder")]


def test_a_second_holder_cannot_take_a_lease_while_it_is_valid(connect: Connect) -> None:
    a, b = connect(), connect()
    first = acquire(a, "host-a", duration=60)
    assert first is not None and (first.holder, first.token) == ("host-a", 1)
    assert acquire(b, "host-b") is None
    fenced_write(a, first)
    assert written(b) == ["host-a"]


def test_a_renewal_moves_the_expiry_on_the_servers_clock(connect: Connect) -> None:
    a = connect()
    first = acquire(a, "host-a")
    assert first is not None
    renewed = renew(a, first, duration=60)
    assert renewed is not None and renewed.token == first.token
    assert renewed.expires_at - first.expires_at > 50
    assert acquire(connect(), "host-b") is None


def test_after_expiry_another_takes_the_lease_and_the_old_holders_renewal_and_writes_fail(
    connect: Connect,
) -> None:
    a, b = connect(), connect()
    first = acquire(a, "host-a")
    assert first is not None
    wait_for_expiry(b, first)
    second = acquire(b, "host-b")
    assert second is not None and (second.holder, second.token) == ("host-b", first.token + 1)
    assert renew(a, first) is None
    with pytest.raises(psycopg.errors.RaiseException, match=f"{FENCE_FAILED}: host-a no longer holds"):
        fenced_write(a, first)
    assert written(b) == []


def test_a_released_lease_is_taken_at_once_and_only_its_holder_releases_it(connect: Connect) -> None:
    a, b = connect(), connect()
    first = acquire(a, "host-a", duration=60)
    assert first is not None
    b.execute(RELEASE, {"holder": "host-b", "token": first.token})
    b.execute(RELEASE, {"holder": "host-a", "token": first.token + 1})
    assert acquire(b, "host-b") is None
    a.execute(RELEASE, {"holder": "host-a", "token": first.token})
    second = acquire(b, "host-b", duration=60)
    assert second is not None and second.token == first.token + 1


def test_an_expired_lease_fences_its_holder_even_before_anyone_takes_it(connect: Connect) -> None:
    a = connect()
    first = acquire(a, "host-a")
    assert first is not None
    wait_for_expiry(a, first)
    assert renew(a, first) is None
    with pytest.raises(psycopg.errors.RaiseException, match=FENCE_FAILED):
        fenced_write(a, first)
    assert written(a) == []


def waiting_on_a_lock(db: psycopg.Connection[Any], pid: int) -> bool:
    found = db.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)).fetchone()
    return found is not None and found[0] > 0


def blocked(db: psycopg.Connection[Any], pid: int, pending: Future[Any]) -> bool:
    """Whether the statement of the connection ``pid`` waits on a lock (polled for up to 10 s)."""
    deadline = time.monotonic() + 10
    while not waiting_on_a_lock(db, pid) and not pending.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    return waiting_on_a_lock(db, pid)


def test_a_write_that_passed_the_fence_holds_the_takeover_back_until_it_commits(connect: Connect) -> None:
    """The fencing guarantee: the old holder's write in flight commits before the new token exists, even
    though its lease expired meanwhile; after the takeover, the old holder's fence fails."""
    a, b, watcher = connect(), connect(), connect()
    first = acquire(a, "host-a")
    assert first is not None
    with ThreadPoolExecutor(1) as pool:
        with a.transaction():
            a.execute(FENCE, {"holder": "host-a", "token": first.token})
            wait_for_expiry(watcher, first)
            takeover = pool.submit(acquire, b, "host-b")
            assert blocked(watcher, b.info.backend_pid, takeover)
            a.execute("INSERT INTO writes VALUES ('host-a')")
        second = takeover.result(timeout=10)
    assert second is not None and second.token == first.token + 1
    assert written(watcher) == ["host-a"]
    with pytest.raises(psycopg.errors.RaiseException, match=FENCE_FAILED):
        fenced_write(a, first)
    fenced_write(b, second)
    assert written(watcher) == ["host-a", "host-b"]


def test_a_fence_that_meets_a_takeover_in_progress_waits_for_it_then_fails(connect: Connect) -> None:
    """The holder restarted under the same name takes its own valid lease (a takeover: a new token); the
    earlier incarnation's fence, reaching the row while that takeover is uncommitted, waits for it and
    then reads the new token, and fails."""
    a, restarted, watcher = connect(), connect(), connect()
    first = acquire(a, "host-a", duration=60)
    assert first is not None
    with ThreadPoolExecutor(1) as pool:
        with restarted.transaction():
            second = acquire(restarted, "host-a")
            fence = pool.submit(fenced_write, a, first)
            assert blocked(watcher, a.info.backend_pid, fence)
        with pytest.raises(psycopg.errors.RaiseException, match=FENCE_FAILED):
            fence.result(timeout=10)
    assert second is not None and second.token == first.token + 1
    assert written(watcher) == []


def test_a_holder_frozen_inside_a_fenced_transaction_cannot_hold_the_takeover_back(connect: Connect) -> None:
    """The holder's connection bounds idle transactions to the margin: frozen after its fence, its
    session is ended by the server, its transaction rolled back, and the takeover goes through."""
    a, b, watcher = connect(), connect(), connect()
    a.execute(BOUND_IDLE, {"timeout": idle_timeout(Terms(SHORT, margin=0.2))})
    first = acquire(a, "host-a")
    assert first is not None
    timed_out = pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout)
    with ThreadPoolExecutor(1) as pool, timed_out, a.transaction():
        a.execute(FENCE, {"holder": "host-a", "token": first.token})
        a.execute("INSERT INTO writes VALUES ('host-a')")
        wait_for_expiry(watcher, first)  # frozen: sends nothing meanwhile
        second = pool.submit(acquire, b, "host-b").result(timeout=10)
    assert second is not None and second.token == first.token + 1
    assert written(watcher) == []
