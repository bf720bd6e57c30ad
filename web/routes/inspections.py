"""Quality inspection pages (issue 5): the inspector's queue and form, the supplier's results.

- `/inspections` (inspector; HQ quality approvers and admins read only): lots to work on (awaiting
  inspection or sorting) oldest first with their plan (code letter, sample, Ac/Re per category),
  the lots on hold for a certificate, or the decided ones; filters and pages.
- `/inspections/{number}`: the lot (stage, batch, disposition, hold reasons), its plan, the verdict,
  photos and the timeline; the inspector records the defects found per category (`record_defects`),
  the good units found by sorting (`record_sorting`), adds photos while the lot is awaiting
  inspection or sorting, and asks a held lot to check its certificates again (`recheck_certificates`).
  A lot of a discontinued supplier+SKU (ISO 2859-1 9.4) that meets its plan goes to HQ's decision.
- `/inspections/{number}/photos/{public id}` and `.../thumbnail`: a photo (stored without its metadata)
  and its thumbnail, to whoever may see the inspection.
- `/supplier/inspections`: a supplier's own lots, their stage, disposition and returns, read only.

Every row is read through `OrgScope` (a supplier sees its own lots; another's answers 404). The
route only checks that counts are whole numbers; the workflow's validator decides the rest
(negative, more than the sample, already decided) and its message is shown beside the form.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlmodel import col
from starlette.responses import Response
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from supplychain import certificates, i18n, inspection_photos
from supplychain.events import timeline
from supplychain.i18n import lazy
from supplychain.inspection import DOCUMENT_TYPE
from supplychain.models import (
    Disposition,
    Inspection,
    InspectionPhoto,
    InspectionStage,
    InspectionVerdict,
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    ReturnToVendor,
    Role,
)
from supplychain.principal import Principal
from supplychain.rules.inspection_checks import ALREADY_DECIDED, CATEGORIES, NOTES_MAX_LENGTH
from web.deps import (
    FileId,
    FormDep,
    OrgScope,
    PageNumber,
    Scope,
    names_for,
    paginate,
    parse_row_id,
    require_roles,
)
from web.flash import flash
from web.form_ids import submitted_form_id, update_id
from web.middleware import STORED_FILE_CSP
from web.purchasing import repeated_form_result, sku_label, temporal_client
from web.security_events import log_security_event
from web.templating import render
from web.workflow_calls import await_on_loop
from web.workflow_errors import rejection_message
from workflows.inspection import (
    InspectionWorkflow,
    RecordDefectsInput,
    RecordDefectsResult,
    RecordSortingInput,
    RecordSortingResult,
)

router = APIRouter()
log = logging.getLogger(__name__)

# The inspector records; HQ (quality) approvers and admins follow the queue read only.
QUEUE_ROLES = (Role.INSPECTOR, Role.APPROVER, Role.QUALITY_APPROVER, Role.ADMIN)
QueueUser = Annotated[Principal, Depends(require_roles(*QUEUE_ROLES))]
InspectorUser = Annotated[Principal, Depends(require_roles(Role.INSPECTOR))]
SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
# The document page: the queue's roles and the supplier whose lot it is (scoping does the rest).
ViewerUser = Annotated[Principal, Depends(require_roles(*QUEUE_ROLES, Role.SUPPLIER))]

PER_PAGE = 25
STATUSES = ("pending", "on_hold", "decided")
ALL_WAREHOUSES = "all"
# The inspector's work: lots to inspect (not yet decided) and lots to sort.
_TO_WORK_ON = or_(
    col(Inspection.stage) == InspectionStage.SORTING,
    and_(
        col(Inspection.stage) == InspectionStage.AWAITING_INSPECTION,
        col(Inspection.verdict) == InspectionVerdict.PENDING,
    ),
)
_ON_HOLD = col(Inspection.stage) == InspectionStage.ON_HOLD
_DECIDED = and_(
    col(Inspection.verdict) != InspectionVerdict.PENDING,
    col(Inspection.stage).not_in([InspectionStage.SORTING, InspectionStage.ON_HOLD]),
)
STATUS_FILTERS: dict[str, ColumnElement[bool]] = {
    "pending": _TO_WORK_ON,
    "on_hold": _ON_HOLD,
    "decided": _DECIDED,
}
# Photos may be added while the inspector has the lot in hand.
PHOTO_STAGES = frozenset({InspectionStage.AWAITING_INSPECTION, InspectionStage.SORTING})
# A count longer than this is a typo, not a count: refused before the workflow is asked.
MAX_COUNT_DIGITS = 9
_WHOLE_NUMBER = re.compile(rf"^[+-]?\d{{1,{MAX_COUNT_DIGITS}}}$", re.ASCII)

VERDICT_LABELS: dict[InspectionVerdict, str] = {
    InspectionVerdict.PENDING: lazy("Waiting for inspection"),
    InspectionVerdict.ACCEPTED: lazy("Accepted"),
    InspectionVerdict.REJECTED: lazy("Rejected"),
}
STAGE_LABELS: dict[InspectionStage, str] = {
    InspectionStage.AWAITING_INSPECTION: lazy("Awaiting inspection"),
    InspectionStage.AWAITING_DECISION: lazy("Awaiting HQ decision"),
    InspectionStage.SORTING: lazy("Sorting"),
    InspectionStage.AWAITING_RETURN: lazy("Awaiting return"),
    InspectionStage.ON_HOLD: lazy("On hold"),
    InspectionStage.DONE: lazy("Done"),
}
DISPOSITION_LABELS: dict[Disposition, str] = {
    Disposition.CONCESSION: lazy("Concession (accepted with a price deduction)"),
    Disposition.SORTING: lazy("Sorting (every unit inspected)"),
    Disposition.RETURN_TO_VENDOR: lazy("Return to vendor"),
}
CATEGORY_LABELS: dict[str, str] = {
    "critical": lazy("Critical"),
    "major": lazy("Major"),
    "minor": lazy("Minor"),
}
DONE_ACCEPTED = lazy("Inspection %(number)s recorded: the lot is accepted.")
DONE_REJECTED = lazy("Inspection %(number)s recorded: the lot is rejected.")
DONE_HELD_FOR_DECISION = lazy(
    "Inspection %(number)s recorded: the lot met its plan, but acceptance by sampling is discontinued "
    "for this supplier and SKU, so HQ quality decides on it."
)
ENTER_COUNT: dict[str, str] = {
    "critical": lazy("Enter the number of critical defects as a whole number, for example 0."),
    "major": lazy("Enter the number of major defects as a whole number, for example 0."),
    "minor": lazy("Enter the number of minor defects as a whole number, for example 0."),
}


PHOTO_ADDED = lazy("Photo added.")
PHOTO_NOT_NOW = lazy("Photos can be added only while the lot is awaiting inspection or sorting.")
CAPTION_TOO_LONG = lazy("The caption is too long (%(max)s characters at most).")
NOT_REACHABLE = lazy("The inspection process cannot be reached right now. Nothing was changed.")
TRY_AGAIN = lazy("This could not be done right now. Please try again.")


def may_view(user: Principal) -> bool:
    """Whether the user may open inspection pages at all (scoping then decides which)."""
    return user.has_role(*QUEUE_ROLES, Role.SUPPLIER) and (user.is_hq or user.org_kind is OrgKind.SUPPLIER)


def pending_count(scope: Scope) -> int:
    """For the inspector's home card: lots waiting for inspection or sorting at their own warehouse
    when they have one (what the queue shows first), else everywhere."""
    stmt = scope.select(Inspection).where(_TO_WORK_ON)
    if scope.principal.location_id is not None:
        stmt = stmt.where(col(Inspection.location_id) == scope.principal.location_id)
    return int(scope.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def _common() -> dict[str, object]:
    return {
        "verdict_labels": VERDICT_LABELS,
        "stage_labels": STAGE_LABELS,
        "disposition_labels": DISPOSITION_LABELS,
        "category_labels": CATEGORY_LABELS,
        "categories": CATEGORIES,
    }


def _returns_by_inspection(scope: Scope, rows: list[Inspection]) -> dict[int, ReturnToVendor]:
    """The (visible) return to vendor of each inspection that has one."""
    ids = {r.id for r in rows if r.id is not None}
    if not ids:
        return {}
    found = scope.session.execute(
        scope.select(ReturnToVendor).where(col(ReturnToVendor.inspection_id).in_(ids))
    ).scalars()
    return {rtv.inspection_id: rtv for rtv in found}


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


def _warehouses(scope: Scope, user: Principal) -> list[Location]:
    """The queue's warehouse choices: the organisation's active warehouses (not stores), and the
    user's own location whatever it is (it is their default)."""
    choosable = and_(col(Location.kind) != LocationKind.STORE, col(Location.is_active))
    if user.location_id is not None:
        choosable = or_(choosable, col(Location.id) == user.location_id)
    stmt = (
        scope.select(Location)
        .where(col(Location.organisation_id) == user.organisation_id, choosable)
        .order_by(col(Location.code))
    )
    return list(scope.session.execute(stmt).scalars())


