"""The supplier quality scorecard (supplychain.scorecard): figures from inspection rows, scoping, and
the two HQ actions on the switching state.

Every inspected lot here is 500 units, level II, normal: sample 50 for each category (critical
Ac 0 Re 1, major Ac 3 Re 4, minor Ac 5 Re 6).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from supplychain.models import (
    DebitNote,
    DebitNoteKind,
    Disposition,
    DocumentEvent,
    Inspection,
    InspectionSeverity,
    InspectionStage,
    InspectionSwitching,
    InspectionVerdict,
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    ReturnStatus,
    ReturnToVendor,
    Role,
    Sku,
    SwitchingSeverity,
    User,
)
from supplychain.principal import Principal, principal_for
from supplychain.scorecard import (
    SWITCHING_DOCUMENT_TYPE,
    SwitchingRefused,
    approve_reduced,
    rate,
    resume_after_corrective_action,
    supplier_scorecard,
    supplier_scorecards,
    switching_document_id,
)
from tests.factories import make_location, make_organisation, make_sku, make_user

LOT = 500
SAMPLE = 50
_numbers = itertools.count(1)


def make_inspection(
    session: Session,
    *,
    supplier: Organisation,
    sku: Sku,
    location: Location,
    verdict: InspectionVerdict,
    critical: int = 0,
    major: int = 0,
    minor: int = 0,
    disposition: Disposition | None = None,
) -> Inspection:
    """One lot's inspection row as the inspection activities leave it (committed)."""
    assert supplier.id and sku.id and location.id
    n = next(_numbers)
    decided = verdict is not InspectionVerdict.PENDING
    counted = verdict in (InspectionVerdict.ACCEPTED, InspectionVerdict.REJECTED)
    row = Inspection(
        number=f"INS-T-{n:06d}-{supplier.id}",
        workflow_id=f"test-inspection-{n}-{supplier.id}-{sku.id}",
        po_number=f"PO-T-{n:06d}",
        shipment_number=f"SHP-T-{n:06d}",
        line_no=1,
        sku_id=sku.id,
        supplier_id=supplier.id,
        location_id=location.id,
        lot_size=LOT,
        inspection_level="II",
        severity=InspectionSeverity.NORMAL,
        aql_critical="0",
        aql_major="2.5",
        aql_minor="4.0",
        code_letter="H",
        sample_size=SAMPLE,
        critical_sample_size=SAMPLE,
        critical_accept=0,
        critical_reject=1,
        major_sample_size=SAMPLE,
        major_accept=3,
        major_reject=4,
        minor_sample_size=SAMPLE,
        minor_accept=5,
        minor_reject=6,
        critical_defects=critical if counted else None,
        major_defects=major if counted else None,
        minor_defects=minor if counted else None,
        verdict=verdict,
        accepted_quantity=None if not decided else (0 if verdict is InspectionVerdict.REJECTED else LOT),
        rejected_quantity=None if not decided else (LOT if verdict is InspectionVerdict.REJECTED else 0),
        decided_at=datetime.now(UTC) if decided else None,
        stage=InspectionStage.DONE if decided else InspectionStage.AWAITING_INSPECTION,
        disposition=disposition,
        unit_price=Decimal("10.0000"),
        tax_rate=Decimal("0.13"),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def make_return(
    session: Session, inspection: Inspection, *, acknowledged_by: User | None = None
) -> ReturnToVendor:
    assert inspection.id
    row = ReturnToVendor(
        number=f"RTV-T-{inspection.id:06d}",
        inspection_id=inspection.id,
        supplier_id=inspection.supplier_id,
        sku_id=inspection.sku_id,
        location_id=inspection.location_id,
        po_number=inspection.po_number,
        quantity=inspection.lot_size,
        unit_price=Decimal("10.0000"),
        tax_rate=Decimal("0.13"),
        status=ReturnStatus.ACKNOWLEDGED if acknowledged_by else ReturnStatus.AWAITING_ACKNOWLEDGEMENT,
        acknowledged_by_user_id=acknowledged_by.id if acknowledged_by else None,
        acknowledged_at=datetime.now(UTC) if acknowledged_by else None,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def make_debit_note(
    session: Session, inspection: Inspection, *, kind: DebitNoteKind, net: str, tax: str
) -> DebitNote:
    assert inspection.id
    row = DebitNote(
        number=f"DN-T-{inspection.id:06d}-{kind.value[:3]}",
        kind=kind,
        supplier_id=inspection.supplier_id,
        inspection_id=inspection.id,
        po_number=inspection.po_number,
        sku_id=inspection.sku_id,
        quantity=inspection.lot_size,
        net_amount=Decimal(net),
        tax_amount=Decimal(tax),
        total_amount=Decimal(net) + Decimal(tax),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def make_switching(
    session: Session, *, supplier: Organisation, sku: Sku, severity: SwitchingSeverity, **fields: object
) -> InspectionSwitching:
    assert supplier.id and sku.id
    row = InspectionSwitching(supplier_id=supplier.id, sku_id=sku.id, severity=severity, **fields)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


@dataclass
class World:
    hq_user: User
    supplier_a: Organisation
    supplier_b: Organisation
    supplier_a_user: User
    sku_1: Sku
    sku_2: Sku
    location: Location


@pytest.fixture
def world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    return World(
        hq_user=make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER]),
        supplier_a=(a := make_organisation(session, kind=OrgKind.SUPPLIER, name="Alpha Foods")),
        supplier_b=make_organisation(session, kind=OrgKind.SUPPLIER, name="Beta Care"),
        supplier_a_user=make_user(session, organisation=a, roles=[Role.SUPPLIER]),
        sku_1=make_sku(session, code=None),
        sku_2=make_sku(session),
        location=make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE),
    )


