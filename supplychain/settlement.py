"""Settlement's read model and writes: payments, payment runs, and what the pages list.

Used by the settlement activities (activities/settlement.py; every write is idempotent: a payment
is created once per statement, each step carries the workflow's key and is applied once, values are
written absolutely) and by the payment pages. Nothing here commits: the caller's transaction holds a
change together with its timeline event and notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from supplychain.db import insert_once
from supplychain.events import record_event, recorded
from supplychain.i18n import lazy
from supplychain.models import Organisation, Role
from supplychain.models.events import Notification
from supplychain.models.settlement import (
    Payment,
    PaymentRun,
    PaymentStatus,
    SettlementTerms,
    Statement,
    StatementStatus,
    WorkingDayOverride,
)
from supplychain.notifications import notify_role
from supplychain.payments import Instruction
from supplychain.rules.amount_in_words import rmb_in_capitals
from supplychain.rules.dates import business_date
from supplychain.rules.due_dates import DueDate, build_calendar, calendar_range, due_date

DOCUMENT_TYPE = "payment"
# Not paid yet and not on its way: what "due" and "overdue" count.
OPEN_STATUSES = (PaymentStatus.SCHEDULED, PaymentStatus.AWAITING_APPROVAL, PaymentStatus.FAILED)

STATUS_LABELS: dict[PaymentStatus, str] = {
    PaymentStatus.SCHEDULED: lazy("Scheduled"),
    PaymentStatus.AWAITING_APPROVAL: lazy("Awaiting approval"),
    PaymentStatus.INSTRUCTED: lazy("Instructed"),
    PaymentStatus.PAID: lazy("Paid"),
    PaymentStatus.FAILED: lazy("Failed"),
    PaymentStatus.CANCELLED: lazy("Cancelled"),
}


def payment_number(statement_number: str) -> str:
    """`ST-2026-000001` -> `PAY-2026-000001`: one payment per statement, so it shares its number."""
    _prefix, _sep, rest = statement_number.partition("-")
    return f"PAY-{rest}"


def payment_link(number: str) -> str:
    """The payment's page (figures, remittance advice, timeline): where its notifications lead."""
    return f"/payments/{number}"


# -- scheduling ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    payment_days: int
    due_date_mode: str
    early_payment_rate_per_day: Decimal


def terms_of(session: Session, supplier_id: int) -> Terms:
    """The supplier's settlement terms, or the defaults (a supplier without a row)."""
    row = session.execute(
        select(SettlementTerms).where(col(SettlementTerms.supplier_id) == supplier_id)
    ).scalar_one_or_none()
    row = row or SettlementTerms(supplier_id=supplier_id)
    return Terms(row.payment_days, row.due_date_mode.value, row.early_payment_rate_per_day)


def compute_due_date(
    session: Session, *, matched_on: date, terms: Terms, official_years: list[int]
) -> tuple[DueDate, tuple[int, ...]]:
    """The due date on the Chinese calendar with the admin's overrides, and the years whose working
    days it only guessed (not pure: reads the calendar libraries and the override table)."""
    start, end = calendar_range(matched_on, terms.payment_days)
    overrides = {
        row.day: row.is_working_day
        for row in session.execute(
            select(WorkingDayOverride).where(
                col(WorkingDayOverride.day) >= start, col(WorkingDayOverride.day) <= end
            )
        ).scalars()
    }
    calendar = build_calendar(start, end, overrides, official_years)
    due = due_date(matched_on, terms.payment_days, terms.due_date_mode, calendar)
    guessed = tuple(year for year in calendar.provisional_years if year <= due.date.year)
    return due, guessed


def create_payment(
    session: Session,
    *,
    number: str,
    workflow_id: str,
    statement_id: int,
    supplier_id: int,
    amount: Decimal,
    matched_on: date,
    due: DueDate,
    idempotency_key: str,
) -> tuple[Payment, bool]:
    """The statement's payment, created once (a retry finds the first row)."""
    row = Payment(
        number=number,
        workflow_id=workflow_id,
        statement_id=statement_id,
        supplier_id=supplier_id,
        amount=amount,
        payable_amount=amount,
        matched_on=matched_on,
        due_date=due.date,
        due_date_provisional=due.provisional,
        idempotency_key=idempotency_key,
    )
    return insert_once(session, row, lambda: payment_by_number(session, number))


