"""The supplier's invoice on the statement page, the statement PDF and finance's match exceptions,
through the real dev server and worker: uploads checked by content (a PDF, an image; a file that
only claims to be a PDF refused), another supplier's statement 404 by URL and by form, duplicate
numbers and bad amounts refused with nothing stored or changed, the invoice's lines (the form
prefilled with the statement's goods lines, a changed line laid out on the exception page and the
statement page, bad line values refused beside the field), the exception page for finance only,
and the PDF with the supplier, the totals and 大写金额 to HQ and the supplier only."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient
from temporalio.client import Client

from supplychain import statements
from supplychain.models import DocumentEvent, OrgKind, Role, Statement, User
from supplychain.models.settlement import (
    DisputeResolution,
    InvoiceMatch,
    StatementLine,
    StatementStatus,
    SupplierInvoice,
    SupplierInvoiceLine,
)
from supplychain.rules.amount_in_words import rmb_in_capitals
from supplychain.settings import settings
from tests.factories import make_organisation, make_user
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, csrf, form_id_in, login
from tests.pdf_tools import pdf_text
from tests.statement_world import StatementWorld
from tests.test_certificates import PDF, PDF_HEADED_HTML, PNG_IMAGE
from tests.web import test_statements as statement_pages
from tests.web.test_queries_per_page import counted
from tests.web.test_statements import start_statement
from workflows.statement import (
    ConfirmStatementInput,
    DisputeLineInput,
    ResolveDisputeInput,
    StatementWorkflow,
)

temporal = statement_pages.temporal  # the fixtures of the statement pages' tests
world = statement_pages.world


@pytest.fixture(autouse=True)
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "uploads"
    monkeypatch.setattr(settings, "UPLOAD_DIR", directory)
    return directory


def stored_files(upload_dir: Path) -> list[Path]:
    directory = upload_dir / "invoices"
    return sorted(p for p in directory.iterdir() if not p.name.startswith(".")) if directory.exists() else []


async def confirmed_statement(
    temporal: Client, portal_worker: WorkerThread, db: Engine, supplier_id: int
) -> str:
    number = await start_statement(temporal, portal_worker, db, supplier_id)
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None
        user_id = (
            session.execute(select(col(User.id)).where(col(User.organisation_id) == supplier_id))
            .scalars()
            .first()
        )
        workflow_id = statement.workflow_id
    await temporal.get_workflow_handle(workflow_id).execute_update(
        StatementWorkflow.confirm, ConfirmStatementInput(actor_user_id=user_id)
    )
    return number


def totals(db: Engine, number: str) -> dict[str, str]:
    with Session(db) as session:
        s = statements.get_statement(session, number)
        assert s is not None
        return {
            "net_amount": str(s.net_amount),
            "tax_amount": str(s.tax_amount),
            "total_amount": str(s.total_amount),
        }


def upload(
    client: TestClient,
    number: str,
    *,
    content: bytes = PDF,
    filename: str = "invoice.pdf",
    form_id: str | None = None,
    lines: dict[str, list[str]] | None = None,
    **fields: Any,
) -> httpx.Response:
    if form_id is None:
        form_id = form_id_in(client.get(f"/statements/{number}").text, f"/statements/{number}/invoice")
    data: dict[str, str | list[str]] = {
        **(lines or {}),
        "invoice_number": "04400123",
        "invoice_date": "2026-02-03",
        "csrf_token": csrf(client),
        "form_id": form_id,
        **{k: str(v) for k, v in fields.items()},
    }
    response: httpx.Response = client.post(
        f"/statements/{number}/invoice",
        data=data,
        files={"file": (filename, content, "application/pdf")},
        follow_redirects=False,
    )
    return response


def snapshot(db: Engine, number: str) -> tuple[object, ...]:
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None
        invoices = session.execute(select(func.count()).select_from(SupplierInvoice)).scalar_one()
        events = session.execute(
            select(func.count()).where(col(DocumentEvent.document_id) == number).select_from(DocumentEvent)
        ).scalar_one()
        return statement.status, invoices, events


def invoice_rows(db: Engine) -> list[tuple[str, InvoiceMatch, str]]:
    with Session(db) as session:
        return [
            (i.invoice_number, i.match, i.content_type)
            for i in session.execute(select(SupplierInvoice).order_by(col(SupplierInvoice.id))).scalars()
        ]


async def test_a_pdf_invoice_that_matches_is_stored_and_downloadable_by_the_supplier_and_hq(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
    upload_dir: Path,
) -> None:
    number = await confirmed_statement(temporal, portal_worker, db, world.supplier_id)
    supplier = portal_client()
    login(supplier, world.supplier_user)
    page = supplier.get(f"/statements/{number}")
    assert 'data-testid="invoice-form"' in page.text and f"/statements/{number}/pdf" in page.text

    form_id = form_id_in(page.text, f"/statements/{number}/invoice")
    done = upload(supplier, number, form_id=form_id, **totals(db, number))
    assert done.status_code == 303, done.text
    again = upload(supplier, number, form_id=form_id, **totals(db, number))  # the same form sent twice
    assert again.status_code == 303 and again.headers["location"] == done.headers["location"]
    assert invoice_rows(db) == [("04400123", InvoiceMatch.MATCHED, "application/pdf")]
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None and statement.status is StatementStatus.MATCHED
        invoice = session.execute(select(SupplierInvoice)).scalar_one()
    [stored] = stored_files(upload_dir)
    assert stored.read_bytes() == PDF and stored.stat().st_mode & 0o077 == 0

    page = supplier.get(f"/statements/{number}")
    assert 'data-testid="invoice-form"' not in page.text and 'data-testid="invoice-04400123"' in page.text
    link = f"/statements/invoices/{invoice.public_id}"
    download = supplier.get(link)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in download.headers["content-security-policy"]
    buyer = portal_client()
    login(buyer, world.buyer)
    assert buyer.get(link).status_code == 200
    other = portal_client()
    login(other, world.other_supplier_user)
    assert other.get(link).status_code == 404


async def test_an_image_invoice_that_differs_goes_to_finance_who_sees_the_exception_page(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    with Session(db, expire_on_commit=False) as session:
        finance = make_user(session, organisation=world.hq, roles=[Role.FINANCE], locale="en")
    number = await confirmed_statement(temporal, portal_worker, db, world.supplier_id)
    supplier = portal_client()
    login(supplier, world.supplier_user)
    figures = totals(db, number)
    over = {
        "net_amount": str(Decimal(figures["net_amount"]) + 2),
        "tax_amount": figures["tax_amount"],
        "total_amount": str(Decimal(figures["total_amount"]) + 2),
    }
    done = upload(supplier, number, content=PNG_IMAGE, filename="invoice.png", **over)
    assert done.status_code == 303, done.text
    assert invoice_rows(db) == [("04400123", InvoiceMatch.MISMATCH, "image/png")]

    browser = portal_client()
    login(browser, finance)
    page = browser.get("/match-exceptions")
    assert page.status_code == 200 and number in page.text
    assert 'data-testid="difference-amount"' in page.text and "2.00" in page.text
    for _ in range(100):  # the approval step opens right after the invoice is recorded
        page = browser.get("/match-exceptions")
        if 'data-testid="approval-link"' in page.text:
            break
    assert 'data-testid="approval-link"' in page.text
    queue = browser.get("/approvals")
    assert queue.status_code == 200 and number in queue.text
    assert browser.get(f"/statements/{number}").status_code == 200

    for user in (world.buyer, world.supplier_user):
        other = portal_client()
        login(other, user)
        assert other.get("/match-exceptions").status_code == 403


async def test_bad_uploads_are_refused_with_nothing_stored_or_changed(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
    upload_dir: Path,
) -> None:
    number = await confirmed_statement(temporal, portal_worker, db, world.supplier_id)
    assert world.other_supplier.id is not None
    theirs = await confirmed_statement(temporal, portal_worker, db, world.other_supplier.id)
    supplier = portal_client()
    login(supplier, world.supplier_user)
    figures = totals(db, number)
    before = snapshot(db, number)

    assert supplier.get(f"/statements/{theirs}").status_code == 404
    their_before = snapshot(db, theirs)
    stolen = upload(supplier, theirs, form_id="x", **totals(db, theirs))
    assert stolen.status_code == 404 and snapshot(db, theirs) == their_before

    fake_pdf = upload(supplier, number, content=PDF_HEADED_HTML, **figures)
    assert fake_pdf.status_code == 400 and "not a complete PDF" in fake_pdf.text
    for bad, message in (
        ({**figures, "net_amount": "-5.00"}, "cannot be negative"),
        ({**figures, "tax_amount": "abc"}, "Enter an amount"),
        ({**figures, "total_amount": "1.00"}, "must equal the total"),
        ({**figures, "net_amount": "1.005"}, "at most 2 decimals"),
        ({**figures, "invoice_date": "yesterday"}, "Enter a date"),
    ):
        refused = upload(supplier, number, **bad)
        assert refused.status_code == 400 and message in refused.text, (bad, refused.text[-2000:])
    assert snapshot(db, number) == before and stored_files(upload_dir) == []

    # The number is taken by one of the supplier's earlier invoices: refused before storing.
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None
        session.add(
            SupplierInvoice(
                statement_id=statement.id,
                supplier_id=world.supplier_id,
                invoice_number="04400123",
                invoice_date=date(2026, 1, 5),
                net_amount=Decimal("1.00"),
                tax_amount=Decimal("0.13"),
                total_amount=Decimal("1.13"),
                stored_name="0" * 32,
                content_type="application/pdf",
                size_bytes=1,
                match=InvoiceMatch.REJECTED,
                uploaded_by_user_id=world.supplier_user.id,
            )
        )
        session.commit()
    before = snapshot(db, number)
    duplicate = upload(supplier, number, **figures)
    assert duplicate.status_code == 400
    assert "You have already uploaded an invoice numbered 04400123" in duplicate.text
    assert snapshot(db, number) == before and stored_files(upload_dir) == []


async def test_the_statement_pdf_has_the_supplier_totals_and_capitals_for_hq_and_the_supplier_only(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    number = await start_statement(temporal, portal_worker, db, world.supplier_id)
    figures = totals(db, number)
    with Session(db, expire_on_commit=False) as session:
        distributor_org = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
        distributor = make_user(session, organisation=distributor_org, roles=[Role.STORE], locale="en")
    for user in (world.supplier_user, world.buyer):
        browser = portal_client()
        login(browser, user)
        response = browser.get(f"/statements/{number}/pdf")
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        text = pdf_text(response.content)
        assert world.supplier.name in text and number in text
        assert figures["net_amount"] in text and figures["total_amount"] in text
        assert "大写金额" in text and rmb_in_capitals(Decimal(figures["total_amount"])) in text

    # Another supplier: the 404 of a statement that is not theirs; a distributor's store user has no
    # statements at all (403, as for the statement page).
    for outsider, refused in ((world.other_supplier_user, 404), (distributor, 403)):
        browser = portal_client()
        login(browser, outsider)
        assert browser.get(f"/statements/{number}/pdf").status_code == refused


def _exception(session: Session, world: StatementWorld, n: int) -> None:
    statement = Statement(
        number=f"ST-2026-9{n:05d}",
        workflow_id=f"statement-test-{n}",
        supplier_id=world.supplier_id,
        period_start=date(2025, 1, 1) + timedelta(days=n),
        period_end=date(2025, 1, 1) + timedelta(days=n),
        status=StatementStatus.MATCH_EXCEPTION,
        net_amount=Decimal("100.00"),
        tax_amount=Decimal("13.00"),
        total_amount=Decimal("113.00"),
    )
    session.add(statement)
    session.flush()
    session.add(
        SupplierInvoice(
            statement_id=statement.id,
            supplier_id=world.supplier_id,
            invoice_number=f"INV-{n}",
            invoice_date=date(2025, 2, 1),
            net_amount=Decimal("110.00"),
            tax_amount=Decimal("13.00"),
            total_amount=Decimal("123.00"),
            stored_name="0" * 32,
            content_type="application/pdf",
            size_bytes=1,
            match=InvoiceMatch.MISMATCH,
            uploaded_by_user_id=world.supplier_user.id,
        )
    )
    session.commit()


def test_the_match_exceptions_page_costs_a_fixed_number_of_statements(
    make_client: ClientFactory, world: StatementWorld, db: Engine
) -> None:
    with Session(db, expire_on_commit=False) as session:
        finance = make_user(session, organisation=world.hq, roles=[Role.FINANCE], locale="en")
        _exception(session, world, 1)
    client = make_client()
    login(client, finance)

    def statements_run() -> list[str]:
        client.get("/match-exceptions")
        with counted(db) as run:
            page = client.get("/match-exceptions")
        assert page.status_code == 200 and 'data-testid="difference-amount"' in page.text
        return run

    few = statements_run()
    with Session(db) as session:
        for n in range(2, 7):
            _exception(session, world, n)
    many = statements_run()
    assert len(many) == len(few), many


def goods_lines(db: Engine, number: str) -> list[StatementLine]:
    """The statement's receipt lines (quantity at the PO price), by line number."""
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None and statement.id is not None
        return [
            line
            for line in statements.statement_lines(session, statement.id)
            if line.quantity > 0 and line.unit_price is not None
        ]


