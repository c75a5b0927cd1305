"""The legacy (``condenser_api``) JSON format, converted from the ``block_api`` format the sources produce,
and back (:func:`canonical_transaction`, for broadcast transactions).

Operations become ``["vote", {...}]`` pairs, assets become strings such as ``"0.001 HBD"``, extensions of
``comment_options`` become ``[0, {...}]``, and each transaction of a block names its id and place.
"""

from __future__ import annotations

from typing import Any

_SYMBOLS = {"@@000000021": "HIVE", "@@000000013": "HBD", "@@000000037": "VESTS"}
_NAIS = {"HIVE": ("@@000000021", 3), "STEEM": ("@@000000021", 3), "HBD": ("@@000000013", 3),
         "SBD": ("@@000000013", 3), "VESTS": ("@@000000037", 6)}  # fmt: skip
_EXTENSION_TAGS = {"comment_payout_beneficiaries": 0}
_EXTENSION_NAMES = {tag: name for name, tag in _EXTENSION_TAGS.items()}
ASSET_FIELDS = {
    "transfer": ("amount",),
    "comment_options": ("max_accepted_payout",),
    "claim_reward_balance": ("reward_hive", "reward_hbd", "reward_vests"),
}
"""The asset-valued fields of the operations the devnet accepts in broadcasts."""
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


def nai_asset(text: str) -> dict[str, Any]:
    """``"1.500 HBD"`` → ``{"amount": "1500", "precision": 3, "nai": "@@000000013"}`` (ValueError if not an
    asset with its symbol's precision)."""
    amount, _, symbol = text.strip().partition(" ")
    if symbol not in _NAIS:
        raise ValueError(f"unknown asset symbol in {text!r}")
    nai, precision = _NAIS[symbol]
    whole, dot, fraction = amount.partition(".")
    if not whole.lstrip("-").isdigit() or (precision and (not dot or len(fraction) != precision)):
        raise ValueError(f"{text!r} is not an amount with {precision} decimals")
    if fraction and not fraction.isdigit():
        raise ValueError(f"{text!r} is not an amount")
    return {"amount": str(int(whole + fraction)), "precision": precision, "nai": nai}


def canonical_transaction(transaction: dict[str, Any]) -> dict[str, Any]:
    """A broadcast transaction, sent in legacy or ``block_api`` form (or a mix: beem's appbase path sends
    ``{"type", "value"}`` operations with legacy asset strings), in the ``block_api`` form blocks carry."""
    operations = []
    for operation in transaction["operations"]:
        if isinstance(operation, list):
            name, value = operation
        else:
            name, value = str(operation["type"]).removesuffix("_operation"), operation["value"]
        value = dict(value)
        for field in ASSET_FIELDS.get(name, ()):
            if isinstance(value.get(field), str):
                value[field] = nai_asset(value[field])
        if name == "comment_options":
            value["extensions"] = [_extension(item) for item in value.get("extensions", [])]
        operations.append({"type": f"{name}_operation", "value": value})
    return {
        "ref_block_num": transaction["ref_block_num"],
        "ref_block_prefix": transaction["ref_block_prefix"],
        "expiration": transaction["expiration"],
        "operations": operations,
        "extensions": list(transaction.get("extensions", [])),
        "signatures": list(transaction.get("signatures", [])),
    }


def _extension(item: Any) -> dict[str, Any]:
    if isinstance(item, list):
        tag, value = item
        return {"type": _EXTENSION_NAMES.get(tag, str(tag)), "value": value}
    return dict(item)
