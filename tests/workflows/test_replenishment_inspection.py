"""ReplenishmentWorkflow with receiving inspection: a child InspectionWorkflow per inspected line.

The PO is the two-line order of test_replenishment (100 x A, 50 x B, shipped and counted in full).
A SKU whose `inspection_mode` is not "never" gets an inspection child per received line, the lot
being the counted quantity; the warehouse user's receipt returns at once (the PO stays in
delivery), the inspector records defects on the child, and only the accepted quantity is posted
to stock. A rejected lot posts nothing; its quantity is recorded on the PO's timeline (and the
line's state) and the PO still closes once every inspection has ended: what happens to the
rejected goods is the inspection's business (HQ's decision on the rejected lot, next step).

Receipts recorded before this change are replayed without inspection (`workflow.patched`): the
committed happy-path history replays, and every new history here ends with assert_replays.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client, WorkflowHandle, WorkflowHistory
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Replayer

    from supplychain.inspection import inspection_for_workflow
    from supplychain.models import (
        InspectionSeverity,
        InspectionVerdict,
        Organisation,
        POLineStatus,
        POStatus,
        Role,
        Sku,
        User,
    )
    from supplychain.models.catalog import InspectionMode
    from supplychain.temporal import DATA_CONVERTER
    from tests.factories import make_user
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.workflows.test_replenishment import (
        HAPPY_PATH_HISTORY,
        WORKFLOWS,
        Handle,
        World,
        _actions,
        _confirm,
        _events,
        _input,
        _ledger_rows,
        _lines,
        _on_hand,
        _po,
        _receive,
        _ship,
        _start,
        _state,
        _today,
        _until,
        world,  # noqa: F401  (the fixture)
    )
    from workflows.inspection import (
        InspectionResult,
        InspectionState,
        InspectionWorkflow,
        RecordDefectsInput,
        inspection_workflow_id,
    )
    from workflows.replenishment import INSPECTION_PATCH

REPLAYED = [*WORKFLOWS, InspectionWorkflow]


@pytest.fixture
def inspector(session: Session, world: World) -> User:
    hq = session.get(Organisation, world.hq_id)
    assert hq is not None
    return make_user(session, organisation=hq, roles=[Role.INSPECTOR], location=world.warehouse)


def _set_mode(session: Session, sku: Sku, mode: InspectionMode) -> None:
    row = session.get(Sku, sku.id)
    assert row is not None
    row.inspection_mode = mode
    session.add(row)
    session.commit()


async def _received_and_waiting(
    env: WorkflowEnvironment, task_queue: str, world: World, db: Engine, **kw: Any
) -> tuple[Handle, str]:
    """Start the two-line PO, confirm, ship and count everything; the receipt returns in delivery."""
    today = await _today(env)
    input = _input(world, inspection_answer_late_clicks_for=timedelta(seconds=1), **kw)
    handle = await _start(env.client, task_queue, input)
    await _confirm(handle, world, [(1, 100, today + timedelta(days=3)), (2, 50, today + timedelta(days=3))])
    shipment = await _ship(handle, world, today + timedelta(days=2), [(1, 100), (2, 50)])
    # The warehouse user's click returns once the receipt is recorded, before any verdict.
    assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.IN_DELIVERY
    assert {n: line.status for n, line in _lines(db, input.number).items()} == {
        1: POLineStatus.RECEIVED,
        2: POLineStatus.RECEIVED,
    }
    return handle, shipment


async def _inspection(client: Client, handle: Handle, shipment: str, line_no: int) -> Any:
    """The line's inspection child, once its plan is recorded."""
    child: WorkflowHandle[Any, InspectionResult] = client.get_workflow_handle(
        inspection_workflow_id(handle.id, shipment, line_no)
    )

    async def planned() -> bool:
        try:
            state: InspectionState = await child.query(InspectionWorkflow.get_state)
        except Exception:  # not started yet
            return False
        return state.plan is not None

    await _until(planned, f"the inspection of line {line_no}")
    return child


async def _record_defects(child: Any, inspector: User, critical: int = 0, major: int = 0) -> None:
    await child.execute_update(
        InspectionWorkflow.record_defects,
        RecordDefectsInput(actor_user_id=inspector.id, critical=critical, major=major, minor=0, notes="ok"),
    )


def _inspection_row(db: Engine, workflow_id: str) -> Any:
    with Session(db) as session:
        row = inspection_for_workflow(session, workflow_id)
        assert row is not None
        return row


async def _closed(handle: Handle, db: Engine, number: str) -> None:
    await _until(lambda: _po(db, number).status is POStatus.CLOSED, "the PO to close")
    assert (await _state(handle)).inspections == []


def _has_patch_marker(history: WorkflowHistory) -> bool:
    return any(
        event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and INSPECTION_PATCH in str(event)
        for event in history.events
    )


