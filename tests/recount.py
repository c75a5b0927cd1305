"""An independent recount of a generated chain segment, written apart from bot.tallies on purpose.

It reads the raw block JSON and takes comment creation times from the generator (the truth), then
applies the counting rules set-wise: a pair counts if ANY of its upvotes came while the comment was
younger than 7 days; a comment operation is new if it happened at the comment's creation time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from bot.metrics import Metric
from bot.operations import parse_timestamp

WEEK = 7 * 24 * 3600


def recount(
    raw_blocks: Iterable[dict[str, Any]],
    created: Callable[[str, str], int | None],
    *,
    count_self_votes: bool = True,
) -> dict[str, dict[Metric, int]]:
    pairs: set[tuple[str, str, str]] = set()
    new_comments: set[tuple[str, str, bool]] = set()
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
                    new_comments.add((value["author"], value["permlink"], value["parent_author"] == ""))
    counts: Counter[tuple[str, Metric]] = Counter()
    for voter, author, _ in pairs:
        counts[(author, Metric.UPVOTES_RECEIVED)] += 1
        counts[(voter, Metric.UPVOTES_GIVEN)] += 1
    for author, _, is_root in new_comments:
        counts[(author, Metric.POSTS if is_root else Metric.COMMENTS)] += 1
    result: dict[str, dict[Metric, int]] = {}
    for (account, metric), value in counts.items():
        result.setdefault(account, dict.fromkeys(Metric, 0))[metric] = value
    return result
