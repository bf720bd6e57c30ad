"""supplychain.rules.reorder_point: safety stock, reorder point, order-up-to and the order suggestion.

Every expected figure is worked by hand in the comment beside it. z(0.95) = 1.6448536.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplychain.rules.reorder_point import (
    REASON_ABOVE_REORDER_POINT,
    REASON_BELOW_REORDER_POINT,
    REASON_NO_DEMAND,
    ReorderPolicy,
    StockPosition,
    TransferNeed,
    demand_stats,
    plan,
    reorder_point,
    suggest_order,
    transfer_need,
    z_value,
)

WEEK = [4, 6, 5, 3, 7]  # mean 5; deviations -1 1 0 -2 2, squares sum 10, / (5 - 1) = 2.5, sigma 1.5811


def test_demand_stats_mean_and_sample_standard_deviation() -> None:
    stats = demand_stats(WEEK)
    assert stats.history_days == 5
    assert stats.mean == 5
    assert stats.std == pytest.approx(math.sqrt(2.5))


def test_zero_days_count_in_the_mean_and_the_spread() -> None:
    # 0 0 0 0 0 0 7: mean 1; squares 6 x 1 + 36 = 42, / 6 = 7, sigma sqrt(7) = 2.6458
    stats = demand_stats([0, 0, 0, 0, 0, 0, 7])
    assert stats.mean == 1
    assert stats.std == pytest.approx(math.sqrt(7))


def test_z_of_the_usual_service_levels() -> None:
    assert z_value(0.95) == pytest.approx(1.6448536, abs=1e-7)
    assert z_value(0.99) == pytest.approx(2.3263479, abs=1e-7)
    assert z_value(0.5) == 0


def test_worked_example_fixed_lead_time() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7, service_level=0.95)
    point = reorder_point(WEEK, policy)
    # SS = 1.6448536 x 1.5811388 x sqrt(4) = 5.2015 -> 6 (rounded up)
    assert point.safety_stock == 6
    # ROP = 5 x 4 + 6 = 26
    assert point.reorder_point == 26
    # S = 26 + 5 x 7 = 61
    assert point.order_up_to == 61


def test_worked_example_with_lead_time_variability() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7, lead_time_std_days=1.0)
    point = reorder_point(WEEK, policy)
    # SS = 1.6448536 x sqrt(4 x 2.5 + 5^2 x 1^2) = 1.6448536 x sqrt(35) = 9.7311 -> 10
    assert point.safety_stock == 10
    # ROP = 20 + 10 = 30; S = 30 + 35 = 65
    assert (point.reorder_point, point.order_up_to) == (30, 65)


def test_lead_time_std_of_zero_is_the_fixed_lead_time() -> None:
    fixed = reorder_point(WEEK, ReorderPolicy(lead_time_days=4))
    zero = reorder_point(WEEK, ReorderPolicy(lead_time_days=4, lead_time_std_days=0.0))
    assert (fixed.safety_stock, fixed.reorder_point) == (zero.safety_stock, zero.reorder_point)


def test_inventory_position_counts_every_bucket() -> None:
    # 30 - 5 - 2 + 1 + 4 = 28
    position = StockPosition(on_hand=30, reserved=5, quarantine=2, in_transit=1, on_order=4)
    assert position.inventory_position == 28


def test_suggestion_at_or_below_reorder_point_orders_up_to_the_level_in_whole_packs() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7, moq=10, pack_size=12)
    # IP = 30 - 5 - 2 + 1 = 24 <= ROP 26: need S - IP = 61 - 24 = 37; MOQ 10 < 37; packs of 12:
    # ceil(37 / 12) = 4 packs = 48
    position = StockPosition(on_hand=30, reserved=5, quarantine=2, in_transit=1)
    suggestion = plan(WEEK, position, policy)
    assert suggestion.inventory_position == 24
    assert suggestion.needed == 37
    assert suggestion.quantity == 48
    assert suggestion.reason == REASON_BELOW_REORDER_POINT


def test_position_equal_to_reorder_point_orders() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7)
    # IP 26 = ROP 26: order 61 - 26 = 35
    suggestion = plan(WEEK, StockPosition(on_hand=26), policy)
    assert (suggestion.quantity, suggestion.reason) == (35, REASON_BELOW_REORDER_POINT)


def test_above_reorder_point_orders_nothing() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7)
    suggestion = plan(WEEK, StockPosition(on_hand=27), policy)  # 27 > 26
    assert (suggestion.quantity, suggestion.needed, suggestion.reason) == (0, 0, REASON_ABOVE_REORDER_POINT)


def test_moq_larger_than_the_need_is_ordered_in_full() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7, moq=100, pack_size=1)
    # need 61 - 24 = 37 -> raised to the MOQ of 100
    suggestion = plan(WEEK, StockPosition(on_hand=24), policy)
    assert (suggestion.needed, suggestion.quantity) == (37, 100)


def test_moq_not_a_multiple_of_the_pack_is_rounded_on_to_whole_packs() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7, moq=50, pack_size=24)
    # need 37 -> MOQ 50 -> ceil(50 / 24) = 3 packs = 72
    assert plan(WEEK, StockPosition(on_hand=24), policy).quantity == 72


def test_pack_rounding_of_an_exact_multiple_adds_nothing() -> None:
    policy = ReorderPolicy(lead_time_days=4, review_period_days=7, pack_size=37)
    assert plan(WEEK, StockPosition(on_hand=24), policy).quantity == 37  # need exactly one pack


def test_no_demand_orders_nothing() -> None:
    policy = ReorderPolicy(lead_time_days=4)
    for history in ([], [0] * 30):
        point = reorder_point(history, policy)
        assert (point.safety_stock, point.reorder_point, point.order_up_to) == (0, 0, 0)
        suggestion = suggest_order(point, StockPosition(on_hand=0), policy)
        assert (suggestion.quantity, suggestion.reason) == (0, REASON_NO_DEMAND)


def test_one_day_of_history_has_no_spread() -> None:
    policy = ReorderPolicy(lead_time_days=3, review_period_days=2)
    point = reorder_point([8], policy)
    # sigma 0 -> SS 0; ROP = 8 x 3 = 24; S = 24 + 8 x 2 = 40
    assert point.demand.std == 0
    assert (point.safety_stock, point.reorder_point, point.order_up_to) == (0, 24, 40)


def test_fractional_mean_times_lead_time_is_exact_before_rounding_up() -> None:
    # mean 7/3 x 27 days = 63 exactly (in floats 63.00000000000001, which would ceil to 64)
    policy = ReorderPolicy(lead_time_days=27, review_period_days=1, service_level=0.5)
    point = reorder_point([2, 2, 3], policy)
    assert point.demand.mean == Fraction(7, 3)
    assert point.reorder_point == 63


def test_fractional_demand_over_the_lead_time_is_rounded_up() -> None:
    # mean 7/3 x 2 days = 4.67 -> 5; z(0.5) = 0 so no safety stock
    policy = ReorderPolicy(lead_time_days=2, review_period_days=1, service_level=0.5)
    point = reorder_point([2, 2, 3], policy)
    # ROP 5; S = 5 + ceil(7/3) = 5 + 3 = 8
    assert (point.reorder_point, point.order_up_to) == (5, 8)


@pytest.mark.parametrize("level", [0.0, 0.3, 1.0, 1.5, -0.95, float("nan")])
def test_invalid_service_level_is_refused(level: float) -> None:
    with pytest.raises(ValueError, match="service level"):
        reorder_point(WEEK, ReorderPolicy(lead_time_days=4, service_level=level))


@pytest.mark.parametrize(
    "policy",
    [
        ReorderPolicy(lead_time_days=-1),
        ReorderPolicy(lead_time_days=4, review_period_days=-1),
        ReorderPolicy(lead_time_days=4, review_period_days=0),
        ReorderPolicy(lead_time_days=4, lead_time_std_days=-0.5),
        ReorderPolicy(lead_time_days=4, moq=0),
        ReorderPolicy(lead_time_days=4, pack_size=0),
    ],
)
def test_invalid_policy_is_refused(policy: ReorderPolicy) -> None:
    with pytest.raises(ValueError):
        reorder_point(WEEK, policy)


@pytest.mark.parametrize("history", [[1, -2, 3], [1, 2.5, 3], [True, 1]])
def test_demand_must_be_whole_non_negative_units(history: list[int]) -> None:
    with pytest.raises(ValueError, match="whole non-negative"):
        demand_stats(history)


@given(
    history=st.lists(st.integers(0, 50), max_size=60),
    on_hand=st.integers(0, 500),
    on_order=st.integers(0, 200),
    lead_time=st.integers(0, 30),
    review=st.integers(1, 14),
    moq=st.integers(1, 100),
    pack=st.integers(1, 48),
)
def test_a_suggestion_always_covers_the_need_in_whole_packs_at_least_the_moq(
    history: list[int], on_hand: int, on_order: int, lead_time: int, review: int, moq: int, pack: int
) -> None:
    policy = ReorderPolicy(lead_time_days=lead_time, review_period_days=review, moq=moq, pack_size=pack)
    point = reorder_point(history, policy)
    assert 0 <= point.safety_stock <= point.reorder_point <= point.order_up_to
    suggestion = plan(history, StockPosition(on_hand=on_hand, on_order=on_order), policy)
    if suggestion.quantity == 0:
        assert suggestion.needed == 0
        assert suggestion.inventory_position > point.reorder_point or point.demand.mean == 0
    else:
        assert suggestion.inventory_position <= point.reorder_point
        assert suggestion.needed >= 1
        assert suggestion.quantity % pack == 0
        assert suggestion.quantity >= max(suggestion.needed, moq)
        assert suggestion.quantity < max(suggestion.needed, moq) + pack  # no whole pack too many


def test_transfer_need_short_location_needs_up_to_its_order_up_to_level() -> None:
    point = reorder_point(WEEK, ReorderPolicy(lead_time_days=4, review_period_days=7))  # ROP 26, S 61
    # IP = 20 - 0 + 4 in transit = 24 <= 26: short by 61 - 24 = 37
    assert transfer_need(point, StockPosition(on_hand=20, in_transit=4)) == TransferNeed(0, 37)
    # IP 26 = ROP: it would reorder, so it is short, 61 - 26 = 35
    assert transfer_need(point, StockPosition(on_hand=26)) == TransferNeed(0, 35)


def test_transfer_need_surplus_keeps_the_location_above_its_reorder_point() -> None:
    point = reorder_point(WEEK, ReorderPolicy(lead_time_days=4, review_period_days=7))  # ROP 26
    # IP 100: 100 - 26 - 1 = 73 can leave (leaving 27 > 26)
    assert transfer_need(point, StockPosition(on_hand=100)) == TransferNeed(73, 0)
    # IP 27: nothing can leave without reaching the reorder point
    assert transfer_need(point, StockPosition(on_hand=27)) == TransferNeed(0, 0)
    # IP = 40 - 10 reserved - 5 quarantine + 50 on order = 75; only 25 are physically available
    position = StockPosition(on_hand=40, reserved=10, quarantine=5, on_order=50)
    assert transfer_need(point, position) == TransferNeed(25, 0)
