"""Purchase-order pages (replenishment, DESIGN 4.1) for every role involved.

- Store / distributor: the catalogue `/replenishment/new` (what it may order, with an htmx preview
  of the pack-size rounding and the split into one PO per supplier), "my orders" `/replenishment`.
- Supplier: `/supplier/purchase-orders` (awaiting confirmation by default); confirm lines or reject.
- HQ: all purchase orders `/purchase-orders` with filters; the buyer cancels or short-closes lines.
- Everyone: the one document page `/purchase-orders/{number}` with lines, shipments, the live state
  from the workflow and the timeline; actions appear per role and state.

Routes only authenticate, authorize (role: 403; organisation: 404 through `OrgScope`), parse and
call the workflow; the workflow's validators decide what the current state allows.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from starlette.responses import Response
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

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
    RequestSubmission,
    Role,
    Sku,
)
from supplychain.numbering import reserve_number
from supplychain.principal import Principal
from supplychain.replenishment import (
    CatalogueItem,
    business_today,
    orderable_items,
    regional_warehouse_for,
    replenishment_input,
    with_batch_tracking,
)
from supplychain.rules.ordering import (
    OrderQuantity,
    PlannedOrder,
    SupplierOffer,
    needs_approval,
    split_by_supplier,
)
from supplychain.security import new_token
from supplychain.settings import settings
from web.deps import CurrentUser, OrgScope, Scope, SessionDep, names_for, require_roles
from web.flash import flash
from web.purchasing import (
    OPEN_PO_STATUSES,
    form_text,
    labels,
    parse_date,
    parse_quantity,
    po_lines,
    po_or_404,
    po_shipments,
    query_state,
    run_update,
    sku_label,
    temporal_client,
)
from web.templating import render
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import (
    CancelPOInput,
    ConfirmLinesInput,
    LineConfirmation,
    RejectPOInput,
    ReplenishmentWorkflow,
    ShortCloseLineInput,
    WaitRecordedInput,
    po_workflow_id,
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
QTY_FIELD = "qty-"
# Statuses in which the supplier may still confirm (more of) a line.
CONFIRMABLE = frozenset({POStatus.SENT, POStatus.CONFIRMED, POStatus.IN_DELIVERY})
CANCELLABLE = frozenset({POStatus.PENDING_APPROVAL, POStatus.SENT, POStatus.CONFIRMED})


# --- the catalogue and a new request ------------------------------------------------------------


@dataclass
class RequestForm:
    """What the store typed, parsed: valid requests, and messages beside lines or above the list."""

    values: dict[int, str]  # sku id -> the text as typed, shown again
    errors: dict[int, str]  # sku id -> message beside that line
    general_errors: list[str]
    requests: list[tuple[SupplierOffer, int]]
    submission_token: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general_errors and bool(self.requests)


SUBMISSION_FIELD = "submission_token"
SUBMISSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def parse_request(session: Session, form: Any, items: dict[int, CatalogueItem]) -> RequestForm:
    parsed = RequestForm(values={}, errors={}, general_errors=[], requests=[])
    parsed.submission_token = form_text(form, SUBMISSION_FIELD, 64)
    if not SUBMISSION_TOKEN.fullmatch(parsed.submission_token):
        parsed.submission_token = new_token()
        parsed.general_errors.append(
            i18n.gettext("This form has expired. Please check the quantities and send it again.")
        )
    for key in form:
        if not key.startswith(QTY_FIELD):
            continue
        raw = form_text(form, key, 32)
        if not raw:
            continue
        suffix = key[len(QTY_FIELD) :]
        sku_id = int(suffix) if suffix.isdigit() and len(suffix) < 10 else None
        if sku_id is None or sku_id not in items:
            sku = session.get(Sku, sku_id) if sku_id is not None else None
            if sku is None:
                parsed.general_errors.append(i18n.gettext("An item in the request is not a known SKU."))
            else:
                parsed.general_errors.append(
                    i18n.gettext(
                        "%(sku)s cannot be ordered: it has no active supplier price.", sku=sku_label(sku)
                    )
                )
            continue
        parsed.values[sku_id] = raw
        quantity, error = parse_quantity(raw)
        if error:
            parsed.errors[sku_id] = error
        elif quantity:
            parsed.requests.append((items[sku_id].offer, quantity))
    if not parsed.requests and not parsed.errors and not parsed.general_errors:
        parsed.general_errors.append(i18n.gettext("Enter a quantity for at least one item."))
    return parsed


def rounding_note(quantity: OrderQuantity, offer: SupplierOffer) -> str:
    if quantity.raised_to_moq and quantity.rounded_for_pack:
        return i18n.gettext(
            "Raised to the minimum order quantity of %(moq)s, then rounded up to whole packs of %(pack)s.",
            moq=offer.moq,
            pack=offer.pack_size,
        )
    if quantity.raised_to_moq:
        return i18n.gettext("Raised to the minimum order quantity of %(moq)s.", moq=offer.moq)
    if quantity.rounded_for_pack:
        return i18n.gettext("Rounded up to whole packs of %(pack)s.", pack=offer.pack_size)
    return ""


def claim_submission(session: Session, *, token: str, user_id: int) -> RequestSubmission | None:
    """Claim a form's token; None when it was claimed before (double click, resent POST)."""
    submission = RequestSubmission(token=token, user_id=user_id)
    session.add(submission)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return submission


