"""The daemon's one job guard: what a failing job logs, tick after tick."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.app import build_follower
from bot.daemon import Daemon
from bot.errors import StoreError, StoreUnreachableError, TransientChainError
from bot.store import Store
from tests.support.chains import bot_config


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    config = bot_config(["http://127.0.0.1:9"], tmp_path / "bot.sqlite")  # the node is never asked
    with Store.open(config.store) as store:
        follower = build_follower(config, store)
        yield Daemon(follower, None, poll_interval=1.0, baseline_interval=0.25)
        follower.close()


def test_an_unexpected_error_logs_its_traceback_once_per_incident(daemon: Daemon) -> None:
    ticks = iter([ZeroDivisionError("boom"), ZeroDivisionError("boom"), None, ZeroDivisionError("boom")])

    def job() -> None:
        error = next(ticks)
        if error is not None:
            raise error

    guarded = daemon._guarded("baselines", job, 0.25)
    with capture_logs() as logs:
        for _ in range(4):
            guarded()
    crashes = [(e["log_level"], "exc_info" in e) for e in logs if e["event"] == "job_crashed"]
    # the first tick of each incident with its traceback; the repeat at debug, without it
    assert crashes == [("error", True), ("debug", False), ("error", True)]


def test_a_failing_job_says_when_it_runs_again_by_its_own_interval(daemon: Daemon) -> None:
    def job() -> None:
        raise TransientChainError("no node answered")

    with capture_logs() as logs:
        daemon._guarded("baselines", job, 0.25)()
        daemon._guarded("follow", job, 1.0)()
    assert [(e["job"], e["retry_in"]) for e in logs if e["event"] == "job_failed"] == [
        ("baselines", 0.25),
        ("follow", 1.0),
    ]


def test_a_store_server_out_of_reach_is_retried_and_a_broken_store_stops_the_daemon(daemon: Daemon) -> None:
    """PostgreSQL restarting or cut off for a while is weather, like a node: the job runs again at its next
    tick. A store that cannot be used as it is (another error of the store) stops the daemon."""
    with capture_logs() as logs:
        daemon._guarded("follow", _raising(StoreUnreachableError("server closed the connection")), 1.0)()
    assert [e["event"] for e in logs] == ["job_failed"]
    assert daemon.exit_code == 0 and not daemon._stop.is_set()

    with capture_logs() as logs:
        daemon._guarded("follow", _raising(StoreError("refusing to commit block 10")), 1.0)()
    assert next(e["event"] for e in logs) == "job_failed_fatally"
    assert daemon._stop.is_set()


def _raising(error: Exception) -> Callable[[], None]:
    def job() -> None:
        raise error

    return job
