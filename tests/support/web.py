"""The web app served for tests: uvicorn in a thread on a free port of 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from bot.app import open_web
from bot.config import Config
from bot.metrics import Metric
from bot.store import Store


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
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    with open_web(config, clock=clock) as app:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            yield Served(f"http://127.0.0.1:{port}", config)
        finally:
            server.should_exit = True
            thread.join(10)
            listener.close()


def with_badges(store: Store) -> str:
    """An account with badges, neither opted out nor reading its history (see :func:`config`)."""
    return store.load_ranking(Metric.UPVOTES_RECEIVED, 3)[2][0]
