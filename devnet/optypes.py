"""Operation type ids, impacted accounts and history entries, as hived's account history knows them.

- :data:`OP_IDS` — hived's operation type ids (the order of ``hive::protocol::operation`` in
  ``libraries/protocol/include/hive/protocol/operations.hpp``, HF28): the bit an ``operation_filter_low/high``
  mask sets for a type. ``collateralized_convert`` (48) and ``recurrent_transfer`` (49) come before the virtual
  operations, so ``fill_convert_request`` is 50 and ``effective_comment_vote`` 72 (beem 0.24's
  ``beembase.operationids`` predates them: do not use it).
- :func:`impacted` — the accounts whose history an operation goes into (hived's ``forward_impacted.cpp``).
- :class:`Entry` — one history entry, in ``account_history_api`` (NAI) or ``condenser_api`` (legacy) JSON.
- :func:`effective_vote` — the ``effective_comment_vote_operation`` hived emits after a vote that took effect,
  with rshares as hived computes their sign (:func:`vote_rshares`: 0 for unvotes and dust upvotes).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from devnet.legacy import legacy

HF24_TIME = 1_602_684_000
"""2020-10-14T14:00:00 UTC, hardfork 24: ``effective_comment_vote_operation`` exists from here on."""

_OP_NAMES = (
    # regular operations (0 … 49)
    "vote", "comment", "transfer", "transfer_to_vesting", "withdraw_vesting", "limit_order_create",
    "limit_order_cancel", "feed_publish", "convert", "account_create", "account_update", "witness_update",
    "account_witness_vote", "account_witness_proxy", "pow", "custom", "report_over_production",
    "delete_comment", "custom_json", "comment_options", "set_withdraw_vesting_route", "limit_order_create2",
    "claim_account", "create_claimed_account", "request_account_recovery", "recover_account",
    "change_recovery_account", "escrow_transfer", "escrow_dispute", "escrow_release", "pow2",
    "escrow_approve", "transfer_to_savings", "transfer_from_savings", "cancel_transfer_from_savings",
    "custom_binary", "decline_voting_rights", "reset_account", "set_reset_account", "claim_reward_balance",
    "delegate_vesting_shares", "account_create_with_delegation", "witness_set_properties", "account_update2",
    "create_proposal", "update_proposal_votes", "remove_proposal", "update_proposal",
    "collateralized_convert", "recurrent_transfer",
    # virtual operations (50 … 92)
    "fill_convert_request", "author_reward", "curation_reward", "comment_reward", "liquidity_reward",
    "interest", "fill_vesting_withdraw", "fill_order", "shutdown_witness", "fill_transfer_from_savings",
    "hardfork", "comment_payout_update", "return_vesting_delegation", "comment_benefactor_reward",
    "producer_reward", "clear_null_account_balance", "proposal_pay", "dhf_funding", "hardfork_hive",
    "hardfork_hive_restore", "delayed_voting", "consolidate_treasury_balance", "effective_comment_vote",
    "ineffective_delete_comment", "dhf_conversion", "expired_account_notification",
    "changed_recovery_account", "transfer_to_vesting_completed", "pow_reward", "vesting_shares_split",
    "account_created", "fill_collateralized_convert_request", "system_warning", "fill_recurrent_transfer",
    "failed_recurrent_transfer", "limit_order_cancelled", "producer_missed", "proposal_fee",
    "collateralized_convert_immediate_conversion", "escrow_approved", "escrow_rejected", "proxy_cleared",
    "declined_voting_rights",
)  # fmt: skip
OP_IDS: dict[str, int] = {f"{name}_operation": index for index, name in enumerate(_OP_NAMES)}
"""``"vote_operation"`` → 0 … ``"effective_comment_vote_operation"`` → 72 …"""
VOTE, COMMENT, TRANSFER, DELETE_COMMENT, CUSTOM_JSON, COMMENT_OPTIONS, CLAIM_REWARD_BALANCE, EFFECTIVE_VOTE = (
    0, 1, 2, 17, 18, 19, 39, 72
)  # fmt: skip
ACCOUNT_CREATE = 9

_HBD_NAI = "@@000000013"
_FC_INT_LIMIT = 2**53 - 1
# Fields naming an account, for operations hived has no special rule for (their required authorities). The
# devnet generates and accepts only the operations handled explicitly below; this serves recorded chains.
_ACCOUNT_FIELDS = ("account", "owner", "creator", "new_account_name", "from", "to", "from_account", "to_account",
                   "publisher", "worker_account", "delegator", "delegatee", "witness", "proxy", "agent",
                   "account_to_recover", "recovery_account", "voter", "author", "producer", "curator")  # fmt: skip


def op_id(op: dict[str, Any]) -> int:
    """The type id of a ``{"type": "…_operation", "value": …}`` operation (KeyError for an unknown type)."""
    return OP_IDS[op["type"]]


def matches(type_id: int, low: int, high: int) -> bool:
    """Whether bit ``type_id`` of the 128-bit filter ``(high << 64) | low`` is set."""
    return bool(low >> type_id & 1) if type_id < 64 else bool(high >> (type_id - 64) & 1)


def impacted(op: dict[str, Any]) -> tuple[str, ...]:
    """The accounts whose history ``op`` goes into, in name order (hived's ``get_impacted_account_visitor``)."""
    kind, value = op["type"], op["value"]
    names: set[str]
    if kind in ("vote_operation", "effective_comment_vote_operation"):
        names = {value["voter"], value["author"]}
    elif kind == "comment_operation":
        names = {value["author"], value["parent_author"]} - {""}
    elif kind in ("delete_comment_operation", "comment_options_operation"):
        names = {value["author"]}
    elif kind == "custom_json_operation":
        names = {*value["required_auths"], *value["required_posting_auths"]}
    elif kind == "transfer_operation":
        names = {value["from"], value["to"]}
    elif kind == "claim_reward_balance_operation":
        names = {value["account"]}
    elif kind == "curation_reward_operation":
        names = {value["curator"]}
    elif kind == "comment_benefactor_reward_operation":
        names = {value["benefactor"], value["author"]}
    else:
        names = {value[key] for key in _ACCOUNT_FIELDS if isinstance(value.get(key), str) and value[key]}
    return tuple(sorted(names))


def fc_int(value: int) -> int | str:
    """An int64/uint64 as hived's JSON writes it: a number up to 2^53 - 1 (a safe integer in JavaScript), a
    string beyond. Real answers show it: numbers of 2^45 in hived's account history patterns, 2942324145307497
    a number and 15564167323386971 a string in one ``rc_api.find_rc_accounts`` answer (the conformance
    corpus, ``tests/fixtures/conformance``)."""
    return value if -_FC_INT_LIMIT <= value <= _FC_INT_LIMIT else str(value)


HF14_TIME = 1_474_383_600
"""2016-09-20T15:00:00 UTC (``HIVE_HARDFORK_0_14_TIME``): before it an unvote spent a unit of voting power."""
HF20_TIME = 1_537_887_600
"""2018-09-25T15:00:00 UTC (``HIVE_HARDFORK_0_20_ACTUAL_TIME``): the dust threshold is subtracted from here on."""
DUST = 50_000_000
"""``HIVE_VOTE_DUST_THRESHOLD`` (hived's ``config.hpp``)."""
LOCKOUT = 12 * 3600
"""``HIVE_UPVOTE_LOCKOUT_SECONDS``: the last 12 hours before cashout, when a vote's rshares are scaled down."""
_CASHOUT = 7 * 86_400


DUST_VOTERS = 8
"""One voter in this many has so little Hive Power that its votes stay under the dust threshold (0: none).
An assumption: no public figure of the share of mainnet votes under the threshold was found. A benchmark node
may set it before serving (``benchmarks/_history_node.py``)."""


def dust_voter(voter: str) -> bool:
    """Whether ``voter``'s votes stay under the dust threshold (one in :data:`DUST_VOTERS`, the same in
    every process)."""
    share = DUST_VOTERS
    return share > 0 and hashlib.blake2b(voter.encode(), digest_size=2).digest()[0] % share == 0


def vote_rshares(weight: int, voter: str, time: int, age: int | None, r: random.Random) -> int:
    """The rshares hived's vote evaluator gives a vote of ``weight`` cast at ``time`` on a comment ``age``
    seconds old (``None``: not known, no lockout), its voter's stake drawn from ``r``. openhive-network/hive at
    1584099c, ``libraries/chain/hive_evaluator_social.cpp``: ``rshares = weight < 0 ? -abs_rshares :
    abs_rshares`` (lines 380, 746); before HF14 an unvote's power rounds up to one unit (line 356), so its
    rshares are positive (@camilla's unvote of 2016-09-11: 4,224,869,679); from HF14 an unvote spends none
    (0); before HF20 a vote under the dust threshold was refused (line 369), so the model gives every voter
    enough stake then; from HF20 the threshold is subtracted, never below 0 (lines 706-707: a dust voter's
    upvotes carry 0), and scaled down in the last 12 hours before cashout (lines 711-713)."""
    if weight == 0:
        return int(10 ** r.uniform(6.0, 9.7)) if time < HF14_TIME else 0
    if time < HF20_TIME:
        magnitude = DUST + 1 + int(10 ** r.uniform(8.0, 12.7) * abs(weight) / 10_000)
    else:
        mana = (
            r.randrange(DUST) if dust_voter(voter) else int(10 ** r.uniform(8.0, 12.7) * abs(weight) / 10_000)
        )
        magnitude = max(0, mana - DUST)
        left = None if age is None else _CASHOUT - age
        if left is not None and 0 <= left < LOCKOUT:
            magnitude = magnitude * left // LOCKOUT
    return magnitude if weight > 0 else -magnitude


def effective_vote(vote: dict[str, Any], r: random.Random, *, time: int, age: int | None) -> dict[str, Any]:
    """The ``effective_comment_vote_operation`` following ``vote`` (a vote operation's value), cast at
    ``time`` on a comment ``age`` seconds old. Its rshares follow hived's rule (:func:`vote_rshares`); the
    curation weight is drawn for positive rshares only (``curation_reward_eligible = rshares > 0 && …``,
    line 785), the other numbers from ``r``."""
    weight = int(vote["weight"])
    rshares = vote_rshares(weight, str(vote["voter"]), time, age, r)
    curation = int(10 ** r.uniform(6.0, 15.3)) if rshares > 0 else 0
    total = curation + int(10 ** r.uniform(9.0, 18.0))
    payout = r.choice((0, r.randint(1, 999), r.randint(1_000, 250_000)))
    return {
        "type": "effective_comment_vote_operation",
        "value": {
            "voter": vote["voter"], "author": vote["author"], "permlink": vote["permlink"],
            "weight": fc_int(curation), "rshares": fc_int(rshares), "total_vote_weight": fc_int(total),
            "pending_payout": {"amount": str(payout), "precision": 3, "nai": _HBD_NAI},
        },
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """One account history entry (the same for every account it impacts)."""

    trx_id: str
    block: int
    trx_in_block: int
    op_in_trx: int
    virtual: bool
    timestamp: str
    op: dict[str, Any]

    @property
    def type_id(self) -> int:
        return op_id(self.op)

    def json(self, *, legacy_format: bool = False) -> dict[str, Any]:
        """``account_history_api`` form (NAI assets, ``"operation_id": 0``) or ``condenser_api`` form (legacy
        operation and assets, no ``operation_id``), as HAfAH answers them."""
        entry: dict[str, Any] = {
            "trx_id": self.trx_id,
            "block": self.block,
            "trx_in_block": self.trx_in_block,
            "op_in_trx": self.op_in_trx,
            "virtual_op": self.virtual,
            "timestamp": self.timestamp,
            "op": legacy(self.op) if legacy_format else self.op,
        }
        if not legacy_format:
            entry["operation_id"] = 0
        return entry
