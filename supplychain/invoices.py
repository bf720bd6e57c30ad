"""Supplier invoices (发票) for confirmed statements: storing the file, and the writes of the
invoice steps of StatementWorkflow (issue 12 item 3). Each write is in the caller's transaction,
with its timeline event and whom it tells, and safe to repeat.

- **The file** is checked by content like a certificate (a PDF, PNG or JPEG by its first bytes, a
  PDF with its cross-reference structure, an image that decodes: `supplychain.certificates`) and
  stored under a random name in `UPLOAD_DIR/invoices`, owner-only, outside the web root. The route
  stores it before the Update and removes it again when the Update refuses.
- **The invoice row** is written with its match in one transaction (`record_invoice`): an invoice
  never exists without its outcome. A retry finds the row of the same upload (the same stored
  file); another upload with a number already used by the supplier hits
  `uq_supplier_invoice_number` and is refused (`DuplicateInvoice`), however two uploads race.
- **The invoice's lines** (what it bills per goods line of the statement: quantity, unit price,
  amount) are written with the invoice row, in the same transaction, when the upload gives them.
- **The match** compares the statement's totals with the invoice's three figures, and its goods
  lines with the invoice's lines when there are any, within the supplier's tolerance
  (`supplychain.rules.statement_invoice`): MATCHED sets the statement MATCHED with T (`matched_on`,
  the business date); MISMATCH sets it MATCH_EXCEPTION and tells finance,
  whose approval step decides (`record_invoice_decision`: ACCEPTED, statement MATCHED; REJECTED,
  statement back to CONFIRMED for a corrected invoice).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain import certificates, notifications
from supplychain.db import insert_once
from supplychain.events import record_event
from supplychain.i18n import lazy
from supplychain.models import Organisation, OrgKind, Role, Statement
from supplychain.models.base import utcnow
from supplychain.models.events import Notification
from supplychain.models.settlement import (
    BILLED_PRICE_PLACES,
    InvoiceMatch,
    StatementLine,
    StatementStatus,
    SupplierInvoice,
    SupplierInvoiceLine,
)
from supplychain.notifications import users_with_role
from supplychain.rules.invoice_match import ExpectedLine, InvoiceLine, MatchResult
from supplychain.rules.money import round_money
from supplychain.rules.statement_invoice import BilledLine, match_against_statement, tolerance_of
from supplychain.rules.statement_totals import LineAmounts
from supplychain.settings import settings
from supplychain.statements import (
    DOCUMENT_TYPE,
    Audience,
    recipients,
    require_statement,
    statement_lines,
    statement_link,
    terms_for,
)

# The approval step of a mismatch: its document type (decided by finance, supplychain.approvals).
INVOICE_MATCH = "invoice_match"
# Recorded when no finance user can decide: the mismatch is refused, the supplier asked again.
NO_FINANCE_DECIDER = lazy("Nobody in finance could decide on this invoice")
_STORED_NAME = re.compile(r"^[0-9a-f]{32}$")

MATCHED_SUPPLIER = lazy("Your invoice %(invoice)s matches statement %(number)s; payment is being scheduled.")
MISMATCH_SUPPLIER = lazy("Your invoice %(invoice)s differs from statement %(number)s; finance will decide.")
MISMATCH_FINANCE = lazy(
    "Invoice %(invoice)s differs from statement %(number)s beyond tolerance: please decide."
)
ACCEPTED_SUPPLIER = lazy("Finance accepted your invoice %(invoice)s for statement %(number)s.")
REJECTED_SUPPLIER = lazy(
    "Finance rejected your invoice %(invoice)s for statement %(number)s: %(comment)s. "
    "Please upload a corrected invoice."
)


# --- the file -----------------------------------------------------------------------------------------


def invoice_dir() -> Path:
    assert settings.UPLOAD_DIR is not None  # filled in by Settings
    return settings.UPLOAD_DIR / "invoices"


def stored_path(stored_name: str) -> Path:
    """The file of a stored invoice; only names `receive_invoice_file` generated are accepted."""
    if not _STORED_NAME.match(stored_name):
        raise ValueError("not a stored invoice name")
    return invoice_dir() / stored_name


def receive_invoice_file(stream: IO[bytes], *, max_bytes: int) -> certificates.ReceivedFile:
    """Receive the invoice's PDF or image, checked by content as a certificate is (UploadRefused)."""
    received = certificates.receive_upload(stream, directory=invoice_dir(), max_bytes=max_bytes)
    try:
        if received.content_type == "application/pdf":
            certificates.check_pdf(received.temp_path)
        else:
            certificates.decode_image(received.temp_path, received.content_type).close()
    except BaseException:
        received.discard()
        raise
    return received


