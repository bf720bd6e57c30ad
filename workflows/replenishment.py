"""Replenishment: one purchase order from a store's request to stock in the warehouse.

INTERFACE FIXED, BODY TO BE WRITTEN (issue 4). One `ReplenishmentWorkflow` per purchase order,
workflow id `po_workflow_id("PO-2026-000123") == "po-2026-000123"`.

1. Record the PO and its lines (activity), then answer the creator's `wait_recorded` Update.
2. If the amount exceeds the requester's limit: the shared approval step (child ApprovalWorkflow).
   Rejected -> APPROVAL_REJECTED, done.
3. Sent to the supplier (notified). Supplier confirmation SLA: reminder to the supplier after
   CONFIRM_REMINDER_AFTER, escalation to the buyers after CONFIRM_ESCALATION_AFTER.
4. `confirm_lines`: per line a quantity up to what was ordered and a promised date not in the past;
   or `reject_po` with a reason -> SUPPLIER_REJECTED. A line confirmed short keeps the rest as a
   backorder (the supplier may confirm more later) until the buyer short-closes it.
5. `create_shipment` (ASN: carrier, tracking number, ETA, quantities up to confirmed-not-yet-shipped).
6. `record_receipt` for a shipment: counted quantity per line (over/short recorded), then the
   quality-inspection seam (issue 5 puts InspectionWorkflow there), then the accepted quantity is
   posted to the stock ledger at the ship-to warehouse (idempotent per shipment line).
7. Closes when every line is received, short-closed or cancelled. `cancel_po` (buyer, with reason)
   is possible until the first shipment and releases what the PO held (an open approval step,
   timers). Promised-date overdue alert to the buyers for lines not delivered by their date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from supplychain.models.purchasing import POLineStatus, POStatus

CONFIRM_REMINDER_AFTER = timedelta(hours=24)
CONFIRM_ESCALATION_AFTER = timedelta(hours=48)


def po_workflow_id(number: str) -> str:
    return number.lower()


# --- start -------------------------------------------------------------------------------------


@dataclass
class POLineInput:
    line_no: int
    sku_id: int
    quantity_requested: int
    quantity_ordered: int  # after MOQ and pack-size rounding
    unit_price: Decimal
    tax_rate: Decimal


@dataclass
class ReplenishmentInput:
    number: str
    supplier_id: int
    requester_user_id: int
    requester_org_id: int
    requested_for_location_id: int  # the store that asked
    ship_to_location_id: int  # the warehouse that receives
    lines: list[POLineInput]
    needs_approval: bool
    note: str = ""
    confirm_reminder_after: timedelta = CONFIRM_REMINDER_AFTER
    confirm_escalation_after: timedelta = CONFIRM_ESCALATION_AFTER
    approval_reminder_after: timedelta | None = None  # None: the approval step's defaults
    approval_escalation_after: timedelta | None = None


@dataclass
class ReplenishmentResult:
    number: str
    status: POStatus


# --- updates -----------------------------------------------------------------------------------


@dataclass
class WaitRecordedInput:
    pass


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


@dataclass
class POUpdateResult:
    status: POStatus


# --- query -------------------------------------------------------------------------------------


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


@dataclass
class ShipmentState:
    number: str
    eta: date
    lines: dict[int, int]  # line_no -> quantity shipped
    received: dict[int, int] | None = None  # line_no -> quantity counted, once received


@dataclass
class PurchaseOrderState:
    number: str
    status: POStatus
    lines: list[LineState] = field(default_factory=list)
    shipments: list[ShipmentState] = field(default_factory=list)
    recorded: bool = False
    approval_workflow_id: str | None = None
    status_reason: str = ""
