"""Settlement (T+7 结算): one statement's payment, from the day it is matched to the bank's answer.

One `SettlementWorkflow` per matched statement, workflow id
`settlement_workflow_id("ST-2026-000001") == "settlement-st-2026-000001"`, started by the statement's
workflow with `SettlementInput` the day the statement is confirmed and matched (T, day 0). The
payment is `PAY-2026-000001` (the statement's number, one payment per statement).

1. `schedule_payment`: the due date from the supplier's terms (T + N calendar days moved to the next
   working day, or the Nth working day after T) on the Chinese calendar with the admin's overrides,
   computed in the activity (the calendar libraries never run in workflow code); the payment row
   (SCHEDULED). A due date past the official calendar is provisional: finance is told.
2. Above `approval_limit` (PAYMENT_APPROVAL_LIMIT): finance approves through the shared approval
   step (child ApprovalWorkflow, document type "payment", decided by the finance role), at once,
   so an approved payment goes out on its due date (AWAITING_APPROVAL meanwhile). Rejected:
   CANCELLED with finance's reason, done.
3. A durable timer until the due date (00:00 China time). Meanwhile the supplier may
   `request_early_payment` for an earlier day (the supplier's discount rate per day must be above 0)
   and finance `decide_early_payment`: agreed, the discount is recorded (supplychain.rules.
   early_payment) and the timer is cut to that day.
4. `record_payment_ready`: the next payment run (PaymentRunWorkflow) hands it to the bank and
   signals `payment_instructed`.
5. The bank's result comes back through `record_bank_result` (finance uploads the result file):
   paid -> PAID, the statement PAID, the supplier told its remittance advice is ready; failed ->
   FAILED with the bank's reason, finance told, and finance `retry_payment` (a new attempt with a
   new idempotency key, ready for the next run) or `cancel_payment`.

Never paid twice: the bank's idempotency key is minted here (`<workflow id>:pay:<attempt>`), a new
attempt only after the bank said the previous one failed, and the adapter never writes a key that
is in an earlier instruction file (supplychain/payments.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from workflows.approval import ApprovalInput, ApprovalResult, ApprovalWorkflow, approval_workflow_id
from workflows.common import BUSINESS_TIMEZONE, UpdateRejected, business_date

with workflow.unsafe.imports_passed_through():
    from activities.settlement import (
        ScheduledPayment,
        SchedulePaymentInput,
        record_early_payment_decided,
        record_early_payment_requested,
        record_payment_approval_decided,
        record_payment_approval_requested,
        record_payment_cancelled,
        record_payment_failed,
        record_payment_paid,
        record_payment_ready,
        record_payment_retried,
        schedule_payment,
    )
    from supplychain.i18n import lazy
    from supplychain.models.settlement import PaymentStatus, StatementStatus
    from supplychain.payments import BankStatus
    from supplychain.rules.early_payment import early_payment_discount
    from supplychain.settlement import (
        PaymentNotice,
        PaymentStep,
        payment_link,
        payment_number,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
DEFAULT_APPROVAL_LIMIT = Decimal("50000.00")
# After the payment is finished, a click from a page opened earlier still gets a clear refusal.
ANSWER_LATE_CLICKS_FOR = timedelta(days=1)

# Refusals (message ids, translated by the web layer).
NO_EARLY_PAYMENT = lazy("Early payment is not offered to this supplier.")
EARLY_DATE_NOT_BEFORE_DUE = lazy("The early payment date must be before the due date %(due_date)s.")
EARLY_DATE_PAST = lazy("The early payment date cannot be in the past.")
EARLY_ALREADY_REQUESTED = lazy("Early payment has already been requested for this payment.")
NO_EARLY_REQUEST = lazy("There is no early payment request to decide.")
TOO_LATE_FOR_EARLY = lazy("This payment is already on its way to the bank.")
EARLY_DISCOUNT_INVALID = lazy("Early payment on that day is not possible: %(reason)s")
NOT_INSTRUCTED = lazy("This payment is not waiting for the bank's answer.")
WRONG_ATTEMPT = lazy("This result is for an earlier attempt of payment %(number)s.")
NOT_FAILED = lazy("Only a failed payment can be retried or cancelled.")
REASON_REQUIRED = lazy("Please give a reason.")
PAYMENT_FINISHED = lazy("This payment is finished.")

# Notices.
APPROVAL_NEEDED = lazy("Payment %(number)s of %(amount)s is above the limit and waits for finance approval.")
PAYMENT_REJECTED = lazy("Payment %(number)s was rejected by finance: %(reason)s")
EARLY_REQUESTED = lazy("The supplier asks for payment %(number)s to be paid early, on %(date)s.")
EARLY_APPROVED = lazy("Early payment of %(number)s on %(date)s was agreed, less a discount of %(discount)s.")
EARLY_REFUSED = lazy("Early payment of %(number)s was not agreed: %(reason)s")
PAID_REMITTANCE = lazy(
    "Payment %(number)s of %(amount)s was made (bank reference %(reference)s). "
    "The remittance advice is ready."
)
PAYMENT_FAILED = lazy("Payment %(number)s failed at the bank: %(reason)s")
PAYMENT_CANCELLED = lazy("Payment %(number)s was cancelled: %(reason)s")


def settlement_workflow_id(statement_number: str) -> str:
    return f"settlement-{statement_number.lower()}"


@dataclass
class SettlementInput:
    """What the statement workflow passes the day its statement is confirmed and matched."""

    statement_id: int
    statement_number: str
    supplier_id: int
    amount: Decimal  # the statement's total including VAT
    matched_on: date  # T
    approval_limit: Decimal = DEFAULT_APPROVAL_LIMIT  # the starter passes PAYMENT_APPROVAL_LIMIT
    # The approval step's requester when the statement has no confirming user recorded.
    requester_user_id: int | None = None
    approval_reminder_after: timedelta | None = None
    approval_escalation_after: timedelta | None = None
    answer_late_clicks_for: timedelta = ANSWER_LATE_CLICKS_FOR
    activity_timeout: timedelta = ACTIVITY_TIMEOUT


@dataclass
class SettlementState:
    number: str
    status: PaymentStatus = PaymentStatus.SCHEDULED
    scheduled: bool = False
    due_date: date | None = None
    provisional: bool = False
    early_payment_rate_per_day: Decimal = Decimal("0")
    early_payment_date: date | None = None
    early_payment_approved: bool = False
    discount_amount: Decimal = Decimal("0.00")
    ready: bool = False
    attempt: int = 1
    bank_idempotency_key: str = ""
    payment_run: str = ""
    failure_reason: str = ""
    approval_workflow_id: str | None = None


@dataclass
class SettlementResult:
    number: str
    status: PaymentStatus


@dataclass
class RequestEarlyPaymentInput:
    actor_user_id: int
    pay_on: date


@dataclass
class DecideEarlyPaymentInput:
    actor_user_id: int
    approve: bool
    comment: str = ""


@dataclass
class BankResultInput:
    idempotency_key: str
    status: BankStatus
    bank_reference: str = ""
    reason: str = ""
    actor_user_id: int | None = None  # who uploaded the result file


@dataclass
class FailedPaymentInput:
    actor_user_id: int
    reason: str = ""  # required to cancel


@dataclass
class PaymentInstructed:
    run_number: str
    idempotency_key: str


@dataclass
class SettlementUpdateResult:
    status: PaymentStatus


@workflow.defn
class SettlementWorkflow:
    @workflow.init
    def __init__(self, input: SettlementInput) -> None:
        self._input = input
        number = payment_number(input.statement_number)
        self._state = SettlementState(number=number, bank_idempotency_key=self._bank_key(1))
        self._lock = asyncio.Lock()
        self._steps = 0
        self._revision = 0  # bumped when the day it is paid may have changed

    @workflow.run
    async def run(self, input: SettlementInput) -> SettlementResult:
        await self._schedule()
        if input.amount > input.approval_limit:
            await self._get_approval()
        if self._state.status is not PaymentStatus.CANCELLED:
            await self._wait_until_payable()
            await self._mark_ready()
            await workflow.wait_condition(lambda: self._finished)
        await self._wait(lambda: False, input.answer_late_clicks_for)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return SettlementResult(number=self._state.number, status=self._state.status)

    @workflow.query
    def get_state(self) -> SettlementState:
        return self._state

    # --- the story's steps -----------------------------------------------------------------------

    async def _schedule(self) -> None:
        input = self._input
        scheduled: ScheduledPayment = await self._activity(
            schedule_payment,
            SchedulePaymentInput(
                number=self._state.number,
                workflow_id=workflow.info().workflow_id,
                statement_id=input.statement_id,
                supplier_id=input.supplier_id,
                amount=input.amount,
                matched_on=input.matched_on,
                idempotency_key=self._state.bank_idempotency_key,
                event_key=self._key("scheduled"),
                occurred_at=workflow.now(),
            ),
        )
        self._state.due_date = scheduled.due_date
        self._state.provisional = scheduled.provisional
        self._state.early_payment_rate_per_day = scheduled.early_payment_rate_per_day
        self._supplier_name = scheduled.supplier_name
        self._requester = scheduled.requester_user_id or input.requester_user_id
        self._state.scheduled = True

    async def _get_approval(self) -> None:
        """Finance approves a payment above the limit (the shared approval step as a child)."""
        input = self._input
        if self._requester is None:
            raise ApplicationError("the statement has no confirming user to name as the requester")
        amount = {"amount": str(input.amount)}
        async with self._lock:
            await self._step(
                record_payment_approval_requested,
                "payment.approval_requested",
                status=PaymentStatus.AWAITING_APPROVAL,
                notices=[PaymentNotice("finance", APPROVAL_NEEDED, amount)],
            )
        approval = ApprovalInput(
            document_type="payment",
            document_id=self._state.number,
            document_link=payment_link(self._state.number),
            summary=f"{self._supplier_name} · {input.statement_number}",
            amount=input.amount,
            requester_user_id=self._requester,
            approver_role="finance",
        )
        if input.approval_reminder_after is not None:
            approval.reminder_after = input.approval_reminder_after
        if input.approval_escalation_after is not None:
            approval.escalation_after = input.approval_escalation_after
        child_id = approval_workflow_id(workflow.info().workflow_id)
        self._state.approval_workflow_id = child_id
        result: ApprovalResult = await workflow.execute_child_workflow(
            ApprovalWorkflow.run, approval, id=child_id
        )
        async with self._lock:
            if result.approved:
                await self._step(
                    record_payment_approval_decided,
                    "payment.approved",
                    status=PaymentStatus.SCHEDULED,
                    actor=result.decided_by_user_id,
                    approved=True,
                    note=result.comment,
                )
            else:
                await self._step(
                    record_payment_approval_decided,
                    "payment.rejected",
                    status=PaymentStatus.CANCELLED,
                    actor=result.decided_by_user_id,
                    failure_reason=result.comment,
                    note=result.comment,
                    notices=[PaymentNotice("supplier", PAYMENT_REJECTED, {"reason": result.comment})],
                )

    async def _wait_until_payable(self) -> None:
        """The durable timer: until 00:00 (China time) of the due date, or of an agreed early day."""
        while True:
            revision = self._revision
            remaining = self._pay_moment() - workflow.now()
            if remaining <= timedelta(0):
                return

            def changed(seen: int = revision) -> bool:
                return self._revision != seen

            if not await self._wait(changed, remaining):
                return

    async def _mark_ready(self) -> None:
        async with self._lock:
            await self._step(record_payment_ready, "payment.ready", ready=True)
            self._state.ready = True

    def _pay_moment(self) -> datetime:
        day = self._pay_day()
        return datetime.combine(day, time(0), tzinfo=BUSINESS_TIMEZONE)

    def _pay_day(self) -> date:
        state = self._state
        if state.early_payment_approved and state.early_payment_date is not None:
            return state.early_payment_date
        assert state.due_date is not None
        return state.due_date

    @property
    def _finished(self) -> bool:
        return self._state.status in (PaymentStatus.PAID, PaymentStatus.CANCELLED)

    # --- updates: what people do -----------------------------------------------------------------

    @workflow.update
    async def request_early_payment(self, input: RequestEarlyPaymentInput) -> SettlementUpdateResult:
        async with self._lock:
            self.validate_request_early_payment(input)
            await self._step(
                record_early_payment_requested,
                "payment.early_payment_requested",
                actor=input.actor_user_id,
                early_payment_date=input.pay_on,
                notices=[PaymentNotice("finance", EARLY_REQUESTED, {"date": input.pay_on.isoformat()})],
            )
            self._state.early_payment_date = input.pay_on
            return SettlementUpdateResult(self._state.status)

    @request_early_payment.validator
    def validate_request_early_payment(self, input: RequestEarlyPaymentInput) -> None:
        state = self._state
        self._require_before_the_bank()
        if state.early_payment_rate_per_day <= 0:
            raise UpdateRejected(NO_EARLY_PAYMENT)
        if state.early_payment_date is not None:
            raise UpdateRejected(EARLY_ALREADY_REQUESTED)
        self._check_early_day(input.pay_on)

    @workflow.update
    async def decide_early_payment(self, input: DecideEarlyPaymentInput) -> SettlementUpdateResult:
        async with self._lock:
            self.validate_decide_early_payment(input)
            pay_on = self._state.early_payment_date
            assert pay_on is not None
            if input.approve:
                discount = self._discount(pay_on)
                await self._step(
                    record_early_payment_decided,
                    "payment.early_payment_approved",
                    actor=input.actor_user_id,
                    note=input.comment.strip(),
                    early_payment_approved=True,
                    discount_amount=discount,
                    notices=[
                        PaymentNotice(
                            "supplier",
                            EARLY_APPROVED,
                            {"date": pay_on.isoformat(), "discount": str(discount)},
                        )
                    ],
                )
                self._state.early_payment_approved = True
                self._state.discount_amount = discount
                self._revision += 1  # the timer now ends on the early day
            else:
                reason = input.comment.strip()
                await self._step(
                    record_early_payment_decided,
                    "payment.early_payment_refused",
                    actor=input.actor_user_id,
                    note=reason,
                    clear_early_payment=True,
                    notices=[PaymentNotice("supplier", EARLY_REFUSED, {"reason": reason})],
                )
                self._state.early_payment_date = None
            return SettlementUpdateResult(self._state.status)

    @decide_early_payment.validator
    def validate_decide_early_payment(self, input: DecideEarlyPaymentInput) -> None:
        state = self._state
        self._require_before_the_bank()
        if state.early_payment_date is None or state.early_payment_approved:
            raise UpdateRejected(NO_EARLY_REQUEST)
        if input.approve:
            self._check_early_day(state.early_payment_date)
        elif not input.comment.strip():
            raise UpdateRejected(REASON_REQUIRED)

    @workflow.update
    async def record_bank_result(self, input: BankResultInput) -> SettlementUpdateResult:
        async with self._lock:
            self.validate_record_bank_result(input)
            if input.status is BankStatus.PAID:
                paid_on = business_date(workflow.now())
                await self._step(
                    record_payment_paid,
                    "payment.paid",
                    status=PaymentStatus.PAID,
                    actor=input.actor_user_id,
                    bank_reference=input.bank_reference,
                    paid_on=paid_on,
                    statement_status=StatementStatus.PAID,
                    notices=[
                        PaymentNotice(
                            "supplier",
                            PAID_REMITTANCE,
                            {
                                "amount": str(self._input.amount - self._state.discount_amount),
                                "reference": input.bank_reference,
                            },
                        )
                    ],
                )
            else:
                await self._step(
                    record_payment_failed,
                    "payment.failed",
                    status=PaymentStatus.FAILED,
                    actor=input.actor_user_id,
                    failure_reason=input.reason,
                    note=input.reason,
                    notices=[PaymentNotice("finance", PAYMENT_FAILED, {"reason": input.reason})],
                )
                self._state.failure_reason = input.reason
            self._state.status = (
                PaymentStatus.PAID if input.status is BankStatus.PAID else PaymentStatus.FAILED
            )
            return SettlementUpdateResult(self._state.status)

    @record_bank_result.validator
    def validate_record_bank_result(self, input: BankResultInput) -> None:
        state = self._state
        if self._finished:
            raise UpdateRejected(PAYMENT_FINISHED)
        # Ready is enough: the run's signal may arrive after the row says INSTRUCTED.
        if not state.ready or state.status not in (PaymentStatus.SCHEDULED, PaymentStatus.INSTRUCTED):
            raise UpdateRejected(NOT_INSTRUCTED)
        if input.idempotency_key != state.bank_idempotency_key:
            raise UpdateRejected(WRONG_ATTEMPT, number=state.number)

    @workflow.update
    async def retry_payment(self, input: FailedPaymentInput) -> SettlementUpdateResult:
        async with self._lock:
            self.validate_retry_payment(input)
            attempt = self._state.attempt + 1
            key = self._bank_key(attempt)
            await self._step(
                record_payment_retried,
                "payment.retried",
                status=PaymentStatus.SCHEDULED,
                actor=input.actor_user_id,
                note=input.reason.strip(),
                ready=True,
                bank_idempotency_key=key,
                failure_reason="",
                leave_run=True,
            )
            self._state.attempt = attempt
            self._state.bank_idempotency_key = key
            self._state.status = PaymentStatus.SCHEDULED
            self._state.payment_run = ""
            self._state.failure_reason = ""
            return SettlementUpdateResult(self._state.status)

    @retry_payment.validator
    def validate_retry_payment(self, input: FailedPaymentInput) -> None:
        if self._state.status is not PaymentStatus.FAILED:
            raise UpdateRejected(NOT_FAILED)

    @workflow.update
    async def cancel_payment(self, input: FailedPaymentInput) -> SettlementUpdateResult:
        async with self._lock:
            self.validate_cancel_payment(input)
            reason = input.reason.strip()
            await self._step(
                record_payment_cancelled,
                "payment.cancelled",
                status=PaymentStatus.CANCELLED,
                actor=input.actor_user_id,
                note=reason,
                notices=[PaymentNotice("supplier", PAYMENT_CANCELLED, {"reason": reason})],
            )
            self._state.status = PaymentStatus.CANCELLED
            return SettlementUpdateResult(self._state.status)

    @cancel_payment.validator
    def validate_cancel_payment(self, input: FailedPaymentInput) -> None:
        if self._state.status is not PaymentStatus.FAILED:
            raise UpdateRejected(NOT_FAILED)
        if not input.reason.strip():
            raise UpdateRejected(REASON_REQUIRED)

    @workflow.signal
    def payment_instructed(self, input: PaymentInstructed) -> None:
        """The payment run wrote this attempt into its instruction file (the row says so already)."""
        if (
            input.idempotency_key == self._state.bank_idempotency_key
            and self._state.status is PaymentStatus.SCHEDULED
        ):
            self._state.status = PaymentStatus.INSTRUCTED
            self._state.payment_run = input.run_number

    # --- helpers ---------------------------------------------------------------------------------

    def _require_before_the_bank(self) -> None:
        state = self._state
        if self._finished:
            raise UpdateRejected(PAYMENT_FINISHED)
        if (
            not state.scheduled
            or state.ready
            or state.status
            not in (
                PaymentStatus.SCHEDULED,
                PaymentStatus.AWAITING_APPROVAL,
            )
        ):
            raise UpdateRejected(TOO_LATE_FOR_EARLY)

    def _check_early_day(self, pay_on: date) -> None:
        due = self._state.due_date
        assert due is not None
        if pay_on >= due:
            raise UpdateRejected(EARLY_DATE_NOT_BEFORE_DUE, due_date=due.isoformat())
        if pay_on < business_date(workflow.now()):
            raise UpdateRejected(EARLY_DATE_PAST)
        try:
            self._discount(pay_on)
        except ValueError as error:
            raise UpdateRejected(EARLY_DISCOUNT_INVALID, reason=str(error)) from None

    def _discount(self, pay_on: date) -> Decimal:
        due = self._state.due_date
        assert due is not None
        return early_payment_discount(
            self._input.amount, self._state.early_payment_rate_per_day, due, pay_on
        ).discount

    def _bank_key(self, attempt: int) -> str:
        return f"{workflow.info().workflow_id}:pay:{attempt}"

    def _key(self, step: str) -> str:
        """`<workflow id>:<step>:<n>`: unique per step, the same on every replay."""
        self._steps += 1
        return f"{workflow.info().workflow_id}:{step}:{self._steps}"

    async def _step(
        self,
        activity: Any,
        action: str,
        *,
        status: PaymentStatus | None = None,
        actor: int | None = None,
        note: str = "",
        notices: list[PaymentNotice] | None = None,
        **changes: Any,
    ) -> None:
        step = PaymentStep(
            number=self._state.number,
            action=action,
            idempotency_key=self._key(action),
            occurred_at=workflow.now(),
            status=status,
            actor_user_id=actor,
            note=note,
            notices=notices or [],
            **changes,
        )
        await self._activity(activity, step)
        if status is not None:
            self._state.status = status

    async def _activity(self, activity: Any, arg: Any) -> Any:
        return await workflow.execute_activity(
            activity, arg, start_to_close_timeout=self._input.activity_timeout, retry_policy=ACTIVITY_RETRY
        )

    @staticmethod
    async def _wait(condition: Any, timeout: timedelta) -> bool:
        try:
            await workflow.wait_condition(condition, timeout=timeout)
        except TimeoutError:
            return False
        return True


__all__ = [
    "BankResultInput",
    "DecideEarlyPaymentInput",
    "FailedPaymentInput",
    "PaymentInstructed",
    "RequestEarlyPaymentInput",
    "SettlementInput",
    "SettlementResult",
    "SettlementState",
    "SettlementUpdateResult",
    "SettlementWorkflow",
    "settlement_workflow_id",
]
