"""Returns to vendor and debit notes through HTTP: HQ quality roles see every return, a supplier
only its own (another's answers 404 by URL and by form POST); debit notes list amounts per locale;
only a user of the supplier the goods go back to may acknowledge a return."""

from __future__ import annotations

import asyncio
import html
import re
import time
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.testclient import TestClient
from temporalio.client import Client

from supplychain.models import (
    DebitNote,
    DebitNoteKind,
    Disposition,
    Inspection,
    InspectionStage,
    InspectionVerdict,
    LocationKind,
    Organisation,
    OrgKind,
    ReturnStatus,
    ReturnToVendor,
    Role,
    User,
)
from supplychain.models.base import utcnow
from supplychain.rules.money import line_net
from supplychain.temporal import connect
from tests.factories import make_location, make_organisation, make_sku, make_user, unique_code
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, form_post, login
from tests.test_inspection_photos import LOT_SIZE, make_inspection
from tests.web.test_inspections import (
    decide_rejected_lot,
    record,
    start_inspection,
    wait_for_stage,
)


@dataclass
class World:
    inspector: User
    buyer: User
    finance: User
    store: User
    supplier_a: User
    supplier_a_zh: User
    supplier_b: User
    org_a: Organisation
    org_b: Organisation
    sku_id: int
    location_id: int


@pytest.fixture
def world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    org_a = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Alpha")
    org_b = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Beta")
    sku = make_sku(session)
    assert sku.id and warehouse.id
    return World(
        inspector=make_user(session, organisation=hq, roles=[Role.INSPECTOR], locale="en"),
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER], locale="en"),
        finance=make_user(session, organisation=hq, roles=[Role.FINANCE], locale="en"),
        store=make_user(session, organisation=hq, roles=[Role.STORE], location=store, locale="en"),
        supplier_a=make_user(session, organisation=org_a, roles=[Role.SUPPLIER], locale="en"),
        supplier_a_zh=make_user(session, organisation=org_a, roles=[Role.SUPPLIER], locale="zh_CN"),
        supplier_b=make_user(session, organisation=org_b, roles=[Role.SUPPLIER], locale="en"),
        org_a=org_a,
        org_b=org_b,
        sku_id=sku.id,
        location_id=warehouse.id,
    )


@pytest.fixture
async def temporal(portal_worker: WorkerThread) -> Client:
    return await connect(portal_worker.address)


async def return_of(session: Session, row: Inspection) -> ReturnToVendor:
    deadline = time.monotonic() + 20
    while True:
        session.expire_all()
        rtv: ReturnToVendor | None = session.execute(
            select(ReturnToVendor).where(col(ReturnToVendor.inspection_id) == row.id)
        ).scalar_one_or_none()
        session.commit()
        if rtv is not None:
            return rtv
        assert time.monotonic() < deadline, f"no return to vendor was opened for {row.number}"
        await asyncio.sleep(0.05)


@dataclass
class Returned:
    inspection: Inspection
    rtv: ReturnToVendor
    debit_note: DebitNote | None


def returned_lot(
    session: Session, world: World, org: Organisation, *, acknowledged_by: User | None = None
) -> Returned:
    """A rejected lot HQ sent back: its RTV and, once acknowledged, its debit note (12.50 x 500 +13%)."""
    inspection = make_inspection(
        session,
        supplier=org,
        stage=InspectionStage.DONE if acknowledged_by else InspectionStage.AWAITING_RETURN,
        verdict=InspectionVerdict.REJECTED,
        disposition=Disposition.RETURN_TO_VENDOR,
        sku_id=world.sku_id,
        location_id=world.location_id,
    )
    assert inspection.id and org.id
    rtv = ReturnToVendor(
        number=unique_code("RTV"),
        inspection_id=inspection.id,
        supplier_id=org.id,
        sku_id=world.sku_id,
        location_id=world.location_id,
        po_number=inspection.po_number,
        quantity=LOT_SIZE,
        unit_price=Decimal("12.5000"),
        tax_rate=Decimal("0.1300"),
        reason="major defects",
    )
    if acknowledged_by is not None:
        rtv.status = ReturnStatus.ACKNOWLEDGED
        rtv.acknowledged_at = utcnow()
        rtv.acknowledged_by_user_id = acknowledged_by.id
    session.add(rtv)
    session.commit()
    session.refresh(rtv)
    debit_note = None
    if acknowledged_by is not None:
        debit_note = DebitNote(
            number=unique_code("DN"),
            kind=DebitNoteKind.RETURN_TO_VENDOR,
            supplier_id=org.id,
            inspection_id=inspection.id,
            return_id=rtv.id,
            po_number=inspection.po_number,
            sku_id=world.sku_id,
            quantity=LOT_SIZE,
            net_amount=Decimal("6250.00"),
            tax_amount=Decimal("812.50"),
            total_amount=Decimal("7062.50"),
        )
        session.add(debit_note)
        session.commit()
        session.refresh(debit_note)
    return Returned(inspection, rtv, debit_note)


