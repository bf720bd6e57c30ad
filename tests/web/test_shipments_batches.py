"""Batches on the supplier's ASN and lots on the warehouse's receipt, through the pages.

Flows that reach the workflow start a ReplenishmentWorkflow for a batch-tracked SKU on the portal's
worker (as the store's request does, with the SKU's flag on the line) and click through the pages;
input the route refuses before asking the workflow uses rows written directly (nothing started).
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient
from temporalio.client import Client

from supplychain.models import (
    DocumentSequence,
    LocationKind,
    OrgKind,
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLot,
    Role,
    Shipment,
    ShipmentLine,
    ShipmentLineBatch,
    Sku,
    User,
)
from supplychain.models.catalog import InspectionMode
from supplychain.replenishment import with_batch_tracking
from supplychain.temporal import connect
from tests.factories import make_location, make_organisation, make_sku, make_user, unique_code
from tests.fixtures.numbers import next_number_block
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, csrf, form_post, login
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import (
    POLineInput,
    ReplenishmentInput,
    ReplenishmentWorkflow,
    WaitRecordedInput,
    po_workflow_id,
)

HX = {"HX-Request": "true"}
QUANTITY = 12
# The dev server outlives each test's database: shipment numbers come from a block of their own.


@dataclass
class World:
    supplier_id: int
    store_org_id: int
    store_location_id: int
    warehouse_location_id: int
    sku: Sku  # batch-tracked, never inspected (the receipt posts at once)
    plain_sku: Sku  # not batch-tracked
    store: User
    supplier: User
    other_supplier: User
    warehouse: User


@pytest.fixture
def world(session: Session) -> World:
    year = datetime.now(BUSINESS_TIMEZONE).year
    session.merge(DocumentSequence(prefix="SHP", year=year, last_value=next_number_block()))
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    other = make_organisation(session, kind=OrgKind.SUPPLIER)
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    sku, plain_sku = make_sku(session), make_sku(session)
    sku.batch_tracked = True
    for item in (sku, plain_sku):
        item.inspection_mode = InspectionMode.NEVER
        session.add(item)
    session.commit()
    assert hq.id and supplier.id and store.id and warehouse.id
    return World(
        supplier_id=supplier.id,
        store_org_id=hq.id,
        store_location_id=store.id,
        warehouse_location_id=warehouse.id,
        sku=sku,
        plain_sku=plain_sku,
        store=make_user(session, organisation=hq, roles=[Role.STORE], location=store, locale="en"),
        supplier=make_user(session, organisation=supplier, roles=[Role.SUPPLIER], locale="en"),
        other_supplier=make_user(session, organisation=other, roles=[Role.SUPPLIER], locale="en"),
        warehouse=make_user(
            session, organisation=hq, roles=[Role.WAREHOUSE], location=warehouse, locale="en"
        ),
    )


@pytest.fixture
async def temporal(portal_worker: WorkerThread) -> Client:
    return await connect(portal_worker.address)


def as_user(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def later(days: int) -> str:
    return (datetime.now(BUSINESS_TIMEZONE).date() + timedelta(days=days)).isoformat()


def action_error(response: httpx.Response) -> str:
    found = re.search(r'data-testid="action-error">([^<]*)<', response.text)
    return html.unescape(found.group(1)) if found else ""


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def start_input(number: str, world: World, *skus: Sku) -> ReplenishmentInput:
    assert world.store.id is not None
    return ReplenishmentInput(
        number=number,
        supplier_id=world.supplier_id,
        requester_user_id=world.store.id,
        requester_org_id=world.store_org_id,
        requested_for_location_id=world.store_location_id,
        ship_to_location_id=world.warehouse_location_id,
        lines=[
            POLineInput(
                line_no=line_no,
                sku_id=sku.id or 0,
                quantity_requested=QUANTITY,
                quantity_ordered=QUANTITY,
                unit_price=Decimal("10.00"),
                tax_rate=Decimal("0.13"),
            )
            for line_no, sku in enumerate(skus, start=1)
        ],
        needs_approval=False,
    )


def test_a_po_starts_with_each_lines_batch_tracking_from_its_sku(session: Session, world: World) -> None:
    started = with_batch_tracking(session, start_input("PO-B-1", world, world.sku, world.plain_sku))

    assert [line.batch_tracked for line in started.lines] == [True, False]


async def confirmed_po(
    temporal: Client,
    portal_worker: WorkerThread,
    factory: ClientFactory,
    session: Session,
    world: World,
    sku: Sku,
) -> str:
    """A purchase order for 12 of `sku`, started as the store's request starts it, confirmed."""
    number = f"PO-B-{uuid.uuid4().hex[:8].upper()}"
    handle = await temporal.start_workflow(
        ReplenishmentWorkflow.run,
        with_batch_tracking(session, start_input(number, world, sku)),
        id=po_workflow_id(number),
        task_queue=portal_worker.task_queue,
    )
    await handle.execute_update(ReplenishmentWorkflow.wait_recorded, WaitRecordedInput())
    supplier = as_user(factory, world.supplier)
    response = form_post(
        supplier,
        f"/purchase-orders/{number}/confirm",
        {"quantity-1": str(QUANTITY), "promised_date-1": later(1)},
    )
    assert response.status_code == 303, response.text
    return number


