"""Transfers in the database: recording one, and writing each step TransferWorkflow decides (its stock
movements, the rows' new figures, the timeline event and whom it tells) in one transaction.

Every stock movement goes through `supplychain.stock.post_movement` with its idempotency key
(`<workflow id>:<step>:<line no>`), so a retried step posts nothing twice; a movement the stock
cannot bear (`InsufficientStock`) fails the whole step and nothing of it is written.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from supplychain import notifications
from supplychain.db import insert_once
from supplychain.events import record_event, record_event_once
from supplychain.models import (
    DocumentEvent,
    Location,
    MovementType,
    Organisation,
    OrgKind,
    PriceListEntry,
    Role,
    Transfer,
    TransferLine,
    TransferOrigin,
    TransferStatus,
    User,
)
from supplychain.models.base import utcnow
from supplychain.models.events import Notification
from supplychain.notifications import users_with_role
from supplychain.numbering import reserve_number
from supplychain.rules.money import line_net, round_money
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement

DOCUMENT_TYPE = "transfer"
NUMBER_PREFIX = "TR"


def transfer_workflow_id(number: str) -> str:
    return number.lower()


def transfer_link(number: str) -> str:
    return f"/transfers/{number}"


class Audience(enum.StrEnum):
    SOURCE = "source"  # staff of the location the goods leave
    DESTINATION = "destination"  # staff of the location that receives
    REQUESTER = "requester"
    HQ_LOGISTICS = "hq_logistics"  # HQ buyers: an undispatched transfer escalates to them


@dataclass
class Notice:
    audience: Audience
    message: str  # a message id from the catalogue; the transfer's number is added as `number`
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class NewTransferLine:
    line_no: int
    sku_id: int
    quantity: int


@dataclass
class Movement:
    """One ledger posting a step makes."""

    location_id: int
    sku_id: int
    movement_type: MovementType
    delta: StockDelta
    idempotency_key: str
    note: str = ""


@dataclass
class LineFigures:
    """A line's quantities as the workflow holds them (written as absolute values)."""

    line_no: int
    quantity_received: int
    quantity_damaged: int
    quantity_lost: int


@dataclass
class TransferStep:
    number: str
    action: str  # the timeline entry: "reserved", "dispatched", "received", "loss_written_off", ...
    idempotency_key: str  # `<workflow id>:<action>:<n>`; a notice's `<key>:<audience>`
    status: TransferStatus | None = None  # None: as it is (a reminder)
    lines: list[LineFigures] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    carrier: str | None = None
    tracking_number: str | None = None
    expected_arrival: date | None = None
    status_reason: str | None = None
    actor_user_id: int | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    occurred_at: datetime | None = None


# --- recording ------------------------------------------------------------------------------------


def get_transfer(session: Session, number: str) -> Transfer | None:
    return session.execute(select(Transfer).where(col(Transfer.number) == number)).scalar_one_or_none()


def require_transfer(session: Session, number: str) -> Transfer:
    transfer = get_transfer(session, number)
    if transfer is None:
        raise LookupError(f"transfer {number} not recorded")
    return transfer


def transfer_lines(session: Session, transfer_id: int) -> list[TransferLine]:
    return list(
        session.execute(
            select(TransferLine)
            .where(col(TransferLine.transfer_id) == transfer_id)
            .order_by(col(TransferLine.line_no))
        ).scalars()
    )


ONWARD_ACTION = "transferred_on"  # on the purchase order's timeline


def reserve_onward_transfer(
    session: Session,
    *,
    purchase_order_number: str,
    idempotency_key: str,
    year: int,
    lines: Sequence[NewTransferLine],
    occurred_at: datetime | None = None,
) -> str:
    """The number of the transfer taking a PO's accepted goods on to the store that asked for them,
    reserved once per key: the PO's timeline event under `idempotency_key` holds it, so a retried
    activity answers with the number it reserved the first time. Commits."""

    def known() -> str | None:
        event = session.execute(
            select(DocumentEvent).where(col(DocumentEvent.idempotency_key) == idempotency_key)
        ).scalar_one_or_none()
        return str(event.after["transfer"]) if event is not None and event.after else None

    number = known()
    if number is not None:
        return number
    number = reserve_number(session, NUMBER_PREFIX, year)  # commits; a lost race leaves a gap
    event, _created = record_event_once(
        session,
        document_type="purchase_order",
        document_id=purchase_order_number,
        action=ONWARD_ACTION,
        idempotency_key=idempotency_key,
        after={"transfer": number, "lines": {str(line.line_no): line.quantity for line in lines}},
        occurred_at=occurred_at,
    )
    session.commit()
    assert event.after is not None
    return str(event.after["transfer"])


def needs_approval(session: Session, source_location_id: int, destination_location_id: int) -> bool:
    """HQ approves a transfer between regions; within a region (a warehouse serving its stores) the
    stock is the region's own to move."""
    source = session.get(Location, source_location_id)
    destination = session.get(Location, destination_location_id)
    assert source is not None and destination is not None
    return source.region_id != destination.region_id


