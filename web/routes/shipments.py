"""Shipment pages of replenishment (DESIGN 4.1): the supplier's ASNs and the warehouse's receipts.

- Supplier: `/supplier/shipments`, and a new shipment (ASN) for a confirmed purchase order
  `/purchase-orders/{number}/shipments/new` (carrier, tracking number, ETA, quantity per line up to
  what is confirmed and not yet shipped, and for a batch-tracked SKU its batches: batch number,
  expiry date, quantity; the shipment number is reserved here).
- Warehouse: expected receipts by ETA `/warehouse/receipts`, and receiving one shipment
  `/warehouse/receipts/{shipment}` (counted quantity per line, over/short shown as typed, and
  optionally the lots it is split into, pre-filled from the ASN's batches; each lot is inspected on
  its own).

Batch rows are `<batch_no|batch_expiry|batch_qty>-<line>-<row>` on the ASN and
`<lot_batch|lot_expiry|lot_qty>-<line>-<row>` on the receipt. A few empty rows are always rendered
(the form works without JavaScript); htmx adds more with the "add" button (`.../batch-row`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlmodel import col
from starlette.responses import Response

from supplychain import i18n
from supplychain.models import (
    Location,
    LocationKind,
    POLineStatus,
    POStatus,
    PurchaseOrder,
    Role,
    Shipment,
    ShipmentStatus,
    Sku,
)
from supplychain.numbering import reserve_number
from supplychain.principal import Principal
from supplychain.purchasing import may_receive
from web.deps import (
    FieldsDep,
    OrgScope,
    PageNumber,
    RowIdQuery,
    Scope,
    names_for,
    parse_row_id,
    require_roles,
)
from web.flash import flash
from web.form_ids import submitted_form_id, update_id
from web.purchasing import (
    ASN_BATCH,
    MAX_BATCH_ROWS,
    RECEIPT_LOT,
    BatchFields,
    BatchRow,
    ShipmentView,
    batch_row_of,
    form_batch_rows,
    form_text,
    labels,
    padded,
    parse_batch_rows,
    parse_date,
    parse_quantity,
    po_lines,
    po_or_404,
    repeated_form_result,
    run_update,
    shipment_or_404,
    shipment_view,
)
from web.templating import render
from web.workflow_calls import await_on_loop
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import (
    BatchInput,
    CreateShipmentInput,
    POUpdateResult,
    ReceiptLineInput,
    RecordReceiptInput,
    ReplenishmentWorkflow,
    ShipmentLineInput,
)

router = APIRouter()

SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
WarehouseUser = Annotated[Principal, Depends(require_roles(Role.WAREHOUSE))]
# Receipts: HQ's warehouses, and a store for what a supplier delivers straight to it.
ReceivingUser = Annotated[Principal, Depends(require_roles(Role.WAREHOUSE, Role.STORE))]
PER_PAGE = 25
SHIPPABLE = frozenset({POStatus.CONFIRMED, POStatus.IN_DELIVERY})
# Empty batch rows always on the form, so it works without JavaScript.
EMPTY_ASN_BATCH_ROWS = 3
EMPTY_RECEIPT_LOT_ROWS = 2


# --- supplier: shipments and a new ASN ---------------------------------------------------------------


@router.get("/supplier/shipments")
def supplier_shipments(
    request: Request, user: SupplierUser, scope: OrgScope, status: str = "all", page: PageNumber = 1
) -> Response:
    stmt = scope.select(Shipment).order_by(col(Shipment.created_at).desc(), col(Shipment.id).desc())
    if status in {s.value for s in ShipmentStatus}:
        stmt = stmt.where(col(Shipment.status) == ShipmentStatus(status))
    shipments = scope.page(stmt, page, per_page=PER_PAGE)
    ctx = {
        "user": user,
        "shipments": shipments,
        "status": status,
        "query": "&" + urlencode({"status": status}),
        "pos": _pos_of(scope, shipments),
        **labels(),
    }
    return render(request, "shipments/list.html", ctx, block="results")


def _pos_of(scope: Scope, shipments: list[Shipment]) -> dict[int, PurchaseOrder]:
    ids = {s.purchase_order_id for s in shipments}
    if not ids:
        return {}
    rows = scope.session.execute(scope.select(PurchaseOrder).where(col(PurchaseOrder.id).in_(ids))).scalars()
    return {po.id: po for po in rows if po.id is not None}


def _shippable_po(scope: Scope, number: str) -> PurchaseOrder:
    return po_or_404(scope, number)


def _asn_context(
    user: Principal, scope: Scope, po: PurchaseOrder, form: dict[str, str] | None = None
) -> dict[str, Any]:
    form = form or {}
    lines = [
        line
        for line in po_lines(scope.session, po)
        if line.status == POLineStatus.OPEN and (line.quantity_confirmed or 0) > line.quantity_shipped
    ]
    names = names_for(
        scope.session,
        location_ids={po.ship_to_location_id},
        sku_ids={line.sku_id for line in lines},
    )
    tracked = [line for line in lines if names["skus"][line.sku_id].batch_tracked]
    return {
        "user": user,
        "po": po,
        "lines": lines,
        "open_for_shipping": po.status in SHIPPABLE and bool(lines),
        "batch_rows": {
            line.line_no: padded(form_batch_rows(form, ASN_BATCH, line.line_no) or [], EMPTY_ASN_BATCH_ROWS)
            for line in tracked
        },
        "fields": ASN_BATCH,
        "max_batch_rows": MAX_BATCH_ROWS,
        "add_row_url": f"/purchase-orders/{po.number}/shipments/new/batch-row",
        "form": form,
        "errors": {},
        "error": "",
        **labels(),
        **names,
    }


@router.get("/purchase-orders/{number}/shipments/new")
def new_shipment(request: Request, number: str, user: SupplierUser, scope: OrgScope) -> Response:
    po = _shippable_po(scope, number)
    return render(request, "shipments/new.html", _asn_context(user, scope, po))


@router.get("/purchase-orders/{number}/shipments/new/batch-row")
def new_batch_row(
    request: Request,
    number: str,
    user: SupplierUser,
    scope: OrgScope,
    line: RowIdQuery,
    index: Annotated[int, Query(ge=1, le=MAX_BATCH_ROWS)],
) -> Response:
    """htmx: one more empty batch row for a line of the ASN form (and the "add" button after it)."""
    po = _shippable_po(scope, number)
    if line not in {row.line_no for row in po_lines(scope.session, po)}:
        raise HTTPException(status_code=404)
    return _batch_row(request, ASN_BATCH, line, index, tracked=True, add_row_url=request.url.path)


def _batch_row(
    request: Request, fields: BatchFields, line_no: int, index: int, *, tracked: bool, add_row_url: str
) -> Response:
    if not 1 <= index <= MAX_BATCH_ROWS:
        raise HTTPException(status_code=400)
    ctx = {
        "fields": fields,
        "line_no": line_no,
        "row": BatchRow(index),
        "tracked": tracked,
        "errors": {},
        "add_row_url": add_row_url,
        "next_index": index + 1 if index < MAX_BATCH_ROWS else None,
    }
    return render(request, "shipments/_batch_row.html", ctx)


@router.post("/purchase-orders/{number}/shipments/new")
def create_shipment(
    request: Request, number: str, user: SupplierUser, scope: OrgScope, form: FieldsDep
) -> Response:
    po = _shippable_po(scope, number)
    ctx = _asn_context(user, scope, po, form)
    errors: dict[str, str] = {}
    carrier = form_text(form, "carrier", 100)
    tracking = form_text(form, "tracking_number", 100)
    if not carrier:
        errors["carrier"] = i18n.gettext("This field is required.")
    if not tracking:
        errors["tracking_number"] = i18n.gettext("This field is required.")
    eta, eta_error = parse_date(form.get("eta", ""))
    if eta_error:
        errors["eta"] = eta_error
    lines: list[ShipmentLineInput] = []
    for line in ctx["lines"]:
        text = form.get(f"quantity-{line.line_no}", "").strip()
        if not text:
            continue
        quantity, error = parse_quantity(text)
        batches, batch_errors = parse_batch_rows(
            ctx["batch_rows"].get(line.line_no, []), ASN_BATCH, line.line_no
        )
        errors.update(batch_errors)
        if error:
            errors[f"quantity-{line.line_no}"] = error
        elif quantity:
            lines.append(ShipmentLineInput(line_no=line.line_no, quantity=quantity, batches=batches))
    if not lines and not errors:
        ctx["error"] = i18n.gettext("Enter the quantity shipped for at least one line.")
    if po.status.is_final and not errors and not ctx["error"]:
        ctx["error"] = i18n.gettext("This purchase order is finished; nothing can be changed any more.")
    form_update_id = update_id(submitted_form_id(form), ReplenishmentWorkflow.create_shipment, user)
    if errors or ctx["error"]:
        # Refused from the database, unless this very form shipped the lines a moment ago.
        earlier = repeated_form_result(
            request, scope.session, po.workflow_id, ReplenishmentWorkflow.create_shipment, form_update_id
        )
        if earlier is not None:
            return _shipment_sent(request, scope, po, earlier.result)
        ctx["errors"] = errors
        return render(request, "shipments/new.html", ctx, status_code=400)

    assert eta is not None
    shipment_number = reserve_number(scope.session, "SHP", datetime.now(BUSINESS_TIMEZONE).year)
    outcome = await_on_loop(
        scope.session,
        run_update,
        request,
        po.workflow_id,
        ReplenishmentWorkflow.create_shipment,
        CreateShipmentInput(
            actor_user_id=user.user_id,
            shipment_number=shipment_number,
            carrier=carrier,
            tracking_number=tracking,
            eta=eta,
            lines=lines,
        ),
        form_update_id,
    )
    if outcome.refusal:
        ctx = _asn_context(user, scope, po, form)  # read again: giving the connection back expired them
        ctx["error"] = outcome.refusal
        return render(request, "shipments/new.html", ctx, status_code=400)
    return _shipment_sent(request, scope, po, outcome.result)


def _shipment_sent(request: Request, scope: Scope, po: PurchaseOrder, result: POUpdateResult) -> Response:
    """The ASN's answer, the same for the first submit of a form and for any repeat of it."""
    flash(
        scope.session,
        request,
        i18n.gettext("Shipment %(number)s was sent to the warehouse.", number=result.shipment_number),
    )
    return RedirectResponse(f"/purchase-orders/{po.number}", status_code=303)


