"""The role home page ("what needs me") and the notification bell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from supplychain import inbox, settlement
from supplychain.i18n import lazy
from supplychain.models import Role
from supplychain.principal import Principal
from web.deps import CurrentUser, OrgScope, RowId, Scope, SessionDep
from web.routes import approvals, inspections
from web.routes.purchase_orders import open_orders_count, to_confirm_count
from web.routes.shipments import expected_receipts_count
from web.templating import render
from workflows.common import business_date

router = APIRouter()


@dataclass(frozen=True)
class WorkQueue:
    """One card on a role's home page: what this role must act on, and what it says when empty."""

    title: str
    empty: str
    roles: frozenset[Role]
    href: str | None = None  # the list behind the card
    count: Callable[[Scope], int] | None = None  # how many items wait; None: no count yet


# The business processes fill these queues as they arrive (purchase orders, transfers, inspections,
# statements, payments); a card without a count shows its empty state.
WORK_QUEUES: tuple[WorkQueue, ...] = (
    WorkQueue(
        lazy("Approvals waiting for you"),
        lazy("No approvals are waiting for you."),
        frozenset({Role.APPROVER, Role.QUALITY_APPROVER, Role.FINANCE}),
        href="/approvals",
        count=approvals.pending_count,
    ),
    WorkQueue(
        lazy("Purchase orders to follow up"),
        lazy("No purchase orders need your attention."),
        frozenset({Role.BUYER}),
        href="/purchase-orders?status=open",
        count=open_orders_count,
    ),
    WorkQueue(
        lazy("Purchase orders to confirm"),
        lazy("No purchase orders are waiting for your confirmation."),
        frozenset({Role.SUPPLIER}),
        href="/supplier/purchase-orders?status=sent",
        count=to_confirm_count,
    ),
    WorkQueue(
        lazy("My replenishment orders"),
        lazy("You have no open replenishment orders."),
        frozenset({Role.STORE}),
        href="/replenishment?status=open",
        count=open_orders_count,
    ),
    WorkQueue(
        lazy("Shipments to receive"),
        lazy("No shipments are expected."),
        frozenset({Role.WAREHOUSE}),
        href="/warehouse/receipts",
        count=expected_receipts_count,
    ),
    WorkQueue(
        lazy("Lots to inspect"),
        lazy("No lots are waiting for inspection."),
        frozenset({Role.INSPECTOR}),
        href="/inspections",
        count=inspections.pending_count,
    ),
    WorkQueue(
        lazy("Payments due"),
        lazy("No payments are due."),
        frozenset({Role.FINANCE}),
        href="/finance/payments#due_this_week",
        count=lambda scope: settlement.due_soon_count(scope.session, _today()),
    ),
    WorkQueue(
        lazy("Users and master data"),
        lazy("Manage users, organisations, locations, SKUs and prices."),
        frozenset({Role.ADMIN}),
    ),
)


# HQ roles whose home shows how settlement is going (days to payment, due soon, overdue).
SETTLEMENT_FIGURE_ROLES = frozenset({Role.FINANCE, Role.ADMIN, Role.BUYER, Role.APPROVER})


def _today() -> date:
    return business_date(datetime.now(UTC))


def queues_for(user: Principal) -> list[WorkQueue]:
    return [queue for queue in WORK_QUEUES if user.roles & queue.roles]


@router.get("/")
def home(request: Request, session: SessionDep, user: CurrentUser, scope: OrgScope) -> Response:
    queues = queues_for(user)
    return render(
        request,
        "home/index.html",
        {
            "user": user,
            "queues": queues,
            "counts": {queue.title: queue.count(scope) for queue in queues if queue.count is not None},
            "notifications": inbox.recent(session, user, limit=10),
            "settlement": (
                settlement.settlement_figures(session, _today())
                if user.is_hq and user.roles & SETTLEMENT_FIGURE_ROLES
                else None
            ),
        },
    )


@router.get("/notifications")
def notification_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return render(
        request,
        "home/notifications.html",
        {"user": user, "notifications": inbox.recent(session, user, limit=100)},
        block="notification_list",
    )


@router.post("/notifications/{notification_id}/read")
def mark_read(notification_id: RowId, session: SessionDep, user: CurrentUser) -> Response:
    if not inbox.mark_read(session, user, notification_id):
        raise HTTPException(status_code=404)  # another user's notification: as if it did not exist
    session.commit()
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/read-all")
def mark_all_read(session: SessionDep, user: CurrentUser) -> Response:
    inbox.mark_all_read(session, user)
    session.commit()
    return RedirectResponse("/notifications", status_code=303)
