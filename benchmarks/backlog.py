"""The backlog of a first day on mainnet: how soon each account has its baseline, old policy against new.

    .venv/bin/python benchmarks/backlog.py [--accounts 20000] [--seed 12] [--latency 0.25] [--arrival start|day]
        [--nodes N] [--calls-per-second R] [--in-flight K] [--sweep]

Two parts, in one run:

1. **Measured** on this machine: the baseline job (``bot.app.build_baseline_job``) reads the whole history of
   a sample of devnet accounts with deep histories (``benchmarks/_history_node.py``, a devnet node in its
   own process) into a fresh store, through an unbudgeted chain client (as ``benchmarks/baselines.py``: the
   job's own cost, not the node budget's waits), wrapped to time its history calls (HTTP + JSON) from
   outside. Per page: seconds end to end (fetch, parse, deduplicate, commit), entries; the bot's own share
   of a page (the committer's, one thread) is what the fetch does not take.
2. **Simulated** (a clock, no network): the whole population read under each policy with the measured costs,
   both with today's filter (vote, comment, delete_comment, effective_comment_vote: reading the effective
   operations alone was measured not to read less, README "Lifetime counts"). A call takes the local fetch
   time plus ``--latency``, a public node's answer to a filtered page of 1,000 (HAfAH on most public nodes
   today; no public figure found: an assumption, stated, and worth a second run at 1 s). Calls per account:
   the old job reads until the history's entry 0, which on mainnet is the account's creation, never
   matched: ``ceil(entries / page) + 1`` (the last call empty); the new one ends at a short page (hived counts
   only matching entries against a filtered call's limit): ``ceil(entries / page)``, plus one when entries
   is an exact multiple of the page (the last full page cannot tell).

   Old policy: one account at a time, in queue order, one call at a time to one node at 2 calls a second
   (the job before issue 12). New: ``bot.baseline_job.BaselineJob.run`` modelled — at most ``in_flight``
   pages under way (one per account), each waiting for a token of the node whose budget frees first (a
   bucket of one token per node, ``calls_per_second`` each), then taking the call's latency; pages
   committed one after another by one thread (the measured bot cost each); after each commit the free slots
   are filled by :func:`bot.backlog.choose`, with the estimate of each account's rest noisy (log-normal,
   σ 0.3) as the job's (from the density of the page just read). Accounts queued meanwhile join the backlog
   at its next load (every ``bot.baseline_job.REFRESH`` seconds). The defaults are the shipped ones: the
   budget and pages in flight from ``bot.config.HistorySettings``, the nodes from ``config/bot.yaml``.
   Choosing over the whole backlog after each of ~10⁶ commits would take the simulation hours, so it keeps
   the backlog in heaps and chooses as :func:`bot.backlog.choose` does (:class:`Backlog`); every
   :data:`CHECK_EVERY`-th choice is checked against :func:`bot.backlog.choose` itself over the whole backlog.

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
import itertools
import logging
import math
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import structlog
from _history_node import CONFIG, config_for, history_node, queue_baselines  # beside this file

from bot.app import build_baseline_job, chain_client
from bot.backlog import CRITICAL, GIANT_ENTRIES, GIANT_SHARE, Waiting, choose
from bot.baseline_job import REFRESH
from bot.config import HistorySettings, load_config
from bot.history import MAX_PAGE
from bot.store import Store

SAMPLE = (500, 3_000, 12_000, 40_000, 120_000)
"""Raw history lengths of the devnet sample accounts (all operation types)."""
OLD_CALLS_PER_SECOND = 2.0
DAY = 86_400
CHECK_EVERY = 2_000
"""Every this many choices, the simulation's choice is checked against :func:`bot.backlog.choose`."""
SWEEP_RATES = (1.0, 2.0, 3.0, 5.0)
SWEEP_IN_FLIGHT = (4, 8, 16)
MARGIN = (0.8, 1.1)
"""A sweep point meets the targets with a margin: 90 % within 0.8 of a fifth of the old policy's time, 100 %
within 1.1× the lower bound (half the target's slack)."""


@dataclass(frozen=True, slots=True)
class PageCost:
    fetch: float  # seconds a call takes to fetch and parse locally (HTTP + JSON)
    bot: float  # the bot's own seconds per page: deduplicate, count, commit (one thread)
    entries: float  # matching entries a page holds


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    entries: int  # matching entries, today's filter
    live: int  # live activity when queued
    arrival: float  # seconds after start when live counting meets it


