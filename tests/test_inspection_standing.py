"""A supplier's standing per SKU (supplychain.inspection_standing) over a sequence of lots.

Lots are inspection rows as the activities write them (tests/test_inspection_photos.make_inspection:
500 units, level II, code letter H, major 2.5: Ac 3 Re 4 on normal); a rejected one has 4 major
defects. The next lot's plan comes from the `record_inspection` activity with
`severity_from_standing=True`, as the PO's inspections start it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from activities.inspection import RecordInspectionInput, RecordInspectionResult, record_inspection
from supplychain.inspection import CategoryPlan
from supplychain.inspection_standing import apply_lot, switching_row
from supplychain.models import (
    DocumentEvent,
    Inspection,
    InspectionSeverity,
    InspectionSwitching,
    InspectionVerdict,
    LocationKind,
    Organisation,
    OrgKind,
    Sku,
    SwitchingSeverity,
)
from supplychain.models.catalog import InspectionMode
from supplychain.rules.skip_lot import QUALIFY_AFTER, SKIP_FREQUENCY
from tests.factories import make_location, make_organisation, make_sku
from tests.test_inspection_photos import LOT_SIZE, make_inspection

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
A, R = InspectionVerdict.ACCEPTED, InspectionVerdict.REJECTED


class Lots:
    """One supplier and SKU at one warehouse; lots fed into their standing one by one."""

    def __init__(self, session: Session, mode: InspectionMode = InspectionMode.ALWAYS) -> None:
        self.session = session
        self.supplier: Organisation = make_organisation(session, kind=OrgKind.SUPPLIER)
        hq = make_organisation(session, kind=OrgKind.HQ)
        self.location_id = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE).id
        sku = make_sku(session)
        sku.inspection_mode = mode
        session.add(sku)
        session.commit()
        self.sku: Sku = sku

    def lot(
        self, verdict: InspectionVerdict, severity: InspectionSeverity = InspectionSeverity.NORMAL
    ) -> Inspection:
        row = make_inspection(
            self.session,
            supplier=self.supplier,
            verdict=verdict,
            sku_id=self.sku.id,
            location_id=self.location_id,
        )
        if severity is not InspectionSeverity.NORMAL:
            row.severity = severity
            self.session.add(row)
            self.session.commit()
        return row

    def apply(
        self, *verdicts: InspectionVerdict, severity: InspectionSeverity = InspectionSeverity.NORMAL
    ) -> None:
        for verdict in verdicts:
            apply_lot(self.session, self.lot(verdict, severity), at=AT)
            self.session.commit()

    def state(self) -> InspectionSwitching:
        self.session.expire_all()
        row = switching_row(self.session, self.supplier.id or 0, self.sku.id or 0)
        assert row is not None
        return row

    def next_plan(self) -> RecordInspectionResult:
        """The next lot's inspection, recorded as the PO's inspection child records it."""
        workflow_id = f"po-s-{uuid.uuid4().hex[:8]}:inspection:shp-s-1:1"
        assert self.supplier.id and self.sku.id
        return record_inspection(
            RecordInspectionInput(
                workflow_id=workflow_id,
                po_number="PO-S-1",
                shipment_number="SHP-S-1",
                line_no=1,
                sku_id=self.sku.id,
                supplier_id=self.supplier.id,
                location_id=self.location_id,
                lot_size=LOT_SIZE,
                inspection_level="II",
                severity=InspectionSeverity.NORMAL,  # ignored: the standing decides
                aql_critical="0",
                aql_major="2.5",
                aql_minor="4.0",
                number_year=2026,
                idempotency_key=f"{workflow_id}:created",
                occurred_at=AT,
                severity_from_standing=True,
            )
        )

    def row(self, number: str) -> Inspection:
        self.session.expire_all()
        row: Inspection = self.session.execute(
            select(Inspection).where(col(Inspection.number) == number)
        ).scalar_one()
        return row


def _severity_events(db: Engine) -> int:
    with Session(db) as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(DocumentEvent)
                .where(col(DocumentEvent.action) == "severity_changed")
            ).scalar_one()
        )


def _snapshot(row: InspectionSwitching) -> tuple[object, ...]:
    return (
        row.severity,
        row.recent_normal_rejections,
        row.switching_score,
        row.consecutive_accepted_tightened,
        row.rejected_on_tightened,
        row.lots_inspected,
        row.lots_skipped,
        row.skip_consecutive_accepted,
        row.skip_qualified,
        row.skip_lots_since_qualified,
    )


def test_two_rejected_lots_out_of_five_tighten_and_five_accepted_on_tightened_restore_normal(
    session: Session, db: Engine
) -> None:
    lots = Lots(session)
    assert lots.next_plan().severity is InspectionSeverity.NORMAL  # no standing yet
    lots.apply(A, R, A)
    assert lots.state().severity is SwitchingSeverity.NORMAL  # one rejection
    lots.apply(R)  # the second within five lots
    assert lots.state().severity is SwitchingSeverity.TIGHTENED
    assert _severity_events(db) == 1

    # The next lot is planned on tightened terms: code H, n 50, major 2.5 tightened: Ac 2 Re 3.
    plan = lots.next_plan()
    assert plan.severity is InspectionSeverity.TIGHTENED and not plan.skipped
    assert plan.plan.major == CategoryPlan(sample_size=50, accept=2, reject=3)
    assert lots.row(plan.number).severity is InspectionSeverity.TIGHTENED

    lots.apply(A, A, A, A, severity=InspectionSeverity.TIGHTENED)
    assert lots.state().severity is SwitchingSeverity.TIGHTENED  # four are not enough
    lots.apply(A, severity=InspectionSeverity.TIGHTENED)
    assert lots.state().severity is SwitchingSeverity.NORMAL
    assert _severity_events(db) == 2
    assert lots.next_plan().severity is InspectionSeverity.NORMAL
    assert lots.state().lots_inspected == 9


def test_applying_the_same_lot_twice_changes_nothing(session: Session, db: Engine) -> None:
    lots = Lots(session)
    lots.apply(R)
    second = lots.lot(R)
    apply_lot(session, second, at=AT)
    session.commit()
    once = _snapshot(lots.state())
    events = _severity_events(db)
    assert once[0] is SwitchingSeverity.TIGHTENED and events == 1
    assert lots.row(second.number).switching_applied

    apply_lot(session, lots.row(second.number), at=AT)  # a retry of the activity
    session.commit()
    assert _snapshot(lots.state()) == once
    assert _severity_events(db) == events


def test_skip_lot_after_ten_accepted_lots_skips_three_and_inspects_the_fourth(
    session: Session, db: Engine
) -> None:
    lots = Lots(session, InspectionMode.SKIP_LOT)
    lots.apply(*[A] * (QUALIFY_AFTER - 1))
    assert not lots.state().skip_qualified
    assert not lots.next_plan().skipped
    lots.apply(A)
    assert lots.state().skip_qualified
    assert lots.state().severity is SwitchingSeverity.NORMAL  # reduced needs the authority's approval

    for _ in range(SKIP_FREQUENCY - 1):
        recorded = lots.next_plan()
        assert recorded.skipped
        row = lots.row(recorded.number)
        assert (row.verdict, row.accepted_quantity, row.rejected_quantity) == (
            InspectionVerdict.SKIPPED,
            LOT_SIZE,
            0,
        )
        apply_lot(session, row, at=AT)
        session.commit()
        apply_lot(session, lots.row(recorded.number), at=AT)  # once per lot
        session.commit()
    assert (lots.state().lots_skipped, lots.state().skip_lots_since_qualified) == (3, 3)

    inspected = lots.next_plan()  # the fourth after qualifying is inspected
    assert not inspected.skipped
    assert lots.row(inspected.number).verdict is InspectionVerdict.PENDING


def test_only_a_skip_lot_sku_is_skipped_and_a_rejection_disqualifies(session: Session) -> None:
    always = Lots(session, InspectionMode.ALWAYS)
    always.apply(*[A] * QUALIFY_AFTER)
    assert always.state().skip_qualified  # the state qualifies, but the SKU is inspected every time
    assert not always.next_plan().skipped

    skip = Lots(session, InspectionMode.SKIP_LOT)
    skip.apply(*[A] * QUALIFY_AFTER)
    assert skip.next_plan().skipped
    skip.apply(R)
    assert not skip.state().skip_qualified
    assert not skip.next_plan().skipped
