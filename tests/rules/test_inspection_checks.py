"""The checks behind the inspection lot's clicks (supplychain/rules/inspection_checks.py)."""

from __future__ import annotations

import pytest

from supplychain.rules.inspection_checks import (
    ALREADY_DECIDED,
    GOOD_OUT_OF_RANGE,
    MORE_THAN_SAMPLE,
    NEGATIVE,
    NO_RETURN_WAITING,
    NOT_READY,
    NOT_SORTING,
    NOTES_MAX_LENGTH,
    NOTES_TOO_LONG,
    check_acknowledge_return,
    check_record_defects,
    check_record_sorting,
)
from supplychain.rules.refusal import Refused

SAMPLE = {"critical": 13, "major": 13, "minor": 8}


def refusal(rule: object, **kwargs: object) -> tuple[str, dict[str, object]]:
    with pytest.raises(Refused) as refused:
        rule(**kwargs)  # type: ignore[operator]
    return refused.value.message_id, refused.value.params


def counts(critical: int = 0, major: int = 0, minor: int = 0) -> dict[str, int]:
    return {"critical": critical, "major": major, "minor": minor}


def test_defects_within_every_sample_are_accepted_up_to_the_sample_size() -> None:
    check_record_defects(decided=False, sample_sizes=SAMPLE, counts=counts(13, 13, 8), notes="")
    check_record_defects(decided=False, sample_sizes=SAMPLE, counts=counts(), notes="x" * NOTES_MAX_LENGTH)


@pytest.mark.parametrize("category", ["critical", "major", "minor"])
def test_a_negative_count_or_one_above_its_sample_is_refused(category: str) -> None:
    assert refusal(
        check_record_defects, decided=False, sample_sizes=SAMPLE, counts=counts(**{category: -1}), notes=""
    ) == (NEGATIVE[category], {})
    too_many = counts(**{category: SAMPLE[category] + 1})
    assert refusal(check_record_defects, decided=False, sample_sizes=SAMPLE, counts=too_many, notes="") == (
        MORE_THAN_SAMPLE[category],
        {"sample_size": SAMPLE[category]},
    )


def test_defects_are_refused_before_the_plan_and_after_the_decision() -> None:
    assert (
        refusal(check_record_defects, decided=False, sample_sizes=None, counts=counts(), notes="")[0]
        == NOT_READY
    )
    assert refusal(check_record_defects, decided=True, sample_sizes=SAMPLE, counts=counts(), notes="")[0] == (
        ALREADY_DECIDED
    )
    long_notes = "x" * (NOTES_MAX_LENGTH + 1)
    assert refusal(
        check_record_defects, decided=False, sample_sizes=SAMPLE, counts=counts(), notes=long_notes
    ) == (
        NOTES_TOO_LONG,
        {"max": NOTES_MAX_LENGTH},
    )


def test_sorting_takes_0_to_the_lot_size_and_only_while_sorting() -> None:
    check_record_sorting(sorting=True, lot_size=100, good_quantity=0, notes="")
    check_record_sorting(sorting=True, lot_size=100, good_quantity=100, notes="")
    for good in (-1, 101):
        assert refusal(check_record_sorting, sorting=True, lot_size=100, good_quantity=good, notes="") == (
            GOOD_OUT_OF_RANGE,
            {"lot_size": 100},
        )
    assert (
        refusal(check_record_sorting, sorting=False, lot_size=100, good_quantity=1, notes="")[0]
        == NOT_SORTING
    )


def test_a_return_is_acknowledged_only_while_one_waits() -> None:
    check_acknowledge_return(return_waiting=True, note="collected")
    assert refusal(check_acknowledge_return, return_waiting=False, note="")[0] == NO_RETURN_WAITING
