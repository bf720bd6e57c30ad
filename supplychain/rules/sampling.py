"""Single sampling plans by attributes: ISO 2859-1 / ANSI/ASQ Z1.4 / MIL-STD-105E.

The three documents print the same tables for normal and tightened inspection; the numbers below
follow MIL-STD-105E (10 May 1989):

- Table I   -- sample size code letters, from the lot size and the inspection level
  (special levels S-1 to S-4, general levels I, II, III).
- Table II-A -- single sampling plans for normal inspection (master table).
- Table II-B -- single sampling plans for tightened inspection (master table).
- Table II-C -- single sampling plans for reduced inspection (master table), in the edition of
  MIL-STD-105E Table II-C = ANSI/ASQ Z1.4 Table II-C, *with* the reduced-inspection gap between Ac
  and Re (0/2, 1/3, 1/4, 2/5, 3/6, 5/8, 7/10, 10/13, 14/17, 21/24). ISO 2859-1:1999 Table 2-C has
  no such gap (Re = Ac + 1) and is NOT what is implemented here. The gap is what the switching
  rules' reduced -> normal condition (`switching.LotResult.exceeded_accept`, MIL-STD-105E 4.7.4 /
  Z1.4 8.3.4) and `SamplingPlan.verdict`'s "accept_reinstate_normal" rely on.

How a plan is read (MIL-STD-105E 4.9.3, 4.9.4 and the table notes):

1. Table I gives the code letter for the lot size and level.
2. In the master table, the row of that code letter and the column of the AQL hold either an
   acceptance/rejection pair (Ac, Re) or an arrow. "↓" means *use the first sampling plan below the
   arrow*, "↑" the first plan above it. The plan found carries its own row's sample size, so the code
   letter (and the sample size) change when an arrow is followed.
3. "If sample size equals or exceeds lot or batch size, do 100 percent inspection": the whole lot is
   inspected, still judged with the plan's Ac/Re.

The master tables are not stored cell by cell here: the standard lays every table out along
diagonals (one column to the right = one code letter up), so each table is built from its series of
Ac/Re pairs, the column where each row's 0/1 plan sits, and the point past which a row only points
up. The few cells the printed tables draw differently are listed as exceptions. The tests compare
every cell against an independent cell-by-cell transcription (tests/rules/data/).

Sources cross-checked (details, quotations and disagreements in tests/rules/data/README.md): a
text extraction of MIL-STD-105E Tables I and II-A (scribd "Tablas", document 563507790); NIBS/FMOC
"AC-TABLE.ASC" (MIL-STD-105E Table II-A and II-B transcription, AQL 0.65-15, arrows included); the
AQL Inspector's Rule manual (the cells at the top and bottom edges: code letter A at AQL 10, rows Q
and R below AQL 0.040); wisetool.com's Table I; the PyPI package `garment-aql-calculator` 1.0.0
(Table I, all seven levels; its arrow handling is wrong, see README); and the R package AQLSchemes
1.7-2 (CRAN, John Lawson, R/AAZ14Single.R), which stores Tables II-A, II-B and II-C already resolved
(sample size, Ac, Re per code letter and AQL) and agrees with every cell of II-A and II-B here.

The edges, where an arrow would leave the table (both are decided by sources, not by the diagonal):

- Code letter A at AQL 10 has no plan above it. The AQL Inspector's Rule manual (notes, item 1)
  says: use code letter C on normal and reduced inspection, D on tightened; AQLSchemes resolves the
  cell the same way (normal n = 5, Ac 1, Re 2). The cell is therefore a down arrow in II-A and
  II-C (through B, whose cell in that column points down too) and, as before, in II-B.
- Code letter R at AQL 0.010 and 0.015 has no row below it (II-B: only S's 1/2 under 0.025, which
  the Inspector's Rule confirms for Q and R at 0.025). R/0.015 points up in all three tables:
  normal -> P (n = 800, 0/1) and reduced -> P (n = 315, 0/1), both given by the Inspector's Rule;
  tightened -> Q (n = 1250, 0/1), given by AQLSchemes (the Inspector's Rule says nothing of that
  cell; see the README for why the former reading, a down arrow to S, was dropped).

Table II-C rests on ONE source only: AQLSchemes 1.7-2 (read through its public copy
github.com/fjgonzalezmgt/AQLSchemesCust and the CRAN mirror github.com/cran/AQLSchemes). No second
independent transcription of Table II-C with its gaps could be found (the ones found were either
the ISO 1999 edition without gaps or demonstrably wrong, see the README), so the reduced plans are
NOT cross-checked, apart from three cells the Inspector's Rule names: A/10 -> C, R/0.015 -> P
(n = 315, 0/1) and G/1.0 -> H (n = 20, Ac 0, Re 2). Rows D-R follow a regular diagonal in that
source (0/1, up arrow, down arrow, then the gap series); rows A, B and C (all sample size 2) do
not, and are taken cell by cell from it. Because A, B and C share one sample size, the source
cannot tell whether such a cell is that row's own plan or an arrow to another of the three rows:
they are read as the row's own plans (same sample size, Ac and Re either way; only the reported
code letter could differ), except A/10 and B/10, which point down to C as the Inspector's Rule
says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

Severity = Literal["normal", "tightened", "reduced"]
SEVERITIES: Final = ("normal", "tightened", "reduced")

#: The AQL columns of Tables II-A/B/C (percent nonconforming up to 10, nonconformities per 100 units
#: above), as the standard prints them. Keys are strings, never floats.
AQL_VALUES: Final[tuple[str, ...]] = (
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65",
    "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65",
    "100", "150", "250", "400", "650", "1000",
)  # fmt: skip

INSPECTION_LEVELS: Final[tuple[str, ...]] = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")

# --- Table I: sample size code letters ------------------------------------------------------------

#: Upper bound of each lot-size band of Table I (the last band, 500 001 and over, is open).
_LOT_BAND_UPPER: Final[tuple[int, ...]] = (
    8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10000, 35000, 150000, 500000,
)  # fmt: skip

#: Table I, one letter per lot-size band (2-8, 9-15, ..., 500 001 and over), per inspection level.
_TABLE_I: Final[dict[str, str]] = {
    "S-1": "AAAABBBBCCCCDDD",
    "S-2": "AAABBBCCCDDDEEE",
    "S-3": "AABBCCDDEEFFGGH",
    "S-4": "AABCCDEEFGGHJJK",
    "I": "AABCCDEFGHJKLMN",
    "II": "ABCDEFGHJKLMNPQ",
    "III": "BCDEFGHJKLMNPQR",
}

# --- Tables II-A and II-B ---------------------------------------------------------------------------

_NORMAL_LETTERS: Final = "ABCDEFGHJKLMNPQR"
_NORMAL_SAMPLE_SIZES: Final = (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000)
# Table II-B adds code letter S (sample size 3150), reached only through its arrows.
_TIGHTENED_LETTERS: Final = _NORMAL_LETTERS + "S"
_TIGHTENED_SAMPLE_SIZES: Final = (*_NORMAL_SAMPLE_SIZES, 3150)

#: The Ac/Re pairs that follow 0/1 along a row, left to right (Table II-A).
_NORMAL_SERIES: Final = (
    (1, 2), (2, 3), (3, 4), (5, 6), (7, 8), (10, 11), (14, 15), (21, 22), (30, 31), (44, 45),
)  # fmt: skip
#: Same for Table II-B.
_TIGHTENED_SERIES: Final = (
    (1, 2), (2, 3), (3, 4), (5, 6), (8, 9), (12, 13), (18, 19), (27, 28), (41, 42),
)  # fmt: skip

_DOWN: Final = "↓"
_UP: Final = "↑"
_Cell = tuple[int, int] | str | None  # (Ac, Re), an arrow, or None where the table prints nothing
_Grid = tuple[tuple[_Cell, ...], ...]

# --- Table II-C (reduced; MIL-STD-105E / ANSI/ASQ Z1.4 edition, with the Ac/Re gap) ----------------

_REDUCED_LETTERS: Final = _NORMAL_LETTERS
_REDUCED_SAMPLE_SIZES: Final = (2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800)
#: The Ac/Re pairs that follow the 0/1 plan, an up arrow and a down arrow along rows D-R.
_REDUCED_SERIES: Final = (
    (0, 2), (1, 3), (1, 4), (2, 5), (3, 6), (5, 8), (7, 10), (10, 13), (14, 17), (21, 24),
)  # fmt: skip
#: Rows A, B and C (sample size 2 each) from AQL 2.5 to 1000, as AQLSchemes 1.7-2 gives them; every
#: column left of 2.5 points down. They break the diagonal of rows D-R (see the module docstring).
#: A and B at AQL 10 point down to C's 0/2: the AQL Inspector's Rule sends code letter A at AQL 10
#: to code letter C on reduced inspection (AQLSchemes' n = 2, 0/2 cannot tell A, B and C apart).
_REDUCED_TOP_ROWS: Final[tuple[tuple[_Cell, ...], ...]] = (
    (
        (0, 1), (0, 1), (0, 1), "↓", (0, 2), (1, 2), (2, 3), (3, 4), (5, 6), (7, 8),
        (10, 11), (14, 15), (21, 22), (30, 31),
    ),
    (
        (0, 1), (0, 1), (0, 1), "↓", (0, 2), (1, 3), (2, 4), (3, 5), (5, 6), (7, 8),
        (10, 11), (14, 15), (21, 22), (30, 31),
    ),
    (
        (0, 1), (0, 1), "↓", (0, 2), (1, 3), (1, 4), (2, 5), (3, 6), (5, 8), (7, 10),
        (10, 13), (14, 17), (21, 24), (30, 31),
    ),
)  # fmt: skip
_REDUCED_TOP_FIRST_COLUMN: Final = 12  # AQL 2.5


def _normal_cell(row: int, col: int) -> _Cell:
    """Table II-A. Row `row` (A=0) has 0/1 at column 14 - row, then ↑, ↓ and the series.

    Rows A-E run to 44/45 (nonconformities per 100 units); rows F-R stop at 21/22 and point up after.
    """
    k = col - (14 - row)
    if k < 0:
        return _DOWN
    if k == 0:
        return (0, 1)
    if k == 1:
        # Exception: row A, AQL 10. There is no row above A; the AQL Inspector's Rule sends this cell
        # to code letter C (and AQLSchemes to n = 5, 1/2), which is where a down arrow leads through
        # B's down arrow in the same column.
        return _DOWN if row == 0 else _UP
    if k == 2:
        # Exception: row R, AQL 0.015. There is no row below R; the printed table runs the up arrow
        # of Q/0.015 through R/0.015 (it points to P's 0/1). The MIL-STD-105E text lists R's plans
        # as 1/2 ... 21/22 only, starting at 0.025.
        return _UP if row == len(_NORMAL_LETTERS) - 1 else _DOWN
    last = len(_NORMAL_SERIES) - 1 if row <= 4 else _NORMAL_SERIES.index((21, 22))
    return _NORMAL_SERIES[k - 3] if k - 3 <= last else _UP


def _tightened_cell(row: int, col: int) -> _Cell:
    """Table II-B. Row `row` has 0/1 at column 15 - row, then two down arrows and the series.

    Rows A-E run to 41/42; rows F-R stop at 18/19 and point up after. Row S holds only 1/2, at AQL
    0.025, under the down arrows of Q and R (the only place the diagonal puts a plan in row S).
    """
    if row == len(_TIGHTENED_LETTERS) - 1:  # S
        return (1, 2) if col == 2 else None
    if row == len(_TIGHTENED_LETTERS) - 2 and col == 1:
        # Exception: row R, AQL 0.015. The diagonal would point down past S (whose only plan is in
        # column 0.025); AQLSchemes resolves the cell to Q's 0/1 (n = 1250), an up arrow like R/0.015
        # of II-A and II-C. See tests/rules/data/README.md for the earlier reading and the sources.
        return _UP
    k = col - (15 - row)
    if k < 0:
        return _DOWN
    if k == 0:
        # Exception: row A, AQL 10 is drawn as part of the down arrow to D's 1/2 (NIBS AC-TABLE
        # Table 1-B shows no plan in row A up to AQL 15); the 0/1 diagonal of II-B starts at B/6.5.
        return _DOWN if row == 0 else (0, 1)
    if k in (1, 2):
        return _DOWN
    last = len(_TIGHTENED_SERIES) - 1 if row <= 4 else _TIGHTENED_SERIES.index((18, 19))
    return _TIGHTENED_SERIES[k - 3] if k - 3 <= last else _UP


def _reduced_cell(row: int, col: int) -> _Cell:
    """Table II-C. Rows D-R: 0/1 at column 14 - row (as in II-A), then ↑, ↓ and the gap series.

    Rows D and E run to 21/24; rows F-R stop at 10/13 and point up after. Row R, AQL 0.015 has no
    row below: it points up like II-A's R/0.015 (AQLSchemes resolves it to P's 0/1, n = 315).
    Rows A-C are tabled explicitly (`_REDUCED_TOP_ROWS`).
    """
    if row < len(_REDUCED_TOP_ROWS):
        if col < _REDUCED_TOP_FIRST_COLUMN:
            return _DOWN
        return _REDUCED_TOP_ROWS[row][col - _REDUCED_TOP_FIRST_COLUMN]
    k = col - (14 - row)
    if k < 0:
        return _DOWN
    if k == 0:
        return (0, 1)
    if k == 1:
        return _UP
    if k == 2:
        return _UP if row == len(_REDUCED_LETTERS) - 1 else _DOWN
    last = len(_REDUCED_SERIES) - 1 if row <= 4 else _REDUCED_SERIES.index((10, 13))
    return _REDUCED_SERIES[k - 3] if k - 3 <= last else _UP


def _build(letters: str, cell: Callable[[int, int], _Cell]) -> _Grid:
    return tuple(tuple(cell(r, c) for c in range(len(AQL_VALUES))) for r in range(len(letters)))


@dataclass(frozen=True)
class _MasterTable:
    name: str
    letters: str
    sample_sizes: tuple[int, ...]
    grid: _Grid


_MASTER_TABLES: Final[dict[str, _MasterTable]] = {
    "normal": _MasterTable(
        "Table II-A", _NORMAL_LETTERS, _NORMAL_SAMPLE_SIZES, _build(_NORMAL_LETTERS, _normal_cell)
    ),
    "tightened": _MasterTable(
        "Table II-B", _TIGHTENED_LETTERS, _TIGHTENED_SAMPLE_SIZES, _build(_TIGHTENED_LETTERS, _tightened_cell)
    ),
    "reduced": _MasterTable(
        "Table II-C", _REDUCED_LETTERS, _REDUCED_SAMPLE_SIZES, _build(_REDUCED_LETTERS, _reduced_cell)
    ),
}


# --- Public API -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplingPlan:
    """What the inspector works with: draw `sample_size` units, accept with at most `accept`
    nonconforming, reject with `reject` or more.

    `code_letter` is the row the plan was read from (it differs from Table I's letter when an arrow
    was followed). `hundred_percent` means the plan's sample size reached the lot size, so the whole
    lot is inspected (`sample_size` is then the lot size).
    """

    code_letter: str
    sample_size: int
    accept: int
    reject: int
    hundred_percent: bool

    def verdict(self, defects: int) -> Literal["accept", "reject", "accept_reinstate_normal"]:
        """Accept at most Ac, reject at Re or more; in between only exists on reduced inspection."""
        if defects < 0 or defects > self.sample_size:
            raise ValueError(f"Defects must be from 0 to the sample size {self.sample_size}, not {defects}.")
        if defects <= self.accept:
            return "accept"
        if defects >= self.reject:
            return "reject"
        return "accept_reinstate_normal"


def normalize_aql(aql: str | Decimal) -> str:
    """The AQL as the standard prints it ("1" and Decimal("1.00") give "1.0"); ValueError otherwise."""
    if isinstance(aql, float) or not isinstance(aql, str | Decimal):
        raise ValueError(f"Give the AQL as a string or Decimal ({', '.join(AQL_VALUES)}), not {aql!r}.")
    try:
        value = Decimal(aql.strip() if isinstance(aql, str) else aql)
    except InvalidOperation:
        raise ValueError(f"Unknown AQL {aql!r}: use one of {', '.join(AQL_VALUES)}.") from None
    for printed in AQL_VALUES:
        if Decimal(printed) == value:
            return printed
    raise ValueError(f"Unknown AQL {aql!r}: use one of {', '.join(AQL_VALUES)}.")


def code_letter(lot_size: int, level: str) -> str:
    """Table I: the sample size code letter for a lot size and inspection level.

    Table I starts at lot size 2; a lot of one unit uses the first band (and is inspected 100%).
    """
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size < 1:
        raise ValueError(f"Lot size must be a whole number of at least 1, not {lot_size!r}.")
    letters = _TABLE_I.get(level)
    if letters is None:
        raise ValueError(f"Unknown inspection level {level!r}: use one of {', '.join(INSPECTION_LEVELS)}.")
    band = next((i for i, upper in enumerate(_LOT_BAND_UPPER) if lot_size <= upper), len(_LOT_BAND_UPPER))
    return letters[band]


def plan_for_code_letter(
    letter: str, aql: str | Decimal, severity: Severity = "normal"
) -> tuple[str, int, int, int]:
    """Read Table II-A/II-B/II-C at (code letter, AQL), following arrows: (letter, sample size, Ac, Re)."""
    table = _master_table(severity)
    column = AQL_VALUES.index(normalize_aql(aql))
    if letter not in table.letters:
        raise ValueError(f"Unknown code letter {letter!r} for {table.name}.")
    row = table.letters.index(letter)
    cell = table.grid[row][column]
    direction = 0
    while isinstance(cell, str):
        step = 1 if cell == _DOWN else -1
        if direction and step != direction:  # pragma: no cover - the tables never do this
            raise AssertionError(f"{table.name}: arrows reverse at {letter}/{aql}")
        direction, row = step, row + step
        if not 0 <= row < len(table.letters):  # pragma: no cover - guarded by the tests
            raise AssertionError(f"{table.name}: arrow at {letter}/{aql} leaves the table")
        cell = table.grid[row][column]
    if cell is None:  # pragma: no cover - guarded by the tests
        raise AssertionError(f"{table.name}: no plan at {letter}/{aql}")
    accept, reject = cell
    return table.letters[row], table.sample_sizes[row], accept, reject


def single_sampling_plan(
    lot_size: int, level: str, aql: str | Decimal, severity: Severity = "normal"
) -> SamplingPlan:
    """The single sampling plan for a lot: Table I, then Table II-A (normal), II-B (tightened) or II-C
    (reduced, with the MIL-STD-105E / Z1.4 gap between Ac and Re)."""
    letter = code_letter(lot_size, level)
    plan_letter, sample_size, accept, reject = plan_for_code_letter(letter, aql, severity)
    if sample_size >= lot_size:
        return SamplingPlan(plan_letter, lot_size, accept, reject, hundred_percent=True)
    return SamplingPlan(plan_letter, sample_size, accept, reject, hundred_percent=False)


def tighter_accept_number(letter: str, aql: str | Decimal) -> int | None:
    """Ac of the normal plan with the same sample size one AQL step tighter (ISO 2859-1:1999 9.3.3.2).

    Used by the switching score when Ac >= 2. None when there is no tighter AQL column or the
    tighter column's plan has another sample size (only possible when Ac is 0 or 1).
    """
    plan_letter, sample_size, _, _ = plan_for_code_letter(letter, aql)
    column = AQL_VALUES.index(normalize_aql(aql))
    if column == 0:
        return None
    tighter_letter, tighter_size, tighter_accept, _ = plan_for_code_letter(
        plan_letter, AQL_VALUES[column - 1]
    )
    return tighter_accept if tighter_size == sample_size and tighter_letter == plan_letter else None


def _master_table(severity: str) -> _MasterTable:
    table = _MASTER_TABLES.get(severity)
    if table is None:
        raise ValueError(f"Unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}.")
    return table
