"""Payouts: the rewards an account receives, and what they are worth in HP. Pure functions only.

The ``payout`` family counts, for each account, the HP worth of three virtual operations hived emits when a
comment pays out (``libraries/chain/database_comment.cpp``, openhive-network/hive 1.28.7):

- ``author_reward_operation`` — to ``author``: its ``hbd_payout`` + ``hive_payout`` + ``vesting_payout``
  (its ``curators_vesting_payout`` is the curators' share, counted for each curator by their own operation);
- ``curation_reward_operation`` — to ``curator``: its ``reward`` (VESTS);
- ``comment_benefactor_reward_operation`` — to ``benefactor``: its ``hbd_payout`` + ``hive_payout`` +
  ``vesting_payout`` (the author's history holds it too: it is not the author's).

A reward that must be claimed (``payout_must_be_claimed``) counts when it is paid into the reward balance:
it is received then, whether or not it is claimed later.

What a payout is worth, in 0.001 HP (:data:`bot.metrics.PAYOUT_UNIT`): its HIVE, plus its VESTS at the
vesting fund's price (``total_vesting_fund_hive / total_vesting_shares``), plus its HBD at the median price
feed (``current_median_history``: the price hived pays HBD at), each part rounded down to 0.001 as hived's
``asset * price`` rounds. The figures are the chain's at the time the bot reads the batch the payout is in
(see :class:`Prices`); once converted, a payout's worth is kept: a count never goes down when HBD's price
does.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from bot.metrics import Metric


class PayoutKind(enum.StrEnum):
    AUTHOR = "author_reward_operation"
    CURATION = "curation_reward_operation"
    BENEFACTOR = "comment_benefactor_reward_operation"


@dataclass(frozen=True, slots=True)
class Payout:
    """One reward paid to ``account``, as the virtual operation says it: amounts in the chain's satoshis
    (HBD and HIVE in 0.001, VESTS in 0.000001)."""

    account: str
    kind: PayoutKind
    hbd: int = 0
    hive: int = 0
    vests: int = 0


@dataclass(frozen=True, slots=True)
class Prices:
    """The chain's figures that turn HBD and VESTS into HIVE, in satoshis: the vesting fund
    (``total_vesting_fund_hive``, 0.001 HIVE) and its shares (``total_vesting_shares``, 0.000001 VESTS) from
    ``database_api.get_dynamic_global_properties``, and the median price feed (``current_median_history``
    of ``database_api.get_feed_history``: ``base`` 0.001 HBD for ``quote`` 0.001 HIVE).

    Nodes serve these as they are now, not as they were at a past block: the bot reads them with each batch
    (right after the batch's payouts), so a bot that follows the head converts a payout with the figures of
    about a minute after it (the vesting price moves by a few parts in a billion per block, the median at
    most once an hour); a batch read later (catching up, or a lifetime baseline from history) is converted
    with the figures of the time it is read. Every figure is positive (the chain adapter checks)."""

    vesting_fund: int
    vesting_shares: int
    median_base: int
    median_quote: int

    def __post_init__(self) -> None:
        for name in ("vesting_fund", "vesting_shares", "median_base", "median_quote"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")


def worth(payout: Payout, prices: Prices) -> int:
    """What ``payout`` is worth in 0.001 HP: each part converted to HIVE as hived converts (rounded down)."""
    vested = payout.vests * prices.vesting_fund // prices.vesting_shares
    from_hbd = payout.hbd * prices.median_quote // prices.median_base
    return payout.hive + vested + from_hbd


def count_payouts(payouts: Iterable[Payout], prices: Prices) -> Counter[tuple[str, Metric]]:
    """Each account's payout count increment for ``payouts`` (accounts whose payouts are worth nothing
    are left out)."""
    increments: Counter[tuple[str, Metric]] = Counter()
    for payout in payouts:
        value = worth(payout, prices)
        if value:
            increments[(payout.account, Metric.PAYOUT)] += value
    return increments


# -- what nodes answer -------------------------------------------------------------------------------------

HBD, HIVE, VESTS = ("@@000000013", 3), ("@@000000021", 3), ("@@000000037", 6)
"""The (nai, precision) of each asset in the answers of ``account_history_api`` and ``database_api``."""

PRODUCER_REWARD = "producer_reward_operation"
"""The virtual operation hived emits in every block (to its producer, ``database::get_producer_reward``),
from block 1 on: the proof that a node's answer covers a block (see :class:`VirtualOpsPage`)."""

