"""A devnet node for benchmarks/baselines.py, run in its own process so the bot's memory is measured alone.

    python benchmarks/_history_node.py ACCOUNT=ENTRIES …

prints the node's URL on its first line and serves until its standard input closes.
"""

from __future__ import annotations

import sys

from devnet.deep import DeepHistory
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode

FIRST = 90_000_000
GENESIS = 1_750_000_000


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
