"""A page offers a click once its row says so; the workflow takes the click from that moment.

The rows the pages read are written by an activity, and the workflow learns that the activity is
done a moment later (its result goes through the server and a workflow task). A click sent in that
moment used to be refused although the page offered it: sorting ("This lot is not waiting for
sorting."), a return's acknowledgement, a decision on an approval step just shown in the queue
("not assigned"), the supplier's answer to a PO just approved ("waiting for HQ approval"), and a
certificate upload's recheck signal was dropped (the lot stayed on hold for a day). Here each of
those activities is held after it has committed, so that moment lasts as long as the test needs:
the click is taken, and done once the activity is let go.

Each test runs one InspectionWorkflow (the lot of test_inspection: 500 units, no PO), one
ApprovalWorkflow or one purchase order (test_replenishment's) on the time-skipping server, on a
worker whose one held activity runs the real one.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.client import Client, WorkflowUpdateStage
    from temporalio.service import RPCError
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from activities import ACTIVITIES
    from activities.approval import open_approval_request
    from activities.inspection import (
        check_lot_certificates,
        open_return_to_vendor,
        record_inspection_disposition,
    )
    from activities.replenishment import record_po_sent
    from supplychain.approvals import request_by_workflow
    from supplychain.dispositions import return_for
    from supplychain.inspection import inspection_for_workflow
    from supplychain.models import (
        ApprovalStatus,
        Disposition,
        InspectionStage,
        InspectionVerdict,
        Organisation,
        POStatus,
        QualityCertificate,
        ReturnStatus,
        ReturnToVendor,
        Role,
        Sku,
    )
    from supplychain.models.quality import CertificateType
    from tests.factories import make_user
    from tests.fixtures.temporal import assert_replays
    from tests.workflows.test_approval import _input as approval_input
    from tests.workflows.test_approval import _people
    from tests.workflows.test_inspection import (
        LOT_SIZE,
        WORKFLOWS,
        Handle,
        World,
        _defects,
        _input,
        _row,
        _start,
        _state,
        _until,
        world,  # noqa: F401  (the fixture)
    )
    from tests.workflows.test_replenishment import World as POWorld
    from tests.workflows.test_replenishment import _approval_opened, _decide, _po, _today, make_world
    from tests.workflows.test_replenishment import _input as po_input
    from tests.workflows.test_replenishment import _start as start_po
    from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.inspection import (
        AcknowledgeReturnInput,
        InspectionResult,
        InspectionWorkflow,
        RecordSortingInput,
    )
    from workflows.registry import WORKFLOWS as ALL_WORKFLOWS
    from workflows.replenishment import (
        CancelPOInput,
        ConfirmLinesInput,
        LineConfirmation,
        ReplenishmentWorkflow,
    )

HOLD_TIMEOUT = 60.0


class Gate:
    """Holds the first call of an activity after it has committed, until the test lets it go."""

    def __init__(self) -> None:
        self._reached = threading.Event()
        self._open = threading.Event()

    def hold(self) -> None:
        if self._reached.is_set():
            return  # later calls pass
        self._reached.set()
        assert self._open.wait(HOLD_TIMEOUT), "the test never let the activity go"

    async def reached(self) -> None:
        assert await asyncio.to_thread(self._reached.wait, HOLD_TIMEOUT), "the activity never ran"

    def release(self) -> None:
        self._open.set()


def held_after_commit(gate: Gate, real: Callable[..., Any]) -> Callable[..., Any]:
    """The activity `real` under its own name, held by `gate` once its first call has committed.
    (`wraps` keeps its signature and type hints, which the worker decodes the input by.)"""

    @functools.wraps(real, updated=())
    def held(*args: Any) -> Any:
        result = real(*args)
        gate.hold()
        return result

    return activity.defn(name=real.__temporal_activity_definition.name)(held)  # type: ignore[attr-defined]


@asynccontextmanager
async def worker_holding(
    client: Client, task_queue: str, held: Callable[..., Any], gate: Gate
) -> AsyncIterator[None]:
    """The production worker, with `held` in place of the activity of the same name."""
    name = held.__temporal_activity_definition.name  # type: ignore[attr-defined]
    activities = [a for a in ACTIVITIES if a.__temporal_activity_definition.name != name]  # type: ignore[attr-defined]
    try:
        with ThreadPoolExecutor(8, thread_name_prefix="held-activity") as executor:
            async with Worker(
                client,
                task_queue=task_queue,
                workflows=ALL_WORKFLOWS,
                activities=[*activities, held],
                activity_executor=executor,
            ):
                yield
    finally:
        gate.release()  # never leave a thread waiting


async def rejected_lot(client: Client, task_queue: str, world: World) -> Handle:
    handle = await _start(client, task_queue, _input(world))
    await handle.execute_update(InspectionWorkflow.record_defects, _defects(world, critical=1))
    return handle


async def decide(client: Client, handle: Handle, world: World, choice: str) -> None:
    """HQ quality's choice on the rejected lot, once its decision step is assigned."""
    approval = client.get_workflow_handle(approval_workflow_id(handle.id, "decision"))

    async def assigned() -> bool:
        try:
            state: ApprovalState = await approval.query(ApprovalWorkflow.get_state)
        except RPCError:  # not started yet
            return False
        return state.assignee_user_id is not None

    await _until(assigned, "the quality decision to open")
    approver = world.quality_approver.id
    await approval.execute_update(
        ApprovalWorkflow.decide,
        DecideInput(actor_user_id=approver, on_behalf_of_user_id=approver, approve=True, choice=choice),
    )


