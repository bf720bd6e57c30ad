"""The transfer planner (DESIGN 4.2, 4.6): surplus -> shortage transfers at minimum total cost.

Per SKU, some locations hold a surplus (what can leave without taking them below their own reorder
point) and others a shortage (what they need). Each (from, to) pair that may ship has a cost per
unit; a pair not given is not a route. The planner proposes transfers that

1. cover as much of the shortages as the surpluses and routes allow (a maximum flow), and
2. among all such plans, cost the least in total,

solved exactly as a minimum-cost maximum flow (networkx `max_flow_min_cost`: a maximum flow, then
network simplex over it) on the graph

    SOURCE -(capacity: surplus)-> from -(capacity: min(surplus, shortage), cost: unit cost)-> to
           -(capacity: shortage)-> SINK

The balancing is done by the maximum flow itself rather than by a dummy source with a prohibitive
cost: no big number has to be chosen large enough (and a too small one would trade coverage for
cost silently). What the flow leaves short at a location is reported as uncovered; what it leaves
at a source, as surplus left.

SKUs share no capacity here (transport capacity is not modelled), so each SKU is its own problem.

Money: costs are Decimal CNY with at most 4 places (a per-unit cost of cheap goods can be a
fraction of a fen; prices have 4 places too). Network simplex needs integers, so the solver sees
them scaled to 1/10000 yuan, exactly; lines report the unit cost as given and the line cost
(unit cost x quantity) rounded half-up to the fen; the total adds the rounded lines.

Same input, same output: locations and pairs are fed to the solver in sorted order (the caller's
dict order does not matter) and lines come back sorted, so ties between equally cheap plans are
broken the same way every time.

Also here: `unit_cost`, the cost of moving one unit between two regions from their coordinates,
and `slow_moving`, stock that has not moved for N days, with transfers of it to where the SKU sells.

Pure: no I/O. Bad input raises ValueError with a developer's message.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from supplychain.rules.money import PRICE_PLACES, round_half_up, round_money, to_units

# Reason text keys (translated where shown); the line's to_location_id is the "X" of the text.
REASON_SHORTAGE = "transfer.covers_shortage_below_reorder_point"
REASON_SLOW_MOVING = "transfer.moves_slow_moving_stock"

DEFAULT_SLOW_MOVING_DAYS = 90
EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius
DISTANCE_PLACES = 3  # km to the metre: the distance is a float, fixed here so costs are reproducible

_SOURCE, _SINK = ("source", 0), ("sink", 0)
ZERO = Decimal("0.00")

Pair = tuple[int, int]  # (from location id, to location id)
Coordinates = tuple[Decimal, Decimal]  # (latitude, longitude) in degrees


@dataclass(frozen=True)
class SkuPositions:
    """One SKU's surpluses and shortages by location id (quantities in whole units)."""

    sku_id: int
    surplus: Mapping[int, int]
    shortage: Mapping[int, int]


@dataclass(frozen=True)
class TransferLine:
    sku_id: int
    from_location_id: int
    to_location_id: int
    quantity: int
    unit_cost: Decimal
    line_cost: Decimal  # unit_cost x quantity, half-up to the fen
    reason: str  # a REASON_* text key


@dataclass(frozen=True)
class Remainder:
    sku_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class TransferPlan:
    lines: tuple[TransferLine, ...]  # sorted by SKU, from, to
    total_cost: Decimal  # the sum of the line costs
    uncovered: tuple[Remainder, ...]  # shortage no surplus could cover, by SKU and location
    surplus_left: tuple[Remainder, ...]  # surplus not sent anywhere, by SKU and location

    def uncovered_at(self, sku_id: int, location_id: int) -> int:
        return sum(r.quantity for r in self.uncovered if (r.sku_id, r.location_id) == (sku_id, location_id))


