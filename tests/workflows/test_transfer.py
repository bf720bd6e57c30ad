"""TransferWorkflow on the time-skipping server with the real activities and database: within a
region (no approval) and between regions (approval), dispatch, receipt with shortage and damage and
the loss decided both ways, cancellation releasing the reservation, not enough stock, two transfers
that would oversell (exactly one reserves), the dispatch SLA, and bad clicks refused with nothing
changed. Each test ends by replaying the recorded history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError
    from temporalio.testing import WorkflowEnvironment

    from activities.transfer import record_transfer_reserved
    from supplychain import transfers
    from supplychain.models import (
        ApprovalRequest,
        ApprovalStatus,
        DocumentEvent,
        Location,
        Notification,
        Transfer,
        TransferOrigin,
        TransferStatus,
    )
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.transfer_world import TransferWorld, build_transfer_world, stock
    from tests.workflows.test_ready_for_the_click import Gate, held_after_commit, worker_holding
    from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.common import business_date
    from workflows.transfer import (
        CancelTransferInput,
        DispatchTransferInput,
        ReceivedLine,
        ReceiveTransferInput,
        TransferInput,
        TransferLineInput,
        TransferState,
        TransferWorkflow,
        WaitRecordedInput,
        transfer_workflow_id,
    )

WORKFLOWS = [TransferWorkflow, ApprovalWorkflow]
Handle = WorkflowHandle[Any, Any]


@pytest.fixture
def world(db: Engine) -> TransferWorld:
    return build_transfer_world(db)


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


async def _start(
    client: Client,
    task_queue: str,
    world: TransferWorld,
    destination: Location,
    quantities: tuple[int, int] = (10, 5),
    **overrides: Any,
) -> Handle:
    number = world.next_number()
    assert world.north_warehouse.id is not None and destination.id is not None
    input = TransferInput(
        number=number,
        origin=TransferOrigin.REQUESTED,
        source_location_id=world.north_warehouse.id,
        destination_location_id=destination.id,
        requested_by_user_id=world.north_store_user.id,
        needs_approval=destination.region_id != world.north_warehouse.region_id,
        lines=[
            TransferLineInput(1, world.sku_a.id, quantities[0]),
            TransferLineInput(2, world.sku_b.id, quantities[1]),
        ],
        **overrides,
    )
    handle = await client.start_workflow(
        TransferWorkflow.run, input, id=transfer_workflow_id(number), task_queue=task_queue
    )
    await handle.execute_update(TransferWorkflow.wait_recorded, WaitRecordedInput())
    return handle


async def _status(handle: Handle) -> TransferStatus:
    state: TransferState = await handle.query(TransferWorkflow.get_state)
    return state.status


async def _reach(handle: Handle, status: TransferStatus) -> None:
    async def there() -> bool:
        return await _status(handle) is status

    await _until(there, f"{handle.id} to be {status}")


async def _decide(client: Client, handle: Handle, step: str, world: TransferWorld, approve: bool) -> None:
    """The step's assignee decides (the world's approver, or a lower level another world has)."""
    approval = client.get_workflow_handle(approval_workflow_id(handle.id, step))

    async def assignee() -> int | None:
        try:
            state: ApprovalState = await approval.query(ApprovalWorkflow.get_state)
        except RPCError:
            return None
        return state.assignee_user_id

    approver = await _until(assignee, f"the {step} step of {handle.id} to reach an approver")
    await approval.execute_update(
        ApprovalWorkflow.decide,
        DecideInput(
            actor_user_id=approver,
            on_behalf_of_user_id=approver,
            approve=approve,
            comment="" if approve else "count again",
        ),
    )


async def _today(env: WorkflowEnvironment) -> date:
    return business_date(await env.get_current_time())


async def _dispatch_input(env: WorkflowEnvironment, world: TransferWorld) -> DispatchTransferInput:
    return DispatchTransferInput(
        actor_user_id=world.north_warehouse_user.id,
        carrier="SF Express",
        tracking_number="SF123",
        expected_arrival=await _today(env) + timedelta(days=2),
    )


async def _dispatch(env: WorkflowEnvironment, handle: Handle, world: TransferWorld) -> None:
    await handle.execute_update(TransferWorkflow.dispatch_transfer, await _dispatch_input(env, world))


async def _refused(update: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as error:
        await update
    cause = error.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UpdateRejected"
    return cause.message


def _actions(db: Engine, number: str) -> list[str]:
    with Session(db) as session:
        return list(
            session.execute(
                select(col(DocumentEvent.action))
                .where(
                    col(DocumentEvent.document_type) == "transfer", col(DocumentEvent.document_id) == number
                )
                .order_by(col(DocumentEvent.id))
            ).scalars()
        )


def _row(db: Engine, number: str) -> Transfer:
    with Session(db, expire_on_commit=False) as session:
        return transfers.require_transfer(session, number)


def _lines(db: Engine, number: str) -> list[tuple[int, int, int]]:
    with Session(db) as session:
        transfer = transfers.require_transfer(session, number)
        return [
            (line.quantity_received, line.quantity_damaged, line.quantity_lost)
            for line in transfers.transfer_lines(session, transfer.id)
        ]


async def _end(client: Client, handle: Handle) -> None:
    await handle.result()
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_within_a_region_the_stock_is_reserved_dispatched_and_received_into_the_store(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, world.north_store)
        await _reach(handle, TransferStatus.RESERVED)
        assert stock(db, world.north_warehouse, world.sku_a) == {
            "on_hand": 100,
            "reserved": 10,
            "in_transit": 0,
        }

        await _dispatch(time_skipping_env, handle, world)
        assert stock(db, world.north_warehouse, world.sku_a) == {
            "on_hand": 90,
            "reserved": 0,
            "in_transit": 0,
        }
        assert stock(db, world.north_store, world.sku_a) == {"on_hand": 0, "reserved": 0, "in_transit": 10}
        row = _row(db, handle.id.upper())
        assert (row.status, row.carrier, row.tracking_number) == (
            TransferStatus.IN_TRANSIT,
            "SF Express",
            "SF123",
        )

        result = await handle.execute_update(
            TransferWorkflow.receive_transfer,
            ReceiveTransferInput(
                actor_user_id=world.north_store_user.id,
                lines=[ReceivedLine(1, 10), ReceivedLine(2, 5)],
            ),
        )
        assert result.status is TransferStatus.COMPLETED
        assert stock(db, world.north_store, world.sku_a) == {"on_hand": 10, "reserved": 0, "in_transit": 0}
        assert stock(db, world.north_store, world.sku_b) == {"on_hand": 5, "reserved": 0, "in_transit": 0}
        assert _actions(db, row.number) == ["created", "reserved", "dispatched", "received"]
        with Session(db) as session:
            told = session.execute(
                select(col(Notification.user_id)).where(col(Notification.document_id) == row.number)
            ).scalars()
            assert set(told) >= {world.north_warehouse_user.id, world.north_store_user.id}
        await _end(client, handle)


async def test_between_regions_hq_approves_and_a_short_damaged_receipt_waits_for_the_loss_decision(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, world.south_warehouse)
        assert await _status(handle) is TransferStatus.PENDING_APPROVAL
        assert stock(db, world.north_warehouse, world.sku_a)["reserved"] == 0, "nothing held before approval"
        await _decide(client, handle, "approval", world, approve=True)
        await _reach(handle, TransferStatus.RESERVED)
        await _dispatch(time_skipping_env, handle, world)

        # Line 1: 10 sent, 7 good, 1 damaged, 2 short; line 2 whole.
        result = await handle.execute_update(
            TransferWorkflow.receive_transfer,
            ReceiveTransferInput(
                actor_user_id=world.south_warehouse_user.id,
                lines=[ReceivedLine(1, 7, 1), ReceivedLine(2, 5)],
            ),
        )
        assert (result.status, result.missing) == (TransferStatus.LOSS_PENDING, {"1": 3})
        assert stock(db, world.south_warehouse, world.sku_a) == {"on_hand": 7, "reserved": 0, "in_transit": 3}

        await _decide(client, handle, "loss:1", world, approve=True)
        await _reach(handle, TransferStatus.COMPLETED)
        assert stock(db, world.south_warehouse, world.sku_a) == {"on_hand": 7, "reserved": 0, "in_transit": 0}
        assert _lines(db, handle.id.upper()) == [(7, 1, 3), (5, 0, 0)]
        assert _actions(db, handle.id.upper())[-2:] == ["received", "loss_written_off"]
        await _end(client, handle)


async def test_a_refused_loss_puts_the_missing_units_back_on_their_way_for_another_count(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, world.north_store)
        await _reach(handle, TransferStatus.RESERVED)
        await _dispatch(time_skipping_env, handle, world)
        receive = TransferWorkflow.receive_transfer
        user = world.north_store_user.id
        await handle.execute_update(
            receive, ReceiveTransferInput(user, [ReceivedLine(1, 6), ReceivedLine(2, 5)])
        )
        await _decide(client, handle, "loss:1", world, approve=False)
        await _reach(handle, TransferStatus.IN_TRANSIT)
        assert stock(db, world.north_store, world.sku_a) == {"on_hand": 6, "reserved": 0, "in_transit": 4}

        message = await _refused(
            handle.execute_update(receive, ReceiveTransferInput(user, [ReceivedLine(1, 5)]))
        )
        assert message == "Line %(line)s: at most %(quantity)s are on their way."
        result = await handle.execute_update(receive, ReceiveTransferInput(user, [ReceivedLine(1, 4)]))
        assert result.status is TransferStatus.COMPLETED
        assert stock(db, world.north_store, world.sku_a) == {"on_hand": 10, "reserved": 0, "in_transit": 0}
        assert _actions(db, handle.id.upper())[-3:] == ["received", "loss_refused", "received"]
        await _end(client, handle)


async def test_cancel_before_dispatch_releases_the_reservation_and_after_dispatch_is_refused(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, world.north_store)
        await _reach(handle, TransferStatus.RESERVED)
        user = world.north_store_user.id
        assert await _refused(
            handle.execute_update(TransferWorkflow.cancel_transfer, CancelTransferInput(user, " "))
        ) == ("Enter a reason for the cancellation.")
        result = await handle.execute_update(
            TransferWorkflow.cancel_transfer,
            CancelTransferInput(user, "ordered by mistake"),
        )
        assert result.status is TransferStatus.CANCELLED
        assert stock(db, world.north_warehouse, world.sku_a) == {
            "on_hand": 100,
            "reserved": 0,
            "in_transit": 0,
        }
        message = await _refused(_dispatch(time_skipping_env, handle, world))
        assert message == "This transfer is finished."
        assert _row(db, handle.id.upper()).status_reason == "ordered by mistake"
        await _end(client, handle)

        moving = await _start(client, task_queue, world, world.north_store)
        await _reach(moving, TransferStatus.RESERVED)
        await _dispatch(time_skipping_env, moving, world)
        message = await _refused(
            moving.execute_update(TransferWorkflow.cancel_transfer, CancelTransferInput(user, "too late"))
        )
        assert message == "Transfer %(number)s can no longer be cancelled."
        assert await _status(moving) is TransferStatus.IN_TRANSIT


async def test_cancelling_while_hq_approval_is_pending_cancels_the_approval_step(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, world.south_warehouse)

        def opened() -> bool:
            with Session(db) as session:
                return (
                    session.execute(
                        select(ApprovalRequest).where(col(ApprovalRequest.document_id) == handle.id.upper())
                    ).scalar_one_or_none()
                    is not None
                )

        await _until(opened, "the approval request")
        await handle.execute_update(
            TransferWorkflow.cancel_transfer,
            CancelTransferInput(world.north_store_user.id, "not needed"),
        )
        with Session(db) as session:
            request = session.execute(
                select(ApprovalRequest).where(col(ApprovalRequest.document_id) == handle.id.upper())
            ).scalar_one()
            assert request.status is ApprovalStatus.CANCELLED
        assert stock(db, world.north_warehouse, world.sku_a)["reserved"] == 0
        await _end(client, handle)


async def test_a_source_without_enough_stock_reserves_nothing(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, world.north_store, quantities=(10, 51))
        await _reach(handle, TransferStatus.NOT_AVAILABLE)
        assert stock(db, world.north_warehouse, world.sku_a)["reserved"] == 0, (
            "line 1 fitted, yet nothing is held"
        )
        assert stock(db, world.north_warehouse, world.sku_b)["reserved"] == 0
        assert _actions(db, handle.id.upper()) == ["created", "not_available"]
        await _end(client, handle)


async def test_two_transfers_that_would_oversell_the_source_reserve_exactly_one(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handles = await asyncio.gather(
            *(_start(client, task_queue, world, world.north_store, quantities=(60, 1)) for _ in range(2))
        )

        async def settled() -> bool:
            statuses = [await _status(h) for h in handles]
            return all(s in (TransferStatus.RESERVED, TransferStatus.NOT_AVAILABLE) for s in statuses)

        await _until(settled, "both reservations")
        statuses = sorted([await _status(h) for h in handles])
        assert statuses == sorted([TransferStatus.RESERVED, TransferStatus.NOT_AVAILABLE])
        assert stock(db, world.north_warehouse, world.sku_a) == {
            "on_hand": 100,
            "reserved": 60,
            "in_transit": 0,
        }


async def test_an_undispatched_transfer_reminds_the_source_then_tells_hq(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(
            client,
            task_queue,
            world,
            world.north_store,
            dispatch_reminder_after=timedelta(hours=24),
            dispatch_escalation_after=timedelta(hours=48),
        )
        await _reach(handle, TransferStatus.RESERVED)
        await time_skipping_env.sleep(timedelta(hours=49))

        def escalated() -> bool:
            return "dispatch_escalated" in _actions(db, handle.id.upper())

        await _until(escalated, "the escalation")
        assert _actions(db, handle.id.upper()) == [
            "created",
            "reserved",
            "dispatch_reminder_sent",
            "dispatch_escalated",
        ]
        with Session(db) as session:
            buyers = session.execute(
                select(col(Notification.user_id)).where(
                    col(Notification.document_id) == handle.id.upper(),
                    col(Notification.message).contains("has not been dispatched"),
                )
            ).scalars()
            assert list(buyers) == [world.buyer.id]
        await _dispatch(time_skipping_env, handle, world)
        assert await _status(handle) is TransferStatus.IN_TRANSIT


async def test_bad_clicks_are_refused_and_change_nothing(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, world.north_store)
        await _reach(handle, TransferStatus.RESERVED)
        user = world.north_warehouse_user.id
        today = await _today(time_skipping_env)
        dispatch = TransferWorkflow.dispatch_transfer
        cases = [
            (DispatchTransferInput(user, "", today), "Enter the carrier."),
            (
                DispatchTransferInput(user, "SF", today - timedelta(days=1)),
                "The expected arrival cannot be in the past.",
            ),
            (
                DispatchTransferInput(user, "SF", today + timedelta(days=400)),
                "The expected arrival must be within a year.",
            ),
        ]
        for input, message in cases:
            assert await _refused(handle.execute_update(dispatch, input)) == message
        receive = ReceiveTransferInput(user, [ReceivedLine(1, 1), ReceivedLine(2, 1)])
        assert await _refused(handle.execute_update(TransferWorkflow.receive_transfer, receive)) == (
            "This transfer has not been dispatched yet."
        )
        await _dispatch(time_skipping_env, handle, world)
        for lines, message in [
            ([ReceivedLine(1, 10)], "Count line %(line)s too: enter 0 when nothing of it arrived."),
            (
                [ReceivedLine(1, 10), ReceivedLine(1, 0), ReceivedLine(2, 5)],
                "Each line can be counted once per receipt.",
            ),
            ([ReceivedLine(1, -1), ReceivedLine(2, 5)], "Line %(line)s: quantities cannot be negative."),
            (
                [ReceivedLine(1, 10), ReceivedLine(2, 5), ReceivedLine(9, 1)],
                "This transfer has no line %(line)s.",
            ),
            (
                [ReceivedLine(1, 10, 1), ReceivedLine(2, 5)],
                "Line %(line)s: at most %(quantity)s are on their way.",
            ),
        ]:
            bad = ReceiveTransferInput(user, lines)
            assert await _refused(handle.execute_update(TransferWorkflow.receive_transfer, bad)) == message
        assert stock(db, world.north_store, world.sku_a) == {"on_hand": 0, "reserved": 0, "in_transit": 10}
        assert _actions(db, handle.id.upper()) == ["created", "reserved", "dispatched"]


async def test_dispatch_is_taken_from_the_moment_the_transfer_shows_reserved(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: TransferWorld, db: Engine
) -> None:
    """The reservation's row says RESERVED (the warehouse's page offers dispatch) a moment before
    the workflow hears back from its activity. A dispatch sent then is accepted and carried out
    once the reservation is recorded."""
    client = time_skipping_env.client
    gate = Gate()
    async with worker_holding(client, task_queue, held_after_commit(gate, record_transfer_reserved), gate):
        handle = await _start(client, task_queue, world, world.north_store)
        await gate.reached()
        assert _row(db, handle.id.upper()).status is TransferStatus.RESERVED  # what the page shows
        dispatch = await handle.start_update(
            TransferWorkflow.dispatch_transfer,
            await _dispatch_input(time_skipping_env, world),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.release()
        assert (await dispatch.result()).status is TransferStatus.IN_TRANSIT
        assert stock(db, world.north_store, world.sku_a) == {"on_hand": 0, "reserved": 0, "in_transit": 10}
        await handle.execute_update(
            TransferWorkflow.receive_transfer,
            ReceiveTransferInput(
                actor_user_id=world.north_store_user.id, lines=[ReceivedLine(1, 10), ReceivedLine(2, 5)]
            ),
        )
        await _end(client, handle)
