"""Which decision options need which details (supplychain.rules.decisions)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from supplychain.rules.decisions import (
    CHOICE_REQUIRED,
    DEDUCTION_RANGE,
    DEDUCTION_REQUIRED,
    REJECTED_LOT_CHOICES,
    UNKNOWN_CHOICE,
    choice_problem,
    deduction_percent,
)

CHOICES = list(REJECTED_LOT_CHOICES)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10", Decimal("10")),
        (" 7.5 ", Decimal("7.5")),
        ("0.01", Decimal("0.01")),
        ("99.99", Decimal("99.99")),
    ],
)
def test_a_deduction_strictly_between_0_and_100_with_two_decimals_is_read(
    raw: str, expected: Decimal
) -> None:
    assert deduction_percent({"deduction_percent": raw}) == expected


@pytest.mark.parametrize("raw", ["", "0", "100", "-5", "abc", "NaN", "Infinity", "12.345", "1e3"])
def test_anything_else_is_not_a_deduction(raw: str) -> None:
    assert deduction_percent({"deduction_percent": raw}) is None


def test_a_concession_needs_a_valid_deduction() -> None:
    missing = choice_problem(CHOICES, "concession", {})
    out_of_range = choice_problem(CHOICES, "concession", {"deduction_percent": "100"})
    assert missing is not None and missing.message == DEDUCTION_REQUIRED
    assert out_of_range is not None and out_of_range.message == DEDUCTION_RANGE
    assert choice_problem(CHOICES, "concession", {"deduction_percent": "12.5"}) is None


def test_sorting_and_return_need_no_details_but_the_choice_must_be_offered() -> None:
    assert choice_problem(CHOICES, "sorting", {}) is None
    assert choice_problem(CHOICES, "return_to_vendor", {}) is None
    none = choice_problem(CHOICES, "", {})
    unknown = choice_problem(CHOICES, "scrap", {})
    not_offered = choice_problem(["sorting"], "return_to_vendor", {})
    assert none is not None and none.message == CHOICE_REQUIRED
    assert unknown is not None and unknown.message == UNKNOWN_CHOICE
    assert not_offered is not None and not_offered.message == UNKNOWN_CHOICE
