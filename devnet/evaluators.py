"""What each operation does to the chain state, as hived's evaluators (``do_apply``) judge it, as far as the
devnet keeps state: comments (create, edit, delete, options) and votes. ``custom_json``, ``transfer`` and
``claim_reward_balance`` change nothing the devnet keeps (no balances, no follows).

An evaluator reads the chain as of the block the transaction goes into (:class:`ChainState`: the
:class:`~devnet.ledger.Ledger`), including what the transaction's earlier operations did
(:class:`Pending`); it refuses with :class:`~devnet.checks.Rejected` or adds events to the pending
transaction. Nothing changes until the ledger records an accepted transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from devnet.checks import Rejected, fail
from devnet.source import PAYOUT_SECONDS, AccountState, CommentState

ROOT_POST_BLOCKS = 100  # HIVE_MIN_ROOT_COMMENT_INTERVAL: a root post needs more than 300 s since the last
MAX_DEPTH = 255  # HIVE_SOFT_MAX_COMMENT_DEPTH
DEFAULT_PAYOUT = 1_000_000_000  # 1,000,000.000 HBD, the default max_accepted_payout

Key = tuple[str, str]  # (author, permlink)
EventKind = Literal["create", "edit", "delete", "vote", "options"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something a transaction did to one comment."""

    block: int
    seq: int
    time: int
    kind: EventKind
    op: dict[str, Any]
    depth: int = 0  # create: where the new comment sits
    root: Key = ("", "")
    category: str = ""


@dataclass(slots=True)
class Options:
    max_accepted_payout: int = DEFAULT_PAYOUT
    percent_hbd: int = 10000
    allow_votes: bool = True
    allow_curation_rewards: bool = True
    beneficiaries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Pending:
    """One transaction being evaluated: what it would do, applied on top of the ledger only when accepted."""

    block: int
    time: int  # of the block it goes into: when the operations' rules are judged
    now: int  # of the head block: when expiration and RC are judged
    events: list[tuple[Key, Event]] = field(default_factory=list)
    activity: dict[str, set[str]] = field(default_factory=dict)  # account → {"create", "edit", "vote"}
    payer: str = ""
    cost: int = 0
    sequence: Iterator[int] = field(default_factory=itertools.count)  # the ledger's: orders all events

    def add(self, key: Key, kind: EventKind, op: dict[str, Any], **where: Any) -> None:
        """Record that the transaction does ``kind`` to comment ``key``."""
        self.events.append((key, Event(self.block, next(self.sequence), self.time, kind, op, **where)))

    def of(self, key: Key) -> list[Event]:
        return [event for k, event in self.events if k == key]


class ChainState(Protocol):
    """What the evaluators read: the chain as of ``pending.block``, with ``pending``'s own events applied."""

    def state(self, key: Key, pending: Pending, *, votes: bool = False) -> CommentState | None: ...

    def activity(self, account: str, pending: Pending) -> set[str]:
        """What ``account`` does in ``pending.block`` — generated, accepted or pending: "create", "edit",
        "vote"."""
        ...

    def options(self, key: Key, pending: Pending) -> Options: ...

    def made_by_broadcast(self, key: Key, pending: Pending) -> bool: ...

    def replies(self, key: Key) -> set[Key]: ...

    def root_posts(self, author: str, head: int, oldest: int) -> Iterator[tuple[int, str]]: ...

    def account(self, name: str, head: int) -> AccountState | None: ...


# -- the operations' evaluators (hived's do_apply, as far as the devnet keeps state) ---------------------------
def _comment_exists(chain: ChainState, pending: Pending, author: str, permlink: str) -> CommentState:
    state = chain.state((author, permlink), pending)
    if state is None:
        raise fail("_comment", f"Comment {author}/{permlink} doesn't exist")
    return state


def _permlink_0_1(permlink: str) -> None:
    if not 0 < len(permlink) < 256:
        raise fail("permlink.size() > HIVE_MIN_PERMLINK_LENGTH && permlink.size() < HIVE_MAX_PERMLINK_LENGTH",
                   f"Permlink is not of valid size ({len(permlink)}).")  # fmt: skip
    for char in permlink:
        if char not in "abcdefghijklmnopqrstuvwxyz0123456789-":
            raise fail("c == 'a' || … || c == '-'", f"Invalid permlink character: {char}")


def _evaluate_comment(chain: ChainState, pending: Pending, op: dict[str, Any]) -> None:
    author, permlink = op["author"], op["permlink"]
    key, parent_key = (author, permlink), (op["parent_author"], op["parent_permlink"])
    parent = _comment_exists(chain, pending, *parent_key) if op["parent_author"] else None
    if parent is not None and parent.depth >= MAX_DEPTH:
        raise fail("parent->get_depth() < depth_limit",
                   f"Comment is nested {parent.depth} posts deep, maximum depth is {MAX_DEPTH}.")  # fmt: skip
    existing = chain.state(key, pending)
    activity = chain.activity(author, pending)
    if existing is None:
        if parent is None:
            recent = chain.root_posts(author, pending.block, pending.block - ROOT_POST_BLOCKS)
            pending_roots = [
                e for k, e in pending.events if k[0] == author and e.kind == "create" and e.depth == 0
            ]
            if next(recent, None) is not None or pending_roots:
                raise fail("( _now - auth.last_root_post ) > HIVE_MIN_ROOT_COMMENT_INTERVAL",
                           "You may only post once every 5 minutes.")  # fmt: skip
        elif "create" in activity:
            raise fail("( _now - auth.last_post ) >= HIVE_MIN_REPLY_INTERVAL",
                       "You may only comment once every 3 seconds.")  # fmt: skip
        _permlink_0_1(op["parent_permlink"])
        _permlink_0_1(permlink)
        if parent is None:
            pending.add(key, "create", op, depth=0, root=key, category=op["parent_permlink"])
        else:
            root = (parent.root_author, parent.root_permlink)
            pending.add(key, "create", op, depth=parent.depth + 1, root=root, category=parent.category)
        pending.activity.setdefault(author, set()).update(("create", "edit"))
        return
    if activity & {"create", "edit"}:
        raise fail("_now - auth.last_post_edit >= HIVE_MIN_COMMENT_EDIT_INTERVAL",
                   "Can only perform one comment edit per block.")  # fmt: skip
    same_parent = (
        existing.depth == 0
        if parent is None
        else (existing.parent_author, existing.parent_permlink) == parent_key
    )
    if not same_parent:
        raise fail("_comment->get_parent_id() == parent->get_id()", "The parent of a comment cannot change.")
    pending.add(key, "edit", op)
    pending.activity.setdefault(author, set()).add("edit")


