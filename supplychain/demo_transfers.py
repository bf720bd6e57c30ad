"""Demo transfers: one in each state that waits for somebody, so the warehouse, the store manager and
the approver find transfer work on a fresh `portal dev`.

`seed_demo_transfers(client, task_queue)` runs after `portal seed` (the warehouses' opening stock)
and a worker on `task_queue`. Every transfer goes through the real process, never by writing rows:
a TransferWorkflow is started as the transfer page starts one, then driven by the Updates the pages
call, as the people who would click:

- East regional warehouse -> Shanghai store, asked by the store manager: waiting for dispatch (the
  warehouse login's work);
- the same, dispatched: on its way (the store manager counts it in);
- the same, received whole: completed (stock at the store);
- the same, received two units short: the loss waits for HQ approval (the approver's queue);
- South regional warehouse -> East regional warehouse, asked by the warehouse: between regions, so
  it waits for HQ approval.

Idempotent: each demo transfer is known by its note; one that exists is left as it is (people may
have moved it on since).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from temporalio.client import Client, WorkflowHandle

from supplychain import transfers
from supplychain.db import session_scope
from supplychain.models import (
    ApprovalRequest,
    ApprovalStatus,
    Location,
    Sku,
    StockBalance,
    Transfer,
    TransferOrigin,
    TransferStatus,
    User,
)
from supplychain.numbering import reserve_number
from supplychain.seed import EMAIL_DOMAIN, refuse_demo_data_in_production
from supplychain.settings import settings
from workflows.common import BUSINESS_TIMEZONE, business_date
from workflows.transfer import (
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

log = logging.getLogger(__name__)
QUANTITY = 6
SHORT = 2
STEP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DemoTransfer:
    note: str
    source: str
    destination: str
    requester: str  # e-mail local part of the demo login that asks
    target: TransferStatus


DEMO_TRANSFERS: tuple[DemoTransfer, ...] = (
    DemoTransfer("演示调拨 (demo): 等待发运", "RW-HZ", "ST-SH01", "store", TransferStatus.RESERVED),
    DemoTransfer("演示调拨 (demo): 在途", "RW-HZ", "ST-SH01", "store", TransferStatus.IN_TRANSIT),
    DemoTransfer("演示调拨 (demo): 已完成", "RW-HZ", "ST-SH01", "store", TransferStatus.COMPLETED),
    DemoTransfer("演示调拨 (demo): 损耗待审批", "RW-HZ", "ST-SH01", "store", TransferStatus.LOSS_PENDING),
    DemoTransfer(
        "演示调拨 (demo): 跨区待审批", "RW-GZ", "RW-HZ", "warehouse", TransferStatus.PENDING_APPROVAL
    ),
)


class DemoTransfersError(Exception):
    """The demo transfers could not be made (missing demo data, a step that did not take effect)."""


async def seed_demo_transfers(client: Client, task_queue: str) -> list[str]:
    """Start the demo transfers that do not exist yet and drive each to its state; returns the new
    numbers. DemoDataRefused in production, before anything is started."""
    refuse_demo_data_in_production()
    created: list[str] = []
    for index, demo in enumerate(DEMO_TRANSFERS):
        if _existing(demo) is not None:
            continue
        start = _input(demo, index)
        handle = await client.start_workflow(
            TransferWorkflow.run, start, id=transfer_workflow_id(start.number), task_queue=task_queue
        )
        await handle.execute_update(TransferWorkflow.wait_recorded, WaitRecordedInput())
        await _drive(handle, demo)
        created.append(start.number)
    if created:
        log.info("Demo transfers created: %s", ", ".join(created))
    return created


def _existing(demo: DemoTransfer) -> str | None:
    with session_scope() as session:
        number: str | None = session.execute(
            select(col(Transfer.number)).where(col(Transfer.note) == demo.note)
        ).scalar_one_or_none()
        return number


def _input(demo: DemoTransfer, index: int) -> TransferInput:
    """The transfer as the page would start it: an SKU the source has plenty of (one per demo, so
    the demos do not compete for the same units)."""
    with session_scope() as session:
        places = {
            loc.code: loc
            for loc in session.execute(
                select(Location).where(col(Location.code).in_([demo.source, demo.destination]))
            ).scalars()
        }
        requester = session.execute(
            select(User).where(col(User.email) == f"{demo.requester}@{EMAIL_DOMAIN}")
        ).scalar_one_or_none()
        if len(places) != 2 or requester is None or requester.id is None:
            raise DemoTransfersError("the demo locations or logins are missing: run `portal seed` first")
        source, destination = places[demo.source], places[demo.destination]
        assert source.id is not None and destination.id is not None
        stocked = list(
            session.execute(
                select(StockBalance)
                .join(Sku, col(Sku.id) == col(StockBalance.sku_id))
                .where(col(StockBalance.location_id) == source.id, col(Sku.is_active).is_(True))
                .order_by(col(Sku.code))
            ).scalars()
        )
        plenty = [b for b in stocked if b.available >= 5 * QUANTITY]
        if not plenty:
            raise DemoTransfersError(f"{demo.source} holds no stock: run `portal seed` first")
        sku_id = plenty[index % len(plenty)].sku_id
        number = reserve_number(session, transfers.NUMBER_PREFIX, datetime.now(BUSINESS_TIMEZONE).year)
        return TransferInput(
            number=number,
            origin=TransferOrigin.REQUESTED,
            source_location_id=source.id,
            destination_location_id=destination.id,
            requested_by_user_id=requester.id,
            needs_approval=transfers.needs_approval(session, source.id, destination.id),
            lines=[TransferLineInput(1, sku_id, QUANTITY)],
            note=demo.note,
            dispatch_reminder_after=timedelta(hours=settings.TRANSFER_DISPATCH_REMINDER_HOURS),
            dispatch_escalation_after=timedelta(hours=settings.TRANSFER_DISPATCH_ESCALATION_HOURS),
        )


async def _drive(handle: WorkflowHandle[Any, Any], demo: DemoTransfer) -> None:
    """Drive the transfer to its target as the warehouse and the store would; a target that waits for
    HQ returns once the approver has it in the queue."""
    if demo.target is TransferStatus.PENDING_APPROVAL:
        await _in_the_approvers_queue(handle)
        return
    await _reach(handle, TransferStatus.RESERVED)
    if demo.target is TransferStatus.RESERVED:
        return
    await handle.execute_update(
        TransferWorkflow.dispatch_transfer,
        DispatchTransferInput(
            actor_user_id=_user_id("warehouse"),
            carrier="顺丰速运",
            tracking_number="SF0000DEMO",
            expected_arrival=business_date(datetime.now(BUSINESS_TIMEZONE)) + timedelta(days=2),
        ),
    )
    if demo.target is TransferStatus.IN_TRANSIT:
        return
    good = QUANTITY - SHORT if demo.target is TransferStatus.LOSS_PENDING else QUANTITY
    await handle.execute_update(
        TransferWorkflow.receive_transfer,
        ReceiveTransferInput(actor_user_id=_user_id("store"), lines=[ReceivedLine(1, good)]),
    )
    if demo.target is TransferStatus.LOSS_PENDING:
        await _in_the_approvers_queue(handle)


async def _in_the_approvers_queue(handle: WorkflowHandle[Any, Any]) -> None:
    number = handle.id.upper()

    async def pending() -> bool:
        with session_scope() as session:
            row = session.execute(
                select(col(ApprovalRequest.id)).where(
                    col(ApprovalRequest.document_id) == number,
                    col(ApprovalRequest.status) == ApprovalStatus.PENDING,
                )
            ).first()
        return row is not None

    await _until(pending, f"{number}'s approval did not reach the approver")


async def _reach(handle: WorkflowHandle[Any, Any], status: TransferStatus) -> None:
    async def there() -> bool:
        state: TransferState = await handle.query(TransferWorkflow.get_state)
        if state.status.is_final and state.status is not status:
            raise DemoTransfersError(f"{state.number} is {state.status}, not {status}")
        return state.status is status

    await _until(there, f"{handle.id.upper()} did not become {status}")


async def _until(check: Callable[[], Awaitable[bool]], failure: str) -> None:
    """Poll `check` until it holds; DemoTransfersError(`failure`) after STEP_TIMEOUT_S."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not await check():
        if time.monotonic() > deadline:
            raise DemoTransfersError(failure)
        await asyncio.sleep(0.1)


def _user_id(local_part: str) -> int:
    with session_scope() as session:
        user_id = session.execute(
            select(col(User.id)).where(col(User.email) == f"{local_part}@{EMAIL_DOMAIN}")
        ).scalar_one()
        return int(user_id)
