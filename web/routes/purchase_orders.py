"""Purchase-order pages (replenishment, DESIGN 4.1) for every role involved.

- Store / distributor: "my orders" `/replenishment` (the catalogue and request that create them:
  web/routes/replenishment.py).
- Supplier: `/supplier/purchase-orders` (awaiting confirmation by default); confirm lines or reject.
- HQ: all purchase orders `/purchase-orders` with filters; the buyer cancels or short-closes lines.
- Everyone: the one document page `/purchase-orders/{number}` with lines, shipments, the live state
  from the workflow and the timeline; actions appear per role and state.

Routes only authenticate, authorize (role: 403; organisation: 404 through `OrgScope`), parse and
call the workflow; the workflow's validators decide what the current state allows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col
from starlette.responses import Response

from supplychain import i18n
from supplychain.events import timeline
from supplychain.models import (
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
)
from supplychain.pdf_documents import PURCHASE_ORDER_TEMPLATE
from supplychain.principal import Principal
from supplychain.purchasing import may_receive
from supplychain.replenishment import (
    business_today,
)
from web.deps import (
    CurrentUser,
    FieldsDep,
    OrgScope,
    PageNumber,
    RowId,
    Scope,
    names_for,
    parse_row_id,
    require_roles,
)
from web.flash import flash
from web.pdfs import pdf_response
from web.purchasing import (
    OPEN_PO_STATUSES,
    form_text,
    form_update_refusal,
    labels,
    parse_date,
    parse_quantity,
    po_lines,
    po_or_404,
    po_shipments,
    purchase_order_document,
    query_state,
)
from web.templating import render
from web.workflow_calls import await_on_loop
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import (
    CancelPOInput,
    ConfirmLinesInput,
    LineConfirmation,
    RejectPOInput,
    ReplenishmentWorkflow,
    ShortCloseLineInput,
)

router = APIRouter()
log = logging.getLogger(__name__)

StoreUser = Annotated[Principal, Depends(require_roles(Role.STORE))]
SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
BuyerUser = Annotated[Principal, Depends(require_roles(Role.BUYER))]
# HQ roles that work with every purchase order (the store role sees its own through /replenishment).
HQ_PO_ROLES = (Role.BUYER, Role.APPROVER, Role.FINANCE, Role.ADMIN, Role.WAREHOUSE, Role.INSPECTOR)
HqUser = Annotated[Principal, Depends(require_roles(*HQ_PO_ROLES))]

PER_PAGE = 25
# Statuses in which the supplier may still confirm (more of) a line.
CONFIRMABLE = frozenset({POStatus.SENT, POStatus.CONFIRMED, POStatus.IN_DELIVERY})
CANCELLABLE = frozenset({POStatus.PENDING_APPROVAL, POStatus.SENT, POStatus.CONFIRMED})


# --- lists ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListView:
    """One of the three purchase-order lists: where it lives and which filters it offers."""

    title: str
    base_url: str
    default_status: str = "all"
    hq_filters: bool = False  # supplier, store and date range


STORE_LIST = ListView(i18n.lazy("My orders"), "/replenishment")
SUPPLIER_LIST = ListView(
    i18n.lazy("Purchase orders"), "/supplier/purchase-orders", default_status=POStatus.SENT
)
HQ_LIST = ListView(i18n.lazy("All purchase orders"), "/purchase-orders", hq_filters=True)


def status_condition(status: str) -> ColumnElement[bool] | None:
    if status == "open":
        return col(PurchaseOrder.status).in_(OPEN_PO_STATUSES)
    if status in {s.value for s in POStatus}:
        return col(PurchaseOrder.status) == POStatus(status)
    return None


def _date_or_none(text: str, errors: dict[str, str], name: str) -> date | None:
    if not text.strip():
        return None
    value, error = parse_date(text)
    if error:
        errors[name] = error
    return value


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BUSINESS_TIMEZONE)


def _po_list(
    request: Request,
    user: Principal,
    scope: Scope,
    view: ListView,
    *,
    status: str | None,
    supplier: str = "",
    store: str = "",
    date_from: str = "",
    date_to: str = "",
    page: PageNumber = 1,
) -> Response:
    status = status if status is not None else view.default_status
    errors: dict[str, str] = {}
    stmt = scope.select(PurchaseOrder).order_by(
        col(PurchaseOrder.created_at).desc(), col(PurchaseOrder.id).desc()
    )
    condition = status_condition(status)
    if condition is not None:
        stmt = stmt.where(condition)
    filters: dict[str, Any] = {"status": status}
    if view.hq_filters:
        supplier_id, store_id = parse_row_id(supplier), parse_row_id(store)
        start = _date_or_none(date_from, errors, "date_from")
        end = _date_or_none(date_to, errors, "date_to")
        if supplier_id:
            stmt = stmt.where(col(PurchaseOrder.supplier_id) == supplier_id)
        if store_id:
            stmt = stmt.where(col(PurchaseOrder.requested_for_location_id) == store_id)
        if start:
            stmt = stmt.where(col(PurchaseOrder.created_at) >= _start_of(start))
        if end:
            stmt = stmt.where(col(PurchaseOrder.created_at) < _start_of(end + timedelta(days=1)))
        filters.update(supplier=supplier, store=store, date_from=date_from, date_to=date_to)
    orders = scope.page(stmt, page, per_page=PER_PAGE)
    ctx: dict[str, Any] = {
        "user": user,
        "view": view,
        "orders": orders,
        "filters": filters,
        "errors": errors,
        "query": "&" + urlencode(filters),
        "status_options": ["all", "open", *POStatus],
        "line_counts": _line_counts(scope.session, orders),
        **labels(),
        **names_for(
            scope.session,
            org_ids={po.supplier_id for po in orders},
            location_ids={po.requested_for_location_id for po in orders}
            | {po.ship_to_location_id for po in orders},
        ),
    }
    if view.hq_filters:
        ctx["supplier_options"] = (
            scope.session.execute(
                scope.select(Organisation)
                .where(col(Organisation.kind) == OrgKind.SUPPLIER)
                .order_by(col(Organisation.name))
            )
            .scalars()
            .all()
        )
        ctx["store_options"] = (
            scope.session.execute(
                scope.select(Location)
                .where(col(Location.kind) == LocationKind.STORE)
                .order_by(col(Location.code))
            )
            .scalars()
            .all()
        )
    return render(request, "purchase_orders/list.html", ctx, block="results")


def _line_counts(session: Session, orders: list[PurchaseOrder]) -> dict[int, int]:
    ids = [po.id for po in orders]
    if not ids:
        return {}
    rows = session.execute(
        select(col(PurchaseOrderLine.purchase_order_id), func.count())
        .where(col(PurchaseOrderLine.purchase_order_id).in_(ids))
        .group_by(col(PurchaseOrderLine.purchase_order_id))
    ).all()
    return {po_id: int(n) for po_id, n in rows}


@router.get("/replenishment")
def my_orders(
    request: Request, user: StoreUser, scope: OrgScope, status: str | None = None, page: PageNumber = 1
) -> Response:
    return _po_list(request, user, scope, STORE_LIST, status=status, page=page)


@router.get("/supplier/purchase-orders")
def supplier_orders(
    request: Request, user: SupplierUser, scope: OrgScope, status: str | None = None, page: PageNumber = 1
) -> Response:
    return _po_list(request, user, scope, SUPPLIER_LIST, status=status, page=page)


@router.get("/purchase-orders")
def all_orders(
    request: Request,
    user: HqUser,
    scope: OrgScope,
    status: str | None = None,
    supplier: str = "",
    store: str = "",
    date_from: str = "",
    date_to: str = "",
    page: PageNumber = 1,
) -> Response:
    return _po_list(
        request,
        user,
        scope,
        HQ_LIST,
        status=status,
        supplier=supplier,
        store=store,
        date_from=date_from,
        date_to=date_to,
        page=page,
    )


# --- home-page counts -------------------------------------------------------------------------------


def count_pos(scope: Scope, *statuses: POStatus) -> int:
    stmt = scope.select(PurchaseOrder).where(col(PurchaseOrder.status).in_(statuses))
    counted = select(func.count()).select_from(stmt.subquery())
    return int(scope.session.execute(counted).scalar_one())


def open_orders_count(scope: Scope) -> int:
    return count_pos(scope, *OPEN_PO_STATUSES)


def to_confirm_count(scope: Scope) -> int:
    return count_pos(scope, POStatus.SENT)


# --- the document page ------------------------------------------------------------------------------


def _actions(
    user: Principal, po: PurchaseOrder, lines: list[PurchaseOrderLine], has_shipments: bool
) -> dict[str, bool]:
    is_supplier = user.has_role(Role.SUPPLIER) and user.organisation_id == po.supplier_id
    is_buyer = user.has_role(Role.BUYER) and user.is_hq
    open_lines = [line for line in lines if line.status == POLineStatus.OPEN]
    return {
        "confirm": is_supplier
        and po.status in CONFIRMABLE
        and any(
            line.quantity_confirmed is None or line.quantity_confirmed < line.quantity_ordered
            for line in open_lines
        ),
        "reject": is_supplier and po.status == POStatus.SENT,
        "ship": is_supplier
        and po.status in {POStatus.CONFIRMED, POStatus.IN_DELIVERY}
        and any((line.quantity_confirmed or 0) > line.quantity_shipped for line in open_lines),
        "cancel": is_buyer and po.status in CANCELLABLE and not has_shipments,
        "short_close": is_buyer
        and po.status in {POStatus.CONFIRMED, POStatus.IN_DELIVERY}
        and bool(open_lines),
        "receive": may_receive(user, po),
    }


def _detail(
    request: Request,
    user: Principal,
    scope: Scope,
    po: PurchaseOrder,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    session = scope.session
    # The live state first: the query runs with the database connection given back.
    state = await_on_loop(session, query_state, request, po.workflow_id, ReplenishmentWorkflow.get_state)
    lines = po_lines(session, po)
    shipments = po_shipments(session, po)
    ctx = {
        "user": user,
        "po": po,
        "lines": lines,
        "shipments": shipments,
        "state": state,
        "state_lines": {line.line_no: line for line in state.lines} if state else {},
        "timeline": timeline(session, "purchase_order", po.number),
        "actions": _actions(user, po, lines, bool(shipments)),
        "error": error,
        "form": form or {},
        "today": business_today(),
        **labels(),
        **names_for(
            session,
            org_ids={po.supplier_id, po.requester_org_id},
            location_ids={po.requested_for_location_id, po.ship_to_location_id},
            user_ids={po.requester_user_id},
            sku_ids={line.sku_id for line in lines},
        ),
    }
    return render(request, "purchase_orders/detail.html", ctx, status_code=status_code, block=block)


@router.get("/purchase-orders/{number}")
def po_detail(request: Request, number: str, user: CurrentUser, scope: OrgScope) -> Response:
    return _detail(request, user, scope, po_or_404(scope, number))


@router.get("/purchase-orders/{number}/pdf")
def po_pdf(number: str, user: CurrentUser, scope: OrgScope) -> Response:
    """The purchase order as an A4 PDF in the user's language, for whoever may see its page."""
    po = po_or_404(scope, number)
    document = purchase_order_document(scope.session, po)
    return pdf_response(scope.session, PURCHASE_ORDER_TEMPLATE, document, f"{po.number}.pdf")


