"""The composition root: the one place that builds the bot's parts from a :class:`~bot.config.Config`.

The command line, the demo, the benchmarks and the tests all build the bot here, so there is one wiring
to read and to change. Nothing here talks to a node or opens a store until the function that says so is
called: :func:`open_daemon` holds the store's lock and its connections while it is open.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from types import FrameType

from prometheus_client import CollectorRegistry, start_http_server
from starlette.applications import Starlette

from bot.baseline_job import BaselineJob
from bot.chain import ChainClient, PostingKey
from bot.config import Config, ConfigError
from bot.daemon import EXIT_OK, LEASE_LOST, Daemon
from bot.db import Location, PostgresUrl
from bot.follower import Follower
from bot.lease import Holding
from bot.observe import DaemonMetrics, StoreCollector
from bot.poster import Poster
from bot.standby import Keeper, TimedHolding
from bot.store import Store, lock_store
from bot.web.routes import Site, create_app

QUICK_TIMEOUT = 5.0
"""Seconds a read-only command (``status``) waits for a node at most: it reports "unknown" rather than hang."""


def chain_client(config: Config, *, quick: bool = False) -> ChainClient:
    """A client for the config's nodes; ``quick``: with a short timeout, for commands a person waits on."""
    timeout = min(config.chain.request_timeout, QUICK_TIMEOUT) if quick else config.chain.request_timeout
    return ChainClient(config.nodes, timeout=timeout, max_backoff=config.chain.max_backoff)


def history_client(config: Config) -> ChainClient:
    """A client for the nodes that serve history, each held to the node budget (``history``): the
    baseline job's alone, so that following the chain and posting never wait for it."""
    return ChainClient(
        config.history_nodes,
        timeout=config.chain.request_timeout,
        max_backoff=config.chain.max_backoff,
        budget=config.history.calls_per_second,
    )


def history_budget(config: Config) -> float:
    """Calls a second the baseline job may make in all: every history node's budget together."""
    return config.history.calls_per_second * len(config.history_nodes)


CREDENTIAL = "posting-key"
"""The name of the systemd credential that holds the posting key (``LoadCredential=posting-key:FILE``)."""


def posting_key(config: Config) -> PostingKey | None:
    """The posting key: from ``posting_key_file`` if the config sets one, else from the systemd credential
    ``posting-key`` if the service was given it, else from the environment variable ``posting_key_env``;
    ``None`` in a dry run, which signs nothing.

    The credential is found by its name, not by a path in the YAML: systemd chooses the directory
    (``$CREDENTIALS_DIRECTORY``), so one config file serves under systemd and outside it.
    """
    if config.dry_run:
        return None
    if config.posting_key_file is not None:
        return PostingKey.from_file(config.posting_key_file)
    credential = _systemd_credential(CREDENTIAL)
    if credential is not None:
        return PostingKey.from_credential(credential)
    return PostingKey.from_env(config.posting_key_env)


