"""The inspection activities called directly, twice, as a retry after a crash would call them; the
plan's refusals; and the table's CHECK constraints."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from temporalio.exceptions import ApplicationError

from activities.inspection import (
    INVALID_PLAN_TYPE,
    NotifyInspectionInput,
    RecordInspectionInput,
    RecordVerdictInput,
    notify_inspection,
    record_inspection,
    record_inspection_verdict,
)
from supplychain.inspection import (
    CategoryPlan,
    DefectCounts,
    InspectionAudience,
    inspection_plan,
    lot_verdict,
)
from supplychain.models import (
    DocumentEvent,
    Inspection,
    InspectionSeverity,
    InspectionVerdict,
    LocationKind,
    Notification,
    OrgKind,
    Role,
)
from tests.factories import make_location, make_organisation, make_sku, make_user

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _count(db: Engine, model: type, *where: object) -> int:
    with Session(db) as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _record_input(session: Session, **kw: object) -> RecordInspectionInput:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    make_user(session, organisation=hq, roles=[Role.INSPECTOR], location=warehouse)
    workflow_id = f"po-a-{uuid.uuid4().hex[:8]}:inspection:shp-a-1:1"
    input = RecordInspectionInput(
        workflow_id=workflow_id,
        po_number="PO-A-1",
        shipment_number="SHP-A-1",
        line_no=1,
        sku_id=make_sku(session).id,
        supplier_id=supplier.id,
        location_id=warehouse.id,
        lot_size=500,
        inspection_level="II",
        severity=InspectionSeverity.NORMAL,
        aql_critical="0",
        aql_major="2.5",
        aql_minor="4",
        number_year=2026,
        idempotency_key=f"{workflow_id}:created",
        occurred_at=AT,
    )
    return replace(input, **kw)


def test_recording_an_inspection_twice_writes_one_row_one_number_and_one_event(
    session: Session, db: Engine
) -> None:
    input = _record_input(session)
    first = record_inspection(input)
    second = record_inspection(input)

    assert first.created and not second.created
    assert first.number == second.number and first.number.startswith("INS-2026-")
    assert first.plan == second.plan
    assert first.plan.major == CategoryPlan(sample_size=50, accept=3, reject=4)
    assert _count(db, Inspection, col(Inspection.workflow_id) == input.workflow_id) == 1
    assert _count(db, DocumentEvent, col(DocumentEvent.document_id) == first.number) == 1
    with Session(db) as s:
        row = s.execute(select(Inspection).where(col(Inspection.number) == first.number)).scalar_one()
        assert row.aql_minor == "4.0"  # as the standard prints it
        assert row.verdict is InspectionVerdict.PENDING


def test_recording_a_verdict_twice_writes_it_once(session: Session, db: Engine) -> None:
    input = _record_input(session)
    number = record_inspection(input).number
    inspector = make_user(
        session, organisation=make_organisation(session, kind=OrgKind.HQ), roles=[Role.INSPECTOR]
    )
    verdict = RecordVerdictInput(
        number=number,
        defects=DefectCounts(critical=0, major=4, minor=1),
        verdict=InspectionVerdict.REJECTED,
        accepted_quantity=0,
        rejected_quantity=500,
        inspector_user_id=inspector.id,
        notes="seams open",
        idempotency_key=f"{input.workflow_id}:verdict",
        occurred_at=AT,
    )
    record_inspection_verdict(verdict)
    record_inspection_verdict(verdict)

    assert _count(db, DocumentEvent, col(DocumentEvent.document_id) == number) == 2  # created, rejected
    with Session(db) as s:
        row = s.execute(select(Inspection).where(col(Inspection.number) == number)).scalar_one()
        assert (row.verdict, row.major_defects, row.rejected_quantity) == (InspectionVerdict.REJECTED, 4, 500)


def test_notifying_the_inspectors_twice_notifies_each_once(session: Session, db: Engine) -> None:
    input = _record_input(session)
    number = record_inspection(input).number
    notify = NotifyInspectionInput(
        number=number,
        audience=InspectionAudience.INSPECTORS,
        message="Inspection %(number)s is waiting.",
        idempotency_key=f"{input.workflow_id}:notify:waiting",
    )
    first = notify_inspection(notify)
    second = notify_inspection(notify)
    assert len(first.user_ids) == 1 and first.user_ids == second.user_ids
    assert _count(db, Notification, col(Notification.document_id) == number) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"aql_major": "3.0"},
        {"inspection_level": "IV"},
        {"aql_critical": "0", "aql_major": "0", "aql_minor": "0"},
    ],
    ids=["unknown-aql", "unknown-level", "no-tabled-aql"],
)
def test_a_plan_that_cannot_be_computed_fails_without_retry_and_writes_nothing(
    session: Session, db: Engine, change: dict[str, object]
) -> None:
    input = _record_input(session, **change)
    with pytest.raises(ApplicationError) as error:
        record_inspection(input)
    assert error.value.type == INVALID_PLAN_TYPE and error.value.non_retryable
    assert _count(db, Inspection) == 0


def test_a_reduced_plan_comes_from_table_ii_c(session: Session, db: Engine) -> None:
    """Lot 500, level II: code H; reduced inspection samples 20 (Table II-C in the MIL-STD-105E / Z1.4
    edition, with the reduced-inspection gap), major 2.5: Ac 1 Re 4."""
    input = _record_input(session, severity=InspectionSeverity.REDUCED)
    recorded = record_inspection(input)
    assert recorded.severity is InspectionSeverity.REDUCED
    assert recorded.plan.sample_size == 20
    assert recorded.plan.major == CategoryPlan(sample_size=20, accept=1, reject=4)
    with Session(db) as s:
        row = s.execute(select(Inspection).where(col(Inspection.number) == recorded.number)).scalar_one()
        assert (row.severity, row.major_sample_size) == (InspectionSeverity.REDUCED, 20)


def test_the_verdict_follows_each_categorys_rejection_number() -> None:
    plan = inspection_plan(
        lot_size=500,
        level="II",
        severity=InspectionSeverity.NORMAL,
        aql_critical="0",
        aql_major="2.5",
        aql_minor="4.0",
    )
    assert lot_verdict(plan, DefectCounts(0, 3, 5)) is InspectionVerdict.ACCEPTED
    assert lot_verdict(plan, DefectCounts(0, 4, 0)) is InspectionVerdict.REJECTED
    assert lot_verdict(plan, DefectCounts(1, 0, 0)) is InspectionVerdict.REJECTED
    assert lot_verdict(plan, DefectCounts(0, 0, 6)) is InspectionVerdict.REJECTED
    with pytest.raises(ValueError):
        lot_verdict(plan, DefectCounts(0, 51, 0))


def test_a_small_lot_is_inspected_in_full() -> None:
    plan = inspection_plan(
        lot_size=4,
        level="II",
        severity=InspectionSeverity.TIGHTENED,
        aql_critical="0",
        aql_major="0.65",
        aql_minor="4.0",
    )
    assert plan.hundred_percent and plan.sample_size == 4
    assert all(plan.for_category(c).sample_size <= 4 for c in ("critical", "major", "minor"))


@pytest.mark.parametrize(
    "values",
    [
        {"major_defects": 51},  # more than the category's sample
        {"minor_defects": -1},
        {"verdict": "accepted"},  # decided without counts or quantities
    ],
    ids=["defects-above-sample", "negative-defects", "decided-without-counts"],
)
def test_the_table_refuses_counts_the_plan_does_not_allow(
    session: Session, db: Engine, values: dict[str, object]
) -> None:
    number = record_inspection(_record_input(session)).number
    with Session(db) as s, pytest.raises(IntegrityError):
        s.execute(update(Inspection).where(col(Inspection.number) == number).values(**values))
        s.commit()