@router.get("/purchase-orders/{number}/state")
def po_live_state(request: Request, number: str, user: CurrentUser, scope: OrgScope) -> Response:
    """htmx: the live-state panel of the document page, refreshed while the page is open."""
    return _detail(request, user, scope, po_or_404(scope, number), block="live_state")


def _act(
    request: Request,
    user: Principal,
    scope: Scope,
    po: PurchaseOrder,
    update: Any,
    arg: Any,
    *,
    done: str,
    form: dict[str, str],
) -> Response:
    """Call one Update (`form_update_refusal`); success: flash and redirect to the document;
    refused: the reason, 400."""
    final_message = i18n.gettext(
        "This purchase order is %(status)s; nothing can be changed any more.",
        status=i18n.gettext(labels()["po_status_labels"][po.status]),
    )
    error = form_update_refusal(
        request,
        scope.session,
        user,
        po.workflow_id,
        update,
        arg,
        form,
        is_final=po.status.is_final,
        final_message=final_message,
    )
    if error:
        return _detail(request, user, scope, po, error=error, form=form, status_code=400)
    flash(scope.session, request, done)
    return RedirectResponse(f"/purchase-orders/{po.number}", status_code=303)


def _form_error(
    request: Request, user: Principal, scope: Scope, po: PurchaseOrder, error: str, form: dict[str, str]
) -> Response:
    return _detail(request, user, scope, po, error=error, form=form, status_code=400)