def plan_transfers(
    positions: Iterable[SkuPositions],
    unit_costs: Mapping[Pair, Decimal],
    *,
    reason: str = REASON_SHORTAGE,
) -> TransferPlan:
    """Transfers covering each SKU's shortages as far as its surpluses allow, at minimum total cost.

    `unit_costs[(from, to)]` is the cost of moving one unit from `from` to `to` (Decimal, >= 0, at
    most 4 places); a pair that is not in it is not a route.
    """
    scaled = {pair: _scaled_cost(pair, cost) for pair, cost in unit_costs.items()}
    lines: list[TransferLine] = []
    uncovered: list[Remainder] = []
    left: list[Remainder] = []
    seen: set[int] = set()
    for position in sorted(positions, key=lambda p: p.sku_id):
        if position.sku_id in seen:
            raise ValueError(f"SKU {position.sku_id} is given twice")
        seen.add(position.sku_id)
        flows = _solve(position, scaled)
        for (source, sink), quantity in sorted(flows.items()):
            cost = unit_costs[(source, sink)]
            lines.append(
                TransferLine(
                    sku_id=position.sku_id,
                    from_location_id=source,
                    to_location_id=sink,
                    quantity=quantity,
                    unit_cost=cost,
                    line_cost=round_money(cost * quantity),
                    reason=reason,
                )
            )
        received = _totals(flows, side=1)
        sent = _totals(flows, side=0)
        for location, need in sorted(position.shortage.items()):
            if need - received.get(location, 0) > 0:
                uncovered.append(Remainder(position.sku_id, location, need - received.get(location, 0)))
        for location, spare in sorted(position.surplus.items()):
            if spare - sent.get(location, 0) > 0:
                left.append(Remainder(position.sku_id, location, spare - sent.get(location, 0)))
    total = sum((line.line_cost for line in lines), ZERO)
    return TransferPlan(tuple(lines), total, tuple(uncovered), tuple(left))


def unit_cost(
    from_coords: Coordinates, to_coords: Coordinates, *, handling: Decimal, per_km: Decimal
) -> Decimal:
    """The cost of moving one unit between two regions: handling + per_km x great-circle distance,
    half-up to the fen. Within one region (the same coordinates) it is the handling alone."""
    if handling < 0 or per_km < 0:
        raise ValueError(f"handling ({handling}) and cost per km ({per_km}) must not be negative")
    if tuple(from_coords) == tuple(to_coords):
        _check_coordinates(from_coords)
        return round_money(handling)
    return round_money(handling + per_km * distance_km(from_coords, to_coords))


def distance_km(from_coords: Coordinates, to_coords: Coordinates) -> Decimal:
    """Great-circle (haversine) distance on a sphere of the Earth's mean radius, to the metre."""
    lat1, lon1 = (math.radians(float(v)) for v in _check_coordinates(from_coords))
    lat2, lon2 = (math.radians(float(v)) for v in _check_coordinates(to_coords))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
    return round_half_up(Decimal(km), DISTANCE_PLACES)


# --- slow-moving stock -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StockAge:
    """One location's stock of one SKU and when it last moved (any ledger movement)."""

    location_id: int
    sku_id: int
    on_hand: int  # what could leave (the caller passes on hand less what is held, if it wants)
    last_movement: dt.date | None  # None: no movement on record


@dataclass(frozen=True)
class SlowStock:
    location_id: int
    sku_id: int
    on_hand: int
    last_movement: dt.date | None
    idle_days: int | None  # None: no movement on record


@dataclass(frozen=True)
class SlowMovingReport:
    slow: tuple[SlowStock, ...]  # by SKU, then location
    plan: TransferPlan  # its surplus_left is the slow stock no selling location can take


