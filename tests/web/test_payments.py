"""Payment pages: the supplier sees its own payments only, finance pages are finance's, bad input is
refused on the page and changes nothing, HQ's home shows how settlement is going.

Temporal is not running here (the client points at a closed port): every refusal below happens
before the route would reach the workflow, so each proves the route's own check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import ApprovalRequest, Organisation, OrgKind, Role, User
from supplychain.models.settlement import Payment, PaymentRun, PaymentStatus, Statement, StatementStatus
from supplychain.settings import settings
from supplychain.settlement import payment_by_number, remittance_advice, settlement_figures
from tests.factories import make_organisation, make_user
from tests.fixtures.web import ClientFactory, form_id_in, form_post, login
from tests.pdf_tools import pdf_text
from web.routes import home as home_routes
from web.routes import payments as payment_routes
from workflows.common import business_date

TODAY = business_date(datetime.now(UTC))


@pytest.fixture(autouse=True)
def pages_see_the_same_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages' business day is pinned to this module's: a run that crosses midnight in China
    (16:00 UTC) would otherwise put a payment due in eight days into "due this week"."""
    monkeypatch.setattr(payment_routes, "_today", lambda: TODAY)
    monkeypatch.setattr(home_routes, "_today", lambda: TODAY)


@dataclass
class World:
    supplier_a: Organisation
    supplier_b: Organisation
    user_a: User
    user_b: User
    finance: User
    buyer: User
    payment_a: Payment
    payment_b: Payment


def _payment(
    session: Session, supplier: Organisation, *, due: date, status: PaymentStatus, amount: str = "1000.00"
) -> Payment:
    number = f"ST-2026-{uuid.uuid4().int % 1_000_000:06d}"
    assert supplier.id is not None
    statement = Statement(
        number=number,
        workflow_id=f"statement-{number.lower()}",
        supplier_id=supplier.id,
        period_start=due - timedelta(days=40),  # one statement per period and supplier
        period_end=due - timedelta(days=10),
        status=StatementStatus.MATCHED,
        net_amount=Decimal(amount),
        tax_amount=Decimal("0.00"),
        total_amount=Decimal(amount),
        matched_on=due - timedelta(days=7),
    )
    session.add(statement)
    session.flush()
    assert statement.id is not None
    pay_number = "PAY" + number[2:]
    payment = Payment(
        number=pay_number,
        workflow_id=f"settlement-{number.lower()}",
        statement_id=statement.id,
        supplier_id=supplier.id,
        amount=Decimal(amount),
        payable_amount=Decimal(amount),
        matched_on=due - timedelta(days=7),
        due_date=due,
        status=status,
        idempotency_key=f"settlement-{number.lower()}:pay:1",
    )
    session.add(payment)
    session.commit()
    session.refresh(payment)
    return payment


@pytest.fixture
def world(session: Session) -> World:
    a = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier A")
    b = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier B")
    hq = make_organisation(session, kind=OrgKind.HQ)
    return World(
        supplier_a=a,
        supplier_b=b,
        user_a=make_user(session, organisation=a, roles=[Role.SUPPLIER], locale="en"),
        user_b=make_user(session, organisation=b, roles=[Role.SUPPLIER]),
        finance=make_user(session, organisation=hq, roles=[Role.FINANCE], locale="en"),
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER]),
        payment_a=_payment(session, a, due=TODAY + timedelta(days=5), status=PaymentStatus.SCHEDULED),
        payment_b=_payment(session, b, due=TODAY - timedelta(days=1), status=PaymentStatus.INSTRUCTED),
    )


def _reload(session: Session, number: str) -> Payment:
    session.expire_all()
    row = payment_by_number(session, number)
    assert row is not None
    return row


def test_a_supplier_sees_only_its_own_payments(client: TestClient, world: World) -> None:
    login(client, world.user_a)
    page = client.get("/payments")
    assert page.status_code == 200
    assert world.payment_a.number in page.text
    assert world.payment_b.number not in page.text
    assert "Payments" in page.text and 'href="/payments"' in page.text  # the navigation entry


