"""The counting rules, table-driven over hand-made blocks."""

from collections import Counter
from collections.abc import Mapping, Set
from typing import Any

import pytest

from bot.metrics import Metric
from bot.operations import CommentKey, parse_blocks
from bot.tallies import (
    PAYOUT_WINDOW,
    CountedVote,
    CountingRules,
    Tally,
    count_blocks,
    referenced_comments,
    upvote_pairs,
)
from tests.support.blocks import DAY, block, delete, post, reply, time_of, vote

R, G, P, C, Y = Metric.UPVOTES_RECEIVED, Metric.UPVOTES_GIVEN, Metric.POSTS, Metric.COMMENTS, Metric.REPLIES


def count(
    *raw_blocks: dict[str, Any],
    created: Mapping[CommentKey, int | None] | None = None,
    counted: Set[CountedVote] = frozenset(),
    self_votes: bool = True,
) -> Tally:
    blocks = parse_blocks(raw_blocks)
    return count_blocks(blocks, created or {}, counted, CountingRules(count_self_votes=self_votes))


def test_upvote_on_fresh_post_counts_for_author_and_voter() -> None:
    tally = count(block(1, post("alice", "p")), block(2, vote("bob", "alice", "p")))
    assert tally.increments == Counter({("alice", P): 1, ("alice", R): 1, ("bob", G): 1})


@pytest.mark.parametrize("weight", [0, -10000, -1])
def test_downvotes_and_unvotes_never_count(weight: int) -> None:
    tally = count(block(1, post("alice", "p")), block(2, vote("bob", "alice", "p", weight)))
    assert tally.increments == Counter({("alice", P): 1})


def test_partial_upvote_counts() -> None:
    tally = count(block(1, post("alice", "p")), block(2, vote("bob", "alice", "p", 1)))
    assert tally.increments[("alice", R)] == 1


def test_changed_vote_counts_once() -> None:
    tally = count(
        block(1, post("alice", "p")),
        block(2, vote("bob", "alice", "p", 5000)),
        block(3, vote("bob", "alice", "p", 10000)),
    )
    assert tally.increments[("alice", R)] == 1
    assert tally.increments[("bob", G)] == 1


def test_unvote_then_new_upvote_does_not_count_again() -> None:
    tally = count(
        block(1, post("alice", "p")),
        block(2, vote("bob", "alice", "p")),
        block(3, vote("bob", "alice", "p", 0)),
        block(4, vote("bob", "alice", "p")),
    )
    assert tally.increments[("alice", R)] == 1


def test_downvote_then_upvote_counts_once() -> None:
    tally = count(
        block(1, post("alice", "p")),
        block(2, vote("bob", "alice", "p", -5000)),
        block(3, vote("bob", "alice", "p", 5000)),
    )
    assert tally.increments[("alice", R)] == 1


def test_pair_counted_in_an_earlier_batch_does_not_count_again() -> None:
    tally = count(
        block(50, vote("bob", "alice", "p")),
        created={("alice", "p"): time_of(1)},
        counted={(("alice", "p"), "bob")},
    )
    assert not tally.increments


def test_vote_on_paid_out_post_is_not_counted() -> None:
    created = time_of(1)
    paid_out = created + PAYOUT_WINDOW
    tally = count(block(10, vote("bob", "alice", "p"), time=paid_out), created={("alice", "p"): created})
    assert not tally.increments


def test_vote_one_second_before_payout_counts() -> None:
    created = time_of(1)
    tally = count(
        block(10, vote("bob", "alice", "p"), time=created + PAYOUT_WINDOW - 1),
        created={("alice", "p"): created},
    )
    assert tally.increments[("alice", R)] == 1


def test_vote_on_comment_of_unknown_creation_time_is_not_counted_and_reported() -> None:
    tally = count(block(5, vote("bob", "alice", "gone")), created={("alice", "gone"): None})
    assert not tally.increments
    assert tally.unresolved_votes == 1


def test_self_votes_count_unless_configured_off() -> None:
    blocks = (block(1, post("alice", "p")), block(2, vote("alice", "alice", "p")))
    assert count(*blocks).increments[("alice", R)] == 1
    assert count(*blocks, self_votes=False).increments[("alice", R)] == 0