@dataclass(frozen=True, slots=True)
class Policy:
    nodes: int
    calls_per_second: float  # per node
    in_flight: int

    @property
    def budget(self) -> float:
        return self.nodes * self.calls_per_second


@dataclass(frozen=True, slots=True)
class Outcome:
    done: list[float]  # each account's baseline done at (seconds)
    waits: list[float]  # each account's time from arrival to its baseline
    entries: int
    calls: int


def main() -> int:
    args = _arguments()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    shipped = _shipped()
    policy = Policy(
        args.nodes or shipped.nodes,
        args.calls_per_second or shipped.calls_per_second,
        args.in_flight or shipped.in_flight,
    )
    cost = measure(args.page_size)
    rng = random.Random(args.seed)
    population = [_account(n, rng, args) for n in range(args.accounts)]
    latency = cost.fetch + args.latency
    old = simulate_old(population, cost, latency, args.page_size)
    new = simulate_new(population, cost, latency, args.page_size, policy)
    _print_header(args, cost, population, latency, shipped, policy)
    _print_table(old, new, lower_bound(population, args.page_size, policy.budget), policy)
    if args.sweep:
        _print_sweep(population, cost, latency, args.page_size, shipped.nodes, old)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--nodes", type=int, help="history nodes (default: config/bot.yaml's)")
    parser.add_argument("--calls-per-second", type=float, help="the node budget, per node (default: shipped)")
    parser.add_argument("--in-flight", type=int, help="pages under way at once (default: shipped)")
    parser.add_argument(
        "--latency", type=float, default=0.25, help="a public node's answer to a page (s), assumed"
    )
    parser.add_argument("--median", type=float, default=5_000, help="median matching entries per account")
    parser.add_argument("--sigma", type=float, default=2.0, help="σ of the log-normal")
    parser.add_argument("--longest", type=int, default=5_000_000, help="the longest history (matching)")
    parser.add_argument("--arrival", choices=("start", "day"), default="start")
    parser.add_argument("--page-size", type=int, default=MAX_PAGE)
    parser.add_argument("--sweep", action="store_true", help="also the new policy over budgets and in_flight")
    return parser.parse_args()


def _shipped() -> Policy:
    """The shipped defaults: the budget and pages in flight of HistorySettings, the nodes of config/bot.yaml."""
    defaults = HistorySettings()
    return Policy(len(load_config(CONFIG).history_nodes), defaults.calls_per_second, defaults.in_flight)


# Part 1: measured.


def measure(page_size: int) -> PageCost:
    accounts = {f"deep{n}": entries for n, entries in enumerate(SAMPLE)}
    with history_node(accounts) as url:
        seconds, fetch_seconds, pages, entries = measure_job(url, list(accounts), page_size)
    return PageCost(
        fetch=fetch_seconds / pages, bot=(seconds - fetch_seconds) / pages, entries=entries / pages
    )


def measure_job(url: str, accounts: list[str], page_size: int) -> tuple[float, float, int, int]:
    """(seconds, fetch seconds, pages, matching entries): the baseline job reading ``accounts`` into a fresh
    store, one page (one call) at a time; fetch seconds are those its chain client spent (HTTP + JSON)."""
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "bot.sqlite") as store:
        queue_baselines(store, accounts)
        config = config_for(url, page_size)
        chain = _TimedChain(chain_client(config))  # the job's own cost: no node budget
        job = build_baseline_job(config, store, chain)  # type: ignore[arg-type]
        baselines, seconds, pages, entries = store.baselines, 0.0, 0, 0
        while (current := baselines.load_next()) is not None and (start := baselines.load_live_start()):
            began = time.perf_counter()
            page = job.commit(job.read(current, start, job.fetch_prices()))
            seconds, pages, entries = seconds + time.perf_counter() - began, pages + 1, entries + page.entries
        return seconds, chain.seconds, pages, entries


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


# Part 2: simulated.


def _account(n: int, rng: random.Random, args: argparse.Namespace) -> Account:
    entries = min(args.longest, max(20, round(rng.lognormvariate(math.log(args.median), args.sigma))))
    per_day = entries / (rng.uniform(1, 8) * 365)
    arrival = 0.0 if args.arrival == "start" else min(DAY, rng.expovariate(max(per_day, 1 / 30) / DAY))
    return Account(f"a{n:06d}", entries, max(0, round(per_day)), arrival)


def old_calls(entries: int, page_size: int) -> int:
    """Calls the old job makes: every page, then an empty one (entry 0, the account's creation, never matches)."""
    return math.ceil(entries / page_size) + 1


