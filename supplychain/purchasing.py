"""Writing the purchase-order read model: the service behind activities/replenishment.py.

ReplenishmentWorkflow owns the process and its state; these functions write what it decided, in the
caller's transaction (none of them commits). Every write is safe to repeat: a PO and a shipment are
created once per number, line quantities are written as absolute values from the workflow's state
(never incremented), and each step's document event carries the workflow's idempotency key.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain import notifications
from supplychain.events import record_event
from supplychain.models import (
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
    ShipmentLineBatch,
    ShipmentStatus,
    User,
)
from supplychain.models.base import utcnow
from supplychain.models.catalog import InspectionMode, Sku
from supplychain.models.events import Notification
from supplychain.notifications import users_with_role
from supplychain.principal import Principal
from supplychain.rules.money import line_net, line_tax
from supplychain.rules.purchase_order import Batch as Batch  # a batch or lot: defined with the rules

DOCUMENT_TYPE = "purchase_order"
LINE_FIELDS = ("status", "quantity_confirmed", "promised_date", "quantity_shipped", "quantity_received")


def po_link(number: str) -> str:
    """Where a person reads the purchase order (notifications, the approval queue)."""
    return f"/purchase-orders/{number}"


# --- inputs ---------------------------------------------------------------------------------------


@dataclass
class NewLine:
    line_no: int
    sku_id: int
    quantity_requested: int
    quantity_ordered: int
    unit_price: Decimal
    tax_rate: Decimal


@dataclass
class LineSnapshot:
    """A line's quantities and status as the workflow holds them (written as absolute values)."""

    line_no: int
    status: POLineStatus
    quantity_confirmed: int | None
    promised_date: date | None
    quantity_shipped: int
    quantity_received: int


class Audience(enum.StrEnum):
    """Who a purchase-order notification goes to, resolved from the PO row."""

    SUPPLIER = "supplier"  # the supplier organisation's users (role supplier)
    BUYERS = "buyers"  # HQ buyers
    REQUESTER = "requester"  # the store user who asked
    WAREHOUSE = "warehouse"  # warehouse users of the ship-to location


@dataclass
class Notice:
    """Who hears about a step, and what: a message id from the catalogue and its parameters (the
    PO's number is added as `number`)."""

    audience: Audience
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class POStep:
    """One step of the process as the workflow decided it: the PO's new status and line snapshots,
    the timeline event that records them, who is told, and (`then`) the PO's end when this step
    finishes it. `record_step` writes it all in the caller's transaction."""

    number: str
    action: str  # the timeline entry: "sent", "confirmed", "cancelled", "line_short_closed", ...
    idempotency_key: str  # `<workflow id>:<action>:<n>`; a notice's `<key>:<audience>`
    status: POStatus | None = None  # None: the step leaves the status as it is (a reminder, an alert)
    lines: list[LineSnapshot] = field(default_factory=list)  # only the lines this step changed
    status_reason: str | None = None  # None: leave as it is
    actor_user_id: int | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # extra "after" facts for the timeline
    notices: list[Notice] = field(default_factory=list)
    then: POStep | None = None  # the PO's end (closed or cancelled) when this step finishes it
    occurred_at: datetime | None = None


# --- purchase order -------------------------------------------------------------------------------


def get_po(session: Session, number: str) -> PurchaseOrder | None:
    return session.execute(
        select(PurchaseOrder).where(col(PurchaseOrder.number) == number)
    ).scalar_one_or_none()


def require_po(session: Session, number: str) -> PurchaseOrder:
    po = get_po(session, number)
    if po is None:
        raise LookupError(f"purchase order {number} is not recorded")
    return po


def po_lines(session: Session, po: PurchaseOrder) -> dict[int, PurchaseOrderLine]:
    rows = session.execute(
        select(PurchaseOrderLine)
        .where(col(PurchaseOrderLine.purchase_order_id) == po.id)
        .order_by(col(PurchaseOrderLine.line_no))
    ).scalars()
    return {row.line_no: row for row in rows}


