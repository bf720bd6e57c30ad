"""Side effects of SettlementWorkflow and PaymentRunWorkflow: payments, payment runs, the bank file.

Sync activities on the worker's thread pool (see activities/events.py), each safe to retry:
`schedule_payment` creates the statement's payment once (unique statement and number) and computes
its due date on the Chinese calendar (the calendar libraries and the admin's override table are read
here, never in workflow code); every later step writes absolute values under the workflow's key
(supplychain/settlement.py `record_step`), e-mail after the commit. The bank is reached only through
the payment adapter (supplychain/payments.py), which never writes an idempotency key twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from temporalio import activity

from activities.notifications import email_after_commit
from supplychain import settlement
from supplychain.db import session_scope
from supplychain.i18n import lazy
from supplychain.models import Organisation, Role
from supplychain.models.settlement import Statement
from supplychain.notifications import notify_role
from supplychain.payments import PaymentAdapter, default_adapter
from supplychain.settings import settings
from supplychain.settlement import InstructedPayment, PaymentStep

PROVISIONAL_DUE_DATE = lazy(
    "The due date %(due_date)s of payment %(number)s is provisional: the official working days of "
    "%(years)s are not known yet. An administrator can enter them."
)


@dataclass
class SchedulePaymentInput:
    number: str
    workflow_id: str
    statement_id: int
    supplier_id: int
    amount: Decimal
    matched_on: date
    idempotency_key: str  # the bank's key for the first attempt
    event_key: str
    occurred_at: datetime


@dataclass
class ScheduledPayment:
    number: str
    due_date: date
    provisional: bool
    early_payment_rate_per_day: Decimal
    supplier_name: str
    # Who the approval step names as requester: whoever confirmed the statement (None: nobody yet).
    requester_user_id: int | None


@activity.defn
def schedule_payment(input: SchedulePaymentInput) -> ScheduledPayment:
    with session_scope() as session:
        terms = settlement.terms_of(session, input.supplier_id)
        due, guessed_years = settlement.compute_due_date(
            session,
            matched_on=input.matched_on,
            terms=terms,
            official_years=list(settings.CALENDAR_OFFICIAL_YEARS),
        )
        payment, _created = settlement.create_payment(
            session,
            number=input.number,
            workflow_id=input.workflow_id,
            statement_id=input.statement_id,
            supplier_id=input.supplier_id,
            amount=input.amount,
            matched_on=input.matched_on,
            due=due,
            idempotency_key=input.idempotency_key,
        )
        notices = []
        if payment.due_date_provisional:
            notices.append(
                settlement.PaymentNotice(
                    "finance",
                    PROVISIONAL_DUE_DATE,
                    {"due_date": payment.due_date.isoformat(), "years": ", ".join(map(str, guessed_years))},
                )
            )
        told = settlement.record_step(
            session,
            PaymentStep(
                number=input.number,
                action="payment.scheduled",
                idempotency_key=input.event_key,
                occurred_at=input.occurred_at,
                notices=notices,
            ),
        )
        supplier = session.get(Organisation, input.supplier_id)
        statement = session.get(Statement, input.statement_id)
        assert supplier is not None and statement is not None
        result = ScheduledPayment(
            number=payment.number,
            due_date=payment.due_date,
            provisional=payment.due_date_provisional,
            early_payment_rate_per_day=terms.early_payment_rate_per_day,
            supplier_name=supplier.name,
            requester_user_id=statement.confirmed_by_user_id,
        )
        ids = [row.id for row in told if row.id is not None]
    email_after_commit(ids)
    return result


@dataclass
class PaymentStepResult:
    notified_user_ids: list[int] = field(default_factory=list)


def _record(step: PaymentStep) -> PaymentStepResult:
    with session_scope() as session:
        told = settlement.record_step(session, step)
        ids = [row.id for row in told if row.id is not None]
        user_ids = [row.user_id for row in told]
    email_after_commit(ids)
    return PaymentStepResult(user_ids)


@activity.defn
def record_payment_approval_requested(step: PaymentStep) -> PaymentStepResult:
    """Above the limit: AWAITING_APPROVAL while finance decides."""
    return _record(step)


@activity.defn
def record_payment_approval_decided(step: PaymentStep) -> PaymentStepResult:
    """Finance approved (SCHEDULED again, approved by) or rejected (CANCELLED, the reason)."""
    return _record(step)


@activity.defn
def record_early_payment_requested(step: PaymentStep) -> PaymentStepResult:
    """The supplier asks to be paid on an earlier day; finance is told."""
    return _record(step)


@activity.defn
def record_early_payment_decided(step: PaymentStep) -> PaymentStepResult:
    """Finance agreed (the discount recorded) or refused (the request cleared); the supplier is told."""
    return _record(step)


@activity.defn
def record_payment_ready(step: PaymentStep) -> PaymentStepResult:
    """Due (or the agreed early day) and approved: the next payment run takes it."""
    return _record(step)


@activity.defn
def record_payment_paid(step: PaymentStep) -> PaymentStepResult:
    """The bank paid: PAID, the statement PAID, the supplier told the remittance advice is ready."""
    return _record(step)


@activity.defn
def record_payment_failed(step: PaymentStep) -> PaymentStepResult:
    """The bank refused, with its reason: FAILED, finance told."""
    return _record(step)


@activity.defn
def record_payment_retried(step: PaymentStep) -> PaymentStepResult:
    """Finance retries a failed payment: a new attempt with a new key, ready for the next run."""
    return _record(step)


@activity.defn
def record_payment_cancelled(step: PaymentStep) -> PaymentStepResult:
    """Finance cancels a failed payment: CANCELLED, the supplier told."""
    return _record(step)


# -- payment runs ------------------------------------------------------------------------------------


@dataclass
class WriteInstructionsInput:
    run_number: str
    value_date: date


@dataclass
class WrittenInstructions:
    instruction_file: str
    idempotency_keys: list[str]


def payment_adapter() -> PaymentAdapter:
    """The adapter the activities use (a deployment with a bank API replaces it here)."""
    return default_adapter()


@activity.defn
def write_payment_instructions(input: WriteInstructionsInput) -> WrittenInstructions:
    """One instruction file for the run: the approved, due payments not instructed in any file yet.
    A retry (after a crash, say) finds the run's file and hands over nothing new."""
    with session_scope() as session:
        candidates = settlement.ready_instructions(session, input.value_date)
    adapter = payment_adapter()
    written = adapter.write_instructions(input.run_number, candidates)
    return WrittenInstructions(
        instruction_file=adapter.instruction_name(input.run_number),
        idempotency_keys=[instruction.idempotency_key for instruction in written],
    )


@dataclass
class RecordRunInput:
    run_number: str
    instruction_file: str
    idempotency_keys: list[str]
    occurred_at: datetime


@dataclass
class RecordedRun:
    payments: list[InstructedPayment]


RUN_WRITTEN = lazy("Payment run %(run)s: %(count)s payments handed to the bank.")


@activity.defn
def record_payment_run(input: RecordRunInput) -> RecordedRun:
    """The run's row; its payments INSTRUCTED (each with a timeline event); finance told."""
    with session_scope() as session:
        instructed = settlement.record_run(
            session,
            run_number=input.run_number,
            instruction_file=input.instruction_file,
            keys=input.idempotency_keys,
            occurred_at=input.occurred_at,
        )
        told = notify_role(
            session,
            role=Role.FINANCE,
            message=RUN_WRITTEN,
            params={"run": input.run_number, "count": len(input.idempotency_keys)},
            idempotency_key=f"payment-run:{input.run_number}:written",
            link="/finance/payment-runs",
            document_type="payment_run",
            document_id=input.run_number,
        )
        ids = [row.id for row in told if row.id is not None]
    email_after_commit(ids)
    return RecordedRun(instructed)
