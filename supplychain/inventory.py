"""Stock as people read it: balances by location and SKU, one balance's ledger, and available stock
per region and SKU (the heat map). Read-side queries only; stock changes through
`supplychain.stock.post_movement` alone.

Every query is limited by the scoping rules (`supplychain.scoping.visible`) and loads what a page
shows in a fixed number of statements, however many rows there are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlmodel import Session, col

from supplychain.models import Location, LocationKind, Region, Sku, StockBalance, StockLedgerEntry
from supplychain.principal import Principal
from supplychain.scoping import visible

HEAT_LEVELS = 4  # shades above "none": heat-1 (a little) .. heat-4 (the most of any region)


def sku_matches(q: str) -> ColumnElement[bool]:
    """A SKU whose code or name holds `q`, as typed (LIKE wildcards in it are escaped)."""
    return or_(*(col(c).icontains(q, autoescape=True) for c in (Sku.code, Sku.name, Sku.name_en)))


def count_and_rows(session: Session, stmt: Any, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of `stmt`'s rows (whole result rows, not only their first column) and the total."""
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = list(session.execute(stmt.limit(per_page).offset((max(1, page) - 1) * per_page)).all())
    return rows, int(total)


# --- stock by location and SKU ----------------------------------------------------------------------


@dataclass(frozen=True)
class StockFilters:
    q: str = ""
    region_id: int | None = None
    location_id: int | None = None
    kind: LocationKind | None = None


@dataclass(frozen=True)
class StockRow:
    balance: StockBalance
    sku: Sku
    location: Location


def stock_query(principal: Principal, filters: StockFilters) -> Select[StockBalance, Sku, Location]:
    """The balances `principal` may see that match `filters`, with their SKU and location."""
    stmt = (
        select(StockBalance, Sku, Location)
        .join(Sku, col(Sku.id) == col(StockBalance.sku_id))
        .join(Location, col(Location.id) == col(StockBalance.location_id))
        .where(visible(principal, StockBalance))
        .order_by(col(Location.code), col(Sku.code), col(StockBalance.id))
    )
    if filters.q:
        stmt = stmt.where(sku_matches(filters.q))
    if filters.region_id is not None:
        stmt = stmt.where(col(Location.region_id) == filters.region_id)
    if filters.location_id is not None:
        stmt = stmt.where(col(StockBalance.location_id) == filters.location_id)
    if filters.kind is not None:
        stmt = stmt.where(col(Location.kind) == filters.kind)
    return stmt


def stock_rows(
    session: Session, principal: Principal, filters: StockFilters, page: int, per_page: int
) -> tuple[list[StockRow], int]:
    rows, total = count_and_rows(session, stock_query(principal, filters), page, per_page)
    return [StockRow(balance=b, sku=s, location=loc) for b, s, loc in rows], total


@dataclass(frozen=True)
class FilterOptions:
    locations: list[Location]
    regions: list[Region]


def filter_options(session: Session, principal: Principal) -> FilterOptions:
    """The locations holding stock this user may see, and their regions: two statements."""
    holding = select(col(StockBalance.location_id)).where(visible(principal, StockBalance))
    locations = list(
        session.execute(
            select(Location).where(col(Location.id).in_(holding)).order_by(col(Location.code))
        ).scalars()
    )
    region_ids = {loc.region_id for loc in locations if loc.region_id is not None}
    regions = (
        list(
            session.execute(
                select(Region).where(col(Region.id).in_(region_ids)).order_by(col(Region.code))
            ).scalars()
        )
        if region_ids
        else []
    )
    return FilterOptions(locations=locations, regions=regions)


# --- one balance's ledger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    """A movement and the balance right after it (its buckets as the ledger sums them up to it)."""

    entry: StockLedgerEntry
    on_hand: int
    reserved: int
    in_transit: int
    quarantine: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.quarantine


@dataclass
class Ledger:
    row: StockRow
    lines: list[LedgerLine] = field(default_factory=list)
    total: int = 0


def _ledger_of(location_id: int, sku_id: int) -> list[ColumnElement[bool]]:
    return [col(StockLedgerEntry.location_id) == location_id, col(StockLedgerEntry.sku_id) == sku_id]


