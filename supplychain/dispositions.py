"""What happens to an inspected lot after its verdict: stock, HQ's decision, returns, debit notes.

Writes for activities/inspection.py, each in the caller's transaction and safe to repeat: stock
movements carry the inspection workflow's keys, an RTV is unique per inspection, a debit note per
inspection and kind, and every step's event carries its key. Amounts come from the PO line's net
unit price (`Inspection.unit_price`), rounded half-up per document (`supplychain.rules.money`).

- The lot waits in quarantine (on hand, not available) from its receipt until it is released
  (accepted, conceded, or the good units found by sorting) or returned to the supplier.
- Concession (让步接收): the lot is accepted with a price deduction; a concession debit note carries
  the deduction into reconciliation.
- Return to vendor: an RTV waits for the supplier's acknowledgement; then the goods leave stock and a
  debit note carries their value (net + VAT) into reconciliation.
- A required certificate that is missing or expired holds an accepted lot (`hold_reason`).
- While acceptance by sampling is discontinued for the supplier and SKU (ISO 2859-1 9.4), a lot the
  plan accepts still waits for HQ's decision, as a rejected one does (`hold_for_decision`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.certificates import certificate_problems
from supplychain.db import insert_once
from supplychain.events import record_event
from supplychain.inspection import lot_facts
from supplychain.models import (
    CertificateType,
    DebitNote,
    DebitNoteKind,
    Disposition,
    Inspection,
    InspectionStage,
    MovementType,
    PurchaseOrder,
    PurchaseOrderLine,
    ReturnStatus,
    ReturnToVendor,
    Shipment,
    Sku,
)
from supplychain.models.base import utcnow
from supplychain.numbering import reserve_number
from supplychain.rules.money import line_net, line_tax, round_money
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement

DOCUMENT_TYPE = "inspection"
RTV_PREFIX = "RTV"
DEBIT_NOTE_PREFIX = "DN"
HOLD_SEPARATOR = "\n"


def rtv_link(number: str) -> str:
    return f"/returns/{number}"


# --- reading -----------------------------------------------------------------------------------------


def po_line_price(session: Session, po_number: str, line_no: int) -> tuple[Decimal, Decimal] | None:
    """(net unit price, tax rate) of the PO line the lot was ordered on."""
    row = session.execute(
        select(col(PurchaseOrderLine.unit_price), col(PurchaseOrderLine.tax_rate))
        .join(PurchaseOrder, col(PurchaseOrder.id) == col(PurchaseOrderLine.purchase_order_id))
        .where(col(PurchaseOrder.number) == po_number, col(PurchaseOrderLine.line_no) == line_no)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def return_for(session: Session, inspection: Inspection) -> ReturnToVendor | None:
    return session.execute(
        select(ReturnToVendor).where(col(ReturnToVendor.inspection_id) == inspection.id)
    ).scalar_one_or_none()


def debit_note_for(session: Session, inspection: Inspection, kind: DebitNoteKind) -> DebitNote | None:
    return session.execute(
        select(DebitNote).where(col(DebitNote.inspection_id) == inspection.id, col(DebitNote.kind) == kind)
    ).scalar_one_or_none()


def required_certificate_types(sku: Sku) -> list[CertificateType]:
    return [CertificateType(v.strip()) for v in sku.required_certificates.split(",") if v.strip()]


# --- stock ---------------------------------------------------------------------------------------------


def release_from_quarantine(
    session: Session,
    inspection: Inspection,
    *,
    quantity: int,
    idempotency_key: str,
    actor_user_id: int | None,
) -> None:
    """Accepted units become available (they stay on hand)."""
    if quantity <= 0:
        return
    post_movement(
        session,
        idempotency_key=idempotency_key,
        location_id=inspection.location_id,
        sku_id=inspection.sku_id,
        movement_type=MovementType.QUARANTINE_RELEASE,
        delta=StockDelta(quarantine=-quantity),
        source_document_type=DOCUMENT_TYPE,
        source_document_id=inspection.number,
        actor_user_id=actor_user_id,
    )


def set_stage(
    session: Session, inspection: Inspection, stage: InspectionStage, *, hold_reason: str | None = None
) -> None:
    inspection.stage = stage
    if hold_reason is not None:
        inspection.hold_reason = hold_reason
    session.add(inspection)
    session.flush()


def hold_for_decision(
    session: Session, inspection: Inspection, *, idempotency_key: str, occurred_at: datetime | None = None
) -> None:
    """ISO 2859-1 9.4: sampling cannot accept a lot of a discontinued supplier+SKU; HQ decides it."""
    before = {"stage": inspection.stage}
    set_stage(session, inspection, InspectionStage.AWAITING_DECISION)
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=inspection.number,
        action="acceptance_discontinued",
        idempotency_key=idempotency_key,
        before=before,
        after={"stage": InspectionStage.AWAITING_DECISION},
        occurred_at=occurred_at,
    )


# --- certificates ----------------------------------------------------------------------------------------


def certificate_hold(session: Session, inspection: Inspection, *, on_date: date) -> list[str]:
    """Message ids of the lot's required certificates that are missing or expired on `on_date`."""
    sku = session.get(Sku, inspection.sku_id)
    assert sku is not None
    shipment_id = session.execute(
        select(col(Shipment.id)).where(col(Shipment.number) == inspection.shipment_number)
    ).scalar_one_or_none()
    return certificate_problems(
        session,
        supplier_id=inspection.supplier_id,
        sku_id=inspection.sku_id,
        shipment_id=shipment_id,
        on_date=on_date,
        required_types=required_certificate_types(sku),
    )


