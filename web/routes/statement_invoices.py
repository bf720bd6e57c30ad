"""The supplier's invoice for a statement, the statement PDF, and finance's match exceptions
(issue 12 items 3, 5 and 6).

- `POST /statements/{number}/invoice` (the statement's supplier, once it is confirmed, or again
  after finance rejected its invoice): number, date, amount excluding tax, tax, total, the billed
  quantity and unit price of each goods line (the form prefills the statement's) and the PDF or
  image. A bad line value is refused beside its field. The file is checked by content and stored
  first (as a certificate is); a number the supplier already used is refused here with a clear
  message before anything is stored; then StatementWorkflow's `submit_invoice` Update records it
  with its three-way match. Any refusal removes the stored file and changes nothing.
- `GET /statements/invoices/{public id}`: the invoice's file, to the statement's supplier and HQ
  (served as an attachment under the sandbox CSP; 404 for anyone else).
- `GET /statements/{number}/pdf`: the statement as a PDF (lines, totals per VAT rate, 大写金额),
  to HQ and the statement's supplier; 404 for anyone else, as the page.
- `GET /match-exceptions` (finance): the statements whose invoice differs beyond tolerance, each
  with the differences per figure and per line and a link to its approval in the queue.

Scoping is `OrgScope` (a supplier sees its own statements and invoices, HQ all); routes are thin.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.responses import Response

from supplychain import certificates, i18n, invoices
from supplychain.document_header import company_party
from supplychain.invoices import INVOICE_MATCH, goods_lines
from supplychain.models import ApprovalRequest, Role, Statement
from supplychain.models.settlement import BILLED_PRICE_PLACES, StatementLine, StatementStatus, SupplierInvoice
from supplychain.pdf_documents import (
    STATEMENT_TEMPLATE,
    Party,
    StatementDocument,
    totals_by_vat_rate,
)
from supplychain.pdf_documents import StatementLine as StatementLineView
from supplychain.principal import Principal
from supplychain.rules.amount_in_words import rmb_in_capitals
from supplychain.rules.statement_invoice import (
    DUPLICATE_NUMBER,
    FIGURE_NEGATIVE,
    LINE_NOT_ON_STATEMENT,
    LINE_PRICE_BAD,
    LINE_QUANTITY_BAD,
    BilledLine,
    SubmitInvoiceInput,
    billed_price_problem,
)
from supplychain.settings import settings
from supplychain.statements import statement_lines
from web.deps import FileId, OrgScope, PageNumber, Scope, names_for, require_roles
from web.downloads import stored_file_response
from web.flash import flash
from web.form_ids import submitted_form_id, update_id
from web.pdfs import pdf_response
from web.purchasing import parse_date, repeated_form_result, run_update, sku_label
from web.routes.statements import HQ_STATEMENT_ROLES, StatementReader, _detail, labels, statement_or_404
from web.security_events import log_security_event
from web.statement_invoices import FIGURE_LABELS, latest_invoice_views
from web.templating import render
from web.workflow_calls import await_on_loop
from workflows.common import business_date
from workflows.statement import StatementWorkflow

router = APIRouter()

SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
FinanceUser = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
PER_PAGE = 25
_AMOUNT_TEXT = re.compile(r"^\+?\d{1,13}(\.\d+)?$", re.ASCII)
_QUANTITY_TEXT = re.compile(r"^\+?\d{1,9}$", re.ASCII)
_PRICE_TEXT = re.compile(r"^\+?\d{1,9}(\.\d+)?$", re.ASCII)


def _amount(text: str, label: str) -> tuple[Decimal | None, str]:
    """An amount of the invoice as typed: (value, "") or (None, a message naming the field)."""
    text = text.strip().replace(",", "")
    if text.startswith("-"):
        return None, f"{label}: {i18n.gettext(FIGURE_NEGATIVE)}"
    if not _AMOUNT_TEXT.match(text):
        return None, f"{label}: {i18n.gettext('Enter an amount, for example 12.50.')}"
    try:
        return Decimal(text), ""
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None, f"{label}: {i18n.gettext('Enter an amount, for example 12.50.')}"


def _billed_line(
    line: StatementLine, quantity_text: str, price_text: str, form: dict[str, str]
) -> BilledLine | None:
    """One line of the invoice as typed, kept in `form`; None with the error beside it."""
    key = str(line.id)
    form[f"line_quantity_{key}"], form[f"line_unit_price_{key}"] = quantity_text, price_text
    price = None
    if _PRICE_TEXT.match(price_text):
        price = Decimal(price_text)
        problem = billed_price_problem(price)
        if problem is not None:
            price = None
    if not _QUANTITY_TEXT.match(quantity_text):
        form[f"line_error_{key}"] = i18n.gettext(LINE_QUANTITY_BAD)
    elif price is None:
        form[f"line_error_{key}"] = i18n.gettext(LINE_PRICE_BAD, places=BILLED_PRICE_PLACES)
    else:
        assert line.id is not None
        return BilledLine(line.id, int(quantity_text), price)
    return None


def _billed_lines(
    lines: list[StatementLine], ids: list[str], quantities: list[str], prices: list[str], form: dict[str, str]
) -> tuple[list[BilledLine], str]:
    """The invoice's lines, one per goods line of the statement: (lines, "") or ([], a message;
    the field's own message is in `form`). No lines at all: the invoice gives its figures only."""
    if not (ids or quantities or prices):
        return [], ""
    by_id = {str(line.id): line for line in goods_lines(lines)}
    if not (len(ids) == len(quantities) == len(prices)) or sorted(ids) != sorted(by_id):
        return [], i18n.gettext(LINE_NOT_ON_STATEMENT)
    billed = [
        _billed_line(
            by_id[line_id], quantity.strip().replace(",", "")[:30], price.strip().replace(",", "")[:30], form
        )
        for line_id, quantity, price in zip(ids, quantities, prices, strict=True)
    ]
    lines_ok = [line for line in billed if line is not None]
    if len(lines_ok) != len(billed):
        return [], i18n.gettext("Check the invoice lines marked below.")
    return lines_ok, ""


