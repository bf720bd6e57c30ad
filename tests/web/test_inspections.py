"""The inspection pages through HTTP, against a real dev server and the portal's worker.

Each test starts `InspectionWorkflow`s on the app's task queue (as the replenishment process will),
waits for their rows, then works through the pages. Every lot is 500 units, level II, normal:
code letter H, sample 50; critical AQL 0 -> Ac 0 Re 1, major 2.5 -> Ac 3 Re 4, minor 4.0 -> Ac 5 Re 6.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import Session, col
from starlette.testclient import TestClient
from temporalio.client import Client

from supplychain import i18n
from supplychain.approvals import request_by_workflow
from supplychain.inspection import inspection_for_workflow
from supplychain.models import (
    Disposition,
    Inspection,
    InspectionSeverity,
    InspectionStage,
    InspectionSwitching,
    InspectionVerdict,
    LocationKind,
    Notification,
    Organisation,
    OrgKind,
    ReturnToVendor,
    Role,
    Sku,
    SwitchingSeverity,
    User,
)
from supplychain.settings import settings
from supplychain.temporal import connect
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user, unique_code
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, at_once, csrf, form_id_in, form_post, login
from tests.test_certificates import PDF
from tests.test_inspection_photos import make_inspection
from workflows.approval import ApprovalWorkflow, DecideInput, approval_workflow_id
from workflows.inspection import InspectionInput, InspectionState, InspectionWorkflow, inspection_workflow_id

LOT_SIZE = 500


@dataclass
class World:
    inspector: User
    approver: User
    store: User
    distributor: User
    supplier_a: User
    supplier_b: User
    supplier_a_id: int
    supplier_b_id: int
    location_id: int
    sku_id: int


@pytest.fixture
def world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    org_a = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Alpha")
    org_b = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Beta")
    sku = make_sku(session)
    assert org_a.id and org_b.id and warehouse.id and sku.id
    return World(
        inspector=make_user(
            session, organisation=hq, roles=[Role.INSPECTOR], location=warehouse, locale="en"
        ),
        approver=make_user(session, organisation=hq, roles=[Role.APPROVER], locale="en"),
        store=make_user(session, organisation=hq, roles=[Role.STORE], location=store, locale="en"),
        distributor=make_user(session, organisation=distributor, roles=[Role.STORE], locale="en"),
        supplier_a=make_user(session, organisation=org_a, roles=[Role.SUPPLIER], locale="en"),
        supplier_b=make_user(session, organisation=org_b, roles=[Role.SUPPLIER], locale="en"),
        supplier_a_id=org_a.id,
        supplier_b_id=org_b.id,
        location_id=warehouse.id,
        sku_id=sku.id,
    )


@pytest.fixture
async def temporal(portal_worker: WorkerThread) -> Client:
    return await connect(portal_worker.address)


class LotPlace(Protocol):
    sku_id: int
    location_id: int


async def start_inspection(
    temporal: Client,
    portal_worker: WorkerThread,
    session: Session,
    world: LotPlace,
    supplier_id: int,
    *,
    from_standing: bool = False,
) -> Inspection:
    """Start the inspection of one received lot; return its row once the plan is recorded and the
    workflow has it (the row comes first: until then the workflow answers "still being prepared").
    `from_standing`: its severity comes from the supplier+SKU switching state."""
    suffix = uuid.uuid4().hex[:8].upper()
    input = InspectionInput(
        po_number=f"PO-W-{suffix}",
        shipment_number=f"SHP-W-{suffix}",
        line_no=1,
        sku_id=world.sku_id,
        supplier_id=supplier_id,
        location_id=world.location_id,
        lot_size=LOT_SIZE,
        inspection_level="II",
        severity=InspectionSeverity.NORMAL,
        aql_critical="0",
        aql_major="2.5",
        aql_minor="4.0",
        severity_from_standing=from_standing,
    )
    workflow_id = inspection_workflow_id(input.po_number.lower(), input.shipment_number, input.line_no)
    handle = await temporal.start_workflow(
        InspectionWorkflow.run, input, id=workflow_id, task_queue=portal_worker.task_queue
    )
    deadline = time.monotonic() + 20
    while (await handle.query(InspectionWorkflow.get_state)).plan is None:
        assert time.monotonic() < deadline, "the inspection was never planned"
        await asyncio.sleep(0.05)
    session.expire_all()
    row = inspection_for_workflow(session, workflow_id)
    session.commit()
    assert row is not None
    return row


def told_about(session: Session, number: str) -> set[int]:
    """Who has a notification about document `number`."""
    session.expire_all()
    users = set(
        session.execute(select(col(Notification.user_id)).where(col(Notification.document_id) == number))
        .scalars()
        .all()
    )
    session.commit()
    return users


def fresh(session: Session, row: Inspection) -> Inspection:
    session.expire_all()
    found = session.get(Inspection, row.id)
    assert found is not None
    session.commit()
    return found


async def workflow_state(temporal: Client, row: Inspection) -> InspectionState:
    return await temporal.get_workflow_handle(row.workflow_id).query(InspectionWorkflow.get_state)


def logged_in(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def record(client: TestClient, row: Inspection, critical: str, major: str, minor: str) -> httpx.Response:
    data = {"critical": critical, "major": major, "minor": minor, "notes": "scratched housing"}
    return form_post(client, f"/inspections/{row.number}", data)


def action_error(response: httpx.Response) -> str:
    found = re.search(r'data-testid="action-error">([^<]*)<', response.text)
    return html.unescape(found.group(1)) if found else ""


def flashes(response: httpx.Response) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(r'class="flash flash-\w+" role="status">(.*?)</div>', response.text)
    ]


def assert_unchanged(session: Session, row: Inspection) -> None:
    now = fresh(session, row)
    assert now.verdict is InspectionVerdict.PENDING
    assert (now.critical_defects, now.major_defects, now.minor_defects) == (None, None, None)
    assert now.accepted_quantity is None and now.rejected_quantity is None


# --- the queue --------------------------------------------------------------------------------------


async def test_queue_lists_pending_lots_oldest_first_with_their_plan(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    first = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    second = await start_inspection(temporal, portal_worker, session, world, world.supplier_b_id)
    client = logged_in(portal_client, world.inspector)

    page = client.get("/inspections")
    assert page.status_code == 200
    assert page.text.index(first.number) < page.text.index(second.number)
    row_html = re.search(rf'<tr id="inspection-{first.id}".*?</tr>', page.text, re.S)
    assert row_html
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row_html.group(0)))
    assert first.po_number in cells and first.shipment_number in cells and "Line 1" in cells
    assert "Supplier Alpha" in cells and " 500 " in cells and " II " in cells
    assert "0 / 2.5 / 4.0" in cells and " H " in cells and " 50 " in cells
    assert "0/1 · 3/4 · 5/6" in cells and "Waiting for inspection" in cells

    by_supplier = client.get(
        "/inspections", params={"supplier": str(world.supplier_b_id)}, headers={"HX-Request": "true"}
    )
    assert by_supplier.text.lstrip().startswith('<div id="results">')  # the fragment alone
    assert second.number in by_supplier.text and first.number not in by_supplier.text
    assert first.number not in client.get("/inspections", params={"status": "decided"}).text

    home = client.get("/")
    assert re.search(r'href="/inspections" data-testid="queue-count">2 ', home.text)


async def test_store_and_distributor_get_403(client: TestClient, session: Session, world: World) -> None:
    for user in (world.store, world.distributor):
        login(client, user)
        assert client.get("/inspections").status_code == 403
        assert client.get("/inspections/INS-2026-000001").status_code == 403
        assert client.get("/supplier/inspections").status_code == 403
        assert form_post(client, "/inspections/INS-2026-000001", {"critical": "0"}).status_code == 403
        client.cookies.clear()


async def test_approver_reads_the_queue_but_cannot_record(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    client = logged_in(portal_client, world.approver)
    assert row.number in client.get("/inspections").text
    page = client.get(f"/inspections/{row.number}")
    assert page.status_code == 200 and 'data-testid="defects-form"' not in page.text
    assert record(client, row, "0", "0", "0").status_code == 403
    assert_unchanged(session, row)


# --- recording defects ------------------------------------------------------------------------------


async def test_defects_within_the_plan_accept_the_lot(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    client = logged_in(portal_client, world.inspector)
    form = client.get(f"/inspections/{row.number}")
    assert 'data-testid="defects-form"' in form.text
    assert 'data-testid="sample-size">50' in form.text and 'data-testid="lot-size">500' in form.text

    response = record(client, row, "0", "3", "5")
    assert response.status_code == 303
    assert response.headers["location"] == f"/inspections/{row.number}"
    page = client.get(response.headers["location"])
    assert flashes(page) == [f"Inspection {row.number} recorded: the lot is accepted."]
    assert 'data-testid="verdict">Accepted' in page.text
    assert 'data-testid="defects-form"' not in page.text
    assert "Lot accepted" in page.text and "Major defects: 3" in page.text  # the timeline

    done = fresh(session, row)
    assert done.verdict is InspectionVerdict.ACCEPTED
    assert (done.critical_defects, done.major_defects, done.minor_defects) == (0, 3, 5)
    assert (done.accepted_quantity, done.rejected_quantity) == (LOT_SIZE, 0)
    assert done.inspector_user_id == world.inspector.id and done.notes == "scratched housing"
    assert row.number in client.get("/inspections", params={"status": "decided"}).text
    assert row.number not in client.get("/inspections").text


async def test_a_clean_lot_of_a_discontinued_supplier_goes_to_hq_and_the_pages_say_why(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    """ISO 2859-1 9.4: the inspector's flash and the lot page say that HQ decides, not the plan."""
    hq = session.get(Organisation, world.inspector.organisation_id)
    assert hq is not None
    quality = make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER])  # the lot waits for HQ
    session.add(
        InspectionSwitching(
            supplier_id=world.supplier_a_id,
            sku_id=world.sku_id,
            severity=SwitchingSeverity.DISCONTINUED,
            rejected_on_tightened=5,
        )
    )
    session.commit()
    row = await start_inspection(
        temporal, portal_worker, session, world, world.supplier_a_id, from_standing=True
    )
    client = logged_in(portal_client, world.inspector)
    response = record(client, row, "0", "0", "0")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert flashes(page) == [
        f"Inspection {row.number} recorded: the lot met its plan, but acceptance by sampling is "
        "discontinued for this supplier and SKU, so HQ quality decides on it."
    ]
    held = await wait_for_stage(session, row, InspectionStage.AWAITING_DECISION)
    assert held.verdict is InspectionVerdict.ACCEPTED
    page = client.get(f"/inspections/{row.number}")
    assert 'data-testid="acceptance-discontinued"' in page.text
    assert "Acceptance by sampling discontinued: HQ decides the lot" in page.text  # the timeline
    # End with the process idle (waiting for HQ), not between steps: the next test wipes the database
    # and reuses the INS number, which a step still retrying here would then act on.
    deadline = time.monotonic() + 20
    while {world.supplier_a.id, quality.id} - told_about(session, row.number):
        assert time.monotonic() < deadline, "the supplier and the quality approver were not told"
        await asyncio.sleep(0.05)


