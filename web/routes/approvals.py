"""The HQ approval queue and out-of-office delegations (roles approver and quality approver).

- `/approvals`: what this user may decide (assigned to them, or to someone who delegated to them
  today), oldest first, with filters; approve or reject inline (htmx swaps the row) or as a plain
  POST with redirect; bulk approve of the selected rows. `?tab=history` lists what they decided.
  A step with choices (a rejected lot: concession, sorting or return to vendor) is decided by
  picking one option (a concession with its price deduction); bulk approve skips such steps.
- `/approvals/delegations`: the delegations they gave or received; create one, end one. A delegate
  is an active colleague of the same organisation holding one of the user's deciding roles, and a
  delegation covers only the steps of a role the delegate holds (supplychain.approvals).

Routes only authorize (the user is the assignee or their delegate today, otherwise 404), parse the
form (a concession's deduction is checked here first: 400, nothing asked) and call the approval
workflow's `decide` Update; the workflow's validator decides whether the decision is allowed and its
message is shown as it is. A refused decision answers as a refusal: the row with the reason (htmx),
or the queue with the reason above it and status 400 (plain POST); only a decision taken redirects
with a success flash. Bulk approve reports each refused row as "not approved" with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.responses import Response
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from supplychain import approvals, i18n
from supplychain.i18n import lazy
from supplychain.models import ApprovalDelegation, ApprovalRequest, ApprovalStatus, Role
from supplychain.models.base import utcnow
from supplychain.principal import Principal
from supplychain.rules.decisions import (
    CONCESSION,
    DEDUCTION_PERCENT,
    DEDUCTION_RANGE,
    DEDUCTION_REQUIRED,
    RETURN_TO_VENDOR,
    SORTING,
    deduction_percent,
)
from supplychain.rules.money import MONEY_PLACES, has_places
from web.deps import (
    FormDep,
    OrgScope,
    PageNumber,
    RowId,
    Scope,
    TemporalClientDep,
    paginate,
    parse_row_id,
    require_roles,
)
from web.flash import flash
from web.form_ids import submitted_form_id, update_id
from web.purchasing import repeated_form_result
from web.templating import is_htmx, render
from web.workflow_calls import await_on_loop
from web.workflow_errors import rejection_message
from workflows.approval import ALREADY_DECIDED, CANCELLED, ApprovalWorkflow, DecideInput
from workflows.common import business_date

router = APIRouter(prefix="/approvals")
# The queue and delegations are for everyone an approval step can be assigned to; a delegation is
# between holders of the same deciding role.
Decider = Annotated[Principal, Depends(require_roles(*approvals.DECIDING_ROLES))]

PER_PAGE = 25  # oldest first
BULK_MAX = 100
DEDUCTION_MAX_LENGTH = 20
AMOUNT_FILTER_MAX = Decimal(10) ** 16

# The filter offers every document type an approval step is opened for; the shared labels win.
DOCUMENT_TYPES: dict[str, str] = {
    "inspection": lazy("Inspection decision"),
    **approvals.DOCUMENT_TYPE_LABELS,
}

# What each option of a step with choices is called in the queue.
CHOICE_LABELS: dict[str, str] = {
    CONCESSION: lazy("Concession (accept with a price deduction)"),
    SORTING: lazy("Sorting (every unit inspected, the good ones accepted)"),
    RETURN_TO_VENDOR: lazy("Return to vendor"),
}


@dataclass
class QueueRow:
    """One approval as the queue shows it."""

    request: ApprovalRequest
    requester_name: str
    assignee_name: str
    acting_for_name: str | None  # set when the user decides as someone's delegate
    sla: approvals.SlaState
    age: str
    error: str = ""
    notice: str = ""
    # What the user entered in a step with choices, shown again beside a refusal.
    entered: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.request.id or 0

    @property
    def decided(self) -> bool:
        return self.request.status is not ApprovalStatus.PENDING

    @property
    def has_choices(self) -> bool:
        return bool(self.request.choices)

    @property
    def options(self) -> list[tuple[str, str]]:
        """The step's choices as (value, label), in the order the step offers them."""
        return [(value, choice_label(value)) for value in _split(self.request.choices)]

    @property
    def chosen(self) -> str:
        return choice_label(self.request.choice) if self.request.choice else ""

    @property
    def chosen_details(self) -> list[str]:
        """The chosen option's details as lines to show (a concession: its price deduction)."""
        try:
            details = json.loads(self.request.choice_details) if self.request.choice_details else {}
        except ValueError:
            return []
        if not isinstance(details, dict):
            return []
        lines = []
        for key, value in sorted(details.items()):
            deduction = deduction_percent({key: str(value)}) if key == DEDUCTION_PERCENT else None
            if deduction is not None:
                percent = i18n.format_percent(deduction / 100)
                lines.append(i18n.gettext("Price deduction: %(percent)s", percent=percent))
            else:
                lines.append(f"{key}: {value}")
        return lines