# --- HQ's decision ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispositionOutcome:
    accepted_quantity: int
    rejected_quantity: int
    debit_note_number: str | None = None


def record_disposition(
    session: Session,
    inspection: Inspection,
    *,
    disposition: Disposition,
    deduction_percent: Decimal | None,
    decided_by_user_id: int | None,
    comment: str,
    number_year: int,
    idempotency_key: str,
    occurred_at: datetime | None = None,
) -> DispositionOutcome:
    """HQ's decision on a rejected lot (or one held by `hold_for_decision`). A concession accepts the
    whole lot and raises its debit note."""
    at = occurred_at or utcnow()
    debit_note: DebitNote | None = None
    if disposition is Disposition.CONCESSION:
        assert deduction_percent is not None
        price = _price(inspection)
        net = round_money(line_net(price[0], inspection.lot_size) * deduction_percent / Decimal(100))
        debit_note = (
            None
            if net <= 0
            else _debit_note(
                session,
                inspection,
                kind=DebitNoteKind.CONCESSION,
                quantity=inspection.lot_size,
                net=net,
                tax_rate=price[1],
                reason=comment,
                number_year=number_year,
                at=at,
            )
        )
        inspection.accepted_quantity, inspection.rejected_quantity = inspection.lot_size, 0
    else:  # nothing is accepted until sorting finds the good units, or the lot goes back
        inspection.accepted_quantity, inspection.rejected_quantity = 0, inspection.lot_size
    before = {"disposition": inspection.disposition}
    inspection.disposition = disposition
    inspection.price_deduction_percent = deduction_percent
    inspection.decided_by_user_id = decided_by_user_id
    inspection.stage = {
        Disposition.CONCESSION: InspectionStage.AWAITING_INSPECTION,  # replaced by the release step
        Disposition.SORTING: InspectionStage.SORTING,
        Disposition.RETURN_TO_VENDOR: InspectionStage.AWAITING_RETURN,
    }[disposition]
    session.add(inspection)
    session.flush()
    after: dict[str, object] = {"disposition": disposition}
    if deduction_percent is not None:
        after["deduction_percent"] = deduction_percent
    if debit_note is not None:
        after["debit_note"] = debit_note.number
        after["amount"] = debit_note.total_amount
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=inspection.number,
        action="disposition",
        idempotency_key=idempotency_key,
        actor_user_id=decided_by_user_id,
        before=before,
        after=after,
        note=comment,
        occurred_at=at,
    )
    assert inspection.accepted_quantity is not None and inspection.rejected_quantity is not None
    return DispositionOutcome(
        accepted_quantity=inspection.accepted_quantity,
        rejected_quantity=inspection.rejected_quantity,
        debit_note_number=debit_note.number if debit_note else None,
    )


def record_sorting(
    session: Session,
    inspection: Inspection,
    *,
    good_quantity: int,
    actor_user_id: int,
    notes: str,
    idempotency_key: str,
    occurred_at: datetime | None = None,
) -> DispositionOutcome:
    """The 100% inspection's result: the good units are accepted, the rest rejected (returned)."""
    inspection.sorted_good_quantity = good_quantity
    inspection.accepted_quantity = good_quantity
    inspection.rejected_quantity = inspection.lot_size - good_quantity
    session.add(inspection)
    session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=inspection.number,
        action="sorted",
        idempotency_key=idempotency_key,
        actor_user_id=actor_user_id,
        after={"quantity_accepted": good_quantity, "quantity_rejected": inspection.rejected_quantity},
        note=notes,
        occurred_at=occurred_at,
    )
    return DispositionOutcome(accepted_quantity=good_quantity, rejected_quantity=inspection.rejected_quantity)


# --- returns to vendor ------------------------------------------------------------------------------------