VOPS_FILTER = 0x2 | 0x4 | 0x2000 | 0x4000
"""``enum_virtual_ops``'s ``filter`` for author_reward, curation_reward, comment_benefactor_reward and
producer_reward (hived's ``enum_vops_filter``, ``account_history_api.hpp``)."""


@dataclass(frozen=True, slots=True)
class VirtualOpsPage:
    """One answer of ``account_history_api.enum_virtual_ops``: the payouts it holds (in chain order), the
    blocks whose ``producer_reward_operation`` it holds, and where the next page starts
    (``next_block_range_begin``, ``next_operation_begin``: hived's rocksdb plugin sets the operation when
    the ``limit`` cut the answer short, else 0 and the first block after the range with a virtual
    operation, or 0 when the node has none yet)."""

    payouts: tuple[Payout, ...]
    produced: frozenset[int]
    next_block: int
    next_operation: int


def parse_virtual_ops(raw: bytes) -> VirtualOpsPage:
    """``enum_virtual_ops``'s result (JSON bytes) → a page. Other operations are skipped; an answer not
    shaped as hived's raises ValueError naming what is wrong."""
    try:
        page = _PAGE.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ValueError(f"enum_virtual_ops: {exc}") from None
    payouts: list[Payout] = []
    produced: set[int] = set()
    for entry in page.ops:
        kind = entry.op.type
        if kind == PRODUCER_REWARD:
            produced.add(entry.block)
        elif kind in _PAYOUT_KINDS:
            try:
                payouts.append(payout_of(PayoutKind(kind), msgspec.json.decode(entry.op.value)))
            except (KeyError, TypeError, ValueError, msgspec.DecodeError) as exc:
                raise ValueError(f"enum_virtual_ops: block {entry.block} {kind}: {exc!r}") from None
    return VirtualOpsPage(
        tuple(payouts), frozenset(produced), page.next_block_range_begin, int(page.next_operation_begin)
    )


def parse_prices(props: Mapping[str, Any], feed: Mapping[str, Any]) -> Prices:
    """The figures from ``get_dynamic_global_properties`` and ``get_feed_history`` (decoded JSON);
    KeyError, TypeError or ValueError (a figure that is not positive, an asset of the wrong kind) when
    they are not hived's."""
    median = feed["current_median_history"]
    return Prices(
        vesting_fund=amount(props["total_vesting_fund_hive"], HIVE),
        vesting_shares=amount(props["total_vesting_shares"], VESTS),
        median_base=amount(median["base"], HBD),
        median_quote=amount(median["quote"], HIVE),
    )


def amount(asset: Mapping[str, Any], expected: tuple[str, int]) -> int:
    """The satoshis of an asset in hived's NAI form (``{"amount": "1000", "precision": 3, "nai":
    "@@000000021"}``), which must be of the ``expected`` (nai, precision)."""
    if (asset["nai"], asset["precision"]) != expected:
        raise ValueError(
            f"expected an asset {expected[0]}, got {asset['nai']} (precision {asset['precision']})"
        )
    return int(asset["amount"])


def payout_of(kind: PayoutKind, value: Mapping[str, Any]) -> Payout:
    """The payout a virtual operation's ``value`` (decoded JSON) says: whose, and its amounts."""
    if kind is PayoutKind.CURATION:
        return Payout(str(value["curator"]), kind, vests=amount(value["reward"], VESTS))
    account = value["author"] if kind is PayoutKind.AUTHOR else value["benefactor"]
    return Payout(
        str(account),
        kind,
        hbd=amount(value["hbd_payout"], HBD),
        hive=amount(value["hive_payout"], HIVE),
        vests=amount(value["vesting_payout"], VESTS),
    )


_PAYOUT_KINDS = frozenset(PayoutKind)


class _RawOp(msgspec.Struct):
    type: str
    value: msgspec.Raw = msgspec.Raw(b"null")


class _RawEntry(msgspec.Struct):
    block: int
    op: _RawOp


class _RawPage(msgspec.Struct):
    ops: list[_RawEntry] = []
    next_block_range_begin: int = 0
    next_operation_begin: int | str = 0


_PAGE = msgspec.json.Decoder(_RawPage)
