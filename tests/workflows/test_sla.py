"""Every process SLA comes from the settings: set away from its default, each reminder and escalation
fires at the configured time, not at the default.

One purchase order is started from the input the catalogue page and the demo orders build
(`supplychain.replenishment.replenishment_input`, which reads the settings) and driven through every
timed step on the time-skipping server: HQ approval (APPROVAL_*), the supplier's confirmation
(PO_CONFIRM_*), and HQ quality's decision on a rejected lot (QUALITY_DECISION_*, passed on from the
PO to its inspection and on to the decision step). The configured hours are all earlier than the
defaults and differ from each other, so a timer running on a default, or on another step's SLA,
fires at the wrong moment and fails the test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.client import WorkflowHandle
    from temporalio.testing import WorkflowEnvironment

    from supplychain import sla
    from supplychain.approvals import request_by_workflow
    from supplychain.models import Organisation, POStatus, Role, User
    from supplychain.models.catalog import InspectionMode
    from supplychain.principal import principal_for
    from supplychain.replenishment import replenishment_input
    from supplychain.rules.ordering import SupplierOffer, split_by_supplier
    from supplychain.settings import settings
    from tests.factories import make_user
    from tests.fixtures.temporal import assert_replays, running_worker, started_timers
    from tests.workflows.inspection_world import (
        REPLAYED,
        decision,
        inspection,
        inspector,  # noqa: F401  (the fixture)
        quality_approver,  # noqa: F401  (the fixture)
        reject,
        set_mode,
        world,  # noqa: F401  (the fixture)
    )
    from tests.workflows.test_replenishment import (
        World,
        _actions,
        _approval_opened,
        _confirm,
        _decide,
        _po,
        _receive,
        _ship,
        _start,
        _today,
        _until,
    )
    from workflows.approval import ApprovalState, ApprovalWorkflow
    from workflows.replenishment import ReplenishmentInput

CONFIGURED_HOURS = {
    "APPROVAL_REMINDER_HOURS": 1.0,
    "APPROVAL_ESCALATION_HOURS": 3.0,
    "PO_CONFIRM_REMINDER_HOURS": 2.0,
    "PO_CONFIRM_ESCALATION_HOURS": 5.0,
    "QUALITY_DECISION_REMINDER_HOURS": 4.0,
    "QUALITY_DECISION_ESCALATION_HOURS": 7.0,
}
# How far before and after its moment a timer is checked: far more than the real time a step takes.
MARGIN = timedelta(minutes=6)


def sla_of(step: str) -> tuple[timedelta, timedelta]:
    """(reminder, escalation) as configured for APPROVAL, PO_CONFIRM or QUALITY_DECISION."""
    return (
        timedelta(hours=CONFIGURED_HOURS[f"{step}_REMINDER_HOURS"]),
        timedelta(hours=CONFIGURED_HOURS[f"{step}_ESCALATION_HOURS"]),
    )


@pytest.fixture
def configured_slas(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CONFIGURED_HOURS.items():
        assert value < getattr(sla, name), f"{name}: a default timer must still be pending when this fires"
        monkeypatch.setattr(settings, name, value)


def _store_order(session: Session, world: World) -> ReplenishmentInput:
    """The world's two-line order (100 x A at 10.00, 50 x B at 20.00) as the catalogue page starts it,
    for a store whose limit (1,000.00) makes it go to HQ approval."""
    offers = [
        SupplierOffer(
            supplier_id=world.supplier_org_id,
            sku_id=sku.id,
            unit_price=price,
            tax_rate=Decimal("0.13"),
            moq=1,
            pack_size=1,
            lead_time_days=3,
        )
        for sku, price in ((world.sku_a, Decimal("10.00")), (world.sku_b, Decimal("20.00")))
    ]
    [planned] = split_by_supplier([(offers[0], 100), (offers[1], 50)])
    store = replace(principal_for(session, world.requester), approval_limit=Decimal("1000"))
    return replenishment_input(f"PO-T-{uuid.uuid4().hex[:10].upper()}", planned, store, world.warehouse)


Probe = Callable[[], Any]  # returns (or awaits to) whether the timer's effect is there


async def _is_true(probe: Probe) -> bool:
    value = probe()
    if asyncio.iscoroutine(value):
        value = await value
    return bool(value)


async def _skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    await env.sleep(max(moment - await env.get_current_time(), timedelta(0)))


async def _fires_at(
    env: WorkflowEnvironment, started: datetime, after: timedelta, fired: Probe, what: str
) -> None:
    """`fired` turns true once `after` has passed since `started`, not before."""
    await _skip_to(env, started + after - MARGIN)
    assert not await _is_true(fired), f"{what} came before {after}"
    await _skip_to(env, started + after + MARGIN)
    await _until(fired, f"{what} after {after}")


async def _approval_state(handle: WorkflowHandle[Any, Any]) -> ApprovalState:
    state: ApprovalState = await handle.query(ApprovalWorkflow.get_state)
    return state


async def _reminded(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await _approval_state(handle)).reminders_sent >= 1


async def _escalated(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await _approval_state(handle)).escalations >= 1


def _request_sla(db: Engine, workflow_id: str) -> tuple[timedelta, timedelta]:
    """The SLA the approval queue shows for a step (its read-model row)."""
    with Session(db) as session:
        row = request_by_workflow(session, workflow_id)
        assert row is not None
        return timedelta(seconds=row.reminder_after_seconds), timedelta(seconds=row.escalation_after_seconds)


async def test_each_sla_setting_fires_its_timers_at_the_configured_time_not_the_default(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
    configured_slas: None,
) -> None:
    env, client = time_skipping_env, time_skipping_env.client
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    hq = session.get(Organisation, world.hq_id)
    assert hq is not None
    make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER])  # a level to escalate to
    input = _store_order(session, world)
    assert input.needs_approval
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)

        # HQ approval: the approver is reminded after 1 h, the next level takes over after 3 h.
        approval = await _approval_opened(client, handle)
        opened = await env.get_current_time()
        remind, escalate = sla_of("APPROVAL")
        await _fires_at(env, opened, remind, lambda: _reminded(approval), "the approval reminder")
        await _fires_at(env, opened, escalate, lambda: _escalated(approval), "the approval escalation")
        assert (await _approval_state(approval)).assignee_user_id == world.approver_high.id
        await approval.execute_update(ApprovalWorkflow.decide, _decide(world, world.approver_high, True))
        await _until(lambda: _po(db, input.number).status is POStatus.SENT, "the PO to be sent")

        # The supplier's confirmation: reminded after 2 h, the buyers told after 5 h.
        sent = await env.get_current_time()
        remind, escalate = sla_of("PO_CONFIRM")
        await _fires_at(
            env,
            sent,
            remind,
            lambda: "confirmation_reminder_sent" in _actions(db, input.number),
            "the supplier's reminder",
        )
        await _fires_at(
            env,
            sent,
            escalate,
            lambda: "confirmation_escalated" in _actions(db, input.number),
            "the escalation to the buyers",
        )

        # A rejected lot of the inspected line: HQ quality is reminded after 4 h, escalated after 7 h.
        today = await _today(env)
        promised = today + timedelta(days=3)
        await _confirm(handle, world, [(1, 100, promised), (2, 50, promised)])
        shipment = await _ship(handle, world, today + timedelta(days=2), [(1, 100), (2, 50)])
        await _receive(handle, world, shipment, [(1, 100), (2, 50)])
        lot = await inspection(client, handle, shipment, 1)
        await reject(lot, inspector)
        quality = await decision(client, lot)
        opened = await env.get_current_time()
        remind, escalate = sla_of("QUALITY_DECISION")
        await _fires_at(env, opened, remind, lambda: _reminded(quality), "the quality decision's reminder")
        await _fires_at(
            env, opened, escalate, lambda: _escalated(quality), "the quality decision's escalation"
        )

    # The timers each run started: the reminder, then the rest of the time to the escalation.
    for run, step in ((approval, "APPROVAL"), (handle, "PO_CONFIRM"), (quality, "QUALITY_DECISION")):
        remind, escalate = sla_of(step)
        assert (await started_timers(client, run.id))[:2] == [remind, escalate - remind], step
    # The approval queue shows each step with its own SLA.
    assert _request_sla(db, approval.id) == sla_of("APPROVAL")
    assert _request_sla(db, quality.id) == sla_of("QUALITY_DECISION")
    for run in (handle, approval, lot, quality):
        await assert_replays(client, run.id, REPLAYED)
