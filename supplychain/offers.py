"""Which supplier price list entries can be ordered from today, and which one a request orders from.

`orderable(today)`: the entry and its SKU and supplier are active, and `today` is within its validity.
`preferred(today)`: of the orderable entries of a SKU, the one a store's request uses: the lowest
unit price, then the shortest lead time, then the lowest supplier id (the SQL twin of
`supplychain.rules.ordering.preferred_offer`; tests/test_offers.py checks they agree), then the
lowest entry id so there is exactly one per SKU.

The scoping rule (supplychain/scoping.py) shows a store only its preferred entries: the catalogue
and its preview offer what the store may order at the price it pays, never a supplier's whole list.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, exists, or_, select, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import col

from supplychain.models import Organisation, OrgKind, PriceListEntry, Sku


def _orderable(entry: type[PriceListEntry], today: date) -> ColumnElement[bool]:
    return and_(
        col(entry.is_active).is_(True),
        or_(col(entry.valid_from).is_(None), col(entry.valid_from) <= today),
        or_(col(entry.valid_to).is_(None), col(entry.valid_to) >= today),
        col(entry.sku_id).in_(select(col(Sku.id)).where(col(Sku.is_active).is_(True))),
        col(entry.supplier_id).in_(
            select(col(Organisation.id)).where(
                col(Organisation.is_active).is_(True), col(Organisation.kind) == OrgKind.SUPPLIER
            )
        ),
    )


def orderable(today: date) -> ColumnElement[bool]:
    """PriceListEntry rows a request may order from on `today`."""
    return _orderable(PriceListEntry, today)


def _preference(entry: type[PriceListEntry]) -> ColumnElement[tuple[object, ...]]:
    return tuple_(col(entry.unit_price), col(entry.lead_time_days), col(entry.supplier_id), col(entry.id))


def preferred(today: date) -> ColumnElement[bool]:
    """PriceListEntry rows that are the one a request for their SKU orders from on `today`."""
    better = aliased(PriceListEntry)
    return and_(
        orderable(today),
        ~exists().where(
            col(better.sku_id) == col(PriceListEntry.sku_id),
            _orderable(better, today),
            _preference(better) < _preference(PriceListEntry),
        ),
    )