def create_purchase_order(
    session: Session,
    *,
    number: str,
    workflow_id: str,
    supplier_id: int,
    requester_user_id: int,
    requester_org_id: int,
    requested_for_location_id: int,
    ship_to_location_id: int,
    status: POStatus,
    needs_approval: bool,
    note: str,
    lines: Sequence[NewLine],
    idempotency_key: str,
    occurred_at: datetime | None = None,
) -> tuple[PurchaseOrder, bool]:
    """The PO, its lines (amounts rounded per line) and its "created" event; once per number."""
    existing = get_po(session, number)
    if existing is not None:
        return existing, False
    nets = [line_net(line.unit_price, line.quantity_ordered) for line in lines]
    taxes = [line_tax(net, line.tax_rate) for net, line in zip(nets, lines, strict=True)]
    net_amount = sum(nets, Decimal("0.00"))
    tax_amount = sum(taxes, Decimal("0.00"))
    po = PurchaseOrder(
        number=number,
        workflow_id=workflow_id,
        supplier_id=supplier_id,
        requester_user_id=requester_user_id,
        requester_org_id=requester_org_id,
        requested_for_location_id=requested_for_location_id,
        ship_to_location_id=ship_to_location_id,
        status=status,
        net_amount=net_amount,
        tax_amount=tax_amount,
        total_amount=net_amount + tax_amount,
        needs_approval=needs_approval,
        note=note,
        sent_at=(occurred_at or utcnow()) if status is POStatus.SENT else None,
    )
    savepoint = session.begin_nested()
    try:
        session.add(po)
        session.flush()
        assert po.id is not None
        for line, net in zip(lines, nets, strict=True):
            session.add(
                PurchaseOrderLine(
                    purchase_order_id=po.id,
                    line_no=line.line_no,
                    sku_id=line.sku_id,
                    quantity_requested=line.quantity_requested,
                    quantity_ordered=line.quantity_ordered,
                    unit_price=line.unit_price,
                    tax_rate=line.tax_rate,
                    line_amount=net,
                )
            )
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        existing = get_po(session, number)
        if existing is None:  # not a duplicate number: a real violation (unknown SKU, ...)
            raise
        return existing, False
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=number,
        action="created",
        idempotency_key=idempotency_key,
        actor_user_id=requester_user_id,
        after={
            "status": status,
            "lines": len(lines),
            "total_amount": po.total_amount,
        },
        occurred_at=occurred_at,
    )
    return po, True


def apply_state(
    session: Session,
    po: PurchaseOrder,
    *,
    status: POStatus | None,
    lines: Sequence[LineSnapshot] = (),
    status_reason: str | None = None,
    at: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the workflow's status (None: leave it) and line snapshots; returns (before, after) of
    what changed."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(key: str, old: Any, new: Any) -> None:
        if old != new:
            before[key] = old
            after[key] = new

    if status is not None:
        change("status", po.status, status)
        po.status = status
    if status_reason is not None:
        change("status_reason", po.status_reason, status_reason)
        po.status_reason = status_reason
    rows = po_lines(session, po)
    for snapshot in lines:
        row = rows[snapshot.line_no]
        prefix = f"line_{snapshot.line_no}."
        for name in LINE_FIELDS:
            new = getattr(snapshot, name)
            change(prefix + name, getattr(row, name), new)
            setattr(row, name, new)
        session.add(row)
    now = at or utcnow()
    po.updated_at = now
    if po.status is POStatus.SENT and po.sent_at is None:
        po.sent_at = now
    if po.status.is_final and po.closed_at is None:
        po.closed_at = now
    session.add(po)
    session.flush()
    return before, after


def record_step(session: Session, po: PurchaseOrder, step: POStep) -> list[Notification]:
    """Write one step of the process (and the PO's end, when it finishes it); returns the
    notifications, new or written by an earlier attempt, for e-mail after the commit."""
    before, after = apply_state(
        session,
        po,
        status=step.status,
        lines=step.lines,
        status_reason=step.status_reason,
        at=step.occurred_at,
    )
    record_po_event(
        session,
        po,
        action=step.action,
        idempotency_key=step.idempotency_key,
        actor_user_id=step.actor_user_id,
        before=before,
        after={**after, **step.details},
        note=step.note,
        occurred_at=step.occurred_at,
    )
    told = [
        row
        for notice in step.notices
        for row in notify(session, po, notice, idempotency_key=f"{step.idempotency_key}:{notice.audience}")
    ]
    if step.then is not None:
        told += record_step(session, po, step.then)
    return told


def record_po_event(
    session: Session,
    po: PurchaseOrder,
    *,
    action: str,
    idempotency_key: str,
    actor_user_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
    occurred_at: datetime | None = None,
) -> None:
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=po.number,
        action=action,
        idempotency_key=idempotency_key,
        actor_user_id=actor_user_id,
        before=before or None,
        after=after or None,
        note=note,
        occurred_at=occurred_at,
    )


