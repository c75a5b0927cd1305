"""How a JSON-RPC request body reaches a node and its answer comes back: the :class:`Transport` protocol, and
:class:`HttpTransport`, over beem's RPC client (the only user of beem for reads).

A transport knows nothing of JSON-RPC, failover or health: it sends bytes to a URL and returns the HTTP
status, headers and body, or raises whatever went wrong on the way (no answer: a timeout, a connection
refused or dropped). Reading the answer, and deciding what a failure costs the node, is the client's work
(:mod:`bot.chain.jsonrpc`, :mod:`bot.chain.pool`). Like httpx's transports, another one can stand in for
HTTP: the devnet's in-process transport answers through the emulator's API without a socket, for tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from beemapi import exceptions as beem_errors
from beemapi.noderpc import NodeRPC


class Response(Protocol):
    """A node's answer, as the transport received it."""

    @property
    def status(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...  # a real one's names are case-insensitive
    @property
    def content(self) -> bytes: ...


class Transport(Protocol):
    """Sends one request body to a node; used by one thread at a time (see :meth:`fork`)."""

    def send(self, url: str, body: bytes) -> Response:
        """POST ``body`` (JSON) to ``url``; raises if no answer came."""
        ...

    def drop(self, url: str) -> None:
        """Forget the connection to ``url`` (a node that failed): the next request makes a new one."""
        ...

    def fork(self) -> Transport:
        """A transport to the same nodes with its own connections, for another thread."""
        ...


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


class HttpTransport:
    """Requests through beem's client (its session, headers and timeout), one per node, made on first use:
    no I/O in the constructor."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._rpcs: dict[str, NodeRPC] = {}

    def send(self, url: str, body: bytes) -> Response:
        try:
            response = self._rpc(url).request_send(body)
        except beem_errors.UnauthorizedError:  # beem raises it for HTTP 401 instead of returning the answer
            return HttpResponse(401, "Unauthorized", {}, b"")
        return HttpResponse(response.status_code, response.reason, response.headers, response.content)

    def drop(self, url: str) -> None:
        self._rpcs.pop(url, None)

    def fork(self) -> HttpTransport:
        return HttpTransport(self.timeout)

    def _rpc(self, url: str) -> NodeRPC:
        rpc = self._rpcs.get(url)
        if rpc is None:
            # no database_api.get_config at connection (beem's way to learn that the node speaks appbase:
            # every Hive node does), so that a call costs one request, and its failure is its own
            rpc = NodeRPC(
                url,
                num_retries=0,
                num_retries_call=0,
                timeout=self.timeout,
                autoconnect=False,
                disable_chain_detection=True,
            )
            rpc.rpcconnect()
            self._rpcs[url] = rpc
        return rpc
