"""Switching rules over sequences of lots (ISO 2859-1:1999 clause 9)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from supplychain.rules.sampling import plan_for_code_letter, tighter_accept_number
from supplychain.rules.switching import (
    LotResult,
    SwitchingState,
    next_state,
    resume_after_corrective_action,
)

# Code letter J, AQL 1.0: normal 80 units Ac 2 Re 3 (Table II-A); one AQL step tighter (0.65) Ac 1.
_letter, _size, AC, RE = plan_for_code_letter("J", "1.0")
TIGHTER = tighter_accept_number("J", "1.0")


def lot(defects: int, *, accept: int = AC, reject: int = RE, **kw: bool) -> LotResult:
    return LotResult(defects=defects, accept=accept, reject=reject, tighter_accept=TIGHTER, **kw)


OK = lot(0)  # accepted, and would have been at the tighter AQL too
REJECTED = lot(RE)


def run(lots: Iterable[LotResult], state: SwitchingState | None = None) -> list[str]:
    state = state or SwitchingState()
    seen: list[str] = []
    for result in lots:
        state = next_state(state, result)
        seen.append(state.severity)
    return seen


def final(lots: Iterable[LotResult], state: SwitchingState | None = None) -> SwitchingState:
    state = state or SwitchingState()
    for result in lots:
        state = next_state(state, result)
    return state


def test_the_plan_used_in_these_tests() -> None:
    assert (AC, RE, TIGHTER) == (2, 3, 1)


# --- Normal -> tightened: 2 of 5 or fewer consecutive lots not accepted -------------------------


def test_two_rejections_in_a_row_tighten() -> None:
    assert run([REJECTED, REJECTED]) == ["normal", "tightened"]


def test_two_rejections_within_five_lots_tighten() -> None:
    assert run([REJECTED, OK, OK, OK, REJECTED]) == ["normal"] * 4 + ["tightened"]


def test_two_rejections_six_lots_apart_do_not_tighten() -> None:
    assert run([REJECTED, OK, OK, OK, OK, REJECTED]) == ["normal"] * 6


def test_resubmitted_lots_do_not_count() -> None:
    state = final([REJECTED])
    assert next_state(state, lot(RE, resubmitted=True)) == state


# --- Tightened -> normal: 5 consecutive lots accepted -------------------------------------------


def test_five_consecutive_accepted_lots_on_tightened_restore_normal() -> None:
    tightened = SwitchingState(severity="tightened")
    assert run([OK] * 5, tightened) == ["tightened"] * 4 + ["normal"]
    assert final([OK] * 5, tightened) == SwitchingState()  # a fresh start: no history, score 0


def test_a_rejection_on_tightened_restarts_the_count_of_accepted_lots() -> None:
    tightened = SwitchingState(severity="tightened")
    assert run([OK, OK, OK, OK, REJECTED, OK, OK, OK, OK], tightened) == ["tightened"] * 9
    assert final([OK, OK, OK, OK, REJECTED, *[OK] * 5], tightened).severity == "normal"


# --- Discontinuation: 5 lots in total not accepted on tightened ----------------------------------


def test_five_rejections_on_tightened_discontinue_inspection() -> None:
    on_tightened = [REJECTED, OK, REJECTED, REJECTED, OK, REJECTED, REJECTED]  # 5 in total, not in a row
    assert run([REJECTED, REJECTED, *on_tightened]) == [
        "normal", "tightened",  # 2 of 2 on normal (they do not count towards the 5)
        *["tightened"] * 6,
        "discontinued",
    ]  # fmt: skip


def test_discontinued_inspection_takes_no_lots_until_corrective_action() -> None:
    stopped = final([REJECTED] * 2 + [REJECTED] * 5)
    assert stopped.severity == "discontinued"
    with pytest.raises(ValueError, match="corrective action"):
        next_state(stopped, OK)
    assert resume_after_corrective_action(stopped) == SwitchingState(severity="tightened")
    with pytest.raises(ValueError, match="discontinued"):
        resume_after_corrective_action(SwitchingState())


# --- Normal -> reduced: switching score >= 30, steady production, authority approves ------------


APPROVED = {"authority_approves_reduced": True}


def test_switching_score_adds_three_per_lot_passing_the_tighter_aql_when_ac_is_two_or_more() -> None:
    state = final([OK] * 9)
    assert (state.severity, state.switching_score) == ("normal", 27)
    assert next_state(state, lot(0, **APPROVED)).severity == "reduced"  # 30


def test_a_lot_accepted_but_failing_the_tighter_aql_resets_the_score() -> None:
    # 2 defects: accepted at Ac 2, but not at the tighter Ac 1.
    state = final([OK] * 9 + [lot(2, **APPROVED)])
    assert (state.severity, state.switching_score) == ("normal", 0)


def test_switching_score_adds_two_per_accepted_lot_when_ac_is_zero_or_one() -> None:
    zero = {"accept": 0, "reject": 1}
    state = final([lot(0, **zero)] * 14)
    assert state.switching_score == 28
    assert next_state(state, lot(0, **zero, **APPROVED)).severity == "reduced"  # 30
    assert final([*[lot(0, **zero)] * 14, lot(1, **zero)]).switching_score == 0


def test_reduced_needs_the_authority_and_steady_production() -> None:
    state = final([OK] * 10)
    assert (state.severity, state.switching_score) == ("normal", 30)
    assert next_state(state, lot(0)).severity == "normal"  # score 33, nobody approved
    assert next_state(state, lot(0, production_steady=False, **APPROVED)).severity == "normal"
    assert next_state(state, lot(0, **APPROVED)).severity == "reduced"


def test_score_restarts_after_tightened() -> None:
    back_to_normal = final([REJECTED, REJECTED, *[OK] * 5])
    assert back_to_normal == SwitchingState()
    assert final([*[OK] * 9, lot(0, **APPROVED)], back_to_normal).severity == "reduced"


def test_switching_score_needs_the_tighter_acceptance_number_when_ac_is_two_or_more() -> None:
    with pytest.raises(ValueError, match="one AQL step tighter"):
        next_state(SwitchingState(), LotResult(defects=0, accept=2, reject=3))


# --- Reduced -> normal ---------------------------------------------------------------------------

REDUCED = SwitchingState(severity="reduced")
# A reduced plan with a gap (Ac 1, Re 3): 2 nonconforming accepts the lot but reinstates normal.
GAP = {"accept": 1, "reject": 3}


def test_reduced_stays_reduced_while_lots_pass_within_ac() -> None:
    assert run([lot(0, **GAP), lot(1, **GAP)], REDUCED) == ["reduced", "reduced"]


def test_a_rejected_lot_on_reduced_reinstates_normal() -> None:
    assert run([lot(3, **GAP)], REDUCED) == ["normal"]


def test_a_lot_accepted_between_ac_and_re_on_reduced_reinstates_normal() -> None:
    gap_lot = lot(2, **GAP)
    assert gap_lot.accepted and gap_lot.exceeded_accept
    assert final([gap_lot], REDUCED) == SwitchingState()


def test_irregular_production_or_other_conditions_reinstate_normal() -> None:
    assert run([lot(0, production_steady=False, **GAP)], REDUCED) == ["normal"]
    assert run([lot(0, other_conditions_require_normal=True, **GAP)], REDUCED) == ["normal"]


def test_full_cycle_normal_reduced_normal_tightened_normal() -> None:
    lots = [*[OK] * 9, lot(0, **APPROVED), lot(2, **GAP), REJECTED, REJECTED, *[OK] * 5]
    seen = run(lots)
    assert seen[9] == "reduced"
    assert seen[10] == "normal"
    assert seen[12] == "tightened"
    assert seen[-1] == "normal"


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defects", "accept", "reject"),
    [(-1, 2, 3), (0, 3, 3), (0, 4, 3), (0, -1, 1)],
)
def test_impossible_lot_results_are_refused(defects: int, accept: int, reject: int) -> None:
    with pytest.raises(ValueError):
        LotResult(defects=defects, accept=accept, reject=reject)
