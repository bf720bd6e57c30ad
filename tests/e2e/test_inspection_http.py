"""Receiving inspection end to end through HTTP only, as each role, against a real dev server and worker.

A store orders a SKU that is always inspected (under its own limit: no approval step), the supplier
confirms and ships it, and the warehouse counts it in: the lot sits in quarantine (on hand, not
available). Then, through the pages and forms each person uses:

- to stock: the inspector finds the lot in /inspections, reads its plan (sample size, Ac/Re per
  category) and records defects within the acceptance numbers; the goods leave quarantine and
  the store's purchase order closes.
- to the supplier: defects at the rejection number reject the lot; HQ's quality approver chooses
  "return to vendor" in the approval queue; the supplier finds the return in /returns and
  acknowledges it; the debit note for the goods' value shows in /debit-notes and the goods have
  left stock (on hand back to what it was before the receipt).
- bad input changes nothing: counts above the sample, negative counts or words are answered 400
  with the message beside the form, and the lot still waits for inspection.

Every step is a login and the page's own form (hidden fields and defaults included); the database is
only read, to check stock against the ledger. The one test-side knob: the PO is started with a
1-second late-click window for its inspections (`short_inspection_tail`), because the deployed
10 minutes would keep the PO "in delivery" that long after the lot is decided.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain import i18n
from supplychain.models import MovementType, Role, Sku, User
from supplychain.models.catalog import InspectionMode
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement
from tests.e2e.conftest import WorkerProcesses, World, on_hand, until
from tests.e2e.test_replenishment_http import as_user, flash_messages, form_values
from tests.factories import make_price, make_sku, make_user
from tests.fixtures.web import ClientFactory
from workflows.common import BUSINESS_TIMEZONE

PO_NUMBER = re.compile(r"PO-\d{4}-\d{6}")
SHIPMENT_NUMBER = re.compile(r"SHP-\d{4}-\d{6}")
INSPECTION_NUMBER = re.compile(r"INS-\d{4}-\d{6}")

OPENING = 5  # already at the warehouse, available: inspection must never touch it
LOT = 100  # ordered, shipped and counted: one lot of 100 (ISO 2859-1 level II: code letter F)
UNIT_PRICE = Decimal("0.5000")  # 100 x 0.50 = 50.00 net, 56.50 with 13 % VAT: under the store's limit
TAX_RATE = Decimal("0.13")
# The plan for a lot of 100 at level II, normal severity, AQL 0 / 2.5 / 4.0.
SAMPLE = 20
PLAN = {"critical": (SAMPLE, 0, 1), "major": (SAMPLE, 1, 2), "minor": (SAMPLE, 2, 3)}  # (n, Ac, Re)
ASYNC_TIMEOUT = 45.0


# --- people and knobs --------------------------------------------------------------------------------


@dataclass
class Quality:
    inspector: User
    approver: User  # HQ's quality approver: decides on rejected lots


@pytest.fixture
def quality(session: Session, world: World) -> Quality:
    def user(role: Role, name: str, **kwargs: Any) -> User:
        return make_user(session, organisation=world.hq, roles=[role], full_name=name, locale="en", **kwargs)

    return Quality(
        inspector=user(Role.INSPECTOR, "Ivy Inspector", location=world.warehouse),
        approver=user(Role.QUALITY_APPROVER, "Quinn Quality"),
    )


@pytest.fixture
def short_inspection_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's PO starts as deployed, except its inspections stop answering late clicks after 1 s.

    The PO closes only once every inspection child has ended, and a child keeps answering stale
    pages for `inspection_answer_late_clicks_for` (10 minutes deployed) after its lot is decided.
    """
    from web.routes import purchase_orders

    deployed = purchase_orders.replenishment_input

    def replenishment_input(*args: Any, **kwargs: Any) -> Any:
        return replace(deployed(*args, **kwargs), inspection_answer_late_clicks_for=timedelta(seconds=1))

    monkeypatch.setattr(purchase_orders, "replenishment_input", replenishment_input)


# --- a browser ---------------------------------------------------------------------------------------


def submit(
    client: TestClient,
    page_url: str,
    action: str,
    typed: dict[str, str],
    *,
    post_to: str | None = None,
    also: frozenset[str] = frozenset(),
) -> httpx.Response:
    """Open `page_url`, type `typed` over the form's own values and submit it (no redirect followed).

    `also`: names the person fills in that the page parser does not list as inputs (a radio button
    left unchecked until clicked, a textarea, the pressed button's name).
    """
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    fields = form_values(page.text, action)
    missing = set(typed) - set(fields) - also
    assert not missing, f"the form posting to {action} has no fields {sorted(missing)}"
    response: httpx.Response = client.post(
        post_to or action, data={**fields, **typed}, follow_redirects=False
    )
    return response