# --- the supplier's upload ----------------------------------------------------------------------------


@router.post("/statements/{number}/invoice")
def upload_invoice(
    request: Request,
    number: str,
    user: SupplierUser,
    scope: OrgScope,
    invoice_number: Annotated[str, Form()] = "",
    invoice_date: Annotated[str, Form()] = "",
    net_amount: Annotated[str, Form()] = "",
    tax_amount: Annotated[str, Form()] = "",
    total_amount: Annotated[str, Form()] = "",
    line_id: Annotated[list[str] | None, Form()] = None,
    line_quantity: Annotated[list[str] | None, Form()] = None,
    line_unit_price: Annotated[list[str] | None, Form()] = None,
    form_id: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    statement = statement_or_404(scope, number)  # another supplier's statement: 404, nothing read
    form = {
        "invoice_number": invoice_number.strip()[:100],
        "invoice_date": invoice_date.strip()[:20],
        "net_amount": net_amount.strip()[:30],
        "tax_amount": tax_amount.strip()[:30],
        "total_amount": total_amount.strip()[:30],
        "form_id": form_id,
    }

    assert statement.id is not None
    billed, line_error = _billed_lines(  # first, so that a refused form keeps the lines as typed
        statement_lines(scope.session, statement.id),
        line_id or [],
        line_quantity or [],
        line_unit_price or [],
        form,
    )

    def refuse(message: str) -> Response:
        return _detail(request, user, scope, statement, error=message, form=form, status_code=400)

    if not form["invoice_number"]:
        return refuse(i18n.gettext("Enter the invoice number."))
    day, error = parse_date(form["invoice_date"])
    if error:
        return refuse(error)
    figures: list[Decimal] = []
    for name, label in (
        ("net_amount", i18n.gettext("Amount excluding tax")),
        ("tax_amount", i18n.gettext("Tax")),
        ("total_amount", i18n.gettext("Total including tax")),
    ):
        value, error = _amount(form[name], label)
        if error:
            return refuse(error)
        assert value is not None
        figures.append(value)
    if line_error:
        return refuse(line_error)
    the_update = update_id(submitted_form_id(form), StatementWorkflow.submit_invoice, user)
    if invoices.invoice_by_number(scope.session, statement.supplier_id, form["invoice_number"]) is not None:
        # This very form may have stored it (a double submit): then it answers as the first did.
        if repeated_form_result(
            request, scope.session, statement.workflow_id, StatementWorkflow.submit_invoice, the_update
        ):
            return _uploaded(request, scope, statement, form["invoice_number"])
        return refuse(i18n.gettext(DUPLICATE_NUMBER, number=form["invoice_number"]))
    if file is None or not file.filename:
        return refuse(i18n.gettext(certificates.NO_FILE))
    try:
        received = invoices.receive_invoice_file(file.file, max_bytes=settings.CERTIFICATE_MAX_BYTES)
    except certificates.UploadRefused as refused:
        log_security_event(request, "upload_refused", "refused", upload="invoice", reason=refused.reason)
        return refuse(i18n.gettext(refused.message, **refused.params))
    stored_name = received.commit()
    assert day is not None
    arg = SubmitInvoiceInput(
        actor_user_id=user.user_id,
        invoice_number=form["invoice_number"],
        invoice_date=day,
        net_amount=figures[0],
        tax_amount=figures[1],
        total_amount=figures[2],
        stored_name=stored_name,
        content_type=received.content_type,
        size_bytes=received.size,
        lines=billed,
    )
    try:
        outcome = await_on_loop(
            scope.session,
            run_update,
            request,
            statement.workflow_id,
            StatementWorkflow.submit_invoice,
            arg,
            the_update,
        )
    except BaseException:
        invoices.discard_stored(stored_name)
        raise
    if outcome.refusal:
        invoices.discard_stored(stored_name)
        scope.session.refresh(statement)
        return refuse(outcome.refusal)
    stored = invoices.invoice_by_number(scope.session, statement.supplier_id, form["invoice_number"])
    if stored is None or stored.stored_name != stored_name:  # a repeated form: the first upload's file stays
        invoices.discard_stored(stored_name)
    return _uploaded(request, scope, statement, form["invoice_number"])


def _uploaded(request: Request, scope: Scope, statement: Statement, invoice_number: str) -> Response:
    flash(scope.session, request, i18n.gettext("Invoice %(invoice)s uploaded.", invoice=invoice_number))
    return RedirectResponse(f"/statements/{statement.number}", status_code=303)


@router.get("/statements/invoices/{file_id}")
def invoice_file(file_id: FileId, user: StatementReader, scope: OrgScope) -> Response:
    """The invoice's file, by its random public id, to whoever may see its statement (404 otherwise)."""
    invoice = scope.session.execute(
        scope.select(SupplierInvoice).where(col(SupplierInvoice.public_id) == file_id)
    ).scalar_one_or_none()
    if invoice is None:
        raise HTTPException(status_code=404)
    path = invoices.stored_path(invoice.stored_name)
    return stored_file_response(path, invoice.content_type, invoice.invoice_number)


# --- the statement PDF --------------------------------------------------------------------------------


def statement_document(session: Session, statement: Statement, issue_date: date) -> StatementDocument:
    """The PDF's view of a statement found through the user's scope (`statement_or_404`)."""
    assert statement.id is not None
    lines = statement_lines(session, statement.id)
    names = names_for(session, org_ids={statement.supplier_id}, sku_ids={line.sku_id for line in lines})
    skus = names["skus"]
    views = tuple(
        StatementLineView(
            date=line.occurred_on,
            source_number=line.source_document,
            sku_code=skus[line.sku_id].code if line.sku_id in skus else "",
            description=skus[line.sku_id].name if line.sku_id in skus else line.description,
            description_en=skus[line.sku_id].name_en if line.sku_id in skus else line.description,
            quantity=line.quantity,
            unit_price=line.unit_price if line.unit_price is not None else Decimal("0"),
            vat_rate=line.tax_rate,
            amount=line.net_amount,
            tax=line.tax_amount,
        )
        for line in lines
    )
    company = company_party(session)
    return StatementDocument(
        number=statement.number,
        period_start=statement.period_start,
        period_end=statement.period_end,
        issue_date=issue_date,
        company=company,
        supplier=Party(name=names["orgs"][statement.supplier_id].name),
        buyer=company,
        lines=views,
        vat_totals=totals_by_vat_rate((v.vat_rate, v.amount, v.tax) for v in views),
        net_total=statement.net_amount,
        tax_total=statement.tax_amount,
        grand_total=statement.total_amount,
        amount_in_capitals=rmb_in_capitals(statement.total_amount),
    )


@router.get("/statements/{number}/pdf")
def statement_pdf(number: str, user: StatementReader, scope: OrgScope) -> Response:
    """The statement as an A4 PDF in the user's language, for whoever reads the statement page: HQ's
    buying, approval, finance and admin roles and the statement's supplier (`StatementReader`;
    `OrgScope`: another supplier or a distributor gets the 404 of a statement that is not theirs)."""
    statement = statement_or_404(scope, number)
    document = statement_document(scope.session, statement, business_date(statement.created_at))
    return pdf_response(scope.session, STATEMENT_TEMPLATE, document, f"{statement.number}.pdf")


# --- finance: match exceptions ------------------------------------------------------------------------


@router.get("/match-exceptions")
def match_exceptions(request: Request, user: FinanceUser, scope: OrgScope, page: PageNumber = 1) -> Response:
    """Statements whose invoice differs beyond tolerance, oldest first, with the differences."""
    stmt = (
        scope.select(Statement)
        .where(col(Statement.status) == StatementStatus.MATCH_EXCEPTION)
        .order_by(col(Statement.confirmed_at), col(Statement.id))
    )
    rows = scope.page(stmt, page, per_page=PER_PAGE)
    session = scope.session
    latest = latest_invoice_views(session, list(rows))
    skus = names_for(session, sku_ids={line.sku_id for view in latest.values() for line in view.lines})[
        "skus"
    ]
    approvals = {  # the latest step per statement (one per mismatched invoice)
        request_row.document_id: request_row
        for request_row in session.execute(
            select(ApprovalRequest)
            .where(
                col(ApprovalRequest.document_type) == INVOICE_MATCH,
                col(ApprovalRequest.document_id).in_([s.number for s in rows]),
            )
            .order_by(col(ApprovalRequest.id))
        ).scalars()
    }
    ctx = {
        "user": user,
        "rows": rows,
        "latest": latest,
        "approvals": approvals,
        "figure_labels": FIGURE_LABELS,
        "sku_labels": {sku_id: sku_label(sku) for sku_id, sku in skus.items()},
        "hq_roles": HQ_STATEMENT_ROLES,
        **labels(),
        **names_for(session, org_ids={s.supplier_id for s in rows}),
    }
    return render(request, "statements/match_exceptions.html", ctx)
