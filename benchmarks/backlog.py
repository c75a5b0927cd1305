"""The backlog of a first day on mainnet: how soon each account has its baseline, old policy against new.

    .venv/bin/python benchmarks/backlog.py [--accounts 20000] [--seed 12] [--nodes 3] [--calls-per-second 5]

Two parts, in one run:

1. **Measured** on this machine: the baseline job (``bot.app.build_baseline_job``) reads the whole history of
   a sample of devnet accounts with deep histories (``benchmarks/_history_node.py``, a devnet node in its
   own process) into a fresh store. Per page: seconds end to end (fetch, parse, deduplicate, commit),
   entries, calls; the job's chain client is wrapped to time its history calls (HTTP + JSON) from outside,
   so that the bot's own share of a page (the committer's, one thread) is the rest. The entries the new
   filter reads for each entry of today's (vote, comment, delete_comment, effective_comment_vote) are
   counted on the same histories: bot.history's filter if it differs from today's, else the candidate the
   issue names (comment, delete_comment, effective_comment_vote: no vote), said in the output.
2. **Simulated** (a clock, no network): the whole population read under each policy with the measured
   costs. A page takes the local fetch time plus ``--latency`` (a remote node's round trip, stated) per
   call; the bot's share of each page runs on one committer thread, one page after another; one page in
   flight per account. Old policy: today's — one account at a time, FIFO by queue order, its whole
   history, ``calls_per_second`` 2 from one node, today's filter. New: :func:`bot.backlog.choose` every
   ``--tick`` seconds over ``--nodes`` × ``--calls-per-second`` calls a second, the new filter.

The population (seeded, printed): matching entries per account (today's filter) drawn log-normal, median
``--median`` and σ ``--sigma``, clipped to [20, ``--longest``]. Public figures (dalz's chain statistics,
2022–2024, on hive.blog / leofinance.io): ~300,000 votes a day, 10–14k accounts voting a day, ~4–5k posting;
a top curator casts ~150 votes a day (@tipu, April 2020). A vote is two matching entries in the voter's
history (vote, effective_comment_vote) and two in the author's: ~1.2M matching entries a day over ~15k
accounts, ~80 a day each; over the years an active account has been on the chain that gives the mean
(~37,000) this median and σ give, and a curator at 150 votes a day for 6 years ~650,000. The shape
(log-normal) and σ are assumptions. Live activity (what live counting has counted of an account when it
is queued) is its matching entries per day over an assumed account age uniform in 1–8 years.
Arrival: ``--arrival start`` (default) queues every account at the start (the bot meets the day's active
accounts; the first hours queue most of them); ``--arrival day`` spreads each account's first live
sighting over the first day, exponentially at its live rate (the busiest are met first).
"""

from __future__ import annotations

import argparse
import heapq
import logging
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import structlog

from bot.app import build_baseline_job, chain_client
from bot.backlog import Waiting, choose
from bot.config import Config, load_config
from bot.history import FILTER_HIGH, FILTER_LOW, MAX_PAGE, next_request
from bot.store import Checkpoint, Store
from bot.tallies import Tally

ROOT = Path(__file__).resolve().parents[1]
FIRST = 90_000_000
CONFIG = ROOT / "config" / "bot.yaml"
OLD_FILTER = (1 << 0 | 1 << 1 | 1 << 17, 1 << (72 - 64))
"""Today's filter: vote, comment, delete_comment; effective_comment_vote."""
CANDIDATE_FILTER = (1 << 1 | 1 << 17, 1 << (72 - 64))
"""Without the new filter in this tree: comment, delete_comment; effective_comment_vote (no vote: the issue's idea)."""
SAMPLE = (500, 3_000, 12_000, 40_000, 120_000)
"""Raw history lengths of the devnet sample accounts (all operation types)."""
OLD_CALLS_PER_SECOND = 2.0
DAY = 86_400


@dataclass(frozen=True, slots=True)
class PageCost:
    fetch: float  # seconds a page takes to fetch and parse locally (HTTP + JSON), per call
    bot: float  # the bot's own seconds per page: deduplicate, count, commit (one thread)
    entries: float  # matching entries a page holds
    calls: float  # calls a page takes
    ratio: float  # entries the new filter reads per entry of today's
    ratio_measured: bool


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    entries: int  # matching entries, today's filter
    live: int  # live activity when queued
    arrival: float  # seconds after start when live counting meets it


