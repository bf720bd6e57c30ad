"""The Temporal Schedules of the planning runs (DESIGN 4.6): `planning-reorder-review` starts
ReorderReviewWorkflow daily at 02:00 China time, `planning-transfer-plan` TransferPlanWorkflow daily
at 03:00 (after the review, so the planner sees the day's proposals' stock as it is).

Created at worker start (`ensure_schedules`): a schedule that exists already is left as it is, so a
restart never undoes an admin's pause, and creating never fails the worker. Paused, resumed and
triggered from the admin page (/admin/planning); a run by hand from the proposal pages starts the
workflow directly with the person's id (`start_run`), so the run says who asked for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from supplychain.models import PlanningKind
from supplychain.rules.dates import BUSINESS_TIMEZONE
from workflows.planning import (
    REORDER_REVIEW_ID,
    TRANSFER_PLAN_ID,
    PlanningRunInput,
    ReorderReviewWorkflow,
    TransferPlanWorkflow,
    manual_run_id,
)

log = logging.getLogger(__name__)
CATCHUP_WINDOW = timedelta(hours=12)


@dataclass(frozen=True)
class PlanningSchedule:
    kind: PlanningKind
    schedule_id: str
    hour: int  # China time
    workflow: type


SCHEDULES = (
    PlanningSchedule(PlanningKind.REORDER_REVIEW, REORDER_REVIEW_ID, 2, ReorderReviewWorkflow),
    PlanningSchedule(PlanningKind.TRANSFER_PLAN, TRANSFER_PLAN_ID, 3, TransferPlanWorkflow),
)
BY_KIND = {s.kind: s for s in SCHEDULES}


def schedule_for(planning: PlanningSchedule, *, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            planning.workflow.run,  # type: ignore[attr-defined]
            PlanningRunInput(),
            id=planning.schedule_id,  # Temporal appends the scheduled time: each run its own id
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(planning.hour)])],
            time_zone_name=BUSINESS_TIMEZONE.key,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
    )


async def ensure_schedules(client: Client, *, task_queue: str) -> list[str]:
    """Create each planning schedule that does not exist yet; returns the ids created. Never raises
    for one that exists, nor for a server that refuses (logged: the worker runs on without them)."""
    created = []
    for planning in SCHEDULES:
        try:
            await client.create_schedule(planning.schedule_id, schedule_for(planning, task_queue=task_queue))
            created.append(planning.schedule_id)
        except ScheduleAlreadyRunningError:
            pass
        except RPCError as err:
            log.warning("could not create the schedule %s: %s", planning.schedule_id, err)
    return created


async def pause(client: Client, kind: PlanningKind) -> None:
    await client.get_schedule_handle(BY_KIND[kind].schedule_id).pause(note="paused by an admin")


async def resume(client: Client, kind: PlanningKind) -> None:
    await client.get_schedule_handle(BY_KIND[kind].schedule_id).unpause(note="resumed by an admin")


async def trigger(client: Client, kind: PlanningKind) -> None:
    """The schedule's action at once, also while it is paused."""
    await client.get_schedule_handle(BY_KIND[kind].schedule_id).trigger(
        overlap=ScheduleOverlapPolicy.ALLOW_ALL
    )


async def start_run(client: Client, kind: PlanningKind, *, user_id: int, token: str, task_queue: str) -> str:
    """Start a run by hand for `user_id`; the form's one-time `token` makes a double submit start one
    (the second finds the first: WorkflowAlreadyStartedError, which the caller treats as done)."""
    planning = BY_KIND[kind]
    workflow_id = manual_run_id(planning.schedule_id, token)
    await client.start_workflow(
        planning.workflow.run,  # type: ignore[attr-defined]
        PlanningRunInput(started_by_user_id=user_id),
        id=workflow_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    return workflow_id


@dataclass(frozen=True)
class ScheduleStatus:
    paused: bool
    next_runs: list[datetime]
    recent_runs: int


async def describe(client: Client, kind: PlanningKind) -> ScheduleStatus | None:
    """The schedule's state; None when it does not exist (the worker has not started yet)."""
    try:
        description = await client.get_schedule_handle(BY_KIND[kind].schedule_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return ScheduleStatus(
        paused=description.schedule.state.paused,
        next_runs=list(description.info.next_action_times[:3]),
        recent_runs=len(description.info.recent_actions),
    )
