"""Organisation scoping: the one place that decides which rows a user may see.

Every query for something a user may or may not see goes through `visible` (via the web layer's
`OrgScope` dependency). HQ users see the whole chain; a supplier sees its own organisation, its own
price lists and stock of the SKUs it supplies; a distributor sees its own organisation and
locations.

- Price lists: HQ's buyers, approvers, finance and admins see all, a supplier its own, a store
  (HQ's or a distributor's) only the entries its requests order from.
- Purchase orders: HQ purchasing roles see all, an HQ store the orders requested for its own
  location, a supplier the orders sent to it (from the moment they are sent), a distributor the
  orders it placed; lines and shipments follow their order.
- Stock (balances and the ledger behind them): HQ's buyers, approvers, warehouse, inspectors,
  finance and admins see every location; an HQ store manager, like a distributor, its own
  organisation's locations; a supplier the balances of the SKUs it has a price for at HQ's locations
  (quantities only) and no ledger (its rows name other suppliers' documents). Sales are recorded by
  store users at their own store (a distributor's at any of its stores) and by HQ warehouse staff at
  their own location (`sales_locations`).
- Inspections (and their photos, returns to vendor, debit notes and the switching state): HQ sees
  all, a supplier those of its own lots.
- Approval requests and delegations: in HQ, the people they involve; notifications: their reader.
- Planning runs and their proposals: HQ only.
- Transfers (and their lines): HQ's logistics and purchasing roles see all, an HQ store and a
  distributor those leaving or reaching their own locations; suppliers none.
- Statements (their lines and disputes), invoices, payments, price adjustments and settlement
  terms: HQ sees all, a supplier its own; payment runs and the working-day calendar are HQ's.

Anything not visible answers 404, so another organisation's documents are not even confirmed to
exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlmodel import SQLModel, col

from supplychain import approvals, offers
from supplychain.models import (
    ApprovalDelegation,
    ApprovalRequest,
    DebitNote,
    Inspection,
    InspectionPhoto,
    InspectionSwitching,
    Location,
    LocationKind,
    Notification,
    Organisation,
    OrgKind,
    Payment,
    PaymentRun,
    PlanningRun,
    PriceAdjustment,
    PriceListEntry,
    PurchaseOrder,
    PurchaseOrderLine,
    QualityCertificate,
    Region,
    ReplenishmentProposal,
    ReplenishmentProposalLine,
    ReturnToVendor,
    Role,
    SettlementTerms,
    Shipment,
    ShipmentLine,
    Sku,
    Statement,
    StatementDispute,
    StatementLine,
    StockBalance,
    StockLedgerEntry,
    SupplierInvoice,
    SupplierInvoiceLine,
    Transfer,
    TransferLine,
    TransferProposalLine,
    User,
    WorkingDayOverride,
)
from supplychain.models.base import utcnow
from supplychain.principal import Principal
from supplychain.rules.dates import business_date

Rule = Callable[[Principal], ColumnElement[bool]]


def _own_org(column: Any) -> Rule:
    return lambda p: col(column) == p.organisation_id


def _own_notifications(p: Principal) -> ColumnElement[bool]:
    return col(Notification.user_id) == p.user_id


def _skus_supplied_by(p: Principal) -> Any:
    return select(col(PriceListEntry.sku_id)).where(col(PriceListEntry.supplier_id) == p.organisation_id)


def _hq_locations() -> Any:
    return select(col(Location.id)).join(Organisation).where(col(Organisation.kind) == OrgKind.HQ)


# HQ roles that work on every purchase order; an HQ user with none of them (a store manager) sees
# only the orders requested for their own store.
HQ_PURCHASING_ROLES = frozenset(
    {
        Role.BUYER,
        Role.APPROVER,
        Role.QUALITY_APPROVER,
        Role.WAREHOUSE,
        Role.INSPECTOR,
        Role.FINANCE,
        Role.ADMIN,
    }
)


def _hq_purchase_orders(p: Principal) -> ColumnElement[bool]:
    if p.roles & HQ_PURCHASING_ROLES:
        return true()
    if p.location_id is None:
        return false()
    return col(PurchaseOrder.requested_for_location_id) == p.location_id


def _sent_to_the_supplier(p: Principal) -> ColumnElement[bool]:
    """A supplier sees its orders from the moment they are sent to it: not while HQ approval is
    pending, nor after HQ rejected or cancelled one before sending it."""
    return (col(PurchaseOrder.supplier_id) == p.organisation_id) & col(PurchaseOrder.sent_at).is_not(None)


_PO_RULES: dict[OrgKind, Rule] = {
    OrgKind.HQ: _hq_purchase_orders,
    OrgKind.SUPPLIER: _sent_to_the_supplier,
    OrgKind.DISTRIBUTOR: _own_org(PurchaseOrder.requester_org_id),
}


# HQ roles that work with supplier quality certificates; other HQ users (stores, finance) see none.
HQ_QUALITY_ROLES = frozenset(
    {Role.BUYER, Role.INSPECTOR, Role.APPROVER, Role.QUALITY_APPROVER, Role.WAREHOUSE, Role.ADMIN}
)


# HQ roles that work with supplier price lists (buying, approving amounts, paying, keeping them).
HQ_PRICE_ROLES = frozenset({Role.BUYER, Role.APPROVER, Role.FINANCE, Role.ADMIN})


def _hq_prices(p: Principal) -> ColumnElement[bool]:
    """HQ's buyers, approvers, finance and admins see every price list; an HQ store, like a
    distributor's, sees the entries its requests order from; other HQ roles none."""
    if p.roles & HQ_PRICE_ROLES:
        return true()
    if Role.STORE in p.roles:
        return offers.preferred(business_date(utcnow()))
    return false()


