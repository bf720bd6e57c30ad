"""A PO bought for a store but delivered to its warehouse (sourcing, DESIGN 4.2): what the warehouse
accepts goes on to the store by a TransferWorkflow (origin SOURCING, the PO's number on it), up to
what the store asked for; the rounding surplus stays in the warehouse. Time-skipping server, real
activities and database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.testing import WorkflowEnvironment

    from supplychain.models import POStatus, Transfer, TransferLine, TransferOrigin, TransferStatus, User
    from supplychain.models.catalog import InspectionMode
    from tests.fixtures.numbers import fresh_document_numbers
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.workflows.history_scenarios import patch_markers
    from tests.workflows.inspection_world import (
        closed,
        inspection,
        inspector,  # noqa: F401  (the fixture)
        received_and_waiting,
        record_defects,
        set_mode,
    )
    from tests.workflows.test_replenishment import (
        Handle,
        World,
        _actions,
        _confirm,
        _input,
        _receive,
        _ship,
        _start,
        _today,
        _until,
        world,  # noqa: F401  (the fixture)
    )
    from workflows.approval import ApprovalWorkflow
    from workflows.inspection import InspectionWorkflow
    from workflows.replenishment import TRANSFER_ON_PATCH, ReplenishmentInput, ReplenishmentWorkflow
    from workflows.transfer import TransferWorkflow, transfer_workflow_id

WORKFLOWS = [ReplenishmentWorkflow, ApprovalWorkflow, TransferWorkflow]


def transfer_on_input(world: World) -> ReplenishmentInput:
    """test_replenishment's two lines (A: 95 asked, 100 ordered; B: 50), bought for its store."""
    assert world.store.id is not None
    return replace(_input(world), transfer_on_to_location_id=world.store.id)


def onward_transfers(db: Engine, po_number: str) -> list[tuple[Transfer, list[tuple[int, int]]]]:
    with Session(db) as session:
        rows = session.execute(
            select(Transfer)
            .where(col(Transfer.purchase_order_number) == po_number)
            .order_by(col(Transfer.id))
        ).scalars()
        return [
            (
                transfer,
                [
                    (line.sku_id, line.quantity)
                    for line in session.execute(
                        select(TransferLine)
                        .where(col(TransferLine.transfer_id) == transfer.id)
                        .order_by(col(TransferLine.line_no))
                    ).scalars()
                ],
            )
            for transfer in rows
        ]


async def run_transfer_on(env: WorkflowEnvironment, task_queue: str, world: World, db: Engine) -> Handle:
    """Confirmed in full, shipped, received in full: the PO closes and one transfer takes what the
    store asked for on to it (95 of the 100 A bought, all 50 B), reserved at the warehouse."""
    fresh_document_numbers(db, ("TR",))
    input = transfer_on_input(world)
    today = await _today(env)
    handle = await _start(env.client, task_queue, input)
    await _confirm(handle, world, [(1, 100, today + timedelta(days=2)), (2, 50, today + timedelta(days=2))])
    shipment = await _ship(handle, world, today + timedelta(days=1), [(1, 100), (2, 50)])
    assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.CLOSED
    assert "transferred_on" in _actions(db, input.number)  # the number is reserved before the start
    await _until(lambda: onward_transfers(db, input.number), "the transfer's rows")
    ((transfer, lines),) = onward_transfers(db, input.number)
    assert transfer.origin is TransferOrigin.SOURCING
    assert (transfer.source_location_id, transfer.destination_location_id) == (
        world.warehouse.id,
        world.store.id,
    )
    assert transfer.requested_by_user_id == world.requester.id
    assert lines == [(world.sku_a.id, 95), (world.sku_b.id, 50)]
    assert "transferred_on" in _actions(db, input.number)
    child = env.client.get_workflow_handle(transfer_workflow_id(transfer.number))
    await _until(
        lambda: onward_transfers(db, input.number)[0][0].status is TransferStatus.RESERVED, "the reservation"
    )
    assert (await child.describe()).workflow_type == TransferWorkflow.__name__
    return handle


