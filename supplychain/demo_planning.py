"""Demo planning: the stores' sales history, then one reorder review and one transfer planner run, so
reorder points, suggestions, proposals and a planner proposal exist on a fresh `portal dev` (the
schedules' first runs are at 02:00 and 03:00 China time).

`seed_demo_planning(client, task_queue)` posts the sales history (`supplychain.demo_sales`) and
starts `ReorderReviewWorkflow` and `TransferPlanWorkflow` as "run now" does, each under a fixed
workflow id for the day (`planning-demo-<kind>-<date>`), and waits for their results. Safe to
repeat: the history is posted once, and a run already made today is not made again.
"""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from supplychain.db import session_scope
from supplychain.demo_sales import seed_demo_sales
from supplychain.replenishment import business_today
from supplychain.seed import refuse_demo_data_in_production
from workflows.planning import (
    REORDER_REVIEW_ID,
    TRANSFER_PLAN_ID,
    PlanningRunInput,
    PlanningRunResult,
    ReorderReviewWorkflow,
    TransferPlanWorkflow,
)

log = logging.getLogger(__name__)


async def seed_demo_planning(client: Client, task_queue: str) -> dict[str, int]:
    """Post the sales history and run the review and the planner for today; returns the proposals
    each run made (an empty dict when today's runs were made already)."""
    refuse_demo_data_in_production()
    today = business_today()
    with session_scope() as session:
        seed_demo_sales(session, today)
    made: dict[str, int] = {}
    for kind_id, run in (
        (REORDER_REVIEW_ID, ReorderReviewWorkflow.run),
        (TRANSFER_PLAN_ID, TransferPlanWorkflow.run),
    ):
        workflow_id = f"planning-demo-{kind_id.removeprefix('planning-')}-{today.isoformat()}"
        try:
            handle = await client.start_workflow(
                run,  # either workflow's run: the same input and result
                PlanningRunInput(),
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            continue
        result: PlanningRunResult = await handle.result()
        made[kind_id] = result.proposals
    if made:
        log.info("Demo planning runs: %s", made)
    return made
