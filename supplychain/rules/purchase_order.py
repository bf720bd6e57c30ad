"""A purchase order as its process holds it, the inputs of the steps people take, and when it is done.

Pure: no clock, no I/O, no Temporal. ReplenishmentWorkflow keeps one `PurchaseOrderState` and
changes it step by step with these rules; what each step may do is checked by
`supplychain.rules.purchase_order_checks`. The dataclasses are the workflow's Update inputs and
query result (`workflows.replenishment` re-exports them): Temporal carries them as JSON, so they
can live here without changing a payload.

- A line is OPEN until it settles:
  - confirmed 0 by the supplier (cannot supply) -> CANCELLED;
  - received at least what was ordered, with nothing of it still in transit -> RECEIVED
    (an over-receipt settles it too);
  - short-closed by the buyer -> SHORT_CLOSED (set by the buyer's action, not by this rule).
  A line confirmed short, or received short, stays OPEN as a backorder: the supplier may confirm
  more later, and the buyer decides when to stop waiting (short-close).
- The order is finished when every line is settled and no inspection is pending: CLOSED when
  anything was received, CANCELLED when nothing was (every line cancelled or short-closed before
  any delivery).
- A promised date is overdue from the end of that day in China (midnight, Asia/Shanghai).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from supplychain.models.purchasing import POLineStatus, POStatus
from supplychain.rules.dates import BUSINESS_TIMEZONE


@dataclass
class Batch:
    """A batch of a shipment line as the ASN announces it, or a lot of a receipt line as counted.

    A receipt lot of a SKU that is not batch-tracked is a tranche: a quantity without a batch number.
    """

    batch_no: str = ""
    expiry_date: date | None = None
    quantity: int = 0


# --- what people send (the Updates' inputs) -------------------------------------------------------


@dataclass
class LineConfirmation:
    line_no: int
    quantity: int  # 0..ordered; 0 = cannot supply this line
    promised_date: date | None  # required when quantity > 0; not in the past


@dataclass
class ConfirmLinesInput:
    actor_user_id: int
    lines: list[LineConfirmation]


@dataclass
class RejectPOInput:
    actor_user_id: int
    reason: str


@dataclass
class ShipmentLineInput:
    line_no: int
    quantity: int
    batches: list[Batch] = field(default_factory=list)  # required for a batch-tracked SKU


@dataclass
class CreateShipmentInput:
    actor_user_id: int
    shipment_number: str  # reserved by the web route (SHP-2026-000001)
    carrier: str
    tracking_number: str
    eta: date
    lines: list[ShipmentLineInput]


@dataclass
class ReceiptLineInput:
    line_no: int
    quantity_received: int  # counted; may differ from what was shipped (over/short)
    # The counted quantity split into lots (batches, or tranches), each inspected on its own;
    # [] = one lot of everything counted.
    lots: list[Batch] = field(default_factory=list)


@dataclass
class RecordReceiptInput:
    actor_user_id: int
    shipment_number: str
    lines: list[ReceiptLineInput]


@dataclass
class CancelPOInput:
    actor_user_id: int
    reason: str


@dataclass
class ShortCloseLineInput:
    actor_user_id: int
    line_no: int
    reason: str = ""


# --- the state ------------------------------------------------------------------------------------


@dataclass
class LineState:
    line_no: int
    sku_id: int
    quantity_ordered: int
    quantity_confirmed: int | None = None
    promised_date: date | None = None
    quantity_shipped: int = 0
    quantity_received: int = 0
    status: POLineStatus = POLineStatus.OPEN
    overdue_alerted_for: date | None = None  # the promised date the buyers were alerted about
    quantity_inspecting: int = 0  # received, waiting for its inspection verdict (not in stock yet)
    quantity_rejected: int = 0  # rejected by inspection: not posted (HQ's decision comes later)


@dataclass
class ShipmentState:
    number: str
    eta: date
    lines: dict[int, int]  # line_no -> quantity shipped
    received: dict[int, int] | None = None  # line_no -> quantity counted, once received


@dataclass
class PendingInspection:
    """An inspection child started for a receipt line; its accepted quantity is posted when it ends."""

    workflow_id: str
    shipment_number: str
    line_no: int
    lot_size: int
    actor_user_id: int  # who recorded the receipt: the stock posting is in their name
    quarantined: bool = False  # the lot is in quarantine stock; the inspection releases or returns it
    lot_no: int = 1  # which lot of the receipt line (batch or tranche), for the timeline
    batch_no: str = ""


@dataclass
class PurchaseOrderState:
    number: str
    status: POStatus
    lines: list[LineState] = field(default_factory=list)
    shipments: list[ShipmentState] = field(default_factory=list)
    recorded: bool = False
    approval_workflow_id: str | None = None
    status_reason: str = ""
    inspections: list[PendingInspection] = field(default_factory=list)  # not finished yet
    transfers_on: list[str] = field(default_factory=list)  # transfers taking the goods on to the store

    def line(self, line_no: int) -> LineState:
        return next(line for line in self.lines if line.line_no == line_no)

    def shipment(self, number: str) -> ShipmentState | None:
        return next((s for s in self.shipments if s.number == number), None)


# --- the rules ------------------------------------------------------------------------------------


def settle_line(
    status: POLineStatus, *, ordered: int, confirmed: int | None, received: int, in_transit: int
) -> POLineStatus:
    """The status of a line after a change to its quantities (a settled line stays as it is)."""
    if status is not POLineStatus.OPEN:
        return status
    if in_transit > 0:
        return POLineStatus.OPEN
    if received >= ordered:
        return POLineStatus.RECEIVED
    if confirmed == 0 and received == 0:
        return POLineStatus.CANCELLED
    return POLineStatus.OPEN


def finished_status(line_statuses: Iterable[POLineStatus], *, received_any: bool) -> POStatus | None:
    """CLOSED or CANCELLED once no line is open; None while some line still is."""
    if any(status is POLineStatus.OPEN for status in line_statuses):
        return None
    return POStatus.CLOSED if received_any else POStatus.CANCELLED


def overdue_from(promised_date: date) -> datetime:
    """The moment a delivery promised for `promised_date` becomes overdue: that day's end in China."""
    return datetime.combine(promised_date + timedelta(days=1), time(0), tzinfo=BUSINESS_TIMEZONE)


