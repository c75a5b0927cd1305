"""Lifetime counts from an account's history: the live counting rules, read from one page at a time. Pure.

The bot counts live from its first block S on. What an account did before S — its *baseline* — is read from
``account_history_api.get_account_history``, newest page first, with a filter for the operations that
count: ``vote``, ``comment``, ``delete_comment``, the virtual ``effective_comment_vote`` and the payouts
(``author_reward``, ``curation_reward``, ``comment_benefactor_reward``). Only entries in blocks before S are
read; S onwards is live counting's (it reads the payouts of its batches with ``enum_virtual_ops``, block by
block: the split is by block, no payout is seen by both).

The same rules as live (:mod:`bot.tallies`):

- an upvote pair (voter, author, permlink) counts once, ever, if a vote on it with weight > 0 took effect.
  The chain says which votes took effect with the virtual ``effective_comment_vote``, right after each vote
  (first vote, change or unvote) cast while the comment could still take votes, and not after a vote on a
  paid-out comment. A vote counts when its own weight is > 0 and its effective operation follows it, **in
  every era**: the operation appeared with HF24 (2020-10-14), but a node replayed with today's hived emits
  it for older votes too (hived's pattern test ``get_account_history/only_account``, @camilla in 2016: 368
  of 374 upvotes are followed by one, the other 6 were cast on comments already paid out);
- the one fallback, for a node whose history was built before HF24 and so has no effective operation
  before it: an account's upvotes before HF24 count without one **only if its whole history shows not a
  single** ``effective_comment_vote`` **before HF24**. Read newest first, that is known at the last page
  only: until a page shows one (:attr:`PageReading.effective_before_hf24`, kept with the baseline's
  progress), the upvotes before HF24 that lack theirs are set aside (:attr:`PageReading.unconfirmed`, kept
  in the store, committed with the page) and counted when the oldest page is in; once one is seen, they are
  dropped. On a replayed node this is exact unless every one of an account's votes before HF24 (given or
  received) was cast on a paid-out comment — then those few count as an old node's would. Decided per
  account's history, not per page (a page of votes all on paid-out comments would look like an old node)
  nor by probing a known mainnet account (testnets have none, and the bot may change nodes between
  accounts);
- a comment counts once per incarnation: the account's comment operations name a permlink again for an
  edit; a ``delete_comment`` ends an incarnation, and a later comment operation on the permlink is a new
  comment. Newest first, that is: the first operation met for a permlink counts, and a delete makes the
  next (older) one count again;
- a reply received counts once: hived records a ``comment_operation`` in its parent author's history too
  (``get_impacted_account_visitor`` inserts ``op.parent_author`` when it is set,
  ``libraries/chain/util/impacted.cpp``, openhive-network/hive 1925f4af), so the account's history holds the
  replies others sent it, each creation and each edit. Newest first, the first operation met for (author,
  permlink) counts, the older ones are its edits or creation. A ``delete_comment`` goes into its author's
  history only (the visitor's default: the required posting authority), so the parent's history cannot tell
  a reply deleted and created again under the same permlink from an edit: the baseline counts it once, where
  live counting, which sees the delete, counts it twice;
- self-votes count unless the config says otherwise;
- a payout counts for the account it pays (:func:`bot.payouts.payout_of`): ``author_reward`` its author's,
  ``curation_reward`` its curator's, ``comment_benefactor_reward`` its benefactor's. hived writes a
  benefactor reward into the author's history too (``forward_impacted.cpp`` inserts ``op.benefactor`` and
  ``op.author``, openhive-network/hive 1584099c): there it is the beneficiary's money, not the author's, and
  does not count. Every payout operation is one payment: none is deduplicated. Its worth, in 0.001 HP, is
  :func:`bot.payouts.worth` with the figures the caller read (:class:`PayoutSighting`; when the baseline
  job reads them, :mod:`bot.baseline_job`).

Reading newest first, a vote's effective operation (one index higher) is met before the vote itself,
possibly on the page before: those not yet matched are carried to the next page (:attr:`PageReading.carry`).
Deduplication across pages needs memory proportional to the account's distinct pairs and comments: the
caller keeps it in the store, so a page needs memory for one page only. This module only says what each
page shows, in the order it must be applied.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import ChainDataError
from bot.operations import parse_timestamp
from bot.payouts import Payout, PayoutKind, Prices, payout_of, worth

HF24_TIME = parse_timestamp("2020-10-14T14:00:00")
"""HF24: from here on every node's history has ``effective_comment_vote``; before it, only a replayed one's."""

VOTE, COMMENT, DELETE_COMMENT, EFFECTIVE_COMMENT_VOTE = 0, 1, 17, 72
AUTHOR_REWARD, CURATION_REWARD, COMMENT_BENEFACTOR_REWARD = 51, 52, 63
"""hived's operation type ids (their order in ``hive::protocol::operation``, HF28; the payouts' bits as
``get_account_history_op_filter_low`` has them, ``account_history_api.hpp``)."""
FILTER_LOW = (
    1 << VOTE
    | 1 << COMMENT
    | 1 << DELETE_COMMENT
    | 1 << AUTHOR_REWARD
    | 1 << CURATION_REWARD
    | 1 << COMMENT_BENEFACTOR_REWARD
)
FILTER_HIGH = 1 << (EFFECTIVE_COMMENT_VOTE - 64)
MAX_PAGE = 1000
"""hived's limit of entries per ``get_account_history`` call."""