def principal(session: Session, user: User) -> Principal:
    return principal_for(session, user)


def lots(session: Session, w: World) -> None:
    """Alpha: SKU 1 two accepted, one rejected (conceded), one skipped, one pending; SKU 2 two
    rejected (one returned, RTV open; one sorted, RTV acknowledged). Beta: one accepted."""
    a, s1, s2, loc = w.supplier_a, w.sku_1, w.sku_2, w.location
    make_inspection(
        session, supplier=a, sku=s1, location=loc, verdict=InspectionVerdict.ACCEPTED, major=1, minor=2
    )
    make_inspection(session, supplier=a, sku=s1, location=loc, verdict=InspectionVerdict.ACCEPTED)
    conceded = make_inspection(
        session,
        supplier=a,
        sku=s1,
        location=loc,
        verdict=InspectionVerdict.REJECTED,
        major=4,
        minor=1,
        disposition=Disposition.CONCESSION,
    )
    make_debit_note(session, conceded, kind=DebitNoteKind.CONCESSION, net="250.00", tax="32.50")
    make_inspection(session, supplier=a, sku=s1, location=loc, verdict=InspectionVerdict.SKIPPED)
    make_inspection(session, supplier=a, sku=s1, location=loc, verdict=InspectionVerdict.PENDING)
    returned = make_inspection(
        session,
        supplier=a,
        sku=s2,
        location=loc,
        verdict=InspectionVerdict.REJECTED,
        critical=1,
        disposition=Disposition.RETURN_TO_VENDOR,
    )
    make_return(session, returned)
    make_debit_note(session, returned, kind=DebitNoteKind.RETURN_TO_VENDOR, net="5000.00", tax="650.00")
    sorted_lot = make_inspection(
        session,
        supplier=a,
        sku=s2,
        location=loc,
        verdict=InspectionVerdict.REJECTED,
        major=5,
        disposition=Disposition.SORTING,
    )
    make_return(session, sorted_lot, acknowledged_by=w.supplier_a_user)
    make_debit_note(session, sorted_lot, kind=DebitNoteKind.RETURN_TO_VENDOR, net="100.00", tax="13.00")
    make_inspection(
        session, supplier=w.supplier_b, sku=s1, location=loc, verdict=InspectionVerdict.ACCEPTED, minor=3
    )


def test_rate_is_a_decimal_fraction_and_none_without_a_denominator() -> None:
    assert rate(2, 3) == Decimal("0.666667")
    assert rate(1, 50) == Decimal("0.02")
    assert rate(0, 0) is None


