"""Several lots on one receipt line, end to end through HTTP only, as each role (issue 9, item 6).

One PO line of 100 units of a SKU that is always inspected is received as two lots of 60 and 40,
and each lot is inspected and decided on its own:

- two batches: the supplier's ASN announces batches BX-0601 (60) and BX-0602 (40); the warehouse
  receives them as the form offers (one lot per batch). The inspector accepts lot 1 and rejects
  lot 2, HQ's quality approver returns it to the vendor, and the supplier acknowledges the return.
- two tranches: the SKU has no batches; the warehouse splits the counted 100 into tranches of 60
  and 40 on the receipt form. The inspector accepts tranche 1 and rejects tranche 2; HQ decides
  sorting, the inspector finds 30 good units, and the 10 bad ones go back to the supplier.

Each test follows every unit to its lot: on /stock (and against the ledger) only what each lot's
inspection accepted becomes available and quarantine ends at zero; every stock ledger entry names
its lot (the receipt's entries by key and note, the release by its inspection, the return by its
RTV); the return and its debit note are the rejected lot's only; and the timelines of the PO and of
each inspection say which lot (and batch) each step was about, in English and in Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain.models import (
    DebitNote,
    Inspection,
    MovementType,
    ReceiptLot,
    ReturnToVendor,
    Sku,
    StockLedgerEntry,
)
from tests.e2e.conftest import Quality, WorkerProcesses, World, on_hand
from tests.e2e.inspection_steps import (
    TimelineEntry,
    acknowledge_return,
    by_testid,
    closed,
    confirm_and_ship,
    debit_note_amounts,
    debit_note_row,
    decide,
    entries,
    eventually,
    in_a_year,
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

OPENING = 5  # already at the warehouse, held for another order: no lot's inspection may touch it
LOTS = (60, 40)  # one line of 100 (50.00 net, 56.50 with VAT: within the store's own limit)
ORDERED = sum(LOTS)
BATCHES = ("BX-0601", "BX-0602")
UNIT_PRICE = Decimal("0.5000")
TAX_RATE = Decimal("0.13")
GOOD_IN_SORTING = 30  # of the rejected tranche of 40: 10 go back


# --- reading back what happened to each lot ----------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """A stock ledger entry of the SKU, with the lot it is traced to."""

    movement: MovementType
    lot_no: int
    batch_no: str
    on_hand: int
    quarantine: int


def movements_by_lot(db: Engine, world: World, sku_id: int, po: str, shipment: str) -> list[Movement]:
    """Every movement of the SKU's lots at the warehouse after the opening stock, oldest first, each traced to
    its lot: a receipt entry by its key (`...:receipt:<shipment>:<line>:lot:<n>`) and note, a release
    by the inspection it names, a return by its RTV's inspection; the key of the last two is the
    inspection workflow's own."""
    with Session(db) as session:
        rows = session.execute(
            select(StockLedgerEntry)
            .where(
                col(StockLedgerEntry.location_id) == world.warehouse.id,
                col(StockLedgerEntry.sku_id) == sku_id,
                # Not the opening stock (nor its hold), nor the transfer taking the accepted units on
                # to the store that asked: neither is a lot's.
                col(StockLedgerEntry.source_document_type).not_in(("opening", "transfer")),
            )
            .order_by(col(StockLedgerEntry.id))
        ).scalars()
        inspections = {row.id: row for row in session.execute(select(Inspection)).scalars()}
        by_number = {row.number: row for row in inspections.values()}
        returns = {row.number: row for row in session.execute(select(ReturnToVendor)).scalars()}
        received = {lot.lot_no: lot for lot in session.execute(select(ReceiptLot)).scalars()}
        traced = []
        for row in rows:
            if row.source_document_type == "purchase_order":
                assert row.source_document_id == po
                key = re.fullmatch(rf".*:receipt:{shipment}:1:lot:(\d+)", row.idempotency_key)
                assert key, f"receipt entry {row.idempotency_key} names no lot"
                lot = received[int(key.group(1))]
                assert row.note == " ".join(p for p in (shipment, f"lot {lot.lot_no}", lot.batch_no) if p)
                lot_no, batch_no = lot.lot_no, lot.batch_no
            else:
                if row.source_document_type == "inspection":
                    inspection = by_number[row.source_document_id]
                else:
                    assert row.source_document_type == "return_to_vendor", row.source_document_type
                    inspection = inspections[returns[row.source_document_id].inspection_id]
                assert row.idempotency_key.startswith(f"{inspection.workflow_id}:"), row.idempotency_key
                lot_no, batch_no = inspection.lot_no, inspection.batch_no
            traced.append(
                Movement(row.movement_type, lot_no, batch_no, row.delta_on_hand, row.delta_quarantine)
            )
        return traced


