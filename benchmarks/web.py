"""How fast the board and the ranking answer at a million accounts, beside a static file of the same size.

    .venv/bin/python benchmarks/web.py [--accounts 1000000] [--seconds 8] [--clients 32] [--writes 300]

1. A store of ``--accounts`` accounts and their badges (~3 per account) is generated directly with SQL
   (seeded; kept under ``.cache/`` and copied for each run). Counts are heavy-tailed: per metric, an
   account has none with probability ``ZERO`` and otherwise ``floor((1 - u) ** (-1 / ALPHA))``, a
   discrete Pareto. The parameters are assumptions, not measurements of Hive: tail exponents of
   0.5-0.65 (heavier than the 1-1.5 often reported for social sites) were chosen because they give
   ~3 badges an account on config/bot.yaml's ladders, as the issue asks. Badges are those the counts reached, recorded silently
   (``baseline``).
2. The app runs under uvicorn in its own process, ONE worker, with one more route: ``/static/{kind}``,
   the saved bytes of each page kind (the same size, the same middleware), the limit of this server.
3. A writer process commits batches into the store as the follower does (:meth:`Store.commit_batch`,
   with the checkpoint), ``--writes`` count increments a second in two batches a second.
4. A client process drives ``--clients`` keep-alive connections (asyncio, HTTP/1.1) for ``--seconds`` per
   kind, each kind then its static twin, after one second of warm-up, and keeps every latency.

Targets (issue 11): each page >= 0.3x its static file's throughput, p99 under 50 ms, the ranking page
around place 900,000 within 2x of the first (throughput and p50). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from bot.config import load_config
from bot.metrics import Metric
from bot.schema import MIGRATIONS
from bot.store import Checkpoint, Store
from bot.tallies import Tally

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "bot.yaml"
SEED = 11
ZERO = {"upvotes_received": 0.03, "upvotes_given": 0.05, "posts": 0.35, "comments": 0.2}
ALPHA = {"upvotes_received": 0.5, "upvotes_given": 0.5, "posts": 0.65, "comments": 0.6}
CAP = 2_000_000
DEEP = 900_000
METRIC = Metric.UPVOTES_RECEIVED
AT_SCHEMA_6 = tuple(Metric)[:4]
"""The counts a store at schema 6 has (later families' columns come with their migrations, at 0)."""
KINDS = ("board", "ranking_first", "ranking_deep", "api")
T0 = 1_750_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per kind")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--writes", type=int, default=300, help="count increments a second")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    return run(args)


# -- the store ------------------------------------------------------------------------------------
def names(count: int, rng: random.Random) -> list[str]:
    """Valid Hive names: a letter, then 2-11 letters and digits (3 % with a '-' inside); unique."""
    letters, tail = "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz0123456789"
    seen: set[str] = set()
    while len(seen) < count:
        body = "".join(rng.choices(tail, k=rng.randint(2, 11)))
        seen.add(rng.choice(letters) + (body if rng.random() > 0.03 else body[:1] + "-" + body[1:]))
    return sorted(seen)


def draw(metric: str, rng: random.Random) -> int:
    if rng.random() < ZERO[metric]:
        return 0
    return min(CAP, int((1.0 - rng.random()) ** (-1.0 / ALPHA[metric])))


def generate(path: Path, accounts: int) -> None:
    """The store at schema 6 filled by SQL, then opened once: migrations 7 and 8 build the indexes and the
    ranking tables from the counts (faster than keeping them row by row)."""
    rng = random.Random(SEED)
    ladders = load_config(CONFIG).badges
    rows = [(name, [draw(m.value, rng) for m in AT_SCHEMA_6]) for name in names(accounts, rng)]
    db = sqlite3.connect(path, isolation_level=None)
    for version in range(1, 7):
        db.executescript(MIGRATIONS[version])
    db.execute("BEGIN")
    db.executemany("INSERT INTO counts VALUES (?, ?, ?, ?, ?)", ((name, *ns) for name, ns in rows))
    db.executemany(
        "INSERT INTO badges (account, metric, threshold, block_num, block_time, silence) "
        "VALUES (?, ?, ?, 1, ?, 'baseline')",
        (
            (name, metric.value, threshold, T0)
            for name, ns in rows
            for metric, n in zip(AT_SCHEMA_6, ns, strict=True)
            for threshold in ladders[metric]
            if threshold <= n
        ),
    )
    db.execute("INSERT INTO checkpoint VALUES (1, 1, '01', ?)", (T0,))
    db.execute("PRAGMA user_version = 6")
    db.execute("COMMIT")
    db.close()
    Store.open(path).close()