async def test_accepted_lot_is_posted_in_full_after_the_verdict_and_the_po_closes(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    _set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    _set_mode(session, world.sku_b, InspectionMode.SKIP_LOT)  # inspects every lot for now
    client = time_skipping_env.client
    before_a, before_b = _on_hand(db, world, world.sku_a), _on_hand(db, world, world.sku_b)
    async with running_worker(client, task_queue):
        handle, shipment = await _received_and_waiting(time_skipping_env, task_queue, world, db)
        number = (await _state(handle)).number
        first = await _inspection(client, handle, shipment, 1)
        second = await _inspection(client, handle, shipment, 2)
        row = _inspection_row(db, first.id)
        assert (row.lot_size, row.po_number, row.shipment_number, row.line_no) == (100, number, shipment, 1)
        assert (row.sku_id, row.supplier_id, row.location_id) == (
            world.sku_a.id,
            world.supplier_org_id,
            world.warehouse.id,
        )
        assert (row.inspection_level, row.severity) == ("II", InspectionSeverity.NORMAL)
        assert (row.aql_critical, row.aql_major, row.aql_minor) == ("0", "2.5", "4.0")
        assert _inspection_row(db, second.id).lot_size == 50
        # Nothing is in stock before the verdict, and the PO waits for it.
        assert (_on_hand(db, world, world.sku_a), _on_hand(db, world, world.sku_b)) == (before_a, before_b)
        state = await _state(handle)
        assert [(p.line_no, p.lot_size) for p in state.inspections] == [(1, 100), (2, 50)]
        assert state.lines[0].quantity_inspecting == 100

        await _record_defects(first, inspector, major=1)  # lot 100: code F, n 20; major 2.5: Ac 1
        await _until(lambda: _on_hand(db, world, world.sku_a) == before_a + 100, "line 1 to be posted")
        assert _po(db, number).status is POStatus.IN_DELIVERY  # line 2 is still being inspected
        await _record_defects(second, inspector)
        await _closed(handle, db, number)
        assert _on_hand(db, world, world.sku_b) == before_b + 50
        assert sorted(row.delta_on_hand for row in _ledger_rows(db, number)) == [50, 100]
        assert _actions(db, number)[-3:] == ["inspection_finished", "inspection_finished", "closed"]
        finished = _events(db, number, "inspection_finished")
        assert [(e.after["line"], e.after["verdict"], e.after["quantity_accepted"]) for e in finished] == [
            (1, "accepted", 100),
            (2, "accepted", 50),
        ]
        assert (await handle.result()).status is POStatus.CLOSED
        history = await handle.fetch_history()
    assert _has_patch_marker(history)
    await assert_replays(client, handle.id, REPLAYED)
    await assert_replays(client, first.id, REPLAYED)


async def test_rejected_lot_posts_nothing_records_the_rejected_quantity_and_the_po_closes(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    _set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    _set_mode(session, world.sku_b, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    before_a, before_b = _on_hand(db, world, world.sku_a), _on_hand(db, world, world.sku_b)
    async with running_worker(client, task_queue):
        handle, shipment = await _received_and_waiting(time_skipping_env, task_queue, world, db)
        number = (await _state(handle)).number
        first = await _inspection(client, handle, shipment, 1)
        second = await _inspection(client, handle, shipment, 2)
        await _record_defects(first, inspector, critical=1)  # critical AQL 0: one defect rejects
        await _record_defects(second, inspector)
        await _closed(handle, db, number)
        assert _on_hand(db, world, world.sku_a) == before_a  # nothing of the rejected lot
        assert _on_hand(db, world, world.sku_b) == before_b + 50
        assert [row.delta_on_hand for row in _ledger_rows(db, number)] == [50]
        assert _inspection_row(db, first.id).verdict is InspectionVerdict.REJECTED
        rejected = [e for e in _events(db, number, "inspection_finished") if e.after["line"] == 1]
        assert [
            (e.after["verdict"], e.after["quantity_accepted"], e.after["quantity_rejected"]) for e in rejected
        ] == [("rejected", 0, 100)]
        lines = {line.line_no: line for line in (await _state(handle)).lines}
        assert (lines[1].quantity_rejected, lines[1].quantity_inspecting, lines[2].quantity_rejected) == (
            100,
            0,
            0,
        )
        assert _lines(db, number)[1].quantity_received == 100  # counted, as recorded at the receipt
        assert (await handle.result()).status is POStatus.CLOSED
    await assert_replays(client, handle.id, REPLAYED)
    await assert_replays(client, first.id, REPLAYED)


async def test_mixed_po_posts_the_uninspected_line_at_once_and_the_inspected_one_after_its_verdict(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    _set_mode(session, world.sku_a, InspectionMode.ALWAYS)  # B stays "never", the default
    client = time_skipping_env.client
    before_a, before_b = _on_hand(db, world, world.sku_a), _on_hand(db, world, world.sku_b)
    async with running_worker(client, task_queue):
        handle, shipment = await _received_and_waiting(time_skipping_env, task_queue, world, db)
        number = (await _state(handle)).number
        # Line 2 is posted with the receipt; line 1 waits for its inspection; no child for line 2.
        assert _on_hand(db, world, world.sku_b) == before_b + 50
        assert _on_hand(db, world, world.sku_a) == before_a
        assert [p.line_no for p in (await _state(handle)).inspections] == [1]
        first = await _inspection(client, handle, shipment, 1)
        with Session(db) as s:
            assert inspection_for_workflow(s, inspection_workflow_id(handle.id, shipment, 2)) is None
        await _record_defects(first, inspector)
        await _closed(handle, db, number)
        assert _on_hand(db, world, world.sku_a) == before_a + 100
        assert _actions(db, number)[-3:] == ["shipment_received", "inspection_finished", "closed"]
        assert (await handle.result()).status is POStatus.CLOSED
    await assert_replays(client, handle.id, REPLAYED)
    await assert_replays(client, first.id, REPLAYED)


async def test_the_history_recorded_before_inspection_still_replays_without_it() -> None:
    """The committed happy path (receipt posted at once, no patch marker) replays on today's code."""
    recorded = json.loads(HAPPY_PATH_HISTORY.read_text())
    history = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
    assert not _has_patch_marker(history)
    assert not any(
        event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        for event in history.events
    )
    await Replayer(workflows=REPLAYED, data_converter=DATA_CONVERTER).replay_workflow(history)
