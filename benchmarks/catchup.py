"""How fast the bot catches up after a day offline, against a naive beem bot and against the limit.

    PYTHONPATH=. .venv/bin/python benchmarks/catchup.py [--blocks 20000] [--big 100000] [--latency 0.05]
        [--no-postgres] [--profile FILE]

A devnet node runs in its own process (``benchmarks/_catchup_node.py``) serving a generated mainnet-like
chain (~12 transactions and ~10 votes a block) from a block file made once and then reused
(:mod:`devnet.blockfile`, under ``.cache/blocks`` in the checkout; ~6.3 KB a block), so the emulator
is not what is measured. Then, once against the node as it is and once with ``--latency`` added to every
request (a remote node), blocks a second for:

1. the bot: :class:`bot.follower.Follower` batches, end to end — fetch, parse, look up, count, badges, one
   store commit with the checkpoint — in a fresh process, on a store that followed the chain until the
   first block (it remembers the comments of the 7 days before: ``bootstrap: none``, config/bot.yaml's
   badge ladders); then the same on PostgreSQL (the same store migrated into a fresh database, opened as a
   ``run`` process opens it there: holding the lease, each write fenced), checked to have written the same
   counts, remembered comments and pairs, badges and notifications, and its speed as a ratio to SQLite's.
   The server: the one ``HIVE_BADGE_BOT_TEST_POSTGRES`` names, else a throw-away cluster on 127.0.0.1
   (``tests/support/postgres.py``) with an operator's durable settings (:data:`DURABLE`), whose CPU is
   measured too;
2. a naive beem bot: ``Blockchain(mode="irreversible").stream(opNames=["vote", "comment"])`` counting
   upvotes in a dict (on ``--beem-blocks`` / ``--beem-remote-blocks``: it is slow);
3. the limit: ``block_api.get_block_range`` of 1000 blocks over HTTP and ``json.loads``, nothing else.

Then the bot's memory, each run in a fresh process: the peak of Python memory (``tracemalloc``) and of the
process (its peak resident size), after ``--blocks`` and after ``--big`` blocks, and their ratio; the store's size;
and how long a block made irreversible while the bot follows the head takes to be counted (the real
daemon, polling every ``--poll`` seconds), on SQLite. ``--profile FILE`` also profiles the bot's run
(cProfile) into FILE, and on PostgreSQL into ``FILE.postgresql``, and prints where its time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import json
import logging
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psycopg
import requests
import structlog
from _catchup_node import FIRST, GENESIS, START  # beside this file

from bot.app import build_follower
from bot.config import Config, load_config
from bot.daemon import Daemon
from bot.db import PostgresUrl
from bot.metrics import Metric
from bot.migrate import migrate
from bot.standby import Keeper, TimedHolding
from bot.store import Checkpoint, Store
from bot.tallies import PAYOUT_WINDOW, Tally
from tests.support.postgres import cluster, database, own_server

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "bot.yaml"


def _config_for(url: str) -> Config:
    """The shipped config, counting from the first block (no lifetime baselines) with ``url`` as its node."""
    config = load_config(CONFIG)
    chain = replace(config.chain, request_timeout=60.0, max_backoff=1.0)
    return replace(config, nodes=(url,), bootstrap="none", chain=chain)


BLOCKS_A_DAY = 28_800
DURABLE = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}
"""The throw-away cluster's settings: an operator's, not the tests' (which turn all three off). All three
are PostgreSQL's defaults. ``synchronous_commit = on`` (each COMMIT waits for its WAL flush) is stricter
than the SQLite store's ``synchronous=NORMAL`` in WAL mode (a power cut may lose the last commits, never
corrupt): ``off`` would be the equal of that, and the bot is safe with it (a lost batch is counted again
from the chain, with its checkpoint). On, because that is what an operator's server has unless told
otherwise; a catch-up commits once per batch of up to 1,000 blocks, so the flush is a small part of it."""
SHOWN = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers")
"""The server's settings the report names."""
SAME_WORK = ("blocks", "operations", "increments", "badges", "notifications", "accounts", "written")
"""What the PostgreSQL run must have done exactly as the SQLite run did (``written``: a digest of the
store's counts, remembered comments and pairs, and outbox, :func:`_written`)."""
STAGES = ("fetch", "lookup", "count", "badges", "commit")
_WARM_FORMAT = 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20_000, help="blocks the bot catches up on")
    parser.add_argument("--big", type=int, default=100_000, help="blocks for the second memory run (0: none)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to each request, remote")
    parser.add_argument("--beem-blocks", type=int, default=2_000, help="blocks the beem stream reads, local")
    parser.add_argument("--beem-remote-blocks", type=int, default=300, help="… and with latency")
    parser.add_argument(
        "--poll", type=float, default=1.0, help="the daemon's poll interval, following the head"
    )
    parser.add_argument("--cache", type=Path, default=_cache_dir(), help="where block files are kept")
    parser.add_argument("--profile", type=Path, help="also profile the bot's local run into this file")
    parser.add_argument(
        "--postgres",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the bot on PostgreSQL too (a throw-away cluster, or the server HIVE_BADGE_BOT_TEST_POSTGRES names)",
    )
    args = parser.parse_args()
    _quiet()
    load = os.getloadavg()[0]
    served = max(args.blocks, args.big)
    node = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "_catchup_node.py"), str(served), str(args.cache)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        control = _NodeControl(node)
        url = control.url
        with tempfile.TemporaryDirectory() as directory, ExitStack() as servers:
            server = Server.start(servers) if args.postgres else None
            warm = _warm_store(args.cache)
            last = START + args.blocks - 1
            control.head(last + 1)  # irreversible: the last block to catch up on, as after a day offline
            rows = [
                measure_speeds(
                    control, warm, last, latency, beem_blocks, Path(directory) / f"beem-{latency}", server
                )
                for latency, beem_blocks in ((0.0, args.beem_blocks), (args.latency, args.beem_remote_blocks))
            ]
            control.latency(0.0)
            small = in_child(run_bot, url, warm, last, traced=True)
            big = None
            if args.big:
                control.head(START + args.big)
                big = in_child(run_bot, url, warm, START + args.big - 1, traced=True)
            control.head(START + served)
            follow = measure_follow(url, control, START + served - 1, args.poll, Path(directory))
            if args.profile is not None:
                control.head(last + 1)
                in_child(run_bot, url, warm, last, profile=str(args.profile))
                if server is not None:
                    with server.store(warm) as location:
                        in_child(
                            run_bot, url, warm, last, postgres=location, profile=_pg_profile(args.profile)
                        )
            shown = server.shown() if server is not None else None
    finally:
        node.communicate(timeout=60)
    _report(args, rows, small, big, follow, (load, os.getloadavg()[0]), shown)
    if args.profile is not None:
        _print_profile(args.profile)
        if server is not None:
            _print_profile(_pg_profile(args.profile))
    return 0


