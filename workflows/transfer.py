"""Transfer: goods moving from one location to another (a warehouse serving its store, or one region
helping another), from the request to the destination's stock.

One `TransferWorkflow` per transfer, workflow id `transfer_workflow_id("TR-2026-000012") ==
"tr-2026-000012"`. Each step is one named activity (activities/transfer.py) that writes the stock
movements, the transfer's change, its timeline event and whom it tells in one transaction.

1. Record the transfer and its lines (`record_transfer`); the creator's `wait_recorded` Update
   returns once they exist. Started by a store's or warehouse's request, by sourcing a store's
   request from warehouse stock, or by HQ releasing a planner proposal.
2. Between regions (`needs_approval`): the shared approval step (child ApprovalWorkflow).
   Rejected -> APPROVAL_REJECTED, done.
3. Reserve every line at the source in one transaction (`record_transfer_reserved`: RESERVE
   movements; never below zero, never twice: the balance's CHECK constraints and the movements'
   keys). The source cannot hold them all -> NOT_AVAILABLE (`record_transfer_not_available`), done.
4. Wait for `dispatch_transfer` (carrier, tracking number, expected arrival). Not dispatched within
   `dispatch_reminder_after`: a reminder to the source; within `dispatch_escalation_after`: HQ's
   buyers are told (`record_transfer_reminder`). `cancel_transfer` until dispatch releases the
   reservation (RELEASE movements; an open approval step is cancelled first).
5. Dispatch (`record_transfer_dispatched`): DISPATCH at the source (on hand and reserved down),
   TRANSIT_IN at the destination (in transit up): IN_TRANSIT.
6. `receive_transfer` (`record_transfer_received`): every line still on its way is counted; good
   units move from in transit into the destination's on hand (TRANSIT_RECEIPT). Nothing missing ->
   COMPLETED. Short or damaged units -> LOSS_PENDING and the shared approval step decides the loss
   (its value at the lowest supplier price is the amount): approved -> TRANSIT_LOSS written off,
   COMPLETED; rejected -> the missing units are on their way again for another count (IN_TRANSIT).
7. After the end the workflow answers late clicks for `answer_late_clicks_for`, then completes.

Every Update refuses with a message a person can act on (validator, rules in
`supplychain.rules.transfer`), checks again under the lock (of two clicks at once the second
finds the new state), and returns after the activity recording its effect has committed. A page
offers a click once a step's row is written, a moment before the workflow hears back from that
activity: the validators see the status the step being recorded sets (`_state_for_clicks`), so a
click is taken from that moment and carried out once the step is (the lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

from workflows.approval import ApprovalInput, ApprovalResult, ApprovalWorkflow, approval_workflow_id
from workflows.common import as_shown, business_date, checked

with workflow.unsafe.imports_passed_through():
    from activities.transfer import (
        INSUFFICIENT_STOCK,
        RecordTransferInput,
        TransferValueInput,
        record_transfer,
        record_transfer_approval_rejected,
        record_transfer_cancelled,
        record_transfer_dispatched,
        record_transfer_loss_decided,
        record_transfer_not_available,
        record_transfer_received,
        record_transfer_reminder,
        record_transfer_reserved,
        value_transfer_units,
    )
    from supplychain import sla
    from supplychain.i18n import lazy
    from supplychain.models.stock import MovementType
    from supplychain.models.transfer import TransferOrigin, TransferStatus
    from supplychain.rules.stock import StockDelta
    from supplychain.rules.transfer import (
        CancelTransferInput,
        DispatchTransferInput,
        ReceivedLine,
        ReceiveTransferInput,
        TransferLineState,
        TransferState,
        check_cancel,
        check_dispatch,
        check_receive,
    )
    from supplychain.transfers import (
        Audience,
        LineFigures,
        Movement,
        NewTransferLine,
        Notice,
        TransferStep,
        transfer_link,
        transfer_workflow_id,
    )

__all__ = [
    "CancelTransferInput",
    "DispatchTransferInput",
    "ReceiveTransferInput",
    "ReceivedLine",
    "TransferInput",
    "TransferLineInput",
    "TransferResult",
    "TransferState",
    "TransferUpdateResult",
    "TransferWorkflow",
    "WaitRecordedInput",
    "transfer_workflow_id",
]

DISPATCH_REMINDER_AFTER = timedelta(hours=sla.TRANSFER_DISPATCH_REMINDER_HOURS)
DISPATCH_ESCALATION_AFTER = timedelta(hours=sla.TRANSFER_DISPATCH_ESCALATION_HOURS)
ANSWER_LATE_CLICKS_FOR = timedelta(days=1)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))


@dataclass
class TransferLineInput:
    line_no: int
    sku_id: int
    quantity: int


@dataclass
class TransferInput:
    number: str
    origin: TransferOrigin
    source_location_id: int
    destination_location_id: int
    requested_by_user_id: int
    needs_approval: bool
    lines: list[TransferLineInput]
    note: str = ""
    purchase_order_number: str | None = None  # the purchase order a sourcing transfer completes
    dispatch_reminder_after: timedelta = DISPATCH_REMINDER_AFTER
    dispatch_escalation_after: timedelta = DISPATCH_ESCALATION_AFTER
    approval_reminder_after: timedelta | None = None  # None: the approval step's defaults
    approval_escalation_after: timedelta | None = None
    answer_late_clicks_for: timedelta = ANSWER_LATE_CLICKS_FOR
    activity_timeout: timedelta = ACTIVITY_TIMEOUT


@dataclass
class TransferResult:
    number: str
    status: TransferStatus


@dataclass
class WaitRecordedInput:
    pass


@dataclass
class TransferUpdateResult:
    status: TransferStatus
    missing: dict[str, int] = field(default_factory=dict)  # line no -> units short or damaged


@workflow.defn
class TransferWorkflow:
    @workflow.init
    def __init__(self, input: TransferInput) -> None:
        self._input = input
        self._state = TransferState(
            number=input.number,
            status=TransferStatus.PENDING_APPROVAL if input.needs_approval else TransferStatus.REQUESTED,
            lines=[TransferLineState(line.line_no, line.sku_id, line.quantity) for line in input.lines],
        )
        self._lock = asyncio.Lock()
        self._recording: TransferStatus | None = None  # the status the step being recorded sets
        self._steps = 0
        self._summary = ""
        self._approval: workflow.ChildWorkflowHandle[Any, ApprovalResult] | None = None
        self._approval_requested = False  # from here a cancellation waits for the child to start
        self._cancelling = False
        self._receiver: int | None = None  # who counted the last receipt (cannot approve its loss)

    @workflow.run
    async def run(self, input: TransferInput) -> TransferResult:
        await self._record()
        if input.needs_approval and not await self._get_approval():
            await self._finish_after_late_clicks()
            return self._result()
        await self._reserve()
        await self._wait_for_dispatch()
        while self._state.status in (TransferStatus.IN_TRANSIT, TransferStatus.LOSS_PENDING):
            await workflow.wait_condition(lambda: self._state.status is not TransferStatus.IN_TRANSIT)
            if self._state.status is TransferStatus.LOSS_PENDING:
                await self._decide_loss()
        await self._finish_after_late_clicks()
        return self._result()

    @workflow.query
    def get_state(self) -> TransferState:
        return self._state

    # --- the story's steps -----------------------------------------------------------------------

    async def _record(self) -> None:
        input = self._input
        recorded = await self._activity(
            record_transfer,
            RecordTransferInput(
                number=input.number,
                workflow_id=workflow.info().workflow_id,
                origin=input.origin,
                source_location_id=input.source_location_id,
                destination_location_id=input.destination_location_id,
                requested_by_user_id=input.requested_by_user_id,
                needs_approval=input.needs_approval,
                lines=[NewTransferLine(line.line_no, line.sku_id, line.quantity) for line in input.lines],
                idempotency_key=self._key("created"),
                occurred_at=workflow.now(),
                note=input.note,
                purchase_order_number=input.purchase_order_number,
            ),
        )
        self._summary = recorded.summary
        self._state.recorded = True

    async def _get_approval(self) -> bool:
        """The shared approval step; False when rejected or when the transfer was cancelled meanwhile."""
        input = self._input
        approval = ApprovalInput(
            document_type="transfer",
            document_id=input.number,
            document_link=transfer_link(input.number),
            summary=f"{self._summary} · {len(input.lines)}",
            amount=await self._activity(value_transfer_units, TransferValueInput(lines=self._all_lines())),
            requester_user_id=input.requested_by_user_id,
        )
        approved = await self._approval_step(approval, "approval")
        if approved is None:  # cancelled: cancel_transfer records it
            return False
        if not approved.approved:
            async with self._lock:
                if not self._state.status.is_final:
                    await self._step(
                        record_transfer_approval_rejected,
                        "approval_rejected",
                        TransferStatus.APPROVAL_REJECTED,
                        status_reason=approved.comment,
                        actor=approved.decided_by_user_id,
                        notices=[
                            Notice(
                                Audience.REQUESTER,
                                lazy("HQ rejected transfer %(number)s: %(reason)s"),
                                {"reason": approved.comment},
                            )
                        ],
                    )
            return False
        return True

    async def _reserve(self) -> None:
        async with self._lock:
            if self._state.status.is_final:
                return
            wf = workflow.info().workflow_id
            movements = [
                Movement(
                    location_id=self._input.source_location_id,
                    sku_id=line.sku_id,
                    movement_type=MovementType.RESERVE,
                    delta=StockDelta(reserved=line.quantity),
                    idempotency_key=f"{wf}:reserve:{line.line_no}",
                )
                for line in self._state.lines
            ]
            try:
                await self._step(
                    record_transfer_reserved,
                    "reserved",
                    TransferStatus.RESERVED,
                    movements=movements,
                    notices=[
                        Notice(
                            Audience.SOURCE, lazy("Transfer %(number)s is reserved and waiting for dispatch.")
                        )
                    ],
                )
            except ActivityError as error:
                if not _is_insufficient_stock(error):
                    raise
                await self._step(
                    record_transfer_not_available,
                    "not_available",
                    TransferStatus.NOT_AVAILABLE,
                    notices=[
                        Notice(
                            Audience.REQUESTER,
                            lazy(
                                "Transfer %(number)s could not be reserved: the source has not enough stock."
                            ),
                        )
                    ],
                )
                return

    async def _wait_for_dispatch(self) -> None:
        """The dispatch SLA: a reminder to the source, then HQ's buyers are told."""

        def moved() -> bool:
            return self._state.status is not TransferStatus.RESERVED

        if moved():
            return
        if await self._wait(moved, self._input.dispatch_reminder_after):
            return
        async with self._lock:
            if not moved():
                await self._step(
                    record_transfer_reminder,
                    "dispatch_reminder_sent",
                    notices=[
                        Notice(
                            Audience.SOURCE, lazy("Reminder: transfer %(number)s is waiting for dispatch.")
                        )
                    ],
                )
        remaining = self._input.dispatch_escalation_after - self._input.dispatch_reminder_after
        if remaining > timedelta(0) and await self._wait(moved, remaining):
            return
        hours = int(self._input.dispatch_escalation_after.total_seconds() // 3600)
        async with self._lock:
            if not moved():
                await self._step(
                    record_transfer_reminder,
                    "dispatch_escalated",
                    details={"hours": hours},
                    notices=[
                        Notice(
                            Audience.HQ_LOGISTICS,
                            lazy("Transfer %(number)s has not been dispatched within %(hours)s hours."),
                            {"hours": hours},
                        )
                    ],
                )
        await workflow.wait_condition(moved)

    async def _decide_loss(self) -> None:
        """HQ decides the loss of the last receipt: written off, or on its way again to be counted."""
        missing = [line for line in self._state.lines if line.quantity_missing > 0]
        receipt = self._state.receipts
        approval = ApprovalInput(
            document_type="transfer_loss",
            document_id=self._input.number,
            document_link=transfer_link(self._input.number),
            summary=f"{self._summary} · "
            + ", ".join(f"#{line.line_no}: {line.quantity_missing}" for line in missing),
            amount=await self._activity(
                value_transfer_units,
                TransferValueInput(
                    lines=[
                        NewTransferLine(line.line_no, line.sku_id, line.quantity_missing) for line in missing
                    ]
                ),
            ),
            requester_user_id=self._receiver or self._input.requested_by_user_id,
        )
        result = await self._approval_step(approval, f"loss:{receipt}")
        assert result is not None  # a transfer in transit cannot be cancelled
        wf = workflow.info().workflow_id
        async with self._lock:
            if result.approved:
                movements = [
                    Movement(
                        location_id=self._input.destination_location_id,
                        sku_id=line.sku_id,
                        movement_type=MovementType.TRANSIT_LOSS,
                        delta=StockDelta(in_transit=-line.quantity_missing),
                        idempotency_key=f"{wf}:loss:{receipt}:{line.line_no}",
                        note="written off",
                    )
                    for line in missing
                ]
                for line in missing:
                    line.quantity_lost += line.quantity_missing
                    line.quantity_missing = 0
                await self._step(
                    record_transfer_loss_decided,
                    "loss_written_off",
                    TransferStatus.COMPLETED,
                    movements=movements,
                    lines=missing,
                    actor=result.decided_by_user_id,
                    note=result.comment,
                    notices=[
                        Notice(Audience.DESTINATION, lazy("The loss on transfer %(number)s was written off."))
                    ],
                )
            else:
                for line in missing:
                    line.quantity_missing = 0
                await self._step(
                    record_transfer_loss_decided,
                    "loss_refused",
                    TransferStatus.IN_TRANSIT,
                    lines=missing,
                    actor=result.decided_by_user_id,
                    note=result.comment,
                    notices=[
                        Notice(
                            Audience.DESTINATION,
                            lazy(
                                "HQ did not accept the loss on transfer %(number)s: count again. %(reason)s"
                            ),
                            {"reason": result.comment},
                        )
                    ],
                )

    async def _finish_after_late_clicks(self) -> None:
        await self._wait(lambda: False, self._input.answer_late_clicks_for)
        await workflow.wait_condition(workflow.all_handlers_finished)

    # --- updates: what people do -----------------------------------------------------------------

    @workflow.update
    async def wait_recorded(self, input: WaitRecordedInput) -> TransferUpdateResult:
        """Returns once the transfer's rows exist, so the creator can be redirected to its page."""
        await workflow.wait_condition(lambda: self._state.recorded)
        return TransferUpdateResult(status=self._state.status)

    @wait_recorded.validator
    def validate_wait_recorded(self, input: WaitRecordedInput) -> None:
        """Always accepted: it only waits."""

    @workflow.update
    async def dispatch_transfer(self, input: DispatchTransferInput) -> TransferUpdateResult:
        async with self._lock:
            self.validate_dispatch_transfer(input)
            wf = workflow.info().workflow_id
            movements: list[Movement] = []
            for line in self._state.lines:
                movements.append(
                    Movement(
                        location_id=self._input.source_location_id,
                        sku_id=line.sku_id,
                        movement_type=MovementType.DISPATCH,
                        delta=StockDelta(on_hand=-line.quantity, reserved=-line.quantity),
                        idempotency_key=f"{wf}:dispatch:{line.line_no}",
                    )
                )
                movements.append(
                    Movement(
                        location_id=self._input.destination_location_id,
                        sku_id=line.sku_id,
                        movement_type=MovementType.TRANSIT_IN,
                        delta=StockDelta(in_transit=line.quantity),
                        idempotency_key=f"{wf}:transit_in:{line.line_no}",
                    )
                )
            carrier, tracking = input.carrier.strip(), input.tracking_number.strip()
            await self._step(
                record_transfer_dispatched,
                "dispatched",
                TransferStatus.IN_TRANSIT,
                movements=movements,
                actor=input.actor_user_id,
                carrier=carrier,
                tracking_number=tracking,
                expected_arrival=input.expected_arrival,
                notices=[
                    Notice(
                        Audience.DESTINATION,
                        lazy("Transfer %(number)s is on its way, expected %(date)s."),
                        {"date": input.expected_arrival.isoformat()},
                    )
                ],
            )
            self._state.carrier, self._state.tracking_number = carrier, tracking
            self._state.expected_arrival = input.expected_arrival
            return TransferUpdateResult(status=self._state.status)

    @dispatch_transfer.validator
    def validate_dispatch_transfer(self, input: DispatchTransferInput) -> None:
        checked(check_dispatch, self._state_for_clicks(), input, today=self._today())

    @workflow.update
    async def receive_transfer(self, input: ReceiveTransferInput) -> TransferUpdateResult:
        async with self._lock:
            self.validate_receive_transfer(input)
            wf = workflow.info().workflow_id
            self._state.receipts += 1
            receipt = self._state.receipts
            counted = {line.line_no: line for line in input.lines}
            movements: list[Movement] = []
            changed: list[TransferLineState] = []
            for line in self._state.lines:
                if line.line_no not in counted:
                    continue
                good, damaged = (
                    counted[line.line_no].quantity_received,
                    counted[line.line_no].quantity_damaged,
                )
                if good > 0:
                    movements.append(
                        Movement(
                            location_id=self._input.destination_location_id,
                            sku_id=line.sku_id,
                            movement_type=MovementType.TRANSIT_RECEIPT,
                            delta=StockDelta(in_transit=-good, on_hand=good),
                            idempotency_key=f"{wf}:receipt:{receipt}:{line.line_no}",
                        )
                    )
                line.quantity_missing = line.on_its_way - good
                line.quantity_received += good
                line.quantity_damaged += damaged
                changed.append(line)
            missing = {str(line.line_no): line.quantity_missing for line in changed if line.quantity_missing}
            self._receiver = input.actor_user_id
            await self._step(
                record_transfer_received,
                "received",
                TransferStatus.LOSS_PENDING if missing else TransferStatus.COMPLETED,
                movements=movements,
                lines=changed,
                actor=input.actor_user_id,
                note=input.note.strip(),
                details={"receipt": receipt, "missing": missing} if missing else {"receipt": receipt},
                notices=[Notice(Audience.REQUESTER, lazy("Transfer %(number)s was received."))],
            )
            return TransferUpdateResult(status=self._state.status, missing=missing)

    @receive_transfer.validator
    def validate_receive_transfer(self, input: ReceiveTransferInput) -> None:
        checked(check_receive, self._state_for_clicks(), input)

    @workflow.update
    async def cancel_transfer(self, input: CancelTransferInput) -> TransferUpdateResult:
        async with self._lock:
            self.validate_cancel_transfer(input)
            self._cancelling = True
            await self._cancel_approval()
            wf = workflow.info().workflow_id
            movements = (
                [
                    Movement(
                        location_id=self._input.source_location_id,
                        sku_id=line.sku_id,
                        movement_type=MovementType.RELEASE,
                        delta=StockDelta(reserved=-line.quantity),
                        idempotency_key=f"{wf}:release:{line.line_no}",
                    )
                    for line in self._state.lines
                ]
                if self._state.status is TransferStatus.RESERVED
                else []
            )
            reason = input.reason.strip()
            message = lazy("Transfer %(number)s was cancelled: %(reason)s")
            await self._step(
                record_transfer_cancelled,
                "cancelled",
                TransferStatus.CANCELLED,
                movements=movements,
                status_reason=reason,
                actor=input.actor_user_id,
                notices=[
                    Notice(Audience.REQUESTER, message, {"reason": reason}),
                    Notice(Audience.SOURCE, message, {"reason": reason}),
                ],
            )
            return TransferUpdateResult(status=self._state.status)

    @cancel_transfer.validator
    def validate_cancel_transfer(self, input: CancelTransferInput) -> None:
        checked(check_cancel, self._state_for_clicks(), input)

    def _state_for_clicks(self) -> TransferState:
        return as_shown(self._state, self._recording)

    # --- helpers ---------------------------------------------------------------------------------

    async def _cancel_approval(self) -> None:
        """Cancel an open approval step and wait until it has recorded its cancellation."""
        if not self._approval_requested:
            return
        await workflow.wait_condition(lambda: self._approval is not None)
        assert self._approval is not None
        if not self._approval.done():
            self._approval.cancel()
            await workflow.wait_condition(lambda: self._approval is not None and self._approval.done())

    async def _approval_step(self, approval: ApprovalInput, step: str) -> ApprovalResult | None:
        if self._input.approval_reminder_after is not None:
            approval.reminder_after = self._input.approval_reminder_after
        if self._input.approval_escalation_after is not None:
            approval.escalation_after = self._input.approval_escalation_after
        wf = workflow.info().workflow_id
        self._approval_requested = step == "approval"
        self._approval = await workflow.start_child_workflow(
            ApprovalWorkflow.run,
            approval,
            id=approval_workflow_id(wf, step),
            cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        if step == "approval":
            self._state.approval_workflow_id = self._approval.id
        else:
            self._state.loss_approval_workflow_id = self._approval.id
        try:
            return await self._approval
        except (ChildWorkflowError, asyncio.CancelledError):
            if self._cancelling:
                return None
            raise

    async def _step(
        self,
        activity: Callable[..., Any],
        action: str,
        status: TransferStatus | None = None,
        *,
        movements: list[Movement] | None = None,
        lines: list[TransferLineState] | None = None,
        status_reason: str | None = None,
        actor: int | None = None,
        note: str = "",
        carrier: str | None = None,
        tracking_number: str | None = None,
        expected_arrival: date | None = None,
        details: dict[str, Any] | None = None,
        notices: list[Notice] | None = None,
    ) -> None:
        """Record one step; the state follows only once it is written (the validators see its
        status from the start: `_state_for_clicks`)."""
        self._recording = status
        try:
            await self._activity(
                activity,
                TransferStep(
                    number=self._input.number,
                    action=action,
                    idempotency_key=self._key(action),
                    status=status,
                    lines=[
                        LineFigures(
                            line.line_no, line.quantity_received, line.quantity_damaged, line.quantity_lost
                        )
                        for line in lines or []
                    ],
                    movements=movements or [],
                    carrier=carrier,
                    tracking_number=tracking_number,
                    expected_arrival=expected_arrival,
                    status_reason=status_reason,
                    actor_user_id=actor,
                    note=note,
                    details=details or {},
                    notices=notices or [],
                    occurred_at=workflow.now(),
                ),
            )
        finally:
            self._recording = None
        if status is not None:
            self._state.status = status
        if status_reason is not None:
            self._state.status_reason = status_reason

    def _all_lines(self) -> list[NewTransferLine]:
        return [NewTransferLine(line.line_no, line.sku_id, line.quantity) for line in self._input.lines]

    def _result(self) -> TransferResult:
        return TransferResult(number=self._state.number, status=self._state.status)

    def _key(self, step: str) -> str:
        """`<workflow id>:<step>:<n>`: unique per step, the same on every replay."""
        self._steps += 1
        return f"{workflow.info().workflow_id}:{step}:{self._steps}"

    def _today(self) -> date:
        return business_date(workflow.now())

    async def _activity(self, activity: Callable[..., Any], arg: Any) -> Any:
        return await workflow.execute_activity(
            activity, arg, start_to_close_timeout=self._input.activity_timeout, retry_policy=ACTIVITY_RETRY
        )

    @staticmethod
    async def _wait(condition: Callable[[], bool], timeout: timedelta) -> bool:
        try:
            await workflow.wait_condition(condition, timeout=timeout)
        except TimeoutError:
            return False
        return True


def _is_insufficient_stock(error: ActivityError) -> bool:
    cause = error.cause
    return isinstance(cause, ApplicationError) and cause.type == INSUFFICIENT_STOCK
