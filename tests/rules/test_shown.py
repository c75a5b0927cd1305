"""How a count and a threshold read, for people and in JSON: a payout, kept in thousandths of HP, in HP."""

from __future__ import annotations

import pytest

from bot.metrics import PAYOUT_UNIT, Metric, Occasion, decimal, shown, shown_threshold

COUNTS = [
    # metric, count, as people read it, as JSON carries it
    (Metric.PAYOUT, 1_234_567, "1,234.567 HP", "1234.567"),
    (Metric.PAYOUT, 0, "0.000 HP", "0.000"),
    (Metric.PAYOUT, 7, "0.007 HP", "0.007"),
    (Metric.PAYOUT, 1_000, "1.000 HP", "1.000"),
    (Metric.PAYOUT, 123_456_789_012, "123,456,789.012 HP", "123456789.012"),
    (Metric.POSTS, 1_234_567, "1,234,567", "1234567"),
    (Metric.REPLIES, 12, "12", "12"),
]


@pytest.mark.parametrize(("metric", "count", "for_people", "exact"), COUNTS)
def test_a_count_reads_in_the_unit_of_its_thresholds(
    metric: Metric, count: int, for_people: str, exact: str
) -> None:
    assert shown(metric, count) == for_people
    assert decimal(metric, count) == exact


@pytest.mark.parametrize("count", [0, 1, 999, 1_000, 1_001, 98_765_432_101])
def test_a_payouts_decimal_is_its_count_in_hp(count: int) -> None:
    assert round(float(decimal(Metric.PAYOUT, count)) * PAYOUT_UNIT) == count


def test_a_threshold_reads_in_its_unit() -> None:
    assert shown_threshold(Metric.PAYOUT, 100) == "100 HP"
    assert shown_threshold(Metric.PAYOUT, 5_000) == "5,000 HP"
    assert shown_threshold(Metric.UPVOTES_RECEIVED, 1_000) == "1,000"
    assert shown_threshold(Occasion.BIRTHDAY, 3) == "3"