def payment_by_number(session: Session, number: str) -> Payment | None:
    return session.execute(select(Payment).where(col(Payment.number) == number)).scalar_one_or_none()


def require_payment(session: Session, number: str) -> Payment:
    payment = payment_by_number(session, number)
    if payment is None:
        raise LookupError(f"payment {number} not found")
    return payment


# -- one step of the process -------------------------------------------------------------------------


@dataclass
class PaymentNotice:
    audience: str  # "finance" or "supplier"
    message: str  # a message id from the catalogue
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class PaymentStep:
    """One step of a payment: the fields it sets (None: unchanged), its timeline event, whom it tells."""

    number: str
    action: str
    idempotency_key: str
    occurred_at: datetime
    status: PaymentStatus | None = None
    actor_user_id: int | None = None
    note: str = ""
    approved: bool = False  # set approved_by/at to the actor and now
    ready: bool | None = None  # True: ready_at = now; False: cleared
    early_payment_date: date | None = None
    clear_early_payment: bool = False
    early_payment_approved: bool | None = None
    discount_amount: Decimal | None = None
    bank_idempotency_key: str | None = None  # a new attempt after a failure
    bank_reference: str | None = None
    failure_reason: str | None = None
    paid_on: date | None = None
    leave_run: bool = False  # a retry: no longer in the failed run
    statement_status: StatementStatus | None = None
    notices: list[PaymentNotice] = field(default_factory=list)


def record_step(session: Session, step: PaymentStep) -> list[Notification]:
    """Apply `step` once (its event's key says whether it was), then notify (idempotent by key)."""
    payment = require_payment(session, step.number)
    if not recorded(session, step.idempotency_key):
        before = _snapshot(payment)
        _apply(session, payment, step)
        record_event(
            session,
            document_type=DOCUMENT_TYPE,
            document_id=payment.number,
            action=step.action,
            idempotency_key=step.idempotency_key,
            actor_user_id=step.actor_user_id,
            before=before,
            after=_snapshot(payment),
            note=step.note,
            occurred_at=step.occurred_at,
        )
    told: list[Notification] = []
    for notice in step.notices:
        is_finance = notice.audience == "finance"
        told += notify_role(
            session,
            role=Role.FINANCE if is_finance else Role.SUPPLIER,
            organisation_id=None if is_finance else payment.supplier_id,
            message=notice.message,
            params={"number": payment.number, **notice.params},
            idempotency_key=f"{step.idempotency_key}:{notice.audience}",
            link=payment_link(payment.number),
            document_type=DOCUMENT_TYPE,
            document_id=payment.number,
        )
    return told


def _apply(session: Session, payment: Payment, step: PaymentStep) -> None:
    if step.status is not None:
        payment.status = step.status
    if step.approved:
        payment.approved_by_user_id = step.actor_user_id
        payment.approved_at = step.occurred_at
    if step.ready is not None:
        payment.ready_at = step.occurred_at if step.ready else None
    if step.clear_early_payment:
        payment.early_payment_date = None
        payment.early_payment_approved = False
    if step.early_payment_date is not None:
        payment.early_payment_date = step.early_payment_date
    if step.early_payment_approved is not None:
        payment.early_payment_approved = step.early_payment_approved
    if step.discount_amount is not None:
        payment.discount_amount = step.discount_amount
        payment.payable_amount = payment.amount - step.discount_amount
    if step.bank_idempotency_key is not None:
        payment.idempotency_key = step.bank_idempotency_key
    if step.bank_reference is not None:
        payment.bank_reference = step.bank_reference
    if step.failure_reason is not None:
        payment.failure_reason = step.failure_reason[:500]
    if step.paid_on is not None:
        payment.paid_on = step.paid_on
    if step.leave_run:
        payment.payment_run_id = None
    session.add(payment)
    if step.statement_status is not None:
        statement = session.get(Statement, payment.statement_id)
        assert statement is not None
        statement.status = step.statement_status
        session.add(statement)
    session.flush()


