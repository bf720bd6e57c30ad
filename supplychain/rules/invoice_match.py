"""Three-way match: what we owe (PO price x accepted quantity) against the supplier's invoice (DESIGN 4.4).

The statement's totals (`statement_totals.StatementTotals.grand`, from the PO price and the
quantity accepted per receipt) are compared figure by figure with the invoice's amount excluding
tax, tax and total; the invoice may also give lines (quantity and unit price per statement line),
compared with the statement's lines. Whatever does not match goes to the approval queue: this rule
only says what differs and whether it is within the supplier's tolerance.

Tolerance (per supplier): an absolute limit in CNY and a relative one (a fraction of the expected
figure: 0.005 for 0.5 %), each optional. A difference is within tolerance when its size is within
*every* limit that is set, that is |difference| <= min(absolute, relative x |expected|): the
stricter wins, as in the usual ERP tolerance keys. So the relative limit keeps a small statement
tight and the absolute one caps a large statement's allowance; a limit of 0 means an exact match,
and with no limit set only an exact match passes. The relative limit is not rounded: compared
exactly, a difference in fen passes when it is within the limit rounded down to the fen (`allowed`).

A difference is invoiced - expected: positive when the supplier bills more. Billing less is a
difference too (a missing line, a wrong quantity) and is judged by its size, the same both ways.
Negative expected figures (a statement that leaves the supplier owing us) use their size.

Line by line: a line is listed when the billed quantity differs from the accepted quantity, or the
billed amount round(billed quantity x billed unit price) differs from round(accepted quantity x PO
price), or from the amount agreed for the line when a resolved dispute changed it; a statement line
the invoice leaves out, or an invoice line for no statement line, is listed with the missing side as
None. Each listed line is judged with the same tolerance on its expected
amount. Invoice unit prices are taken as billed, whatever their places (VAT invoices print many).

The invoice's own figures are checked too: each in fen, none negative, and amount + tax == total.
`MatchResult.matched` holds when those checks pass and every figure and listed line is within
tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import TypeVar

from supplychain.rules.money import CENT, MONEY_PLACES, has_places, round_money
from supplychain.rules.statement_totals import LineAmounts

ZERO = Decimal("0.00")
RELATIVE_PLACES = 6  # 0.000125 = 0.0125 %


@dataclass(frozen=True)
class Tolerance:
    """A supplier's tolerance; None means that kind of limit is not set."""

    absolute: Decimal | None = None  # CNY, >= 0, in fen
    relative: Decimal | None = None  # a fraction of the expected figure, 0..1 (0.005 = 0.5 %)

    def __post_init__(self) -> None:
        if self.absolute is not None and not (
            self.absolute.is_finite() and self.absolute >= 0 and has_places(self.absolute, MONEY_PLACES)
        ):
            raise ValueError(f"absolute tolerance {self.absolute} is not an amount in fen >= 0")
        if self.relative is not None and not (
            self.relative.is_finite()
            and 0 <= self.relative <= 1
            and has_places(self.relative, RELATIVE_PLACES)
        ):
            raise ValueError(
                f"relative tolerance {self.relative} is not a fraction in [0, 1] with at most "
                f"{RELATIVE_PLACES} places"
            )

    def limit(self, expected: Decimal) -> Decimal:
        """The largest difference allowed against `expected`, exact (0 when no limit is set)."""
        limits = []
        if self.absolute is not None:
            limits.append(self.absolute)
        if self.relative is not None:
            limits.append(self.relative * abs(expected))
        return min(limits, default=Decimal(0))

    def allows(self, difference: Decimal, expected: Decimal) -> bool:
        return abs(difference) <= self.limit(expected)


class Figure(StrEnum):
    AMOUNT = "amount"  # excluding tax
    TAX = "tax"
    TOTAL = "total"  # including tax


class InvoiceProblem(StrEnum):
    NOT_IN_FEN = "not_in_fen"  # a figure with more than 2 decimal places
    NEGATIVE = "negative"
    DOES_NOT_ADD_UP = "does_not_add_up"  # amount + tax != total


@dataclass(frozen=True)
class FigureMatch:
    figure: Figure
    expected: Decimal
    invoiced: Decimal
    difference: Decimal  # invoiced - expected
    allowed: Decimal  # the tolerance against `expected`, rounded down to the fen
    within: bool


@dataclass(frozen=True)
class ExpectedLine:
    """A statement line as we owe it: the accepted quantity at the PO price, or the amount agreed
    when a resolved dispute changed the line (in the statement's price convention)."""

    line_no: int
    quantity: int | Decimal
    unit_price: Decimal
    agreed_amount: Decimal | None = None