def new_calls(entries: int, page_size: int) -> int:
    """Calls the new job makes: a short page ends it; a last full page cannot tell, one empty call more."""
    return math.ceil(entries / page_size) + (entries % page_size == 0)


def simulate_old(population: Sequence[Account], cost: PageCost, latency: float, page_size: int) -> Outcome:
    """Before issue 12: one account at a time, queue order, one call every 1/2 s or as long as it takes."""
    period = max(1 / OLD_CALLS_PER_SECOND, latency + cost.bot)
    clock, done, waits = 0.0, [], []
    for account in sorted(population, key=lambda a: (a.arrival, a.name)):
        clock = max(clock, account.arrival) + old_calls(account.entries, page_size) * period
        done.append(clock)
        waits.append(clock - account.arrival)
    calls = sum(old_calls(a.entries, page_size) for a in population)
    return Outcome(done, waits, sum(a.entries for a in population), calls)


class Backlog:
    """The waiting baselines in heaps, choosing as :func:`bot.backlog.choose` does over the whole backlog (the
    oldest first, then giants longest first within their share of the slots, then probes by live activity,
    then shortest rest first) in O(log n) a choice. Entries of an account that has moved on are skipped."""

    def __init__(self) -> None:
        self.waiting: dict[str, Waiting] = {}
        self.in_flight: dict[str, Waiting] = {}
        self.total = 0  # entries left over waiting and in flight
        self._oldest: list[tuple[int, str]] = []
        self._probes: list[tuple[int, int, str]] = []
        self._shortest: list[tuple[int, int, int, str]] = []
        self._longest: list[tuple[int, int, str]] = []

    def add(self, item: Waiting) -> None:
        """``item`` joins the backlog: queued, or back after a page (see :meth:`finish`)."""
        if item.pages == 0:
            heapq.heappush(self._oldest, (item.queued, item.account))
        self.waiting[item.account] = item
        self.total += item.entries_left or 0
        if item.entries_left is None:
            heapq.heappush(self._probes, (-item.live, item.queued, item.account))
        else:
            heapq.heappush(self._shortest, (item.entries_left, -item.live, item.queued, item.account))
            heapq.heappush(self._longest, (-item.entries_left, item.queued, item.account))

    def start(self, item: Waiting) -> None:
        del self.waiting[item.account]
        self.in_flight[item.account] = item

    def finish(self, item: Waiting) -> None:
        """``item``'s page is committed: it leaves the backlog (done, or to be added again as it is now)."""
        del self.in_flight[item.account]
        self.total -= item.entries_left or 0

    def choose(self, free: int) -> list[Waiting]:
        if free <= 0 or not self.waiting:
            return []
        first = self._top(self._oldest, 1, lambda key: key[1], waiting_only=False)[0]
        floor = [first] if first.account in self.waiting else []
        slots = free + len(self.in_flight)
        critical = max(CRITICAL * self.total / max(1, slots), GIANT_ENTRIES)
        held = sum((item.entries_left or 0) >= critical for item in self.in_flight.values())
        giants_free = max(1, int(GIANT_SHARE * slots)) - held
        rest = self._top(self._probes, free + 1, lambda key: key[2])
        rest += self._top(self._shortest, free + 1 - len(rest), lambda key: key[3])
        giants = [] if giants_free <= 0 else self._top(self._longest, giants_free + 1, lambda key: key[2])
        giants = [g for g in giants if g.account != first.account and (g.entries_left or 0) >= critical]
        chosen = {item.account for item in giants[:giants_free]}
        rest = [item for item in rest if item.account != first.account][:free]
        others = [item for item in rest if item.account not in chosen]
        return (floor + giants[:giants_free] + others)[:free]

    def _top(self, heap: list[Any], count: int, account: Any, *, waiting_only: bool = True) -> list[Waiting]:
        """The first ``count`` current items of ``heap`` in its order (stale entries dropped on the way)."""
        taken: list[Any] = []
        while heap and len(taken) < count:
            key = heapq.heappop(heap)
            name = account(key)
            item = self.waiting.get(name) or (None if waiting_only else self.in_flight.get(name))
            if item is not None and self._current(heap, key, item):
                taken.append(key)
        for key in taken:
            heapq.heappush(heap, key)
        return [self.waiting.get(account(key)) or self.in_flight[account(key)] for key in taken]

    def _current(self, heap: list[Any], key: tuple[Any, ...], item: Waiting) -> bool:
        if heap is self._oldest:
            return True
        if heap is self._probes:
            return item.entries_left is None and key == (-item.live, item.queued, item.account)
        if item.entries_left is None:
            return False
        if heap is self._shortest:
            return key == (item.entries_left, -item.live, item.queued, item.account)
        return key == (-item.entries_left, item.queued, item.account)


