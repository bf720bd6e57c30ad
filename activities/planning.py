"""Side effects of the planning runs (workflows/planning.py): the reorder review and the transfer
planner each write their run, proposals and alerts in one transaction (supplychain/planning.py),
e-mail after the commit. Safe to retry: the run row is unique per workflow id, and a retry of a run
that committed finds it and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from temporalio import activity

from activities.notifications import email_after_commit
from supplychain import planning
from supplychain.db import session_scope


@dataclass
class PlanningRunActivityInput:
    workflow_id: str
    business_date: date
    started_by_user_id: int | None = None


@dataclass
class PlanningRunActivityResult:
    run_id: int
    proposals: int
    written: bool
    notified: int = 0
    emailed: int = 0


@activity.defn
def run_reorder_review(input: PlanningRunActivityInput) -> PlanningRunActivityResult:
    with session_scope() as session:
        outcome = planning.write_reorder_review(
            session,
            workflow_id=input.workflow_id,
            today=input.business_date,
            started_by_user_id=input.started_by_user_id,
        )
    emailed = email_after_commit(outcome.notification_ids)
    return PlanningRunActivityResult(
        outcome.run_id, outcome.proposals, outcome.written, len(outcome.notification_ids), emailed
    )


@activity.defn
def run_transfer_plan(input: PlanningRunActivityInput) -> PlanningRunActivityResult:
    with session_scope() as session:
        outcome = planning.write_transfer_plan(
            session,
            workflow_id=input.workflow_id,
            today=input.business_date,
            started_by_user_id=input.started_by_user_id,
        )
    return PlanningRunActivityResult(outcome.run_id, outcome.proposals, outcome.written)
