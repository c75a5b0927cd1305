"""The payout family's rule: what a reward is worth in HP (bot.payouts).

The prices are real mainnet figures, from hived's API pattern tests (openhive-network/hive 1584099c,
tests/python/api_tests/pattern_tests/tavern/database_api_patterns/): ``get_dynamic_global_properties/get``
(block 5,000,000: total_vesting_fund_hive 149190428.013 HIVE, total_vesting_shares 448144916705.468383
VESTS) and ``get_feed_history/get`` (current_median_history 0.637 HBD for 1.000 HIVE). The curation reward
of 3952.229956 VESTS is @anonymous's on @abit/spam (account_history_api_patterns/enum_virtual_ops/
curation_reward_operation).
"""

from __future__ import annotations

import pytest

from bot.metrics import Metric
from bot.payouts import Payout, PayoutKind, Prices, count_payouts, worth

MAINNET_5M = Prices(
    vesting_fund=149_190_428_013,
    vesting_shares=448_144_916_705_468_383,
    median_base=637,
    median_quote=1000,
)


@pytest.mark.parametrize(
    ("payout", "expected"),
    [
        # 3952.229956 VESTS × 149190428.013 / 448144916705.468383 = 1.3157… HIVE: rounded down
        (Payout("anonymous", PayoutKind.CURATION, vests=3_952_229_956), 1_315),
        # 1.000 HBD at 0.637 HBD a HIVE = 1.5698… HIVE
        (Payout("abit", PayoutKind.AUTHOR, hbd=1_000), 1_569),
        # each part rounded down on its own, as hived converts each asset: 1.315 + 1.569 + 0.250
        (Payout("abit", PayoutKind.AUTHOR, hbd=1_000, hive=250, vests=3_952_229_956), 3_134),
        (Payout("pie", PayoutKind.BENEFACTOR, hive=7), 7),
        # 0.637 HBD is 1.000 HIVE exactly: not a thousandth less
        (Payout("abit", PayoutKind.AUTHOR, hbd=637), 1_000),
        # too small to be worth 0.001 HIVE: nothing
        (Payout("pie", PayoutKind.CURATION, vests=3_000), 0),
        (Payout("pie", PayoutKind.AUTHOR), 0),
    ],
)
def test_a_payout_is_worth_its_hive_its_vests_at_the_fund_price_and_its_hbd_at_the_median(
    payout: Payout, expected: int
) -> None:
    assert worth(payout, MAINNET_5M) == expected


def test_each_account_counts_what_its_payouts_are_worth_and_a_worthless_one_adds_nothing() -> None:
    payouts = [
        Payout("abit", PayoutKind.AUTHOR, hbd=1_000),
        Payout("anonymous", PayoutKind.CURATION, vests=3_952_229_956),
        Payout("abit", PayoutKind.CURATION, vests=3_952_229_956),
        Payout("pie", PayoutKind.CURATION, vests=3_000),
    ]
    assert count_payouts(payouts, MAINNET_5M) == {
        ("abit", Metric.PAYOUT): 1_569 + 1_315,
        ("anonymous", Metric.PAYOUT): 1_315,
    }


@pytest.mark.parametrize("field", ["vesting_fund", "vesting_shares", "median_base", "median_quote"])
def test_prices_must_be_positive_and_the_error_names_the_figure(field: str) -> None:
    figures = {"vesting_fund": 1, "vesting_shares": 1, "median_base": 1, "median_quote": 1, field: 0}
    with pytest.raises(ValueError, match=f"{field} must be positive"):
        Prices(**figures)
