"""What an optional family's reads cost the bot's catch-up: the follower over the same blocks with the
family off and on, alternating, in one run, against a devnet node whose hot reads are served from a block
file (``devnet.quickread``) and whose virtual operations or accounts are computed before the clock starts,
so the bot is what is measured, not the emulator.

    PYTHONPATH=. .venv/bin/python benchmarks/families.py [--family payout|birthday] [--blocks 5000] [--rounds 2]

- ``payout``: each batch's ``enum_virtual_ops`` pages and the chain's figures; prints the payouts counted
  (~10 a block: the devnet pays ~1 author and ~9 curators a block, as mainnet's ~300,000 curation rewards a
  day);
- ``birthday``: the creation time of each account a batch counts for the first time
  (``database_api.find_accounts``, 1,000 a call), in the batch's own step.

Prints blocks a second each way, their ratio (on/off) and the calls added per 1000-block batch.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

import structlog

from bot.app import build_follower
from bot.metrics import Metric
from bot.store import Store
from devnet.blockfile import BlockFile
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.quickread import serve_blocks, serve_comment_lookups
from tests.support.chains import LADDERS, WITH_PAYOUT, bot_config

SEED, FIRST, GENESIS = 11, 50_000_000, 1_750_000_000
FIND_ACCOUNTS = "database_api.find_accounts"


def run(url: str, directory: Path, name: str, last: int, family: str, on: bool) -> tuple[float, int]:
    """Seconds to follow FIRST … last with ``family`` on or off, and the payouts counted."""
    path = directory / f"{name}.sqlite"
    if family == "payout":
        config = bot_config([url], path, badges=WITH_PAYOUT if on else LADDERS)
    else:
        config = bot_config([url], path, badges=LADDERS, birthday=on)
    with Store.open(path) as store:
        follower = build_follower(config, store)
        began, payouts = time.perf_counter(), 0
        while (report := follower.step(last)) is not None:
            payouts += report.payouts
        seconds = time.perf_counter() - began
        follower.close()
        paid = sum(value for _, value in store.load_ranking(Metric.PAYOUT, None))
        met = {account for account, _ in store.load_ranking(Metric.UPVOTES_GIVEN, None)}
        unborn = store.load_missing_births(met)
    assert (paid > 0) == (on and family == "payout")
    assert met and (not unborn) == (on and family == "birthday")  # each account met was asked, once
    return seconds, payouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["payout", "birthday"], default="payout")
    parser.add_argument("--blocks", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    last = FIRST + args.blocks - 1
    chain = ChainGenerator(SEED, FIRST, GENESIS, blocks=args.blocks + 10)
    cache = Path(__file__).resolve().parents[1] / ".cache" / "blocks"
    with (
        tempfile.TemporaryDirectory() as directory,
        DevNode(chain, head=last + 2, irreversible_lag=1) as node,
        BlockFile.cached(chain, FIRST, args.blocks, cache) as blocks,
    ):
        serve_blocks(node.api, blocks)
        serve_comment_lookups(node.api, chain)
        if args.family == "payout":
            node.api.virtual_ops.prepare(FIRST, last)
        else:  # each account's keys: ~4 ms the first time
            for start in range(0, len(chain.accounts), 1000):
                accounts = list(chain.accounts[start : start + 1000])
                node.api.dispatch(
                    {"jsonrpc": "2.0", "id": 1, "method": FIND_ACCOUNTS, "params": {"accounts": accounts}}
                )
        seconds: dict[bool, list[float]] = {False: [], True: []}
        calls: dict[bool, Counter[str]] = {}
        payouts = 0
        for round_ in range(args.rounds):
            for on in (False, True) if round_ % 2 == 0 else (True, False):
                node.requests.clear()
                spent, counted = run(node.url, Path(directory), f"{round_}-{on}", last, args.family, on)
                seconds[on].append(spent)
                calls[on] = Counter(node.requests)
                payouts = max(payouts, counted)
    batches = args.blocks / 1000
    for on in (False, True):
        rate = args.blocks / min(seconds[on])
        per_batch = sum(calls[on].values()) / batches
        print(f"{args.family} {'on ' if on else 'off'}: {rate:8,.0f} blocks/s (best of {args.rounds}), "
              f"{per_batch:.1f} calls a 1000-block batch")  # fmt: skip
    print(f"ratio on/off: {min(seconds[False]) / min(seconds[True]):.2f} of the speed")
    extra = calls[True] - calls[False]
    print(f"calls added a batch: {', '.join(f'{m} {n / batches:.1f}' for m, n in sorted(extra.items()))}")
    if args.family == "payout":
        print(f"payouts counted: {payouts:,} ({payouts / args.blocks:.1f} a block)")


if __name__ == "__main__":
    main()