def _snapshot(payment: Payment) -> dict[str, Any]:
    return {
        "status": payment.status.value,
        "due_date": payment.due_date,
        "early_payment_date": payment.early_payment_date,
        "discount_amount": payment.discount_amount,
        "payable_amount": payment.payable_amount,
        "bank_reference": payment.bank_reference,
        "failure_reason": payment.failure_reason,
    }


# -- payment runs ------------------------------------------------------------------------------------


def ready_instructions(session: Session, value_date: date) -> list[Instruction]:
    """What a payment run may hand to the bank: approved, due payments not in any run yet."""
    rows = session.execute(
        select(Payment, Organisation)
        .join(Organisation, col(Organisation.id) == col(Payment.supplier_id))
        .where(
            col(Payment.status) == PaymentStatus.SCHEDULED,
            col(Payment.ready_at).is_not(None),
            col(Payment.payment_run_id).is_(None),
        )
        .order_by(col(Payment.id))
    ).all()
    return [
        Instruction(
            payment_number=payment.number,
            idempotency_key=payment.idempotency_key,
            supplier_code=supplier.code,
            supplier_name=supplier.name,
            amount=payment.payable_amount,
            value_date=value_date,
        )
        for payment, supplier in rows
    ]


@dataclass
class InstructedPayment:
    number: str
    workflow_id: str
    idempotency_key: str


def record_run(
    session: Session, *, run_number: str, instruction_file: str, keys: list[str], occurred_at: datetime
) -> list[InstructedPayment]:
    """The run's row and its payments marked INSTRUCTED (once: a retry changes nothing more)."""
    run, _created = insert_once(
        session,
        PaymentRun(number=run_number, instruction_file=instruction_file, created_at=occurred_at),
        lambda: session.execute(
            select(PaymentRun).where(col(PaymentRun.number) == run_number)
        ).scalar_one_or_none(),
    )
    if not keys:
        return []
    payments = session.execute(select(Payment).where(col(Payment.idempotency_key).in_(keys))).scalars().all()
    instructed = []
    for payment in payments:
        if payment.payment_run_id is None and payment.status is PaymentStatus.SCHEDULED:
            before = _snapshot(payment)
            payment.status = PaymentStatus.INSTRUCTED
            payment.payment_run_id = run.id
            session.add(payment)
            session.flush()
            record_event(
                session,
                document_type=DOCUMENT_TYPE,
                document_id=payment.number,
                action="payment.instructed",
                idempotency_key=f"{payment.idempotency_key}:instructed",
                before=before,
                after={**_snapshot(payment), "payment_run": run_number},
                occurred_at=occurred_at,
            )
        instructed.append(InstructedPayment(payment.number, payment.workflow_id, payment.idempotency_key))
    return instructed


def payments_for_results(session: Session, keys: list[str]) -> dict[str, Payment]:
    """The instructed payments the bank's result rows name, by idempotency key."""
    rows = session.execute(select(Payment).where(col(Payment.idempotency_key).in_(keys))).scalars()
    return {row.idempotency_key: row for row in rows if row.status is PaymentStatus.INSTRUCTED}


# -- pages -------------------------------------------------------------------------------------------


def supplier_payments(session: Session, supplier_id: int) -> list[Payment]:
    return list(
        session.execute(
            select(Payment)
            .where(col(Payment.supplier_id) == supplier_id)
            .order_by(col(Payment.due_date).desc())
        ).scalars()
    )


def finance_payments(session: Session) -> list[tuple[Payment, Organisation]]:
    return [
        (payment, supplier)
        for payment, supplier in session.execute(
            select(Payment, Organisation)
            .join(Organisation, col(Organisation.id) == col(Payment.supplier_id))
            .where(col(Payment.status).not_in([PaymentStatus.PAID, PaymentStatus.CANCELLED]))
            .order_by(col(Payment.due_date), col(Payment.id))
        ).all()
    ]


def payment_runs(session: Session, limit: int = 50) -> list[tuple[PaymentRun, int]]:
    counts = (
        select(col(Payment.payment_run_id), func.count().label("n"))
        .where(col(Payment.payment_run_id).is_not(None))
        .group_by(col(Payment.payment_run_id))
        .subquery()
    )
    rows = session.execute(
        select(PaymentRun, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.payment_run_id == col(PaymentRun.id))
        .order_by(col(PaymentRun.id).desc())
        .limit(limit)
    ).all()
    return [(run, int(n)) for run, n in rows]