def simulate_new(
    population: Sequence[Account], cost: PageCost, latency: float, page_size: int, policy: Policy
) -> Outcome:
    """The parallel job over the whole population (see the module docstring), event by event."""
    rng = random.Random(1)
    by_name = {a.name: a for a in population}
    calls_left = {a.name: new_calls(a.entries, page_size) for a in population}
    backlog, nodes = Backlog(), [0.0] * policy.nodes
    # (time, kind: 0 read, 1 committed, 2 loaded into the backlog; sequence, account)
    events: list[tuple[float, int, int, str]] = []
    order = itertools.count()
    for a in population:
        loaded = math.ceil(a.arrival / REFRESH) * REFRESH
        heapq.heappush(events, (loaded, 2, next(order), a.name))
    done: dict[str, float] = {}
    committer, choices, calls = 0.0, 0, 0
    while events:
        clock, kind, _, name = heapq.heappop(events)
        if kind == 0:
            committer = max(committer, clock) + cost.bot
            heapq.heappush(events, (committer, 1, next(order), name))
            continue
        if kind == 2:
            a = by_name[name]
            backlog.add(Waiting(name, round(a.arrival / 3), 0, None, a.live))
        else:
            item = backlog.in_flight[name]
            backlog.finish(item)
            calls_left[name] -= 1
            if calls_left[name] == 0:
                done[name] = clock
            else:
                backlog.add(_after_page(item, by_name[name].entries, page_size, rng))
        if events and events[0][0] == clock and events[0][1] == kind:
            continue  # fill once the simultaneous events are in
        free = policy.in_flight - len(backlog.in_flight)
        chosen = backlog.choose(free)
        choices += 1
        if choices % CHECK_EVERY == 0:
            _check(backlog, chosen, free)
        for item in chosen:
            backlog.start(item)
            node = min(range(len(nodes)), key=nodes.__getitem__)
            began = max(clock, nodes[node])
            nodes[node] = began + 1 / policy.calls_per_second
            heapq.heappush(events, (began + latency, 0, next(order), item.account))
            calls += 1
    waits = [done[a.name] - a.arrival for a in population]
    return Outcome(sorted(done.values()), waits, sum(a.entries for a in population), calls)


def _check(backlog: Backlog, chosen: list[Waiting], free: int) -> None:
    expected = choose(list(backlog.waiting.values()), list(backlog.in_flight.values()), free)
    if [item.account for item in expected] != [item.account for item in chosen]:
        raise AssertionError(f"the simulation chose {chosen[:4]}…, bot.backlog.choose {expected[:4]}…")


def _after_page(item: Waiting, entries: int, page_size: int, rng: random.Random) -> Waiting:
    """The account after one more page: its estimate of the rest, noisy as the job's."""
    rest = max(0, entries - (item.pages + 1) * page_size)
    estimate = round(rest * math.exp(rng.gauss(0, 0.3)))
    return replace(item, pages=item.pages + 1, entries_left=estimate)


def lower_bound(population: Sequence[Account], page_size: int, budget: float) -> float:
    """All calls the new policy must make ÷ the budget; with arrivals spread, also the last arrivals' own."""
    calls = sorted(((a.arrival, new_calls(a.entries, page_size)) for a in population), reverse=True)
    bound, after = 0.0, 0.0
    for arrival, needed in calls:
        after += needed
        bound = max(bound, arrival + after / budget)
    return bound


