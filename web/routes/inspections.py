"""Quality inspection pages (issue 5): the inspector's queue and form, the supplier's results.

- `/inspections` (inspector; HQ quality approvers and admins read only): pending lots oldest first
  with their plan (code letter, sample, Ac/Re per category), or the decided ones; filters and pages.
- `/inspections/{number}`: the lot, its plan, the verdict and the timeline; the inspector records
  the defects found per category (the workflow's `record_defects` Update).
- `/supplier/inspections`: a supplier's own lots and their results, read only.

Every row is read through `OrgScope` (a supplier sees its own lots; another's answers 404). The
route only checks that counts are whole numbers; the workflow's validator decides the rest
(negative, more than the sample, already decided) and its message is shown beside the form.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlmodel import col
from starlette.responses import Response
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from supplychain import i18n
from supplychain.events import timeline
from supplychain.i18n import lazy
from supplychain.inspection import CATEGORIES, DOCUMENT_TYPE, NOTES_MAX_LENGTH
from supplychain.models import Inspection, InspectionVerdict, Organisation, OrgKind, Role
from supplychain.principal import Principal
from web.deps import OrgScope, Scope, names_for, paginate, require_roles
from web.flash import flash
from web.purchasing import sku_label, temporal_client
from web.templating import render
from web.workflow_errors import rejection_message
from workflows.inspection import ALREADY_DECIDED, InspectionWorkflow, RecordDefectsInput

router = APIRouter()
log = logging.getLogger(__name__)

# The inspector records; HQ quality approvers and admins follow the queue read only.
QUEUE_ROLES = (Role.INSPECTOR, Role.APPROVER, Role.ADMIN)
QueueUser = Annotated[Principal, Depends(require_roles(*QUEUE_ROLES))]
InspectorUser = Annotated[Principal, Depends(require_roles(Role.INSPECTOR))]
SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
# The document page: the queue's roles and the supplier whose lot it is (scoping does the rest).
ViewerUser = Annotated[Principal, Depends(require_roles(*QUEUE_ROLES, Role.SUPPLIER))]

PER_PAGE = 25
STATUSES = ("pending", "decided")
# A count longer than this is a typo, not a count: refused before the workflow is asked.
MAX_COUNT_DIGITS = 9
_WHOLE_NUMBER = re.compile(rf"^[+-]?\d{{1,{MAX_COUNT_DIGITS}}}$", re.ASCII)

VERDICT_LABELS: dict[InspectionVerdict, str] = {
    InspectionVerdict.PENDING: lazy("Waiting for inspection"),
    InspectionVerdict.ACCEPTED: lazy("Accepted"),
    InspectionVerdict.REJECTED: lazy("Rejected"),
}
CATEGORY_LABELS: dict[str, str] = {
    "critical": lazy("Critical"),
    "major": lazy("Major"),
    "minor": lazy("Minor"),
}
DONE_ACCEPTED = lazy("Inspection %(number)s recorded: the lot is accepted.")
DONE_REJECTED = lazy("Inspection %(number)s recorded: the lot is rejected.")
ENTER_COUNT: dict[str, str] = {
    "critical": lazy("Enter the number of critical defects as a whole number, for example 0."),
    "major": lazy("Enter the number of major defects as a whole number, for example 0."),
    "minor": lazy("Enter the number of minor defects as a whole number, for example 0."),
}


def pending_count(scope: Scope) -> int:
    """For the inspector's home card: lots waiting for inspection."""
    stmt = scope.select(Inspection).where(col(Inspection.verdict) == InspectionVerdict.PENDING)
    return int(scope.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def _common() -> dict[str, object]:
    return {"verdict_labels": VERDICT_LABELS, "category_labels": CATEGORY_LABELS, "categories": CATEGORIES}


def _names(scope: Scope, rows: list[Inspection]) -> dict[str, object]:
    names = names_for(
        scope.session,
        org_ids={r.supplier_id for r in rows},
        location_ids={r.location_id for r in rows},
        user_ids={r.inspector_user_id for r in rows},
        sku_ids={r.sku_id for r in rows},
    )
    return {**names, "sku_labels": {sku_id: sku_label(sku) for sku_id, sku in names["skus"].items()}}


# --- lists ---------------------------------------------------------------------------------------


def _list(
    request: Request, user: Principal, scope: Scope, *, base_url: str, status: str, supplier: str, page: int
) -> Response:
    status = status if status in STATUSES else "pending"
    stmt = scope.select(Inspection)
    if status == "pending":
        stmt = stmt.where(col(Inspection.verdict) == InspectionVerdict.PENDING).order_by(
            col(Inspection.created_at), col(Inspection.id)
        )
    else:
        stmt = stmt.where(col(Inspection.verdict) != InspectionVerdict.PENDING).order_by(
            col(Inspection.decided_at).desc(), col(Inspection.id).desc()
        )
    supplier_id = int(supplier) if supplier.isdigit() and len(supplier) < 10 else None
    if supplier_id is not None:
        stmt = stmt.where(col(Inspection.supplier_id) == supplier_id)
    paged = paginate(scope.session, stmt, page, PER_PAGE)
    is_supplier = user.org_kind is OrgKind.SUPPLIER
    suppliers = (
        []
        if is_supplier
        else list(
            scope.session.execute(
                scope.select(Organisation)
                .where(col(Organisation.kind) == OrgKind.SUPPLIER)
                .order_by(col(Organisation.name))
            ).scalars()
        )
    )
    query = {"status": status, "supplier": str(supplier_id) if supplier_id is not None else ""}
    return render(
        request,
        "inspections/list.html",
        {
            "user": user,
            "rows": list(paged),
            "paged": paged,
            "base_url": base_url,
            "page_params": "&" + urlencode({k: v for k, v in query.items() if v}),
            "filters": query,
            "is_supplier": is_supplier,
            "suppliers": suppliers,
            **_names(scope, list(paged)),
            **_common(),
        },
        block="results",
    )


@router.get("/inspections")
def inspection_queue(
    request: Request,
    user: QueueUser,
    scope: OrgScope,
    status: str = "pending",
    supplier: str = "",
    page: int = 1,
) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    return _list(request, user, scope, base_url="/inspections", status=status, supplier=supplier, page=page)


@router.get("/supplier/inspections")
def supplier_inspections(
    request: Request, user: SupplierUser, scope: OrgScope, status: str = "decided", page: int = 1
) -> Response:
    if user.org_kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=403)
    return _list(
        request, user, scope, base_url="/supplier/inspections", status=status, supplier="", page=page
    )


