"""The devnet node: :class:`~devnet.api.NodeApi` behind an HTTP server on 127.0.0.1, in a thread.

    with DevNode(ChainGenerator(seed=1, first_block=..., genesis_time=...), head=...) as node:
        ...  # node.url is "http://127.0.0.1:<port>"; node.clock.set_head(n) moves the chain

The source is served through a :class:`~devnet.ledger.Ledger` (``node.ledger``), so the node accepts
broadcast transactions into its next block; ``node.faults`` makes broadcasts fail or get lost, and
``node.transport`` makes any request slow or fail in the HTTP layer: 5xx, JSON-RPC errors, truncated or
HTML answers, hangs, dropped connections, the node down (see :mod:`devnet.faults`).

HTTP/1.1 with keep-alive, one thread per connection; POST bodies are JSON-RPC. The constructor only assigns:
the socket is opened by :meth:`start` (or entering the ``with`` block).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devnet.api import NodeApi
from devnet.faults import AnswerLost, BroadcastFaults, TransportFault, TransportFaults
from devnet.head import HeadClock
from devnet.history import DeepHistory
from devnet.ledger import Ledger
from devnet.source import ChainSource


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
        effective_votes_before_hf24: bool = True,
    ) -> None:
        """Serve ``source`` with the head at ``head`` (default: its last block), advancing at ``speed``.
        ``source`` is wrapped in a :class:`~devnet.ledger.Ledger` unless it is one already.
        ``deep_histories`` gives accounts a long history before the first block (:mod:`devnet.deep`).
        Account history has ``effective_comment_vote`` in every era, as on a node replayed with today's
        hived; ``effective_votes_before_hf24=False`` models an old node, with none before hardfork 24."""
        self.source = source
        self.ledger = source if isinstance(source, Ledger) else Ledger(source)
        self.clock = HeadClock(
            source.last_block if head is None else head,
            source.last_block,
            speed=speed,
            irreversible_lag=irreversible_lag,
        )
        self.faults = BroadcastFaults()
        self.transport = TransportFaults()
        self.api = NodeApi(
            self.ledger,
            self.clock,
            faults=self.faults,
            deep_histories=deep_histories,
            effective_votes_before_hf24=effective_votes_before_hf24,
        )
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

        self._server = _Server(("127.0.0.1", self.port), Handler, self.transport)
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
        self.transport.let_go()
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
    """Remembers its open connections, so that stopping the node closes them; while the node is down, closes
    each connection as soon as it is accepted."""

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], transport: TransportFaults
    ) -> None:
        super().__init__(address, handler)
        self.transport = transport
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.transport.is_down:
            self.transport.count_turned_away()
            return False
        return True

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
        transport = self.devnode.transport
        if transport.is_down:
            transport.count_turned_away()
            self._close_unanswered()
            return
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if transport.latency > 0:
            time.sleep(transport.latency)
        fault = transport.take(request_methods(body)) if transport.has_faults() else None
        if fault is None and self._batch_refused(body):
            return
        if fault is None or fault.kind == "truncate":
            try:
                answer = self.devnode.api.handle(body)
            except AnswerLost:  # a fault: the work is done, the client never hears of it
                self._close_unanswered()
                return
            answer = answer[: len(answer) // 2] if fault else answer
            self._send(HTTPStatus.OK, answer[: transport.body_limit] if transport.body_limit else answer)
        else:
            self._fail(fault, body)

    def _batch_refused(self, body: bytes) -> bool:
        """Refuse a batch longer than the proxy's limit, as jussi does (``jussi/middlewares/limits.py``:
        HTTP 200, a single error, id null); with limit 0, any batch, with HTTP 400."""
        limit = self.devnode.transport.batch_limit
        if limit is None or not body.lstrip().startswith(b"["):
            return False
        size = len(request_methods(body))
        if size <= limit:
            return False
        self.devnode.transport.count_turned_away()
        if limit == 0:
            error = {"code": -32600, "message": "Invalid Request: batch requests are not supported"}
            self._send(
                HTTPStatus.BAD_REQUEST, json.dumps({"jsonrpc": "2.0", "error": error, "id": None}).encode()
            )
            return True
        message = f"JSONRPC batch size of {size} exceeds {limit}"
        error = {"code": 1600, "message": message, "data": {"error_id": "devnet", "jussi_request_id": None}}
        self._send(HTTPStatus.OK, json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode())
        return True

    def _fail(self, fault: TransportFault, body: bytes) -> None:
        """Answer (or not) as ``fault`` says, without handling the request."""
        self.devnode.transport.count_turned_away()
        answer = fault_answer(fault, body)
        if answer is not None:
            self._send(*answer)
        else:  # "hang": held, then closed; "disconnect": closed at once
            if fault.kind == "hang":
                self.devnode.transport.hold(fault.seconds)
            self._close_unanswered()

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a slow node)
            self.close_connection = True

    def _close_unanswered(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read :attr:`DevNode.requests` instead of an access log."""


def fault_answer(fault: TransportFault, body: bytes) -> tuple[HTTPStatus, bytes, str, dict[str, str]] | None:
    """What the node (its proxy) sends for ``fault`` instead of handling ``body``: status, body, content type
    and headers; ``None``: nothing, the connection is closed unanswered."""
    if fault.kind in ("http_error", "rate_limit"):
        status = HTTPStatus(fault.status)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return status, _error_page(status), "text/html", headers
    if fault.kind == "rpc_error":
        return HTTPStatus.OK, _rpc_error(body, fault.code, fault.message), "application/json", {}
    if fault.kind == "invalid":
        return HTTPStatus.OK, _MAINTENANCE_PAGE, "text/html", {}
    return None


_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Down for maintenance</title></head>"
    b"<body><h1>Down for maintenance</h1><p>We will be back soon.</p></body></html>\n"
)


def _error_page(status: HTTPStatus) -> bytes:
    """The page nginx sends for an HTTP error (its built-in ``ngx_http_special_response.c`` pages)."""
    title = f"{status.value} {status.phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def request_methods(body: bytes) -> list[str]:
    """The ``api.method`` of each request in ``body`` (a request in ``call`` form names its api and method)."""
    try:
        request = json.loads(body)
    except ValueError:
        return []
    names = []
    for item in request if isinstance(request, list) else [request]:
        if not isinstance(item, dict):
            continue
        method, params = item.get("method"), item.get("params")
        if method == "call" and isinstance(params, list) and len(params) >= 2:
            method = f"{params[0]}.{params[1]}"
        names.append(str(method))
    return names


def _rpc_error(body: bytes, code: int, message: str) -> bytes:
    """A JSON-RPC error answer to each request in ``body``."""
    try:
        request = json.loads(body)
    except ValueError:
        request = None
    items = request if isinstance(request, list) and request else [request]
    errors = [
        {
            "jsonrpc": "2.0",
            "error": {"code": code, "message": message},
            "id": item.get("id") if isinstance(item, dict) else None,
        }
        for item in items
    ]
    return json.dumps(errors if isinstance(request, list) else errors[0]).encode()