def slow_moving(
    stock: Iterable[StockAge],
    demand: Mapping[tuple[int, int], int],
    unit_costs: Mapping[Pair, Decimal],
    *,
    today: dt.date,
    days: int = DEFAULT_SLOW_MOVING_DAYS,
) -> SlowMovingReport:
    """Stock with no movement for at least `days` days, and transfers of it to where the SKU sells.

    `demand[(location_id, sku_id)]` is how much a selling location can take of the SKU (its demand
    over the planning horizon, say); a location does not receive its own slow stock back. The
    transfers are the same minimum-cost plan as `plan_transfers`, with the slow stock as surplus and
    the demand as shortage.
    """
    if days < 1:
        raise ValueError(f"slow-moving after {days} days: give at least 1")
    slow: list[SlowStock] = []
    for item in stock:
        if item.on_hand <= 0:
            continue
        idle = None if item.last_movement is None else (today - item.last_movement).days
        if idle is None or idle >= days:
            slow.append(SlowStock(item.location_id, item.sku_id, item.on_hand, item.last_movement, idle))
    slow.sort(key=lambda s: (s.sku_id, s.location_id))
    surplus: dict[int, dict[int, int]] = {}
    for s in slow:
        by_location = surplus.setdefault(s.sku_id, {})
        by_location[s.location_id] = by_location.get(s.location_id, 0) + s.on_hand
    positions = []
    for sku_id, sources in surplus.items():
        sinks = {
            location: quantity
            for (location, sku), quantity in demand.items()
            if sku == sku_id and quantity > 0 and location not in sources
        }
        positions.append(SkuPositions(sku_id, sources, sinks))
    plan = plan_transfers(positions, unit_costs, reason=REASON_SLOW_MOVING)
    return SlowMovingReport(tuple(slow), plan)


# --- the solver ------------------------------------------------------------------------------------


def _solve(position: SkuPositions, costs: Mapping[Pair, int]) -> dict[Pair, int]:
    """(from, to) -> quantity of a minimum-cost maximum flow for one SKU."""
    surplus = _quantities(position.surplus, "surplus", position.sku_id)
    shortage = _quantities(position.shortage, "shortage", position.sku_id)
    both = surplus.keys() & shortage.keys()
    if both:
        raise ValueError(
            f"SKU {position.sku_id}: locations {sorted(both)} have both a surplus and a shortage"
        )
    routes = [(s, t) for s in surplus for t in shortage if (s, t) in costs]
    if not routes:
        return {}
    import networkx as nx  # here, so that workflows importing the dataclasses never load it

    graph = nx.DiGraph()
    # Sorted insertion: network simplex walks nodes and edges in insertion order, so this fixes
    # which of several equally cheap plans comes out.
    for source in surplus:
        graph.add_edge(_SOURCE, ("from", source), capacity=surplus[source], weight=0)
    for source, sink in routes:
        graph.add_edge(
            ("from", source),
            ("to", sink),
            capacity=min(surplus[source], shortage[sink]),
            weight=costs[(source, sink)],
        )
    for sink in shortage:
        graph.add_edge(("to", sink), _SINK, capacity=shortage[sink], weight=0)
    flow = nx.max_flow_min_cost(graph, _SOURCE, _SINK)
    return {
        (source, sink): flow[("from", source)][("to", sink)]
        for source, sink in routes
        if flow[("from", source)][("to", sink)] > 0
    }


def _quantities(by_location: Mapping[int, int], what: str, sku_id: int) -> dict[int, int]:
    """Positive quantities only, in location order."""
    result = {}
    for location in sorted(by_location):
        quantity = by_location[location]
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(
                f"SKU {sku_id}: {what} {quantity!r} at location {location} is not a whole quantity >= 0"
            )
        if quantity > 0:
            result[location] = quantity
    return result


def _scaled_cost(pair: Pair, cost: Decimal) -> int:
    if not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0:
        raise ValueError(f"the unit cost of {pair} must be a Decimal >= 0, got {cost!r}")
    try:
        return to_units(cost, PRICE_PLACES)
    except ValueError:
        raise ValueError(f"the unit cost of {pair} ({cost}) has more than {PRICE_PLACES} places") from None


def _totals(flows: Mapping[Pair, int], *, side: int) -> dict[int, int]:
    totals: dict[int, int] = {}
    for pair, quantity in flows.items():
        totals[pair[side]] = totals.get(pair[side], 0) + quantity
    return totals


def _check_coordinates(coords: Coordinates) -> Coordinates:
    latitude, longitude = coords
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError(f"({latitude}, {longitude}) are not latitude and longitude in degrees")
    return coords
