"""Demo sales history: six weeks of daily sales at every demo store, so reorder points, suggestions,
forecasts and the transfer planner have demand to work from on a fresh `portal dev`.

For a few SKUs per store (a fixed choice per store), each business day
sells a deterministic quantity with a weekly pattern (more at the weekend). The store is restocked
from the back room (a RECEIPT, `demo_restock`) whenever a day's sales would empty it, except over the
last ten days, so several shelves end at or below their reorder point: the reorder review proposes
orders and the transfer planner moves warehouse stock to them.

Every movement goes through the stock service with an idempotency key
(`demo:sale:<store>:<sku>:<day>`, `demo:restock:<store>:<sku>:<day>`), dated the day it happened:
running it again posts nothing twice. Refused in production, like all demo data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session, col

from supplychain.models import Location, LocationKind, MovementType, Sku, StockBalance, StockLedgerEntry
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.rules.stock import StockDelta
from supplychain.seed import refuse_demo_data_in_production
from supplychain.stock import post_movement

HISTORY_DAYS = 42  # six weeks: enough for a forecast with its weekly pattern (four full weeks)
SKUS_PER_STORE = 3
NO_RESTOCK_DAYS = 10  # the last days sell the shelf down
RESTOCK_DAYS = 10  # a restock brings this many days of sales


def daily_quantity(store_code: str, sku_code: str, day: date) -> int:
    """A fixed quantity for the day: a base per store and SKU (1 to 6), more on Saturday and Sunday,
    a little noise; the same on every run."""
    digest = hashlib.sha256(f"{store_code}:{sku_code}".encode()).digest()
    base = 1 + digest[0] % 6
    noise = hashlib.sha256(f"{store_code}:{sku_code}:{day.isoformat()}".encode()).digest()[0] % 3 - 1
    weekend = base // 2 + 1 if day.weekday() >= 5 else 0
    return max(0, base + weekend + noise)


def seed_demo_sales(session: Session, today: date, *, store_codes: Collection[str] | None = None) -> int:
    """Post the history up to yesterday (at every store, or those of `store_codes`); returns how
    many movements were new. Commits."""
    refuse_demo_data_in_production()
    query = select(Location).where(
        col(Location.kind) == LocationKind.STORE, col(Location.is_active).is_(True)
    )
    if store_codes is not None:
        query = query.where(col(Location.code).in_(store_codes))
    stores = list(session.execute(query.order_by(col(Location.code))).scalars())
    skus = list(
        session.execute(select(Sku).where(col(Sku.is_active).is_(True)).order_by(col(Sku.code))).scalars()
    )
    new = 0
    for store in stores:
        assert store.id is not None
        # A fixed choice per store, whatever its stock (the first day restocks an empty shelf).
        chosen = sorted(skus, key=lambda sku: hashlib.sha256(f"{store.code}:{sku.code}".encode()).digest())
        for sku in chosen[:SKUS_PER_STORE]:
            new += _history(session, store, sku, today)
        session.commit()
    return new


def _history(session: Session, store: Location, sku: Sku, today: date) -> int:
    assert store.id is not None and sku.id is not None
    if _seeded(session, store, sku):  # an earlier run wrote this shelf's history: leave it
        return 0
    new = 0
    # Start from what the shelf holds now minus what the history will sell and restock: replaying the
    # days forward from the opening stock keeps on hand never negative.
    balance = session.execute(
        select(StockBalance).where(
            col(StockBalance.location_id) == store.id, col(StockBalance.sku_id) == sku.id
        )
    ).scalar_one_or_none()
    shelf = balance.available if balance else 0
    start = today - timedelta(days=HISTORY_DAYS)
    for offset in range(HISTORY_DAYS):
        day = start + timedelta(days=offset)
        sold = daily_quantity(store.code, sku.code, day)
        at = datetime.combine(day, time(12), tzinfo=BUSINESS_TIMEZONE)
        key = f"demo:{{}}:{store.code}:{sku.code}:{day.isoformat()}"
        selling_down = (today - day).days <= NO_RESTOCK_DAYS
        if sold > shelf and not selling_down:
            restock = sold * RESTOCK_DAYS
            new += _post(
                session,
                key.format("restock"),
                store.id,
                sku.id,
                MovementType.RECEIPT,
                restock,
                at,
                "demo_restock",
            )
            shelf += restock
        sold = min(sold, shelf)
        if sold > 0:
            new += _post(session, key.format("sale"), store.id, sku.id, MovementType.ISSUE, -sold, at, "sale")
            shelf -= sold
    return new


def _seeded(session: Session, store: Location, sku: Sku) -> bool:
    key = col(StockLedgerEntry.idempotency_key)
    prefixes = [f"demo:{kind}:{store.code}:{sku.code}:" for kind in ("sale", "restock")]
    found = session.execute(
        select(col(StockLedgerEntry.id)).where(or_(*(key.startswith(p, autoescape=True) for p in prefixes)))
    ).first()
    return found is not None


def _post(
    session: Session,
    key: str,
    location_id: int,
    sku_id: int,
    movement_type: MovementType,
    quantity: int,
    at: datetime,
    document_type: str,
) -> int:
    result = post_movement(
        session,
        idempotency_key=key,
        location_id=location_id,
        sku_id=sku_id,
        movement_type=movement_type,
        delta=StockDelta(on_hand=quantity),
        source_document_type=document_type,
        source_document_id="demo",
        note="demo sales history",
        occurred_at=at,
    )
    return 1 if result.created else 0