def asn(*batches: tuple[str, str, str], quantity: int = QUANTITY) -> dict[str, str]:
    form = {"carrier": "SF Express", "tracking_number": "SF123", "eta": later(2), "quantity-1": str(quantity)}
    for i, (batch_no, expiry, qty) in enumerate(batches, start=1):
        form |= {f"batch_no-1-{i}": batch_no, f"batch_expiry-1-{i}": expiry, f"batch_qty-1-{i}": qty}
    return form


def assert_nothing_shipped(session: Session) -> None:
    assert count(session, Shipment) == 0
    assert count(session, ShipmentLineBatch) == 0
    assert [line.quantity_shipped for line in session.execute(select(PurchaseOrderLine)).scalars()] == [0]


# --- the supplier's ASN --------------------------------------------------------------------------------


async def test_batch_tracked_line_without_batch_number_is_refused_and_nothing_recorded(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    number = await confirmed_po(temporal, portal_worker, portal_client, session, world, world.sku)
    supplier = as_user(portal_client, world.supplier)

    response = form_post(
        supplier, f"/purchase-orders/{number}/shipments/new", asn(("", later(300), str(QUANTITY)))
    )

    assert response.status_code == 400
    assert action_error(response) == "Every batch of line 1 needs a batch number and an expiry date."
    assert 'name="batch_qty-1-1"' in response.text and f'value="{QUANTITY}"' in response.text  # form kept
    assert_nothing_shipped(session)


async def test_batch_quantities_not_adding_up_to_the_line_are_refused_and_nothing_recorded(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    number = await confirmed_po(temporal, portal_worker, portal_client, session, world, world.sku)
    supplier = as_user(portal_client, world.supplier)

    response = form_post(
        supplier,
        f"/purchase-orders/{number}/shipments/new",
        asn(("B-1", later(300), "7"), ("B-2", later(400), "4")),  # 11 of 12
    )

    assert response.status_code == 400
    assert action_error(response) == "The batches of line 1 must add up to its quantity of 12."
    assert 'value="B-2"' in response.text
    assert_nothing_shipped(session)


async def test_asn_with_two_batches_stores_two_batch_rows_shown_on_the_po_page(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    number = await confirmed_po(temporal, portal_worker, portal_client, session, world, world.sku)
    supplier = as_user(portal_client, world.supplier)

    response = form_post(
        supplier,
        f"/purchase-orders/{number}/shipments/new",
        asn(("B-1", later(300), "7"), ("B-2", later(400), "5")),
    )

    assert response.status_code == 303, action_error(response) or response.text
    session.expire_all()
    rows = session.execute(select(ShipmentLineBatch).order_by(col(ShipmentLineBatch.id))).scalars().all()
    assert [(r.batch_no, r.expiry_date, r.quantity) for r in rows] == [
        ("B-1", date.fromisoformat(later(300)), 7),
        ("B-2", date.fromisoformat(later(400)), 5),
    ]
    page = supplier.get(f"/purchase-orders/{number}").text
    listed = re.search(r'<ul class="plain batches"[^>]*>(.*?)</ul>', page, re.S)
    assert listed and "Batch B-1" in listed.group(1) and "Batch B-2" in listed.group(1)


async def test_receipt_with_two_lots_stores_two_receipt_lots(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    number = await confirmed_po(temporal, portal_worker, portal_client, session, world, world.sku)
    supplier = as_user(portal_client, world.supplier)
    response = form_post(
        supplier,
        f"/purchase-orders/{number}/shipments/new",
        asn(("B-1", later(300), "7"), ("B-2", later(400), "5")),
    )
    assert response.status_code == 303, action_error(response) or response.text
    session.expire_all()
    shipment = session.execute(select(Shipment)).scalar_one()
    warehouse = as_user(portal_client, world.warehouse)

    form = warehouse.get(f"/warehouse/receipts/{shipment.number}").text
    assert (
        'name="lot_batch-1-1" value="B-1"' in form
        and 'name="lot_qty-1-2" inputmode="numeric" value="5"' in form
    )  # from the ASN
    response = form_post(
        warehouse,
        f"/warehouse/receipts/{shipment.number}",
        {
            "received-1": "12",
            **{"lot_batch-1-1": "B-1", "lot_expiry-1-1": later(300), "lot_qty-1-1": "7"},
            **{"lot_batch-1-2": "B-2", "lot_expiry-1-2": later(400), "lot_qty-1-2": "5"},
        },
    )

    assert response.status_code == 303, action_error(response) or response.text
    session.expire_all()
    lots = session.execute(select(ReceiptLot).order_by(col(ReceiptLot.lot_no))).scalars().all()
    assert [(lot.lot_no, lot.batch_no, lot.quantity) for lot in lots] == [(1, "B-1", 7), (2, "B-2", 5)]
    page = warehouse.get(f"/purchase-orders/{number}").text
    assert "Lot 1" in page and "Lot 2" in page


# --- refused in the route, before the workflow is asked ------------------------------------------------


def confirmed_po_row(session: Session, world: World, sku: Sku | None = None) -> PurchaseOrder:
    """A confirmed purchase order row as the workflow's activity writes it (no workflow behind it)."""
    number = unique_code("PO")
    sku = sku or world.sku
    assert world.store.id and sku.id
    po = PurchaseOrder(
        number=number,
        workflow_id=number.lower(),
        supplier_id=world.supplier_id,
        requester_user_id=world.store.id,
        requester_org_id=world.store_org_id,
        requested_for_location_id=world.store_location_id,
        ship_to_location_id=world.warehouse_location_id,
        status=POStatus.CONFIRMED,
        net_amount=Decimal("120.00"),
        tax_amount=Decimal("15.60"),
        total_amount=Decimal("135.60"),
        created_at=datetime.now(UTC),
        sent_at=datetime.now(UTC),
    )
    session.add(po)
    session.flush()
    assert po.id is not None
    session.add(
        PurchaseOrderLine(
            purchase_order_id=po.id,
            line_no=1,
            sku_id=sku.id,
            quantity_requested=QUANTITY,
            quantity_ordered=QUANTITY,
            quantity_confirmed=QUANTITY,
            unit_price=Decimal("10.0000"),
            tax_rate=Decimal("0.13"),
            line_amount=Decimal("120.00"),
            status=POLineStatus.OPEN,
        )
    )
    session.commit()
    return po


def shipment_row(session: Session, world: World, sku: Sku, *batches: tuple[str, date, int]) -> Shipment:
    """An ASN in transit for all 12 of a confirmed order's line, with the batches it announced."""
    po = confirmed_po_row(session, world, sku)
    po.status = POStatus.IN_DELIVERY
    session.add(po)
    line = session.execute(
        select(PurchaseOrderLine).where(col(PurchaseOrderLine.purchase_order_id) == po.id)
    ).scalar_one()
    assert po.id and line.id and world.supplier.id
    shipment = Shipment(
        number=unique_code("SHP"),
        purchase_order_id=po.id,
        carrier="SF",
        tracking_number="SF9",
        eta=date.fromisoformat(later(2)),
        created_by_user_id=world.supplier.id,
    )
    session.add(shipment)
    session.flush()
    assert shipment.id
    shipped = ShipmentLine(shipment_id=shipment.id, po_line_id=line.id, quantity_shipped=QUANTITY)
    session.add(shipped)
    session.flush()
    assert shipped.id
    for batch_no, expiry, quantity in batches:
        session.add(
            ShipmentLineBatch(
                shipment_line_id=shipped.id, batch_no=batch_no, expiry_date=expiry, quantity=quantity
            )
        )
    session.commit()
    return shipment


def test_asn_form_shows_three_empty_batch_rows_for_a_batch_tracked_line(
    client: TestClient, session: Session, world: World
) -> None:
    po = confirmed_po_row(session, world)
    login(client, world.supplier)

    page = client.get(f"/purchase-orders/{po.number}/shipments/new").text

    for i in (1, 2, 3):
        assert f'name="batch_no-1-{i}"' in page and f'name="batch_expiry-1-{i}"' in page
    assert 'name="batch_no-1-4"' not in page
    assert f'hx-get="/purchase-orders/{po.number}/shipments/new/batch-row?line=1&amp;index=4"' in page


def test_malformed_batch_quantity_and_date_are_refused_beside_the_fields(
    client: TestClient, session: Session, world: World
) -> None:
    po = confirmed_po_row(session, world)
    login(client, world.supplier)

    response = form_post(
        client,
        f"/purchase-orders/{po.number}/shipments/new",
        asn(("B-1", "31.12.2030", "7"), ("B-2", later(400), "five")),
    )

    assert response.status_code == 400
    assert 'data-testid="error-batch_expiry-1-1">Enter a date as YYYY-MM-DD' in response.text
    assert 'data-testid="error-batch_qty-1-2">Enter a whole number, for example 12.<' in response.text
    assert 'value="five"' in response.text  # the form as typed
    assert_nothing_shipped(session)


def test_add_batch_row_returns_the_next_row_and_moves_the_button_on(
    client: TestClient, session: Session, world: World
) -> None:
    po = confirmed_po_row(session, world)
    login(client, world.supplier)
    url = f"/purchase-orders/{po.number}/shipments/new/batch-row"

    response = client.get(url, params={"line": "1", "index": "4"}, headers=HX)

    assert response.status_code == 200
    assert 'name="batch_no-1-4"' in response.text and 'name="batch_qty-1-4"' in response.text
    assert 'hx-swap-oob="true"' in response.text and "index=5" in response.text
    assert client.get(url, params={"line": "2", "index": "4"}, headers=HX).status_code == 404


def test_another_suppliers_asn_batch_row_is_404(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    po = confirmed_po_row(session, world)
    other = as_user(make_client, world.other_supplier)

    url = f"/purchase-orders/{po.number}/shipments/new/batch-row"
    assert other.get(url, params={"line": "1", "index": "4"}, headers=HX).status_code == 404
    response = other.post(
        f"/purchase-orders/{po.number}/shipments/new",
        data={**asn(("B-1", later(300), "12")), "csrf_token": csrf(other)},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert count(session, Shipment) == 0


def test_receipt_form_prefills_lots_from_the_asn_and_refuses_a_malformed_lot(
    client: TestClient, session: Session, world: World
) -> None:
    shipment = shipment_row(session, world, world.sku, ("B-7", date(2031, 5, 1), QUANTITY))
    login(client, world.warehouse)

    page = client.get(f"/warehouse/receipts/{shipment.number}").text
    assert 'name="lot_batch-1-1" value="B-7"' in page and 'value="2031-05-01"' in page
    assert f'name="lot_qty-1-1" inputmode="numeric" value="{QUANTITY}"' in page
    assert 'name="lot_qty-1-2"' in page  # an empty row to split into

    response = form_post(
        client,
        f"/warehouse/receipts/{shipment.number}",
        {"received-1": "12", "lot_batch-1-1": "B-7", "lot_expiry-1-1": "2031-05-01", "lot_qty-1-1": "-3"},
    )
    assert response.status_code == 400
    assert 'data-testid="error-lot_qty-1-1">The quantity cannot be negative.<' in response.text
    assert count(session, ReceiptLot) == 0


def test_add_lot_row_for_a_sku_without_batches_has_only_a_quantity(
    client: TestClient, session: Session, world: World
) -> None:
    shipment = shipment_row(session, world, world.plain_sku)
    login(client, world.warehouse)

    response = client.get(
        f"/warehouse/receipts/{shipment.number}/lot-row", params={"line": "1", "index": "3"}, headers=HX
    )

    assert response.status_code == 200
    assert 'name="lot_qty-1-3"' in response.text and "lot_batch-1-3" not in response.text
    assert "index=4" in response.text