def test_scorecard_counts_lots_defects_dispositions_returns_and_debit_notes_per_sku(
    session: Session, world: World
) -> None:
    lots(session, world)
    card = supplier_scorecard(session, principal(session, world.hq_user), world.supplier_a.id or 0)
    assert card is not None

    sku_1 = card.sku(world.sku_1.id or 0)
    assert sku_1 is not None
    f1 = sku_1.figures
    assert (f1.lots_inspected, f1.accepted, f1.rejected, f1.skipped, f1.pending) == (3, 2, 1, 1, 1)
    assert f1.acceptance_rate == Decimal("0.666667")
    assert (f1.defects, f1.units_sampled) == (
        {"critical": 0, "major": 5, "minor": 3},
        dict.fromkeys(("critical", "major", "minor"), 3 * SAMPLE),
    )
    assert f1.category("major").rate == Decimal("0.033333")
    assert f1.category("minor").rate == Decimal("0.02")
    assert f1.category("critical").rate == Decimal(0)
    assert (f1.concessions, f1.sortings, f1.returns, f1.open_returns) == (1, 0, 0, 0)
    assert (f1.debit_notes, f1.debit_note_total) == (1, Decimal("282.50"))

    sku_2 = card.sku(world.sku_2.id or 0)
    assert sku_2 is not None
    f2 = sku_2.figures
    assert (f2.lots_inspected, f2.accepted, f2.rejected, f2.skipped) == (2, 0, 2, 0)
    assert f2.acceptance_rate == Decimal(0)
    assert f2.category("critical").rate == Decimal("0.01")
    assert f2.category("major").rate == Decimal("0.05")
    assert (f2.concessions, f2.sortings, f2.returns, f2.open_returns) == (0, 1, 1, 1)
    assert (f2.debit_notes, f2.debit_note_total) == (2, Decimal("5763.00"))


def test_supplier_totals_add_up_its_skus_and_leave_other_suppliers_out(
    session: Session, world: World
) -> None:
    lots(session, world)
    cards = {c.supplier.id: c for c in supplier_scorecards(session, principal(session, world.hq_user))}

    total = cards[world.supplier_a.id].figures
    assert (total.lots_inspected, total.accepted, total.rejected, total.skipped) == (5, 2, 3, 1)
    assert total.acceptance_rate == Decimal("0.4")
    assert total.defects == {"critical": 1, "major": 10, "minor": 3}
    assert total.category("major").rate == Decimal("0.04")  # 10 / 250
    assert (total.concessions, total.sortings, total.returns, total.open_returns) == (1, 1, 1, 1)
    assert (total.debit_notes, total.debit_note_total) == (3, Decimal("6045.50"))

    beta = cards[world.supplier_b.id]
    assert (beta.figures.lots_inspected, beta.figures.accepted, beta.figures.defects["minor"]) == (1, 1, 3)
    assert beta.figures.debit_note_total == Decimal("0.00")


def test_supplier_without_lots_has_zeros_and_no_rates(session: Session, world: World) -> None:
    card = supplier_scorecard(session, principal(session, world.hq_user), world.supplier_b.id or 0)
    assert card is not None and card.skus == []
    assert card.figures.lots_inspected == 0
    assert card.figures.acceptance_rate is None
    assert all(c.rate is None for c in card.figures.categories)


def test_a_supplier_sees_only_its_own_scorecard(session: Session, world: World) -> None:
    lots(session, world)
    own = principal(session, world.supplier_a_user)

    assert [c.supplier.id for c in supplier_scorecards(session, own)] == [world.supplier_a.id]
    assert supplier_scorecard(session, own, world.supplier_b.id or 0) is None
    card = supplier_scorecard(session, own, world.supplier_a.id or 0)
    assert card is not None and card.figures.lots_inspected == 5


def test_an_hq_organisation_id_is_not_a_scorecard(session: Session, world: World) -> None:
    hq_principal = principal(session, world.hq_user)
    assert supplier_scorecard(session, hq_principal, hq_principal.organisation_id) is None


def test_switching_state_is_shown_per_sku_even_before_any_lot_row(session: Session, world: World) -> None:
    make_switching(
        session,
        supplier=world.supplier_a,
        sku=world.sku_2,
        severity=SwitchingSeverity.TIGHTENED,
        switching_score=0,
        skip_qualified=False,
    )
    make_switching(
        session,
        supplier=world.supplier_a,
        sku=world.sku_1,
        severity=SwitchingSeverity.NORMAL,
        switching_score=32,
        skip_qualified=True,
    )
    card = supplier_scorecard(session, principal(session, world.hq_user), world.supplier_a.id or 0)
    assert card is not None
    by_sku = {s.sku.id: s.switching for s in card.skus}
    assert by_sku[world.sku_1.id] is not None and by_sku[world.sku_1.id].switching_score == 32
    assert by_sku[world.sku_1.id].skip_qualified
    assert by_sku[world.sku_2.id].severity is SwitchingSeverity.TIGHTENED