@router.post("/purchase-orders/{number}/confirm")
def confirm_lines(
    request: Request, number: str, user: SupplierUser, scope: OrgScope, form: FieldsDep
) -> Response:
    po = po_or_404(scope, number)
    confirmations: list[LineConfirmation] = []
    for line in po_lines(scope.session, po):
        raw_qty = form.get(f"quantity-{line.line_no}", "").strip()
        raw_date = form.get(f"promised_date-{line.line_no}", "").strip()
        if not raw_qty and not raw_date:
            continue
        quantity, error = parse_quantity(raw_qty)
        if error:
            return _form_error(
                request,
                user,
                scope,
                po,
                i18n.gettext("Line %(line)s: %(error)s", line=line.line_no, error=error),
                form,
            )
        promised: date | None = None
        if raw_date:
            promised, error = parse_date(raw_date)
            if error:
                return _form_error(
                    request,
                    user,
                    scope,
                    po,
                    i18n.gettext("Line %(line)s: %(error)s", line=line.line_no, error=error),
                    form,
                )
        assert quantity is not None
        confirmations.append(
            LineConfirmation(line_no=line.line_no, quantity=quantity, promised_date=promised)
        )
    if not confirmations:
        return _form_error(
            request,
            user,
            scope,
            po,
            i18n.gettext("Enter a quantity and a promised date for at least one line."),
            form,
        )
    return _act(
        request,
        user,
        scope,
        po,
        ReplenishmentWorkflow.confirm_lines,
        ConfirmLinesInput(actor_user_id=user.user_id, lines=confirmations),
        done=i18n.gettext("The lines were confirmed."),
        form=form,
    )