@dataclass(frozen=True, slots=True)
class Outcome:
    done: list[float]  # each account's baseline done at (seconds)
    entries: int
    calls: int


def main() -> int:
    args = _arguments()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    cost = measure(args.page_size)
    rng = random.Random(args.seed)
    population = [_account(n, rng, args) for n in range(args.accounts)]
    budget = args.nodes * args.calls_per_second
    latency = cost.fetch + args.latency
    old = simulate_old(population, cost, latency, args.page_size)
    new = simulate_new(population, cost, latency, args.page_size, budget, args.tick)
    bound = lower_bound(population, cost, args.page_size, budget)
    _print(args, cost, population, old, new, bound)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--calls-per-second", type=float, default=5.0, help="the node budget, per node")
    parser.add_argument("--latency", type=float, default=0.25, help="a remote node's round trip (s), stated")
    parser.add_argument("--median", type=float, default=5_000, help="median matching entries per account")
    parser.add_argument("--sigma", type=float, default=2.0, help="σ of the log-normal")
    parser.add_argument("--longest", type=int, default=5_000_000, help="the longest history (matching)")
    parser.add_argument("--arrival", choices=("start", "day"), default="start")
    parser.add_argument("--tick", type=float, default=1.0, help="the new scheduler chooses every tick (s)")
    parser.add_argument("--page-size", type=int, default=MAX_PAGE)
    return parser.parse_args()


# Part 1: measured.


def measure(page_size: int) -> PageCost:
    accounts = {f"deep{n}": entries for n, entries in enumerate(SAMPLE)}
    node = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "_history_node.py"),
            *(f"{a}={n}" for a, n in accounts.items()),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None
        url = node.stdout.readline().strip()
        seconds, fetch_seconds, pages, entries, calls = measure_job(url, list(accounts), page_size)
        old_entries = measure_fetch(url, list(accounts), page_size, OLD_FILTER)
        measured = (FILTER_LOW, FILTER_HIGH) != OLD_FILTER
        new_filter = (FILTER_LOW, FILTER_HIGH) if measured else CANDIDATE_FILTER
        new_entries = measure_fetch(url, list(accounts), page_size, new_filter)
    finally:
        node.communicate(timeout=60)
    return PageCost(
        fetch=fetch_seconds / calls,
        bot=(seconds - fetch_seconds) / pages,
        entries=entries / pages,
        calls=calls / pages,
        ratio=new_entries / old_entries,
        ratio_measured=measured,
    )


def measure_job(url: str, accounts: list[str], page_size: int) -> tuple[float, float, int, int, int]:
    """(seconds, fetch seconds, pages, matching entries, calls): the baseline job reading ``accounts`` into a
    fresh store; fetch seconds are those its chain client spent fetching (HTTP + JSON)."""
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "bot.sqlite") as store:
        store.commit_batch(Tally(), {}, Checkpoint(FIRST + 100, "00", 0), with_baselines=True)
        store.baselines.requeue(accounts, FIRST + 100)
        chain = _TimedChain(build_baseline_job(_config_for(url, page_size), store).chain)
        job = build_baseline_job(_config_for(url, page_size), store, chain)  # type: ignore[arg-type]
        seconds, pages, entries, calls = 0.0, 0, 0, 0
        while (page := _one_page(job)) is not None:
            seconds, pages, entries, calls = seconds + page[0], pages + 1, entries + page[1], calls + page[2]
        return seconds, chain.seconds, pages, entries, calls