def discard_stored(stored_name: str) -> None:
    """Remove a stored file no invoice row points at (the Update refused the upload)."""
    stored_path(stored_name).unlink(missing_ok=True)


# --- reading -------------------------------------------------------------------------------------------


def invoice_by_number(session: Session, supplier_id: int, invoice_number: str) -> SupplierInvoice | None:
    return session.execute(
        select(SupplierInvoice).where(
            col(SupplierInvoice.supplier_id) == supplier_id,
            col(SupplierInvoice.invoice_number) == invoice_number,
        )
    ).scalar_one_or_none()


def invoices_of(session: Session, statement_id: int) -> list[SupplierInvoice]:
    """A statement's invoices, first uploaded first."""
    return list(
        session.execute(
            select(SupplierInvoice)
            .where(col(SupplierInvoice.statement_id) == statement_id)
            .order_by(col(SupplierInvoice.id))
        ).scalars()
    )


def statement_figures(statement: Statement) -> LineAmounts:
    return LineAmounts(statement.net_amount, statement.tax_amount, statement.total_amount)


def invoice_figures(invoice: SupplierInvoice) -> LineAmounts:
    return LineAmounts(invoice.net_amount, invoice.tax_amount, invoice.total_amount)


def goods_lines(lines: Sequence[StatementLine]) -> list[StatementLine]:
    """The statement lines an invoice bills line by line: goods received, a quantity at the PO
    price (returns, concessions and price adjustments count in the invoice's totals only)."""
    return [line for line in lines if line.unit_price is not None and line.quantity > 0]


def expected_lines(lines: Sequence[StatementLine], *, prices_include_tax: bool) -> list[ExpectedLine]:
    """The goods lines as the invoice should bill them: quantity x PO price, or, where a resolved
    dispute changed a line's figure, the agreed amount (including tax where the prices do, as the
    invoice's quantity x price then does)."""
    return [
        ExpectedLine(
            line.line_no,
            line.quantity,
            line.unit_price,
            agreed_amount=agreed_amount(line, prices_include_tax=prices_include_tax),
        )
        for line in goods_lines(lines)
        if line.unit_price is not None
    ]


def agreed_amount(line: StatementLine, *, prices_include_tax: bool) -> Decimal | None:
    """The line's amount as a resolved dispute set it, in the price convention; None if unchanged."""
    if line.net_amount == line.original_net_amount:
        return None
    return line.total_amount if prices_include_tax else line.net_amount


def billing_price(line: StatementLine, *, prices_include_tax: bool) -> Decimal:
    """The unit price an invoice line bills for this statement line: the PO price, or the agreed
    amount over the quantity (to BILLED_PRICE_PLACES, so quantity x price rounds back to it)."""
    assert line.unit_price is not None
    agreed = agreed_amount(line, prices_include_tax=prices_include_tax)
    if agreed is None or line.quantity == 0:
        return line.unit_price
    return (agreed / line.quantity).quantize(Decimal(1).scaleb(-BILLED_PRICE_PLACES), rounding=ROUND_HALF_UP)