@dataclass(frozen=True)
class Server:
    """The PostgreSQL server of the bot's runs there."""

    url: str
    """A superuser's (or a role with CREATEDB) URL: each run gets a database of its own."""
    data: Path | None
    """The throw-away cluster's data directory (its server's CPU is measured); None: a developer's server."""

    @classmethod
    def start(cls, stack: ExitStack) -> Server:
        """The developer's server ``HIVE_BADGE_BOT_TEST_POSTGRES`` names, else a throw-away cluster (with
        :data:`DURABLE` settings) stopped when ``stack`` closes."""
        url = own_server(os.environ)
        if url is not None:
            return cls(url, None)
        started = stack.enter_context(cluster(DURABLE))
        return cls(started.url, started.data)

    @contextmanager
    def store(self, warm: str) -> Iterator[str]:
        """The warm store migrated into a fresh database (``migrate --to``, after the upgrade to this bot's
        schema that the SQLite run's ``Store.open`` makes too); its URL; dropped at the end."""
        with tempfile.TemporaryDirectory() as directory, database(self.url) as url:
            upgraded = Path(directory) / "warm.sqlite"
            shutil.copyfile(warm, upgraded)
            Store.open(upgraded).close()
            migrate(upgraded, PostgresUrl(url))
            yield url

    def cpu(self) -> float | None:
        """CPU seconds the throw-away server has used: the postmaster, its live processes and those it has
        reaped (a run's backends end with its connections). None on a developer's server."""
        if self.data is None:
            return None
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        total = _cpu_of(postmaster, children=True)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rpartition(")")[2].split()
                if int(fields[1]) == postmaster:
                    total += _cpu_of(int(stat.parent.name), children=False)
        return total

    def shown(self) -> dict[str, str]:
        """The settings the report names, as the server has them."""
        with psycopg.connect(self.url) as connection:
            return {name: str(connection.execute(f"SHOW {name}").fetchone()[0]) for name in SHOWN}  # type: ignore[index]


