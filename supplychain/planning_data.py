"""What the planning rules read from the stock ledger (DESIGN 4.6): daily demand per location and
SKU, and when each location's stock of a SKU last moved.

Demand is what left on hand through ISSUE movements (a store's sales, consumption): an issue's
`delta_on_hand` is negative, so the day's demand is minus their sum. Other movements that take stock
away (dispatch of a transfer, return to vendor, a count adjustment) are not demand.

Days are business days (`supplychain.rules.dates.BUSINESS_TIMEZONE`, China time): a sale at
23:30 UTC belongs to the next China day. The grouping by day is done in the database, in one
GROUP BY query whatever the number of locations, SKUs and days:

- PostgreSQL converts each timestamp with the zone's name (`timezone('Asia/Shanghai', created_at)`),
  right across any change of offset;
- SQLite has no time zones: it adds the zone's UTC offset (`date(created_at, '+480 minutes')`), which
  is right while the offset is the same over the whole window. China has had no daylight saving
  time since 1991, so it always is; a window across an offset change is refused rather than
  silently shifted.

Read side only: nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from supplychain.models.stock import MovementType, StockBalance, StockLedgerEntry
from supplychain.rules.dates import BUSINESS_TIMEZONE, business_date
from supplychain.rules.transfer_planner import StockAge

MAX_DAYS = 3660  # ten years of daily figures is a typing error's worth, not a planning window

Key = tuple[int, int]  # (location id, SKU id)


def daily_demand(
    session: Session,
    *,
    location_ids: Collection[int],
    sku_ids: Collection[int],
    days: int,
    today: dt.date,
) -> dict[Key, list[int]]:
    """(location id, SKU id) -> issued quantity per business day, oldest first, the last of them
    `today`: `days` figures each, days without an issue as 0, for every pair asked about (a pair
    with no issue at all gets all zeros). One query."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"daily demand over {days} days: give 1 to {MAX_DAYS}")
    first = today - dt.timedelta(days=days - 1)
    result: dict[Key, list[int]] = {
        (location, sku): [0] * days for location in sorted(set(location_ids)) for sku in sorted(set(sku_ids))
    }
    if not result:
        return result
    start, end = _utc_bounds(first, today)
    day = _business_day(session, first, today).label("day")
    rows = session.execute(
        select(
            col(StockLedgerEntry.location_id),
            col(StockLedgerEntry.sku_id),
            day,
            func.sum(col(StockLedgerEntry.delta_on_hand)),
        )
        .where(
            col(StockLedgerEntry.movement_type) == MovementType.ISSUE,
            col(StockLedgerEntry.location_id).in_(sorted(set(location_ids))),
            col(StockLedgerEntry.sku_id).in_(sorted(set(sku_ids))),
            col(StockLedgerEntry.created_at) >= start,
            col(StockLedgerEntry.created_at) < end,
        )
        .group_by(col(StockLedgerEntry.location_id), col(StockLedgerEntry.sku_id), day)
    ).all()
    for location, sku, on_day, delta in rows:
        index = (_as_date(on_day) - first).days
        result[(location, sku)][index] = -int(delta)
    return result


def last_movement_dates(
    session: Session,
    *,
    location_ids: Collection[int] | None = None,
    sku_ids: Collection[int] | None = None,
) -> dict[Key, dt.date]:
    """(location id, SKU id) -> the business date of its latest ledger movement of any kind, for the
    pairs that have one (optionally only these locations and SKUs). One query."""
    query = select(
        col(StockLedgerEntry.location_id),
        col(StockLedgerEntry.sku_id),
        func.max(col(StockLedgerEntry.created_at)),
    ).group_by(col(StockLedgerEntry.location_id), col(StockLedgerEntry.sku_id))
    if location_ids is not None:
        query = query.where(col(StockLedgerEntry.location_id).in_(sorted(set(location_ids))))
    if sku_ids is not None:
        query = query.where(col(StockLedgerEntry.sku_id).in_(sorted(set(sku_ids))))
    return {(location, sku): business_date(last) for location, sku, last in session.execute(query).all()}


def stock_ages(
    session: Session,
    *,
    location_ids: Collection[int] | None = None,
    sku_ids: Collection[int] | None = None,
) -> list[StockAge]:
    """Each balance with stock available (on hand less reserved and quarantine) and the business
    date its location's stock of the SKU last moved: the input of `transfer_planner.slow_moving`.
    Two queries (balances, then `last_movement_dates`)."""
    query = select(StockBalance).where(
        col(StockBalance.on_hand) - col(StockBalance.reserved) - col(StockBalance.quarantine) > 0
    )
    if location_ids is not None:
        query = query.where(col(StockBalance.location_id).in_(sorted(set(location_ids))))
    if sku_ids is not None:
        query = query.where(col(StockBalance.sku_id).in_(sorted(set(sku_ids))))
    balances = session.execute(
        query.order_by(col(StockBalance.sku_id), col(StockBalance.location_id))
    ).scalars()
    balances_list = list(balances)
    last = last_movement_dates(session, location_ids=location_ids, sku_ids=sku_ids)
    return [
        StockAge(
            location_id=b.location_id,
            sku_id=b.sku_id,
            on_hand=b.available,
            last_movement=last.get((b.location_id, b.sku_id)),
        )
        for b in balances_list
    ]


def _utc_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which business day `first` starts and business day `last` ends."""
    start = dt.datetime.combine(first, dt.time(), BUSINESS_TIMEZONE).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), BUSINESS_TIMEZONE).astimezone(dt.UTC)
    return start, end


def _business_day(session: Session, first: dt.date, last: dt.date) -> ColumnElement[Any]:
    """The business date of a ledger row's `created_at`, as SQL for the session's database."""
    created_at = col(StockLedgerEntry.created_at)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(str(BUSINESS_TIMEZONE), created_at), Date)
    offsets = {
        dt.datetime.combine(first + dt.timedelta(days=n), dt.time(), BUSINESS_TIMEZONE).utcoffset()
        for n in range((last - first).days + 2)
    }
    if len(offsets) != 1:
        raise ValueError(f"{BUSINESS_TIMEZONE} changes its UTC offset between {first} and {last}")
    offset = offsets.pop()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    return func.date(created_at, f"{minutes:+d} minutes")


def _as_date(value: dt.date | str) -> dt.date:
    # SQLite's date() gives text, PostgreSQL a date.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