def _at(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def _print_header(
    args: argparse.Namespace,
    cost: PageCost,
    population: Sequence[Account],
    latency: float,
    shipped: Policy,
    policy: Policy,
) -> None:
    entries = sorted(a.entries for a in population)
    print(f"population (simulated): {len(population):,} accounts, seed {args.seed}, log-normal median "
          f"{args.median:,.0f} σ {args.sigma} clipped to [20, {args.longest:,}] matching entries; arrival {args.arrival}")  # fmt: skip
    print(f"  entries: median {_at(entries, 0.5):,.0f}  p90 {_at(entries, 0.9):,.0f}  p99 {_at(entries, 0.99):,.0f}"
          f"  longest {entries[-1]:,}  total {sum(entries):,}")  # fmt: skip
    print(
        f"measured on this machine (devnet, {len(SAMPLE)} accounts, {sum(SAMPLE):,} raw entries, unbudgeted client):"
    )
    print(f"  fetch + parse per call {cost.fetch * 1000:.1f} ms; bot per page {cost.bot * 1000:.1f} ms; "
          f"{cost.entries:,.0f} entries a page")  # fmt: skip
    print(f"simulated: a call {latency * 1000:.0f} ms ({cost.fetch * 1000:.0f} measured + {args.latency * 1000:.0f} "
          f"remote, assumed); both policies today's filter; calls per account: old ceil(entries/{args.page_size}) + 1 "
          f"(the last one empty: entry 0 never matches), new ceil(entries/{args.page_size}) (+1 on an exact multiple)")  # fmt: skip
    print(f"  old: 1 node × {OLD_CALLS_PER_SECOND:g} calls/s, one page at a time; new: {policy.nodes} nodes × "
          f"{policy.calls_per_second:g} calls/s each, {policy.in_flight} pages in flight (shipped: {shipped.nodes} × "
          f"{shipped.calls_per_second:g}, {shipped.in_flight})")  # fmt: skip


def _print_table(old: Outcome, new: Outcome, bound: float, policy: Policy) -> None:
    shares = (0.5, 0.9, 0.99, 1.0)
    print(f"{'policy':<8}{'50 %':>10}{'90 %':>10}{'99 %':>10}{'100 %':>10}  {'wait p50':>10}{'p90':>10}{'p99':>10}"
          f"{'entries':>14}{'calls':>10}")  # fmt: skip
    for name, outcome in (("old", old), ("new", new)):
        times = "".join(f"{_hours(_at(outcome.done, share)):>10}" for share in shares)
        waits = "".join(f"{_hours(_at(outcome.waits, share)):>10}" for share in (0.5, 0.9, 0.99))
        print(f"{name:<8}{times}  {waits}{outcome.entries:>14,}{outcome.calls:>10,}")
    print(f"lower bound (new calls {new.calls:,} ÷ {policy.budget:g} calls/s; with --arrival day, from each arrival on): "
          f"{_hours(bound)}")  # fmt: skip
    old90, new90, new100 = _at(old.done, 0.9), _at(new.done, 0.9), _at(new.done, 1.0)
    print(f"target: new 90 % ≤ old 90 % / 5: {_hours(new90)} vs {_hours(old90 / 5)} ({5 * new90 / old90:.2f} of it) — "
          f"{'met' if new90 <= old90 / 5 else 'NOT met'}")  # fmt: skip
    print(f"target: new 100 % ≤ 1.2 × lower bound: {_hours(new100)} vs {_hours(1.2 * bound)} ({new100 / bound:.2f}×) — "
          f"{'met' if new100 <= 1.2 * bound else 'NOT met'}")  # fmt: skip


def _print_sweep(
    population: Sequence[Account], cost: PageCost, latency: float, page_size: int, nodes: int, old: Outcome
) -> None:
    old90 = _at(old.done, 0.9)
    print(f"sweep: new policy over {nodes} nodes; a: new 90 % ÷ (old 90 % ÷ 5), target ≤ 1; b: new 100 % ÷ lower "
          f"bound, target ≤ 1.2; a margin: a ≤ {MARGIN[0]} and b ≤ {MARGIN[1]}")  # fmt: skip
    print(f"{'calls/s/node':>12}{'in_flight':>10}{'50 %':>10}{'90 %':>10}{'99 %':>10}{'100 %':>10}{'bound':>10}"
          f"{'a':>7}{'b':>7}  verdict")  # fmt: skip
    for rate, in_flight in _sweep_points():
        policy = Policy(nodes, rate, in_flight)
        new = simulate_new(population, cost, latency, page_size, policy)
        bound = lower_bound(population, page_size, policy.budget)
        a, b = _at(new.done, 0.9) / (old90 / 5), _at(new.done, 1.0) / bound
        verdict = "NOT met" if a > 1 or b > 1.2 else "margin" if a <= MARGIN[0] and b <= MARGIN[1] else "met"
        times = "".join(f"{_hours(_at(new.done, share)):>10}" for share in (0.5, 0.9, 0.99, 1.0))
        print(
            f"{rate:>12g}{in_flight:>10}{times}{_hours(bound):>10}{a:>7.2f}{b:>7.2f}  {verdict}", flush=True
        )


def _sweep_points() -> Iterator[tuple[float, int]]:
    return itertools.product(SWEEP_RATES, SWEEP_IN_FLIGHT)


if __name__ == "__main__":
    raise SystemExit(main())
