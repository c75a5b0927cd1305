"""The devnet without a socket: a transport that hands the bot's requests to devnet nodes' API in the same
process, for tests of the bot's failover that need neither a port nor a thread.

    nodes = {"http://a": DevNode(source), "http://b": DevNode(source)}   # never started
    chain = ChainClient(list(nodes), timeout=1, max_backoff=8, transport=InProcessTransport(nodes))
    nodes["http://a"].transport.down()                                     # the same faults as over HTTP

It fits the bot's ``bot.chain.transport.Transport`` protocol by its shape, without importing the bot (the
devnet is the bot's client's tool, never the other way round). Each node's faults (``node.transport``, see
:mod:`devnet.faults`) are played as the HTTP server plays them, except what only a socket can do: a
node down, a dropped connection and a hang raise ``ConnectionError`` at once (no time passes, as if the
bot's timeout had run out), and a proxy's batch limit is not applied. Latency is not slept either. The
HTTP server (:mod:`devnet.node`) stays what proves the bot's HTTP transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from devnet.faults import AnswerLost
from devnet.node import DevNode, fault_answer, request_methods


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


class InProcessTransport:
    """Answers a request to ``url`` through ``nodes[url].api``; a URL not in ``nodes`` refuses connections."""

    def __init__(self, nodes: Mapping[str, DevNode]) -> None:
        self.nodes = dict(nodes)

    def send(self, url: str, body: bytes) -> Response:
        node = self.nodes.get(url)
        if node is None or node.transport.is_down:
            if node is not None:
                node.transport.count_turned_away()
            raise ConnectionRefusedError(f"{url}: connection refused")
        faults = node.transport
        fault = faults.take(request_methods(body)) if faults.has_faults() else None
        if fault is not None and fault.kind != "truncate":
            faults.count_turned_away()
            failed = fault_answer(fault, body)
            if failed is None:
                raise ConnectionResetError(f"{url}: the connection was closed unanswered ({fault.kind})")
            status, content, _, headers = failed
            return Response(status.value, status.phrase, headers, content)
        try:
            answer = node.api.handle(body)
        except AnswerLost:  # the work is done, the client never hears of it
            raise ConnectionResetError(f"{url}: the connection was closed unanswered") from None
        answer = answer[: len(answer) // 2] if fault else answer
        answer = answer[: faults.body_limit] if faults.body_limit else answer
        return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, {}, answer)

    def drop(self, url: str) -> None:
        """Nothing to drop: no connection is kept."""

    def fork(self) -> InProcessTransport:
        """The same transport: it keeps no connection, and a node's API already answers the HTTP server's
        many threads."""
        return self