def by_testid(page_html: str, name: str) -> str:
    """The text of the element marked data-testid=`name` (tags inside it dropped)."""
    found = re.search(rf'data-testid="{re.escape(name)}"[^>]*>(.*?)</(?:td|dd|span|div|p)>', page_html, re.S)
    assert found, f"no data-testid={name} on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


def plan_on_page(page_html: str) -> dict[str, tuple[int, int, int]]:
    """The sampling plan table: per category (units inspected, Ac, Re)."""
    plan = {}
    for category in PLAN:
        row = re.search(rf'<tr data-testid="plan-{category}">(.*?)</tr>', page_html, re.S)
        assert row, f"no plan row for {category}"
        cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(1))
        plan[category] = (int(cells[0]), int(cells[1]), int(cells[2]))
    return plan


def stock_on_page(client: TestClient, world: World, sku: Sku) -> dict[str, int] | None:
    """The /stock row of `sku` at the warehouse: on hand, reserved, quarantine, available, in transit."""
    page = client.get("/stock", params={"q": sku.code, "location": world.warehouse.id})
    assert page.status_code == 200, page.text
    for row in re.findall(r'<tr id="stock-\d+">(.*?)</tr>', page.text, re.S):
        if f"<td>{world.warehouse.name}</td><td>{sku.code}</td>" in row:
            cells = [int(c.replace(",", "")) for c in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row)]
            return dict(
                zip(("on_hand", "reserved", "quarantine", "available", "in_transit"), cells, strict=True)
            )
    return None


def eventually(predicate: Callable[[], Any], what: str) -> Any:
    return until(predicate, what, timeout=ASYNC_TIMEOUT, interval=0.2)


def money(amount: Decimal) -> str:
    """An amount as an English page writes it."""
    with i18n.use_locale("en"):
        return i18n.format_money(amount)


def _tomorrow() -> str:
    return (datetime.now(BUSINESS_TIMEZONE).date() + timedelta(days=1)).isoformat()


# --- the way to a lot in quarantine ------------------------------------------------------------------


@dataclass
class Received:
    sku: Sku
    po: str
    shipment: str
    inspection: str
    store: TestClient
    supplier: TestClient
    warehouse: TestClient
    inspector: TestClient


def _inspected_sku(session: Session, world: World) -> Sku:
    sku = make_sku(session)
    sku.inspection_mode = InspectionMode.ALWAYS  # level II, AQL 0 / 2.5 / 4.0: the model's defaults
    session.add(sku)
    session.commit()
    make_price(session, supplier=world.supplier_org, sku=sku, unit_price=UNIT_PRICE, tax_rate=TAX_RATE)
    assert sku.id and world.warehouse.id
    post_movement(
        session,
        idempotency_key=f"e2e-opening:{sku.id}",
        location_id=world.warehouse.id,
        sku_id=sku.id,
        movement_type=MovementType.OPENING,
        delta=StockDelta(on_hand=OPENING),
        source_document_type="opening",
        source_document_id="opening",
    )
    session.commit()
    return sku


