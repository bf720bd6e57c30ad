"""Side effects of InspectionWorkflow: the inspection read model and notifications.

Sync activities on the worker's thread pool (see activities/events.py), each one transaction and
safe to retry: the inspection is created once per workflow id, the verdict is written as absolute
values, and each step's event and notification carry the workflow's key (`<workflow id>:<step>`).

The plan is computed here, not in the workflow: the activity's result is recorded in the history,
so a later correction of the sampling tables never changes the plan of a lot already under way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import email_after_commit
from supplychain import dispositions, inspection, inspection_standing, notifications
from supplychain.db import session_scope
from supplychain.inspection import DefectCounts, InspectionAudience, InspectionPlan
from supplychain.models import (
    Disposition,
    Inspection,
    InspectionSeverity,
    InspectionStage,
    InspectionVerdict,
    Sku,
    SwitchingSeverity,
)
from supplychain.models.catalog import InspectionMode
from supplychain.rules.money import line_net

INVALID_PLAN_TYPE = "InvalidInspectionPlan"


@dataclass
class RecordInspectionInput:
    workflow_id: str
    po_number: str
    shipment_number: str
    line_no: int
    sku_id: int
    supplier_id: int
    location_id: int
    lot_size: int
    inspection_level: str
    severity: InspectionSeverity
    aql_critical: str
    aql_major: str
    aql_minor: str
    number_year: int  # the business year the INS number is counted in
    idempotency_key: str
    occurred_at: datetime | None = None
    lot_no: int = 1
    batch_no: str = ""
    expiry_date: date | None = None
    # Take severity (and skip-lot) from the supplier+SKU standing instead of `severity`.
    severity_from_standing: bool = False


@dataclass
class RecordInspectionResult:
    number: str
    created: bool  # False when the workflow's inspection had been recorded already
    plan: InspectionPlan
    severity: InspectionSeverity = InspectionSeverity.NORMAL
    skipped: bool = False  # skip-lot: accepted without inspection
    discontinued: bool = False  # the supplier's inspection for this SKU is discontinued (9.4)
    lot_value: Decimal | None = None  # net value of the lot at the PO price (None: no PO line)


@activity.defn
def record_inspection(input: RecordInspectionInput) -> RecordInspectionResult:
    with session_scope() as session:
        severity, skipped, discontinued = input.severity, False, False
        if input.severity_from_standing:
            sku = session.get(Sku, input.sku_id)
            assert sku is not None
            lot_standing = inspection_standing.standing(
                session,
                supplier_id=input.supplier_id,
                sku_id=input.sku_id,
                skip_lot_allowed=sku.inspection_mode is InspectionMode.SKIP_LOT,
            )
            severity = inspection_standing.plan_severity(lot_standing.severity)
            skipped = lot_standing.skip
            discontinued = lot_standing.severity is SwitchingSeverity.DISCONTINUED
        existing = inspection.inspection_for_workflow(session, input.workflow_id)
        if existing is not None:  # a retry after the commit: answer from the row (the lot is not
            # applied to the standing before this activity returns, so it still reads the same)
            return _recorded(existing, created=False, discontinued=discontinued)
        try:
            aqls = [
                inspection.normalized_aql(a) for a in (input.aql_critical, input.aql_major, input.aql_minor)
            ]
            plan = inspection.inspection_plan(
                lot_size=input.lot_size,
                level=input.inspection_level,
                severity=severity,
                aql_critical=aqls[0],
                aql_major=aqls[1],
                aql_minor=aqls[2],
            )
        except ValueError as error:  # the caller's settings are wrong: retrying cannot help
            raise ApplicationError(str(error), type=INVALID_PLAN_TYPE, non_retryable=True) from error
        price = dispositions.po_line_price(session, input.po_number, input.line_no)
        row, created = inspection.create_inspection(
            session,
            workflow_id=input.workflow_id,
            po_number=input.po_number,
            shipment_number=input.shipment_number,
            line_no=input.line_no,
            sku_id=input.sku_id,
            supplier_id=input.supplier_id,
            location_id=input.location_id,
            lot_size=input.lot_size,
            inspection_level=input.inspection_level,
            severity=severity,
            aql_critical=aqls[0],
            aql_major=aqls[1],
            aql_minor=aqls[2],
            plan=plan,
            number_year=input.number_year,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
            lot_no=input.lot_no,
            batch_no=input.batch_no,
            expiry_date=input.expiry_date,
            unit_price=price[0] if price else None,
            tax_rate=price[1] if price else None,
            skipped=skipped,
        )
        return _recorded(row, created=created, discontinued=discontinued)


def _recorded(row: Inspection, *, created: bool, discontinued: bool = False) -> RecordInspectionResult:
    return RecordInspectionResult(
        number=row.number,
        created=created,
        plan=inspection.plan_of(row),
        severity=row.severity,
        skipped=row.verdict is InspectionVerdict.SKIPPED,
        discontinued=discontinued,
        lot_value=None if row.unit_price is None else line_net(row.unit_price, row.lot_size),
    )


@dataclass
class RecordVerdictInput:
    number: str
    defects: DefectCounts
    verdict: InspectionVerdict
    accepted_quantity: int
    rejected_quantity: int
    inspector_user_id: int
    notes: str
    idempotency_key: str
    occurred_at: datetime | None = None


@activity.defn
def record_inspection_verdict(input: RecordVerdictInput) -> None:
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        inspection.record_verdict(
            session,
            row,
            defects=input.defects,
            verdict=input.verdict,
            accepted_quantity=input.accepted_quantity,
            rejected_quantity=input.rejected_quantity,
            inspector_user_id=input.inspector_user_id,
            notes=input.notes,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
        )


@dataclass
class NotifyInspectionInput:
    number: str
    audience: InspectionAudience
    message: str  # a message id from the translation catalogue
    idempotency_key: str
    params: dict[str, Any] = field(default_factory=dict)
    link: str | None = None  # default: the inspection page


@dataclass
class NotifyInspectionResult:
    user_ids: list[int]
    emailed: int


@activity.defn
def notify_inspection(input: NotifyInspectionInput) -> NotifyInspectionResult:
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        rows = notifications.notify(
            session,
            user_ids=inspection.recipients(session, row, input.audience),
            message=input.message,
            idempotency_key=input.idempotency_key,
            params={"number": input.number, **input.params},
            link=input.link or inspection.inspection_link(input.number),
            document_type=inspection.DOCUMENT_TYPE,
            document_id=input.number,
        )
        ids = [r.id for r in rows if r.id is not None]
        user_ids = [r.user_id for r in rows]
    return NotifyInspectionResult(user_ids=user_ids, emailed=email_after_commit(ids))


# --- after the verdict ---------------------------------------------------------------------------------


@dataclass
class ApplySwitchingInput:
    number: str
    occurred_at: datetime | None = None


@dataclass
class ApplySwitchingResult:
    severity: SwitchingSeverity  # the supplier+SKU severity for the next lot


@activity.defn
def apply_inspection_switching(input: ApplySwitchingInput) -> ApplySwitchingResult:
    """Feed the lot's result into its supplier+SKU switching and skip-lot state (once per lot)."""
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        standing = inspection_standing.apply_lot(session, row, at=input.occurred_at)
        return ApplySwitchingResult(severity=standing.severity)


