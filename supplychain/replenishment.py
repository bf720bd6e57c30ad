"""Starting a purchase order from a store's request: what it may order, where the goods go, and the
ReplenishmentWorkflow's start input.

The catalogue page (web/routes/purchase_orders.py) and the demo orders (supplychain/demo_orders.py)
both start their orders through here, so a demo order starts exactly as one placed on the page:
`orderable_items` -> `split_by_supplier` -> `replenishment_input` -> `with_batch_tracking`. The
catalogue page sources a request first (`available_stock` of the regional warehouse ->
`supplychain.rules.sourcing.source_request`): the warehouse-stock part starts a transfer
(`sourcing_transfer_input`), the rest the purchase orders as above.

The start input carries the process SLAs from the settings (supplier confirmation, HQ approval, the
quality decision on a rejected lot): the workflow cannot read settings, so whoever starts it passes
them in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from supplychain import offers
from supplychain.models import (
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    PriceListEntry,
    Sku,
    StockBalance,
    TransferOrigin,
)
from supplychain.models.base import utcnow
from supplychain.principal import Principal
from supplychain.rules.dates import business_date
from supplychain.rules.ordering import PlannedOrder, SupplierOffer, needs_approval, preferred_offer
from supplychain.rules.sourcing import SourcingPlan
from supplychain.scoping import visible
from supplychain.settings import settings
from workflows.replenishment import POLineInput, ReplenishmentInput
from workflows.transfer import TransferInput, TransferLineInput


def business_today() -> date:
    return business_date(utcnow())


@dataclass(frozen=True)
class CatalogueItem:
    sku: Sku
    offer: SupplierOffer  # the preferred one: what the request will order


def orderable_items(
    session: Session, user: Principal, *, search: str = "", category: str = ""
) -> dict[int, CatalogueItem]:
    """SKU id -> item, in SKU code order: what `user` may order today and at which price
    (optionally only SKUs whose code or name contains `search`, LIKE wildcards taken literally, and
    of one `category`).

    Read through the scoping rule: a store sees only the entry each request orders from (the
    preferred offer, supplychain/offers.py), so its catalogue and preview never show a supplier's
    whole price list; HQ's buyers see every entry and the same preferred offer is picked here."""
    query = (
        select(PriceListEntry, Sku)
        .join(Sku, col(PriceListEntry.sku_id) == col(Sku.id))
        .where(visible(user, PriceListEntry), offers.orderable(business_today()))
        .order_by(col(Sku.code))
    )
    if search:
        query = query.where(
            or_(
                col(Sku.code).icontains(search, autoescape=True),
                col(Sku.name).icontains(search, autoescape=True),
                col(Sku.name_en).icontains(search, autoescape=True),
            )
        )
    if category:
        query = query.where(col(Sku.category) == category)
    rows = session.execute(query).all()
    by_sku: dict[int, list[SupplierOffer]] = defaultdict(list)
    skus: dict[int, Sku] = {}
    for entry, sku in rows:
        assert sku.id is not None
        skus[sku.id] = sku
        by_sku[sku.id].append(
            SupplierOffer(
                supplier_id=entry.supplier_id,
                sku_id=sku.id,
                unit_price=entry.unit_price,
                tax_rate=entry.tax_rate,
                moq=entry.moq,
                pack_size=entry.pack_size,
                lead_time_days=entry.lead_time_days,
                direct_delivery=entry.direct_delivery,
            )
        )
    items: dict[int, CatalogueItem] = {}
    for sku_id, sku in skus.items():
        offer = preferred_offer(by_sku[sku_id])
        if offer is not None:
            items[sku_id] = CatalogueItem(sku=sku, offer=offer)
    return items


def regional_warehouse_for(session: Session, user: Principal) -> Location | None:
    """Where the store's goods arrive: the regional warehouse of its region, else the central one."""
    if user.location_id is None:
        return None
    store = session.get(Location, user.location_id)
    if store is None:
        return None
    return serving_warehouse(session, store)