def billed_lines(
    lines: Sequence[StatementLine], billed: Sequence[SupplierInvoiceLine]
) -> list[InvoiceLine] | None:
    """The invoice's lines by statement line number; None when the invoice gave no lines."""
    if not billed:
        return None
    line_nos = {line.id: line.line_no for line in lines}
    return [InvoiceLine(line_nos[b.statement_line_id], b.quantity, b.unit_price) for b in billed]


def invoice_lines_of(session: Session, invoice_ids: Sequence[int]) -> dict[int, list[SupplierInvoiceLine]]:
    """The lines of these invoices, by invoice id."""
    by_invoice: dict[int, list[SupplierInvoiceLine]] = {invoice_id: [] for invoice_id in invoice_ids}
    if not invoice_ids:
        return by_invoice
    for line in session.execute(
        select(SupplierInvoiceLine)
        .where(col(SupplierInvoiceLine.invoice_id).in_(invoice_ids))
        .order_by(col(SupplierInvoiceLine.id))
    ).scalars():
        by_invoice[line.invoice_id].append(line)
    return by_invoice


def match_of(
    session: Session,
    statement: Statement,
    invoice: SupplierInvoice,
    lines: Sequence[StatementLine],
    billed: Sequence[SupplierInvoiceLine],
) -> MatchResult:
    """The invoice against the statement with the supplier's tolerance, figure by figure and, when
    the invoice gives lines, line by line."""
    terms = terms_for(session, statement.supplier_id)
    return match_against_statement(
        statement_figures(statement),
        invoice_figures(invoice),
        tolerance_of(terms.tolerance_amount, terms.tolerance_percent),
        expected_lines(lines, prices_include_tax=statement.prices_include_tax),
        billed_lines(lines, billed),
    )


def finance_users(session: Session) -> list[int]:
    hq_ids = session.execute(
        select(col(Organisation.id)).where(col(Organisation.kind) == OrgKind.HQ)
    ).scalars()
    return [uid for org_id in hq_ids for uid in users_with_role(session, Role.FINANCE, org_id)]


# --- the steps -----------------------------------------------------------------------------------------


class DuplicateInvoice(Exception):
    """The supplier has already used this invoice number (another upload stored it)."""


@dataclass
class InvoiceSubmission:
    number: str  # the statement's
    idempotency_key: str  # `<workflow id>:invoice_received:<n>`; a notice's `<key>:<audience>`
    actor_user_id: int
    invoice_number: str
    invoice_date: date
    net_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    stored_name: str
    content_type: str
    size_bytes: int
    matched_on: date  # T if it matches: the business date of the step
    occurred_at: datetime | None = None
    lines: list[BilledLine] = field(default_factory=list)  # empty: figures only


@dataclass
class FigureDifference:
    figure: str  # "amount" (excluding tax), "tax", "total" (including tax)
    expected: Decimal
    invoiced: Decimal
    difference: Decimal
    allowed: Decimal
    within: bool


@dataclass
class LineDifferenceRow:
    line_no: int  # the statement line's
    expected_amount: Decimal
    billed_amount: Decimal
    difference: Decimal  # billed - expected
    within: bool


@dataclass
class InvoiceRecorded:
    invoice_id: int
    match: InvoiceMatch
    figures: list[FigureDifference] = field(default_factory=list)
    lines: list[LineDifferenceRow] = field(default_factory=list)  # the lines that differ


def _figure_rows(result: MatchResult) -> list[FigureDifference]:
    return [
        FigureDifference(f.figure.value, f.expected, f.invoiced, f.difference, f.allowed, f.within)
        for f in result.figures
    ]


def _line_rows(result: MatchResult) -> list[LineDifferenceRow]:
    return [
        LineDifferenceRow(d.line_no, d.expected_amount, d.billed_amount, d.difference, d.within)
        for d in result.line_differences
    ]


