"""A supplier's standing for one SKU: the ISO 2859-1 switching state and skip-lot qualification.

Read when a lot arrives (which severity its plan uses, whether skip-lot lets it through without
inspection) and updated once per lot after its verdict (`Inspection.switching_applied` makes the
update idempotent). The rules themselves are pure: `supplychain.rules.switching` and
`supplychain.rules.skip_lot`; this module maps them onto the `inspection_switching` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.db import insert_once
from supplychain.events import record_event
from supplychain.models import (
    Inspection,
    InspectionSeverity,
    InspectionSwitching,
    InspectionVerdict,
    SwitchingSeverity,
)
from supplychain.models.base import utcnow
from supplychain.rules import skip_lot, switching
from supplychain.rules.sampling import tighter_accept_number

DOCUMENT_TYPE = "inspection"
CATEGORIES = ("critical", "major", "minor")


@dataclass(frozen=True)
class Standing:
    severity: SwitchingSeverity
    skip: bool  # skip-lot: this lot is accepted without inspection


def switching_row(session: Session, supplier_id: int, sku_id: int) -> InspectionSwitching | None:
    return session.execute(
        select(InspectionSwitching).where(
            col(InspectionSwitching.supplier_id) == supplier_id, col(InspectionSwitching.sku_id) == sku_id
        )
    ).scalar_one_or_none()


def plan_severity(severity: SwitchingSeverity) -> InspectionSeverity:
    """Discontinued (9.4) is inspected on tightened terms until corrective action resumes it."""
    if severity is SwitchingSeverity.DISCONTINUED:
        return InspectionSeverity.TIGHTENED
    return InspectionSeverity(severity.value)


def standing(session: Session, *, supplier_id: int, sku_id: int, skip_lot_allowed: bool) -> Standing:
    row = switching_row(session, supplier_id, sku_id)
    if row is None:
        return Standing(severity=SwitchingSeverity.NORMAL, skip=False)
    skip = skip_lot_allowed and not skip_lot.should_inspect(_skip_state(row), row.severity.value)
    return Standing(severity=row.severity, skip=skip)


def apply_lot(session: Session, inspection: Inspection, *, at: datetime | None = None) -> InspectionSwitching:
    """Feed one decided lot into its supplier+SKU state (once per lot) and record a severity change."""
    row = _get_or_create(session, inspection.supplier_id, inspection.sku_id)
    if inspection.switching_applied:
        return row
    before = row.severity
    if inspection.verdict is InspectionVerdict.SKIPPED:
        _write_skip(row, skip_lot.after_skipped(_skip_state(row)))
        row.lots_skipped += 1
    else:
        row.lots_inspected += 1
        if row.severity is not SwitchingSeverity.DISCONTINUED:
            state = switching.next_state(_switching_state(row), _lot_result(inspection, row.reduced_approved))
            _write_switching(row, state)
        accepted = inspection.verdict is InspectionVerdict.ACCEPTED
        # Skip-lot judges the lot under the severity it was inspected at, not the one it led to.
        _write_skip(row, skip_lot.after_inspected(_skip_state(row), accepted, before.value))
    row.updated_at = at or utcnow()
    inspection.switching_applied = True
    session.add(row)
    session.add(inspection)
    session.flush()
    if row.severity is not before:
        record_event(
            session,
            document_type=DOCUMENT_TYPE,
            document_id=inspection.number,
            action="severity_changed",
            idempotency_key=f"{inspection.workflow_id}:severity",
            before={"severity": before},
            after={"severity": row.severity},
            occurred_at=at,
        )
    return row


def _lot_result(inspection: Inspection, reduced_approved: bool) -> switching.LotResult:
    """The lot's result under the category that decided it: the first category that rejected it,
    else the major category (the usual basis of switching)."""
    deciding = "major"
    for category in CATEGORIES:
        if (getattr(inspection, f"{category}_defects") or 0) >= getattr(inspection, f"{category}_reject"):
            deciding = category
            break
    accept = int(getattr(inspection, f"{deciding}_accept"))
    aql = str(getattr(inspection, f"aql_{deciding}"))
    tighter = None
    if accept >= 2 and inspection.severity is InspectionSeverity.NORMAL and aql != "0":
        tighter = tighter_accept_number(inspection.code_letter, aql)
        if tighter is None:  # no tighter column with this sample size: the lot cannot score 3
            tighter = -1
    return switching.LotResult(
        defects=int(getattr(inspection, f"{deciding}_defects") or 0),
        accept=accept,
        reject=int(getattr(inspection, f"{deciding}_reject")),
        tighter_accept=tighter,
        authority_approves_reduced=reduced_approved,
    )


def _switching_state(row: InspectionSwitching) -> switching.SwitchingState:
    return switching.SwitchingState(
        severity=row.severity.value,
        recent_normal_rejections=tuple(flag == "1" for flag in row.recent_normal_rejections),
        switching_score=row.switching_score,
        consecutive_accepted_tightened=row.consecutive_accepted_tightened,
        rejected_on_tightened=row.rejected_on_tightened,
    )


def _write_switching(row: InspectionSwitching, state: switching.SwitchingState) -> None:
    row.severity = SwitchingSeverity(state.severity)
    row.recent_normal_rejections = "".join("1" if flag else "0" for flag in state.recent_normal_rejections)
    row.switching_score = state.switching_score
    row.consecutive_accepted_tightened = state.consecutive_accepted_tightened
    row.rejected_on_tightened = state.rejected_on_tightened


def _skip_state(row: InspectionSwitching) -> skip_lot.SkipLotState:
    return skip_lot.SkipLotState(
        consecutive_accepted=row.skip_consecutive_accepted,
        qualified=row.skip_qualified,
        lots_since_qualified=row.skip_lots_since_qualified,
    )


def _write_skip(row: InspectionSwitching, state: skip_lot.SkipLotState) -> None:
    row.skip_consecutive_accepted = state.consecutive_accepted
    row.skip_qualified = state.qualified
    row.skip_lots_since_qualified = state.lots_since_qualified


def _get_or_create(session: Session, supplier_id: int, sku_id: int) -> InspectionSwitching:
    row = switching_row(session, supplier_id, sku_id)
    if row is not None:
        return row
    # Another lot's verdict may create it at the same moment: then use that one.
    row, _created = insert_once(
        session,
        InspectionSwitching(supplier_id=supplier_id, sku_id=sku_id),
        lambda: switching_row(session, supplier_id, sku_id),
    )
    return row