def serving_warehouse(session: Session, location: Location) -> Location | None:
    """The HQ warehouse that serves `location`: itself when it is a warehouse, else the regional
    warehouse of its region, else the central one."""
    if location.kind.is_warehouse:
        return location
    warehouses = (
        select(Location)
        .join(Organisation, col(Location.organisation_id) == col(Organisation.id))
        .where(col(Location.is_active), col(Organisation.kind) == OrgKind.HQ)
        .order_by(col(Location.id))
    )
    if location.region_id is not None:
        regional: Location | None = (
            session.execute(
                warehouses.where(
                    col(Location.kind) == LocationKind.REGIONAL_WAREHOUSE,
                    col(Location.region_id) == location.region_id,
                )
            )
            .scalars()
            .first()
        )
        if regional is not None:
            return regional
    central: Location | None = (
        session.execute(warehouses.where(col(Location.kind) == LocationKind.CENTRAL_WAREHOUSE))
        .scalars()
        .first()
    )
    return central


def available_stock(session: Session, location_id: int, sku_ids: set[int]) -> dict[int, int]:
    """SKU id -> what `location_id` has available (on hand − reserved − quarantine), in one query."""
    if not sku_ids:
        return {}
    balances = session.execute(
        select(StockBalance).where(
            col(StockBalance.location_id) == location_id, col(StockBalance.sku_id).in_(sku_ids)
        )
    ).scalars()
    return {b.sku_id: b.available for b in balances}


def sourcing_transfer_input(
    number: str,
    plan: SourcingPlan,
    user: Principal,
    warehouse: Location,
    *,
    needs_approval: bool,
    **slas: Any,
) -> TransferInput:
    """The start input of the transfer serving a request's warehouse-stock part (origin SOURCING)."""
    assert user.location_id is not None and warehouse.id is not None
    return TransferInput(
        number=number,
        origin=TransferOrigin.SOURCING,
        source_location_id=warehouse.id,
        destination_location_id=user.location_id,
        requested_by_user_id=user.user_id,
        needs_approval=needs_approval,
        lines=[
            TransferLineInput(n, sku_id, quantity) for n, (sku_id, quantity) in enumerate(plan.transfer, 1)
        ],
        **slas,
    )


def replenishment_input(
    number: str, planned: PlannedOrder, user: Principal, ship_to: Location, *, transfer_on: bool = False
) -> ReplenishmentInput:
    """The start input of one planned PO, with every SLA of its process from the settings.

    `transfer_on`: bought for the user's store but delivered to `ship_to` (its warehouse), so what
    the warehouse accepts goes on to the store by transfer (sourcing, DESIGN 4.2)."""
    assert user.location_id is not None and ship_to.id is not None
    onward = transfer_on and ship_to.id != user.location_id
    return ReplenishmentInput(
        number=number,
        supplier_id=planned.supplier_id,
        requester_user_id=user.user_id,
        requester_org_id=user.organisation_id,
        requested_for_location_id=user.location_id,
        ship_to_location_id=ship_to.id,
        lines=[
            POLineInput(
                line_no=line.line_no,
                sku_id=line.sku_id,
                quantity_requested=line.quantity.requested,
                quantity_ordered=line.quantity.ordered,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
            )
            for line in planned.lines
        ],
        needs_approval=needs_approval(planned.total_amount, user.approval_limit),
        confirm_reminder_after=timedelta(hours=settings.PO_CONFIRM_REMINDER_HOURS),
        confirm_escalation_after=timedelta(hours=settings.PO_CONFIRM_ESCALATION_HOURS),
        approval_reminder_after=timedelta(hours=settings.APPROVAL_REMINDER_HOURS),
        approval_escalation_after=timedelta(hours=settings.APPROVAL_ESCALATION_HOURS),
        quality_decision_reminder_after=timedelta(hours=settings.QUALITY_DECISION_REMINDER_HOURS),
        quality_decision_escalation_after=timedelta(hours=settings.QUALITY_DECISION_ESCALATION_HOURS),
        transfer_on_to_location_id=user.location_id if onward else None,
    )


def with_batch_tracking(session: Session, input: ReplenishmentInput) -> ReplenishmentInput:
    """The start input with each line's `batch_tracked` taken from its SKU, as the PO starts.

    The flag is fixed for the life of the PO: changing the SKU later does not change open orders.
    """
    ids = {line.sku_id for line in input.lines}
    tracked = set(
        session.execute(select(col(Sku.id)).where(col(Sku.id).in_(ids), col(Sku.batch_tracked))).scalars()
    )
    return replace(input, lines=[replace(line, batch_tracked=line.sku_id in tracked) for line in input.lines])