def _invoice_line_rows(
    lines: Sequence[StatementLine], billed: Sequence[BilledLine]
) -> list[SupplierInvoiceLine]:
    """The invoice's lines as rows (invoice id set on insert); only this statement's lines, which
    the route offered (the workflow's check refuses repeats)."""
    ids = {line.id for line in lines}
    return [
        SupplierInvoiceLine(
            invoice_id=0,
            statement_line_id=b.statement_line_id,
            quantity=b.quantity,
            unit_price=b.unit_price,
            net_amount=round_money(b.unit_price * b.quantity),
        )
        for b in billed
        if b.statement_line_id in ids
    ]


def _notify(
    session: Session,
    statement: Statement,
    user_ids: list[int],
    message: str,
    key: str,
    params: dict[str, Any],
) -> list[Notification]:
    return notifications.notify(
        session,
        user_ids=user_ids,
        message=message,
        params={"number": statement.number, **params},
        idempotency_key=key,
        link=statement_link(statement.number),
        document_type=DOCUMENT_TYPE,
        document_id=statement.number,
    )


def record_invoice(session: Session, step: InvoiceSubmission) -> tuple[InvoiceRecorded, list[Notification]]:
    """Write the invoice with its match, the statement's new status (MATCHED with T, or
    MATCH_EXCEPTION), the timeline event and the notices. Raises DuplicateInvoice when the
    supplier's number is taken by another upload; a retry of this one finds its row."""
    statement = require_statement(session, step.number)
    at = step.occurred_at or utcnow()
    number = step.invoice_number.strip()
    invoice = SupplierInvoice(
        statement_id=statement.id,  # type: ignore[arg-type]
        supplier_id=statement.supplier_id,
        invoice_number=number,
        invoice_date=step.invoice_date,
        net_amount=step.net_amount,
        tax_amount=step.tax_amount,
        total_amount=step.total_amount,
        stored_name=step.stored_name,
        content_type=step.content_type,
        size_bytes=step.size_bytes,
        match=InvoiceMatch.MISMATCH,
        uploaded_by_user_id=step.actor_user_id,
        uploaded_at=at,
    )
    assert statement.id is not None
    lines = statement_lines(session, statement.id)
    billed = _invoice_line_rows(lines, step.lines)
    result = match_of(session, statement, invoice, lines, billed)
    invoice.match = InvoiceMatch.MATCHED if result.matched else InvoiceMatch.MISMATCH
    row, inserted = insert_once(
        session, invoice, lambda: invoice_by_number(session, statement.supplier_id, number)
    )
    if row.stored_name != step.stored_name or row.statement_id != statement.id:
        raise DuplicateInvoice(number)
    assert row.id is not None
    if inserted:  # else a retry found the row its first attempt committed with its lines
        for line in billed:
            line.invoice_id = row.id
            session.add(line)
        session.flush()
    status = StatementStatus.MATCHED if row.match is InvoiceMatch.MATCHED else StatementStatus.MATCH_EXCEPTION
    before = {"status": statement.status} if statement.status is not status else None
    if statement.status is StatementStatus.CONFIRMED:  # not yet moved by an earlier attempt
        statement.status = status
        if status is StatementStatus.MATCHED:
            statement.matched_on = step.matched_on
        session.add(statement)
        session.flush()
    figures = _figure_rows(result)
    differing_lines = _line_rows(result)
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=statement.number,
        action="invoice_received",
        idempotency_key=step.idempotency_key,
        actor_user_id=step.actor_user_id,
        before=before,
        after={
            "status": status,
            "invoice_number": number,
            "invoice_date": step.invoice_date,
            "match": row.match,
            **{f"{f.figure}_difference": f.difference for f in figures if f.difference},
            **({"lines_differing": [d.line_no for d in differing_lines]} if differing_lines else {}),
        },
        occurred_at=at,
    )
    params = {"invoice": number}
    supplier_message = MATCHED_SUPPLIER if row.match is InvoiceMatch.MATCHED else MISMATCH_SUPPLIER
    supplier_users = recipients(session, statement, Audience.SUPPLIER)
    told = _notify(
        session, statement, supplier_users, supplier_message, f"{step.idempotency_key}:supplier", params
    )
    if row.match is InvoiceMatch.MISMATCH:
        told += _notify(
            session,
            statement,
            finance_users(session),
            MISMATCH_FINANCE,
            f"{step.idempotency_key}:finance",
            params,
        )
    return InvoiceRecorded(row.id, row.match, figures, differing_lines), told