def _cpu_of(pid: int, *, children: bool) -> float:
    """CPU seconds of process ``pid`` (utime + stime), with ``children`` those of the children it reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = sum(int(value) for value in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def _pg_profile(path: Path) -> Path:
    return path.with_name(path.name + ".postgresql")


def measure_speeds(
    control: _NodeControl,
    warm: str,
    last: int,
    latency: float,
    beem_blocks: int,
    beem_dir: Path,
    server: Server | None,
) -> dict[str, Any]:
    """The speeds, with ``latency`` added to each request: the limit's, the bot's (on SQLite, and on
    PostgreSQL with a ``server``), beem's."""
    control.latency(latency)
    raw = measure_raw(control.url, START, last - START + 1)
    control.requests()
    bot = in_child(run_bot, control.url, warm, last)
    bot["requests"] = control.requests()
    postgres = None if server is None else measure_postgres(control, server, warm, last, bot)
    beem = measure_beem(control.url, START, beem_blocks, beem_dir)
    beem["requests"] = control.requests()
    return {"latency": latency, "raw": raw, "bot": bot, "postgres": postgres, "beem": beem}


def measure_postgres(
    control: _NodeControl, server: Server, warm: str, last: int, sqlite: dict[str, Any]
) -> dict[str, Any]:
    """The bot's run on PostgreSQL, with the server's CPU meanwhile; it must have done the ``sqlite`` run's
    work exactly (:data:`SAME_WORK`)."""
    with server.store(warm) as location:
        cpu = server.cpu()
        postgres = in_child(run_bot, control.url, warm, last, postgres=location)
        after = server.cpu()
    postgres["requests"] = control.requests()
    postgres["server_cpu"] = None if cpu is None or after is None else after - cpu
    differ = {key: (sqlite[key], postgres[key]) for key in SAME_WORK if sqlite[key] != postgres[key]}
    if differ:
        raise RuntimeError(
            f"the bot on PostgreSQL did other work than on SQLite (SQLite, PostgreSQL): {differ}"
        )
    return postgres


# -- 1. the bot -------------------------------------------------------------------------------------------------
def run_bot(
    url: str,
    warm: str,
    last: int,
    *,
    postgres: str | None = None,
    traced: bool = False,
    profile: str | Path | None = None,
) -> dict[str, Any]:
    """The follower from the warm store's checkpoint through block ``last``, in this (fresh) process: blocks a
    second, seconds per stage, memory peaks, the store's size. On a copy of the warm store, or on the
    PostgreSQL database ``postgres`` it was migrated into."""
    _quiet()
    rss_start = _rss()
    config = _config_for(url)
    with _bot_store(warm, postgres, config) as store:
        first = store.load_checkpoint()
        if first is None:
            raise RuntimeError(f"{warm}: the warm store has no checkpoint")
        follower = build_follower(config, store)
        profiler = cProfile.Profile() if profile else None
        if traced:
            tracemalloc.start()
        stages: Counter[str] = Counter()
        operations = increments = 0
        began, cpu = time.perf_counter(), _cpu()
        if profiler is not None:
            profiler.enable()
        while (report := follower.step(last)) is not None:
            stages.update(report.seconds)
            operations += report.operations
            increments += sum(report.tally.increments.values())
        seconds, cpu = time.perf_counter() - began, _cpu() - cpu
        follower.close()
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        tracemalloc.stop()
        summary = store.load_summary()
        outbox = store.outbox.load_summary()
        waiting = outbox["notifications"]
        written = _written(store)
    return {
        "blocks": last - first.block_num,
        "seconds": seconds,
        "cpu": cpu,
        "rate": (last - first.block_num) / seconds,
        "stages": dict(stages),
        "operations": operations,
        "increments": increments,
        "badges": outbox["badges"],
        "notifications": sum(waiting.values()) if isinstance(waiting, dict) else 0,
        "python_peak": peak,
        "rss_start": rss_start,
        "rss_peak": _rss(),
        "store_bytes": summary["bytes"],
        "accounts": summary["accounts"],
        "written": written,
    }


