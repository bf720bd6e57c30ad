"""What each click on an inspection lot may do: the checks behind InspectionWorkflow's Updates.

Pure functions of the lot's state as the workflow holds it and the click's input: each returns
nothing or raises `Refused` (a message id from the catalogue and its parameters).

- `record_defects` (the inspector): once, after the plan is ready; per defect category a count from
  0 to the units inspected for it; notes of a bounded length.
- `record_sorting` (the inspector): only while the lot is being sorted and not sorted yet; the good
  units from 0 to the lot size.
- `acknowledge_return` (the supplier): only while a return waits for its acknowledgement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from supplychain.i18n import lazy
from supplychain.rules.refusal import Refused

NOTES_MAX_LENGTH: Final = 2000
CATEGORIES: Final = ("critical", "major", "minor")

NOT_READY: Final = lazy("This inspection is still being prepared. Please try again in a moment.")
ALREADY_DECIDED: Final = lazy("This inspection has already been decided.")
NEGATIVE: Final = {
    "critical": lazy("The number of critical defects cannot be negative."),
    "major": lazy("The number of major defects cannot be negative."),
    "minor": lazy("The number of minor defects cannot be negative."),
}
MORE_THAN_SAMPLE: Final = {
    "critical": lazy("Critical defects cannot exceed the %(sample_size)s units inspected for them."),
    "major": lazy("Major defects cannot exceed the %(sample_size)s units inspected for them."),
    "minor": lazy("Minor defects cannot exceed the %(sample_size)s units inspected for them."),
}
NOTES_TOO_LONG: Final = lazy("The notes are too long (at most %(max)s characters).")
NOT_SORTING: Final = lazy("This lot is not waiting for sorting.")
GOOD_OUT_OF_RANGE: Final = lazy("The good units must be between 0 and the lot size of %(lot_size)s.")
NO_RETURN_WAITING: Final = lazy("No return is waiting for acknowledgement on this lot.")


def check_notes(notes: str) -> None:
    if len(notes.strip()) > NOTES_MAX_LENGTH:
        raise Refused(NOTES_TOO_LONG, max=NOTES_MAX_LENGTH)


def check_record_defects(
    *, decided: bool, sample_sizes: Mapping[str, int] | None, counts: Mapping[str, int], notes: str
) -> None:
    """`sample_sizes`: the units to inspect per category (None: the plan is not ready yet)."""
    if decided:
        raise Refused(ALREADY_DECIDED)
    if sample_sizes is None:
        raise Refused(NOT_READY)
    for category in CATEGORIES:
        if counts[category] < 0:
            raise Refused(NEGATIVE[category])
    for category in CATEGORIES:
        if counts[category] > sample_sizes[category]:
            raise Refused(MORE_THAN_SAMPLE[category], sample_size=sample_sizes[category])
    check_notes(notes)


def check_record_sorting(*, sorting: bool, lot_size: int, good_quantity: int, notes: str) -> None:
    """`sorting`: the lot is being sorted and its result is not recorded yet."""
    if not sorting:
        raise Refused(NOT_SORTING)
    if not 0 <= good_quantity <= lot_size:
        raise Refused(GOOD_OUT_OF_RANGE, lot_size=lot_size)
    check_notes(notes)


def check_acknowledge_return(*, return_waiting: bool, note: str) -> None:
    if not return_waiting:
        raise Refused(NO_RETURN_WAITING)
    check_notes(note)