def test_root_post_and_reply_count_separately() -> None:
    tally = count(block(1, post("alice", "p")), block(2, reply("bob", "re-p", "alice", "p")))
    assert tally.increments == Counter({("alice", P): 1, ("bob", C): 1, ("alice", Y): 1})


BEFORE = {("alice", "p"): time_of(1), ("bob", "r"): time_of(2)}
"""Comments that exist before the batches below: alice's post and bob's reply to it."""


@pytest.mark.parametrize(
    ("blocks", "replies"),
    [
        pytest.param([reply("bob", "r2", "alice", "p")], {"alice": 1}, id="a new reply by another counts"),
        pytest.param([reply("alice", "r2", "alice", "p")], {}, id="a self-reply does not"),
        pytest.param([reply("bob", "r", "alice", "p")], {}, id="an edit of a reply does not"),
        pytest.param(
            [reply("bob", "r2", "alice", "p"), reply("bob", "r2", "alice", "p")],
            {"alice": 1},
            id="a reply and its edit in one batch count once",
        ),
        pytest.param(
            [reply("carol", "r3", "bob", "r")], {"bob": 1}, id="a reply to a comment counts for its author"
        ),
        pytest.param([post("alice", "p2")], {}, id="a root post is nobody's reply"),
        pytest.param(
            [reply("bob", "r2", "alice", "p"), delete("bob", "r2")],
            {"alice": 1},
            id="a deleted reply stays counted",
        ),
        pytest.param(
            [delete("bob", "r"), reply("bob", "r", "alice", "p")],
            {"alice": 1},
            id="a reply deleted and created again is a new reply",
        ),
        pytest.param(
            [reply("hive-badge-bot", "badge-posts-1-alice", "alice", "p")],
            {"alice": 1},
            id="the bot's own reply counts like anyone's",
        ),
    ],
)
def test_replies_received(blocks: list[dict[str, Any]], replies: dict[str, int]) -> None:
    tally = count(*(block(3 + i, op) for i, op in enumerate(blocks)), created=BEFORE)
    assert {account: n for (account, metric), n in tally.increments.items() if metric is Y} == replies


def test_edit_in_the_same_batch_does_not_count() -> None:
    tally = count(block(1, post("alice", "p")), block(2, post("alice", "p", "@@ -1,5 +1,6 @@\n hello!")))
    assert tally.increments == Counter({("alice", P): 1})


def test_edit_of_a_comment_created_before_the_batch_does_not_count() -> None:
    tally = count(block(9, reply("bob", "r", "alice", "p")), created={("bob", "r"): time_of(2)})
    assert not tally.increments


def test_edit_of_a_comment_older_than_a_week_does_not_count() -> None:
    tally = count(
        block(9, post("alice", "p"), time=time_of(1) + 30 * DAY), created={("alice", "p"): time_of(1)}
    )
    assert not tally.increments


def test_comment_whose_looked_up_creation_is_its_own_block_is_new() -> None:
    tally = count(block(9, post("alice", "p")), created={("alice", "p"): time_of(9)})
    assert tally.increments == Counter({("alice", P): 1})
    assert tally.created == {("alice", "p"): time_of(9)}


def test_comment_deleted_and_created_again_is_a_new_comment_with_new_votes() -> None:
    tally = count(
        block(1, post("alice", "p")),
        block(2, vote("bob", "alice", "p")),
        block(3, delete("alice", "p")),
        block(4, post("alice", "p")),
        block(5, vote("bob", "alice", "p")),
    )
    assert tally.increments[("alice", P)] == 2
    assert tally.increments[("alice", R)] == 2
    assert tally.created == {("alice", "p"): time_of(4)}
    assert tally.counted_votes == {(("alice", "p"), "bob")}
    assert tally.deleted == {("alice", "p")}


def test_vote_in_the_same_block_as_the_post_counts() -> None:
    tally = count(block(1, post("alice", "p"), vote("bob", "alice", "p")))
    assert tally.increments[("alice", R)] == 1


def test_batch_reports_what_it_needs_to_know() -> None:
    blocks = parse_blocks(
        [block(1, post("alice", "p"), vote("bob", "carol", "q"), vote("dan", "carol", "q", -1))]
    )
    assert referenced_comments(blocks) == {("alice", "p"), ("carol", "q")}
    assert upvote_pairs(blocks) == {(("carol", "q"), "bob")}
