"""The web app over a store the real follower filled from the devnet, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Config, load_config
from bot.metrics import Metric
from bot.store import Store
from devnet.node import DevNode
from tests.support.chains import FIRST, LAST, bot_config, follow, generated_chain
from tests.support.configs import badges_yaml, write_config
from tests.support.web import CUSTOM_JSON_ID, Served, serve


@pytest.fixture(scope="package")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A config whose store the follower filled from the devnet's generated chain (blocks FIRST … LAST);
    by upvotes received: the first account opted out by the operator, the second with a baseline queued,
    the fourth opted out of posts by the operator, the fifth muting the bot (as a node answered)."""
    directory = tmp_path_factory.mktemp("web")
    with DevNode(generated_chain(), head=LAST + 1, irreversible_lag=1) as node:
        ladders = bot_config([node.url], directory / "unused.sqlite").badges  # the ones follow() counts by
        thresholds = badges_yaml(ladders)
        path = write_config(
            directory,
            [node.url],
            badges=thresholds,
            web={"max_lag": "10m"},
            notifications={"custom_json_id": CUSTOM_JSON_ID},
        )
        loaded = load_config(path)
        follow([node.url], loaded.store, stop_at=LAST, start=FIRST)
    with Store.open(loaded.store) as store:
        ranked = store.load_ranking(Metric.UPVOTES_RECEIVED, 5)
        store.outbox.add_optout(ranked[0][0])
        store.baselines.requeue([ranked[1][0]], LAST)
        store.outbox.add_optout(ranked[3][0], frozenset({Metric.POSTS}))
        store.outbox.remember_asked_mute(ranked[4][0], True)
    return loaded


@pytest.fixture(scope="package")
def served(config: Config) -> Iterator[Served]:
    yield from serve(config)


@pytest.fixture(scope="package")
def store(config: Config) -> Iterator[Store]:
    """The served store, read as the app reads it."""
    with Store.open_read_only(config.store) as opened:
        yield opened