def _receive_into_quarantine(
    factory: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    session: Session,
    db: Engine,
) -> Received:
    sku = _inspected_sku(session, world)
    assert sku.id and world.warehouse.id
    worker = workers.start()
    worker.wait_ready()

    # The store orders 100: 56.50 with VAT, within its own limit, so the PO goes to the supplier.
    store = as_user(factory, world.store_user)
    response = submit(store, "/replenishment/new", "/replenishment/new", {f"qty-{sku.id}": str(LOT)})
    assert response.status_code == 303, response.text
    numbers = PO_NUMBER.findall(" ".join(flash_messages(store.get("/replenishment").text)))
    assert len(numbers) == 1
    po = numbers[0]
    page = f"/purchase-orders/{po}"

    # The supplier confirms what was ordered for tomorrow and ships all of it.
    supplier = as_user(factory, world.supplier)
    eventually(lambda: po in supplier.get("/supplier/purchase-orders").text, f"{po} sent to the supplier")
    confirm = form_values(supplier.get(page).text, f"{page}/confirm")
    dates = {name: _tomorrow() for name in confirm if name.startswith("promised_date-")}
    assert len(dates) == 1, confirm
    response = submit(supplier, page, f"{page}/confirm", dates)
    assert response.status_code == 303, response.text
    response = submit(
        supplier,
        f"{page}/shipments/new",
        f"{page}/shipments/new",
        {"carrier": "SF Express", "tracking_number": "SF9876543210", "eta": _tomorrow()},
    )
    assert response.status_code == 303, response.text
    shipments = SHIPMENT_NUMBER.findall(" ".join(flash_messages(supplier.get(page).text)))
    assert len(shipments) == 1
    shipment = shipments[0]

    # The warehouse counts the 100 in as shipped (one lot, as the form offers).
    warehouse = as_user(factory, world.warehouse_clerk)
    receipt = f"/warehouse/receipts/{shipment}"
    counted = {
        k: v
        for k, v in form_values(warehouse.get(receipt).text, receipt).items()
        if k.startswith("received-")
    }
    assert list(counted.values()) == [str(LOT)], counted
    response = submit(warehouse, receipt, receipt, {})
    assert response.status_code == 303, response.text

    # On hand, but in quarantine: not available until the lot is inspected.
    in_quarantine = {
        "on_hand": OPENING + LOT,
        "reserved": 0,
        "quarantine": LOT,
        "available": OPENING,
        "in_transit": 0,
    }
    eventually(
        lambda: stock_on_page(warehouse, world, sku) == in_quarantine, "the lot in quarantine on /stock"
    )
    assert on_hand(db, world.warehouse.id, sku.id) == OPENING + LOT

    # The inspector finds the lot in the queue (its plan is recorded by the inspection workflow).
    inspector = as_user(factory, quality.inspector)

    def queued() -> str | None:
        row = re.search(
            rf'<tr id="inspection-\d+"(?:(?!</tr>).)*?{po}(?:(?!</tr>).)*?</tr>',
            inspector.get("/inspections").text,
            re.S,
        )
        found = INSPECTION_NUMBER.findall(row.group(0)) if row else []
        return found[0] if found else None

    inspection = eventually(queued, f"the lot of {po} in /inspections")
    row = re.search(
        rf'<tr id="inspection-\d+"(?:(?!</tr>).)*?{inspection}.*?</tr>',
        inspector.get("/inspections").text,
        re.S,
    )
    assert row
    assert "0/1 · 1/2 · 2/3" in row.group(0)  # Ac/Re per category in the queue
    return Received(sku, po, shipment, inspection, store, supplier, warehouse, inspector)


def _lot_page(received: Received) -> str:
    """The inspector's lot page, checked to show the lot and its plan, waiting for inspection."""
    detail = received.inspector.get(f"/inspections/{received.inspection}")
    assert detail.status_code == 200, detail.text
    text: str = detail.text
    assert by_testid(text, "lot-size") == str(LOT)
    assert by_testid(text, "sample-size") == str(SAMPLE)
    assert plan_on_page(text) == PLAN
    assert by_testid(text, "stage") == "Awaiting inspection"
    assert by_testid(text, "verdict") == "Waiting for inspection"
    assert 'data-testid="defects-form"' in text
    return text


