"""InspectionWorkflow on the time-skipping server, with the real activities and database.

Each test creates a warehouse with its inspector, starts the inspection of one received lot of 500
units (level II, normal: code letter H, sample 50; critical AQL 0 -> Ac 0 Re 1, major 2.5 -> Ac 3
Re 4, minor 4.0 -> Ac 5 Re 6), records defects as the inspector would, checks the rows, events and
notifications the activities wrote, drives HQ's quality decision on a rejected lot (sorting with
every unit found good: these lots have no PO price, which concession and return need), and ends by
replaying the recorded history. The dispositions on real POs: test_inspection_dispositions.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError
    from temporalio.testing import WorkflowEnvironment

    from supplychain.inspection import CategoryPlan, DefectCounts, inspection_for_workflow
    from supplychain.models import (
        Disposition,
        DocumentEvent,
        Inspection,
        InspectionSeverity,
        InspectionStage,
        InspectionVerdict,
        Location,
        LocationKind,
        Notification,
        OrgKind,
        Role,
        Sku,
        User,
    )
    from supplychain.rules.inspection_checks import ALREADY_DECIDED, MORE_THAN_SAMPLE, NEGATIVE
    from tests.factories import make_location, make_organisation, make_sku, make_user
    from tests.fixtures.temporal import assert_replays, running_worker
    from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.inspection import (
        WAITING_FOR_INSPECTION,
        InspectionInput,
        InspectionResult,
        InspectionState,
        InspectionWorkflow,
        RecordDefectsInput,
        RecordSortingInput,
        inspection_workflow_id,
    )

WORKFLOWS = [InspectionWorkflow, ApprovalWorkflow]
LOT_SIZE = 500


@dataclass
class World:
    supplier_org_id: int
    warehouse: Location
    inspector: User  # works at the warehouse: the one told about the lot
    inspector_elsewhere: User  # another location of the same organisation: not told
    quality_approver: User  # HQ: decides on a rejected lot
    sku: Sku


@pytest.fixture
def world(session: Session, db: Engine) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier_org = make_organisation(session, kind=OrgKind.SUPPLIER)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    other = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)
    assert supplier_org.id is not None
    return World(
        supplier_org_id=supplier_org.id,
        warehouse=warehouse,
        inspector=make_user(session, organisation=hq, roles=[Role.INSPECTOR], location=warehouse),
        inspector_elsewhere=make_user(session, organisation=hq, roles=[Role.INSPECTOR], location=other),
        quality_approver=make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER]),
        sku=make_sku(session),
    )


def _input(world: World, **kw: Any) -> InspectionInput:
    suffix = uuid.uuid4().hex[:8].upper()
    fields: dict[str, Any] = {
        "po_number": f"PO-T-{suffix}",
        "shipment_number": f"SHP-T-{suffix}",
        "line_no": 1,
        "sku_id": world.sku.id,
        "supplier_id": world.supplier_org_id,
        "location_id": world.warehouse.id,
        "lot_size": LOT_SIZE,
        "inspection_level": "II",
        "severity": InspectionSeverity.NORMAL,
        "aql_critical": "0",
        "aql_major": "2.5",
        "aql_minor": "4.0",
    }
    return InspectionInput(**{**fields, **kw})


Handle = WorkflowHandle[InspectionWorkflow, InspectionResult]


async def _start(client: Client, task_queue: str, input: InspectionInput) -> Handle:
    """Start the inspection and wait until its plan is known (the row exists)."""
    handle = await client.start_workflow(
        InspectionWorkflow.run,
        input,
        id=inspection_workflow_id(input.po_number.lower(), input.shipment_number, input.line_no),
        task_queue=task_queue,
    )

    async def planned() -> bool:
        return (await _state(handle)).plan is not None

    await _until(planned, "the inspection to be recorded")
    return handle


async def _state(handle: Handle) -> InspectionState:
    return await handle.query(InspectionWorkflow.get_state)


def _defects(world: World, critical: int = 0, major: int = 0, minor: int = 0) -> RecordDefectsInput:
    return RecordDefectsInput(
        actor_user_id=world.inspector.id, critical=critical, major=major, minor=minor, notes=" scratches "
    )


async def _refused(handle: Handle, input: RecordDefectsInput) -> ApplicationError:
    """Record defects that must be refused; return the validator's error."""
    with pytest.raises(WorkflowUpdateFailedError) as error:
        await handle.execute_update(InspectionWorkflow.record_defects, input)
    cause = error.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UpdateRejected"
    return cause