def prepared_store(cache: Path, accounts: int, work: Path) -> Path:
    cache.mkdir(exist_ok=True)
    kept = cache / f"web-v2-seed{SEED}-{accounts}.sqlite"
    if not kept.exists():
        started = time.monotonic()
        generate(kept.with_suffix(".part"), accounts)
        kept.with_suffix(".part").rename(kept)
        print(f"generated the store in {time.monotonic() - started:.0f} s: {kept}")
    path = work / "bot.sqlite"
    shutil.copyfile(kept, path)
    return path


# -- the server (its own process) -----------------------------------------------------------------
def serve(path: Path, port: int) -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bot.app import open_web

    saved = path.parent / "saved"
    shipped = load_config(CONFIG)
    config = replace(shipped, store=path, account="badgebot", web=replace(shipped.web, max_lag=1e12))
    static: dict[str, tuple[bytes, str]] = {}

    async def static_file(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in static:  # read once, then served from memory, as a static file server's cache
            media = "application/json" if kind == "api" else "text/html; charset=utf-8"
            static[kind] = ((saved / kind).read_bytes(), media)
        body, media = static[kind]
        return Response(body, media_type=media)

    with open_web(config) as app:  # the app as `serve` builds it, plus the static twin of each page
        app.router.routes.insert(0, Route("/static/{kind}", static_file))
        uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)


# -- the writer (its own process) -----------------------------------------------------------------
def write(path: Path, writes: int, stop: Path) -> int:
    """Commit two batches a second of ``writes / 2`` increments on random accounts, as the follower does,
    until ``stop`` exists."""
    store = Store.open(path)
    accounts = [a for (a,) in store._db.execute("SELECT account FROM counts")][::97]
    rng, block, done = random.Random(SEED + 1), 2, 0
    while not stop.exists():
        started = time.monotonic()
        tally = Tally()
        for _ in range(writes // 2):
            tally.increments[(rng.choice(accounts), rng.choice(list(Metric)))] += 1
        store.commit_batch(tally, {}, Checkpoint(block, f"{block:08x}", T0 + 3 * block))
        block, done = block + 1, done + 1
        time.sleep(max(0.0, 0.5 - (time.monotonic() - started)))
    store.close()
    return done


# -- the clients (their own process) --------------------------------------------------------------
def drive(port: int, paths: list[str], clients: int, seconds: float) -> list[float]:
    return asyncio.run(_drive(port, paths, clients, seconds))


async def _drive(port: int, paths: list[str], clients: int, seconds: float) -> list[float]:
    start = time.perf_counter() + 1.0  # a second of warm-up, not measured
    end = start + seconds
    latencies: list[float] = []
    await asyncio.gather(
        *(
            _client(port, paths[i % len(paths) :] + paths[: i % len(paths)], start, end, latencies)
            for i in range(clients)
        )
    )
    return latencies


async def _client(port: int, paths: list[str], start: float, end: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    turn = 0
    while (began := time.perf_counter()) < end:
        path = paths[turn % len(paths)]
        turn += 1
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        if status != b"200":
            raise RuntimeError(f"{path}: HTTP {status.decode()}")
        if began >= start:
            latencies.append(time.perf_counter() - began)
    writer.close()


# -- the run ----------------------------------------------------------------------------------------
def kind_paths(kind: str, accounts: list[str]) -> list[str]:
    metric = METRIC.value
    return {
        "board": [f"/@{a}" for a in accounts],
        "ranking_first": [f"/ranking/{metric}"],
        "ranking_deep": [f"/ranking/{metric}?offset={DEEP}"],
        "api": [f"/api/v1/accounts/{a}" for a in accounts],
    }[kind]


def run(args: argparse.Namespace) -> int:
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"web-bench-{os.getpid()}"
    (work / "saved").mkdir(parents=True)
    try:
        return measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> int:
    path = prepared_store(args.cache, args.accounts, work)
    with Store.open_read_only(path) as store:
        total = store.load_ranked_total(METRIC)
        sample = [a for (a,) in store._db.execute("SELECT account FROM counts")][::1009]
        badges = store._db.execute("SELECT count(*) FROM badges").fetchone()[0]
    random.Random(SEED).shuffle(sample)
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(path), "--port", str(port)])
    try:
        _wait_for(port)
        for kind in KINDS:  # the static twin of each kind: one of its answers, saved
            (work / "saved" / kind).write_bytes(_get(port, kind_paths(kind, sample)[0]))
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as writer:
            batches = writer.submit(write, path, args.writes, work / "stop")
            try:
                results = drive_all(port, sample, args)
            finally:
                (work / "stop").touch()
            committed = batches.result()
    finally:
        server.terminate()
        server.wait()
    sizes = {kind: len((work / "saved" / kind).read_bytes()) for kind in KINDS}
    print(header(args, total, badges, committed))
    print(table(results, sizes, args.seconds))
    return 0