# --- shipments ------------------------------------------------------------------------------------


def get_shipment(session: Session, number: str) -> Shipment | None:
    return session.execute(select(Shipment).where(col(Shipment.number) == number)).scalar_one_or_none()


def create_shipment(
    session: Session,
    po: PurchaseOrder,
    *,
    number: str,
    carrier: str,
    tracking_number: str,
    eta: date,
    created_by_user_id: int,
    quantities: Mapping[int, int],  # line_no -> quantity shipped
    batches: Mapping[int, Sequence[Batch]] | None = None,  # line_no -> its batches, if announced
) -> tuple[Shipment, bool]:
    """The ASN, its lines and their batches; once per shipment number."""
    existing = get_shipment(session, number)
    if existing is not None:
        return existing, False
    rows = po_lines(session, po)
    assert po.id is not None
    shipment = Shipment(
        number=number,
        purchase_order_id=po.id,
        carrier=carrier,
        tracking_number=tracking_number,
        eta=eta,
        created_by_user_id=created_by_user_id,
    )
    savepoint = session.begin_nested()
    try:
        session.add(shipment)
        session.flush()
        assert shipment.id is not None
        for line_no, quantity in quantities.items():
            po_line_id = rows[line_no].id
            assert po_line_id is not None
            line = ShipmentLine(shipment_id=shipment.id, po_line_id=po_line_id, quantity_shipped=quantity)
            session.add(line)
            session.flush()
            assert line.id is not None
            for batch in (batches or {}).get(line_no, ()):
                session.add(
                    ShipmentLineBatch(
                        shipment_line_id=line.id,
                        batch_no=batch.batch_no,
                        expiry_date=batch.expiry_date,
                        quantity=batch.quantity,
                    )
                )
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        existing = get_shipment(session, number)
        if existing is None:
            raise
        return existing, False
    return shipment, True


def receive_shipment(
    session: Session,
    po: PurchaseOrder,
    shipment: Shipment,
    *,
    counted: Mapping[int, int],  # line_no -> quantity counted
    received_by_user_id: int,
    lots: Mapping[int, Sequence[Batch]] | None = None,  # line_no -> its lots as counted, if split
    at: datetime | None = None,
) -> dict[str, Any]:
    """Write the counted quantities (over/short kept as counted) and each line's receipt lots.

    Returns per-line shipped/received/over-short for the timeline.
    """
    line_no_by_id = {row.id: line_no for line_no, row in po_lines(session, po).items()}
    details: dict[str, Any] = {"shipment": shipment.number}
    shipment_lines = session.execute(
        select(ShipmentLine).where(col(ShipmentLine.shipment_id) == shipment.id)
    ).scalars()
    for row in shipment_lines:
        line_no = line_no_by_id[row.po_line_id]
        row.quantity_received = counted[line_no]
        session.add(row)
        written = _write_lots(session, row, (lots or {}).get(line_no, ()))
        prefix = f"line_{line_no}."
        details[prefix + "shipped"] = row.quantity_shipped
        details[prefix + "received"] = row.quantity_received
        details[prefix + "over_short"] = row.quantity_received - row.quantity_shipped
        details |= _lot_details(prefix, written)
    if shipment.status is not ShipmentStatus.RECEIVED:
        shipment.status = ShipmentStatus.RECEIVED
        shipment.received_by_user_id = received_by_user_id
        shipment.received_at = at or utcnow()
        session.add(shipment)
    session.flush()
    return details


