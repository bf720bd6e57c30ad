"""ReorderReviewWorkflow and TransferPlanWorkflow on the time-skipping server with the real
activities and database (tests/planning_world.py's network): each run writes its proposals once,
a second run supersedes the first's, and the recorded histories replay."""

from __future__ import annotations

import datetime as dt
import uuid

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from supplychain.models import (
        MovementType,
        PlanningKind,
        PlanningRun,
        ProposalStatus,
        ReplenishmentProposal,
        TransferProposalLine,
    )
    from supplychain.rules.stock import StockDelta
    from supplychain.settings import settings
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.planning_world import HISTORY_DAYS, PlanningWorld, build_planning_world, noon, post
    from workflows.common import business_date
    from workflows.planning import (
        PlanningRunInput,
        PlanningRunResult,
        ReorderReviewWorkflow,
        TransferPlanWorkflow,
    )

WORKFLOWS = [ReorderReviewWorkflow, TransferPlanWorkflow]


def today() -> dt.date:
    return business_date(dt.datetime.now(dt.UTC))


@pytest.fixture
def world(db: Engine, monkeypatch: pytest.MonkeyPatch) -> PlanningWorld:
    monkeypatch.setattr(settings, "PLANNING_HISTORY_DAYS", HISTORY_DAYS)
    monkeypatch.setattr(settings, "PLANNING_REVIEW_DAYS", 7)
    with Session(db, expire_on_commit=False) as session:
        world = build_planning_world(session, today())
        post(
            session,
            world.warehouse,
            world.sku_x,
            MovementType.RECEIPT,
            StockDelta(on_hand=30),
            noon(today() - dt.timedelta(days=1)),
        )
        return world


async def run_review(
    client: Client, task_queue: str, started_by: int | None = None
) -> tuple[str, PlanningRunResult]:
    workflow_id = f"planning-reorder-review-test-{uuid.uuid4().hex}"
    result = await client.execute_workflow(
        ReorderReviewWorkflow.run,
        PlanningRunInput(started_by, today()),
        id=workflow_id,
        task_queue=task_queue,
    )
    return workflow_id, result


async def test_reorder_review_proposes_once_per_run_and_a_later_run_supersedes(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: PlanningWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        first_id, first = await run_review(client, task_queue, world.buyer.id)
        second_id, second = await run_review(client, task_queue)
    assert first.proposals == second.proposals == 1
    with Session(db) as session:
        runs = list(session.execute(select(PlanningRun).order_by(col(PlanningRun.id))).scalars())
        assert [(r.workflow_id, r.kind, r.started_by_user_id) for r in runs] == [
            (first_id, PlanningKind.REORDER_REVIEW, world.buyer.id),
            (second_id, PlanningKind.REORDER_REVIEW, None),
        ]
        proposals = list(
            session.execute(select(ReplenishmentProposal).order_by(col(ReplenishmentProposal.id))).scalars()
        )
        assert [(p.planning_run_id, p.status) for p in proposals] == [
            (first.run_id, ProposalStatus.SUPERSEDED),
            (second.run_id, ProposalStatus.PROPOSED),
        ]
    for workflow_id in (first_id, second_id):
        await assert_replays(client, workflow_id, WORKFLOWS)


async def test_transfer_plan_writes_its_lines(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: PlanningWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    workflow_id = f"planning-transfer-plan-test-{uuid.uuid4().hex}"
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            TransferPlanWorkflow.run, PlanningRunInput(None, today()), id=workflow_id, task_queue=task_queue
        )
    assert result.proposals == 1
    with Session(db) as session:
        [line] = session.execute(select(TransferProposalLine)).scalars()
        assert (line.source_location_id, line.destination_location_id, line.quantity) == (
            world.warehouse.id,
            world.store_a.id,
            15,
        )
        assert line.planning_run_id == result.run_id
    await assert_replays(client, workflow_id, WORKFLOWS)