async def test_defects_at_the_rejection_number_reject_the_lot(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    client = logged_in(portal_client, world.inspector)
    response = record(client, row, "0", "4", "0")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert flashes(page) == [f"Inspection {row.number} recorded: the lot is rejected."]
    assert 'data-testid="verdict">Rejected' in page.text and "Lot rejected" in page.text
    done = fresh(session, row)
    assert done.verdict is InspectionVerdict.REJECTED
    assert (done.accepted_quantity, done.rejected_quantity) == (0, LOT_SIZE)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (("0", "-1", "0"), "The number of major defects cannot be negative."),
        (("0", "0", "51"), "Minor defects cannot exceed the 50 units inspected for them."),
    ],
)
async def test_refused_defects_show_the_reason_and_change_nothing(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
    counts: tuple[str, str, str],
    message: str,
) -> None:
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    client = logged_in(portal_client, world.inspector)
    response = record(client, row, *counts)
    assert response.status_code == 400
    assert action_error(response) == message
    assert 'data-testid="defects-form"' in response.text and f'value="{counts[1]}"' in response.text
    assert_unchanged(session, row)
    assert (await workflow_state(temporal, row)).verdict is InspectionVerdict.PENDING


async def test_non_numeric_counts_get_a_message_without_asking_the_workflow(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    client = logged_in(portal_client, world.inspector)
    for critical in ("abc", "1.5", "", "1234567890"):
        response = record(client, row, critical, "0", "0")
        assert response.status_code == 400
        assert re.search(
            r'data-testid="error-critical">Enter the number of critical defects as a whole number',
            response.text,
        )
        assert action_error(response) == ""
    assert_unchanged(session, row)
    assert (await workflow_state(temporal, row)).verdict is InspectionVerdict.PENDING


async def test_second_submission_after_the_decision_changes_nothing(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    client = logged_in(portal_client, world.inspector)
    assert record(client, row, "0", "1", "0").status_code == 303
    again = record(client, row, "1", "0", "0")
    assert again.status_code == 400
    assert action_error(again) == "This inspection has already been decided."
    done = fresh(session, row)
    assert done.verdict is InspectionVerdict.ACCEPTED
    assert (done.critical_defects, done.major_defects, done.minor_defects) == (0, 1, 0)
    state = await workflow_state(temporal, row)
    assert state.verdict is InspectionVerdict.ACCEPTED and state.defects is not None
    assert state.defects.critical == 0


async def test_the_same_result_form_sent_twice_records_once_and_both_answer_as_the_first(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    """Issue 11, item 4: two tabs sending one rendering of the result form at once, and a retry
    later: one verdict, one notification per person, and every request answers with the result."""
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    tabs = [logged_in(portal_client, world.inspector) for _ in range(2)]
    url = f"/inspections/{row.number}"
    data = {"critical": "0", "major": "1", "minor": "0", "notes": "scratched housing"}
    data["form_id"] = form_id_in(tabs[0].get(url).text, url)
    answers = at_once(*(lambda tab=tab: form_post(tab, url, data) for tab in tabs))
    answers.append(form_post(tabs[1], url, data))
    assert [a.status_code for a in answers] == [303, 303, 303], [action_error(a) for a in answers]
    accepted = f"Inspection {row.number} recorded: the lot is accepted."
    for tab in tabs:
        assert any(message.startswith(accepted) for message in flashes(tab.get(url))), flashes(tab.get(url))
    done = fresh(session, row)
    assert done.verdict is InspectionVerdict.ACCEPTED
    assert (done.critical_defects, done.major_defects, done.minor_defects) == (0, 1, 0)
    session.expire_all()
    told = session.execute(
        select(col(Notification.user_id), col(Notification.message)).where(
            col(Notification.document_id) == row.number
        )
    ).all()
    session.commit()
    assert len(told) == len(set(told)), told


# --- the supplier's view ----------------------------------------------------------------------------


async def test_supplier_sees_its_own_lots_and_not_anothers(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    own = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    other = await start_inspection(temporal, portal_worker, session, world, world.supplier_b_id)
    inspector = logged_in(portal_client, world.inspector)
    assert record(inspector, own, "0", "4", "0").status_code == 303
    assert record(inspector, other, "0", "0", "0").status_code == 303

    client = logged_in(portal_client, world.supplier_a)
    listing = client.get("/supplier/inspections")
    assert listing.status_code == 200
    assert own.number in listing.text and other.number not in listing.text
    assert "Rejected" in listing.text
    page = client.get(f"/inspections/{own.number}")
    assert page.status_code == 200
    assert 'data-testid="verdict">Rejected' in page.text and 'data-testid="found-major">4' in page.text
    assert 'data-testid="defects-form"' not in page.text
    assert client.get(f"/inspections/{other.number}").status_code == 404
    assert client.get("/inspections").status_code == 403
    assert record(client, own, "0", "0", "0").status_code == 403


# --- stages, holds and dispositions (rows as the workflow writes them) -------------------------------


def db_lot(session: Session, world: World, supplier_id: int, **fields: Any) -> Inspection:
    org = session.get(Organisation, supplier_id)
    assert org is not None
    stage = fields.pop("stage", InspectionStage.AWAITING_INSPECTION)
    verdict = fields.pop(
        "verdict",
        InspectionVerdict.PENDING
        if stage is InspectionStage.AWAITING_INSPECTION
        else InspectionVerdict.ACCEPTED
        if stage is InspectionStage.ON_HOLD
        else InspectionVerdict.REJECTED,
    )
    return make_inspection(
        session,
        supplier=org,
        stage=stage,
        verdict=verdict,
        sku_id=world.sku_id,
        location_id=world.location_id,
        **fields,
    )


def text_of(response: httpx.Response, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', response.text, re.S)
    return html.unescape(re.sub(r"\s+", " ", found.group(1)).strip()) if found else ""


HOLD_REASONS = (
    "The required certificate of analysis (COA) is missing.",
    "The health certificate has expired.",
)


def test_detail_shows_stage_batch_expiry_lot_and_each_hold_reason_translated(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    row = db_lot(
        session,
        world,
        world.supplier_a_id,
        stage=InspectionStage.ON_HOLD,
        hold_reason="\n".join(HOLD_REASONS),
        lot_no=2,
        batch_no="B-2027-01",
        expiry_date=date(2027, 3, 1),
    )
    page = logged_in(make_client, world.inspector).get(f"/inspections/{row.number}")
    assert page.status_code == 200
    assert text_of(page, "stage") == "On hold"
    assert text_of(page, "lot-no") == "Lot 2"
    assert text_of(page, "batch-no") == "B-2027-01" and text_of(page, "expiry-date") == "Mar 1, 2027"
    reasons = re.search(r'data-testid="hold-reasons">(.*?)</ul>', page.text, re.S)
    assert reasons and [html.unescape(r) for r in re.findall(r"<li>(.*?)</li>", reasons.group(1))] == list(
        HOLD_REASONS
    )
    assert 'data-testid="recheck-form"' in page.text

    session.execute(update(User).where(col(User.id) == world.supplier_a.id).values(locale="zh_CN"))
    session.commit()
    chinese = logged_in(make_client, world.supplier_a).get(f"/inspections/{row.number}")
    with i18n.use_locale("zh_CN"):
        translated = [i18n.gettext(reason) for reason in HOLD_REASONS]
    assert translated != list(HOLD_REASONS)
    assert all(html.escape(t) in chinese.text for t in translated)
    assert 'data-testid="recheck-form"' not in chinese.text  # the supplier reads, the inspector acts


def test_first_lot_shows_no_lot_number_and_a_concession_shows_its_deduction(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    row = db_lot(
        session,
        world,
        world.supplier_a_id,
        stage=InspectionStage.DONE,
        disposition=Disposition.CONCESSION,
        price_deduction_percent=Decimal("7.50"),
    )
    page = logged_in(make_client, world.approver).get(f"/inspections/{row.number}")
    assert 'data-testid="lot-no"' not in page.text and 'data-testid="batch-no"' not in page.text
    assert text_of(page, "stage") == "Done"
    assert text_of(page, "disposition") == "Concession (accepted with a price deduction)"
    assert text_of(page, "deduction") == "7.5%"
    assert 'data-testid="hold"' not in page.text


REDUCED_TABLE = (
    "MIL-STD-105E / ANSI/ASQ Z1.4 Table II-C, the edition with a gap between Ac and Re "
    "(not ISO 2859-1:1999 Table 2-C)"
)


def test_a_lot_on_reduced_inspection_names_the_edition_of_its_table_translated(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    normal = db_lot(session, world, world.supplier_a_id)
    reduced = db_lot(session, world, world.supplier_a_id)
    session.execute(
        update(Inspection).where(col(Inspection.id) == reduced.id).values(severity=InspectionSeverity.REDUCED)
    )
    session.commit()
    inspector = logged_in(make_client, world.inspector)
    assert 'data-testid="reduced-table"' not in inspector.get(f"/inspections/{normal.number}").text
    assert text_of(inspector.get(f"/inspections/{reduced.number}"), "reduced-table") == REDUCED_TABLE

    session.execute(update(User).where(col(User.id) == world.supplier_a.id).values(locale="zh_CN"))
    session.commit()
    chinese = logged_in(make_client, world.supplier_a).get(f"/inspections/{reduced.number}")
    with i18n.use_locale("zh_CN"):
        translated = i18n.gettext(REDUCED_TABLE)
    assert translated != REDUCED_TABLE and "II-C" in translated
    assert text_of(chinese, "reduced-table") == translated


def test_queue_lists_lots_to_inspect_or_sort_oldest_first_and_held_lots_in_their_own_tab(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    sorting = db_lot(session, world, world.supplier_a_id, stage=InspectionStage.SORTING)
    waiting = db_lot(session, world, world.supplier_b_id)
    held = db_lot(session, world, world.supplier_a_id, stage=InspectionStage.ON_HOLD)
    deciding = db_lot(session, world, world.supplier_a_id, stage=InspectionStage.AWAITING_DECISION)
    client = logged_in(make_client, world.inspector)

    queue = client.get("/inspections").text
    assert queue.index(sorting.number) < queue.index(waiting.number)
    assert held.number not in queue and deciding.number not in queue
    on_hold = client.get("/inspections", params={"status": "on_hold"}).text
    assert held.number in on_hold and sorting.number not in on_hold and waiting.number not in on_hold
    decided = client.get("/inspections", params={"status": "decided"}).text
    assert deciding.number in decided and sorting.number not in decided and held.number not in decided
    assert re.search(r'href="/inspections" data-testid="queue-count">2 ', client.get("/").text)


# --- the queue by warehouse ---------------------------------------------------------------------------


@dataclass
class Warehouses:
    own: Inspection  # a lot at the inspector's warehouse (world.location_id)
    other: Inspection  # a lot at another warehouse of the same organisation
    other_id: int
    foreign: Inspection  # a lot at a warehouse of another HQ organisation
    foreign_location_id: int
    distributor_location_id: int
    store_id: int
    inactive_id: int


@pytest.fixture
def warehouses(session: Session, world: World) -> Warehouses:
    hq = session.get(Organisation, world.inspector.organisation_id)
    assert hq is not None
    other = make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE, name="Other DC")
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    inactive = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    inactive.is_active = False
    elsewhere = make_location(
        session, organisation=make_organisation(session, kind=OrgKind.HQ), kind=LocationKind.CENTRAL_WAREHOUSE
    )
    distributor = make_location(
        session,
        organisation=make_organisation(session, kind=OrgKind.DISTRIBUTOR),
        kind=LocationKind.REGIONAL_WAREHOUSE,
    )
    session.add(inactive)
    session.commit()
    supplier = session.get(Organisation, world.supplier_a_id)
    assert supplier is not None

    def lot_at(location_id: int | None) -> Inspection:
        return make_inspection(session, supplier=supplier, sku_id=world.sku_id, location_id=location_id)

    assert other.id and store.id and inactive.id and elsewhere.id and distributor.id
    return Warehouses(
        own=lot_at(world.location_id),
        other=lot_at(other.id),
        other_id=other.id,
        foreign=lot_at(elsewhere.id),
        foreign_location_id=elsewhere.id,
        distributor_location_id=distributor.id,
        store_id=store.id,
        inactive_id=inactive.id,
    )


def numbers_in(response: httpx.Response, *lots: Inspection) -> set[str]:
    """Which of `lots` the page lists."""
    return {lot.number for lot in lots if f'id="inspection-{lot.id}"' in response.text}


def warehouse_options(response: httpx.Response) -> tuple[list[str], str]:
    """The values of the queue's warehouse select and the selected one."""
    select = re.search(r'<select id="location" name="location">(.*?)</select>', response.text, re.S)
    assert select, "no warehouse select on the page"
    options = re.findall(r'<option value="([^"]*)"\s*(selected)?', select.group(1))
    selected = [value for value, mark in options if mark]
    assert len(selected) <= 1
    return [value for value, _ in options], selected[0] if selected else ""


def test_inspector_sees_the_lots_of_their_own_warehouse_and_may_choose_another_or_all(
    make_client: ClientFactory, world: World, warehouses: Warehouses, monkeypatch: pytest.MonkeyPatch
) -> None:
    own, other = warehouses.own, warehouses.other
    client = logged_in(make_client, world.inspector)

    default = client.get("/inspections")
    assert default.status_code == 200
    assert numbers_in(default, own, other, warehouses.foreign) == {own.number}
    values, selected = warehouse_options(default)
    assert selected == str(world.location_id)
    assert values[0] == "all" and {str(world.location_id), str(warehouses.other_id)} <= set(values)
    assert "All warehouses" in default.text
    for not_a_choice in (warehouses.store_id, warehouses.inactive_id, warehouses.foreign_location_id):
        assert str(not_a_choice) not in values
    assert re.search(rf'id="inspection-{own.id}".*?data-testid="warehouse">[^<]+<', default.text, re.S)

    chosen = client.get("/inspections", params={"location": str(warehouses.other_id)})
    assert numbers_in(chosen, own, other, warehouses.foreign) == {other.number}
    assert warehouse_options(chosen)[1] == str(warehouses.other_id)
    everything = client.get("/inspections", params={"location": "all"})
    assert {own.number, other.number} <= numbers_in(everything, own, other)
    assert warehouse_options(everything)[1] == "all"

    # The htmx filter asks with the form's fields and gets the results alone.
    fragment = client.get(
        "/inspections",
        params={"status": "pending", "supplier": "", "location": str(warehouses.other_id)},
        headers={"HX-Request": "true"},
    )
    assert fragment.text.lstrip().startswith('<div id="results">')
    assert numbers_in(fragment, own, other) == {other.number}

    # The pages keep the chosen warehouse.
    monkeypatch.setattr("web.routes.inspections.PER_PAGE", 1)
    first = client.get("/inspections", params={"location": "all"})
    next_link = re.search(r'href="(/inspections\?page=2[^"]*)" rel="next"', first.text)
    assert next_link and "location=all" in html.unescape(next_link.group(1))
    mine = client.get("/inspections")
    assert 'rel="next"' not in mine.text  # one lot at the own warehouse: one page
    # The home card counts what the queue shows first: the own warehouse's lot.
    assert re.search(r'href="/inspections" data-testid="queue-count">1 ', client.get("/").text)


def test_inspector_without_a_location_sees_every_warehouse(
    make_client: ClientFactory, session: Session, world: World, warehouses: Warehouses
) -> None:
    hq = session.get(Organisation, world.inspector.organisation_id)
    assert hq is not None
    roaming = make_user(session, organisation=hq, roles=[Role.INSPECTOR], locale="en")
    client = logged_in(make_client, roaming)
    page = client.get("/inspections")
    assert page.status_code == 200
    assert {warehouses.own.number, warehouses.other.number} <= numbers_in(
        page, warehouses.own, warehouses.other
    )
    assert warehouse_options(page)[1] == "all"
    only = client.get("/inspections", params={"location": str(warehouses.other_id)})
    assert numbers_in(only, warehouses.own, warehouses.other, warehouses.foreign) == {warehouses.other.number}


@pytest.mark.parametrize(
    "bad",
    ["abc", "-1", "1.5", "²", "9" * 30, "foreign", "distributor", "store"],
)
def test_a_location_that_is_not_a_choice_shows_the_own_warehouse_and_nothing_of_other_orgs(
    make_client: ClientFactory, world: World, warehouses: Warehouses, bad: str
) -> None:
    value = {
        "foreign": str(warehouses.foreign_location_id),
        "distributor": str(warehouses.distributor_location_id),
        "store": str(warehouses.store_id),
    }.get(bad, bad)
    client = logged_in(make_client, world.inspector)
    page = client.get("/inspections", params={"location": value})
    assert page.status_code == 200
    assert numbers_in(page, warehouses.own, warehouses.other, warehouses.foreign) == {warehouses.own.number}
    assert warehouse_options(page)[1] == str(world.location_id)


def test_supplier_results_have_no_warehouse_filter(
    make_client: ClientFactory, world: World, warehouses: Warehouses
) -> None:
    client = logged_in(make_client, world.supplier_a)
    for status in ("pending", "decided"):
        page = client.get(
            "/supplier/inspections", params={"status": status, "location": str(world.location_id)}
        )
        assert page.status_code == 200
        assert 'name="location"' not in page.text and "All warehouses" not in page.text
    lots = (warehouses.own, warehouses.other, warehouses.foreign)
    pending = client.get("/supplier/inspections", params={"status": "pending"})
    assert numbers_in(pending, *lots) == {lot.number for lot in lots}  # every lot of the supplier's


def test_supplier_results_show_stage_disposition_and_a_link_to_the_return(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    row = db_lot(
        session,
        world,
        world.supplier_a_id,
        stage=InspectionStage.AWAITING_RETURN,
        disposition=Disposition.RETURN_TO_VENDOR,
    )
    assert row.id is not None
    rtv = ReturnToVendor(
        number=unique_code("RTV"),
        inspection_id=row.id,
        supplier_id=world.supplier_a_id,
        sku_id=world.sku_id,
        location_id=world.location_id,
        po_number=row.po_number,
        quantity=LOT_SIZE,
        unit_price=Decimal("12.5"),
        tax_rate=Decimal("0.13"),
    )
    session.add(rtv)
    session.commit()
    client = logged_in(make_client, world.supplier_a)
    listing = client.get("/supplier/inspections")
    found = re.search(rf'<tr id="inspection-{row.id}".*?</tr>', listing.text, re.S)
    assert found
    assert "Awaiting return" in found.group(0) and "Return to vendor" in found.group(0)
    assert f'href="/returns/{rtv.number}"' in found.group(0)
    page = client.get(f"/inspections/{row.number}")
    assert text_of(page, "rtv-link") == rtv.number
    assert logged_in(make_client, world.supplier_b).get(f"/inspections/{row.number}").status_code == 404


def test_sorting_form_is_the_inspectors_in_stage_sorting_and_bad_counts_never_reach_the_workflow(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    row = db_lot(session, world, world.supplier_a_id, stage=InspectionStage.SORTING)
    inspector = logged_in(make_client, world.inspector)
    assert 'data-testid="sorting-form"' in inspector.get(f"/inspections/{row.number}").text
    assert (
        'data-testid="sorting-form"'
        not in logged_in(make_client, world.approver).get(f"/inspections/{row.number}").text
    )
    for good in ("abc", "1.5", "", "-"):
        response = form_post(inspector, f"/inspections/{row.number}/sorting", {"good_quantity": good})
        assert response.status_code == 400
        assert text_of(response, "sorting-error") == (
            "Enter the number of good units as a whole number, for example 0."
        )
    assert fresh(session, row).sorted_good_quantity is None

    waiting = db_lot(session, world, world.supplier_a_id)
    response = form_post(inspector, f"/inspections/{waiting.number}/sorting", {"good_quantity": "10"})
    assert (
        response.status_code == 400 and text_of(response, "sorting-error") == "This lot is not being sorted."
    )
    supplier = logged_in(make_client, world.supplier_a)
    assert (
        form_post(supplier, f"/inspections/{row.number}/sorting", {"good_quantity": "1"}).status_code == 403
    )


def test_recheck_is_refused_for_a_lot_that_is_not_on_hold(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    row = db_lot(session, world, world.supplier_a_id)
    inspector = logged_in(make_client, world.inspector)
    assert 'data-testid="recheck-form"' not in inspector.get(f"/inspections/{row.number}").text
    response = form_post(inspector, f"/inspections/{row.number}/recheck")
    assert response.status_code == 400 and text_of(response, "recheck-error") == "This lot is not on hold."
    held = db_lot(session, world, world.supplier_b_id, stage=InspectionStage.ON_HOLD)
    assert (
        form_post(logged_in(make_client, world.supplier_a), f"/inspections/{held.number}/recheck").status_code
        == 403
    )
    assert (
        form_post(logged_in(make_client, world.approver), f"/inspections/{held.number}/recheck").status_code
        == 403
    )


# --- the recheck_certificates signal ------------------------------------------------------------------


async def parked_workflow(temporal: Client, workflow_id: str) -> None:
    """A running workflow no worker serves: a signal sent to it stays in its history to be read."""
    await temporal.start_workflow("ParkedInspection", id=workflow_id, task_queue=f"nobody-{uuid.uuid4()}")


async def signals_received(temporal: Client, workflow_id: str) -> list[str]:
    history = await temporal.get_workflow_handle(workflow_id).fetch_history()
    return [
        event.workflow_execution_signaled_event_attributes.signal_name
        for event in history.events
        if event.HasField("workflow_execution_signaled_event_attributes")
    ]


async def test_inspector_asks_a_held_lot_to_check_its_certificates_again(
    portal_client: ClientFactory, temporal: Client, session: Session, world: World
) -> None:
    row = db_lot(session, world, world.supplier_a_id, stage=InspectionStage.ON_HOLD)
    await parked_workflow(temporal, row.workflow_id)
    try:
        client = logged_in(portal_client, world.inspector)
        response = form_post(client, f"/inspections/{row.number}/recheck")
        assert response.status_code == 303
        assert flashes(client.get(response.headers["location"])) == [
            "The certificates of this lot are being checked again."
        ]
        assert await signals_received(temporal, row.workflow_id) == ["recheck_certificates"]
    finally:
        await temporal.get_workflow_handle(row.workflow_id).terminate()


async def test_certificate_upload_signals_every_running_held_lot_of_that_supplier_only(
    portal_client: ClientFactory,
    temporal: Client,
    session: Session,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "UPLOAD_DIR", tmp_path / "uploads")
    held = [db_lot(session, world, world.supplier_a_id, stage=InspectionStage.ON_HOLD) for _ in range(2)]
    finished = db_lot(session, world, world.supplier_a_id, stage=InspectionStage.ON_HOLD)  # no workflow
    waiting = db_lot(session, world, world.supplier_a_id)
    other = db_lot(session, world, world.supplier_b_id, stage=InspectionStage.ON_HOLD)
    running = [*held, waiting, other]
    for row in running:
        await parked_workflow(temporal, row.workflow_id)
    org = session.get(Organisation, world.supplier_a_id)
    assert org is not None
    sku = session.get(Sku, world.sku_id)
    assert sku is not None
    make_price(session, supplier=org, sku=sku)
    try:
        client = logged_in(portal_client, world.supplier_a)
        response = client.post(
            "/supplier/certificates",
            data={
                "certificate_type": "coa",
                "sku_id": str(world.sku_id),
                "number": "COA-1",
                "issued_on": "2026-01-10",
                "csrf_token": csrf(client),
            },
            files={"file": ("coa.pdf", PDF, "application/pdf")},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        for row in held:
            assert await signals_received(temporal, row.workflow_id) == ["recheck_certificates"]
        assert await signals_received(temporal, waiting.workflow_id) == []
        assert await signals_received(temporal, other.workflow_id) == []
        assert finished.workflow_id  # never started: skipped without failing the upload
    finally:
        for row in running:
            await temporal.get_workflow_handle(row.workflow_id).terminate()


# --- sorting with the real workflow -------------------------------------------------------------------


async def wait_for_stage(session: Session, row: Inspection, stage: InspectionStage) -> Inspection:
    deadline = time.monotonic() + 20
    while True:
        now = fresh(session, row)
        if now.stage is stage:
            return now
        assert time.monotonic() < deadline, f"{row.number} stayed {now.stage}, never reached {stage}"
        await asyncio.sleep(0.05)


async def decide_rejected_lot(
    temporal: Client, session: Session, row: Inspection, approver: User, choice: str
) -> None:
    """The quality approver's decision on the lot's approval step, once their queue shows it (its
    own pages are tested elsewhere)."""
    assert approver.id is not None
    workflow_id = approval_workflow_id(row.workflow_id, "decision")
    deadline = time.monotonic() + 20
    while True:
        session.expire_all()
        request = request_by_workflow(session, workflow_id)
        session.commit()
        if request is not None:
            break
        assert time.monotonic() < deadline, "the decision never reached the quality queue"
        await asyncio.sleep(0.05)
    assert request.assignee_user_id == approver.id
    await temporal.get_workflow_handle(workflow_id).execute_update(
        ApprovalWorkflow.decide,
        DecideInput(actor_user_id=approver.id, on_behalf_of_user_id=approver.id, approve=True, choice=choice),
    )


async def test_inspector_records_sorting_the_good_units_are_accepted_and_the_rest_returned(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
) -> None:
    hq = session.get(Organisation, world.inspector.organisation_id)
    assert hq is not None
    quality = make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER], locale="en")
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    # The PO line's price, which receiving copies onto the lot (this lot was started without a PO).
    row.unit_price, row.tax_rate = Decimal("12.5000"), Decimal("0.1300")
    session.add(row)
    session.commit()
    inspector = logged_in(portal_client, world.inspector)
    assert record(inspector, row, "0", "4", "0").status_code == 303
    await wait_for_stage(session, row, InspectionStage.AWAITING_DECISION)
    await decide_rejected_lot(temporal, session, row, quality, "sorting")
    await wait_for_stage(session, row, InspectionStage.SORTING)
    page = inspector.get(f"/inspections/{row.number}")
    assert 'data-testid="sorting-form"' in page.text and text_of(page, "stage") == "Sorting"

    too_many = form_post(inspector, f"/inspections/{row.number}/sorting", {"good_quantity": "501"})
    assert too_many.status_code == 400
    assert text_of(too_many, "sorting-error") == "The good units must be between 0 and the lot size of 500."
    assert fresh(session, row).sorted_good_quantity is None

    response = form_post(inspector, f"/inspections/{row.number}/sorting", {"good_quantity": "480"})
    assert response.status_code == 303
    assert flashes(inspector.get(response.headers["location"])) == [
        f"Sorting of {row.number} recorded: 480 accepted, 20 returned."
    ]
    done = await wait_for_stage(session, row, InspectionStage.AWAITING_RETURN)
    assert done.sorted_good_quantity == 480 and done.disposition is Disposition.SORTING
    again = form_post(inspector, f"/inspections/{row.number}/sorting", {"good_quantity": "480"})
    assert again.status_code == 400 and text_of(again, "sorting-error") == "This lot is not being sorted."


async def test_accepted_lot_held_for_a_missing_certificate_is_released_by_the_suppliers_upload(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "UPLOAD_DIR", tmp_path / "uploads")
    sku = session.get(Sku, world.sku_id)
    org = session.get(Organisation, world.supplier_a_id)
    assert sku is not None and org is not None
    sku.required_certificates = "coa"
    session.add(sku)
    session.commit()
    make_price(session, supplier=org, sku=sku)
    row = await start_inspection(temporal, portal_worker, session, world, world.supplier_a_id)
    inspector = logged_in(portal_client, world.inspector)
    assert record(inspector, row, "0", "0", "0").status_code == 303
    held = await wait_for_stage(session, row, InspectionStage.ON_HOLD)
    assert held.hold_reason == "The required certificate of analysis (COA) is missing."
    page = inspector.get(f"/inspections/{row.number}")
    assert text_of(page, "stage") == "On hold" and 'data-testid="recheck-form"' in page.text
    assert "The required certificate of analysis (COA) is missing." in page.text
    assert row.number in inspector.get("/inspections", params={"status": "on_hold"}).text

    supplier = logged_in(portal_client, world.supplier_a)
    response = supplier.post(
        "/supplier/certificates",
        data={
            "certificate_type": "coa",
            "sku_id": str(world.sku_id),
            "number": "COA-1",
            "issued_on": "2026-01-10",
            "csrf_token": csrf(supplier),
        },
        files={"file": ("coa.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    released = await wait_for_stage(session, row, InspectionStage.DONE)
    assert released.hold_reason == "" and released.accepted_quantity == LOT_SIZE


def test_quality_approver_reads_the_lot_it_decides_on_but_cannot_record(
    make_client: ClientFactory, session: Session, world: World
) -> None:
    hq = session.get(Organisation, world.inspector.organisation_id)
    assert hq is not None
    quality = make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER], locale="en")
    row = db_lot(session, world, world.supplier_a_id, stage=InspectionStage.AWAITING_DECISION)
    client = logged_in(make_client, quality)
    page = client.get(f"/inspections/{row.number}")
    assert page.status_code == 200 and text_of(page, "stage") == "Awaiting HQ decision"
    assert 'data-testid="defects-form"' not in page.text and 'data-testid="photo-form"' not in page.text
    assert row.number in client.get("/inspections", params={"status": "decided"}).text
    assert record(client, row, "0", "0", "0").status_code == 403
