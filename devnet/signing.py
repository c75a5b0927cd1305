"""Transaction ids and signatures, computed by beem's own serializer (``beembase``) as hived computes them.

A transaction arrives as JSON in either format (legacy ``["comment", {...}]`` with ``"1.000 HBD"`` assets, or
``block_api`` ``{"type": "comment_operation", ...}`` with NAI assets): both serialize to the same bytes, so
the id and the signature digest do not depend on the format. The digest is ``sha256(chain_id ‖ bytes)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from beembase.signedtransactions import Signed_Transaction
from beemgraphenebase.account import PublicKey

MAINNET_CHAIN_ID = "beeab0de00000000000000000000000000000000000000000000000000000000"
KEY_PREFIX = "STM"


@dataclass(frozen=True, slots=True)
class Signed:
    """What a transaction's bytes say: its id and the public keys that signed it (``STM…``)."""

    id: str
    keys: tuple[str, ...]


class BadSignature(ValueError):
    """A signature from which no public key can be recovered."""


def _parse(transaction: dict[str, Any]) -> Signed_Transaction:
    """beem's model of the transaction (it mutates what it is given: pass a copy)."""
    try:
        return Signed_Transaction(**copy.deepcopy(transaction))
    except (KeyError, TypeError, ValueError, AssertionError, NotImplementedError) as exc:
        raise ValueError(f"cannot serialize the transaction: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - beem raises bare Exception for unknown assets and such
        raise ValueError(f"cannot serialize the transaction: {exc}") from None


def transaction_id(transaction: dict[str, Any]) -> str:
    """The transaction id: the first 20 bytes of sha256 of the serialized transaction without signatures."""
    return str(_parse(transaction).id)


def verify(transaction: dict[str, Any], chain_id: str = MAINNET_CHAIN_ID) -> Signed:
    """The id and the signing keys of ``transaction`` for ``chain_id`` (ValueError if it cannot be
    serialized, :class:`BadSignature` if a signature yields no key). A signature made for another chain id
    yields some other key: the authority check then finds it missing, as hived does."""
    parsed = _parse(transaction)
    keys: list[str] = []
    if parsed.data["signatures"].data:
        try:
            found = parsed.verify(chain={"chain_id": chain_id, "prefix": KEY_PREFIX}, recover_parameter=True)
        except Exception as exc:  # noqa: BLE001 - ecdsa raises many kinds on a malformed signature
            raise BadSignature(str(exc) or type(exc).__name__) from None
        if len(found) != len(parsed.data["signatures"].data):
            raise BadSignature("a signature has no recovery parameter")
        keys = [str(format(PublicKey(hexkey, prefix=KEY_PREFIX), KEY_PREFIX)) for hexkey in found]
    return Signed(str(parsed.id), tuple(keys))


def sign(transaction: dict[str, Any], wifs: list[str], chain_id: str = MAINNET_CHAIN_ID) -> dict[str, Any]:
    """``transaction`` (legacy JSON) signed with ``wifs`` for ``chain_id`` — for tests that need a transaction
    beem's TransactionBuilder would not make (another chain id, an active-key signature on a comment …)."""
    parsed = _parse({**transaction, "signatures": []})
    parsed.sign(wifs, chain={"chain_id": chain_id, "prefix": KEY_PREFIX})
    signatures = [bytes(signature).hex() for signature in parsed.data["signatures"].data]
    return {**transaction, "signatures": signatures}
