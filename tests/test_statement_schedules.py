"""Statement schedules (supplychain/statement_schedules.py) on the real dev server: created per
supplier at the start of each period of its cycle (China time), updated, paused, resumed, and
"run now" starting the period's statement once however often it is pressed. (The time-skipping test
server has no schedules: the workflows themselves are tested there, tests/workflows/test_statement.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from supplychain import statement_schedules as schedules
from supplychain import statements
from supplychain.models import Statement
from supplychain.models.settlement import SettlementTerms, StatementCycle
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.rules.statement import last_complete_period
from tests.fixtures.temporal import running_worker
from tests.statement_world import build_world, receive
from workflows.statement import StatementRunResult


async def _next_runs(env: WorkflowEnvironment, supplier_id: int) -> list[datetime]:
    status = await schedules.describe_schedule(env.client, supplier_id)
    assert status is not None
    return [moment.astimezone(BUSINESS_TIMEZONE) for moment in status.next_runs]


async def test_a_schedule_follows_the_cycle_and_pauses_and_resumes(
    dev_server_env: WorkflowEnvironment,
) -> None:
    client = dev_server_env.client
    supplier_id = 900_000 + uuid.uuid4().int % 99_999  # a schedule of its own on the shared server
    try:
        assert await schedules.describe_schedule(client, supplier_id) is None
        await schedules.ensure_schedule(
            client, supplier_id, StatementCycle.MONTHLY, task_queue="q", paused=False
        )
        monthly = await _next_runs(dev_server_env, supplier_id)
        assert monthly and all((m.day, m.hour, m.minute) == (1, 1, 0) for m in monthly)

        await schedules.ensure_schedule(
            client, supplier_id, StatementCycle.SEMI_MONTHLY, task_queue="q", paused=False
        )
        semi = await _next_runs(dev_server_env, supplier_id)
        assert {m.day for m in semi} <= {1, 16} and len(semi) == 3
        await schedules.ensure_schedule(
            client, supplier_id, StatementCycle.WEEKLY, task_queue="q", paused=False
        )
        weekly = await _next_runs(dev_server_env, supplier_id)
        assert all((m.weekday(), m.hour) == (0, 1) for m in weekly)
        assert weekly[1] - weekly[0] == timedelta(days=7)

        await schedules.pause_schedule(client, supplier_id)
        paused = await schedules.describe_schedule(client, supplier_id)
        assert paused is not None and paused.paused
        await schedules.resume_schedule(client, supplier_id)
        resumed = await schedules.describe_schedule(client, supplier_id)
        assert resumed is not None and not resumed.paused
    finally:
        with contextlib.suppress(RPCError):
            await client.get_schedule_handle(schedules.schedule_id(supplier_id)).delete()


async def test_run_now_twice_makes_one_statement_for_the_last_complete_period(
    dev_server_env: WorkflowEnvironment, db: Engine
) -> None:
    client = dev_server_env.client
    task_queue = f"test-{uuid.uuid4()}"
    today = datetime.now(BUSINESS_TIMEZONE).date()
    period = last_complete_period(StatementCycle.MONTHLY, today)
    with Session(db, expire_on_commit=False) as session:
        world = build_world(session)
        receive(session, world, on=period.start + timedelta(days=2), lots=[4])
    workflow_id = statements.statement_workflow_id(world.supplier_id, period)
    async with running_worker(client, task_queue):
        try:
            await schedules.ensure_schedule(
                client, world.supplier_id, StatementCycle.MONTHLY, task_queue=task_queue, paused=True
            )
            await schedules.run_now(client, world.supplier_id)
            await _finished_runs(client, task_queue, 1)
            await asyncio.sleep(1.1)  # a run's id carries its start time to the second
            await schedules.run_now(client, world.supplier_id)
            runs = await _finished_runs(client, task_queue, 2)
            outcomes = sorted(
                [
                    (
                        await client.get_workflow_handle(
                            run.id, run_id=run.run_id, result_type=StatementRunResult
                        ).result()
                    ).outcome
                    for run in runs
                ]
            )
            assert outcomes == ["already_started", "started"]
            with Session(db) as session:
                assert len(session.execute(select(Statement)).scalars().all()) == 1
        finally:
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(schedules.schedule_id(world.supplier_id)).delete()
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id).terminate("test over")


async def _finished_runs(client: Client, task_queue: str, count: int) -> list[WorkflowExecution]:
    query = (
        f'WorkflowType="StatementRunWorkflow" AND TaskQueue="{task_queue}" AND ExecutionStatus="Completed"'
    )
    deadline = time.monotonic() + 30
    while True:
        runs = [execution async for execution in client.list_workflows(query)]
        if len(runs) >= count:
            return runs
        assert time.monotonic() < deadline, f"{len(runs)} of {count} runs finished"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("cycle", list(StatementCycle))
def test_each_cycle_has_one_calendar_at_one_in_the_morning_china_time(cycle: StatementCycle) -> None:
    spec = schedules.schedule_spec(cycle)
    assert spec.time_zone_name == "Asia/Shanghai"
    assert [r.start for r in spec.calendars[0].hour] == [1]


async def test_the_cli_command_puts_every_active_supplier_on_its_cycle(
    dev_server_env: WorkflowEnvironment, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli import app
    from supplychain.settings import settings

    client = dev_server_env.client
    with Session(db, expire_on_commit=False) as session:
        world = build_world(session)
        assert world.other_supplier.id is not None
        session.add(
            SettlementTerms(supplier_id=world.other_supplier.id, statement_cycle=StatementCycle.WEEKLY)
        )
        session.commit()
    monkeypatch.setattr(settings, "TEMPORAL_ADDRESS", str(client.service_client.config.target_host))
    try:
        result = await asyncio.to_thread(CliRunner().invoke, app, ["statement-schedules"])
        assert result.exit_code == 0, result.output
        assert "Statement schedules in place: 2" in result.output
        monthly = await _next_runs(dev_server_env, world.supplier_id)
        weekly = await _next_runs(dev_server_env, world.other_supplier.id)
        assert all(m.day == 1 for m in monthly) and all(m.weekday() == 0 for m in weekly)
    finally:
        for supplier_id in (world.supplier_id, world.other_supplier.id):
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(schedules.schedule_id(supplier_id)).delete()
