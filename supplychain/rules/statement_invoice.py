"""The supplier's invoice for a confirmed statement (DESIGN 4.4, issue 12 item 3): what may be
submitted when, the supplier's tolerance, and what is compared. Pure: no I/O.

- **When.** An invoice answers a CONFIRMED statement (waiting for its invoice). While a mismatch
  waits for finance's decision (MATCH_EXCEPTION) nothing else is taken; once matched, nothing more.
  A rejected mismatch puts the statement back to CONFIRMED: the supplier uploads a corrected
  invoice, under a new number (a number is used once per supplier: the workflow refuses one it has
  seen, the route one already stored, `uq_supplier_invoice_number` one that races in).
- **What is compared.** All three figures of the invoice, amount excluding tax, tax and total
  including tax, against the statement's totals (`match_invoice`): a VAT invoice states all three
  and each is what finance books, so a right total with the tax split wrongly is a mismatch too.
- **Tolerance.** The supplier's terms give an absolute amount (CNY) and a percentage; a 0 counts as
  not set (the admin page's default of 0 % means "no percentage limit"), and with neither set only
  an exact match passes. Within the limits that are set, the stricter wins (`Tolerance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from supplychain.i18n import lazy
from supplychain.models.settlement import InvoiceMatch, StatementStatus
from supplychain.rules.invoice_match import (
    FigureMatch,
    InvoiceProblem,
    MatchResult,
    Tolerance,
    invoice_problems,
    match_invoice,
)
from supplychain.rules.refusal import Refused
from supplychain.rules.statement import StatementState
from supplychain.rules.statement_totals import LineAmounts

INVOICE_NUMBER_MAX_LENGTH: Final = 32
# A figure nobody means on one invoice: refuses typos before anything is recorded.
MAX_INVOICE_AMOUNT: Final = Decimal("9999999999.99")

NOT_READY = lazy("This statement is still being prepared. Please try again in a moment.")
NOT_CONFIRMED = lazy("Confirm the statement before you upload its invoice.")
AWAITING_DECISION = lazy("The invoice of this statement differs from it and waits for finance's decision.")
ALREADY_MATCHED = lazy("This statement's invoice is already matched; nothing more can be uploaded.")
NUMBER_REQUIRED = lazy("Enter the invoice number.")
NUMBER_TOO_LONG = lazy("Enter an invoice number of at most %(max)s characters.")
DUPLICATE_NUMBER = lazy(
    "You have already uploaded an invoice numbered %(number)s; a corrected invoice has a new number."
)
FIGURE_BAD = lazy("Enter each amount with at most 2 decimals, up to %(max)s.")
FIGURE_NEGATIVE = lazy("Amounts on an invoice cannot be negative.")
DOES_NOT_ADD_UP = lazy("The amount excluding tax plus the tax must equal the total including tax.")

_PROBLEM_MESSAGES = {
    InvoiceProblem.NOT_IN_FEN: FIGURE_BAD,
    InvoiceProblem.NEGATIVE: FIGURE_NEGATIVE,
    InvoiceProblem.DOES_NOT_ADD_UP: DOES_NOT_ADD_UP,
}


@dataclass
class SubmitInvoiceInput:
    actor_user_id: int
    invoice_number: str
    invoice_date: date
    net_amount: Decimal  # excluding tax
    tax_amount: Decimal
    total_amount: Decimal  # including tax
    # The file, already checked by content and stored by the route (supplychain.invoices).
    stored_name: str
    content_type: str
    size_bytes: int


@dataclass
class SubmitInvoiceResult:
    match: InvoiceMatch  # MATCHED, or MISMATCH (finance decides)
    status: StatementStatus


def tolerance_of(amount: Decimal, percent_fraction: Decimal) -> Tolerance:
    """The supplier's tolerance from its terms (`tolerance_percent` is stored as a fraction)."""
    return Tolerance(
        absolute=amount if amount > 0 else None,
        relative=percent_fraction.normalize() if percent_fraction > 0 else None,
    )


def invoice_figure_problem(figures: LineAmounts) -> Refused | None:
    """The first thing wrong with the invoice's own figures, as a refusal; None when they are fine."""
    values = (figures.amount, figures.tax, figures.total)
    if not all(value.is_finite() for value in values) or any(abs(v) > MAX_INVOICE_AMOUNT for v in values):
        return Refused(FIGURE_BAD, max=str(MAX_INVOICE_AMOUNT))
    problems = invoice_problems(figures)
    if not problems:
        return None
    message = _PROBLEM_MESSAGES[problems[0]]
    return Refused(message, max=str(MAX_INVOICE_AMOUNT)) if message is FIGURE_BAD else Refused(message)


def check_submit_invoice(state: StatementState, input: SubmitInvoiceInput) -> None:
    if state.no_source_lines or not state.recorded:
        raise Refused(NOT_READY)
    if state.status is StatementStatus.MATCH_EXCEPTION:
        raise Refused(AWAITING_DECISION)
    if state.status in (StatementStatus.MATCHED, StatementStatus.PAID):
        raise Refused(ALREADY_MATCHED)
    if state.status is not StatementStatus.CONFIRMED:
        raise Refused(NOT_CONFIRMED)
    number = input.invoice_number.strip()
    if not number:
        raise Refused(NUMBER_REQUIRED)
    if len(number) > INVOICE_NUMBER_MAX_LENGTH:
        raise Refused(NUMBER_TOO_LONG, max=INVOICE_NUMBER_MAX_LENGTH)
    if number in state.invoice_numbers:
        raise Refused(DUPLICATE_NUMBER, number=number)
    problem = invoice_figure_problem(LineAmounts(input.net_amount, input.tax_amount, input.total_amount))
    if problem is not None:
        raise problem


def match_against_statement(
    statement_totals: LineAmounts, invoiced: LineAmounts, tolerance: Tolerance
) -> MatchResult:
    """The three-way match of this step: the statement's totals (PO price x accepted quantity, as
    collected from the receipts and debit notes and resolved in disputes) against the invoice."""
    return match_invoice(statement_totals, invoiced, tolerance)


def differences(result: MatchResult) -> list[FigureMatch]:
    """The figures that are off (within tolerance or not), in the order amount, tax, total."""
    return [figure for figure in result.figures if figure.difference != 0]


def summary_of(number: str, invoice_number: str, differences: Sequence[Decimal]) -> str:
    """One line for the approval queue, figures only (no words to translate): the differences of
    amount / tax / total, e.g. `ST-2026-000001 · 044001 · +1.02 / +0.00 / +1.02`."""
    figures = " / ".join(f"{difference:+}" for difference in differences)
    return " · ".join([number, invoice_number, figures])
