"""Planning runs (DESIGN 4.6): the reorder review and the transfer planner.

Each is a short workflow that a Temporal Schedule starts daily (supplychain/planning_schedules.py:
`planning-reorder-review` at 02:00 and `planning-transfer-plan` at 03:00 China time) and that a
buyer or an admin may start by hand ("run now"):

1. `ReorderReviewWorkflow`: `run_reorder_review` plans every store and warehouse and SKU from its
   stock position, demand and the preferred offer's terms, writes one replenishment proposal per
   supplier and location (the same pair's open proposals of earlier runs superseded) and alerts the
   location's people and the supplier where available stock is at or below the reorder point. A
   buyer then releases each proposal as a purchase order or dismisses it (web/routes/planning.py).
2. `TransferPlanWorkflow`: `run_transfer_plan` proposes minimum-cost transfers from surplus to
   shortage and moves of slow-moving stock to where the SKU sells; HQ releases the lines it wants
   as transfers.

The business date is the China date of the run's start (a scheduled run's scheduled time). The run
is written once per workflow id: a retried activity, or a replayed workflow, writes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    # Passed through: the sandbox's proxy of the time zone is no tzinfo to astimezone.
    from activities.planning import (
        PlanningRunActivityInput,
        PlanningRunActivityResult,
        run_reorder_review,
        run_transfer_plan,
    )
    from workflows.common import business_date

# A run reads the whole network's stock and history: give it time, and retry while the database is away.
RUN_TIMEOUT = timedelta(minutes=10)
RUN_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))

REORDER_REVIEW_ID = "planning-reorder-review"
TRANSFER_PLAN_ID = "planning-transfer-plan"


@dataclass
class PlanningRunInput:
    started_by_user_id: int | None = None  # None: the schedule
    # None: the China date of the run's start. Given by tests, whose time-skipping clock runs ahead.
    business_date: date | None = None


@dataclass
class PlanningRunResult:
    run_id: int
    proposals: int


def manual_run_id(kind_id: str, token: str) -> str:
    """A hand-started run's workflow id: the form's one-time id makes a double submit start one."""
    return f"{kind_id}-manual-{token}"


@workflow.defn
class ReorderReviewWorkflow:
    @workflow.run
    async def run(self, input: PlanningRunInput) -> PlanningRunResult:
        result: PlanningRunActivityResult = await workflow.execute_activity(
            run_reorder_review,
            PlanningRunActivityInput(
                workflow_id=workflow.info().workflow_id,
                business_date=input.business_date or business_date(workflow.now()),
                started_by_user_id=input.started_by_user_id,
            ),
            start_to_close_timeout=RUN_TIMEOUT,
            retry_policy=RUN_RETRY,
        )
        return PlanningRunResult(result.run_id, result.proposals)


@workflow.defn
class TransferPlanWorkflow:
    @workflow.run
    async def run(self, input: PlanningRunInput) -> PlanningRunResult:
        result: PlanningRunActivityResult = await workflow.execute_activity(
            run_transfer_plan,
            PlanningRunActivityInput(
                workflow_id=workflow.info().workflow_id,
                business_date=input.business_date or business_date(workflow.now()),
                started_by_user_id=input.started_by_user_id,
            ),
            start_to_close_timeout=RUN_TIMEOUT,
            retry_policy=RUN_RETRY,
        )
        return PlanningRunResult(result.run_id, result.proposals)
