"""Supplier statements (对账单, DESIGN 4.4): periods, line amounts, totals per VAT rate, and what the
supplier and the buyer may do with a statement. Pure functions, used by the workflow, its
activities and the pages alike.

- **Periods.** A statement covers one complete period of the supplier's cycle before the day it is
  made: monthly (the previous calendar month), semi-monthly (1st-15th, 16th-end of month) or weekly
  (Monday-Sunday).
- **Amounts.** A statement line's amounts come from `statement_line_amounts` (quantity x net unit
  price, VAT on the rounded net, both half-up per line): the one place the lead can point at the
  shared VAT rule. Totals per rate and overall are sums of the lines' rounded figures, exact.
- **Confirmation and disputes.** The supplier confirms a statement waiting for confirmation with
  no dispute open, once. It may dispute a line of a statement not yet confirmed, one open dispute
  per line at a time (a resolved one may be disputed again: a new round), with a reason and its own
  net figure (its size: the sign stays the line's, a deduction stays a deduction). The buyer
  resolves an open dispute by accepting the supplier's figure, keeping ours with a comment, or
  adjusting to a figure of its own.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from supplychain.i18n import lazy
from supplychain.models.settlement import DisputeResolution, StatementCycle, StatementStatus
from supplychain.rules.money import (
    MONEY_PLACES,
    PRICE_PLACES,
    has_places,
    line_tax,
    round_half_up,
    round_money,
)
from supplychain.rules.refusal import Refused
from supplychain.rules.statement_totals import PriceBasis, line_amounts
from supplychain.rules.statement_totals import StatementLine as PricedLine

REASON_MAX_LENGTH: Final = 1000
COMMENT_MAX_LENGTH: Final = 1000
# A figure nobody means on one line (10 billion CNY): refuses typos before anything is recorded.
MAX_LINE_AMOUNT: Final = Decimal("9999999999.99")

# --- periods -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date


def last_complete_period(cycle: StatementCycle, today: date) -> Period:
    """The latest period of `cycle` that ended before `today` (the day the statement is made)."""
    if cycle is StatementCycle.WEEKLY:
        this_monday = today - timedelta(days=today.weekday())
        return Period(this_monday - timedelta(days=7), this_monday - timedelta(days=1))
    if cycle is StatementCycle.SEMI_MONTHLY and today.day > 15:
        return Period(today.replace(day=1), today.replace(day=15))
    last_month_end = today.replace(day=1) - timedelta(days=1)
    if cycle is StatementCycle.SEMI_MONTHLY:
        return Period(last_month_end.replace(day=16), last_month_end)
    return Period(last_month_end.replace(day=1), last_month_end)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# --- amounts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


def statement_line_amounts(
    quantity: int, unit_price: Decimal, tax_rate: Decimal, *, prices_include_tax: bool = False
) -> LineAmounts:
    """A goods line priced by the issue's rule (`supplychain.rules.statement_totals`), in the
    supplier's convention. Excluding tax: amount = round(price x qty), tax = round(amount x rate).
    Including tax: the PO's net price with its VAT is the supplier's price (`gross_price`); total =
    round(price x qty), amount = round(total / (1 + rate)), tax = total - amount. Half-up, per line."""
    if prices_include_tax:
        line = PricedLine(tax_rate, PriceBasis.INCLUDING_TAX, gross_price(unit_price, tax_rate), quantity)
    else:
        line = PricedLine(tax_rate, PriceBasis.EXCLUDING_TAX, unit_price, quantity)
    priced = line_amounts(line)
    return LineAmounts(priced.amount, priced.tax)


def gross_price(net_price: Decimal, tax_rate: Decimal) -> Decimal:
    """A unit price excluding VAT as the same price including it, to the PO's 4 places."""
    return round_half_up(net_price * (1 + tax_rate), PRICE_PLACES)


def amounts_from_net(net: Decimal, tax_rate: Decimal) -> LineAmounts:
    """A line whose net figure is given (a dispute's figure, an adjustment): VAT on it, half-up."""
    net = round_money(net)
    return LineAmounts(net, line_tax(net, tax_rate))


@dataclass(frozen=True)
class RateTotal:
    tax_rate: Decimal
    net: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


def totals_by_rate(lines: Iterable[tuple[Decimal, Decimal, Decimal]]) -> list[RateTotal]:
    """(tax rate, net, tax) per line -> one total per rate, lowest rate first; exact sums."""
    sums: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for rate, net, tax in lines:
        key = rate.normalize()
        old_net, old_tax = sums.get(key, (Decimal("0.00"), Decimal("0.00")))
        sums[key] = (old_net + net, old_tax + tax)
    return [RateTotal(rate, net, tax) for rate, (net, tax) in sorted(sums.items())]


def signed_figure(deduction: bool, size: Decimal) -> Decimal:
    """A figure typed as a size, with the line's sign (a deduction stays a deduction)."""
    return -size if deduction else size


# --- the workflow's state and the Update inputs ------------------------------------------------------


@dataclass
class StatementLineState:
    line_id: int
    line_no: int
    tax_rate: Decimal
    net_amount: Decimal
    deduction: bool = False  # a debit note's line (negative), whatever its current figure
    rounds: int = 0  # disputes raised on this line so far
    dispute_open: bool = False
    supplier_net_amount: Decimal | None = None  # of the open (or last) round


