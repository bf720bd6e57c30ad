"""Both paths of ReplenishmentWorkflow write the same purchase order, timeline and notifications.

A PO started before `NAMED_STEPS_PATCH` keeps the generic activities to its end; one started after
it calls one named activity per step. Each story here runs twice at once on the time-skipping
server: once on a worker that leaves the patch inactive (`patch_activation_callback`: what a PO
running at the deployment does) and once on the production worker. Driven click for click, the two
POs end with the same rows (events with their before/after, notifications with their parameters,
stock), their histories differ only in the activities they called, and each replays.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import PatchActivationInput, Worker

    from activities import ACTIVITIES
    from supplychain.models import DocumentEvent, Notification, POStatus, StockLedgerEntry
    from tests.fixtures.temporal import assert_replays, new_task_queue, running_worker
    from tests.workflows.history_scenarios import activity_types, patch_markers
    from tests.workflows.test_histories import GENERIC
    from tests.workflows.test_replenishment import (
        Handle,
        World,
        _actions,
        _confirm,
        _input,
        _receive,
        _ship,
        _short_close,
        _start,
        _today,
        _until,
        world,  # noqa: F401  (the fixture)
    )
    from worker import MAX_CONCURRENT_ACTIVITIES
    from workflows.registry import WORKFLOWS
    from workflows.replenishment import NAMED_STEPS_PATCH, CancelPOInput, RejectPOInput, ReplenishmentWorkflow


@dataclass
class Pair:
    """Two POs driven as one: each click goes to the old-path PO, then to the new-path one (the
    answers must match; a shipment number gets an `O` for the old one, numbers being unique), and
    a sleep skips time for both. Stands in for the environment and the handle in the helpers of
    test_replenishment."""

    env: WorkflowEnvironment
    world: World
    db: Engine
    old: Handle
    new: Handle
    numbers: tuple[str, str]

    @property
    def client(self) -> Client:
        return self.env.client

    async def execute_update(self, update: Any, arg: Any) -> Any:
        shipment = getattr(arg, "shipment_number", None)
        old_arg = replace(arg, shipment_number=shipment.replace("SHP-T-", "SHP-O-")) if shipment else arg
        first = await self.old.execute_update(update, old_arg)
        second = await self.new.execute_update(update, arg)
        if getattr(first, "shipment_number", None):  # an ASN answers with its own shipment's number
            first = replace(first, shipment_number=arg.shipment_number)
        assert first == second
        return second

    async def sleep(self, duration: timedelta) -> None:
        await self.env.sleep(duration)

    async def get_current_time(self) -> datetime:
        return await self.env.get_current_time()

    async def until(self, action: str) -> None:
        """Both POs have recorded `action` (a timer's step runs on its own)."""
        for number in self.numbers:
            await _until(partial(_recorded, self.db, number, action), f"{action} on {number}")


Story = Callable[[Pair], Awaitable[None]]


def _recorded(db: Engine, number: str, action: str) -> bool:
    return action in _actions(db, number)


@asynccontextmanager
async def _worker_before_the_patch(client: Client, task_queue: str) -> AsyncIterator[Worker]:
    """The production worker, except that a new run takes the path of a PO started before the patch."""

    def activate(input: PatchActivationInput) -> bool:
        return input.patch_id != NAMED_STEPS_PATCH

    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES, thread_name_prefix="test-activity") as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=ACTIVITIES,
            activity_executor=executor,
            patch_activation_callback=activate,
        ) as worker:
            yield worker


async def _backorder(pair: Pair) -> None:
    """Confirmed short, delivered, confirmed again, delivered again, short-closed: CLOSED."""
    world, today = pair.world, await _today(pair)
    await _confirm(pair, world, [(1, 60, today + timedelta(days=5)), (2, 50, today + timedelta(days=5))])
    first = await _ship(pair, world, today + timedelta(days=1), [(1, 60), (2, 50)])
    assert await _receive(pair, world, first, [(1, 60), (2, 50)]) is POStatus.IN_DELIVERY
    await _confirm(pair, world, [(1, 80, today + timedelta(days=9))])
    second = await _ship(pair, world, today + timedelta(days=2), [(1, 20)])
    assert await _receive(pair, world, second, [(1, 20)]) is POStatus.IN_DELIVERY
    assert await _short_close(pair, world, 1) is POStatus.CLOSED


