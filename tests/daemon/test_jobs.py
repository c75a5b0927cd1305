"""The daemon's one job guard: what a failing job logs, tick after tick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.app import build_follower
from bot.daemon import Daemon
from bot.errors import TransientChainError
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