def lot_note(shipment_number: str, lot_no: int, lot: Batch) -> str:
    """A stock ledger note naming the receipt lot an entry is about: `SHP-2026-000001 lot 2 B-7`."""
    return " ".join(part for part in (shipment_number, f"lot {lot_no}", lot.batch_no) if part)


def _lot_details(prefix: str, lots: Sequence[ReceiptLot]) -> dict[str, Any]:
    """The timeline's words for a line's lots (`line_1.lot_2.batch_no`, `...quantity`): each lot's
    batch number, and its quantity when the line was split, so later steps can be told apart."""
    details: dict[str, Any] = {}
    for lot in lots:
        lot_prefix = f"{prefix}lot_{lot.lot_no}."
        if lot.batch_no:
            details[lot_prefix + "batch_no"] = lot.batch_no
        if len(lots) > 1:
            details[lot_prefix + "quantity"] = lot.quantity
    return details


def _write_lots(session: Session, line: ShipmentLine, lots: Sequence[Batch]) -> list[ReceiptLot]:
    """The line's receipt lots, numbered 1.. in the order counted, written as absolute values.

    A line counted without a split is one lot of everything counted (the ASN's batch, when it
    announced exactly one); a line counted 0 has none. Repeating the call rewrites the same rows.
    Returns the lots as written.
    """
    assert line.id is not None
    if not lots and line.quantity_received:
        announced = shipment_batches(session, [line.id]).get(line.id, [])
        only = announced[0] if len(announced) == 1 else None
        lots = [
            Batch(
                batch_no=only.batch_no if only else "",
                expiry_date=only.expiry_date if only else None,
                quantity=line.quantity_received,
            )
        ]
    existing = {lot.lot_no: lot for lot in receipt_lots(session, [line.id]).get(line.id, [])}
    written = []
    for lot_no, lot in enumerate(lots, start=1):
        row = existing.pop(lot_no, None) or ReceiptLot(shipment_line_id=line.id, lot_no=lot_no, quantity=0)
        row.batch_no = lot.batch_no
        row.expiry_date = lot.expiry_date
        row.quantity = lot.quantity
        session.add(row)
        written.append(row)
    for stale in existing.values():
        session.delete(stale)
    return written


def shipment_batches(session: Session, line_ids: Iterable[int]) -> dict[int, list[ShipmentLineBatch]]:
    """The batches each shipment line's ASN announced, by shipment line id (in the order announced)."""
    ids = set(line_ids)
    result: dict[int, list[ShipmentLineBatch]] = {}
    if not ids:
        return result
    rows = session.execute(
        select(ShipmentLineBatch)
        .where(col(ShipmentLineBatch.shipment_line_id).in_(ids))
        .order_by(col(ShipmentLineBatch.id))
    ).scalars()
    for row in rows:
        result.setdefault(row.shipment_line_id, []).append(row)
    return result


def receipt_lots(session: Session, line_ids: Iterable[int]) -> dict[int, list[ReceiptLot]]:
    """The lots each shipment line was received in, by shipment line id (by lot number)."""
    ids = set(line_ids)
    result: dict[int, list[ReceiptLot]] = {}
    if not ids:
        return result
    rows = session.execute(
        select(ReceiptLot).where(col(ReceiptLot.shipment_line_id).in_(ids)).order_by(col(ReceiptLot.lot_no))
    ).scalars()
    for row in rows:
        result.setdefault(row.shipment_line_id, []).append(row)
    return result