def open_return(
    session: Session,
    inspection: Inspection,
    *,
    quantity: int,
    reason: str,
    number_year: int,
    idempotency_key: str,
    occurred_at: datetime | None = None,
) -> ReturnToVendor:
    """The lot's RTV (one per inspection), waiting for the supplier's acknowledgement."""
    existing = return_for(session, inspection)
    if existing is not None:
        return existing
    at = occurred_at or utcnow()
    number = reserve_number(session, RTV_PREFIX, number_year)
    price = _price(inspection)
    rtv = ReturnToVendor(
        number=number,
        inspection_id=inspection.id,  # type: ignore[arg-type]
        supplier_id=inspection.supplier_id,
        sku_id=inspection.sku_id,
        location_id=inspection.location_id,
        po_number=inspection.po_number,
        quantity=quantity,
        unit_price=price[0],
        tax_rate=price[1],
        reason=reason[:1000],
        created_at=at,
    )
    rtv, created = insert_once(session, rtv, lambda: return_for(session, inspection))
    if not created:
        return rtv
    set_stage(session, inspection, InspectionStage.AWAITING_RETURN)
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=inspection.number,
        action="return_opened",
        idempotency_key=idempotency_key,
        after={"return": number, "quantity": quantity, **lot_facts(inspection)},
        occurred_at=at,
    )
    return rtv


def acknowledge_return(
    session: Session,
    inspection: Inspection,
    *,
    actor_user_id: int,
    note: str,
    quarantined: bool,
    number_year: int,
    idempotency_key: str,
    occurred_at: datetime | None = None,
) -> DebitNote | None:
    """The supplier takes the goods back: stock leaves quarantine, the debit note is raised."""
    at = occurred_at or utcnow()
    rtv = return_for(session, inspection)
    assert rtv is not None, f"inspection {inspection.number} has no return to vendor"
    debit_note = _debit_note(
        session,
        inspection,
        kind=DebitNoteKind.RETURN_TO_VENDOR,
        quantity=rtv.quantity,
        net=line_net(rtv.unit_price, rtv.quantity),
        tax_rate=rtv.tax_rate,
        reason=rtv.reason,
        number_year=number_year,
        at=at,
        return_id=rtv.id,
    )
    if quarantined:
        post_movement(
            session,
            idempotency_key=f"{idempotency_key}:stock",
            location_id=rtv.location_id,
            sku_id=rtv.sku_id,
            movement_type=MovementType.RETURN_TO_VENDOR,
            delta=StockDelta(on_hand=-rtv.quantity, quarantine=-rtv.quantity),
            source_document_type="return_to_vendor",
            source_document_id=rtv.number,
            actor_user_id=actor_user_id,
        )
    if rtv.status is ReturnStatus.AWAITING_ACKNOWLEDGEMENT:
        rtv.status = ReturnStatus.ACKNOWLEDGED
        rtv.acknowledged_by_user_id = actor_user_id
        rtv.acknowledged_at = at
        session.add(rtv)
    set_stage(session, inspection, InspectionStage.DONE)
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=inspection.number,
        action="return_acknowledged",
        idempotency_key=idempotency_key,
        actor_user_id=actor_user_id,
        after={
            "return": rtv.number,
            "debit_note": debit_note.number if debit_note else None,
            "amount": debit_note.total_amount if debit_note else None,
        },
        note=note,
        occurred_at=at,
    )
    return debit_note


# --- helpers ----------------------------------------------------------------------------------------------


def _price(inspection: Inspection) -> tuple[Decimal, Decimal]:
    """The PO line's net unit price and tax rate; zero for a lot without a PO line (no debit note)."""
    if inspection.unit_price is None or inspection.tax_rate is None:
        return Decimal(0), Decimal(0)
    return inspection.unit_price, inspection.tax_rate


def _debit_note(
    session: Session,
    inspection: Inspection,
    *,
    kind: DebitNoteKind,
    quantity: int,
    net: Decimal,
    tax_rate: Decimal,
    reason: str,
    number_year: int,
    at: datetime,
    return_id: int | None = None,
) -> DebitNote | None:
    """One debit note per inspection and kind (a retry returns the first); none for no amount."""
    if net <= 0:
        return None
    existing = debit_note_for(session, inspection, kind)
    if existing is not None:
        return existing
    number = reserve_number(session, DEBIT_NOTE_PREFIX, number_year)
    tax = line_tax(net, tax_rate)
    note = DebitNote(
        number=number,
        kind=kind,
        supplier_id=inspection.supplier_id,
        inspection_id=inspection.id,  # type: ignore[arg-type]
        return_id=return_id,
        po_number=inspection.po_number,
        sku_id=inspection.sku_id,
        quantity=quantity,
        net_amount=net,
        tax_amount=tax,
        total_amount=net + tax,
        reason=reason[:1000],
        created_at=at,
    )
    return insert_once(session, note, lambda: debit_note_for(session, inspection, kind))[0]
