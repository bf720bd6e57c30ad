"""Admin: a supplier's settlement terms and its statement schedule (issue 12).

`/admin/suppliers/{id}/settlement`: the terms (statement cycle, payment days, due-date mode, price
convention, match tolerances, early-payment discount) and the schedule's state with pause, resume
and "run now". Saving the terms brings the schedule to the cycle (supplychain/statement_schedules.py);
every change lands on the supplier's timeline (document type "settlement_terms").
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from temporalio.client import Client

from supplychain import i18n
from supplychain import statement_schedules as schedules
from supplychain.events import record_event, timeline
from supplychain.i18n import lazy
from supplychain.models import Organisation, OrgKind
from supplychain.models.base import utcnow
from supplychain.models.settlement import DueDateMode, SettlementTerms, StatementCycle
from supplychain.principal import Principal
from supplychain.rules.money import MONEY_PLACES, has_places
from supplychain.settings import settings
from supplychain.statements import terms_for
from web.deps import AdminUser, FieldsDep, OrgScope, RowId, Scope
from web.flash import flash
from web.purchasing import temporal_client
from web.templating import render
from web.workflow_calls import await_on_loop

router = APIRouter()

DOCUMENT_TYPE = "settlement_terms"
CYCLE_LABELS = {
    StatementCycle.MONTHLY: lazy("Monthly"),
    StatementCycle.SEMI_MONTHLY: lazy("Semi-monthly (1st-15th, 16th-end)"),
    StatementCycle.WEEKLY: lazy("Weekly (Monday-Sunday)"),
}
DUE_DATE_LABELS = {
    DueDateMode.CALENDAR_DAYS: lazy("Calendar days (moved to the next working day)"),
    DueDateMode.WORKING_DAYS: lazy("Working days"),
}
UNREACHABLE = lazy("The statement schedule cannot be reached right now. Please try again.")


def _supplier(scope: Scope, supplier_id: int) -> Organisation:
    org = scope.get(Organisation, supplier_id)
    if org.kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=404)
    return org


def _decimal(text: str, *, places: int, low: Decimal, high: Decimal) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or not has_places(value, places) or not low <= value <= high:
        return None
    return value


def _fields(terms: SettlementTerms) -> dict[str, str]:
    return {
        "statement_cycle": terms.statement_cycle.value,
        "payment_days": str(terms.payment_days),
        "due_date_mode": terms.due_date_mode.value,
        "prices_include_tax": "on" if terms.prices_include_tax else "",
        "tolerance_amount": str(terms.tolerance_amount),
        "tolerance_percent": str((terms.tolerance_percent * 100).normalize()),
        "early_payment_percent_per_day": str((terms.early_payment_rate_per_day * 100).normalize()),
    }


def _page(
    request: Request,
    scope: Scope,
    user: Principal,
    org: Organisation,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session = scope.session
    terms = terms_for(session, org.id)  # type: ignore[arg-type]
    history = timeline(session, DOCUMENT_TYPE, org.code)
    status = await_on_loop(session, _describe, request, org.id)  # type: ignore[arg-type]
    ctx = {
        "user": user,
        "org": org,
        "form": form or _fields(terms),
        "errors": errors or {},
        "cycles": CYCLE_LABELS,
        "due_date_modes": DUE_DATE_LABELS,
        "schedule": status,
        "schedule_known": status is not False,
        "timeline": history,
    }
    return render(request, "admin/settlement_terms.html", ctx, status_code=status_code)


async def _describe(request: Request, supplier_id: int) -> schedules.ScheduleStatus | bool | None:
    """The schedule's state; False when Temporal cannot be reached."""
    client = await temporal_client(request)
    if client is None:
        return False
    try:
        return await schedules.describe_schedule(client, supplier_id)
    except Exception:  # the page still shows the terms
        return False


@router.get("/admin/suppliers/{supplier_id}/settlement")
def settlement_terms(request: Request, supplier_id: RowId, user: AdminUser, scope: OrgScope) -> Response:
    return _page(request, scope, user, _supplier(scope, supplier_id))


