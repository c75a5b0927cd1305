"""The PostgreSQL server the store's tests will use (``tests/support/postgres.py``): a real server that
answers with transactions, on loopback only, as an unprivileged user, gone at the end; and a developer's
own server, through ``HIVE_BADGE_BOT_TEST_POSTGRES``, gets a database of the session's own."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import (
    ENV,
    TEST_USER,
    Cluster,
    cluster,
    find_binaries,
    own_server,
    session_database,
)
from tests.support.processes import children


def postmaster(started: Cluster) -> int:
    """The server's process id, from the first line of ``postmaster.pid``."""
    return int((started.data / "postmaster.pid").read_text().split()[0])


def databases(server_url: str) -> set[str]:
    with psycopg.connect(server_url) as connection:
        return {name for (name,) in connection.execute("SELECT datname FROM pg_database")}


def test_a_committed_write_is_read_from_a_second_connection(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as writer, psycopg.connect(postgres_url) as reader:
        version = writer.execute("SELECT version()").fetchone()
        assert version is not None and version[0].startswith("PostgreSQL ")
        writer.execute("CREATE TABLE committed (account text PRIMARY KEY, upvotes integer NOT NULL)")
        writer.commit()
        with writer.transaction():
            writer.execute("INSERT INTO committed VALUES (%s, %s), (%s, %s)", ("alice", 3, "bob", 5))
        assert reader.execute("SELECT * FROM committed ORDER BY account").fetchall() == [
            ("alice", 3),
            ("bob", 5),
        ]


def test_a_rolled_back_transaction_leaves_nothing(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE rolled_back (account text PRIMARY KEY)")
        with pytest.raises(ZeroDivisionError), connection.transaction():
            connection.execute("INSERT INTO rolled_back VALUES ('alice')")
            _ = 1 / 0
    with psycopg.connect(postgres_url) as reader:
        assert reader.execute("SELECT count(*) FROM rolled_back").fetchone() == (0,)


def test_the_throw_away_server_listens_on_loopback_only(postgres_cluster: Cluster) -> None:
    with psycopg.connect(postgres_cluster.url) as connection:
        assert connection.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        address = connection.execute("SELECT host(inet_server_addr())").fetchone()
    assert address == ("127.0.0.1",)


def test_the_throw_away_server_runs_as_an_unprivileged_user(postgres_cluster: Cluster) -> None:
    """Root hands the server to the dedicated user; anyone else runs it as themselves."""
    status = Path(f"/proc/{postmaster(postgres_cluster)}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid == (pwd.getpwnam(TEST_USER).pw_uid if os.geteuid() == 0 else os.getuid())
    assert uid != 0
    assert postgres_cluster.directory.stat().st_uid == uid


def test_the_throw_away_server_is_no_child_the_stray_process_guard_would_kill(
    postgres_cluster: Cluster,
) -> None:
    assert postmaster(postgres_cluster) not in children()


def test_a_cluster_is_stopped_and_removed_even_when_its_user_fails() -> None:
    with pytest.raises(RuntimeError, match="a test failed"), cluster() as started:
        assert databases(started.url) >= {"postgres"}
        raise RuntimeError("a test failed")
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        psycopg.connect(started.url, connect_timeout=5)
    assert not started.directory.exists()


WAITING_TEST = """
import time

def test_waits(postgres_cluster):
    print("cluster", postgres_cluster.directory, postgres_cluster.url, flush=True)
    time.sleep(120)
"""


@pytest.mark.slow
def test_a_test_run_stopped_with_sigterm_stops_and_removes_its_cluster(tmp_path: Path) -> None:
    """A CI job's timeout sends SIGTERM: pytest then ends as on Ctrl-C (``tests/conftest.py``), and the
    session's cluster goes with it. A run of its own: a test that waits, with the suite's conftest."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_waiting.py").write_text(WAITING_TEST)
    root = Path(__file__).parents[2]
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    line = next((line for line in run.stdout if line.startswith("cluster ")), None)
    if line is None:
        raise AssertionError(f"the run did not start its cluster: {run.communicate(timeout=60)[0]}")
    _, directory, url = line.split()
    assert databases(url) >= {"postgres"}
    run.send_signal(signal.SIGTERM)
    rest = run.communicate(timeout=60)[0]
    assert run.returncode == 2 and "KeyboardInterrupt: SIGTERM" in rest, rest  # 2: interrupted
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        psycopg.connect(url, connect_timeout=5)
    assert not Path(directory).exists()


def settings(server_url: str, *names: str) -> tuple[str, ...]:
    with psycopg.connect(server_url) as connection:
        return tuple(str(connection.execute(f"SHOW {name}").fetchone()[0]) for name in names)  # type: ignore[index]


def test_the_tests_cluster_is_fast_and_a_cluster_given_durable_settings_runs_with_them(
    postgres_cluster: Cluster,
) -> None:
    """The tests' cluster gives up durability for speed; a benchmark comparing stores (benchmarks/catchup.py)
    starts one with the settings an operator's server has."""
    names = ("fsync", "synchronous_commit", "full_page_writes")
    assert settings(postgres_cluster.url, *names) == ("off", "off", "off")
    with cluster({"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}) as durable:
        assert settings(durable.url, *names) == ("on", "on", "on")
        assert settings(durable.url, "listen_addresses") == ("127.0.0.1",)


def test_a_developers_server_gets_a_database_of_the_sessions_own_dropped_at_the_end(
    postgres_cluster: Cluster, postgres_url: str
) -> None:
    def no_cluster() -> str:
        raise AssertionError(f"{ENV} is set: no cluster may be started")

    before = databases(postgres_cluster.url)
    with session_database({ENV: postgres_cluster.url}, no_cluster) as url:
        with psycopg.connect(url) as connection:
            name = connection.execute("SELECT current_database()").fetchone()
        assert name is not None and name[0].startswith("hive_badge_bot_test_")
        assert url != postgres_url
        assert databases(postgres_cluster.url) == before | {name[0]}
    assert databases(postgres_cluster.url) == before


def test_a_developers_server_must_be_named_by_a_url() -> None:
    assert own_server({}) is None
    assert own_server({ENV: "postgres://me@db.example/bot"}) == "postgres://me@db.example/bot"
    with pytest.raises(ValueError, match=f"{ENV} must be a postgresql://"):
        own_server({ENV: "host=db.example user=me"})


def test_the_newest_debian_server_is_found_when_none_is_on_path(tmp_path: Path) -> None:
    for version in ("9.6", "15", "16"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "initdb").touch()
    assert find_binaries(path="", debian=tmp_path) == tmp_path / "16" / "bin"


def test_a_missing_server_is_named_with_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"no initdb on PATH.*scripts/test.sh.*apt-get install postgresql"
    ):
        find_binaries(path="", debian=tmp_path)


def test_a_server_on_path_comes_before_debians(tmp_path: Path) -> None:
    for program in ("debian/15/bin/initdb", "own/bin/initdb", "own/bin/pg_ctl"):
        (tmp_path / program).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / program).touch(mode=0o755)
    assert (
        find_binaries(path=str(tmp_path / "own" / "bin"), debian=tmp_path / "debian")
        == tmp_path / "own" / "bin"
    )
