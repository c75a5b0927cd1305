"""The composition root: the one place that builds the bot's parts from a :class:`~bot.config.Config`.

The command line, the demo, the benchmarks and the tests all build the bot here, so there is one wiring
to read and to change. Nothing here talks to a node or opens a store until the function that says so is
called: :func:`open_daemon` holds the store's lock and its connections while it is open.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server
from starlette.applications import Starlette

from bot.baseline_job import BaselineJob
from bot.chain import ChainClient, PostingKey
from bot.config import Config, ConfigError
from bot.daemon import Daemon
from bot.follower import Follower
from bot.observe import DaemonMetrics, StoreCollector
from bot.poster import Poster
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
    config: Config, store: Store, key: PostingKey | None, chain: ChainClient | None = None
) -> Poster:
    return Poster(
        chain or chain_client(config),
        store,
        config.notifications,
        bot=config.account,
        ladders=config.badges,
        key=key,
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
def open_daemon(config: Config, *, stop_at: int | None = None) -> Iterator[Daemon]:
    """The daemon ``config`` describes, holding the store's lock and its connections while open. Each job
    has its own store connection and its own chain client (they run in threads of their own)."""
    key = posting_key(config)
    with (
        lock_store(config.store),
        Store.open(config.store) as follower_store,
        Store.open(config.store) as poster_store,
        Store.open(config.store) as baseline_store,
    ):
        follower = build_follower(config, follower_store)
        poster = build_poster(config, poster_store, key)
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
    """The board and ranking app over the config's store, opened read-only while the app is open: it
    runs beside the daemon (``run``), never instead of it, and never writes."""
    with Store.open_read_only(config.store) as store:
        registry = CollectorRegistry()
        registry.register(StoreCollector(store, clock or time.time, backlog=_backlog_of(config)))
        site = Site(store, config.badges, config.account, config.web.max_lag, registry, clock or time.time)
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