# --- warehouse: expected receipts and receiving -------------------------------------------------------


@router.get("/warehouse/receipts")
def expected_receipts(
    request: Request, user: ReceivingUser, scope: OrgScope, location: str = "", page: PageNumber = 1
) -> Response:
    """Shipments in transit, by ETA; to the user's own warehouse unless another one is chosen (a
    store's staff: to their store only)."""
    chosen = location or (str(user.location_id) if user.location_id else "all")
    if not user.has_role(Role.WAREHOUSE):
        chosen = str(user.location_id or 0)
    stmt = (
        scope.select(Shipment)
        .join(PurchaseOrder, col(Shipment.purchase_order_id) == col(PurchaseOrder.id))
        .where(col(Shipment.status) == ShipmentStatus.IN_TRANSIT)
        .order_by(col(Shipment.eta), col(Shipment.number))
    )
    if chosen.isdigit():  # a warehouse id; one out of range (0 here) names none
        stmt = stmt.where(col(PurchaseOrder.ship_to_location_id) == (parse_row_id(chosen) or 0))
    shipments = scope.page(stmt, page, per_page=PER_PAGE)
    pos = _pos_of(scope, shipments)
    warehouses = (
        scope.session.execute(
            scope.select(Location)
            .where(col(Location.kind) != LocationKind.STORE, col(Location.is_active))
            .order_by(col(Location.code))
        )
        .scalars()
        .all()
    )
    ctx = {
        "user": user,
        "shipments": shipments,
        "pos": pos,
        "location": chosen,
        "warehouses": warehouses,
        "query": "&" + urlencode({"location": chosen}),
        **labels(),
        **names_for(
            scope.session,
            org_ids={po.supplier_id for po in pos.values()},
            location_ids={po.ship_to_location_id for po in pos.values()},
        ),
    }
    return render(request, "shipments/receipts.html", ctx, block="results")


