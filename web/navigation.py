"""Navigation by role: each entry lists the roles that see it (None = everyone logged in)."""

from __future__ import annotations

from dataclasses import dataclass

from supplychain.i18n import lazy
from supplychain.models import Role
from supplychain.principal import Principal
from supplychain.scoping import HQ_PURCHASING_ROLES, HQ_QUALITY_ROLES


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[Role] | None = None
    section: str = "main"


HQ_BUYING = frozenset({Role.BUYER, Role.APPROVER, Role.FINANCE, Role.ADMIN})

NAVIGATION: tuple[NavItem, ...] = (
    NavItem(lazy("Home"), "/"),
    NavItem(lazy("Approvals"), "/approvals", frozenset({Role.APPROVER, Role.QUALITY_APPROVER, Role.FINANCE})),
    NavItem(lazy("Order replenishment"), "/replenishment/new", frozenset({Role.STORE})),
    NavItem(lazy("My orders"), "/replenishment", frozenset({Role.STORE})),
    NavItem(lazy("Purchase orders"), "/purchase-orders", HQ_BUYING),
    NavItem(lazy("Purchase orders"), "/supplier/purchase-orders", frozenset({Role.SUPPLIER})),
    NavItem(lazy("Shipments"), "/supplier/shipments", frozenset({Role.SUPPLIER})),
    NavItem(lazy("Expected receipts"), "/warehouse/receipts", frozenset({Role.WAREHOUSE})),
    NavItem(lazy("Stock"), "/stock"),
    NavItem(lazy("Stock heat map"), "/stock/heatmap", HQ_PURCHASING_ROLES),
    NavItem(lazy("Record sales"), "/stock/sales", frozenset({Role.STORE, Role.WAREHOUSE})),
    NavItem(
        lazy("Transfers"),
        "/transfers",
        frozenset({Role.STORE, Role.WAREHOUSE, Role.BUYER, Role.APPROVER, Role.ADMIN}),
    ),
    NavItem(lazy("Replenishment proposals"), "/planning/proposals", frozenset({Role.BUYER})),
    NavItem(lazy("Transfer proposals"), "/planning/transfers", frozenset({Role.BUYER, Role.APPROVER})),
    NavItem(lazy("Stock and forecast"), "/supplier/stock-forecast", frozenset({Role.SUPPLIER})),
    NavItem(lazy("Price lists"), "/price-lists", HQ_BUYING | {Role.SUPPLIER}),
    NavItem(lazy("Certificates"), "/certificates", HQ_QUALITY_ROLES),
    NavItem(lazy("Certificates"), "/supplier/certificates", frozenset({Role.SUPPLIER})),
    NavItem(
        lazy("Inspections"),
        "/inspections",
        frozenset({Role.INSPECTOR, Role.APPROVER, Role.QUALITY_APPROVER, Role.ADMIN}),
    ),
    NavItem(lazy("Inspections"), "/supplier/inspections", frozenset({Role.SUPPLIER})),
    NavItem(lazy("Returns to vendor"), "/returns", HQ_QUALITY_ROLES | {Role.SUPPLIER}),
    NavItem(lazy("Debit notes"), "/debit-notes", HQ_QUALITY_ROLES | {Role.FINANCE, Role.SUPPLIER}),
    NavItem(lazy("Statements"), "/supplier/statements", frozenset({Role.SUPPLIER})),
    NavItem(lazy("Statements"), "/statements", HQ_BUYING),
    NavItem(lazy("Statement disputes"), "/statement-disputes", frozenset({Role.BUYER})),
    NavItem(
        lazy("Price adjustments"), "/price-adjustments", frozenset({Role.BUYER, Role.FINANCE, Role.SUPPLIER})
    ),
    NavItem(lazy("Match exceptions"), "/match-exceptions", frozenset({Role.FINANCE})),
    NavItem(lazy("Quality scorecard"), "/quality/scorecard", HQ_QUALITY_ROLES | {Role.SUPPLIER}),
    NavItem(lazy("Payments"), "/payments", frozenset({Role.SUPPLIER})),
    NavItem(lazy("Payments"), "/finance/payments", frozenset({Role.FINANCE})),
    NavItem(lazy("Payment runs"), "/finance/payment-runs", frozenset({Role.FINANCE})),
    NavItem(lazy("Users"), "/admin/users", frozenset({Role.ADMIN}), "admin"),
    NavItem(lazy("Organisations"), "/admin/organisations", frozenset({Role.ADMIN}), "admin"),
    NavItem(lazy("Locations"), "/admin/locations", frozenset({Role.ADMIN}), "admin"),
    NavItem(lazy("SKUs"), "/admin/skus", frozenset({Role.ADMIN}), "admin"),
    NavItem(lazy("Supplier prices"), "/admin/prices", frozenset({Role.ADMIN}), "admin"),
    NavItem(lazy("Planning schedules"), "/admin/planning", frozenset({Role.ADMIN}), "admin"),
    NavItem(lazy("Working days"), "/settlement/working-days", frozenset({Role.ADMIN}), "admin"),
    NavItem(lazy("System health"), "/health", frozenset({Role.ADMIN}), "admin"),
)


def navigation_for(user: Principal) -> list[NavItem]:
    return [item for item in NAVIGATION if item.roles is None or user.roles & item.roles]