VoteKey = tuple[str, str, str, int]
"""(voter, author, permlink, block): one vote, and the effective operation that follows it in its block."""


class Side(enum.StrEnum):
    AUTHOR = "author"  # the pair counts in the author's upvotes_received
    VOTER = "voter"  # … and in the voter's upvotes_given


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    index: int
    block: int
    time: int
    kind: str  # "vote" | "comment" | "delete_comment" | "effective_comment_vote" | a PayoutKind's value
    value: Mapping[str, Any]
    payout: Payout | None = None
    """What a payout operation pays, and to whom (:func:`bot.payouts.payout_of`)."""


@dataclass(frozen=True, slots=True)
class PairSighting:
    """An upvote that took effect, seen from ``side`` (the account's own side of the pair)."""

    side: Side
    author: str
    permlink: str
    voter: str
    time: int


@dataclass(frozen=True, slots=True)
class CommentSighting:
    permlink: str
    is_root: bool


@dataclass(frozen=True, slots=True)
class CommentDeleted:
    permlink: str


@dataclass(frozen=True, slots=True)
class ReplySighting:
    """A comment operation by another account under one of the account's comments: a reply or its edit."""

    author: str
    permlink: str


@dataclass(frozen=True, slots=True)
class PayoutSighting:
    """A payout to the account, worth ``worth`` 0.001 HP with the figures the page was read with."""

    kind: PayoutKind
    worth: int


Sighting = PairSighting | CommentSighting | CommentDeleted | ReplySighting | PayoutSighting


@dataclass(frozen=True, slots=True)
class PageReading:
    sightings: tuple[Sighting, ...]
    """What the page shows, newest first: the order to apply it in."""
    carry: frozenset[VoteKey]
    """Effective operations met whose vote is on an older page."""
    lowest: int | None
    """The lowest index on the page (``None``: an empty page, the history has no entry at or below start)."""
    effective_before_hf24: bool = False
    """This page or a newer one shows an ``effective_comment_vote`` before HF24: the node emits them in
    every era, and no vote counts without its own."""
    unconfirmed: tuple[PairSighting, ...] = ()
    """Upvotes before HF24 without their effective operation, while the history has shown none before HF24:
    they count only if the oldest page is reached without one (an old node)."""
    oldest: bool = False
    """No counted entry is left below this page (:func:`is_oldest_page`, or the page reached index 0 or was
    empty): the baseline is complete."""


_KINDS = {
    "vote_operation": "vote",
    "comment_operation": "comment",
    "delete_comment_operation": "delete_comment",
    "effective_comment_vote_operation": "effective_comment_vote",
} | {kind.value: kind.value for kind in PayoutKind}
_PAYOUT_KINDS = frozenset(kind.value for kind in PayoutKind)


