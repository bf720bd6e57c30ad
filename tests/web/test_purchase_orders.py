"""Purchase-order pages: the store's request, the supplier's confirmation and shipment, the warehouse's
receipt, the buyer's list, and who may see or do what.

Flows that go through the workflow use `portal_client` (a real dev server and the production worker);
checks that never reach the workflow (bad input, scoping, role checks, list filters) use the plain
`client` with rows written directly, so they also prove nothing was started.
"""

from __future__ import annotations

import html
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain.models import (
    DocumentEvent,
    DocumentSequence,
    Location,
    LocationKind,
    Notification,
    Organisation,
    OrgKind,
    POLineStatus,
    POStatus,
    PriceListEntry,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    Shipment,
    ShipmentStatus,
    Sku,
    StockBalance,
    User,
)
from tests.factories import (
    make_location,
    make_organisation,
    make_price,
    make_region,
    make_sku,
    make_user,
    unique_code,
)
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.web import ClientFactory, at_once, form_id_in, form_post, login
from workflows.common import BUSINESS_TIMEZONE

HX = {"HX-Request": "true"}
NOT_SENT = frozenset({POStatus.PENDING_APPROVAL, POStatus.APPROVAL_REJECTED})
LIMIT = Decimal("1000000.00")  # store users' approval limit: the tests' orders need no approval


@dataclass
class World:
    hq: Organisation
    supplier_a: Organisation
    supplier_b: Organisation
    distributor: Organisation
    regional_warehouse: Location
    central_warehouse: Location
    store_a: Location
    store_b: Location
    dist_store: Location
    sku_a: Sku  # supplier A, pack of 6
    sku_b: Sku  # supplier B, MOQ 10
    sku_unpriced: Sku  # no supplier price at all
    sku_inactive_price: Sku  # only an inactive price
    store_a_user: User
    store_b_user: User
    distributor_user: User
    supplier_a_user: User
    supplier_b_user: User
    buyer: User
    warehouse_user: User


@pytest.fixture
def fresh_numbers(session: Session) -> None:
    fresh_document_numbers(session, ("PO", "SHP"))


@pytest.fixture
def world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier_a = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Alpha")
    supplier_b = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Beta")
    distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    region = make_region(session)
    regional = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE, region=region)
    central = make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE)
    store_a = make_location(session, organisation=hq, kind=LocationKind.STORE, region=region)
    store_b = make_location(session, organisation=hq, kind=LocationKind.STORE, region=region)
    dist_store = make_location(session, organisation=distributor, kind=LocationKind.STORE, region=region)
    sku_a, sku_b = make_sku(session), make_sku(session)
    make_price(session, supplier=supplier_a, sku=sku_a, unit_price=Decimal("10.0000"), pack_size=6)
    make_price(session, supplier=supplier_b, sku=sku_b, unit_price=Decimal("5.0000"), moq=10)
    sku_unpriced, sku_inactive = make_sku(session), make_sku(session)
    make_price(session, supplier=supplier_a, sku=sku_inactive, is_active=False)

    def store_user(org: Organisation, location: Location) -> User:
        return make_user(
            session,
            organisation=org,
            roles=[Role.STORE],
            location=location,
            approval_limit=LIMIT,
            locale="en",
        )

    return World(
        hq=hq,
        supplier_a=supplier_a,
        supplier_b=supplier_b,
        distributor=distributor,
        regional_warehouse=regional,
        central_warehouse=central,
        store_a=store_a,
        store_b=store_b,
        dist_store=dist_store,
        sku_a=sku_a,
        sku_b=sku_b,
        sku_unpriced=sku_unpriced,
        sku_inactive_price=sku_inactive,
        store_a_user=store_user(hq, store_a),
        store_b_user=store_user(hq, store_b),
        distributor_user=store_user(distributor, dist_store),
        supplier_a_user=make_user(session, organisation=supplier_a, roles=[Role.SUPPLIER], locale="en"),
        supplier_b_user=make_user(session, organisation=supplier_b, roles=[Role.SUPPLIER], locale="en"),
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER], locale="en"),
        warehouse_user=make_user(
            session, organisation=hq, roles=[Role.WAREHOUSE], location=regional, locale="en"
        ),
    )


def as_user(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def po_count(session: Session) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one())


def make_po(
    session: Session,
    world: World,
    *,
    supplier: Organisation | None = None,
    store: Location | None = None,
    requester: User | None = None,
    status: POStatus = POStatus.SENT,
    created_at: datetime | None = None,
    quantity: int = 12,
) -> PurchaseOrder:
    """A purchase order row as the workflow's activity writes it (no workflow behind it)."""
    supplier = supplier or world.supplier_a
    requester = requester or world.store_a_user
    number = unique_code("PO")
    assert supplier.id and requester.id and world.regional_warehouse.id
    po = PurchaseOrder(
        number=number,
        workflow_id=number.lower(),
        supplier_id=supplier.id,
        requester_user_id=requester.id,
        requester_org_id=requester.organisation_id,
        requested_for_location_id=(store or world.store_a).id or 0,
        ship_to_location_id=world.regional_warehouse.id,
        status=status,
        net_amount=Decimal("120.00"),
        tax_amount=Decimal("15.60"),
        total_amount=Decimal("135.60"),
        created_at=created_at or datetime.now(UTC),
        # As the activity records it: sent at once unless it waits for (or failed) HQ approval.
        sent_at=None if status in NOT_SENT else (created_at or datetime.now(UTC)),
    )
    session.add(po)
    session.flush()
    assert po.id is not None and world.sku_a.id is not None
    session.add(
        PurchaseOrderLine(
            purchase_order_id=po.id,
            line_no=1,
            sku_id=world.sku_a.id,
            quantity_requested=quantity,
            quantity_ordered=quantity,
            unit_price=Decimal("10.0000"),
            tax_rate=Decimal("0.13"),
            line_amount=Decimal("120.00"),
        )
    )
    session.commit()
    session.refresh(po)
    return po


