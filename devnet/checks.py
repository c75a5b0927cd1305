"""hived's checks of a broadcast transaction that need no comment state: the operations' own rules
(``operation::validate``), signatures against the accounts' authorities, TaPoS and expiration.

Each failure is :class:`Rejected`, answered as JSON-RPC code -32003 with hived's wording
(``Assert Exception:<condition>: <text>``, or the exception's own name before the condition: "missing required
posting authority:…", "transaction tapos exception:…"; an account the signatures need that does not exist is
chainbase's "unknown key", code -32000). Words checked against openhive-network/hive@1584099c
(``database.cpp``, ``protocol/exceptions.hpp``, ``protocol/transaction_util.cpp``, ``database_exceptions.hpp``,
the pattern test ``condenser_api_negative/broadcast_transaction/missing_posting_authority.pat.json``); a few
messages of rare cases are the devnet's own and say so.
Posting operations need the POSTING key: since HF28 an active or owner signature does not satisfy a posting
authority. Active operations accept the active or the owner key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Literal

from devnet.names import is_account_name
from devnet.source import AccountState
from devnet.world import parse_time

MAX_TIME_UNTIL_EXPIRATION = 24 * 3600  # HIVE_MAX_TIME_UNTIL_SIGNATURE_EXPIRATION, since HF28
TAPOS_WINDOW = 0x10000  # the block summary holds the last 65,536 block ids
TITLE_LIMIT = 255  # bytes (HIVE_COMMENT_TITLE_LIMIT - 1)
MAX_PERMLINK = 255  # characters (HIVE_MAX_PERMLINK_LENGTH - 1)
_PERMLINK_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
HBD_NAI = "@@000000013"
VESTS_NAI = "@@000000037"

Level = Literal["posting", "active"]
SUPPORTED = frozenset({
    "comment", "comment_options", "delete_comment", "vote", "custom_json", "transfer", "claim_reward_balance",
})  # fmt: skip


class Rejected(Exception):
    """A transaction hived would refuse (JSON-RPC code -32003 unless said otherwise)."""

    def __init__(self, message: str, code: int = -32003) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def fail(condition: str, text: str = "") -> Rejected:
    return Rejected(f"Assert Exception:{condition}: {text}")


def _check(ok: bool, condition: str, text: str) -> None:
    if not ok:
        raise fail(condition, text)


# -- operation::validate --------------------------------------------------------------------------------------
def validate_operation(name: str, value: dict[str, Any]) -> None:
    """The checks hived makes on an operation alone, before looking at any state."""
    if name not in SUPPORTED:
        raise Rejected(f"devnet: {name}_operation is not supported by this node")
    for key, item in value.items():
        if key.endswith(
            ("author", "permlink", "voter", "account", "from", "to", "title", "body")
        ) and not isinstance(item, str):
            raise Rejected(f"Bad Cast:Invalid cast from {type(item).__name__} to string ({key})", -32000)
    _VALIDATORS[name](value)


def _account(name: str) -> None:
    _check(is_account_name(name), "is_valid_account_name( name )", f"Account name {name} is invalid")


def _permlink(permlink: str) -> None:
    _check(
        len(permlink) <= MAX_PERMLINK, "permlink.size() < HIVE_MAX_PERMLINK_LENGTH", "permlink is too long"
    )


def _json(text: str) -> None:
    if text:
        try:
            json.loads(text)
        except ValueError:
            raise fail("fc::json::is_valid( json )", "JSON is not valid JSON") from None


def _validate_comment(op: dict[str, Any]) -> None:
    _check(len(op["title"].encode()) <= TITLE_LIMIT, "title.size() < HIVE_COMMENT_TITLE_LIMIT",
           "Title size limit exceeded.")  # fmt: skip
    _check(len(op["body"]) > 0, "body.size() > 0", "Body is empty")
    if op["parent_author"]:
        _account(op["parent_author"])
    _account(op["author"])
    _permlink(op["parent_permlink"])
    _permlink(op["permlink"])
    _json(op["json_metadata"])


def _validate_comment_options(op: dict[str, Any]) -> None:
    _account(op["author"])
    _check(
        0 <= int(op["percent_hbd"]) <= 10000, "percent_hbd <= HIVE_100_PERCENT", "Percent cannot exceed 100%"
    )
    payout = op["max_accepted_payout"]
    _check(
        payout["nai"] == HBD_NAI,
        "max_accepted_payout.symbol == HBD_SYMBOL",
        "Max accepted payout must be in HBD",
    )
    _check(
        int(payout["amount"]) >= 0,
        "max_accepted_payout.amount.value >= 0",
        "Cannot accept less than 0 payout",
    )
    _permlink(op["permlink"])
    for extension in op["extensions"]:
        _check(
            extension["type"] == "comment_payout_beneficiaries", "false", "Unknown comment_options extension"
        )
        beneficiaries = extension["value"]["beneficiaries"]
        _check(0 < len(beneficiaries) < 128, "beneficiaries.size()", "Must specify at least one beneficiary")
        names = [b["account"] for b in beneficiaries]
        for name in names:
            _account(name)
        total = sum(int(b["weight"]) for b in beneficiaries)
        _check(all(0 <= int(b["weight"]) <= 10000 for b in beneficiaries) and total <= 10000,
               "sum <= HIVE_100_PERCENT", "Cannot allocate more than 100% of rewards to a comment")  # fmt: skip
        _check(names == sorted(set(names)), "beneficiaries[i - 1] < beneficiaries[i]",
               "Beneficiaries must be specified in sorted order (account ascending)")  # fmt: skip


def _validate_vote(op: dict[str, Any]) -> None:
    _account(op["voter"])
    _account(op["author"])
    _check(
        abs(int(op["weight"])) <= 10000, "abs(weight) <= HIVE_100_PERCENT", "Weight is not a HIVE percentage"
    )
    _permlink(op["permlink"])


def _validate_delete_comment(op: dict[str, Any]) -> None:
    _permlink(op["permlink"])
    _account(op["author"])


def _validate_custom_json(op: dict[str, Any]) -> None:
    auths = [*op["required_auths"], *op["required_posting_auths"]]
    _check(len(auths) > 0, "(required_auths.size() + required_posting_auths.size()) > 0",
           "at least one account must be specified")  # fmt: skip
    for name in auths:
        _account(name)
    _check(len(op["id"]) <= 32, "id.size() <= HIVE_CUSTOM_OP_ID_MAX_LENGTH", "id is too long")
    _json(op["json"])


def _validate_transfer(op: dict[str, Any]) -> None:
    _account(op["from"])
    _account(op["to"])
    _check(
        op["amount"]["nai"] != VESTS_NAI,
        "amount.symbol != VESTS_SYMBOL",
        "Transfer of vesting is not allowed.",
    )
    _check(
        int(op["amount"]["amount"]) > 0,
        "amount.amount > 0",
        "Cannot transfer a negative amount (aka: stealing)",
    )


def _validate_claim_reward_balance(op: dict[str, Any]) -> None:
    _account(op["account"])


_VALIDATORS: dict[str, Callable[[dict[str, Any]], None]] = {
    "comment": _validate_comment,
    "comment_options": _validate_comment_options,
    "delete_comment": _validate_delete_comment,
    "vote": _validate_vote,
    "custom_json": _validate_custom_json,
    "transfer": _validate_transfer,
    "claim_reward_balance": _validate_claim_reward_balance,
}


# -- authorities ------------------------------------------------------------------------------------------------
def required_authorities(operations: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, Level]]:
    """(account, level) pairs the operations need, in order, each once (the first one pays the RC)."""
    needed: list[tuple[str, Level]] = []
    for name, op in operations:
        if name == "vote":
            pairs: list[tuple[str, Level]] = [(op["voter"], "posting")]
        elif name in ("comment", "comment_options", "delete_comment"):
            pairs = [(op["author"], "posting")]
        elif name == "custom_json":
            pairs = [(a, "active") for a in op["required_auths"]]
            pairs += [(a, "posting") for a in op["required_posting_auths"]]
        elif name == "transfer":
            pairs = [(op["from"], "active")]
        else:  # claim_reward_balance
            pairs = [(op["account"], "posting")]
        needed += [pair for pair in pairs if pair not in needed]
    return needed


def check_signatures(
    needed: list[tuple[str, Level]], keys: tuple[str, ...], account: Callable[[str], AccountState | None]
) -> None:
    """Every needed authority is satisfied by one of ``keys``, and every key is needed."""
    levels = {level for _, level in needed}
    if levels == {"posting", "active"}:
        raise Rejected(
            "active/owner authority combined with posting authority:Transactions with operations required "
            "posting authority cannot be combined with transactions requiring active or owner authority."
        )
    used: set[str] = set()
    for name, level in needed:
        state = account(name)
        if state is None:
            raise Rejected("unknown key:unknown key: ", -32000)  # chainbase's out_of_range
        accepted = {state.posting_key} if level == "posting" else {state.active_key, state.owner_key}
        found = accepted.intersection(keys)
        if not found:
            title = level.capitalize()
            raise Rejected(f"missing required {level} authority:Missing {title} Authority {name}")
        used |= found
    if set(keys) - used:
        raise Rejected("irrelevant signature included:Unnecessary signature(s) detected")


# -- TaPoS and expiration ---------------------------------------------------------------------------------------
def reference_block(ref_block_num: int, head: int) -> int:
    """The block a TaPoS reference names: the newest block ≤ head whose number ends in those 16 bits."""
    return head - ((head - ref_block_num) & 0xFFFF)


def check_tapos(ref_block_num: int, ref_block_prefix: int, head: int, block_id: Callable[[int], str]) -> None:
    referenced = reference_block(int(ref_block_num), head)
    expected = int.from_bytes(bytes.fromhex(block_id(referenced)[8:16]), "little") if referenced >= 1 else -1
    if int(ref_block_prefix) != expected:
        raise Rejected(
            "transaction tapos exception:trx.ref_block_prefix == tapos_block_summary.block_id._hash[1]: "
        )


def check_expiration(expiration: str, now: int) -> None:
    """``now`` < expiration ≤ ``now`` + 24 h, ``now`` being the head block's time (as hived checks it since
    HF28: ``database.cpp`` takes an expiration up to ``HIVE_MAX_TIME_UNTIL_SIGNATURE_EXPIRATION`` ahead and
    keeps the transaction at most 1 h; the devnet puts it in the next block, so only the bound matters)."""
    try:
        expires = parse_time(expiration)
    except ValueError:
        raise Rejected(f"Invalid parameters: expiration {expiration!r} is not a time", -32602) from None
    if expires > now + MAX_TIME_UNTIL_EXPIRATION:
        raise Rejected(f"{_EXPIRATION}trx.expiration <= now + HIVE_MAX_TIME_UNTIL_SIGNATURE_EXPIRATION: ")
    if now >= expires:
        raise Rejected(f"{_EXPIRATION}now < full_transaction->get_runtime_expiration(): ")


_EXPIRATION = "transaction expiration exception:"
