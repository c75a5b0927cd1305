"""The node's write side: broadcasting transactions into the :class:`~devnet.ledger.Ledger`, resource
credits and transaction status, answered as hived answers them.

- ``condenser_api.broadcast_transaction [trx]`` (legacy JSON; beem's default) and
  ``network_broadcast_api.broadcast_transaction {"trx", "max_block_age"}`` (``block_api`` JSON) answer ``{}``
  at once; the transaction goes into the block after the head.
- ``condenser_api.broadcast_transaction_synchronous [trx]`` answers ``{"id", "block_num", "trx_num",
  "expired": false}`` once that block is produced. With a frozen head (speed 0) no block is ever produced by
  itself: it answers at once, naming the block the transaction will be in. A transaction dropped by a fault
  is answered ``"expired": true``.
- ``rc_api.find_rc_accounts {"accounts"}`` (and ``condenser_api.find_rc_accounts [[names]]``, a list in legacy
  form: beem sends that one when made with ``use_condenser=True``) gives each account's RC manabar as stored (``current_mana`` as of
  ``last_update_time``: regenerate it to the head block's time yourself, linearly over 432,000 s).
- ``transaction_status_api.find_transaction {"transaction_id", "expiration"?}`` says whether a transaction
  is ``within_mempool`` (accepted, its block not produced yet), ``within_reversible_block``,
  ``within_irreversible_block`` (with ``block_num``), ``expired_reversible``/``expired_irreversible`` (not
  known and past its expiration, if given) or ``unknown``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from devnet import checks, rc
from devnet.checks import Rejected
from devnet.faults import AnswerLost, BroadcastFaults, rc_message
from devnet.head import BLOCK_INTERVAL, HeadClock
from devnet.ledger import Accepted, Ledger
from devnet.legacy import canonical_transaction, legacy
from devnet.optypes import fc_int
from devnet.world import parse_time

QUERY_LIMIT = 1000
SYNCHRONOUS_TIMEOUT = 60.0  # wall seconds a synchronous broadcast waits for its block at most

Handler = Callable[[Any], Any]


class BroadcastApi:
    def __init__(
        self,
        ledger: Ledger,
        head: HeadClock,
        lock: threading.Lock,
        forget_block: Callable[[int], None],
        faults: BroadcastFaults,
    ) -> None:
        self.ledger = ledger
        self.head = head
        self._lock = lock
        self._forget_block = forget_block
        self.faults = faults

    def methods(self) -> dict[str, Handler]:
        return {
            "condenser_api.broadcast_transaction": self._condenser_broadcast,
            "condenser_api.broadcast_transaction_synchronous": self._synchronous,
            "network_broadcast_api.broadcast_transaction": self._network_broadcast,
            "rc_api.find_rc_accounts": self._find_rc_accounts,
            "condenser_api.find_rc_accounts": self._condenser_find_rc_accounts,
            "transaction_status_api.find_transaction": self._find_transaction,
        }

    def broadcast(self, transaction: Any) -> tuple[Accepted, bool]:
        """Accept ``transaction`` into the block after the head: ``(what the node answers, lost)`` — lost is
        True when a fault dropped it (then it is in no block)."""
        if not isinstance(transaction, dict):
            raise Rejected("Invalid parameters: a transaction is a JSON object", -32602)
        fault = self.faults.take_rejection()
        if fault is not None:
            raise Rejected(fault.message if fault.kind == "reject" else _rc_fault(transaction), fault.code)
        with self._lock:
            late = self.faults.late.take()
            if late:
                self.head.set_head(self.head.head() + late)
            head = self.head.head()
            if self.faults.next_is_drop():
                checked = self.ledger.check(transaction, head)  # refused on its own: the drop stays queued
                self.faults.take_drop()
                return checked, True
            accepted = self.ledger.accept(transaction, head)
            # Invariant: a transaction goes into a block above the head, and the node caches only blocks at or
            # below the head. A test may have moved the head back below a block served before: forget it.
            self._forget_block(accepted.block)
        if self.faults.take_lost_answer():
            raise AnswerLost(accepted.id)
        return accepted, False

    def _condenser_broadcast(self, params: list[Any]) -> dict[str, Any]:
        self.broadcast(params[0])
        return {}

    def _network_broadcast(self, params: dict[str, Any]) -> dict[str, Any]:
        self.broadcast(params["trx"])  # max_block_age is not checked: the devnet's blocks are never old
        return {}

    def _synchronous(self, params: list[Any]) -> dict[str, Any]:
        accepted, lost = self.broadcast(params[0])
        if lost:
            return {"id": accepted.id, "block_num": 0, "trx_num": 0, "expired": True}
        deadline = time.monotonic() + SYNCHRONOUS_TIMEOUT
        while self.head.speed > 0 and self.head.head() < accepted.block and time.monotonic() < deadline:
            time.sleep(min(0.05, BLOCK_INTERVAL / self.head.speed / 4))
        return {"id": accepted.id, "block_num": accepted.block, "trx_num": accepted.trx_num, "expired": False}

    def _find_rc_accounts(self, params: dict[str, Any]) -> dict[str, Any]:
        names = params["accounts"]
        if len(names) > QUERY_LIMIT:
            raise checks.fail("accounts.size() <= RC_API_SINGLE_QUERY_LIMIT", "")
        found = []
        with self._lock:
            head = self.head.head()
            for name in map(str, names):
                if self.ledger.account(name, head) is None:
                    continue
                bar = self.ledger.rc_bar(name, head)
                found.append({
                    "account": name,
                    "rc_manabar": {"current_mana": fc_int(bar.mana), "last_update_time": bar.updated},
                    "max_rc_creation_adjustment": {"amount": "2020748973", "precision": 6, "nai": "@@000000037"},
                    "max_rc": fc_int(bar.max_rc),
                    "delegated_rc": 0,
                    "received_delegated_rc": 0,
                })  # fmt: skip
        return {"rc_accounts": found}

    def _condenser_find_rc_accounts(self, params: list[Any]) -> list[Any]:
        if not isinstance(params[0], list):  # beem 0.24 sends [{"accounts": [...]}] here: hived refuses it
            raise Rejected("Bad Cast:Invalid cast from object_type to Array", -32000)
        return legacy(self._find_rc_accounts({"accounts": params[0]})["rc_accounts"])  # type: ignore[no-any-return]

    def _find_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = str(params["transaction_id"])
        with self._lock:
            head, irreversible = self.head.head(), self.head.irreversible()
            accepted = self.ledger.find(wanted)
            if accepted is not None:
                if accepted.block > head:
                    return {"status": "within_mempool"}
                status = (
                    "within_irreversible_block"
                    if accepted.block <= irreversible
                    else "within_reversible_block"
                )
                return {"status": status, "block_num": accepted.block}
            expiration = params.get("expiration")
            if expiration:
                expires = parse_time(str(expiration))
                if expires < self.ledger.block_time(max(irreversible, self.ledger.first_block)):
                    return {"status": "expired_irreversible"}
                if expires <= self.ledger.block_time(head):
                    return {"status": "expired_reversible"}
        return {"status": "unknown"}


def _rc_fault(transaction: dict[str, Any]) -> str:
    """The RC refusal of an injected fault: the transaction's payer and cost, with 0 RC left."""
    try:
        canonical = canonical_transaction(transaction)
        operations = [
            (str(op["type"]).removesuffix("_operation"), op["value"]) for op in canonical["operations"]
        ]
        payer = checks.required_authorities(operations)[0][0]
        return rc_message(payer, 0, rc.transaction_cost(canonical["operations"]))
    except (KeyError, IndexError, TypeError, ValueError):
        return rc_message("unknown", 0, rc.OPERATION_COST["comment"])