@contextmanager
def _bot_store(warm: str, postgres: str | None, config: Config) -> Iterator[Store]:
    """The store the bot catches up on: a copy of the warm SQLite store, or the PostgreSQL database it was
    migrated into, opened as a ``run`` process opens it there (holding the lease, each write fenced by it;
    statements bounded by the lease's terms)."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "bot.sqlite"
            shutil.copyfile(warm, path)
            with Store.open(path) as store:
                yield store
        return
    location, terms = PostgresUrl(postgres), config.ha.terms
    keeper = Keeper(location, TimedHolding("catchup-benchmark"), terms)
    keeper.start()
    try:
        never = threading.Event()
        keeper.wait_held(never)
        with Store.open(location, holding=keeper.holding, terms=terms, purpose="follower") as store:
            yield store
    finally:
        keeper.close()


def _written(store: Store) -> str:
    """A digest of what a catch-up wrote: every count, the comments and pairs remembered, the outbox's
    notifications and badges (by state)."""
    summary = {key: value for key, value in store.load_summary().items() if key != "bytes"}
    outbox = store.outbox.load_summary()
    rankings = {metric.value: sorted(store.load_ranking(metric, None)) for metric in Metric}
    return hashlib.sha256(repr((summary, outbox, rankings)).encode()).hexdigest()


def in_child(function: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``function(*args, **kwargs)`` in a fresh process: its memory and CPU are its own."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(function, *args, **kwargs).result()
    return result


def _warm_store(cache: Path) -> str:
    """A store that followed the chain until block ``START - 1``: the checkpoint there, and the creation
    times of the comments of the 7 days before, as the bot remembers them (not the pairs it counted, nor
    any counts). Made once into ``cache``."""
    path = cache / f"warm-v{_WARM_FORMAT}-seed7-{FIRST}-{GENESIS}-{START}.sqlite"
    if path.exists():
        return str(path)
    from devnet.generator import ChainGenerator  # the emulator, only to make the store
    from devnet.world import CommentRef

    print(f"making {path} (once)", file=sys.stderr, flush=True)
    chain = ChainGenerator(7, FIRST, GENESIS)
    world = chain.world
    created: dict[tuple[str, str], int] = {}
    for num in range(START - PAYOUT_WINDOW // 3, START):
        for slot in world.slots(num):
            head = world.head(CommentRef(num, slot))
            created[(head.author, head.permlink)] = world.block_time(num)
    part = path.with_suffix(".part")
    part.unlink(missing_ok=True)
    with Store.open(part) as store:
        checkpoint = Checkpoint(START - 1, chain.block_id(START - 1), chain.block_time(START - 1))
        store.commit_batch(Tally(created=created), {}, checkpoint)
    part.replace(path)  # closed, the store is one file (SQLite folds the WAL in on the last close)
    return str(path)


# -- 2. the naive beem bot ----------------------------------------------------------------------------------------
def measure_beem(url: str, first: int, count: int, data_dir: Path) -> dict[str, Any]:
    """Blocks a second of beem's irreversible stream of votes and comments from ``first``, counting upvotes."""
    from beem import Hive
    from beem.blockchain import Blockchain

    hive = Hive(node=[url], num_retries=0, data_dir=str(data_dir))
    stream = Blockchain(mode="irreversible", blockchain_instance=hive)
    upvotes: Counter[str] = Counter()
    began = time.perf_counter()
    for op in stream.stream(opNames=["vote", "comment"], start=first, stop=first + count - 1):
        if op["type"] == "vote" and op["weight"] > 0:
            upvotes[op["author"]] += 1
    seconds = time.perf_counter() - began
    return {"blocks": count, "seconds": seconds, "rate": count / seconds, "upvotes": sum(upvotes.values())}


