"""supplychain.rules.transfer_planner: minimum-cost transfers, checked against brute force; the
haversine cost rule; slow-moving stock."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.rules.transfer_planner import (
    REASON_SHORTAGE,
    REASON_SLOW_MOVING,
    Remainder,
    SkuPositions,
    StockAge,
    TransferLine,
    distance_km,
    plan_transfers,
    slow_moving,
    unit_cost,
)

D = Decimal


# --- hand-worked cases -----------------------------------------------------------------------------


def test_cheapest_route_is_taken_and_costs_are_exact() -> None:
    # A shortage of 5 at 10; surplus 4 at 1 (1.25 a unit) and 10 at 2 (2.10 a unit):
    # 4 from 1 = 5.00, 1 from 2 = 2.10; total 7.10
    plan = plan_transfers(
        [SkuPositions(7, surplus={1: 4, 2: 10}, shortage={10: 5})],
        {(1, 10): D("1.25"), (2, 10): D("2.10")},
    )
    assert plan.lines == (
        TransferLine(7, 1, 10, 4, D("1.25"), D("5.00"), REASON_SHORTAGE),
        TransferLine(7, 2, 10, 1, D("2.10"), D("2.10"), REASON_SHORTAGE),
    )
    assert plan.total_cost == D("7.10")
    assert plan.uncovered == ()
    assert plan.surplus_left == (Remainder(7, 2, 9),)


def test_a_greedy_choice_would_cost_more() -> None:
    # Sinks 10 and 11 need 1 each; 1 has 1 unit, 2 has 1 unit.
    # 1->10 costs 1, 1->11 costs 2, 2->10 costs 2, 2->11 costs 100.
    # Greedy (cheapest edge first: 1->10) must then send 2->11 at 100: total 101.
    # Optimal: 1->11 (2) + 2->10 (2) = 4.
    plan = plan_transfers(
        [SkuPositions(1, surplus={1: 1, 2: 1}, shortage={10: 1, 11: 1})],
        {(1, 10): D(1), (1, 11): D(2), (2, 10): D(2), (2, 11): D(100)},
    )
    assert [(line.from_location_id, line.to_location_id) for line in plan.lines] == [(1, 11), (2, 10)]
    assert plan.total_cost == D("4.00")


def test_shortage_beyond_surplus_is_covered_as_far_as_possible_and_the_rest_reported() -> None:
    # Need 6 at 10 and 4 at 11 (10); surplus 3 at 1 and 2 at 2 (5). 5 units move; cheapest:
    # 1 -> 11 (0.10) x 3 = 0.30, 2 -> 10 (0.20) x 2 = 0.40; 10 lacks 4, 11 lacks 1.
    plan = plan_transfers(
        [SkuPositions(1, surplus={1: 3, 2: 2}, shortage={10: 6, 11: 4})],
        {(1, 10): D("0.50"), (1, 11): D("0.10"), (2, 10): D("0.20"), (2, 11): D("0.90")},
    )
    assert sum(line.quantity for line in plan.lines) == 5
    assert plan.total_cost == D("0.70")
    assert plan.uncovered == (Remainder(1, 10, 4), Remainder(1, 11, 1))
    assert plan.surplus_left == ()


def test_coverage_comes_before_cost() -> None:
    # Only 2 -> 11 reaches 11, and it is expensive; covering both shortages beats a cheaper plan
    # that leaves 11 short. 1 -> 10 (0.01), 2 -> 10 (0.01), 2 -> 11 (99.00); one unit each at 1, 2.
    plan = plan_transfers(
        [SkuPositions(1, surplus={1: 1, 2: 1}, shortage={10: 1, 11: 1})],
        {(1, 10): D("0.01"), (2, 10): D("0.01"), (2, 11): D("99.00")},
    )
    assert plan.uncovered == ()
    assert plan.total_cost == D("99.01")


def test_missing_route_leaves_the_shortage_uncovered() -> None:
    plan = plan_transfers([SkuPositions(1, surplus={1: 5}, shortage={10: 3})], {(1, 11): D(1)})
    assert plan.lines == ()
    assert plan.uncovered == (Remainder(1, 10, 3),)
    assert plan.total_cost == D("0.00")


def test_nothing_to_move() -> None:
    assert plan_transfers([SkuPositions(1, {}, {10: 3})], {}).uncovered == (Remainder(1, 10, 3),)
    assert plan_transfers([SkuPositions(1, {1: 3}, {})], {}).lines == ()
    assert plan_transfers([], {}).total_cost == D("0.00")


def test_sub_fen_unit_costs_round_per_line() -> None:
    # 0.0125 a unit x 3 = 0.0375 -> 0.04 (half-up); x 2 = 0.025 -> 0.03. Total of lines 0.07.
    plan = plan_transfers(
        [SkuPositions(1, {1: 3}, {10: 3}), SkuPositions(2, {1: 2}, {10: 2})],
        {(1, 10): D("0.0125")},
    )
    assert [line.line_cost for line in plan.lines] == [D("0.04"), D("0.03")]
    assert plan.total_cost == D("0.07")


def test_many_skus_are_planned_independently_in_sku_order() -> None:
    plan = plan_transfers(
        [SkuPositions(9, {1: 2}, {10: 2}), SkuPositions(3, {1: 1}, {10: 1})], {(1, 10): D("1.00")}
    )
    assert [(line.sku_id, line.quantity) for line in plan.lines] == [(3, 1), (9, 2)]


@pytest.mark.parametrize(
    ("positions", "costs", "message"),
    [
        ([SkuPositions(1, {1: -1}, {10: 1})], {(1, 10): D(1)}, "whole quantity"),
        ([SkuPositions(1, {1: 1}, {10: 1.5})], {(1, 10): D(1)}, "whole quantity"),  # type: ignore[dict-item]
        ([SkuPositions(1, {1: 1}, {1: 1})], {}, "both a surplus and a shortage"),
        ([SkuPositions(1, {1: 1}, {10: 1})], {(1, 10): D("-0.01")}, "Decimal >= 0"),
        ([SkuPositions(1, {1: 1}, {10: 1})], {(1, 10): 1.5}, "Decimal >= 0"),
        ([SkuPositions(1, {1: 1}, {10: 1})], {(1, 10): D("0.00001")}, "4 places"),
        ([SkuPositions(1, {1: 1}, {10: 1}), SkuPositions(1, {}, {})], {}, "given twice"),
    ],
)
def test_bad_input_is_refused(
    positions: list[SkuPositions], costs: dict[tuple[int, int], Decimal], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan_transfers(positions, costs)


# --- ties are broken the same way every time -------------------------------------------------------


def test_zero_cost_ties_give_the_same_plan_whatever_the_input_order() -> None:
    # Every route is free: many plans are optimal. The answer must not depend on dict order.
    surplus = {1: 2, 2: 2, 3: 2}
    shortage = {10: 3, 11: 2}
    costs = {(s, t): D(0) for s in surplus for t in shortage}
    first = plan_transfers([SkuPositions(1, surplus, shortage)], costs)
    for seed in range(5):
        rng = random.Random(seed)
        s_items, t_items, c_items = list(surplus.items()), list(shortage.items()), list(costs.items())
        rng.shuffle(s_items)
        rng.shuffle(t_items)
        rng.shuffle(c_items)
        again = plan_transfers([SkuPositions(1, dict(s_items), dict(t_items))], dict(c_items))
        assert again == first
    assert sum(line.quantity for line in first.lines) == 5
    assert first.lines == tuple(
        sorted(first.lines, key=lambda x: (x.sku_id, x.from_location_id, x.to_location_id))
    )


# --- optimality against brute force ----------------------------------------------------------------


def _allocations(spare: int, sinks: int) -> list[tuple[int, ...]]:
    """Every way one source can send at most `spare` units to `sinks` sinks."""
    return [a for a in itertools.product(range(spare + 1), repeat=sinks) if sum(a) <= spare]


def _brute_force(
    surplus: list[int], shortage: list[int], costs: dict[tuple[int, int], int]
) -> tuple[int, int]:
    """(most units that can be covered, least cost in 1/10000 yuan for that many), by enumeration."""
    best: tuple[int, int] = (0, 0)
    options = []
    for i, spare in enumerate(surplus):
        allowed = [
            a
            for a in _allocations(spare, len(shortage))
            if all(q == 0 or (i, j) in costs for j, q in enumerate(a))
        ]
        options.append(allowed)
    for choice in itertools.product(*options):
        received = [sum(row[j] for row in choice) for j in range(len(shortage))]
        if any(r > need for r, need in zip(received, shortage, strict=True)):
            continue
        moved = sum(received)
        cost = sum(q * costs[(i, j)] for i, row in enumerate(choice) for j, q in enumerate(row) if q)
        if moved > best[0] or (moved == best[0] and cost < best[1]):
            best = (moved, cost)
    return best


@st.composite
def small_problems(draw: st.DrawFn) -> tuple[list[int], list[int], dict[tuple[int, int], int]]:
    sources = draw(st.integers(1, 3))
    sinks = draw(st.integers(1, 3))
    surplus = draw(st.lists(st.integers(0, 3), min_size=sources, max_size=sources))
    shortage = draw(st.lists(st.integers(0, 3), min_size=sinks, max_size=sinks))
    costs = {}
    for i in range(sources):
        for j in range(sinks):
            if draw(st.booleans()) or draw(st.booleans()):  # about 3 routes in 4 exist
                costs[(i, j)] = draw(st.integers(0, 500))  # in 1/10000 yuan: ties are likely
    return surplus, shortage, costs


@settings(max_examples=150, deadline=None)
@given(small_problems())
def test_plan_is_optimal_against_brute_force(
    problem: tuple[list[int], list[int], dict[tuple[int, int], int]],
) -> None:
    surplus, shortage, costs = problem
    # Sources are locations 0..2, sinks 100..102.
    plan = plan_transfers(
        [
            SkuPositions(
                1,
                surplus=dict(enumerate(surplus)),
                shortage={100 + j: q for j, q in enumerate(shortage)},
            )
        ],
        {(i, 100 + j): D(c).scaleb(-4) for (i, j), c in costs.items()},
    )
    moved, cost = _brute_force(surplus, shortage, costs)
    assert sum(line.quantity for line in plan.lines) == moved
    exact = sum(line.unit_cost * line.quantity for line in plan.lines)
    assert exact == D(cost).scaleb(-4)
    # Feasible: no source sends more than it has, no sink gets more than it needs, only routes used.
    for i, spare in enumerate(surplus):
        assert sum(line.quantity for line in plan.lines if line.from_location_id == i) <= spare
    for j, need in enumerate(shortage):
        got = sum(line.quantity for line in plan.lines if line.to_location_id == 100 + j)
        assert got + plan.uncovered_at(1, 100 + j) == need
    assert all((line.from_location_id, line.to_location_id - 100) in costs for line in plan.lines)
    assert all(line.quantity > 0 for line in plan.lines)


# --- the cost rule ---------------------------------------------------------------------------------


def test_distance_along_the_equator() -> None:
    # One degree of longitude on the equator: 2 x pi x 6371.0088 / 360 = 111.195 km
    assert distance_km((D(0), D(0)), (D(0), D(1))) == D("111.195")


def test_distance_shanghai_to_beijing() -> None:
    # Shanghai 31.2304 N 121.4737 E, Beijing 39.9042 N 116.4074 E: about 1,067 km as the crow flies
    km = distance_km((D("31.2304"), D("121.4737")), (D("39.9042"), D("116.4074")))
    assert D(1060) < km < D(1075)


def test_unit_cost_is_handling_plus_distance_half_up() -> None:
    # 0.50 + 0.01 x 111.195 = 1.61195 -> 1.61
    assert unit_cost((D(0), D(0)), (D(0), D(1)), handling=D("0.50"), per_km=D("0.01")) == D("1.61")
    # 0.50 + 0.005 x 111.195 = 1.055975 -> 1.06
    assert unit_cost((D(0), D(0)), (D(0), D(1)), handling=D("0.50"), per_km=D("0.005")) == D("1.06")


def test_unit_cost_within_one_region_is_the_handling_only() -> None:
    here = (D("31.2304"), D("121.4737"))
    assert unit_cost(here, here, handling=D("0.80"), per_km=D("0.01")) == D("0.80")


def test_unit_cost_is_symmetric() -> None:
    a, b = (D("31.2304"), D("121.4737")), (D("23.1291"), D("113.2644"))
    assert unit_cost(a, b, handling=D(1), per_km=D("0.003")) == unit_cost(
        b, a, handling=D(1), per_km=D("0.003")
    )


@pytest.mark.parametrize(
    ("a", "b", "handling", "per_km"),
    [
        ((D(91), D(0)), (D(0), D(0)), D(1), D(1)),
        ((D(0), D(181)), (D(0), D(0)), D(1), D(1)),
        ((D(0), D(0)), (D(0), D(1)), D(-1), D(1)),
        ((D(0), D(0)), (D(0), D(1)), D(1), D("-0.01")),
    ],
)
def test_unit_cost_refuses_bad_input(
    a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal], handling: Decimal, per_km: Decimal
) -> None:
    with pytest.raises(ValueError):
        unit_cost(a, b, handling=handling, per_km=per_km)


# --- slow-moving stock -----------------------------------------------------------------------------

TODAY = dt.date(2026, 12, 6)


def test_slow_moving_lists_stock_idle_for_the_threshold_and_moves_it_to_where_it_sells() -> None:
    stock = [
        StockAge(1, 7, 40, TODAY - dt.timedelta(days=90)),  # exactly 90 idle days: slow
        StockAge(2, 7, 30, TODAY - dt.timedelta(days=89)),  # 89: not yet
        StockAge(3, 7, 0, TODAY - dt.timedelta(days=400)),  # nothing on hand: not listed
        StockAge(4, 8, 5, None),  # never moved: slow
    ]
    demand = {(10, 7): 25, (11, 7): 25, (1, 7): 99, (12, 8): 0}
    costs = {(1, 10): D("0.30"), (1, 11): D("0.20"), (4, 12): D("0.10")}
    report = slow_moving(stock, demand, costs, today=TODAY)
    assert [(s.location_id, s.sku_id, s.idle_days) for s in report.slow] == [(1, 7, 90), (4, 8, None)]
    # 40 units at 1: 25 to 11 (0.20) = 5.00, then 15 to 10 (0.30) = 4.50; location 1's own demand
    # does not count; SKU 8 has no location that sells it.
    assert [(line.to_location_id, line.quantity, line.line_cost) for line in report.plan.lines] == [
        (10, 15, D("4.50")),
        (11, 25, D("5.00")),
    ]
    assert all(line.reason == REASON_SLOW_MOVING for line in report.plan.lines)
    assert report.plan.total_cost == D("9.50")
    assert report.plan.surplus_left == (Remainder(8, 4, 5),)


def test_slow_moving_threshold_is_a_parameter() -> None:
    stock = [StockAge(1, 7, 5, TODAY - dt.timedelta(days=30))]
    assert slow_moving(stock, {}, {}, today=TODAY).slow == ()
    assert len(slow_moving(stock, {}, {}, today=TODAY, days=30).slow) == 1
    with pytest.raises(ValueError):
        slow_moving(stock, {}, {}, today=TODAY, days=0)


# --- the benchmark's case: feasible at full size (not timed: bench/planner.py times it) -------------


def test_generated_50_locations_by_200_skus_plan_is_feasible() -> None:
    from collections import Counter

    from bench.planner import generated_case
    from supplychain.rules.money import round_money

    case = generated_case(50, 200, seed=1)
    plan = plan_transfers(case.positions, case.unit_costs)
    assert plan.lines
    sent: Counter[tuple[int, int]] = Counter()
    received: Counter[tuple[int, int]] = Counter()
    for line in plan.lines:
        assert line.quantity > 0
        assert line.unit_cost == case.unit_costs[(line.from_location_id, line.to_location_id)]
        assert line.line_cost == round_money(line.unit_cost * line.quantity)
        sent[(line.sku_id, line.from_location_id)] += line.quantity
        received[(line.sku_id, line.to_location_id)] += line.quantity
    assert plan.total_cost == sum(line.line_cost for line in plan.lines)
    left = {(r.sku_id, r.location_id): r.quantity for r in plan.surplus_left}
    short = {(r.sku_id, r.location_id): r.quantity for r in plan.uncovered}
    for position in case.positions:
        sku = position.sku_id
        # Every line respects the surplus, and what is not sent is reported as left: flows conserve.
        for location, spare in position.surplus.items():
            assert sent[(sku, location)] + left.get((sku, location), 0) == spare
            assert received[(sku, location)] == 0
        for location, need in position.shortage.items():
            assert received[(sku, location)] + short.get((sku, location), 0) == need
            assert sent[(sku, location)] == 0
        # Every pair is a route, so the shortage is covered as far as the surplus allows.
        covered = sum(received[(sku, location)] for location in position.shortage)
        assert covered == min(sum(position.surplus.values()), sum(position.shortage.values()))
    assert sum(sent.values()) == sum(received.values()) == sum(line.quantity for line in plan.lines)
    # Remainders only where a position was given.
    assert all(key[1] in case.positions[key[0] - 1].surplus for key in left)
    assert all(key[1] in case.positions[key[0] - 1].shortage for key in short)