def parse_history(raw: Any, account: str) -> list[HistoryEntry]:
    """``get_account_history``'s ``history`` list → entries, ascending; other operation types are dropped
    (a node that ignores the filter costs bandwidth, not correctness)."""
    if not isinstance(raw, list):
        raise ChainDataError(
            f"history of @{account}: expected a list of [index, entry], got {type(raw).__name__}"
        )
    entries = []
    for position, item in enumerate(raw):
        where = f"history of @{account}, item {position}"
        try:
            index, entry = item
            op = entry["op"]
            kind = _KINDS.get(op["type"])
            if kind is None:
                continue
            value = op["value"]
            payout = payout_of(PayoutKind(kind), value) if kind in _PAYOUT_KINDS else None
            entries.append(
                HistoryEntry(
                    int(index), int(entry["block"]), parse_timestamp(entry["timestamp"]), kind, value, payout
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ChainDataError(f"{where}: malformed entry ({exc!r})") from None
    return sorted(entries, key=lambda entry: entry.index)


def read_page(
    entries: Sequence[HistoryEntry],
    account: str,
    *,
    before_block: int,
    prices: Prices,
    carry: Iterable[VoteKey] = (),
    effective_before_hf24: bool = False,
    count_self_votes: bool = True,
    oldest: bool = False,
    lowest: int | None = None,
) -> PageReading:
    """What one page of ``account``'s history adds to its baseline: entries in blocks before
    ``before_block`` only, newest first (payouts worth what ``prices`` say), with ``carry`` and
    ``effective_before_hf24`` from the newer pages;
    ``oldest``: the node said no entry the filter takes is left below the page (:func:`is_oldest_page`);
    ``lowest``: the lowest index the node returned (:func:`index_span`), where the next page starts below —
    by default the lowest of ``entries``, which is the same unless the node ignored the filter."""
    counted = [entry for entry in entries if entry.block < before_block]
    effective_before_hf24 = effective_before_hf24 or any(
        entry.kind == "effective_comment_vote" and entry.time < HF24_TIME for entry in counted
    )
    effective = set(carry)
    sightings: list[Sighting] = []
    unconfirmed: list[PairSighting] = []
    for entry in sorted(counted, key=lambda e: e.index, reverse=True):
        value = entry.value
        if entry.kind == "effective_comment_vote":
            effective.add((str(value["voter"]), str(value["author"]), str(value["permlink"]), entry.block))
        elif entry.kind == "vote":
            took_effect = _took_effect(entry, effective)
            sides = _upvote(entry, account, count_self_votes)
            if took_effect:
                sightings.extend(sides)
            elif entry.time < HF24_TIME and not effective_before_hf24:
                unconfirmed.extend(sides)
        elif entry.kind == "comment" and value["author"] == account:
            sightings.append(CommentSighting(str(value["permlink"]), value["parent_author"] == ""))
        elif entry.kind == "comment" and value["parent_author"] == account:  # by another: a reply received
            sightings.append(ReplySighting(str(value["author"]), str(value["permlink"])))
        elif entry.kind == "delete_comment" and value["author"] == account:
            sightings.append(CommentDeleted(str(value["permlink"])))
        elif entry.payout is not None and entry.payout.account == account:  # not a beneficiary's
            sightings.extend(_paid(entry.payout, prices))
    oldest_block = min((entry.block for entry in entries), default=None)
    if oldest_block is not None:  # a vote is in its effective operation's block: older pages cannot hold it
        effective = {key for key in effective if key[3] <= oldest_block}
    if lowest is None:
        lowest = min((e.index for e in entries), default=None)
    return PageReading(
        tuple(sightings),
        frozenset(effective),
        lowest,
        effective_before_hf24,
        tuple(unconfirmed),
        oldest or lowest is None or lowest == 0,
    )


def _paid(payout: Payout, prices: Prices) -> list[PayoutSighting]:
    """The account's own ``payout``, unless it is worth nothing."""
    paid = worth(payout, prices)
    return [PayoutSighting(payout.kind, paid)] if paid else []


def _took_effect(vote: HistoryEntry, effective: set[VoteKey]) -> bool:
    """Whether ``vote``'s effective operation (met before it, newest first) follows it; consumed."""
    value = vote.value
    key = (str(value["voter"]), str(value["author"]), str(value["permlink"]), vote.block)
    found = key in effective
    effective.discard(key)
    return found


def _upvote(vote: HistoryEntry, account: str, count_self_votes: bool) -> list[PairSighting]:
    """The account's sides of ``vote`` if it is an upvote that counts should it have taken effect."""
    value = vote.value
    voter, author, permlink = str(value["voter"]), str(value["author"]), str(value["permlink"])
    if int(value["weight"]) <= 0 or (voter == author and not count_self_votes):
        return []
    sides = [side for side, name in ((Side.AUTHOR, author), (Side.VOTER, voter)) if name == account]
    return [PairSighting(side, author, permlink, voter, vote.time) for side in sides]


def index_span(raw: Sequence[Any]) -> tuple[int, int] | None:
    """The lowest and highest index of a ``get_account_history`` answer already read by :func:`parse_history`,
    entries of every type (``None``: empty). A node that ignores the filter returns types the bot does not
    count: the next page still starts below the lowest index it returned, not the lowest it counted."""
    indices = [int(item[0]) for item in raw]
    return (min(indices), max(indices)) if indices else None


def is_oldest_page(returned: int, limit: int) -> bool:
    """Whether a page of ``returned`` entries, asked with ``limit``, is the history's oldest (for the filter).

    A filtered ``get_account_history`` counts only the entries the filter takes against ``limit``, walking
    back from ``start`` as far as it must (hived's pattern tests, openhive-network/hive 1584099c,
    ``tests/python/api_tests/pattern_tests/tavern/account_history_api_patterns/get_account_history/``:
    ``effective_comment_vote_operation`` asks 34 from index 4000 of @blocktrades and gets 34 spread over
    indices 2166-3963; ``only_high_filter`` and ``low_filter_is_not_0_high_is_0`` ask 30 from index 50 of
    @gtg and get 24, the lowest at index 4 and 3: nothing of those types below). So fewer than asked means
    none is left below the page — the check that ends a baseline on mainnet, whose entry 0 is the account's
    creation (pattern ``camilla``), never taken by the filter: without it, every account would cost one
    more, empty, call.

    ``returned`` counts every entry the node returned, those the job then leaves aside too (in blocks from
    live counting's first on, of types it does not count). A node that ignores the filter counts every
    entry against ``limit`` and returns fewer only when it reaches entry 0: fewer than asked means the
    oldest page for it too."""
    return returned < limit


def next_request(next_start: int | None, page_size: int) -> tuple[int, int]:
    """``(start, limit)`` of the next call: the newest page first (start -1), then below ``next_start``;
    hived wants ``start >= limit - 1``."""
    if next_start is None:
        return -1, page_size
    return next_start, min(page_size, next_start + 1)
