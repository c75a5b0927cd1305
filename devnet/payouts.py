"""The virtual operations a block pushes outside its transactions: the producer's reward and comment cashouts.

Order and fields are hived's (openhive-network/hive at 1584099c): ``database::_apply_block``
(``libraries/chain/database.cpp``) runs ``process_funds`` (``producer_reward_operation`` for the block's
witness, in VESTS) before ``process_comment_cashout``; for each comment cashing out,
``cashout_comment_helper`` (``libraries/chain/database_comment.cpp``) pushes one ``curation_reward_operation``
per paid curator, one ``comment_benefactor_reward_operation`` per beneficiary, the ``author_reward_operation``,
the ``comment_reward_operation``, then (for every comment cashing out, rewarded or not) the
``comment_payout_update_operation``.

A comment cashes out in the block whose time is its creation + 7 days (:data:`~devnet.source.PAYOUT_SECONDS`),
if it still exists then with that creation time (a comment deleted before — or deleted and created again —
does not pay out for the old creation); it pays once. Comments are the generated chain's (found from the
block 7 days earlier) and the ledger's (created by broadcasts); a recorded chain has no cashouts here.

The reward model is the devnet's, not hived's curve, and deterministic:

- each upvote the comment holds at cashout (weight > 0, the latest vote per voter) is worth
  ``(1 + mix(seed, voter) % 1000) * weight // 10000`` milli-HIVE (:func:`vote_worth`);
- half the total goes to the curators, each by its vote's share, rounded down (in vote order, not hived's
  weight order); what rounding leaves goes to the author, as hived forwards the curation remainder; a comment
  with ``allow_curation_rewards`` false pays its curators nothing, and one whose ``max_accepted_payout`` is 0
  pays nothing at all;
- each beneficiary takes ``weight / 10000`` of the author's part, the author keeps the rest; each part is
  split by ``percent_hbd`` as hived does (``percent_hbd / 20000`` of it as HBD, the rest as VESTS);
- HIVE becomes HBD at the median price ``database_api.get_feed_history`` serves and VESTS at the
  ``total_vesting_fund_hive`` / ``total_vesting_shares`` of the DGP the node serves (:data:`PRICES`);
- a generated comment has hived's default options (``percent_hbd`` 10000, no beneficiaries): its
  ``comment_options_operation`` is drawn with its block and is not read back (too slow for range reads);
- the producer's reward is :data:`PRODUCER_REWARD` milli-HIVE a block, as VESTS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from devnet.evaluators import Key, Options
from devnet.generator import ChainGenerator
from devnet.head import BLOCK_INTERVAL
from devnet.ledger import Ledger
from devnet.rand import mix
from devnet.source import PAYOUT_SECONDS, ChainSource, VoteState
from devnet.world import CommentRef

PAYOUT_BLOCKS = PAYOUT_SECONDS // BLOCK_INTERVAL
"""A comment created in block ``b`` cashes out in block ``b + PAYOUT_BLOCKS``."""
PRODUCER_REWARD = 488
"""milli-HIVE a block's witness is paid (about mainnet's 2025 figure), as VESTS."""
_WORTH = 0xD0
_HUNDRED_PERCENT = 10_000


@dataclass(frozen=True, slots=True)
class Prices:
    """The chain figures the node serves, that convert HIVE into HBD and VESTS (satoshis)."""

    vesting_fund: int  # total_vesting_fund_hive, 0.001 HIVE
    vesting_shares: int  # total_vesting_shares, 0.000001 VESTS
    median_base: int  # current_median_history.base, 0.001 HBD
    median_quote: int  # current_median_history.quote, 0.001 HIVE

    def vests(self, hive: int) -> int:
        return hive * self.vesting_shares // self.vesting_fund

    def hbd(self, hive: int) -> int:
        return hive * self.median_base // self.median_quote


PRICES = Prices(146_920_345_731, 254_470_106_742_109_347, 230, 1000)
"""What the node's ``get_dynamic_global_properties`` and ``get_feed_history`` answer."""


@dataclass(frozen=True, slots=True)
class Cashout:
    """A comment cashing out: who voted (latest vote per voter) and its options."""

    author: str
    permlink: str
    votes: tuple[VoteState, ...]
    options: Options = field(default_factory=Options)


@lru_cache(maxsize=65_536)
def _voter_hash(voter: str) -> int:
    return int.from_bytes(hashlib.blake2b(voter.encode(), digest_size=8).digest(), "big")


def vote_worth(seed: int, voter: str, weight: int) -> int:
    """milli-HIVE an upvote of ``weight`` by ``voter`` adds to a comment's reward (0 for other votes)."""
    if weight <= 0:
        return 0
    return (1 + mix(seed, _WORTH, _voter_hash(voter)) % 1000) * weight // _HUNDRED_PERCENT


def block_vops(source: ChainSource, num: int, prices: Prices = PRICES) -> list[dict[str, Any]]:
    """The virtual operations block ``num`` pushes outside its transactions, in hived's order."""
    producer = {"producer": source.witness(num), "vesting_shares": vests_asset(prices.vests(PRODUCER_REWARD))}
    found = [{"type": "producer_reward_operation", "value": producer}]
    seed = _seed(source)
    for cashout in cashouts(source, num):
        found += cashout_vops(cashout, seed, prices)
    return found


