"""Rows a statement is collected from, written straight to the database: a supplier with users, HQ
buyers and approvers, a purchase order received in lots (some inspected), debit notes and price
adjustments. For the collection, workflow and page tests of supplier statements."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlmodel import Session

from supplychain.models import (
    DebitNote,
    DebitNoteKind,
    Inspection,
    InspectionStage,
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLot,
    Role,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    Sku,
    User,
)
from supplychain.models.inspection import InspectionSeverity, InspectionVerdict
from supplychain.models.settlement import PriceAdjustment
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.statements import STATEMENT_PREFIX
from tests.factories import make_location, make_organisation, make_sku, make_user, unique_code
from tests.fixtures.numbers import fresh_document_numbers

UNIT_PRICE = Decimal("10.0000")
TAX_RATE = Decimal("0.1300")


def china_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=BUSINESS_TIMEZONE).astimezone(UTC)


@dataclass
class StatementWorld:
    hq: Organisation
    supplier: Organisation
    other_supplier: Organisation
    supplier_user: User
    other_supplier_user: User
    buyer: User
    approver: User
    warehouse: Location
    sku: Sku
    requester: User
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def supplier_id(self) -> int:
        assert self.supplier.id is not None
        return self.supplier.id


# Statement workflow ids come from the supplier's id and the period, and Temporal keeps a closed
# workflow's id while every test wipes the database and its ids start again: each world's
# suppliers get ids of their own for the whole run (explicit, far above what the sequence hands out).
_supplier_ids = itertools.count(random.randrange(10**6, 10**9, 1000))


def _supplier(session: Session) -> Organisation:
    code = unique_code("SUPP")
    supplier = Organisation(id=next(_supplier_ids), code=code, name=f"supplier {code}", kind=OrgKind.SUPPLIER)
    session.add(supplier)
    session.commit()
    session.refresh(supplier)
    return supplier


# Likewise settlement workflow ids come from statement numbers, which start again with the database:
# each world numbers its statements from a block of its own.
def _fresh_statement_numbers(session: Session) -> None:
    next_year = datetime.now(BUSINESS_TIMEZONE).year + 1
    fresh_document_numbers(session, (STATEMENT_PREFIX,), years=(next_year,))


def build_world(session: Session) -> StatementWorld:
    _fresh_statement_numbers(session)
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = _supplier(session)
    other = _supplier(session)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    return StatementWorld(
        hq=hq,
        supplier=supplier,
        other_supplier=other,
        supplier_user=make_user(session, organisation=supplier, roles=[Role.SUPPLIER], locale="en"),
        other_supplier_user=make_user(session, organisation=other, roles=[Role.SUPPLIER], locale="en"),
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER], locale="en"),
        approver=make_user(
            session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal("100000"), locale="en"
        ),
        warehouse=warehouse,
        sku=make_sku(session),
        requester=make_user(session, organisation=hq, roles=[Role.BUYER], locale="en"),
    )


@dataclass
class Receipt:
    po: PurchaseOrder
    shipment: Shipment
    lots: list[ReceiptLot]


def receive(
    session: Session,
    world: StatementWorld,
    *,
    on: date,
    lots: list[int],
    supplier: Organisation | None = None,
    unit_price: Decimal = UNIT_PRICE,
    tax_rate: Decimal = TAX_RATE,
) -> Receipt:
    """A PO of one line, shipped and received on `on` (China date) in lots of the given quantities."""
    supplier = supplier or world.supplier
    number = unique_code("PO")
    quantity = sum(lots)
    at = china_noon(on)
    assert supplier.id and world.requester.id and world.warehouse.id and world.sku.id
    po = PurchaseOrder(
        number=number,
        workflow_id=number.lower(),
        supplier_id=supplier.id,
        requester_user_id=world.requester.id,
        requester_org_id=world.hq.id,
        requested_for_location_id=world.warehouse.id,
        ship_to_location_id=world.warehouse.id,
        status=POStatus.CLOSED,
        created_at=at,
        sent_at=at,
    )
    session.add(po)
    session.flush()
    line = PurchaseOrderLine(
        purchase_order_id=po.id,
        line_no=1,
        sku_id=world.sku.id,
        quantity_requested=quantity,
        quantity_ordered=quantity,
        quantity_confirmed=quantity,
        quantity_shipped=quantity,
        quantity_received=quantity,
        unit_price=unit_price,
        tax_rate=tax_rate,
        line_amount=Decimal("0.00"),
        status=POLineStatus.RECEIVED,
    )
    shipment = Shipment(
        number=unique_code("SHP"),
        purchase_order_id=po.id,
        carrier="SF",
        tracking_number="T1",
        eta=on,
        status=ShipmentStatus.RECEIVED,
        created_by_user_id=world.supplier_user.id,
        created_at=at,
        received_by_user_id=world.requester.id,
        received_at=at,
    )
    session.add_all([line, shipment])
    session.flush()
    shipment_line = ShipmentLine(
        shipment_id=shipment.id,
        po_line_id=line.id,
        quantity_shipped=quantity,
        quantity_received=quantity,
    )
    session.add(shipment_line)
    session.flush()
    rows = [
        ReceiptLot(shipment_line_id=shipment_line.id, lot_no=n, quantity=q)
        for n, q in enumerate(lots, start=1)
    ]
    session.add_all(rows)
    session.commit()
    for row in rows:
        session.refresh(row)
    session.refresh(po)
    session.refresh(shipment)
    return Receipt(po, shipment, rows)


def inspect(
    session: Session, world: StatementWorld, receipt: Receipt, lot_no: int, *, stage: InspectionStage
) -> Inspection:
    """An inspection of one lot, at `stage` (DONE: accepted)."""
    lot = receipt.lots[lot_no - 1]
    done = stage is InspectionStage.DONE
    row = Inspection(
        number=unique_code("INS"),
        workflow_id=unique_code("ins-wf"),
        po_number=receipt.po.number,
        shipment_number=receipt.shipment.number,
        line_no=1,
        lot_no=lot_no,
        sku_id=world.sku.id,
        supplier_id=receipt.po.supplier_id,
        location_id=world.warehouse.id,
        lot_size=lot.quantity,
        inspection_level="II",
        severity=InspectionSeverity.NORMAL,
        aql_critical="0",
        aql_major="2.5",
        aql_minor="4.0",
        code_letter="A",
        sample_size=1,
        critical_sample_size=1,
        critical_accept=0,
        critical_reject=1,
        major_sample_size=1,
        major_accept=0,
        major_reject=1,
        minor_sample_size=1,
        minor_accept=0,
        minor_reject=1,
        critical_defects=0 if done else None,
        major_defects=0 if done else None,
        minor_defects=0 if done else None,
        verdict=InspectionVerdict.ACCEPTED if done else InspectionVerdict.PENDING,
        accepted_quantity=lot.quantity if done else None,
        rejected_quantity=0 if done else None,
        decided_at=datetime.now(UTC) if done else None,
        stage=stage,
        unit_price=UNIT_PRICE,
        tax_rate=TAX_RATE,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def debit_note(
    session: Session,
    world: StatementWorld,
    inspection: Inspection,
    *,
    kind: DebitNoteKind,
    quantity: int,
    net: Decimal,
    tax: Decimal,
    on: date,
) -> DebitNote:
    note = DebitNote(
        number=unique_code("DN"),
        kind=kind,
        supplier_id=inspection.supplier_id,
        inspection_id=inspection.id,
        po_number=inspection.po_number,
        sku_id=inspection.sku_id,
        quantity=quantity,
        net_amount=net,
        tax_amount=tax,
        total_amount=net + tax,
        created_at=china_noon(on),
    )
    session.add(note)
    session.commit()
    session.refresh(note)
    return note


def adjustment(
    session: Session, world: StatementWorld, *, net: Decimal, tax: Decimal, on: date, rate: Decimal = TAX_RATE
) -> PriceAdjustment:
    row = PriceAdjustment(
        number=unique_code("ADJ"),
        supplier_id=world.supplier_id,
        reason="Rebate",
        tax_rate=rate,
        net_amount=net,
        tax_amount=tax,
        total_amount=net + tax,
        created_by_user_id=world.buyer.id,
        created_at=china_noon(on),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row