def returns_and_debit_notes(db: Engine, po: str) -> list[tuple[int, str, int, int, int]]:
    """Per return to vendor of the PO: (lot no, batch no, quantity, its debit notes, their units),
    the lot read through the return's inspection, each debit note's through its own."""
    with Session(db) as session:
        rtvs = session.execute(select(ReturnToVendor).where(col(ReturnToVendor.po_number) == po)).scalars()
        notes = list(session.execute(select(DebitNote).where(col(DebitNote.po_number) == po)).scalars())
        result = []
        for rtv in rtvs:
            inspection = session.get(Inspection, rtv.inspection_id)
            assert inspection is not None
            own = [n for n in notes if n.return_id == rtv.id]
            assert all(n.inspection_id == rtv.inspection_id for n in own)
            result.append(
                (inspection.lot_no, inspection.batch_no, rtv.quantity, len(own), sum(n.quantity for n in own))
            )
        assert len(notes) == sum(r[3] for r in result), "a debit note of the PO belongs to no return"
        return result


def by_lot(found: list[TimelineEntry]) -> dict[str, list[str]]:
    """Timeline entries by the lot they name ("Lot: 2"), each one's changes as the page writes them."""
    result = {}
    for entry in found:
        [lot] = [change for change in entry.changes if change.startswith("Lot: ")]
        result[lot] = entry.changes
    assert len(result) == len(found), "two entries name the same lot"
    return result


def in_chinese(client: TestClient, page: str) -> str:
    """`page` after the person switches the portal to Chinese with the header's language switch."""
    response = submit(client, page, "/locale", {"locale": "zh_CN"}, also=frozenset({"locale"}))
    assert response.status_code == 303, response.text
    text: str = client.get(page).text
    assert '<html lang="zh-CN">' in text
    return text


# --- the way to two lots in quarantine ----------------------------------------------------------------


@dataclass
class TwoLots:
    po: str
    shipment: str
    lots: tuple[str, str]  # the INS numbers of lot 1 and lot 2
    store: TestClient
    supplier: TestClient
    warehouse: TestClient
    inspector: TestClient


def _lots_in_quarantine(
    factory: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    sku: Sku,
    db: Engine,
    *,
    asn: dict[str, str],
    offered: dict[str, str | None],  # None: no such field
    receipt: dict[str, str],
) -> TwoLots:
    """The store orders 100, the supplier ships it (`asn`), the warehouse finds the receipt form with
    the lot rows `offered` and receives it as two lots (`receipt`, typed over the form); both lots
    wait in quarantine, each with its own inspection."""
    worker = workers.start()
    worker.wait_ready()
    store = as_user(factory, world.store_user)
    supplier = as_user(factory, world.supplier)
    warehouse = as_user(factory, world.warehouse_clerk)
    inspector = as_user(factory, quality.inspector)
    po = place_order(store, sku, ORDERED)
    shipment = confirm_and_ship(supplier, po, asn)
    form = receipt_form(warehouse, shipment)
    assert {name: form.get(name) for name in offered} == offered
    record_receipt(warehouse, shipment, receipt)
    with Session(db) as session:
        lots = session.execute(select(ReceiptLot).order_by(col(ReceiptLot.lot_no))).scalars().all()
        assert [(lot.lot_no, lot.quantity) for lot in lots] == [(1, LOTS[0]), (2, LOTS[1])]

    # All 100 on hand, none of it available until its lot is inspected.
    eventually(
        lambda: stock_on_page(warehouse, world, sku) == stock(OPENING + ORDERED, ORDERED, OPENING),
        "both lots in quarantine on /stock",
    )
    # One inspection per lot, each planned for its own lot size.
    numbers = queued_inspections(inspector, po, 2)
    sizes = {n: int(by_testid(inspector.get(f"/inspections/{n}").text, "lot-size")) for n in numbers}
    first, second = sorted(numbers, key=lambda n: sizes[n], reverse=True)
    assert (sizes[first], sizes[second]) == LOTS
    assert by_testid(inspector.get(f"/inspections/{second}").text, "lot-no") == "Lot 2"
    assert "Lot 2" in queue_row(inspector, second) and "Lot 2" not in queue_row(inspector, first)
    return TwoLots(po, shipment, (first, second), store, supplier, warehouse, inspector)


