"""What the statement page shows of its invoices (issue 12 item 3), shared by the statement page
(web/routes/statements.py) and the invoice routes (web/routes/statement_invoices.py): the invoices
uploaded so far, the figures of the latest one against the statement (each figure's difference and
the tolerance), and whether this user may upload one now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from supplychain.i18n import lazy
from supplychain.invoices import invoices_of, match_of
from supplychain.models import Role, Statement
from supplychain.models.settlement import InvoiceMatch, StatementStatus, SupplierInvoice
from supplychain.principal import Principal
from supplychain.rules.invoice_match import Figure, FigureMatch

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
    return [
        InvoiceView(invoice, list(match_of(session, statement, invoice).figures))
        for invoice in reversed(invoices_of(session, statement.id))
    ]


def invoice_context(session: Session, user: Principal, statement: Statement) -> dict[str, Any]:
    return {
        "invoices": invoice_views(session, statement),
        "may_upload_invoice": may_upload_invoice(user, statement),
        "match_labels": MATCH_LABELS,
        "figure_labels": FIGURE_LABELS,
    }