def expected_receipts_count(scope: Scope) -> int:
    stmt = (
        scope.select(Shipment)
        .join(PurchaseOrder, col(Shipment.purchase_order_id) == col(PurchaseOrder.id))
        .where(col(Shipment.status) == ShipmentStatus.IN_TRANSIT)
    )
    if scope.principal.location_id is not None:
        stmt = stmt.where(col(PurchaseOrder.ship_to_location_id) == scope.principal.location_id)
    return int(scope.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def _receive_context(
    user: Principal, scope: Scope, view: ShipmentView, po: PurchaseOrder, form: dict[str, str]
) -> dict[str, Any]:
    counted: dict[int, int | None] = {}
    lot_rows: dict[int, list[BatchRow]] = {}
    lots: dict[int, list[BatchInput]] = {}
    errors: dict[str, str] = {}
    for shipped, line in view.lines:
        assert shipped.id is not None
        rows = form_batch_rows(form, RECEIPT_LOT, line.line_no)
        if rows is None:  # not posted yet: the ASN's batches, as announced
            rows = [batch_row_of(i, b) for i, b in enumerate(view.batches.get(shipped.id, []), start=1)]
            rows = padded(rows, max(EMPTY_RECEIPT_LOT_ROWS, len(rows) + 1))
        lot_rows[line.line_no] = rows
        lots[line.line_no], lot_errors = parse_batch_rows(rows, RECEIPT_LOT, line.line_no)
        errors.update(lot_errors)
        text = form.get(f"received-{line.line_no}")
        if text is None:
            counted[line.line_no] = shipped.quantity_received
            continue
        value, error = (
            parse_quantity(text) if text.strip() else (None, i18n.gettext("This field is required."))
        )
        counted[line.line_no] = value
        if error:
            errors[f"received-{line.line_no}"] = error
    names = names_for(
        scope.session,
        org_ids={po.supplier_id},
        location_ids={po.ship_to_location_id},
        sku_ids={line.sku_id for _, line in view.lines},
    )
    return {
        "user": user,
        "view": view,
        "shipment": view.shipment,
        "po": po,
        "counted": counted,
        "lot_rows": lot_rows,
        "lots": lots,
        "fields": RECEIPT_LOT,
        "max_batch_rows": MAX_BATCH_ROWS,
        "add_row_url": f"/warehouse/receipts/{view.shipment.number}/lot-row",
        "receivable": view.shipment.status == ShipmentStatus.IN_TRANSIT and not po.status.is_final,
        "form": form,
        "errors": errors,
        "error": "",
        **labels(),
        **names,
    }


def _receivable(scope: Scope, number: str) -> tuple[ShipmentView, PurchaseOrder]:
    if not scope.principal.is_hq and not scope.principal.has_role(Role.STORE):
        raise HTTPException(status_code=404)
    shipment, po = shipment_or_404(scope, number)
    if not may_receive(scope.principal, po):
        raise HTTPException(status_code=404)
    return shipment_view(scope.session, shipment), po


@router.get("/warehouse/receipts/{number}")
def receive_form(request: Request, number: str, user: ReceivingUser, scope: OrgScope) -> Response:
    view, po = _receivable(scope, number)
    return render(request, "shipments/receive.html", _receive_context(user, scope, view, po, {}))


@router.get("/warehouse/receipts/{number}/lot-row")
def new_lot_row(
    request: Request,
    number: str,
    user: ReceivingUser,
    scope: OrgScope,
    line: RowIdQuery,
    index: Annotated[int, Query(ge=1, le=MAX_BATCH_ROWS)],
) -> Response:
    """htmx: one more empty lot row for a line of the receipt form (and the "add" button after it)."""
    view, _po = _receivable(scope, number)
    po_line = next((pl for _, pl in view.lines if pl.line_no == line), None)
    if po_line is None:
        raise HTTPException(status_code=404)
    sku = scope.session.get(Sku, po_line.sku_id)
    tracked = sku is not None and sku.batch_tracked
    return _batch_row(request, RECEIPT_LOT, line, index, tracked=tracked, add_row_url=request.url.path)


@router.post("/warehouse/receipts/{number}/preview")
def receive_preview(
    request: Request, number: str, user: ReceivingUser, scope: OrgScope, form: FieldsDep
) -> Response:
    """htmx: over/short per line and the messages for the fields as typed so far, swapped out of band
    (never the inputs: the user may have typed on since)."""
    view, po = _receivable(scope, number)
    ctx = _receive_context(user, scope, view, po, form)
    # While typing, an empty field is not yet a mistake; what cannot be read is said at once.
    ctx["errors"] = {name: error for name, error in ctx["errors"].items() if form.get(name, "").strip()}
    return render(request, "shipments/receive.html", ctx, block="receive_preview")


@router.post("/warehouse/receipts/{number}")
def record_receipt(
    request: Request, number: str, user: ReceivingUser, scope: OrgScope, form: FieldsDep
) -> Response:
    view, po = _receivable(scope, number)
    for _shipped, line in view.lines:
        form.setdefault(f"received-{line.line_no}", "")
    ctx = _receive_context(user, scope, view, po, form)
    if view.shipment.status == ShipmentStatus.RECEIVED or po.status.is_final:
        ctx["error"] = i18n.gettext("This shipment has already been received.")
    form_update_id = update_id(submitted_form_id(form), ReplenishmentWorkflow.record_receipt, user)
    if ctx["errors"] or ctx["error"]:
        # Refused from the database, unless this very form received the shipment a moment ago.
        update = ReplenishmentWorkflow.record_receipt
        if repeated_form_result(request, scope.session, po.workflow_id, update, form_update_id) is not None:
            return _shipment_received(request, scope, po, view.shipment.number)
        return render(request, "shipments/receive.html", ctx, status_code=400)
    outcome = await_on_loop(
        scope.session,
        run_update,
        request,
        po.workflow_id,
        ReplenishmentWorkflow.record_receipt,
        RecordReceiptInput(
            actor_user_id=user.user_id,
            shipment_number=view.shipment.number,
            lines=[
                ReceiptLineInput(
                    line_no=line.line_no,
                    quantity_received=ctx["counted"][line.line_no] or 0,
                    lots=ctx["lots"][line.line_no],
                )
                for _shipped, line in view.lines
            ],
        ),
        form_update_id,
    )
    if outcome.refusal:
        view, po = _receivable(scope, number)  # read again: giving the connection back expired them
        ctx = _receive_context(user, scope, view, po, form)
        ctx["error"] = outcome.refusal
        return render(request, "shipments/receive.html", ctx, status_code=400)
    return _shipment_received(request, scope, po, view.shipment.number)


def _shipment_received(request: Request, scope: Scope, po: PurchaseOrder, shipment_number: str) -> Response:
    flash(scope.session, request, i18n.gettext("Shipment %(number)s was received.", number=shipment_number))
    return RedirectResponse(f"/purchase-orders/{po.number}", status_code=303)