@dataclass
class HoldForDecisionInput:
    number: str
    idempotency_key: str
    occurred_at: datetime | None = None


@activity.defn
def hold_lot_for_decision(input: HoldForDecisionInput) -> None:
    """Acceptance by sampling is discontinued for the lot's supplier and SKU: HQ decides the lot."""
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        dispositions.hold_for_decision(
            session, row, idempotency_key=input.idempotency_key, occurred_at=input.occurred_at
        )


@dataclass
class RecordDispositionInput:
    number: str
    disposition: Disposition
    deduction_percent: Decimal | None
    decided_by_user_id: int | None
    comment: str
    number_year: int
    idempotency_key: str
    occurred_at: datetime | None = None


@dataclass
class DispositionResult:
    accepted_quantity: int
    rejected_quantity: int
    debit_note_number: str | None = None


@activity.defn
def record_inspection_disposition(input: RecordDispositionInput) -> DispositionResult:
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        outcome = dispositions.record_disposition(
            session,
            row,
            disposition=input.disposition,
            deduction_percent=input.deduction_percent,
            decided_by_user_id=input.decided_by_user_id,
            comment=input.comment,
            number_year=input.number_year,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
        )
        return DispositionResult(
            outcome.accepted_quantity, outcome.rejected_quantity, outcome.debit_note_number
        )


