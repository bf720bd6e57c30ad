"""Side effects of InspectionWorkflow: the inspection read model and notifications.

Sync activities on the worker's thread pool (see activities/events.py), each one transaction and
safe to retry: the inspection is created once per workflow id, the verdict is written as absolute
values, and each step's event and notification carry the workflow's key (`<workflow id>:<step>`).

The plan is computed here, not in the workflow: the activity's result is recorded in the history,
so a later correction of the sampling tables never changes the plan of a lot already under way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import email_after_commit
from supplychain import inspection, notifications
from supplychain.db import session_scope
from supplychain.inspection import DefectCounts, InspectionAudience, InspectionPlan
from supplychain.models import InspectionSeverity, InspectionVerdict

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


@dataclass
class RecordInspectionResult:
    number: str
    created: bool  # False when the workflow's inspection had been recorded already
    plan: InspectionPlan


@activity.defn
def record_inspection(input: RecordInspectionInput) -> RecordInspectionResult:
    try:
        aqls = [inspection.normalized_aql(a) for a in (input.aql_critical, input.aql_major, input.aql_minor)]
        plan = inspection.inspection_plan(
            lot_size=input.lot_size,
            level=input.inspection_level,
            severity=input.severity,
            aql_critical=aqls[0],
            aql_major=aqls[1],
            aql_minor=aqls[2],
        )
    except ValueError as error:  # the caller's settings are wrong: retrying cannot help
        raise ApplicationError(str(error), type=INVALID_PLAN_TYPE, non_retryable=True) from error
    with session_scope() as session:
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
            severity=input.severity,
            aql_critical=aqls[0],
            aql_major=aqls[1],
            aql_minor=aqls[2],
            plan=plan,
            number_year=input.number_year,
            idempotency_key=input.idempotency_key,
            occurred_at=input.occurred_at,
        )
        return RecordInspectionResult(number=row.number, created=created, plan=plan)


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
            link=inspection.inspection_link(input.number),
            document_type=inspection.DOCUMENT_TYPE,
            document_id=input.number,
        )
        ids = [r.id for r in rows if r.id is not None]
        user_ids = [r.user_id for r in rows]
    return NotifyInspectionResult(user_ids=user_ids, emailed=email_after_commit(ids))
