"""A transfer's state and the rules of each step (what may be dispatched, received, cancelled).

Pure: TransferWorkflow's validators, the pages and the tests use them alike.

- Dispatch: only a reserved transfer, with a carrier and an expected arrival from today to a year
  ahead. Every line leaves whole (the reservation is what leaves).
- Receipt: every line still on its way is counted: good quantity into the destination's stock,
  damaged quantity part of the loss; good + damaged never more than what is on its way. What is
  neither good nor counted damaged is short. A loss (short + damaged) waits for HQ approval; a
  rejected loss stays on its way so the destination can count again.
- Cancel: before dispatch (pending approval or reserved), with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from supplychain.i18n import lazy
from supplychain.models.transfer import TransferStatus
from supplychain.rules.refusal import Refused

CARRIER_MAX_LENGTH = 100
TRACKING_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500
LATEST_ARRIVAL = timedelta(days=365)
CANCELLABLE = frozenset({TransferStatus.REQUESTED, TransferStatus.PENDING_APPROVAL, TransferStatus.RESERVED})


@dataclass
class TransferLineState:
    line_no: int
    sku_id: int
    quantity: int
    quantity_received: int = 0
    quantity_damaged: int = 0
    quantity_lost: int = 0  # written off after the loss was approved
    quantity_missing: int = 0  # short or damaged at the last receipt, waiting for the loss decision

    @property
    def on_its_way(self) -> int:
        """Still to be counted at the destination."""
        return self.quantity - self.quantity_received - self.quantity_lost - self.quantity_missing


@dataclass
class TransferState:
    number: str
    status: TransferStatus
    lines: list[TransferLineState]
    recorded: bool = False
    approval_workflow_id: str | None = None
    loss_approval_workflow_id: str | None = None
    carrier: str = ""
    tracking_number: str = ""
    expected_arrival: date | None = None
    receipts: int = 0
    status_reason: str = ""

    def line(self, line_no: int) -> TransferLineState:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise KeyError(line_no)


@dataclass
class DispatchTransferInput:
    actor_user_id: int
    carrier: str
    expected_arrival: date
    tracking_number: str = ""


@dataclass
class ReceivedLine:
    line_no: int
    quantity_received: int
    quantity_damaged: int = 0


@dataclass
class ReceiveTransferInput:
    actor_user_id: int
    lines: list[ReceivedLine] = field(default_factory=list)
    note: str = ""


@dataclass
class CancelTransferInput:
    actor_user_id: int
    reason: str


def check_dispatch(state: TransferState, input: DispatchTransferInput, *, today: date) -> None:
    if state.status is not TransferStatus.RESERVED:
        raise Refused(_not_now(state.status))
    carrier = input.carrier.strip()
    if not carrier:
        raise Refused(lazy("Enter the carrier."))
    if len(carrier) > CARRIER_MAX_LENGTH or len(input.tracking_number.strip()) > TRACKING_MAX_LENGTH:
        raise Refused(
            lazy("Carrier and tracking number are at most %(max)s characters."), max=CARRIER_MAX_LENGTH
        )
    if input.expected_arrival < today:
        raise Refused(lazy("The expected arrival cannot be in the past."))
    if input.expected_arrival > today + LATEST_ARRIVAL:
        raise Refused(lazy("The expected arrival must be within a year."))


def check_receive(state: TransferState, input: ReceiveTransferInput) -> None:
    if state.status is not TransferStatus.IN_TRANSIT:
        raise Refused(_not_now(state.status))
    counted = [line.line_no for line in input.lines]
    if len(set(counted)) != len(counted):
        raise Refused(lazy("Each line can be counted once per receipt."))
    known = {line.line_no for line in state.lines}
    unknown = sorted(set(counted) - known)
    if unknown:
        raise Refused(lazy("This transfer has no line %(line)s."), line=unknown[0])
    waiting = {line.line_no for line in state.lines if line.on_its_way > 0}
    missing = sorted(waiting - set(counted))
    if missing:
        raise Refused(lazy("Count line %(line)s too: enter 0 when nothing of it arrived."), line=missing[0])
    for received in input.lines:
        line = state.line(received.line_no)
        if received.quantity_received < 0 or received.quantity_damaged < 0:
            raise Refused(lazy("Line %(line)s: quantities cannot be negative."), line=line.line_no)
        if received.quantity_received + received.quantity_damaged > line.on_its_way:
            raise Refused(
                lazy("Line %(line)s: at most %(quantity)s are on their way."),
                line=line.line_no,
                quantity=line.on_its_way,
            )
    if len(input.note) > REASON_MAX_LENGTH:
        raise Refused(lazy("The note is too long (at most %(max)s characters)."), max=REASON_MAX_LENGTH)


def check_cancel(state: TransferState, input: CancelTransferInput) -> None:
    if state.status not in CANCELLABLE:
        raise Refused(lazy("Transfer %(number)s can no longer be cancelled."), number=state.number)
    reason = input.reason.strip()
    if not reason:
        raise Refused(lazy("Enter a reason for the cancellation."))
    if len(reason) > REASON_MAX_LENGTH:
        raise Refused(lazy("The reason is too long (at most %(max)s characters)."), max=REASON_MAX_LENGTH)


def loss_of(state: TransferState, input: ReceiveTransferInput) -> dict[int, int]:
    """Per line, what this receipt leaves missing (short + damaged)."""
    counted = {line.line_no: line for line in input.lines}
    return {
        line.line_no: line.on_its_way - counted[line.line_no].quantity_received
        for line in state.lines
        if line.line_no in counted and line.on_its_way - counted[line.line_no].quantity_received > 0
    }


def _not_now(status: TransferStatus) -> str:
    messages = {
        TransferStatus.REQUESTED: lazy("This transfer's stock is still being reserved."),
        TransferStatus.PENDING_APPROVAL: lazy("This transfer is waiting for HQ approval."),
        TransferStatus.RESERVED: lazy("This transfer has not been dispatched yet."),
        TransferStatus.IN_TRANSIT: lazy("This transfer is already on its way."),
        TransferStatus.LOSS_PENDING: lazy("This transfer's loss is waiting for HQ approval."),
    }
    return messages.get(status, lazy("This transfer is finished."))
