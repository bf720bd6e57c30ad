"""A payment clicked through the pages on the real dev server and worker: the supplier asks to be
paid early, finance agrees, runs the payments and uploads the bank's result; the statement is paid
and the supplier told its remittance advice is ready."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from supplychain.models import Notification, OrgKind, Role
from supplychain.models.settlement import (
    Payment,
    PaymentStatus,
    SettlementTerms,
    Statement,
    StatementStatus,
)
from supplychain.settings import settings
from supplychain.settlement import payment_by_number, payment_number
from supplychain.temporal import connect
from tests.factories import make_organisation, make_user
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, form_id_in, form_post, login
from workflows.common import business_date
from workflows.settlement import SettlementInput, SettlementWorkflow, settlement_workflow_id


def _flashes(page: str) -> list[str]:
    return re.findall(r'class="flash flash-\w+" role="status">([^<]*)</div>', page)


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_early_payment_run_and_bank_result_through_the_pages(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    session: Session,
    db: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    monkeypatch.setattr(settings, "PAYMENT_OUTBOX_DIR", outbox)
    monkeypatch.setattr(settings, "PAYMENT_INBOX_DIR", inbox)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier_user = make_user(session, organisation=supplier, roles=[Role.SUPPLIER], locale="en")
    finance = make_user(session, organisation=hq, roles=[Role.FINANCE], locale="en")
    assert supplier.id is not None
    session.add(
        SettlementTerms(
            supplier_id=supplier.id, payment_days=30, early_payment_rate_per_day=Decimal("0.0005")
        )
    )
    today = business_date(datetime.now(UTC))
    number = f"ST-{today.year}-{uuid.uuid4().int % 1_000_000:06d}"  # the dev server outlives the database
    statement = Statement(
        number=number,
        workflow_id=f"statement-{number.lower()}",
        supplier_id=supplier.id,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        status=StatementStatus.MATCHED,
        net_amount=Decimal("10000.00"),
        tax_amount=Decimal("0.00"),
        total_amount=Decimal("10000.00"),
        confirmed_by_user_id=supplier_user.id,
        matched_on=today,
    )
    session.add(statement)
    session.commit()
    assert statement.id is not None
    pay = payment_number(number)

    def payment() -> Payment | None:
        with Session(db) as s:
            return payment_by_number(s, pay)

    async def start() -> None:
        client = await connect(portal_worker.address)
        await client.start_workflow(
            SettlementWorkflow.run,
            SettlementInput(statement.id, number, supplier.id, Decimal("10000.00"), today),
            id=settlement_workflow_id(number),
            task_queue=portal_worker.task_queue,
        )

    portal_worker.call(start())
    _until(lambda: payment() is not None, "the payment to be scheduled")

    # The supplier asks to be paid today instead of in 30 days.
    browser = portal_client()
    login(browser, supplier_user)
    page = browser.get("/payments").text
    action = f"/payments/{pay}/early-payment"
    form_id = form_id_in(page, action)
    asked = form_post(browser, action, {"pay_on": today.isoformat(), "form_id": form_id})
    assert asked.status_code == 303, asked.text[:2000]
    assert form_post(browser, action, {"pay_on": today.isoformat(), "form_id": form_id}).status_code == 303
    row = payment()
    assert row is not None and row.early_payment_date == today and not row.early_payment_approved

    # Finance agrees: the discount is recorded and the timer ends at once.
    desk = portal_client()
    login(desk, finance)
    page = desk.get("/finance/payments").text
    assert "Early payment requests" in page and pay in page
    action = f"/finance/payments/{pay}/early-payment"
    agreed = form_post(desk, action, {"decision": "approve", "form_id": form_id_in(page, action)})
    assert agreed.status_code == 303, agreed.text[:2000]
    row = payment()
    assert row is not None and row.early_payment_approved
    days_early = (row.due_date - today).days
    discount = (Decimal("10000.00") * Decimal("0.0005") * days_early).quantize(Decimal("0.01"))
    assert (row.discount_amount, row.payable_amount) == (discount, Decimal("10000.00") - discount)
    _until(lambda: (p := payment()) is not None and p.ready_at is not None, "the payment to be ready")

    # Finance runs the payments: one instruction file with the payment. The button clicked twice
    # (the same form sent again) is one run, and both answers name it.
    run_form = {"form_id": form_id_in(desk.get("/finance/payment-runs").text, "/finance/payment-runs")}
    ran = form_post(desk, "/finance/payment-runs", run_form)
    assert ran.status_code == 303, ran.text[:2000]
    first_answer = _flashes(desk.get("/finance/payment-runs").text)
    again = form_post(desk, "/finance/payment-runs", run_form)
    assert again.status_code == 303, again.text[:2000]
    assert _flashes(desk.get("/finance/payment-runs").text) == first_answer
    assert first_answer and "1 payments in the instruction file" in first_answer[0]
    [instructions] = list(outbox.glob("*.csv"))
    key = row.idempotency_key
    assert key in instructions.read_text(encoding="utf-8")
    assert f"{row.payable_amount:.2f}" in instructions.read_text(encoding="utf-8")
    row = payment()
    assert row is not None and row.status is PaymentStatus.INSTRUCTED

    # The bank's result file: paid.
    result = f"idempotency_key,status,bank_reference,reason\n{key},paid,BOC-REF-9,\n"
    uploaded = form_post(
        desk, "/finance/payment-runs/results", files={"file": ("result.csv", result.encode(), "text/csv")}
    )
    assert uploaded.status_code == 303, uploaded.text[:2000]
    row = payment()
    assert row is not None and (row.status, row.bank_reference) == (PaymentStatus.PAID, "BOC-REF-9")
    with Session(db) as s:
        paid_statement = s.get(Statement, statement.id)
        assert paid_statement is not None and paid_statement.status is StatementStatus.PAID
        told = (
            s.execute(select(Notification).where(col(Notification.user_id) == supplier_user.id))
            .scalars()
            .all()
        )
    assert any("remittance advice is ready" in n.message for n in told)
    detail = browser.get(f"/payments/{pay}").text  # the supplier's page of the payment
    assert 'data-testid="remittance"' in detail and "BOC-REF-9" in detail
    for action in (
        "Payment scheduled",
        "Early payment requested",
        "Early payment agreed",
        "Handed to the bank",
    ):
        assert action in detail
    runs = desk.get("/finance/payment-runs").text
    assert instructions.name in runs and re.search(r"result-\d+T\d+\.csv", runs)
    assert len(list(inbox.iterdir())) == 1
