"""What a node's answer means, in pure rules: the verdict of a JSON-RPC error answer to a broadcast, how long
a rate-limited node asks to be left alone, and the batch size a proxy allows. No I/O here.

A broadcast's error answer is read from the node's own error object (``code``, ``message``, ``data``), never
from beem's exception classes (beem 0.24.26 turns "unknown key" into ``UnkownKey``, "irrelevant signature
included" into ``UnnecessarySignatureDetected`` …, which a caller catching ``UnhandledRPCError`` took for no
answer at all). Each row of :data:`RULES` names where its words come from:

- hived (openhive-network/hive, commit 1584099c, tag 1.28.7 and later): an ``FC_ASSERT`` or ``HIVE_*_ASSERT``
  that fails while a transaction is pushed is an ``fc::assert_exception``; ``json_rpc_plugin.cpp`` answers it
  with code -32003 (``JSON_RPC_ERROR_DURING_CALL``) and ``e.to_string()``, "<what>:<expression>: <text>"
  ("Assert Exception:…", "missing required posting authority:…"). A ``std::out_of_range`` from chainbase
  ("unknown key") comes as -32000 (``JSON_RPC_SERVER_ERROR``), as the pattern test
  ``tests/python/api_tests/pattern_tests/tavern/condenser_api_negative/broadcast_transaction/
  missing_posting_authority.pat.json`` shows. Both carry the exception in ``data`` (``code``, ``name``,
  ``message``, ``stack``).
- jussi (steemit/jussi, commit 1ebf8427, ``jussi/errors.py``): its own errors say nothing of the transaction
  ("Internal Error" -32603, "Server error" -32000, "Request Timeout" 1000, "Response Timeout" 1050, "Upstream
  response error" 1100, bad upstreams 1400/1500): whether the node took it is unknown.

A message no row matches is the chain's refusal when it has hived's shape (code -32003, or an fc exception in
``data``), and unconfirmed otherwise: a proxy's or a gateway's words are not the chain's.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

MAX_RETRY_AFTER = 600.0
"""Seconds a node's ``Retry-After`` is honoured at most: a longer one (or a far date) is capped to this."""
ERROR_DURING_CALL = -32003
"""hived's JSON-RPC code for an fc assertion that failed while the call ran (``json_rpc_plugin.hpp``)."""


class Verdict(enum.Enum):
    ALREADY_ACCEPTED = "already accepted"  # the chain has it (or has its comment): success
    NOT_ENOUGH_RC = "not enough RC"  # pause until resource credits regenerate
    NOT_NOW = "refused for now"  # a pacing rule: the same comment is accepted a little later
    REFUSED = "refused"  # the chain said no: retry with back-off, park after max attempts
    UNCONFIRMED = "unconfirmed"  # not the chain's word: the node or its proxy failed; ask another node


@dataclass(frozen=True, slots=True)
class Rule:
    words: str  # found in the error message
    verdict: Verdict
    source: str  # where the words come from


_HIVED = "openhive-network/hive@1584099c"
_JUSSI = "steemit/jussi@1ebf8427 jussi/errors.py"

