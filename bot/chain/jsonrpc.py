"""JSON-RPC 2.0 over a :class:`~bot.chain.transport.Transport`, to one node: the request body, batches cut to
the size the node (its proxy) allows, and the answer read here — never by beem, which guesses an error from
any body text, takes any JSON for an answer, and turns error answers into its own exception classes.

What can go wrong is raised as one of the exceptions below, for the client to judge: an answer that is no
result (:class:`BadAnswer`), the node's JSON-RPC error (:class:`ErrorAnswer`), HTTP 429
(:class:`RateLimited`), HTTP 401 (:class:`Unauthorized`). Anything the transport raises (no answer) passes
through. A result comes back as the node's JSON bytes, undecoded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import structlog

from bot.chain.pool import Node
from bot.chain.transport import Transport
from bot.chain.verdicts import parse_batch_limit, parse_retry_after

log = structlog.get_logger("bot.chain")


class Batch(list[Any]):
    """Several params of one method, sent as one JSON-RPC batch request."""


def request(
    transport: Transport, node: Node, name: str, params: Mapping[str, Any] | list[Any]
) -> bytes | list[bytes]:
    """``name`` ("api.method") called with ``params`` on ``node``: the ``result`` as the node's bytes.
    ``params`` a :class:`Batch`: one request holding a call for each (as many requests as the node's batch
    limit needs), a list of results back."""
    if not isinstance(params, Batch):
        return _post(transport, node.url, name, [params], batch=False)[0]
    while True:
        size = node.health.batch_limit or len(params)
        chunks = [params[start : start + size] for start in range(0, len(params), size)]
        try:
            return [
                result
                for chunk in chunks
                for result in _post(transport, node.url, name, chunk, batch=size > 1)
            ]
        except BatchRefused as exc:
            limit = min(size - 1, exc.limit or 1) if size > 1 else 0
            if limit < 1:
                raise BadAnswer(f"batch refused: {exc}") from None
            node.health.batch_limit = limit
            log.warning("node_batch_limit", node=node.url, call=name, limit=limit, reason=str(exc))


def decode(result: bytes | list[bytes]) -> Any:
    return [decode(each) for each in result] if isinstance(result, list) else msgspec.json.decode(result)


def _post(transport: Transport, url: str, name: str, calls: Sequence[Any], *, batch: bool) -> list[bytes]:
    """One HTTP request: ``calls`` (the params of each) as a batch, or the one call alone."""
    request = [{"jsonrpc": "2.0", "method": name, "params": each, "id": n} for n, each in enumerate(calls)]
    body = json.dumps(request if batch else request[0], ensure_ascii=False).encode()
    response = transport.send(url, body)
    status = response.status
    if status == 401:
        raise Unauthorized("HTTP 401 Unauthorized")
    if status == 429:
        retry_after = response.headers.get("Retry-After")
        wait = parse_retry_after(retry_after, time.time())
        raise RateLimited(f"HTTP 429 {response.reason} (Retry-After: {retry_after})", wait)
    if batch and 400 <= status < 500:
        raise BatchRefused(f"HTTP {status} {response.reason}", None)
    if status != 200:
        raise BadAnswer(f"HTTP {status} {response.reason}")
    answers = _envelopes(response.content, len(calls), batch=batch)
    for answer in answers:
        if answer.error is not None:
            raise ErrorAnswer(answer.error)
    return [bytes(answer.result) for answer in answers if isinstance(answer.result, msgspec.Raw)]


class _Envelope(msgspec.Struct):
    result: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    error: Any = None
    id: int | str | None = None  # a batch's answers may come in any order


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_ENVELOPES = msgspec.json.Decoder(list[_Envelope] | _Envelope)


def _envelopes(content: bytes, count: int, *, batch: bool) -> list[_Envelope]:
    """The answers to ``count`` calls, in the order asked. A body that is not JSON-RPC (an HTML page, a
    body cut short, JSON that holds neither a result nor an error) is never taken for an answer; a single
    answer to a batch (jussi's "JSONRPC batch size of 60 exceeds 50", a proxy that takes no batches) is
    the batch refused."""
    try:
        decoded = _ENVELOPES.decode(content) if batch else _ENVELOPE.decode(content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadAnswer(f"the answer is not JSON-RPC ({exc})") from None
    if isinstance(decoded, _Envelope):
        if batch:
            error = decoded.error if isinstance(decoded.error, dict) else {}
            raise BatchRefused(str(error.get("message", "not a list")), parse_batch_limit(str(error)))
        answers = [decoded]
    else:
        by_id = {answer.id: answer for answer in decoded}
        answers = [by_id[n] for n in range(count) if n in by_id]
    if len(answers) != count:
        raise BadAnswer(f"{len(answers)} answers to {count} calls")
    for answer in answers:
        if answer.error is None and answer.result is msgspec.UNSET:
            raise BadAnswer("the answer is not JSON-RPC (neither a result nor an error)")
    return answers


class BadAnswer(Exception):
    """A node's answer that is not a result."""


class Unauthorized(Exception):
    """HTTP 401: the node refuses the bot itself."""


class ErrorAnswer(Exception):
    """A node's JSON-RPC error answer, as its error object says it."""

    def __init__(self, error: Any) -> None:
        fields = error if isinstance(error, dict) else {"message": str(error)}
        self.code = fields.get("code")
        self.message = str(fields.get("message", ""))
        self.data = fields.get("data")
        super().__init__(f"error answer: {first_line(Exception(self.message)) or 'no message'}")


class RateLimited(Exception):
    """HTTP 429: the node (its proxy) asks to be left alone for ``seconds`` (None: it did not say)."""

    def __init__(self, message: str, seconds: float | None) -> None:
        super().__init__(message)
        self.seconds = seconds


class BatchRefused(Exception):
    """A proxy refused a JSON-RPC batch; ``limit``: the size it allows, if it said."""

    def __init__(self, message: str, limit: int | None) -> None:
        super().__init__(message)
        self.limit = limit


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
