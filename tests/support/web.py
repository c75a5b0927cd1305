"""The web app served for tests: uvicorn in a thread on a free port of 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.app import serve_web
from bot.config import Config
from bot.metrics import Metric
from bot.store import Store

CUSTOM_JSON_ID = "badges-opt"
"""The served config's ``notifications.custom_json_id`` (not the default: the board must tell the configured one)."""


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    config: Config

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lowercase names) and body of ``GET path``; error statuses are answers too."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as answer:
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def get_json(self, path: str) -> tuple[int, object]:
        status, _, body = self.get(path)
        return status, json.loads(body)


def serve(config: Config, clock: Callable[[], float] | None = None) -> Iterator[Served]:
    """Serve the app ``config`` describes on a free port of 127.0.0.1 in a thread, until closed."""
    with serve_web(config, clock=clock) as url:
        yield Served(url, config)


def with_badges(store: Store) -> str:
    """An account with badges, neither opted out nor muting nor reading its history (see :func:`config`)."""
    return store.load_ranking(Metric.UPVOTES_RECEIVED, 3)[2][0]


def stopped_posts_and_muting(store: Store) -> tuple[str, str]:
    """The account opted out of posts, and the one muting the bot (see :func:`config`)."""
    ranked = store.load_ranking(Metric.UPVOTES_RECEIVED, 5)
    return ranked[3][0], ranked[4][0]
