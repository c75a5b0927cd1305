"""An independent recount of the payout family from a node's raw answers, written apart from bot.payouts and
bot.chain on purpose: plain JSON-RPC over urllib, ``enum_virtual_ops`` without a filter in ranges of 100
blocks, and the worth of each reward in decimal arithmetic (each part rounded down to 0.001 HP)."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any

from bot.metrics import Metric

RECEIVER = {
    "author_reward_operation": "author",
    "curation_reward_operation": "curator",
    "comment_benefactor_reward_operation": "benefactor",
}
"""Each reward and the field naming whom it pays."""


def rpc(url: str, method: str, params: Any) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        reply = json.loads(answer.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def decimal(asset: dict[str, Any]) -> Decimal:
    return Decimal(int(asset["amount"])).scaleb(-int(asset["precision"]))


def hp(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"), rounding=ROUND_FLOOR)


def paid(url: str, first: int, last: int) -> Counter[str]:
    """What blocks ``first`` … ``last`` paid each account, in 0.001 HP, at the node's figures now (exact:
    60 digits hold any product of two amounts)."""
    with localcontext(prec=60):
        return _paid(url, first, last)


def _paid(url: str, first: int, last: int) -> Counter[str]:
    props = rpc(url, "database_api.get_dynamic_global_properties", {})
    median = rpc(url, "database_api.get_feed_history", {})["current_median_history"]
    fund, shares = decimal(props["total_vesting_fund_hive"]), decimal(props["total_vesting_shares"])
    quote, base = decimal(median["quote"]), decimal(median["base"])
    total: Counter[str] = Counter()
    for begin in range(first, last + 1, 100):
        end = min(begin + 100, last + 1)
        answer = rpc(
            url, "account_history_api.enum_virtual_ops", {"block_range_begin": begin, "block_range_end": end}
        )
        for entry in answer["ops"]:
            kind, value = entry["op"]["type"], entry["op"]["value"]
            if kind not in RECEIVER:
                continue
            if kind == "curation_reward_operation":
                worth = hp(decimal(value["reward"]) * fund / shares)
            else:
                worth = (
                    decimal(value["hive_payout"])
                    + hp(decimal(value["vesting_payout"]) * fund / shares)
                    + hp(decimal(value["hbd_payout"]) * quote / base)
                )
            if worth:
                total[value[RECEIVER[kind]]] += int(worth * 1000)
    return total


def with_payouts(counts: dict[str, dict[Metric, int]], payouts: Counter[str]) -> dict[str, dict[Metric, int]]:
    """``counts`` (a recount of the other families) with each account's ``payouts`` added."""
    merged = {account: dict(values) for account, values in counts.items()}
    for account, value in payouts.items():
        merged.setdefault(account, dict.fromkeys(Metric, 0))[Metric.PAYOUT] = value
    return merged