@dataclass
class Filters:
    document_type: str = ""
    delegated: bool = False
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    raw_min: str = ""
    raw_max: str = ""


def choice_label(value: str) -> str:
    label = CHOICE_LABELS.get(value)
    return i18n.gettext(label) if label else value


def pending_count(scope: Scope) -> int:
    """For the approver's home card: how many approvals this user may decide now."""
    stmt = scope.select(ApprovalRequest).where(approvals.waiting_for(scope.principal.user_id))
    counted = select(func.count()).select_from(stmt.subquery())
    return int(scope.session.execute(counted).scalar_one())


def today() -> date:
    return business_date(utcnow())


# -- the queue ------------------------------------------------------------------------------------


@router.get("")
def queue(
    request: Request,
    scope: OrgScope,
    user: Decider,
    tab: str = "pending",
    document_type: str = "",
    delegated: str = "",
    min_amount: str = "",
    max_amount: str = "",
    page: PageNumber = 1,
) -> Response:
    filters, errors = _filters(document_type, delegated, min_amount, max_amount)
    return _queue_page(request, scope, filters, errors, history=tab == "history", page=page)


@router.post("/{approval_id:int}/decide")
def decide(
    request: Request,
    approval_id: RowId,
    scope: OrgScope,
    user: Decider,
    temporal: TemporalClientDep,
    form: FormDep,
) -> Response:
    session = scope.session
    decision = str(form.get("decision", ""))
    if decision not in ("approve", "reject", "choose"):
        raise HTTPException(status_code=400)
    comment = str(form.get(f"comment-{approval_id}") or form.get("comment") or "")
    row = scope.get(ApprovalRequest, approval_id)
    choice = ""
    details: dict[str, str] = {}
    entered: dict[str, str] = {}
    if decision == "choose":
        if not row.choices:
            raise HTTPException(status_code=400)
        choice = str(form.get(f"choice-{approval_id}") or form.get("choice") or "").strip()
        raw_deduction = str(form.get(f"deduction-{approval_id}") or form.get(DEDUCTION_PERCENT) or "")
        entered = {"choice": choice, "deduction": raw_deduction[:DEDUCTION_MAX_LENGTH], "comment": comment}
        if choice == CONCESSION:
            problem = _deduction_problem(raw_deduction)
            if problem:
                return _refused(request, scope, row, problem, entered)
            details = {DEDUCTION_PERCENT: _percent_text(raw_deduction)}
    error = _decide(
        request,
        session,
        temporal,
        user,
        row,
        approve=decision != "reject",
        comment=comment,
        choice=choice,
        details=details,
        form_id=submitted_form_id(form),
    )
    session.refresh(row)
    if error:
        # Refused: never a success answer (no 303, no success flash), the reason beside the row.
        return _refused(request, scope, row, error, entered)
    if is_htmx(request):
        view = _views(session, user, [row])[0]
        view.notice = _done_message(row)
        return _row(request, view)
    flash(session, request, _done_message(row))
    return RedirectResponse("/approvals", status_code=303)


@router.post("/bulk-approve")
def bulk_approve(
    request: Request, scope: OrgScope, user: Decider, temporal: TemporalClientDep, form: FormDep
) -> Response:
    session = scope.session
    ids = [row_id for value in form.getlist("ids") if (row_id := parse_row_id(value)) is not None]
    ids = list(dict.fromkeys(ids))[:BULK_MAX]
    if not ids:
        flash(session, request, i18n.gettext("Select the approvals to approve first."), "warning")
        return RedirectResponse("/approvals", status_code=303)
    reports: list[tuple[str, str]] = []
    form_id = submitted_form_id(form)  # one per submit of the queue; each approval is its own workflow
    for approval_id in ids:
        try:
            row = scope.get(ApprovalRequest, approval_id)
        except HTTPException:
            reports.append(("error", i18n.gettext("Approval %(id)s was not found.", id=approval_id)))
            continue
        if row.choices and row.status is ApprovalStatus.PENDING:
            # One of several options, with its details: never chosen in bulk.
            message = i18n.gettext(
                "%(document)s needs a choice of its own: decide it in its row.", document=row.document_id
            )
            reports.append(("warning", message))
            continue
        error = _decide(request, session, temporal, user, row, approve=True, comment="", form_id=form_id)
        session.refresh(row)
        if error:
            refused = i18n.gettext(
                "%(document)s was not approved: %(reason)s", document=row.document_id, reason=error
            )
            reports.append(("error", refused))
        else:
            reports.append(("success", _done_message(row)))
    for level, message in reports:
        flash(session, request, message, level)  # type: ignore[arg-type]
    return RedirectResponse("/approvals", status_code=303)


