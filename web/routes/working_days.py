"""The working-day override table (admin): the State Council's official holidays and make-up
workdays (调休) for a year the calendar library does not know yet. Due dates computed from then on
use them (supplychain/rules/due_dates.py: an override wins over both libraries); a year entered in
full goes into CALENDAR_OFFICIAL_YEARS so its due dates are no longer provisional.

- `GET /settlement/working-days`: the overrides, newest first; a form to add or change one day.
- `POST /settlement/working-days`: add or change a day (date, working day or day off, note).
- `POST /settlement/working-days/remove` (field `day`): remove one.

Payments already scheduled keep their due date; the override applies to statements matched after.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import col
from starlette.responses import Response

from supplychain import i18n
from supplychain.i18n import lazy
from supplychain.models import Role
from supplychain.models.settlement import WorkingDayOverride
from supplychain.principal import Principal
from web.deps import FormDep, OrgScope, Scope, require_roles
from web.flash import flash
from web.purchasing import form_text, parse_date
from web.templating import render
from workflows.common import business_date

router = APIRouter()
AdminUser = Annotated[Principal, Depends(require_roles(Role.ADMIN))]

NOTE_MAX_LENGTH = 200
EARLIEST = date(2004, 1, 1)  # the calendar library's first year: before it, nothing is due
LATEST_YEARS_AHEAD = 5
CHOOSE_KIND = lazy("Choose whether the day is a working day or a day off.")
OUT_OF_RANGE = lazy("Enter a day from %(first)s to %(last)s.")
NOTE_TOO_LONG = lazy("The note is too long (%(max)s characters at most).")
SAVED = lazy("%(day)s saved.")
REMOVED = lazy("%(day)s removed.")


def _page(
    request: Request,
    user: Principal,
    scope: Scope,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    rows = scope.session.execute(
        scope.select(WorkingDayOverride).order_by(col(WorkingDayOverride.day).desc())
    ).scalars()
    return render(
        request,
        "settlement/working_days.html",
        {
            "user": user,
            "rows": list(rows),
            "errors": errors or {},
            "typed": typed or {},
            "note_max": NOTE_MAX_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/settlement/working-days")
def working_days(request: Request, user: AdminUser, scope: OrgScope) -> Response:
    return _page(request, user, scope)


@router.post("/settlement/working-days")
def save_working_day(request: Request, user: AdminUser, scope: OrgScope, form: FormDep) -> Response:
    typed = {
        "day": form_text(form, "day", 20),
        "kind": form_text(form, "kind", 20),
        "note": form_text(form, "note", NOTE_MAX_LENGTH + 1),
    }
    errors: dict[str, str] = {}
    day, problem = parse_date(typed["day"])
    last = date(business_date(datetime.now(UTC)).year + LATEST_YEARS_AHEAD, 12, 31)
    if problem:
        errors["day"] = problem
    elif day is not None and not EARLIEST <= day <= last:
        errors["day"] = i18n.gettext(
            OUT_OF_RANGE, first=i18n.format_date(EARLIEST), last=i18n.format_date(last)
        )
    if typed["kind"] not in ("working", "off"):
        errors["kind"] = i18n.gettext(CHOOSE_KIND)
    if len(typed["note"]) > NOTE_MAX_LENGTH:
        errors["note"] = i18n.gettext(
            "The note is too long (%(max)s characters at most).", max=NOTE_MAX_LENGTH
        )
    if errors or day is None:
        return _page(request, user, scope, errors=errors, typed=typed, status_code=400)
    row = scope.session.get(WorkingDayOverride, day) or WorkingDayOverride(day=day, is_working_day=True)
    row.is_working_day = typed["kind"] == "working"
    row.note = typed["note"]
    row.entered_by_user_id = user.user_id
    scope.session.add(row)
    scope.session.commit()
    flash(scope.session, request, i18n.gettext(SAVED, day=i18n.format_date(day)))
    return RedirectResponse("/settlement/working-days", status_code=303)


@router.post("/settlement/working-days/remove")
def remove_working_day(request: Request, user: AdminUser, scope: OrgScope, form: FormDep) -> Response:
    parsed, problem = parse_date(form_text(form, "day", 20))
    row = scope.session.get(WorkingDayOverride, parsed) if parsed is not None and not problem else None
    if row is None:
        raise HTTPException(status_code=404)
    scope.session.delete(row)
    scope.session.commit()
    flash(scope.session, request, i18n.gettext(REMOVED, day=i18n.format_date(row.day)))
    return RedirectResponse("/settlement/working-days", status_code=303)
