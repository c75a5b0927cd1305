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
from collections.abc import Iterable
from dataclasses import dataclass

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
