"""The replenishment activities called directly, twice, as a retry after a crash would call them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from activities.replenishment import (
    CountedLine,
    PostReceiptInput,
    RecordPOInput,
    RecordShipmentInput,
    RecordShipmentReceiptInput,
    ShippedLine,
    post_receipt_to_stock,
    record_purchase_order,
    record_shipment,
    record_shipment_receipt,
)
from supplychain.models import (
    DocumentEvent,
    LocationKind,
    OrgKind,
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLot,
    Role,
    Shipment,
    ShipmentLineBatch,
    StockLedgerEntry,
)
from supplychain.purchasing import Batch, LineSnapshot, NewLine
from supplychain.stock import get_balance
from tests.factories import make_location, make_organisation, make_sku, make_user


def _count(db: Engine, model: type, *where: object) -> int:
    with Session(db) as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _record_po_input(session: Session) -> RecordPOInput:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    requester = make_user(session, organisation=hq, roles=[Role.STORE], location=store)
    sku = make_sku(session)
    number = f"PO-A-{uuid.uuid4().hex[:8].upper()}"
    return RecordPOInput(
        number=number,
        workflow_id=number.lower(),
        supplier_id=supplier.id,
        requester_user_id=requester.id,
        requester_org_id=hq.id,
        requested_for_location_id=store.id,
        ship_to_location_id=warehouse.id,
        status=POStatus.SENT,
        needs_approval=False,
        lines=[NewLine(1, sku.id, 7, 12, Decimal("3.3350"), Decimal("0.13"))],
        idempotency_key=f"{number.lower()}:created:1",
    )


def test_recording_the_po_twice_writes_one_po_one_line_and_one_event(session: Session, db: Engine) -> None:
    input = _record_po_input(session)

    first = record_purchase_order(input)
    second = record_purchase_order(input)

    assert (first.created, second.created) == (True, False)
    assert first.purchase_order_id == second.purchase_order_id
    assert first.total_amount == Decimal("45.22")  # 12 x 3.335 = 40.02 net (half-up), + 5.20 VAT
    assert _count(db, PurchaseOrder, col(PurchaseOrder.number) == input.number) == 1
    assert (
        _count(db, PurchaseOrderLine, col(PurchaseOrderLine.purchase_order_id) == first.purchase_order_id)
        == 1
    )
    assert _count(db, DocumentEvent, col(DocumentEvent.document_id) == input.number) == 1


def test_recording_a_shipment_twice_writes_one_shipment(session: Session, db: Engine) -> None:
    po_input = _record_po_input(session)
    record_purchase_order(po_input)
    line = LineSnapshot(1, POLineStatus.OPEN, 12, None, 5, 0)
    input = RecordShipmentInput(
        number=po_input.number,
        shipment_number=f"SHP-A-{uuid.uuid4().hex[:8].upper()}",
        carrier="SF",
        tracking_number="SF1",
        eta=date(2030, 1, 1),
        actor_user_id=po_input.requester_user_id,
        lines=[ShippedLine(1, 5)],
        status=POStatus.IN_DELIVERY,
        line_snapshots=[line],
        idempotency_key=f"{po_input.workflow_id}:shipment:2",
    )

    record_shipment(input)
    record_shipment(input)

    assert _count(db, Shipment, col(Shipment.number) == input.shipment_number) == 1
    with Session(db) as session:
        row = session.execute(
            select(PurchaseOrderLine).where(col(PurchaseOrderLine.line_no) == 1)
        ).scalar_one()
        assert row.quantity_shipped == 5  # written as the workflow's absolute value, never added twice
    assert _count(db, DocumentEvent, col(DocumentEvent.action) == "shipment_created") == 1


def test_posting_a_receipt_twice_with_the_same_key_writes_one_ledger_row(
    session: Session, db: Engine
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    sku = make_sku(session)
    input = PostReceiptInput(
        idempotency_key="po-2026-000001:receipt:SHP-2026-000001:1",
        location_id=warehouse.id,
        sku_id=sku.id,
        quantity=42,
        po_number="PO-2026-000001",
        shipment_number="SHP-2026-000001",
    )

    first = post_receipt_to_stock(input)
    second = post_receipt_to_stock(input)

    assert (first.created, second.created) == (True, False)
    assert first.entry_id == second.entry_id
    assert _count(db, StockLedgerEntry, col(StockLedgerEntry.idempotency_key) == input.idempotency_key) == 1
    with Session(db) as check:
        balance = get_balance(check, warehouse.id, sku.id)
        assert balance is not None and balance.on_hand == 42


def test_a_receipt_in_two_lots_goes_into_quarantine_as_one_entry_per_lot_each_naming_its_lot(
    session: Session, db: Engine
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    sku = make_sku(session)
    input = PostReceiptInput(
        idempotency_key="po-2026-000001:receipt:SHP-2026-000001:1",
        location_id=warehouse.id,
        sku_id=sku.id,
        quantity=12,
        po_number="PO-2026-000001",
        shipment_number="SHP-2026-000001",
        quarantine=True,
        lots=[Batch("B-1", date(2031, 1, 31), 7), Batch("B-2", date(2031, 6, 30), 5)],
    )

    post_receipt_to_stock(input)
    post_receipt_to_stock(input)  # a retry posts nothing more

    with Session(db) as check:
        rows = check.execute(select(StockLedgerEntry).order_by(col(StockLedgerEntry.id))).scalars().all()
        assert [(r.idempotency_key, r.note, r.delta_on_hand, r.delta_quarantine) for r in rows] == [
            ("po-2026-000001:receipt:SHP-2026-000001:1:lot:1", "SHP-2026-000001 lot 1 B-1", 7, 7),
            ("po-2026-000001:receipt:SHP-2026-000001:1:lot:2", "SHP-2026-000001 lot 2 B-2", 5, 5),
        ]
        assert {r.source_document_id for r in rows} == {"PO-2026-000001"}
        balance = get_balance(check, warehouse.id, sku.id)
        assert balance is not None and (balance.on_hand, balance.quarantine) == (12, 12)


def test_a_receipt_of_one_lot_is_one_entry_under_the_lines_key(session: Session, db: Engine) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    sku = make_sku(session)
    key = "po-2026-000002:receipt:SHP-2026-000002:1"
    post_receipt_to_stock(
        PostReceiptInput(
            idempotency_key=key,
            location_id=warehouse.id,
            sku_id=sku.id,
            quantity=9,
            po_number="PO-2026-000002",
            shipment_number="SHP-2026-000002",
            quarantine=True,
            lots=[Batch("B-9", None, 9)],
        )
    )

    with Session(db) as check:
        [row] = check.execute(select(StockLedgerEntry)).scalars().all()
        assert (row.idempotency_key, row.note, row.delta_quarantine) == (key, "SHP-2026-000002", 9)


def _shipment_input(po_input: RecordPOInput, *lines: ShippedLine) -> RecordShipmentInput:
    shipped = sum(line.quantity for line in lines)
    return RecordShipmentInput(
        number=po_input.number,
        shipment_number=f"SHP-A-{uuid.uuid4().hex[:8].upper()}",
        carrier="SF",
        tracking_number="SF1",
        eta=date(2030, 1, 1),
        actor_user_id=po_input.requester_user_id,
        lines=list(lines),
        status=POStatus.IN_DELIVERY,
        line_snapshots=[LineSnapshot(1, POLineStatus.OPEN, 12, None, shipped, 0)],
        idempotency_key=f"{po_input.workflow_id}:shipment:{uuid.uuid4().hex[:6]}",
    )


def _receipt_input(shipment: RecordShipmentInput, *lines: CountedLine) -> RecordShipmentReceiptInput:
    return RecordShipmentReceiptInput(
        number=shipment.number,
        shipment_number=shipment.shipment_number,
        actor_user_id=shipment.actor_user_id,
        lines=list(lines),
        status=POStatus.IN_DELIVERY,
        line_snapshots=[],
        idempotency_key=f"{shipment.number.lower()}:receipt:{shipment.shipment_number}",
    )


def _lots(db: Engine) -> list[tuple[int, str, date | None, int]]:
    with Session(db) as session:
        rows = session.execute(select(ReceiptLot).order_by(col(ReceiptLot.lot_no))).scalars()
        return [(r.lot_no, r.batch_no, r.expiry_date, r.quantity) for r in rows]


def test_recording_a_shipment_with_two_batches_twice_writes_two_batch_rows(
    session: Session, db: Engine
) -> None:
    po_input = _record_po_input(session)
    record_purchase_order(po_input)
    batches = [Batch("B-1", date(2031, 1, 31), 7), Batch("B-2", date(2031, 6, 30), 5)]
    input = _shipment_input(po_input, ShippedLine(1, 12, batches=batches))

    record_shipment(input)
    record_shipment(input)

    with Session(db) as check:
        rows = check.execute(select(ShipmentLineBatch).order_by(col(ShipmentLineBatch.id))).scalars().all()
        assert [(r.batch_no, r.expiry_date, r.quantity) for r in rows] == [
            ("B-1", date(2031, 1, 31), 7),
            ("B-2", date(2031, 6, 30), 5),
        ]


def test_recording_a_receipt_with_two_lots_twice_writes_two_lot_rows(session: Session, db: Engine) -> None:
    po_input = _record_po_input(session)
    record_purchase_order(po_input)
    shipment = _shipment_input(po_input, ShippedLine(1, 12))
    record_shipment(shipment)
    lots = [Batch("", None, 8), Batch("", None, 4)]  # two tranches of a SKU that is not batch-tracked
    input = _receipt_input(shipment, CountedLine(1, 12, lots=lots))

    record_shipment_receipt(input)
    record_shipment_receipt(input)

    assert _lots(db) == [(1, "", None, 8), (2, "", None, 4)]
    assert _count(db, DocumentEvent, col(DocumentEvent.action) == "shipment_received") == 1
    with Session(db) as check:  # the timeline tells the tranches apart by their quantities
        event = check.execute(
            select(DocumentEvent).where(col(DocumentEvent.action) == "shipment_received")
        ).scalar_one()
        assert event.after is not None
        lots_told = {k: v for k, v in event.after.items() if ".lot_" in k}
        assert lots_told == {"line_1.lot_1.quantity": 8, "line_1.lot_2.quantity": 4}


def test_a_receipt_without_a_split_is_one_lot_carrying_the_asns_only_batch(
    session: Session, db: Engine
) -> None:
    po_input = _record_po_input(session)
    record_purchase_order(po_input)
    shipment = _shipment_input(po_input, ShippedLine(1, 12, batches=[Batch("B-9", date(2031, 3, 1), 12)]))
    record_shipment(shipment)

    record_shipment_receipt(_receipt_input(shipment, CountedLine(1, 11)))

    assert _lots(db) == [(1, "B-9", date(2031, 3, 1), 11)]
    with Session(db) as check:  # one lot: its batch on the timeline, its quantity is the line's
        event = check.execute(
            select(DocumentEvent).where(col(DocumentEvent.action) == "shipment_received")
        ).scalar_one()
        assert event.after is not None
        assert {k: v for k, v in event.after.items() if ".lot_" in k} == {"line_1.lot_1.batch_no": "B-9"}


def test_a_line_counted_zero_has_no_lot(session: Session, db: Engine) -> None:
    po_input = _record_po_input(session)
    record_purchase_order(po_input)
    shipment = _shipment_input(po_input, ShippedLine(1, 12))
    record_shipment(shipment)

    record_shipment_receipt(_receipt_input(shipment, CountedLine(1, 0)))

    assert _lots(db) == []