@router.post("/admin/suppliers/{supplier_id}/settlement")
def save_settlement_terms(
    request: Request, supplier_id: RowId, user: AdminUser, scope: OrgScope, form: FieldsDep
) -> Response:
    org = _supplier(scope, supplier_id)
    errors: dict[str, str] = {}
    try:
        cycle = StatementCycle(form.get("statement_cycle", ""))
    except ValueError:
        errors["statement_cycle"] = i18n.gettext("Choose a statement cycle.")
    try:
        mode = DueDateMode(form.get("due_date_mode", ""))
    except ValueError:
        errors["due_date_mode"] = i18n.gettext("Choose how the due date is counted.")
    days_text = form.get("payment_days", "").strip()
    days = int(days_text) if days_text.isascii() and days_text.isdigit() and len(days_text) <= 3 else 0
    if not 1 <= days <= 365:
        errors["payment_days"] = i18n.gettext("Enter a whole number of days from 1 to 365.")
    tolerance = _decimal(
        form.get("tolerance_amount", ""), places=MONEY_PLACES, low=Decimal(0), high=Decimal(10**9)
    )
    if tolerance is None:
        errors["tolerance_amount"] = i18n.gettext("Enter an amount of 0 or more with at most 2 decimals.")
    percent = _decimal(form.get("tolerance_percent", ""), places=2, low=Decimal(0), high=Decimal(100))
    if percent is None:
        errors["tolerance_percent"] = i18n.gettext(
            "Enter a percentage from 0 to 100 with at most 2 decimals."
        )
    early = _decimal(form.get("early_payment_percent_per_day", ""), places=4, low=Decimal(0), high=Decimal(1))
    if early is None:
        errors["early_payment_percent_per_day"] = i18n.gettext(
            "Enter a percentage per day from 0 to 1 with at most 4 decimals."
        )
    if errors:
        return _page(request, scope, user, org, form=form, errors=errors, status_code=400)
    assert tolerance is not None and percent is not None and early is not None
    session = scope.session
    terms = terms_for(session, org.id)  # type: ignore[arg-type]
    before = _fields(terms)
    terms.statement_cycle, terms.payment_days, terms.due_date_mode = cycle, days, mode
    terms.prices_include_tax = form.get("prices_include_tax") == "on"
    terms.tolerance_amount = tolerance
    terms.tolerance_percent = percent / 100
    terms.early_payment_rate_per_day = early / 100
    terms.updated_at = utcnow()
    session.add(terms)
    after = _fields(terms)
    changed = {key for key in after if after[key] != before[key]}
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=org.code,
        action="updated",
        idempotency_key=f"{DOCUMENT_TYPE}:{org.id}:{uuid.uuid4().hex}",
        actor_user_id=user.user_id,
        before={key: before[key] for key in changed} or None,
        after={key: after[key] for key in changed} or None,
    )
    session.commit()
    paused = terms.schedule_paused
    if await_on_loop(session, _ensure, request, org.id, cycle, paused):  # type: ignore[arg-type]
        flash(session, request, i18n.gettext("The settlement terms were saved and the schedule updated."))
    else:
        flash(session, request, i18n.gettext("The settlement terms were saved; the schedule will follow."))
    return RedirectResponse(f"/admin/suppliers/{org.id}/settlement", status_code=303)


async def _ensure(request: Request, supplier_id: int, cycle: StatementCycle, paused: bool) -> bool:
    client = await temporal_client(request)
    if client is None:
        return False
    await schedules.ensure_schedule(
        client, supplier_id, cycle, task_queue=settings.TEMPORAL_TASK_QUEUE, paused=paused
    )
    return True


async def _schedule_action(
    request: Request, action: str, supplier_id: int, cycle: StatementCycle, paused: bool
) -> bool:
    """Pause, resume or run now; the schedule is created first when the supplier has none."""
    client: Client | None = await temporal_client(request)
    if client is None:
        return False
    await schedules.ensure_schedule(
        client, supplier_id, cycle, task_queue=settings.TEMPORAL_TASK_QUEUE, paused=paused
    )
    if action == "run-now":
        await schedules.run_now(client, supplier_id)
    return True


SCHEDULE_ACTIONS: dict[str, tuple[bool | None, str]] = {
    "pause": (True, lazy("The statement schedule is paused.")),
    "resume": (False, lazy("The statement schedule is running again.")),
    "run-now": (None, lazy("A statement run was started.")),
}


@router.post("/admin/suppliers/{supplier_id}/settlement/schedule/{action}")
def schedule_action(
    request: Request, supplier_id: RowId, action: str, user: AdminUser, scope: OrgScope, form: FieldsDep
) -> Response:
    if action not in SCHEDULE_ACTIONS:
        raise HTTPException(status_code=404)
    org = _supplier(scope, supplier_id)
    session = scope.session
    terms = terms_for(session, org.id)  # type: ignore[arg-type]
    wanted, done = SCHEDULE_ACTIONS[action]
    paused = terms.schedule_paused if wanted is None else wanted
    cycle = terms.statement_cycle
    # Temporal first: when it cannot be reached, nothing is written.
    if not await_on_loop(session, _schedule_action, request, action, org.id, cycle, paused):  # type: ignore[arg-type]
        return _page(
            request, scope, user, org, errors={"schedule": i18n.translate(UNREACHABLE)}, status_code=503
        )
    terms = terms_for(session, org.id)  # type: ignore[arg-type]
    if paused != terms.schedule_paused:
        terms.schedule_paused = paused
        terms.updated_at = utcnow()
        session.add(terms)
        record_event(
            session,
            document_type=DOCUMENT_TYPE,
            document_id=org.code,
            action="schedule_paused" if paused else "schedule_resumed",
            idempotency_key=f"{DOCUMENT_TYPE}:{org.id}:{uuid.uuid4().hex}",
            actor_user_id=user.user_id,
        )
        session.commit()
    flash(session, request, i18n.translate(done))
    return RedirectResponse(f"/admin/suppliers/{org.id}/settlement", status_code=303)