def _chosen_location(user: Principal, location: str, warehouses: list[Location]) -> str:
    """`ALL_WAREHOUSES` or the id of the warehouse whose lots to show: the one asked for if it is
    among the choices, otherwise (nothing asked, or anything else) the user's own, else all."""
    if location == ALL_WAREHOUSES or location in {str(w.id) for w in warehouses}:
        return location
    return str(user.location_id) if user.location_id is not None else ALL_WAREHOUSES


def _list(
    request: Request,
    user: Principal,
    scope: Scope,
    *,
    base_url: str,
    status: str,
    supplier: str,
    page: int,
    location: str | None = None,
) -> Response:
    """The list page. `location` (the inspector's queue only; None: no warehouse filter) is the
    warehouse asked for, as typed."""
    status = status if status in STATUSES else "pending"
    stmt = scope.select(Inspection).where(STATUS_FILTERS[status])
    warehouses = _warehouses(scope, user) if location is not None else []
    chosen = _chosen_location(user, location, warehouses) if location is not None else ALL_WAREHOUSES
    if chosen != ALL_WAREHOUSES:
        stmt = stmt.where(col(Inspection.location_id) == int(chosen))
    if status == "decided":
        stmt = stmt.order_by(col(Inspection.decided_at).desc(), col(Inspection.id).desc())
    else:
        stmt = stmt.order_by(col(Inspection.created_at), col(Inspection.id))
    supplier_id = parse_row_id(supplier)
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
    if location is not None:
        query["location"] = chosen
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
            "by_location": location is not None,
            "warehouses": warehouses,
            "returns": _returns_by_inspection(scope, list(paged)),
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
    location: str = "",
    page: PageNumber = 1,
) -> Response:
    """The lots of the user's own warehouse unless another one (or all) is chosen."""
    if not user.is_hq:
        raise HTTPException(status_code=403)
    return _list(
        request,
        user,
        scope,
        base_url="/inspections",
        status=status,
        supplier=supplier,
        page=page,
        location=location,
    )