def _systemd_credential(name: str) -> Path | None:
    """The file of the systemd credential ``name``, if the service was given one."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / name
    return path if os.path.lexists(path) else None


def build_follower(config: Config, store: Store, chain: ChainClient | None = None) -> Follower:
    return Follower(
        chain or chain_client(config),
        store,
        config.counting_rules(),
        config.badge_rules(),
        batch_size=config.chain.batch_size,
        start_block=config.start_block,
        with_baselines=config.with_baselines,
    )


def build_poster(
    config: Config,
    store: Store,
    key: PostingKey | None,
    chain: ChainClient | None = None,
    holding: Holding | None = None,
) -> Poster:
    return Poster(
        chain or chain_client(config),
        store,
        config.notifications,
        bot=config.account,
        ladders=config.badges,
        key=key,
        holding=holding,
    )


def build_baseline_job(config: Config, store: Store, chain: ChainClient | None = None) -> BaselineJob:
    return BaselineJob(
        chain or history_client(config),
        store,
        config.counting_rules(),
        config.badge_rules(),
        page_size=config.history.page_size,
        in_flight=config.history.in_flight,
    )


@contextmanager
def open_daemon(
    config: Config, *, stop_at: int | None = None, holding: Holding | None = None
) -> Iterator[Daemon]:
    """The daemon ``config`` describes, holding the store's lock and its connections while open. Each job
    has its own store connection and its own chain client (they run in threads of their own).

    ``holding``: the lease this process holds (active/standby, :func:`run_with_lease`): the store's lock
    file is not taken, every write of the jobs is fenced by the lease and the poster broadcasts only while
    it holds."""
    key = posting_key(config)
    with ExitStack() as stack:
        stack.enter_context(lock_store(config.store) if holding is None else nullcontext())
        follower_store, poster_store, baseline_store = (
            stack.enter_context(_open_store(config, holding, job))
            for job in ("follower", "poster", "baselines")
        )
        follower = build_follower(config, follower_store)
        poster = build_poster(config, poster_store, key, holding=holding)
        baseline_job = build_baseline_job(config, baseline_store) if config.with_baselines else None
        chains = [job.chain for job in (follower, poster, baseline_job) if job is not None]
        try:
            with _serve_metrics(config, chains) as metrics:
                yield Daemon(
                    follower,
                    poster,
                    poll_interval=config.chain.poll_interval,
                    stop_at=stop_at,
                    baseline_job=baseline_job,
                    baseline_interval=config.chain.poll_interval,
                    metrics=metrics,
                )
        finally:
            follower.close()


def _open_store(config: Config, holding: Holding | None, job: str) -> Store:
    """One job's store connection: on PostgreSQL with the process's holding, its writes fenced by the lease
    (an SQLite store has no fence: its lock file keeps to one bot)."""
    if holding is None:
        return Store.open(config.store, purpose=job)
    return Store.open(config.store, holding=holding, terms=config.ha.terms, purpose=job)


def holder_name(config: Config) -> str:
    """This process's name in the lease: ``ha.holder``, else ``<hostname>:<pid>`` (see :class:`HaSettings`)."""
    return config.ha.holder or f"{socket.gethostname()}:{os.getpid()}"


def run_daemon(config: Config, *, stop_at: int | None = None) -> int:
    """``run``: the daemon at once on an SQLite store (its lock file keeps to one bot), as active/standby on
    a PostgreSQL store (:func:`run_with_lease`). Returns the exit code."""
    return _run_on(config, config.store, stop_at)


def _run_on(config: Config, store: Location, stop_at: int | None) -> int:
    if isinstance(store, PostgresUrl):
        return run_with_lease(config, store, stop_at=stop_at)
    with open_daemon(config, stop_at=stop_at) as daemon:
        return daemon.run()


def run_with_lease(
    config: Config,
    lease: PostgresUrl,
    *,
    stop_at: int | None = None,
    terminate: threading.Event | None = None,
) -> int:
    """Active/standby on the store at ``lease``: stand by until the keeper (:mod:`bot.standby`) holds the
    lease, then run the daemon, its writes fenced, until the lease is lost — then stop acting, close the
    stores and stand by again, in the same process. SIGTERM/SIGINT (or ``terminate``, set by the caller,
    who then handles signals itself) stop the daemon and release the lease: a standby takes over at once.

    The daemon stopping for a reason of its own (``--stop-at-block`` reached, a store error, a posting key
    refused) ends the process with its exit code, the lease released.
    """
    if terminate is None:
        terminate = threading.Event()
        _stop_on_signals(terminate)
    with Store.open(config.store):  # an empty database gets the schema, the lease's table with it
        pass
    keeper = Keeper(lease, TimedHolding(holder_name(config)), config.ha.terms)
    keeper.start()
    try:
        while keeper.wait_held(terminate):
            exit_code, lost = _act_while_held(config, keeper, stop_at, terminate)
            if not lost or terminate.is_set():
                return exit_code
        return EXIT_OK
    finally:
        keeper.close()


