"""Crash safety: the worker process dies with SIGKILL twice, and the purchase order still completes once.

A real worker process (`python -m worker`) serves the order on the session's dev server. It is killed
right after the supplier's confirmation returned, and again the moment the receipt's stock postings
appear: the receipt step (`record_shipment_received`) writes the counted quantities, all 30 lines'
postings and the order's end in one transaction, so the kill finds all of them and lands before
Temporal has heard that the activity finished. No hook in production code makes that happen: the
test watches the ledger and kills the moment the first row for the order appears.

After each kill a new worker process takes over from the recorded history. Nobody resends the
receipt: the lost activity is retried after its timeout and writes nothing twice, the workflow
learns the order is closed, and every line is in the ledger exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from supplychain.models import (
    Notification,
    POLineStatus,
    POStatus,
    Shipment,
    ShipmentLine,
    Sku,
    StockLedgerEntry,
)
from supplychain.purchasing import get_po, po_lines
from tests.e2e.conftest import WorkerProcess, WorkerProcesses, World, ledger_rows, on_hand, po_actions
from tests.factories import make_sku
from tests.fixtures.temporal import assert_replays
from workflows.approval import ApprovalWorkflow
from workflows.common import business_date
from workflows.replenishment import (
    ConfirmLinesInput,
    CreateShipmentInput,
    LineConfirmation,
    POLineInput,
    POUpdateResult,
    ReceiptLineInput,
    RecordReceiptInput,
    ReplenishmentInput,
    ReplenishmentResult,
    ReplenishmentWorkflow,
    ShipmentLineInput,
    WaitRecordedInput,
    po_workflow_id,
)

# Enough lines that a posting per line twice would show.
LINES = 30
# A killed worker's running activity is retried only after its start-to-close timeout: 30 s deployed,
# ACTIVITY_TIMEOUT here so the two recoveries take seconds (the workflow takes it from its input).
ACTIVITY_TIMEOUT = timedelta(seconds=8)
RECOVERY_TIMEOUT = 60.0
POLL_INTERVAL = 0.002

Handle = WorkflowHandle[ReplenishmentWorkflow, ReplenishmentResult]


def _quantity(line_no: int) -> int:
    return 10 + line_no  # a different quantity per line, so a line posted twice or swapped shows


def _ledger_count(db: Engine, number: str) -> int:
    with db.connect() as conn:
        statement = select(func.count()).where(col(StockLedgerEntry.source_document_id) == number)
        return int(conn.execute(statement).scalar_one())


def _po_status(db: Engine, number: str) -> POStatus | None:
    with Session(db) as session:
        po = get_po(session, number)
        return po.status if po is not None else None


async def _kill_while_posting(
    db: Engine, number: str, worker: WorkerProcess, receipt: asyncio.Task[POUpdateResult]
) -> int:
    """SIGKILL `worker` the moment the first ledger row of `number` exists; the rows posted by then."""
    deadline = time.monotonic() + 60
    while _ledger_count(db, number) == 0:
        if receipt.done():
            pytest.fail(f"the receipt Update finished before any posting was seen: {receipt!r}")
        if worker.process.poll() is not None:
            pytest.fail(f"worker {worker.pid} died on its own:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no stock posting for {number} within 60 s:\n{worker.log_tail()}")
        await asyncio.sleep(POLL_INTERVAL)
    worker.kill()
    return _ledger_count(db, number)  # the worker is gone: nothing more is written after this


async def _wait_closed(db: Engine, handle: Handle, number: str) -> None:
    """The workflow finishes the receipt on its own: poll the read model and the live state."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while True:
        if _po_status(db, number) is POStatus.CLOSED:
            state = await handle.query(ReplenishmentWorkflow.get_state)
            if state.status is POStatus.CLOSED:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"{handle.id} not closed {RECOVERY_TIMEOUT:.0f} s after the restart")
        await asyncio.sleep(0.2)


def _order(world: World, skus: list[Sku]) -> ReplenishmentInput:
    assert world.store_user.id and world.store.id and world.warehouse.id and world.hq.id
    assert world.supplier_org.id
    return ReplenishmentInput(
        number=f"PO-E2E-{uuid.uuid4().hex[:10].upper()}",
        supplier_id=world.supplier_org.id,
        requester_user_id=world.store_user.id,
        requester_org_id=world.hq.id,
        requested_for_location_id=world.store.id,
        ship_to_location_id=world.warehouse.id,
        lines=[
            POLineInput(
                line_no=n,
                sku_id=sku.id,
                quantity_requested=_quantity(n),
                quantity_ordered=_quantity(n),
                unit_price=Decimal("1.00"),
                tax_rate=Decimal("0.13"),
            )
            for n, sku in enumerate(skus, start=1)
        ],
        needs_approval=False,
        activity_timeout=ACTIVITY_TIMEOUT,
    )


