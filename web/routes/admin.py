"""Admin pages: users, organisations, locations, SKUs and supplier prices (admin role only).

The same six routes serve every table, driven by the specs in `web.admin_entities`:
list (search, active/inactive filter, paginated, htmx refreshes only the `results` block), create,
edit, deactivate and reactivate. Every form is a plain POST that redirects after success; bad input
comes back beside its field with status 400 and nothing saved. Rows are never deleted.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.responses import Response

from supplychain import i18n
from supplychain.events import record_event
from supplychain.models import Role
from supplychain.security import new_token
from web.admin_catalogue import PRICES, SKUS
from web.admin_entities import LOCATIONS, ORGANISATIONS, USERS, Change, Entity
from web.admin_forms import display_value, parse_form, raw_input
from web.deps import AdminUser, FormDep, OrgScope, PageNumber, RowId, require_roles
from web.flash import flash
from web.reauth import REAUTH_FIELD, reauthenticate, reauthentication_due
from web.security_events import log_security_event
from web.sessions import session_token
from web.templating import render

ENTITIES: dict[str, Entity] = {e.slug: e for e in (USERS, ORGANISATIONS, LOCATIONS, SKUS, PRICES)}

router = APIRouter(prefix="/admin", dependencies=[Depends(require_roles(Role.ADMIN))])

PER_PAGE = 25
STATUSES = ("all", "active", "inactive")


async def entity_for(entity: str) -> Entity:
    spec = ENTITIES.get(entity)
    if spec is None:
        raise HTTPException(status_code=404)
    return spec


EntityDep = Annotated[Entity, Depends(entity_for)]


@router.get("")
def admin_home(user: AdminUser) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/{entity}")
def list_rows(
    request: Request,
    user: AdminUser,
    scope: OrgScope,
    spec: EntityDep,
    q: str = "",
    status: str = "all",
    page: PageNumber = 1,
) -> Response:
    q = q.strip()[:100]
    status = status if status in STATUSES else "all"
    stmt = scope.select(spec.model)
    if q:
        stmt = spec.search(stmt, q)
    if status != "all":
        stmt = stmt.where(spec.model.is_active.is_(status == "active"))  # type: ignore[attr-defined]
    rows = scope.page(stmt.order_by(*spec.order_by()), page, per_page=PER_PAGE)
    lookups = spec.lookups(scope, rows)
    table = [(row, [column.value(row, lookups) for column in spec.columns]) for row in rows]
    params = "&" + urlencode({"q": q, "status": status})
    return render(
        request,
        "admin/list.html",
        {"spec": spec, "rows": rows, "table": table, "q": q, "status": status, "params": params},
        block="results",
    )


@router.get("/{entity}/new")
def new_form(request: Request, user: AdminUser, scope: OrgScope, spec: EntityDep) -> Response:
    raw = {f.name: display_value(f, None) for f in spec.fields} | spec.initial
    return _form(request, scope, spec, None, raw, {})


@router.post("/{entity}/new")
def create(request: Request, user: AdminUser, scope: OrgScope, spec: EntityDep, form: FormDep) -> Response:
    return _save(request, scope, spec, None, form)


@router.get("/{entity}/{row_id:int}")
def edit_form(request: Request, user: AdminUser, scope: OrgScope, spec: EntityDep, row_id: RowId) -> Response:
    row = scope.get(spec.model, row_id)
    # Ask up front, so a sensitive change goes through in one submit.
    reauth = spec is USERS and getattr(row, "id", None) != user.user_id and reauthentication_due(request)
    return _form(request, scope, spec, row, _current_values(scope, spec, row), {}, reauth=reauth)


@router.post("/{entity}/{row_id:int}")
def update(
    request: Request, user: AdminUser, scope: OrgScope, spec: EntityDep, form: FormDep, row_id: RowId
) -> Response:
    return _save(request, scope, spec, scope.get(spec.model, row_id), form)


@router.post("/{entity}/{row_id:int}/deactivate")
def deactivate(
    request: Request, user: AdminUser, scope: OrgScope, spec: EntityDep, row_id: RowId
) -> Response:
    return _set_active(request, scope, spec, row_id, active=False)


@router.post("/{entity}/{row_id:int}/reactivate")
def reactivate(
    request: Request, user: AdminUser, scope: OrgScope, spec: EntityDep, row_id: RowId
) -> Response:
    return _set_active(request, scope, spec, row_id, active=True)


# --- helpers ----------------------------------------------------------------------------------------


def _current_values(scope: OrgScope, spec: Entity, row: Any) -> dict[str, Any]:
    raw = {f.name: display_value(f, getattr(row, f.name, None)) for f in spec.fields}
    return raw | spec.extra_values(scope.session, row)


def _form(
    request: Request,
    scope: OrgScope,
    spec: Entity,
    row: Any | None,
    raw: dict[str, Any],
    errors: dict[str, str],
    *,
    form_error: str = "",
    reauth: bool = False,
    status_code: int = 200,
) -> Response:
    ctx = {
        "spec": spec,
        "row": row,
        "raw": raw,
        "errors": errors,
        "form_error": form_error,
        "reauth": reauth,
        "options": spec.options(scope, row),
        "action": f"/admin/{spec.slug}/{row.id}" if row is not None else f"/admin/{spec.slug}/new",
    }
    return render(request, "admin/form.html", ctx, status_code=status_code)


def _save(request: Request, scope: OrgScope, spec: Entity, row: Any | None, form: FormData) -> Response:
    session = scope.session
    options = spec.options(scope, row)
    current = _current_values(scope, spec, row) if row is not None else None
    before = _audit_values(scope, spec, row) if row is not None else None
    values, errors = parse_form(spec.fields, form, options, creating=row is None, current=current)
    change = Change(
        session=session,
        admin=scope.principal,
        row=row,
        values=values,
        errors=errors,
        keep_token=session_token(request),
    )
    spec.check(change)
    if errors:
        return _form(request, scope, spec, row, raw_input(spec.fields, form), errors, status_code=400)
    if spec.sensitive(change):
        refusal = reauthenticate(request, session, form.get(REAUTH_FIELD))
        if refusal:
            raw = raw_input(spec.fields, form)
            return _form(
                request, scope, spec, row, raw, {REAUTH_FIELD: refusal}, reauth=True, status_code=400
            )
    saved = spec.apply(change)
    try:
        spec.before_save(change, saved)
        session.add(saved)
        session.flush()
        spec.after_save(change, saved)
        action = "created" if row is None else "updated"
        after = _audit(scope, spec, saved, action, before=before)
        session.commit()
    except IntegrityError:
        # Someone else saved the same code between our check and our write.
        session.rollback()
        if row is not None:
            session.refresh(row)
        message = i18n.gettext(
            "This could not be saved because it clashes with another record. Please check the codes."
        )
        return _form(
            request, scope, spec, row, raw_input(spec.fields, form), {}, form_error=message, status_code=400
        )
    _log_security_events(
        request, spec, saved, action, before, after, password_set=bool(values.get("password"))
    )
    name = spec.name_of(saved)
    if row is None:
        flash(session, request, i18n.gettext("%(name)s has been created.", name=name))
    else:
        flash(session, request, i18n.gettext("%(name)s has been saved.", name=name))
    return RedirectResponse(f"/admin/{spec.slug}", status_code=303)


def _set_active(request: Request, scope: OrgScope, spec: Entity, row_id: int, *, active: bool) -> Response:
    session = scope.session
    row = scope.get(spec.model, row_id)
    name = spec.name_of(row)
    refusal = None if active else spec.refuse_deactivation(row, scope.principal)
    if refusal:
        if spec is USERS:
            log_security_event(request, "user_deactivated", "refused", **_target_user(row))
        flash(session, request, refusal, "error")
        return RedirectResponse(f"/admin/{spec.slug}", status_code=303)
    before = _audit_values(scope, spec, row)
    row.is_active = active
    session.add(row)
    if not active:
        spec.on_deactivate(session, row)
    action = "reactivated" if active else "deactivated"
    after = _audit(scope, spec, row, action, before=before)
    session.commit()
    _log_security_events(request, spec, row, action, before, after)
    if active:
        flash(session, request, i18n.gettext("%(name)s has been reactivated.", name=name))
    else:
        flash(session, request, i18n.gettext("%(name)s has been deactivated.", name=name))
    return RedirectResponse(f"/admin/{spec.slug}", status_code=303)


def _audit_values(scope: OrgScope, spec: Entity, row: Any) -> dict[str, Any]:
    values = _current_values(scope, spec, row)
    values["is_active"] = getattr(row, "is_active", None)
    secret = {f.name for f in spec.fields if f.kind == "password"}
    return {k: v for k, v in values.items() if k not in secret}


def _audit(
    scope: OrgScope, spec: Entity, row: Any, action: str, *, before: dict[str, Any] | None
) -> dict[str, Any]:
    """Master-data changes go into the same audit trail as documents: who, what, when, before/after.
    Returns the values after the change."""
    after = _audit_values(scope, spec, row)
    record_event(
        scope.session,
        document_type=f"admin.{spec.slug}",
        document_id=str(row.id),
        action=action,
        # One admin request is one change: a random key, since nothing retries it.
        idempotency_key=f"admin.{spec.slug}:{row.id}:{action}:{new_token()}",
        actor_user_id=scope.principal.user_id,
        before=before,
        after=after,
    )
    return after


# Changes to who may do what also go to the security log (supplychain.security_log), passwords never.
USER_FIELDS_LOGGED = ("email", "organisation_id", "location_id", "approval_limit", "is_active")
ORGANISATION_FIELDS_LOGGED = ("code", "name", "kind", "is_active")


def _target_user(row: Any) -> dict[str, Any]:
    return {
        "target_user_id": row.id,
        "target_email": row.email,
        "target_organisation_id": row.organisation_id,
    }


def _changes(before: dict[str, Any] | None, after: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """{field: [before, after]} for the fields among `names` that changed."""
    old = before or {}
    return {n: [old.get(n), after.get(n)] for n in names if old.get(n) != after.get(n)}


def _log_security_events(
    request: Request,
    spec: Entity,
    row: Any,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    *,
    password_set: bool = False,
) -> None:
    if spec is ORGANISATIONS:
        changes = _changes(before, after, ORGANISATION_FIELDS_LOGGED)
        if changes:
            log_security_event(
                request,
                "organisation_changed",
                "success",
                action=action,
                target_organisation_id=row.id,
                changes=changes,
            )
        return
    if spec is not USERS:
        return
    target = _target_user(row)
    roles_before, roles_after = sorted((before or {}).get("roles") or []), sorted(after.get("roles") or [])
    if action == "created":
        log_security_event(request, "user_created", "success", roles=roles_after, **target)
        return
    if action == "deactivated":
        log_security_event(request, "user_deactivated", "success", **target)
        return
    if roles_before != roles_after:
        log_security_event(
            request, "roles_changed", "success", before=roles_before, after=roles_after, **target
        )
    changes = _changes(before, after, USER_FIELDS_LOGGED)
    if password_set:
        changes["password"] = ["(set)", "(set)"]  # that it changed, never what to
    if changes:
        log_security_event(request, "user_changed", "success", action=action, changes=changes, **target)
