"""Skip-lot inspection for trusted suppliers (loosely after ISO 2859-3, skip-lot sampling procedures).

A pure state machine, one `SkipLotState` per supplier and SKU whose inspection mode is "skip_lot".
It decides *whether* a lot is inspected; *how* it is inspected stays with the ISO 2859-1 plan and the
switching rules (`switching.py`), whose current severity is passed in.

The rules, deliberately simpler than ISO 2859-3 (which has qualification, several frequencies and
interruption states):

- Qualification: `QUALIFY_AFTER` consecutive lots accepted on original inspection while the
  switching severity is normal or reduced. Until then every lot is inspected.
- Once qualified, one lot in every `SKIP_FREQUENCY` is inspected, deterministically: the lots after
  qualifying are counted (`lots_since_qualified`, 0 for the first one) and a lot is inspected when
  its count is a multiple of `SKIP_FREQUENCY` *minus one*. So the first `SKIP_FREQUENCY - 1` lots
  after qualifying are skipped (accepted without inspection) and the `SKIP_FREQUENCY`-th is
  inspected, and so on: skip, skip, skip, inspect, skip, skip, skip, inspect, ...
- Disqualification (back to inspecting every lot, counters reset to zero): an inspected lot that is
  not accepted, or a severity of tightened or discontinued (seen when asking `should_inspect` or
  when recording an inspected lot).

Resubmitted lots are not original inspection: the caller does not record them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from supplychain.rules.switching import InspectionSeverity

#: Consecutive lots accepted on original inspection (normal or reduced severity) to qualify.
QUALIFY_AFTER: Final = 10
#: Once qualified, one lot in this many is inspected; the others are accepted without inspection.
SKIP_FREQUENCY: Final = 4
#: Severities under which a supplier may qualify and stay qualified.
SKIP_LOT_SEVERITIES: Final[frozenset[str]] = frozenset({"normal", "reduced"})


@dataclass(frozen=True)
class SkipLotState:
    #: Lots accepted in a row on original inspection while not qualified.
    consecutive_accepted: int = 0
    qualified: bool = False
    #: Lots (skipped or inspected) since qualification; 0 for the first lot after qualifying.
    lots_since_qualified: int = 0

    def __post_init__(self) -> None:
        if self.consecutive_accepted < 0 or self.lots_since_qualified < 0:
            raise ValueError("Skip-lot counters cannot be negative.")


def _allowed(severity: InspectionSeverity) -> bool:
    return severity in SKIP_LOT_SEVERITIES


def should_inspect(state: SkipLotState, severity: InspectionSeverity) -> bool:
    """Whether the next lot is inspected. Always True unless qualified and the severity allows it."""
    if not state.qualified or not _allowed(severity):
        return True
    return state.lots_since_qualified % SKIP_FREQUENCY == SKIP_FREQUENCY - 1


def after_inspected(state: SkipLotState, accepted: bool, severity: InspectionSeverity) -> SkipLotState:
    """The state after a lot was inspected (original inspection) under `severity`.

    `severity` is the switching severity the lot was inspected under. A rejected lot, or tightened /
    discontinued inspection, disqualifies and resets every counter.
    """
    if not accepted or not _allowed(severity):
        return SkipLotState()
    if state.qualified:
        return SkipLotState(qualified=True, lots_since_qualified=state.lots_since_qualified + 1)
    accepted_in_a_row = state.consecutive_accepted + 1
    if accepted_in_a_row >= QUALIFY_AFTER:
        return SkipLotState(qualified=True)
    return SkipLotState(consecutive_accepted=accepted_in_a_row)


def after_skipped(state: SkipLotState) -> SkipLotState:
    """The state after a lot was accepted without inspection (only possible when qualified)."""
    if not state.qualified:
        raise ValueError("Only a qualified supplier's lots can be skipped.")
    return SkipLotState(qualified=True, lots_since_qualified=state.lots_since_qualified + 1)
