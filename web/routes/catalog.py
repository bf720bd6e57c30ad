"""Read-only views of supplier price lists, scoped to the user's organisation (stock: inventory.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import ColumnElement, or_
from sqlmodel import col
from starlette.responses import Response

from supplychain.models import PriceListEntry, Sku
from web.deps import CurrentUser, OrgScope, PageNumber, RowId, names_for
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


def _sku_matches(q: str) -> ColumnElement[bool]:
    return or_(*(col(c).icontains(q, autoescape=True) for c in (Sku.code, Sku.name, Sku.name_en)))


def _names(scope: OrgScope, rows: list[PriceListEntry]) -> dict[str, dict[int, Any]]:
    return names_for(scope.session, sku_ids=(r.sku_id for r in rows), org_ids=(r.supplier_id for r in rows))
