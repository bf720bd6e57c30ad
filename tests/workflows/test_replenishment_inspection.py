"""ReplenishmentWorkflow with receiving inspection: a child InspectionWorkflow per inspected lot.

The PO is the two-line order of test_replenishment (100 x A, 50 x B, shipped and counted in full).
A SKU whose `inspection_mode` is not "never" gets an inspection child per received lot, the lot
being the counted quantity; the warehouse user's receipt returns at once (the PO stays in
delivery) and the line is in stock at once, as quarantine (on hand, not available). The inspector
records defects on the child: an accepted lot is released from quarantine (on hand unchanged). A
rejected lot goes to HQ's quality decision and its inspection does not end until decided (and, for
a return to vendor, until the supplier acknowledged the return); the PO closes once every
inspection has ended. The dispositions themselves are tested in test_inspection_dispositions.

Receipts recorded before this change are replayed without inspection (`workflow.patched`): the
committed happy-path history replays (test_histories), and every new history here ends with
assert_replays.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import WorkflowHistory
    from temporalio.testing import WorkflowEnvironment

    from supplychain.inspection import inspection_for_workflow
    from supplychain.models import (
        Disposition,
        InspectionSeverity,
        InspectionStage,
        InspectionVerdict,
        POStatus,
        ReturnStatus,
        User,
    )
    from supplychain.models.catalog import InspectionMode
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.workflows.history_scenarios import history_path, read_history
    from tests.workflows.inspection_world import (
        REPLAYED,
        Balance,
        acknowledge,
        balance,
        closed,
        decide,
        inspection,
        inspection_row,
        inspector,  # noqa: F401  (the fixture)
        quality_approver,  # noqa: F401  (the fixture)
        received_and_waiting,
        record_defects,
        reject,
        rtv_of,
        set_mode,
        until_return,
        until_stage,
        world,  # noqa: F401  (the fixture)
    )
    from tests.workflows.test_replenishment import (
        World,
        _actions,
        _events,
        _ledger_rows,
        _lines,
        _po,
        _state,
        _until,
    )
    from workflows.inspection import inspection_workflow_id
    from workflows.replenishment import INSPECTION_PATCH, NAMED_STEPS_PATCH, QUARANTINE_PATCH


def _has_patch_marker(history: WorkflowHistory, patch: str = INSPECTION_PATCH) -> bool:
    return any(
        event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and patch in str(event)
        for event in history.events
    )


async def test_accepted_lot_is_in_quarantine_at_once_and_released_by_the_verdict_and_the_po_closes(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    set_mode(session, world.sku_b, InspectionMode.SKIP_LOT)  # inspects every lot until qualified
    client = time_skipping_env.client
    before_a, before_b = balance(db, world, world.sku_a), balance(db, world, world.sku_b)
    async with running_worker(client, task_queue):
        handle, shipment = await received_and_waiting(time_skipping_env, task_queue, world, db)
        number = (await _state(handle)).number
        first = await inspection(client, handle, shipment, 1)
        second = await inspection(client, handle, shipment, 2)
        row = inspection_row(db, first.id)
        assert (row.lot_size, row.po_number, row.shipment_number, row.line_no) == (100, number, shipment, 1)
        assert (row.sku_id, row.supplier_id, row.location_id) == (
            world.sku_a.id,
            world.supplier_org_id,
            world.warehouse.id,
        )
        assert (row.inspection_level, row.severity) == ("II", InspectionSeverity.NORMAL)
        assert (row.aql_critical, row.aql_major, row.aql_minor) == ("0", "2.5", "4.0")
        assert (row.unit_price, row.tax_rate) == (Decimal("10.00"), Decimal("0.13"))  # the PO line's
        assert inspection_row(db, second.id).lot_size == 50
        # In stock at once, held in quarantine: on hand, not available. The PO waits for the verdicts.
        assert balance(db, world, world.sku_a) == Balance(
            before_a.on_hand + 100, before_a.quarantine + 100, before_a.available
        )
        assert balance(db, world, world.sku_b) == Balance(
            before_b.on_hand + 50, before_b.quarantine + 50, before_b.available
        )
        state = await _state(handle)
        assert [(p.line_no, p.lot_size, p.quarantined) for p in state.inspections] == [
            (1, 100, True),
            (2, 50, True),
        ]
        assert state.lines[0].quantity_inspecting == 100

        await record_defects(first, inspector, major=1)  # lot 100: code F, n 20; major 2.5: Ac 1
        released = Balance(before_a.on_hand + 100, before_a.quarantine, before_a.available + 100)
        await _until(lambda: balance(db, world, world.sku_a) == released, "line 1 to leave quarantine")
        assert _po(db, number).status is POStatus.IN_DELIVERY  # line 2 is still being inspected
        assert balance(db, world, world.sku_b).quarantine == before_b.quarantine + 50
        await record_defects(second, inspector)
        await closed(handle, db, number)
        assert balance(db, world, world.sku_a) == released
        assert balance(db, world, world.sku_b) == Balance(
            before_b.on_hand + 50, before_b.quarantine, before_b.available + 50
        )
        # The PO's own ledger rows: the receipt into quarantine, once per line.
        receipts = sorted((r.delta_on_hand, r.delta_quarantine) for r in _ledger_rows(db, number))
        assert receipts == [(50, 50), (100, 100)]
        assert _actions(db, number)[-3:] == ["inspection_finished", "inspection_finished", "closed"]
        finished = _events(db, number, "inspection_finished")
        assert [(e.after["line"], e.after["verdict"], e.after["quantity_accepted"]) for e in finished] == [
            (1, "accepted", 100),
            (2, "accepted", 50),
        ]
        assert inspection_row(db, first.id).stage is InspectionStage.DONE
        assert (await handle.result()).status is POStatus.CLOSED
        history = await handle.fetch_history()
    # A PO started now takes the named steps, which inspect and quarantine without the older patches.
    assert _has_patch_marker(history, NAMED_STEPS_PATCH)
    assert not _has_patch_marker(history) and not _has_patch_marker(history, QUARANTINE_PATCH)
    await assert_replays(client, handle.id, REPLAYED)
    await assert_replays(client, first.id, REPLAYED)


async def test_rejected_lot_waits_for_the_quality_decision_and_the_return_before_the_po_closes(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    set_mode(session, world.sku_b, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    before_a, before_b = balance(db, world, world.sku_a), balance(db, world, world.sku_b)
    async with running_worker(client, task_queue):
        handle, shipment = await received_and_waiting(time_skipping_env, task_queue, world, db)
        number = (await _state(handle)).number
        first = await inspection(client, handle, shipment, 1)
        second = await inspection(client, handle, shipment, 2)
        await reject(first, inspector)  # critical AQL 0: one defect rejects
        await record_defects(second, inspector)
        await until_stage(first, InspectionStage.AWAITING_DECISION)
        assert inspection_row(db, first.id).verdict is InspectionVerdict.REJECTED
        # Line 2 ended; line 1 waits for HQ: the PO stays in delivery, the lot stays in quarantine.
        await _until(lambda: len(_events(db, number, "inspection_finished")) == 1, "line 2 to end")
        assert [p.line_no for p in (await _state(handle)).inspections] == [1]
        assert _po(db, number).status is POStatus.IN_DELIVERY
        held = Balance(before_a.on_hand + 100, before_a.quarantine + 100, before_a.available)
        assert balance(db, world, world.sku_a) == held

        await decide(client, first, quality_approver, "return_to_vendor")
        await until_return(first)
        assert _po(db, number).status is POStatus.IN_DELIVERY  # until the supplier takes it back
        assert balance(db, world, world.sku_a) == held
        await acknowledge(first, world.supplier)
        await closed(handle, db, number)
        assert balance(db, world, world.sku_a) == before_a  # in, then back to the supplier
        assert balance(db, world, world.sku_b) == Balance(
            before_b.on_hand + 50, before_b.quarantine, before_b.available + 50
        )
        rtv = rtv_of(db, first.id)
        assert rtv is not None and (rtv.status, rtv.quantity) == (ReturnStatus.ACKNOWLEDGED, 100)
        row = inspection_row(db, first.id)
        assert (row.disposition, row.stage) == (Disposition.RETURN_TO_VENDOR, InspectionStage.DONE)
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
        await first.result()
    await assert_replays(client, handle.id, REPLAYED)
    await assert_replays(client, first.id, REPLAYED)


async def test_mixed_po_posts_the_uninspected_line_at_once_and_quarantines_the_inspected_one(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)  # B stays "never", the default
    client = time_skipping_env.client
    before_a, before_b = balance(db, world, world.sku_a), balance(db, world, world.sku_b)
    async with running_worker(client, task_queue):
        handle, shipment = await received_and_waiting(time_skipping_env, task_queue, world, db)
        number = (await _state(handle)).number
        # Line 2 is available with the receipt; line 1 is held in quarantine; no child for line 2.
        assert balance(db, world, world.sku_b) == Balance(
            before_b.on_hand + 50, before_b.quarantine, before_b.available + 50
        )
        assert balance(db, world, world.sku_a) == Balance(
            before_a.on_hand + 100, before_a.quarantine + 100, before_a.available
        )
        assert [p.line_no for p in (await _state(handle)).inspections] == [1]
        first = await inspection(client, handle, shipment, 1)
        with Session(db) as s:
            assert inspection_for_workflow(s, inspection_workflow_id(handle.id, shipment, 2)) is None
        await record_defects(first, inspector)
        await closed(handle, db, number)
        assert balance(db, world, world.sku_a) == Balance(
            before_a.on_hand + 100, before_a.quarantine, before_a.available + 100
        )
        assert _actions(db, number)[-3:] == ["shipment_received", "inspection_finished", "closed"]
        assert (await handle.result()).status is POStatus.CLOSED
    await assert_replays(client, handle.id, REPLAYED)
    await assert_replays(client, first.id, REPLAYED)


def test_the_committed_happy_path_predates_inspection_so_its_replay_covers_the_old_branch() -> None:
    """The committed happy path (receipt posted at once, no patch marker, no inspection child): its
    replay in test_histories guards the branch `workflow.patched(INSPECTION_PATCH)` keeps."""
    history = read_history(history_path("replenishment_happy_path"))
    assert not _has_patch_marker(history)
    assert not any(
        event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        for event in history.events
    )
