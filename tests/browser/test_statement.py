"""A supplier statement in a real browser, as the demo supplier login (zh_CN): the demo orders have
received its goods (`seed_demo_orders`, through the real processes), a StatementWorkflow bills them;
the supplier finds the statement in its list, confirms it on the statement page, sees it confirmed
with the step on its timeline, and downloads the statement PDF, which names the statement. The app
behind the browser talks to a real Temporal dev server and the production worker
(`open_portal_page`); screenshots go to test-artifacts/screenshots/.

Not here yet: the remittance advice download (issue 12 item 8) needs the remittance route and a
paid statement; this test downloads the statement PDF in its place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlmodel import Session

from supplychain import i18n
from supplychain.demo_orders import seed_demo_orders
from supplychain.models import Organisation, Statement
from supplychain.models.base import utcnow
from supplychain.models.settlement import StatementStatus
from supplychain.rules.statement import Period
from supplychain.statements import statement_by_workflow, statement_workflow_id
from supplychain.temporal import connect
from tests.browser.conftest import DESKTOP, DemoAccount, OpenPage, Viewport
from tests.browser.test_replenishment import click_nav, log_in, reload_until_visible, translated
from tests.fixtures.portal import WorkerThread
from tests.pdf_tools import pdf_text
from web.routes.statements import STATUS_LABELS
from web.timeline import action_label
from workflows.common import business_date
from workflows.statement import StatementInput, StatementWorkflow

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str, Viewport], Path]
LOCALE = "zh_CN"


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


def test_the_supplier_confirms_its_statement_and_downloads_its_pdf(
    open_portal_page: OpenPage,
    portal_worker: WorkerThread,
    demo_accounts: dict[str, DemoAccount],
    engine: Engine,
    screenshot: Screenshot,
) -> None:
    supplier = demo_accounts["supplier"]
    workflow_id = _statement_waiting_for_the_supplier(engine, portal_worker, "SUP-HZLY")

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
    with page.expect_download() as download_info:
        page.get_by_test_id("statement-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"{number}.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert number in pdf_text(pdf)

    # What the page showed is what happened.
    with Session(engine) as session:
        stored = session.execute(select(Statement).filter_by(number=number)).scalar_one()
        assert stored.status is StatementStatus.CONFIRMED
        assert stored.confirmed_by_user_id is not None
