"""What the statement page shows of its invoices (issue 12 item 3), shared by the statement page
(web/routes/statements.py) and the invoice routes (web/routes/statement_invoices.py): the invoices
uploaded so far, the figures of the latest one against the statement (each figure's difference and
the tolerance), and whether this user may upload one now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.i18n import lazy
from supplychain.invoices import invoice_figures, invoices_of, statement_figures
from supplychain.models import Role, Statement
from supplychain.models.settlement import InvoiceMatch, SettlementTerms, StatementStatus, SupplierInvoice
from supplychain.principal import Principal
from supplychain.rules.invoice_match import Figure, FigureMatch
from supplychain.rules.statement_invoice import match_against_statement, tolerance_of
from supplychain.statements import terms_for

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
class InvoiceView:
    invoice: SupplierInvoice
    figures: list[FigureMatch]  # amount, tax, total against the statement


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
    expected = statement_figures(statement)
    return [
        InvoiceView(
            invoice, list(match_against_statement(expected, invoice_figures(invoice), tolerance).figures)
        )
        for invoice in reversed(invoices_of(session, statement.id))
    ]


def latest_invoice_views(session: Session, statements: Sequence[Statement]) -> dict[int, InvoiceView]:
    """Each statement's latest invoice against it, by statement id, in two queries for the page."""
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
    views = {}
    for statement in statements:
        invoice = latest.get(statement.id or 0)
        if invoice is None:
            continue
        supplier_terms = terms.get(statement.supplier_id) or SettlementTerms(
            supplier_id=statement.supplier_id
        )
        result = match_against_statement(
            statement_figures(statement),
            invoice_figures(invoice),
            tolerance_of(supplier_terms.tolerance_amount, supplier_terms.tolerance_percent),
        )
        views[invoice.statement_id] = InvoiceView(invoice, list(result.figures))
    return views


def invoice_context(session: Session, user: Principal, statement: Statement) -> dict[str, Any]:
    return {
        "invoices": invoice_views(session, statement),
        "may_upload_invoice": may_upload_invoice(user, statement),
        "match_labels": MATCH_LABELS,
        "figure_labels": FIGURE_LABELS,
    }