def drive_all(port: int, sample: list[str], args: argparse.Namespace) -> dict[str, list[float]]:
    """Each kind, then its static twin, from a client process of its own."""
    results: dict[str, list[float]] = {}
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        for kind in KINDS:
            for name, paths in ((kind, kind_paths(kind, sample)), (f"static_{kind}", [f"/static/{kind}"])):
                results[name] = pool.submit(drive, port, paths, args.clients, args.seconds).result()
                print(f"{name}: {len(results[name])} answers", file=sys.stderr, flush=True)
    return results


def header(args: argparse.Namespace, total: int, badges: int, committed: int) -> str:
    return (
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, load average "
        f"{os.getloadavg()[0]:.1f}\n"
        f"{args.accounts:,} accounts ({total:,} ranked by {METRIC.value}), {badges:,} badges; uvicorn, 1 worker; "
        f"{args.clients} clients, {args.seconds:g} s a kind; writer: {committed} batches committed "
        f"({args.writes} increments/s)\n"
    )


def table(results: dict[str, list[float]], sizes: dict[str, int], seconds: float) -> str:
    def rate(name: str) -> float:
        return len(results[name]) / seconds

    def quantile(name: str, q: int) -> float:
        return statistics.quantiles(results[name], n=100)[q - 1] * 1000

    lines = [
        f"{'kind':<14} {'bytes':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'static req/s':>12} "
        f"{'ratio':>6}  targets (>= 0.3x static, p99 < 50 ms)"
    ]
    for kind in KINDS:
        ratio = rate(kind) / rate(f"static_{kind}")
        met = f"{'met' if ratio >= 0.3 else 'NOT met'}, {'met' if quantile(kind, 99) < 50 else 'NOT met'}"
        lines.append(
            f"{kind:<14} {sizes[kind]:>7,} {rate(kind):>7.0f} {quantile(kind, 50):>7.1f} {quantile(kind, 99):>7.1f} "
            f"{rate(f'static_{kind}'):>12.0f} {ratio:>6.2f}  {met}"
        )
    for kind in KINDS:
        lines.append(
            f"{'static_' + kind:<14} {sizes[kind]:>7,} {rate('static_' + kind):>7.0f} "
            f"{quantile('static_' + kind, 50):>7.1f} {quantile('static_' + kind, 99):>7.1f}"
        )
    slower = rate("ranking_first") / rate("ranking_deep")
    p50 = quantile("ranking_deep", 50) / quantile("ranking_first", 50)
    verdict = "met" if slower <= 2 and p50 <= 2 else "NOT met"
    lines.append(
        f"deep ranking page (place {DEEP:,}) vs the first: {slower:.2f}x fewer req/s, {p50:.2f}x the p50: "
        f"within 2x {verdict}"
    )
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _get(port: int, path: str) -> bytes:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"{path}: HTTP {answer.status}")
    return body


if __name__ == "__main__":
    raise SystemExit(main())