def _request_context(
    session: Session, user: Principal, items: dict[int, CatalogueItem], parsed: RequestForm | None
) -> dict[str, Any]:
    plan = split_by_supplier(parsed.requests) if parsed else []
    offers = {(o.supplier_id, o.sku_id): o for o, _ in (parsed.requests if parsed else [])}
    notes = {
        (order.supplier_id, line.line_no): rounding_note(
            line.quantity, offers[(order.supplier_id, line.sku_id)]
        )
        for order in plan
        for line in order.lines
    }
    names = names_for(session, org_ids={i.offer.supplier_id for i in items.values()})
    return {
        "user": user,
        "items": list(items.values()),
        "form": parsed,
        # Kept across a re-rendered form, so correcting a mistake and sending again still works.
        "submission_token": parsed.submission_token if parsed else new_token(),
        "plan": plan,
        "notes": notes,
        "approvals": {o.supplier_id: needs_approval(o.total_amount, user.approval_limit) for o in plan},
        "plan_total": sum((o.total_amount for o in plan), start=Decimal("0.00")),
        "skus": {sku_id: item.sku for sku_id, item in items.items()},
        "orgs": names["orgs"],
    }


@router.get("/replenishment/new")
def new_request(request: Request, user: StoreUser, session: SessionDep) -> Response:
    items = orderable_items(session, user)
    return render(request, "purchase_orders/new.html", _request_context(session, user, items, None))


@router.post("/replenishment/preview")
async def preview_request(request: Request, user: StoreUser, session: SessionDep) -> Response:
    """htmx: the rounding and the split into purchase orders for what is typed so far."""
    items = orderable_items(session, user)
    parsed = parse_request(session, await request.form(), items)
    ctx = _request_context(session, user, items, parsed)
    return render(request, "purchase_orders/new.html", ctx, block="preview")


@router.post("/replenishment/new")
async def submit_request(request: Request, user: StoreUser, session: SessionDep) -> Response:
    items = orderable_items(session, user)
    parsed = parse_request(session, await request.form(), items)
    ship_to = regional_warehouse_for(session, user)
    if ship_to is None:
        parsed.general_errors.append(
            i18n.gettext("Your account has no store location to order for. Please ask an administrator.")
        )
    client = await temporal_client(request) if parsed.ok else None
    if parsed.ok and client is None:
        parsed.general_errors.append(
            i18n.gettext(
                "The order process cannot be reached right now. Nothing was ordered; please try again."
            )
        )
    if not parsed.ok or client is None or ship_to is None:
        ctx = _request_context(session, user, items, parsed)
        return render(request, "purchase_orders/new.html", ctx, status_code=400)

    submission = claim_submission(session, token=parsed.submission_token, user_id=user.user_id)
    if submission is None:
        flash(session, request, i18n.gettext("This request was already sent; here are your orders."), "info")
        return RedirectResponse("/replenishment", status_code=303)
    numbers, failed = await _start_orders(session, client, user, ship_to, split_by_supplier(parsed.requests))
    submission.po_numbers = ",".join(numbers)
    session.add(submission)
    session.commit()
    if numbers:
        flash(
            session,
            request,
            i18n.ngettext(
                "Purchase order %(numbers)s was created.",
                "Purchase orders %(numbers)s were created, one per supplier.",
                len(numbers),
                numbers=", ".join(numbers),
            ),
        )
    if failed:
        message = i18n.gettext(
            "The order process could not take the rest of your request right now; please check your "
            "orders and send what is missing again."
        )
        if not numbers:
            parsed.general_errors.append(message)
            return render(
                request,
                "purchase_orders/new.html",
                _request_context(session, user, items, parsed),
                status_code=503,
            )
        flash(session, request, message, "error")
    return RedirectResponse("/replenishment", status_code=303)