# --- HQ actions --------------------------------------------------------------------------------------


def events(session: Session, row: InspectionSwitching) -> list[DocumentEvent]:
    return list(
        session.execute(
            select(DocumentEvent).where(
                DocumentEvent.document_type == SWITCHING_DOCUMENT_TYPE,
                DocumentEvent.document_id == switching_document_id(row.supplier_id, row.sku_id),
            )
        ).scalars()
    )


def test_approving_reduced_sets_the_flag_and_records_one_event_per_key(
    session: Session, world: World
) -> None:
    row = make_switching(
        session,
        supplier=world.supplier_a,
        sku=world.sku_1,
        severity=SwitchingSeverity.NORMAL,
        switching_score=30,
    )
    approve_reduced(session, row, actor_user_id=world.hq_user.id or 0, idempotency_key="k-approve-1")
    session.commit()

    assert session.get(InspectionSwitching, row.id).reduced_approved
    [event] = events(session, row)
    assert event.action == "reduced_approved" and event.actor_user_id == world.hq_user.id
    assert event.before["reduced_approved"] is False and event.after["reduced_approved"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("severity", "approved"),
    [
        (SwitchingSeverity.TIGHTENED, False),
        (SwitchingSeverity.DISCONTINUED, False),
        (SwitchingSeverity.REDUCED, False),
        (SwitchingSeverity.NORMAL, True),
    ],
)
def test_reduced_cannot_be_approved_off_normal_or_twice(
    session: Session, world: World, severity: SwitchingSeverity, approved: bool
) -> None:
    row = make_switching(
        session, supplier=world.supplier_a, sku=world.sku_1, severity=severity, reduced_approved=approved
    )
    with pytest.raises(SwitchingRefused):
        approve_reduced(session, row, actor_user_id=world.hq_user.id or 0, idempotency_key="k-approve-2")
    session.rollback()
    assert session.get(InspectionSwitching, row.id).reduced_approved is approved
    assert events(session, row) == []


def test_resuming_a_discontinued_inspection_restarts_tightened_with_counters_reset(
    session: Session, world: World
) -> None:
    row = make_switching(
        session,
        supplier=world.supplier_a,
        sku=world.sku_1,
        severity=SwitchingSeverity.DISCONTINUED,
        rejected_on_tightened=5,
        consecutive_accepted_tightened=2,
        recent_normal_rejections="0101",
        switching_score=6,
        reduced_approved=True,
        skip_consecutive_accepted=3,
        skip_qualified=True,
        skip_lots_since_qualified=2,
    )
    resume_after_corrective_action(
        session, row, actor_user_id=world.hq_user.id or 0, idempotency_key="k-resume-1", note="8D report 42"
    )
    session.commit()

    fresh = session.get(InspectionSwitching, row.id)
    assert fresh is not None
    assert fresh.severity is SwitchingSeverity.TIGHTENED
    assert (
        fresh.rejected_on_tightened,
        fresh.consecutive_accepted_tightened,
        fresh.recent_normal_rejections,
        fresh.switching_score,
        fresh.reduced_approved,
        fresh.skip_consecutive_accepted,
        fresh.skip_qualified,
        fresh.skip_lots_since_qualified,
    ) == (0, 0, "", 0, False, 0, False, 0)
    [event] = events(session, row)
    assert event.action == "resumed_after_corrective_action" and event.note == "8D report 42"
    assert event.before["severity"] == "discontinued" and event.after["severity"] == "tightened"  # type: ignore[index]


def test_only_a_discontinued_inspection_can_be_resumed(session: Session, world: World) -> None:
    row = make_switching(
        session,
        supplier=world.supplier_a,
        sku=world.sku_1,
        severity=SwitchingSeverity.TIGHTENED,
        rejected_on_tightened=3,
    )
    with pytest.raises(SwitchingRefused):
        resume_after_corrective_action(
            session, row, actor_user_id=world.hq_user.id or 0, idempotency_key="k-resume-2", note="done"
        )
    session.rollback()
    assert session.get(InspectionSwitching, row.id).rejected_on_tightened == 3
    assert session.execute(select(func.count()).select_from(DocumentEvent)).scalar_one() == 0
