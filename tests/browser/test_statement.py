"""A supplier statement in a real browser, as the demo supplier login (zh_CN): the demo orders have
received its goods (`seed_demo_orders`, through the real processes), a StatementWorkflow bills them;
the supplier finds the statement in its list, confirms it on the statement page, sees it confirmed
with the step on its timeline, downloads the statement PDF, uploads its invoice (matched) and asks
to be paid today; finance agrees, runs the payments and uploads the bank's result; the supplier
downloads the remittance advice PDF of the paid statement. The app behind the browser talks to a
real Temporal dev server and the production worker (`open_portal_page`); screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlmodel import Session

from supplychain import i18n
from supplychain.demo_orders import seed_demo_orders
from supplychain.demo_statements import invoice_pdf
from supplychain.models import Organisation, Statement
from supplychain.models.base import utcnow
from supplychain.models.settlement import PaymentStatus, StatementStatus
from supplychain.rules.statement import Period
from supplychain.settings import settings
from supplychain.settlement import payment_by_number, payment_number
from supplychain.statements import statement_by_workflow, statement_workflow_id, terms_for
from supplychain.temporal import connect
from tests.browser.conftest import DESKTOP, DemoAccount, OpenPage, Viewport
from tests.browser.test_replenishment import click_nav, log_in, log_out, reload_until_visible, translated
from tests.fixtures.portal import WorkerThread
from tests.pdf_tools import pdf_text
from web.routes.statements import STATUS_LABELS
from web.timeline import action_label
from workflows.common import business_date
from workflows.statement import StatementInput, StatementWorkflow

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str, Viewport], Path]
LOCALE = "zh_CN"
EARLY_RATE = Decimal("0.0005")  # a day, the supplier's terms for early payment
PROCESS_SECONDS = 30.0


def status_label(status: StatementStatus) -> str:
    with i18n.use_locale(LOCALE):
        return i18n.translate(STATUS_LABELS[status])


def _statement_waiting_for_the_supplier(engine: Engine, worker: WorkerThread, supplier_code: str) -> str:
    """The demo orders' goods received, then a statement of the supplier's started as its scheduled
    run starts one; its number once the workflow has recorded it. The period (from the first of last
    month) is not the one `portal demo-statements` uses, so the two never share a workflow id."""

    async def run() -> None:
        client = await connect(worker.address)
        await seed_demo_orders(client, worker.task_queue)
        await client.start_workflow(
            StatementWorkflow.run,
            StatementInput(supplier_id=supplier_id, period_start=period.start, period_end=period.end),
            id=workflow_id,
            task_queue=worker.task_queue,
        )

    with Session(engine) as session:
        supplier = session.execute(select(Organisation).filter_by(code=supplier_code)).scalar_one()
        assert supplier.id is not None
        supplier_id = supplier.id
    today = business_date(utcnow())
    period = Period((today.replace(day=1) - timedelta(days=1)).replace(day=1), today)
    workflow_id = statement_workflow_id(supplier_id, period)
    worker.call(run(), timeout=120)
    return workflow_id


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PROCESS_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {PROCESS_SECONDS:.0f} s"
        time.sleep(0.2)


def test_the_supplier_confirms_its_statement_is_paid_and_downloads_its_remittance(
    open_portal_page: OpenPage,
    portal_worker: WorkerThread,
    demo_accounts: dict[str, DemoAccount],
    engine: Engine,
    screenshot: Screenshot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    supplier, finance = demo_accounts["supplier"], demo_accounts["finance"]
    # The bank's files stay in this test; the supplier may ask to be paid early (its terms).
    monkeypatch.setattr(settings, "PAYMENT_OUTBOX_DIR", tmp_path / "outbox")
    monkeypatch.setattr(settings, "PAYMENT_INBOX_DIR", tmp_path / "inbox")
    monkeypatch.setattr(settings, "UPLOAD_DIR", tmp_path / "uploads")
    with Session(engine) as session:
        hzly = session.execute(select(Organisation).filter_by(code="SUP-HZLY")).scalar_one()
        assert hzly.id is not None
        terms = terms_for(session, hzly.id)
        terms.early_payment_rate_per_day = EARLY_RATE
        session.add(terms)
        session.commit()
    workflow_id = _statement_waiting_for_the_supplier(engine, portal_worker, "SUP-HZLY")
    today = business_date(utcnow())

    # --- the supplier finds the statement in its list and opens it ----------------------------------
    page = open_portal_page(DESKTOP)
    log_in(page, supplier)
    click_nav(page, "/supplier/statements")
    row_link = page.locator("[data-testid=statement-row] a[href^='/statements/ST-']")
    reload_until_visible(page, row_link, "the statement in the supplier's list")
    with Session(engine) as session:
        statement = statement_by_workflow(session, workflow_id)
        assert statement is not None and statement.status is StatementStatus.AWAITING_CONFIRMATION
        number = statement.number
        net, tax, total = statement.net_amount, statement.tax_amount, statement.total_amount
    page.locator(f"[data-testid=statement-row] a:text-is('{number}')").click()
    expect(page).to_have_url(f"/statements/{number}")
    expect(page.get_by_test_id("status")).to_have_text(status_label(StatementStatus.AWAITING_CONFIRMATION))
    expect(page.get_by_test_id("statement-line").first).to_be_visible()
    screenshot(page, "1-supplier-statement", DESKTOP)

    # --- it confirms: the status, who confirmed, and the step on the timeline -----------------------
    page.get_by_test_id("confirm-form").locator("button[type=submit]").click()
    expect(page).to_have_url(f"/statements/{number}")
    expect(page.locator(".flash")).to_contain_text(translated("The statement was confirmed."))
    expect(page.get_by_test_id("status")).to_have_text(status_label(StatementStatus.CONFIRMED))
    expect(page.get_by_test_id("confirmed")).to_contain_text(supplier.full_name)
    expect(page.get_by_test_id("confirm-form")).to_have_count(0)  # confirmed once: nothing to confirm
    with i18n.use_locale(LOCALE):
        confirmed_label = action_label("confirmed")
    confirmed_entry = page.locator("#timeline li.timeline-entry[data-action='confirmed']")
    expect(confirmed_entry).to_have_count(1)
    expect(confirmed_entry.locator("strong")).to_have_text(confirmed_label)
    expect(confirmed_entry.locator(".actor")).to_contain_text(supplier.full_name)
    screenshot(page, "2-supplier-confirmed", DESKTOP)

    # --- it downloads the statement PDF -------------------------------------------------------------
    with page.expect_download() as statement_download:
        page.get_by_test_id("statement-pdf").click()
    assert statement_download.value.suggested_filename == f"{number}.pdf"
    pdf = Path(statement_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and number in pdf_text(pdf)

    # --- it uploads its invoice, which matches: the payment is scheduled ----------------------------
    invoice_number = "04409001"
    form = page.get_by_test_id("invoice-form")
    form.locator("#invoice_number").fill(invoice_number)
    form.locator("#invoice_date").fill(today.isoformat())
    form.locator("#net_amount").fill(f"{net:.2f}")
    form.locator("#tax_amount").fill(f"{tax:.2f}")
    form.locator("#total_amount").fill(f"{total:.2f}")
    form.locator("#invoice-file").set_input_files(
        {
            "name": "invoice.pdf",
            "mimeType": "application/pdf",
            "buffer": invoice_pdf(invoice_number, number, total),
        }
    )
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"/statements/{number}")
    expect(page.get_by_test_id("status")).to_have_text(status_label(StatementStatus.MATCHED))
    expect(page.get_by_test_id(f"invoice-{invoice_number}")).to_be_visible()
    pay = payment_number(number)

    # --- it asks to be paid today, at a discount ----------------------------------------------------
    click_nav(page, "/payments")
    early_form = page.locator(f"#payment-{pay} [data-testid=early-payment-form]")
    reload_until_visible(page, early_form, f"{pay} on the supplier's payments page")
    early_form.locator("input[type=date]").fill(today.isoformat())
    early_form.locator("button[type=submit]").click()
    expect(page.locator(".flash").first).to_be_visible()
    screenshot(page, "3-supplier-early-payment", DESKTOP)
    log_out(page)

    # --- finance agrees, runs the payments and uploads the bank's answer ----------------------------
    log_in(page, finance)
    page.goto("/finance/payments")
    request_row = page.locator(f"#early_requests-{pay}")
    reload_until_visible(page, request_row, f"{pay} among finance's early payment requests")
    request_row.locator("button[name=decision][value=approve]").click()
    expect(page.locator(f"#early_requests-{pay}")).to_have_count(0)

    def ready() -> bool:
        with Session(engine) as session:
            payment = payment_by_number(session, pay)
            return payment is not None and payment.ready_at is not None

    _until(ready, f"{pay} to be ready for the next run")
    page.goto("/finance/payment-runs")
    page.get_by_test_id("run-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("run-row")).to_have_count(1)
    with Session(engine) as session:
        payment = payment_by_number(session, pay)
        assert payment is not None and payment.status is PaymentStatus.INSTRUCTED
        key = payment.idempotency_key
    result = f"idempotency_key,status,bank_reference,reason\n{key},paid,BOC-DEMO-1,\n"
    page.get_by_test_id("result-form").locator("input[type=file]").set_input_files(
        {"name": "result.csv", "mimeType": "text/csv", "buffer": result.encode()}
    )
    page.get_by_test_id("result-form").locator("button[type=submit]").click()
    _until(lambda: _payment_status(engine, pay) is PaymentStatus.PAID, f"{pay} to be paid")
    screenshot(page, "4-finance-bank-result", DESKTOP)
    log_out(page)

    # --- the supplier downloads its remittance advice -----------------------------------------------
    log_in(page, supplier)
    page.goto(f"/payments/{pay}")
    expect(page.get_by_test_id("remittance")).to_contain_text("BOC-DEMO-1")
    screenshot(page, "5-supplier-remittance", DESKTOP)
    with page.expect_download() as remittance_download:
        page.get_by_test_id("remittance-pdf").click()
    remittance = Path(remittance_download.value.path()).read_bytes()
    assert remittance.startswith(b"%PDF-")
    text = pdf_text(remittance)
    assert pay in text and number in text

    # What the pages showed is what happened.
    with Session(engine) as session:
        stored = session.execute(select(Statement).filter_by(number=number)).scalar_one()
        assert stored.status is StatementStatus.PAID
        assert stored.confirmed_by_user_id is not None


def _payment_status(engine: Engine, number: str) -> PaymentStatus | None:
    with Session(engine) as session:
        payment = payment_by_number(session, number)
        return payment.status if payment is not None else None