async def _until(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _row(db: Engine, handle: Handle) -> Inspection:
    with Session(db) as session:
        row = inspection_for_workflow(session, handle.id)
        assert row is not None
        return row


def _actions(db: Engine, number: str) -> list[str]:
    with Session(db) as session:
        return list(
            session.execute(
                select(col(DocumentEvent.action))
                .where(
                    col(DocumentEvent.document_type) == "inspection", col(DocumentEvent.document_id) == number
                )
                .order_by(col(DocumentEvent.id))
            ).scalars()
        )


def _messages(db: Engine, user: User, number: str) -> list[str]:
    with Session(db) as session:
        return list(
            session.execute(
                select(col(Notification.message)).where(
                    col(Notification.user_id) == user.id, col(Notification.document_id) == number
                )
            ).scalars()
        )


async def _finish(client: Client, handle: Handle, expected: InspectionResult) -> None:
    """The run completes (after answering late clicks) with `expected`, and its history replays."""
    assert await handle.result() == expected
    await assert_replays(client, handle.id, WORKFLOWS)


async def _sort_all_good(client: Client, handle: Handle, world: World) -> None:
    """HQ's quality approver decides "sorting" on the rejected lot; the inspector finds every unit
    good. (Without a PO there is no price: concession and return need one, sorting all good does not.)"""
    approval = client.get_workflow_handle(approval_workflow_id(handle.id, "decision"))

    async def assigned() -> bool:
        try:
            state: ApprovalState = await approval.query(ApprovalWorkflow.get_state)
        except RPCError:  # not started yet
            return False
        return state.assignee_user_id == world.quality_approver.id

    await _until(assigned, "the quality decision to open")
    assert (await _state(handle)).stage is InspectionStage.AWAITING_DECISION
    approver = world.quality_approver.id
    await approval.execute_update(
        ApprovalWorkflow.decide,
        DecideInput(actor_user_id=approver, on_behalf_of_user_id=approver, approve=True, choice="sorting"),
    )

    async def sorting() -> bool:
        return (await _state(handle)).stage is InspectionStage.SORTING

    await _until(sorting, "the lot to be sorted")
    sorted_ = await handle.execute_update(
        InspectionWorkflow.record_sorting,
        RecordSortingInput(actor_user_id=world.inspector.id, good_quantity=LOT_SIZE),
    )
    assert (sorted_.accepted_quantity, sorted_.returned_quantity) == (LOT_SIZE, 0)


# --- accepted --------------------------------------------------------------------------------------


async def test_defects_within_every_acceptance_number_accept_the_whole_lot(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, _input(world))

        row = _row(db, handle)
        assert row.number.startswith("INS-") and row.verdict is InspectionVerdict.PENDING
        assert (row.code_letter, row.sample_size, row.hundred_percent) == ("H", 50, False)
        assert (row.critical_sample_size, row.critical_accept, row.critical_reject) == (50, 0, 1)
        assert (row.major_sample_size, row.major_accept, row.major_reject) == (50, 3, 4)
        assert (row.minor_sample_size, row.minor_accept, row.minor_reject) == (50, 5, 6)
        state = await _state(handle)
        assert state.number == row.number and state.plan is not None
        assert state.plan.major == CategoryPlan(sample_size=50, accept=3, reject=4)
        await _until(lambda: _messages(db, world.inspector, row.number), "the inspector to be told")
        assert _messages(db, world.inspector, row.number) == [WAITING_FOR_INSPECTION]
        assert _messages(db, world.inspector_elsewhere, row.number) == []

        result = await handle.execute_update(
            InspectionWorkflow.record_defects, _defects(world, critical=0, major=3, minor=5)
        )
        assert (result.verdict, result.accepted_quantity, result.rejected_quantity) == (
            InspectionVerdict.ACCEPTED,
            LOT_SIZE,
            0,
        )
        # Read-your-writes: the row and its event are there the moment the Update returns.
        row = _row(db, handle)
        assert row.verdict is InspectionVerdict.ACCEPTED
        assert (row.critical_defects, row.major_defects, row.minor_defects) == (0, 3, 5)
        assert (row.accepted_quantity, row.rejected_quantity) == (LOT_SIZE, 0)
        assert row.inspector_user_id == world.inspector.id and row.notes == "scratches"
        assert row.decided_at is not None
        assert _actions(db, row.number) == ["created", "accepted"]
        state = await _state(handle)
        assert state.verdict is InspectionVerdict.ACCEPTED
        assert state.defects == DefectCounts(critical=0, major=3, minor=5)

        await _finish(client, handle, InspectionResult(LOT_SIZE, 0, InspectionVerdict.ACCEPTED))


# --- rejected --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("critical", "major", "minor"),
    [(0, 4, 0), (1, 0, 0), (0, 0, 6)],
    ids=["major-at-re", "one-critical", "minor-at-re"],
)
async def test_a_category_reaching_its_rejection_number_rejects_the_whole_lot(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    db: Engine,
    critical: int,
    major: int,
    minor: int,
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, _input(world))

        result = await handle.execute_update(
            InspectionWorkflow.record_defects, _defects(world, critical=critical, major=major, minor=minor)
        )
        assert (result.verdict, result.accepted_quantity, result.rejected_quantity) == (
            InspectionVerdict.REJECTED,
            0,
            LOT_SIZE,
        )
        row = _row(db, handle)
        assert row.verdict is InspectionVerdict.REJECTED
        assert (row.critical_defects, row.major_defects, row.minor_defects) == (critical, major, minor)
        assert (row.accepted_quantity, row.rejected_quantity) == (0, LOT_SIZE)
        assert _actions(db, row.number)[:2] == ["created", "rejected"]

        # A rejected lot goes to HQ's quality decision and does not end before it.
        await _sort_all_good(client, handle, world)
        row = _row(db, handle)
        assert (row.verdict, row.disposition, row.sorted_good_quantity) == (
            InspectionVerdict.REJECTED,
            Disposition.SORTING,
            LOT_SIZE,
        )
        assert _actions(db, row.number) == [
            "created",
            "rejected",
            "approval.requested",
            "approval.approved",
            "disposition",
            "sorted",
        ]
        await _finish(
            client, handle, InspectionResult(LOT_SIZE, 0, InspectionVerdict.REJECTED, Disposition.SORTING)
        )
        assert _row(db, handle).stage is InspectionStage.DONE