# -- delegations ----------------------------------------------------------------------------------


@router.get("/delegations")
def delegations(request: Request, scope: OrgScope, user: Decider) -> Response:
    return _delegation_page(request, scope, {}, {})


@router.post("/delegations")
def create_delegation(request: Request, scope: OrgScope, user: Decider, form: FormDep) -> Response:
    session = scope.session
    raw = {key: str(form.get(key, "")).strip() for key in ("delegate_user_id", "start_date", "end_date")}
    errors: dict[str, str] = {}
    colleagues = {c.id: c for c in approvals.delegate_candidates(session, user)}
    delegate_id = parse_row_id(raw["delegate_user_id"])
    if delegate_id is None or delegate_id not in colleagues:
        errors["delegate_user_id"] = _choose_a_delegate(user)
    start = _parse_date(raw["start_date"])
    end = _parse_date(raw["end_date"])
    if start is None:
        errors["start_date"] = i18n.gettext("Enter a date.")
    elif start < today():
        errors["start_date"] = i18n.gettext("The date cannot be in the past.")
    if end is None:
        errors["end_date"] = i18n.gettext("Enter a date.")
    elif start is not None and end < start:
        errors["end_date"] = i18n.gettext("The end date cannot be before the start date.")
    if errors or delegate_id is None or start is None or end is None:
        return _delegation_page(request, scope, raw, errors, status_code=400)
    approvals.create_delegation(
        session, approver_user_id=user.user_id, delegate_user_id=delegate_id, start_date=start, end_date=end
    )
    session.commit()
    flash(
        session,
        request,
        i18n.gettext(
            "%(name)s may decide for you from %(start)s to %(end)s.",
            name=colleagues[delegate_id].full_name,
            start=i18n.format_date(start),
            end=i18n.format_date(end),
        ),
    )
    return RedirectResponse("/approvals/delegations", status_code=303)


@router.post("/delegations/{delegation_id:int}/end")
def end_delegation(request: Request, delegation_id: RowId, scope: OrgScope, user: Decider) -> Response:
    session = scope.session
    delegation = scope.get(ApprovalDelegation, delegation_id)
    if not approvals.end_delegation(session, approver_user_id=user.user_id, delegation=delegation):
        raise HTTPException(status_code=404)
    session.commit()
    flash(session, request, i18n.gettext("The delegation has ended."))
    return RedirectResponse("/approvals/delegations", status_code=303)


# -- helpers --------------------------------------------------------------------------------------


def _decide(
    request: Request,
    session: Session,
    temporal: Client,
    user: Principal,
    row: ApprovalRequest,
    *,
    approve: bool,
    comment: str,
    choice: str = "",
    details: dict[str, str] | None = None,
    form_id: str | None = None,
) -> str | None:
    """Call the workflow's Update (as the form's one-time id: `web.form_ids`); returns the message to
    show when it was refused."""
    decision_id = update_id(form_id, ApprovalWorkflow.decide, user)
    if row.status is not ApprovalStatus.PENDING:
        # The step has finished (its workflow too): answer from the row, as its validator would,
        # unless it was this very form that decided it (a double click answers as the first did).
        if repeated_form_result(request, session, row.workflow_id, ApprovalWorkflow.decide, decision_id):
            return None
        return _closed_message(row)
    on_behalf_of = approvals.acting_for(session, user.user_id, row, today())
    if on_behalf_of is None:
        return i18n.gettext("This approval is not assigned to you.")
    decision = DecideInput(
        actor_user_id=user.user_id,
        on_behalf_of_user_id=on_behalf_of,
        approve=approve,
        comment=comment.strip(),
        choice=choice,
        details=dict(details or {}),
    )
    # The connection goes back to the pool while the Update runs; the row is read again after it.
    refused = await_on_loop(session, _send_decision, temporal, row.workflow_id, decision, decision_id)
    if isinstance(refused, WorkflowUpdateFailedError):
        return rejection_message(refused)
    if isinstance(refused, RPCError):
        # The workflow finished between our read and the Update: someone else decided just now.
        session.refresh(row)
        if row.status is not ApprovalStatus.PENDING:
            return _closed_message(row)
        return i18n.gettext("This could not be done right now. Please try again.")
    return None