async def _start_orders(
    session: Session, client: Client, user: Principal, ship_to: Location, plan: list[PlannedOrder]
) -> tuple[list[str], bool]:
    """Start one ReplenishmentWorkflow per planned PO; (numbers started, whether one failed)."""
    year = datetime.now(BUSINESS_TIMEZONE).year
    numbers: list[str] = []
    for planned in plan:
        number = reserve_number(session, "PO", year)
        try:
            handle = await client.start_workflow(
                ReplenishmentWorkflow.run,
                with_batch_tracking(session, replenishment_input(number, planned, user, ship_to)),
                id=po_workflow_id(number),
                task_queue=settings.TEMPORAL_TASK_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            # Read-your-writes: the PO row exists once this returns, so "my orders" lists it.
            await handle.execute_update(ReplenishmentWorkflow.wait_recorded, WaitRecordedInput())
        except (RPCError, WorkflowAlreadyStartedError, WorkflowUpdateFailedError) as exc:
            log.error("Starting purchase order %s failed: %r", number, exc)
            return numbers, True
        numbers.append(number)
    return numbers, False


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


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip().isdigit() and len(text.strip()) < 10 else None


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
    page: int = 1,
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
        supplier_id, store_id = _int_or_none(supplier), _int_or_none(store)
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
    request: Request, user: StoreUser, scope: OrgScope, status: str | None = None, page: int = 1
) -> Response:
    return _po_list(request, user, scope, STORE_LIST, status=status, page=page)


@router.get("/supplier/purchase-orders")
def supplier_orders(
    request: Request, user: SupplierUser, scope: OrgScope, status: str | None = None, page: int = 1
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
    page: int = 1,
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
        "receive": user.has_role(Role.WAREHOUSE) and user.is_hq,
    }


async def _detail(
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
    lines = po_lines(session, po)
    shipments = po_shipments(session, po)
    state = await query_state(request, po.workflow_id, ReplenishmentWorkflow.get_state)
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
async def po_detail(request: Request, number: str, user: CurrentUser, scope: OrgScope) -> Response:
    return await _detail(request, user, scope, po_or_404(scope, number))


@router.get("/purchase-orders/{number}/state")
async def po_live_state(request: Request, number: str, user: CurrentUser, scope: OrgScope) -> Response:
    """htmx: the live-state panel of the document page, refreshed while the page is open."""
    return await _detail(request, user, scope, po_or_404(scope, number), block="live_state")


async def _act(
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
    """Call one Update; success: flash and redirect to the document; refused: the reason, 400."""
    if po.status.is_final:
        error: str | None = i18n.gettext(
            "This purchase order is %(status)s; nothing can be changed any more.",
            status=i18n.gettext(labels()["po_status_labels"][po.status]),
        )
    else:
        error = await run_update(request, po.workflow_id, update, arg)
    if error:
        return await _detail(request, user, scope, po, error=error, form=form, status_code=400)
    flash(scope.session, request, done)
    return RedirectResponse(f"/purchase-orders/{po.number}", status_code=303)


async def _form_dict(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str) and key != "csrf_token"}


async def _form_error(
    request: Request, user: Principal, scope: Scope, po: PurchaseOrder, error: str, form: dict[str, str]
) -> Response:
    return await _detail(request, user, scope, po, error=error, form=form, status_code=400)


@router.post("/purchase-orders/{number}/confirm")
async def confirm_lines(request: Request, number: str, user: SupplierUser, scope: OrgScope) -> Response:
    po = po_or_404(scope, number)
    form = await _form_dict(request)
    confirmations: list[LineConfirmation] = []
    for line in po_lines(scope.session, po):
        raw_qty = form.get(f"quantity-{line.line_no}", "").strip()
        raw_date = form.get(f"promised_date-{line.line_no}", "").strip()
        if not raw_qty and not raw_date:
            continue
        quantity, error = parse_quantity(raw_qty)
        if error:
            return await _form_error(
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
                return await _form_error(
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
        return await _form_error(
            request,
            user,
            scope,
            po,
            i18n.gettext("Enter a quantity and a promised date for at least one line."),
            form,
        )
    return await _act(
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
async def reject_po(request: Request, number: str, user: SupplierUser, scope: OrgScope) -> Response:
    po = po_or_404(scope, number)
    form = await _form_dict(request)
    reason = form_text(form, "reason")
    if not reason:
        return await _form_error(
            request, user, scope, po, i18n.gettext("Give a reason for rejecting the order."), form
        )
    return await _act(
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
async def cancel_po(request: Request, number: str, user: BuyerUser, scope: OrgScope) -> Response:
    po = po_or_404(scope, number)
    form = await _form_dict(request)
    reason = form_text(form, "reason")
    if not reason:
        return await _form_error(
            request, user, scope, po, i18n.gettext("Give a reason for cancelling the order."), form
        )
    return await _act(
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
async def short_close_line(
    request: Request, number: str, line_no: int, user: BuyerUser, scope: OrgScope
) -> Response:
    po = po_or_404(scope, number)
    form = await _form_dict(request)
    return await _act(
        request,
        user,
        scope,
        po,
        ReplenishmentWorkflow.short_close_line,
        ShortCloseLineInput(actor_user_id=user.user_id, line_no=line_no, reason=form_text(form, "reason")),
        done=i18n.gettext("Line %(line)s was short-closed.", line=line_no),
        form=form,
    )