def _accept(lots: TwoLots, number: str) -> None:
    response = record_defects(lots.inspector, number, (0, 0, 0))
    assert response.status_code == 303, response.text
    assert flash_messages(lots.inspector.get(f"/inspections/{number}").text) == [
        f"Inspection {number} recorded: the lot is accepted."
    ]


def _reject(lots: TwoLots, number: str, notes: str) -> None:
    """One critical defect: critical AQL 0 rejects a lot of any size."""
    response = record_defects(lots.inspector, number, (1, 0, 0), notes)
    assert response.status_code == 303, response.text
    assert flash_messages(lots.inspector.get(f"/inspections/{number}").text) == [
        f"Inspection {number} recorded: the lot is rejected."
    ]


# --- the tests ---------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_two_batches_of_one_line_one_accepted_into_stock_the_other_returned_with_its_debit_note(
    e2e_client: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    session: Session,
    db: Engine,
    fresh_numbers: None,
    short_inspection_tail: None,
) -> None:
    sku = inspected_sku(
        session, world, unit_price=UNIT_PRICE, tax_rate=TAX_RATE, opening=OPENING, batch_tracked=True
    )
    assert sku.id and world.warehouse.id
    expiry = in_a_year()
    asn: dict[str, str] = {}
    for index, (batch, quantity) in enumerate(zip(BATCHES, LOTS, strict=True), start=1):
        asn |= {
            f"batch_no-1-{index}": batch,
            f"batch_expiry-1-{index}": expiry,
            f"batch_qty-1-{index}": str(quantity),
        }
    # The receipt form offers the ASN's batches as the lots; they are received as offered.
    offered: dict[str, str | None] = {}
    for index, (batch, quantity) in enumerate(zip(BATCHES, LOTS, strict=True), start=1):
        offered |= {f"lot_batch-1-{index}": batch, f"lot_qty-1-{index}": str(quantity)}
    lots = _lots_in_quarantine(
        e2e_client, workers, world, quality, sku, db, asn=asn, offered=offered, receipt={}
    )
    first, second = lots.lots
    for number, batch in zip(lots.lots, BATCHES, strict=True):
        assert by_testid(lots.inspector.get(f"/inspections/{number}").text, "batch-no") == batch
        assert f"Batch {batch}" in queue_row(lots.inspector, number)

    # Lot 1 (BX-0601) is accepted: its 60 leave quarantine and are reserved for the transfer on to
    # the store that asked; lot 2's 40 stay in quarantine.
    _accept(lots, first)
    eventually(
        lambda: (
            stock_on_page(lots.warehouse, world, sku) == stock(OPENING + ORDERED, LOTS[1], OPENING + LOTS[0])
        ),
        "lot 1 available, lot 2 still in quarantine",
    )

    # Lot 2 (BX-0602) is rejected; HQ returns it; the supplier finds the return of that batch only.
    _reject(lots, second, "Cracked seals.")
    assert stock_on_page(lots.warehouse, world, sku) == stock(OPENING + ORDERED, LOTS[1], OPENING + LOTS[0])
    approver = as_user(e2e_client, quality.approver)
    decide(approver, second, "return_to_vendor")
    rtv = return_of(lots.supplier, lots.po)
    text = lots.supplier.get(f"/returns/{rtv}").text
    assert by_testid(text, "quantity") == str(LOTS[1])
    assert by_testid(text, "net-value") == money(Decimal("20.00"))
    assert by_testid(text, "batch-no") == BATCHES[1]
    assert by_testid(text, "lot") == f"{lots.shipment} · Line 1 · Lot 2 · Batch {BATCHES[1]}"
    returns_row = re.search(
        rf'<tr id="rtv-\d+"(?:(?!</tr>).)*?{rtv}.*?</tr>', lots.supplier.get("/returns").text, re.S
    )
    assert returns_row and by_testid(returns_row.group(0), "lot").endswith(f"Lot 2 · Batch {BATCHES[1]}")
    assert BATCHES[0] not in lots.supplier.get("/returns").text
    debit_note = acknowledge_return(lots.supplier, rtv, "Batch BX-0602 collected.")

    # The debit note is for lot 2's 40 units, and says which batch; lot 1 has none.
    for client in (lots.supplier, approver):
        page = client.get("/debit-notes").text
        row = debit_note_row(page, debit_note)
        assert debit_note_amounts(row) == [
            "40",
            money(Decimal("20.00")),
            money(Decimal("2.60")),
            money(Decimal("22.60")),
        ]
        assert by_testid(row, "lot").endswith(f"Lot 2 · Batch {BATCHES[1]}")
        assert BATCHES[0] not in page

    # Stock: on hand and available up by lot 1's 60 only; nothing left in quarantine.
    eventually(
        lambda: stock_on_page(lots.warehouse, world, sku) == stock(OPENING + LOTS[0], 0, OPENING + LOTS[0]),
        "lot 2 gone from /stock",
    )
    assert on_hand(db, world.warehouse.id, sku.id) == OPENING + LOTS[0]
    closed(lots.store, lots.po)

    # Every stock movement traces to its lot and batch; the return and its debit note to lot 2 only.
    assert movements_by_lot(db, world, sku.id, lots.po, lots.shipment) == [
        Movement(MovementType.QUARANTINE_RECEIPT, 1, BATCHES[0], 60, 60),
        Movement(MovementType.QUARANTINE_RECEIPT, 2, BATCHES[1], 40, 40),
        Movement(MovementType.QUARANTINE_RELEASE, 1, BATCHES[0], 0, -60),
        Movement(MovementType.RETURN_TO_VENDOR, 2, BATCHES[1], -40, -40),
    ]
    assert returns_and_debit_notes(db, lots.po) == [(2, BATCHES[1], 40, 1, 40)]

    # The PO's timeline says which lot and batch each step was about.
    po_page = lots.store.get(f"/purchase-orders/{lots.po}").text
    [received] = entries(po_page, "Shipment received")
    for lot_no, (batch, quantity) in enumerate(zip(BATCHES, LOTS, strict=True), start=1):
        assert f"Line 1 · Lot {lot_no} · Batch number: {batch}" in received.changes
        assert f"Line 1 · Lot {lot_no} · Quantity: {quantity}" in received.changes
    finished = by_lot(entries(po_page, "Inspection finished"))
    assert set(finished) == {"Lot: 1", "Lot: 2"}
    for expected in (f"Batch number: {BATCHES[0]}", "Verdict: Accepted", "Accepted quantity: 60"):
        assert expected in finished["Lot: 1"], (expected, finished["Lot: 1"])
    for expected in (
        f"Batch number: {BATCHES[1]}",
        "Verdict: Rejected",
        "Rejected quantity: 40",
        "Decision: Return to vendor",
    ):
        assert expected in finished["Lot: 2"], (expected, finished["Lot: 2"])
    # ... and in Chinese.
    po_page = in_chinese(lots.store, f"/purchase-orders/{lots.po}")
    [received] = entries(po_page, "已收货")
    assert f"第 1 行 · 第 2 批 · 批次号: {BATCHES[1]}" in received.changes
    rejected = [e.changes for e in entries(po_page, "检验完成") if "检验批: 2" in e.changes]
    assert len(rejected) == 1 and f"批次号: {BATCHES[1]}" in rejected[0] and "审批结果: 退货" in rejected[0]

    # Each inspection's timeline names its lot and batch; lot 2's return names the batch going back.
    for lot_no, number, batch in ((1, first, BATCHES[0]), (2, second, BATCHES[1])):
        [created] = entries(lots.inspector.get(f"/inspections/{number}").text, "Record created")
        assert f"Lot: {lot_no}" in created.changes and f"Batch number: {batch}" in created.changes
    [opened] = entries(lots.inspector.get(f"/inspections/{second}").text, "Return to vendor opened")
    for expected in (f"Return to vendor: {rtv}", "Quantity: 40", "Lot: 2", f"Batch number: {BATCHES[1]}"):
        assert expected in opened.changes, (expected, opened.changes)
    assert not entries(lots.inspector.get(f"/inspections/{first}").text, "Return to vendor opened")


