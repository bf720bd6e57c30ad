"""supplychain.rules.statement_totals: line amounts by the issue's rule, totals per VAT rate.

Every expected figure is worked by hand in the comment beside it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplychain.rules.statement_totals import (
    LineAmounts,
    PriceBasis,
    RateTotals,
    StatementLine,
    line_amounts,
    rate_key,
    statement_totals,
    sum_by_rate,
)

EXCL, INCL = PriceBasis.EXCLUDING_TAX, PriceBasis.INCLUDING_TAX
D = Decimal


def amounts(amount: str, tax: str, total: str) -> LineAmounts:
    return LineAmounts(D(amount), D(tax), D(total))


def priced(price: str, quantity: int | str, rate: str, basis: PriceBasis) -> StatementLine:
    qty = D(quantity) if isinstance(quantity, str) else quantity
    return StatementLine(vat_rate=D(rate), basis=basis, unit_price=D(price), quantity=qty)


def given_amount(amount: str, rate: str, basis: PriceBasis) -> StatementLine:
    return StatementLine(vat_rate=D(rate), basis=basis, amount=D(amount))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # 12.3456 x 10 = 123.456 -> 123.46; x 0.13 = 16.0498 -> 16.05; total 139.51
        (priced("12.3456", 10, "0.13", EXCL), amounts("123.46", "16.05", "139.51")),
        # 0.8850 x 100 = 88.50; x 0.13 = 11.505 -> 11.51 (half-up; banker's would give 11.50)
        (priced("0.8850", 100, "0.13", EXCL), amounts("88.50", "11.51", "100.01")),
        # 4.5000 x 7 = 31.50; x 0.09 = 2.835 -> 2.84
        (priced("4.5000", 7, "0.09", EXCL), amounts("31.50", "2.84", "34.34")),
        # 2.3350 x 3 = 7.005 -> 7.01; x 0.06 = 0.4206 -> 0.42
        (priced("2.3350", 3, "0.06", EXCL), amounts("7.01", "0.42", "7.43")),
        # a weighed quantity: 23.8000 x 1.255 kg = 29.869 -> 29.87; x 0.09 = 2.6883 -> 2.69
        (priced("23.8000", "1.255", "0.09", EXCL), amounts("29.87", "2.69", "32.56")),
    ],
)
def test_price_excluding_tax_rounds_the_amount_then_the_tax(
    line: StatementLine, expected: LineAmounts
) -> None:
    assert line_amounts(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # 113.00 x 1 = 113.00; / 1.13 = 100.00; tax 13.00
        (priced("113.0000", 1, "0.13", INCL), amounts("100.00", "13.00", "113.00")),
        # 1.0000 x 100 = 100.00; / 1.13 = 88.4955... -> 88.50; tax = 100.00 - 88.50 = 11.50
        (priced("1.0000", 100, "0.13", INCL), amounts("88.50", "11.50", "100.00")),
        # 9.9900 x 3 = 29.97; / 1.09 = 27.4954... -> 27.50; tax 2.47
        (priced("9.9900", 3, "0.09", INCL), amounts("27.50", "2.47", "29.97")),
        # 0.3333 x 3 = 0.9999 -> 1.00; / 1.06 = 0.9433... -> 0.94; tax 0.06
        (priced("0.3333", 3, "0.06", INCL), amounts("0.94", "0.06", "1.00")),
    ],
)
def test_price_including_tax_rounds_the_total_then_takes_the_tax_out(
    line: StatementLine, expected: LineAmounts
) -> None:
    assert line_amounts(line) == expected


def test_the_two_conventions_differ_by_a_fen_for_the_same_goods() -> None:
    # 1.00 including 13 % is 0.884955... excluding, which a 4-place price list keeps as 0.8850.
    excluding = line_amounts(priced("0.8850", 100, "0.13", EXCL))
    including = line_amounts(priced("1.0000", 100, "0.13", INCL))
    assert excluding == amounts("88.50", "11.51", "100.01")
    assert including == amounts("88.50", "11.50", "100.00")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # a return: -3 x 2.3350 = -7.005 -> -7.01 (a tie goes away from zero); x 0.13 = -0.9113 -> -0.91
        (priced("2.3350", -3, "0.13", EXCL), amounts("-7.01", "-0.91", "-7.92")),
        # -100 x 1.0000 = -100.00; / 1.13 -> -88.50; tax -11.50
        (priced("1.0000", -100, "0.13", INCL), amounts("-88.50", "-11.50", "-100.00")),
        # a debit note of 50.00 excluding tax: tax -6.50
        (given_amount("-50.00", "0.13", EXCL), amounts("-50.00", "-6.50", "-56.50")),
        # a concession deduction of 56.50 including tax: amount -50.00, tax -6.50
        (given_amount("-56.50", "0.13", INCL), amounts("-50.00", "-6.50", "-56.50")),
        # a price adjustment of 0.07 including 9 %: 0.07 / 1.09 = 0.0642 -> 0.06; tax 0.01
        (given_amount("-0.07", "0.09", INCL), amounts("-0.06", "-0.01", "-0.07")),
    ],
)
def test_negative_lines_mirror_positive_ones(line: StatementLine, expected: LineAmounts) -> None:
    assert line_amounts(line) == expected


@pytest.mark.parametrize("basis", [EXCL, INCL])
def test_zero_rate_has_no_tax_in_either_convention(basis: PriceBasis) -> None:
    # 9.9950 x 3 = 29.985 -> 29.99
    assert line_amounts(priced("9.9950", 3, "0", basis)) == amounts("29.99", "0.00", "29.99")


def test_a_given_amount_keeps_its_fen_and_gets_two_places() -> None:
    assert str(line_amounts(given_amount("12.5", "0.13", EXCL)).amount) == "12.50"


def test_rounding_is_per_line_not_of_the_sum() -> None:
    # each 0.0050 x 1 -> 0.01; the unrounded sum 0.015 would round to 0.02
    lines = [priced("0.0050", 1, "0", EXCL)] * 3
    assert statement_totals(lines).grand == amounts("0.03", "0.00", "0.03")


def test_totals_per_rate_are_sorted_by_rate_and_add_up_to_the_grand_total() -> None:
    lines = [
        priced("12.3456", 10, "0.13", EXCL),  # 123.46 + 16.05 = 139.51
        priced("4.5000", 7, "0.09", EXCL),  # 31.50 + 2.84 = 34.34
        priced("2.3350", -3, "0.1300", EXCL),  # -7.01 - 0.91 = -7.92, same rate spelled with 4 places
        given_amount("-50.00", "0.13", EXCL),  # -50.00 - 6.50 = -56.50
        priced("9.9950", 3, "0", EXCL),  # 29.99
    ]
    totals = statement_totals(lines)
    assert totals.by_rate == (
        RateTotals(D("0.00"), amounts("29.99", "0.00", "29.99")),
        RateTotals(D("0.09"), amounts("31.50", "2.84", "34.34")),
        RateTotals(D("0.13"), amounts("66.45", "8.64", "75.09")),  # 123.46-7.01-50.00; 16.05-0.91-6.50
    )
    assert totals.grand == amounts("127.94", "11.48", "139.42")
    assert [str(t.vat_rate) for t in totals.by_rate] == ["0.00", "0.09", "0.13"]


def test_no_lines_have_zero_totals() -> None:
    totals = statement_totals([])
    assert totals.by_rate == ()
    assert totals.grand == amounts("0.00", "0.00", "0.00")


def test_sum_by_rate_adds_lines_already_priced() -> None:
    totals = sum_by_rate(
        [(D("0.13"), amounts("1.00", "0.13", "1.13")), (D("0.13"), amounts("2.00", "0.26", "2.26"))]
    )
    assert totals.by_rate == (RateTotals(D("0.13"), amounts("3.00", "0.39", "3.39")),)


@pytest.mark.parametrize(
    ("rate", "key"), [("0.13", "0.13"), ("0.1300", "0.13"), ("0", "0.00"), ("0.015", "0.0150")]
)
def test_rate_key_spells_each_rate_one_way(rate: str, key: str) -> None:
    assert str(rate_key(D(rate))) == key


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (StatementLine(D("0.13"), EXCL, unit_price=D("1"), quantity=1, amount=D("1")), "either a unit price"),
        (StatementLine(D("0.13"), EXCL), "either a unit price"),
        (StatementLine(D("0.13"), EXCL, unit_price=D("1")), "both a unit price and a quantity"),
        (StatementLine(D("0.13"), EXCL, quantity=3), "both a unit price and a quantity"),
        (priced("1.00001", 1, "0.13", EXCL), "at most 4 places"),
        (priced("-1.0000", 1, "0.13", EXCL), "non-negative price"),
        (priced("1.0000", "NaN", "0.13", EXCL), "not a finite number"),
        (given_amount("1.005", "0.13", EXCL), "more than 2 decimal places"),
        (priced("1.0000", 1, "1", EXCL), r"not a fraction in \[0, 1\)"),
        (priced("1.0000", 1, "-0.13", EXCL), r"not a fraction in \[0, 1\)"),
        (priced("1.0000", 1, "0.13001", EXCL), "more than 4 decimal places"),
    ],
)
def test_bad_lines_are_refused(line: StatementLine, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        line_amounts(line)


RATES = st.sampled_from([D("0"), D("0.01"), D("0.03"), D("0.06"), D("0.09"), D("0.13"), D("0.0150")])
PRICES = st.integers(min_value=0, max_value=10**9).map(lambda units: D(units).scaleb(-4))
QUANTITIES = st.integers(min_value=-(10**5), max_value=10**5)
LINES = st.one_of(
    st.builds(
        StatementLine,
        vat_rate=RATES,
        basis=st.sampled_from(PriceBasis),
        unit_price=PRICES,
        quantity=QUANTITIES,
    ),
    st.builds(
        StatementLine,
        vat_rate=RATES,
        basis=st.sampled_from(PriceBasis),
        amount=st.integers(min_value=-(10**10), max_value=10**10).map(lambda fen: D(fen).scaleb(-2)),
    ),
)


@given(st.lists(LINES, max_size=30))
def test_per_rate_totals_add_up_to_the_grand_total_and_every_line_adds_up(lines: list[StatementLine]) -> None:
    totals = statement_totals(lines)
    for line in lines:
        priced_line = line_amounts(line)
        assert priced_line.amount + priced_line.tax == priced_line.total
    assert sum((t.amounts.amount for t in totals.by_rate), D(0)) == totals.grand.amount
    assert sum((t.amounts.tax for t in totals.by_rate), D(0)) == totals.grand.tax
    assert sum((t.amounts.total for t in totals.by_rate), D(0)) == totals.grand.total
    assert totals.grand.amount + totals.grand.tax == totals.grand.total
    assert [t.vat_rate for t in totals.by_rate] == sorted({rate_key(line.vat_rate) for line in lines})


@given(st.sampled_from(PriceBasis), RATES, PRICES, QUANTITIES)
def test_a_negative_quantity_is_the_exact_mirror(
    basis: PriceBasis, rate: Decimal, price: Decimal, qty: int
) -> None:
    forward = line_amounts(StatementLine(rate, basis, unit_price=price, quantity=qty))
    back = line_amounts(StatementLine(rate, basis, unit_price=price, quantity=-qty))
    assert back == LineAmounts(-forward.amount, -forward.tax, -forward.total)


@given(RATES, st.integers(min_value=-(10**12), max_value=10**12))
def test_the_including_tax_division_matches_a_high_precision_reference(rate: Decimal, fen: int) -> None:
    total = D(fen).scaleb(-2)
    with localcontext(prec=80, rounding=ROUND_HALF_UP):
        reference = (total / (1 + rate)).quantize(D("0.01"))
    assert line_amounts(StatementLine(rate, INCL, amount=total)).amount == reference
