"""What the statement page shows of its invoices (issue 12 item 3), shared by the statement page
(web/routes/statements.py) and the invoice routes (web/routes/statement_invoices.py): the invoices
uploaded so far, the figures of the latest one against the statement (each figure's difference and
the tolerance) and the lines that differ, whether this user may upload one now, and the upload
form's lines (the statement's goods lines, prefilled with its quantities and prices)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.i18n import lazy
from supplychain.invoices import (
    billed_lines,
    billing_price,
    expected_lines,
    goods_lines,
    invoice_figures,
    invoice_lines_of,
    invoices_of,
    statement_figures,
)
from supplychain.models import Role, Statement
from supplychain.models.settlement import (
    InvoiceMatch,
    SettlementTerms,
    StatementLine,
    StatementStatus,
    SupplierInvoice,
    SupplierInvoiceLine,
)
from supplychain.principal import Principal
from supplychain.rules.invoice_match import Figure, FigureMatch, LineDifference, MatchResult, Tolerance
from supplychain.rules.statement_invoice import match_against_statement, tolerance_of
from supplychain.statements import statement_lines, terms_for

MATCH_LABELS: dict[InvoiceMatch, str] = {
    InvoiceMatch.MATCHED: lazy("Matched"),
    InvoiceMatch.MISMATCH: lazy("Differs: waiting for finance"),
    InvoiceMatch.ACCEPTED: lazy("Accepted by finance"),
    InvoiceMatch.REJECTED: lazy("Rejected by finance"),
}
FIGURE_LABELS: dict[Figure, str] = {
    Figure.AMOUNT: lazy("Amount excluding tax"),
    Figure.TAX: lazy("Tax"),
    Figure.TOTAL: lazy("Total including tax"),
}
INVOICE_FIELDS = ("invoice_number", "invoice_date", "net_amount", "tax_amount", "total_amount")


@dataclass
class InvoiceLineView:
    """A line of the invoice that differs from its statement line, for the pages."""

    difference: LineDifference  # our quantity x price = amount, the billed ones, billed - ours
    source_document: str  # the statement line's: PO, SHP
    sku_id: int | None
    description: str
    expected_price: str  # the unit prices as `price_text` shows them
    billed_price: str


@dataclass
class InvoiceView:
    invoice: SupplierInvoice
    figures: list[FigureMatch]  # amount, tax, total against the statement
    lines: list[InvoiceLineView] = field(default_factory=list)  # the lines that differ, by number


@dataclass
class InvoiceFormLine:
    """A goods line of the statement on the upload form: what the invoice bills, as typed (the
    statement's quantity and unit price until the supplier changes them), and what was wrong."""

    line: StatementLine
    quantity: str
    unit_price: str
    error: str = ""


def _view(
    invoice: SupplierInvoice,
    statement: Statement,
    tolerance: Tolerance,
    lines: list[StatementLine],
    billed: list[SupplierInvoiceLine],
) -> InvoiceView:
    result: MatchResult = match_against_statement(
        statement_figures(statement),
        invoice_figures(invoice),
        tolerance,
        expected_lines(lines, prices_include_tax=statement.prices_include_tax),
        billed_lines(lines, billed),
    )
    by_no = {line.line_no: line for line in lines}
    views = []
    for difference in result.line_differences:
        line = by_no.get(difference.line_no)
        views.append(
            InvoiceLineView(
                difference,
                line.source_document if line else "",
                line.sku_id if line else None,
                line.description if line else "",
                "" if difference.expected_unit_price is None else price_text(difference.expected_unit_price),
                "" if difference.billed_unit_price is None else price_text(difference.billed_unit_price),
            )
        )
    return InvoiceView(invoice, list(result.figures), views)


def may_upload_invoice(user: Principal, statement: Statement) -> bool:
    return (
        user.has_role(Role.SUPPLIER)
        and user.organisation_id == statement.supplier_id
        and statement.status is StatementStatus.CONFIRMED
    )


def invoice_views(session: Session, statement: Statement) -> list[InvoiceView]:
    """The statement's invoices, newest first, each with its figures against the statement."""
    assert statement.id is not None
    terms = terms_for(session, statement.supplier_id)
    tolerance = tolerance_of(terms.tolerance_amount, terms.tolerance_percent)
    lines = statement_lines(session, statement.id)
    invoices = list(reversed(invoices_of(session, statement.id)))
    billed = invoice_lines_of(session, [i.id for i in invoices if i.id is not None])
    return [
        _view(invoice, statement, tolerance, lines, billed.get(invoice.id or 0, [])) for invoice in invoices
    ]


def latest_invoice_views(session: Session, statements: Sequence[Statement]) -> dict[int, InvoiceView]:
    """Each statement's latest invoice against it, by statement id, in four queries for the page."""
    ids = [s.id for s in statements if s.id is not None]
    if not ids:
        return {}
    latest: dict[int, SupplierInvoice] = {}
    for invoice in session.execute(
        select(SupplierInvoice)
        .where(col(SupplierInvoice.statement_id).in_(ids))
        .order_by(col(SupplierInvoice.id))
    ).scalars():
        latest[invoice.statement_id] = invoice
    terms = {
        t.supplier_id: t
        for t in session.execute(
            select(SettlementTerms).where(
                col(SettlementTerms.supplier_id).in_({s.supplier_id for s in statements})
            )
        ).scalars()
    }
    lines: dict[int, list[StatementLine]] = {statement_id: [] for statement_id in ids}
    for line in session.execute(
        select(StatementLine)
        .where(col(StatementLine.statement_id).in_(ids))
        .order_by(col(StatementLine.line_no))
    ).scalars():
        lines[line.statement_id].append(line)
    billed = invoice_lines_of(session, [i.id for i in latest.values() if i.id is not None])
    views = {}
    for statement in statements:
        invoice = latest.get(statement.id or 0)
        if invoice is None:
            continue
        supplier_terms = terms.get(statement.supplier_id) or SettlementTerms(
            supplier_id=statement.supplier_id
        )
        views[invoice.statement_id] = _view(
            invoice,
            statement,
            tolerance_of(supplier_terms.tolerance_amount, supplier_terms.tolerance_percent),
            lines[invoice.statement_id],
            billed.get(invoice.id or 0, []),
        )
    return views


def price_text(price: Decimal) -> str:
    """A unit price as the pages and the form show it, every place that counts and at least the
    fen: 10.5000 as 10.50, 10.1230 as 10.123, 10.12345678 as is."""
    in_fen = price.quantize(Decimal("0.01"))
    return str(in_fen) if in_fen == price else str(price).rstrip("0")


def invoice_form_lines(
    lines: Sequence[StatementLine], form: dict[str, str], *, prices_include_tax: bool
) -> list[InvoiceFormLine]:
    """The upload form's lines: what was typed (a refused form), else the statement's figures (a line
    a dispute changed at the price that bills its agreed amount)."""
    form_lines = []
    for line in goods_lines(lines):
        key = str(line.id)
        price = billing_price(line, prices_include_tax=prices_include_tax)
        form_lines.append(
            InvoiceFormLine(
                line,
                form.get(f"line_quantity_{key}", str(line.quantity)),
                form.get(f"line_unit_price_{key}", price_text(price)),
                form.get(f"line_error_{key}", ""),
            )
        )
    return form_lines


def invoice_context(
    session: Session,
    user: Principal,
    statement: Statement,
    lines: Sequence[StatementLine] = (),
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    may_upload = may_upload_invoice(user, statement)
    return {
        "invoices": invoice_views(session, statement),
        "may_upload_invoice": may_upload,
        "invoice_form_lines": invoice_form_lines(
            lines, form or {}, prices_include_tax=statement.prices_include_tax
        )
        if may_upload
        else [],
        "match_labels": MATCH_LABELS,
        "figure_labels": FIGURE_LABELS,
    }
