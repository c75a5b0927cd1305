"""The conformance corpus: real node answers (``tests/fixtures/conformance/``), a shape comparator, and a
JSON-RPC server on 127.0.0.1 that replays recorded answers.

Each corpus file holds one request (``method``, ``params``), the node's ``result`` or ``error``, and where
it comes from (``source``: repository, commit, path). Its answer is a real node's, copied without editing a
value; a big answer is trimmed to whole objects, and the file says so (``trimmed``).

The shape of a JSON value is what a parser depends on: which keys, how nested, and the kind of each value —
``int``, ``float``, ``bool``, ``null``, a ``timestamp`` string (``YYYY-MM-DDTHH:MM:SS``), an ``asset``
string (``"0.001 HBD"``, condenser_api's format; database_api's NAI objects ``{"amount", "precision",
"nai"}`` are dicts, compared key by key), a ``digits`` string (hived writes integers beyond 2^53 as
strings), or another ``str``. :func:`shape_differences` lists where two values differ, as readable paths.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.paths import FIXTURES

CORPUS = FIXTURES / "conformance"

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_ASSET = re.compile(r"-?\d+\.\d+ (HIVE|HBD|VESTS|STEEM|SBD)")
_DIGITS = re.compile(r"-?\d+")
_SAFE_INTEGER = 2**53 - 1
FREE_FORM = frozenset({"json_metadata"})
"""Keys whose value is the user's own JSON: only its kind is compared."""


@dataclass(frozen=True)
class Answer:
    """One real answer of the corpus."""

    name: str
    method: str
    params: Any
    result: Any
    error: Mapping[str, Any] | None
    source: Mapping[str, Any]

    @property
    def reply(self) -> dict[str, Any]:
        """The answer as a JSON-RPC response body (without its id)."""
        key = "error" if self.error is not None else "result"
        return {"jsonrpc": "2.0", key: self.error if self.error is not None else self.result}


def load(name: str) -> Answer:
    data = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    request = data["request"]
    return Answer(name, request["method"], request["params"], data.get("result"), data.get("error"),
                  data["source"])  # fmt: skip


def names() -> list[str]:
    return sorted(path.stem for path in CORPUS.glob("*.json"))


# -- shapes ---------------------------------------------------------------------------------------------------
def kind(value: Any) -> str:
    """The kind of a JSON value (see the module docstring)."""
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        for name, pattern in (("timestamp", _TIMESTAMP), ("asset", _ASSET), ("digits", _DIGITS)):
            if pattern.fullmatch(value):
                return name
        return "str"
    return "dict" if isinstance(value, dict) else "list"


def shape_differences(
    real: Any, ours: Any, path: str = "result", omitted: frozenset[str] = frozenset()
) -> list[str]:
    """Where ``ours`` differs in shape from ``real``: ``"result.comments[0].created: timestamp vs int"``,
    ``"result.comments[0].body: missing"``, ``"result.x: not in the real answer"``. ``omitted``: keys
    (bare names) ours may leave out, ``"*"`` for any.

    A list is compared item by item against the real item of the same kind: an operation
    (``{"type", "value"}`` or ``["vote", {...}]``) against a real operation of its type (none: not compared
    further); a list whose real items have mixed kinds (``[index, entry]``, ``[key, weight]``) is a tuple,
    compared place by place; any other list against its first real item. An empty list on either side says
    nothing of its items."""
    real_kind, our_kind = kind(real), kind(ours)
    if real_kind != our_kind and not _same_integer_kind(real, ours):
        return [f"{path}: {real_kind} vs {our_kind}"]
    if path.rsplit(".", 1)[-1] in FREE_FORM:
        return []
    if isinstance(real, dict):
        return list(_dict_differences(real, ours, path, omitted))
    if isinstance(real, list):
        return list(_list_differences(real, ours, path, omitted))
    return []


def _same_integer_kind(real: Any, ours: Any) -> bool:
    """hived writes an integer as a number up to 2^53 - 1 and as a string beyond: a number in one answer
    and a string in the other are the same kind if each is written as its size says."""
    numbers = [v for v in (real, ours) if kind(v) == "int"]
    strings = [v for v in (real, ours) if kind(v) == "digits"]
    return len(numbers) == len(strings) == 1 and abs(int(strings[0])) > _SAFE_INTEGER >= abs(numbers[0])


def _dict_differences(
    real: dict[str, Any], ours: dict[str, Any], path: str, omitted: frozenset[str]
) -> Iterator[str]:
    for key in sorted(real.keys() | ours.keys()):
        where = f"{path}.{key}"
        if key not in ours:
            if key not in omitted and "*" not in omitted:
                yield f"{where}: missing"
        elif key not in real:
            yield f"{where}: not in the real answer"
        else:
            yield from shape_differences(real[key], ours[key], where, omitted)


def _list_differences(real: list[Any], ours: list[Any], path: str, omitted: frozenset[str]) -> Iterator[str]:
    if not real or not ours:
        return
    if len({kind(item) for item in real}) > 1:  # a tuple
        if len(real) != len(ours):
            yield f"{path}: {len(real)} items vs {len(ours)}"
            return
        for place, (mine, theirs) in enumerate(zip(ours, real, strict=True)):
            yield from shape_differences(theirs, mine, f"{path}[{place}]", omitted)
        return
    by_type = {_operation_type(item): item for item in reversed(real)}
    for place, item in enumerate(ours):
        kind_of_op = _operation_type(item)
        if kind_of_op is not None and kind_of_op not in by_type:
            continue  # an operation type the real answer does not show
        yield from shape_differences(by_type.get(kind_of_op, real[0]), item, f"{path}[{place}]", omitted)


def _operation_type(item: Any) -> str | None:
    """The type of an operation, or of the operation in a history entry (``[index, {"op": ...}]``, or an
    ``enum_virtual_ops`` entry ``{"op": ...}``)."""
    if isinstance(item, dict) and item.keys() == {"type", "value"} and isinstance(item["type"], str):
        return item["type"]
    if isinstance(item, dict) and isinstance(item.get("op"), dict):
        return _operation_type(item["op"])
    if isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict):
        return item[0] if isinstance(item[0], str) else _operation_type(item[1].get("op"))
    return None


def message_template(message: str, params: Any) -> str:
    """An error message with the request's own values (account names, permlinks, numbers) replaced by
    ``{}``, so that the words of two answers to different requests can be compared."""
    values = sorted({str(v) for v in _scalars(params) if str(v)}, key=len, reverse=True)
    for value in values:
        message = message.replace(value, "{}")
    return message


def _scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif not isinstance(value, bool) and value is not None:
        yield value


# -- replaying ------------------------------------------------------------------------------------------------
class ReplayNode:
    """A JSON-RPC server on 127.0.0.1 that answers each method with a recorded answer (set by
    :meth:`serve`), to any params; an unknown method is an error. Answers batches too."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = [node.answer(item) for item in body] if isinstance(body, list) else node.answer(body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def serve(self, *answers: Answer) -> None:
        """From now on, answer each answer's method with it."""
        for answer in answers:
            self.answers[answer.method] = answer.reply

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        method = request["method"]
        if method == "call":
            method = f"{request['params'][0]}.{request['params'][1]}"
        reply = self.answers.get(
            method, {"error": {"code": -32601, "message": f"Could not find method {method}"}}
        )
        return {**reply, "jsonrpc": "2.0", "id": request.get("id")}

    def __enter__(self) -> ReplayNode:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