def _evaluate_comment_options(chain: ChainState, pending: Pending, op: dict[str, Any]) -> None:
    key = (op["author"], op["permlink"])
    state = _comment_exists(chain, pending, *key)
    if state.created + PAYOUT_SECONDS <= pending.time:
        raise fail("!_db.has_hardfork( HIVE_HARDFORK_1_24 )",
                   "Updating parameters for comment that is paid out is forbidden.")  # fmt: skip
    options = chain.options(key, pending)
    with_votes = chain.state(key, pending, votes=True)
    voted = with_votes is not None and bool(with_votes.votes)
    payout = int(op["max_accepted_payout"]["amount"])
    if (
        not op["allow_curation_rewards"] or not op["allow_votes"] or payout < options.max_accepted_payout
    ) and voted:
        raise fail(
            "!comment_cashout->has_votes()",
            "One of the included comment options requires the comment to have no rshares allocated to it.",
        )
    rules = (
        (
            options.allow_curation_rewards >= bool(op["allow_curation_rewards"]),
            "Curation rewards cannot be re-enabled.",
        ),
        (options.allow_votes >= bool(op["allow_votes"]), "Voting cannot be re-enabled."),
        (options.max_accepted_payout >= payout, "A comment cannot accept a greater payout."),
        (options.percent_hbd >= int(op["percent_hbd"]), "A comment cannot accept a greater percent HBD."),
    )
    for ok, text in rules:
        if not ok:
            raise fail("comment_cashout", text)
    for extension in op["extensions"]:
        if options.beneficiaries:
            raise fail("_c.get_beneficiaries().size() == 0", "Comment already has beneficiaries specified.")
        if voted:
            raise fail(
                "!_c.has_votes()", "Comment must not have been voted on before specifying beneficiaries."
            )
        for beneficiary in extension["value"]["beneficiaries"]:
            if chain.account(beneficiary["account"], pending.block) is None:
                raise fail("acc != nullptr", f'Beneficiary "{beneficiary["account"]}" must exist.')
    pending.add(key, "options", op)


def _evaluate_vote(chain: ChainState, pending: Pending, op: dict[str, Any]) -> None:
    key, voter, weight = (op["author"], op["permlink"]), op["voter"], int(op["weight"])
    state = _comment_exists(chain, pending, *key)
    if "vote" in chain.activity(voter, pending):
        raise fail("( _now - voter.last_vote_time ).to_seconds() >= HIVE_MIN_VOTE_INTERVAL_SEC",
                   "Can only vote once every 3 seconds.")  # fmt: skip
    pending.activity.setdefault(voter, set()).add("vote")
    if state.created + PAYOUT_SECONDS <= pending.time:
        return  # comment already paid: accepted, and without effect
    voted = chain.state(key, pending, votes=True)
    current = {v.voter: v.weight for v in (voted.votes if voted is not None else ())}
    if voter not in current and weight == 0:
        raise fail("o.weight != 0", "Vote weight cannot be 0.")
    if current.get(voter) == weight:
        raise fail(
            "itr->get_vote_percent() != o.weight",
            "Your current vote on this comment is identical to this vote.",
        )
    pending.add(key, "vote", op)


def _evaluate_delete_comment(chain: ChainState, pending: Pending, op: dict[str, Any]) -> None:
    key = (op["author"], op["permlink"])
    state = _comment_exists(chain, pending, *key)
    if not chain.made_by_broadcast(key, pending):
        raise Rejected("devnet: only comments made by broadcast transactions can be deleted")
    children = chain.replies(key)
    if any(chain.state(child, pending) is not None for child in children):
        raise fail("!comment_cashout->has_replies()", "Cannot delete a comment with replies.")
    if state.created + PAYOUT_SECONDS <= pending.time:
        raise fail("comment_cashout", "Cannot delete comment after payout.")
    voted = chain.state(key, pending, votes=True)
    if voted is not None and sum(v.weight for v in voted.votes) > 0:
        raise fail(
            "comment_cashout->get_net_rshares() <= 0", "Cannot delete a comment with net positive votes."
        )
    pending.add(key, "delete", op)


def _evaluate_nothing(chain: ChainState, pending: Pending, op: dict[str, Any]) -> None:
    """custom_json, transfer, claim_reward_balance: the devnet keeps no balances or follow state."""


EVALUATORS: dict[str, Callable[[ChainState, Pending, dict[str, Any]], None]] = {
    "comment": _evaluate_comment,
    "comment_options": _evaluate_comment_options,
    "vote": _evaluate_vote,
    "delete_comment": _evaluate_delete_comment,
    "custom_json": _evaluate_nothing,
    "transfer": _evaluate_nothing,
    "claim_reward_balance": _evaluate_nothing,
}