@dataclass(frozen=True)
class SettlementFigures:
    """HQ home: how settlement is going."""

    average_days_to_payment: Decimal | None  # statement created -> paid, over paid payments
    due_next_7_days: int
    due_next_7_days_amount: Decimal
    overdue: int


def settlement_figures(session: Session, today: date) -> SettlementFigures:
    paid = session.execute(
        select(col(Payment.paid_on), col(Statement.created_at))
        .join(Statement, col(Statement.id) == col(Payment.statement_id))
        .where(col(Payment.status) == PaymentStatus.PAID, col(Payment.paid_on).is_not(None))
    ).all()
    # Both ends on the China calendar: paid_on is a business date, created_at a UTC moment.
    days = [(paid_on - business_date(created_at)).days for paid_on, created_at in paid if paid_on is not None]
    average = (Decimal(sum(days)) / len(days)).quantize(Decimal("0.1")) if days else None
    week_end = today + timedelta(days=7)
    is_open = col(Payment.status).in_(OPEN_STATUSES)
    due_soon = and_(is_open, col(Payment.due_date) >= today, col(Payment.due_date) <= week_end)
    overdue = and_(is_open, col(Payment.due_date) < today)
    counts = session.execute(
        select(
            func.count(case((due_soon, 1))),
            func.sum(case((due_soon, col(Payment.payable_amount)), else_=0)),
            func.count(case((overdue, 1))),
        )
    ).one()
    amount = counts[1] if counts[1] is not None else Decimal("0.00")
    return SettlementFigures(average, int(counts[0]), Decimal(amount), int(counts[2]))


def due_soon_count(session: Session, today: date) -> int:
    """Open payments due in the next 7 days (finance's home card)."""
    return int(
        session.execute(
            select(func.count()).where(
                col(Payment.status).in_(OPEN_STATUSES),
                col(Payment.due_date) >= today,
                col(Payment.due_date) <= today + timedelta(days=7),
            )
        ).scalar_one()
    )


# -- remittance advice ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemittanceAdvice:
    """What the remittance advice (付款通知书) of a paid payment shows; the PDF renders this."""

    payment_number: str
    statement_number: str
    supplier_name: str
    supplier_code: str
    amount: Decimal  # the statement's total including VAT
    discount_amount: Decimal  # early payment discount (0 when paid on the due date)
    payable_amount: Decimal  # what the bank paid
    amount_in_words: str  # payable_amount in Chinese capitals
    due_date: date
    early_payment_date: date | None  # set when paid early at a discount
    days_early: int
    paid_on: date
    bank_reference: str
    payment_run: str


def remittance_advice(session: Session, number: str) -> RemittanceAdvice | None:
    """The remittance advice of payment `number`, or None before it is paid."""
    row = session.execute(
        select(Payment, Statement, Organisation, PaymentRun)
        .join(Statement, col(Statement.id) == col(Payment.statement_id))
        .join(Organisation, col(Organisation.id) == col(Payment.supplier_id))
        .outerjoin(PaymentRun, col(PaymentRun.id) == col(Payment.payment_run_id))
        .where(col(Payment.number) == number)
    ).one_or_none()
    if row is None:
        return None
    payment, statement, supplier, run = row
    if payment.status is not PaymentStatus.PAID or payment.paid_on is None:
        return None
    early = payment.early_payment_date if payment.early_payment_approved else None
    return RemittanceAdvice(
        payment_number=payment.number,
        statement_number=statement.number,
        supplier_name=supplier.name,
        supplier_code=supplier.code,
        amount=payment.amount,
        discount_amount=payment.discount_amount,
        payable_amount=payment.payable_amount,
        amount_in_words=rmb_in_capitals(payment.payable_amount),
        due_date=payment.due_date,
        early_payment_date=early,
        days_early=(payment.due_date - early).days if early is not None else 0,
        paid_on=payment.paid_on,
        bank_reference=payment.bank_reference,
        payment_run=run.number if run is not None else "",
    )