def request_form(*pairs: tuple[object, object], token: str | None = None) -> dict[str, str]:
    """The catalogue form as a browser sends it: quantities plus the form's one-time token."""
    return {"submission_token": token or secrets.token_urlsafe(24)} | {
        f"qty-{sku_id}": str(qty) for sku_id, qty in pairs
    }


def flash_text(html: str) -> str:
    found = re.search(r'<div class="flash flash-\w+" role="status">([^<]*)</div>', html)
    return found.group(1) if found else ""


def tomorrow() -> str:
    return (datetime.now(BUSINESS_TIMEZONE).date() + timedelta(days=1)).isoformat()


def submit_request(store: TestClient, world: World, qty_a: int = 10, qty_b: int = 3) -> list[str]:
    return submit_request_for(store, (world.sku_a.id, qty_a), (world.sku_b.id, qty_b))


def submit_request_for(store: TestClient, *pairs: tuple[object, object]) -> list[str]:
    """The catalogue form sent with these (SKU id, quantity) pairs; the numbers the flash lists."""
    response = form_post(store, "/replenishment/new", request_form(*pairs))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/replenishment"
    numbers = re.findall(r"PO-\d{4}-\d{6}", flash_text(store.get("/replenishment").text))
    assert numbers, "the flash lists no purchase order numbers"
    return numbers


def load_po(session: Session, number: str) -> PurchaseOrder:
    session.expire_all()
    po: PurchaseOrder = session.execute(
        select(PurchaseOrder).where(col(PurchaseOrder.number) == number)
    ).scalar_one()
    return po


def load_lines(session: Session, po: PurchaseOrder) -> list[PurchaseOrderLine]:
    return list(
        session.execute(
            select(PurchaseOrderLine)
            .where(col(PurchaseOrderLine.purchase_order_id) == po.id)
            .order_by(col(PurchaseOrderLine.line_no))
        ).scalars()
    )


# -- the store's catalogue and request ---------------------------------------------------------------


def test_catalogue_lists_only_orderable_skus_with_price_moq_and_pack(
    make_client: ClientFactory, world: World
) -> None:
    html = as_user(make_client, world.store_a_user).get("/replenishment/new").text
    assert f'name="qty-{world.sku_a.id}"' in html and f'name="qty-{world.sku_b.id}"' in html
    assert f'name="qty-{world.sku_unpriced.id}"' not in html
    assert f'name="qty-{world.sku_inactive_price.id}"' not in html
    row = re.search(rf'<tr id="sku-{world.sku_a.id}">.*?</tr>', html, re.S)
    assert row and "¥10.00" in row.group(0) and ">6<" in row.group(0)  # price and pack size


