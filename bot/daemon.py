"""The daemon: APScheduler runs the jobs; SIGTERM/SIGINT finish the current step, commit, and exit 0.

Up to three jobs, each with its own store connection:

- ``follow``, every ``poll_interval``: batches of irreversible blocks until caught up
  (:class:`~bot.follower.Follower`);
- ``post``, every ``poll_interval``: the outbox, one notification at a time (:class:`~bot.poster.Poster`);
  its first run checks the posting key against the account;
- ``baselines`` (``bootstrap: history``), every ``poll_interval``: pages of account history into
  baselines, several at once across the nodes within their node budget, until the backlog is read
  (:class:`~bot.baseline_job.BaselineJob`); a stop ends it promptly, no page half committed.

Lifecycle: :meth:`Daemon.run` starts the scheduler, waits until a stop is asked (a signal, or the
``--stop-at-block`` target reached, or a fatal error), then shuts the scheduler down and waits for the
running jobs. The follow job checks for a stop request only between batches, so a batch is always
committed whole or not at all.

Every job runs through :func:`_guarded`, the one place job errors are handled: an error the bot knows
(:class:`~bot.errors.BotError`) is one log line per incident (repeats of the same error are logged at
debug level); a lost lease (PostgreSQL, :mod:`bot.standby`) stops the daemon (exit 0: the process stands by
again), any other store error stops it with exit 1, so does a posting key that is not the account's
(exit 2); anything unexpected is logged with its traceback once and the job runs again at its next tick.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from bot.baseline_job import BaselineJob
from bot.errors import BotError, LeaseLostError, PostingKeyError, StoreError, StoreUnreachableError
from bot.follower import Follower
from bot.observe import DaemonMetrics
from bot.poster import Poster

log = structlog.get_logger("bot.daemon")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # the config, the command line or the posting key is wrong
LEASE_LOST = "lease lost"
"""The stop reason of a daemon whose lease lapsed (a job met it, or the keeper said so): the process
stands by again rather than exit, even if the keeper renewed the lease meanwhile."""


class Daemon:
    def __init__(
        self,
        follower: Follower,
        poster: Poster | None,
        *,
        poll_interval: float,
        stop_at: int | None = None,
        baseline_job: BaselineJob | None = None,
        baseline_interval: float = 3.0,
        metrics: DaemonMetrics | None = None,
    ) -> None:
        """``metrics``: where the jobs report what they do (``metrics.listen``); None: nowhere."""
        self.follower = follower
        self.poster = poster
        self.baseline_job = baseline_job
        self.baseline_interval = baseline_interval
        self.poll_interval = poll_interval
        self.stop_at = stop_at
        self.metrics = metrics
        self.exit_code = EXIT_OK
        self.stop_reason: str | None = None
        """Why the daemon was asked to stop first (:data:`LEASE_LOST`, a signal's name, ...)."""
        self._stop = threading.Event()
        self._last_error: dict[str, str | None] = {}
        self._key_checked = False

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            log.info("stop_requested", reason=reason)
            self.stop_reason = reason
        self._stop.set()

    def run(self, *, install_signal_handlers: bool = True) -> int:
        """Run until stopped; returns the process exit code."""
        if install_signal_handlers:
            self._install_signal_handlers()
        scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        jobs: dict[str, tuple[Callable[[], object], float]] = {"follow": (self.follow, self.poll_interval)}
        if self.poster is not None:
            jobs["post"] = (functools.partial(self.post, self.poster), self.poll_interval)
        if self.baseline_job is not None:
            jobs["baselines"] = (functools.partial(self.baseline_job.run, self._stop), self.baseline_interval)
        for name, (job, interval) in jobs.items():
            scheduler.add_job(
                self._guarded(name, job, interval),
                "interval",
                seconds=interval,
                id=name,
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
            self._last_error["follow"] = None
            if report is None:
                break
            if self.metrics is not None:
                self.metrics.batch_committed(report)
        if self.stop_at is not None and self._reached_stop_at():
            self.request_stop(f"block {self.stop_at} processed")

    def post(self, poster: Poster) -> None:
        """Check the posting key once, then post from the outbox until nothing more is due now."""
        if not self._key_checked:
            poster.check_key()
            self._key_checked = True
        while not self._stop.is_set():
            report = poster.step()
            self._last_error["post"] = None
            if self.metrics is not None:
                self.metrics.post_stepped(report, poster.resource_credits)
            if report is None or report.outcome.ends_the_tick:
                break

    def _reached_stop_at(self) -> bool:
        checkpoint = self.follower.store.load_checkpoint()
        return checkpoint is not None and self.stop_at is not None and checkpoint.block_num >= self.stop_at

    def _guarded(self, name: str, job: Callable[[], object], interval: float) -> Callable[[], None]:
        """``job`` with its errors handled: one line per incident, the traceback of an unexpected error
        once per incident (its repeats, the same error at every tick, at debug level without it)."""

        def run_job() -> None:
            try:
                job()
                self._last_error[name] = None
            except LeaseLostError as exc:
                log.warning("job_stopped", job=name, reason=LEASE_LOST, error=str(exc))
                self.request_stop(LEASE_LOST)
            except StoreUnreachableError as exc:
                self._failed(name, exc, interval)
            except StoreError as exc:
                log.error("job_failed_fatally", job=name, error=str(exc))
                self.exit_code = EXIT_FAILURE
                self.request_stop("store error")
            except PostingKeyError as exc:
                log.error("job_failed_fatally", job=name, error=str(exc))
                self.exit_code = EXIT_USAGE
                self.request_stop("posting key refused")
            except BotError as exc:
                self._failed(name, exc, interval)
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                if message == self._last_error.get(name):
                    log.debug("job_crashed", job=name, error=message, retry_in=interval)
                else:
                    log.exception("job_crashed", job=name, retry_in=interval)
                self._last_error[name] = message

        return run_job

    def _failed(self, name: str, exc: BotError, interval: float) -> None:
        """A job failed for a reason worth retrying at its next tick (a node, the store's server)."""
        message = f"{type(exc).__name__}: {exc}"
        level = log.debug if message == self._last_error.get(name) else log.warning
        level("job_failed", job=name, error=message, retry_in=interval)
        self._last_error[name] = message

    def _install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            self.request_stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
