"""ReplenishmentWorkflow on the time-skipping server, with the real activities, approval step and database.

Each test creates the people and places of a small retailer, starts one purchase order, drives it
through its Updates (as the supplier, the warehouse, the buyer would click), checks the rows the
activities wrote (PO, lines, shipments, stock ledger, events, notifications), and ends by replaying
the recorded history against the current workflow code.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
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

    from supplychain.models import (
        ApprovalStatus,
        DocumentEvent,
        Location,
        LocationKind,
        Notification,
        OrgKind,
        POLineStatus,
        POStatus,
        PurchaseOrder,
        PurchaseOrderLine,
        Role,
        Shipment,
        ShipmentLine,
        ShipmentStatus,
        Sku,
        StockLedgerEntry,
        User,
    )
    from supplychain.purchasing import get_po, po_lines
    from supplychain.stock import get_balance, ledger_totals
    from tests.factories import make_location, make_organisation, make_sku, make_user
    from tests.fixtures.temporal import assert_replays, running_worker
    from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.common import business_date
    from workflows.replenishment import (
        CancelPOInput,
        ConfirmLinesInput,
        CreateShipmentInput,
        LineConfirmation,
        POLineInput,
        PurchaseOrderState,
        ReceiptLineInput,
        RecordReceiptInput,
        RejectPOInput,
        ReplenishmentInput,
        ReplenishmentResult,
        ReplenishmentWorkflow,
        ShipmentLineInput,
        ShortCloseLineInput,
        WaitRecordedInput,
        po_workflow_id,
    )

WORKFLOWS = [ReplenishmentWorkflow, ApprovalWorkflow]


@dataclass
class World:
    hq_id: int
    supplier_org_id: int
    supplier: User
    other_supplier: User  # another supplier organisation: never notified about this PO
    requester: User  # a store user
    store: Location
    warehouse: Location
    warehouse_clerk: User
    buyer: User
    approver_low: User  # limit too low for the PO amounts used here
    approver_mid: User  # first level for these POs
    approver_high: User
    sku_a: Sku
    sku_b: Sku


@pytest.fixture
def world(session: Session, db: Engine) -> World:
    return make_world(session)


def make_world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier_org = make_organisation(session, kind=OrgKind.SUPPLIER)
    other_org = make_organisation(session, kind=OrgKind.SUPPLIER)
    store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE)

    def approver(limit: str) -> User:
        return make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal(limit))

    assert hq.id is not None and supplier_org.id is not None
    return World(
        hq_id=hq.id,
        supplier_org_id=supplier_org.id,
        supplier=make_user(session, organisation=supplier_org, roles=[Role.SUPPLIER]),
        other_supplier=make_user(session, organisation=other_org, roles=[Role.SUPPLIER]),
        requester=make_user(
            session, organisation=hq, roles=[Role.STORE], location=store, approval_limit=Decimal("5000")
        ),
        store=store,
        warehouse=warehouse,
        warehouse_clerk=make_user(session, organisation=hq, roles=[Role.WAREHOUSE], location=warehouse),
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER]),
        approver_low=approver("1000"),
        approver_mid=approver("100000"),
        approver_high=approver("1000000"),
        sku_a=make_sku(session),
        sku_b=make_sku(session),
    )


def _input(world: World, *, needs_approval: bool = False, **kw: Any) -> ReplenishmentInput:
    """Two lines: 100 x A at 10.00 and 50 x B at 20.00, 13% VAT: 2,260.00 in all."""
    return ReplenishmentInput(
        number=f"PO-T-{uuid.uuid4().hex[:10].upper()}",
        supplier_id=world.supplier_org_id,
        requester_user_id=world.requester.id,
        requester_org_id=world.hq_id,
        requested_for_location_id=world.store.id,
        ship_to_location_id=world.warehouse.id,
        lines=[
            POLineInput(1, world.sku_a.id, 95, 100, Decimal("10.00"), Decimal("0.13")),
            POLineInput(2, world.sku_b.id, 50, 50, Decimal("20.00"), Decimal("0.13")),
        ],
        needs_approval=needs_approval,
        **kw,
    )


Handle = WorkflowHandle[ReplenishmentWorkflow, ReplenishmentResult]


async def _start(client: Client, task_queue: str, input: ReplenishmentInput) -> Handle:
    """Start the PO and wait until its rows exist, as the web route does before redirecting."""
    handle = await client.start_workflow(
        ReplenishmentWorkflow.run, input, id=po_workflow_id(input.number), task_queue=task_queue
    )
    await handle.execute_update(ReplenishmentWorkflow.wait_recorded, WaitRecordedInput())
    return handle


async def _today(env: WorkflowEnvironment) -> date:
    return business_date(await env.get_current_time())


async def _confirm(handle: Handle, world: World, lines: list[tuple[int, int, date | None]]) -> POStatus:
    result = await handle.execute_update(
        ReplenishmentWorkflow.confirm_lines,
        ConfirmLinesInput(
            actor_user_id=world.supplier.id,
            lines=[LineConfirmation(line_no=n, quantity=q, promised_date=d) for n, q, d in lines],
        ),
    )
    return result.status


async def _ship(handle: Handle, world: World, eta: date, lines: list[tuple[int, int]]) -> str:
    number = f"SHP-T-{uuid.uuid4().hex[:10].upper()}"
    await handle.execute_update(
        ReplenishmentWorkflow.create_shipment,
        CreateShipmentInput(
            actor_user_id=world.supplier.id,
            shipment_number=number,
            carrier="SF Express",
            tracking_number=f"SF{uuid.uuid4().int % 10**12:012d}",
            eta=eta,
            lines=[ShipmentLineInput(line_no=n, quantity=q) for n, q in lines],
        ),
    )
    return number


async def _receive(handle: Handle, world: World, shipment: str, lines: list[tuple[int, int]]) -> POStatus:
    result = await handle.execute_update(
        ReplenishmentWorkflow.record_receipt,
        RecordReceiptInput(
            actor_user_id=world.warehouse_clerk.id,
            shipment_number=shipment,
            lines=[ReceiptLineInput(line_no=n, quantity_received=q) for n, q in lines],
        ),
    )
    return result.status


async def _short_close(handle: Handle, world: World, line_no: int) -> POStatus:
    result = await handle.execute_update(
        ReplenishmentWorkflow.short_close_line,
        ShortCloseLineInput(actor_user_id=world.buyer.id, line_no=line_no, reason="Season is over"),
    )
    return result.status


async def _refused(update: Callable[[], Any]) -> str:
    """Run an Update that must be refused; return the validator's message."""
    with pytest.raises(WorkflowUpdateFailedError) as error:
        await update()
    cause = error.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UpdateRejected"
    return cause.message


