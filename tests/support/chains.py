"""Shared set-up for tests that run the bot against the devnet node: a generated chain and helpers."""

from __future__ import annotations

from pathlib import Path

from bot.badges import BadgeRules
from bot.chain import ChainClient
from bot.follower import Follower
from bot.metrics import Metric
from bot.store import Store
from bot.tallies import CountingRules
from devnet.generator import ChainGenerator

SEED = 11
FIRST = 50_000_000  # the first block the generated chain serves
GENESIS = 1_750_000_000  # its time
SEGMENT = 3_000  # blocks the bot counts in the recount tests: FIRST … FIRST + SEGMENT - 1
LAST = FIRST + SEGMENT - 1

Counts = dict[str, dict[Metric, int]]
BOT = "badge-bot"
BADGE_RULES = BadgeRules(
    ladders={metric: (5, 10, 50) for metric in Metric}, bot=BOT, max_crossing_age=10 * 86_400
)


def generated_chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, blocks=SEGMENT + 2_000)


def chain_client(*urls: str) -> ChainClient:
    return ChainClient(list(urls), timeout=10, max_backoff=1)


def follow(
    urls: list[str],
    store_path: Path,
    *,
    stop_at: int,
    start: int = FIRST,
    batch_size: int = 1000,
    rules: CountingRules | None = None,
) -> Counts:
    """Run the bot's follower until block ``stop_at`` is committed; return every account's counts."""
    with Store.open(store_path) as store:
        follower = Follower(
            chain_client(*urls),
            store,
            rules or CountingRules(),
            BADGE_RULES,
            batch_size=batch_size,
            start_block=start,
        )
        try:
            while follower.step(stop_at) is not None:
                pass
        finally:
            follower.close()
        return load_all_counts(store)


def load_all_counts(store: Store) -> Counts:
    counts: Counts = {}
    for metric in Metric:
        for account, value in store.load_ranking(metric, None):
            counts.setdefault(account, dict.fromkeys(Metric, 0))[metric] = value
    return counts
