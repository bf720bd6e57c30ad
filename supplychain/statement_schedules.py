"""The Temporal Schedules that make supplier statements: one per supplier, `statement-schedule-<id>`.

Each fires at 01:00 China time on the first day of a new period of the supplier's cycle (monthly:
the 1st; semi-monthly: the 1st and the 16th; weekly: Mondays) and starts `StatementRunWorkflow`
for the supplier, which works out the period from its time and starts that period's statement
(workflows/statement.py). Overlapping runs are skipped; a missed run (the cluster down) is caught
up within `CATCHUP_WINDOW`.

Created or updated from the supplier's settlement terms (cycle, paused) by the admin page and by
`portal statement-schedules` for every supplier; paused, resumed and triggered ("run now") from the
admin page. The terms' `schedule_paused` mirrors the schedule's state for the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col
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
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from supplychain.models import Organisation, OrgKind
from supplychain.models.settlement import StatementCycle
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.statements import terms_for
from workflows.statement import StatementRunInput, StatementRunWorkflow

RUN_HOUR = 1  # 01:00 China time: the previous period has ended everywhere in the business
CATCHUP_WINDOW = timedelta(days=3)


def schedule_id(supplier_id: int) -> str:
    return f"statement-schedule-{supplier_id}"


def run_workflow_id(supplier_id: int) -> str:
    """The run's id; Temporal appends the scheduled time, so each run has its own."""
    return f"statement-run-{supplier_id}"


def schedule_spec(cycle: StatementCycle) -> ScheduleSpec:
    hour = [ScheduleRange(RUN_HOUR)]
    if cycle is StatementCycle.WEEKLY:
        calendar = ScheduleCalendarSpec(hour=hour, day_of_week=[ScheduleRange(1)])  # Monday
    elif cycle is StatementCycle.SEMI_MONTHLY:
        calendar = ScheduleCalendarSpec(hour=hour, day_of_month=[ScheduleRange(1), ScheduleRange(16)])
    else:
        calendar = ScheduleCalendarSpec(hour=hour, day_of_month=[ScheduleRange(1)])
    return ScheduleSpec(calendars=[calendar], time_zone_name=BUSINESS_TIMEZONE.key)


def statement_schedule(supplier_id: int, cycle: StatementCycle, *, task_queue: str, paused: bool) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            StatementRunWorkflow.run,
            StatementRunInput(supplier_id=supplier_id),
            id=run_workflow_id(supplier_id),
            task_queue=task_queue,
        ),
        spec=schedule_spec(cycle),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(paused=paused, note="paused by an admin" if paused else ""),
    )


async def ensure_schedule(
    client: Client, supplier_id: int, cycle: StatementCycle, *, task_queue: str, paused: bool
) -> None:
    """Create the supplier's schedule, or bring an existing one to this cycle and state."""
    schedule = statement_schedule(supplier_id, cycle, task_queue=task_queue, paused=paused)
    try:
        await client.create_schedule(schedule_id(supplier_id), schedule)
    except ScheduleAlreadyRunningError:

        def updated(_input: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id(supplier_id)).update(updated)


async def pause_schedule(client: Client, supplier_id: int) -> None:
    await client.get_schedule_handle(schedule_id(supplier_id)).pause(note="paused by an admin")


async def resume_schedule(client: Client, supplier_id: int) -> None:
    await client.get_schedule_handle(schedule_id(supplier_id)).unpause(note="resumed by an admin")


async def run_now(client: Client, supplier_id: int) -> None:
    """Start a run at once, also while the schedule is paused (the run works out the period)."""
    await client.get_schedule_handle(schedule_id(supplier_id)).trigger(
        overlap=ScheduleOverlapPolicy.ALLOW_ALL
    )


@dataclass(frozen=True)
class ScheduleStatus:
    paused: bool
    next_runs: list[datetime]
    recent_runs: int


async def describe_schedule(client: Client, supplier_id: int) -> ScheduleStatus | None:
    """The schedule's state for the admin page; None when the supplier has none yet."""
    try:
        description = await client.get_schedule_handle(schedule_id(supplier_id)).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return ScheduleStatus(
        paused=description.schedule.state.paused,
        next_runs=list(description.info.next_action_times[:3]),
        recent_runs=len(description.info.recent_actions),
    )


def supplier_terms(session: Session) -> list[tuple[int, StatementCycle, bool]]:
    """(supplier id, cycle, paused) of every active supplier, from its terms or the defaults."""
    supplier_ids = session.execute(
        select(col(Organisation.id))
        .where(col(Organisation.kind) == OrgKind.SUPPLIER, col(Organisation.is_active).is_(True))
        .order_by(col(Organisation.id))
    ).scalars()
    result = []
    for supplier_id in supplier_ids:
        terms = terms_for(session, supplier_id)
        result.append((supplier_id, terms.statement_cycle, terms.schedule_paused))
    return result


async def ensure_all(
    client: Client, terms: list[tuple[int, StatementCycle, bool]], *, task_queue: str
) -> int:
    """Every supplier's schedule as its terms say; returns how many."""
    for supplier_id, cycle, paused in terms:
        await ensure_schedule(client, supplier_id, cycle, task_queue=task_queue, paused=paused)
    return len(terms)
