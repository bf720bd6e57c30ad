"""Skip-lot rules over sequences of lots."""

from __future__ import annotations

import pytest

from supplychain.rules.skip_lot import (
    QUALIFY_AFTER,
    SKIP_FREQUENCY,
    SkipLotState,
    after_inspected,
    after_skipped,
    should_inspect,
)
from supplychain.rules.switching import InspectionSeverity


def run(
    state: SkipLotState, outcomes: list[bool], severity: InspectionSeverity = "normal"
) -> tuple[SkipLotState, list[str]]:
    """Feed lots; each outcome is used only when the lot is inspected. Returns the trace."""
    trace: list[str] = []
    for accepted in outcomes:
        if should_inspect(state, severity):
            state = after_inspected(state, accepted, severity)
            trace.append("inspect" if accepted else "reject")
        else:
            state = after_skipped(state)
            trace.append("skip")
    return state, trace


def qualified() -> SkipLotState:
    state, trace = run(SkipLotState(), [True] * QUALIFY_AFTER)
    assert trace == ["inspect"] * QUALIFY_AFTER
    assert state == SkipLotState(qualified=True)
    return state


def test_every_lot_is_inspected_until_ten_in_a_row_are_accepted() -> None:
    state, trace = run(SkipLotState(), [True] * (QUALIFY_AFTER - 1))
    assert trace == ["inspect"] * (QUALIFY_AFTER - 1)
    assert state == SkipLotState(consecutive_accepted=QUALIFY_AFTER - 1)
    state, trace = run(state, [True])
    assert state.qualified and trace == ["inspect"]


def test_once_qualified_one_lot_in_four_is_inspected_the_first_three_skipped() -> None:
    _, trace = run(qualified(), [True] * (3 * SKIP_FREQUENCY))
    assert trace == ["skip", "skip", "skip", "inspect"] * 3


def test_a_rejection_before_qualifying_restarts_the_count() -> None:
    state, trace = run(SkipLotState(), [True] * 7 + [False] + [True] * (QUALIFY_AFTER - 1))
    assert "skip" not in trace
    assert not state.qualified and state.consecutive_accepted == QUALIFY_AFTER - 1
    state, _ = run(state, [True])
    assert state.qualified


def test_a_rejected_inspected_lot_disqualifies_and_resets() -> None:
    state, trace = run(qualified(), [True, True, True, False])
    assert trace == ["skip", "skip", "skip", "reject"]
    assert state == SkipLotState()
    _, trace = run(state, [True] * 5)
    assert trace == ["inspect"] * 5


@pytest.mark.parametrize("severity", ["tightened", "discontinued"])
def test_tightened_or_discontinued_means_every_lot_is_inspected_and_disqualifies(
    severity: InspectionSeverity,
) -> None:
    state = qualified()
    assert should_inspect(state, severity)
    assert after_inspected(state, True, severity) == SkipLotState()
    # No qualifying on tightened inspection, however many lots are accepted.
    state, trace = run(SkipLotState(), [True] * (2 * QUALIFY_AFTER), severity)
    assert trace == ["inspect"] * (2 * QUALIFY_AFTER) and state == SkipLotState()


def test_reduced_inspection_qualifies_and_skips_like_normal() -> None:
    state, trace = run(SkipLotState(), [True] * (QUALIFY_AFTER + SKIP_FREQUENCY), "reduced")
    assert trace == ["inspect"] * QUALIFY_AFTER + ["skip", "skip", "skip", "inspect"]
    assert state == SkipLotState(qualified=True, lots_since_qualified=SKIP_FREQUENCY)


def test_qualifying_lots_may_mix_normal_and_reduced() -> None:
    state = SkipLotState()
    for i in range(QUALIFY_AFTER):
        state = after_inspected(state, True, "normal" if i % 2 else "reduced")
    assert state.qualified


def test_skipping_is_refused_before_qualification_and_counters_stay_non_negative() -> None:
    with pytest.raises(ValueError, match="qualified"):
        after_skipped(SkipLotState(consecutive_accepted=3))
    with pytest.raises(ValueError, match="negative"):
        SkipLotState(consecutive_accepted=-1)
