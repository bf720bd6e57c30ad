"""Replenishment: one purchase order from a store's request to stock in the warehouse.

One `ReplenishmentWorkflow` per purchase order, workflow id
`po_workflow_id("PO-2026-000123") == "po-2026-000123"`.

1. Record the PO and its lines (activity), then answer the creator's `wait_recorded` Update.
2. If the amount exceeds the requester's limit: the shared approval step (child ApprovalWorkflow).
   Rejected -> APPROVAL_REJECTED, done.
3. Sent to the supplier (notified). Supplier confirmation SLA: reminder to the supplier after
   `confirm_reminder_after`, escalation to the buyers after `confirm_escalation_after` (the
   PO_CONFIRM_*_HOURS settings; every SLA comes in the input, filled from the settings by the starter).
4. `confirm_lines`: per line a quantity up to what was ordered and a promised date not in the past;
   or `reject_po` with a reason -> SUPPLIER_REJECTED. A line confirmed short keeps the rest as a
   backorder (the supplier may confirm more later) until the buyer short-closes it.
5. `create_shipment` (ASN: carrier, tracking number, ETA, quantities up to confirmed-not-yet-shipped).
6. `record_receipt` for a shipment: counted quantity per line (over/short recorded). A line whose
   SKU needs inspection (`Sku.inspection_mode` always or skip_lot) starts a child InspectionWorkflow
   (the lot = the counted quantity; ISO 2859-1 sampling) and the Update returns: the warehouse
   user's click does not wait for the inspector. Other lines are posted to stock at once. When an
   inspection ends, its accepted quantity is posted to the stock ledger at the ship-to warehouse
   (idempotent per shipment line) and the rejected quantity is recorded (`inspection_finished`
   on the timeline, `LineState.quantity_rejected`): it is not posted; what happens to it is the
   inspection's HQ decision (the `_decide_rejected_lot` seam of workflows/inspection.py).
7. Closes when every line is received, short-closed or cancelled and no inspection is pending.
   `cancel_po` (buyer, with reason) is possible until the first shipment and releases what the PO
   held (an open approval step, timers). Promised-date overdue alert to the buyers for lines not
   delivered by their date.

Rules, in detail (the pure ones live in `supplychain.rules.purchase_order`):

- The first confirmation covers every line. Afterwards (CONFIRMED or IN_DELIVERY) the supplier may
  confirm again only lines with a backorder (open, confirmed < ordered), never below what was
  shipped already. A line confirmed 0 with nothing received is CANCELLED.
- A line is RECEIVED once what was received reaches what was ordered and nothing of it is in
  transit; an over-receipt is accepted and recorded as counted. A line received short stays open
  (the shortage shows on the shipment line) until the supplier confirms and ships more or the
  buyer short-closes it. Short-closing needs nothing of the line in transit and ends the line at
  what has been received.
- The PO is finished when no line is open: CLOSED if anything was received, else CANCELLED (every
  line cancelled or short-closed before any delivery, including a supplier confirming 0 for all).
- The counted quantity is what the receipt records; what inspection accepts (all of it for a SKU
  not inspected) is what is posted to stock, under the key `<workflow id>:receipt:<shipment>:<line
  no>` (into quarantine in several lots: one entry per lot, `...:lot:<n>`). A rejected lot does
  not hold the PO open: it closes once every inspection has ended (when HQ's decision on rejected
  lots lands in the inspection child, the PO waits for that too).
- Versioning: `workflow.patched(INSPECTION_PATCH)` guards the inspection step, so receipts in
  histories recorded before it (the committed happy path, POs running at deployment) replay as
  they ran: everything counted posted at once. The inspection child answers late clicks only for
  `inspection_answer_late_clicks_for` (10 minutes) so it does not hold the PO.
- Overdue: a line not fully received by the end of its promised date (China time) alerts the
  buyers once per promised date.
- Every Update refuses with a message a person can act on (validator), re-checks under the lock
  (two clicks at once: the second finds the new state), and returns after the activity recording
  its effect has committed. After the PO is finished the workflow keeps answering for
  `answer_late_clicks_for` (a stale page gets "this purchase order is closed", not an RPC error),
  then completes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError

from workflows.approval import ApprovalInput, ApprovalResult, ApprovalWorkflow, approval_workflow_id
from workflows.common import UpdateRejected, business_date
from workflows.inspection import (
    InspectionInput,
    InspectionResult,
    InspectionSettled,
    InspectionWorkflow,
    inspection_workflow_id,
)

with workflow.unsafe.imports_passed_through():
    from activities.replenishment import (
        CountedLine,
        NotifyPOInput,
        PostReceiptInput,
        RecordPOInput,
        RecordShipmentInput,
        RecordShipmentReceiptInput,
        RecordShipmentReceiptResult,
        ShippedLine,
        UpdatePOInput,
        notify_purchase_order,
        post_receipt_to_stock,
        record_purchase_order,
        record_shipment,
        record_shipment_receipt,
        update_purchase_order,
    )
    from supplychain import sla
    from supplychain.i18n import lazy
    from supplychain.models.inspection import InspectionSeverity
    from supplychain.models.purchasing import POLineStatus, POStatus
    from supplychain.purchasing import Audience, Batch, LineInspection, LineSnapshot, NewLine, po_link
    from supplychain.rules.purchase_order import finished_status, overdue_from, settle_line

# Defaults of the SLAs an input does not carry (whoever starts the PO passes the settings' values).
CONFIRM_REMINDER_AFTER = timedelta(hours=sla.PO_CONFIRM_REMINDER_HOURS)
CONFIRM_ESCALATION_AFTER = timedelta(hours=sla.PO_CONFIRM_ESCALATION_HOURS)
# After the PO is finished, a click from a page opened earlier still gets a clear refusal this long.
ANSWER_LATE_CLICKS_FOR = timedelta(days=1)
# An inspection started by the PO answers late inspector clicks only briefly: the PO waits for its
# result before it closes.
INSPECTION_ANSWER_LATE_CLICKS_FOR = timedelta(minutes=10)
# Workflow versioning: receipts recorded before this change post everything counted at once.
INSPECTION_PATCH = "inspection-before-posting"
# Receipts recorded after this change put an inspected line into quarantine stock at once (on hand,
# not available) and its inspection releases or returns it; before it, the PO posted what the
# inspection accepted when it ended.
QUARANTINE_PATCH = "quarantine-until-inspected"
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Database activities retry until the database is back; a bug shows up as retries in the UI.
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


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
    batch_tracked: bool = False  # the SKU's flag when the PO started: batch number + expiry required


# A batch on an ASN line, or a lot (batch or tranche) of a receipt line.
BatchInput = Batch


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
    # Passed on to each inspection, for HQ quality's decision on a rejected lot (None: its defaults).
    quality_decision_reminder_after: timedelta | None = None
    quality_decision_escalation_after: timedelta | None = None
    answer_late_clicks_for: timedelta = ANSWER_LATE_CLICKS_FOR
    inspection_answer_late_clicks_for: timedelta = INSPECTION_ANSWER_LATE_CLICKS_FOR


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
    batches: list[BatchInput] = field(default_factory=list)  # required for a batch-tracked SKU


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
    lots: list[BatchInput] = field(default_factory=list)


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


# --- the process -------------------------------------------------------------------------------

CONFIRMABLE = frozenset({POStatus.SENT, POStatus.CONFIRMED, POStatus.IN_DELIVERY})
SHIPPABLE = frozenset({POStatus.CONFIRMED, POStatus.IN_DELIVERY})
CANCELLABLE = frozenset({POStatus.PENDING_APPROVAL, POStatus.SENT, POStatus.CONFIRMED})


@workflow.defn
class ReplenishmentWorkflow:
    @workflow.init
    def __init__(self, input: ReplenishmentInput) -> None:
        self._input = input
        self._state = PurchaseOrderState(
            number=input.number,
            status=POStatus.PENDING_APPROVAL if input.needs_approval else POStatus.SENT,
            lines=[
                LineState(line_no=line.line_no, sku_id=line.sku_id, quantity_ordered=line.quantity_ordered)
                for line in input.lines
            ],
        )
        self._lock = asyncio.Lock()
        self._steps = 0  # numbers the idempotency keys of steps that can happen more than once
        self._revision = 0  # bumped by every change the delivery timers depend on
        self._approval: workflow.ChildWorkflowHandle[Any, ApprovalResult] | None = None
        self._approval_requested = False
        self._approval_settled = False
        self._cancelling = False
        # Inspection children by workflow id, until their result is posted.
        self._inspections: dict[str, workflow.ChildWorkflowHandle[Any, InspectionResult]] = {}
        # Results signalled by children whose quantities are final (before they complete).
        self._settled_inspections: dict[str, InspectionResult] = {}

    @workflow.run
    async def run(self, input: ReplenishmentInput) -> ReplenishmentResult:
        await self._record()
        if input.needs_approval:
            await self._get_approval()
        await self._send_to_supplier()
        await self._wait_for_confirmation()
        await self._follow_deliveries()
        await self._answer_late_clicks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ReplenishmentResult(number=self._state.number, status=self._state.status)

    # --- query -----------------------------------------------------------------------------------

    @workflow.query
    def get_state(self) -> PurchaseOrderState:
        return self._state

    # --- the story's steps -----------------------------------------------------------------------

    async def _record(self) -> None:
        input = self._input
        recorded = await self._activity(
            record_purchase_order,
            RecordPOInput(
                number=input.number,
                workflow_id=workflow.info().workflow_id,
                supplier_id=input.supplier_id,
                requester_user_id=input.requester_user_id,
                requester_org_id=input.requester_org_id,
                requested_for_location_id=input.requested_for_location_id,
                ship_to_location_id=input.ship_to_location_id,
                status=self._state.status,
                needs_approval=input.needs_approval,
                lines=[
                    NewLine(
                        line_no=line.line_no,
                        sku_id=line.sku_id,
                        quantity_requested=line.quantity_requested,
                        quantity_ordered=line.quantity_ordered,
                        unit_price=line.unit_price,
                        tax_rate=line.tax_rate,
                    )
                    for line in input.lines
                ],
                idempotency_key=self._key("created"),
                note=input.note,
                occurred_at=workflow.now(),
            ),
        )
        self._total_amount: Decimal = recorded.total_amount
        self._supplier_name: str = recorded.supplier_name
        self._state.recorded = True
        if self._input.needs_approval:
            self._approval_requested = True  # from here on a cancellation waits for the child to start

    async def _get_approval(self) -> None:
        """The shared approval step as a child workflow; a cancelled PO cancels it."""
        input = self._input
        approval = ApprovalInput(
            document_type="purchase_order",
            document_id=input.number,
            document_link=po_link(input.number),
            summary=f"{self._supplier_name} · {len(input.lines)}",
            amount=self._total_amount,
            requester_user_id=input.requester_user_id,
        )
        if input.approval_reminder_after is not None:
            approval.reminder_after = input.approval_reminder_after
        if input.approval_escalation_after is not None:
            approval.escalation_after = input.approval_escalation_after
        self._approval = await workflow.start_child_workflow(
            ApprovalWorkflow.run,
            approval,
            id=approval_workflow_id(workflow.info().workflow_id),
            cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        self._state.approval_workflow_id = self._approval.id
        try:
            result = await self._approval
        except (ChildWorkflowError, asyncio.CancelledError):
            if self._cancelling:  # cancel_po cancelled the step and records the rest
                return
            raise
        finally:
            self._approval_settled = True
        if not result.approved:
            async with self._lock:
                if not self._state.status.is_final:
                    await self._update(
                        "approval_rejected",
                        POStatus.APPROVAL_REJECTED,
                        status_reason=result.comment,
                        actor=result.decided_by_user_id,
                    )
                    self._state.status = POStatus.APPROVAL_REJECTED
                    self._state.status_reason = result.comment
                    self._changed()

    async def _send_to_supplier(self) -> None:
        async with self._lock:
            if self._state.status.is_final:
                return
            await self._update("sent", POStatus.SENT)
            self._state.status = POStatus.SENT
            self._changed()
            await self._notify(
                Audience.SUPPLIER, lazy("Purchase order %(number)s is waiting for your confirmation."), "sent"
            )

    async def _wait_for_confirmation(self) -> None:
        """The supplier confirmation SLA: a reminder to the supplier, then the buyers are told."""

        def answered() -> bool:
            return self._state.status is not POStatus.SENT

        if await self._wait(answered, self._input.confirm_reminder_after):
            return
        await self._notify(
            Audience.SUPPLIER,
            lazy("Reminder: purchase order %(number)s is still waiting for your confirmation."),
            "confirm-reminder",
        )
        await self._record_only("confirmation_reminder_sent")
        remaining = self._input.confirm_escalation_after - self._input.confirm_reminder_after
        if remaining > timedelta(0) and await self._wait(answered, remaining):
            return
        if answered():
            return
        hours = int(self._input.confirm_escalation_after.total_seconds() // 3600)
        await self._notify(
            Audience.BUYERS,
            lazy("The supplier has not confirmed purchase order %(number)s within %(hours)s hours."),
            "confirm-escalation",
            hours=hours,
        )
        await self._record_only("confirmation_escalated", hours=hours)
        await workflow.wait_condition(answered)

    async def _follow_deliveries(self) -> None:
        """Until the PO is finished: alert the buyers once per line whose promised date has passed."""
        while not self._state.status.is_final:
            await self._post_finished_inspections()
            if self._state.status.is_final:
                break
            revision = self._revision
            due = self._next_overdue_moment()

            def changed(seen: int = revision) -> bool:
                return self._state.status.is_final or self._revision != seen or self._inspection_done()

            if due is None:
                await workflow.wait_condition(changed)
                continue
            wait = due - workflow.now()
            if wait > timedelta(0) and await self._wait(changed, wait):
                continue
            await self._alert_overdue_lines()

    async def _answer_late_clicks(self) -> None:
        await self._wait(lambda: False, self._input.answer_late_clicks_for)

    # --- overdue alerts --------------------------------------------------------------------------

    def _overdue_candidates(self) -> list[LineState]:
        return [
            line
            for line in self._state.lines
            if line.status is POLineStatus.OPEN
            and line.promised_date is not None
            and line.quantity_received < (line.quantity_confirmed or 0)
            and line.overdue_alerted_for != line.promised_date
        ]

    def _next_overdue_moment(self) -> Any:
        dates = [line.promised_date for line in self._overdue_candidates() if line.promised_date]
        return min((overdue_from(promised) for promised in dates), default=None)

    async def _alert_overdue_lines(self) -> None:
        now = workflow.now()
        for line in self._overdue_candidates():
            promised = line.promised_date
            assert promised is not None
            if overdue_from(promised) > now:
                continue
            step = f"overdue:{line.line_no}:{promised.isoformat()}"
            await self._notify(
                Audience.BUYERS,
                lazy("Line %(line)s of purchase order %(number)s was promised for %(date)s and is overdue."),
                step,
                line=line.line_no,
                date=promised.isoformat(),
            )
            await self._record_only("line_overdue", line=line.line_no, promised_date=promised)
            line.overdue_alerted_for = promised

    # --- updates ---------------------------------------------------------------------------------

    @workflow.update
    async def wait_recorded(self, input: WaitRecordedInput) -> POUpdateResult:
        """Returns once the PO rows exist, so the creator can be redirected to its page."""
        await workflow.wait_condition(lambda: self._state.recorded)
        return POUpdateResult(status=self._state.status)

    @wait_recorded.validator
    def validate_wait_recorded(self, input: WaitRecordedInput) -> None:
        """Always accepted: it only waits."""

    @workflow.update
    async def confirm_lines(self, input: ConfirmLinesInput) -> POUpdateResult:
        async with self._lock:
            self._check_confirm_lines(input)
            first = self._state.status is POStatus.SENT
            changed: list[LineState] = []
            for confirmation in input.lines:
                line = self._line(confirmation.line_no)
                quantity = confirmation.quantity
                changed.append(
                    self._settled(
                        replace(
                            line,
                            quantity_confirmed=quantity,
                            promised_date=confirmation.promised_date if quantity > 0 else None,
                        )
                    )
                )
            status = POStatus.CONFIRMED if first else self._state.status
            await self._update("confirmed", status, lines=changed, actor=input.actor_user_id)
            self._apply(changed, status)
            await self._notify(
                Audience.REQUESTER,
                lazy("The supplier confirmed purchase order %(number)s."),
                f"confirmed:{self._steps}",
            )
            await self._finish_if_done(actor=input.actor_user_id)
            return POUpdateResult(status=self._state.status)

    @confirm_lines.validator
    def validate_confirm_lines(self, input: ConfirmLinesInput) -> None:
        self._check_confirm_lines(input)

    @workflow.update
    async def reject_po(self, input: RejectPOInput) -> POUpdateResult:
        async with self._lock:
            self._check_reject_po(input)
            reason = input.reason.strip()
            await self._update(
                "rejected_by_supplier",
                POStatus.SUPPLIER_REJECTED,
                status_reason=reason,
                actor=input.actor_user_id,
            )
            self._state.status = POStatus.SUPPLIER_REJECTED
            self._state.status_reason = reason
            self._changed()
            message = lazy("The supplier rejected purchase order %(number)s: %(reason)s")
            await self._notify(Audience.REQUESTER, message, "supplier-rejected", reason=reason)
            await self._notify(Audience.BUYERS, message, "supplier-rejected-buyers", reason=reason)
            return POUpdateResult(status=self._state.status)

    @reject_po.validator
    def validate_reject_po(self, input: RejectPOInput) -> None:
        self._check_reject_po(input)

    @workflow.update
    async def create_shipment(self, input: CreateShipmentInput) -> POUpdateResult:
        async with self._lock:
            self._check_create_shipment(input)
            quantities = {line.line_no: line.quantity for line in input.lines}
            changed = [
                replace(line, quantity_shipped=line.quantity_shipped + quantities[line.line_no])
                for line in self._state.lines
                if line.line_no in quantities
            ]
            status = POStatus.IN_DELIVERY
            await self._activity(
                record_shipment,
                RecordShipmentInput(
                    number=self._state.number,
                    shipment_number=input.shipment_number,
                    carrier=input.carrier.strip(),
                    tracking_number=input.tracking_number.strip(),
                    eta=input.eta,
                    actor_user_id=input.actor_user_id,
                    lines=[
                        ShippedLine(line_no=line.line_no, quantity=line.quantity, batches=list(line.batches))
                        for line in input.lines
                    ],
                    status=status,
                    line_snapshots=[_snapshot(line) for line in changed],
                    idempotency_key=self._key(f"shipment:{input.shipment_number}"),
                    occurred_at=workflow.now(),
                ),
            )
            self._state.shipments.append(
                ShipmentState(number=input.shipment_number, eta=input.eta, lines=quantities)
            )
            self._apply(changed, status)
            await self._notify(
                Audience.WAREHOUSE,
                lazy("Shipment %(shipment)s for purchase order %(number)s is on its way, expected %(eta)s."),
                f"shipment:{input.shipment_number}",
                shipment=input.shipment_number,
                eta=input.eta.isoformat(),
            )
            return POUpdateResult(status=self._state.status)

    @create_shipment.validator
    def validate_create_shipment(self, input: CreateShipmentInput) -> None:
        self._check_create_shipment(input)

    @workflow.update
    async def record_receipt(self, input: RecordReceiptInput) -> POUpdateResult:
        async with self._lock:
            self._check_record_receipt(input)
            shipment = self._shipment(input.shipment_number)
            assert shipment is not None
            counted = {line.line_no: line.quantity_received for line in input.lines}
            received = replace(shipment, received=counted)
            changed = [
                self._settled(
                    replace(line, quantity_received=line.quantity_received + counted[line.line_no]),
                    receiving=received,
                )
                for line in self._state.lines
                if line.line_no in counted
            ]
            recorded = await self._activity(
                record_shipment_receipt,
                RecordShipmentReceiptInput(
                    number=self._state.number,
                    shipment_number=shipment.number,
                    actor_user_id=input.actor_user_id,
                    lines=[
                        CountedLine(
                            line_no=line.line_no,
                            quantity_received=line.quantity_received,
                            lots=list(line.lots),
                        )
                        for line in input.lines
                    ],
                    status=self._state.status,
                    line_snapshots=[_snapshot(line) for line in changed],
                    idempotency_key=self._key(f"receipt:{shipment.number}"),
                    occurred_at=workflow.now(),
                ),
            )
            shipment.received = counted
            self._apply(changed, self._state.status)
            if workflow.patched(INSPECTION_PATCH):
                # Lines to inspect start their inspection child and are posted when it ends (in
                # the main loop): the warehouse user's click returns once the receipt is recorded.
                assert isinstance(recorded, RecordShipmentReceiptResult)
                inspections = {i.line_no: i for i in recorded.inspections}
                quarantine = workflow.patched(QUARANTINE_PATCH)
                lots = {line.line_no: line.lots for line in input.lines}
                for line in changed:
                    inspection = inspections.get(line.line_no)
                    quantity = counted[line.line_no]
                    if inspection is not None and inspection.inspect:
                        if quarantine:
                            await self._post_to_stock(
                                shipment.number,
                                line,
                                quantity,
                                input.actor_user_id,
                                quarantine=True,
                                lots=lots[line.line_no],
                            )
                        for lot_no, lot in enumerate(lots[line.line_no] or [Batch(quantity=quantity)], 1):
                            await self._start_inspection(
                                shipment.number, line, lot, lot_no, inspection, input, quarantined=quarantine
                            )
                    else:
                        await self._post_to_stock(shipment.number, line, quantity, input.actor_user_id)
            else:  # recorded before the inspection step: everything counted is posted at once
                for line in changed:
                    accepted = await self._inspect_received(shipment.number, line, counted[line.line_no])
                    await self._post_to_stock(shipment.number, line, accepted, input.actor_user_id)
            await self._finish_if_done(actor=input.actor_user_id)
            return POUpdateResult(status=self._state.status)

    @record_receipt.validator
    def validate_record_receipt(self, input: RecordReceiptInput) -> None:
        self._check_record_receipt(input)

    @workflow.update
    async def cancel_po(self, input: CancelPOInput) -> POUpdateResult:
        async with self._lock:
            self._check_cancel_po(input)
            was_sent = self._state.status is not POStatus.PENDING_APPROVAL
            self._cancelling = True
            await self._cancel_approval()
            reason = input.reason.strip()
            changed = [
                replace(line, status=POLineStatus.CANCELLED)
                for line in self._state.lines
                if line.status is POLineStatus.OPEN
            ]
            await self._update(
                "cancelled",
                POStatus.CANCELLED,
                lines=changed,
                status_reason=reason,
                actor=input.actor_user_id,
            )
            self._apply(changed, POStatus.CANCELLED)
            self._state.status_reason = reason
            message = lazy("Purchase order %(number)s was cancelled: %(reason)s")
            if was_sent:
                await self._notify(Audience.SUPPLIER, message, "cancelled-supplier", reason=reason)
            await self._notify(Audience.REQUESTER, message, "cancelled-requester", reason=reason)
            return POUpdateResult(status=self._state.status)

    @cancel_po.validator
    def validate_cancel_po(self, input: CancelPOInput) -> None:
        self._check_cancel_po(input)

    @workflow.update
    async def short_close_line(self, input: ShortCloseLineInput) -> POUpdateResult:
        async with self._lock:
            self._check_short_close_line(input)
            line = replace(self._line(input.line_no), status=POLineStatus.SHORT_CLOSED)
            await self._update(
                "line_short_closed",
                self._state.status,
                lines=[line],
                actor=input.actor_user_id,
                note=input.reason.strip(),
            )
            self._apply([line], self._state.status)
            await self._finish_if_done(actor=input.actor_user_id)
            return POUpdateResult(status=self._state.status)

    @short_close_line.validator
    def validate_short_close_line(self, input: ShortCloseLineInput) -> None:
        self._check_short_close_line(input)

    # --- what each Update may do (validators, and again under the lock) ---------------------------

    def _require_status(self, allowed: frozenset[POStatus], otherwise: str) -> None:
        state = self._state
        if not state.recorded:
            raise UpdateRejected(
                lazy("This purchase order is still being created. Please try again in a moment.")
            )
        if state.status is POStatus.CLOSED:
            raise UpdateRejected(lazy("This purchase order is closed; nothing can be changed."))
        if state.status is POStatus.CANCELLED:
            raise UpdateRejected(lazy("This purchase order has been cancelled; nothing can be changed."))
        if state.status in (POStatus.SUPPLIER_REJECTED, POStatus.APPROVAL_REJECTED):
            raise UpdateRejected(lazy("This purchase order was rejected; nothing can be changed."))
        if state.status not in allowed:
            raise UpdateRejected(otherwise)

    def _check_confirm_lines(self, input: ConfirmLinesInput) -> None:
        self._require_status(CONFIRMABLE, lazy("This purchase order is waiting for HQ approval."))
        first = self._state.status is POStatus.SENT
        if not input.lines:
            raise UpdateRejected(lazy("Confirm at least one line."))
        self._check_line_numbers([c.line_no for c in input.lines])
        if first:
            listed = {c.line_no for c in input.lines}
            for line in self._state.lines:
                if line.line_no not in listed:
                    raise UpdateRejected(
                        lazy("Confirm every line of the order: line %(line)s is missing."), line=line.line_no
                    )
        today = business_date(workflow.now())
        for confirmation in input.lines:
            line = self._line(confirmation.line_no)
            n = line.line_no
            if not first and not _has_backorder(line):
                raise UpdateRejected(lazy("Line %(line)s has no backorder left to confirm."), line=n)
            if confirmation.quantity < 0:
                raise UpdateRejected(lazy("Quantity for line %(line)s cannot be negative."), line=n)
            if confirmation.quantity > line.quantity_ordered:
                raise UpdateRejected(
                    lazy("Quantity for line %(line)s cannot exceed %(ordered)s."),
                    line=n,
                    ordered=line.quantity_ordered,
                )
            if confirmation.quantity < line.quantity_shipped:
                raise UpdateRejected(
                    lazy("Quantity for line %(line)s cannot be less than the %(shipped)s already shipped."),
                    line=n,
                    shipped=line.quantity_shipped,
                )
            if confirmation.quantity > 0:
                if confirmation.promised_date is None:
                    raise UpdateRejected(lazy("Enter a promised date for line %(line)s."), line=n)
                if confirmation.promised_date < today:
                    raise UpdateRejected(
                        lazy("The promised date for line %(line)s cannot be in the past."), line=n
                    )

    def _check_reject_po(self, input: RejectPOInput) -> None:
        self._require_status(
            frozenset({POStatus.SENT}), lazy("Only an order waiting for confirmation can be rejected.")
        )
        if not input.reason.strip():
            raise UpdateRejected(lazy("Enter a reason for the rejection."))

    def _check_create_shipment(self, input: CreateShipmentInput) -> None:
        self._require_status(
            SHIPPABLE, lazy("Nothing can be shipped before the supplier confirms the order.")
        )
        if not input.shipment_number.strip():
            raise UpdateRejected(lazy("The shipment has no number."))
        if self._shipment(input.shipment_number) is not None:
            raise UpdateRejected(
                lazy("Shipment number %(shipment)s is already used."), shipment=input.shipment_number
            )
        if not input.carrier.strip():
            raise UpdateRejected(lazy("Enter the carrier."))
        if not input.tracking_number.strip():
            raise UpdateRejected(lazy("Enter the tracking number."))
        if input.eta < business_date(workflow.now()):
            raise UpdateRejected(lazy("The expected arrival date cannot be in the past."))
        if not input.lines:
            raise UpdateRejected(lazy("Add at least one line to the shipment."))
        self._check_line_numbers([line.line_no for line in input.lines])
        for shipped in input.lines:
            line = self._line(shipped.line_no)
            n = line.line_no
            if line.status is not POLineStatus.OPEN:
                raise UpdateRejected(lazy("Line %(line)s is closed."), line=n)
            if shipped.quantity <= 0:
                raise UpdateRejected(lazy("Quantity for line %(line)s must be greater than zero."), line=n)
            open_quantity = (line.quantity_confirmed or 0) - line.quantity_shipped
            if shipped.quantity > open_quantity:
                raise UpdateRejected(
                    lazy(
                        "Quantity for line %(line)s cannot exceed the %(open)s confirmed and not yet shipped."
                    ),
                    line=n,
                    open=open_quantity,
                )
            self._check_batches(n, shipped.quantity, shipped.batches, unique_batches=True)

    def _check_record_receipt(self, input: RecordReceiptInput) -> None:
        self._require_status(
            frozenset({POStatus.IN_DELIVERY}), lazy("Nothing has been shipped on this purchase order yet.")
        )
        shipment = self._shipment(input.shipment_number)
        if shipment is None:
            raise UpdateRejected(
                lazy("Shipment %(shipment)s does not belong to this purchase order."),
                shipment=input.shipment_number,
            )
        if shipment.received is not None:
            raise UpdateRejected(
                lazy("Shipment %(shipment)s has already been received."), shipment=shipment.number
            )
        self._check_line_numbers([line.line_no for line in input.lines])
        counted = {line.line_no: line.quantity_received for line in input.lines}
        for line_no in counted:
            if line_no not in shipment.lines:
                raise UpdateRejected(
                    lazy("Line %(line)s is not on shipment %(shipment)s."),
                    line=line_no,
                    shipment=shipment.number,
                )
        for line_no in shipment.lines:
            if line_no not in counted:
                raise UpdateRejected(lazy("Enter the counted quantity for line %(line)s."), line=line_no)
            if counted[line_no] < 0:
                raise UpdateRejected(
                    lazy("Counted quantity for line %(line)s cannot be negative."), line=line_no
                )
        for received in input.lines:
            self._check_batches(
                received.line_no, received.quantity_received, received.lots, unique_batches=False
            )

    def _check_batches(
        self, line_no: int, quantity: int, batches: list[Batch], *, unique_batches: bool
    ) -> None:
        """Batches of an ASN line or lots of a receipt line: they add up to the line's quantity; a
        batch-tracked SKU needs a batch number and an expiry date (not past) on each."""
        tracked = self._line_input(line_no).batch_tracked
        if not batches:
            if tracked and quantity > 0:
                raise UpdateRejected(
                    lazy("Line %(line)s needs its batch numbers and expiry dates."), line=line_no
                )
            return
        today = business_date(workflow.now())
        for batch in batches:
            if batch.quantity <= 0:
                raise UpdateRejected(
                    lazy("Every batch or lot of line %(line)s needs a quantity above zero."), line=line_no
                )
            if tracked and (not batch.batch_no.strip() or batch.expiry_date is None):
                raise UpdateRejected(
                    lazy("Every batch of line %(line)s needs a batch number and an expiry date."),
                    line=line_no,
                )
            if batch.expiry_date is not None and batch.expiry_date < today:
                raise UpdateRejected(
                    lazy("Batch %(batch)s of line %(line)s has already expired."),
                    batch=batch.batch_no,
                    line=line_no,
                )
        numbers = [b.batch_no.strip() for b in batches if b.batch_no.strip()]
        if unique_batches and len(numbers) != len(set(numbers)):
            raise UpdateRejected(lazy("A batch number appears twice on line %(line)s."), line=line_no)
        if sum(b.quantity for b in batches) != quantity:
            raise UpdateRejected(
                lazy("The batches of line %(line)s must add up to its quantity of %(quantity)s."),
                line=line_no,
                quantity=quantity,
            )

    def _line_input(self, line_no: int) -> POLineInput:
        return next(line for line in self._input.lines if line.line_no == line_no)

    def _check_cancel_po(self, input: CancelPOInput) -> None:
        self._require_status(
            CANCELLABLE, lazy("The order cannot be cancelled: goods have already been shipped.")
        )
        if self._state.shipments:
            raise UpdateRejected(lazy("The order cannot be cancelled: goods have already been shipped."))
        if not input.reason.strip():
            raise UpdateRejected(lazy("Enter a reason for the cancellation."))

    def _check_short_close_line(self, input: ShortCloseLineInput) -> None:
        self._require_status(
            SHIPPABLE, lazy("Lines can be short-closed only after the supplier has confirmed the order.")
        )
        self._check_line_numbers([input.line_no])
        line = self._line(input.line_no)
        if line.status is not POLineStatus.OPEN:
            raise UpdateRejected(lazy("Line %(line)s is already closed."), line=line.line_no)
        if self._in_transit(line.line_no) > 0:
            raise UpdateRejected(
                lazy("Line %(line)s cannot be short-closed while goods of it are in transit."),
                line=line.line_no,
            )

    def _check_line_numbers(self, line_nos: list[int]) -> None:
        known = {line.line_no for line in self._state.lines}
        seen: set[int] = set()
        for line_no in line_nos:
            if line_no not in known:
                raise UpdateRejected(lazy("Line %(line)s does not exist on this order."), line=line_no)
            if line_no in seen:
                raise UpdateRejected(lazy("Line %(line)s appears more than once."), line=line_no)
            seen.add(line_no)

    # --- helpers ---------------------------------------------------------------------------------

    async def _inspect_received(self, shipment_number: str, line: LineState, counted: int) -> int:
        """Receipts recorded before the inspection step (not `patched(INSPECTION_PATCH)`): all accepted."""
        return counted

    async def _start_inspection(
        self,
        shipment_number: str,
        line: LineState,
        lot: Batch,
        lot_no: int,
        inspection: LineInspection,
        receipt: RecordReceiptInput,
        *,
        quarantined: bool,
    ) -> None:
        """Start the lot's InspectionWorkflow; the PO waits for it before it closes."""
        input = self._input
        child_id = inspection_workflow_id(workflow.info().workflow_id, shipment_number, line.line_no)
        if lot_no > 1:
            child_id = f"{child_id}-{lot_no}"
        handle = await workflow.start_child_workflow(
            InspectionWorkflow.run,
            InspectionInput(
                po_number=self._state.number,
                shipment_number=shipment_number,
                line_no=line.line_no,
                sku_id=line.sku_id,
                supplier_id=input.supplier_id,
                location_id=input.ship_to_location_id,
                lot_size=lot.quantity,
                inspection_level=inspection.inspection_level,
                severity=InspectionSeverity.NORMAL,
                aql_critical=inspection.aql_critical,
                aql_major=inspection.aql_major,
                aql_minor=inspection.aql_minor,
                answer_late_clicks_for=input.inspection_answer_late_clicks_for,
                decision_reminder_after=input.quality_decision_reminder_after,
                decision_escalation_after=input.quality_decision_escalation_after,
                lot_no=lot_no,
                batch_no=lot.batch_no,
                expiry_date=lot.expiry_date,
                severity_from_standing=quarantined,
                quarantined=quarantined,
            ),
            id=child_id,
        )
        self._inspections[child_id] = handle
        self._state.inspections.append(
            PendingInspection(
                workflow_id=child_id,
                shipment_number=shipment_number,
                line_no=line.line_no,
                lot_size=lot.quantity,
                actor_user_id=receipt.actor_user_id,
                quarantined=quarantined,
                lot_no=lot_no,
                batch_no=lot.batch_no,
            )
        )
        self._line(line.line_no).quantity_inspecting += lot.quantity
        self._changed()

    def _inspection_done(self) -> bool:
        return any(
            handle.done() or workflow_id in self._settled_inspections
            for workflow_id, handle in self._inspections.items()
        )

    @workflow.signal
    def inspection_settled(self, result: InspectionSettled) -> None:
        """A child inspection's quantities are final (it may still answer late clicks a while)."""
        self._settled_inspections[result.workflow_id] = result.result

    async def _post_finished_inspections(self) -> None:
        """Post what each finished inspection accepted, record what it rejected, close when done."""
        for pending in list(self._state.inspections):
            handle = self._inspections[pending.workflow_id]
            settled = self._settled_inspections.get(pending.workflow_id)
            if settled is None and not handle.done():
                continue
            async with self._lock:
                # A failed or terminated inspection that never settled fails here: look at it.
                result = settled if settled is not None else await handle
                line = self._line(pending.line_no)
                if not pending.quarantined:  # otherwise the inspection released it from quarantine
                    await self._post_to_stock(
                        pending.shipment_number, line, result.accepted_quantity, pending.actor_user_id
                    )
                line.quantity_inspecting -= pending.lot_size
                line.quantity_rejected += result.rejected_quantity
                await self._record_only(
                    "inspection_finished",
                    shipment=pending.shipment_number,
                    line=line.line_no,
                    **_lot_of(pending),
                    verdict=result.verdict.value,
                    quantity_accepted=result.accepted_quantity,
                    quantity_rejected=result.rejected_quantity,
                    **({"disposition": result.disposition.value} if result.disposition else {}),
                )
                self._state.inspections.remove(pending)
                del self._inspections[pending.workflow_id]
                self._changed()
                await self._finish_if_done(actor=None)

    async def _post_to_stock(
        self,
        shipment_number: str,
        line: LineState,
        quantity: int,
        actor: int,
        *,
        quarantine: bool = False,
        lots: list[Batch] | None = None,
    ) -> None:
        """Post a received line (accepted, or into quarantine until its inspection ends: one ledger
        entry per lot when the line was split, so each lot's stock can be followed)."""
        if quantity <= 0:
            return
        await self._activity(
            post_receipt_to_stock,
            PostReceiptInput(
                idempotency_key=f"{workflow.info().workflow_id}:receipt:{shipment_number}:{line.line_no}",
                location_id=self._input.ship_to_location_id,
                sku_id=line.sku_id,
                quantity=quantity,
                po_number=self._state.number,
                shipment_number=shipment_number,
                actor_user_id=actor,
                quarantine=quarantine,
                lots=list(lots or []),
            ),
        )

    async def _finish_if_done(self, *, actor: int | None) -> None:
        """Close (or cancel, when nothing arrived) once no line is open and no inspection is pending."""
        if self._state.inspections:
            return
        status = finished_status(
            (line.status for line in self._state.lines),
            received_any=any(line.quantity_received > 0 for line in self._state.lines),
        )
        if status is None:
            return
        if status is POStatus.CLOSED:
            await self._update("closed", status, actor=actor)
            message = lazy("Purchase order %(number)s is complete: all goods have been received.")
        else:
            await self._update("cancelled", status, actor=actor, status_reason="")
            message = lazy("Purchase order %(number)s was cancelled: no line can be supplied.")
        self._state.status = status
        self._changed()
        await self._notify(Audience.REQUESTER, message, status.value)

    async def _cancel_approval(self) -> None:
        """Cancel an open approval step and wait until it has recorded its cancellation."""
        if not self._approval_requested:
            return
        await workflow.wait_condition(lambda: self._approval is not None or self._approval_settled)
        if self._approval is not None and not self._approval.done():
            self._approval.cancel()
        await workflow.wait_condition(lambda: self._approval_settled)

    def _settled(self, line: LineState, *, receiving: ShipmentState | None = None) -> LineState:
        in_transit = self._in_transit(line.line_no, except_shipment=receiving)
        status = settle_line(
            line.status,
            ordered=line.quantity_ordered,
            confirmed=line.quantity_confirmed,
            received=line.quantity_received,
            in_transit=in_transit,
        )
        return replace(line, status=status)

    def _in_transit(self, line_no: int, *, except_shipment: ShipmentState | None = None) -> int:
        return sum(
            shipment.lines.get(line_no, 0)
            for shipment in self._state.shipments
            if shipment.received is None
            and (except_shipment is None or shipment.number != except_shipment.number)
        )

    def _apply(self, lines: list[LineState], status: POStatus) -> None:
        by_no = {line.line_no: line for line in lines}
        self._state.lines = [by_no.get(line.line_no, line) for line in self._state.lines]
        self._state.status = status
        self._changed()

    def _changed(self) -> None:
        self._revision += 1

    def _line(self, line_no: int) -> LineState:
        return next(line for line in self._state.lines if line.line_no == line_no)

    def _shipment(self, number: str) -> ShipmentState | None:
        return next((s for s in self._state.shipments if s.number == number), None)

    def _key(self, step: str) -> str:
        """`<workflow id>:<step>:<n>`: unique per step, the same on every replay."""
        self._steps += 1
        return f"{workflow.info().workflow_id}:{step}:{self._steps}"

    async def _update(
        self,
        action: str,
        status: POStatus,
        *,
        lines: list[LineState] | None = None,
        status_reason: str | None = None,
        actor: int | None = None,
        note: str = "",
        **details: Any,
    ) -> None:
        await self._activity(
            update_purchase_order,
            UpdatePOInput(
                number=self._state.number,
                action=action,
                idempotency_key=self._key(action),
                status=status,
                lines=[_snapshot(line) for line in lines or []],
                status_reason=status_reason,
                actor_user_id=actor,
                note=note,
                details=details,
                occurred_at=workflow.now(),
            ),
        )

    async def _record_only(self, action: str, **details: Any) -> None:
        """A timeline entry that changes nothing on the PO (a reminder, an escalation, an alert)."""
        await self._update(action, self._state.status, **details)

    async def _notify(self, audience: Audience, message: str, step: str, **params: Any) -> None:
        await self._activity(
            notify_purchase_order,
            NotifyPOInput(
                number=self._state.number,
                audience=audience,
                message=message,
                idempotency_key=self._key(f"notify:{step}"),
                params=params,
            ),
        )

    async def _activity(self, activity: Callable[..., Any], arg: Any) -> Any:
        return await workflow.execute_activity(
            activity, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )

    @staticmethod
    async def _wait(condition: Callable[[], bool], timeout: timedelta) -> bool:
        """True when `condition` became true, False when `timeout` passed first (a durable timer)."""
        try:
            await workflow.wait_condition(condition, timeout=timeout)
        except TimeoutError:
            return False
        return True


def _has_backorder(line: LineState) -> bool:
    return line.status is POLineStatus.OPEN and (line.quantity_confirmed or 0) < line.quantity_ordered


def _lot_of(pending: PendingInspection) -> dict[str, Any]:
    """Which lot of its line an inspection was about, for the PO's timeline: the lot number, and the
    batch number when it has one."""
    lot: dict[str, Any] = {"lot_no": pending.lot_no}
    if pending.batch_no:
        lot["batch_no"] = pending.batch_no
    return lot


def _snapshot(line: LineState) -> LineSnapshot:
    return LineSnapshot(
        line_no=line.line_no,
        status=line.status,
        quantity_confirmed=line.quantity_confirmed,
        promised_date=line.promised_date,
        quantity_shipped=line.quantity_shipped,
        quantity_received=line.quantity_received,
    )
