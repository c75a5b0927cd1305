"""Run a devnet node by hand:
``python -m devnet [--seed N] [--speed X] [--port P] [--account NAME …] [--fixture FILE]``.

It prints its URL, serves until interrupted, and is what a config's ``nodes`` can point at to watch the bot
work without a Hive node (``start_block: head`` follows the generated chain as it grows). ``--account``
adds an account that exists but never acts in generated blocks (the bot's own): its keys derive from
(name, role, ``devnet``), e.g. ``devnet.keys.private_key("badgebot", "posting", "devnet")``.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path

from devnet.generator import live_chain
from devnet.node import DevNode
from devnet.recorded import RecordedChain
from devnet.source import ChainSource


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devnet", description="A local Hive node emulator.")
    parser.add_argument("--seed", type=int, default=1, help="the generated chain (default 1)")
    parser.add_argument("--speed", type=float, default=1.0, help="chain seconds per second (default 1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: any free one)")
    parser.add_argument(
        "--account", action="append", default=[], metavar="NAME",
        help="an extra account that exists but never acts, e.g. the bot's (repeatable)",
    )  # fmt: skip
    parser.add_argument("--fixture", type=Path, help="serve recorded block JSON instead of a generated chain")
    args = parser.parse_args(argv)

    source: ChainSource
    head = None
    if args.fixture is not None:
        source = RecordedChain.from_file(args.fixture)
    else:
        source, head = live_chain(args.seed, time.time(), tuple(args.account))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with DevNode(source, head=head, speed=args.speed, port=args.port) as node:
        print(f"devnet node at {node.url} — head block {node.clock.head()}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
