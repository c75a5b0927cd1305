"""How the post job's pacing holds when the head moves before a broadcast arrives: refusals and throughput.

    .venv/bin/python benchmarks/pacing.py [--blocks 300] [--late 0.3] [--late-blocks 1] [--seed 1]

A devnet node serves a generated chain; the bot follows it block by block for 200 blocks with posting off
(a backlog of due notifications builds up, low badge ladders), then follows and posts for ``--blocks``
blocks, the head moved one block at a time. At a fraction ``--late`` of those blocks, the first broadcast
reaches the node ``--late-blocks`` blocks late (``node.faults.late``: the head moves before the node takes
it), as when a transaction waits in a pool or the link is slow. Three ways to pace, each on a fresh node
and store, the same seed:

- ``head``: today's until this change: wait ``min_interval`` after the head read when the previous comment
  was sent;
- ``margin``: the same, plus one block (3 s) of margin;
- ``landed``: the bot's rule (:func:`bot.poster.may_comment`): wait until the chain has applied the previous
  comment (the account's ``last_post_edit``), then ``min_interval`` from that time.

Printed for each: broadcasts, those refused by the 3-second rule, comments on chain, and notifications
landed per chain minute (comments on chain / the posting window's chain minutes; the chain allows 20).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from dataclasses import replace
from pathlib import Path

import structlog
from structlog.testing import capture_logs

from bot.app import build_follower, chain_client
from bot.chain import ChainState, PostingKey
from bot.config import Config, NotificationSettings, load_config
from bot.metrics import Metric
from bot.poster import Outcome, Poster
from bot.store import Store
from devnet import keys
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode

BOT = "badge-bot"
FIRST = 60_000_000
GENESIS = 1_750_000_000
START = FIRST + 10 * 28_800
BACKLOG = 200  # blocks followed with posting off
LADDERS = {
    Metric.UPVOTES_RECEIVED: (5, 10, 25, 50, 75, 100, 150, 200),
    Metric.UPVOTES_GIVEN: (5, 10, 20, 40, 80),
    Metric.POSTS: (1, 2, 4),
    Metric.COMMENTS: (1, 2, 4, 8),
}
SETTINGS = NotificationSettings(per_account_interval=60, expiration=60)
REFUSED = "once every 3 seconds"


def _config_for(url: str) -> Config:
    """The shipped config as this benchmark runs the bot: its own account, ladders and pacing, ``url``."""
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "bot.yaml")
    return replace(
        config, account=BOT, nodes=(url,), start_block=START, dry_run=False, bootstrap="none",
        badges=LADDERS, count_self_votes=True, notifications=SETTINGS,
    )  # fmt: skip


class HeadPacedPoster(Poster):
    """Paced on the head read when the previous comment was sent (the step's ``min_interval`` check)."""

    def _previous_comment_landed(self, head: ChainState) -> bool:
        return True


class MarginPacedPoster(Poster):
    """As :class:`HeadPacedPoster`, one block later."""

    def _previous_comment_landed(self, head: ChainState) -> bool:
        last = self.store.outbox.load_last_sent_time()
        return last is None or head.time >= last + self.settings.min_interval + 3


POSTERS: dict[str, type[Poster]] = {"head": HeadPacedPoster, "margin": MarginPacedPoster, "landed": Poster}


def measure(chain: ChainGenerator, name: str, args: argparse.Namespace, directory: Path) -> dict[str, float]:
    rng = random.Random(args.seed)
    with (
        DevNode(chain, head=START, irreversible_lag=1) as node,
        Store.open(directory / f"{name}.sqlite") as store,
    ):
        config = _config_for(node.url)
        follower = build_follower(config, store)
        key = PostingKey(keys.private_key(BOT, "posting", "devnet"))
        # the poster variant under measure is built here; bot.app builds the bot's own (``landed``)
        poster = POSTERS[name](chain_client(config), store, SETTINGS, bot=BOT, ladders=LADDERS, key=key)
        for head in range(START + 1, START + BACKLOG + 1):
            node.clock.set_head(head)
            while follower.step() is not None:
                pass
        first, last = START + BACKLOG + 1, START + BACKLOG + args.blocks
        broadcasts = 0
        with capture_logs() as logs:
            for head in range(first, last + 1):
                if node.clock.head() >= head:
                    continue  # a late broadcast moved the head past this block already
                node.clock.set_head(head)
                node.faults.late.clear()
                if rng.random() < args.late:
                    node.faults.late.add(blocks=args.late_blocks)
                while follower.step() is not None:
                    pass
                while (report := poster.step()) is not None:
                    broadcasts += report.outcome not in (Outcome.DRY_RUN, Outcome.NO_POST, Outcome.PAUSED)
                    if report.outcome.ends_the_tick:
                        break
        refused = sum(REFUSED in str(entry.get("error", "")) for entry in logs)
        comments = [
            op["value"]["permlink"]
            for num in range(first, last + 2)
            for tx in (node.ledger.block(num) or {}).get("transactions", [])
            for op in tx["operations"]
            if op["type"] == "comment_operation" and op["value"]["author"] == BOT
        ]
        follower.close()
        poster.chain.close()
    minutes = args.blocks * 3 / 60
    return {
        "broadcasts": broadcasts,
        "refused": refused,
        "comments": len(comments),
        "edits": len(comments) - len(set(comments)),
        "per_minute": len(comments) / minutes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=300, help="blocks of the posting window")
    parser.add_argument(
        "--late", type=float, default=0.3, help="fraction of blocks whose first broadcast is late"
    )
    parser.add_argument("--late-blocks", type=int, default=1, help="how many blocks late")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())
    chain = ChainGenerator(21, FIRST, GENESIS, GeneratorParams(extra_accounts=(BOT,)), blocks=11 * 28_800)
    print(
        f"posting window {args.blocks} blocks; late: {args.late:.0%} of blocks, {args.late_blocks} block(s)"
    )
    print(
        f"{'pacing':8} {'broadcasts':>10} {'refused':>8} {'comments':>9} {'edits':>6} {'per chain minute':>17}"
    )
    with tempfile.TemporaryDirectory() as directory:
        for name in POSTERS:
            row = measure(chain, name, args, Path(directory))
            print(
                f"{name:8} {row['broadcasts']:>10.0f} {row['refused']:>8.0f} {row['comments']:>9.0f} "
                f"{row['edits']:>6.0f} {row['per_minute']:>17.2f}"
            )


if __name__ == "__main__":
    main()
