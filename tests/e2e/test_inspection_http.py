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
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import Sku
from tests.e2e.conftest import Quality, WorkerProcesses, World, on_hand
from tests.e2e.inspection_steps import (
    acknowledge_return,
    by_testid,
    closed,
    confirm_and_ship,
    debit_note_amounts,
    debit_note_row,
    decide,
    eventually,
    inspected_sku,
    money,
    place_order,
    queue_row,
    queued_inspections,
    receipt_form,
    record_defects,
    record_receipt,
    return_of,
    stock,
    stock_on_page,
    submit,
)
from tests.e2e.test_replenishment_http import as_user, flash_messages
from tests.fixtures.web import ClientFactory

OPENING = 5  # already at the warehouse, held for another order: inspection must never touch it
LOT = 100  # ordered, shipped and counted: one lot of 100 (ISO 2859-1 level II: code letter F)
UNIT_PRICE = Decimal("0.5000")  # 100 x 0.50 = 50.00 net, 56.50 with 13 % VAT: under the store's limit
TAX_RATE = Decimal("0.13")
# The plan for a lot of 100 at level II, normal severity, AQL 0 / 2.5 / 4.0.
SAMPLE = 20
PLAN = {"critical": (SAMPLE, 0, 1), "major": (SAMPLE, 1, 2), "minor": (SAMPLE, 2, 3)}  # (n, Ac, Re)


def plan_on_page(page_html: str) -> dict[str, tuple[int, int, int]]:
    """The sampling plan table: per category (units inspected, Ac, Re)."""
    plan = {}
    for category in PLAN:
        row = re.search(rf'<tr data-testid="plan-{category}">(.*?)</tr>', page_html, re.S)
        assert row, f"no plan row for {category}"
        cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(1))
        plan[category] = (int(cells[0]), int(cells[1]), int(cells[2]))
    return plan


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


def _receive_into_quarantine(
    factory: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    session: Session,
    db: Engine,
) -> Received:
    sku = inspected_sku(session, world, unit_price=UNIT_PRICE, tax_rate=TAX_RATE, opening=OPENING)
    assert sku.id and world.warehouse.id
    worker = workers.start()
    worker.wait_ready()

    # The store orders 100: 56.50 with VAT, within its own limit, so the PO goes to the supplier.
    store = as_user(factory, world.store_user)
    po = place_order(store, sku, LOT)

    # The supplier confirms what was ordered for tomorrow and ships all of it.
    supplier = as_user(factory, world.supplier)
    shipment = confirm_and_ship(supplier, po)

    # The warehouse counts the 100 in as shipped (one lot, as the form offers).
    warehouse = as_user(factory, world.warehouse_clerk)
    counted = {k: v for k, v in receipt_form(warehouse, shipment).items() if k.startswith("received-")}
    assert list(counted.values()) == [str(LOT)], counted
    record_receipt(warehouse, shipment)

    # On hand, but in quarantine: not available until the lot is inspected.
    eventually(
        lambda: stock_on_page(warehouse, world, sku) == stock(OPENING + LOT, LOT, OPENING),
        "the lot in quarantine on /stock",
    )
    assert on_hand(db, world.warehouse.id, sku.id) == OPENING + LOT

    # The inspector finds the lot in the queue (its plan is recorded by the inspection workflow).
    inspector = as_user(factory, quality.inspector)
    [inspection] = queued_inspections(inspector, po, 1)
    assert "0/1 · 1/2 · 2/3" in queue_row(inspector, inspection)  # Ac/Re per category in the queue
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
    response = record_defects(received.inspector, received.inspection, (0, 1, 2), "Two scuffs, one dent.")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == page
    detail = received.inspector.get(page).text
    assert flash_messages(detail) == [f"Inspection {received.inspection} recorded: the lot is accepted."]
    assert by_testid(detail, "verdict") == "Accepted"
    assert [by_testid(detail, f"found-{c}") for c in PLAN] == ["0", "1", "2"]
    assert by_testid(detail, "notes") == "Two scuffs, one dent."
    assert 'data-testid="defects-form"' not in detail  # decided: nothing more to record

    # The goods leave quarantine: all of it available.
    eventually(
        lambda: (
            stock_on_page(received.warehouse, world, received.sku) == stock(OPENING + LOT, 0, OPENING + LOT)
        ),
        "the lot available on /stock",
    )
    assert received.sku.id and world.warehouse.id
    assert on_hand(db, world.warehouse.id, received.sku.id) == OPENING + LOT

    # The store's order closes once its inspection has ended.
    closed(received.store, received.po)
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
    response = record_defects(received.inspector, number, (0, 2, 0), "Cracked housings.")
    assert response.status_code == 303, response.text
    detail = received.inspector.get(page).text
    assert flash_messages(detail) == [f"Inspection {number} recorded: the lot is rejected."]
    assert by_testid(detail, "verdict") == "Rejected"
    assert stock_on_page(received.warehouse, world, received.sku) == stock(
        OPENING + LOT, LOT, OPENING
    )  # held

    # HQ's quality approver finds the decision in the queue and chooses return to vendor.
    approver = as_user(e2e_client, quality.approver)
    decide(approver, number, "return_to_vendor")
    eventually(lambda: "Return to vendor" in approver.get(page).text, f"the disposition on {number}")
    assert by_testid(approver.get(page).text, "disposition") == "Return to vendor"

    # The supplier sees the return, with its value, and acknowledges it.
    net = (UNIT_PRICE * LOT).quantize(Decimal("0.01"))
    tax = (net * TAX_RATE).quantize(Decimal("0.01"))
    rtv = return_of(received.supplier, received.po)
    rtv_page = f"/returns/{rtv}"
    text = received.supplier.get(rtv_page).text
    assert by_testid(text, "status") == "Awaiting the supplier's acknowledgement"
    assert by_testid(text, "quantity") == str(LOT)
    assert by_testid(text, "net-value") == money(net)
    debit_note = acknowledge_return(received.supplier, rtv, "Collected by our driver.")

    # The debit note, with its amounts as an English page writes them, for the supplier and for HQ.
    for client in (received.supplier, approver):
        notes = client.get("/debit-notes")
        assert notes.status_code == 200, notes.text
        row = debit_note_row(notes.text, debit_note)
        assert debit_note_amounts(row) == [str(LOT), money(net), money(tax), money(net + tax)]
        assert "Returned goods" in row and received.po in row

    # The goods are gone: on hand back to what it was before the receipt, nothing held.
    eventually(
        lambda: stock_on_page(received.warehouse, world, received.sku) == stock(OPENING, 0, OPENING),
        "the lot gone from /stock",
    )
    assert received.sku.id and world.warehouse.id
    assert on_hand(db, world.warehouse.id, received.sku.id) == OPENING
    closed(received.store, received.po)


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
    assert stock_on_page(received.warehouse, world, received.sku) == stock(OPENING + LOT, LOT, OPENING)
    assert 'data-testid="po-status">Closed<' not in received.store.get(f"/purchase-orders/{received.po}").text

    # The same form still takes a count that fits the plan.
    response = submit(inspector, page, page, {"critical": "0", "major": "0", "minor": "0"})
    assert response.status_code == 303, response.text
    assert by_testid(inspector.get(page).text, "verdict") == "Accepted"