RULES: tuple[Rule, ...] = (
    # not the chain's word, whatever the code: first, so that no refusal's words inside can hide them
    Rule("Unable to acquire database lock", Verdict.UNCONFIRMED, f"{_HIVED} chainbase.hpp lock_exception"),
    Rule("check_max_block_age", Verdict.UNCONFIRMED, f"{_HIVED} network_broadcast_api.cpp: the node is stale"),
    Rule("Internal Error", Verdict.UNCONFIRMED, f"{_JUSSI} JsonRpcError -32603"),
    Rule("Server error", Verdict.UNCONFIRMED, f"{_JUSSI} ServerError -32000"),
    Rule("Request Timeout", Verdict.UNCONFIRMED, f"{_JUSSI} RequestTimeoutError 1000"),
    Rule("Response Timeout", Verdict.UNCONFIRMED, f"{_JUSSI} ResponseTimeoutError 1050"),
    Rule("Upstream response error", Verdict.UNCONFIRMED, f"{_JUSSI} UpstreamResponseError 1100"),
    Rule("upstream hostname", Verdict.UNCONFIRMED, f"{_JUSSI} InvalidUpstreamHost 1400"),
    Rule("unhealthy upstream", Verdict.UNCONFIRMED, f"{_JUSSI} InvalidUpstreamURL 1500"),
    Rule("Bad or missing upstream response", Verdict.UNCONFIRMED, "beem 0.24.26 beemapi/noderpc.py (a proxy's)"),
    # the chain has this transaction, or the comment it carries
    Rule("Duplicate transaction check failed", Verdict.ALREADY_ACCEPTED, f"{_HIVED} database.cpp _push_transaction"),
    Rule("Comment already has beneficiaries specified", Verdict.ALREADY_ACCEPTED,
         f"{_HIVED} hive_evaluator_social.cpp comment_options (a re-post of a reply on chain)"),
    Rule("requires the comment to have no rshares allocated", Verdict.ALREADY_ACCEPTED,
         f"{_HIVED} hive_evaluator_social.cpp comment_options (a re-post of a reply on chain)"),
    # resource credits
    Rule("payer has not enough RC mana", Verdict.NOT_ENOUGH_RC,
         f"{_HIVED} database_exceptions.hpp not_enough_rc_exception 4100100"),
    Rule(" RC, needs ", Verdict.NOT_ENOUGH_RC, f"{_HIVED} rc/rc_utility.cpp"),
    # pacing: the same reply goes through a few seconds later
    Rule("You may only comment once every 3 seconds", Verdict.NOT_NOW, f"{_HIVED} hive_evaluator_social.cpp"),
    Rule("You may only post once every 5 minutes", Verdict.NOT_NOW, f"{_HIVED} hive_evaluator_social.cpp"),
    Rule("Can only perform one comment edit per block", Verdict.NOT_NOW, f"{_HIVED} hive_evaluator_social.cpp"),
    # refusals of this transaction (the same words at any code)
    Rule("unknown key", Verdict.REFUSED, f"{_HIVED} chainbase.hpp; condenser_api_negative pattern test, -32000"),
    Rule("missing required", Verdict.REFUSED, f"{_HIVED} protocol/exceptions.hpp tx_missing_*_auth"),
    Rule("irrelevant signature included", Verdict.REFUSED, f"{_HIVED} protocol/exceptions.hpp tx_irrelevant_sig"),
    Rule("duplicate signature included", Verdict.REFUSED, f"{_HIVED} protocol/exceptions.hpp tx_duplicate_sig"),
    Rule("authority combined with posting authority", Verdict.REFUSED,
         f"{_HIVED} protocol/exceptions.hpp tx_combined_auths_with_posting"),
    Rule("transaction expiration exception", Verdict.REFUSED, f"{_HIVED} database_exceptions.hpp 4030100"),
    Rule("transaction tapos exception", Verdict.REFUSED, f"{_HIVED} database_exceptions.hpp 4030200"),
    Rule("Assert Exception", Verdict.REFUSED, f"{_HIVED} fc::assert_exception: every evaluator's FC_ASSERT"),
)  # fmt: skip


def classify_error_answer(code: Any, message: str, data: Any = None) -> Verdict:
    """The verdict of a node's JSON-RPC error answer to a broadcast (see the module docstring)."""
    for rule in RULES:
        if rule.words in message:
            return rule.verdict
    if code == ERROR_DURING_CALL or (isinstance(data, Mapping) and "stack" in data and "name" in data):
        return Verdict.REFUSED
    return Verdict.UNCONFIRMED


Judge = Callable[[Any, str, Any], Verdict]
"""A rule that reads a JSON-RPC error answer's ``code``, ``message`` and ``data`` into a verdict."""

METHOD_NOT_FOUND = -32601
"""JSON-RPC's "method not found": the node does not serve the call at all (hived's ``json_rpc_plugin.hpp``)."""
INVALID_PARAMS = -32602
"""JSON-RPC's "invalid params" (hived's ``json_rpc_plugin.hpp``; hivemind also answers a failed assert with it)."""


def classify_read_error(code: Any, message: str, data: Any = None) -> Verdict:
    """The verdict of an error answer to a read about one object (a comment): the node's or its proxy's
    trouble, or a node that does not serve the call, is UNCONFIRMED (ask another node); any other error is
    the node's word about what was asked — REFUSED. hivemind answers a deleted or unknown comment with an
    error (-31999 "Invalid parameters", data "Post a/p was deleted 1 time(s)"; -32602 "Assert
    Exception:Post a/p does not exist": openhive-network/hivemind ``tests/api_tests/hivemind/tavern/
    condenser_api_negative/get_content/``), where hived answers an empty comment."""
    trouble = any(rule.words in message for rule in RULES if rule.verdict is Verdict.UNCONFIRMED)
    return Verdict.UNCONFIRMED if trouble or code == METHOD_NOT_FOUND else Verdict.REFUSED


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait — delay seconds or an HTTP date (RFC 9110 §10.2.3),
    ``now`` being the wall time in seconds since the epoch — capped at :data:`MAX_RETRY_AFTER`; ``None``
    when there is none or it cannot be read."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


_BATCH_LIMIT = re.compile(r"batch size of \d+ exceeds (\d+)")


def parse_batch_limit(message: str) -> int | None:
    """The batch size a proxy's refusal names, if it names one: jussi's ``JsonRpcBatchSizeError`` (code 1600,
    "JSONRPC batch size of {size} exceeds {limit}"; its default limit is 50, ``jussi/serve.py``)."""
    found = _BATCH_LIMIT.search(message)
    return int(found.group(1)) if found else None
