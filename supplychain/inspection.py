"""Quality inspection of a received lot: the plan, the verdict, and the read model behind them.

The first part is pure (no I/O) and is what InspectionWorkflow decides with:

- `inspection_plan`: one ISO 2859-1 single sampling plan per defect category (critical, major,
  minor; each with its own AQL) from the lot size, inspection level and severity
  (`supplychain.rules.sampling`). The inspector draws the largest of the categories' samples; a
  category whose plan has a smaller sample is judged on that many units of it (the standard gives
  each class its own plan). AQL "0" is zero tolerance: Ac 0, Re 1 on the whole drawn sample.
- `lot_verdict`: any category with defects at or above its Re rejects the lot.

The second part writes the `inspection` read model for activities/inspection.py, in the caller's
transaction, safe to repeat: one row per workflow id, decisions written as absolute values, every
step's document event under the workflow's idempotency key.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.db import insert_once
from supplychain.events import record_event
from supplychain.i18n import lazy
from supplychain.models import (
    Inspection,
    InspectionSeverity,
    InspectionStage,
    InspectionVerdict,
    Location,
    Role,
    User,
)
from supplychain.models.base import utcnow
from supplychain.notifications import users_with_role
from supplychain.numbering import reserve_number
from supplychain.rules.inspection_checks import CATEGORIES
from supplychain.rules.sampling import Severity, code_letter, normalize_aql, single_sampling_plan

DOCUMENT_TYPE = "inspection"
NUMBER_PREFIX = "INS"
ZERO_TOLERANCE: Final = "0"
# Recorded when a rejected lot has nobody to decide on it (no active quality approver): the note on
# the decision and the disposition, and the return's reason. A message id, shown translated.
NO_QUALITY_APPROVER = lazy("No quality approver is available: the rejected lot is returned to the vendor.")


def inspection_link(number: str) -> str:
    return f"/inspections/{number}"


# --- the plan and the verdict (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class CategoryPlan:
    """Inspect `sample_size` units for this category; accept at most `accept`, reject at `reject`."""

    sample_size: int
    accept: int
    reject: int


@dataclass(frozen=True)
class InspectionPlan:
    code_letter: str  # Table I
    sample_size: int  # the units the inspector draws: the largest category sample
    hundred_percent: bool  # the sample is the whole lot
    critical: CategoryPlan
    major: CategoryPlan
    minor: CategoryPlan

    def for_category(self, category: str) -> CategoryPlan:
        plan: CategoryPlan = getattr(self, category)
        return plan


@dataclass(frozen=True)
class DefectCounts:
    critical: int
    major: int
    minor: int

    def for_category(self, category: str) -> int:
        count: int = getattr(self, category)
        return count


def inspection_plan(
    *,
    lot_size: int,
    level: str,
    severity: InspectionSeverity,
    aql_critical: str,
    aql_major: str,
    aql_minor: str,
) -> InspectionPlan:
    """The plan per category; ValueError for an unknown level or AQL, or when every AQL is "0"."""
    table_severity: Severity = (
        "tightened"
        if severity is InspectionSeverity.TIGHTENED
        else "reduced"
        if severity is InspectionSeverity.REDUCED
        else "normal"
    )
    letter = code_letter(lot_size, level)
    aqls = {"critical": aql_critical, "major": aql_major, "minor": aql_minor}
    tabled = {
        category: single_sampling_plan(lot_size, level, aql, table_severity)
        for category, aql in aqls.items()
        if aql.strip() != ZERO_TOLERANCE
    }
    if not tabled:
        raise ValueError("At least one defect category needs an AQL from the tables, not 0.")
    drawn = max(plan.sample_size for plan in tabled.values())
    by_category = {
        category: (
            CategoryPlan(tabled[category].sample_size, tabled[category].accept, tabled[category].reject)
            if category in tabled
            else CategoryPlan(drawn, 0, 1)
        )
        for category in CATEGORIES
    }
    return InspectionPlan(
        code_letter=letter,
        sample_size=drawn,
        hundred_percent=drawn >= lot_size,
        critical=by_category["critical"],
        major=by_category["major"],
        minor=by_category["minor"],
    )


def plan_of(row: Inspection) -> InspectionPlan:
    """The plan as recorded on the inspection row."""

    def category(name: str) -> CategoryPlan:
        return CategoryPlan(
            getattr(row, f"{name}_sample_size"),
            getattr(row, f"{name}_accept"),
            getattr(row, f"{name}_reject"),
        )

    return InspectionPlan(
        code_letter=row.code_letter,
        sample_size=row.sample_size,
        hundred_percent=row.hundred_percent,
        critical=category("critical"),
        major=category("major"),
        minor=category("minor"),
    )


def normalized_aql(aql: str) -> str:
    """AQL "0" stays zero tolerance; any other as the standard prints it ("1" -> "1.0")."""
    return ZERO_TOLERANCE if aql.strip() == ZERO_TOLERANCE else normalize_aql(aql)


def lot_verdict(plan: InspectionPlan, defects: DefectCounts) -> InspectionVerdict:
    """Rejected when any category reaches its rejection number, else accepted."""
    for category in CATEGORIES:
        count = defects.for_category(category)
        category_plan = plan.for_category(category)
        if count < 0 or count > category_plan.sample_size:
            raise ValueError(f"{category} defects must be 0..{category_plan.sample_size}, not {count}")
        if count >= category_plan.reject:
            return InspectionVerdict.REJECTED
    return InspectionVerdict.ACCEPTED


# --- the read model ---------------------------------------------------------------------------------


class InspectionAudience(enum.StrEnum):
    INSPECTORS = "inspectors"  # inspectors at the lot's location, else every HQ inspector
    SUPPLIER = "supplier"  # the lot's supplier (results, certificate holds, returns)
    BUYERS = "buyers"  # HQ buyers (returns acknowledged, supplier discontinued)


def lot_facts(inspection: Inspection) -> dict[str, object]:
    """Which lot of its receipt line an inspection is about, for the timelines: the lot number, and
    the batch number when it has one."""
    facts: dict[str, object] = {"lot_no": inspection.lot_no}
    if inspection.batch_no:
        facts["batch_no"] = inspection.batch_no
    return facts


def get_inspection(session: Session, number: str) -> Inspection | None:
    return session.execute(select(Inspection).where(col(Inspection.number) == number)).scalar_one_or_none()


def require_inspection(session: Session, number: str) -> Inspection:
    inspection = get_inspection(session, number)
    if inspection is None:
        raise LookupError(f"inspection {number} is not recorded")
    return inspection


def inspection_for_workflow(session: Session, workflow_id: str) -> Inspection | None:
    return session.execute(
        select(Inspection).where(col(Inspection.workflow_id) == workflow_id)
    ).scalar_one_or_none()


def create_inspection(
    session: Session,
    *,
    workflow_id: str,
    po_number: str,
    shipment_number: str,
    line_no: int,
    sku_id: int,
    supplier_id: int,
    location_id: int,
    lot_size: int,
    inspection_level: str,
    severity: InspectionSeverity,
    aql_critical: str,
    aql_major: str,
    aql_minor: str,
    plan: InspectionPlan,
    number_year: int,
    idempotency_key: str,
    occurred_at: datetime | None = None,
    lot_no: int = 1,
    batch_no: str = "",
    expiry_date: date | None = None,
    unit_price: Decimal | None = None,
    tax_rate: Decimal | None = None,
    skipped: bool = False,
) -> tuple[Inspection, bool]:
    """The inspection row with its plan and its "created" event; once per workflow id.

    Reserves the INS number of `number_year` (a committed counter, so call this before any other write of the
    transaction); a retry after a crash in between leaves a gap in the numbers, never a second row.
    """
    existing = inspection_for_workflow(session, workflow_id)
    if existing is not None:
        return existing, False
    at = occurred_at or utcnow()
    number = reserve_number(session, NUMBER_PREFIX, number_year)
    plans = {
        f"{category}_{name}": getattr(plan.for_category(category), name)
        for category in CATEGORIES
        for name in ("sample_size", "accept", "reject")
    }
    inspection = Inspection(
        number=number,
        workflow_id=workflow_id,
        po_number=po_number,
        shipment_number=shipment_number,
        line_no=line_no,
        sku_id=sku_id,
        supplier_id=supplier_id,
        location_id=location_id,
        lot_size=lot_size,
        inspection_level=inspection_level,
        severity=severity,
        aql_critical=aql_critical,
        aql_major=aql_major,
        aql_minor=aql_minor,
        code_letter=plan.code_letter,
        sample_size=plan.sample_size,
        hundred_percent=plan.hundred_percent,
        created_at=at,
        lot_no=lot_no,
        batch_no=batch_no,
        expiry_date=expiry_date,
        unit_price=unit_price,
        tax_rate=tax_rate,
        **plans,
    )
    if skipped:  # skip-lot: accepted without inspection
        inspection.verdict = InspectionVerdict.SKIPPED
        inspection.accepted_quantity, inspection.rejected_quantity = lot_size, 0
        inspection.decided_at = at
    inspection, created = insert_once(
        session, inspection, lambda: inspection_for_workflow(session, workflow_id)
    )
    if not created:
        return inspection, False
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=number,
        action="created",
        idempotency_key=idempotency_key,
        after={
            "verdict": inspection.verdict,
            "severity": severity,
            "po_number": po_number,
            "shipment_number": shipment_number,
            "line_no": line_no,
            **lot_facts(inspection),
            "lot_size": lot_size,
            "sample_size": plan.sample_size,
        },
        occurred_at=at,
    )
    return inspection, True


def record_verdict(
    session: Session,
    inspection: Inspection,
    *,
    defects: DefectCounts,
    verdict: InspectionVerdict,
    accepted_quantity: int,
    rejected_quantity: int,
    inspector_user_id: int,
    notes: str,
    idempotency_key: str,
    occurred_at: datetime | None = None,
) -> None:
    """Write what the inspector found and the verdict (absolute values) and its event."""
    at = occurred_at or utcnow()
    before = {"verdict": inspection.verdict}
    inspection.critical_defects = defects.critical
    inspection.major_defects = defects.major
    inspection.minor_defects = defects.minor
    inspection.verdict = verdict
    inspection.accepted_quantity = accepted_quantity
    inspection.rejected_quantity = rejected_quantity
    inspection.inspector_user_id = inspector_user_id
    inspection.notes = notes
    if inspection.decided_at is None:
        inspection.decided_at = at
    if verdict is InspectionVerdict.REJECTED:
        inspection.stage = InspectionStage.AWAITING_DECISION
    session.add(inspection)
    session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=inspection.number,
        action=verdict.value,
        idempotency_key=idempotency_key,
        actor_user_id=inspector_user_id,
        before=before,
        after={
            "verdict": verdict,
            "critical_defects": defects.critical,
            "major_defects": defects.major,
            "minor_defects": defects.minor,
            "accepted_quantity": accepted_quantity,
            "rejected_quantity": rejected_quantity,
        },
        note=notes,
        occurred_at=at,
    )


def recipients(session: Session, inspection: Inspection, audience: InspectionAudience) -> list[int]:
    """Inspectors working at the lot's location (else every inspector of the location's
    organisation); the supplier's users; or the HQ buyers."""
    if audience is InspectionAudience.SUPPLIER:
        return users_with_role(session, Role.SUPPLIER, inspection.supplier_id)
    location = session.get(Location, inspection.location_id)
    assert location is not None
    staff = users_with_role(session, Role.INSPECTOR, location.organisation_id)
    at_location = set(
        session.execute(
            select(col(User.id)).where(col(User.id).in_(staff), col(User.location_id) == location.id)
        ).scalars()
    )
    if audience is InspectionAudience.BUYERS:
        return users_with_role(session, Role.BUYER, location.organisation_id)
    return [uid for uid in staff if uid in at_location] or staff
