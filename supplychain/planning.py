"""Planning, database side (DESIGN 4.6): stock positions, policies and what the reorder review and
the transfer planner propose.

Per location and SKU:

- the stock position (`supplychain.rules.reorder_point.StockPosition`): the balance's on hand,
  reserved, quarantine and in transit, plus what is on order from suppliers: the open lines of
  purchase orders not in a final state, each line's confirmed quantity (the ordered one until the
  supplier confirms) less what was received, counted for a store on the orders requested for it
  (`requested_for_location_id`) and for a warehouse on the orders shipped to it
  (`ship_to_location_id`);
- the demand: issues per business day over the last PLANNING_HISTORY_DAYS days
  (`supplychain.planning_data.daily_demand`);
- the policy: the SKU's preferred offer (supplychain/offers.py: its lead time, MOQ and pack size)
  with PLANNING_SERVICE_LEVEL and PLANNING_REVIEW_DAYS;
- from these the reorder point, the order-up-to level and the suggestion (pure rules,
  `supplychain.rules.reorder_point`).

`reorder_view` is what the store's request page shows beside each SKU, in a fixed number of queries
whatever the number of SKUs. `write_reorder_review` and `write_transfer_plan` are the two runs'
writers, called by activities/planning.py: each writes its run row (unique per workflow id), its
proposals and its alerts in one transaction, and a retry of a run that committed writes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from supplychain import notifications, offers
from supplychain.db import insert_once
from supplychain.i18n import lazy
from supplychain.models import (
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    PlanningKind,
    PlanningRun,
    PriceListEntry,
    ProposalStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Region,
    ReplenishmentProposal,
    ReplenishmentProposalLine,
    Role,
    Sku,
    TransferProposalKind,
    TransferProposalLine,
    User,
)
from supplychain.models.base import utcnow
from supplychain.models.purchasing import FINAL_PO_STATUSES, POLineStatus
from supplychain.models.stock import StockBalance
from supplychain.planning_data import daily_demand, stock_ages
from supplychain.rules.reorder_point import (
    ReorderPoint,
    ReorderPolicy,
    StockPosition,
    Suggestion,
    reorder_point,
    suggest_order,
    transfer_need,
)
from supplychain.rules.transfer_planner import (
    Pair,
    SkuPositions,
    StockAge,
    TransferLine,
    plan_transfers,
    slow_moving,
    unit_cost,
)
from supplychain.settings import settings

Key = tuple[int, int]  # (location id, SKU id)

LOW_STOCK_MESSAGE = lazy(
    "Low stock: %(sku)s at %(location)s, %(available)s available, reorder point %(reorder_point)s."
)


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """The preferred offer of a SKU: whom the review orders from, at which price and terms."""

    supplier_id: int
    sku_id: int
    unit_price: Decimal
    lead_time_days: int
    moq: int
    pack_size: int


def preferred_offers(
    session: Session, today: dt.date, sku_ids: Collection[int] | None = None
) -> dict[int, Offer]:
    """SKU id -> its preferred offer today (SKUs without an orderable entry are left out). One query."""
    query = select(PriceListEntry).where(offers.preferred(today))
    if sku_ids is not None:
        query = query.where(col(PriceListEntry.sku_id).in_(sorted(set(sku_ids))))
    return {
        entry.sku_id: Offer(
            entry.supplier_id,
            entry.sku_id,
            entry.unit_price,
            entry.lead_time_days,
            entry.moq,
            entry.pack_size,
        )
        for entry in session.execute(query).scalars()
    }


def policy_for(offer: Offer) -> ReorderPolicy:
    return ReorderPolicy(
        lead_time_days=offer.lead_time_days,
        review_period_days=settings.PLANNING_REVIEW_DAYS,
        service_level=settings.PLANNING_SERVICE_LEVEL,
        moq=offer.moq,
        pack_size=offer.pack_size,
    )


def stock_positions(
    session: Session, locations: Mapping[int, LocationKind], sku_ids: Collection[int] | None = None
) -> dict[Key, StockPosition]:
    """(location id, SKU id) -> position, for the pairs with a balance or something on order (others
    are all zeros: `position_of`). Two queries."""
    location_ids = sorted(locations)
    balances = select(StockBalance).where(col(StockBalance.location_id).in_(location_ids))
    if sku_ids is not None:
        balances = balances.where(col(StockBalance.sku_id).in_(sorted(set(sku_ids))))
    result: dict[Key, StockPosition] = {}
    for b in session.execute(balances).scalars():
        result[(b.location_id, b.sku_id)] = StockPosition(
            on_hand=b.on_hand, reserved=b.reserved, quarantine=b.quarantine, in_transit=b.in_transit
        )
    for (location_id, sku_id), quantity in on_order(session, locations, sku_ids).items():
        current = result.get((location_id, sku_id), StockPosition(on_hand=0))
        result[(location_id, sku_id)] = StockPosition(
            on_hand=current.on_hand,
            reserved=current.reserved,
            quarantine=current.quarantine,
            in_transit=current.in_transit,
            on_order=quantity,
        )
    return result


def position_of(positions: Mapping[Key, StockPosition], location_id: int, sku_id: int) -> StockPosition:
    return positions.get((location_id, sku_id), StockPosition(on_hand=0))


def on_order(
    session: Session, locations: Mapping[int, LocationKind], sku_ids: Collection[int] | None = None
) -> dict[Key, int]:
    """(location id, SKU id) -> ordered from suppliers and not received yet. One query."""
    location_ids = sorted(locations)
    outstanding = func.coalesce(
        col(PurchaseOrderLine.quantity_confirmed), col(PurchaseOrderLine.quantity_ordered)
    ) - col(PurchaseOrderLine.quantity_received)
    query = (
        select(
            col(PurchaseOrder.requested_for_location_id),
            col(PurchaseOrder.ship_to_location_id),
            col(PurchaseOrderLine.sku_id),
            func.sum(outstanding),
        )
        .join(PurchaseOrder, col(PurchaseOrder.id) == col(PurchaseOrderLine.purchase_order_id))
        .where(
            col(PurchaseOrder.status).not_in(sorted(FINAL_PO_STATUSES)),
            col(PurchaseOrderLine.status) == POLineStatus.OPEN,
            outstanding > 0,
            col(PurchaseOrder.requested_for_location_id).in_(location_ids)
            | col(PurchaseOrder.ship_to_location_id).in_(location_ids),
        )
        .group_by(
            col(PurchaseOrder.requested_for_location_id),
            col(PurchaseOrder.ship_to_location_id),
            col(PurchaseOrderLine.sku_id),
        )
    )
    if sku_ids is not None:
        query = query.where(col(PurchaseOrderLine.sku_id).in_(sorted(set(sku_ids))))
    result: dict[Key, int] = defaultdict(int)
    for requested_for, ship_to, sku_id, quantity in session.execute(query).all():
        if locations.get(requested_for) is LocationKind.STORE:
            result[(requested_for, sku_id)] += int(quantity)
        kind = locations.get(ship_to)
        if kind is not None and kind.is_warehouse:
            result[(ship_to, sku_id)] += int(quantity)
    return dict(result)


def history_days() -> int:
    return settings.PLANNING_HISTORY_DAYS


@dataclass(frozen=True)
class View:
    """One SKU's line on the store's request page."""

    on_hand: int
    available: int
    reorder_point: int
    order_up_to: int
    suggested: int  # 0: nothing to order now


def reorder_view(
    session: Session, location_id: int, sku_ids: Collection[int], today: dt.date
) -> dict[int, View]:
    """SKU id -> on hand, reorder point and suggested quantity at one location, for the SKUs that have
    a preferred offer. Five queries whatever the number of SKUs."""
    ids = sorted(set(sku_ids))
    location = session.get(Location, location_id)
    if location is None or not ids:
        return {}
    kinds = {location_id: location.kind}
    found = preferred_offers(session, today, ids)
    positions = stock_positions(session, kinds, ids)
    demand = daily_demand(session, location_ids=[location_id], sku_ids=ids, days=history_days(), today=today)
    result: dict[int, View] = {}
    for sku_id in ids:
        offer = found.get(sku_id)
        if offer is None:
            continue
        policy = policy_for(offer)
        point = reorder_point(demand[(location_id, sku_id)], policy)
        position = position_of(positions, location_id, sku_id)
        suggestion = suggest_order(point, position, policy)
        result[sku_id] = View(
            on_hand=position.on_hand,
            available=position.on_hand - position.reserved - position.quarantine,
            reorder_point=point.reorder_point,
            order_up_to=point.order_up_to,
            suggested=suggestion.quantity,
        )
    return result


def reorder_points_for(session: Session, pairs: Collection[Key], today: dt.date) -> dict[Key, int]:
    """(location id, SKU id) -> reorder point, for the pairs whose SKU has a preferred offer and sells
    there (a reorder point above 0): the stock page's low-stock marks. Two queries for a page of rows
    (the offers, and one demand query over the page's locations and SKUs)."""
    if not pairs:
        return {}
    sku_ids = sorted({sku_id for _location_id, sku_id in pairs})
    location_ids = sorted({location_id for location_id, _sku_id in pairs})
    found = preferred_offers(session, today, sku_ids)
    demand = daily_demand(
        session, location_ids=location_ids, sku_ids=sku_ids, days=history_days(), today=today
    )
    points: dict[Key, int] = {}
    for location_id, sku_id in pairs:
        offer = found.get(sku_id)
        if offer is None:
            continue
        point = reorder_point(demand[(location_id, sku_id)], policy_for(offer)).reorder_point
        if point > 0:
            points[(location_id, sku_id)] = point
    return points


def planning_locations(session: Session) -> dict[int, Location]:
    """Every active store and warehouse the review plans for, by id."""
    rows = session.execute(
        select(Location).where(col(Location.is_active).is_(True)).order_by(col(Location.id))
    ).scalars()
    return {location.id: location for location in rows if location.id is not None}


def network_locations(session: Session) -> dict[int, Location]:
    """The company's own active locations (HQ's warehouses and stores): what transfers move between."""
    rows = session.execute(
        select(Location)
        .join(Organisation, col(Organisation.id) == col(Location.organisation_id))
        .where(col(Location.is_active).is_(True), col(Organisation.kind) == OrgKind.HQ)
        .order_by(col(Location.id))
    ).scalars()
    return {location.id: location for location in rows if location.id is not None}


@dataclass(frozen=True)
class Planned:
    """One location and SKU as the review sees it."""

    location_id: int
    sku_id: int
    offer: Offer
    position: StockPosition
    point: ReorderPoint
    suggestion: Suggestion

    @property
    def available(self) -> int:
        return self.position.on_hand - self.position.reserved - self.position.quarantine

    @property
    def low_stock(self) -> bool:
        """Worth an alert: the SKU sells here and what is available is at or below the reorder point."""
        return self.point.reorder_point > 0 and self.available <= self.point.reorder_point


def review(
    session: Session, locations: Mapping[int, Location], found: Mapping[int, Offer], today: dt.date
) -> list[Planned]:
    """Every location and SKU with an offer, planned: one pass per location (its demand and
    positions in three queries), so memory stays at one location's history."""
    result: list[Planned] = []
    sku_ids = sorted(found)
    if not sku_ids:
        return result
    for location_id, location in sorted(locations.items()):
        positions = stock_positions(session, {location_id: location.kind}, sku_ids)
        demand = daily_demand(
            session, location_ids=[location_id], sku_ids=sku_ids, days=history_days(), today=today
        )
        for sku_id in sku_ids:
            offer = found[sku_id]
            policy = policy_for(offer)
            point = reorder_point(demand[(location_id, sku_id)], policy)
            position = position_of(positions, location_id, sku_id)
            result.append(
                Planned(location_id, sku_id, offer, position, point, suggest_order(point, position, policy))
            )
    return result


# --- the reorder review --------------------------------------------------------------------------


@dataclass
class RunOutcome:
    run_id: int
    proposals: int
    written: bool  # False: a retry found the run already written
    notification_ids: list[int] = field(default_factory=list)


def _run_row(
    session: Session, *, kind: PlanningKind, workflow_id: str, today: dt.date, started_by: int | None
) -> tuple[PlanningRun, bool]:
    def existing() -> PlanningRun | None:
        return session.execute(
            select(PlanningRun).where(col(PlanningRun.workflow_id) == workflow_id)
        ).scalar_one_or_none()

    found = existing()
    if found is not None:
        return found, False
    return insert_once(
        session,
        PlanningRun(kind=kind, workflow_id=workflow_id, business_date=today, started_by_user_id=started_by),
        existing,
    )


def write_reorder_review(
    session: Session, *, workflow_id: str, today: dt.date, started_by_user_id: int | None = None
) -> RunOutcome:
    """The review's run: one proposal per supplier and location with a line per SKU to order (the
    same pair's open proposals of earlier runs superseded) and low-stock alerts. Does not commit."""
    run, inserted = _run_row(
        session,
        kind=PlanningKind.REORDER_REVIEW,
        workflow_id=workflow_id,
        today=today,
        started_by=started_by_user_id,
    )
    assert run.id is not None
    if not inserted:
        return RunOutcome(run.id, run.proposals, written=False)
    locations = planning_locations(session)
    found = preferred_offers(session, today)
    planned = review(session, locations, found, today)
    groups: dict[tuple[int, int], list[Planned]] = defaultdict(list)
    for item in planned:
        if item.suggestion.quantity > 0:
            groups[(item.offer.supplier_id, item.location_id)].append(item)
    for (supplier_id, location_id), items in sorted(groups.items()):
        session.execute(
            update(ReplenishmentProposal)
            .where(
                col(ReplenishmentProposal.supplier_id) == supplier_id,
                col(ReplenishmentProposal.location_id) == location_id,
                col(ReplenishmentProposal.status) == ProposalStatus.PROPOSED,
                col(ReplenishmentProposal.planning_run_id) != run.id,
            )
            .values(status=ProposalStatus.SUPERSEDED, decided_at=utcnow())
        )
        proposal = ReplenishmentProposal(
            planning_run_id=run.id,
            supplier_id=supplier_id,
            location_id=location_id,
            status=ProposalStatus.PROPOSED,
        )
        session.add(proposal)
        session.flush()
        assert proposal.id is not None
        for item in sorted(items, key=lambda i: i.sku_id):
            session.add(
                ReplenishmentProposalLine(
                    proposal_id=proposal.id,
                    sku_id=item.sku_id,
                    quantity=item.suggestion.quantity,
                    needed=item.suggestion.needed,
                    on_hand=item.position.on_hand,
                    inventory_position=item.suggestion.inventory_position,
                    reorder_point=item.suggestion.reorder_point,
                    order_up_to=item.suggestion.order_up_to,
                    unit_price=item.offer.unit_price,
                    reason=item.suggestion.reason,
                )
            )
    notification_ids = _low_stock_alerts(session, [p for p in planned if p.low_stock], locations, today)
    run.proposals = len(groups)
    run.finished_at = utcnow()
    session.add(run)
    session.flush()
    return RunOutcome(run.id, run.proposals, written=True, notification_ids=notification_ids)


def _low_stock_alerts(
    session: Session, low: list[Planned], locations: Mapping[int, Location], today: dt.date
) -> list[int]:
    """One alert per location, SKU and day to the location's people (store users at a store,
    warehouse staff at a warehouse) and to the supplier's users for their own SKU."""
    if not low:
        return []
    skus = {
        sku.id: sku
        for sku in session.execute(select(Sku).where(col(Sku.id).in_({p.sku_id for p in low}))).scalars()
    }
    staff: dict[int, list[int]] = defaultdict(list)
    location_roles = {Role.STORE, Role.WAREHOUSE}
    holders = {
        role: set(notifications.users_with_role(session, role)) for role in (*location_roles, Role.SUPPLIER)
    }
    users = session.execute(
        select(col(User.id), col(User.location_id), col(User.organisation_id)).where(
            col(User.is_active).is_(True)
        )
    ).all()
    by_org: dict[int, list[int]] = defaultdict(list)
    for user_id, location_id, org_id in users:
        if user_id in holders[Role.SUPPLIER]:
            by_org[org_id].append(user_id)
        if location_id is None or location_id not in locations:
            continue
        role = Role.STORE if locations[location_id].kind is LocationKind.STORE else Role.WAREHOUSE
        if user_id in holders[role]:
            staff[location_id].append(user_id)
    ids: list[int] = []
    for item in low:
        sku = skus[item.sku_id]
        params = {
            "sku": sku.code,
            "location": locations[item.location_id].name,
            "available": item.available,
            "reorder_point": item.point.reorder_point,
        }
        key = f"low-stock:{item.location_id}:{item.sku_id}:{today.isoformat()}"
        for user_ids, link in (
            (staff.get(item.location_id, []), "/replenishment/new"),
            (by_org.get(item.offer.supplier_id, []), "/supplier/stock-forecast"),
        ):
            if user_ids:
                rows = notifications.notify(
                    session,
                    user_ids=user_ids,
                    message=LOW_STOCK_MESSAGE,
                    idempotency_key=key,
                    params=params,
                    link=link,
                    document_type="sku",
                    document_id=sku.code,
                )
                ids.extend(row.id for row in rows if row.id is not None)
    return ids


# --- the transfer planner ------------------------------------------------------------------------


def unit_costs(locations: Mapping[int, Location], regions: Mapping[int, Region]) -> dict[Pair, Decimal]:
    """The cost of moving one unit between every two of the locations: from their regions'
    coordinates (`unit_cost`), within a region the handling alone, and between regions of which one
    has no coordinates the flat PLANNER_INTER_REGION_COST."""
    result: dict[Pair, Decimal] = {}
    handling, per_km = settings.PLANNER_HANDLING_COST, settings.PLANNER_COST_PER_KM
    for a, la in locations.items():
        for b, lb in locations.items():
            if a == b:
                continue
            ra = regions.get(la.region_id) if la.region_id is not None else None
            rb = regions.get(lb.region_id) if lb.region_id is not None else None
            if ra is not None and rb is not None and ra.id == rb.id:
                result[(a, b)] = handling
            elif (
                ra is not None
                and rb is not None
                and ra.latitude is not None
                and ra.longitude is not None
                and rb.latitude is not None
                and rb.longitude is not None
            ):
                result[(a, b)] = unit_cost(
                    (ra.latitude, ra.longitude), (rb.latitude, rb.longitude), handling=handling, per_km=per_km
                )
            else:
                result[(a, b)] = settings.PLANNER_INTER_REGION_COST
    return result


@dataclass(frozen=True)
class TransferProposal:
    kind: TransferProposalKind
    line: TransferLine


def transfer_plan(session: Session, today: dt.date) -> list[TransferProposal]:
    """Shortage transfers (surplus -> below the reorder point, minimum cost) and then slow-moving
    stock to where the SKU sells, between the company's own locations. The slow-moving plan sees
    what the shortage plan already moves: it neither sends those units again nor fills the same
    demand twice."""
    locations = network_locations(session)
    if len(locations) < 2:
        return []
    regions = {r.id: r for r in session.execute(select(Region)).scalars() if r.id is not None}
    costs = unit_costs(locations, regions)
    found = preferred_offers(session, today)
    planned = review(session, locations, found, today)
    surplus: dict[int, dict[int, int]] = defaultdict(dict)
    shortage: dict[int, dict[int, int]] = defaultdict(dict)
    period_demand: dict[Key, int] = {}
    for item in planned:
        need = transfer_need(item.point, item.position)
        if need.surplus > 0:
            surplus[item.sku_id][item.location_id] = need.surplus
        if need.shortage > 0 and item.point.demand.mean > 0:
            shortage[item.sku_id][item.location_id] = need.shortage
        # What a selling location can take of slow stock: its demand over one review period.
        period_demand[(item.location_id, item.sku_id)] = math.ceil(
            item.point.demand.mean * settings.PLANNING_REVIEW_DAYS
        )
    positions = [
        SkuPositions(sku_id, surplus.get(sku_id, {}), shortage.get(sku_id, {}))
        for sku_id in sorted(set(surplus) & set(shortage))
    ]
    shortage_plan = plan_transfers(positions, costs)
    sent: dict[Key, int] = defaultdict(int)
    received: dict[Key, int] = defaultdict(int)
    for line in shortage_plan.lines:
        sent[(line.from_location_id, line.sku_id)] += line.quantity
        received[(line.to_location_id, line.sku_id)] += line.quantity
    ages = [age for age in stock_ages(session, location_ids=list(locations)) if age.sku_id in found]
    left = [
        StockAge(a.location_id, a.sku_id, a.on_hand - sent.get((a.location_id, a.sku_id), 0), a.last_movement)
        for a in ages
    ]
    demand = {
        key: quantity - received.get(key, 0)
        for key, quantity in period_demand.items()
        if quantity - received.get(key, 0) > 0
    }
    slow = slow_moving(left, demand, costs, today=today, days=settings.PLANNER_SLOW_MOVING_DAYS)
    return [TransferProposal(TransferProposalKind.SHORTAGE, line) for line in shortage_plan.lines] + [
        TransferProposal(TransferProposalKind.SLOW_MOVING, line) for line in slow.plan.lines
    ]


def write_transfer_plan(
    session: Session, *, workflow_id: str, today: dt.date, started_by_user_id: int | None = None
) -> RunOutcome:
    """The planner's run: its proposal lines (the open lines of earlier runs superseded: a plan is
    made from the whole network's stock, so a new one replaces the old). Does not commit."""
    run, inserted = _run_row(
        session,
        kind=PlanningKind.TRANSFER_PLAN,
        workflow_id=workflow_id,
        today=today,
        started_by=started_by_user_id,
    )
    assert run.id is not None
    if not inserted:
        return RunOutcome(run.id, run.proposals, written=False)
    proposals = transfer_plan(session, today)
    session.execute(
        update(TransferProposalLine)
        .where(
            col(TransferProposalLine.status) == ProposalStatus.PROPOSED,
            col(TransferProposalLine.planning_run_id) != run.id,
        )
        .values(status=ProposalStatus.SUPERSEDED, decided_at=utcnow())
    )
    for proposal in proposals:
        line = proposal.line
        session.add(
            TransferProposalLine(
                planning_run_id=run.id,
                kind=proposal.kind,
                sku_id=line.sku_id,
                source_location_id=line.from_location_id,
                destination_location_id=line.to_location_id,
                quantity=line.quantity,
                unit_cost=line.unit_cost,
                line_cost=line.line_cost,
                reason=line.reason,
                status=ProposalStatus.PROPOSED,
            )
        )
    run.proposals = len(proposals)
    run.finished_at = utcnow()
    session.add(run)
    session.flush()
    return RunOutcome(run.id, run.proposals, written=True)


def recent_runs(session: Session, kind: PlanningKind, limit: int = 5) -> list[PlanningRun]:
    return list(
        session.execute(
            select(PlanningRun)
            .where(col(PlanningRun.kind) == kind)
            .order_by(col(PlanningRun.created_at).desc(), col(PlanningRun.id).desc())
            .limit(limit)
        ).scalars()
    )


def sku_demand(
    session: Session, location_ids: Iterable[int], sku_id: int, today: dt.date
) -> dict[int, list[int]]:
    """Location id -> the SKU's daily demand over the history window (for the forecast)."""
    demand = daily_demand(
        session, location_ids=list(location_ids), sku_ids=[sku_id], days=history_days(), today=today
    )
    return {location_id: series for (location_id, _), series in demand.items()}
