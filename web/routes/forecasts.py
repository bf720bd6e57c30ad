"""Demand and forecast pages (DESIGN 4.6):

- `/planning/sku/{location}/{sku}` (HQ planners): a SKU's daily demand at a location against its
  forecast, with its reorder point.
- `/supplier/stock-forecast` (suppliers): the supplier's own SKUs across the chain's network, stock
  per location and the network's demand forecast; never a price, never another supplier's SKU.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlmodel import col
from starlette.responses import Response

from supplychain import planning
from supplychain.models import Location, Role, Sku, StockBalance
from supplychain.planning_data import daily_demand
from supplychain.principal import Principal
from supplychain.replenishment import business_today
from supplychain.rules.forecast import forecast
from supplychain.scoping import visible
from web.charts import demand_chart
from web.deps import OrgScope, PageNumber, RowId, Scope, names_for, require_roles
from web.routes.planning import HqPlanner
from web.templating import render

router = APIRouter()


@router.get("/planning/sku/{location_id}/{sku_id}")
def sku_forecast(
    request: Request, location_id: RowId, sku_id: RowId, user: HqPlanner, scope: OrgScope
) -> Response:
    location = scope.get(Location, location_id)
    sku = scope.get(Sku, sku_id)
    today = business_today()
    series = planning.sku_demand(scope.session, [location_id], sku_id, today)[location_id]
    view = planning.reorder_view(scope.session, location_id, [sku_id], today).get(sku_id)
    predicted = forecast(series)
    first = today - timedelta(days=len(series) - 1)
    ctx = {
        "user": user,
        "location": location,
        "sku": sku,
        "view": view,
        "history": [(first + timedelta(days=n), q) for n, q in enumerate(series)],
        "forecast": predicted,
        "forecast_days": [
            (today + timedelta(days=n + 1), v) for n, v in enumerate(predicted.values if predicted else ())
        ],
        "chart": demand_chart(series, predicted),
    }
    return render(request, "planning/sku.html", ctx)


# --- the supplier's view of its SKUs across the network ------------------------------------------

SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
FORECAST_PER_PAGE = 10


@dataclass(frozen=True)
class SkuNetwork:
    sku: Any
    stock: list[Any]  # its balances, one per location
    on_hand: int
    available: int
    in_transit: int
    sold: int  # over the history window
    forecast_total: float | None  # the next DEFAULT_HORIZON_DAYS days; None: too little history
    chart: Any


@router.get("/supplier/stock-forecast")
def supplier_stock_forecast(
    request: Request, user: SupplierUser, scope: OrgScope, page: PageNumber = 1
) -> Response:
    """The supplier's own SKUs only (the scoping rules of Sku and StockBalance): stock per location
    of the chain and the network's demand forecast. Never a price, never another supplier's SKU."""
    session = scope.session
    skus = scope.page(scope.select(Sku).order_by(col(Sku.code)), page, FORECAST_PER_PAGE)
    sku_ids = [s.id for s in skus if s.id is not None]
    balances = list(
        session.execute(
            scope.select(StockBalance)
            .where(col(StockBalance.sku_id).in_(sku_ids))
            .order_by(col(StockBalance.sku_id), col(StockBalance.location_id))
        ).scalars()
    )
    location_ids = list(session.execute(select(col(Location.id)).where(visible_locations(scope))).scalars())
    today = business_today()
    demand = (
        daily_demand(
            session, location_ids=location_ids, sku_ids=sku_ids, days=planning.history_days(), today=today
        )
        if location_ids and sku_ids
        else {}
    )
    network: dict[int, list[int]] = {}
    for (_, sku_id), series in demand.items():
        total = network.setdefault(sku_id, [0] * len(series))
        for n, quantity in enumerate(series):
            total[n] += quantity
    rows = []
    for sku in skus:
        mine = [b for b in balances if b.sku_id == sku.id]
        series = network.get(sku.id or 0, [])
        predicted = forecast(series) if series else None
        rows.append(
            SkuNetwork(
                sku=sku,
                stock=mine,
                on_hand=sum(b.on_hand for b in mine),
                available=sum(b.available for b in mine),
                in_transit=sum(b.in_transit for b in mine),
                sold=sum(series),
                forecast_total=round(sum(predicted.values), 1) if predicted else None,
                chart=demand_chart(series, predicted) if series else "",
            )
        )
    names = names_for(session, location_ids={b.location_id for b in balances})
    ctx = {"user": user, "sku_page": skus, "rows": rows, "history_days": planning.history_days(), **names}
    return render(request, "planning/supplier_forecast.html", ctx)


def visible_locations(scope: Scope) -> Any:
    return visible(scope.principal, Location)