async def _finish(client: Client, handle: Handle, expected: POStatus) -> None:
    """The run completes (after answering late clicks) with `expected`, and its history replays."""
    result = await handle.result()
    assert result.status is expected
    await assert_replays(client, handle.id, WORKFLOWS)


# --- reading the database ------------------------------------------------------------------------


def _po(db: Engine, number: str) -> PurchaseOrder:
    with Session(db) as session:
        po = get_po(session, number)
        assert po is not None
        return po


def _lines(db: Engine, number: str) -> dict[int, PurchaseOrderLine]:
    with Session(db) as session:
        po = get_po(session, number)
        assert po is not None
        return po_lines(session, po)


def _shipment_lines(db: Engine, shipment: str) -> dict[int, ShipmentLine]:
    """Shipment lines by PO line number."""
    with Session(db) as session:
        rows = session.execute(
            select(ShipmentLine, PurchaseOrderLine.line_no)
            .join(Shipment, col(Shipment.id) == col(ShipmentLine.shipment_id))
            .join(PurchaseOrderLine, col(PurchaseOrderLine.id) == col(ShipmentLine.po_line_id))
            .where(col(Shipment.number) == shipment)
        ).all()
        return {line_no: row for row, line_no in rows}


def _actions(db: Engine, number: str) -> list[str]:
    with Session(db) as session:
        return list(
            session.execute(
                select(col(DocumentEvent.action))
                .where(col(DocumentEvent.document_id) == number)
                .order_by(col(DocumentEvent.id))
            ).scalars()
        )