def _own_org_locations(p: Principal) -> Any:
    return select(col(Location.id)).where(col(Location.organisation_id) == p.organisation_id)


def sees_every_location(p: Principal) -> bool:
    """HQ's buyers, approvers, warehouse, inspectors, finance and admins see the stock of the whole
    network (and its region x SKU heat map); an HQ store manager does not."""
    return p.is_hq and bool(p.roles & HQ_PURCHASING_ROLES)


def _stock_at_locations(location_column: Any) -> Rule:
    """HQ-wide roles see stock everywhere; anyone else (an HQ store manager, a distributor's user)
    the locations of their own organisation."""

    def rule(p: Principal) -> ColumnElement[bool]:
        if sees_every_location(p):
            return true()
        return col(location_column).in_(_own_org_locations(p))

    return rule


def sales_locations(p: Principal) -> ColumnElement[bool]:
    """The locations (a WHERE clause on Location) where `p` may record sales and issues: a store
    user's own store, and for a distributor's store user every store of the distributor; an HQ
    warehouse user's own location. Nobody else records sales."""
    clauses: list[ColumnElement[bool]] = []
    if p.location_id is not None and p.roles & {Role.STORE, Role.WAREHOUSE}:
        clauses.append(col(Location.id) == p.location_id)
    if p.org_kind is OrgKind.DISTRIBUTOR and Role.STORE in p.roles:
        clauses.append(
            (col(Location.organisation_id) == p.organisation_id) & (col(Location.kind) == LocationKind.STORE)
        )
    if p.org_kind is OrgKind.SUPPLIER or not clauses:
        return false()
    return or_(*clauses) & col(Location.is_active) & (col(Location.organisation_id) == p.organisation_id)


def _hq_certificates(p: Principal) -> ColumnElement[bool]:
    return true() if p.roles & HQ_QUALITY_ROLES else false()


def _visible_po_ids(p: Principal) -> Any:
    return select(col(PurchaseOrder.id)).where(_PO_RULES[p.org_kind](p))


def _through_po(column: Any) -> Rule:
    """Lines and shipments are visible exactly when their purchase order is."""
    return lambda p: col(column).in_(_visible_po_ids(p))


def _through_statement(column: Any) -> Rule:
    """Rows of a statement: visible exactly when their statement is."""
    return lambda p: col(column).in_(
        select(col(Statement.id)).where(col(Statement.supplier_id) == p.organisation_id)
    )


def _through_invoice(p: Principal) -> ColumnElement[bool]:
    """An invoice's lines: visible exactly when their invoice is (through its supplier)."""
    invoices = select(col(SupplierInvoice.id)).where(col(SupplierInvoice.supplier_id) == p.organisation_id)
    return col(SupplierInvoiceLine.invoice_id).in_(invoices)


def _shipment_lines(p: Principal) -> ColumnElement[bool]:
    shipments = select(col(Shipment.id)).where(col(Shipment.purchase_order_id).in_(_visible_po_ids(p)))
    return col(ShipmentLine.shipment_id).in_(shipments)


def _own_transfers(p: Principal) -> ColumnElement[bool]:
    return (col(Transfer.source_org_id) == p.organisation_id) | (
        col(Transfer.destination_org_id) == p.organisation_id
    )


def _hq_transfers(p: Principal) -> ColumnElement[bool]:
    """HQ's logistics and purchasing roles see every transfer; an HQ store manager those leaving or
    reaching its own store."""
    if p.roles & HQ_PURCHASING_ROLES:
        return true()
    if p.location_id is None:
        return false()
    return (col(Transfer.source_location_id) == p.location_id) | (
        col(Transfer.destination_location_id) == p.location_id
    )


def _visible_transfer_ids(p: Principal) -> Any:
    rule = _hq_transfers if p.org_kind is OrgKind.HQ else _own_transfers
    return select(col(Transfer.id)).where(rule(p))