def _act_while_held(
    config: Config, keeper: Keeper, stop_at: int | None, terminate: threading.Event
) -> tuple[int, bool]:
    """Run the daemon while the lease is held; its exit code, and whether it stopped for a lost lease: also
    when a job met its holding lapsed at the margin and the keeper's renewal, late, succeeded after (the
    process then acts again at once, :meth:`Keeper.wait_held`, rather than exit)."""
    with open_daemon(config, stop_at=stop_at, holding=keeper.holding) as daemon:
        keeper.on_lost = lambda: daemon.request_stop(LEASE_LOST)
        done = threading.Event()
        threading.Thread(target=_stop_when, args=(terminate, done, daemon), daemon=True).start()
        try:
            exit_code = daemon.run(install_signal_handlers=False)
        finally:
            done.set()
            keeper.on_lost = None
    return exit_code, daemon.stop_reason == LEASE_LOST or not keeper.holding.held()


def _stop_when(terminate: threading.Event, done: threading.Event, daemon: Daemon) -> None:
    """Stop ``daemon`` when ``terminate`` is set, until it is ``done``."""
    while not done.is_set():
        if terminate.wait(0.05):
            daemon.request_stop("terminate")
            return


def _stop_on_signals(terminate: threading.Event) -> None:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        terminate.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


@contextmanager
def _serve_metrics(config: Config, chains: Sequence[ChainClient]) -> Iterator[DaemonMetrics | None]:
    """The daemon's metrics, served at ``metrics.listen`` (if set) while open.

    ``prometheus_client``'s own server (a WSGI server, each scrape in a thread) rather than the web app's
    stack: the daemon stays free of an event loop, and the library's server already speaks every
    exposition format and compression a scraper asks for. Its store connection (read-only) is its own.
    """
    if config.metrics.listen is None:
        yield None
        return
    host, port = config.metrics.listen
    registry = CollectorRegistry()
    metrics = DaemonMetrics(registry, chains)
    with Store.open_read_only(config.store) as store:
        registry.register(StoreCollector(store, backlog=_backlog_of(config)))
        try:
            server, thread = start_http_server(port, host, registry)
        except OSError as exc:
            raise ConfigError(
                config.path, f"cannot listen on {host}:{port}: {exc}", "metrics.listen"
            ) from exc
        try:
            yield metrics
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def _backlog_of(config: Config) -> tuple[int, float] | None:
    """What the metrics need to show the backlog (page size, calls a second in all); None: no baselines."""
    return (config.history.page_size, history_budget(config)) if config.with_baselines else None


@contextmanager
def open_web(config: Config, *, clock: Callable[[], float] | None = None) -> Iterator[Starlette]:
    """The board and ranking app over the config's store (its read replica, ``web.replica``, if given),
    opened read-only while the app is open: it runs beside the daemon (``run``), never instead of it, and
    never writes."""
    with Store.open_read_only(config.web.replica or config.store) as store:
        registry = CollectorRegistry()
        registry.register(StoreCollector(store, clock or time.time, backlog=_backlog_of(config)))
        site = Site(
            store,
            config.badges,
            config.account,
            config.web.max_lag,
            registry,
            clock or time.time,
            custom_json_id=config.notifications.custom_json_id,
        )
        yield create_app(site)


@contextmanager
def serve_web(
    config: Config, host: str = "127.0.0.1", *, clock: Callable[[], float] | None = None
) -> Iterator[str]:
    """The board (:func:`open_web`) served by uvicorn in a thread, on a free port of ``host``, while
    open; yields its address. For the demo and the tests: ``serve`` runs uvicorn in the foreground."""
    import uvicorn  # the daemon's commands need no web server: loaded only here

    listener = socket.socket()
    listener.bind((host, 0))
    port = listener.getsockname()[1]
    with listener, open_web(config, clock=clock) as app:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            yield f"http://{host}:{port}"
        finally:
            server.should_exit = True
            thread.join(10)
