"""Replenishment: one purchase order from a store's request to stock in the warehouse.

One `ReplenishmentWorkflow` per purchase order, workflow id
`po_workflow_id("PO-2026-000123") == "po-2026-000123"`. Each step below is one named activity
(activities/replenishment.py) that writes the PO change, its timeline event and whom it tells in
one transaction.

1. Record the PO and its lines (`record_purchase_order`), then answer the creator's
   `wait_recorded` Update.
2. If the amount exceeds the requester's limit: the shared approval step (child ApprovalWorkflow).
   Rejected -> APPROVAL_REJECTED (`record_approval_rejected`), done.
3. Sent to the supplier, who is asked to confirm (`record_po_sent`). Supplier confirmation SLA: a
   reminder to the supplier after `confirm_reminder_after` (`record_confirmation_reminder`), the
   buyers told after `confirm_escalation_after` (`record_confirmation_escalated`) (the
   PO_CONFIRM_*_HOURS settings; every SLA comes in the input, filled from the settings by the starter).
4. `confirm_lines` (`record_lines_confirmed`): per line a quantity up to what was ordered and a
   promised date not in the past; or `reject_po` with a reason -> SUPPLIER_REJECTED
   (`record_supplier_rejection`). A line confirmed short keeps the rest as a backorder (the
   supplier may confirm more later) until the buyer short-closes it (`short_close_line`,
   `record_line_short_closed`).
5. `create_shipment` (`record_shipment_created`; the ASN: carrier, tracking number, ETA, quantities
   up to confirmed-not-yet-shipped, batches of a batch-tracked SKU); the warehouse is told.
6. `record_receipt` for a shipment (`record_shipment_received`): counted quantity per line
   (over/short recorded), posted to stock in the same transaction. A line whose SKU needs
   inspection (`Sku.inspection_mode` always or skip_lot) goes into quarantine stock and starts a
   child InspectionWorkflow per lot (ISO 2859-1 sampling); the Update returns without waiting for
   the inspector. The inspection releases or returns its lot; when it ends, its quantities go on
   the PO's timeline (`record_inspection_finished`, `LineState.quantity_rejected`). What happens to
   a rejected lot is the inspection's HQ decision.
7. Closes when every line is received, short-closed or cancelled and no inspection is pending: the
   step that settles the last line records the end too (CLOSED, or CANCELLED when nothing arrived)
   and tells the requester. `cancel_po` (buyer, with reason; `record_po_cancelled`) is possible
   until the first shipment and releases what the PO held (an open approval step, timers).
   Promised-date overdue alert to the buyers for lines not delivered by their date
   (`record_line_overdue`).

The rules of each step (what may be confirmed, shipped, received, cancelled, short-closed; when a
line or the PO is done) are pure functions in `supplychain.rules.purchase_order` and
`supplychain.rules.purchase_order_checks`, with their own tests. In short:

- The first confirmation covers every line. Afterwards the supplier may confirm again only lines
  with a backorder, never below what was shipped already. A line confirmed 0 with nothing
  received is CANCELLED.
- A line is RECEIVED once what was received reaches what was ordered and nothing of it is in
  transit; an over-receipt is accepted as counted. A line received short stays open until the
  supplier ships more or the buyer short-closes it (nothing of it in transit; it ends at what was
  received).
- Stock: what is counted is posted under `<workflow id>:receipt:<shipment>:<line no>` (in several
  lots: one entry per lot, `...:lot:<n>`). A rejected lot does not hold the PO open: it closes
  once every inspection has ended (its HQ decision included).
- Overdue: a line not fully received by the end of its promised date (China time) alerts the
  buyers once per promised date.
- Every Update refuses with a message a person can act on (validator), re-checks under the lock
  (two clicks at once: the second finds the new state), and returns after the activity recording
  its effect has committed. After the PO is finished the workflow keeps answering for
  `answer_late_clicks_for` (a stale page gets "this purchase order is closed", not an RPC error),
  then completes.

Versioning (`workflow.patched`; workflows/replenishment_steps.py keeps the older paths):

- `NAMED_STEPS_PATCH`, decided once at the start of a run: POs started before it call the generic
  `update_purchase_order` and a separate `notify_purchase_order` per step, and post receipts with
  `post_receipt_to_stock`, to their end (the committed histories without `.named_steps` in their
  name replay that path).
- On that older path only: before `INSPECTION_PATCH` a receipt posted everything counted at once;
  before `QUARANTINE_PATCH` an inspected lot was posted when its inspection accepted it. The named
  steps always inspect and quarantine.
- The inspection child answers late clicks only for `inspection_answer_late_clicks_for` (10
  minutes) so it does not hold the PO.
- `TRANSFER_ON_PATCH`, decided at the start of a run that has `transfer_on_to_location_id` (a PO
  bought for a store, delivered to its warehouse: DESIGN 4.2 sourcing): what the warehouse accepts
  into its stock (a receipt's uninspected lines; a lot when its inspection ends, what it released)
  goes on to the store by a TransferWorkflow started as an abandoned child, up to each line's
  requested quantity (`_send_on_to_the_store` in workflows/replenishment_steps.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

from workflows.approval import ApprovalInput, ApprovalResult, ApprovalWorkflow, approval_workflow_id
from workflows.inspection import InspectionResult, InspectionSettled
from workflows.replenishment_steps import (
    ACTIVITY_TIMEOUT,
    INSPECTION_PATCH,
    NAMED_STEPS_PATCH,
    QUARANTINE_PATCH,
    TRANSFER_ON_PATCH,
    ReplenishmentSteps,
    snapshot,
)

with workflow.unsafe.imports_passed_through():
    from activities.replenishment import (
        RecordPOInput,
        RecordShipmentInput,
        ShippedLine,
        record_approval_rejected,
        record_confirmation_escalated,
        record_confirmation_reminder,
        record_line_overdue,
        record_line_short_closed,
        record_lines_confirmed,
        record_po_cancelled,
        record_po_sent,
        record_purchase_order,
        record_supplier_rejection,
    )
    from supplychain import sla
    from supplychain.i18n import lazy
    from supplychain.models.purchasing import POLineStatus, POStatus
    from supplychain.purchasing import Audience, Batch, NewLine, Notice, po_link
    from supplychain.rules.purchase_order import (
        CancelPOInput,
        ConfirmLinesInput,
        CreateShipmentInput,
        LineConfirmation,
        LineState,
        PendingInspection,
        PurchaseOrderState,
        ReceiptLineInput,
        RecordReceiptInput,
        RejectPOInput,
        ShipmentLineInput,
        ShipmentState,
        ShortCloseLineInput,
        overdue_from,
        settled,
    )
    from supplychain.rules.purchase_order_checks import (
        check_cancel_po,
        check_confirm_lines,
        check_create_shipment,
        check_record_receipt,
        check_reject_po,
        check_short_close_line,
    )

# The Update inputs and the state live with the rules (supplychain.rules.purchase_order); callers
# import the whole interface of the process from here.
__all__ = [
    "INSPECTION_PATCH",
    "NAMED_STEPS_PATCH",
    "QUARANTINE_PATCH",
    "TRANSFER_ON_PATCH",
    "BatchInput",
    "CancelPOInput",
    "ConfirmLinesInput",
    "CreateShipmentInput",
    "LineConfirmation",
    "LineState",
    "POLineInput",
    "POUpdateResult",
    "PendingInspection",
    "PurchaseOrderState",
    "ReceiptLineInput",
    "RecordReceiptInput",
    "RejectPOInput",
    "ReplenishmentInput",
    "ReplenishmentResult",
    "ReplenishmentWorkflow",
    "ShipmentLineInput",
    "ShipmentState",
    "ShortCloseLineInput",
    "WaitRecordedInput",
    "po_workflow_id",
]

# Defaults of the SLAs an input does not carry (whoever starts the PO passes the settings' values).
CONFIRM_REMINDER_AFTER = timedelta(hours=sla.PO_CONFIRM_REMINDER_HOURS)
CONFIRM_ESCALATION_AFTER = timedelta(hours=sla.PO_CONFIRM_ESCALATION_HOURS)
# After the PO is finished, a click from a page opened earlier still gets a clear refusal this long.
ANSWER_LATE_CLICKS_FOR = timedelta(days=1)
# An inspection started by the PO answers late inspector clicks only briefly: the PO waits for its
# result before it closes.
INSPECTION_ANSWER_LATE_CLICKS_FOR = timedelta(minutes=10)

# A batch on an ASN line, or a lot (batch or tranche) of a receipt line.
BatchInput = Batch


def po_workflow_id(number: str) -> str:
    return number.lower()


@dataclass
class POLineInput:
    line_no: int
    sku_id: int
    quantity_requested: int
    quantity_ordered: int  # after MOQ and pack-size rounding
    unit_price: Decimal
    tax_rate: Decimal
    batch_tracked: bool = False  # the SKU's flag when the PO started: batch number + expiry required


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
    # Operations, not business: a deployment on a slow database may lengthen it, the crash-recovery
    # test shortens it (the timeout is not part of what replay checks).
    activity_timeout: timedelta = ACTIVITY_TIMEOUT
    # Sourcing: bought for this store but delivered to the warehouse (ship_to); what the warehouse
    # accepts goes on to the store by transfer (TRANSFER_ON_PATCH). None: the goods stay at ship_to.
    transfer_on_to_location_id: int | None = None


@dataclass
class ReplenishmentResult:
    number: str
    status: POStatus


@dataclass
class WaitRecordedInput:
    pass


@dataclass
class POUpdateResult:
    status: POStatus
    # The shipment an ASN created: a repeat of the same form (web/form_ids.py) learns it from here.
    shipment_number: str | None = None


@workflow.defn
class ReplenishmentWorkflow(ReplenishmentSteps):
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
        self._named_steps = False  # decided at the start of run(): see NAMED_STEPS_PATCH
        self._steps = 0  # numbers the idempotency keys of steps that can happen more than once
        self._revision = 0  # bumped by every change the delivery timers depend on
        self._approval: workflow.ChildWorkflowHandle[Any, ApprovalResult] | None = None
        self._approval_requested = False
        self._approval_settled = False
        self._cancelling = False
        self._sending = False  # from the start of the step that sends the PO to the supplier
        # Inspection children by workflow id, until their result is posted.
        self._inspections: dict[str, workflow.ChildWorkflowHandle[Any, InspectionResult]] = {}
        # Results signalled by children whose quantities are final (before they complete).
        self._settled_inspections: dict[str, InspectionResult] = {}
        self._transfer_on = False  # decided at the start of run(): see TRANSFER_ON_PATCH
        self._transferred_on: dict[int, int] = {}
        self._onward = 0

    @workflow.run
    async def run(self, input: ReplenishmentInput) -> ReplenishmentResult:
        self._named_steps = workflow.patched(NAMED_STEPS_PATCH)  # once, before the first step
        # Only a PO that has a store to send its goods on to asks (older histories never do).
        self._transfer_on = input.transfer_on_to_location_id is not None and workflow.patched(
            TRANSFER_ON_PATCH
        )
        await self._record()
        if input.needs_approval:
            await self._get_approval()
        await self._send_to_supplier()
        await self._wait_for_confirmation()
        await self._follow_deliveries()
        await self._answer_late_clicks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ReplenishmentResult(number=self._state.number, status=self._state.status)

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
                    await self._step(
                        record_approval_rejected,
                        "approval_rejected",
                        POStatus.APPROVAL_REJECTED,
                        status_reason=result.comment,
                        actor=result.decided_by_user_id,
                    )

    async def _send_to_supplier(self) -> None:
        async with self._lock:
            if self._state.status.is_final:
                return
            # The supplier's list shows the PO waiting for them once this step commits, a moment
            # before the workflow hears of it: their answer is taken from the start of the step and
            # recorded after it (confirm_lines and reject_po wait for the lock; see `_check`).
            self._sending = True
            await self._step(
                record_po_sent,
                "sent",
                POStatus.SENT,
                notices=[
                    Notice(
                        Audience.SUPPLIER, lazy("Purchase order %(number)s is waiting for your confirmation.")
                    )
                ],
            )

    async def _wait_for_confirmation(self) -> None:
        """The supplier confirmation SLA: a reminder to the supplier, then the buyers are told."""

        def answered() -> bool:
            return self._state.status is not POStatus.SENT

        if await self._wait(answered, self._input.confirm_reminder_after):
            return
        reminder = lazy("Reminder: purchase order %(number)s is still waiting for your confirmation.")
        await self._step(
            record_confirmation_reminder,
            "confirmation_reminder_sent",
            notices=[Notice(Audience.SUPPLIER, reminder)],
        )
        remaining = self._input.confirm_escalation_after - self._input.confirm_reminder_after
        if remaining > timedelta(0) and await self._wait(answered, remaining):
            return
        if answered():
            return
        hours = int(self._input.confirm_escalation_after.total_seconds() // 3600)
        escalation = lazy("The supplier has not confirmed purchase order %(number)s within %(hours)s hours.")
        await self._step(
            record_confirmation_escalated,
            "confirmation_escalated",
            details={"hours": hours},
            notices=[Notice(Audience.BUYERS, escalation, {"hours": hours})],
        )
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
            alert = lazy(
                "Line %(line)s of purchase order %(number)s was promised for %(date)s and is overdue."
            )
            await self._step(
                record_line_overdue,
                "line_overdue",
                details={"line": line.line_no, "promised_date": promised},
                notices=[
                    Notice(Audience.BUYERS, alert, {"line": line.line_no, "date": promised.isoformat()})
                ],
            )
            line.overdue_alerted_for = promised

    # --- updates: what people do -----------------------------------------------------------------

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
            self.validate_confirm_lines(input)  # again: another click may have changed the state
            changed = [
                settled(
                    self._state,
                    replace(
                        self._state.line(c.line_no),
                        quantity_confirmed=c.quantity,
                        promised_date=c.promised_date if c.quantity > 0 else None,
                    ),
                )
                for c in input.lines
            ]
            first = self._state.status is POStatus.SENT
            await self._step(
                record_lines_confirmed,
                "confirmed",
                POStatus.CONFIRMED if first else self._state.status,
                lines=changed,
                actor=input.actor_user_id,
                notices=[
                    Notice(Audience.REQUESTER, lazy("The supplier confirmed purchase order %(number)s."))
                ],
                may_finish=True,
            )
            return POUpdateResult(status=self._state.status)

    @confirm_lines.validator
    def validate_confirm_lines(self, input: ConfirmLinesInput) -> None:
        self._check(check_confirm_lines, input, today=self._today())

    @workflow.update
    async def reject_po(self, input: RejectPOInput) -> POUpdateResult:
        async with self._lock:
            self.validate_reject_po(input)
            reason = input.reason.strip()
            message = lazy("The supplier rejected purchase order %(number)s: %(reason)s")
            await self._step(
                record_supplier_rejection,
                "rejected_by_supplier",
                POStatus.SUPPLIER_REJECTED,
                status_reason=reason,
                actor=input.actor_user_id,
                notices=[
                    Notice(Audience.REQUESTER, message, {"reason": reason}),
                    Notice(Audience.BUYERS, message, {"reason": reason}),
                ],
            )
            return POUpdateResult(status=self._state.status)

    @reject_po.validator
    def validate_reject_po(self, input: RejectPOInput) -> None:
        self._check(check_reject_po, input)

    @workflow.update
    async def create_shipment(self, input: CreateShipmentInput) -> POUpdateResult:
        async with self._lock:
            self.validate_create_shipment(input)
            quantities = {line.line_no: line.quantity for line in input.lines}
            changed = [
                replace(line, quantity_shipped=line.quantity_shipped + quantities[line.line_no])
                for line in self._state.lines
                if line.line_no in quantities
            ]
            shipment = RecordShipmentInput(
                number=self._state.number,
                shipment_number=input.shipment_number,
                carrier=input.carrier.strip(),
                tracking_number=input.tracking_number.strip(),
                eta=input.eta,
                actor_user_id=input.actor_user_id,
                lines=[ShippedLine(line.line_no, line.quantity, list(line.batches)) for line in input.lines],
                status=POStatus.IN_DELIVERY,
                line_snapshots=[snapshot(line) for line in changed],
                idempotency_key=self._key(f"shipment:{input.shipment_number}"),
                occurred_at=workflow.now(),
            )
            on_its_way = lazy(
                "Shipment %(shipment)s for purchase order %(number)s is on its way, expected %(eta)s."
            )
            params = {"shipment": input.shipment_number, "eta": input.eta.isoformat()}
            await self._ship(
                shipment,
                ShipmentState(number=input.shipment_number, eta=input.eta, lines=quantities),
                changed,
                Notice(Audience.WAREHOUSE, on_its_way, params),
            )
            return POUpdateResult(status=self._state.status, shipment_number=input.shipment_number)

    @create_shipment.validator
    def validate_create_shipment(self, input: CreateShipmentInput) -> None:
        self._check(check_create_shipment, input, today=self._today(), batch_tracked=self._batch_tracked())

    @workflow.update
    async def record_receipt(self, input: RecordReceiptInput) -> POUpdateResult:
        async with self._lock:
            self.validate_record_receipt(input)
            shipment = self._state.shipment(input.shipment_number)
            assert shipment is not None
            counted = {line.line_no: line.quantity_received for line in input.lines}
            changed = [
                settled(
                    self._state,
                    replace(line, quantity_received=line.quantity_received + counted[line.line_no]),
                    receiving=shipment.number,
                )
                for line in self._state.lines
                if line.line_no in counted
            ]
            await self._receive(input, shipment, changed)
            return POUpdateResult(status=self._state.status)

    @record_receipt.validator
    def validate_record_receipt(self, input: RecordReceiptInput) -> None:
        self._check(check_record_receipt, input, today=self._today(), batch_tracked=self._batch_tracked())

    @workflow.update
    async def cancel_po(self, input: CancelPOInput) -> POUpdateResult:
        async with self._lock:
            self.validate_cancel_po(input)
            was_sent = self._state.status is not POStatus.PENDING_APPROVAL
            self._cancelling = True
            await self._cancel_approval()
            reason = input.reason.strip()
            message = lazy("Purchase order %(number)s was cancelled: %(reason)s")
            told = [Audience.SUPPLIER, Audience.REQUESTER] if was_sent else [Audience.REQUESTER]
            await self._step(
                record_po_cancelled,
                "cancelled",
                POStatus.CANCELLED,
                lines=[
                    replace(line, status=POLineStatus.CANCELLED)
                    for line in self._state.lines
                    if line.status is POLineStatus.OPEN
                ],
                status_reason=reason,
                actor=input.actor_user_id,
                notices=[Notice(audience, message, {"reason": reason}) for audience in told],
            )
            return POUpdateResult(status=self._state.status)

    @cancel_po.validator
    def validate_cancel_po(self, input: CancelPOInput) -> None:
        self._check(check_cancel_po, input)

    @workflow.update
    async def short_close_line(self, input: ShortCloseLineInput) -> POUpdateResult:
        async with self._lock:
            self.validate_short_close_line(input)
            await self._step(
                record_line_short_closed,
                "line_short_closed",
                lines=[replace(self._state.line(input.line_no), status=POLineStatus.SHORT_CLOSED)],
                actor=input.actor_user_id,
                note=input.reason.strip(),
                may_finish=True,
            )
            return POUpdateResult(status=self._state.status)

    @short_close_line.validator
    def validate_short_close_line(self, input: ShortCloseLineInput) -> None:
        self._check(check_short_close_line, input)

    @workflow.signal
    def inspection_settled(self, result: InspectionSettled) -> None:
        """A child inspection's quantities are final (it may still answer late clicks a while)."""
        self._settled_inspections[result.workflow_id] = result.result