def billed(lines: list[StatementLine], quantities: list[str], prices: list[str]) -> dict[str, list[str]]:
    return {
        "line_id": [str(line.id) for line in lines],
        "line_quantity": quantities,
        "line_unit_price": prices,
    }


def table_row(html: str, testid: str) -> str:
    found = re.search(rf'<tr[^>]*data-testid="{testid}".*?</tr>', html, re.S)
    assert found, f"no row {testid}"
    return found.group(0)


def invoice_line_count(db: Engine) -> int:
    with Session(db) as session:
        return int(session.execute(select(func.count()).select_from(SupplierInvoiceLine)).scalar_one())


async def test_the_form_lists_the_goods_lines_prefilled_and_a_changed_line_shows_on_both_pages(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    with Session(db, expire_on_commit=False) as session:
        finance = make_user(session, organisation=world.hq, roles=[Role.FINANCE], locale="en")
    number = await confirmed_statement(temporal, portal_worker, db, world.supplier_id)
    three, four = goods_lines(db, number)
    supplier = portal_client()
    login(supplier, world.supplier_user)
    page = supplier.get(f"/statements/{number}").text
    for line, quantity in ((three, "3"), (four, "4")):  # the lots received, at the PO price 10.0000
        row = table_row(page, f"invoice-form-line-{line.line_no}")
        assert f'value="{quantity}"' in row and 'value="10.00"' in row and line.source_document in row
    assert page.count('data-testid="invoice-form-line-') == 2  # the return to vendor is not billed

    # The totals as the statement's, but the lot of 3 billed as 2: 10.00 short, beyond 1.00.
    done = upload(
        supplier, number, lines=billed([three, four], ["2", "4"], ["10.00", "10.00"]), **totals(db, number)
    )
    assert done.status_code == 303, done.text
    assert invoice_rows(db) == [("04400123", InvoiceMatch.MISMATCH, "application/pdf")]
    assert invoice_line_count(db) == 2

    browser = portal_client()
    login(browser, finance)
    for reader, url in (
        (browser, "/match-exceptions"),
        (browser, f"/statements/{number}"),
        (supplier, f"/statements/{number}"),
    ):
        html = reader.get(url).text
        row = table_row(html, f"invoice-line-{three.line_no}")
        assert three.source_document in row and "3 × 10.00 = " in row and "2 × 10.00 = " in row, (url, row)
        assert "30.00" in row and "20.00" in row and "-CN¥10.00" in row and "over-tolerance" in row
        assert f'data-testid="invoice-line-{four.line_no}"' not in html  # billed as the statement


async def test_a_line_agreed_in_a_dispute_is_prefilled_and_judged_at_its_agreed_amount(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    number = await start_statement(temporal, portal_worker, db, world.supplier_id)
    three, four = goods_lines(db, number)
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None
        handle = temporal.get_workflow_handle(statement.workflow_id)
    assert world.supplier_user.id is not None and world.buyer.id is not None
    await handle.execute_update(
        StatementWorkflow.dispute_line,
        DisputeLineInput(world.supplier_user.id, three.line_no, "price", Decimal("33.00")),
    )
    await handle.execute_update(
        StatementWorkflow.resolve_dispute,
        ResolveDisputeInput(world.buyer.id, three.line_no, DisputeResolution.ACCEPTED_SUPPLIER),
    )
    await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(world.supplier_user.id))
    supplier = portal_client()
    login(supplier, world.supplier_user)
    page = supplier.get(f"/statements/{number}").text
    assert 'value="11.00"' in table_row(page, f"invoice-form-line-{three.line_no}")  # 3 x 11.00 = 33.00
    assert 'value="10.00"' in table_row(page, f"invoice-form-line-{four.line_no}")

    # Billed at the PO price instead: 3.00 short of the agreed 33.00, beyond the 1.00 tolerance.
    done = upload(
        supplier, number, lines=billed([three, four], ["3", "4"], ["10.00", "10.00"]), **totals(db, number)
    )
    assert done.status_code == 303, done.text
    assert invoice_rows(db) == [("04400123", InvoiceMatch.MISMATCH, "application/pdf")]
    row = table_row(supplier.get(f"/statements/{number}").text, f"invoice-line-{three.line_no}")
    assert "agreed in a dispute" in row and "33.00" in row and "3 × 10.00 = " in row and "-CN¥3.00" in row


async def test_bad_invoice_line_values_are_refused_beside_the_field_with_nothing_stored(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
    upload_dir: Path,
) -> None:
    number = await confirmed_statement(temporal, portal_worker, db, world.supplier_id)
    assert world.other_supplier.id is not None
    theirs = await confirmed_statement(temporal, portal_worker, db, world.other_supplier.id)
    three, four = goods_lines(db, number)
    supplier = portal_client()
    login(supplier, world.supplier_user)
    figures = totals(db, number)
    before = snapshot(db, number)

    their_before = snapshot(db, theirs)
    their_lines = goods_lines(db, theirs)
    stolen = upload(
        supplier, theirs, form_id="x", lines=billed(their_lines, ["1"], ["1.00"]), **totals(db, theirs)
    )
    assert stolen.status_code == 404 and snapshot(db, theirs) == their_before

    for quantity, price, typed, message in (
        ("-1", "10.00", 'value="-1"', "Enter a whole quantity of 0 or more."),
        ("2.5", "10.00", 'value="2.5"', "Enter a whole quantity of 0 or more."),
        ("3", "abc", 'value="abc"', "Enter a unit price of 0 or more with at most 8 decimals."),
        ("3", "-10", 'value="-10"', "Enter a unit price of 0 or more with at most 8 decimals."),
        ("3", "10.123456789", 'value="10.123456789"', "with at most 8 decimals"),
    ):
        refused = upload(
            supplier, number, lines=billed([three, four], [quantity, "4"], [price, "10.00"]), **figures
        )
        assert refused.status_code == 400, (quantity, price)
        row = table_row(refused.text, f"invoice-form-line-{three.line_no}")
        assert message in row and typed in row, (quantity, price, row)  # beside the field, as typed
        assert "Check the invoice lines marked below." in refused.text
    # Another statement's line slipped into the form: refused, not stored against either statement.
    mixed = upload(
        supplier, number, lines=billed([three, their_lines[0]], ["3", "4"], ["10", "10"]), **figures
    )
    assert mixed.status_code == 400 and "do not match this statement" in mixed.text
    assert snapshot(db, number) == before and snapshot(db, theirs) == their_before
    assert stored_files(upload_dir) == [] and invoice_line_count(db) == 0

    # A price printed to 8 places, and the other line as the statement: stored as billed.
    done = upload(
        supplier, number, lines=billed([three, four], ["3", "4"], ["10.00000001", "10.0000"]), **figures
    )
    assert done.status_code == 303, done.text
    with Session(db) as session:
        stored = (
            session.execute(select(SupplierInvoiceLine).order_by(col(SupplierInvoiceLine.id))).scalars().all()
        )
        assert [(line.quantity, line.unit_price, line.net_amount) for line in stored] == [
            (3, Decimal("10.00000001"), Decimal("30.00")),
            (4, Decimal("10.0000"), Decimal("40.00")),
        ]
    assert invoice_rows(db) == [("04400123", InvoiceMatch.MATCHED, "application/pdf")]