@pytest.mark.e2e
def test_two_tranches_of_one_line_one_accepted_the_other_sorted_and_its_bad_units_returned(
    e2e_client: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    quality: Quality,
    session: Session,
    db: Engine,
    fresh_numbers: None,
    short_inspection_tail: None,
) -> None:
    sku = inspected_sku(session, world, unit_price=UNIT_PRICE, tax_rate=TAX_RATE, opening=OPENING)
    assert sku.id and world.warehouse.id
    # The receipt form offers empty tranche rows (a quantity, no batch) for a SKU without batches;
    # the warehouse splits the counted 100 into 60 and 40.
    offered = {"received-1": str(ORDERED), "lot_qty-1-1": "", "lot_qty-1-2": "", "lot_batch-1-1": None}
    receipt = {f"lot_qty-1-{index}": str(quantity) for index, quantity in enumerate(LOTS, start=1)}
    lots = _lots_in_quarantine(
        e2e_client, workers, world, quality, sku, db, asn={}, offered=offered, receipt=receipt
    )
    first, second = lots.lots
    assert 'data-testid="batch-no"' not in lots.inspector.get(f"/inspections/{second}").text

    # Tranche 1 accepted; tranche 2 rejected, HQ decides sorting.
    _accept(lots, first)
    _reject(lots, second, "Loose caps.")
    approver = as_user(e2e_client, quality.approver)
    decide(approver, second, "sorting")
    page = f"/inspections/{second}"
    eventually(
        lambda: 'data-testid="sorting-form"' in lots.inspector.get(page).text, f"{second} to be sorted"
    )
    response = submit(
        lots.inspector,
        page,
        f"{page}/sorting",
        {"good_quantity": str(GOOD_IN_SORTING), "notes": "Ten caps loose."},
        also=frozenset({"notes"}),
    )
    assert response.status_code == 303, response.text

    # Tranche 1's 60 reserved for the transfer on to the store, the 30 good units of tranche 2
    # available (they go on once the inspection ends with the return); the 10 bad ones held.
    returned = LOTS[1] - GOOD_IN_SORTING
    eventually(
        lambda: (
            stock_on_page(lots.warehouse, world, sku) == stock(OPENING + ORDERED, returned, OPENING + LOTS[0])
        ),
        "the good units of both tranches available",
    )
    rtv = return_of(lots.supplier, lots.po)
    text = lots.supplier.get(f"/returns/{rtv}").text
    assert by_testid(text, "quantity") == str(returned)
    assert by_testid(text, "lot") == f"{lots.shipment} · Line 1 · Lot 2"
    assert 'data-testid="batch-no"' not in text
    debit_note = acknowledge_return(lots.supplier, rtv, "")
    row = debit_note_row(approver.get("/debit-notes").text, debit_note)
    assert debit_note_amounts(row) == [
        "10",
        money(Decimal("5.00")),
        money(Decimal("0.65")),
        money(Decimal("5.65")),
    ]
    assert by_testid(row, "lot") == f"{lots.shipment} · Line 1 · Lot 2"

    eventually(
        lambda: (
            stock_on_page(lots.warehouse, world, sku)
            == stock(OPENING + ORDERED - returned, 0, OPENING + ORDERED - returned)
        ),
        "the bad units gone from /stock",
    )
    assert on_hand(db, world.warehouse.id, sku.id) == OPENING + ORDERED - returned
    closed(lots.store, lots.po)

    # Every movement traces to its tranche: tranche 2 in 40, 30 released, 10 returned.
    assert movements_by_lot(db, world, sku.id, lots.po, lots.shipment) == [
        Movement(MovementType.QUARANTINE_RECEIPT, 1, "", 60, 60),
        Movement(MovementType.QUARANTINE_RECEIPT, 2, "", 40, 40),
        Movement(MovementType.QUARANTINE_RELEASE, 1, "", 0, -60),
        Movement(MovementType.QUARANTINE_RELEASE, 2, "", 0, -GOOD_IN_SORTING),
        Movement(MovementType.RETURN_TO_VENDOR, 2, "", -returned, -returned),
    ]
    assert returns_and_debit_notes(db, lots.po) == [(2, "", returned, 1, returned)]

    # The PO's timeline: the tranches as received, and which one each inspection result was about.
    po_page = lots.store.get(f"/purchase-orders/{lots.po}").text
    [received] = entries(po_page, "Shipment received")
    assert "Line 1 · Lot 1 · Quantity: 60" in received.changes
    assert "Line 1 · Lot 2 · Quantity: 40" in received.changes
    finished = by_lot(entries(po_page, "Inspection finished"))
    assert set(finished) == {"Lot: 1", "Lot: 2"}
    assert "Accepted quantity: 60" in finished["Lot: 1"] and "Rejected quantity: 0" in finished["Lot: 1"]
    for expected in (
        "Verdict: Rejected",
        "Accepted quantity: 30",
        "Rejected quantity: 10",
        "Decision: Sorting (every unit inspected)",
    ):
        assert expected in finished["Lot: 2"], (expected, finished["Lot: 2"])

    # Tranche 2's own timeline, in English and in Chinese: its lot, the sorting and the return.
    timeline = lots.inspector.get(page).text
    [created] = entries(timeline, "Record created")
    assert "Lot: 2" in created.changes and "Lot size: 40" in created.changes
    [opened] = entries(timeline, "Return to vendor opened")
    assert f"Return to vendor: {rtv}" in opened.changes and "Lot: 2" in opened.changes
    timeline = in_chinese(lots.inspector, page)
    [created] = entries(timeline, "已创建")
    assert "检验批: 2" in created.changes
    [opened] = entries(timeline, "已创建退货单")
    assert "检验批: 2" in opened.changes and "数量: 10" in opened.changes
