"""The planning schedules' admin page (DESIGN 4.6): `/admin/planning` shows each schedule's state and
last runs; pause, resume and run now (supplychain/planning_schedules.py)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from temporalio.client import Client
from temporalio.service import RPCError

from supplychain import i18n, planning
from supplychain import planning_schedules as schedules
from supplychain.i18n import lazy
from supplychain.models import PlanningKind
from supplychain.settings import settings
from web.deps import AdminUser, FieldsDep, OrgScope
from web.flash import flash
from web.purchasing import temporal_client
from web.routes.planning import UNREACHABLE, kind_from_path, labels
from web.templating import render
from web.workflow_calls import await_on_loop

log = logging.getLogger(__name__)
router = APIRouter()


SCHEDULE_ACTIONS = {
    "pause": lazy("The schedule is paused."),
    "resume": lazy("The schedule is running again."),
    "run-now": lazy("A planning run was started; its proposals appear here when it ends."),
}


@router.get("/admin/planning")
def planning_admin(request: Request, user: AdminUser, scope: OrgScope) -> Response:
    session = scope.session
    states = await_on_loop(session, _describe_all, request)  # first: it gives the connection back
    runs = {kind: planning.recent_runs(session, kind, 10) for kind in PlanningKind}
    ctx = {"user": user, "schedules": schedules.SCHEDULES, "states": states, "runs": runs, **labels()}
    return render(request, "admin/planning.html", ctx)


async def _describe_all(request: Request) -> dict[PlanningKind, Any]:
    """kind -> the schedule's state, None when it does not exist, False when Temporal is away."""
    client = await temporal_client(request)
    result: dict[PlanningKind, Any] = {}
    for kind in PlanningKind:
        if client is None:
            result[kind] = False
            continue
        try:
            result[kind] = await schedules.describe(client, kind)
        except Exception:  # the page still shows the runs
            result[kind] = False
    return result


@router.post("/admin/planning/{kind}/{action}")
def planning_schedule_action(
    request: Request, kind: str, action: str, user: AdminUser, scope: OrgScope, form: FieldsDep
) -> Response:
    planning_kind = kind_from_path(kind)
    if action not in SCHEDULE_ACTIONS:
        raise HTTPException(status_code=404)
    session = scope.session
    if await_on_loop(session, _schedule_action, request, planning_kind, action):
        flash(session, request, i18n.translate(SCHEDULE_ACTIONS[action]))
    else:
        flash(session, request, i18n.translate(UNREACHABLE), "error")
    return RedirectResponse("/admin/planning", status_code=303)


async def _schedule_action(request: Request, kind: PlanningKind, action: str) -> bool:
    client: Client | None = await temporal_client(request)
    if client is None:
        return False
    try:
        await schedules.ensure_schedules(client, task_queue=settings.TEMPORAL_TASK_QUEUE)
        if action == "pause":
            await schedules.pause(client, kind)
        elif action == "resume":
            await schedules.resume(client, kind)
        else:
            await schedules.trigger(client, kind)
    except RPCError as exc:
        log.error("Schedule %s %s failed: %r", kind, action, exc)
        return False
    return True
