"""A devnet node for the history benchmarks (baselines.py, backlog.py), run in its own process so the bot's
memory and time are measured alone; and how those benchmarks start it and point the bot at it.

    python benchmarks/_history_node.py ACCOUNT=ENTRIES …

prints the node's URL on its first line and serves until its standard input closes.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bot.config import Config, load_config
from bot.store import Checkpoint, Store
from bot.tallies import Tally
from devnet.deep import DeepHistory
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode

FIRST = 90_000_000
GENESIS = 1_750_000_000


CONFIG = Path(__file__).resolve().parents[1] / "config" / "bot.yaml"


@contextmanager
def history_node(accounts: Mapping[str, int]) -> Iterator[str]:
    """This script in a process of its own, serving ``accounts`` (name → history entries); yields its URL."""
    node = subprocess.Popen(
        [sys.executable, __file__, *(f"{name}={entries}" for name, entries in accounts.items())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None
        yield node.stdout.readline().strip()
    finally:
        node.communicate(timeout=60)


def config_for(url: str, page_size: int) -> Config:
    """The shipped config, with ``url`` as its only node and pages of ``page_size`` entries."""
    config = load_config(CONFIG)
    chain = replace(config.chain, request_timeout=60.0, max_backoff=1.0)
    history = replace(config.history, page_size=page_size, nodes=None)
    return replace(config, nodes=(url,), chain=chain, history=history)


def queue_baselines(store: Store, accounts: list[str]) -> None:
    """Start live counting on the node's head in ``store`` (a fresh one) and queue ``accounts``' baselines."""
    store.commit_batch(Tally(), {}, Checkpoint(FIRST + 100, "00", 0), with_baselines=True)
    store.baselines.requeue(accounts, FIRST + 100)


def main(argv: list[str]) -> int:
    wanted = dict(arg.split("=", 1) for arg in argv)
    params = GeneratorParams(extra_accounts=tuple(wanted))
    chain = ChainGenerator(7, FIRST, GENESIS, params, blocks=200)  # a short chain: only history matters here
    deep = {name: DeepHistory(entries=int(n), since=GENESIS - 4 * 365 * 86_400) for name, n in wanted.items()}
    with DevNode(chain, head=FIRST + 100, irreversible_lag=0, deep_histories=deep) as node:
        print(node.url, flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