async def _send_decision(
    temporal: Client, workflow_id: str, decision: DecideInput, decision_id: str | None
) -> WorkflowUpdateFailedError | RPCError | None:
    """On the event loop: the `decide` Update; its refusal, or None when it was accepted."""
    try:
        await temporal.get_workflow_handle(workflow_id).execute_update(
            ApprovalWorkflow.decide, decision, id=decision_id
        )
    except (WorkflowUpdateFailedError, RPCError) as exc:
        return exc
    return None


def _closed_message(row: ApprovalRequest) -> str:
    return i18n.gettext(CANCELLED if row.status is ApprovalStatus.CANCELLED else ALREADY_DECIDED)


def _done_message(row: ApprovalRequest) -> str:
    if row.choice:
        return i18n.gettext(
            "%(document)s decided: %(choice)s.", document=row.document_id, choice=choice_label(row.choice)
        )
    if row.status is ApprovalStatus.APPROVED:
        return i18n.gettext("%(document)s approved.", document=row.document_id)
    return i18n.gettext("%(document)s rejected.", document=row.document_id)


def _views(session: Session, user: Principal, rows: list[ApprovalRequest]) -> list[QueueRow]:
    ids = {uid for r in rows for uid in (r.requester_user_id, r.assignee_user_id)}
    names = approvals.user_names(session, ids)
    now = utcnow()
    return [
        QueueRow(
            request=r,
            requester_name=names.get(r.requester_user_id, ""),
            assignee_name=names.get(r.assignee_user_id, ""),
            acting_for_name=names.get(r.assignee_user_id) if r.assignee_user_id != user.user_id else None,
            sla=approvals.sla_state(r, now),
            age=_age(r.created_at, now),
        )
        for r in rows
    ]