def create_transfer(
    session: Session,
    *,
    number: str,
    workflow_id: str,
    origin: TransferOrigin,
    source_location_id: int,
    destination_location_id: int,
    requested_by_user_id: int,
    needs_approval: bool,
    lines: Sequence[NewTransferLine],
    idempotency_key: str,
    note: str = "",
    purchase_order_number: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    """The transfer and its lines, and its first timeline event; a retry finds them written."""
    source = session.get(Location, source_location_id)
    destination = session.get(Location, destination_location_id)
    assert source is not None and destination is not None
    transfer, created = insert_once(
        session,
        Transfer(
            number=number,
            workflow_id=workflow_id,
            status=TransferStatus.PENDING_APPROVAL if needs_approval else TransferStatus.REQUESTED,
            origin=origin,
            source_location_id=source_location_id,
            destination_location_id=destination_location_id,
            source_org_id=source.organisation_id,
            destination_org_id=destination.organisation_id,
            requested_by_user_id=requested_by_user_id,
            needs_approval=needs_approval,
            note=note[:500],
            purchase_order_number=purchase_order_number,
            created_at=at or utcnow(),
        ),
        lambda: get_transfer(session, number),
    )
    if created:
        assert transfer.id is not None
        for line in lines:
            session.add(
                TransferLine(
                    transfer_id=transfer.id, line_no=line.line_no, sku_id=line.sku_id, quantity=line.quantity
                )
            )
        session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=number,
        action="created",
        idempotency_key=idempotency_key,
        actor_user_id=requested_by_user_id,
        after={"origin": origin, "lines": len(lines)},
        note=note,
        occurred_at=at,
    )
    return transfer


def record_step(session: Session, step: TransferStep) -> list[Notification]:
    """Write one step: its movements, the lines' figures, the transfer's status and facts, the event
    and the notices. Raises InsufficientStock (nothing written) when the stock cannot bear a
    movement."""
    transfer = require_transfer(session, step.number)
    assert transfer.id is not None
    at = step.occurred_at or utcnow()
    for movement in step.movements:
        post_movement(
            session,
            idempotency_key=movement.idempotency_key,
            location_id=movement.location_id,
            sku_id=movement.sku_id,
            movement_type=movement.movement_type,
            delta=movement.delta,
            source_document_type=DOCUMENT_TYPE,
            source_document_id=transfer.number,
            actor_user_id=step.actor_user_id,
            note=movement.note,
        )
    transfer = require_transfer(session, step.number)  # post_movement expires the session's rows
    if step.lines:
        rows = {line.line_no: line for line in transfer_lines(session, transfer.id)}  # type: ignore[arg-type]
        for figures in step.lines:
            row = rows[figures.line_no]
            row.quantity_received = figures.quantity_received
            row.quantity_damaged = figures.quantity_damaged
            row.quantity_lost = figures.quantity_lost
            session.add(row)
    before: dict[str, Any] = {}
    after: dict[str, Any] = dict(step.details)
    if step.status is not None and step.status is not transfer.status:
        before["status"], after["status"] = transfer.status, step.status
        transfer.status = step.status
        if step.status is TransferStatus.IN_TRANSIT and transfer.dispatched_at is None:
            transfer.dispatched_at = at
        if step.status.is_final and transfer.completed_at is None:
            transfer.completed_at = at
    for name in ("carrier", "tracking_number", "expected_arrival", "status_reason"):
        value = getattr(step, name)
        if value is not None and value != getattr(transfer, name):
            after[name] = value
            setattr(transfer, name, value)
    session.add(transfer)
    session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=transfer.number,
        action=step.action,
        idempotency_key=step.idempotency_key,
        actor_user_id=step.actor_user_id,
        before=before or None,
        after=after or None,
        note=step.note,
        occurred_at=at,
    )
    return [
        row
        for notice in step.notices
        for row in notifications.notify(
            session,
            user_ids=recipients(session, transfer, notice.audience),
            message=notice.message,
            params={"number": transfer.number, **notice.params},
            idempotency_key=f"{step.idempotency_key}:{notice.audience}",
            link=transfer_link(transfer.number),
            document_type=DOCUMENT_TYPE,
            document_id=transfer.number,
        )
    ]


# --- who hears about it ---------------------------------------------------------------------------


def recipients(session: Session, transfer: Transfer, audience: Audience) -> list[int]:
    if audience is Audience.REQUESTER:
        requester = session.get(User, transfer.requested_by_user_id)
        return [requester.id] if requester is not None and requester.is_active and requester.id else []
    if audience is Audience.HQ_LOGISTICS:
        hq_ids = session.execute(
            select(col(Organisation.id)).where(col(Organisation.kind) == OrgKind.HQ)
        ).scalars()
        return [uid for org_id in hq_ids for uid in users_with_role(session, Role.BUYER, org_id)]
    location_id = (
        transfer.source_location_id if audience is Audience.SOURCE else transfer.destination_location_id
    )
    return location_staff(session, location_id)


def location_staff(session: Session, location_id: int) -> list[int]:
    """The active users working at the location; else the warehouse (or store) users of its
    organisation."""
    at_location = list(
        session.execute(
            select(col(User.id))
            .where(col(User.location_id) == location_id, col(User.is_active).is_(True))
            .order_by(col(User.id))
        ).scalars()
    )
    if at_location:
        return at_location
    location = session.get(Location, location_id)
    assert location is not None
    role = Role.WAREHOUSE if location.kind.is_warehouse else Role.STORE
    return users_with_role(session, role, location.organisation_id)


# --- value of goods moved or lost ----------------------------------------------------------------


def units_value(session: Session, missing: dict[int, int]) -> Decimal:
    """What the missing units (sku id -> quantity) are worth at the lowest active supplier price: the
    amount the loss's approver must be allowed to decide."""
    if not missing:
        return Decimal("0.00")
    prices = dict(
        session.execute(
            select(col(PriceListEntry.sku_id), func.min(PriceListEntry.unit_price))
            .where(col(PriceListEntry.sku_id).in_(missing), col(PriceListEntry.is_active).is_(True))
            .group_by(col(PriceListEntry.sku_id))
        ).all()
    )
    total = sum(
        (line_net(prices.get(sku_id) or Decimal(0), qty) for sku_id, qty in missing.items()), Decimal(0)
    )
    return round_money(total)