# --- the tests ---------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_lot_within_the_acceptance_numbers_leaves_quarantine_and_the_po_closes(
    e2e_client: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    session: Session,
    db: Engine,
    fresh_numbers: None,
    short_inspection_tail: None,
) -> None:
    received = _receive_into_quarantine(e2e_client, workers, world, quality, session, db)
    _lot_page(received)
    page = f"/inspections/{received.inspection}"

    # At the acceptance numbers (major 1 of Ac 1, minor 2 of Ac 2): accepted.
    response = submit(
        received.inspector,
        page,
        page,
        {"critical": "0", "major": "1", "minor": "2", "notes": "Two scuffs, one dent."},
        also=frozenset({"notes"}),
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == page
    detail = received.inspector.get(page).text
    assert flash_messages(detail) == [f"Inspection {received.inspection} recorded: the lot is accepted."]
    assert by_testid(detail, "verdict") == "Accepted"
    assert [by_testid(detail, f"found-{c}") for c in PLAN] == ["0", "1", "2"]
    assert by_testid(detail, "notes") == "Two scuffs, one dent."
    assert 'data-testid="defects-form"' not in detail  # decided: nothing more to record

    # The goods leave quarantine: all of it available.
    available = {
        "on_hand": OPENING + LOT,
        "reserved": 0,
        "quarantine": 0,
        "available": OPENING + LOT,
        "in_transit": 0,
    }
    eventually(
        lambda: stock_on_page(received.warehouse, world, received.sku) == available,
        "the lot available on /stock",
    )
    assert received.sku.id and world.warehouse.id
    assert on_hand(db, world.warehouse.id, received.sku.id) == OPENING + LOT

    # The store's order closes once its inspection has ended.
    po_page = f"/purchase-orders/{received.po}"
    eventually(
        lambda: 'data-testid="po-status">Closed<' in received.store.get(po_page).text, f"{received.po} closed"
    )
    decided = received.inspector.get("/inspections?status=decided").text
    assert received.inspection in decided
    assert received.inspection not in received.inspector.get("/inspections").text  # nothing left to do


@pytest.mark.e2e
def test_a_lot_at_the_rejection_number_goes_back_to_the_supplier_with_a_debit_note(
    e2e_client: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    session: Session,
    db: Engine,
    fresh_numbers: None,
    short_inspection_tail: None,
) -> None:
    received = _receive_into_quarantine(e2e_client, workers, world, quality, session, db)
    _lot_page(received)
    number = received.inspection
    page = f"/inspections/{number}"

    # Major defects at Re (2): rejected; HQ decides what happens to the lot.
    response = submit(
        received.inspector,
        page,
        page,
        {"critical": "0", "major": "2", "minor": "0", "notes": "Cracked housings."},
        also=frozenset({"notes"}),
    )
    assert response.status_code == 303, response.text
    detail = received.inspector.get(page).text
    assert flash_messages(detail) == [f"Inspection {number} recorded: the lot is rejected."]
    assert by_testid(detail, "verdict") == "Rejected"
    stock_held = {
        "on_hand": OPENING + LOT,
        "reserved": 0,
        "quarantine": LOT,
        "available": OPENING,
        "in_transit": 0,
    }
    assert stock_on_page(received.warehouse, world, received.sku) == stock_held  # still held

    # HQ's quality approver finds the decision in the queue and chooses return to vendor.
    approver = as_user(e2e_client, quality.approver)

    def queued() -> str | None:
        row = re.search(
            rf'<tr id="approval-(\d+)"(?:(?!<tr ).)*?>{number}</a>', approver.get("/approvals").text, re.S
        )
        return row.group(1) if row else None

    approval_id = eventually(queued, f"the decision on {number} in /approvals")
    queue = approver.get("/approvals").text
    row = re.search(rf'<tr id="approval-{approval_id}".*?</tr>', queue, re.S)
    assert row
    for option in ("concession", "sorting", "return_to_vendor"):
        assert f'data-testid="choice-{option}"' in row.group(0), option
    assert 'name="ids"' not in row.group(0)  # a step with choices is never approved in bulk
    response = submit(
        approver,
        "/approvals",
        "/approvals/bulk-approve",
        {"decision": "choose", f"choice-{approval_id}": "return_to_vendor", f"deduction-{approval_id}": ""},
        post_to=f"/approvals/{approval_id}/decide",
        also=frozenset({"decision", f"choice-{approval_id}"}),
    )
    assert response.status_code == 303, response.text
    assert flash_messages(approver.get("/approvals").text) == [f"{number} decided: Return to vendor."]
    assert queued() is None
    eventually(lambda: "Return to vendor" in approver.get(page).text, f"the disposition on {number}")
    assert by_testid(approver.get(page).text, "disposition") == "Return to vendor"

    # The supplier sees the return, with its value, and acknowledges it.
    net = (UNIT_PRICE * LOT).quantize(Decimal("0.01"))
    tax = (net * TAX_RATE).quantize(Decimal("0.01"))

    def returned() -> str | None:
        text = received.supplier.get("/returns").text
        row = re.search(rf'<tr id="rtv-\d+"(?:(?!</tr>).)*?{received.po}.*?</tr>', text, re.S)
        found = re.search(r'href="/returns/([^"]+)"', row.group(0)) if row else None
        return found.group(1) if found else None

    rtv = eventually(returned, f"the return of {number} in the supplier's /returns")
    rtv_page = f"/returns/{rtv}"
    text = received.supplier.get(rtv_page).text
    assert by_testid(text, "status") == "Awaiting the supplier's acknowledgement"
    assert by_testid(text, "quantity") == str(LOT)
    assert by_testid(text, "net-value") == money(net)
    response = submit(
        received.supplier,
        rtv_page,
        f"{rtv_page}/acknowledge",
        {"note": "Collected by our driver."},
        also=frozenset({"note"}),
    )
    assert response.status_code == 303, response.text
    text = received.supplier.get(rtv_page).text
    messages = flash_messages(text)
    assert len(messages) == 1 and messages[0].startswith(f"Return {rtv} acknowledged; debit note "), messages
    debit_note = messages[0].removeprefix(f"Return {rtv} acknowledged; debit note ").removesuffix(" raised.")
    assert by_testid(text, "status") == "Acknowledged"
    assert 'data-testid="acknowledge-form"' not in text

    # The debit note, with its amounts as an English page writes them, for the supplier and for HQ.
    for client in (received.supplier, approver):
        notes = client.get("/debit-notes")
        assert notes.status_code == 200, notes.text
        row = re.search(
            rf'<tr id="debit-note-\d+"[^>]*>\s*<td>{re.escape(debit_note)}<.*?</tr>', notes.text, re.S
        )
        assert row, f"{debit_note} not on /debit-notes"
        cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(0))
        assert [html.unescape(c) for c in cells] == [str(LOT), money(net), money(tax), money(net + tax)]
        assert "Returned goods" in row.group(0) and received.po in row.group(0)

    # The goods are gone: on hand back to what it was before the receipt, nothing held.
    gone = {"on_hand": OPENING, "reserved": 0, "quarantine": 0, "available": OPENING, "in_transit": 0}
    eventually(
        lambda: stock_on_page(received.warehouse, world, received.sku) == gone, "the lot gone from /stock"
    )
    assert received.sku.id and world.warehouse.id
    assert on_hand(db, world.warehouse.id, received.sku.id) == OPENING
    po_page = f"/purchase-orders/{received.po}"
    eventually(
        lambda: 'data-testid="po-status">Closed<' in received.store.get(po_page).text, f"{received.po} closed"
    )