@dataclass
class StatementState:
    number: str = ""
    status: StatementStatus = StatementStatus.AWAITING_CONFIRMATION
    lines: list[StatementLineState] = field(default_factory=list)
    recorded: bool = False  # the statement's rows exist (after the collection)
    no_source_lines: bool = False  # collection found nothing: no statement
    reminders_sent: int = 0
    escalations: int = 0
    invoice_numbers: list[str] = field(default_factory=list)  # every invoice submitted, in order

    def line(self, line_no: int) -> StatementLineState | None:
        return next((line for line in self.lines if line.line_no == line_no), None)

    @property
    def open_disputes(self) -> int:
        return sum(1 for line in self.lines if line.dispute_open)


@dataclass
class ConfirmStatementInput:
    actor_user_id: int


@dataclass
class DisputeLineInput:
    actor_user_id: int
    line_no: int
    reason: str
    supplier_net_amount: Decimal  # its size; the line's sign applies (`signed_figure`)


@dataclass
class ResolveDisputeInput:
    actor_user_id: int
    line_no: int
    resolution: DisputeResolution
    comment: str = ""
    adjusted_net_amount: Decimal | None = None  # ADJUSTED: its size; the line's sign applies


@dataclass
class StatementUpdateResult:
    status: StatementStatus


# --- the checks behind every Update -------------------------------------------------------------------

NOT_READY = lazy("This statement is still being prepared. Please try again in a moment.")
NO_STATEMENT = lazy("There was nothing to put on a statement for this period.")
ALREADY_CONFIRMED = lazy("This statement is already confirmed; nothing can be changed any more.")
DISPUTES_OPEN = lazy(
    "This statement cannot be confirmed while %(count)s disputed line(s) wait for the buyer."
)
NO_SUCH_LINE = lazy("This statement has no line %(line)s.")
DISPUTE_ALREADY_OPEN = lazy("Line %(line)s is already disputed; the buyer has not answered yet.")
REASON_REQUIRED = lazy("Give a reason for the dispute.")
TEXT_TOO_LONG = lazy("Enter at most %(max)s characters.")
FIGURE_NEGATIVE = lazy("Enter the amount as a positive number; a deduction stays a deduction.")
FIGURE_BAD = lazy("Enter an amount with at most 2 decimals, up to %(max)s.")
FIGURE_SAME = lazy("Your figure is the same as ours: confirm the line instead of disputing it.")
NO_OPEN_DISPUTE = lazy("Line %(line)s has no open dispute.")
COMMENT_REQUIRED = lazy("Give a comment when you keep our figure.")
ADJUSTED_FIGURE_REQUIRED = lazy("Enter the adjusted amount.")


def _recorded(state: StatementState) -> None:
    if state.no_source_lines:
        raise Refused(NO_STATEMENT)
    if not state.recorded:
        raise Refused(NOT_READY)


def _open_for_changes(state: StatementState) -> None:
    _recorded(state)
    if (
        state.status is not StatementStatus.AWAITING_CONFIRMATION
        and state.status is not StatementStatus.DISPUTED
    ):
        raise Refused(ALREADY_CONFIRMED)


def check_figure(size: Decimal | None) -> None:
    """A figure typed as a size: finite, not negative, at most 2 decimals, not absurdly large."""
    if size is None:
        raise Refused(ADJUSTED_FIGURE_REQUIRED)
    if not size.is_finite() or not has_places(size, MONEY_PLACES) or size > MAX_LINE_AMOUNT:
        raise Refused(FIGURE_BAD, max=str(MAX_LINE_AMOUNT))
    if size < 0:
        raise Refused(FIGURE_NEGATIVE)


def _text(text: str, max_length: int) -> None:
    if len(text.strip()) > max_length:
        raise Refused(TEXT_TOO_LONG, max=max_length)


def check_confirm(state: StatementState, input: ConfirmStatementInput) -> None:
    _open_for_changes(state)
    if state.open_disputes:
        raise Refused(DISPUTES_OPEN, count=state.open_disputes)


def check_dispute_line(state: StatementState, input: DisputeLineInput) -> None:
    _open_for_changes(state)
    line = state.line(input.line_no)
    if line is None:
        raise Refused(NO_SUCH_LINE, line=input.line_no)
    if line.dispute_open:
        raise Refused(DISPUTE_ALREADY_OPEN, line=input.line_no)
    if not input.reason.strip():
        raise Refused(REASON_REQUIRED)
    _text(input.reason, REASON_MAX_LENGTH)
    check_figure(input.supplier_net_amount)
    if signed_figure(line.deduction, input.supplier_net_amount) == line.net_amount:
        raise Refused(FIGURE_SAME)


def check_resolve_dispute(state: StatementState, input: ResolveDisputeInput) -> None:
    _recorded(state)
    line = state.line(input.line_no)
    if line is None:
        raise Refused(NO_SUCH_LINE, line=input.line_no)
    if not line.dispute_open:
        raise Refused(NO_OPEN_DISPUTE, line=input.line_no)
    _text(input.comment, COMMENT_MAX_LENGTH)
    if input.resolution is DisputeResolution.KEPT_OURS and not input.comment.strip():
        raise Refused(COMMENT_REQUIRED)
    if input.resolution is DisputeResolution.ADJUSTED:
        check_figure(input.adjusted_net_amount)


def resolved_net(line: StatementLineState, input: ResolveDisputeInput) -> Decimal:
    """The line's net figure after the buyer's resolution."""
    if input.resolution is DisputeResolution.ACCEPTED_SUPPLIER:
        assert line.supplier_net_amount is not None
        return line.supplier_net_amount
    if input.resolution is DisputeResolution.ADJUSTED:
        assert input.adjusted_net_amount is not None
        return signed_figure(line.deduction, input.adjusted_net_amount)
    return line.net_amount