def cashout_vops(cashout: Cashout, seed: int, prices: Prices) -> list[dict[str, Any]]:
    """The operations of one comment's cashout (see the module's reward model)."""
    worths = [(vote.voter, vote_worth(seed, vote.voter, vote.weight)) for vote in cashout.votes]
    total = sum(worth for _, worth in worths) if cashout.options.max_accepted_payout > 0 else 0
    where = {"author": cashout.author, "permlink": cashout.permlink}
    update = {"type": "comment_payout_update_operation", "value": where}
    if total <= 0:
        return [update]
    options = cashout.options
    curation = total // 2 if options.allow_curation_rewards else 0
    found: list[dict[str, Any]] = []
    paid = 0
    for voter, worth in worths:
        reward = curation * worth // total
        if reward > 0:
            paid += reward
            found.append(_op("curation_reward", {"curator": voter, "reward": vests_asset(prices.vests(reward)),
                                                 **where, "payout_must_be_claimed": True}))  # fmt: skip
    author_tokens = total - curation + (curation - paid)
    claimed = author_tokens + curation
    beneficiaries = 0
    for beneficiary in options.beneficiaries:
        tokens = author_tokens * int(beneficiary["weight"]) // _HUNDRED_PERCENT
        beneficiaries += tokens
        payouts = _split(tokens, options.percent_hbd, prices)
        found.append(_op("comment_benefactor_reward", {"benefactor": beneficiary["account"], **where,
                                                       **payouts, "payout_must_be_claimed": True}))  # fmt: skip
    author_tokens -= beneficiaries
    payouts = _split(author_tokens, options.percent_hbd, prices)
    found.append(_op("author_reward", {**where, **payouts, "curators_vesting_payout": vests_asset(prices.vests(curation)),
                                       "payout_must_be_claimed": True}))  # fmt: skip
    hbd_part = author_tokens * options.percent_hbd // (2 * _HUNDRED_PERCENT)
    found.append(_op("comment_reward", {
        **where, "payout": hbd_asset(prices.hbd(claimed)), "author_rewards": author_tokens,
        "total_payout_value": hbd_asset(prices.hbd(hbd_part) + prices.hbd(author_tokens - hbd_part)),
        "curator_payout_value": hbd_asset(prices.hbd(curation)),
        "beneficiary_payout_value": hbd_asset(prices.hbd(beneficiaries)),
    }))  # fmt: skip
    found.append(update)
    return found


def cashouts(source: ChainSource, num: int) -> Iterator[Cashout]:
    """The comments cashing out in block ``num``: created in block ``num - PAYOUT_BLOCKS`` and still there,
    as of block ``num - 1``, with that creation time."""
    created = num - PAYOUT_BLOCKS
    if created < 1:
        return
    ledger = source if isinstance(source, Ledger) else None
    inner = ledger.source if ledger is not None else source
    when = source.block_time(created)
    if isinstance(inner, ChainGenerator):
        for slot in inner.world.slots(created):
            head = inner.world.head(CommentRef(created, slot))
            key = (head.author, head.permlink)
            if ledger is not None and ledger.touched(key):
                found = _from_ledger(ledger, key, num, when)
                if found is not None:
                    yield found
            else:
                votes = inner.votes.votes_on(CommentRef(created, slot), num - 1)
                yield Cashout(head.author, head.permlink, votes)
    if ledger is not None:
        for key in ledger.created_in(created):
            found = _from_ledger(ledger, key, num, when)
            if found is not None:
                yield found


def _from_ledger(ledger: Ledger, key: Key, num: int, when: int) -> Cashout | None:
    state = ledger.comment(key[0], key[1], num - 1, votes=True)
    if state is None or state.created != when:
        return None
    return Cashout(key[0], key[1], state.votes, ledger.options_at(key, num - 1))


def _split(tokens: int, percent_hbd: int, prices: Prices) -> dict[str, Any]:
    """hived's split of a reward by ``percent_hbd``: HBD (printed at the median price), no HIVE, VESTS."""
    hbd_hive = tokens * percent_hbd // (2 * _HUNDRED_PERCENT)
    return {"hbd_payout": hbd_asset(prices.hbd(hbd_hive)), "hive_payout": hive_asset(0),
            "vesting_payout": vests_asset(prices.vests(tokens - hbd_hive))}  # fmt: skip


def _seed(source: ChainSource) -> int:
    inner = source.source if isinstance(source, Ledger) else source
    return inner.seed if isinstance(inner, ChainGenerator) else 0


def _op(name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": f"{name}_operation", "value": value}


def _nai(amount: int, nai: str, precision: int) -> dict[str, Any]:
    return {"amount": str(amount), "precision": precision, "nai": nai}


def hive_asset(amount: int) -> dict[str, Any]:
    return _nai(amount, "@@000000021", 3)


def hbd_asset(amount: int) -> dict[str, Any]:
    return _nai(amount, "@@000000013", 3)


def vests_asset(amount: int) -> dict[str, Any]:
    return _nai(amount, "@@000000037", 6)