def test_another_suppliers_payment_is_404_by_form(client: TestClient, world: World, session: Session) -> None:
    login(client, world.user_a)
    response = form_post(
        client, f"/payments/{world.payment_b.number}/early-payment", {"pay_on": "2026-01-01"}
    )
    assert response.status_code == 404
    assert _reload(session, world.payment_b.number).early_payment_date is None


@pytest.mark.parametrize("path", ["/finance/payments", "/finance/payment-runs"])
def test_finance_pages_are_for_finance_only(make_client: ClientFactory, world: World, path: str) -> None:
    for user in (world.user_a, world.buyer):
        other = make_client()
        login(other, user)
        assert other.get(path).status_code == 403
    finance = make_client()
    login(finance, world.finance)
    page = finance.get(path)
    assert page.status_code == 200


def test_finance_sees_every_suppliers_open_payments(client: TestClient, world: World) -> None:
    login(client, world.finance)
    page = client.get("/finance/payments").text
    assert world.payment_a.number in page and world.payment_b.number in page
    assert "Supplier A" in page and "Supplier B" in page


def test_a_payment_due_in_eight_days_is_on_finances_page_at_once(
    client: TestClient, world: World, session: Session
) -> None:
    later = _payment(session, world.supplier_a, due=TODAY + timedelta(days=8), status=PaymentStatus.SCHEDULED)
    login(client, world.finance)
    page = client.get("/finance/payments").text
    assert f'id="scheduled_later-{later.number}"' in page  # in "Scheduled later", with its due date
    assert f'id="due_this_week-{later.number}"' not in page
    assert f'id="due_this_week-{world.payment_a.number}"' in page
    assert f'id="scheduled_later-{world.payment_a.number}"' not in page


