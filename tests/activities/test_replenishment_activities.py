"""The replenishment activities called directly, twice, as a retry after a crash would call them.

The named steps (`record_po_sent`, `record_lines_confirmed`, `record_shipment_created`,
`record_shipment_received`, ...) write the PO change, its timeline event, its notifications and the
PO's end in one transaction: called twice they write each once, and a failure anywhere in the step
writes none of it.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from activities.replenishment import (
    CountedLine,
    PostReceiptInput,
    RecordPOInput,
    RecordShipmentInput,
    RecordShipmentReceiptInput,
    ShipmentCreatedInput,
    ShipmentReceivedInput,
    ShippedLine,
    post_receipt_to_stock,
    record_confirmation_reminder,
    record_lines_confirmed,
    record_purchase_order,
    record_shipment,
    record_shipment_created,
    record_shipment_receipt,
    record_shipment_received,
)
from supplychain.models import (
    DocumentEvent,
    Location,
    LocationKind,
    Notification,
    Organisation,
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
from supplychain.models.catalog import InspectionMode, Sku
from supplychain.purchasing import Audience, Batch, LineSnapshot, NewLine, Notice, POStep, get_po, po_lines
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


# --- the named steps ------------------------------------------------------------------------------


def _recorded_po_with_people(session: Session) -> RecordPOInput:
    """The recorded PO of `_record_po_input`, with a supplier user and a warehouse clerk to tell."""
    input = _record_po_input(session)
    record_purchase_order(input)
    make_user(session, organisation=session.get(Organisation, input.supplier_id), roles=[Role.SUPPLIER])
    location = session.get(Location, input.ship_to_location_id)
    make_user(
        session,
        organisation=session.get(Organisation, location.organisation_id),
        roles=[Role.WAREHOUSE],
        location=location,
    )
    return input


def _actions(db: Engine, number: str) -> list[str]:
    with Session(db) as session:
        statement = (
            select(col(DocumentEvent.action))
            .where(col(DocumentEvent.document_id) == number)
            .order_by(col(DocumentEvent.id))
        )
        return list(session.execute(statement).scalars())


def _messages(db: Engine, number: str) -> list[str]:
    with Session(db) as session:
        statement = (
            select(col(Notification.message))
            .where(col(Notification.document_id) == number)
            .order_by(col(Notification.id))
        )
        return list(session.execute(statement).scalars())


def _po_row(db: Engine, number: str) -> PurchaseOrder:
    with Session(db) as session:
        po = get_po(session, number)
        assert po is not None
        return po


CONFIRMED = "The supplier confirmed purchase order %(number)s."
NOTHING_SUPPLIED = "Purchase order %(number)s was cancelled: no line can be supplied."


def _confirmed_zero(po_input: RecordPOInput) -> POStep:
    """The supplier confirms the only line 0: the PO ends (cancelled) in the same step."""
    key = f"{po_input.workflow_id}:confirmed:2"
    return POStep(
        number=po_input.number,
        action="confirmed",
        idempotency_key=key,
        status=POStatus.CONFIRMED,
        lines=[LineSnapshot(1, POLineStatus.CANCELLED, 0, None, 0, 0)],
        actor_user_id=po_input.requester_user_id,
        notices=[Notice(Audience.REQUESTER, CONFIRMED)],
        then=POStep(
            number=po_input.number,
            action="cancelled",
            idempotency_key=f"{po_input.workflow_id}:cancelled:3",
            status=POStatus.CANCELLED,
            status_reason="",
            notices=[Notice(Audience.REQUESTER, NOTHING_SUPPLIED)],
        ),
    )


def test_a_step_and_the_end_it_brings_are_recorded_once_however_often_the_activity_runs(
    session: Session, db: Engine
) -> None:
    po_input = _record_po_input(session)
    record_purchase_order(po_input)
    step = _confirmed_zero(po_input)

    first = record_lines_confirmed(step)
    second = record_lines_confirmed(step)

    assert first.user_ids == second.user_ids == [po_input.requester_user_id, po_input.requester_user_id]
    assert _actions(db, po_input.number) == ["created", "confirmed", "cancelled"]
    assert _messages(db, po_input.number) == [CONFIRMED, NOTHING_SUPPLIED]
    po = _po_row(db, po_input.number)
    assert (po.status, po.closed_at is not None) == (POStatus.CANCELLED, True)
    with Session(db) as check:
        line = po_lines(check, po)[1]
        assert (line.status, line.quantity_confirmed) == (POLineStatus.CANCELLED, 0)
        confirmed = check.execute(
            select(DocumentEvent).where(col(DocumentEvent.idempotency_key) == step.idempotency_key)
        ).scalar_one()
        assert confirmed.after == {
            "status": "confirmed",
            "line_1.status": "cancelled",
            "line_1.quantity_confirmed": 0,
        }
        keys = check.execute(select(col(Notification.idempotency_key))).scalars().all()
        assert sorted(keys) == sorted(
            [
                f"{step.idempotency_key}:requester:{po_input.requester_user_id}",
                f"{po_input.workflow_id}:cancelled:3:requester:{po_input.requester_user_id}",
            ]
        )


def test_a_step_that_fails_part_way_writes_none_of_it(session: Session, db: Engine) -> None:
    po_input = _record_po_input(session)
    record_purchase_order(po_input)
    step = _confirmed_zero(po_input)
    assert step.then is not None
    step.then.lines = [LineSnapshot(9, POLineStatus.CANCELLED, 0, None, 0, 0)]  # no line 9: fails last

    with pytest.raises(KeyError):
        record_lines_confirmed(step)

    assert _actions(db, po_input.number) == ["created"]
    assert _messages(db, po_input.number) == []
    assert _po_row(db, po_input.number).status is POStatus.SENT


def test_a_step_without_a_status_leaves_the_status_a_later_step_wrote(session: Session, db: Engine) -> None:
    """The reminder is decided before the supplier confirms and may commit after: it must not put
    the PO back to SENT."""
    po_input = _recorded_po_with_people(session)
    confirm = _confirmed_zero(po_input)
    confirm.then = None
    record_lines_confirmed(confirm)
    reminder = POStep(
        number=po_input.number,
        action="confirmation_reminder_sent",
        idempotency_key=f"{po_input.workflow_id}:confirmation_reminder_sent:3",
        notices=[Notice(Audience.SUPPLIER, "Reminder")],
    )

    told = record_confirmation_reminder(reminder)

    assert len(told.user_ids) == 1  # the supplier's user
    assert _po_row(db, po_input.number).status is POStatus.CONFIRMED
    with Session(db) as check:
        event = check.execute(
            select(DocumentEvent).where(col(DocumentEvent.action) == "confirmation_reminder_sent")
        ).scalar_one()
        assert (event.before, event.after) == (None, None)


def test_a_shipment_step_twice_writes_one_shipment_one_event_and_tells_the_warehouse_once(
    session: Session, db: Engine
) -> None:
    po_input = _recorded_po_with_people(session)
    shipment = _shipment_input(po_input, ShippedLine(1, 12))
    on_its_way = Notice(Audience.WAREHOUSE, "On its way", {"shipment": shipment.shipment_number})

    first = record_shipment_created(ShipmentCreatedInput(shipment, notices=[on_its_way]))
    second = record_shipment_created(ShipmentCreatedInput(shipment, notices=[on_its_way]))

    assert len(first.user_ids) == 1 and first.user_ids == second.user_ids
    assert _count(db, Shipment, col(Shipment.number) == shipment.shipment_number) == 1
    assert _actions(db, po_input.number) == ["created", "shipment_created"]
    assert _messages(db, po_input.number) == ["On its way"]
    assert _po_row(db, po_input.number).status is POStatus.IN_DELIVERY


def _closing(po_input: RecordPOInput) -> POStep:
    return POStep(
        number=po_input.number,
        action="closed",
        idempotency_key=f"{po_input.workflow_id}:closed:9",
        status=POStatus.CLOSED,
        notices=[Notice(Audience.REQUESTER, "Complete")],
    )


def test_a_receipt_step_twice_posts_each_line_once_and_ends_the_po_once(session: Session, db: Engine) -> None:
    po_input = _recorded_po_with_people(session)
    shipment = _shipment_input(po_input, ShippedLine(1, 12))
    record_shipment_created(ShipmentCreatedInput(shipment))
    receipt = _receipt_input(shipment, CountedLine(1, 12))
    receipt.line_snapshots = [LineSnapshot(1, POLineStatus.RECEIVED, 12, None, 12, 12)]
    stock_key = f"{po_input.workflow_id}:receipt:{shipment.shipment_number}"
    input = ShipmentReceivedInput(receipt, stock_key, then=_closing(po_input))

    first = record_shipment_received(input)
    second = record_shipment_received(input)

    assert first == second and first.finished and not first.inspections[0].inspect
    with Session(db) as check:
        rows = check.execute(select(StockLedgerEntry)).scalars().all()
        assert [(r.idempotency_key, r.delta_on_hand, r.delta_quarantine) for r in rows] == [
            (f"{stock_key}:1", 12, 0)
        ]
    assert _actions(db, po_input.number) == ["created", "shipment_created", "shipment_received", "closed"]
    assert _messages(db, po_input.number) == ["Complete"]
    po = _po_row(db, po_input.number)
    assert (po.status, po.closed_at is not None) == (POStatus.CLOSED, True)


def test_a_receipt_of_a_line_to_inspect_goes_into_quarantine_in_its_lots_and_does_not_end_the_po(
    session: Session, db: Engine
) -> None:
    po_input = _recorded_po_with_people(session)
    sku = session.get(Sku, po_input.lines[0].sku_id)
    sku.inspection_mode = InspectionMode.ALWAYS
    session.add(sku)
    session.commit()
    shipment = _shipment_input(po_input, ShippedLine(1, 12))
    record_shipment_created(ShipmentCreatedInput(shipment))
    lots = [Batch("", None, 8), Batch("", None, 4)]
    receipt = _receipt_input(shipment, CountedLine(1, 12, lots=lots))
    stock_key = f"{po_input.workflow_id}:receipt:{shipment.shipment_number}"

    result = record_shipment_received(ShipmentReceivedInput(receipt, stock_key, then=_closing(po_input)))

    assert not result.finished and [i.inspect for i in result.inspections] == [True]
    with Session(db) as check:
        rows = check.execute(select(StockLedgerEntry).order_by(col(StockLedgerEntry.id))).scalars().all()
        assert [(r.idempotency_key, r.delta_on_hand, r.delta_quarantine) for r in rows] == [
            (f"{stock_key}:1:lot:1", 8, 8),
            (f"{stock_key}:1:lot:2", 4, 4),
        ]
    assert _actions(db, po_input.number)[-1] == "shipment_received"
    assert _messages(db, po_input.number) == []
    assert _po_row(db, po_input.number).status is POStatus.IN_DELIVERY