@router.get("/supplier/inspections")
def supplier_inspections(
    request: Request, user: SupplierUser, scope: OrgScope, status: str = "decided", page: PageNumber = 1
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


@dataclass
class ActionForm:
    """One of the page's smaller forms (photo, sorting, recheck): what was typed, the refusal."""

    values: dict[str, str] = field(default_factory=dict)
    error: str = ""


def _hold_reasons(row: Inspection) -> list[str]:
    """The certificate check's messages (ids, one per line), translated."""
    return [i18n.gettext(line.strip()) for line in row.hold_reason.splitlines() if line.strip()]


def _is_inspector(user: Principal) -> bool:
    return user.is_hq and user.has_role(Role.INSPECTOR)


def _detail(
    request: Request,
    user: Principal,
    scope: Scope,
    row: Inspection,
    form: DefectsForm | None = None,
    *,
    photo: ActionForm | None = None,
    sorting: ActionForm | None = None,
    recheck: ActionForm | None = None,
    status_code: int = 200,
) -> Response:
    inspector = _is_inspector(user)
    can_record = inspector and row.verdict is InspectionVerdict.PENDING
    assert row.id is not None
    return render(
        request,
        "inspections/detail.html",
        {
            "user": user,
            "inspection": row,
            "form": form or DefectsForm(),
            "photo_form": photo or ActionForm(),
            "sorting_form": sorting or ActionForm(),
            "recheck_form": recheck or ActionForm(),
            "can_record": can_record,
            "can_add_photo": inspector and row.stage in PHOTO_STAGES,
            "can_record_sorting": inspector and row.stage is InspectionStage.SORTING,
            "can_recheck": inspector and row.stage is InspectionStage.ON_HOLD,
            "hold_reasons": _hold_reasons(row),
            "photos": inspection_photos.photos_of(scope.session, row.id),
            "rtv": _returns_by_inspection(scope, [row]).get(row.id),
            "notes_max": NOTES_MAX_LENGTH,
            "caption_max": inspection_photos.CAPTION_MAX_LENGTH,
            "photo_limit": certificates.format_limit(inspection_photos.photo_max_bytes()),
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
def record_defects(
    request: Request, number: str, user: InspectorUser, scope: OrgScope, raw: FormDep
) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    row = _inspection_or_404(scope, number)
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
    result_id = update_id(submitted_form_id(raw), InspectionWorkflow.record_defects, user)
    recorded: RecordDefectsResult | None
    if row.verdict is not InspectionVerdict.PENDING:
        # Decided (its workflow may have finished): answer from the row, as the validator would,
        # unless it was this very form that decided it (a double submit answers as the first did).
        earlier = repeated_form_result(
            request, scope.session, row.workflow_id, InspectionWorkflow.record_defects, result_id
        )
        if earlier is None:
            form.error = i18n.gettext(ALREADY_DECIDED)
            return _detail(request, user, scope, row, form, status_code=400)
        recorded = earlier.result
    else:
        form.error, recorded = _record(request, scope, row, user, counts, form.values["notes"], result_id)
    scope.session.expire_all()
    row = _inspection_or_404(scope, number)
    if form.error or recorded is None:
        return _detail(request, user, scope, row, form, status_code=400)
    if recorded.held_for_decision:
        done = DONE_HELD_FOR_DECISION
    else:
        done = DONE_ACCEPTED if row.verdict is InspectionVerdict.ACCEPTED else DONE_REJECTED
    flash(scope.session, request, i18n.gettext(done, number=row.number))
    return RedirectResponse(f"/inspections/{row.number}", status_code=303)


def _record(
    request: Request,
    scope: Scope,
    row: Inspection,
    user: Principal,
    counts: dict[str, int],
    notes: str,
    result_id: str | None,
) -> tuple[str, RecordDefectsResult | None]:
    """Call `record_defects`: ("", its result) when it was done, else (the message beside the form, None).
    The row is read again after the Update (giving the connection back expires it)."""
    workflow_id = row.workflow_id
    client = await_on_loop(scope.session, temporal_client, request)
    if client is None:
        return (
            i18n.gettext("The inspection process cannot be reached right now. Nothing was changed."),
            None,
        )
    handle = client.get_workflow_handle(workflow_id)
    try:
        result = await_on_loop(
            scope.session,
            partial(handle.execute_update, id=result_id),
            InspectionWorkflow.record_defects,
            RecordDefectsInput(actor_user_id=user.user_id, notes=notes, **counts),
        )
    except WorkflowUpdateFailedError as exc:
        return rejection_message(exc), None
    except RPCError as exc:
        # The workflow finished between our read and the Update: decided just now by someone else.
        scope.session.expire_all()
        fresh = _inspection_or_404(scope, row.number)
        if fresh.verdict is not InspectionVerdict.PENDING:
            return i18n.gettext(ALREADY_DECIDED), None
        log.error("record_defects on %s failed: %s", workflow_id, exc)
        return i18n.gettext("This could not be done right now. Please try again."), None
    return "", result


# --- photos -----------------------------------------------------------------------------------------


@router.post("/inspections/{number}/photos")
def add_photo(
    request: Request,
    number: str,
    user: InspectorUser,
    scope: OrgScope,
    caption: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    row = _inspection_or_404(scope, number)
    assert row.id is not None
    form = ActionForm(values={"caption": caption.strip()})
    if row.stage not in PHOTO_STAGES:
        form.error = i18n.gettext(PHOTO_NOT_NOW)
    elif len(form.values["caption"]) > inspection_photos.CAPTION_MAX_LENGTH:
        form.error = i18n.gettext(CAPTION_TOO_LONG, max=inspection_photos.CAPTION_MAX_LENGTH)
    elif file is None or not file.filename:
        form.error = i18n.gettext(certificates.NO_FILE)
    if form.error or file is None:
        return _detail(request, user, scope, row, photo=form, status_code=400)
    try:
        received = inspection_photos.receive_photo(file.file)
    except certificates.UploadRefused as refused:
        form.error = i18n.gettext(refused.message, **refused.params)
        log_security_event(
            request, "upload_refused", "refused", upload="inspection_photo", reason=refused.reason
        )
        return _detail(request, user, scope, row, photo=form, status_code=400)
    inspection_photos.add_photo(
        scope.session,
        received=received,
        inspection_id=row.id,
        original_filename=file.filename or "",
        caption=form.values["caption"],
        uploaded_by_user_id=user.user_id,
    )
    flash(scope.session, request, i18n.gettext(PHOTO_ADDED))
    return RedirectResponse(f"/inspections/{row.number}#photos", status_code=303)


def _visible_photo(number: str, file_id: str, user: Principal, scope: Scope) -> InspectionPhoto:
    """The photo (by its random public id) if it belongs to this inspection and the user may see
    the inspection; 404 otherwise."""
    if not user.is_hq and user.org_kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=403)
    row = _inspection_or_404(scope, number)
    photo: InspectionPhoto | None = scope.session.execute(
        scope.select(InspectionPhoto).where(
            col(InspectionPhoto.public_id) == file_id, col(InspectionPhoto.inspection_id) == row.id
        )
    ).scalar_one_or_none()
    if photo is None:
        raise HTTPException(status_code=404)
    return photo


def _image_response(path: Path, photo: InspectionPhoto) -> Response:
    return FileResponse(
        path,
        media_type=photo.content_type,
        filename=inspection_photos.download_name(photo),
        content_disposition_type="inline",  # shown in <img>; opened alone, sandboxed
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": STORED_FILE_CSP,
        },
    )


@router.get("/inspections/{number}/photos/{file_id}")
def photo_file(number: str, file_id: FileId, user: ViewerUser, scope: OrgScope) -> Response:
    photo = _visible_photo(number, file_id, user, scope)
    path = inspection_photos.stored_path(photo.stored_name)
    if not path.is_file():
        raise HTTPException(status_code=404)
    return _image_response(path, photo)


@router.get("/inspections/{number}/photos/{file_id}/thumbnail")
def photo_thumbnail(number: str, file_id: FileId, user: ViewerUser, scope: OrgScope) -> Response:
    """The photo's thumbnail, to whoever may see the photo; made now for a photo stored without one."""
    photo = _visible_photo(number, file_id, user, scope)
    if not inspection_photos.stored_path(photo.stored_name).is_file():
        raise HTTPException(status_code=404)
    try:
        path = inspection_photos.ensure_thumbnail(photo.stored_name, photo.content_type)
    except FileNotFoundError:
        raise HTTPException(status_code=404) from None
    except certificates.UploadRefused:  # stored before photos were decoded on upload
        log.warning("no thumbnail for inspection photo %s: it does not decode", photo.id)
        raise HTTPException(status_code=404) from None
    return _image_response(path, photo)


# --- sorting ----------------------------------------------------------------------------------------

SORTING_DONE = lazy("Sorting of %(number)s recorded: %(accepted)s accepted, %(returned)s returned.")
NOT_SORTING = lazy("This lot is not being sorted.")
ENTER_GOOD_QUANTITY = lazy("Enter the number of good units as a whole number, for example 0.")


@router.post("/inspections/{number}/sorting")
def record_sorting(
    request: Request, number: str, user: InspectorUser, scope: OrgScope, raw: FormDep
) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    row = _inspection_or_404(scope, number)
    form = ActionForm(
        values={
            name: value if isinstance(value, str) else ""
            for name in ("good_quantity", "notes")
            for value in [raw.get(name, "")]
        }
    )
    text = form.values["good_quantity"].strip().replace(",", "")
    sorting_id = update_id(submitted_form_id(raw), InspectionWorkflow.record_sorting, user)
    if not _WHOLE_NUMBER.match(text):
        form.error = i18n.gettext(ENTER_GOOD_QUANTITY)
    elif row.stage is not InspectionStage.SORTING:
        # Unless this very form recorded the sorting a moment ago: then it answers as it did.
        earlier = repeated_form_result(
            request, scope.session, row.workflow_id, InspectionWorkflow.record_sorting, sorting_id
        )
        if earlier is not None:
            return _sorting_done(request, scope, number, earlier.result)
        form.error = i18n.gettext(NOT_SORTING)
    if form.error:
        return _detail(request, user, scope, row, sorting=form, status_code=400)
    workflow_id = row.workflow_id
    client = await_on_loop(scope.session, temporal_client, request)
    if client is None:
        form.error = i18n.gettext(NOT_REACHABLE)
        return _detail(request, user, scope, row, sorting=form, status_code=400)
    handle = client.get_workflow_handle(workflow_id)
    result: RecordSortingResult | None = None
    try:
        result = await_on_loop(
            scope.session,
            partial(handle.execute_update, id=sorting_id),
            InspectionWorkflow.record_sorting,
            RecordSortingInput(
                actor_user_id=user.user_id, good_quantity=int(text), notes=form.values["notes"]
            ),
        )
    except WorkflowUpdateFailedError as exc:
        form.error = rejection_message(exc)
    except RPCError as exc:
        log.error("record_sorting on %s failed: %s", workflow_id, exc)
        form.error = i18n.gettext(NOT_SORTING if exc.status == RPCStatusCode.NOT_FOUND else TRY_AGAIN)
    scope.session.expire_all()
    if result is None:
        row = _inspection_or_404(scope, number)
        return _detail(request, user, scope, row, sorting=form, status_code=400)
    return _sorting_done(request, scope, number, result)


def _sorting_done(request: Request, scope: Scope, number: str, result: RecordSortingResult) -> Response:
    row = _inspection_or_404(scope, number)
    done = i18n.gettext(
        SORTING_DONE, number=row.number, accepted=result.accepted_quantity, returned=result.returned_quantity
    )
    flash(scope.session, request, done)
    return RedirectResponse(f"/inspections/{row.number}", status_code=303)


# --- a lot on hold ----------------------------------------------------------------------------------

RECHECK_SENT = lazy("The certificates of this lot are being checked again.")
NOT_ON_HOLD = lazy("This lot is not on hold.")


@router.post("/inspections/{number}/recheck")
def recheck_certificates(request: Request, number: str, user: InspectorUser, scope: OrgScope) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    row = _inspection_or_404(scope, number)
    form = ActionForm()
    if row.stage is not InspectionStage.ON_HOLD:
        form.error = i18n.gettext(NOT_ON_HOLD)
        return _detail(request, user, scope, row, recheck=form, status_code=400)
    workflow_id = row.workflow_id
    client = await_on_loop(scope.session, temporal_client, request)
    if client is None:
        form.error = i18n.gettext(NOT_REACHABLE)
    else:
        try:
            await_on_loop(
                scope.session,
                client.get_workflow_handle(workflow_id).signal,
                InspectionWorkflow.recheck_certificates,
            )
        except RPCError as exc:
            log.error("recheck_certificates on %s failed: %s", workflow_id, exc)
            form.error = i18n.gettext(TRY_AGAIN)
    if form.error:
        return _detail(request, user, scope, row, recheck=form, status_code=400)
    flash(scope.session, request, i18n.gettext(RECHECK_SENT))
    return RedirectResponse(f"/inspections/{row.number}", status_code=303)


async def recheck_held_lots(request: Request, workflow_ids: list[str]) -> None:
    """Ask each held lot's workflow to check its certificates again (after a certificate upload).
    A workflow that is no longer running is skipped; nobody waits for the answer."""
    if not workflow_ids:
        return
    client = await temporal_client(request)
    if client is None:
        log.warning("recheck_certificates not sent to %d held lots: Temporal unreachable", len(workflow_ids))
        return
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).signal(InspectionWorkflow.recheck_certificates)
        except RPCError as exc:  # finished or gone: nothing to recheck
            log.info("recheck_certificates not sent to %s: %s", workflow_id, exc)


def held_workflow_ids(scope: Scope, supplier_id: int) -> list[str]:
    """The workflows of a supplier's lots on hold for a certificate."""
    stmt = scope.select(Inspection).where(col(Inspection.supplier_id) == supplier_id, _ON_HOLD)
    return [row.workflow_id for row in scope.session.execute(stmt).scalars()]
