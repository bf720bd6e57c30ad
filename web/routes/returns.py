"""Returns to vendor and debit notes (issue 5): what a rejected lot costs the supplier.

- `/returns`: HQ quality roles see every return to vendor, a supplier its own; filters and pages.
- `/returns/{number}`: the return, its lot and its debit notes; a user of the supplier the goods go
  back to acknowledges it (the lot's InspectionWorkflow `acknowledge_return` Update), which issues
  the goods from quarantine and raises the debit note.
- `/debit-notes`: HQ (quality roles and finance) see all, a supplier its own; amounts per locale.

Every row is read through `OrgScope`: another supplier's return or debit note answers 404 by URL and
by form alike. The workflow's validator decides whether the return can be acknowledged now.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import col
from starlette.responses import Response
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from supplychain import i18n
from supplychain.i18n import lazy
from supplychain.models import (
    DebitNote,
    DebitNoteKind,
    DebitNoteStatus,
    Inspection,
    Organisation,
    OrgKind,
    ReturnStatus,
    ReturnToVendor,
    Role,
)
from supplychain.principal import Principal
from supplychain.rules.inspection_checks import NOTES_MAX_LENGTH
from supplychain.rules.money import line_net
from supplychain.scoping import HQ_QUALITY_ROLES
from web.deps import FormDep, OrgScope, PageNumber, Scope, names_for, parse_row_id, require_roles
from web.flash import flash
from web.form_ids import submitted_form_id, update_id
from web.purchasing import repeated_form_result, sku_label, temporal_client
from web.routes import inspections
from web.templating import render
from web.workflow_calls import await_on_loop
from web.workflow_errors import rejection_message
from workflows.inspection import AcknowledgeReturnInput, InspectionWorkflow

router = APIRouter()
log = logging.getLogger(__name__)

RETURN_ROLES = (*HQ_QUALITY_ROLES, Role.SUPPLIER)
DEBIT_NOTE_ROLES = (*HQ_QUALITY_ROLES, Role.FINANCE, Role.SUPPLIER)
ReturnsUser = Annotated[Principal, Depends(require_roles(*RETURN_ROLES))]
DebitNotesUser = Annotated[Principal, Depends(require_roles(*DEBIT_NOTE_ROLES))]
SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]

PER_PAGE = 25

RETURN_STATUS_LABELS: dict[ReturnStatus, str] = {
    ReturnStatus.AWAITING_ACKNOWLEDGEMENT: lazy("Awaiting the supplier's acknowledgement"),
    ReturnStatus.ACKNOWLEDGED: lazy("Acknowledged"),
}
DEBIT_NOTE_KIND_LABELS: dict[DebitNoteKind, str] = {
    DebitNoteKind.CONCESSION: lazy("Concession deduction"),
    DebitNoteKind.RETURN_TO_VENDOR: lazy("Returned goods"),
}
DEBIT_NOTE_STATUS_LABELS: dict[DebitNoteStatus, str] = {
    DebitNoteStatus.OPEN: lazy("Open"),
    DebitNoteStatus.RECONCILED: lazy("Reconciled"),
}
ACKNOWLEDGED = lazy("Return %(number)s acknowledged; debit note %(debit_note)s raised.")
ALREADY_ACKNOWLEDGED = lazy("This return has already been acknowledged.")
NOT_REACHABLE = lazy("The inspection process cannot be reached right now. Nothing was changed.")
TRY_AGAIN = lazy("This could not be done right now. Please try again.")
NOTE_TOO_LONG = lazy("The note is too long (%(max)s characters at most).")


def _allowed(user: Principal) -> None:
    """HQ users (their role was checked) and suppliers; nobody from a distributor."""
    if not user.is_hq and user.org_kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=403)


def _suppliers(scope: Scope, user: Principal) -> list[Organisation]:
    if not user.is_hq:
        return []
    stmt = scope.select(Organisation).where(col(Organisation.kind) == OrgKind.SUPPLIER)
    return list(scope.session.execute(stmt.order_by(col(Organisation.name))).scalars())


def _names(scope: Scope, rows: list[Any]) -> dict[str, Any]:
    names = names_for(
        scope.session,
        org_ids={r.supplier_id for r in rows},
        location_ids={getattr(r, "location_id", None) for r in rows},
        user_ids={getattr(r, "acknowledged_by_user_id", None) for r in rows},
        sku_ids={r.sku_id for r in rows},
    )
    return {**names, "sku_labels": {sku_id: sku_label(sku) for sku_id, sku in names["skus"].items()}}


def _lots(scope: Scope, inspection_ids: set[int]) -> dict[str, Any]:
    """The inspected lots the rows are about, by inspection id: `lots` (shipment, line, lot and batch,
    for everyone who sees the row) and `inspection_numbers` (to link to, if this user may open
    inspection pages)."""
    if not inspection_ids:
        return {"lots": {}, "inspection_numbers": {}}
    stmt = scope.select(Inspection).where(col(Inspection.id).in_(inspection_ids))
    lots = {row.id: row for row in scope.session.execute(stmt).scalars() if row.id is not None}
    may_link = inspections.may_view(scope.principal)
    return {"lots": lots, "inspection_numbers": {i: row.number for i, row in lots.items() if may_link}}


def _labels() -> dict[str, Any]:
    return {
        "return_status_labels": RETURN_STATUS_LABELS,
        "kind_labels": DEBIT_NOTE_KIND_LABELS,
        "debit_status_labels": DEBIT_NOTE_STATUS_LABELS,
    }


def net_value(rtv: ReturnToVendor) -> Decimal:
    return line_net(rtv.unit_price, rtv.quantity)  # rounded as its debit note is


# --- returns to vendor ------------------------------------------------------------------------------


@router.get("/returns")
def return_list(
    request: Request,
    user: ReturnsUser,
    scope: OrgScope,
    status: str = "",
    supplier: str = "",
    page: PageNumber = 1,
) -> Response:
    _allowed(user)
    stmt = scope.select(ReturnToVendor).order_by(
        col(ReturnToVendor.created_at).desc(), col(ReturnToVendor.id).desc()
    )
    status = status if status in {s.value for s in ReturnStatus} else ""
    if status:
        stmt = stmt.where(col(ReturnToVendor.status) == ReturnStatus(status))
    supplier_id = parse_row_id(supplier) if user.is_hq else None
    if supplier_id is not None:
        stmt = stmt.where(col(ReturnToVendor.supplier_id) == supplier_id)
    rows = scope.page(stmt, page, PER_PAGE)
    query = {"status": status, "supplier": str(supplier_id) if supplier_id is not None else ""}
    return render(
        request,
        "returns/list.html",
        {
            "user": user,
            "rows": rows,
            "filters": query,
            "page_params": "&" + urlencode({k: v for k, v in query.items() if v}),
            "suppliers": _suppliers(scope, user),
            "statuses": list(ReturnStatus),
            **_lots(scope, {r.inspection_id for r in rows}),
            "net_value": net_value,
            **_names(scope, list(rows)),
            **_labels(),
        },
        block="results",
    )


def _return_or_404(scope: Scope, number: str) -> ReturnToVendor:
    row: ReturnToVendor | None = scope.session.execute(
        scope.select(ReturnToVendor).where(col(ReturnToVendor.number) == number)
    ).scalar_one_or_none()
    if row is None:
        raise HTTPException(status_code=404)
    return row


def _can_acknowledge(user: Principal, rtv: ReturnToVendor) -> bool:
    return (
        user.org_kind is OrgKind.SUPPLIER
        and user.has_role(Role.SUPPLIER)
        and user.organisation_id == rtv.supplier_id
        and rtv.status is ReturnStatus.AWAITING_ACKNOWLEDGEMENT
    )


def _detail(
    request: Request,
    user: Principal,
    scope: Scope,
    rtv: ReturnToVendor,
    *,
    note: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    debit_notes = list(
        scope.session.execute(
            scope.select(DebitNote)
            .where(col(DebitNote.return_id) == rtv.id)
            .order_by(col(DebitNote.created_at), col(DebitNote.id))
        ).scalars()
    )
    return render(
        request,
        "returns/detail.html",
        {
            "user": user,
            "rtv": rtv,
            "debit_notes": debit_notes,
            "net_value": net_value(rtv),
            **_lots(scope, {rtv.inspection_id}),
            "can_acknowledge": _can_acknowledge(user, rtv),
            "note": note,
            "error": error,
            "notes_max": NOTES_MAX_LENGTH,
            **_names(scope, [rtv]),
            **_labels(),
        },
        status_code=status_code,
    )


@router.get("/returns/{number}")
def return_detail(request: Request, number: str, user: ReturnsUser, scope: OrgScope) -> Response:
    _allowed(user)
    return _detail(request, user, scope, _return_or_404(scope, number))


@router.post("/returns/{number}/acknowledge")
def acknowledge_return(
    request: Request, number: str, user: SupplierUser, scope: OrgScope, form: FormDep
) -> Response:
    if user.org_kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=403)
    rtv = _return_or_404(scope, number)  # another supplier's return: 404, as by URL
    if rtv.supplier_id != user.organisation_id:
        raise HTTPException(status_code=404)
    raw = form.get("note", "")
    note = raw.strip() if isinstance(raw, str) else ""
    if len(note) > NOTES_MAX_LENGTH:
        error = i18n.gettext(NOTE_TOO_LONG, max=NOTES_MAX_LENGTH)
        return _detail(request, user, scope, rtv, note=note, error=error, status_code=400)
    inspection = scope.get(Inspection, rtv.inspection_id)
    acknowledge_id = update_id(submitted_form_id(form), InspectionWorkflow.acknowledge_return, user)
    if rtv.status is not ReturnStatus.AWAITING_ACKNOWLEDGEMENT:
        # Answered from the row, unless it was this very form that acknowledged it a moment ago.
        update = InspectionWorkflow.acknowledge_return
        earlier = repeated_form_result(request, scope.session, inspection.workflow_id, update, acknowledge_id)
        if earlier is None:
            error = i18n.gettext(ALREADY_ACKNOWLEDGED)
            return _detail(request, user, scope, rtv, note=note, error=error, status_code=400)
        error, debit_note = "", earlier.result.debit_note_number
    else:
        error, debit_note = _acknowledge(request, scope, inspection.workflow_id, user, note, acknowledge_id)
    scope.session.expire_all()
    rtv = _return_or_404(scope, number)
    if error:
        return _detail(request, user, scope, rtv, note=note, error=error, status_code=400)
    flash(scope.session, request, i18n.gettext(ACKNOWLEDGED, number=rtv.number, debit_note=debit_note))
    return RedirectResponse(f"/returns/{rtv.number}", status_code=303)


def _acknowledge(
    request: Request, scope: Scope, workflow_id: str, user: Principal, note: str, acknowledge_id: str | None
) -> tuple[str, str]:
    """Call `acknowledge_return`: ("", debit note number) when done, else (message, ""). The return
    is read again afterwards (giving the connection back expires it)."""
    client = await_on_loop(scope.session, temporal_client, request)
    if client is None:
        return i18n.gettext(NOT_REACHABLE), ""
    handle = client.get_workflow_handle(workflow_id)
    try:
        result = await_on_loop(
            scope.session,
            partial(handle.execute_update, id=acknowledge_id),
            InspectionWorkflow.acknowledge_return,
            AcknowledgeReturnInput(actor_user_id=user.user_id, note=note),
        )
    except WorkflowUpdateFailedError as exc:
        return rejection_message(exc), ""
    except RPCError as exc:
        log.error("acknowledge_return on %s failed: %s", workflow_id, exc)
        return i18n.gettext(TRY_AGAIN), ""
    return "", result.debit_note_number


# --- debit notes ------------------------------------------------------------------------------------


@router.get("/debit-notes")
def debit_note_list(
    request: Request,
    user: DebitNotesUser,
    scope: OrgScope,
    status: str = "",
    supplier: str = "",
    page: PageNumber = 1,
) -> Response:
    _allowed(user)
    stmt = scope.select(DebitNote).order_by(col(DebitNote.created_at).desc(), col(DebitNote.id).desc())
    status = status if status in {s.value for s in DebitNoteStatus} else ""
    if status:
        stmt = stmt.where(col(DebitNote.status) == DebitNoteStatus(status))
    supplier_id = parse_row_id(supplier) if user.is_hq else None
    if supplier_id is not None:
        stmt = stmt.where(col(DebitNote.supplier_id) == supplier_id)
    rows = scope.page(stmt, page, PER_PAGE)
    may_open_returns = user.has_role(*RETURN_ROLES)  # finance reads debit notes only
    return_ids = {r.return_id for r in rows if r.return_id is not None and may_open_returns}
    returns = (
        {
            rtv.id: rtv.number
            for rtv in scope.session.execute(
                scope.select(ReturnToVendor).where(col(ReturnToVendor.id).in_(return_ids))
            ).scalars()
        }
        if return_ids
        else {}
    )
    query = {"status": status, "supplier": str(supplier_id) if supplier_id is not None else ""}
    return render(
        request,
        "returns/debit_notes.html",
        {
            "user": user,
            "rows": rows,
            "filters": query,
            "page_params": "&" + urlencode({k: v for k, v in query.items() if v}),
            "suppliers": _suppliers(scope, user),
            "statuses": list(DebitNoteStatus),
            "return_numbers": returns,
            **_lots(scope, {r.inspection_id for r in rows}),
            **_names(scope, list(rows)),
            **_labels(),
        },
        block="results",
    )
