"""A supplier's standing for one SKU: the ISO 2859-1 switching state and skip-lot qualification.

Read when a lot arrives (which severity its plan uses, whether skip-lot lets it through without
inspection) and updated once per lot after its verdict (`Inspection.switching_applied` makes the
update idempotent). The rules themselves are pure: `supplychain.rules.switching` and
`supplychain.rules.skip_lot`; this module maps them onto the `inspection_switching` row.

Two kinds of writer change the row: the lot results (`apply_lot`, from the inspection activities)
and HQ's actions on the scorecard (`supplychain.scorecard.approve_reduced` and
`resume_after_corrective_action`). All of them go through `update_standing`, which reads, changes
and writes the row under its version, so none of them can overwrite another's change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
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
#: How often a write that lost the race for the row re-reads it and applies its change again.
WRITE_ATTEMPTS: Final = 5

T = TypeVar("T")


@dataclass(frozen=True)
class Standing:
    severity: SwitchingSeverity
    skip: bool  # skip-lot: this lot is accepted without inspection


def switching_row(session: Session, supplier_id: int, sku_id: int) -> InspectionSwitching | None:
    """The row as the database has it now (also when the session holds an older copy)."""
    return session.execute(
        select(InspectionSwitching)
        .where(col(InspectionSwitching.supplier_id) == supplier_id, col(InspectionSwitching.sku_id) == sku_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def update_standing(
    session: Session,
    supplier_id: int,
    sku_id: int,
    change: Callable[[InspectionSwitching], T],
    *,
    create: bool = False,
) -> T:
    """The one way to write a supplier+SKU standing: read the row, `change` it, write it back.

    `change` gets the row as it is now and may raise to refuse (nothing is written then). If another
    writer commits the row between our read and our write, our UPDATE misses its version
    (`StaleDataError`): the savepoint is rolled back and `change` runs again on the row as the other
    writer left it. `create`: a missing row is made (a lot's first result); else `LookupError`.

    Why a version column and not a row lock (SELECT ... FOR UPDATE): SQLite has no row locks (the
    savepoint's BEGIN IMMEDIATE serialises writers there only when it opens the transaction), while
    `WHERE version = :seen` refuses a lost update on SQLite and PostgreSQL alike, whatever the
    transaction did before. And HQ needs the version anyway: no lock can span the time between
    drawing the scorecard page and the click, but the version the page was drawn at tells whether
    the click still fits the state (`supplychain.scorecard`).
    """
    for _ in range(WRITE_ATTEMPTS - 1):
        try:
            return _write_once(session, supplier_id, sku_id, change, create)
        except StaleDataError:
            continue  # another writer committed the row after our read: read it again
    return _write_once(session, supplier_id, sku_id, change, create)


def _write_once(
    session: Session, supplier_id: int, sku_id: int, change: Callable[[InspectionSwitching], T], create: bool
) -> T:
    with session.begin_nested():  # a miss rolls back this attempt only, not the caller's transaction
        row = (
            _get_or_create(session, supplier_id, sku_id)
            if create
            else switching_row(session, supplier_id, sku_id)
        )
        if row is None:
            raise LookupError(f"no inspection standing for supplier {supplier_id}, SKU {sku_id}")
        result = change(row)
        session.add(row)
        session.flush()
    return result


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

    def change(row: InspectionSwitching) -> InspectionSwitching:
        # Read after the row: a concurrent run of this lot (an activity retried while the first
        # attempt still ran) that committed before our read of the row shows here as applied; one
        # that commits after it makes our write miss the version, and the re-run sees it applied.
        if _switching_applied(session, inspection):
            return row
        _apply(session, row, inspection, at)
        return row

    return update_standing(session, inspection.supplier_id, inspection.sku_id, change, create=True)


def _switching_applied(session: Session, inspection: Inspection) -> bool:
    """Whether the lot is in its standing, as committed now (not as the session first loaded it)."""
    applied = bool(
        session.execute(
            select(col(Inspection.switching_applied)).where(col(Inspection.id) == inspection.id)
        ).scalar_one()
    )
    set_committed_value(inspection, "switching_applied", applied)
    return applied


def _apply(session: Session, row: InspectionSwitching, inspection: Inspection, at: datetime | None) -> None:
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