def ledger(
    session: Session, principal: Principal, location_id: int, sku_id: int, page: int, per_page: int
) -> Ledger | None:
    """The movements of one balance, newest first, each with the balance after it; None when the
    user may not read this ledger (or there is none). Four statements at most."""
    found = session.execute(
        stock_query(principal, StockFilters(location_id=location_id)).where(
            col(StockBalance.sku_id) == sku_id
        )
    ).first()
    if found is None:
        return None
    balance, sku, location = found
    stmt = (
        select(StockLedgerEntry)
        .where(visible(principal, StockLedgerEntry), *_ledger_of(location_id, sku_id))
        .order_by(col(StockLedgerEntry.id).desc())
    )
    rows, total = count_and_rows(session, stmt, page, per_page)
    if total == 0:
        return None
    result = Ledger(row=StockRow(balance=balance, sku=sku, location=location), total=total)
    if not rows:
        return result
    entries: list[StockLedgerEntry] = [r[0] for r in rows]
    # The balance after the page's newest movement: the balance row less every newer movement.
    newer = (0, 0, 0, 0)
    if page > 1:
        newer = tuple(
            int(v)
            for v in session.execute(
                select(
                    func.coalesce(func.sum(StockLedgerEntry.delta_on_hand), 0),
                    func.coalesce(func.sum(StockLedgerEntry.delta_reserved), 0),
                    func.coalesce(func.sum(StockLedgerEntry.delta_in_transit), 0),
                    func.coalesce(func.sum(StockLedgerEntry.delta_quarantine), 0),
                ).where(*_ledger_of(location_id, sku_id), col(StockLedgerEntry.id) > entries[0].id)
            ).one()
        )  # type: ignore[assignment]
    on_hand = balance.on_hand - newer[0]
    reserved = balance.reserved - newer[1]
    in_transit = balance.in_transit - newer[2]
    quarantine = balance.quarantine - newer[3]
    for entry in entries:
        result.lines.append(LedgerLine(entry, on_hand, reserved, in_transit, quarantine))
        on_hand -= entry.delta_on_hand
        reserved -= entry.delta_reserved
        in_transit -= entry.delta_in_transit
        quarantine -= entry.delta_quarantine
    return result


# --- available per region and SKU ----------------------------------------------------------------------


@dataclass(frozen=True)
class HeatFilters:
    q: str = ""
    category: str = ""


@dataclass
class HeatMap:
    regions: list[Region]
    skus: list[Sku]
    total_skus: int
    available: dict[tuple[int, int], int]  # (region id, sku id) -> available
    most: dict[int, int]  # sku id -> the most available in any region

    def level(self, region_id: int, sku_id: int) -> int:
        """0 (nothing available) .. HEAT_LEVELS (the most of any region for this SKU)."""
        value = self.available.get((region_id, sku_id), 0)
        top = self.most.get(sku_id, 0)
        if value <= 0 or top <= 0:
            return 0
        return max(1, math.ceil(HEAT_LEVELS * value / top))


def heat_map(
    session: Session, principal: Principal, filters: HeatFilters, page: int, per_page: int
) -> HeatMap:
    """Available stock per region (rows) and SKU (columns, one page of the SKUs held anywhere in a
    region): four statements."""
    in_regions = (
        select(col(StockBalance.sku_id))
        .join(Location, col(Location.id) == col(StockBalance.location_id))
        .where(visible(principal, StockBalance), col(Location.region_id).is_not(None))
    )
    skus_stmt = select(Sku).where(col(Sku.id).in_(in_regions)).order_by(col(Sku.code))
    if filters.q:
        skus_stmt = skus_stmt.where(sku_matches(filters.q))
    if filters.category:
        skus_stmt = skus_stmt.where(col(Sku.category) == filters.category)
    rows, total = count_and_rows(session, skus_stmt, page, per_page)
    skus: list[Sku] = [r[0] for r in rows]
    regions = list(session.execute(select(Region).order_by(col(Region.code))).scalars())
    available: dict[tuple[int, int], int] = {}
    if skus:
        sums = session.execute(
            select(
                col(Location.region_id),
                col(StockBalance.sku_id),
                func.sum(StockBalance.on_hand - StockBalance.reserved - StockBalance.quarantine),
            )
            .join(Location, col(Location.id) == col(StockBalance.location_id))
            .where(
                visible(principal, StockBalance),
                col(Location.region_id).is_not(None),
                col(StockBalance.sku_id).in_([s.id for s in skus]),
            )
            .group_by(col(Location.region_id), col(StockBalance.sku_id))
        ).all()
        available = {(int(r), int(s)): int(v or 0) for r, s, v in sums}
    most: dict[int, int] = {}
    for (_region, sku_id), value in available.items():
        most[sku_id] = max(most.get(sku_id, 0), value)
    return HeatMap(regions=regions, skus=skus, total_skus=total, available=available, most=most)


def categories(session: Session) -> Sequence[str]:
    """The SKU categories in use, for the heat map's filter."""
    stmt = select(col(Sku.category)).where(col(Sku.category) != "").distinct().order_by(col(Sku.category))
    return list(session.execute(stmt).scalars())
