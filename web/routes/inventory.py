"""Stock pages: stock by location and SKU (`/stock`), one balance's ledger, the region x SKU heat map
(HQ), and the store's sales entry (one sale by form, or a CSV file of them).

Reading goes through `supplychain.inventory` (scoped by `supplychain.scoping`); a sale is posted by
`supplychain.sales` through the stock service, the only code that changes stock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from supplychain import inventory, planning, sales
from supplychain.i18n import format_decimal, gettext, lazy
from supplychain.models import LocationKind, MovementType, OrgKind, Role
from supplychain.models.base import utcnow
from supplychain.principal import Principal
from supplychain.rules.dates import business_date
from supplychain.scoping import sees_every_location
from supplychain.stock import InsufficientStock
from web.admin_entities import LOCATION_KIND_LABELS
from web.deps import (
    CurrentUser,
    FormDep,
    OrgScope,
    Page,
    PageNumber,
    RowId,
    parse_row_id,
    require_roles,
)
from web.flash import flash
from web.form_ids import submitted_form_id
from web.purchasing import form_text
from web.templating import render

router = APIRouter()

STOCK_PER_PAGE = 50
LEDGER_PER_PAGE = 50
HEAT_SKUS_PER_PAGE = 20
SALES_PATH = "/stock/sales"

# How the ledger names each kind of movement (translated when shown).
MOVEMENT_LABELS: dict[MovementType, str] = {
    MovementType.OPENING: lazy("Opening stock"),
    MovementType.RECEIPT: lazy("Receipt"),
    MovementType.ISSUE: lazy("Issue"),
    MovementType.ADJUSTMENT: lazy("Adjustment"),
    MovementType.RESERVE: lazy("Reservation"),
    MovementType.RELEASE: lazy("Reservation released"),
    MovementType.DISPATCH: lazy("Dispatch"),
    MovementType.TRANSIT_IN: lazy("In transit"),
    MovementType.TRANSIT_RECEIPT: lazy("Received from transit"),
    MovementType.TRANSIT_LOSS: lazy("Lost in transit"),
    MovementType.QUARANTINE_RECEIPT: lazy("Receipt into quarantine"),
    MovementType.QUARANTINE_RELEASE: lazy("Released from quarantine"),
    MovementType.RETURN_TO_VENDOR: lazy("Return to vendor"),
}
# Source documents with a page of their own: document type -> URL prefix of that page.
DOCUMENT_PAGES: dict[str, str] = {
    "purchase_order": "/purchase-orders/",
    "inspection": "/inspections/",
    "return_to_vendor": "/returns/",
}
DOCUMENT_LABELS: dict[str, str] = {
    "purchase_order": lazy("Purchase order"),
    "inspection": lazy("Inspection"),
    "return_to_vendor": lazy("Return to vendor"),
    "sale": lazy("Sale"),
    "seed": lazy("Opening stock"),
}

SalesUser = Annotated[Principal, Depends(require_roles(Role.STORE, Role.WAREHOUSE))]


def _kind(raw: str) -> LocationKind | None:
    try:
        return LocationKind(raw)
    except ValueError:
        return None


@router.get("/stock")
def stock(
    request: Request,
    user: CurrentUser,
    scope: OrgScope,
    q: str = "",
    region: str = "",  # "" (all) or a region id; a value naming nothing is ignored
    location: str = "",  # "" (all) or a location id
    kind: str = "",  # "" (all) or a LocationKind value
    page: PageNumber = 1,
) -> Response:
    filters = inventory.StockFilters(
        q=q, region_id=parse_row_id(region), location_id=parse_row_id(location), kind=_kind(kind)
    )
    rows, total = inventory.stock_rows(scope.session, user, filters, page, STOCK_PER_PAGE)
    options = inventory.filter_options(scope.session, user)
    return render(
        request,
        "inventory/stock.html",
        {
            "user": user,
            "rows": Page(items=rows, page=page, per_page=STOCK_PER_PAGE, total=total),
            "filters": filters,
            "q": q,
            "options": options,
            "kinds": list(LocationKind),
            "kind_labels": LOCATION_KIND_LABELS,
            # A supplier sees quantities of its SKUs only; the ledger names other parties' documents.
            "show_ledger": user.org_kind is not OrgKind.SUPPLIER,
            # Low-stock highlighting: (location id, SKU id) -> reorder point (supplychain/planning.py).
            "reorder_points": planning.reorder_points_for(
                scope.session,
                [(row.balance.location_id, row.balance.sku_id) for row in rows],
                business_date(utcnow()),
            ),
        },
        block="results",
    )


@router.get("/stock/heatmap")
def heatmap(
    request: Request,
    user: CurrentUser,
    scope: OrgScope,
    q: str = "",
    category: str = "",
    page: PageNumber = 1,
) -> Response:
    if not sees_every_location(user):
        raise HTTPException(status_code=403)
    filters = inventory.HeatFilters(q=q, category=category)
    heat = inventory.heat_map(scope.session, user, filters, page, HEAT_SKUS_PER_PAGE)
    return render(
        request,
        "inventory/heatmap.html",
        {
            "user": user,
            "heat": heat,
            "skus": Page(items=heat.skus, page=page, per_page=HEAT_SKUS_PER_PAGE, total=heat.total_skus),
            "filters": filters,
            "categories": inventory.categories(scope.session),
            "levels": range(inventory.HEAT_LEVELS + 1),
        },
        block="results",
    )


@router.get("/stock/{location_id}/{sku_id}/ledger")
def ledger(
    request: Request,
    location_id: RowId,
    sku_id: RowId,
    user: CurrentUser,
    scope: OrgScope,
    page: PageNumber = 1,
) -> Response:
    found = inventory.ledger(scope.session, user, location_id, sku_id, page, LEDGER_PER_PAGE)
    if found is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "inventory/ledger.html",
        {
            "user": user,
            "ledger": found,
            "lines": Page(items=found.lines, page=page, per_page=LEDGER_PER_PAGE, total=found.total),
            "base_url": f"/stock/{location_id}/{sku_id}/ledger",
            "movement_labels": MOVEMENT_LABELS,
            "document_pages": DOCUMENT_PAGES,
            "document_labels": DOCUMENT_LABELS,
        },
    )


# --- sales ---------------------------------------------------------------------------------------------


@dataclass
class SaleForm:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    csv_problems: list[tuple[int, str]] = field(default_factory=list)


def _sales_page(
    request: Request, user: Principal, scope: Any, form: SaleForm | None = None, *, status_code: int = 200
) -> Response:
    session = scope.session
    locations = sales.locations_for(session, user)
    today = business_date(utcnow())
    form = form or SaleForm(values={"date": today.isoformat()})
    return render(
        request,
        "inventory/sales.html",
        {
            "user": user,
            "locations": locations,
            "skus": sales.stocked_skus(session, locations),
            "recent": sales.recent_sales(session, locations),
            "form": form,
            "today": today,
            "earliest": today - timedelta(days=sales.MAX_BACKDATE_DAYS),
            "max_days": sales.MAX_BACKDATE_DAYS,
            "max_rows": sales.CSV_MAX_ROWS,
            "max_kb": sales.CSV_MAX_BYTES // 1024,
        },
        status_code=status_code,
    )


@router.get(SALES_PATH)
def sales_page(request: Request, user: SalesUser, scope: OrgScope) -> Response:
    return _sales_page(request, user, scope)


@router.post(SALES_PATH)
def record_sale(request: Request, user: SalesUser, scope: OrgScope, form_data: FormDep) -> Response:
    session = scope.session
    form = SaleForm(
        values={
            name: form_text(form_data, name, 500) for name in ("location", "sku", "date", "quantity", "note")
        }
    )
    form_id = submitted_form_id(form_data) or uuid.uuid4().hex
    key = sales.form_key(user, form_id)
    if sales.already_posted(session, [key]):  # this very form was sent before: it posted once
        flash(session, request, gettext("This sale was already recorded."), "info")
        return RedirectResponse(SALES_PATH, status_code=303)
    now = utcnow()
    line = _parse_sale(session, user, form, business_date(now))
    if line is None:
        return _sales_page(request, user, scope, form, status_code=400)
    assert line.location.id is not None and line.sku.id is not None
    have = sales.available(session, [(line.location.id, line.sku.id)]).get((line.location.id, line.sku.id), 0)
    if line.quantity > have:
        form.errors["quantity"] = sales.shortfall_message(line, have)
        return _sales_page(request, user, scope, form, status_code=400)
    try:
        created = sales.post_sale(
            session, user, line, idempotency_key=key, source_document_id=f"form:{form_id}", now=now
        )
        session.commit()
    except InsufficientStock:  # taken by someone else since the check above
        session.rollback()
        fresh = sales.available(session, [(line.location.id, line.sku.id)])
        form.errors["quantity"] = sales.shortfall_message(line, fresh.get((line.location.id, line.sku.id), 0))
        return _sales_page(request, user, scope, form, status_code=400)
    if created:
        message = gettext(
            "Recorded: %(quantity)s of %(sku)s at %(location)s.",
            quantity=format_decimal(line.quantity),
            sku=line.sku.code,
            location=line.location.name,
        )
        flash(session, request, message)
    else:
        flash(session, request, gettext("This sale was already recorded."), "info")
    return RedirectResponse(SALES_PATH, status_code=303)


def _parse_sale(session: Any, user: Principal, form: SaleForm, today: date) -> sales.SaleLine | None:
    values, errors = form.values, form.errors
    locations = {loc.id: loc for loc in sales.locations_for(session, user)}
    location = locations.get(parse_row_id(values["location"]))
    if location is None:
        errors["location"] = gettext("Choose one of your locations.")
    code = values["sku"].split(" ", 1)[0].strip()
    sku = sales.skus_by_code(session, [code]).get(code) if code else None
    if sku is None:
        errors["sku"] = gettext("Enter the code of a known SKU.") if code else gettext("Choose a SKU.")
    day, error = sales.parse_business_date(values["date"], today)
    if error:
        errors["date"] = error
    quantity, error = sales.parse_quantity(values["quantity"])
    if error:
        errors["quantity"] = error
    if errors or location is None or sku is None or day is None or quantity is None:
        return None
    return sales.SaleLine(
        location=location, sku=sku, business_date=day, quantity=quantity, note=values["note"]
    )


@router.post(f"{SALES_PATH}/upload")
def upload_sales(
    request: Request,
    user: SalesUser,
    scope: OrgScope,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    session = scope.session
    form = SaleForm()
    if file is None or not file.filename:
        form.csv_problems.append((0, gettext("Choose a CSV file.")))
        return _sales_page(request, user, scope, form, status_code=400)
    data = file.file.read(sales.CSV_MAX_BYTES + 1)
    now = utcnow()
    checked = sales.read_csv(
        session, user, data, today=business_date(now), locations=sales.locations_for(session, user)
    )
    if checked.problems:
        form.csv_problems = checked.problems
        return _sales_page(request, user, scope, form, status_code=400)
    try:
        posted = sales.post_csv(session, user, checked, now=now)
        session.commit()
    except InsufficientStock:  # stock moved since the check: nothing of the file is kept
        session.rollback()
        form.csv_problems.append(
            (
                0,
                gettext(
                    "Stock changed while the file was recorded; nothing was recorded. Please send it again."
                ),
            )
        )
        return _sales_page(request, user, scope, form, status_code=409)
    if posted == 0:
        flash(session, request, gettext("This file was already recorded; nothing was added."), "info")
    else:
        flash(session, request, gettext("Recorded %(n)s sales from the file.", n=posted))
    return RedirectResponse(SALES_PATH, status_code=303)
