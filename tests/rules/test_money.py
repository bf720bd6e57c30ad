"""supplychain.rules.money: half-up rounding, and the whole units the database keeps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplychain.rules.money import from_units, half_up_context, has_places, round_half_up, to_units


@pytest.mark.parametrize(
    ("value", "places", "rounded"),
    [
        ("0.125", 2, "0.13"),  # banker's rounding would give 0.12
        ("0.135", 2, "0.14"),
        ("-0.125", 2, "-0.13"),  # half away from zero
        ("2.675", 2, "2.68"),
        ("0.12345", 4, "0.1235"),
        ("0.0000005", 6, "0.000001"),
        ("12.5", 0, "13"),
    ],
)
def test_round_half_up_rounds_a_tie_away_from_zero(value: str, places: int, rounded: str) -> None:
    result = round_half_up(Decimal(value), places)
    assert (result, str(result)) == (Decimal(rounded), rounded)


def test_half_up_context_is_what_libraries_round_in() -> None:
    with half_up_context():
        assert Decimal("0.125").quantize(Decimal("0.01")) == Decimal("0.13")
    assert Decimal("0.125").quantize(Decimal("0.01")) == Decimal("0.12")  # the default, outside


@pytest.mark.parametrize(
    ("value", "places", "units"),
    [
        ("12.34", 2, 1234),
        ("12.3", 2, 1230),
        ("12.3400", 2, 1234),  # trailing zeros are not places
        ("1E+3", 2, 100000),
        ("0", 4, 0),
        ("-0.01", 2, -1),
        ("0.0001", 4, 1),
        ("99999999999999.9999", 4, 999999999999999999),  # beyond a float's 15 digits
    ],
)
def test_to_units_is_exact(value: str, places: int, units: int) -> None:
    assert to_units(Decimal(value), places) == units
    assert from_units(units, places) == Decimal(value)


@pytest.mark.parametrize("value", ["1.005", "0.001", "1.0000000000000000000000000000001"])
def test_to_units_refuses_more_places_than_the_column_keeps(value: str) -> None:
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        to_units(Decimal(value), 2)
    assert not has_places(Decimal(value), 2)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_to_units_refuses_what_is_not_a_number(value: str) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        to_units(Decimal(value), 2)


def test_from_units_has_exactly_the_columns_places() -> None:
    assert [str(from_units(n, 2)) for n in (0, 5, 100, -1234, 10**18)] == [
        "0.00",
        "0.05",
        "1.00",
        "-12.34",
        "10000000000000000.00",
    ]


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.sampled_from([0, 2, 4, 6]))
def test_units_round_trip(units: int, places: int) -> None:
    assert to_units(from_units(units, places), places) == units