async def _slas_then_cancelled(pair: Pair) -> None:
    """Reminded, escalated, confirmed, a line overdue, cancelled by the buyer."""
    await pair.sleep(timedelta(hours=25))
    await pair.until("confirmation_reminder_sent")
    await pair.sleep(timedelta(hours=24))
    await pair.until("confirmation_escalated")
    today = await _today(pair)
    await _confirm(pair, pair.world, [(1, 100, today), (2, 50, today + timedelta(days=10))])
    await pair.sleep(timedelta(days=2))
    await pair.until("line_overdue")
    cancel = CancelPOInput(actor_user_id=pair.world.buyer.id, reason="Test over")
    assert (await pair.execute_update(ReplenishmentWorkflow.cancel_po, cancel)).status is POStatus.CANCELLED


async def _rejected(pair: Pair) -> None:
    reject = RejectPOInput(actor_user_id=pair.world.supplier.id, reason="Discontinued")
    result = await pair.execute_update(ReplenishmentWorkflow.reject_po, reject)
    assert result.status is POStatus.SUPPLIER_REJECTED


async def _nothing_supplied(pair: Pair) -> None:
    """Every line confirmed 0: the PO ends cancelled with the confirmation."""
    assert await _confirm(pair, pair.world, [(1, 0, None), (2, 0, None)]) is POStatus.CANCELLED


@pytest.mark.parametrize("story", [_backorder, _slas_then_cancelled, _rejected, _nothing_supplied])
async def test_both_paths_write_the_same_rows(
    story: Story, time_skipping_env: WorkflowEnvironment, world: World, db: Engine
) -> None:
    client = time_skipping_env.client
    before, after = new_task_queue(), new_task_queue()
    async with _worker_before_the_patch(client, before), running_worker(client, after):
        inputs = [_input(world), _input(world)]
        old, new = [
            await _start(client, queue, input) for queue, input in zip((before, after), inputs, strict=True)
        ]
        numbers = (inputs[0].number, inputs[1].number)
        await story(Pair(time_skipping_env, world, db, old, new, numbers))
        results = [await old.result(), await new.result()]
    assert results[0].status is results[1].status
    old_rows, new_rows = _rows(db, numbers[0]), _rows(db, numbers[1])
    assert old_rows == new_rows
    assert old_rows["events"] and old_rows["notifications"]

    old_history, new_history = await old.fetch_history(), await new.fetch_history()
    assert NAMED_STEPS_PATCH not in patch_markers(old_history)
    assert "update_purchase_order" in activity_types(old_history)
    assert NAMED_STEPS_PATCH in patch_markers(new_history)
    assert GENERIC.isdisjoint(activity_types(new_history))
    assert len(activity_types(new_history)) < len(activity_types(old_history))
    for handle in (old, new):
        await assert_replays(client, handle.id, WORKFLOWS)


_SHIPMENT = re.compile(r"SHP-[OT]-[0-9A-F]{10}")
_TRACKING = re.compile(r"SF\d{12}")


def _rows(db: Engine, number: str) -> dict[str, Any]:
    """What the PO wrote, without what differs by design: its number, shipment and tracking numbers
    (random per click), keys and times."""
    with Session(db) as session:
        events = session.execute(
            select(DocumentEvent)
            .where(col(DocumentEvent.document_id) == number)
            .order_by(col(DocumentEvent.id))
        ).scalars()
        notifications = session.execute(
            select(Notification).where(col(Notification.document_id) == number).order_by(col(Notification.id))
        ).scalars()
        stock = session.execute(
            select(StockLedgerEntry)
            .where(col(StockLedgerEntry.source_document_id) == number)
            .order_by(col(StockLedgerEntry.id))
        ).scalars()
        rows = {
            "events": [(e.action, e.actor_user_id, e.before, e.after, e.note) for e in events],
            "notifications": [(n.user_id, n.message, n.params, n.link) for n in notifications],
            "stock": [(s.sku_id, s.movement_type, s.delta_on_hand, s.delta_quarantine) for s in stock],
        }
    text = json.dumps(rows, default=str).replace(number, "<po>")
    return dict(json.loads(_TRACKING.sub("<tracking>", _SHIPMENT.sub("<shipment>", text))))
