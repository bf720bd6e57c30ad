"""Read-only views of supplier price lists and stock, scoped to the user's organisation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import or_
from starlette.responses import Response

from supplychain.models import Location, Organisation, PriceListEntry, Sku, StockBalance
from web.deps import CurrentUser, OrgScope
from web.templating import render

router = APIRouter()


@router.get("/price-lists")
def price_lists(request: Request, user: CurrentUser, scope: OrgScope, q: str = "", page: int = 1) -> Response:
    stmt = scope.select(PriceListEntry).join(Sku).order_by(Sku.code, PriceListEntry.supplier_id)  # type: ignore[arg-type]
    if q:
        stmt = stmt.where(or_(Sku.code.icontains(q), Sku.name.icontains(q)))  # type: ignore[attr-defined]
    entries = scope.page(stmt, page)
    return render(
        request,
        "catalog/price_lists.html",
        {"user": user, "entries": entries, "q": q, **_names(scope, entries)},
        block="results",
    )


@router.get("/price-lists/{entry_id}")
def price_list_entry(request: Request, entry_id: int, user: CurrentUser, scope: OrgScope) -> Response:
    entry = scope.get(PriceListEntry, entry_id)
    return render(request, "catalog/price_entry.html", {"user": user, "entry": entry, **_names(scope, [entry])})


@router.get("/stock")
def stock(
    request: Request, user: CurrentUser, scope: OrgScope, q: str = "", location: int | None = None, page: int = 1
) -> Response:
    stmt = scope.select(StockBalance).join(Sku).order_by(StockBalance.location_id, Sku.code)  # type: ignore[arg-type]
    if q:
        stmt = stmt.where(or_(Sku.code.icontains(q), Sku.name.icontains(q)))  # type: ignore[attr-defined]
    if location:
        stmt = stmt.where(StockBalance.location_id == location)  # type: ignore[arg-type]
    balances = scope.page(stmt, page, per_page=50)
    locations = scope.session.execute(scope.select(Location).order_by(Location.code)).scalars().all()  # type: ignore[arg-type]
    return render(
        request,
        "catalog/stock.html",
        {"user": user, "balances": balances, "q": q, "location": location, "locations": locations,
         **_names(scope, balances)},
        block="results",
    )


def _names(scope: OrgScope, rows: list[PriceListEntry] | list[StockBalance]) -> dict[str, dict[int, object]]:
    """Look-ups for the ids shown in a list, fetched in three queries instead of one per row."""
    sku_ids = {r.sku_id for r in rows}
    skus = {s.id: s for s in scope.session.execute(scope.select(Sku).where(Sku.id.in_(sku_ids))).scalars()}  # type: ignore[union-attr]
    org_ids = {r.supplier_id for r in rows if isinstance(r, PriceListEntry)}
    orgs = {o.id: o for o in scope.session.query(Organisation).filter(Organisation.id.in_(org_ids))}  # type: ignore[union-attr]
    loc_ids = {r.location_id for r in rows if isinstance(r, StockBalance)}
    locs = {loc.id: loc for loc in scope.session.query(Location).filter(Location.id.in_(loc_ids))}  # type: ignore[union-attr]
    return {"skus": skus, "orgs": orgs, "locs": locs}  # type: ignore[dict-item]