@dataclass(frozen=True)
class InvoiceLine:
    """A line of the invoice, against the statement line it bills."""

    line_no: int
    quantity: int | Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class LineDifference:
    line_no: int
    expected_quantity: int | Decimal | None  # None: no such statement line
    expected_unit_price: Decimal | None
    expected_amount: Decimal  # 0.00 when there is no such statement line
    billed_quantity: int | Decimal | None  # None: the invoice leaves the line out
    billed_unit_price: Decimal | None
    billed_amount: Decimal  # 0.00 when the invoice leaves the line out
    difference: Decimal  # billed - expected
    within: bool
    expected_agreed: bool = False  # the expected amount was agreed in a dispute, not quantity x price


@dataclass(frozen=True)
class MatchResult:
    figures: tuple[FigureMatch, ...]  # amount, tax, total, in that order
    line_differences: tuple[LineDifference, ...]  # by line number
    invoice_problems: tuple[InvoiceProblem, ...]

    @property
    def matched(self) -> bool:
        return (
            not self.invoice_problems
            and all(figure.within for figure in self.figures)
            and all(line.within for line in self.line_differences)
        )


def invoice_problems(invoiced: LineAmounts) -> tuple[InvoiceProblem, ...]:
    """What is wrong with the invoice's own figures, in the order of `InvoiceProblem`."""
    figures = (invoiced.amount, invoiced.tax, invoiced.total)
    for figure in figures:
        if not figure.is_finite():
            raise ValueError(f"invoice figure {figure} is not a finite number")
    problems = []
    if not all(has_places(figure, MONEY_PLACES) for figure in figures):
        problems.append(InvoiceProblem.NOT_IN_FEN)
    if any(figure < 0 for figure in figures):
        problems.append(InvoiceProblem.NEGATIVE)
    if invoiced.amount + invoiced.tax != invoiced.total:
        problems.append(InvoiceProblem.DOES_NOT_ADD_UP)
    return tuple(problems)


def match_invoice(
    expected: LineAmounts,
    invoiced: LineAmounts,
    tolerance: Tolerance,
    expected_lines: Sequence[ExpectedLine] = (),
    invoice_lines: Sequence[InvoiceLine] | None = None,
) -> MatchResult:
    """Compare the statement's totals (and lines, when the invoice gives lines) with the invoice."""
    problems = invoice_problems(invoiced)
    figures = tuple(
        _figure_match(figure, getattr(expected, figure.value), getattr(invoiced, figure.value), tolerance)
        for figure in Figure
    )
    lines = () if invoice_lines is None else _line_differences(expected_lines, invoice_lines, tolerance)
    return MatchResult(figures, lines, problems)


def _figure_match(figure: Figure, expected: Decimal, invoiced: Decimal, tolerance: Tolerance) -> FigureMatch:
    difference = invoiced - expected
    return FigureMatch(
        figure=figure,
        expected=expected,
        invoiced=invoiced,
        difference=difference,
        allowed=tolerance.limit(expected).quantize(CENT, rounding=ROUND_DOWN),
        within=tolerance.allows(difference, expected),
    )


def _line_differences(
    expected_lines: Sequence[ExpectedLine], invoice_lines: Sequence[InvoiceLine], tolerance: Tolerance
) -> tuple[LineDifference, ...]:
    ours = _by_line_no(expected_lines, "statement")
    billed = _by_line_no(invoice_lines, "invoice")
    differences = []
    for line_no in sorted(ours.keys() | billed.keys()):
        our_line, their_line = ours.get(line_no), billed.get(line_no)
        expected_amount = ZERO if our_line is None else _expected_amount(our_line)
        billed_amount = (
            ZERO if their_line is None else round_money(their_line.unit_price * their_line.quantity)
        )
        same_quantity = (
            our_line is not None and their_line is not None and our_line.quantity == their_line.quantity
        )
        if same_quantity and billed_amount == expected_amount:
            continue
        difference = billed_amount - expected_amount
        differences.append(
            LineDifference(
                line_no=line_no,
                expected_quantity=None if our_line is None else our_line.quantity,
                expected_unit_price=None if our_line is None else our_line.unit_price,
                expected_amount=expected_amount,
                billed_quantity=None if their_line is None else their_line.quantity,
                billed_unit_price=None if their_line is None else their_line.unit_price,
                billed_amount=billed_amount,
                difference=difference,
                within=tolerance.allows(difference, expected_amount),
                expected_agreed=our_line is not None and our_line.agreed_amount is not None,
            )
        )
    return tuple(differences)


def _expected_amount(line: ExpectedLine) -> Decimal:
    if line.agreed_amount is not None:
        return line.agreed_amount
    return round_money(line.unit_price * line.quantity)


L = TypeVar("L", ExpectedLine, InvoiceLine)


def _by_line_no(lines: Sequence[L], source: str) -> dict[int, L]:
    by_no: dict[int, L] = {}
    for line in lines:
        if line.line_no in by_no:
            raise ValueError(f"line {line.line_no} appears twice on the {source}")
        for value in (line.quantity, line.unit_price, getattr(line, "agreed_amount", None)):
            if isinstance(value, Decimal) and not value.is_finite():
                raise ValueError(f"line {line.line_no} of the {source}: {value} is not a finite number")
        by_no[line.line_no] = line
    return by_no