def stage_of(db: Engine, handle: Handle) -> InspectionStage:
    return _row(db, handle).stage


async def test_sorting_is_taken_from_the_moment_the_lot_shows_sorting(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client, gate = time_skipping_env.client, Gate()
    async with worker_holding(
        client, task_queue, held_after_commit(gate, record_inspection_disposition), gate
    ):
        handle = await rejected_lot(client, task_queue, world)
        await decide(client, handle, world, "sorting")
        await gate.reached()
        assert stage_of(db, handle) is InspectionStage.SORTING  # the page offers the sorting form
        assert (await _state(handle)).stage is InspectionStage.AWAITING_DECISION  # not told yet
        sorting = await handle.start_update(
            InspectionWorkflow.record_sorting,
            RecordSortingInput(actor_user_id=world.inspector.id, good_quantity=LOT_SIZE),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.release()
        sorted_ = await sorting.result()
        assert (sorted_.accepted_quantity, sorted_.returned_quantity) == (LOT_SIZE, 0)
        assert _row(db, handle).sorted_good_quantity == LOT_SIZE
        assert await handle.result() == InspectionResult(
            LOT_SIZE, 0, InspectionVerdict.REJECTED, Disposition.SORTING
        )
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_return_is_acknowledged_from_the_moment_it_is_open(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, session: Session, db: Engine
) -> None:
    supplier_org = session.get(Organisation, world.supplier_org_id)
    assert supplier_org is not None
    supplier = make_user(session, organisation=supplier_org, roles=[Role.SUPPLIER])
    client, gate = time_skipping_env.client, Gate()
    async with worker_holding(client, task_queue, held_after_commit(gate, open_return_to_vendor), gate):
        handle = await rejected_lot(client, task_queue, world)
        await decide(client, handle, world, "return_to_vendor")
        await gate.reached()
        with Session(db) as session:
            row = inspection_for_workflow(session, handle.id)
            assert row is not None
            rtv = return_for(session, row)
            # The supplier's page offers the acknowledgement.
            assert rtv is not None and rtv.status is ReturnStatus.AWAITING_ACKNOWLEDGEMENT
        assert (await _state(handle)).return_number is None  # not told yet
        acknowledging = await handle.start_update(
            InspectionWorkflow.acknowledge_return,
            AcknowledgeReturnInput(actor_user_id=supplier.id, note="collected"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.release()
        await acknowledging.result()
        with Session(db) as session_after:
            acknowledged = session_after.get(ReturnToVendor, rtv.id)
            assert acknowledged is not None and acknowledged.acknowledged_by_user_id == supplier.id
        assert stage_of(db, handle) is InspectionStage.DONE
        assert (await _state(handle)).return_number == rtv.number
        assert await handle.result() == InspectionResult(
            0, LOT_SIZE, InspectionVerdict.REJECTED, Disposition.RETURN_TO_VENDOR
        )
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_recheck_asked_while_the_hold_is_recorded_releases_the_lot_at_once(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, session: Session, db: Engine
) -> None:
    sku = session.get(Sku, world.sku.id)
    assert sku is not None
    sku.required_certificates = "coa"
    session.add(sku)
    session.commit()
    client, gate = time_skipping_env.client, Gate()
    async with worker_holding(client, task_queue, held_after_commit(gate, check_lot_certificates), gate):
        handle = await _start(client, task_queue, _input(world))
        await handle.execute_update(InspectionWorkflow.record_defects, _defects(world))
        await gate.reached()
        assert stage_of(db, handle) is InspectionStage.ON_HOLD  # the supplier is asked to upload
        session.add(
            QualityCertificate(
                supplier_id=world.supplier_org_id,
                sku_id=world.sku.id,
                certificate_type=CertificateType.COA,
                number="COA-1",
                issued_on=date.today() - timedelta(days=30),
                original_filename="coa.pdf",
                stored_name=uuid.uuid4().hex,
                content_type="application/pdf",
                size_bytes=1,
                sha256="0" * 64,
                uploaded_by_user_id=world.inspector.id,
            )
        )
        session.commit()
        await handle.signal(InspectionWorkflow.recheck_certificates)  # as the upload sends it
        gate.release()
        # Without time passing (no daily recheck): the signal itself has the lot checked again.
        await _until(lambda: stage_of(db, handle) is InspectionStage.DONE, "the lot to be released")
        assert _row(db, handle).hold_reason == ""
        assert await handle.result() == InspectionResult(LOT_SIZE, 0, InspectionVerdict.ACCEPTED)
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_an_approval_is_decided_from_the_moment_the_queue_shows_it(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    people = _people(session)
    client, gate = time_skipping_env.client, Gate()
    async with worker_holding(client, task_queue, held_after_commit(gate, open_approval_request), gate):
        handle = await client.start_workflow(
            ApprovalWorkflow.run,
            approval_input(people),
            id=approval_workflow_id(f"po-test-{uuid.uuid4()}"),
            task_queue=task_queue,
        )
        await gate.reached()
        with Session(db) as reading:
            row = request_by_workflow(reading, handle.id)
            assert row is not None and row.assignee_user_id == people.mid.id  # in mid's queue
        assert (await handle.query(ApprovalWorkflow.get_state)).assignee_user_id is None  # not told yet
        deciding = await handle.start_update(
            ApprovalWorkflow.decide,
            DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.release()
        await deciding.result()
        result = await handle.result()
        assert result.approved and result.decided_by_user_id == people.mid.id
        with Session(db) as reading:
            row = request_by_workflow(reading, handle.id)
            assert row is not None and row.status is ApprovalStatus.APPROVED
    await assert_replays(client, handle.id, [ApprovalWorkflow])


@pytest.fixture
def po_world(session: Session) -> POWorld:
    return make_world(session)


async def test_the_supplier_answers_a_po_from_the_moment_their_list_shows_it_sent(
    time_skipping_env: WorkflowEnvironment, task_queue: str, po_world: POWorld, db: Engine
) -> None:
    world = po_world
    client, gate = time_skipping_env.client, Gate()
    async with worker_holding(client, task_queue, held_after_commit(gate, record_po_sent), gate):
        input = po_input(world, needs_approval=True)
        handle = await start_po(client, task_queue, input)
        approval = await _approval_opened(client, handle)
        await approval.execute_update(ApprovalWorkflow.decide, _decide(world, world.approver_mid, True))
        await gate.reached()
        assert _po(db, input.number).status is POStatus.SENT  # the supplier's list offers it
        state = await handle.query(ReplenishmentWorkflow.get_state)
        assert state.status is POStatus.PENDING_APPROVAL  # not told yet
        promised = await _today(time_skipping_env) + timedelta(days=3)
        confirming = await handle.start_update(
            ReplenishmentWorkflow.confirm_lines,
            ConfirmLinesInput(
                actor_user_id=world.supplier.id,
                lines=[LineConfirmation(1, 100, promised), LineConfirmation(2, 50, promised)],
            ),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.release()
        assert (await confirming.result()).status is POStatus.CONFIRMED
        assert _po(db, input.number).status is POStatus.CONFIRMED
        await handle.execute_update(
            ReplenishmentWorkflow.cancel_po, CancelPOInput(actor_user_id=world.buyer.id, reason="Test over")
        )
        assert (await handle.result()).status is POStatus.CANCELLED
    await assert_replays(client, handle.id, ALL_WORKFLOWS)