@dataclass
class InvoiceDecision:
    number: str  # the statement's
    invoice_id: int
    idempotency_key: str  # `<workflow id>:invoice_decided:<n>`
    approved: bool
    decided_by_user_id: int | None
    comment: str
    matched_on: date  # T if accepted: the business date of the decision
    occurred_at: datetime | None = None


def record_invoice_decision(session: Session, step: InvoiceDecision) -> list[Notification]:
    """Finance's decision on a mismatch: ACCEPTED (statement MATCHED with T) or REJECTED (statement
    back to CONFIRMED, the supplier asked for a corrected invoice). Safe to repeat."""
    statement = require_statement(session, step.number)
    invoice = session.get(SupplierInvoice, step.invoice_id)
    assert invoice is not None and invoice.statement_id == statement.id
    at = step.occurred_at or utcnow()
    match = InvoiceMatch.ACCEPTED if step.approved else InvoiceMatch.REJECTED
    status = StatementStatus.MATCHED if step.approved else StatementStatus.CONFIRMED
    if invoice.match is InvoiceMatch.MISMATCH:
        invoice.match = match
        session.add(invoice)
    before = None
    if statement.status is StatementStatus.MATCH_EXCEPTION:
        before = {"status": statement.status}
        statement.status = status
        if step.approved:
            statement.matched_on = step.matched_on
        session.add(statement)
    session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=statement.number,
        action="invoice_accepted" if step.approved else "invoice_rejected",
        idempotency_key=step.idempotency_key,
        actor_user_id=step.decided_by_user_id,
        before=before,
        after={"status": status, "invoice_number": invoice.invoice_number, "match": match},
        note=step.comment,
        occurred_at=at,
    )
    message = ACCEPTED_SUPPLIER if step.approved else REJECTED_SUPPLIER
    return _notify(
        session,
        statement,
        recipients(session, statement, Audience.SUPPLIER),
        message,
        f"{step.idempotency_key}:supplier",
        {"invoice": invoice.invoice_number, "comment": step.comment},
    )


@dataclass
class SettlementHandover:
    """What the T+7 settlement needs from a MATCHED statement (workflows/settlement.py)."""

    statement_id: int
    number: str
    supplier_id: int
    total_amount: Decimal  # including VAT: what is paid
    matched_on: date  # T
    idempotency_key: str = ""  # `<workflow id>:settlement_handover`
    # Above it, finance approves the payment (PAYMENT_APPROVAL_LIMIT, read here: never in workflow code).
    approval_limit: Decimal = Decimal("0.00")


def settlement_handover(session: Session, number: str, idempotency_key: str) -> SettlementHandover:
    """The MATCHED statement's handover to settlement, and its timeline event (once)."""
    statement = require_statement(session, number)
    assert statement.id is not None and statement.matched_on is not None
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=statement.number,
        action="settlement_handover",
        idempotency_key=idempotency_key,
        after={"matched_on": statement.matched_on, "total_amount": statement.total_amount},
    )
    return SettlementHandover(
        statement_id=statement.id,
        number=statement.number,
        supplier_id=statement.supplier_id,
        total_amount=statement.total_amount,
        matched_on=statement.matched_on,
        idempotency_key=idempotency_key,
        approval_limit=settings.PAYMENT_APPROVAL_LIMIT,
    )
