"""The demo sales history: six weeks of daily sales at the demo stores, through the stock service,
dated the day they happened; the ledger sums to the balances; a second run posts nothing; the last
days sell shelves down; refused in production."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from supplychain.demo_sales import HISTORY_DAYS, NO_RESTOCK_DAYS, daily_quantity, seed_demo_sales
from supplychain.models import Location, LocationKind, MovementType, Sku, StockBalance, StockLedgerEntry
from supplychain.planning_data import daily_demand
from supplychain.replenishment import business_today
from supplychain.seed import DemoDataRefused, seed_demo
from supplychain.settings import settings
from supplychain.stock import ledger_totals

STORES = ["ST-SH01", "DS-SZ01"]  # an HQ store and a distributor's


def test_a_store_gets_six_weeks_of_daily_sales_once_and_the_ledger_sums_to_the_balances(
    db: Engine,
) -> None:
    today = business_today()
    with Session(db) as session:
        seed_demo(session)
        posted = seed_demo_sales(session, today)
        assert posted > 0
        assert seed_demo_sales(session, today) == 0, "a second run posts nothing"

        stores = list(
            session.execute(select(Location).where(col(Location.kind) == LocationKind.STORE)).scalars()
        )
        sales = session.execute(
            select(col(StockLedgerEntry.location_id), func.count())
            .where(
                col(StockLedgerEntry.source_document_type) == "sale",
                col(StockLedgerEntry.movement_type) == MovementType.ISSUE,
            )
            .group_by(col(StockLedgerEntry.location_id))
        ).all()
        assert {location_id for location_id, _n in sales} == {store.id for store in stores}

        for balance in session.execute(select(StockBalance)).scalars():
            totals = ledger_totals(session, balance.location_id, balance.sku_id)
            assert totals.on_hand == balance.on_hand >= 0

        store = stores[0]
        assert store.id is not None
        sold_skus = set(
            session.execute(
                select(col(StockLedgerEntry.sku_id)).where(
                    col(StockLedgerEntry.location_id) == store.id,
                    col(StockLedgerEntry.source_document_type) == "sale",
                )
            ).scalars()
        )
        demand = daily_demand(
            session, location_ids=[store.id], sku_ids=sold_skus, days=HISTORY_DAYS, today=today
        )
        for (_location_id, sku_id), series in demand.items():
            assert series[-1] == 0, "nothing sold today: the history ends yesterday"
            assert sum(series) > 0
            sku = session.get(Sku, sku_id)
            assert sku is not None
            # Before the last days the shelf is restocked: every day sells its planned quantity.
            for index in range(HISTORY_DAYS - 1 - NO_RESTOCK_DAYS):
                day = today - timedelta(days=HISTORY_DAYS - 1 - index)
                assert series[index] == daily_quantity(store.code, sku.code, day), (sku.code, day)


def test_production_posts_no_demo_sales(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    with Session(db) as session, pytest.raises(DemoDataRefused):
        seed_demo_sales(session, business_today())