def in_transit(po: PurchaseOrderState, line_no: int, *, except_shipment: str | None = None) -> int:
    """What of the line is shipped and not received yet (leaving out the shipment being received)."""
    return sum(
        shipment.lines.get(line_no, 0)
        for shipment in po.shipments
        if shipment.received is None and shipment.number != except_shipment
    )


def settled(po: PurchaseOrderState, line: LineState, *, receiving: str | None = None) -> LineState:
    """`line` (with its new quantities) and the status they give it; `receiving`: the shipment whose
    receipt is being recorded, no longer in transit."""
    status = settle_line(
        line.status,
        ordered=line.quantity_ordered,
        confirmed=line.quantity_confirmed,
        received=line.quantity_received,
        in_transit=in_transit(po, line.line_no, except_shipment=receiving),
    )
    return replace(line, status=status)


def has_backorder(line: LineState) -> bool:
    return line.status is POLineStatus.OPEN and (line.quantity_confirmed or 0) < line.quantity_ordered


def finish_after(po: PurchaseOrderState, changed: Sequence[LineState]) -> POStatus | None:
    """How the order ends once `changed` replaces its lines: CLOSED or CANCELLED, or None while a
    line is open or an inspection pending."""
    if po.inspections:
        return None
    by_no = {line.line_no: line for line in changed}
    lines = [by_no.get(line.line_no, line) for line in po.lines]
    return finished_status(
        (line.status for line in lines), received_any=any(line.quantity_received > 0 for line in lines)
    )