@dataclass
class RecordSortingActivityInput:
    number: str
    good_quantity: int
    actor_user_id: int
    notes: str
    idempotency_key: str
    occurred_at: datetime | None = None


@activity.defn
def record_inspection_sorting(input: RecordSortingActivityInput) -> DispositionResult:
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        outcome = dispositions.record_sorting(
            session,
            row,
            good_quantity=input.good_quantity,
            actor_user_id=input.actor_user_id,
            notes=input.notes,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
        )
        return DispositionResult(outcome.accepted_quantity, outcome.rejected_quantity)


@dataclass
class CheckCertificatesInput:
    number: str
    on_date: date


@dataclass
class CheckCertificatesResult:
    problems: list[str]  # message ids; empty: nothing holds the lot


@activity.defn
def check_lot_certificates(input: CheckCertificatesInput) -> CheckCertificatesResult:
    """Hold the lot (stage ON_HOLD, the reasons on the row) while a required certificate is missing
    or expired; clear the hold once they are in order."""
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        problems = dispositions.certificate_hold(session, row, on_date=input.on_date)
        if problems:
            dispositions.set_stage(
                session, row, InspectionStage.ON_HOLD, hold_reason=dispositions.HOLD_SEPARATOR.join(problems)
            )
        elif row.hold_reason:
            dispositions.set_stage(session, row, row.stage, hold_reason="")
        return CheckCertificatesResult(problems=problems)


@dataclass
class ReleaseLotInput:
    number: str
    quantity: int
    quarantined: bool  # False: the PO posts the accepted quantity itself (lots received before quarantine)
    idempotency_key: str
    actor_user_id: int | None
    stage: InspectionStage | None  # where the lot goes next (DONE); None: unchanged (the rest goes back)


@activity.defn
def release_inspected_lot(input: ReleaseLotInput) -> None:
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        if input.quarantined:
            dispositions.release_from_quarantine(
                session,
                row,
                quantity=input.quantity,
                idempotency_key=input.idempotency_key,
                actor_user_id=input.actor_user_id,
            )
        dispositions.set_stage(session, row, input.stage or row.stage, hold_reason="")


@dataclass
class OpenReturnInput:
    number: str
    quantity: int
    reason: str
    number_year: int
    idempotency_key: str
    occurred_at: datetime | None = None


@dataclass
class OpenReturnResult:
    return_number: str


@activity.defn
def open_return_to_vendor(input: OpenReturnInput) -> OpenReturnResult:
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        rtv = dispositions.open_return(
            session,
            row,
            quantity=input.quantity,
            reason=input.reason,
            number_year=input.number_year,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
        )
        return OpenReturnResult(return_number=rtv.number)


@dataclass
class AcknowledgeReturnActivityInput:
    number: str
    actor_user_id: int
    note: str
    quarantined: bool
    number_year: int
    idempotency_key: str
    occurred_at: datetime | None = None


@dataclass
class AcknowledgeReturnActivityResult:
    debit_note_number: str


@activity.defn
def acknowledge_return_to_vendor(input: AcknowledgeReturnActivityInput) -> AcknowledgeReturnActivityResult:
    with session_scope() as session:
        row = inspection.require_inspection(session, input.number)
        debit_note = dispositions.acknowledge_return(
            session,
            row,
            actor_user_id=input.actor_user_id,
            note=input.note,
            quarantined=input.quarantined,
            number_year=input.number_year,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
        )
        return AcknowledgeReturnActivityResult(debit_note_number=debit_note.number if debit_note else "")