@dataclass
class Event:
    actor_user_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    note: str


def _events(db: Engine, number: str, action: str) -> list[Event]:
    with Session(db) as session:
        rows = session.execute(
            select(DocumentEvent)
            .where(col(DocumentEvent.document_id) == number, col(DocumentEvent.action) == action)
            .order_by(col(DocumentEvent.id))
        ).scalars()
        return [Event(row.actor_user_id, row.before or {}, row.after or {}, row.note) for row in rows]


def _messages(db: Engine, user: User, number: str) -> list[str]:
    with Session(db) as session:
        return list(
            session.execute(
                select(col(Notification.message))
                .where(col(Notification.user_id) == user.id, col(Notification.document_id) == number)
                .order_by(col(Notification.id))
            ).scalars()
        )


def _on_hand(db: Engine, world: World, sku: Sku) -> int:
    with Session(db) as session:
        balance = get_balance(session, world.warehouse.id, sku.id)
        on_hand = balance.on_hand if balance is not None else 0
        assert ledger_totals(session, world.warehouse.id, sku.id).on_hand == on_hand
        return on_hand


def _ledger_rows(db: Engine, number: str) -> list[StockLedgerEntry]:
    with Session(db) as session:
        return list(
            session.execute(
                select(StockLedgerEntry).where(col(StockLedgerEntry.source_document_id) == number)
            ).scalars()
        )


async def _state(handle: Handle) -> PurchaseOrderState:
    return await handle.query(ReplenishmentWorkflow.get_state)


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


async def _approval_opened(client: Client, handle: Handle) -> WorkflowHandle[Any, Any]:
    approval = client.get_workflow_handle(approval_workflow_id(handle.id))

    async def assigned() -> ApprovalState | None:
        try:
            state = await approval.query(ApprovalWorkflow.get_state)
        except RPCError:  # the child has not started yet
            return None
        return state if state.assignee_user_id is not None else None

    await _until(assigned, "the approval request to open")
    return approval


def _decide(world: World, approver: User, approve: bool, comment: str = "") -> DecideInput:
    return DecideInput(
        actor_user_id=approver.id, on_behalf_of_user_id=approver.id, approve=approve, comment=comment
    )


# --- the happy path ------------------------------------------------------------------------------


