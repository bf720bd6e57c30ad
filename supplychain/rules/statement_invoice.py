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
- **Lines.** The invoice may give lines: per goods line of the statement (a receipt: a quantity at
  the PO price), the quantity and unit price it bills. Each is compared with the statement line
  (`match_invoice`'s lines): a line whose billed quantity or amount differs is listed, and judged
  with the tolerance on its own expected amount, so a line off beyond tolerance is a mismatch even
  when the invoice's totals are within it, and a short line and a long one that offset are both
  listed and judged each on its own (the quantities are what was received, line by line). An
  invoice without lines (the Update's default) is compared by its figures only.
- **Tolerance.** The supplier's terms give an absolute amount (CNY) and a percentage; a 0 counts as
  not set (the admin page's default of 0 % means "no percentage limit"), and with neither set only
  an exact match passes. Within the limits that are set, the stricter wins (`Tolerance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from supplychain.i18n import lazy
from supplychain.models.settlement import BILLED_PRICE_PLACES, InvoiceMatch, StatementStatus
from supplychain.rules.invoice_match import (
    ExpectedLine,
    FigureMatch,
    InvoiceLine,
    InvoiceProblem,
    MatchResult,
    Tolerance,
    invoice_problems,
    match_invoice,
)
from supplychain.rules.money import has_places
from supplychain.rules.refusal import Refused
from supplychain.rules.statement import StatementState
from supplychain.rules.statement_totals import LineAmounts

INVOICE_NUMBER_MAX_LENGTH: Final = 32
# A figure nobody means on one invoice: refuses typos before anything is recorded.
MAX_INVOICE_AMOUNT: Final = Decimal("9999999999.99")
MAX_BILLED_QUANTITY: Final = 999_999_999
MAX_BILLED_UNIT_PRICE: Final = Decimal("99999999")
# The approval request's summary column (ApprovalRequest.summary).
SUMMARY_MAX_LENGTH: Final = 300

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

LINE_QUANTITY_BAD = lazy("Enter a whole quantity of 0 or more.")
LINE_PRICE_BAD = lazy("Enter a unit price of 0 or more with at most %(places)s decimals.")
LINE_NOT_ON_STATEMENT = lazy("The invoice lines do not match this statement's lines; reload the page.")

_PROBLEM_MESSAGES = {
    InvoiceProblem.NOT_IN_FEN: FIGURE_BAD,
    InvoiceProblem.NEGATIVE: FIGURE_NEGATIVE,
    InvoiceProblem.DOES_NOT_ADD_UP: DOES_NOT_ADD_UP,
}


@dataclass
class BilledLine:
    """What the invoice bills for one goods line of the statement."""

    statement_line_id: int
    quantity: int
    unit_price: Decimal  # as printed, up to BILLED_PRICE_PLACES places


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
    # Per goods line of the statement; empty: the invoice is compared by its figures only.
    lines: list[BilledLine] = field(default_factory=list)


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


def billed_quantity_problem(quantity: int) -> Refused | None:
    if isinstance(quantity, bool) or not 0 <= quantity <= MAX_BILLED_QUANTITY:
        return Refused(LINE_QUANTITY_BAD)
    return None


def billed_price_problem(unit_price: Decimal) -> Refused | None:
    if not (
        unit_price.is_finite()
        and 0 <= unit_price <= MAX_BILLED_UNIT_PRICE
        and has_places(unit_price, BILLED_PRICE_PLACES)
    ):
        return Refused(LINE_PRICE_BAD, places=BILLED_PRICE_PLACES)
    return None


def billed_lines_problem(lines: Sequence[BilledLine]) -> Refused | None:
    """The first thing wrong with the invoice's lines (each statement line billed once)."""
    if len({line.statement_line_id for line in lines}) != len(lines):
        return Refused(LINE_NOT_ON_STATEMENT)
    for line in lines:
        problem = billed_quantity_problem(line.quantity) or billed_price_problem(line.unit_price)
        if problem is not None:
            return problem
    return None


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
    problem = billed_lines_problem(input.lines)
    if problem is not None:
        raise problem


def match_against_statement(
    statement_totals: LineAmounts,
    invoiced: LineAmounts,
    tolerance: Tolerance,
    expected_lines: Sequence[ExpectedLine] = (),
    invoice_lines: Sequence[InvoiceLine] | None = None,
) -> MatchResult:
    """The three-way match of this step: the statement's totals (PO price x accepted quantity, as
    collected from the receipts and debit notes and resolved in disputes) against the invoice, and
    its goods lines against the invoice's lines when it gives lines."""
    return match_invoice(statement_totals, invoiced, tolerance, expected_lines, invoice_lines)


def differences(result: MatchResult) -> list[FigureMatch]:
    """The figures that are off (within tolerance or not), in the order amount, tax, total."""
    return [figure for figure in result.figures if figure.difference != 0]


def summary_of(
    number: str,
    invoice_number: str,
    differences: Sequence[Decimal],
    line_differences: Sequence[tuple[int, Decimal]] = (),
) -> str:
    """One line for the approval queue, figures only (no words to translate): the differences of
    amount / tax / total, then of each differing line by its number, e.g.
    `ST-2026-000001 · 044001 · +1.02 / +0.00 / +1.02 · #1 -10.00, #2 +11.02`. Lines that do not
    fit the column are counted instead (`… +3`); the pages lay them all out."""
    figures = " / ".join(f"{difference:+}" for difference in differences)
    summary = " · ".join([number, invoice_number, figures])
    if not line_differences:
        return summary
    listed = [f"#{line_no} {difference:+}" for line_no, difference in line_differences]
    for shown in range(len(listed), -1, -1):
        rest = len(listed) - shown
        text = " · ".join([summary, ", ".join(listed[:shown] + ([f"… +{rest}"] if rest else []))])
        if len(text) <= SUMMARY_MAX_LENGTH:
            return text
    return summary[:SUMMARY_MAX_LENGTH]
