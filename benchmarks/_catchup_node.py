"""A devnet node for benchmarks/catchup.py, run in its own process so the bot's memory and CPU are measured alone.

    python benchmarks/_catchup_node.py BLOCKS CACHE_DIR

serves a generated chain whose blocks ``START`` … ``START + BLOCKS - 1`` come from a block file
(:mod:`devnet.blockfile`, generated into ``CACHE_DIR`` on first use), with the head one block past them
and the irreversible block one behind the head: the last of them. It prints the node's URL on its first line, then answers commands, one
a line on its standard input, each with one line, until its standard input closes:

- ``latency SECONDS``: wait this long before handling each HTTP request (a remote node:
  ``node.transport.latency``);
- ``head N``: move the head to block ``N`` (blocks past the file are generated on the fly);
- ``requests``: the requests served since the last ``requests`` (each request of a batch counted), and the
  node's CPU seconds meanwhile, as JSON ``{"methods": {"api.method": n, …}, "cpu": s}``.
"""

from __future__ import annotations

import json
import resource
import sys
from collections import Counter
from pathlib import Path

from devnet.blockfile import BlockFile
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.quickread import serve_blocks, serve_comment_lookups

FIRST = 90_000_000  # the generated chain's first block (LIVE_FIRST_BLOCK)
GENESIS = 1_750_000_000  # its time
START = FIRST + 10 * 28_800  # the first block served from the file: every vote lane reaches back from here
BEYOND = 1_000  # blocks the chain has past the file, for following the head


def main(argv: list[str]) -> int:
    blocks, cache = int(argv[0]), Path(argv[1])
    chain = ChainGenerator(7, FIRST, GENESIS, blocks=START - FIRST + blocks + BEYOND)
    with (
        BlockFile.cached(chain, START, blocks, cache, progress=_tell) as served,
        DevNode(chain, head=START + blocks, irreversible_lag=1) as node,
    ):
        serve_blocks(node.api, served)
        serve_comment_lookups(node.api, chain)
        print(node.url, flush=True)
        cpu = _cpu()
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "latency":
                node.transport.latency = float(argument)
                print("ok", flush=True)
            elif command == "head":
                node.clock.set_head(int(argument))
                print("ok", flush=True)
            elif command == "requests":
                methods = Counter(node.api.calls)
                node.api.calls.clear()
                spent, cpu = _cpu() - cpu, _cpu()
                print(json.dumps({"methods": methods, "cpu": spent}), flush=True)
            else:
                print(f"unknown command {command!r}", flush=True)
    return 0


def _tell(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