async def _run_happy_path(env: WorkflowEnvironment, task_queue: str, world: World, db: Engine) -> Handle:
    client = env.client
    input = _input(world)
    number = input.number
    today = await _today(env)
    handle = await _start(client, task_queue, input)

    po = _po(db, number)
    assert po.status is POStatus.SENT and po.total_amount == Decimal("2260.00")
    await _until(lambda: _messages(db, world.supplier, number), "the supplier to be told")
    assert _messages(db, world.supplier, number) == [
        "Purchase order %(number)s is waiting for your confirmation."
    ]
    assert _messages(db, world.other_supplier, number) == []

    assert (
        await _confirm(handle, world, [(1, 100, today + timedelta(days=3)), (2, 50, today)])
        is POStatus.CONFIRMED
    )
    lines = _lines(db, number)
    assert (lines[1].quantity_confirmed, lines[1].promised_date) == (100, today + timedelta(days=3))
    assert _po(db, number).status is POStatus.CONFIRMED

    shipment = await _ship(handle, world, today + timedelta(days=2), [(1, 100), (2, 50)])
    assert _po(db, number).status is POStatus.IN_DELIVERY
    assert _messages(db, world.warehouse_clerk, number) == [
        "Shipment %(shipment)s for purchase order %(number)s is on its way, expected %(eta)s."
    ]

    before_a, before_b = _on_hand(db, world, world.sku_a), _on_hand(db, world, world.sku_b)
    assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.CLOSED
    # Read-your-writes: stock, lines and status are there the moment the Update returns.
    assert _on_hand(db, world, world.sku_a) == before_a + 100
    assert _on_hand(db, world, world.sku_b) == before_b + 50
    po = _po(db, number)
    assert po.status is POStatus.CLOSED and po.closed_at is not None
    assert {n: line.status for n, line in _lines(db, number).items()} == {
        1: POLineStatus.RECEIVED,
        2: POLineStatus.RECEIVED,
    }
    assert _actions(db, number) == [
        "created",
        "sent",
        "confirmed",
        "shipment_created",
        "shipment_received",
        "closed",
    ]
    confirmed = _events(db, number, "confirmed")[0]
    assert confirmed.actor_user_id == world.supplier.id
    assert confirmed.before["status"] == "sent" and confirmed.after["status"] == "confirmed"
    assert confirmed.after["line_1.quantity_confirmed"] == 100
    assert _events(db, number, "shipment_received")[0].actor_user_id == world.warehouse_clerk.id
    assert "Purchase order %(number)s is complete: all goods have been received." in _messages(
        db, world.requester, number
    )
    return handle


