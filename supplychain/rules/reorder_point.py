"""Reorder point / order-up-to replenishment per location and SKU (DESIGN 4.6).

From a location's daily demand for a SKU (whole units, one figure per day, days without a sale
included as 0):

- d = mean daily demand, sigma_d = sample standard deviation of daily demand (n - 1);
- safety stock SS = z x sigma_d x sqrt(L), z = the standard normal quantile of the service level
  (0.95 -> 1.645), L = lead time in days; when the lead time itself varies (std sigma_L days):
  SS = z x sqrt(L x sigma_d^2 + d^2 x sigma_L^2);
- reorder point ROP = d x L + SS;
- order-up-to level S = ROP + d x R, R = the review period in days (how often the review runs);
- inventory position IP = on hand - reserved - quarantine + in transit + on order;
- when IP <= ROP, order S - IP, raised to the supplier's MOQ and then up to whole packs
  (`supplychain.rules.ordering.order_quantity`, the same rounding the catalogue page applies);
  above the reorder point nothing is ordered.

Whole units: stock moves in whole units, so each figure the maths gives as a fraction (d x L, SS,
d x R) is rounded *up*: rounding down would hold less than the service level asks for, and the cost
of one unit too many is small next to a stock-out. Mean demand is kept as an exact fraction so that
d x L comes out whole when it is (10/3 x 3 is 10, not 10.000000000000002 rounded up to 11); the
safety stock, a square root, is a float, ceiled with a tolerance of 1e-9 for the same reason.

One day of history gives no spread: sigma_d is taken as 0 there (and `history_days` says how little
there was); no history at all gives d = 0, so nothing is ordered.

Pure: no I/O. Bad input raises ValueError with a developer's message.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from supplychain.rules.ordering import order_quantity

DEFAULT_SERVICE_LEVEL = 0.95
_CEIL_TOLERANCE = 1e-9  # float noise below this is not a unit to order

# Reason text keys (translated where shown).
REASON_BELOW_REORDER_POINT = "reorder.at_or_below_reorder_point"
REASON_ABOVE_REORDER_POINT = "reorder.above_reorder_point"
REASON_NO_DEMAND = "reorder.no_demand"


@dataclass(frozen=True)
class ReorderPolicy:
    """How one location replenishes one SKU: service level, lead time, review period, supplier terms."""

    lead_time_days: int
    review_period_days: int = 7
    service_level: float = DEFAULT_SERVICE_LEVEL  # probability of no stock-out in a lead time
    lead_time_std_days: float | None = None  # None: the lead time is taken as fixed
    moq: int = 1
    pack_size: int = 1


@dataclass(frozen=True)
class DemandStats:
    history_days: int
    mean: Fraction  # exact
    std: float  # sample standard deviation; 0 with fewer than 2 days

    @property
    def mean_float(self) -> float:
        return float(self.mean)


@dataclass(frozen=True)
class ReorderPoint:
    demand: DemandStats
    z: float
    safety_stock: int
    reorder_point: int
    order_up_to: int


@dataclass(frozen=True)
class StockPosition:
    """The balance buckets of one location and SKU plus what is on order from suppliers."""

    on_hand: int
    reserved: int = 0
    quarantine: int = 0
    in_transit: int = 0
    on_order: int = 0  # ordered from suppliers, not yet received

    @property
    def inventory_position(self) -> int:
        return self.on_hand - self.reserved - self.quarantine + self.in_transit + self.on_order


@dataclass(frozen=True)
class Suggestion:
    quantity: int  # 0: nothing to order
    inventory_position: int
    reorder_point: int
    order_up_to: int
    needed: int  # order-up-to - position before MOQ and pack rounding (0 above the reorder point)
    reason: str  # a REASON_* text key


def demand_stats(daily_demand: Sequence[int]) -> DemandStats:
    """Mean (exact) and sample standard deviation of daily demand."""
    for quantity in daily_demand:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(f"daily demand must be whole non-negative units, got {quantity!r}")
    days = len(daily_demand)
    if days == 0:
        return DemandStats(0, Fraction(0), 0.0)
    mean = Fraction(sum(daily_demand), days)
    std = statistics.stdev(daily_demand) if days >= 2 else 0.0
    return DemandStats(days, mean, std)


def z_value(service_level: float) -> float:
    """The standard normal quantile of the service level: 0.95 -> 1.6449."""
    if not isinstance(service_level, int | float) or not 0.5 <= service_level < 1:
        raise ValueError(
            f"service level {service_level!r} must be a probability from 0.5 (no safety stock) to below 1"
        )
    return statistics.NormalDist().inv_cdf(service_level)


def reorder_point(daily_demand: Sequence[int], policy: ReorderPolicy) -> ReorderPoint:
    """Safety stock, reorder point and order-up-to level, in whole units (each rounded up)."""
    _check_policy(policy)
    z = z_value(policy.service_level)
    demand = demand_stats(daily_demand)
    lead_time = policy.lead_time_days
    if policy.lead_time_std_days is None:
        sigma = demand.std * math.sqrt(lead_time)
    else:
        variance = lead_time * demand.std**2 + float(demand.mean) ** 2 * policy.lead_time_std_days**2
        sigma = math.sqrt(variance)
    safety_stock = _ceil(z * sigma)
    point = math.ceil(demand.mean * lead_time) + safety_stock
    order_up_to = point + math.ceil(demand.mean * policy.review_period_days)
    return ReorderPoint(demand, z, safety_stock, point, order_up_to)


def suggest_order(point: ReorderPoint, position: StockPosition, policy: ReorderPolicy) -> Suggestion:
    """What to order now: up to the order-up-to level when the position is at or below the reorder
    point, raised to the MOQ and whole packs; otherwise nothing."""
    _check_policy(policy)
    ip = position.inventory_position
    if point.demand.mean == 0 and ip >= 0:
        return Suggestion(0, ip, point.reorder_point, point.order_up_to, 0, REASON_NO_DEMAND)
    if ip > point.reorder_point:
        return Suggestion(0, ip, point.reorder_point, point.order_up_to, 0, REASON_ABOVE_REORDER_POINT)
    needed = point.order_up_to - ip
    # needed >= 1 here: S - ROP = ceil(d x R) >= 1 when d > 0 and R >= 1, and S - IP = -IP > 0 when
    # d = 0 and IP < 0.
    quantity = order_quantity(needed, moq=policy.moq, pack_size=policy.pack_size).ordered
    return Suggestion(
        quantity, ip, point.reorder_point, point.order_up_to, needed, REASON_BELOW_REORDER_POINT
    )


def plan(daily_demand: Sequence[int], position: StockPosition, policy: ReorderPolicy) -> Suggestion:
    """`reorder_point` then `suggest_order`: one location and SKU from its history and balance."""
    return suggest_order(reorder_point(daily_demand, policy), position, policy)


@dataclass(frozen=True)
class TransferNeed:
    """What the transfer planner may take from a location (surplus) or should bring it (shortage)."""

    surplus: int
    shortage: int


def transfer_need(point: ReorderPoint, position: StockPosition) -> TransferNeed:
    """One location's side of the transfer plan (`supplychain.rules.transfer_planner`).

    - Shortage: at or below the reorder point, what brings the position up to the order-up-to
      level (`Suggestion.needed`: a transfer covers it before anything is bought).
    - Surplus: what can leave while the position stays strictly above the reorder point (at the
      reorder point the location would order again, buying back what it just sent), and no more
      than is physically available (on hand less reserved and quarantine: goods in transit or on
      order cannot be sent on).
    """
    ip = position.inventory_position
    if ip <= point.reorder_point:
        return TransferNeed(surplus=0, shortage=point.order_up_to - ip)
    available = position.on_hand - position.reserved - position.quarantine
    return TransferNeed(surplus=max(0, min(available, ip - point.reorder_point - 1)), shortage=0)


def _check_policy(policy: ReorderPolicy) -> None:
    if policy.lead_time_days < 0:
        raise ValueError(f"lead time {policy.lead_time_days} days is negative")
    if policy.review_period_days < 1:
        # The review runs at most daily; a period of 0 would make the order-up-to level the reorder
        # point itself, so a location at its reorder point would need nothing.
        raise ValueError(f"review period {policy.review_period_days} days: give at least 1")
    if policy.lead_time_std_days is not None and not policy.lead_time_std_days >= 0:
        raise ValueError(f"lead time standard deviation {policy.lead_time_std_days} is not >= 0")
    if policy.moq < 1 or policy.pack_size < 1:
        raise ValueError(f"MOQ ({policy.moq}) and pack size ({policy.pack_size}) must be at least 1")


def _ceil(value: float) -> int:
    return math.ceil(value - _CEIL_TOLERANCE)
