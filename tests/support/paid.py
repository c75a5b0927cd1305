"""An independent recount of the payout family over a block range, from a node's raw answers: plain
JSON-RPC over urllib (not the bot's chain adapter), ``enum_virtual_ops`` without a filter in ranges of 100
blocks, each reward valued by the history recount's exact fractions (:func:`tests.support.recount.
recount_payout`, not :mod:`bot.payouts`)."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from typing import Any

from bot.metrics import Metric
from tests.support.recount import PAYEES, figures_of, recount_payout


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


def paid(url: str, first: int, last: int) -> Counter[str]:
    """What blocks ``first`` … ``last`` paid each account, in 0.001 HP, at the node's figures now."""
    figures = figures_of(
        rpc(url, "database_api.get_dynamic_global_properties", {}),
        rpc(url, "database_api.get_feed_history", {}),
    )
    total: Counter[str] = Counter()
    for begin in range(first, last + 1, 100):
        params = {"block_range_begin": begin, "block_range_end": min(begin + 100, last + 1)}
        for entry in rpc(url, "account_history_api.enum_virtual_ops", params)["ops"]:
            op = entry["op"]
            if op["type"] in PAYEES and (worth := recount_payout(op, figures)):
                total[op["value"][PAYEES[op["type"]]]] += worth
    return total


def with_payouts(counts: dict[str, dict[Metric, int]], payouts: Counter[str]) -> dict[str, dict[Metric, int]]:
    """``counts`` (a recount of the other families) with each account's ``payouts`` added."""
    merged = {account: dict(values) for account, values in counts.items()}
    for account, value in payouts.items():
        merged.setdefault(account, dict.fromkeys(Metric, 0))[Metric.PAYOUT] = value
    return merged
