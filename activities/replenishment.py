"""Side effects of ReplenishmentWorkflow: the purchase-order read model, stock, notifications.

One named activity per step of the process (`record_po_sent`, `record_lines_confirmed`,
`record_shipment_created`, `record_shipment_received`, ...): each writes the PO change, its timeline
event and its notifications in one transaction (supplychain/purchasing.py's `record_step`), and the
PO's end when the step finishes it; e-mail goes out after the commit. Sync activities on the
worker's thread pool (see activities/events.py), each safe to retry: the PO and each shipment (with
its ASN batches) are created once per number, quantities and a receipt's lots (by lot number) are
written as absolute values from the workflow's state, each step's event carries the workflow's key
(`<workflow id>:<step>:<n>`) and each notification `<that key>:<audience>:<user id>`, and the stock
posting carries `<workflow id>:receipt:<shipment>:<line>` under the ledger's unique key (a line
received in several lots: one entry per lot, `...:lot:<n>`, so each lot's stock can be followed).

The named steps share one implementation (`_record`) on purpose: a step's name is what the history,
the Temporal UI and the metrics show, and a step can grow effects of its own without touching the
others. POs started before the workflow's `NAMED_STEPS_PATCH` call the generic activities at the end
of this module instead (see there for when they can go).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session
from temporalio import activity

from activities.notifications import email_after_commit
from supplychain import purchasing
from supplychain.db import session_scope
from supplychain.models import MovementType, Organisation, POStatus, PurchaseOrder
from supplychain.models.events import Notification
from supplychain.purchasing import Audience, Batch, LineInspection, LineSnapshot, NewLine, Notice, POStep
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement


@dataclass
class RecordPOInput:
    number: str
    workflow_id: str
    supplier_id: int
    requester_user_id: int
    requester_org_id: int
    requested_for_location_id: int
    ship_to_location_id: int
    status: POStatus
    needs_approval: bool
    lines: list[NewLine]
    idempotency_key: str
    note: str = ""
    occurred_at: datetime | None = None


@dataclass
class RecordPOResult:
    purchase_order_id: int
    created: bool  # False when the number had been recorded already
    total_amount: Decimal
    supplier_name: str


@activity.defn
def record_purchase_order(input: RecordPOInput) -> RecordPOResult:
    with session_scope() as session:
        po, created = purchasing.create_purchase_order(
            session,
            number=input.number,
            workflow_id=input.workflow_id,
            supplier_id=input.supplier_id,
            requester_user_id=input.requester_user_id,
            requester_org_id=input.requester_org_id,
            requested_for_location_id=input.requested_for_location_id,
            ship_to_location_id=input.ship_to_location_id,
            status=input.status,
            needs_approval=input.needs_approval,
            note=input.note,
            lines=input.lines,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
        )
        supplier = session.get(Organisation, po.supplier_id)
        assert po.id is not None and supplier is not None
        return RecordPOResult(
            purchase_order_id=po.id,
            created=created,
            total_amount=po.total_amount,
            supplier_name=supplier.name,
        )


# --- the named steps ------------------------------------------------------------------------------


@dataclass
class POStepResult:
    user_ids: list[int]  # who was told (new rows or rows of an earlier attempt)
    emailed: int  # e-mails sent by this attempt


def _record(step: POStep) -> POStepResult:
    with session_scope() as session:
        po = purchasing.require_po(session, step.number)
        told = purchasing.record_step(session, po, step)
        ids, user_ids = _told(told)
    return POStepResult(user_ids=user_ids, emailed=email_after_commit(ids))


@activity.defn
def record_po_sent(step: POStep) -> POStepResult:
    """The PO goes to the supplier (SENT): the supplier is asked to confirm."""
    return _record(step)


@activity.defn
def record_approval_rejected(step: POStep) -> POStepResult:
    """The approval step rejected the PO (APPROVAL_REJECTED, the approver's comment as the reason)."""
    return _record(step)


@activity.defn
def record_confirmation_reminder(step: POStep) -> POStepResult:
    """The supplier has not confirmed within the reminder SLA: reminded (the status stays)."""
    return _record(step)


@activity.defn
def record_confirmation_escalated(step: POStep) -> POStepResult:
    """Still not confirmed at the escalation SLA: the buyers are told (the status stays)."""
    return _record(step)


@activity.defn
def record_lines_confirmed(step: POStep) -> POStepResult:
    """The supplier confirms lines (quantities, promised dates); the requester is told. A PO whose
    every line is confirmed 0 ends here (`then`)."""
    return _record(step)


@activity.defn
def record_supplier_rejection(step: POStep) -> POStepResult:
    """The supplier rejects the PO with a reason (SUPPLIER_REJECTED): the requester and buyers are told."""
    return _record(step)


@activity.defn
def record_po_cancelled(step: POStep) -> POStepResult:
    """The buyer cancels the PO with a reason: its open lines cancelled, the supplier (if it had the
    PO) and the requester told."""
    return _record(step)


@activity.defn
def record_line_short_closed(step: POStep) -> POStepResult:
    """The buyer stops waiting for a line's rest; the PO ends here when no line is left open."""
    return _record(step)


@activity.defn
def record_line_overdue(step: POStep) -> POStepResult:
    """A line's promised date has passed: the buyers are alerted (the status stays)."""
    return _record(step)


@activity.defn
def record_inspection_finished(step: POStep) -> POStepResult:
    """An inspection of a received lot has ended (its quantities on the timeline); the PO ends here
    when nothing else is open."""
    return _record(step)


def _told(rows: list[Notification]) -> tuple[list[int], list[int]]:
    """(notification ids, user ids) of the rows a step wrote."""
    return [row.id for row in rows if row.id is not None], [row.user_id for row in rows]


# --- shipments ------------------------------------------------------------------------------------


@dataclass
class ShippedLine:
    line_no: int
    quantity: int
    batches: list[Batch] = field(default_factory=list)  # as the ASN announced them; [] if none


@dataclass
class RecordShipmentInput:
    number: str  # the PO
    shipment_number: str
    carrier: str
    tracking_number: str
    eta: date
    actor_user_id: int
    lines: list[ShippedLine]
    status: POStatus  # the PO's status after the shipment (in delivery)
    line_snapshots: list[LineSnapshot]
    idempotency_key: str
    occurred_at: datetime | None = None


@dataclass
class ShipmentCreatedInput:
    shipment: RecordShipmentInput
    notices: list[Notice] = field(default_factory=list)  # under `<shipment's key>:<audience>`


@activity.defn
def record_shipment_created(input: ShipmentCreatedInput) -> POStepResult:
    """The supplier's ASN: the shipment, its lines and batches, the PO in delivery; the warehouse told."""
    with session_scope() as session:
        po = _write_shipment(session, input.shipment)
        key = input.shipment.idempotency_key
        told = [
            row
            for notice in input.notices
            for row in purchasing.notify(session, po, notice, idempotency_key=f"{key}:{notice.audience}")
        ]
        ids, user_ids = _told(told)
    return POStepResult(user_ids=user_ids, emailed=email_after_commit(ids))


def _write_shipment(session: Session, input: RecordShipmentInput) -> PurchaseOrder:
    po = purchasing.require_po(session, input.number)
    purchasing.create_shipment(
        session,
        po,
        number=input.shipment_number,
        carrier=input.carrier,
        tracking_number=input.tracking_number,
        eta=input.eta,
        created_by_user_id=input.actor_user_id,
        quantities={line.line_no: line.quantity for line in input.lines},
        batches={line.line_no: line.batches for line in input.lines if line.batches},
    )
    before, after = purchasing.apply_state(
        session, po, status=input.status, lines=input.line_snapshots, at=input.occurred_at
    )
    details = {
        "shipment": input.shipment_number,
        "carrier": input.carrier,
        "tracking_number": input.tracking_number,
        "eta": input.eta,
        **{f"line_{line.line_no}.shipment_quantity": line.quantity for line in input.lines},
    }
    purchasing.record_po_event(
        session,
        po,
        action="shipment_created",
        idempotency_key=input.idempotency_key,
        actor_user_id=input.actor_user_id,
        before=before,
        after={**after, **details},
        occurred_at=input.occurred_at,
    )
    return po


# --- receipts -------------------------------------------------------------------------------------


@dataclass
class CountedLine:
    line_no: int
    quantity_received: int
    lots: list[Batch] = field(default_factory=list)  # the counted split; [] = one lot of everything


@dataclass
class RecordShipmentReceiptInput:
    number: str  # the PO
    shipment_number: str
    actor_user_id: int
    lines: list[CountedLine]
    status: POStatus  # the PO's status after the receipt
    line_snapshots: list[LineSnapshot]
    idempotency_key: str
    occurred_at: datetime | None = None


@dataclass
class RecordShipmentReceiptResult:
    # Per counted line, whether and how its lot is inspected before posting (the SKU's settings).
    inspections: list[LineInspection]


@dataclass
class ShipmentReceivedInput:
    receipt: RecordShipmentReceiptInput
    stock_key: str  # `<workflow id>:receipt:<shipment>`: each line is posted under `<stock_key>:<line no>`
    # How the PO ends when no counted line goes to inspection (the workflow knows every other
    # condition: no line left open, no inspection pending); None: it does not end here.
    then: POStep | None = None


@dataclass
class ShipmentReceivedResult:
    inspections: list[LineInspection]  # a line to inspect is in quarantine stock: start its inspection
    finished: bool  # `then` was recorded


@activity.defn
def record_shipment_received(input: ShipmentReceivedInput) -> ShipmentReceivedResult:
    """The warehouse's receipt: counted quantities and lots, each line posted to stock (into
    quarantine when its SKU is inspected), and the PO's end when nothing of it goes to inspection."""
    receipt = input.receipt
    with session_scope() as session:
        po, inspections = _write_receipt(session, receipt)
        skus = {line_no: line.sku_id for line_no, line in purchasing.po_lines(session, po).items()}
        inspect = {i.line_no for i in inspections if i.inspect}
        for line in receipt.lines:
            if line.quantity_received <= 0:
                continue
            _post(
                session,
                PostReceiptInput(
                    idempotency_key=f"{input.stock_key}:{line.line_no}",
                    location_id=po.ship_to_location_id,
                    sku_id=skus[line.line_no],
                    quantity=line.quantity_received,
                    po_number=po.number,
                    shipment_number=receipt.shipment_number,
                    actor_user_id=receipt.actor_user_id,
                    quarantine=line.line_no in inspect,
                    lots=list(line.lots) if line.line_no in inspect else [],
                ),
            )
        finished = input.then is not None and not inspect
        ids, _ = _told(purchasing.record_step(session, po, input.then) if input.then and finished else [])
    email_after_commit(ids)
    return ShipmentReceivedResult(inspections=inspections, finished=finished)


def _write_receipt(
    session: Session, input: RecordShipmentReceiptInput
) -> tuple[PurchaseOrder, list[LineInspection]]:
    """The counted quantities and lots and the "shipment_received" event; what inspection needs."""
    po = purchasing.require_po(session, input.number)
    shipment = purchasing.get_shipment(session, input.shipment_number)
    if shipment is None or shipment.purchase_order_id != po.id:
        raise LookupError(f"shipment {input.shipment_number} is not recorded for {input.number}")
    details = purchasing.receive_shipment(
        session,
        po,
        shipment,
        counted={line.line_no: line.quantity_received for line in input.lines},
        lots={line.line_no: line.lots for line in input.lines if line.lots},
        received_by_user_id=input.actor_user_id,
        at=input.occurred_at,
    )
    before, after = purchasing.apply_state(
        session, po, status=input.status, lines=input.line_snapshots, at=input.occurred_at
    )
    purchasing.record_po_event(
        session,
        po,
        action="shipment_received",
        idempotency_key=input.idempotency_key,
        actor_user_id=input.actor_user_id,
        before=before,
        after={**after, **details},
        occurred_at=input.occurred_at,
    )
    counted = {line.line_no: line.quantity_received for line in input.lines}
    return po, purchasing.receipt_inspections(session, po, counted)


# --- stock ----------------------------------------------------------------------------------------


@dataclass
class PostReceiptInput:
    idempotency_key: str  # `<workflow id>:receipt:<shipment>:<line no>`
    location_id: int
    sku_id: int
    quantity: int  # > 0
    po_number: str
    shipment_number: str
    actor_user_id: int | None = None
    quarantine: bool = False  # held until its inspection releases or returns it
    # The lots the line was counted in (batches or tranches, adding up to `quantity`): more than
    # one is posted as one entry per lot, `<key>:lot:<n>`, its note naming the lot.
    lots: list[Batch] = field(default_factory=list)


@dataclass
class PostReceiptResult:
    entry_id: int  # the first lot's entry when posted per lot
    created: bool  # False when the key had been posted already


def _post(session: Session, input: PostReceiptInput) -> PostReceiptResult:
    results = [
        post_movement(
            session,
            idempotency_key=key,
            location_id=input.location_id,
            sku_id=input.sku_id,
            movement_type=MovementType.QUARANTINE_RECEIPT if input.quarantine else MovementType.RECEIPT,
            delta=StockDelta(on_hand=quantity, quarantine=quantity if input.quarantine else 0),
            source_document_type=purchasing.DOCUMENT_TYPE,
            source_document_id=input.po_number,
            actor_user_id=input.actor_user_id,
            note=note,
        )
        for key, quantity, note in _receipt_entries(input)
    ]
    return PostReceiptResult(entry_id=results[0].entry_id, created=results[0].created)


def _receipt_entries(input: PostReceiptInput) -> list[tuple[str, int, str]]:
    """(idempotency key, quantity, note) per ledger entry: the line as one, or one per lot."""
    # The workflow's validator makes the lots add up to the line; anything else is posted as one.
    if len(input.lots) <= 1 or sum(lot.quantity for lot in input.lots) != input.quantity:
        return [(input.idempotency_key, input.quantity, input.shipment_number)]
    return [
        (
            f"{input.idempotency_key}:lot:{lot_no}",
            lot.quantity,
            purchasing.lot_note(input.shipment_number, lot_no, lot),
        )
        for lot_no, lot in enumerate(input.lots, start=1)
        if lot.quantity > 0
    ]


# --- before NAMED_STEPS_PATCH ------------------------------------------------------------------------
# POs started before the workflow's NAMED_STEPS_PATCH call these until they end: a generic update
# and a separate notification per step, the shipment and the receipt without their notification,
# stock posting and end. Remove them (and the workflow's legacy path) once no such PO is running:
# `workflow.deprecate_patch(NAMED_STEPS_PATCH)` first, then the old histories go with them.


@dataclass
class UpdatePOInput:
    """One step of the process: the new status and line snapshots, and the event recording it."""

    number: str
    action: str  # the timeline entry: "sent", "confirmed", "cancelled", "line_short_closed", ...
    idempotency_key: str
    status: POStatus
    lines: list[LineSnapshot] = field(default_factory=list)  # only the lines this step changed
    status_reason: str | None = None  # None: leave as it is
    actor_user_id: int | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # extra "after" facts for the timeline
    occurred_at: datetime | None = None


@activity.defn
def update_purchase_order(input: UpdatePOInput) -> None:
    with session_scope() as session:
        po = purchasing.require_po(session, input.number)
        step = POStep(
            number=input.number,
            action=input.action,
            idempotency_key=input.idempotency_key,
            status=input.status,
            lines=input.lines,
            status_reason=input.status_reason,
            actor_user_id=input.actor_user_id,
            note=input.note,
            details=input.details,
            occurred_at=input.occurred_at,
        )
        purchasing.record_step(session, po, step)


@dataclass
class NotifyPOInput:
    number: str
    audience: Audience
    message: str  # a message id from the translation catalogue
    idempotency_key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class NotifyPOResult:
    user_ids: list[int]
    emailed: int


@activity.defn
def notify_purchase_order(input: NotifyPOInput) -> NotifyPOResult:
    with session_scope() as session:
        po = purchasing.require_po(session, input.number)
        notice = Notice(audience=input.audience, message=input.message, params=input.params)
        ids, user_ids = _told(purchasing.notify(session, po, notice, idempotency_key=input.idempotency_key))
    return NotifyPOResult(user_ids=user_ids, emailed=email_after_commit(ids))


@activity.defn
def record_shipment(input: RecordShipmentInput) -> None:
    with session_scope() as session:
        _write_shipment(session, input)


@activity.defn
def record_shipment_receipt(input: RecordShipmentReceiptInput) -> RecordShipmentReceiptResult | None:
    """Record the counted quantities; return what the inspection step needs per line.

    (`| None`: histories recorded before the inspection step carry a null result here.)
    """
    with session_scope() as session:
        _po, inspections = _write_receipt(session, input)
        return RecordShipmentReceiptResult(inspections=inspections)


@activity.defn
def post_receipt_to_stock(input: PostReceiptInput) -> PostReceiptResult:
    with session_scope() as session:
        return _post(session, input)