# -- 3. the limit -------------------------------------------------------------------------------------------------
def measure_raw(url: str, first: int, count: int) -> float:
    """Blocks a second fetching ``count`` blocks in ranges of 1000 over HTTP and parsing them, nothing else."""
    session = requests.Session()
    began = time.perf_counter()
    for start in range(first, first + count, 1000):
        size = min(1000, first + count - start)
        body = {"jsonrpc": "2.0", "method": "block_api.get_block_range",
                "params": {"starting_block_num": start, "count": size}, "id": 1}  # fmt: skip
        blocks = json.loads(session.post(url, json=body, timeout=60).content)["result"]["blocks"]
        if len(blocks) != size:
            raise RuntimeError(f"asked for {size} blocks from {start}, got {len(blocks)}")
    return count / (time.perf_counter() - began)


# -- following the head -------------------------------------------------------------------------------------------
def measure_follow(url: str, control: _NodeControl, last: int, poll: float, directory: Path) -> list[float]:
    """Seconds from a block becoming irreversible to its commit by the daemon polling every ``poll`` seconds,
    for a few blocks released at random moments."""
    path = directory / "follow.sqlite"
    delays = []
    with Store.open(path) as store, Store.open(path) as reader:
        follower = build_follower(replace(_config_for(url), start_block=last + 1), store)
        daemon = Daemon(follower, None, poll_interval=poll)
        thread = threading.Thread(target=daemon.run, kwargs={"install_signal_handlers": False})
        thread.start()
        try:
            for block in range(last + 1, last + 6):
                time.sleep(random.uniform(0, poll))
                control.head(block + 1)  # the irreversible block trails the head by one
                released = time.perf_counter()
                while (checkpoint := reader.load_checkpoint()) is None or checkpoint.block_num < block:
                    if time.perf_counter() - released > 10 * poll + 10:
                        raise RuntimeError(f"block {block} was not counted")
                    time.sleep(0.005)
                delays.append(time.perf_counter() - released)
        finally:
            daemon.request_stop("benchmark done")
            thread.join()
    control.head(last + 1)
    return delays


