"""`python -m bench.planner`: one full transfer plan over 50 locations x 200 SKUs against its floor.

The case is generated (seeded, so every run plans the same thing): 50 locations in 10 regions with
coordinates across eastern China, the unit cost of every pair from `transfer_planner.unit_cost`
(handling plus distance), and per SKU about 30 % of the locations in surplus and 30 % short, 1-200
units each. `generated_case` is also what the feasibility test in tests/rules/ plans.

The portal's figure is `plan_transfers` on the whole case: checking the input, scaling the Decimal
costs to integers, building one graph per SKU, solving it, and turning the flows into priced lines
and remainders. The floor is networkx's `max_flow_min_cost` alone on the same 200 graphs, built
beforehand: what the solver itself costs. Each is run --runs times after one warm-up; the median is
reported. Figures depend on the machine: they are printed to paste into the README, never asserted.

    python -m bench.planner [--locations 50] [--skus 200] [--runs 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from supplychain.rules.money import PRICE_PLACES, to_units
from supplychain.rules.transfer_planner import Pair, SkuPositions, TransferPlan, plan_transfers, unit_cost

HANDLING = Decimal("0.50")
PER_KM = Decimal("0.002")
REGIONS = 10


@dataclass(frozen=True)
class PlannerCase:
    positions: tuple[SkuPositions, ...]
    unit_costs: dict[Pair, Decimal]


def generated_case(locations: int = 50, skus: int = 200, *, seed: int = 1) -> PlannerCase:
    rng = random.Random(seed)  # noqa: S311 - a reproducible test case, not a secret
    regions = [
        (Decimal(rng.randint(2200, 4200)).scaleb(-2), Decimal(rng.randint(10300, 12200)).scaleb(-2))
        for _ in range(REGIONS)
    ]
    where = {location: regions[location % REGIONS] for location in range(1, locations + 1)}
    costs = {
        (a, b): unit_cost(where[a], where[b], handling=HANDLING, per_km=PER_KM)
        for a in where
        for b in where
        if a != b
    }
    positions = []
    for sku in range(1, skus + 1):
        surplus: dict[int, int] = {}
        shortage: dict[int, int] = {}
        for location in where:
            draw = rng.random()
            if draw < 0.3:
                surplus[location] = rng.randint(1, 200)
            elif draw < 0.6:
                shortage[location] = rng.randint(1, 200)
        positions.append(SkuPositions(sku, surplus, shortage))
    return PlannerCase(tuple(positions), costs)


def plan(case: PlannerCase) -> TransferPlan:
    return plan_transfers(case.positions, case.unit_costs)


def bare_graphs(case: PlannerCase) -> list[Any]:
    """The graphs the planner solves, built once with integer costs: the floor's input."""
    import networkx as nx

    graphs = []
    for position in case.positions:
        graph = nx.DiGraph()
        for source, quantity in position.surplus.items():
            graph.add_edge("s", ("from", source), capacity=quantity)
        for sink, quantity in position.shortage.items():
            graph.add_edge(("to", sink), "t", capacity=quantity)
        for source in position.surplus:
            for sink in position.shortage:
                graph.add_edge(
                    ("from", source),
                    ("to", sink),
                    capacity=min(position.surplus[source], position.shortage[sink]),
                    weight=to_units(case.unit_costs[(source, sink)], PRICE_PLACES),
                )
        graphs.append(graph)
    return graphs


def bare_solve(graphs: list[Any]) -> None:
    import networkx as nx

    for graph in graphs:
        nx.max_flow_min_cost(graph, "s", "t")


def median_seconds(work: Callable[[], object], runs: int) -> float:
    work()  # warm-up: imports and caches, once per process
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    case = generated_case(args.locations, args.skus, seed=args.seed)
    graphs = bare_graphs(case)
    floor = median_seconds(lambda: bare_solve(graphs), args.runs)
    portal = median_seconds(lambda: plan(case), args.runs)
    result = plan(case)
    moved = sum(line.quantity for line in result.lines)
    uncovered = sum(r.quantity for r in result.uncovered)
    out = sys.stdout
    out.write(
        f"{args.locations} locations x {args.skus} SKUs: {len(result.lines)} transfer lines, {moved} units "
        f"moved, {uncovered} units uncovered, total cost {result.total_cost} CNY\n\n"
    )
    out.write("| Line | Portal | Floor (bare networkx max_flow_min_cost) | Ratio |\n|---|---|---|---|\n")
    out.write(
        f"| transfer plan, {args.locations} locations x {args.skus} SKUs | {portal:.2f} s "
        f"| {floor:.2f} s | {portal / floor:.2f}x |\n"
    )


if __name__ == "__main__":
    main()
