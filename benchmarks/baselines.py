"""How fast the baseline job reads account history, and what memory it holds for a million-entry account.

    .venv/bin/python benchmarks/baselines.py [--entries 1000000] [--small 100000] [--page-size 1000]

A devnet node runs in its own process (``benchmarks/_history_node.py``) serving two accounts with deep
synthetic histories (votes, vote edits, votes on paid-out posts, comments, edits, deletes). In this process:

1. the limit: the small account's pages fetched over HTTP and parsed as JSON, nothing else;
2. the baseline job (``bot.baseline_job.BaselineJob``) reading the small account into a fresh store;
3. the job again on both accounts, under ``tracemalloc``, for the peak of Python memory it holds.

It prints entries a second for 1 and 2 and their ratio, and the memory peaks and their ratio: the memory
must not grow with the length of the history (the deduplication lives in the store, on disk).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

import requests
from _history_node import config_for, history_node, queue_baselines  # beside this file

from bot.app import build_baseline_job, chain_client
from bot.history import FILTER_HIGH, FILTER_LOW, next_request
from bot.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="the big account's history")
    parser.add_argument("--small", type=int, default=100_000, help="the small account's history")
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    with history_node({"big": args.entries, "small": args.small}) as url:
        raw = measure_raw(url, "small", args.page_size)
        job, _, _ = measure_job(url, ["small"], args.page_size, traced=False)
        _, small_peak, small_disk = measure_job(url, ["small"], args.page_size, traced=True)
        big_rate, big_peak, big_disk = measure_job(url, ["big"], args.page_size, traced=True)
    print(f"account history read, {args.small:,} and {args.entries:,} entries, pages of {args.page_size}")
    print(f"  limit (HTTP + JSON only)       {raw:>10,.0f} entries/s")
    print(f"  baseline job                   {job:>10,.0f} entries/s   ratio to the limit {job / raw:.2f}")
    print(f"  baseline job, traced, big       {big_rate:>10,.0f} entries/s")
    print(f"  Python memory peak, small      {small_peak / 1e6:>10.1f} MB")
    print(
        f"  Python memory peak, big        {big_peak / 1e6:>10.1f} MB   ratio big/small {big_peak / small_peak:.2f}"
    )
    print(f"  store on disk at most, small   {small_disk / 1e6:>10.1f} MB")
    print(f"  store on disk at most, big     {big_disk / 1e6:>10.1f} MB")
    return 0


def measure_raw(url: str, account: str, page_size: int) -> float:
    """Entries a second, fetching every page of ``account`` and parsing it, as the job asks for them."""
    session = requests.Session()
    entries, next_start, began = 0, None, time.perf_counter()
    while True:
        start, limit = next_request(next_start, page_size)
        params = {"account": account, "start": start, "limit": limit, "operation_filter_low": FILTER_LOW,
                  "operation_filter_high": FILTER_HIGH}  # fmt: skip
        body = {
            "jsonrpc": "2.0",
            "method": "account_history_api.get_account_history",
            "params": params,
            "id": 1,
        }
        history = json.loads(session.post(url, json=body, timeout=60).content)["result"]["history"]
        entries += len(history)
        if not history or history[0][0] == 0:
            return entries / (time.perf_counter() - began)
        next_start = history[0][0] - 1


def measure_job(url: str, accounts: list[str], page_size: int, *, traced: bool) -> tuple[float, int, int]:
    """(entries a second, Python memory peak in bytes, largest store size in bytes) reading ``accounts``."""
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "bot.sqlite") as store:
        queue_baselines(store, accounts)
        config = config_for(url, page_size)
        job = build_baseline_job(config, store, chain_client(config))  # the job's own cost: no node budget
        if traced:
            tracemalloc.start()
        entries, disk, began = 0, 0, time.perf_counter()
        while (report := job.step()) is not None:
            entries += report.entries
            disk = max(disk, store.load_summary()["bytes"])
        seconds = time.perf_counter() - began
        peak = 0
        if traced:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return entries / seconds, peak, disk


if __name__ == "__main__":
    raise SystemExit(main())
