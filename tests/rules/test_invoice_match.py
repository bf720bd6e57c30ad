"""supplychain.rules.invoice_match: the three-way match within a supplier's tolerance.

Tolerance: |difference| <= min(absolute, relative x |expected|) over the limits that are set.
Each edge on both sides: exactly at the limit, one fen over, both signs, zero, no limit.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from supplychain.rules.invoice_match import (
    ExpectedLine,
    Figure,
    FigureMatch,
    InvoiceLine,
    InvoiceProblem,
    LineDifference,
    Tolerance,
    invoice_problems,
    match_invoice,
)
from supplychain.rules.statement_totals import LineAmounts

D = Decimal


def amounts(amount: str, tax: str, total: str) -> LineAmounts:
    return LineAmounts(D(amount), D(tax), D(total))


EXPECTED = amounts("1000.00", "130.00", "1130.00")


@pytest.mark.parametrize(
    ("tolerance", "difference", "within"),
    [
        # absolute only: 1.00
        (Tolerance(absolute=D("1.00")), "1.00", True),
        (Tolerance(absolute=D("1.00")), "1.01", False),
        (Tolerance(absolute=D("1.00")), "-1.00", True),
        (Tolerance(absolute=D("1.00")), "-1.01", False),
        # relative only: 0.5 % of 1000.00 = 5.00
        (Tolerance(relative=D("0.005")), "5.00", True),
        (Tolerance(relative=D("0.005")), "5.01", False),
        (Tolerance(relative=D("0.005")), "-5.00", True),
        (Tolerance(relative=D("0.005")), "-5.01", False),
        # both: the stricter wins. 1.00 is below 5.00 here
        (Tolerance(absolute=D("1.00"), relative=D("0.005")), "1.00", True),
        (Tolerance(absolute=D("1.00"), relative=D("0.005")), "1.01", False),
        # both: 0.05 % of 1000.00 = 0.50 is below 1.00
        (Tolerance(absolute=D("1.00"), relative=D("0.0005")), "0.50", True),
        (Tolerance(absolute=D("1.00"), relative=D("0.0005")), "0.51", False),
        # zero tolerance: only an exact match
        (Tolerance(absolute=D("0")), "0.00", True),
        (Tolerance(absolute=D("0")), "0.01", False),
        (Tolerance(absolute=D("0")), "-0.01", False),
        (Tolerance(relative=D("0")), "0.01", False),
        (Tolerance(absolute=D("0"), relative=D("0.01")), "0.01", False),  # 0 wins over 10.00
        # no limit set: only an exact match
        (Tolerance(), "0.00", True),
        (Tolerance(), "0.01", False),
    ],
)
def test_a_difference_is_within_every_limit_that_is_set(
    tolerance: Tolerance, difference: str, within: bool
) -> None:
    invoiced = amounts(str(EXPECTED.amount + D(difference)), "130.00", str(EXPECTED.total + D(difference)))
    result = match_invoice(EXPECTED, invoiced, tolerance)
    amount = result.figures[0]
    assert (amount.figure, amount.difference, amount.within) == (Figure.AMOUNT, D(difference), within)
    assert result.matched is within


def test_each_figure_is_compared_with_its_own_difference_and_allowance() -> None:
    # the supplier rounded tax on the invoice total: 1000.05 x 13 % = 130.0065 -> 130.01, we have 130.00
    invoiced = amounts("1000.05", "130.01", "1130.06")
    result = match_invoice(EXPECTED, invoiced, Tolerance(absolute=D("0.05"), relative=D("0.001")))
    assert result.figures == (
        FigureMatch(Figure.AMOUNT, D("1000.00"), D("1000.05"), D("0.05"), D("0.05"), True),
        FigureMatch(Figure.TAX, D("130.00"), D("130.01"), D("0.01"), D("0.05"), True),  # 0.13 > 0.05
        FigureMatch(Figure.TOTAL, D("1130.00"), D("1130.06"), D("0.06"), D("0.05"), False),
    )
    assert not result.matched


def test_the_relative_limit_is_exact_and_shown_rounded_down_to_the_fen() -> None:
    # 0.3 % of 333.33 = 0.99999: 0.99 passes, 1.00 does not, and the allowance shows as 0.99
    expected = amounts("333.33", "0.00", "333.33")
    tolerance = Tolerance(relative=D("0.003"))
    passes = match_invoice(expected, amounts("334.32", "0.00", "334.32"), tolerance)
    fails = match_invoice(expected, amounts("334.33", "0.00", "334.33"), tolerance)
    assert passes.matched and not fails.matched
    assert passes.figures[0].allowed == D("0.99")


def test_a_negative_statement_uses_the_size_of_the_expected_figure() -> None:
    # we are owed 200.00: 0.5 % of |-200.00| = 1.00
    expected = amounts("-200.00", "0.00", "-200.00")
    figure = match_invoice(
        expected, amounts("-199.00", "0.00", "-199.00"), Tolerance(relative=D("0.005"))
    ).figures[0]
    assert (figure.difference, figure.allowed, figure.within) == (D("1.00"), D("1.00"), True)


def test_an_exact_match_is_matched() -> None:
    result = match_invoice(EXPECTED, EXPECTED, Tolerance())
    assert result.matched
    assert [f.difference for f in result.figures] == [0, 0, 0]
    assert result.line_differences == () and result.invoice_problems == ()


# --- the invoice's own figures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoiced", "problems"),
    [
        (amounts("100.00", "13.00", "113.00"), ()),
        (amounts("0.00", "0.00", "0.00"), ()),
        (amounts("100.00", "13.00", "113.01"), (InvoiceProblem.DOES_NOT_ADD_UP,)),
        (amounts("-100.00", "-13.00", "-113.00"), (InvoiceProblem.NEGATIVE,)),
        (amounts("100.00", "-13.00", "87.00"), (InvoiceProblem.NEGATIVE,)),
        (amounts("100.001", "13.00", "113.001"), (InvoiceProblem.NOT_IN_FEN,)),
        (
            amounts("-100.005", "13.00", "-80.00"),
            (InvoiceProblem.NOT_IN_FEN, InvoiceProblem.NEGATIVE, InvoiceProblem.DOES_NOT_ADD_UP),
        ),
    ],
)
def test_the_invoice_must_add_up_in_fen_and_not_be_negative(
    invoiced: LineAmounts, problems: tuple[InvoiceProblem, ...]
) -> None:
    assert invoice_problems(invoiced) == problems


def test_an_invoice_that_does_not_add_up_is_not_matched_even_within_tolerance() -> None:
    result = match_invoice(EXPECTED, amounts("1000.00", "130.00", "1130.01"), Tolerance(absolute=D("1.00")))
    assert all(figure.within for figure in result.figures)
    assert result.invoice_problems == (InvoiceProblem.DOES_NOT_ADD_UP,)
    assert not result.matched


def test_a_figure_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        invoice_problems(LineAmounts(D("NaN"), D("0"), D("0")))


# --- lines ----------------------------------------------------------------------------------------

OUR_LINES = [
    ExpectedLine(1, 10, D("12.5000")),  # 125.00
    ExpectedLine(2, 5, D("3.3300")),  # 16.65
    ExpectedLine(3, 3, D("0.3333")),  # 0.9999 -> 1.00
    ExpectedLine(4, 2, D("50.0000")),  # 100.00
]


def test_lines_that_differ_are_listed_with_their_difference() -> None:
    invoice_lines = [
        InvoiceLine(1, 10, D("12.5000")),  # same
        InvoiceLine(2, 6, D("3.3300")),  # one more billed than accepted: 19.98
        InvoiceLine(3, 3, D("0.33333333")),  # a VAT invoice's long unit price: 0.99999999 -> 1.00, same
        # line 4 left out
        InvoiceLine(5, 1, D("8.0000")),  # no such statement line
    ]
    result = match_invoice(EXPECTED, EXPECTED, Tolerance(absolute=D("0.10")), OUR_LINES, invoice_lines)
    assert result.line_differences == (
        LineDifference(2, 5, D("3.3300"), D("16.65"), 6, D("3.3300"), D("19.98"), D("3.33"), False),
        LineDifference(4, 2, D("50.0000"), D("100.00"), None, None, D("0.00"), D("-100.00"), False),
        LineDifference(5, None, None, D("0.00"), 1, D("8.0000"), D("8.00"), D("8.00"), False),
    )
    assert all(figure.within for figure in result.figures)
    assert not result.matched  # offsetting line errors do not hide behind equal totals


def test_a_price_difference_within_tolerance_is_listed_but_matches() -> None:
    invoice_lines = [
        InvoiceLine(1, 10, D("12.5050")),
        *(InvoiceLine(n.line_no, n.quantity, n.unit_price) for n in OUR_LINES[1:]),
    ]
    result = match_invoice(EXPECTED, EXPECTED, Tolerance(absolute=D("0.10")), OUR_LINES, invoice_lines)
    # 10 x 12.5050 = 125.05 against 125.00
    assert [(line.line_no, line.difference, line.within) for line in result.line_differences] == [
        (1, D("0.05"), True)
    ]
    assert result.matched


def test_a_different_quantity_with_the_same_amount_is_listed() -> None:
    invoice_lines = [InvoiceLine(4, 1, D("100.0000"))]  # 1 x 100 instead of 2 x 50
    result = match_invoice(EXPECTED, EXPECTED, Tolerance(), OUR_LINES[3:], invoice_lines)
    assert [(line.line_no, line.difference, line.within) for line in result.line_differences] == [
        (4, D("0.00"), True)
    ]


def test_without_invoice_lines_no_line_is_compared() -> None:
    result = match_invoice(EXPECTED, EXPECTED, Tolerance(), OUR_LINES, None)
    assert result.line_differences == ()


def test_a_line_billed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1 appears twice on the invoice"):
        match_invoice(
            EXPECTED, EXPECTED, Tolerance(), OUR_LINES, [InvoiceLine(1, 1, D("1")), InvoiceLine(1, 1, D("1"))]
        )


# --- the tolerance itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"absolute": D("-0.01")}, "absolute tolerance"),
        ({"absolute": D("0.001")}, "absolute tolerance"),
        ({"absolute": D("NaN")}, "absolute tolerance"),
        ({"relative": D("-0.001")}, "relative tolerance"),
        ({"relative": D("1.01")}, "relative tolerance"),
        ({"relative": D("0.0000001")}, "relative tolerance"),
    ],
)
def test_a_bad_tolerance_is_refused(kwargs: dict[str, Decimal], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tolerance(**kwargs)


def test_a_line_agreed_in_a_dispute_is_judged_against_the_agreed_amount() -> None:
    ours = [ExpectedLine(1, 3, D("10.0000"), agreed_amount=D("33.00")), ExpectedLine(2, 4, D("10.0000"))]
    billed_as_agreed = [InvoiceLine(1, 3, D("11.00")), InvoiceLine(2, 4, D("10.0000"))]
    result = match_invoice(EXPECTED, EXPECTED, Tolerance(absolute=D("1.00")), ours, billed_as_agreed)
    assert result.line_differences == () and result.matched
    billed_at_po_price = [InvoiceLine(1, 3, D("10.0000")), InvoiceLine(2, 4, D("10.0000"))]
    result = match_invoice(EXPECTED, EXPECTED, Tolerance(absolute=D("1.00")), ours, billed_at_po_price)
    assert result.line_differences == (
        LineDifference(1, 3, D("10.0000"), D("33.00"), 3, D("10.0000"), D("30.00"), D("-3.00"), False, True),
    )
    assert not result.matched