# --- refusals ----------------------------------------------------------------------------------------


async def test_negative_or_too_many_defects_and_a_second_recording_change_nothing(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, _input(world))
        number = _row(db, handle).number
        state_before = await _state(handle)
        events_before = _actions(db, number)

        refusal = await _refused(handle, _defects(world, major=-1))
        assert refusal.message == NEGATIVE["major"]
        refusal = await _refused(handle, _defects(world, critical=-1, minor=2))
        assert refusal.message == NEGATIVE["critical"]
        refusal = await _refused(handle, _defects(world, minor=51))
        assert refusal.message == MORE_THAN_SAMPLE["minor"]
        assert refusal.details[0] == {"sample_size": 50}

        assert await _state(handle) == state_before
        assert _actions(db, number) == events_before
        row = _row(db, handle)
        assert row.verdict is InspectionVerdict.PENDING and row.major_defects is None

        await handle.execute_update(InspectionWorkflow.record_defects, _defects(world, major=1))

        async def released() -> bool:  # the accepted lot is released at once (no certificate needed)
            return (await _state(handle)).stage is InspectionStage.DONE

        await _until(released, "the lot to be released")
        decided = await _state(handle)
        events_decided = _actions(db, number)

        refusal = await _refused(handle, _defects(world, major=10))
        assert refusal.message == ALREADY_DECIDED
        assert await _state(handle) == decided
        assert _actions(db, number) == events_decided == ["created", "accepted"]
        row = _row(db, handle)
        assert (row.verdict, row.major_defects, row.accepted_quantity) == (
            InspectionVerdict.ACCEPTED,
            1,
            LOT_SIZE,
        )

        await _finish(client, handle, InspectionResult(LOT_SIZE, 0, InspectionVerdict.ACCEPTED))


async def test_a_category_with_a_smaller_sample_refuses_counts_beyond_its_own_sample(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    """Critical AQL 0.065 at code letter H points down to L (sample 200); major 1.0 stays on H (50)."""
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, _input(world, aql_critical="0.065", aql_major="1.0"))
        row = _row(db, handle)
        assert (row.sample_size, row.critical_sample_size, row.major_sample_size) == (200, 200, 50)

        refusal = await _refused(handle, _defects(world, major=51))
        assert refusal.message == MORE_THAN_SAMPLE["major"] and refusal.details[0] == {"sample_size": 50}
        result = await handle.execute_update(InspectionWorkflow.record_defects, _defects(world, major=2))
        assert result.verdict is InspectionVerdict.REJECTED  # major 1.0 at H: Ac 1, Re 2

        await _sort_all_good(client, handle, world)
        await _finish(
            client, handle, InspectionResult(LOT_SIZE, 0, InspectionVerdict.REJECTED, Disposition.SORTING)
        )


async def test_two_simultaneous_recordings_decide_once(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, _input(world))
        outcomes = await asyncio.gather(
            handle.execute_update(InspectionWorkflow.record_defects, _defects(world, major=0)),
            handle.execute_update(InspectionWorkflow.record_defects, _defects(world, major=9)),
            return_exceptions=True,
        )
        refusals = [o for o in outcomes if isinstance(o, WorkflowUpdateFailedError)]
        assert len(refusals) == 1, outcomes
        row = _row(db, handle)
        assert _actions(db, row.number) == ["created", row.verdict.value]

        if row.verdict is InspectionVerdict.REJECTED:
            await _sort_all_good(client, handle, world)
            expected = InspectionResult(LOT_SIZE, 0, InspectionVerdict.REJECTED, Disposition.SORTING)
        else:
            expected = InspectionResult(LOT_SIZE, 0, InspectionVerdict.ACCEPTED)
        await _finish(client, handle, expected)