def test_a_distributors_catalogue_shows_the_price_it_pays_and_never_another_suppliers_list(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    dearer = make_price(session, supplier=world.supplier_b, sku=world.sku_a, unit_price=Decimal("11.5000"))
    ordered_from = session.execute(
        select(PriceListEntry).where(
            col(PriceListEntry.sku_id) == world.sku_a.id,
            col(PriceListEntry.supplier_id) == world.supplier_a.id,
        )
    ).scalar_one()
    distributor = as_user(make_client, world.distributor_user)
    catalogue = distributor.get("/replenishment/new").text
    row = re.search(rf'<tr id="sku-{world.sku_a.id}">.*?</tr>', catalogue, re.S)
    assert row and "¥10.00" in row.group(0)
    assert "¥11.50" not in catalogue and "Supplier Beta" not in row.group(0)
    preview = distributor.post(
        "/replenishment/preview",
        data=request_form((world.sku_a.id, 6)),
        headers={**HX, "X-CSRF-Token": csrf_of(distributor)},
    ).text
    assert "¥60.00" in preview and "11.50" not in preview
    # Its price lists: the entry it orders at, not the other supplier's dearer one.
    assert distributor.get(f"/price-lists/{ordered_from.id}").status_code == 200
    assert distributor.get(f"/price-lists/{dearer.id}").status_code == 404
    assert "11.50" not in distributor.get("/price-lists").text


def test_preview_shows_rounding_notes_and_one_order_per_supplier(
    make_client: ClientFactory, world: World
) -> None:
    store = as_user(make_client, world.store_a_user)
    response = store.post(
        "/replenishment/preview",
        data=request_form((world.sku_a.id, 10), (world.sku_b.id, 3)),
        headers={**HX, "X-CSRF-Token": csrf_of(store)},
    )
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<section class="card po-preview" id="preview"')  # the block alone
    assert "Rounded up to whole packs of 6." in html
    assert "Raised to the minimum order quantity of 10." in html
    assert f'data-testid="plan-supplier-{world.supplier_a.id}"' in html
    assert f'data-testid="plan-supplier-{world.supplier_b.id}"' in html
    assert "2 purchase orders · Total" in html


def csrf_of(client: TestClient) -> str:
    from tests.fixtures.web import csrf

    return csrf(client)


def test_store_request_is_split_into_one_po_per_supplier_with_rounding(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    numbers = submit_request(store, world, qty_a=10, qty_b=3)
    assert len(numbers) == 2
    pos = {po.supplier_id: po for po in (load_po(session, n) for n in numbers)}
    assert world.supplier_a.id and world.supplier_b.id
    assert set(pos) == {world.supplier_a.id, world.supplier_b.id}
    line_a = load_lines(session, pos[world.supplier_a.id])
    line_b = load_lines(session, pos[world.supplier_b.id])
    assert [(x.quantity_requested, x.quantity_ordered) for x in line_a] == [(10, 12)]  # whole packs of 6
    assert [(x.quantity_requested, x.quantity_ordered) for x in line_b] == [(3, 10)]  # MOQ 10
    for po in pos.values():
        assert po.status == POStatus.SENT  # under the store's limit: no approval
        assert po.requested_for_location_id == world.store_a.id
        assert po.ship_to_location_id == world.regional_warehouse.id  # the store region's warehouse
    my_orders = store.get("/replenishment").text
    assert all(n in my_orders for n in numbers)
    detail = store.get(f"/purchase-orders/{numbers[0]}")
    assert detail.status_code == 200
    assert 'data-testid="live-status"' in detail.text  # the workflow answered the query
    assert 'id="timeline"' in detail.text


def test_sending_the_same_request_form_twice_starts_the_orders_once(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    form = request_form((world.sku_a.id, 6), token=secrets.token_urlsafe(24))
    first = form_post(store, "/replenishment/new", form)
    assert first.status_code == 303
    count = session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one()
    second = form_post(store, "/replenishment/new", form)  # a double click, or the browser resending
    assert second.status_code == 303
    assert "already sent" in flash_text(store.get("/replenishment").text)
    session.expire_all()
    assert session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == count == 1


def test_an_order_temporal_refuses_to_start_shows_the_message_and_records_nothing(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    [number] = submit_request_for(store, (world.sku_a.id, 6))
    # The counter set back: the next request reserves the same number, whose process is running.
    year = datetime.now(BUSINESS_TIMEZONE).year
    sequence = session.get(DocumentSequence, ("PO", year))
    assert sequence is not None
    sequence.last_value -= 1
    session.add(sequence)
    session.commit()

    response = form_post(store, "/replenishment/new", request_form((world.sku_a.id, 6)))
    assert response.status_code == 503
    assert "could not take the rest of your request right now" in html.unescape(response.text)
    session.expire_all()
    assert session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == 1
    assert load_po(session, number).requested_for_location_id == world.store_a.id  # the first, untouched


def test_a_request_form_without_its_token_starts_nothing(
    portal_client: ClientFactory, world: World, session: Session
) -> None:
    store = as_user(portal_client, world.store_a_user)
    form = {k: v for k, v in request_form((world.sku_a.id, 6)).items() if k != "submission_token"}
    response = form_post(store, "/replenishment/new", form)
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == 0


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-5", "The quantity cannot be negative."),
        ("abc", "Enter a whole number, for example 12."),
        ("1.5", "Enter a whole number, for example 12."),
        ("1000001", "Enter at most 1,000,000."),
    ],
)
def test_bad_quantity_shows_message_beside_the_line_and_starts_nothing(
    make_client: ClientFactory, world: World, session: Session, quantity: str, message: str
) -> None:
    store = as_user(make_client, world.store_a_user)
    response = form_post(
        store, "/replenishment/new", request_form((world.sku_a.id, quantity), (world.sku_b.id, 5))
    )
    assert response.status_code == 400
    found = re.search(rf'data-testid="error-qty-{world.sku_a.id}">([^<]*)<', response.text)
    assert found and found.group(1) == message
    assert f'value="{quantity}"' in response.text  # what was typed stays in the field
    assert po_count(session) == 0


@pytest.mark.parametrize("quantities", [{}, {"a": "0", "b": "0"}, {"a": "", "b": " "}])
def test_request_without_any_quantity_shows_message_and_starts_nothing(
    make_client: ClientFactory, world: World, session: Session, quantities: dict[str, str]
) -> None:
    store = as_user(make_client, world.store_a_user)
    ids = {"a": world.sku_a.id, "b": world.sku_b.id}
    response = form_post(
        store,
        "/replenishment/new",
        {"submission_token": secrets.token_urlsafe(24)} | {f"qty-{ids[k]}": v for k, v in quantities.items()},
    )
    assert response.status_code == 400
    assert "Enter a quantity for at least one item." in response.text
    assert po_count(session) == 0


def test_unknown_sku_shows_message_and_starts_nothing(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    store = as_user(make_client, world.store_a_user)
    response = form_post(store, "/replenishment/new", request_form((world.sku_a.id, 6), (987654321, 5)))
    assert response.status_code == 400
    assert "An item in the request is not a known SKU." in response.text
    response = form_post(store, "/replenishment/new", {"qty-abc": "5", **request_form((world.sku_a.id, 6))})
    assert response.status_code == 400
    assert po_count(session) == 0


@pytest.mark.parametrize("which", ["sku_unpriced", "sku_inactive_price"])
def test_sku_the_store_may_not_order_shows_message_and_starts_nothing(
    make_client: ClientFactory, world: World, session: Session, which: str
) -> None:
    sku: Sku = getattr(world, which)
    store = as_user(make_client, world.store_a_user)
    response = form_post(store, "/replenishment/new", request_form((world.sku_a.id, 6), (sku.id, 5)))
    assert response.status_code == 400
    assert f"{sku.code} {sku.name_en} cannot be ordered: it has no active supplier price." in response.text
    assert po_count(session) == 0


def test_only_the_store_role_may_order(make_client: ClientFactory, world: World) -> None:
    supplier = as_user(make_client, world.supplier_a_user)
    assert supplier.get("/replenishment/new").status_code == 403
    assert form_post(supplier, "/replenishment/new", request_form((world.sku_a.id, 6))).status_code == 403


# -- the supplier's confirmation, and refused Updates --------------------------------------------------


def test_supplier_confirming_a_past_promised_date_gets_message_and_nothing_changes(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    numbers = submit_request(store, world)
    po = next(p for p in (load_po(session, n) for n in numbers) if p.supplier_id == world.supplier_a.id)
    supplier = as_user(portal_client, world.supplier_a_user)
    assert po.number in supplier.get("/supplier/purchase-orders").text  # awaiting confirmation
    yesterday = (datetime.now(BUSINESS_TIMEZONE).date() - timedelta(days=1)).isoformat()
    response = form_post(
        supplier, f"/purchase-orders/{po.number}/confirm", {"quantity-1": "12", "promised_date-1": yesterday}
    )
    assert response.status_code == 400
    assert "The promised date for line 1 cannot be in the past." in response.text
    assert load_po(session, po.number).status == POStatus.SENT
    assert [line.quantity_confirmed for line in load_lines(session, po)] == [None]

    # Non-numeric input never reaches the workflow either.
    response = form_post(supplier, f"/purchase-orders/{po.number}/confirm", {"quantity-1": "twelve"})
    assert response.status_code == 400
    assert "Line 1: Enter a whole number, for example 12." in response.text


def test_whole_replenishment_through_the_pages_closes_the_order_and_posts_stock(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    numbers = submit_request(store, world, qty_a=10, qty_b=3)
    po = next(p for p in (load_po(session, n) for n in numbers) if p.supplier_id == world.supplier_a.id)

    supplier = as_user(portal_client, world.supplier_a_user)
    response = form_post(
        supplier, f"/purchase-orders/{po.number}/confirm", {"quantity-1": "12", "promised_date-1": tomorrow()}
    )
    assert response.status_code == 303, response.text
    assert load_po(session, po.number).status == POStatus.CONFIRMED

    assert supplier.get(f"/purchase-orders/{po.number}/shipments/new").status_code == 200
    response = form_post(
        supplier,
        f"/purchase-orders/{po.number}/shipments/new",
        {"carrier": "SF Express", "tracking_number": "SF123", "eta": tomorrow(), "quantity-1": "12"},
    )
    assert response.status_code == 303, response.text
    shipment = session.execute(select(Shipment).where(col(Shipment.purchase_order_id) == po.id)).scalar_one()
    assert shipment.number in supplier.get("/supplier/shipments").text

    warehouse = as_user(portal_client, world.warehouse_user)
    assert shipment.number in warehouse.get("/warehouse/receipts").text
    preview = warehouse.post(
        f"/warehouse/receipts/{shipment.number}/preview",
        data={"received-1": "11"},
        headers={**HX, "X-CSRF-Token": csrf_of(warehouse)},
    )
    assert 'data-testid="diff-1">1 short<' in preview.text
    response = form_post(warehouse, f"/warehouse/receipts/{shipment.number}", {"received-1": "12"})
    assert response.status_code == 303, response.text

    po = load_po(session, po.number)
    assert po.status == POStatus.CLOSED
    balance = session.execute(
        select(StockBalance).where(
            col(StockBalance.location_id) == world.regional_warehouse.id,
            col(StockBalance.sku_id) == world.sku_a.id,
        )
    ).scalar_one()
    assert balance.on_hand == 12
    page = store.get(f"/purchase-orders/{po.number}").text
    assert 'data-testid="po-status">Closed<' in page
    assert page.count('class="timeline-entry"') >= 4  # created, confirmed, shipped, received...

    # Acting on the closed order: a clear message, nothing changes.
    response = form_post(
        supplier, f"/purchase-orders/{po.number}/confirm", {"quantity-1": "1", "promised_date-1": tomorrow()}
    )
    assert response.status_code == 400
    assert "This purchase order is Closed; nothing can be changed any more." in response.text
    assert [line.quantity_confirmed for line in load_lines(session, po)] == [12]


def events_of(session: Session, number: str, action: str) -> int:
    session.expire_all()
    query = select(func.count()).where(
        col(DocumentEvent.document_id) == number, col(DocumentEvent.action) == action
    )
    return int(session.execute(query).scalar_one())


def notifications_of(session: Session, number: str) -> list[tuple[int, str]]:
    session.expire_all()
    query = select(col(Notification.user_id), col(Notification.message)).where(
        col(Notification.document_id) == number
    )
    return [(user_id, message) for user_id, message in session.execute(query)]


def test_the_same_confirm_asn_and_receipt_forms_sent_twice_have_one_effect_and_one_answer(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    """Issue 11, item 4: two tabs (or a double click) sending one rendering of a form at the same
    moment, then once more later: one Update, one timeline row, one notification each, and every
    request answers as the first did."""
    store = as_user(portal_client, world.store_a_user)
    numbers = submit_request(store, world, qty_a=10, qty_b=3)
    po = next(p for p in (load_po(session, n) for n in numbers) if p.supplier_id == world.supplier_a.id)
    tabs = [as_user(portal_client, world.supplier_a_user) for _ in range(2)]

    confirm_url = f"/purchase-orders/{po.number}/confirm"
    form = {"quantity-1": "12", "promised_date-1": tomorrow()}
    form["form_id"] = form_id_in(tabs[0].get(f"/purchase-orders/{po.number}").text, confirm_url)
    told_before = notifications_of(session, po.number)
    answers = at_once(*(lambda tab=tab: form_post(tab, confirm_url, form) for tab in tabs))
    answers.append(form_post(tabs[0], confirm_url, form))  # a retry after the first finished
    assert [a.status_code for a in answers] == [303, 303, 303], [a.text[:300] for a in answers]
    assert {flash_text(tab.get(f"/purchase-orders/{po.number}").text) for tab in tabs} == {
        "The lines were confirmed."
    }
    assert events_of(session, po.number, "confirmed") == 1
    told = notifications_of(session, po.number)[len(told_before) :]
    assert told and len(told) == len(set(told)), told  # nobody told twice

    asn_url = f"/purchase-orders/{po.number}/shipments/new"
    form = {"carrier": "SF Express", "tracking_number": "SF123", "eta": tomorrow(), "quantity-1": "12"}
    form["form_id"] = form_id_in(tabs[0].get(asn_url).text, asn_url)
    answers = at_once(*(lambda tab=tab: form_post(tab, asn_url, form) for tab in tabs))
    answers.append(form_post(tabs[1], asn_url, form))
    assert [a.status_code for a in answers] == [303, 303, 303], [a.text[:300] for a in answers]
    session.expire_all()
    [shipment] = session.execute(select(Shipment).where(col(Shipment.purchase_order_id) == po.id)).scalars()
    assert {flash_text(tab.get(f"/purchase-orders/{po.number}").text) for tab in tabs} == {
        f"Shipment {shipment.number} was sent to the warehouse."
    }

    desks = [as_user(portal_client, world.warehouse_user) for _ in range(2)]
    receive_url = f"/warehouse/receipts/{shipment.number}"
    form = {"received-1": "12", "form_id": form_id_in(desks[0].get(receive_url).text, receive_url)}
    answers = at_once(*(lambda desk=desk: form_post(desk, receive_url, form) for desk in desks))
    answers.append(form_post(desks[0], receive_url, form))
    assert [a.status_code for a in answers] == [303, 303, 303], [a.text[:300] for a in answers]
    assert {flash_text(desk.get(f"/purchase-orders/{po.number}").text) for desk in desks} == {
        f"Shipment {shipment.number} was received."
    }
    session.expire_all()
    balance = session.execute(
        select(StockBalance).where(
            col(StockBalance.location_id) == world.regional_warehouse.id,
            col(StockBalance.sku_id) == world.sku_a.id,
        )
    ).scalar_one()
    assert balance.on_hand == 12  # received once
    assert load_po(session, po.number).status == POStatus.CLOSED

    # A new rendering is a new form: sending it again is a second action, refused as such.
    form["form_id"] = form_id_in(desks[0].get(receive_url).text, receive_url)
    again = form_post(desks[0], receive_url, form)
    assert again.status_code == 400 and "This shipment has already been received." in again.text


def test_acting_on_a_cancelled_order_shows_the_message_and_changes_nothing(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    numbers = submit_request(store, world)
    number = numbers[0]
    buyer = as_user(portal_client, world.buyer)
    response = form_post(buyer, f"/purchase-orders/{number}/cancel", {"reason": ""})
    assert response.status_code == 400
    assert "Give a reason for cancelling the order." in response.text
    response = form_post(buyer, f"/purchase-orders/{number}/cancel", {"reason": "Store closed for works"})
    assert response.status_code == 303, response.text
    po = load_po(session, number)
    assert po.status == POStatus.CANCELLED and po.status_reason == "Store closed for works"

    supplier_user = world.supplier_a_user if po.supplier_id == world.supplier_a.id else world.supplier_b_user
    supplier = as_user(portal_client, supplier_user)
    response = form_post(
        supplier, f"/purchase-orders/{number}/confirm", {"quantity-1": "1", "promised_date-1": tomorrow()}
    )
    assert response.status_code == 400
    assert "nothing can be changed any more" in response.text
    assert load_po(session, number).status == POStatus.CANCELLED
    assert [line.quantity_confirmed for line in load_lines(session, po)] == [None]


# -- who may see and do what ---------------------------------------------------------------------------


def test_supplier_b_cannot_see_or_act_on_supplier_a_po(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world, supplier=world.supplier_a)
    other = as_user(make_client, world.supplier_b_user)
    assert other.get(f"/purchase-orders/{po.number}").status_code == 404
    assert other.get(f"/purchase-orders/{po.number}/state", headers=HX).status_code == 404
    assert other.get(f"/purchase-orders/{po.number}/shipments/new").status_code == 404
    for url, data in [
        (f"/purchase-orders/{po.number}/confirm", {"quantity-1": "12", "promised_date-1": tomorrow()}),
        (f"/purchase-orders/{po.number}/reject", {"reason": "no"}),
        (f"/purchase-orders/{po.number}/shipments/new", {"carrier": "x", "tracking_number": "y"}),
    ]:
        assert form_post(other, url, data).status_code == 404, url
    assert po.number not in other.get("/supplier/purchase-orders?status=all").text
    # Supplier A does see it, in its list and on the page.
    owner = as_user(make_client, world.supplier_a_user)
    assert po.number in owner.get("/supplier/purchase-orders").text
    page = owner.get(f"/purchase-orders/{po.number}")
    assert page.status_code == 200 and 'id="confirm-form"' in page.text
    assert 'data-testid="live-state-unavailable"' in page.text  # Temporal is down: the DB state shows
    assert load_po(session, po.number).status == POStatus.SENT


def test_a_store_cannot_see_another_stores_orders(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    mine = make_po(session, world, store=world.store_a, requester=world.store_a_user)
    theirs = make_po(session, world, store=world.store_b, requester=world.store_b_user)
    dist = make_po(session, world, store=world.dist_store, requester=world.distributor_user)
    store_a = as_user(make_client, world.store_a_user)
    listing = store_a.get("/replenishment").text
    assert mine.number in listing and theirs.number not in listing and dist.number not in listing
    assert store_a.get(f"/purchase-orders/{mine.number}").status_code == 200
    assert store_a.get(f"/purchase-orders/{theirs.number}").status_code == 404
    assert store_a.get(f"/purchase-orders/{dist.number}/state", headers=HX).status_code == 404
    distributor = as_user(make_client, world.distributor_user)
    listing = distributor.get("/replenishment").text
    assert dist.number in listing and mine.number not in listing
    assert distributor.get(f"/purchase-orders/{mine.number}").status_code == 404


def test_supplier_posting_to_the_buyers_endpoints_is_refused(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world, supplier=world.supplier_a, status=POStatus.CONFIRMED)
    supplier = as_user(make_client, world.supplier_a_user)
    assert form_post(supplier, f"/purchase-orders/{po.number}/cancel", {"reason": "x"}).status_code == 403
    assert form_post(supplier, f"/purchase-orders/{po.number}/lines/1/short-close").status_code == 403
    assert supplier.get("/purchase-orders").status_code == 403
    store = as_user(make_client, world.store_a_user)
    assert form_post(store, f"/purchase-orders/{po.number}/cancel", {"reason": "x"}).status_code == 403
    assert form_post(store, f"/purchase-orders/{po.number}/confirm", {"quantity-1": "1"}).status_code == 403
    assert load_po(session, po.number).status == POStatus.CONFIRMED


def test_warehouse_of_a_supplier_cannot_receive_and_receipts_need_the_role(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world, status=POStatus.IN_DELIVERY)
    assert po.id and world.supplier_a_user.id
    shipment = Shipment(
        number=unique_code("SHP"),
        purchase_order_id=po.id,
        carrier="SF",
        tracking_number="1",
        eta=date.today(),
        status=ShipmentStatus.IN_TRANSIT,
        created_by_user_id=world.supplier_a_user.id,
    )
    session.add(shipment)
    session.commit()
    supplier = as_user(make_client, world.supplier_a_user)
    assert supplier.get(f"/warehouse/receipts/{shipment.number}").status_code == 403
    assert (
        form_post(supplier, f"/warehouse/receipts/{shipment.number}", {"received-1": "1"}).status_code == 403
    )
    warehouse = as_user(make_client, world.warehouse_user)
    assert shipment.number in warehouse.get("/warehouse/receipts").text
    assert warehouse.get("/warehouse/receipts/SHP-0000-000000").status_code == 404


# -- lists ------------------------------------------------------------------------------------------------


def test_buyer_list_paginates_and_filters(make_client: ClientFactory, world: World, session: Session) -> None:
    now = datetime.now(UTC)
    for i in range(27):
        make_po(session, world, status=POStatus.SENT, created_at=now - timedelta(minutes=i))
    closed = make_po(session, world, status=POStatus.CLOSED, created_at=now - timedelta(days=40))
    from_b = make_po(
        session, world, supplier=world.supplier_b, store=world.store_b, requester=world.store_b_user
    )
    buyer = as_user(make_client, world.buyer)

    def rows(html: str) -> list[str]:
        return re.findall(r'<tr id="po-\d+">\s*<td><a href="/purchase-orders/([^"]+)"', html)

    first = buyer.get("/purchase-orders").text
    assert len(rows(first)) == 25 and "Page 1 of 2" in first and "29 purchase orders" in first
    second = buyer.get("/purchase-orders?page=2").text
    assert len(rows(second)) == 4 and not set(rows(first)) & set(rows(second))

    assert rows(buyer.get("/purchase-orders?status=closed").text) == [closed.number]
    assert closed.number not in rows(buyer.get("/purchase-orders?status=open").text)
    assert rows(buyer.get(f"/purchase-orders?supplier={world.supplier_b.id}").text) == [from_b.number]
    assert rows(buyer.get(f"/purchase-orders?store={world.store_b.id}").text) == [from_b.number]
    old_day = (now - timedelta(days=40)).astimezone(BUSINESS_TIMEZONE).date().isoformat()
    assert rows(buyer.get(f"/purchase-orders?date_from={old_day}&date_to={old_day}").text) == [closed.number]
    bad = buyer.get("/purchase-orders?date_from=31/12/2026")
    assert bad.status_code == 200 and 'data-testid="error-date_from"' in bad.text

    # htmx asks for the results block alone, filters kept in the pagination links.
    fragment = buyer.get("/purchase-orders?status=sent", headers=HX).text
    assert fragment.lstrip().startswith('<div id="results">')
    assert 'href="/purchase-orders?page=2&amp;status=sent' in fragment


def test_supplier_list_shows_orders_awaiting_confirmation_by_default(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    waiting = make_po(session, world, status=POStatus.SENT)
    confirmed = make_po(session, world, status=POStatus.CONFIRMED)
    supplier = as_user(make_client, world.supplier_a_user)
    default = supplier.get("/supplier/purchase-orders").text
    assert waiting.number in default and confirmed.number not in default
    everything = supplier.get("/supplier/purchase-orders?status=all").text
    assert waiting.number in everything and confirmed.number in everything
    home = supplier.get("/").text
    assert re.search(r'href="/supplier/purchase-orders\?status=sent" data-testid="queue-count">1 ', home)


def test_store_list_filters_by_status_and_home_counts_open_orders(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    open_po = make_po(session, world, status=POStatus.CONFIRMED)
    done = make_po(session, world, status=POStatus.CLOSED)
    store = as_user(make_client, world.store_a_user)
    listing = store.get("/replenishment?status=open").text
    assert open_po.number in listing and done.number not in listing
    assert re.search(r'data-testid="queue-count">1 ', store.get("/").text)


def test_document_page_shows_lines_and_actions_per_role(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world, status=POStatus.CONFIRMED)
    lines = load_lines(session, po)
    lines[0].quantity_confirmed = 6  # confirmed short: a backorder of 6
    lines[0].promised_date = date.today() + timedelta(days=3)
    session.add(lines[0])
    session.commit()
    buyer_page = as_user(make_client, world.buyer).get(f"/purchase-orders/{po.number}").text
    assert f'action="/purchase-orders/{po.number}/cancel"' in buyer_page
    assert f'action="/purchase-orders/{po.number}/lines/1/short-close"' in buyer_page
    assert 'id="confirm-form"' not in buyer_page
    supplier_page = as_user(make_client, world.supplier_a_user).get(f"/purchase-orders/{po.number}").text
    assert f'href="/purchase-orders/{po.number}/shipments/new"' in supplier_page
    assert 'id="confirm-form"' in supplier_page  # the backorder may still be confirmed
    assert "/cancel" not in supplier_page
    store_page = as_user(make_client, world.store_a_user).get(f"/purchase-orders/{po.number}").text
    assert '<form method="post" action="/purchase-orders' not in store_page
    assert lines[0].status == POLineStatus.OPEN


def test_shipment_form_refuses_bad_input_and_more_than_confirmed(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    po = next(
        p
        for p in (load_po(session, n) for n in submit_request(store, world))
        if p.supplier_id == world.supplier_a.id
    )
    supplier = as_user(portal_client, world.supplier_a_user)
    response = form_post(
        supplier, f"/purchase-orders/{po.number}/confirm", {"quantity-1": "6", "promised_date-1": tomorrow()}
    )
    assert response.status_code == 303, response.text
    url = f"/purchase-orders/{po.number}/shipments/new"
    good = {"carrier": "SF Express", "tracking_number": "SF1", "eta": tomorrow()}

    response = form_post(supplier, url, {**good, "carrier": "", "quantity-1": "abc"})
    assert response.status_code == 400
    assert 'data-testid="error-carrier"' in response.text
    assert 'data-testid="error-quantity-1">Enter a whole number, for example 12.<' in response.text

    response = form_post(supplier, url, {**good, "quantity-1": "7"})  # 6 confirmed (a backorder of 6 open)
    assert response.status_code == 400
    assert "Quantity for line 1 cannot exceed the 6 confirmed and not yet shipped." in response.text
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Shipment)).scalar_one() == 0
    assert [line.quantity_shipped for line in load_lines(session, po)] == [0]


def test_supplier_rejects_with_a_reason_the_store_then_sees(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    po = next(
        p
        for p in (load_po(session, n) for n in submit_request(store, world))
        if p.supplier_id == world.supplier_b.id
    )
    supplier = as_user(portal_client, world.supplier_b_user)
    response = form_post(supplier, f"/purchase-orders/{po.number}/reject", {"reason": "  "})
    assert response.status_code == 400 and "Give a reason for rejecting the order." in response.text
    response = form_post(
        supplier, f"/purchase-orders/{po.number}/reject", {"reason": "Out of stock until May"}
    )
    assert response.status_code == 303, response.text
    assert load_po(session, po.number).status == POStatus.SUPPLIER_REJECTED
    page = store.get(f"/purchase-orders/{po.number}").text
    assert 'data-testid="status-reason">Out of stock until May<' in page
    assert 'data-testid="po-status">Rejected by supplier<' in page


def test_pages_render_in_chinese_for_every_role(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world, status=POStatus.CONFIRMED)
    users_and_pages = [
        (world.store_a_user, ["/replenishment/new", "/replenishment", f"/purchase-orders/{po.number}"]),
        (
            world.supplier_a_user,
            ["/supplier/purchase-orders", "/supplier/shipments", f"/purchase-orders/{po.number}"],
        ),
        (world.buyer, ["/purchase-orders", f"/purchase-orders/{po.number}"]),
        (world.warehouse_user, ["/warehouse/receipts", f"/purchase-orders/{po.number}"]),
    ]
    for user, pages in users_and_pages:
        user.locale = "zh_CN"
        session.add(user)
        session.commit()
        client = as_user(make_client, user)
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            assert '<html lang="zh-CN">' in response.text, url
    assert "采购订单" in client.get(f"/purchase-orders/{po.number}").text


def test_buyer_short_closes_a_backorder_and_the_order_closes(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    store = as_user(portal_client, world.store_a_user)
    po = next(
        p
        for p in (load_po(session, n) for n in submit_request(store, world))
        if p.supplier_id == world.supplier_a.id
    )
    supplier = as_user(portal_client, world.supplier_a_user)
    assert (
        form_post(
            supplier,
            f"/purchase-orders/{po.number}/confirm",
            {"quantity-1": "6", "promised_date-1": tomorrow()},
        ).status_code
        == 303
    )
    buyer = as_user(portal_client, world.buyer)
    response = form_post(
        supplier,
        f"/purchase-orders/{po.number}/shipments/new",
        {"carrier": "SF", "tracking_number": "SF9", "eta": tomorrow(), "quantity-1": "6"},
    )
    assert response.status_code == 303, response.text
    # Goods of the line are in transit: the workflow refuses, the page says why.
    response = form_post(
        buyer, f"/purchase-orders/{po.number}/lines/1/short-close", {"reason": "rest not needed"}
    )
    assert response.status_code == 400
    assert "Line 1 cannot be short-closed while goods of it are in transit." in response.text
    shipment = session.execute(select(Shipment).where(col(Shipment.purchase_order_id) == po.id)).scalar_one()
    warehouse = as_user(portal_client, world.warehouse_user)
    assert (
        form_post(warehouse, f"/warehouse/receipts/{shipment.number}", {"received-1": "6"}).status_code == 303
    )
    assert load_po(session, po.number).status == POStatus.IN_DELIVERY  # a backorder of 6 is still open

    response = form_post(
        buyer, f"/purchase-orders/{po.number}/lines/1/short-close", {"reason": "rest not needed"}
    )
    assert response.status_code == 303, response.text
    assert "Line 1 was short-closed." in flash_text(buyer.get(f"/purchase-orders/{po.number}").text)
    po = load_po(session, po.number)
    assert po.status == POStatus.CLOSED
    assert [line.status for line in load_lines(session, po)] == [POLineStatus.SHORT_CLOSED]


# -- a supplier sees an order only once it is sent -----------------------------------------------------


def assert_supplier_cannot_see(supplier: TestClient, po: PurchaseOrder) -> None:
    assert supplier.get(f"/purchase-orders/{po.number}").status_code == 404
    assert supplier.get(f"/purchase-orders/{po.number}/state", headers=HX).status_code == 404
    assert po.number not in supplier.get("/supplier/purchase-orders?status=all").text
    assert po.number not in supplier.get("/notifications").text
    assert po.number not in supplier.get("/").text


def test_a_supplier_sees_an_order_only_from_the_moment_it_is_sent(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    pending = make_po(session, world, status=POStatus.PENDING_APPROVAL)
    rejected = make_po(session, world, status=POStatus.APPROVAL_REJECTED)
    sent = make_po(session, world, status=POStatus.SENT)
    supplier = as_user(make_client, world.supplier_a_user)
    assert_supplier_cannot_see(supplier, pending)
    assert_supplier_cannot_see(supplier, rejected)
    assert supplier.get(f"/purchase-orders/{sent.number}").status_code == 200
    # The home card counts only the order waiting for the supplier.
    assert 'data-testid="queue-count">1 item waiting<' in supplier.get("/").text
    # HQ's buyer sees all three all along.
    buyer = as_user(make_client, world.buyer)
    for po in (pending, rejected, sent):
        assert buyer.get(f"/purchase-orders/{po.number}").status_code == 200


def test_sending_an_order_once_approved_stamps_when_the_supplier_sees_it(
    world: World, session: Session
) -> None:
    from supplychain.purchasing import apply_state

    po = make_po(session, world, status=POStatus.PENDING_APPROVAL)
    assert po.sent_at is None
    approved_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    apply_state(session, po, status=POStatus.SENT, at=approved_at)
    apply_state(session, po, status=POStatus.CONFIRMED, at=approved_at + timedelta(hours=2))
    session.commit()
    assert load_po(session, po.number).sent_at == approved_at
    never = make_po(session, world, status=POStatus.PENDING_APPROVAL)
    apply_state(session, never, status=POStatus.CANCELLED)
    session.commit()
    assert load_po(session, never.number).sent_at is None


def test_an_order_hq_rejects_never_reaches_the_supplier(
    portal_client: ClientFactory, world: World, session: Session, fresh_numbers: None
) -> None:
    """Through the real workflow: over the store's limit, the order waits for HQ approval and the
    supplier neither sees it nor hears of it; HQ rejects it and that stays so."""
    low_limit_store = make_user(
        session,
        organisation=world.hq,
        roles=[Role.STORE],
        location=world.store_a,
        approval_limit=Decimal("1.00"),
        locale="en",
    )
    approver = make_user(
        session, organisation=world.hq, roles=[Role.APPROVER], approval_limit=LIMIT, locale="en"
    )
    store = as_user(portal_client, low_limit_store)
    response = form_post(store, "/replenishment/new", request_form((world.sku_a.id, 12)))
    assert response.status_code == 303, response.text
    (number,) = re.findall(r"PO-\d{4}-\d{6}", flash_text(store.get("/replenishment").text))
    assert load_po(session, number).status == POStatus.PENDING_APPROVAL

    supplier = as_user(portal_client, world.supplier_a_user)
    assert_supplier_cannot_see(supplier, load_po(session, number))

    hq = as_user(portal_client, approver)
    queue = hq.get("/approvals").text
    found = re.search(rf'id="approval-(\d+)"(?:(?!id="approval-).)*{number}', queue, re.S)
    assert found, "the order is not in the approver's queue"
    response = form_post(
        hq, f"/approvals/{found.group(1)}/decide", {"decision": "reject", "comment": "Too much"}
    )
    assert response.status_code == 303, response.text
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while load_po(session, number).status is not POStatus.APPROVAL_REJECTED:
        assert datetime.now(UTC) < deadline, "the rejection never reached the order"
        time.sleep(0.05)
    po = load_po(session, number)
    assert po.sent_at is None
    assert_supplier_cannot_see(supplier, po)
