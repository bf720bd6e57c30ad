"""Payments (issue 12): the supplier's payments and early payment requests, finance's payments and
payment runs. Every action is an Update on the payment's SettlementWorkflow (or the start of a
PaymentRunWorkflow); the pages read the database.

- `/payments` (supplier): its payments with due date (provisional marked), status, amounts, and the
  early payment request form.
- `/finance/payments` (finance): due this week, scheduled later (the first `LATER_SHOWN` by due
  date, so a payment matched today and due in 8 days is seen at once), awaiting approval, early
  payment requests to decide, at the bank, failed (retry or cancel).
- `/finance/payment-runs` (finance): run payments now, upload the bank's result file, the runs with
  their instruction files.

Payments are read through `OrgScope` (a supplier its own: another supplier's payment is a 404 by
URL and by form alike); the finance pages need the finance role (403 otherwise). Bad input (a date
not a date, on or after the due date, a result file with a bad row or an unknown payment) gets a
message on the page and changes nothing.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from sqlmodel import Session, col
from starlette.responses import Response
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from supplychain import i18n, settlement
from supplychain.document_header import company_party
from supplychain.events import timeline
from supplychain.i18n import lazy
from supplychain.models import OrgKind, Role
from supplychain.models.settlement import Payment, PaymentRun, PaymentStatus, Statement
from supplychain.numbering import reserve_number
from supplychain.payments import RESULT_FILE_MAX_BYTES, BankResult, parse_results
from supplychain.pdf_documents import (
    REMITTANCE_TEMPLATE,
    EarlyPaymentDiscount,
    PaidStatement,
    Party,
    RemittanceDocument,
    totals_by_vat_rate,
)
from supplychain.principal import Principal
from supplychain.rules.refusal import Refused
from supplychain.settings import settings
from supplychain.statements import statement_lines
from web.deps import FormDep, OrgScope, Scope, require_roles
from web.flash import flash
from web.form_ids import submitted_form_id, update_id
from web.pdfs import pdf_response
from web.purchasing import form_text, parse_date, temporal_client
from web.security_events import log_security_event
from web.templating import render
from web.workflow_calls import await_on_loop
from web.workflow_errors import rejection_message
from workflows.common import business_date
from workflows.payment_run import (
    PaymentRunInput,
    PaymentRunResult,
    PaymentRunWorkflow,
    payment_run_workflow_id,
)
from workflows.settlement import (
    PAYMENT_FINISHED,
    BankResultInput,
    DecideEarlyPaymentInput,
    FailedPaymentInput,
    RequestEarlyPaymentInput,
    SettlementWorkflow,
)

router = APIRouter()
log = logging.getLogger(__name__)

SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
FinanceUser = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
PaymentUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER, Role.FINANCE))]

COMMENT_MAX_LENGTH = 500
LATER_SHOWN = 50  # scheduled later: the nearest due dates; the rest are counted
NOT_REACHABLE = lazy("The payment process cannot be reached right now. Nothing was changed.")
TRY_AGAIN = lazy("This could not be done right now. Please try again.")
EARLY_NOT_BEFORE_DUE = lazy("The early payment date must be before the due date %(due_date)s.")
EARLY_REQUESTED = lazy("Early payment of %(number)s on %(date)s requested; finance will decide.")
EARLY_DECIDED = lazy("Early payment request of %(number)s decided.")
RETRIED = lazy("Payment %(number)s will be in the next payment run.")
CANCELLED = lazy("Payment %(number)s cancelled.")
RUN_DONE = lazy("Payment run %(run)s: %(count)s payments in the instruction file.")
NOTHING_READY = lazy("No payment is ready for the bank: no run was made and no file written.")
RESULTS_RECORDED = lazy("%(count)s bank results recorded.")
RESULT_NO_FILE = lazy("Choose the bank's result file.")
UNKNOWN_PAYMENT = lazy("Line %(line)s of the result file: no payment at the bank has the key %(key)s.")
RESULT_NOT_TAKEN = lazy("Payment %(number)s: %(reason)s")


def _supplier_org(user: Principal) -> int:
    if user.org_kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=403)
    return user.organisation_id


def _finance(user: Principal) -> None:
    if not user.is_hq:
        raise HTTPException(status_code=403)


def _payment_or_404(scope: Scope, number: str) -> Payment:
    row: Payment | None = scope.session.execute(
        scope.select(Payment).where(col(Payment.number) == number)
    ).scalar_one_or_none()
    if row is None:
        raise HTTPException(status_code=404)
    return row


def _today() -> date:
    return business_date(datetime.now(UTC))


def _statement_numbers(scope: Scope, payments: list[Payment]) -> dict[int, str]:
    ids = {p.statement_id for p in payments}
    if not ids:
        return {}
    rows = scope.session.execute(scope.select(Statement).where(col(Statement.id).in_(ids))).scalars()
    return {row.id: row.number for row in rows if row.id is not None}


def _labels() -> dict[str, Any]:
    return {"status_labels": settlement.STATUS_LABELS}


@router.get("/payments/{number}")
def payment_detail(request: Request, number: str, user: PaymentUser, scope: OrgScope) -> Response:
    """One payment: its figures, the remittance advice once paid, and its timeline. The supplier
    sees its own (another supplier's is a 404), finance every one."""
    if not (user.is_hq or user.org_kind is OrgKind.SUPPLIER):
        raise HTTPException(status_code=403)
    payment = _payment_or_404(scope, number)
    return render(
        request,
        "payments/detail.html",
        {
            "user": user,
            "p": payment,
            "statement_numbers": _statement_numbers(scope, [payment]),
            "advice": settlement.remittance_advice(scope.session, payment.number),
            "timeline": timeline(scope.session, settlement.DOCUMENT_TYPE, payment.number),
            **_labels(),
        },
    )


@router.get("/payments/{number}/remittance")
def remittance_pdf(number: str, user: PaymentUser, scope: OrgScope) -> Response:
    """The remittance advice (付款通知书) of a paid payment as an A4 PDF in the user's language, for
    finance and the payment's supplier (`OrgScope`: another supplier gets a 404); 404 before it is
    paid."""
    if not (user.is_hq or user.org_kind is OrgKind.SUPPLIER):
        raise HTTPException(status_code=403)
    payment = _payment_or_404(scope, number)
    advice = settlement.remittance_advice(scope.session, payment.number)
    if advice is None:
        raise HTTPException(status_code=404)
    document = remittance_document(scope.session, payment, advice)
    return pdf_response(scope.session, REMITTANCE_TEMPLATE, document, f"{payment.number}.pdf")


def remittance_document(
    session: Session, payment: Payment, advice: settlement.RemittanceAdvice
) -> RemittanceDocument:
    """The PDF's view of a paid payment: the statement it settles with its totals per VAT rate, the
    early payment discount if any, and the amount paid in Chinese capitals."""
    statement = session.get(Statement, payment.statement_id)
    assert statement is not None and statement.id is not None
    lines = statement_lines(session, statement.id)
    discount = None
    if advice.discount_amount > 0:
        rate = (advice.discount_amount / advice.amount).quantize(Decimal("0.0001"))
        discount = EarlyPaymentDiscount(rate=rate, amount=advice.discount_amount, due_date=advice.due_date)
    return RemittanceDocument(
        number=advice.payment_number,
        paid_date=advice.paid_on,
        company=company_party(session),
        supplier=Party(name=advice.supplier_name),
        bank_reference=advice.bank_reference,
        statements=(
            PaidStatement(
                number=statement.number,
                period_start=statement.period_start,
                period_end=statement.period_end,
                amount=advice.amount,
            ),
        ),
        vat_totals=totals_by_vat_rate((line.tax_rate, line.net_amount, line.tax_amount) for line in lines),
        gross_amount=advice.amount,
        paid_amount=advice.payable_amount,
        amount_in_capitals=advice.amount_in_words,
        discount=discount,
    )


# --- supplier ---------------------------------------------------------------------------------------


def _may_request_early(payment: Payment, rate: Any) -> bool:
    return (
        rate > 0
        and payment.status in (PaymentStatus.SCHEDULED, PaymentStatus.AWAITING_APPROVAL)
        and payment.ready_at is None
        and payment.early_payment_date is None
    )


def _supplier_page(
    request: Request,
    user: Principal,
    scope: Scope,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    supplier_id = _supplier_org(user)
    payments = list(
        scope.session.execute(
            scope.select(Payment).order_by(col(Payment.due_date).desc(), col(Payment.id).desc())
        ).scalars()
    )
    terms = settlement.terms_of(scope.session, supplier_id)
    return render(
        request,
        "payments/supplier.html",
        {
            "user": user,
            "payments": payments,
            "statement_numbers": _statement_numbers(scope, payments),
            "rate": terms.early_payment_rate_per_day,
            "may_request_early": {
                p.number: _may_request_early(p, terms.early_payment_rate_per_day) for p in payments
            },
            "errors": errors or {},
            "typed": typed or {},
            "today": _today(),
            **_labels(),
        },
        status_code=status_code,
    )


@router.get("/payments")
def supplier_payments(request: Request, user: SupplierUser, scope: OrgScope) -> Response:
    return _supplier_page(request, user, scope)


@router.post("/payments/{number}/early-payment")
def request_early_payment(
    request: Request, number: str, user: SupplierUser, scope: OrgScope, form: FormDep
) -> Response:
    _supplier_org(user)
    payment = _payment_or_404(scope, number)  # another supplier's payment: 404, as by URL
    typed = form_text(form, "pay_on", 20)
    pay_on, error = parse_date(typed)
    if pay_on is not None and pay_on >= payment.due_date:
        error = i18n.gettext(EARLY_NOT_BEFORE_DUE, due_date=i18n.format_date(payment.due_date))
    if not error:
        assert pay_on is not None
        update = SettlementWorkflow.request_early_payment
        error = _update(
            request,
            scope,
            payment,
            update,
            RequestEarlyPaymentInput(actor_user_id=user.user_id, pay_on=pay_on),
            update_id(submitted_form_id(form), update, user),
        )
    if error:
        scope.session.expire_all()
        return _supplier_page(
            request, user, scope, errors={number: error}, typed={number: typed}, status_code=400
        )
    assert pay_on is not None
    flash(scope.session, request, i18n.gettext(EARLY_REQUESTED, number=number, date=i18n.format_date(pay_on)))
    return RedirectResponse("/payments", status_code=303)


def _update(
    request: Request, scope: Scope, payment: Payment, update: Any, arg: Any, the_update_id: str | None
) -> str:
    """Run an Update on the payment's workflow: "" when done, else the message to show."""
    workflow_id = payment.workflow_id
    client = await_on_loop(scope.session, temporal_client, request)
    if client is None:
        return i18n.gettext(NOT_REACHABLE)
    handle = client.get_workflow_handle(workflow_id)
    try:
        await_on_loop(scope.session, partial(handle.execute_update, id=the_update_id), update, arg)
    except WorkflowUpdateFailedError as exc:
        return rejection_message(exc)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return i18n.gettext(PAYMENT_FINISHED)
        log.error("%s on %s failed: %s", getattr(update, "__name__", update), workflow_id, exc)
        return i18n.gettext(TRY_AGAIN)
    return ""


# --- finance: payments ------------------------------------------------------------------------------


def _finance_page(
    request: Request,
    user: Principal,
    scope: Scope,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    _finance(user)
    today = _today()
    rows = settlement.finance_payments(scope.session)
    payments = [payment for payment, _supplier in rows]
    suppliers = {supplier.id: supplier for _payment, supplier in rows}
    week_end = today + timedelta(days=7)
    waiting = (PaymentStatus.SCHEDULED, PaymentStatus.AWAITING_APPROVAL)
    later = [p for p in payments if p.status in waiting and p.due_date > week_end]  # by due date
    sections = {
        "due_this_week": [p for p in payments if p.status in waiting and p.due_date <= week_end],
        "scheduled_later": later[:LATER_SHOWN],
        "awaiting_approval": [p for p in payments if p.status is PaymentStatus.AWAITING_APPROVAL],
        "early_requests": [
            p
            for p in payments
            if p.early_payment_date is not None
            and not p.early_payment_approved
            and p.status in waiting
            and p.ready_at is None
        ],
        "instructed": [p for p in payments if p.status is PaymentStatus.INSTRUCTED],
        "failed": [p for p in payments if p.status is PaymentStatus.FAILED],
    }
    return render(
        request,
        "payments/finance.html",
        {
            "user": user,
            "sections": sections,
            "suppliers": suppliers,
            "statement_numbers": _statement_numbers(scope, payments),
            "later_not_shown": max(len(later) - LATER_SHOWN, 0),
            "errors": errors or {},
            "today": today,
            "comment_max": COMMENT_MAX_LENGTH,
            **_labels(),
        },
        status_code=status_code,
    )


@router.get("/finance/payments")
def finance_payments(request: Request, user: FinanceUser, scope: OrgScope) -> Response:
    return _finance_page(request, user, scope)


def _finance_action(
    request: Request, user: Principal, scope: Scope, number: str, update: Any, arg: Any, form: Any, done: str
) -> Response:
    _finance(user)
    payment = _payment_or_404(scope, number)
    error = _update(request, scope, payment, update, arg, update_id(submitted_form_id(form), update, user))
    scope.session.expire_all()
    if error:
        return _finance_page(request, user, scope, errors={number: error}, status_code=400)
    flash(scope.session, request, i18n.gettext(done, number=number))
    return RedirectResponse("/finance/payments", status_code=303)


@router.post("/finance/payments/{number}/early-payment")
def decide_early_payment(
    request: Request, number: str, user: FinanceUser, scope: OrgScope, form: FormDep
) -> Response:
    approve = form_text(form, "decision", 10) == "approve"
    comment = form_text(form, "comment", COMMENT_MAX_LENGTH)
    arg = DecideEarlyPaymentInput(actor_user_id=user.user_id, approve=approve, comment=comment)
    return _finance_action(
        request, user, scope, number, SettlementWorkflow.decide_early_payment, arg, form, EARLY_DECIDED
    )


@router.post("/finance/payments/{number}/retry")
def retry_payment(
    request: Request, number: str, user: FinanceUser, scope: OrgScope, form: FormDep
) -> Response:
    arg = FailedPaymentInput(actor_user_id=user.user_id, reason=form_text(form, "reason", COMMENT_MAX_LENGTH))
    return _finance_action(request, user, scope, number, SettlementWorkflow.retry_payment, arg, form, RETRIED)


@router.post("/finance/payments/{number}/cancel")
def cancel_payment(
    request: Request, number: str, user: FinanceUser, scope: OrgScope, form: FormDep
) -> Response:
    arg = FailedPaymentInput(actor_user_id=user.user_id, reason=form_text(form, "reason", COMMENT_MAX_LENGTH))
    return _finance_action(
        request, user, scope, number, SettlementWorkflow.cancel_payment, arg, form, CANCELLED
    )


# --- finance: payment runs --------------------------------------------------------------------------


def _runs_page(
    request: Request, user: Principal, scope: Scope, *, error: str = "", status_code: int = 200
) -> Response:
    _finance(user)
    return render(
        request,
        "payments/runs.html",
        {"user": user, "runs": settlement.payment_runs(scope.session), "error": error},
        status_code=status_code,
    )


@router.get("/finance/payment-runs")
def payment_runs(request: Request, user: FinanceUser, scope: OrgScope) -> Response:
    return _runs_page(request, user, scope)


@router.post("/finance/payment-runs")
def run_payments_now(request: Request, user: FinanceUser, scope: OrgScope, form: FormDep) -> Response:
    _finance(user)
    today = _today()
    # One run per sent form (web/form_ids.py): a double click or a retry joins, or answers with, the
    # run this very form started; without a form id the run is named after its number.
    form_id = submitted_form_id(form)
    form_run = f"payment-run-form-{user.user_id}-{form_id}" if form_id else None
    client = await_on_loop(scope.session, temporal_client, request)
    nothing_ready = not settlement.ready_instructions(scope.session, today)
    # With nothing to pay no run is made (the bank would get an empty file), unless this very form
    # made one: then its answer, as for any repeated form.
    if nothing_ready and not (
        client and form_run and await_on_loop(scope.session, _exists, client, form_run)
    ):
        flash(scope.session, request, i18n.gettext(NOTHING_READY))
        return RedirectResponse("/finance/payment-runs", status_code=303)
    if client is None:
        return _runs_page(request, user, scope, error=i18n.gettext(NOT_REACHABLE), status_code=503)
    number = reserve_number(scope.session, "PR", today.year)
    workflow_id = form_run or payment_run_workflow_id(number)
    try:
        result = await_on_loop(
            scope.session, _run, client, PaymentRunInput(run_number=number, value_date=today), workflow_id
        )
    except RPCError as exc:
        log.error("Payment run %s failed to start: %r", number, exc)
        return _runs_page(request, user, scope, error=i18n.gettext(TRY_AGAIN), status_code=503)
    run, count = result.run_number, len(result.payment_numbers)
    flash(scope.session, request, i18n.gettext(RUN_DONE, run=run, count=count))
    return RedirectResponse("/finance/payment-runs", status_code=303)


async def _exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            log.warning("Could not look up %s: %r", workflow_id, exc)
        return False
    return True


async def _run(client: Client, input: PaymentRunInput, workflow_id: str) -> PaymentRunResult:
    try:
        return await client.execute_workflow(
            PaymentRunWorkflow.run,
            input,
            id=workflow_id,
            task_queue=settings.TEMPORAL_TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,  # still running: join it
        )
    except WorkflowAlreadyStartedError:  # this form's run has finished since: its answer
        return await client.get_workflow_handle_for(PaymentRunWorkflow.run, workflow_id).result()


@router.get("/finance/payment-runs/{number}/instructions")
def instruction_file(number: str, user: FinanceUser, scope: OrgScope) -> Response:
    _finance(user)
    run = scope.session.execute(
        scope.select(PaymentRun).where(col(PaymentRun.number) == number)
    ).scalar_one_or_none()
    assert settings.PAYMENT_OUTBOX_DIR is not None
    path = settings.PAYMENT_OUTBOX_DIR / run.instruction_file if run is not None else None
    if path is None or not path.is_file():
        raise HTTPException(status_code=404)
    return FileResponse(path, media_type="text/csv", filename=path.name)


@router.post("/finance/payment-runs/results")
def upload_results(
    request: Request,
    user: FinanceUser,
    scope: OrgScope,
    form: FormDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    _finance(user)
    if file is None or not file.filename:
        return _runs_page(request, user, scope, error=i18n.gettext(RESULT_NO_FILE), status_code=400)
    data = file.file.read(RESULT_FILE_MAX_BYTES + 1)
    try:
        results = parse_results(data)
    except Refused as refused:
        params = {k: i18n.gettext(str(v)) if k == "problem" else v for k, v in refused.params.items()}
        error = i18n.gettext(refused.message_id, **params)
        log_security_event(
            request, "upload_refused", "refused", upload="bank_result", reason=refused.message_id
        )
        return _runs_page(request, user, scope, error=error, status_code=400)
    payments = settlement.payments_for_results(scope.session, [r.idempotency_key for r in results])
    for line, result in enumerate(results, start=2):
        if result.idempotency_key not in payments:
            # Line numbers count the rows read (blank lines are skipped): the bank's own rows.
            error = i18n.gettext(UNKNOWN_PAYMENT, line=line, key=result.idempotency_key)
            return _runs_page(request, user, scope, error=error, status_code=400)
    _keep_result_file(scope, data, payments)
    errors = [
        problem
        for result in results
        if (problem := _record_result(request, scope, user, form, payments[result.idempotency_key], result))
    ]
    if errors:
        return _runs_page(request, user, scope, error=" ".join(errors), status_code=400)
    flash(scope.session, request, i18n.gettext(RESULTS_RECORDED, count=len(results)))
    return RedirectResponse("/finance/payment-runs", status_code=303)


def _record_result(
    request: Request, scope: Scope, user: Principal, form: Any, payment: Payment, result: BankResult
) -> str:
    update = SettlementWorkflow.record_bank_result
    form_id = submitted_form_id(form)
    the_id = update_id(f"{form_id}{payment.id}" if form_id else None, update, user)
    arg = BankResultInput(
        idempotency_key=result.idempotency_key,
        status=result.status,
        bank_reference=result.bank_reference,
        reason=result.reason,
        actor_user_id=user.user_id,
    )
    number = payment.number
    error = _update(request, scope, payment, update, arg, the_id)
    return i18n.gettext(RESULT_NOT_TAKEN, number=number, reason=error) if error else ""


def _keep_result_file(scope: Scope, data: bytes, payments: dict[str, Payment]) -> None:
    """The bank's file as uploaded, owner-only in PAYMENT_INBOX_DIR, named on its runs."""
    assert settings.PAYMENT_INBOX_DIR is not None
    inbox = settings.PAYMENT_INBOX_DIR
    inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"result-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.csv"
    fd = os.open(inbox / name, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    run_ids = {p.payment_run_id for p in payments.values() if p.payment_run_id is not None}
    for run in scope.session.execute(
        scope.select(PaymentRun).where(col(PaymentRun.id).in_(run_ids))
    ).scalars():
        run.result_file = name
        scope.session.add(run)
    scope.session.commit()