@dataclass
class LineInspection:
    """How one counted receipt line is inspected before posting (its SKU's settings), if at all."""

    line_no: int
    sku_id: int
    inspect: bool
    inspection_level: str
    aql_critical: str
    aql_major: str
    aql_minor: str


def receipt_inspections(
    session: Session, po: PurchaseOrder, counted: Mapping[int, int]
) -> list[LineInspection]:
    """Per counted line: whether its lot is inspected, from the SKU's `inspection_mode`.

    ALWAYS inspects every lot; NEVER none. SKIP_LOT (for trusted suppliers) inspects every lot too
    for now: the skip-lot rule (how many accepted lots let a supplier skip, which lots are still
    drawn) is not decided yet. A line counted 0 has no lot to inspect.
    """
    lines = po_lines(session, po)
    result: list[LineInspection] = []
    for line_no in sorted(counted):
        sku = session.get(Sku, lines[line_no].sku_id)
        assert sku is not None and sku.id is not None
        result.append(
            LineInspection(
                line_no=line_no,
                sku_id=sku.id,
                inspect=counted[line_no] > 0 and sku.inspection_mode is not InspectionMode.NEVER,
                inspection_level=sku.inspection_level,
                aql_critical=sku.aql_critical,
                aql_major=sku.aql_major,
                aql_minor=sku.aql_minor,
            )
        )
    return result


# --- who hears about it ---------------------------------------------------------------------------


def may_receive(user: Principal, po: PurchaseOrder) -> bool:
    """Who counts a PO's shipments in: HQ's warehouse staff, or, for a PO the supplier delivers
    straight to a store, the store staff working at that store."""
    if user.is_hq and user.has_role(Role.WAREHOUSE):
        return True
    return (
        user.has_role(Role.STORE)
        and user.location_id is not None
        and user.location_id == po.ship_to_location_id
    )


def recipients(session: Session, po: PurchaseOrder, audience: Audience) -> list[int]:
    """The active users a notification about `po` goes to."""
    if audience is Audience.SUPPLIER:
        return users_with_role(session, Role.SUPPLIER, po.supplier_id)
    if audience is Audience.REQUESTER:
        requester = session.get(User, po.requester_user_id)
        return [po.requester_user_id] if requester is not None and requester.is_active else []
    if audience is Audience.BUYERS:
        hq_ids = session.execute(
            select(col(Organisation.id)).where(col(Organisation.kind) == OrgKind.HQ)
        ).scalars()
        return [uid for org_id in hq_ids for uid in users_with_role(session, Role.BUYER, org_id)]
    # Warehouse staff working at the ship-to location; else every warehouse user of its organisation.
    # A PO delivered straight to a store: the staff of that store.
    location = session.get(Location, po.ship_to_location_id)
    assert location is not None
    at_store = location.kind is LocationKind.STORE
    staff = users_with_role(session, Role.STORE if at_store else Role.WAREHOUSE, location.organisation_id)
    at_location = set(
        session.execute(
            select(col(User.id)).where(
                col(User.id).in_(staff), col(User.location_id) == po.ship_to_location_id
            )
        ).scalars()
    )
    return [uid for uid in staff if uid in at_location] or ([] if at_store else staff)


def notify(
    session: Session, po: PurchaseOrder, notice: Notice, *, idempotency_key: str
) -> list[Notification]:
    """Tell the notice's audience about `po`, linking to its page (one row per person, once per key)."""
    return notifications.notify(
        session,
        user_ids=recipients(session, po, notice.audience),
        message=notice.message,
        idempotency_key=idempotency_key,
        params={"number": po.number, **notice.params},
        link=po_link(po.number),
        document_type=DOCUMENT_TYPE,
        document_id=po.number,
    )
