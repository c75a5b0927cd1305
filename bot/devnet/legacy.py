"""The legacy (``condenser_api``) JSON format, converted from the ``block_api`` format the sources produce.

Operations become ``["vote", {...}]`` pairs, assets become strings such as ``"0.001 HBD"``, extensions of
``comment_options`` become ``[0, {...}]``, and each transaction of a block names its id and place.
"""

from __future__ import annotations

from typing import Any

_SYMBOLS = {"@@000000021": "HIVE", "@@000000013": "HBD", "@@000000037": "VESTS"}
_EXTENSION_TAGS = {"comment_payout_beneficiaries": 0}
_ASSET_KEYS = frozenset({"amount", "precision", "nai"})


def legacy_asset(asset: dict[str, Any]) -> str:
    """``{"amount": "1500", "precision": 3, "nai": "@@000000013"}`` → ``"1.500 HBD"``."""
    precision, amount = int(asset["precision"]), int(asset["amount"])
    whole, fraction = divmod(abs(amount), 10**precision)
    text = f"{whole}.{fraction:0{precision}d}" if precision else str(whole)
    return f"{'-' if amount < 0 else ''}{text} {_SYMBOLS[asset['nai']]}"


def legacy(value: Any) -> Any:
    """Any ``block_api`` JSON value (an operation, a transaction, props …) in legacy form."""
    if isinstance(value, list):
        return [legacy(item) for item in value]
    if not isinstance(value, dict):
        return value
    if value.keys() == _ASSET_KEYS:
        return legacy_asset(value)
    if value.keys() == {"type", "value"} and isinstance(value["type"], str):
        kind = value["type"]
        if kind.endswith("_operation"):
            return [kind.removesuffix("_operation"), legacy(value["value"])]
        return [_EXTENSION_TAGS.get(kind, kind), legacy(value["value"])]
    return {key: legacy(item) for key, item in value.items()}


def legacy_block(block: dict[str, Any], num: int) -> dict[str, Any]:
    """A ``block_api`` block as ``condenser_api.get_block`` returns it."""
    converted = legacy(block)
    ids = block.get("transaction_ids", [])
    for index, transaction in enumerate(converted["transactions"]):
        transaction.update(transaction_id=ids[index], block_num=num, transaction_num=index)
    return converted  # type: ignore[no-any-return]
