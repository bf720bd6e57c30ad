"""Money arithmetic: CNY with 2 decimals, rounded half-up per line (the way Chinese VAT invoices do).

Every rounding in the product goes through here, so it is half-up everywhere (Python's default,
`quantize()` without a rounding and `round()`, is banker's rounding: 0.125 would become 0.12).
The database keeps these values as whole numbers of their smallest unit (`to_units`, `from_units`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

MONEY_PLACES = 2  # fen
PRICE_PLACES = 4  # unit prices and tax rates
CENT = Decimal("0.01")


def round_half_up(value: Decimal, places: int) -> Decimal:
    """`value` rounded half-up (away from zero on a tie) to `places` decimals."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def half_up_context() -> AbstractContextManager[Context]:
    """A decimal context that rounds half-up, for libraries that round in the current context
    (Babel, when it formats a number to the places its pattern shows)."""
    return localcontext(rounding=ROUND_HALF_UP)


def round_money(amount: Decimal) -> Decimal:
    return round_half_up(amount, MONEY_PLACES)


def has_places(value: Decimal, places: int) -> bool:
    """Whether `value` has at most `places` decimals (12.50 has 1, 12.505 has 3)."""
    try:
        to_units(value, places)
    except ValueError:
        return False
    return True


def to_units(value: Decimal, places: int) -> int:
    """`value` * 10**places as an exact integer (12.34 at 2 places: 1234 fen).

    Raises ValueError when `value` has more than `places` decimals or is not finite: it is never
    rounded here (round first, with `round_half_up`). Exact at any size: no decimal context applies.
    """
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = int("".join(map(str, digits)))
    shift = exponent + places
    units: int
    if shift >= 0:
        units = coefficient * 10**shift
    else:
        units, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise ValueError(f"{value} has more than {places} decimal places")
    return -units if sign else units


def from_units(units: int, places: int) -> Decimal:
    """The Decimal that `units` of 10**-places make, with exactly `places` decimals (1234: 12.34)."""
    digits = tuple(int(d) for d in str(abs(units)))
    return Decimal((1 if units < 0 else 0, digits, -places))  # exact: no decimal context applies


def line_net(unit_price: Decimal, quantity: int) -> Decimal:
    return round_money(unit_price * quantity)


def line_tax(net: Decimal, tax_rate: Decimal) -> Decimal:
    return round_money(net * tax_rate)
