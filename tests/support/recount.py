"""An independent recount of a generated chain segment, written apart from bot.tallies on purpose.

It reads the raw block JSON and takes comment creation times from the generator (the truth), then
applies the counting rules set-wise: a pair counts if ANY of its upvotes came while the comment was
younger than 7 days; a comment operation is new if it happened at the comment's creation time, and a new
one whose parent is another account's is a reply that account received.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bot.metrics import Metric
from bot.operations import parse_timestamp
from devnet.node import DevNode

WEEK = 7 * 24 * 3600


def recount(
    raw_blocks: Iterable[dict[str, Any]],
    created: Callable[[str, str], int | None],
    *,
    count_self_votes: bool = True,
) -> dict[str, dict[Metric, int]]:
    pairs: set[tuple[str, str, str]] = set()
    new_comments: set[tuple[str, str, str]] = set()  # author, permlink, parent author
    for block in raw_blocks:
        time = parse_timestamp(block["timestamp"])
        for transaction in block["transactions"]:
            for operation in transaction["operations"]:
                value = operation["value"]
                if operation["type"] == "vote_operation" and value["weight"] > 0:
                    born = created(value["author"], value["permlink"])
                    self_vote = value["voter"] == value["author"]
                    if born is not None and time - born < WEEK and (count_self_votes or not self_vote):
                        pairs.add((value["voter"], value["author"], value["permlink"]))
                elif (
                    operation["type"] == "comment_operation"
                    and created(value["author"], value["permlink"]) == time
                ):
                    new_comments.add((value["author"], value["permlink"], value["parent_author"]))
    counts: Counter[tuple[str, Metric]] = Counter()
    for voter, author, _ in pairs:
        counts[(author, Metric.UPVOTES_RECEIVED)] += 1
        counts[(voter, Metric.UPVOTES_GIVEN)] += 1
    for author, _, parent in new_comments:
        counts[(author, Metric.COMMENTS if parent else Metric.POSTS)] += 1
        if parent and parent != author:
            counts[(parent, Metric.REPLIES)] += 1
    result: dict[str, dict[Metric, int]] = {}
    for (account, metric), value in counts.items():
        result.setdefault(account, dict.fromkeys(Metric, 0))[metric] = value
    return result


@dataclass(frozen=True)
class Figures:
    """What one VESTS and one HBD are worth in HIVE, as the chain said when the baseline was read: exact
    fractions (a Decimal's rounding follows its thread's context, which beem sets to ROUND_DOWN when it
    signs an operation with an amount: a recount must not depend on what ran before it)."""

    hive_per_vests: Fraction
    hive_per_hbd: Fraction


def figures_of(props: Mapping[str, Any], feed: Mapping[str, Any]) -> Figures:
    """The figures from ``get_dynamic_global_properties`` and ``get_feed_history`` answers (NAI assets),
    exactly."""
    median = feed["current_median_history"]
    return Figures(
        hive_per_vests=_coins(props["total_vesting_fund_hive"]) / _coins(props["total_vesting_shares"]),
        hive_per_hbd=_coins(median["quote"]) / _coins(median["base"]),
    )


def node_figures(node: DevNode) -> Figures:
    """The figures ``node`` answers now (its API called directly, not through the bot's client)."""

    def ask(method: str) -> Any:
        return node.api.dispatch({"jsonrpc": "2.0", "id": 1, "method": method, "params": {}})

    return figures_of(ask("database_api.get_dynamic_global_properties"), ask("database_api.get_feed_history"))


def _coins(asset: Mapping[str, Any]) -> Fraction:
    return Fraction(int(asset["amount"]), 10 ** int(asset["precision"]))


def recount_payout(op: Mapping[str, Any], figures: Figures) -> int:
    """A payout operation's worth in 0.001 HP: each part in HIVE, rounded down to 0.001."""
    value = op["value"]
    if op["type"] == "curation_reward_operation":
        parts = [_coins(value["reward"]) * figures.hive_per_vests]
    else:
        parts = [
            _coins(value["hive_payout"]),
            _coins(value["vesting_payout"]) * figures.hive_per_vests,
            _coins(value["hbd_payout"]) * figures.hive_per_hbd,
        ]
    return sum(math.floor(part * 1000) for part in parts)


PAYEES = {
    "author_reward_operation": "author",
    "curation_reward_operation": "curator",
    "comment_benefactor_reward_operation": "benefactor",
}
"""Whose a payout operation is."""


def recount_history(
    entries: Iterable[dict[str, Any]], account: str, figures: Figures | None = None
) -> dict[Metric, int]:
    """An account's counts from its whole history (account_history entries, any order), set-wise: a pair
    counts if any upvote on it took effect (an effective_comment_vote in the same block, in every era; only
    when the history has no effective_comment_vote at all before HF24 — an old node — the upvotes before
    HF24 count without one), a comment once per incarnation (one more for each delete followed by a
    comment op), a reply received once per (author, permlink) under the account's comments by another
    author (the parent's history does not hold the reply's deletes), and the worth of every payout
    operation paying the account (``figures``: needed when there is one)."""
    hf24 = parse_timestamp("2020-10-14T14:00:00")
    ordered = sorted(entries, key=lambda entry: (entry["block"], entry["trx_in_block"], entry["op_in_trx"]))
    effective_ops = [e for e in ordered if e["op"]["type"] == "effective_comment_vote_operation"]
    effective = {
        (e["op"]["value"]["voter"], e["op"]["value"]["author"], e["op"]["value"]["permlink"], e["block"])
        for e in effective_ops
    }
    old_node = all(parse_timestamp(e["timestamp"]) >= hf24 for e in effective_ops)
    received: set[tuple[str, str]] = set()
    given: set[tuple[str, str]] = set()
    incarnations: Counter[tuple[str, bool]] = Counter()
    replies: set[tuple[str, str]] = set()
    alive: dict[str, bool] = {}
    payout = 0
    for e in ordered:
        kind, value = e["op"]["type"], e["op"]["value"]
        if kind in PAYEES and value[PAYEES[kind]] == account:
            if figures is None:
                raise ValueError(
                    f"@{account}'s history holds a payout: the recount needs the chain's figures"
                )
            payout += recount_payout(e["op"], figures)
        if kind == "vote_operation" and value["weight"] > 0:
            key = (value["voter"], value["author"], value["permlink"], e["block"])
            if key in effective or (old_node and parse_timestamp(e["timestamp"]) < hf24):
                if value["author"] == account:
                    received.add((value["voter"], value["permlink"]))
                if value["voter"] == account:
                    given.add((value["author"], value["permlink"]))
        elif kind == "comment_operation" and value["author"] == account and value["permlink"] not in alive:
            alive[value["permlink"]] = True
            incarnations[(value["permlink"], value["parent_author"] == "")] += 1
        elif kind == "delete_comment_operation" and value["author"] == account:
            alive.pop(value["permlink"], None)
        if kind == "comment_operation" and value["parent_author"] == account != value["author"]:
            replies.add((value["author"], value["permlink"]))
    return {
        Metric.UPVOTES_RECEIVED: len(received),
        Metric.UPVOTES_GIVEN: len(given),
        Metric.POSTS: sum(n for (_, root), n in incarnations.items() if root),
        Metric.COMMENTS: sum(n for (_, root), n in incarnations.items() if not root),
        Metric.REPLIES: len(replies),
        Metric.PAYOUT: payout,
    }
