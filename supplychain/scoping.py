"""Organisation scoping: the one place that decides which rows a user may see.

Every query for something a user may or may not see goes through `visible` (via the web layer's
`OrgScope` dependency). HQ users see the whole chain; a supplier sees its own organisation, its own
price lists and stock of the SKUs it supplies; a distributor sees its own organisation and
locations. Anything not visible answers 404, so another organisation's documents are not even
confirmed to exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlmodel import SQLModel, col

from supplychain.models import (
    Location,
    Notification,
    Organisation,
    OrgKind,
    PriceListEntry,
    Sku,
    StockBalance,
    User,
)
from supplychain.principal import Principal

Rule = Callable[[Principal], ColumnElement[bool]]


def _own_org(column: Any) -> Rule:
    return lambda p: col(column) == p.organisation_id


def _own_notifications(p: Principal) -> ColumnElement[bool]:
    return col(Notification.user_id) == p.user_id


def _skus_supplied_by(p: Principal) -> Any:
    return select(col(PriceListEntry.sku_id)).where(col(PriceListEntry.supplier_id) == p.organisation_id)


def _hq_locations() -> Any:
    return select(col(Location.id)).join(Organisation).where(col(Organisation.kind) == OrgKind.HQ)


# model -> {organisation kind -> rule}. HQ sees everything unless a rule says otherwise; a model
# with no rule for an organisation kind is invisible to it.
RULES: dict[type[SQLModel], dict[OrgKind, Rule]] = {
    Organisation: {
        OrgKind.SUPPLIER: _own_org(Organisation.id),
        OrgKind.DISTRIBUTOR: _own_org(Organisation.id),
    },
    Location: {
        OrgKind.SUPPLIER: lambda p: col(Location.id).in_(_hq_locations()),
        OrgKind.DISTRIBUTOR: _own_org(Location.organisation_id),
    },
    User: {
        OrgKind.SUPPLIER: _own_org(User.organisation_id),
        OrgKind.DISTRIBUTOR: _own_org(User.organisation_id),
    },
    Sku: {
        OrgKind.SUPPLIER: lambda p: col(Sku.id).in_(_skus_supplied_by(p)),
        OrgKind.DISTRIBUTOR: lambda p: true(),
    },
    PriceListEntry: {
        OrgKind.SUPPLIER: _own_org(PriceListEntry.supplier_id),
    },
    StockBalance: {
        # Suppliers see stock of their own products in HQ locations (low-stock alerts, DESIGN 1).
        OrgKind.SUPPLIER: lambda p: (
            col(StockBalance.sku_id).in_(_skus_supplied_by(p))
            & col(StockBalance.location_id).in_(_hq_locations())
        ),
        OrgKind.DISTRIBUTOR: lambda p: col(StockBalance.location_id).in_(
            select(col(Location.id)).where(col(Location.organisation_id) == p.organisation_id)
        ),
    },
    Notification: {
        # Notifications are personal for everyone, HQ included.
        OrgKind.HQ: _own_notifications,
        OrgKind.SUPPLIER: _own_notifications,
        OrgKind.DISTRIBUTOR: _own_notifications,
    },
}


def visible(principal: Principal, model: type[SQLModel]) -> ColumnElement[bool]:
    """A WHERE clause limiting `model` to the rows `principal` may see."""
    if model not in RULES:
        raise LookupError(f"{model.__name__} has no scoping rule; add one to supplychain.scoping.RULES")
    rules = RULES[model]
    rule = rules.get(principal.org_kind)
    if rule is not None:
        return rule(principal)
    return true() if principal.is_hq else false()
