"""The standing row's writers run at the same time: a lot result and HQ's action, or one lot result
twice (an activity retried while its first attempt still runs). Neither may lose the other's change.

The lot result is the real activity (`apply_inspection_switching`, its own session and transaction)
on a worker thread; it is held right after it has read the row, until the test lets it write. What
happens meanwhile depends on the database, and the tests say so:

- PostgreSQL: the other writer reads the same version, writes and commits; the held write then
  misses its version, and `update_standing` reads the row again and re-applies the lot on top.
- SQLite: the held writer's savepoint opened the transaction with BEGIN IMMEDIATE, so the other
  writer waits for its commit and then reads the row the lot left. The version check is not reached
  there; `test_a_write_from_a_stale_read_is_refused_by_the_version` shows it holds on SQLite too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col

from activities.inspection import ApplySwitchingInput, apply_inspection_switching
from supplychain import inspection_standing
from supplychain.models import (
    DocumentEvent,
    Inspection,
    InspectionSwitching,
    InspectionVerdict,
    OrgKind,
    Role,
    SwitchingSeverity,
)
from supplychain.scorecard import SWITCHING_DOCUMENT_TYPE, resume_after_corrective_action
from tests.factories import make_organisation, make_user
from tests.test_inspection_standing import Lots
from tests.test_scorecard import make_switching

WAIT = 30  # seconds; only reached when something is broken (a writer that never comes back)


@dataclass
class HeldLot:
    """Holds the first application of lot `number` after it has read the row, until `release()`."""

    number: str = ""
    read: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)
    seen_versions: list[int] = field(default_factory=list)  # the row version each application saw

    def release(self) -> None:
        self.go.set()


@pytest.fixture
def held_lot(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldLot]:
    held = HeldLot()
    real_apply = inspection_standing._apply

    def apply(
        session: Session, row: InspectionSwitching, inspection: Inspection, at: datetime | None
    ) -> None:
        if inspection.number == held.number:
            held.seen_versions.append(row.version)
            if len(held.seen_versions) == 1:
                held.read.set()
                assert held.go.wait(WAIT), "the test never let the held lot result write"
        real_apply(session, row, inspection, at)

    monkeypatch.setattr(inspection_standing, "_apply", apply)
    yield held
    held.release()  # never leave a worker thread waiting


def discontinued(lots: Lots) -> InspectionSwitching:
    return make_switching(
        lots.session,
        supplier=lots.supplier,
        sku=lots.sku,
        severity=SwitchingSeverity.DISCONTINUED,
        rejected_on_tightened=5,
        lots_inspected=7,
    )


def resume(db: Engine, row: InspectionSwitching, user_id: int) -> None:
    with Session(db) as s:
        resume_after_corrective_action(
            s,
            supplier_id=row.supplier_id,
            sku_id=row.sku_id,
            actor_user_id=user_id,
            idempotency_key="test:resume:1",
            note="8D report CA-17 closed",
        )
        s.commit()


def apply_result(number: str) -> None:
    apply_inspection_switching(ApplySwitchingInput(number=number))


def resume_events(db: Engine) -> int:
    with Session(db) as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(DocumentEvent)
                .where(col(DocumentEvent.document_type) == SWITCHING_DOCUMENT_TYPE)
            ).scalar_one()
        )


def test_hq_resumes_while_a_lot_result_is_recorded_and_both_land(
    session: Session, db: Engine, held_lot: HeldLot
) -> None:
    lots = Lots(session)
    row = discontinued(lots)
    start = row.version
    hq_user = make_user(session, organisation=make_organisation(session, kind=OrgKind.HQ), roles=[Role.ADMIN])
    lot = lots.lot(InspectionVerdict.ACCEPTED)  # inspected on tightened terms while discontinued
    held_lot.number = lot.number

    with ThreadPoolExecutor(max_workers=2) as pool:
        recording = pool.submit(apply_result, lot.number)
        assert held_lot.read.wait(WAIT)  # the lot result has read the discontinued row
        resuming = pool.submit(resume, db, row, hq_user.id)
        if db.dialect.name == "postgresql":
            resuming.result(timeout=WAIT)  # HQ read the same version and committed first
            held_lot.release()
        else:
            held_lot.release()  # HQ waits for the lot's write lock, then reads what the lot left
            resuming.result(timeout=WAIT)
        recording.result(timeout=WAIT)

    state = lots.state()
    assert state.severity is SwitchingSeverity.TIGHTENED  # the resumption stands
    assert state.lots_inspected == 8  # and the lot is counted, once
    assert lots.row(lot.number).switching_applied
    assert resume_events(db) == 1
    assert state.version == start + 2
    if db.dialect.name == "postgresql":
        # The lot result missed its version, read the resumed row and was applied on top of it:
        # its accepted lot is the first on tightened inspection after the restart.
        assert held_lot.seen_versions == [start, start + 1]
        assert state.consecutive_accepted_tightened == 1
    else:
        # The lot was applied first; the resumption restarted the counters after it.
        assert held_lot.seen_versions == [start]
        assert state.consecutive_accepted_tightened == 0


def test_a_lot_result_applied_twice_at_the_same_time_counts_once(
    session: Session, db: Engine, held_lot: HeldLot
) -> None:
    lots = Lots(session)
    lots.apply(InspectionVerdict.ACCEPTED)
    start = lots.state().version
    lot = lots.lot(InspectionVerdict.REJECTED)
    held_lot.number = lot.number

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(apply_result, lot.number)
        assert held_lot.read.wait(WAIT)
        retry = pool.submit(apply_result, lot.number)  # the activity's retry, the first still running
        if db.dialect.name == "postgresql":
            retry.result(timeout=WAIT)
            held_lot.release()
        else:
            held_lot.release()
            retry.result(timeout=WAIT)
        first.result(timeout=WAIT)

    state = lots.state()
    assert state.lots_inspected == 2
    assert state.recent_normal_rejections == "01"  # the rejection is in the history once
    assert state.version == start + 1  # one write; the other run found the lot applied
    if db.dialect.name == "postgresql":
        assert held_lot.seen_versions == [start, start]  # both read it before either wrote
    else:
        assert held_lot.seen_versions == [start]


def test_two_lots_of_one_sku_recorded_at_the_same_time_both_count(
    session: Session, db: Engine, held_lot: HeldLot
) -> None:
    lots = Lots(session)
    lots.apply(InspectionVerdict.ACCEPTED)
    start = lots.state().version
    first, second = lots.lot(InspectionVerdict.REJECTED), lots.lot(InspectionVerdict.ACCEPTED)
    held_lot.number = first.number

    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(apply_result, first.number)
        assert held_lot.read.wait(WAIT)
        other = pool.submit(apply_result, second.number)
        if db.dialect.name == "postgresql":
            other.result(timeout=WAIT)
            held_lot.release()
        else:
            held_lot.release()
            other.result(timeout=WAIT)
        held.result(timeout=WAIT)

    state = lots.state()
    assert state.lots_inspected == 3  # neither lot overwrote the other's count
    assert sorted(state.recent_normal_rejections) == ["0", "0", "1"]
    assert state.version == start + 2
    if db.dialect.name == "postgresql":
        assert held_lot.seen_versions == [start, start + 1]
        assert state.recent_normal_rejections == "001"  # the held lot landed last
    else:
        assert held_lot.seen_versions == [start]
        assert state.recent_normal_rejections == "010"


def test_a_write_from_a_stale_read_is_refused_by_the_version(session: Session, db: Engine) -> None:
    """Two sessions read the row, one writes, then the other: the second write fails instead of
    overwriting the first. Driven by hand, so it reads the same on SQLite and PostgreSQL."""
    lots = Lots(session)
    row = discontinued(lots)
    with Session(db) as hq, Session(db) as activity:
        seen_by_hq = inspection_standing.switching_row(hq, row.supplier_id, row.sku_id)
        seen_by_activity = inspection_standing.switching_row(activity, row.supplier_id, row.sku_id)
        assert seen_by_hq is not None and seen_by_activity is not None

        seen_by_hq.severity = SwitchingSeverity.TIGHTENED
        seen_by_hq.rejected_on_tightened = 0
        hq.commit()

        seen_by_activity.lots_inspected += 1
        seen_by_activity.rejected_on_tightened = 5  # the stale value would undo HQ's reset
        with pytest.raises(StaleDataError):
            activity.flush()
        activity.rollback()

    state = lots.state()
    assert (state.severity, state.rejected_on_tightened, state.lots_inspected) == (
        SwitchingSeverity.TIGHTENED,
        0,
        7,
    )


def test_a_refused_change_writes_nothing_and_keeps_the_callers_transaction(session: Session) -> None:
    lots = Lots(session)
    row = discontinued(lots)
    lot = lots.lot(InspectionVerdict.ACCEPTED)
    lot.batch_no = "B-1"  # the caller's own pending change
    session.add(lot)

    def refuse(standing: InspectionSwitching) -> None:
        standing.severity = SwitchingSeverity.NORMAL
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        inspection_standing.update_standing(session, row.supplier_id, row.sku_id, refuse)
    session.commit()

    assert lots.state().severity is SwitchingSeverity.DISCONTINUED
    assert lots.row(lot.number).batch_no == "B-1"


def test_a_missing_row_is_made_only_for_a_lot_result(session: Session) -> None:
    lots = Lots(session)
    assert lots.supplier.id and lots.sku.id
    with pytest.raises(LookupError):
        inspection_standing.update_standing(session, lots.supplier.id, lots.sku.id, lambda row: None)
    lots.apply(InspectionVerdict.ACCEPTED)
    assert (lots.state().lots_inspected, lots.state().version) == (1, 2)  # inserted, then updated