# --- the document page and the form ----------------------------------------------------------------


@dataclass
class DefectsForm:
    values: dict[str, str] = field(default_factory=dict)  # as typed, shown again
    errors: dict[str, str] = field(default_factory=dict)  # field -> message beside it
    error: str = ""  # the workflow's refusal, beside the form

    def __bool__(self) -> bool:
        return bool(self.values)


def _inspection_or_404(scope: Scope, number: str) -> Inspection:
    row: Inspection | None = scope.session.execute(
        scope.select(Inspection).where(col(Inspection.number) == number)
    ).scalar_one_or_none()
    if row is None:
        raise HTTPException(status_code=404)
    return row


def _detail(
    request: Request,
    user: Principal,
    scope: Scope,
    row: Inspection,
    form: DefectsForm | None = None,
    *,
    status_code: int = 200,
) -> Response:
    can_record = user.has_role(Role.INSPECTOR) and user.is_hq and row.verdict is InspectionVerdict.PENDING
    return render(
        request,
        "inspections/detail.html",
        {
            "user": user,
            "inspection": row,
            "form": form or DefectsForm(),
            "can_record": can_record,
            "notes_max": NOTES_MAX_LENGTH,
            "back_url": "/supplier/inspections" if user.org_kind is OrgKind.SUPPLIER else "/inspections",
            "timeline": timeline(scope.session, DOCUMENT_TYPE, row.number),
            **_names(scope, [row]),
            **_common(),
        },
        status_code=status_code,
    )


@router.get("/inspections/{number}")
def inspection_detail(request: Request, number: str, user: ViewerUser, scope: OrgScope) -> Response:
    if not user.is_hq and user.org_kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=403)
    return _detail(request, user, scope, _inspection_or_404(scope, number))


def _parse_count(raw: str, category: str) -> tuple[int | None, str]:
    text = raw.strip().replace(",", "")
    if not _WHOLE_NUMBER.match(text):
        return None, i18n.gettext(ENTER_COUNT[category])
    return int(text), ""


@router.post("/inspections/{number}")
async def record_defects(request: Request, number: str, user: InspectorUser, scope: OrgScope) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    row = _inspection_or_404(scope, number)
    raw = await request.form()
    form = DefectsForm(
        values={
            name: value if isinstance(value, str) else ""
            for name in (*CATEGORIES, "notes")
            for value in [raw.get(name, "")]
        }
    )
    counts: dict[str, int] = {}
    for category in CATEGORIES:
        value, error = _parse_count(form.values[category], category)
        if error:
            form.errors[category] = error
        elif value is not None:
            counts[category] = value
    if form.errors:
        return _detail(request, user, scope, row, form, status_code=400)
    if row.verdict is not InspectionVerdict.PENDING:
        # Decided (its workflow may have finished): answer from the row, as the validator would.
        form.error = i18n.gettext(ALREADY_DECIDED)
        return _detail(request, user, scope, row, form, status_code=400)
    form.error = await _record(request, scope, row, user, counts, form.values["notes"])
    scope.session.expire_all()
    row = _inspection_or_404(scope, number)
    if form.error:
        return _detail(request, user, scope, row, form, status_code=400)
    done = DONE_ACCEPTED if row.verdict is InspectionVerdict.ACCEPTED else DONE_REJECTED
    flash(scope.session, request, i18n.gettext(done, number=row.number))
    return RedirectResponse(f"/inspections/{row.number}", status_code=303)


async def _record(
    request: Request, scope: Scope, row: Inspection, user: Principal, counts: dict[str, int], notes: str
) -> str:
    """Call `record_defects`; "" when it was done, otherwise the message to show beside the form."""
    client = await temporal_client(request)
    if client is None:
        return i18n.gettext("The inspection process cannot be reached right now. Nothing was changed.")
    workflow_id = row.workflow_id
    scope.session.commit()  # end the read transaction: the row is read again after the Update
    try:
        await client.get_workflow_handle(workflow_id).execute_update(
            InspectionWorkflow.record_defects,
            RecordDefectsInput(actor_user_id=user.user_id, notes=notes, **counts),
        )
    except WorkflowUpdateFailedError as exc:
        return rejection_message(exc)
    except RPCError as exc:
        # The workflow finished between our read and the Update: decided just now by someone else.
        scope.session.expire_all()
        fresh = _inspection_or_404(scope, row.number)
        if fresh.verdict is not InspectionVerdict.PENDING:
            return i18n.gettext(ALREADY_DECIDED)
        log.error("record_defects on %s failed: %s", workflow_id, exc)
        return i18n.gettext("This could not be done right now. Please try again.")
    return ""