class _TimedChain:
    """The job's chain client, timing its history calls from outside: what a page spends on the network."""

    def __init__(self, chain: Any) -> None:
        self.chain, self.seconds = chain, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.chain, name)

    def fetch_account_history(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return self.chain.fetch_account_history(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began


def _one_page(job: Any) -> tuple[float, int, int] | None:
    """(seconds, entries, calls) of one page, timed from outside: read + commit where the job splits them
    (the FetchedPage counts its calls and entries), else step (one call a page)."""
    began = time.perf_counter()
    if not hasattr(job, "read"):
        report = job.step()
        return None if report is None else (time.perf_counter() - began, report.entries, 1)
    baselines = job.store.baselines
    current, live_start = baselines.load_next(), baselines.load_live_start()
    if current is None or live_start is None:
        return None
    page = job.read(current, live_start)
    job.commit(page)
    return time.perf_counter() - began, page.entries, page.calls


def measure_fetch(url: str, accounts: list[str], page_size: int, filters: tuple[int, int]) -> int:
    """The entries of every page of ``accounts`` under ``filters``, read with the bot's chain client."""
    chain = chain_client(_config_for(url, page_size))
    entries = 0
    for account in accounts:
        next_start: int | None = None
        while True:
            start, limit = next_request(next_start, page_size)
            history = chain.fetch_account_history(
                account, start, limit, filter_low=filters[0], filter_high=filters[1]
            )
            entries += len(history)
            if not history or history[0][0] == 0:
                break
            next_start = history[0][0] - 1
    return entries


def _config_for(url: str, page_size: int) -> Config:
    config = load_config(CONFIG)
    chain = replace(config.chain, request_timeout=60.0, max_backoff=1.0)
    return replace(config, nodes=(url,), chain=chain, history=replace(config.history, page_size=page_size))


# Part 2: simulated.


def _account(n: int, rng: random.Random, args: argparse.Namespace) -> Account:
    entries = min(args.longest, max(20, round(rng.lognormvariate(math.log(args.median), args.sigma))))
    per_day = entries / (rng.uniform(1, 8) * 365)
    arrival = 0.0 if args.arrival == "start" else min(DAY, rng.expovariate(max(per_day, 1 / 30) / DAY))
    return Account(f"a{n:06d}", entries, max(0, round(per_day)), arrival)


def pages_of(entries: int, page_size: int) -> int:
    return max(1, math.ceil(entries / page_size))


def simulate_old(population: Sequence[Account], cost: PageCost, latency: float, page_size: int) -> Outcome:
    """Today: one account at a time, queue order, one page (one call) every 1/2 s or as long as it takes."""
    period = max(1 / OLD_CALLS_PER_SECOND, latency + cost.bot)
    clock, done = 0.0, []
    for account in sorted(population, key=lambda a: (a.arrival, a.name)):
        clock = max(clock, account.arrival) + pages_of(account.entries, page_size) * period
        done.append(clock)
    pages = sum(pages_of(a.entries, page_size) for a in population)
    return Outcome(done, sum(a.entries for a in population), pages)


def new_entries(account: Account, cost: PageCost) -> int:
    return round(account.entries * cost.ratio)


def simulate_new(
    population: Sequence[Account], cost: PageCost, latency: float, page_size: int, budget: float, tick: float
) -> Outcome:
    """bot.backlog.choose every ``tick`` over the budget; one committer thread; estimates with noise."""
    rng = random.Random(1)
    left = {a.name: new_entries(a, cost) for a in population}
    arrivals = sorted(population, key=lambda a: (a.arrival, a.name))
    page_seconds, pages_a_second = latency * cost.calls, budget / cost.calls
    waiting: dict[str, Waiting] = {}
    in_flight: dict[str, Waiting] = {}
    reads: list[tuple[float, str]] = []  # (read done, account)
    freed: list[tuple[float, str, Waiting | None]] = []  # (committed, account, next state or None: done)
    done: list[float] = []
    clock, tokens, committer, arrived, calls = 0.0, 0.0, 0.0, 0, 0
    while len(done) < len(population):
        while arrived < len(arrivals) and arrivals[arrived].arrival <= clock:
            a = arrivals[arrived]
            waiting[a.name] = Waiting(a.name, round(a.arrival / 3), 0, None, a.live)
            arrived += 1
        while reads and reads[0][0] <= clock:
            read_done, name = heapq.heappop(reads)
            committer = max(committer, read_done) + cost.bot
            heapq.heappush(freed, (committer, name, _after_page(in_flight[name], left, page_size, rng)))
        while freed and freed[0][0] <= clock:
            committed, name, after = heapq.heappop(freed)
            del in_flight[name]
            if after is None:
                done.append(committed)
            else:
                waiting[name] = after
        tokens = min(tokens + pages_a_second * tick, 2 * pages_a_second * tick)
        chosen = choose(list(waiting.values()), list(in_flight.values()), int(tokens))
        for n, item in enumerate(chosen):
            del waiting[item.account]
            in_flight[item.account] = item
            heapq.heappush(reads, (clock + n / pages_a_second + page_seconds, item.account))
        tokens -= len(chosen)
        calls += len(chosen)
        clock += tick
        if not waiting and not in_flight and arrived < len(arrivals):
            clock = max(clock, arrivals[arrived].arrival)
    return Outcome(sorted(done), sum(new_entries(a, cost) for a in population), round(calls * cost.calls))


def _after_page(item: Waiting, left: dict[str, int], page_size: int, rng: random.Random) -> Waiting | None:
    """The account after one more page: ``None`` when its history is read; else its noisy estimate."""
    left[item.account] = max(0, left[item.account] - page_size)
    rest = left[item.account]
    if rest == 0:
        return None
    estimate = round(rest * math.exp(rng.gauss(0, 0.3)))
    return replace(item, pages=item.pages + 1, entries_left=estimate)


def lower_bound(population: Sequence[Account], cost: PageCost, page_size: int, budget: float) -> float:
    """All calls the new policy must make ÷ the budget; with arrivals spread, also the last arrivals' own."""
    calls = sorted(
        ((a.arrival, pages_of(new_entries(a, cost), page_size) * cost.calls) for a in population),
        reverse=True,
    )
    bound, after = 0.0, 0.0
    for arrival, needed in calls:
        after += needed
        bound = max(bound, arrival + after / budget)
    return bound


def _at(done: Sequence[float], share: float) -> float:
    ordered = sorted(done)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:>9.2f} h"


def _print(
    args: argparse.Namespace,
    cost: PageCost,
    population: Sequence[Account],
    old: Outcome,
    new: Outcome,
    bound: float,
) -> None:
    entries = sorted(a.entries for a in population)
    budget = args.nodes * args.calls_per_second
    print(f"population (simulated): {len(population):,} accounts, seed {args.seed}, log-normal median "
          f"{args.median:,.0f} σ {args.sigma} clipped to [20, {args.longest:,}] matching entries; arrival {args.arrival}")  # fmt: skip
    print(f"  entries: median {_at(entries, 0.5):,.0f}  p90 {_at(entries, 0.9):,.0f}  p99 {_at(entries, 0.99):,.0f}"
          f"  longest {entries[-1]:,}  total {sum(entries):,}")  # fmt: skip
    ratio_source = (
        "bot.history's filter"
        if cost.ratio_measured
        else "NOT in this tree: the candidate filter without vote"
    )
    print(f"measured on this machine (devnet, {len(SAMPLE)} accounts, {sum(SAMPLE):,} raw entries):")
    print(f"  fetch + parse per call {cost.fetch * 1000:.1f} ms; bot per page {cost.bot * 1000:.1f} ms; "
          f"{cost.entries:,.0f} entries and {cost.calls:.2f} calls a page")  # fmt: skip
    print(
        f"  new filter reads {cost.ratio:.3f} entries per entry of today's filter on devnet histories ({ratio_source})"
    )
    print(f"simulated: page latency {cost.fetch * 1000:.0f} ms local + {args.latency * 1000:.0f} ms remote a call; "
          f"old 2 calls/s from 1 node; new {args.nodes} nodes × {args.calls_per_second:g} calls/s, tick {args.tick:g} s")  # fmt: skip
    print(f"{'policy':<8}{'50 %':>12}{'90 %':>12}{'99 %':>12}{'100 %':>12}{'entries':>16}{'calls':>12}")
    for name, outcome in (("old", old), ("new", new)):
        times = "".join(f"{_hours(_at(outcome.done, share)):>12}" for share in (0.5, 0.9, 0.99, 1.0))
        print(f"{name:<8}{times}{outcome.entries:>16,}{outcome.calls:>12,}")
    print(
        f"lower bound (new calls {new.calls:,} ÷ {budget:g} calls/s; with --arrival day, from each arrival on): {_hours(bound)}"
    )
    old90, new90, new100 = _at(old.done, 0.9), _at(new.done, 0.9), _at(new.done, 1.0)
    print(f"target: new 90 % ≤ old 90 % / 5: {new90 / 3600:.2f} h vs {old90 / 5 / 3600:.2f} h — "
          f"{'met' if new90 <= old90 / 5 else 'NOT met'}")  # fmt: skip
    print(f"target: new 100 % ≤ 1.2 × lower bound: {new100 / 3600:.2f} h vs {1.2 * bound / 3600:.2f} h "
          f"({new100 / bound:.2f}×) — {'met' if new100 <= 1.2 * bound else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