@router.post("/purchase-orders/{number}/reject")
def reject_po(
    request: Request, number: str, user: SupplierUser, scope: OrgScope, form: FieldsDep
) -> Response:
    po = po_or_404(scope, number)
    reason = form_text(form, "reason")
    if not reason:
        return _form_error(
            request, user, scope, po, i18n.gettext("Give a reason for rejecting the order."), form
        )
    return _act(
        request,
        user,
        scope,
        po,
        ReplenishmentWorkflow.reject_po,
        RejectPOInput(actor_user_id=user.user_id, reason=reason),
        done=i18n.gettext("The purchase order was rejected."),
        form=form,
    )


@router.post("/purchase-orders/{number}/cancel")
def cancel_po(request: Request, number: str, user: BuyerUser, scope: OrgScope, form: FieldsDep) -> Response:
    po = po_or_404(scope, number)
    reason = form_text(form, "reason")
    if not reason:
        return _form_error(
            request, user, scope, po, i18n.gettext("Give a reason for cancelling the order."), form
        )
    return _act(
        request,
        user,
        scope,
        po,
        ReplenishmentWorkflow.cancel_po,
        CancelPOInput(actor_user_id=user.user_id, reason=reason),
        done=i18n.gettext("The purchase order was cancelled."),
        form=form,
    )


@router.post("/purchase-orders/{number}/lines/{line_no}/short-close")
def short_close_line(
    request: Request, number: str, line_no: RowId, user: BuyerUser, scope: OrgScope, form: FieldsDep
) -> Response:
    po = po_or_404(scope, number)
    return _act(
        request,
        user,
        scope,
        po,
        ReplenishmentWorkflow.short_close_line,
        ShortCloseLineInput(actor_user_id=user.user_id, line_no=line_no, reason=form_text(form, "reason")),
        done=i18n.gettext("Line %(line)s was short-closed.", line=line_no),
        form=form,
    )