async def _start(client: Client, task_queue: str, order: ReplenishmentInput) -> Handle:
    handle = await client.start_workflow(
        ReplenishmentWorkflow.run,
        order,
        id=po_workflow_id(order.number),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    await handle.execute_update(ReplenishmentWorkflow.wait_recorded, WaitRecordedInput())
    return handle


@pytest.mark.e2e
async def test_order_completes_with_each_line_posted_once_when_the_worker_is_killed_twice(
    dev_server_env: WorkflowEnvironment, workers: WorkerProcesses, world: World, session: Session, db: Engine
) -> None:
    client = dev_server_env.client
    skus = [make_sku(session) for _ in range(LINES)]
    order = _order(world, skus)
    number = order.number
    line_nos = [line.line_no for line in order.lines]
    today = business_date(datetime.now(UTC))

    first = workers.start()
    await first.wait_ready_async()
    handle = await _start(client, workers.task_queue, order)
    assert _po_status(db, number) is POStatus.SENT

    # 1. The supplier confirms; the worker dies the moment the Update has returned.
    confirmed = await handle.execute_update(
        ReplenishmentWorkflow.confirm_lines,
        ConfirmLinesInput(
            actor_user_id=world.supplier.id,
            lines=[
                LineConfirmation(line_no=n, quantity=_quantity(n), promised_date=today + timedelta(days=3))
                for n in line_nos
            ],
        ),
    )
    first.kill()
    assert confirmed.status is POStatus.CONFIRMED
    assert _po_status(db, number) is POStatus.CONFIRMED  # committed before the Update returned

    # 2. A new worker picks the order up from its history; the supplier ships everything.
    second = workers.start()
    await second.wait_ready_async()
    shipment = f"SHP-E2E-{uuid.uuid4().hex[:10].upper()}"
    shipped = await handle.execute_update(
        ReplenishmentWorkflow.create_shipment,
        CreateShipmentInput(
            actor_user_id=world.supplier.id,
            shipment_number=shipment,
            carrier="SF Express",
            tracking_number="SF000000000001",
            eta=today + timedelta(days=2),
            lines=[ShipmentLineInput(line_no=n, quantity=_quantity(n)) for n in line_nos],
        ),
    )
    assert shipped.status is POStatus.IN_DELIVERY
    assert ledger_rows(db, number) == []

    # 3. The warehouse receives; the worker dies the moment the postings have committed.
    receipt = asyncio.create_task(
        handle.execute_update(
            ReplenishmentWorkflow.record_receipt,
            RecordReceiptInput(
                actor_user_id=world.warehouse_clerk.id,
                shipment_number=shipment,
                lines=[ReceiptLineInput(line_no=n, quantity_received=_quantity(n)) for n in line_nos],
            ),
        )
    )
    posted_at_kill = await _kill_while_posting(db, number, second, receipt)
    assert posted_at_kill == LINES, f"one transaction posts every line ({posted_at_kill} of {LINES})"
    assert _po_status(db, number) is POStatus.CLOSED  # the order's end is in the same transaction

    # 4. Another worker; nobody resends the receipt: the workflow finishes it on its own.
    third = workers.start()
    await third.wait_ready_async()
    await _wait_closed(db, handle, number)
    try:
        result = await asyncio.wait_for(receipt, timeout=30)
    except (RPCError, TimeoutError):
        pass  # the caller may lose the answer; what counts is that the work was done
    except WorkflowUpdateFailedError as exc:  # the handler itself must never fail
        pytest.fail(f"the receipt Update failed: {exc.cause!r}")
    else:
        assert result.status is POStatus.CLOSED

    # Every line posted exactly once, under its key, for what was counted; balances agree.
    rows = ledger_rows(db, number)
    keys = Counter(row.idempotency_key for row in rows)
    assert keys == Counter(f"{handle.id}:receipt:{shipment}:{n}" for n in line_nos), "missing or duplicate"
    assert sorted((row.sku_id, row.delta_on_hand) for row in rows) == sorted(
        (line.sku_id, line.quantity_ordered) for line in order.lines
    )
    assert all(row.location_id == world.warehouse.id for row in rows)
    for line in order.lines:
        assert on_hand(db, world.warehouse.id, line.sku_id) == _quantity(line.line_no)

    # The read model: every line received once, the shipment counted once.
    with Session(db) as s:
        po = get_po(s, number)
        assert po is not None and po.status is POStatus.CLOSED and po.closed_at is not None
        lines = po_lines(s, po)
        assert {n: (line.quantity_received, line.status) for n, line in lines.items()} == {
            n: (_quantity(n), POLineStatus.RECEIVED) for n in line_nos
        }
        received = s.execute(
            select(col(ShipmentLine.quantity_received))
            .join(Shipment, col(Shipment.id) == col(ShipmentLine.shipment_id))
            .where(col(Shipment.number) == shipment)
        ).scalars()
        assert sorted(received) == sorted(_quantity(n) for n in line_nos)
        notified = Counter(
            s.execute(
                select(col(Notification.user_id), col(Notification.message)).where(
                    col(Notification.document_id) == number
                )
            ).all()
        )
    assert all(n == 1 for n in notified.values()), f"a notification was sent twice: {notified}"

    # Each step recorded once on the timeline, in order, crashes or not.
    assert po_actions(db, number) == [
        "created",
        "sent",
        "confirmed",
        "shipment_created",
        "shipment_received",
        "closed",
    ]
    # Three workers, one history: it still replays against the current workflow code.
    await assert_replays(client, handle.id, [ReplenishmentWorkflow, ApprovalWorkflow])
