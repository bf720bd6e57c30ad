"""A small network for the planning tests: a region with a warehouse and a store, a second region
with a store, one supplier with two SKUs (lead time 3 days, packs of 6), four days of history.

Hand-computed with PLANNING_HISTORY_DAYS=4, PLANNING_REVIEW_DAYS=7, service level 0.95:

- SKU X sells 2 a day at store A (std 0): ROP = 2 x 3 + 0 = 6, order-up-to = 6 + 2 x 7 = 20;
- SKU Y sells nothing at store A: ROP 0, nothing to order.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from supplychain.models import (
    Location,
    LocationKind,
    MovementType,
    Organisation,
    OrgKind,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    Sku,
    StockLedgerEntry,
    User,
)
from supplychain.models.purchasing import POStatus
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement
from tests.factories import make_location, make_organisation, make_price, make_region, make_sku, make_user

HISTORY_DAYS = 4
_keys = itertools.count()


@dataclass
class PlanningWorld:
    hq: Organisation
    supplier: Organisation
    other_supplier: Organisation
    warehouse: Location
    store_a: Location
    store_b: Location
    sku_x: Sku
    sku_y: Sku
    sku_other: Sku  # the other supplier's
    buyer: User
    admin: User
    store_user: User
    supplier_user: User
    other_supplier_user: User
    today: dt.date


def post(
    session: Session, location: Location, sku: Sku, kind: MovementType, delta: StockDelta, at: dt.datetime
) -> None:
    """A movement as if posted at `at` (the ledger's created_at default is the clock), in a session
    of its own: posting expires every row its session holds, and the world's rows must stay readable."""
    field = StockLedgerEntry.model_fields["created_at"]
    before = field.default_factory
    field.default_factory = lambda: at
    try:
        assert location.id is not None and sku.id is not None
        with Session(session.get_bind()) as own:
            post_movement(
                own,
                idempotency_key=f"planning-world-{next(_keys)}",
                location_id=location.id,
                sku_id=sku.id,
                movement_type=kind,
                delta=delta,
                source_document_type="test",
                source_document_id="T-1",
            )
            own.commit()
    finally:
        field.default_factory = before


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), BUSINESS_TIMEZONE).astimezone(dt.UTC)


def build_planning_world(session: Session, today: dt.date) -> PlanningWorld:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    other = make_organisation(session, kind=OrgKind.SUPPLIER)
    north, south = make_region(session), make_region(session)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE, region=north)
    store_a = make_location(session, organisation=hq, kind=LocationKind.STORE, region=north)
    store_b = make_location(session, organisation=hq, kind=LocationKind.STORE, region=south)
    sku_x, sku_y, sku_other = make_sku(session), make_sku(session), make_sku(session)
    for sku in (sku_x, sku_y):
        make_price(
            session, supplier=supplier, sku=sku, unit_price=Decimal("10.0000"), lead_time_days=3, pack_size=6
        )
    make_price(session, supplier=other, sku=sku_other, unit_price=Decimal("3.0000"), lead_time_days=3)
    world = PlanningWorld(
        hq=hq,
        supplier=supplier,
        other_supplier=other,
        warehouse=warehouse,
        store_a=store_a,
        store_b=store_b,
        sku_x=sku_x,
        sku_y=sku_y,
        sku_other=sku_other,
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER]),
        admin=make_user(session, organisation=hq, roles=[Role.ADMIN]),
        store_user=make_user(session, organisation=hq, roles=[Role.STORE], location=store_a),
        supplier_user=make_user(session, organisation=supplier, roles=[Role.SUPPLIER]),
        other_supplier_user=make_user(session, organisation=other, roles=[Role.SUPPLIER]),
        today=today,
    )
    # Store A: 13 received before the window, then 2 sold on each of the 4 days: 5 on hand.
    first = today - dt.timedelta(days=HISTORY_DAYS - 1)
    post(
        session,
        store_a,
        sku_x,
        MovementType.RECEIPT,
        StockDelta(on_hand=13),
        noon(first - dt.timedelta(days=5)),
    )
    for n in range(HISTORY_DAYS):
        post(
            session,
            store_a,
            sku_x,
            MovementType.ISSUE,
            StockDelta(on_hand=-2),
            noon(first + dt.timedelta(days=n)),
        )
    return world


def open_order(
    session: Session,
    world: PlanningWorld,
    *,
    number: str,
    requested_for: Location,
    ship_to: Location,
    sku: Sku,
    ordered: int,
    confirmed: int | None = None,
    received: int = 0,
    status: POStatus = POStatus.CONFIRMED,
) -> PurchaseOrder:
    assert world.supplier.id and world.hq.id and world.store_user.id and requested_for.id and ship_to.id
    po = PurchaseOrder(
        number=number,
        workflow_id=f"test-{number}",
        supplier_id=world.supplier.id,
        requester_user_id=world.store_user.id,
        requester_org_id=world.hq.id,
        requested_for_location_id=requested_for.id,
        ship_to_location_id=ship_to.id,
        status=status,
    )
    session.add(po)
    session.flush()
    assert po.id is not None and sku.id is not None
    session.add(
        PurchaseOrderLine(
            purchase_order_id=po.id,
            line_no=1,
            sku_id=sku.id,
            quantity_requested=ordered,
            quantity_ordered=ordered,
            quantity_confirmed=confirmed,
            quantity_received=received,
            unit_price=Decimal("10.0000"),
            tax_rate=Decimal("0.13"),
            line_amount=Decimal("10.00") * ordered,
        )
    )
    session.commit()
    return po
