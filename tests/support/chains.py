"""Shared set-up for tests that run the bot against the devnet node: a generated chain and helpers."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.app import build_follower
from bot.chain import ChainClient
from bot.config import ChainSettings, Config, NotificationSettings
from bot.follower import Follower
from bot.location import Location
from bot.metrics import Metric
from bot.store import Store
from devnet.generator import ChainGenerator

SEED = 11
FIRST = 50_000_000  # the first block the generated chain serves
GENESIS = 1_750_000_000  # its time
SEGMENT = 3_000  # blocks the bot counts in the recount tests: FIRST … FIRST + SEGMENT - 1
LAST = FIRST + SEGMENT - 1

Counts = dict[str, dict[Metric, int]]
BOT = "badge-bot"
CHAIN = ChainSettings(request_timeout=10, max_backoff=1)
"""The tests' chain settings: a node on loopback answers at once, and a node set aside is soon asked again."""


LADDERS: dict[Metric, tuple[int, ...]] = {
    metric: (5, 10, 50) for metric in Metric if metric is not Metric.PAYOUT
}
WITH_PAYOUT: dict[Metric, tuple[int, ...]] = {**LADDERS, Metric.PAYOUT: (5, 10, 50)}


def generated_chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, blocks=SEGMENT + 2_000)


def chain_client(*urls: str) -> ChainClient:
    return ChainClient(list(urls), timeout=CHAIN.request_timeout, max_backoff=CHAIN.max_backoff)


def bot_config(urls: Sequence[str], store: Location, **changes: Any) -> Config:
    """The config of the bot the tests follow a generated chain with, as :func:`bot.config.load_config`
    would make it: counting from ``FIRST``, badges at 5, 10 and 50 HP or counts, no baselines, a dry run;
    ``changes`` replace fields. The payout family is off (:data:`LADDERS`; its reads are extra calls most
    tests do not count): a test that counts payouts gives :data:`WITH_PAYOUT`."""
    config = Config(
        path=(store.parent if isinstance(store, Path) else Path(tempfile.gettempdir())) / "bot.yaml",
        account=BOT,
        nodes=tuple(urls),
        posting_key_env="TEST_POSTING_KEY",
        store=store,
        start_block=FIRST,
        dry_run=True,
        badges=LADDERS,
        bootstrap="none",
        chain=CHAIN,
        notifications=NotificationSettings(max_crossing_age=10 * 86_400),
    )
    return dataclasses.replace(config, **changes)


def follow(
    urls: list[str],
    store_path: Location,
    *,
    stop_at: int,
    start: int = FIRST,
    batch_size: int = 1000,
    count_self_votes: bool = True,
    payout: bool = False,
) -> Counts:
    """Run the bot's follower until block ``stop_at`` is committed; return every account's counts
    (``payout``: with the payout family on)."""
    config = bot_config(
        urls,
        store_path,
        start_block=start,
        count_self_votes=count_self_votes,
        badges=WITH_PAYOUT if payout else LADDERS,
        chain=dataclasses.replace(CHAIN, batch_size=batch_size),
    )
    with Store.open(store_path) as store:
        return follow_with(build_follower(config, store), store, stop_at)


def follow_with(follower: Follower, store: Store, stop_at: int) -> Counts:
    """Run ``follower`` (on ``store``) until block ``stop_at`` is committed; return every account's counts."""
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
