"""The invoice step's rules: the supplier's tolerance from its terms (0 means not set), what may be
submitted when, the invoice's lines (checked, matched line by line), and the queue's one-line
summary of the differences."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from supplychain.models.settlement import StatementStatus
from supplychain.rules.invoice_match import ExpectedLine, InvoiceLine
from supplychain.rules.refusal import Refused
from supplychain.rules.statement import StatementState
from supplychain.rules.statement_invoice import (
    ALREADY_MATCHED,
    AWAITING_DECISION,
    DOES_NOT_ADD_UP,
    DUPLICATE_NUMBER,
    FIGURE_BAD,
    FIGURE_NEGATIVE,
    LINE_NOT_ON_STATEMENT,
    LINE_PRICE_BAD,
    LINE_QUANTITY_BAD,
    NOT_CONFIRMED,
    NUMBER_REQUIRED,
    NUMBER_TOO_LONG,
    SUMMARY_MAX_LENGTH,
    BilledLine,
    SubmitInvoiceInput,
    billed_lines_problem,
    check_submit_invoice,
    match_against_statement,
    summary_of,
    tolerance_of,
)
from supplychain.rules.statement_totals import LineAmounts

STATEMENT = LineAmounts(Decimal("1000.00"), Decimal("130.00"), Decimal("1130.00"))


def submission(
    number: str = "044001", net: str = "1000.00", tax: str = "130.00", total: str = "1130.00"
) -> SubmitInvoiceInput:
    return SubmitInvoiceInput(
        1,
        number,
        date(2026, 2, 3),
        Decimal(net),
        Decimal(tax),
        Decimal(total),
        "f" * 32,
        "application/pdf",
        1,
    )


def state(status: StatementStatus, *numbers: str) -> StatementState:
    return StatementState(
        number="ST-2026-000001", status=status, recorded=True, invoice_numbers=list(numbers)
    )


def refusal(state: StatementState, input: SubmitInvoiceInput) -> str:
    with pytest.raises(Refused) as refused:
        check_submit_invoice(state, input)
    return refused.value.message_id


def test_a_zero_limit_is_not_set_and_the_stricter_of_two_wins() -> None:
    assert tolerance_of(Decimal("1.00"), Decimal("0.0000")).limit(Decimal("1130.00")) == Decimal("1.00")
    assert tolerance_of(Decimal("0.00"), Decimal("0.0050")).limit(Decimal("1130.00")) == Decimal("5.65")
    assert tolerance_of(Decimal("5.00"), Decimal("0.0010")).limit(Decimal("1130.00")) == Decimal("1.13")
    assert tolerance_of(Decimal("0.00"), Decimal("0.0000")).limit(Decimal("1130.00")) == 0


def test_exactly_at_the_tolerance_matches_and_one_fen_over_does_not() -> None:
    tolerance = tolerance_of(Decimal("1.00"), Decimal("0"))
    at = LineAmounts(Decimal("1001.00"), Decimal("130.00"), Decimal("1131.00"))
    over = LineAmounts(Decimal("1001.01"), Decimal("130.00"), Decimal("1131.01"))
    assert match_against_statement(STATEMENT, at, tolerance).matched
    result = match_against_statement(STATEMENT, over, tolerance)
    assert not result.matched
    assert [f.within for f in result.figures] == [False, True, False]
    assert summary_of("ST-2026-000001", "044001", [f.difference for f in result.figures]) == (
        "ST-2026-000001 · 044001 · +1.01 / +0.00 / +1.01"
    )


def test_a_right_total_with_the_tax_split_wrongly_is_a_mismatch() -> None:
    split = LineAmounts(Decimal("1010.00"), Decimal("120.00"), Decimal("1130.00"))
    assert not match_against_statement(STATEMENT, split, tolerance_of(Decimal("1.00"), Decimal("0"))).matched


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (StatementStatus.AWAITING_CONFIRMATION, NOT_CONFIRMED),
        (StatementStatus.DISPUTED, NOT_CONFIRMED),
        (StatementStatus.MATCH_EXCEPTION, AWAITING_DECISION),
        (StatementStatus.MATCHED, ALREADY_MATCHED),
    ],
)
def test_an_invoice_only_answers_a_confirmed_statement(status: StatementStatus, message: str) -> None:
    assert refusal(state(status), submission()) == message
    check_submit_invoice(state(StatementStatus.CONFIRMED), submission())


@pytest.mark.parametrize(
    ("input", "message"),
    [
        (submission(number="  "), NUMBER_REQUIRED),
        (submission(number="9" * 33), NUMBER_TOO_LONG),
        (submission(number="REJECTED-1"), DUPLICATE_NUMBER),
        (submission(net="-1000.00", total="-870.00"), FIGURE_NEGATIVE),
        (submission(total="1130.01"), DOES_NOT_ADD_UP),
        (submission(net="1000.001", total="1130.001"), FIGURE_BAD),
        (submission(net="NaN"), FIGURE_BAD),
        (submission(net="99999999999.00", total="99999999999.00", tax="0.00"), FIGURE_BAD),
    ],
)
def test_bad_invoices_are_refused(input: SubmitInvoiceInput, message: str) -> None:
    assert refusal(state(StatementStatus.CONFIRMED, "REJECTED-1"), input) == message


def test_a_line_beyond_its_tolerance_is_a_mismatch_though_the_totals_are_within_theirs() -> None:
    """2 %: the 300.00 line is allowed 6.00, the 1000.00 statement 20.00."""
    tolerance = tolerance_of(Decimal("0"), Decimal("0.0200"))
    ours = [ExpectedLine(1, 30, Decimal("10.0000")), ExpectedLine(2, 70, Decimal("10.0000"))]
    invoiced = LineAmounts(Decimal("1007.50"), Decimal("130.98"), Decimal("1138.48"))
    billed = [InvoiceLine(1, 30, Decimal("10.25")), InvoiceLine(2, 70, Decimal("10"))]
    result = match_against_statement(STATEMENT, invoiced, tolerance, ours, billed)
    assert all(f.within for f in result.figures) and not result.matched
    assert [(d.line_no, d.difference, d.within) for d in result.line_differences] == [
        (1, Decimal("7.50"), False)
    ]
    as_the_statement = [InvoiceLine(1, 30, Decimal("10.00000000")), InvoiceLine(2, 70, Decimal("10"))]
    assert match_against_statement(STATEMENT, STATEMENT, tolerance, ours, as_the_statement).matched
    assert match_against_statement(STATEMENT, STATEMENT, tolerance, ours, None).matched  # no lines given


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([BilledLine(1, -1, Decimal("1"))], LINE_QUANTITY_BAD),
        ([BilledLine(1, 1, Decimal("-0.01"))], LINE_PRICE_BAD),
        ([BilledLine(1, 1, Decimal("0.123456789"))], LINE_PRICE_BAD),
        ([BilledLine(1, 1, Decimal("NaN"))], LINE_PRICE_BAD),
        ([BilledLine(1, 1, Decimal("1")), BilledLine(1, 2, Decimal("1"))], LINE_NOT_ON_STATEMENT),
    ],
)
def test_bad_invoice_lines_are_refused(lines: list[BilledLine], message: str) -> None:
    problem = billed_lines_problem(lines)
    assert problem is not None and problem.message_id == message
    assert billed_lines_problem([BilledLine(1, 0, Decimal("0.12345678"))]) is None


def test_the_summary_lists_the_differing_lines_and_counts_those_that_do_not_fit() -> None:
    figures = [Decimal("0.00"), Decimal("0.00"), Decimal("0.00")]
    assert summary_of(
        "ST-2026-000001", "044001", figures, [(1, Decimal("-10.00")), (2, Decimal("10.00"))]
    ) == ("ST-2026-000001 · 044001 · +0.00 / +0.00 / +0.00 · #1 -10.00, #2 +10.00")
    many = [(n, Decimal("-1234567.89")) for n in range(1, 100)]
    summary = summary_of("ST-2026-000001", "044001", figures, many)
    assert len(summary) <= SUMMARY_MAX_LENGTH and summary.startswith("ST-2026-000001 · 044001 · +0.00")
    shown = summary.count("#")
    assert shown > 1 and summary.endswith(f"… +{99 - shown}")
