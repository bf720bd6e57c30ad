"""supplychain.rules.early_payment: discount = round_half_up(amount x rate x days early)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from supplychain.rules.early_payment import EarlyPaymentDiscount, early_payment_discount

D = Decimal
DUE = date(2026, 10, 13)


@pytest.mark.parametrize(
    ("amount", "rate", "paid_on", "expected"),
    [
        # 10,000.00 x 0.05 % x 5 = 25.00
        ("10000.00", "0.0005", date(2026, 10, 8), EarlyPaymentDiscount(5, D("25.00"), D("9975.00"))),
        # 1,234.57 x 0.0005 x 3 = 1.851855 -> 1.85
        ("1234.57", "0.0005", date(2026, 10, 10), EarlyPaymentDiscount(3, D("1.85"), D("1232.72"))),
        # 10.00 x 0.0005 x 1 = 0.005 -> 0.01 (half-up; banker's rounding would give 0.00)
        ("10.00", "0.0005", date(2026, 10, 12), EarlyPaymentDiscount(1, D("0.01"), D("9.99"))),
        # calendar days across National Day: Sep 28 to Oct 13 is 15 days; 113,000.00 x 0.0003 x 15 = 508.50
        ("113000.00", "0.0003", date(2026, 9, 28), EarlyPaymentDiscount(15, D("508.50"), D("112491.50"))),
        # a rate with 6 places: 800.00 x 0.000125 x 4 = 0.40
        ("800.00", "0.000125", date(2026, 10, 9), EarlyPaymentDiscount(4, D("0.40"), D("799.60"))),
        # rate 0: no discount
        ("500.00", "0", date(2026, 10, 1), EarlyPaymentDiscount(12, D("0.00"), D("500.00"))),
        # the highest rate, 1 % a day, 99 days: 99 % off
        ("100.00", "0.01", date(2026, 7, 6), EarlyPaymentDiscount(99, D("99.00"), D("1.00"))),
    ],
)
def test_the_discount_is_the_amount_times_the_rate_times_the_days_early_rounded_half_up(
    amount: str, rate: str, paid_on: date, expected: EarlyPaymentDiscount
) -> None:
    assert early_payment_discount(D(amount), D(rate), DUE, paid_on) == expected


@pytest.mark.parametrize("paid_on", [DUE, date(2026, 10, 14)])
def test_a_payment_on_or_after_the_due_date_is_not_early(paid_on: date) -> None:
    with pytest.raises(ValueError, match="not before the due date"):
        early_payment_discount(D("100.00"), D("0.0005"), DUE, paid_on)


@pytest.mark.parametrize("rate", ["-0.0001", "0.010001", "0.0101", "0.05", "NaN"])
def test_a_rate_outside_zero_to_one_percent_a_day_is_refused(rate: str) -> None:
    with pytest.raises(ValueError, match=r"outside \[0, 0.01\]"):
        early_payment_discount(D("100.00"), D(rate), DUE, date(2026, 10, 12))


def test_a_rate_with_more_than_six_places_is_refused() -> None:
    with pytest.raises(ValueError, match="more than 6 decimal places"):
        early_payment_discount(D("100.00"), D("0.0000001"), DUE, date(2026, 10, 12))


@pytest.mark.parametrize("amount", ["0", "-100.00", "100.001", "Infinity"])
def test_the_amount_must_be_positive_and_in_fen(amount: str) -> None:
    with pytest.raises(ValueError, match="not a positive amount in fen"):
        early_payment_discount(D(amount), D("0.0005"), DUE, date(2026, 10, 12))


def test_a_discount_of_the_whole_amount_is_refused() -> None:
    # 1 % a day for 100 days
    with pytest.raises(ValueError, match="would discount the whole amount"):
        early_payment_discount(D("100.00"), D("0.01"), DUE, date(2026, 7, 5))
