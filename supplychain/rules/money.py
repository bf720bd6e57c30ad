"""Money arithmetic: CNY with 2 decimals, rounded half-up per line (the way Chinese VAT invoices do)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(unit_price: Decimal, quantity: int) -> Decimal:
    return round_money(unit_price * quantity)


def line_tax(net: Decimal, tax_rate: Decimal) -> Decimal:
    return round_money(net * tax_rate)
