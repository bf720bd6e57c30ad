"""Side effects of TransferWorkflow: recording the transfer, then one named activity per step
(reserved, dispatched, received, loss written off or refused, cancelled, reminders), each writing the
stock movements, the transfer's change, its timeline event and whom it tells in one transaction
(supplychain/transfers.py), e-mail after the commit. Sync activities on the worker's thread pool,
each safe to retry: rows are inserted once, figures written as absolute values, and every movement,
event and notification carries an idempotency key under a unique constraint."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import email_after_commit
from supplychain import transfers
from supplychain.db import session_scope
from supplychain.models import Location, TransferOrigin
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.settings import settings
from supplychain.stock import InsufficientStock
from supplychain.transfers import NewTransferLine, TransferStep

# The error type a step the stock cannot bear fails with (not retried: nothing of it was written).
INSUFFICIENT_STOCK = "InsufficientStock"


@dataclass
class RecordTransferInput:
    number: str
    workflow_id: str
    origin: TransferOrigin
    source_location_id: int
    destination_location_id: int
    requested_by_user_id: int
    needs_approval: bool
    lines: list[NewTransferLine]
    idempotency_key: str
    occurred_at: datetime
    note: str = ""
    purchase_order_number: str | None = None


@dataclass
class RecordTransferResult:
    summary: str  # "<source> → <destination>", for the approval queue


@activity.defn
def record_transfer(input: RecordTransferInput) -> RecordTransferResult:
    with session_scope() as session:
        transfers.create_transfer(
            session,
            number=input.number,
            workflow_id=input.workflow_id,
            origin=input.origin,
            source_location_id=input.source_location_id,
            destination_location_id=input.destination_location_id,
            requested_by_user_id=input.requested_by_user_id,
            needs_approval=input.needs_approval,
            lines=input.lines,
            idempotency_key=input.idempotency_key,
            note=input.note,
            purchase_order_number=input.purchase_order_number,
            at=input.occurred_at,
        )
        source = session.get(Location, input.source_location_id)
        destination = session.get(Location, input.destination_location_id)
        assert source is not None and destination is not None
        return RecordTransferResult(summary=f"{source.name} → {destination.name}")


@dataclass
class TransferStepResult:
    user_ids: list[int] = field(default_factory=list)  # who was told
    emailed: int = 0


def _record(step: TransferStep) -> TransferStepResult:
    try:
        with session_scope() as session:
            told = transfers.record_step(session, step)
            ids = [row.id for row in told if row.id is not None]
            user_ids = [row.user_id for row in told]
    except InsufficientStock as exc:
        raise ApplicationError(str(exc), type=INSUFFICIENT_STOCK, non_retryable=True) from exc
    return TransferStepResult(user_ids=user_ids, emailed=email_after_commit(ids))


@activity.defn
def record_transfer_reserved(step: TransferStep) -> TransferStepResult:
    """Every line reserved at the source in one transaction (RESERVED), or none: fails with
    InsufficientStock when the source cannot hold them all."""
    return _record(step)


@activity.defn
def record_transfer_not_available(step: TransferStep) -> TransferStepResult:
    """The source could not reserve the lines (NOT_AVAILABLE); the requester is told."""
    return _record(step)


@activity.defn
def record_transfer_approval_rejected(step: TransferStep) -> TransferStepResult:
    return _record(step)


@activity.defn
def record_transfer_dispatched(step: TransferStep) -> TransferStepResult:
    """Reserved stock leaves the source and is in transit to the destination (IN_TRANSIT)."""
    return _record(step)


@activity.defn
def record_transfer_received(step: TransferStep) -> TransferStepResult:
    """Counted goods into the destination's stock; a loss waits for approval (LOSS_PENDING) or the
    transfer is done (COMPLETED)."""
    return _record(step)


@activity.defn
def record_transfer_loss_decided(step: TransferStep) -> TransferStepResult:
    """The loss written off (COMPLETED) or refused: back in transit for another count."""
    return _record(step)


@activity.defn
def record_transfer_cancelled(step: TransferStep) -> TransferStepResult:
    """Cancelled before dispatch; the reservation released."""
    return _record(step)


@activity.defn
def record_transfer_reminder(step: TransferStep) -> TransferStepResult:
    """Not dispatched in time: a reminder to the source, then the escalation to HQ."""
    return _record(step)


@dataclass
class TransferValueInput:
    lines: list[NewTransferLine]  # the units to value (a transfer's lines, or a receipt's loss)


@activity.defn
def value_transfer_units(input: TransferValueInput) -> Decimal:
    """What the units are worth at the lowest active supplier price: the amount an approval step
    (the transfer, or its loss) is decided at."""
    quantities: dict[int, int] = {}
    for line in input.lines:
        quantities[line.sku_id] = quantities.get(line.sku_id, 0) + line.quantity
    with session_scope() as session:
        return transfers.units_value(session, quantities)


@dataclass
class OnwardTransferInput:
    purchase_order_number: str
    source_location_id: int  # the warehouse the PO delivered to
    destination_location_id: int  # the store that asked
    lines: list[NewTransferLine]
    idempotency_key: str  # `<PO workflow id>:transfer_on:<n>`: one number per onward transfer
    occurred_at: datetime


@dataclass
class OnwardTransfer:
    """What the PO's workflow needs to start the onward TransferWorkflow: its number, whether HQ
    approves it, and the transfer SLAs from the settings (the workflow cannot read settings)."""

    number: str
    needs_approval: bool
    dispatch_reminder_after: timedelta
    dispatch_escalation_after: timedelta
    approval_reminder_after: timedelta
    approval_escalation_after: timedelta


@activity.defn
def reserve_onward_transfer(input: OnwardTransferInput) -> OnwardTransfer:
    with session_scope() as session:
        number = transfers.reserve_onward_transfer(
            session,
            purchase_order_number=input.purchase_order_number,
            idempotency_key=input.idempotency_key,
            year=input.occurred_at.astimezone(BUSINESS_TIMEZONE).year,
            lines=input.lines,
            occurred_at=input.occurred_at,
        )
        return OnwardTransfer(
            number=number,
            needs_approval=transfers.needs_approval(
                session, input.source_location_id, input.destination_location_id
            ),
            dispatch_reminder_after=timedelta(hours=settings.TRANSFER_DISPATCH_REMINDER_HOURS),
            dispatch_escalation_after=timedelta(hours=settings.TRANSFER_DISPATCH_ESCALATION_HOURS),
            approval_reminder_after=timedelta(hours=settings.APPROVAL_REMINDER_HOURS),
            approval_escalation_after=timedelta(hours=settings.APPROVAL_ESCALATION_HOURS),
        )
