"""Decisions with options in the shared approval step: which options need which details.

An approval step may offer choices instead of approve/reject (a rejected lot: concession, sorting
or return to vendor). The step itself stays generic; this module says what each choice needs, so
the validator of `ApprovalWorkflow.decide` can refuse an incomplete decision before it is taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final

from supplychain.i18n import lazy
from supplychain.rules.money import has_places

CONCESSION: Final = "concession"
SORTING: Final = "sorting"
RETURN_TO_VENDOR: Final = "return_to_vendor"
REJECTED_LOT_CHOICES: Final = (CONCESSION, SORTING, RETURN_TO_VENDOR)
DEDUCTION_PERCENT: Final = "deduction_percent"

CHOICE_REQUIRED = lazy("Please choose one of the options.")
UNKNOWN_CHOICE = lazy("This option is not offered for this decision.")
DEDUCTION_REQUIRED = lazy("A concession needs a price deduction in percent.")
DEDUCTION_RANGE = lazy("The price deduction must be a number above 0 and below 100 (percent).")


@dataclass(frozen=True)
class ChoiceProblem:
    message: str  # a message id
    params: dict[str, object] = field(default_factory=dict)


def deduction_percent(details: Mapping[str, str]) -> Decimal | None:
    """The concession's deduction (0 < d < 100, at most 2 decimals), or None when missing or bad."""
    raw = details.get(DEDUCTION_PERCENT, "").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite() or not Decimal(0) < value < Decimal(100) or not has_places(value, 2):
        return None
    return value


def choice_problem(choices: list[str], choice: str, details: Mapping[str, str]) -> ChoiceProblem | None:
    """Why `choice` (with `details`) cannot decide a step offering `choices`; None when it can."""
    if not choice:
        return ChoiceProblem(CHOICE_REQUIRED)
    if choice not in choices:
        return ChoiceProblem(UNKNOWN_CHOICE)
    if choice == CONCESSION:
        if not details.get(DEDUCTION_PERCENT, "").strip():
            return ChoiceProblem(DEDUCTION_REQUIRED)
        if deduction_percent(details) is None:
            return ChoiceProblem(DEDUCTION_RANGE)
    return None