def _age(since: datetime, now: datetime) -> str:
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 24:
        return i18n.ngettext("%(num)s hour", "%(num)s hours", hours)
    return i18n.ngettext("%(num)s day", "%(num)s days", hours // 24)


def _filters(
    document_type: str, delegated: str, min_amount: str, max_amount: str
) -> tuple[Filters, dict[str, str]]:
    errors: dict[str, str] = {}
    filters = Filters(
        document_type=document_type if document_type in DOCUMENT_TYPES else "",
        delegated=delegated in ("1", "on", "true"),
        raw_min=min_amount.strip()[:20],
        raw_max=max_amount.strip()[:20],
    )
    for name, raw in (("min_amount", filters.raw_min), ("max_amount", filters.raw_max)):
        if not raw:
            continue
        try:
            value = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            errors[name] = i18n.gettext("Enter an amount.")
            continue
        if not value.is_finite() or value < 0:
            errors[name] = i18n.gettext("Enter an amount.")
            continue
        # Amounts are kept in whole fen: a bound finer than that, or beyond any amount, is a typo.
        if not has_places(value, MONEY_PLACES):
            errors[name] = i18n.gettext("Use at most %(n)s decimal places.", n=MONEY_PLACES)
            continue
        if value >= AMOUNT_FILTER_MAX:
            errors[name] = i18n.gettext(
                "Enter a number below %(max)s.", max=i18n.format_decimal(AMOUNT_FILTER_MAX, places=0)
            )
            continue
        setattr(filters, name, value)
    return filters, errors


def _parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _choose_a_delegate(user: Principal) -> str:
    if approvals.deciding_roles_of(user.roles) == (Role.APPROVER,):
        return i18n.gettext("Choose another active approver.")
    return i18n.gettext("Choose another active colleague who holds one of your approval roles.")


def _delegation_page(
    request: Request,
    scope: Scope,
    raw: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    session, user = scope.session, scope.principal
    return render(
        request,
        "approvals/delegations.html",
        {
            "delegations": approvals.delegation_views(
                session,
                user.user_id,
                list(
                    session.execute(
                        scope.select(ApprovalDelegation).order_by(*approvals.LATEST_DELEGATION_FIRST)
                    ).scalars()
                ),
            ),
            "colleagues": approvals.delegate_candidates(session, user),
            # Several deciding roles: the choice of delegate says which one each colleague holds.
            "several_roles": len(approvals.deciding_roles_of(user.roles)) > 1,
            "role_labels": approvals.DECIDING_ROLE_LABELS,
            "raw": raw,
            "errors": errors,
            "today": today(),
        },
        status_code=status_code,
    )


def _queue_page(
    request: Request,
    scope: Scope,
    filters: Filters,
    errors: dict[str, str],
    *,
    history: bool,
    page: int,
    refused: QueueRow | None = None,
    status_code: int = 200,
) -> Response:
    """The queue (or the history tab); `refused`: a row whose decision was refused, shown with it."""
    session, user = scope.session, scope.principal
    if history:
        stmt = scope.select(ApprovalRequest).where(approvals.decided_by(user.user_id))
        stmt = stmt.order_by(*approvals.NEWEST_DECISION_FIRST)
    else:
        stmt = scope.select(ApprovalRequest).where(approvals.waiting_for(user.user_id))
        stmt = stmt.order_by(*approvals.OLDEST_FIRST)
    if filters.document_type:
        stmt = stmt.where(col(ApprovalRequest.document_type) == filters.document_type)
    if filters.delegated and not history:
        stmt = stmt.where(col(ApprovalRequest.assignee_user_id) != user.user_id)
    if filters.min_amount is not None:
        stmt = stmt.where(col(ApprovalRequest.amount) >= filters.min_amount)
    if filters.max_amount is not None:
        stmt = stmt.where(col(ApprovalRequest.amount) <= filters.max_amount)
    paged = paginate(session, stmt, page, PER_PAGE)
    rows = _views(session, user, list(paged))
    if refused is not None:
        rows = [refused if r.id == refused.id else r for r in rows]
    query = {
        "tab": "history" if history else "pending",
        "document_type": filters.document_type,
        "delegated": "1" if filters.delegated else "",
        "min_amount": filters.raw_min,
        "max_amount": filters.raw_max,
    }
    return render(
        request,
        "approvals/queue.html",
        {
            "rows": rows,
            "paged": paged,
            "page_params": "&" + urlencode({k: v for k, v in query.items() if v}),
            "tab": "history" if history else "pending",
            "filters": filters,
            "errors": errors,
            "refused": refused,
            "can_delegate": user.has_role(*approvals.DECIDING_ROLES),
            "document_types": DOCUMENT_TYPES,
            "sla_labels": approvals.SLA_LABELS,
        },
        block="results",
        status_code=status_code,
    )


def _row(request: Request, view: QueueRow, *, status_code: int = 200) -> Response:
    return render(
        request,
        "approvals/_row.html",
        {"item": view, "sla_labels": approvals.SLA_LABELS, "document_types": DOCUMENT_TYPES},
        status_code=status_code,
    )


def _refused(
    request: Request,
    scope: Scope,
    row: ApprovalRequest,
    message: str,
    entered: dict[str, str],
) -> Response:
    """A refused decision (by the route, or the workflow's validator), never a success answer: the
    row with the reason, 409 (htmx swaps it: `responseHandling` in base.html), or the queue again
    with the reason above it, 400 (plain POST)."""
    session, user = scope.session, scope.principal
    view = _views(session, user, [row])[0]
    view.error = message
    view.entered = entered
    if is_htmx(request):
        return _row(request, view, status_code=409)
    filters = Filters()
    return _queue_page(request, scope, filters, {}, history=False, page=1, refused=view, status_code=400)


def _deduction_problem(raw: str) -> str:
    """Why `raw` is not a concession's price deduction (0 < d < 100, percent); "" when it is."""
    if not raw.strip():
        return i18n.gettext(DEDUCTION_REQUIRED)
    if len(raw) > DEDUCTION_MAX_LENGTH or deduction_percent({DEDUCTION_PERCENT: _percent_text(raw)}) is None:
        return i18n.gettext(DEDUCTION_RANGE)
    return ""


def _percent_text(raw: str) -> str:
    """The deduction as the workflow expects it: a plain decimal ("5", "12.5"); a "%" is allowed."""
    return raw.strip().removesuffix("%").strip()


def _split(choices: str) -> list[str]:
    return [value.strip() for value in choices.split(",") if value.strip()]