async def test_happy_path_without_approval_closes_with_stock_increased_by_what_was_received(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _run_happy_path(time_skipping_env, task_queue, world, db)
        state = await _state(handle)
        assert state.status is POStatus.CLOSED and state.approval_workflow_id is None
        assert [(line.quantity_shipped, line.quantity_received) for line in state.lines] == [
            (100, 100),
            (50, 50),
        ]
        assert len(_ledger_rows(db, state.number)) == 2
        await _finish(client, handle, POStatus.CLOSED)


# --- confirmation ---------------------------------------------------------------------------------


async def test_partial_confirmation_keeps_a_backorder_until_the_buyer_short_closes_the_line(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _confirm(
            handle, world, [(1, 60, today + timedelta(days=5)), (2, 50, today + timedelta(days=5))]
        )
        first = await _ship(handle, world, today + timedelta(days=1), [(1, 60), (2, 50)])
        assert await _receive(handle, world, first, [(1, 60), (2, 50)]) is POStatus.IN_DELIVERY
        lines = _lines(db, input.number)
        assert lines[1].status is POLineStatus.OPEN and lines[1].quantity_received == 60  # the backorder
        assert lines[2].status is POLineStatus.RECEIVED

        # The supplier confirms part of the backorder later, ships it; the buyer closes the rest.
        await _confirm(handle, world, [(1, 80, today + timedelta(days=9))])
        message = await _refused(lambda: _confirm(handle, world, [(2, 50, today)]))
        assert message == "Line %(line)s has no backorder left to confirm."
        second = await _ship(handle, world, today + timedelta(days=2), [(1, 20)])
        message = await _refused(lambda: _short_close(handle, world, 1))
        assert message == "Line %(line)s cannot be short-closed while goods of it are in transit."
        assert await _receive(handle, world, second, [(1, 20)]) is POStatus.IN_DELIVERY
        assert await _short_close(handle, world, 1) is POStatus.CLOSED

        lines = _lines(db, input.number)
        assert (lines[1].status, lines[1].quantity_confirmed, lines[1].quantity_received) == (
            POLineStatus.SHORT_CLOSED,
            80,
            80,
        )
        assert _on_hand(db, world, world.sku_a) == 80
        assert _actions(db, input.number)[-2:] == ["line_short_closed", "closed"]
        assert _events(db, input.number, "line_short_closed")[0].note == "Season is over"
        await _finish(client, handle, POStatus.CLOSED)


async def test_a_line_confirmed_zero_is_cancelled_and_the_rest_goes_on(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _confirm(handle, world, [(1, 100, today), (2, 0, None)])
        assert _lines(db, input.number)[2].status is POLineStatus.CANCELLED
        shipment = await _ship(handle, world, today, [(1, 100)])
        assert await _receive(handle, world, shipment, [(1, 100)]) is POStatus.CLOSED
        await _finish(client, handle, POStatus.CLOSED)


async def test_supplier_rejection_ends_the_order_with_the_reason(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        assert (
            await _refused(
                lambda: handle.execute_update(
                    ReplenishmentWorkflow.reject_po,
                    RejectPOInput(actor_user_id=world.supplier.id, reason="  "),
                )
            )
            == "Enter a reason for the rejection."
        )
        result = await handle.execute_update(
            ReplenishmentWorkflow.reject_po,
            RejectPOInput(actor_user_id=world.supplier.id, reason="Discontinued item"),
        )
        assert result.status is POStatus.SUPPLIER_REJECTED
        po = _po(db, input.number)
        assert (po.status, po.status_reason) == (POStatus.SUPPLIER_REJECTED, "Discontinued item")
        assert _actions(db, input.number)[-1] == "rejected_by_supplier"
        assert _messages(db, world.requester, input.number) == [
            "The supplier rejected purchase order %(number)s: %(reason)s"
        ]
        assert _messages(db, world.buyer, input.number) == [
            "The supplier rejected purchase order %(number)s: %(reason)s"
        ]
        await _finish(client, handle, POStatus.SUPPLIER_REJECTED)


# --- shipments and receipts -----------------------------------------------------------------------


async def test_two_shipments_for_one_order(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _confirm(
            handle, world, [(1, 100, today + timedelta(days=4)), (2, 50, today + timedelta(days=4))]
        )
        first = await _ship(handle, world, today + timedelta(days=1), [(1, 40)])
        second = await _ship(handle, world, today + timedelta(days=3), [(1, 60), (2, 50)])
        message = await _refused(lambda: _ship(handle, world, today, [(1, 1)]))
        assert (
            message == "Quantity for line %(line)s cannot exceed the %(open)s confirmed and not yet shipped."
        )

        # The later shipment arrives first.
        assert await _receive(handle, world, second, [(1, 60), (2, 50)]) is POStatus.IN_DELIVERY
        assert _lines(db, input.number)[1].status is POLineStatus.OPEN  # 40 still in transit
        assert await _receive(handle, world, first, [(1, 40)]) is POStatus.CLOSED
        message = await _refused(lambda: _receive(handle, world, first, [(1, 40)]))
        assert message == "This purchase order is closed; nothing can be changed."

        with Session(db) as session:
            shipments = (
                session.execute(select(Shipment).where(col(Shipment.number).in_([first, second])))
                .scalars()
                .all()
            )
            assert {s.status for s in shipments} == {ShipmentStatus.RECEIVED}
        assert _on_hand(db, world, world.sku_a) == 100
        assert len(_ledger_rows(db, input.number)) == 3  # one per shipment line
        assert _actions(db, input.number).count("shipment_created") == 2
        await _finish(client, handle, POStatus.CLOSED)


async def test_over_and_short_receipt_are_recorded_and_stock_gets_what_was_counted(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _confirm(handle, world, [(1, 100, today), (2, 50, today)])
        shipment = await _ship(handle, world, today, [(1, 100), (2, 50)])
        assert await _receive(handle, world, shipment, [(1, 103), (2, 45)]) is POStatus.IN_DELIVERY

        shipment_lines = _shipment_lines(db, shipment)
        assert (shipment_lines[1].quantity_shipped, shipment_lines[1].quantity_received) == (100, 103)
        assert (shipment_lines[2].quantity_shipped, shipment_lines[2].quantity_received) == (50, 45)
        received = _events(db, input.number, "shipment_received")[0].after
        assert (received["line_1.over_short"], received["line_2.over_short"]) == (3, -5)
        assert _on_hand(db, world, world.sku_a) == 103
        assert _on_hand(db, world, world.sku_b) == 45
        lines = _lines(db, input.number)
        assert lines[1].status is POLineStatus.RECEIVED  # over-receipt settles the line
        assert lines[2].status is POLineStatus.OPEN  # the shortage waits for the buyer

        assert await _short_close(handle, world, 2) is POStatus.CLOSED
        await _finish(client, handle, POStatus.CLOSED)


# --- timers ---------------------------------------------------------------------------------------


async def test_supplier_is_reminded_after_24_hours_and_buyers_alerted_after_48(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        sent = ["Purchase order %(number)s is waiting for your confirmation."]
        await _until(lambda: _messages(db, world.supplier, input.number), "the supplier to be told")
        reminder = "Reminder: purchase order %(number)s is still waiting for your confirmation."
        escalation = "The supplier has not confirmed purchase order %(number)s within %(hours)s hours."

        await time_skipping_env.sleep(timedelta(hours=23))
        assert _messages(db, world.supplier, input.number) == sent

        await time_skipping_env.sleep(timedelta(hours=2))
        await _until(lambda: len(_messages(db, world.supplier, input.number)) == 2, "the reminder")
        assert _messages(db, world.supplier, input.number) == [*sent, reminder]
        assert _messages(db, world.buyer, input.number) == []

        await time_skipping_env.sleep(timedelta(hours=24))
        await _until(lambda: _messages(db, world.buyer, input.number), "the escalation")
        assert _messages(db, world.buyer, input.number) == [escalation]
        assert _actions(db, input.number)[-2:] == ["confirmation_reminder_sent", "confirmation_escalated"]

        # Confirming still works after the escalation; nothing fires twice.
        today = await _today(time_skipping_env)
        await _confirm(
            handle, world, [(1, 100, today + timedelta(days=1)), (2, 50, today + timedelta(days=1))]
        )
        await time_skipping_env.sleep(timedelta(hours=12))
        assert _messages(db, world.supplier, input.number) == [*sent, reminder]
        await _cancel_and_finish(client, handle, world)


async def test_buyers_are_alerted_once_when_a_promised_date_passes(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _confirm(handle, world, [(1, 100, today), (2, 50, today + timedelta(days=10))])
        await time_skipping_env.sleep(timedelta(days=2))
        overdue = "Line %(line)s of purchase order %(number)s was promised for %(date)s and is overdue."
        await _until(lambda: _messages(db, world.buyer, input.number), "the overdue alert")
        await time_skipping_env.sleep(timedelta(days=2))
        assert _messages(db, world.buyer, input.number) == [overdue]  # once, and only line 1
        alert = _events(db, input.number, "line_overdue")
        assert len(alert) == 1 and alert[0].after["line"] == 1
        await _cancel_and_finish(client, handle, world)


async def _cancel_and_finish(client: Client, handle: Handle, world: World) -> None:
    await handle.execute_update(
        ReplenishmentWorkflow.cancel_po, CancelPOInput(actor_user_id=world.buyer.id, reason="Test over")
    )
    await _finish(client, handle, POStatus.CANCELLED)


# --- cancellation ---------------------------------------------------------------------------------


async def test_buyer_cancels_before_shipment_and_the_supplier_is_told(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _confirm(handle, world, [(1, 100, today), (2, 50, today)])
        message = await _refused(
            lambda: handle.execute_update(
                ReplenishmentWorkflow.cancel_po, CancelPOInput(actor_user_id=world.buyer.id, reason="")
            )
        )
        assert message == "Enter a reason for the cancellation."
        result = await handle.execute_update(
            ReplenishmentWorkflow.cancel_po,
            CancelPOInput(actor_user_id=world.buyer.id, reason="Store closed for renovation"),
        )
        assert result.status is POStatus.CANCELLED
        po = _po(db, input.number)
        assert (po.status, po.status_reason) == (POStatus.CANCELLED, "Store closed for renovation")
        assert {line.status for line in _lines(db, input.number).values()} == {POLineStatus.CANCELLED}
        assert (
            _messages(db, world.supplier, input.number)[-1]
            == "Purchase order %(number)s was cancelled: %(reason)s"
        )
        event = _events(db, input.number, "cancelled")[0]
        assert event.actor_user_id == world.buyer.id and event.before["status"] == "confirmed"

        # Timers are stopped: nothing more happens however long we wait.
        await time_skipping_env.sleep(timedelta(days=5))
        assert _actions(db, input.number)[-1] == "cancelled"
        await _finish(client, handle, POStatus.CANCELLED)


async def test_cancel_is_refused_once_something_has_shipped(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _confirm(handle, world, [(1, 100, today), (2, 50, today)])
        shipment = await _ship(handle, world, today, [(1, 10)])
        message = await _refused(
            lambda: handle.execute_update(
                ReplenishmentWorkflow.cancel_po,
                CancelPOInput(actor_user_id=world.buyer.id, reason="Too late"),
            )
        )
        assert message == "The order cannot be cancelled: goods have already been shipped."
        assert _po(db, input.number).status is POStatus.IN_DELIVERY
        await _receive(handle, world, shipment, [(1, 10)])
        await _short_close(handle, world, 1)
        assert await _short_close(handle, world, 2) is POStatus.CLOSED
        await _finish(client, handle, POStatus.CLOSED)


# --- approval -------------------------------------------------------------------------------------


async def test_order_over_the_limit_waits_for_approval_then_goes_to_the_supplier(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        input = _input(world, needs_approval=True)
        handle = await _start(client, task_queue, input)
        assert _po(db, input.number).status is POStatus.PENDING_APPROVAL
        approval = await _approval_opened(client, handle)
        assert (await _state(handle)).approval_workflow_id == approval.id
        assert _messages(db, world.supplier, input.number) == []
        message = await _refused(lambda: _confirm(handle, world, [(1, 1, None)]))
        assert message == "This purchase order is waiting for HQ approval."

        await approval.execute_update(ApprovalWorkflow.decide, _decide(world, world.approver_mid, True))
        await _until(lambda: _po(db, input.number).status is POStatus.SENT, "the PO to be sent")
        assert _messages(db, world.supplier, input.number) == [
            "Purchase order %(number)s is waiting for your confirmation."
        ]
        await _cancel_and_finish(client, handle, world)


async def test_rejected_approval_ends_the_order_as_approval_rejected(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        input = _input(world, needs_approval=True)
        handle = await _start(client, task_queue, input)
        approval = await _approval_opened(client, handle)
        await approval.execute_update(
            ApprovalWorkflow.decide, _decide(world, world.approver_mid, False, "Over budget this month")
        )
        result = await handle.result()
        assert result.status is POStatus.APPROVAL_REJECTED
        po = _po(db, input.number)
        assert (po.status, po.status_reason) == (POStatus.APPROVAL_REJECTED, "Over budget this month")
        assert _messages(db, world.supplier, input.number) == []
        await assert_replays(client, handle.id, WORKFLOWS)


async def test_two_simultaneous_approvals_exactly_one_wins(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        input = _input(world, needs_approval=True)
        handle = await _start(client, task_queue, input)
        approval = await _approval_opened(client, handle)
        outcomes = await asyncio.gather(
            approval.execute_update(ApprovalWorkflow.decide, _decide(world, world.approver_mid, True)),
            approval.execute_update(
                ApprovalWorkflow.decide, _decide(world, world.approver_mid, True, "again")
            ),
            return_exceptions=True,
        )
        wins = [o for o in outcomes if not isinstance(o, BaseException)]
        refusals = [o for o in outcomes if isinstance(o, WorkflowUpdateFailedError)]
        assert len(wins) == 1 and len(refusals) == 1, outcomes
        assert wins[0].status is ApprovalStatus.APPROVED
        await _until(lambda: _po(db, input.number).status is POStatus.SENT, "the PO to be sent")
        assert _messages(db, world.supplier, input.number) == [
            "Purchase order %(number)s is waiting for your confirmation."
        ]
        await assert_replays(client, approval.id, WORKFLOWS)
        await _cancel_and_finish(client, handle, world)


async def test_cancelling_during_approval_cancels_the_approval_request(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        input = _input(world, needs_approval=True)
        handle = await _start(client, task_queue, input)
        approval = await _approval_opened(client, handle)
        result = await handle.execute_update(
            ReplenishmentWorkflow.cancel_po,
            CancelPOInput(actor_user_id=world.buyer.id, reason="Ordered twice"),
        )
        assert result.status is POStatus.CANCELLED
        state = await approval.query(ApprovalWorkflow.get_state)
        assert state.status is ApprovalStatus.CANCELLED
        assert _messages(db, world.supplier, input.number) == []  # never sent: nothing to tell
        await _finish(client, handle, POStatus.CANCELLED)


# --- refused Updates change nothing ---------------------------------------------------------------


async def test_invalid_confirmations_are_refused_with_a_clear_message_and_change_nothing(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        input = _input(world)
        handle = await _start(client, task_queue, input)
        await _until(lambda: "sent" in _actions(db, input.number), "the PO to be sent")
        events_before = _actions(db, input.number)
        state_before = await _state(handle)
        later = today + timedelta(days=3)
        cases = {
            "Quantity for line %(line)s cannot exceed %(ordered)s.": [(1, 101, later), (2, 50, later)],
            "The promised date for line %(line)s cannot be in the past.": [
                (1, 100, today - timedelta(days=1)),
                (2, 50, later),
            ],
            "Line %(line)s does not exist on this order.": [(1, 100, later), (2, 50, later), (3, 1, later)],
            "Line %(line)s appears more than once.": [(1, 100, later), (1, 50, later)],
            "Confirm every line of the order: line %(line)s is missing.": [(1, 100, later)],
            "Quantity for line %(line)s cannot be negative.": [(1, -1, later), (2, 50, later)],
            "Enter a promised date for line %(line)s.": [(1, 100, None), (2, 50, later)],
        }
        for expected, lines in cases.items():
            assert await _refused(partial(_confirm, handle, world, lines)) == expected
        with pytest.raises(WorkflowUpdateFailedError) as error:
            await _confirm(handle, world, [(1, 101, later), (2, 50, later)])
        assert isinstance(error.value.cause, ApplicationError)
        assert error.value.cause.details[0] == {"line": 1, "ordered": 100}

        assert await _state(handle) == state_before
        assert _actions(db, input.number) == events_before
        assert _lines(db, input.number)[1].quantity_confirmed is None
        await _cancel_and_finish(client, handle, world)


async def test_acting_on_a_closed_order_is_refused_and_changes_nothing(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    today = await _today(time_skipping_env)
    async with running_worker(client, task_queue):
        handle = await _run_happy_path(time_skipping_env, task_queue, world, db)
        number = (await _state(handle)).number
        events_before = _actions(db, number)
        closed = "This purchase order is closed; nothing can be changed."
        assert await _refused(lambda: _confirm(handle, world, [(1, 100, today), (2, 50, today)])) == closed
        assert await _refused(lambda: _ship(handle, world, today, [(1, 1)])) == closed
        assert await _refused(lambda: _short_close(handle, world, 1)) == closed
        assert (
            await _refused(
                lambda: handle.execute_update(
                    ReplenishmentWorkflow.cancel_po, CancelPOInput(actor_user_id=world.buyer.id, reason="x")
                )
            )
            == closed
        )
        assert _actions(db, number) == events_before
        assert _po(db, number).status is POStatus.CLOSED
        await _finish(client, handle, POStatus.CLOSED)