@pytest.mark.e2e
def test_defect_counts_the_plan_cannot_hold_are_refused_and_the_lot_still_waits(
    e2e_client: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    session: Session,
    db: Engine,
    fresh_numbers: None,
    short_inspection_tail: None,
) -> None:
    received = _receive_into_quarantine(e2e_client, workers, world, quality, session, db)
    _lot_page(received)
    page = f"/inspections/{received.inspection}"
    inspector = received.inspector

    refused = [
        (
            {"critical": "0", "major": str(SAMPLE + 1), "minor": "0"},
            "action-error",
            f"Major defects cannot exceed the {SAMPLE} units inspected for them.",
        ),
        (
            {"critical": "0", "major": "0", "minor": str(SAMPLE + 5)},
            "action-error",
            f"Minor defects cannot exceed the {SAMPLE} units inspected for them.",
        ),
        (
            {"critical": "-1", "major": "0", "minor": "0"},
            "action-error",
            "The number of critical defects cannot be negative.",
        ),
        (
            {"critical": "0", "major": "-2", "minor": "0"},
            "action-error",
            "The number of major defects cannot be negative.",
        ),
        (
            {"critical": "0", "major": "two", "minor": "0"},
            "error-major",
            "Enter the number of major defects as a whole number, for example 0.",
        ),
    ]
    for typed, where, message in refused:
        response = submit(inspector, page, page, typed)
        assert response.status_code == 400, (typed, response.status_code, response.text[:500])
        assert by_testid(response.text, where) == message, typed
        for category, value in typed.items():  # what was typed is shown again
            assert f'name="{category}" type="text" value="{html.escape(value)}"' in response.text, category

        # Nothing changed: the lot still waits, with nothing found, and the goods are still held.
        detail = inspector.get(page).text
        assert by_testid(detail, "stage") == "Awaiting inspection"
        assert by_testid(detail, "verdict") == "Waiting for inspection"
        assert [by_testid(detail, f"found-{c}") for c in PLAN] == ["–", "–", "–"]
        assert 'data-testid="defects-form"' in detail

    assert received.inspection in inspector.get("/inspections").text  # still to inspect
    assert received.inspection not in inspector.get("/inspections?status=decided").text
    held = {"on_hand": OPENING + LOT, "reserved": 0, "quarantine": LOT, "available": OPENING, "in_transit": 0}
    assert stock_on_page(received.warehouse, world, received.sku) == held
    assert 'data-testid="po-status">Closed<' not in received.store.get(f"/purchase-orders/{received.po}").text

    # The same form still takes a count that fits the plan.
    response = submit(inspector, page, page, {"critical": "0", "major": "0", "minor": "0"})
    assert response.status_code == 303, response.text
    assert by_testid(inspector.get(page).text, "verdict") == "Accepted"
