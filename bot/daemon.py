"""The daemon: APScheduler runs the jobs; SIGTERM/SIGINT finish the current batch, commit, and exit 0.

Lifecycle: :meth:`Daemon.run` starts the scheduler, waits until a stop is asked (a signal, or the
``--stop-at-block`` target reached, or a fatal error), then shuts the scheduler down and waits for the
running job. The follow job checks for a stop request only between batches, so a batch is always
committed whole or not at all.

Every job runs through :func:`_guarded`, the one place job errors are handled: an error the bot knows
(:class:`~bot.errors.BotError`) is one log line per incident (repeats of the same error are logged at
debug level); a store error stops the daemon (exit 1); anything unexpected is logged with its traceback
once and the job runs again at its next tick.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from bot.errors import BotError, StoreError
from bot.follower import Follower

log = structlog.get_logger("bot.daemon")

EXIT_OK = 0
EXIT_FAILURE = 1


class Daemon:
    def __init__(self, follower: Follower, *, poll_interval: float, stop_at: int | None = None) -> None:
        self.follower = follower
        self.poll_interval = poll_interval
        self.stop_at = stop_at
        self.exit_code = EXIT_OK
        self._stop = threading.Event()
        self._last_error: str | None = None

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            log.info("stop_requested", reason=reason)
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, *, install_signal_handlers: bool = True) -> int:
        """Run until stopped; returns the process exit code."""
        if install_signal_handlers:
            self._install_signal_handlers()
        scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        scheduler.add_job(
            self._guarded("follow", self.follow),
            "interval",
            seconds=self.poll_interval,
            id="follow",
            next_run_time=datetime.now(scheduler.timezone),
        )
        log.info("daemon_started", poll_interval=self.poll_interval, stop_at=self.stop_at)
        scheduler.start()
        try:
            self._stop.wait()
        finally:
            scheduler.shutdown(wait=True)
        log.info("daemon_stopped", exit_code=self.exit_code)
        return self.exit_code

    def follow(self) -> None:
        """Process batches until caught up with the irreversible block, or until a stop is asked."""
        while not self._stop.is_set():
            report = self.follower.step(self.stop_at)
            self._last_error = None
            if report is None:
                break
        if self.stop_at is not None and self._reached_stop_at():
            self.request_stop(f"block {self.stop_at} processed")

    def _reached_stop_at(self) -> bool:
        checkpoint = self.follower.store.load_checkpoint()
        return checkpoint is not None and self.stop_at is not None and checkpoint.block_num >= self.stop_at

    def _guarded(self, name: str, job: Callable[[], None]) -> Callable[[], None]:
        def run_job() -> None:
            try:
                job()
            except StoreError as exc:
                log.error("job_failed_fatally", job=name, error=str(exc))
                self.exit_code = EXIT_FAILURE
                self.request_stop("store error")
            except BotError as exc:
                message = f"{type(exc).__name__}: {exc}"
                level = log.debug if message == self._last_error else log.warning
                level("job_failed", job=name, error=message, retry_in=self.poll_interval)
                self._last_error = message
            except Exception:
                log.exception("job_crashed", job=name)

        return run_job

    def _install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            self.request_stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