async def test_what_the_warehouse_receives_for_a_store_goes_on_to_it_by_transfer(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await run_transfer_on(time_skipping_env, task_queue, world, db)
        state = await handle.query(ReplenishmentWorkflow.get_state)
        assert len(state.transfers_on) == 1
        result = await handle.result()  # closes; the abandoned transfer runs on
        assert result.status is POStatus.CLOSED
        (transfer, _lines) = onward_transfers(db, result.number)[0]
        assert transfer.status is TransferStatus.RESERVED
        assert TRANSFER_ON_PATCH in patch_markers(await handle.fetch_history())
        await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_po_received_short_sends_on_only_what_arrived_and_the_rest_when_it_comes(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    fresh_document_numbers(db, ("TR",))
    client = time_skipping_env.client
    input = transfer_on_input(world)
    async with running_worker(client, task_queue):
        today = await _today(time_skipping_env)
        handle = await _start(client, task_queue, input)
        await _confirm(
            handle, world, [(1, 100, today + timedelta(days=2)), (2, 50, today + timedelta(days=2))]
        )
        first = await _ship(handle, world, today + timedelta(days=1), [(1, 60), (2, 50)])
        assert await _receive(handle, world, first, [(1, 60), (2, 50)]) is POStatus.IN_DELIVERY
        second = await _ship(handle, world, today + timedelta(days=1), [(1, 40)])
        assert await _receive(handle, world, second, [(1, 40)]) is POStatus.CLOSED
        await _until(lambda: len(onward_transfers(db, input.number)) == 2, "both transfers' rows")
        transfers = onward_transfers(db, input.number)
        # 60 A and 50 B at once; of the last 40 A only the 35 still owed to the store.
        assert [lines for _t, lines in transfers] == [
            [(world.sku_a.id, 60), (world.sku_b.id, 50)],
            [(world.sku_a.id, 35)],
        ]
        assert len({t.number for t, _ in transfers}) == 2
        assert (await handle.result()).status is POStatus.CLOSED
        await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_po_without_a_store_to_send_on_to_starts_no_transfer(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    input = _input(world)
    async with running_worker(client, task_queue):
        today = await _today(time_skipping_env)
        handle = await _start(client, task_queue, input)
        await _confirm(handle, world, [(1, 100, today), (2, 50, today)])
        shipment = await _ship(handle, world, today, [(1, 100), (2, 50)])
        assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.CLOSED
        assert onward_transfers(db, input.number) == []
        assert "transferred_on" not in _actions(db, input.number)
        assert TRANSFER_ON_PATCH not in patch_markers(await handle.fetch_history())


def test_the_committed_story_took_the_transfer_on_path() -> None:
    from tests.workflows.history_scenarios import history_path, read_history

    history = read_history(history_path("replenishment_transferred_on.named_steps"))
    assert TRANSFER_ON_PATCH in patch_markers(history)


async def test_an_inspected_line_goes_on_to_the_store_once_its_inspection_releases_it(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    fresh_document_numbers(db, ("TR",))
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    assert world.store.id is not None
    async with running_worker(client, task_queue):
        handle, shipment = await received_and_waiting(
            time_skipping_env, task_queue, world, db, transfer_on_to_location_id=world.store.id
        )
        number = (await handle.query(ReplenishmentWorkflow.get_state)).number
        # B was not inspected: it goes on at once; A waits in quarantine for its verdict.
        await _until(lambda: onward_transfers(db, number), "the first transfer's rows")
        assert [lines for _t, lines in onward_transfers(db, number)] == [[(world.sku_b.id, 50)]]
        first = await inspection(client, handle, shipment, 1)
        await record_defects(first, inspector, major=1)  # accepted: released from quarantine
        await _until(lambda: len(onward_transfers(db, number)) == 2, "the second transfer's rows")
        assert [lines for _t, lines in onward_transfers(db, number)] == [
            [(world.sku_b.id, 50)],
            [(world.sku_a.id, 95)],  # what the store asked for, of the 100 released
        ]
        await closed(handle, db, number)
        assert (await handle.result()).status is POStatus.CLOSED
    await assert_replays(client, handle.id, [*WORKFLOWS, InspectionWorkflow])