def test_running_payments_with_nothing_ready_makes_no_run_and_no_file(
    client: TestClient, world: World, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Payment A is scheduled but not yet due (not ready): the bank gets no empty instruction file."""
    outbox = tmp_path / "outbox"
    monkeypatch.setattr(settings, "PAYMENT_OUTBOX_DIR", outbox)
    login(client, world.finance)
    page = client.get("/finance/payment-runs").text
    ran = form_post(client, "/finance/payment-runs", {"form_id": form_id_in(page, "/finance/payment-runs")})
    assert ran.status_code == 303
    assert "No payment is ready for the bank" in client.get("/finance/payment-runs").text
    assert session.execute(select(func.count()).select_from(PaymentRun)).scalar_one() == 0
    assert not outbox.exists() or not any(outbox.iterdir())


def test_finance_users_are_refused_on_the_suppliers_page(client: TestClient, world: World) -> None:
    login(client, world.finance)
    assert client.get("/payments").status_code == 403


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("next tuesday", "Enter a date as YYYY-MM-DD"),
        ("12345", "Enter a date as YYYY-MM-DD"),
        ("due", "must be before the due date"),
        ("after", "must be before the due date"),
    ],
)
def test_a_bad_early_payment_date_is_refused_with_a_message_and_nothing_changes(
    client: TestClient, world: World, session: Session, typed: str, message: str
) -> None:
    due = world.payment_a.due_date
    typed = {"due": due.isoformat(), "after": (due + timedelta(days=3)).isoformat()}.get(typed, typed)
    login(client, world.user_a)
    response = form_post(client, f"/payments/{world.payment_a.number}/early-payment", {"pay_on": typed})
    assert response.status_code == 400
    assert message in response.text
    row = _reload(session, world.payment_a.number)
    assert (row.early_payment_date, row.status) == (None, PaymentStatus.SCHEDULED)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "inbox"
    monkeypatch.setattr(settings, "PAYMENT_INBOX_DIR", directory)
    return directory


HEADER = "idempotency_key,status,bank_reference,reason\n"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("unknown-key,paid,BOC1,\n", "no payment at the bank has the key unknown-key"),
        ("{key},paid,BOC1\n", "Line 2 of the result file: expected 4 columns"),
        ("{key},maybe,BOC1,\n", "the status must be paid or failed"),
        ("{key},failed,,\n", "a failed row needs the reason"),
        ("{key},paid,BOC1,\nunknown-key,paid,BOC2,\n", "Line 3 of the result file: no payment"),
    ],
)
def test_a_bad_result_file_is_refused_whole_and_nothing_changes(
    client: TestClient,
    world: World,
    session: Session,
    inbox: Path,
    rows: str,
    message: str,
    security_events: list[dict[str, Any]],
) -> None:
    data = HEADER + rows.format(key=world.payment_b.idempotency_key)
    login(client, world.finance)
    response = form_post(
        client, "/finance/payment-runs/results", files={"file": ("result.csv", data.encode(), "text/csv")}
    )
    assert response.status_code == 400
    assert message in response.text
    row = _reload(session, world.payment_b.number)
    assert (row.status, row.bank_reference) == (PaymentStatus.INSTRUCTED, "")
    assert not inbox.exists() or not any(inbox.iterdir())
    if "no payment" not in message:  # a malformed file is an upload refused
        assert [e["upload"] for e in security_events if e["event"] == "upload_refused"] == ["bank_result"]


def test_a_result_file_for_a_payment_not_at_the_bank_is_refused(
    client: TestClient, world: World, session: Session, inbox: Path
) -> None:
    data = HEADER + f"{world.payment_a.idempotency_key},paid,BOC1,\n"  # SCHEDULED, not instructed
    login(client, world.finance)
    response = form_post(
        client, "/finance/payment-runs/results", files={"file": ("r.csv", data.encode(), "text/csv")}
    )
    assert response.status_code == 400
    assert _reload(session, world.payment_a.number).status is PaymentStatus.SCHEDULED


def test_hq_home_shows_days_to_payment_due_soon_and_overdue(
    client: TestClient, world: World, session: Session
) -> None:
    paid = _payment(session, world.supplier_a, due=TODAY - timedelta(days=3), status=PaymentStatus.PAID)
    paid.paid_on = TODAY
    session.add(paid)
    statement = session.get(Statement, paid.statement_id)
    assert statement is not None
    statement.created_at = datetime.now(UTC) - timedelta(days=12)
    session.add(statement)
    _payment(session, world.supplier_b, due=TODAY - timedelta(days=2), status=PaymentStatus.FAILED)
    session.commit()
    login(client, world.finance)
    page = client.get("/").text
    assert 'data-testid="settlement-figures"' in page
    assert 'data-testid="average-days">12.0<' in page
    assert 'data-testid="due-next-7-days">1 · ' in page and "1,000.00" in page  # payment A, due in 5 days
    assert 'data-testid="overdue">1<' in page  # the failed one; B's is at the bank


def test_days_to_payment_count_china_dates_at_both_ends(world: World, session: Session) -> None:
    """A statement made at 17:00 UTC on 24 November was made on 25 November in China; paid on
    7 December, it took 12 days, not 13."""
    paid = _payment(session, world.supplier_a, due=date(2026, 12, 7), status=PaymentStatus.PAID)
    paid.paid_on = date(2026, 12, 7)
    session.add(paid)
    statement = session.get(Statement, paid.statement_id)
    assert statement is not None
    statement.created_at = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    session.add(statement)
    session.commit()
    assert settlement_figures(session, date(2026, 12, 7)).average_days_to_payment == Decimal("12.0")


def test_supplier_home_has_no_settlement_figures(client: TestClient, world: World) -> None:
    login(client, world.user_a)
    assert 'data-testid="settlement-figures"' not in client.get("/").text


def test_the_pages_render_in_chinese(make_client: ClientFactory, world: World) -> None:
    supplier = make_client()
    login(supplier, world.user_b)  # zh_CN
    page = supplier.get("/payments").text
    assert "付款" in page and world.payment_b.number in page


def test_a_payment_approval_is_in_the_finance_users_queue(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    assert world.user_a.id is not None and world.finance.id is not None
    session.add(
        ApprovalRequest(
            workflow_id=f"{world.payment_a.workflow_id}:approval",
            document_type="payment",
            document_id=world.payment_a.number,
            document_link=f"/finance/payments#payment-{world.payment_a.number}",
            summary="Supplier A",
            amount=Decimal("80000.00"),
            requester_user_id=world.user_a.id,
            assignee_user_id=world.finance.id,
            assigned_at=datetime.now(UTC),
        )
    )
    session.commit()
    finance = make_client()
    login(finance, world.finance)
    home = finance.get("/").text
    assert 'href="/approvals"' in home
    queue = finance.get("/approvals")
    assert queue.status_code == 200 and world.payment_a.number in queue.text
    buyer = make_client()
    login(buyer, world.buyer)
    assert buyer.get("/approvals").status_code == 403


def test_a_paid_payment_has_its_remittance_advice_with_the_early_discount(
    world: World, session: Session
) -> None:
    payment = _payment(
        session, world.supplier_a, due=TODAY, status=PaymentStatus.SCHEDULED, amount="10000.00"
    )
    assert remittance_advice(session, payment.number) is None  # not paid yet
    payment.status = PaymentStatus.PAID
    payment.early_payment_date = TODAY - timedelta(days=4)
    payment.early_payment_approved = True
    payment.discount_amount = Decimal("20.00")
    payment.payable_amount = Decimal("9980.00")
    payment.paid_on = TODAY - timedelta(days=4)
    payment.bank_reference = "BOC-1"
    session.add(payment)
    session.commit()
    advice = remittance_advice(session, payment.number)
    assert advice is not None
    assert (advice.payable_amount, advice.discount_amount, advice.days_early) == (
        Decimal("9980.00"),
        Decimal("20.00"),
        4,
    )
    assert advice.amount_in_words == "人民币玖仟玖佰捌拾元整"
    assert advice.supplier_name == "Supplier A" and advice.bank_reference == "BOC-1"


def test_the_remittance_pdf_is_for_the_supplier_and_finance_once_paid(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    """The remittance advice PDF of a paid payment: the supplier's own and finance's; 404 to another
    supplier, to a distributor, and to everyone before it is paid; the amounts and 大写金额 in it."""
    link = f"/payments/{world.payment_a.number}/remittance"
    finance = make_client()
    login(finance, world.finance)
    assert finance.get(link).status_code == 404  # not paid yet
    payment = _reload(session, world.payment_a.number)
    payment.status = PaymentStatus.PAID
    payment.early_payment_date = TODAY + timedelta(days=1)
    payment.early_payment_approved = True
    payment.discount_amount = Decimal("2.00")
    payment.payable_amount = Decimal("998.00")
    payment.paid_on = TODAY + timedelta(days=1)
    payment.bank_reference = "BOC-REM-1"
    session.add(payment)
    session.commit()

    answer = finance.get(link)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    text = pdf_text(answer.content)
    assert world.payment_a.number in text and "Supplier A" in text and "BOC-REM-1" in text
    assert "人民币玖佰玖拾捌元整" in text  # what was paid, less the early payment discount
    assert "998.00" in text and "2.00" in text

    supplier = make_client()
    login(supplier, world.user_a)
    assert supplier.get(link).status_code == 200
    assert f'href="{link}"' in supplier.get(f"/payments/{world.payment_a.number}").text
    other = make_client()
    login(other, world.user_b)
    assert other.get(link).status_code == 404
    distributor_org = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    distributor = make_client()
    login(distributor, make_user(session, organisation=distributor_org, roles=[Role.STORE]))
    assert distributor.get(link).status_code in (403, 404)


def test_the_payment_page_is_its_suppliers_and_finances(make_client: ClientFactory, world: World) -> None:
    link = f"/payments/{world.payment_a.number}"
    supplier = make_client()
    login(supplier, world.user_a)
    page = supplier.get(link)
    assert page.status_code == 200 and world.payment_a.number in page.text
    assert "Payment scheduled" not in page.text  # rows made here, not by the workflow: no events
    assert supplier.get(f"/payments/{world.payment_b.number}").status_code == 404  # another supplier's
    finance = make_client()
    login(finance, world.finance)
    assert finance.get(link).status_code == 200
    buyer = make_client()
    login(buyer, world.buyer)
    assert buyer.get(link).status_code == 403
