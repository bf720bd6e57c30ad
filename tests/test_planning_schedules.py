"""Planning schedules (supplychain/planning_schedules.py) on the real dev server: created at worker
start once however often it runs, left paused across a restart, resumed, and "run now" starting a
review that writes its run. (The time-skipping test server has no schedules: the workflows are
tested there, tests/workflows/test_planning.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import time

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from supplychain import planning_schedules as schedules
from supplychain.models import PlanningKind, PlanningRun
from supplychain.rules.dates import BUSINESS_TIMEZONE
from tests.fixtures.temporal import running_worker

IDS = [s.schedule_id for s in schedules.SCHEDULES]


async def _delete_all(client: Client) -> None:
    for schedule_id in IDS:
        with contextlib.suppress(RPCError):
            await client.get_schedule_handle(schedule_id).delete()


async def _listed(client: Client) -> list[str]:
    found = []
    async for listing in await client.list_schedules():
        if listing.id in IDS:
            found.append(listing.id)
    return sorted(found)


async def test_creating_twice_leaves_one_schedule_each_and_keeps_a_pause(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_server_env.client
    await _delete_all(client)
    try:
        assert await schedules.ensure_schedules(client, task_queue=task_queue) == IDS
        await schedules.pause(client, PlanningKind.REORDER_REVIEW)
        assert await schedules.ensure_schedules(client, task_queue=task_queue) == []
        deadline = time.monotonic() + 10
        while await _listed(client) != sorted(IDS) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)  # the listing is eventually consistent
        assert await _listed(client) == sorted(IDS)
        review = await schedules.describe(client, PlanningKind.REORDER_REVIEW)
        plan = await schedules.describe(client, PlanningKind.TRANSFER_PLAN)
        assert review is not None and plan is not None
        assert review.paused and not plan.paused  # the restart left the admin's pause alone
        # Daily at 02:00 and 03:00 China time.
        assert [t.astimezone(BUSINESS_TIMEZONE).hour for t in review.next_runs] == [2, 2, 2]
        assert [t.astimezone(BUSINESS_TIMEZONE).hour for t in plan.next_runs] == [3, 3, 3]
        await schedules.resume(client, PlanningKind.REORDER_REVIEW)
        resumed = await schedules.describe(client, PlanningKind.REORDER_REVIEW)
        assert resumed is not None and not resumed.paused
    finally:
        await _delete_all(client)


async def test_run_now_starts_a_review_while_paused(
    dev_server_env: WorkflowEnvironment, task_queue: str, db: Engine
) -> None:
    client = dev_server_env.client
    await _delete_all(client)
    try:
        await schedules.ensure_schedules(client, task_queue=task_queue)
        await schedules.pause(client, PlanningKind.REORDER_REVIEW)
        async with running_worker(client, task_queue):
            await schedules.trigger(client, PlanningKind.REORDER_REVIEW)
            deadline = time.monotonic() + 20
            runs: list[PlanningRun] = []
            while time.monotonic() < deadline:
                with Session(db) as session:
                    runs = list(
                        session.execute(
                            select(PlanningRun).where(col(PlanningRun.finished_at).is_not(None))
                        ).scalars()
                    )
                if runs:
                    break
                await asyncio.sleep(0.2)
        [run] = runs
        assert run.kind is PlanningKind.REORDER_REVIEW
        assert run.workflow_id.startswith("planning-reorder-review") and run.started_by_user_id is None
        status = await schedules.describe(client, PlanningKind.REORDER_REVIEW)
        assert status is not None and status.paused and status.recent_runs == 1
    finally:
        await _delete_all(client)