def as_user(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def action_error(response: httpx.Response) -> str:
    found = re.search(r'data-testid="action-error">([^<]*)<', response.text)
    return html.unescape(found.group(1)) if found else ""


def fresh_rtv(session: Session, rtv: ReturnToVendor) -> ReturnToVendor:
    session.expire_all()
    found = session.get(ReturnToVendor, rtv.id)
    assert found is not None
    return found


def test_hq_quality_roles_see_every_return_and_a_supplier_only_its_own(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    own = returned_lot(session, world, world.org_a)
    other = returned_lot(session, world, world.org_b)
    for user in (world.inspector, world.buyer):
        listing = as_user(make_client, user).get("/returns")
        assert listing.status_code == 200
        assert own.rtv.number in listing.text and other.rtv.number in listing.text
        assert "Supplier Beta" in listing.text

    supplier = as_user(make_client, world.supplier_a)
    listing = supplier.get("/returns")
    assert listing.status_code == 200
    assert own.rtv.number in listing.text and other.rtv.number not in listing.text
    assert "Awaiting the supplier's acknowledgement" in listing.text
    assert "CN¥6,250.00" in listing.text  # 500 x 12.50, net

    page = supplier.get(f"/returns/{own.rtv.number}")
    assert page.status_code == 200
    assert 'data-testid="acknowledge-form"' in page.text
    assert f'href="/inspections/{own.inspection.number}"' in page.text


def test_another_suppliers_return_is_404_by_url_and_by_form(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    other = returned_lot(session, world, world.org_b)
    client = as_user(make_client, world.supplier_a)
    assert client.get(f"/returns/{other.rtv.number}").status_code == 404
    assert form_post(client, f"/returns/{other.rtv.number}/acknowledge", {"note": "ok"}).status_code == 404
    assert fresh_rtv(session, other.rtv).status is ReturnStatus.AWAITING_ACKNOWLEDGEMENT


def test_hq_sees_a_return_but_cannot_acknowledge_it(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    returned = returned_lot(session, world, world.org_a)
    client = as_user(make_client, world.inspector)
    page = client.get(f"/returns/{returned.rtv.number}")
    assert page.status_code == 200 and 'data-testid="acknowledge-form"' not in page.text
    assert form_post(client, f"/returns/{returned.rtv.number}/acknowledge", {}).status_code == 403
    assert fresh_rtv(session, returned.rtv).status is ReturnStatus.AWAITING_ACKNOWLEDGEMENT


def test_a_returns_net_value_rounds_half_up_as_its_debit_note_does(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    returned = returned_lot(session, world, world.org_a)
    rtv = fresh_rtv(session, returned.rtv)
    rtv.unit_price, rtv.quantity = Decimal("0.5025"), 2  # 1.005: banker's rounding would show 1.00
    session.commit()

    page = as_user(make_client, world.supplier_a).get(f"/returns/{rtv.number}")

    assert 'data-testid="net-value">CN¥1.01<' in page.text
    assert line_net(rtv.unit_price, rtv.quantity) == Decimal("1.01")  # the debit note's net


def test_users_without_a_quality_or_supplier_role_get_403(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    returned = returned_lot(session, world, world.org_a, acknowledged_by=world.supplier_a)
    store = as_user(make_client, world.store)
    assert store.get("/returns").status_code == 403
    assert store.get(f"/returns/{returned.rtv.number}").status_code == 403
    assert store.get("/debit-notes").status_code == 403
    finance = as_user(make_client, world.finance)
    assert finance.get("/returns").status_code == 403
    listing = finance.get("/debit-notes").text
    assert returned.debit_note and returned.debit_note.number in listing
    # Finance reads debit notes only: no links to pages it may not open.
    assert 'href="/returns/' not in listing and 'href="/inspections/' not in listing


def test_an_acknowledged_return_is_refused_again_with_a_message(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    returned = returned_lot(session, world, world.org_a, acknowledged_by=world.supplier_a)
    client = as_user(make_client, world.supplier_a)
    page = client.get(f"/returns/{returned.rtv.number}")
    assert 'data-testid="acknowledge-form"' not in page.text
    assert 'data-testid="status">Acknowledged' in page.text
    assert returned.debit_note and returned.debit_note.number in page.text
    response = form_post(client, f"/returns/{returned.rtv.number}/acknowledge", {"note": "again"})
    assert response.status_code == 400
    assert action_error(response) == "This return has already been acknowledged."


def test_debit_notes_are_scoped_and_their_amounts_formatted_per_locale(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    own = returned_lot(session, world, world.org_a, acknowledged_by=world.supplier_a)
    other = returned_lot(session, world, world.org_b, acknowledged_by=world.supplier_b)
    assert own.debit_note and other.debit_note

    english = as_user(make_client, world.supplier_a).get("/debit-notes")
    assert english.status_code == 200
    assert own.debit_note.number in english.text and other.debit_note.number not in english.text
    assert "CN¥6,250.00" in english.text and "CN¥812.50" in english.text
    assert 'data-testid="total">CN¥7,062.50' in english.text
    assert f'href="/returns/{own.rtv.number}"' in english.text

    chinese = as_user(make_client, world.supplier_a_zh).get("/debit-notes")
    assert 'data-testid="total">¥7,062.50' in chinese.text

    hq = as_user(make_client, world.buyer).get("/debit-notes")
    assert own.debit_note.number in hq.text and other.debit_note.number in hq.text
    filtered = as_user(make_client, world.buyer).get(
        "/debit-notes", params={"supplier": str(world.org_b.id)}, headers={"HX-Request": "true"}
    )
    assert filtered.text.lstrip().startswith('<div id="results">')
    assert other.debit_note.number in filtered.text and own.debit_note.number not in filtered.text


# --- acknowledging with the real workflow -------------------------------------------------------------


async def test_supplier_acknowledges_its_return_and_a_debit_note_is_raised(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    hq = session.get(Organisation, world.inspector.organisation_id)
    assert hq is not None
    quality = make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER], locale="en")
    assert world.org_a.id is not None
    row = await start_inspection(temporal, portal_worker, session, world, world.org_a.id)
    # The PO line's price, which receiving copies onto the lot (this lot was started without a PO).
    row.unit_price, row.tax_rate = Decimal("12.5000"), Decimal("0.1300")
    session.add(row)
    session.commit()
    assert record(as_user(portal_client, world.inspector), row, "0", "4", "0").status_code == 303
    await wait_for_stage(session, row, InspectionStage.AWAITING_DECISION)
    await decide_rejected_lot(temporal, session, row, quality, "return_to_vendor")
    rtv = await return_of(session, row)
    assert rtv.quantity == LOT_SIZE

    stranger = as_user(portal_client, world.supplier_b)
    assert form_post(stranger, f"/returns/{rtv.number}/acknowledge", {}).status_code == 404
    assert fresh_rtv(session, rtv).status is ReturnStatus.AWAITING_ACKNOWLEDGEMENT

    supplier = as_user(portal_client, world.supplier_a)
    response = form_post(supplier, f"/returns/{rtv.number}/acknowledge", {"note": "collected"})
    assert response.status_code == 303 and response.headers["location"] == f"/returns/{rtv.number}"
    acknowledged = fresh_rtv(session, rtv)
    assert acknowledged.status is ReturnStatus.ACKNOWLEDGED
    assert acknowledged.acknowledged_by_user_id == world.supplier_a.id
    debit_note = session.execute(select(DebitNote).where(col(DebitNote.return_id) == rtv.id)).scalar_one()
    session.commit()
    page = supplier.get(response.headers["location"])
    assert f"Return {rtv.number} acknowledged; debit note {debit_note.number} raised." in page.text
    assert 'data-testid="status">Acknowledged' in page.text and debit_note.number in page.text
    assert debit_note.total_amount == Decimal("7062.50")  # 500 x 12.50 + 13%
    assert 'data-testid="total">CN¥7,062.50' in supplier.get("/debit-notes").text

    again = form_post(supplier, f"/returns/{rtv.number}/acknowledge", {})
    assert again.status_code == 400
    assert action_error(again) == "This return has already been acknowledged."
