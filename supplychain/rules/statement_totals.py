"""A statement line's amount, tax and total, and a statement's totals per VAT rate (DESIGN 4.4).

The rule (issue 12): totals per VAT rate in CNY, exact; half-up to 0.01 per line.

- Price excluding tax: amount = round(price x quantity), tax = round(amount x rate),
  total = amount + tax.
- Price including tax: total = round(price x quantity), amount = round(total / (1 + rate)),
  tax = total - amount.

The two conventions can differ by a fen for the "same" goods (see the tests): the line says which
one its price is in, and nothing converts one into the other.

A line is either a unit price (4 places) times a signed quantity, or a signed amount given as is
(a debit note, a concession's price deduction, a price adjustment); an amount follows the line's
convention too (excluding tax: it is the amount; including tax: it is the total). Returns, debit
notes and deductions are negative lines. Half-up rounds a tie away from zero, so a negative line is
exactly the mirror of the positive one: a return of what was received cancels it to the fen.

The division of the including-tax convention is done in whole fen with an integer remainder, so it
is exact: no decimal context's precision can tip a rounding.

Totals add the rounded lines (never round a sum again) per rate, sorted by rate, plus the grand
total over all rates; for each rate and for the grand total amount + tax == total.

Pure: no I/O. Bad input raises ValueError with a developer's message (the pages check first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from supplychain.rules.money import (
    MONEY_PLACES,
    PRICE_PLACES,
    from_units,
    has_places,
    round_money,
    to_units,
)

ZERO = Decimal("0.00")
RATE_PLACES = PRICE_PLACES
_RATE_SCALE = 10**RATE_PLACES


class PriceBasis(StrEnum):
    """Which side of VAT a line's unit price (or given amount) is on."""

    EXCLUDING_TAX = "excluding_tax"  # 不含税
    INCLUDING_TAX = "including_tax"  # 含税


@dataclass(frozen=True)
class StatementLine:
    """One line to price: `unit_price` x `quantity`, or a given `amount`; exactly one of the two.

    `vat_rate` is a fraction (0.13 for 13 %), 0 <= rate < 1, at most 4 places.
    """

    vat_rate: Decimal
    basis: PriceBasis
    unit_price: Decimal | None = None  # at most 4 places; not negative (the quantity carries the sign)
    quantity: int | Decimal | None = None  # signed: a return is negative
    amount: Decimal | None = None  # signed, at most 2 places, in the line's basis


@dataclass(frozen=True)
class LineAmounts:
    """Amount excluding tax, the tax, and the total including tax, each to the fen."""

    amount: Decimal
    tax: Decimal
    total: Decimal

    def __add__(self, other: LineAmounts) -> LineAmounts:
        return LineAmounts(self.amount + other.amount, self.tax + other.tax, self.total + other.total)


NO_AMOUNTS = LineAmounts(ZERO, ZERO, ZERO)


@dataclass(frozen=True)
class RateTotals:
    vat_rate: Decimal  # as a key: 2 places when it has no more (0.13, 0.00), else 4 (0.0150)
    amounts: LineAmounts


@dataclass(frozen=True)
class StatementTotals:
    by_rate: tuple[RateTotals, ...]  # sorted by rate, ascending; only the rates the lines use
    grand: LineAmounts


def line_amounts(line: StatementLine) -> LineAmounts:
    """The line's amount, tax and total, each rounded half-up to the fen by the issue's rule."""
    rate = _checked_rate(line.vat_rate)
    extended = _extended(line)
    if line.basis == PriceBasis.EXCLUDING_TAX:
        amount = extended
        tax = round_money(amount * rate)
        return LineAmounts(amount, tax, amount + tax)
    if line.basis == PriceBasis.INCLUDING_TAX:
        total = extended
        amount = _divide_half_up(total, rate)
        return LineAmounts(amount, total - amount, total)
    raise ValueError(f"unknown price basis {line.basis!r}")


def statement_totals(lines: Iterable[StatementLine]) -> StatementTotals:
    """Each line's rounded amounts added up per VAT rate (sorted by rate) and over all rates."""
    return sum_by_rate((line.vat_rate, line_amounts(line)) for line in lines)


def sum_by_rate(rated_amounts: Iterable[tuple[Decimal, LineAmounts]]) -> StatementTotals:
    """Totals of lines already priced (for example read back from the database), per rate."""
    per_rate: dict[Decimal, LineAmounts] = {}
    for rate, amounts in rated_amounts:
        key = rate_key(_checked_rate(rate))
        per_rate[key] = per_rate.get(key, NO_AMOUNTS) + amounts
    by_rate = tuple(RateTotals(rate, per_rate[rate]) for rate in sorted(per_rate))
    grand = NO_AMOUNTS
    for totals in by_rate:
        grand += totals.amounts
    return StatementTotals(by_rate, grand)


def rate_key(rate: Decimal) -> Decimal:
    """One spelling per rate, so 0.13 and 0.1300 group together: 2 places, or 4 when it needs them."""
    return from_units(to_units(rate, 2), 2) if has_places(rate, 2) else from_units(to_units(rate, 4), 4)


def _checked_rate(rate: Decimal) -> Decimal:
    if not rate.is_finite() or not Decimal(0) <= rate < 1:
        raise ValueError(f"VAT rate {rate} is not a fraction in [0, 1)")
    if not has_places(rate, RATE_PLACES):
        raise ValueError(f"VAT rate {rate} has more than {RATE_PLACES} decimal places")
    return rate


def _extended(line: StatementLine) -> Decimal:
    """price x quantity rounded to the fen, or the given amount (which must be in fen already)."""
    priced = line.unit_price is not None or line.quantity is not None
    if priced == (line.amount is not None):
        raise ValueError("a statement line has either a unit price and a quantity, or an amount")
    if line.amount is not None:
        if not has_places(line.amount, MONEY_PLACES):
            raise ValueError(f"amount {line.amount} has more than {MONEY_PLACES} decimal places")
        return from_units(to_units(line.amount, MONEY_PLACES), MONEY_PLACES)
    price, quantity = line.unit_price, line.quantity
    if price is None or quantity is None:
        raise ValueError("a priced statement line needs both a unit price and a quantity")
    if not has_places(price, PRICE_PLACES) or price < 0:
        raise ValueError(f"unit price {price} is not a non-negative price with at most {PRICE_PLACES} places")
    if isinstance(quantity, Decimal) and not quantity.is_finite():
        raise ValueError(f"quantity {quantity} is not a finite number")
    # Exact: a product of two exact decimals within the context's 28 digits, rounded once.
    return round_money(price * quantity)


def _divide_half_up(total: Decimal, rate: Decimal) -> Decimal:
    """round(total / (1 + rate)) to the fen, half-up, computed on whole numbers so it is exact."""
    numerator = to_units(total, MONEY_PLACES) * _RATE_SCALE
    denominator = _RATE_SCALE + to_units(rate, RATE_PLACES)
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return from_units(-quotient if numerator < 0 else quotient, MONEY_PLACES)