# -- the node -----------------------------------------------------------------------------------------------------
class _NodeControl:
    """Commands to the node process (see ``benchmarks/_catchup_node.py``)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        if process.stdin is None or process.stdout is None:
            raise ValueError("the node's standard input and output must be pipes")
        self._in, self._out = process.stdin, process.stdout
        self.url = self._out.readline().strip()
        if not self.url:
            raise RuntimeError("the node process ended before serving")

    def latency(self, seconds: float) -> None:
        self._ask(f"latency {seconds}")

    def head(self, block: int) -> None:
        self._ask(f"head {block}")

    def requests(self) -> dict[str, Any]:
        """HTTP requests and methods served since the last call."""
        answer: dict[str, Any] = json.loads(self._ask("requests"))
        return answer

    def _ask(self, command: str) -> str:
        self._in.write(command + "\n")
        self._in.flush()
        return self._out.readline().strip()


# -- output -------------------------------------------------------------------------------------------------------
def _report(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    small: dict[str, Any],
    big: dict[str, Any] | None,
    follow: list[float],
    load: tuple[float, float],
    shown: dict[str, str] | None,
) -> None:
    print(f"catching up on {args.blocks:,} blocks ({args.blocks / BLOCKS_A_DAY:.2f} days), {os.cpu_count()} cores, "
          f"load average {load[0]:.1f} before, {load[1]:.1f} after (other work competes for the cores)")  # fmt: skip
    if shown is not None:
        print("PostgreSQL " + ", ".join(f"{name} {value}" for name, value in shown.items()))
    for row in rows:
        bot, beem, raw = row["bot"], row["beem"], row["raw"]
        title = (
            "local node" if not row["latency"] else f"remote node: +{row['latency'] * 1000:.0f} ms a request"
        )
        print(f"\n{title}")
        print(f"  1. bot, end to end            {bot['rate']:>9,.0f} blocks/s   {_trips(bot)}")
        print(f"  2. naive beem stream          {beem['rate']:>9,.0f} blocks/s   {_trips(beem)}")
        print(f"  3. limit (HTTP + JSON)        {raw:>9,.0f} blocks/s")
        print(f"  ratio 1/2 {bot['rate'] / beem['rate']:>8,.1f}     ratio 1/3 {bot['rate'] / raw:.2f}")
        print(f"  bot's seconds: {_seconds(bot)}")
        print(f"  bot's work: {bot['operations']:,} votes and comments, {bot['increments']:,} count increments, "
              f"{bot['badges']:,} badges, {bot['notifications']:,} notifications queued")  # fmt: skip
        print(f"  CPU busy while the bot ran: bot {bot['cpu'] / bot['seconds']:.0%}, "
              f"node {bot['requests']['cpu'] / bot['seconds']:.0%} (of one core)")  # fmt: skip
        if row["postgres"] is not None:
            _report_postgres(row["postgres"], bot)
    print("\nbot's memory (traced runs, each in a fresh process)")
    for run in [small] if big is None else [small, big]:
        print(f"  {run['blocks']:>7,} blocks  Python peak {run['python_peak'] / 1e6:6.1f} MB   "
              f"process peak {run['rss_peak'] / 1e6:6.1f} MB (at start {run['rss_start'] / 1e6:.1f})   "
              f"store {run['store_bytes'] / 1e6:6.1f} MB   {run['accounts']:,} accounts   "
              f"{run['rate']:,.0f} blocks/s traced")  # fmt: skip
    if big is not None:
        print(f"  ratio big/small: Python {big['python_peak'] / small['python_peak']:.2f}, "
              f"process {big['rss_peak'] / small['rss_peak']:.2f}")  # fmt: skip
    print(f"\nfollowing the head (poll every {args.poll:g} s): a block irreversible is counted after "
          + ", ".join(f"{delay:.2f}" for delay in follow) + " s")  # fmt: skip


def _report_postgres(postgres: dict[str, Any], sqlite: dict[str, Any]) -> None:
    """The bot's run on PostgreSQL beside its run on SQLite (the same work, checked)."""
    print(f"  1. on PostgreSQL              {postgres['rate']:>9,.0f} blocks/s   "
          f"ratio PostgreSQL/SQLite {postgres['rate'] / sqlite['rate']:.2f}   (the same work, checked)")  # fmt: skip
    print(f"  on PostgreSQL, seconds: {_seconds(postgres)}")
    server = postgres["server_cpu"]
    busy = "not measured (a developer's server)" if server is None else f"{server / postgres['seconds']:.0%}"
    print(f"  CPU busy on PostgreSQL: bot {postgres['cpu'] / postgres['seconds']:.0%}, server {busy}, "
          f"node {postgres['requests']['cpu'] / postgres['seconds']:.0%} (of one core)")  # fmt: skip


def _seconds(run: dict[str, Any]) -> str:
    """A bot's run's seconds by stage."""
    stages = run["stages"]
    other = run["seconds"] - sum(stages.values())
    parts = "  ".join(f"{name} {stages.get(name, 0.0):.2f}" for name in STAGES)
    return f"{parts}  other {other:.2f}  (total {run['seconds']:.2f})"


def _trips(run: dict[str, Any]) -> str:
    requests_ = run["requests"]
    methods = ", ".join(f"{count} {name.split('.')[-1]}" for name, count in requests_["methods"].items())
    per_thousand = 1000 * sum(requests_["methods"].values()) / run["blocks"]
    return f"{per_thousand:,.0f} requests per 1000 blocks ({methods})"


def _print_profile(path: Path) -> None:
    print(f"\nprofile of the bot's local run ({path}), by own time:")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(25)


def _rss() -> int:
    """The process's peak resident memory in bytes. Linux's VmHWM, not ru_maxrss: a spawned process inherits
    the ru_maxrss of its parent at the fork before its exec, but VmHWM starts afresh with the new program."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _quiet() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger().setLevel(logging.ERROR)


def _cache_dir() -> Path:
    return ROOT / ".cache" / "blocks"  # inside the checkout (git-ignored), never in the home directory


if __name__ == "__main__":
    raise SystemExit(main())
