"""An early payment's discount (DESIGN 4.5: a supplier may ask to be paid before the due date).

The rule (issue 12): paid before the due date at a discount rate set per supplier (for example
0.05 % per day early):

    days early = due date - payment date, in calendar days, at least 1
    discount   = round_half_up(amount x rate x days early) to the fen
    net        = amount - discount (what is paid)

`amount` is what would have been paid on the due date (the statement's total including tax). The
discount is a cash discount on the payment: the invoice and its VAT stay as they are.

Refused with ValueError: an amount not positive or not in fen; a rate outside [0, 1 %] per day
(0 <= rate <= 0.01, at most 6 places: 0.000125 = 0.0125 %); a payment date on or after the due date;
a discount that would take the whole amount (rate x days >= 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from supplychain.rules.money import MONEY_PLACES, has_places, round_money

MAX_RATE_PER_DAY = Decimal("0.01")  # 1 % per day
RATE_PLACES = 6


@dataclass(frozen=True)
class EarlyPaymentDiscount:
    days_early: int
    discount: Decimal
    net: Decimal  # amount - discount


def early_payment_discount(
    amount: Decimal, rate_per_day: Decimal, due: dt.date, paid_on: dt.date
) -> EarlyPaymentDiscount:
    """The discount for paying `amount`, due on `due`, on `paid_on` instead, at `rate_per_day`."""
    if not amount.is_finite() or amount <= 0 or not has_places(amount, MONEY_PLACES):
        raise ValueError(f"amount {amount} is not a positive amount in fen")
    if not rate_per_day.is_finite() or not 0 <= rate_per_day <= MAX_RATE_PER_DAY:
        raise ValueError(f"discount rate {rate_per_day} per day is outside [0, {MAX_RATE_PER_DAY}]")
    if not has_places(rate_per_day, RATE_PLACES):
        raise ValueError(f"discount rate {rate_per_day} has more than {RATE_PLACES} decimal places")
    days_early = (due - paid_on).days
    if days_early < 1:
        raise ValueError(f"a payment on {paid_on} is not before the due date {due}")
    if rate_per_day * days_early >= 1:
        raise ValueError(f"{days_early} days early at {rate_per_day} per day would discount the whole amount")
    discount = round_money(amount * rate_per_day * days_early)
    return EarlyPaymentDiscount(days_early, discount, amount - discount)
