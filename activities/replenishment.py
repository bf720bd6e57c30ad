"""Side effects of ReplenishmentWorkflow: the purchase-order read model, stock, notifications.

Sync activities on the worker's thread pool (see activities/events.py). Each one is one transaction
and safe to retry: the PO and each shipment (with its ASN batches) are created once per number,
quantities and a receipt's lots (by lot number) are written as absolute values from the workflow's
state, each step's event carries the workflow's key (`<workflow id>:<step>`), and the stock posting
carries `<workflow id>:receipt:<shipment>:<line>` under the ledger's unique key (a line received in
several lots: one entry per lot, `...:lot:<n>`, so each lot's stock can be followed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.notifications import email_after_commit
from supplychain import notifications, purchasing
from supplychain.db import session_scope
from supplychain.models import MovementType, Organisation, POStatus
from supplychain.purchasing import Audience, Batch, LineInspection, LineSnapshot, NewLine
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
        before, after = purchasing.apply_state(
            session,
            po,
            status=input.status,
            lines=input.lines,
            status_reason=input.status_reason,
            at=input.occurred_at,
        )
        purchasing.record_po_event(
            session,
            po,
            action=input.action,
            idempotency_key=input.idempotency_key,
            actor_user_id=input.actor_user_id,
            before=before,
            after={**after, **input.details},
            note=input.note,
            occurred_at=input.occurred_at,
        )


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


@activity.defn
def record_shipment(input: RecordShipmentInput) -> None:
    with session_scope() as session:
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


@activity.defn
def record_shipment_receipt(input: RecordShipmentReceiptInput) -> RecordShipmentReceiptResult | None:
    """Record the counted quantities; return what the inspection step needs per line.

    (`| None`: histories recorded before the inspection step carry a null result here.)
    """
    with session_scope() as session:
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
        return RecordShipmentReceiptResult(inspections=purchasing.receipt_inspections(session, po, counted))


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


@activity.defn
def post_receipt_to_stock(input: PostReceiptInput) -> PostReceiptResult:
    with session_scope() as session:
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
        rows = notifications.notify(
            session,
            user_ids=purchasing.recipients(session, po, input.audience),
            message=input.message,
            idempotency_key=input.idempotency_key,
            params={"number": input.number, **input.params},
            link=purchasing.po_link(input.number),
            document_type=purchasing.DOCUMENT_TYPE,
            document_id=input.number,
        )
        ids = [row.id for row in rows if row.id is not None]
        user_ids = [row.user_id for row in rows]
    return NotifyPOResult(user_ids=user_ids, emailed=email_after_commit(ids))
