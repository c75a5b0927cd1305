"""The devnet node: :class:`~bot.devnet.api.NodeApi` behind an HTTP server on 127.0.0.1, in a thread.

    with DevNode(ChainGenerator(seed=1, first_block=..., genesis_time=...), head=...) as node:
        ...  # node.url is "http://127.0.0.1:<port>"; node.clock.set_head(n) moves the chain

The source is served through a :class:`~bot.devnet.ledger.Ledger` (``node.ledger``), so the node accepts
broadcast transactions into its next block; ``node.faults`` makes broadcasts fail or get lost.

HTTP/1.1 with keep-alive, one thread per connection; POST bodies are JSON-RPC. The constructor only assigns:
the socket is opened by :meth:`start` (or entering the ``with`` block).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.devnet.api import NodeApi
from bot.devnet.faults import AnswerLost, BroadcastFaults
from bot.devnet.head import HeadClock
from bot.devnet.history import DeepHistory
from bot.devnet.ledger import Ledger
from bot.devnet.source import ChainSource


class DevNode:
    def __init__(
        self,
        source: ChainSource,
        *,
        head: int | None = None,
        speed: float = 0.0,
        irreversible_lag: int = 1,
        port: int = 0,
        deep_histories: Mapping[str, DeepHistory] | None = None,
    ) -> None:
        """Serve ``source`` with the head at ``head`` (default: its last block), advancing at ``speed``.
        ``source`` is wrapped in a :class:`~bot.devnet.ledger.Ledger` unless it is one already.
        ``deep_histories`` gives accounts a long history before the first block (:mod:`bot.devnet.deep`)."""
        self.source = source
        self.ledger = source if isinstance(source, Ledger) else Ledger(source)
        self.clock = HeadClock(
            source.last_block if head is None else head,
            source.last_block,
            speed=speed,
            irreversible_lag=irreversible_lag,
        )
        self.faults = BroadcastFaults()
        self.api = NodeApi(self.ledger, self.clock, faults=self.faults, deep_histories=deep_histories)
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> deque[str]:
        """The method of every request served, in order (``"block_api.get_block"``; a batch adds each)."""
        return self.api.calls

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the node is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DevNode:
        node = self

        class Handler(_Handler):
            devnode = node

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        server = self._server  # polls for shutdown every 50 ms (the default 0.5 s made every stop slow)
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name="devnode", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (a keep-alive client must not go on talking to a
        stopped node, e.g. through a new node that got the same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> DevNode:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    """Remembers its open connections, so that stopping the node closes them."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            open_now, self._connections = list(self._connections), set()
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    devnode: DevNode
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, +40 ms a call

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        try:
            answer = self.devnode.api.handle(body)
        except AnswerLost:  # a fault: the work is done, the client never hears of it
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read :attr:`DevNode.requests` instead of an access log."""
