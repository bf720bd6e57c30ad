"""supplychain.planning: stock positions (balances and open purchase order lines), the store's
reorder view in a fixed number of queries, and the writers of the reorder review and the transfer
planner, against hand-computed figures (tests/planning_world.py); SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session, col

from supplychain import planning
from supplychain.models import (
    MovementType,
    Notification,
    PlanningRun,
    ProposalStatus,
    Region,
    ReplenishmentProposal,
    ReplenishmentProposalLine,
    TransferProposalKind,
    TransferProposalLine,
)
from supplychain.models.purchasing import POStatus
from supplychain.rules.dates import business_date
from supplychain.rules.reorder_point import REASON_BELOW_REORDER_POINT
from supplychain.rules.stock import StockDelta
from supplychain.rules.transfer_planner import REASON_SHORTAGE, REASON_SLOW_MOVING
from supplychain.settings import settings
from tests.factories import make_sku
from tests.planning_world import HISTORY_DAYS, PlanningWorld, build_planning_world, noon, open_order, post

TODAY = business_date(dt.datetime.now(dt.UTC))


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> PlanningWorld:
    monkeypatch.setattr(settings, "PLANNING_HISTORY_DAYS", HISTORY_DAYS)
    monkeypatch.setattr(settings, "PLANNING_REVIEW_DAYS", 7)
    monkeypatch.setattr(settings, "PLANNING_SERVICE_LEVEL", 0.95)
    return build_planning_world(session, TODAY)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def ids(world: PlanningWorld) -> tuple[int, int, int, int, int]:
    w = world
    assert w.store_a.id and w.warehouse.id and w.sku_x.id and w.sku_y.id and w.sku_other.id
    return w.store_a.id, w.warehouse.id, w.sku_x.id, w.sku_y.id, w.sku_other.id


def test_reorder_view_below_the_reorder_point_suggests_up_to_the_level_in_whole_packs(
    session: Session, world: PlanningWorld
) -> None:
    store, _, x, y, other = ids(world)
    view = planning.reorder_view(session, store, [x, y, other], TODAY)
    # 5 on hand, ROP 6, order-up-to 20: 15 needed, packs of 6 -> 18.
    assert view[x] == planning.View(on_hand=5, available=5, reorder_point=6, order_up_to=20, suggested=18)
    assert view[y] == planning.View(on_hand=0, available=0, reorder_point=0, order_up_to=0, suggested=0)
    assert view[other].suggested == 0


def test_open_purchase_order_lines_count_as_on_order_for_the_store_and_the_warehouse(
    session: Session, world: PlanningWorld
) -> None:
    store, warehouse, x, _, _ = ids(world)
    # Ordered 10, confirmed 8, 3 received: 5 still to come.
    open_order(
        session,
        world,
        number="PO-T-1",
        requested_for=world.store_a,
        ship_to=world.warehouse,
        sku=world.sku_x,
        ordered=10,
        confirmed=8,
        received=3,
    )
    # Not on order: a cancelled order, and a confirmed order's closed line.
    open_order(
        session,
        world,
        number="PO-T-2",
        requested_for=world.store_a,
        ship_to=world.warehouse,
        sku=world.sku_x,
        ordered=50,
        status=POStatus.CANCELLED,
    )
    kinds = {store: world.store_a.kind, warehouse: world.warehouse.kind}
    positions = planning.stock_positions(session, kinds, [x])
    assert positions[(store, x)].on_order == 5
    assert positions[(store, x)].inventory_position == 10
    assert positions[(warehouse, x)].on_order == 5
    # Position 10 is above the reorder point 6: nothing to order.
    assert planning.reorder_view(session, store, [x], TODAY)[x].suggested == 0


def test_reorder_view_takes_the_same_number_of_queries_for_three_skus_and_thirty(
    session: Session, world: PlanningWorld, db: Engine
) -> None:
    store, _, x, y, other = ids(world)
    many = [make_sku(session).id for _ in range(27)]
    session.expire_all()
    with counted(db) as few_statements:
        planning.reorder_view(session, store, [x, y, other], TODAY)
    session.expire_all()
    with counted(db) as many_statements:
        planning.reorder_view(session, store, [x, y, other, *many], TODAY)  # type: ignore[list-item]
    assert len(few_statements) == len(many_statements) <= 5


def _proposals(session: Session) -> list[ReplenishmentProposal]:
    return list(
        session.execute(select(ReplenishmentProposal).order_by(col(ReplenishmentProposal.id))).scalars()
    )


def test_reorder_review_writes_one_proposal_per_supplier_and_location_once(
    session: Session, world: PlanningWorld
) -> None:
    store, _, x, _, _ = ids(world)
    outcome = planning.write_reorder_review(session, workflow_id="review-1", today=TODAY)
    session.commit()
    assert outcome.written and outcome.proposals == 1
    [proposal] = _proposals(session)
    assert (proposal.supplier_id, proposal.location_id, proposal.status) == (
        world.supplier.id,
        store,
        ProposalStatus.PROPOSED,
    )
    [line] = session.execute(
        select(ReplenishmentProposalLine).where(col(ReplenishmentProposalLine.proposal_id) == proposal.id)
    ).scalars()
    assert (line.sku_id, line.quantity, line.needed, line.on_hand, line.inventory_position) == (
        x,
        18,
        15,
        5,
        5,
    )
    assert (line.reorder_point, line.order_up_to, line.unit_price) == (6, 20, Decimal("10.0000"))
    assert line.reason == REASON_BELOW_REORDER_POINT
    run = session.execute(select(PlanningRun).where(col(PlanningRun.workflow_id) == "review-1")).scalar_one()
    assert run.proposals == 1 and run.finished_at is not None and run.business_date == TODAY

    # Low stock (5 available <= 6): the store's user and the supplier's, not the other supplier's.
    told = {n.user_id for n in session.execute(select(Notification)).scalars()}
    assert told == {world.store_user.id, world.supplier_user.id}

    # A retry of the same run writes nothing.
    again = planning.write_reorder_review(session, workflow_id="review-1", today=TODAY)
    session.commit()
    assert not again.written and again.run_id == outcome.run_id
    assert len(_proposals(session)) == 1
    assert len(list(session.execute(select(Notification)).scalars())) == 2


def test_a_later_review_supersedes_the_open_proposal_of_the_same_supplier_and_location(
    session: Session, world: PlanningWorld
) -> None:
    planning.write_reorder_review(session, workflow_id="review-1", today=TODAY)
    session.commit()
    planning.write_reorder_review(session, workflow_id="review-2", today=TODAY)
    session.commit()
    first, second = _proposals(session)
    assert (first.status, second.status) == (ProposalStatus.SUPERSEDED, ProposalStatus.PROPOSED)
    # The alert is once per location, SKU and day.
    assert len(list(session.execute(select(Notification)).scalars())) == 2


def test_transfer_plan_covers_the_shortage_from_the_cheapest_surplus_and_moves_slow_stock(
    session: Session, world: PlanningWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PLANNER_HANDLING_COST", Decimal("0.50"))
    monkeypatch.setattr(settings, "PLANNER_INTER_REGION_COST", Decimal("2.00"))
    monkeypatch.setattr(settings, "PLANNER_SLOW_MOVING_DAYS", 90)
    store, warehouse, x, y, _ = ids(world)
    assert world.store_b.id
    # The warehouse holds 30 X and sells none: 29 may leave (stays above its reorder point 0).
    post(
        session,
        world.warehouse,
        world.sku_x,
        MovementType.RECEIPT,
        StockDelta(on_hand=30),
        noon(TODAY - dt.timedelta(days=1)),
    )
    # Store A sells 1 Y a day (ROP 3, order-up-to 10) and holds 5: no shortage, a week's demand of 7.
    first = TODAY - dt.timedelta(days=HISTORY_DAYS - 1)
    post(
        session,
        world.store_a,
        world.sku_y,
        MovementType.RECEIPT,
        StockDelta(on_hand=9),
        noon(TODAY - dt.timedelta(days=20)),
    )
    for n in range(HISTORY_DAYS):
        post(
            session,
            world.store_a,
            world.sku_y,
            MovementType.ISSUE,
            StockDelta(on_hand=-1),
            noon(first + dt.timedelta(days=n)),
        )
    # Store B (the other region, no coordinates) has had 10 Y lying for 100 days.
    post(
        session,
        world.store_b,
        world.sku_y,
        MovementType.RECEIPT,
        StockDelta(on_hand=10),
        noon(TODAY - dt.timedelta(days=100)),
    )

    outcome = planning.write_transfer_plan(session, workflow_id="plan-1", today=TODAY)
    session.commit()
    lines = list(
        session.execute(select(TransferProposalLine).order_by(col(TransferProposalLine.id))).scalars()
    )
    got = [
        (
            ln.kind,
            ln.sku_id,
            ln.source_location_id,
            ln.destination_location_id,
            ln.quantity,
            ln.unit_cost,
            ln.line_cost,
            ln.reason,
        )
        for ln in lines
    ]
    assert got == [
        # Store A's X: order-up-to 20 less position 5, within the region at the handling cost.
        (
            TransferProposalKind.SHORTAGE,
            x,
            warehouse,
            store,
            15,
            Decimal("0.5000"),
            Decimal("7.50"),
            REASON_SHORTAGE,
        ),
        (
            TransferProposalKind.SLOW_MOVING,
            y,
            world.store_b.id,
            store,
            7,
            Decimal("2.0000"),
            Decimal("14.00"),
            REASON_SLOW_MOVING,
        ),
    ]
    assert outcome.proposals == 2 and all(ln.status == ProposalStatus.PROPOSED for ln in lines)

    assert not planning.write_transfer_plan(session, workflow_id="plan-1", today=TODAY).written
    planning.write_transfer_plan(session, workflow_id="plan-2", today=TODAY)
    session.commit()
    statuses = [
        ln.status
        for ln in session.execute(
            select(TransferProposalLine).order_by(col(TransferProposalLine.id))
        ).scalars()
    ]
    assert statuses == [ProposalStatus.SUPERSEDED] * 2 + [ProposalStatus.PROPOSED] * 2


def test_unit_costs_use_coordinates_when_both_regions_have_them(
    session: Session, world: PlanningWorld
) -> None:
    a, b = world.store_a, world.store_b
    assert a.id and b.id and a.region_id and b.region_id
    regions = {r.id: r for r in session.execute(select(Region)).scalars() if r.id is not None}
    regions[a.region_id].latitude, regions[a.region_id].longitude = Decimal("39.9042"), Decimal("116.4074")
    regions[b.region_id].latitude, regions[b.region_id].longitude = Decimal("31.2304"), Decimal("121.4737")
    costs = planning.unit_costs({a.id: a, b.id: b}, regions)
    # About 1067 km Beijing-Shanghai: 0.50 + 0.001 x 1067 = 1.57.
    assert costs[(a.id, b.id)] == costs[(b.id, a.id)]
    assert Decimal("1.50") < costs[(a.id, b.id)] < Decimal("1.65")
