"""Read-only views of supplier price lists and stock, scoped to the user's organisation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import ColumnElement, or_
from sqlmodel import col
from starlette.responses import Response

from supplychain.models import Location, PriceListEntry, Sku, StockBalance
from web.deps import CurrentUser, OrgScope, PageNumber, RowId, names_for, parse_row_id
from web.templating import render

router = APIRouter()


@router.get("/price-lists")
def price_lists(
    request: Request, user: CurrentUser, scope: OrgScope, q: str = "", page: PageNumber = 1
) -> Response:
    stmt = scope.select(PriceListEntry).join(Sku).order_by(col(Sku.code), col(PriceListEntry.supplier_id))
    if q:
        stmt = stmt.where(_sku_matches(q))
    entries = scope.page(stmt, page)
    return render(
        request,
        "catalog/price_lists.html",
        {"user": user, "entries": entries, "q": q, **_names(scope, entries)},
        block="results",
    )


@router.get("/price-lists/{entry_id}")
def price_list_entry(request: Request, entry_id: RowId, user: CurrentUser, scope: OrgScope) -> Response:
    entry = scope.get(PriceListEntry, entry_id)
    return render(
        request, "catalog/price_entry.html", {"user": user, "entry": entry, **_names(scope, [entry])}
    )


@router.get("/stock")
def stock(
    request: Request,
    user: CurrentUser,
    scope: OrgScope,
    q: str = "",
    location: str = "",  # "" (the form's "All locations") or a location id
    page: PageNumber = 1,
) -> Response:
    location_id = parse_row_id(location)
    stmt = scope.select(StockBalance).join(Sku).order_by(col(StockBalance.location_id), col(Sku.code))
    if q:
        stmt = stmt.where(_sku_matches(q))
    if location_id:
        stmt = stmt.where(col(StockBalance.location_id) == location_id)
    balances = scope.page(stmt, page, per_page=50)
    locations = scope.session.execute(scope.select(Location).order_by(col(Location.code))).scalars().all()
    return render(
        request,
        "catalog/stock.html",
        {
            "user": user,
            "balances": balances,
            "q": q,
            "location": location_id,
            "locations": locations,
            **_names(scope, balances),
        },
        block="results",
    )


def _sku_matches(q: str) -> ColumnElement[bool]:
    return or_(*(col(c).icontains(q, autoescape=True) for c in (Sku.code, Sku.name, Sku.name_en)))


def _names(scope: OrgScope, rows: list[PriceListEntry] | list[StockBalance]) -> dict[str, dict[int, Any]]:
    return names_for(
        scope.session,
        sku_ids=(r.sku_id for r in rows),
        org_ids=(r.supplier_id for r in rows if isinstance(r, PriceListEntry)),
        location_ids=(r.location_id for r in rows if isinstance(r, StockBalance)),
    )
