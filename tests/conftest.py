"""Fixtures every test shares."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import structlog

from bot.db import Location, PostgresUrl
from tests.support.postgres import Cluster, cluster, database, session_database
from tests.support.processes import children


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (a CI job's timeout, ``kill``) ends the run as Ctrl-C does, so the session's fixtures are
    torn down: the throw-away PostgreSQL clusters stopped and removed (``tests/support/postgres.py``).
    Python's default ends the process at once, and left each running in ``$TMPDIR``."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"{signal.Signals(signum).name}: the test run was asked to stop")

    signal.signal(signal.SIGTERM, interrupt)


@pytest.fixture(autouse=True)
def every_log_level() -> Iterator[None]:
    """Each test starts with structlog's defaults: ``capture_logs`` keeps the configured level filter, which
    a test before (one that ran the CLI, say) may have set to info, and tests read debug lines too."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)


@pytest.fixture(autouse=True)
def no_stray_processes() -> Iterator[None]:
    """A failing test must not leave a bot running (the daemon, chain and stress tests start it as a
    subprocess)."""
    before = set(children())
    yield
    for pid in set(children()) - before:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A throw-away PostgreSQL cluster for the whole session, on a free port of 127.0.0.1, removed at the end
    (``tests/support/postgres.py``)."""
    with cluster() as started:
        yield started


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a database of the session's own, dropped at the end: on the developer's server if
    ``HIVE_BADGE_BOT_TEST_POSTGRES`` names one, else on the throw-away cluster (started only then)."""
    with session_database(os.environ, lambda: request.getfixturevalue("postgres_cluster").url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    """Where a test's store is, once on each backend: a new SQLite file, then the emptied PostgreSQL
    database (:func:`fresh_postgres`). A test taking it runs twice, ``[sqlite]`` and ``[postgresql]``."""
    if request.param == "sqlite":
        return tmp_path / "state" / "bot.sqlite"
    return PostgresUrl(request.getfixturevalue("fresh_postgres"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store_location(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Location]:
    """:func:`store_location` for a module's fixtures: a store the module's tests share, on each backend;
    on PostgreSQL a database of its own (tests emptying the session's meanwhile leave it alone)."""
    if request.param == "sqlite":
        yield tmp_path_factory.mktemp("store") / "bot.sqlite"
        return
    with database(request.getfixturevalue("postgres_url")) as url:
        yield PostgresUrl(url)


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """The session's database, emptied for this test (its ``public`` schema dropped and made again: much
    faster than a database per test). A connection left open by an earlier test holds the drop back for
    at most 10 s, then the test fails with the server's words."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("SET lock_timeout = '10s'")
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    return postgres_url