# model -> {organisation kind -> rule}. HQ sees everything unless a rule says otherwise; a model
# with no rule for an organisation kind is invisible to it.
RULES: dict[type[SQLModel], dict[OrgKind, Rule]] = {
    Organisation: {
        OrgKind.SUPPLIER: _own_org(Organisation.id),
        OrgKind.DISTRIBUTOR: _own_org(Organisation.id),
    },
    # Regions are the chain's shared geography, not any organisation's own.
    Region: dict.fromkeys(OrgKind, lambda p: true()),
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
        OrgKind.HQ: _hq_prices,
        OrgKind.SUPPLIER: _own_org(PriceListEntry.supplier_id),
        # A distributor's stores see what they may order at the price they pay: the entry a request
        # for each SKU orders from (supplychain/offers.py), never a supplier's whole list.
        OrgKind.DISTRIBUTOR: lambda p: offers.preferred(business_date(utcnow())),
    },
    StockBalance: {
        OrgKind.HQ: _stock_at_locations(StockBalance.location_id),
        # Suppliers see stock of their own products in HQ locations (low-stock alerts, DESIGN 1).
        OrgKind.SUPPLIER: lambda p: (
            col(StockBalance.sku_id).in_(_skus_supplied_by(p))
            & col(StockBalance.location_id).in_(_hq_locations())
        ),
        OrgKind.DISTRIBUTOR: _stock_at_locations(StockBalance.location_id),
    },
    # The ledger: as its balances, but never for a supplier (its rows name the documents of whoever
    # delivered, other suppliers included).
    StockLedgerEntry: {
        OrgKind.HQ: _stock_at_locations(StockLedgerEntry.location_id),
        OrgKind.DISTRIBUTOR: _stock_at_locations(StockLedgerEntry.location_id),
    },
    PurchaseOrder: _PO_RULES,
    PurchaseOrderLine: {kind: _through_po(PurchaseOrderLine.purchase_order_id) for kind in OrgKind},
    Shipment: {kind: _through_po(Shipment.purchase_order_id) for kind in OrgKind},
    ShipmentLine: dict.fromkeys(OrgKind, _shipment_lines),
    QualityCertificate: {
        OrgKind.HQ: _hq_certificates,
        OrgKind.SUPPLIER: _own_org(QualityCertificate.supplier_id),
    },
    Inspection: {
        # HQ sees every inspection; a supplier the inspections of its own lots; distributors none.
        OrgKind.SUPPLIER: _own_org(Inspection.supplier_id),
    },
    InspectionPhoto: {
        # A photo is visible exactly when its inspection is.
        OrgKind.SUPPLIER: lambda p: col(InspectionPhoto.inspection_id).in_(
            select(col(Inspection.id)).where(col(Inspection.supplier_id) == p.organisation_id)
        ),
    },
    InspectionSwitching: {
        # The quality standing of a supplier: HQ sees all, a supplier its own (its scorecard).
        OrgKind.SUPPLIER: _own_org(InspectionSwitching.supplier_id),
    },
    ReturnToVendor: {
        OrgKind.SUPPLIER: _own_org(ReturnToVendor.supplier_id),
    },
    DebitNote: {
        OrgKind.SUPPLIER: _own_org(DebitNote.supplier_id),
    },
    # Reconciliation and settlement: HQ sees all, a supplier its own; distributors none.
    SettlementTerms: {OrgKind.SUPPLIER: _own_org(SettlementTerms.supplier_id)},
    Statement: {OrgKind.SUPPLIER: _own_org(Statement.supplier_id)},
    StatementLine: {OrgKind.SUPPLIER: _through_statement(StatementLine.statement_id)},
    StatementDispute: {OrgKind.SUPPLIER: _through_statement(StatementDispute.statement_id)},
    PriceAdjustment: {OrgKind.SUPPLIER: _own_org(PriceAdjustment.supplier_id)},
    SupplierInvoice: {OrgKind.SUPPLIER: _own_org(SupplierInvoice.supplier_id)},
    SupplierInvoiceLine: {OrgKind.SUPPLIER: _through_invoice},
    Payment: {OrgKind.SUPPLIER: _own_org(Payment.supplier_id)},
    PaymentRun: {},  # the bank files: HQ's finance only
    # Planning (reorder review and transfer planner runs, their proposals): HQ's buyers work them.
    PlanningRun: {},
    ReplenishmentProposal: {},
    ReplenishmentProposalLine: {},
    TransferProposalLine: {},
    # Transfers: HQ sees all, a distributor those leaving or reaching its own locations.
    Transfer: {OrgKind.HQ: _hq_transfers, OrgKind.DISTRIBUTOR: _own_transfers},
    TransferLine: {
        kind: lambda p: col(TransferLine.transfer_id).in_(_visible_transfer_ids(p))
        for kind in (OrgKind.HQ, OrgKind.DISTRIBUTOR)
    },
    WorkingDayOverride: {},  # the calendar HQ pays by: HQ only
    ApprovalRequest: {
        # HQ's approval queue: a request is seen by its assignee, their delegates of the day, and whoever
        # decided it; never outside HQ.
        OrgKind.HQ: lambda p: approvals.involving(p.user_id, business_date(utcnow())),
    },
    ApprovalDelegation: {
        OrgKind.HQ: lambda p: approvals.delegations_involving(p.user_id),
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
