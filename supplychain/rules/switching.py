"""Switching between normal, tightened and reduced inspection (ISO 2859-1:1999 clause 9, Figure 1).

A pure state machine: the caller keeps one `SwitchingState` per supplier and SKU, records each lot's
outcome on *original* inspection as a `LotResult`, and stores what `next_state` returns.

- Normal -> tightened (9.3.1): 2 lots not accepted among 5 or fewer consecutive lots.
- Tightened -> normal (9.3.2): 5 consecutive lots accepted on tightened inspection.
- Normal -> reduced (9.3.3): the switching score of ISO 2859-1:1999 is at least 30, production is at
  a steady rate and the responsible authority approves. The 1999 edition replaced the limit numbers
  of MIL-STD-105E / ISO 2859-1:1989 (Table VIII, "preceding 10 lots") with this score; it starts at
  0 with each period of normal inspection and, after each lot on normal inspection (single sampling,
  9.3.3.2 a)):
    * Ac >= 2: +3 if the lot would have been accepted with the AQL one step tighter (same sample
      size), else back to 0;
    * Ac 0 or 1: +2 if the lot is accepted, else back to 0.
- Reduced -> normal (9.3.4): a lot not accepted; a lot accepted with more than Ac nonconforming
  (between Ac and Re, the reduced-inspection gap of MIL-STD-105E 4.7.4 / Z1.4 8.3.4); production
  irregular or delayed; or other conditions that warrant normal inspection.
- Discontinuation (9.4): 5 lots in total not accepted while on tightened inspection. Inspection
  resumes, on tightened, only after the supplier's corrective action (`resume_after_corrective_action`).

Resubmitted lots are not original inspection and leave the state unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

InspectionSeverity = Literal["normal", "tightened", "reduced", "discontinued"]

#: Switching score at which reduced inspection may start (ISO 2859-1:1999 9.3.3.1 a)).
REDUCED_SWITCHING_SCORE: Final = 30
#: "2 out of 5 or fewer consecutive lots" (9.3.1).
TIGHTEN_WINDOW: Final = 5
TIGHTEN_REJECTIONS: Final = 2
#: Consecutive lots accepted on tightened inspection before normal is reinstated (9.3.2).
RELAX_ACCEPTED: Final = 5
#: Lots not accepted on tightened inspection that discontinue inspection (9.4).
DISCONTINUE_REJECTIONS: Final = 5


@dataclass(frozen=True)
class LotResult:
    """One lot's result on original inspection under the plan that was in force."""

    defects: int
    accept: int
    reject: int
    #: Ac of the normal plan with the same sample size one AQL step tighter
    #: (`sampling.tighter_accept_number`); required on normal inspection when Ac >= 2.
    tighter_accept: int | None = None
    resubmitted: bool = False
    production_steady: bool = True
    authority_approves_reduced: bool = False
    other_conditions_require_normal: bool = False

    def __post_init__(self) -> None:
        if self.defects < 0:
            raise ValueError(f"Defects cannot be negative ({self.defects}).")
        if not 0 <= self.accept < self.reject:
            raise ValueError(f"Acceptance number {self.accept} must be below rejection number {self.reject}.")

    @property
    def accepted(self) -> bool:
        """At most Ac nonconforming. With the reduced gap, Ac < d < Re also accepts the lot, but that
        case is told apart by `exceeded_accept` and reinstates normal inspection."""
        return self.defects < self.reject

    @property
    def exceeded_accept(self) -> bool:
        return self.defects > self.accept


@dataclass(frozen=True)
class SwitchingState:
    severity: InspectionSeverity = "normal"
    #: Outcomes of the last lots on normal inspection (True = not accepted), at most 4 kept.
    recent_normal_rejections: tuple[bool, ...] = ()
    switching_score: int = 0
    consecutive_accepted_tightened: int = 0
    rejected_on_tightened: int = 0


def next_state(state: SwitchingState, lot: LotResult) -> SwitchingState:
    """The inspection severity for the next lot, after `lot` was inspected under `state`."""
    if state.severity == "discontinued":
        raise ValueError("Inspection is discontinued: the supplier must take corrective action first.")
    if lot.resubmitted:
        return state
    if state.severity == "normal":
        return _after_normal(state, lot)
    if state.severity == "tightened":
        return _after_tightened(state, lot)
    return _after_reduced(state, lot)


def resume_after_corrective_action(state: SwitchingState) -> SwitchingState:
    """After discontinuation, inspection resumes on tightened inspection (ISO 2859-1:1999 9.4)."""
    if state.severity != "discontinued":
        raise ValueError("Only a discontinued inspection can be resumed.")
    return SwitchingState(severity="tightened")


def _after_normal(state: SwitchingState, lot: LotResult) -> SwitchingState:
    window = (*state.recent_normal_rejections, not lot.accepted)[-TIGHTEN_WINDOW:]
    if sum(window) >= TIGHTEN_REJECTIONS:
        return SwitchingState(severity="tightened")
    score = _switching_score(state.switching_score, lot)
    if score >= REDUCED_SWITCHING_SCORE and lot.production_steady and lot.authority_approves_reduced:
        return SwitchingState(severity="reduced")
    return replace(state, recent_normal_rejections=window[-(TIGHTEN_WINDOW - 1) :], switching_score=score)


def _switching_score(score: int, lot: LotResult) -> int:
    if lot.accept >= 2:
        if lot.tighter_accept is None:
            raise ValueError("With Ac >= 2 the switching score needs the Ac one AQL step tighter.")
        return score + 3 if lot.defects <= lot.tighter_accept else 0
    return score + 2 if lot.accepted else 0


def _after_tightened(state: SwitchingState, lot: LotResult) -> SwitchingState:
    if not lot.accepted:
        rejected = state.rejected_on_tightened + 1
        if rejected >= DISCONTINUE_REJECTIONS:
            return SwitchingState(severity="discontinued", rejected_on_tightened=rejected)
        return replace(state, rejected_on_tightened=rejected, consecutive_accepted_tightened=0)
    accepted = state.consecutive_accepted_tightened + 1
    if accepted >= RELAX_ACCEPTED:
        return SwitchingState(severity="normal")
    return replace(state, consecutive_accepted_tightened=accepted)


def _after_reduced(state: SwitchingState, lot: LotResult) -> SwitchingState:
    if (
        not lot.accepted
        or lot.exceeded_accept
        or not lot.production_steady
        or lot.other_conditions_require_normal
    ):
        return SwitchingState(severity="normal")
    return state
