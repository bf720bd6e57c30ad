"""How ReplenishmentWorkflow carries out a step: one named activity, then the workflow's state follows.

`ReplenishmentSteps` is the base class of `ReplenishmentWorkflow` (workflows/replenishment.py, which
tells the process): what the story and its Updates have decided goes through `_step`, `_ship` or
`_receive`, which call the step's named activity (activities/replenishment.py: the PO change, its
timeline event, whom it tells and, when the step settles the last line, the PO's end, in one
transaction) and then apply the change to `PurchaseOrderState`. Receipts start the inspection
children here too, and their results come back here.

Versioning. `NAMED_STEPS_PATCH` is decided once per run, at its start (`workflow.patched` in
`run()`), not at the first command that differs: there, a PO running at the deployment would be
replayed to that point and then switch paths at its next step. So a PO started under this code
takes the named steps everywhere; a PO started before it (and every history recorded before it)
keeps the older path to its end, in the "before
NAMED_STEPS_PATCH" section below: the generic `update_purchase_order`, then `notify_purchase_order`
per notice (the timeline-only steps notified first), the PO's end as two more such calls, and
receipts posted to stock one line at a time (`post_receipt_to_stock`, with the inspection patches
of their day). Its idempotency keys are minted as that code minted them, so a running PO's later
keys never repeat its earlier ones. Remove that section, the old activities and the
`if self._named_steps` branches once no PO started before the patch is running: first
`workflow.deprecate_patch(NAMED_STEPS_PATCH)` for one deployment, then delete (the histories
without `.named_steps` in their name go with them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ParentClosePolicy

from workflows.common import business_date, checked
from workflows.inspection import InspectionInput, InspectionResult, InspectionWorkflow, inspection_workflow_id
from workflows.transfer import TransferInput, TransferLineInput, TransferWorkflow, transfer_workflow_id

with workflow.unsafe.imports_passed_through():
    from activities.replenishment import (
        CountedLine,
        NotifyPOInput,
        PostReceiptInput,
        RecordShipmentInput,
        RecordShipmentReceiptInput,
        RecordShipmentReceiptResult,
        ShipmentCreatedInput,
        ShipmentReceivedInput,
        UpdatePOInput,
        notify_purchase_order,
        post_receipt_to_stock,
        record_inspection_finished,
        record_shipment,
        record_shipment_created,
        record_shipment_receipt,
        record_shipment_received,
        update_purchase_order,
    )
    from activities.transfer import OnwardTransferInput, reserve_onward_transfer
    from supplychain.i18n import lazy
    from supplychain.models.inspection import InspectionSeverity
    from supplychain.models.purchasing import POStatus
    from supplychain.models.transfer import TransferOrigin
    from supplychain.purchasing import Audience, Batch, LineInspection, LineSnapshot, Notice, POStep
    from supplychain.rules.purchase_order import (
        LineState,
        PendingInspection,
        PurchaseOrderState,
        RecordReceiptInput,
        ShipmentState,
        finish_after,
    )
    from supplychain.transfers import NewTransferLine

if TYPE_CHECKING:
    from workflows.approval import ApprovalResult
    from workflows.replenishment import ReplenishmentInput

# Which activities a run calls: one named activity per step, or (POs started before) the generic ones.
NAMED_STEPS_PATCH = "named-step-activities"
# Receipts recorded before this change post everything counted at once.
INSPECTION_PATCH = "inspection-before-posting"
# Receipts recorded after this change put an inspected line into quarantine stock at once (on hand,
# not available) and its inspection releases or returns it; before it, the PO posted what the
# inspection accepted when it ended.
QUARANTINE_PATCH = "quarantine-until-inspected"
# POs bought for a store but delivered to its warehouse (`ReplenishmentInput.transfer_on_to_location_id`)
# send what the warehouse accepted on to the store by transfer. Decided once at the start of a run,
# and only for such POs: no earlier history has the field, so none of them asks for the marker.
TRANSFER_ON_PATCH = "transfer-on-to-the-store"
# How long one activity may run before Temporal gives it to another worker (a worker killed
# mid-activity is noticed only then): ReplenishmentInput.activity_timeout.
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Database activities retry until the database is back; a bug shows up as retries in the UI.
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


class ReplenishmentSteps:
    # Set by ReplenishmentWorkflow.__init__ (and `run()` for `_named_steps`).
    _input: ReplenishmentInput
    _state: PurchaseOrderState
    _lock: asyncio.Lock
    _named_steps: bool
    _steps: int
    _revision: int
    _approval: workflow.ChildWorkflowHandle[Any, ApprovalResult] | None
    _approval_requested: bool
    _approval_settled: bool
    _sending: bool
    _inspections: dict[str, workflow.ChildWorkflowHandle[Any, InspectionResult]]
    _settled_inspections: dict[str, InspectionResult]
    _transfer_on: bool  # decided at the start of run(): see TRANSFER_ON_PATCH
    _transferred_on: dict[int, int]  # line no -> units sent on to the store so far
    _onward: int  # onward transfers started

    async def _step(
        self,
        activity: Callable[[POStep], Any],
        action: str,
        status: POStatus | None = None,
        *,
        lines: Sequence[LineState] = (),
        status_reason: str | None = None,
        actor: int | None = None,
        note: str = "",
        details: dict[str, Any] | None = None,
        notices: Sequence[Notice] = (),
        may_finish: bool = False,
    ) -> None:
        """One step: `activity` records the new `status` (None: as it is) and `lines`, the `action`
        on the timeline and the `notices`, and, `may_finish`, the PO's end once no line is left
        open; then the state follows."""
        step = POStep(
            number=self._state.number,
            action=action,
            idempotency_key=self._key(action),
            status=status,
            lines=[snapshot(line) for line in lines],
            status_reason=status_reason,
            actor_user_id=actor,
            note=note,
            details=details or {},
            notices=list(notices),
            occurred_at=workflow.now(),
        )
        finish = finish_after(self._state, lines) if may_finish else None
        if not self._named_steps:
            await self._legacy_step(step, lines, finish)
            return
        if finish is not None:
            step.then = self._finishing_step(finish, actor)
        await self._activity(activity, step)
        self._take(step, lines)
        if step.then is not None:
            self._take(step.then)

    def _finishing_step(self, status: POStatus, actor: int | None) -> POStep:
        """The PO's end: CLOSED when anything arrived, else CANCELLED (nothing could be supplied)."""
        if status is POStatus.CLOSED:
            action, reason = "closed", None
            message = lazy("Purchase order %(number)s is complete: all goods have been received.")
        else:
            action, reason = "cancelled", ""
            message = lazy("Purchase order %(number)s was cancelled: no line can be supplied.")
        return POStep(
            number=self._state.number,
            action=action,
            idempotency_key=self._key(action),
            status=status,
            status_reason=reason,
            actor_user_id=actor,
            notices=[Notice(Audience.REQUESTER, message)],
            occurred_at=workflow.now(),
        )

    def _take(self, step: POStep, lines: Sequence[LineState] = ()) -> None:
        """The workflow's state after `step` was recorded."""
        if step.status is not None or lines:
            self._apply(lines, self._state.status if step.status is None else step.status)
        if step.status_reason is not None:
            self._state.status_reason = step.status_reason

    async def _ship(
        self, shipment: RecordShipmentInput, state: ShipmentState, lines: list[LineState], notice: Notice
    ) -> None:
        """The ASN (`record_shipment_created`: the shipment and the lines it changes; the warehouse told)."""
        if self._named_steps:
            await self._activity(record_shipment_created, ShipmentCreatedInput(shipment, notices=[notice]))
        else:
            await self._activity(record_shipment, shipment)
        self._state.shipments.append(state)
        self._apply(lines, shipment.status)
        if not self._named_steps:
            await self._legacy_tell(f"shipment:{shipment.shipment_number}", [notice])

    async def _receive(
        self, input: RecordReceiptInput, shipment: ShipmentState, lines: list[LineState]
    ) -> None:
        """The receipt (`record_shipment_received`): counted quantities, stock (into quarantine for a
        line to inspect) and, when nothing of it goes to inspection and no line is left open, the
        PO's end; then an inspection child per lot to inspect."""
        counted = {line.line_no: line.quantity_received for line in input.lines}
        receipt = RecordShipmentReceiptInput(
            number=self._state.number,
            shipment_number=shipment.number,
            actor_user_id=input.actor_user_id,
            lines=[
                CountedLine(line.line_no, line.quantity_received, list(line.lots)) for line in input.lines
            ],
            status=self._state.status,
            line_snapshots=[snapshot(line) for line in lines],
            idempotency_key=self._key(f"receipt:{shipment.number}"),
            occurred_at=workflow.now(),
        )
        if not self._named_steps:
            await self._legacy_receive(receipt, input, shipment, lines)
            return
        finish = finish_after(self._state, lines)
        then = self._finishing_step(finish, input.actor_user_id) if finish is not None else None
        stock_key = f"{workflow.info().workflow_id}:receipt:{shipment.number}"
        recorded = await self._activity(
            record_shipment_received, ShipmentReceivedInput(receipt, stock_key, then)
        )
        shipment.received = counted
        self._apply(lines, self._state.status)
        lots = {line.line_no: line.lots for line in input.lines}
        for inspection in recorded.inspections:
            if inspection.inspect:
                line = self._state.line(inspection.line_no)
                quantity = counted[line.line_no]
                for lot_no, lot in enumerate(lots[line.line_no] or [Batch(quantity=quantity)], 1):
                    await self._start_inspection(
                        shipment.number, line, lot, lot_no, inspection, input.actor_user_id, quarantined=True
                    )
        if recorded.finished and then is not None:
            self._take(then)
        inspected = {inspection.line_no for inspection in recorded.inspections if inspection.inspect}
        await self._send_on_to_the_store({n: q for n, q in counted.items() if n not in inspected})

    # --- inspections ------------------------------------------------------------------------------

    async def _start_inspection(
        self,
        shipment_number: str,
        line: LineState,
        lot: Batch,
        lot_no: int,
        inspection: LineInspection,
        actor: int,
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
                actor_user_id=actor,
                quarantined=quarantined,
                lot_no=lot_no,
                batch_no=lot.batch_no,
            )
        )
        self._state.line(line.line_no).quantity_inspecting += lot.quantity
        self._changed()

    def _inspection_done(self) -> bool:
        return any(
            handle.done() or workflow_id in self._settled_inspections
            for workflow_id, handle in self._inspections.items()
        )

    async def _post_finished_inspections(self) -> None:
        """Record what each finished inspection accepted and rejected; close when nothing is open."""
        for pending in list(self._state.inspections):
            handle = self._inspections[pending.workflow_id]
            settled = self._settled_inspections.get(pending.workflow_id)
            if settled is None and not handle.done():
                continue
            async with self._lock:
                # A failed or terminated inspection that never settled fails here: look at it.
                result = settled if settled is not None else await handle
                line = self._state.line(pending.line_no)
                if not pending.quarantined:  # before QUARANTINE_PATCH: posted when its inspection ends
                    await self._post_to_stock(
                        pending.shipment_number, line, result.accepted_quantity, pending.actor_user_id
                    )
                line.quantity_inspecting -= pending.lot_size
                line.quantity_rejected += result.rejected_quantity
                self._state.inspections.remove(pending)
                del self._inspections[pending.workflow_id]
                self._changed()
                details = {
                    "shipment": pending.shipment_number,
                    "line": line.line_no,
                    **lot_of(pending),
                    "verdict": result.verdict.value,
                    "quantity_accepted": result.accepted_quantity,
                    "quantity_rejected": result.rejected_quantity,
                    **({"disposition": result.disposition.value} if result.disposition else {}),
                }
                await self._step(
                    record_inspection_finished, "inspection_finished", details=details, may_finish=True
                )
                await self._send_on_to_the_store({line.line_no: result.accepted_quantity})

    # --- bought for a store, delivered to the warehouse: on to the store ----------------------------

    async def _send_on_to_the_store(self, accepted: dict[int, int]) -> None:
        """What the warehouse accepted into its stock (a receipt's uninspected lines, or a lot its
        inspection released) goes on to the store that asked, by a TransferWorkflow (origin SOURCING,
        `purchase_order_number` set): up to each line's requested quantity, so what MOQ and pack
        rounding bought beyond the request stays in the warehouse's stock.

        Started as a child with `ParentClosePolicy.ABANDON`, not by an activity with a client: the
        start is a command in this PO's history (replayed, never doubled, no client in the
        activities), and the transfer outlives the PO, which closes at its last receipt while the
        transfer still waits for dispatch and receipt. Its workflow id is its number, reserved by
        `reserve_onward_transfer` under `<PO workflow id>:transfer_on:<n>` (a retried activity gets
        the same number back), so it is fixed by the PO and the order of its receipts."""
        store = self._input.transfer_on_to_location_id
        if not self._transfer_on or store is None:
            return
        requested = {line.line_no: line.quantity_requested for line in self._input.lines}
        lines: list[NewTransferLine] = []
        for line_no, quantity in sorted(accepted.items()):
            owed = requested[line_no] - self._transferred_on.get(line_no, 0)
            units = min(quantity, owed)
            if units <= 0:
                continue
            self._transferred_on[line_no] = self._transferred_on.get(line_no, 0) + units
            lines.append(NewTransferLine(len(lines) + 1, self._state.line(line_no).sku_id, units))
        if not lines:
            return
        self._onward += 1
        source = self._input.ship_to_location_id
        onward = await self._activity(
            reserve_onward_transfer,
            OnwardTransferInput(
                purchase_order_number=self._state.number,
                source_location_id=source,
                destination_location_id=store,
                lines=lines,
                idempotency_key=f"{workflow.info().workflow_id}:transfer_on:{self._onward}",
                occurred_at=workflow.now(),
            ),
        )
        await workflow.start_child_workflow(
            TransferWorkflow.run,
            TransferInput(
                number=onward.number,
                origin=TransferOrigin.SOURCING,
                source_location_id=source,
                destination_location_id=store,
                requested_by_user_id=self._input.requester_user_id,
                needs_approval=onward.needs_approval,
                lines=[TransferLineInput(line.line_no, line.sku_id, line.quantity) for line in lines],
                purchase_order_number=self._state.number,
                dispatch_reminder_after=onward.dispatch_reminder_after,
                dispatch_escalation_after=onward.dispatch_escalation_after,
                approval_reminder_after=onward.approval_reminder_after,
                approval_escalation_after=onward.approval_escalation_after,
            ),
            id=transfer_workflow_id(onward.number),
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        self._state.transfers_on.append(onward.number)

    # --- checks and state -------------------------------------------------------------------------

    def _check(self, check: Callable[..., None], input: Any, **context: Any) -> None:
        """Run one of supplychain.rules.purchase_order_checks on the state as the pages show it; its
        refusal is the Update's."""
        checked(check, self._as_shown(), input, **context)

    def _as_shown(self) -> PurchaseOrderState:
        """The state, but SENT from the start of the step that records it (the pages show it as
        soon as that step commits)."""
        if self._sending and self._state.status is POStatus.PENDING_APPROVAL:
            return replace(self._state, status=POStatus.SENT)
        return self._state

    def _today(self) -> date:
        return business_date(workflow.now())

    def _batch_tracked(self) -> Collection[int]:
        return {line.line_no for line in self._input.lines if line.batch_tracked}

    async def _cancel_approval(self) -> None:
        """Cancel an open approval step and wait until it has recorded its cancellation."""
        if not self._approval_requested:
            return
        await workflow.wait_condition(lambda: self._approval is not None or self._approval_settled)
        if self._approval is not None and not self._approval.done():
            self._approval.cancel()
        await workflow.wait_condition(lambda: self._approval_settled)

    def _apply(self, lines: Sequence[LineState], status: POStatus) -> None:
        by_no = {line.line_no: line for line in lines}
        self._state.lines = [by_no.get(line.line_no, line) for line in self._state.lines]
        self._state.status = status
        self._changed()

    def _changed(self) -> None:
        self._revision += 1

    def _key(self, step: str) -> str:
        """`<workflow id>:<step>:<n>`: unique per step, the same on every replay."""
        self._steps += 1
        return f"{workflow.info().workflow_id}:{step}:{self._steps}"

    async def _activity(self, activity: Callable[..., Any], arg: Any) -> Any:
        return await workflow.execute_activity(
            activity,
            arg,
            start_to_close_timeout=self._input.activity_timeout,
            retry_policy=ACTIVITY_RETRY,
        )

    @staticmethod
    async def _wait(condition: Callable[[], bool], timeout: timedelta) -> bool:
        """True when `condition` became true, False when `timeout` passed first (a durable timer)."""
        try:
            await workflow.wait_condition(condition, timeout=timeout)
        except TimeoutError:
            return False
        return True

    # --- before NAMED_STEPS_PATCH (see the module's docstring for when this goes) ------------------

    async def _legacy_step(self, step: POStep, lines: Sequence[LineState], finish: POStatus | None) -> None:
        """The generic update, the state, then one notification per notice (the steps that change
        nothing on the PO notified first); then the PO's end the same way."""
        told_first = step.action in _TOLD_FIRST
        if told_first:
            await self._legacy_tell(step.action, step.notices)
        update = UpdatePOInput(
            number=step.number,
            action=step.action,
            idempotency_key=step.idempotency_key,
            status=self._state.status if step.status is None else step.status,
            lines=step.lines,
            status_reason=step.status_reason,
            actor_user_id=step.actor_user_id,
            note=step.note,
            details=step.details,
            occurred_at=step.occurred_at,
        )
        await self._activity(update_purchase_order, update)
        self._take(step, lines)
        if not told_first:
            await self._legacy_tell(step.action, step.notices)
        if finish is not None:
            await self._legacy_step(self._finishing_step(finish, step.actor_user_id), (), None)

    async def _legacy_tell(self, label: str, notices: Sequence[Notice]) -> None:
        for notice in notices:
            key = self._key(f"notify:{label}:{notice.audience}")
            await self._activity(
                notify_purchase_order,
                NotifyPOInput(self._state.number, notice.audience, notice.message, key, dict(notice.params)),
            )

    async def _legacy_receive(
        self,
        receipt: RecordShipmentReceiptInput,
        input: RecordReceiptInput,
        shipment: ShipmentState,
        lines: list[LineState],
    ) -> None:
        recorded = await self._activity(record_shipment_receipt, receipt)
        counted = {line.line_no: line.quantity_received for line in input.lines}
        shipment.received = counted
        self._apply(lines, self._state.status)
        if workflow.patched(INSPECTION_PATCH):
            # Lines to inspect start their inspection child; the others are posted at once.
            assert isinstance(recorded, RecordShipmentReceiptResult)
            inspections = {i.line_no: i for i in recorded.inspections}
            quarantine = workflow.patched(QUARANTINE_PATCH)
            lots = {line.line_no: line.lots for line in input.lines}
            actor = input.actor_user_id
            for line in lines:
                inspection = inspections.get(line.line_no)
                quantity = counted[line.line_no]
                if inspection is not None and inspection.inspect:
                    if quarantine:
                        await self._post_to_stock(
                            shipment.number, line, quantity, actor, quarantine=True, lots=lots[line.line_no]
                        )
                    for lot_no, lot in enumerate(lots[line.line_no] or [Batch(quantity=quantity)], 1):
                        await self._start_inspection(
                            shipment.number, line, lot, lot_no, inspection, actor, quarantined=quarantine
                        )
                else:
                    await self._post_to_stock(shipment.number, line, quantity, actor)
        else:  # recorded before the inspection step: everything counted is posted at once
            for line in lines:
                await self._post_to_stock(shipment.number, line, counted[line.line_no], input.actor_user_id)
        finish = finish_after(self._state, ())
        if finish is not None:
            await self._legacy_step(self._finishing_step(finish, input.actor_user_id), (), None)

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


# Before NAMED_STEPS_PATCH these steps, which change nothing on the PO, notified before recording.
_TOLD_FIRST = frozenset({"confirmation_reminder_sent", "confirmation_escalated", "line_overdue"})


def snapshot(line: LineState) -> LineSnapshot:
    return LineSnapshot(
        line_no=line.line_no,
        status=line.status,
        quantity_confirmed=line.quantity_confirmed,
        promised_date=line.promised_date,
        quantity_shipped=line.quantity_shipped,
        quantity_received=line.quantity_received,
    )


def lot_of(pending: PendingInspection) -> dict[str, Any]:
    """Which lot of its line an inspection was about, for the PO's timeline: the lot number, and the
    batch number when it has one."""
    lot: dict[str, Any] = {"lot_no": pending.lot_no}
    if pending.batch_no:
        lot["batch_no"] = pending.batch_no
    return lot
