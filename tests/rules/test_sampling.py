"""Sampling plans against every cell of ISO 2859-1 / MIL-STD-105E Tables I, II-A, II-B and II-C.

The expected values come from the cell-by-cell transcriptions in tests/rules/data/ (see its
README for sources), resolved by this module's own arrow-following helper.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from supplychain.rules.sampling import (
    AQL_VALUES,
    INSPECTION_LEVELS,
    SamplingPlan,
    code_letter,
    plan_for_code_letter,
    single_sampling_plan,
    tighter_accept_number,
)

DATA = Path(__file__).parent / "data"


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


TABLE_I = read_csv("table_I.csv")
TABLE_II_A = read_csv("table_II_A.csv")
TABLE_II_B = read_csv("table_II_B.csv")
TABLE_II_C = read_csv("table_II_C.csv")
TABLE_I_LETTERS = "ABCDEFGHJKLMNPQR"


def resolve(table: list[dict[str, str]], letter: str, aql: str) -> tuple[str, int, int, int]:
    """Follow the printed arrows: ↓ = first plan below in the column, ↑ = first plan above."""
    row = [r["code_letter"] for r in table].index(letter)
    cell = table[row][aql]
    while cell in ("↓", "↑"):
        row += 1 if cell == "↓" else -1
        assert 0 <= row < len(table), f"arrow leaves the table at {letter}/{aql}"
        cell = table[row][aql]
    assert cell, f"arrow from {letter}/{aql} ends on an empty cell"
    accept, reject = (int(x) for x in cell.split("/"))
    return table[row]["code_letter"], int(table[row]["sample_size"]), accept, reject


def test_transcriptions_have_the_standards_shape() -> None:
    assert [r["code_letter"] for r in TABLE_II_A] == list(TABLE_I_LETTERS)
    assert [r["code_letter"] for r in TABLE_II_B] == [*TABLE_I_LETTERS, "S"]
    assert [r["code_letter"] for r in TABLE_II_C] == list(TABLE_I_LETTERS)
    assert [int(r["sample_size"]) for r in TABLE_II_C] == [
        2,
        2,
        2,
        3,
        5,
        8,
        13,
        20,
        32,
        50,
        80,
        125,
        200,
        315,
        500,
        800,
    ]
    for table in (TABLE_II_A, TABLE_II_B, TABLE_II_C):
        assert tuple(table[0])[2:] == AQL_VALUES
    assert tuple(TABLE_I[0])[2:] == INSPECTION_LEVELS
    assert len(TABLE_I) == 15


# --- Table I ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("band", TABLE_I, ids=lambda b: f"{b['lot_min']}-{b['lot_max'] or 'over'}")
@pytest.mark.parametrize("level", INSPECTION_LEVELS)
def test_table_I_every_cell(band: dict[str, str], level: str) -> None:
    low = int(band["lot_min"])
    high = int(band["lot_max"]) if band["lot_max"] else 10_000_000
    for lot_size in {low, (low + high) // 2, high}:
        assert code_letter(lot_size, level) == band[level], (lot_size, level)


def test_lot_of_one_uses_the_first_band_and_is_inspected_whole() -> None:
    assert code_letter(1, "II") == "A"
    plan = single_sampling_plan(1, "II", "6.5")
    assert plan == SamplingPlan("A", 1, 0, 1, hundred_percent=True)


# --- Tables II-A and II-B: every code letter x every AQL -------------------------------------------


@pytest.mark.parametrize("letter", TABLE_I_LETTERS)
@pytest.mark.parametrize("aql", AQL_VALUES)
def test_table_II_A_every_cell(letter: str, aql: str) -> None:
    assert plan_for_code_letter(letter, aql, "normal") == resolve(TABLE_II_A, letter, aql)


@pytest.mark.parametrize("letter", TABLE_I_LETTERS)
@pytest.mark.parametrize("aql", AQL_VALUES)
def test_table_II_B_every_cell(letter: str, aql: str) -> None:
    assert plan_for_code_letter(letter, aql, "tightened") == resolve(TABLE_II_B, letter, aql)


@pytest.mark.parametrize("letter", TABLE_I_LETTERS)
@pytest.mark.parametrize("aql", AQL_VALUES)
def test_table_II_C_every_cell(letter: str, aql: str) -> None:
    assert plan_for_code_letter(letter, aql, "reduced") == resolve(TABLE_II_C, letter, aql)


def test_table_II_C_has_the_mil_std_gap_between_ac_and_re() -> None:
    gaps = {
        (accept, reject)
        for row in TABLE_II_C
        for aql in AQL_VALUES
        if "/" in row[aql]
        for accept, reject in [map(int, row[aql].split("/"))]
        if reject > accept + 1
    }
    assert {(0, 2), (1, 3), (1, 4), (2, 5), (3, 6), (5, 8), (7, 10), (10, 13), (14, 17), (21, 24)} <= gaps


@pytest.mark.parametrize(
    ("letter", "aql", "severity", "expected"),
    [
        ("J", "1.0", "normal", ("J", 80, 2, 3)),  # a plain cell
        ("A", "0.65", "normal", ("F", 20, 0, 1)),  # ↓: the plan below brings its sample size
        ("B", "6.5", "normal", ("A", 2, 0, 1)),  # ↑ next to the 0/1 diagonal
        ("C", "6.5", "normal", ("D", 8, 1, 2)),  # ↓ right after ↑
        ("M", "6.5", "normal", ("L", 200, 21, 22)),  # ↑ past the last plan of a row
        ("C", "1000", "normal", ("B", 3, 44, 45)),
        ("R", "0.010", "normal", ("Q", 1250, 0, 1)),
        ("R", "0.015", "normal", ("P", 800, 0, 1)),  # no row below R: the up arrow
        ("J", "1.0", "tightened", ("J", 80, 1, 2)),
        ("R", "0.025", "tightened", ("S", 3150, 1, 2)),  # code letter S exists only in II-B
        ("E", "250", "tightened", ("E", 13, 41, 42)),
        ("J", "1.0", "reduced", ("J", 32, 1, 3)),  # the reduced gap: Ac 1, Re 3
        ("K", "0.25", "reduced", ("L", 80, 0, 2)),  # ↓ brings L's sample size
        ("K", "0.15", "reduced", ("J", 32, 0, 1)),  # ↑ beside the 0/1 diagonal
        ("K", "15", "reduced", ("J", 32, 10, 13)),  # ↑ past the last plan of a row
        ("R", "0.010", "reduced", ("Q", 500, 0, 1)),
        ("R", "0.015", "reduced", ("P", 315, 0, 1)),  # no row below R: the up arrow
        ("C", "6.5", "reduced", ("D", 3, 0, 2)),
    ],
)
def test_worked_examples(letter: str, aql: str, severity: str, expected: tuple[str, int, int, int]) -> None:
    assert plan_for_code_letter(letter, aql, severity) == expected


def test_single_sampling_plan_combines_table_I_and_the_master_table() -> None:
    assert single_sampling_plan(1000, "II", "1.0") == SamplingPlan("J", 80, 2, 3, hundred_percent=False)
    assert single_sampling_plan(1000, "II", "1.0", "tightened") == SamplingPlan("J", 80, 1, 2, False)
    assert single_sampling_plan(2400, "II", "2.5") == SamplingPlan("K", 125, 7, 8, False)
    # S-1 on a big lot: D (8) at AQL 0.65 points down to F (20).
    assert single_sampling_plan(200_000, "S-1", "0.65") == SamplingPlan("F", 20, 0, 1, False)


@pytest.mark.parametrize("band", TABLE_I, ids=lambda b: b["lot_min"])
@pytest.mark.parametrize("aql", AQL_VALUES)
def test_every_band_at_level_II_through_the_public_function(band: dict[str, str], aql: str) -> None:
    lot_size = int(band["lot_max"] or 600_000)
    letter, n, accept, reject = resolve(TABLE_II_A, band["II"], aql)
    plan = single_sampling_plan(lot_size, "II", aql)
    assert (plan.code_letter, plan.accept, plan.reject) == (letter, accept, reject)
    assert plan.sample_size == min(n, lot_size)
    assert plan.hundred_percent == (n >= lot_size)


# --- The edges: cells whose arrow would leave the table (sources in data/README.md) ------------------


def test_normal_code_letter_A_at_aql_10_uses_code_letter_C() -> None:
    # AQL Inspector's Rule manual, notes 1: "For Normal and Reduced inspection use Code Letter C".
    assert plan_for_code_letter("A", "10", "normal") == ("C", 5, 1, 2)


def test_reduced_code_letter_A_at_aql_10_uses_code_letter_C() -> None:
    assert plan_for_code_letter("A", "10", "reduced") == ("C", 2, 0, 2)


def test_tightened_code_letter_A_at_aql_10_uses_code_letter_D() -> None:
    # Same note: "For Tightened inspection use Code Letter D".
    assert plan_for_code_letter("A", "10", "tightened") == ("D", 8, 1, 2)


@pytest.mark.parametrize("table", [TABLE_II_A, TABLE_II_B, TABLE_II_C], ids=["II-A", "II-B", "II-C"])
def test_no_arrow_leaves_a_table_at_the_top_or_the_bottom(table: list[dict[str, str]]) -> None:
    # The every-cell tests hold the implementation to these transcriptions.
    assert [aql for aql in AQL_VALUES if table[0][aql] == "↑"] == []
    assert [aql for aql in AQL_VALUES if table[-1][aql] == "↓"] == []


@pytest.mark.parametrize(
    ("letter", "aql", "severity", "expected"),
    [
        # AQL Inspector's Rule, "use for AQLs below 0.065": normal R/0.015 -> P, n=800, 0/1.
        ("R", "0.015", "normal", ("P", 800, 0, 1)),
        ("R", "0.010", "normal", ("Q", 1250, 0, 1)),
        ("Q", "0.025", "normal", ("R", 2000, 1, 2)),
        # Same page: reduced R/0.015 -> P, n=315, 0/1.
        ("R", "0.015", "reduced", ("P", 315, 0, 1)),
        ("R", "0.010", "reduced", ("Q", 500, 0, 1)),
        ("Q", "0.025", "reduced", ("R", 800, 0, 2)),
        # Same page: tightened Q and R at 0.025 -> n=3150, 1/2.
        ("Q", "0.025", "tightened", ("S", 3150, 1, 2)),
        ("R", "0.025", "tightened", ("S", 3150, 1, 2)),
        ("Q", "0.010", "tightened", ("R", 2000, 0, 1)),
        ("R", "0.010", "tightened", ("R", 2000, 0, 1)),
    ],
)
def test_bottom_edge_cells(letter: str, aql: str, severity: str, expected: tuple[str, int, int, int]) -> None:
    assert plan_for_code_letter(letter, aql, severity) == expected


def test_tightened_code_letter_R_at_aql_0_015_uses_Q_not_S() -> None:
    # AQLSchemes 1.7-2 (tightened n=1250, Ac 0, Re 1); row S holds a plan only at AQL 0.025.
    assert plan_for_code_letter("R", "0.015", "tightened") == ("Q", 1250, 0, 1)
    assert [aql for aql in AQL_VALUES if TABLE_II_B[-1][aql]] == ["0.025"]


def test_code_letter_S_is_reached_only_through_aql_0_025() -> None:
    reached = {
        (letter, aql)
        for letter in TABLE_I_LETTERS
        for aql in AQL_VALUES
        if plan_for_code_letter(letter, aql, "tightened")[0] == "S"
    }
    assert reached == {("Q", "0.025"), ("R", "0.025")}


@pytest.mark.parametrize(
    ("lot_size", "severity", "expected"),
    [
        # Level II, lots of 2-8 -> A; AQL 10 points to C (n=5 normal, 2 reduced) or D (n=8 tightened).
        (3, "normal", SamplingPlan("C", 3, 1, 2, hundred_percent=True)),
        (5, "normal", SamplingPlan("C", 5, 1, 2, hundred_percent=True)),
        (8, "normal", SamplingPlan("C", 5, 1, 2, hundred_percent=False)),
        (8, "tightened", SamplingPlan("D", 8, 1, 2, hundred_percent=True)),
        (3, "reduced", SamplingPlan("C", 2, 0, 2, hundred_percent=False)),
        (2, "reduced", SamplingPlan("C", 2, 0, 2, hundred_percent=True)),
    ],
)
def test_a_plan_found_by_an_arrow_larger_than_the_lot_inspects_the_whole_lot(
    lot_size: int, severity: str, expected: SamplingPlan
) -> None:
    assert single_sampling_plan(lot_size, "II", "10", severity) == expected


# --- 100 % inspection ------------------------------------------------------------------------------


def test_sample_size_reaching_the_lot_size_means_inspecting_the_whole_lot() -> None:
    # Lot 10, level II -> B; AQL 0.65 points down to F (n=20) > 10 units.
    assert single_sampling_plan(10, "II", "0.65") == SamplingPlan("F", 10, 0, 1, hundred_percent=True)
    # Lot 8, level II -> A (n=2) at AQL 6.5: a normal sample.
    assert single_sampling_plan(8, "II", "6.5") == SamplingPlan("A", 2, 0, 1, hundred_percent=False)
    # Lot 2 at level III -> B (n=3) >= 2 units.
    assert single_sampling_plan(2, "III", "4.0") == SamplingPlan("B", 2, 0, 1, hundred_percent=True)
    # Sample size exactly the lot size is 100 % too.
    assert single_sampling_plan(20, "II", "0.65").hundred_percent  # C -> ↓ -> F, n=20


# --- AQL input -------------------------------------------------------------------------------------


def test_aql_accepts_strings_and_decimals_in_any_spelling() -> None:
    expected = single_sampling_plan(1000, "II", "1.0")
    assert single_sampling_plan(1000, "II", "1") == expected
    assert single_sampling_plan(1000, "II", Decimal("1.00")) == expected
    assert single_sampling_plan(1000, "II", " 0.01 ") == single_sampling_plan(1000, "II", "0.010")


@pytest.mark.parametrize("aql", ["0.02", "3", "2000", "abc", "", "-1"])
def test_unknown_aql_is_refused(aql: str) -> None:
    with pytest.raises(ValueError, match="AQL"):
        single_sampling_plan(1000, "II", aql)


def test_float_aql_is_refused() -> None:
    with pytest.raises(ValueError, match="string or Decimal"):
        single_sampling_plan(1000, "II", 0.65)


# --- Bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lot_size", [0, -5, 1.5, True, "100"])
def test_lot_size_below_one_or_not_a_whole_number_is_refused(lot_size: object) -> None:
    with pytest.raises(ValueError, match="Lot size"):
        code_letter(lot_size, "II")
    with pytest.raises(ValueError, match="Lot size"):
        single_sampling_plan(lot_size, "II", "1.0")


@pytest.mark.parametrize("level", ["IV", "ii", "S1", "", "S-5"])
def test_unknown_inspection_level_is_refused(level: str) -> None:
    with pytest.raises(ValueError, match="inspection level"):
        single_sampling_plan(1000, level, "1.0")


def test_unknown_severity_and_code_letter_are_refused() -> None:
    with pytest.raises(ValueError, match="severity"):
        single_sampling_plan(1000, "II", "1.0", "lenient")
    with pytest.raises(ValueError, match="code letter"):
        plan_for_code_letter("I", "1.0")


def test_reduced_inspection_reads_table_II_C() -> None:
    # Lot 1000, level II -> J; reduced J at AQL 1.5 is n=32, Ac 1, Re 4.
    plan = single_sampling_plan(1000, "II", "1.5", "reduced")
    assert plan == SamplingPlan("J", 32, 1, 4, hundred_percent=False)
    assert [plan.verdict(d) for d in (1, 2, 3, 4)] == ["accept", *["accept_reinstate_normal"] * 2, "reject"]
    # Lot 3, level II -> A; reduced n=2 < 3 units.
    assert single_sampling_plan(3, "II", "6.5", "reduced") == SamplingPlan(
        "A", 2, 0, 1, hundred_percent=False
    )
    # Lot 10, level II -> B; AQL 0.65 points down to F (n=8) < 10 units.
    assert single_sampling_plan(10, "II", "0.65", "reduced") == SamplingPlan(
        "F", 8, 0, 1, hundred_percent=False
    )


# --- Verdicts and the switching-score helper --------------------------------------------------------


def test_verdict_follows_accept_and_reject_numbers() -> None:
    plan = SamplingPlan("J", 80, 2, 3, hundred_percent=False)
    assert [plan.verdict(d) for d in (0, 2, 3, 80)] == ["accept", "accept", "reject", "reject"]
    gap = SamplingPlan("K", 50, 1, 3, hundred_percent=False)  # a reduced plan with a gap
    assert gap.verdict(2) == "accept_reinstate_normal"
    for bad in (-1, 81):
        with pytest.raises(ValueError, match="Defects"):
            plan.verdict(bad)


def test_tighter_accept_number_reads_one_aql_column_left_in_the_same_row() -> None:
    assert tighter_accept_number("K", "2.5") == 5  # 7/8 -> 5/6 at AQL 1.5, n=125
    assert tighter_accept_number("J", "1.0") == 1  # 2/3 -> 1/2 at 0.65
    assert tighter_accept_number("K", "0.10") is None  # 0/1; 0.065 points to another sample size
    assert tighter_accept_number("Q", "0.010") is None  # no tighter column
