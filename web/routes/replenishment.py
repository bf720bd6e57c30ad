"""The store's request (replenishment, DESIGN 4.1, sourced as 4.2 says): the catalogue
`/replenishment/new` with what the store may order at the price it pays
(`supplychain.replenishment.orderable_items`, read through the scoping rule), an htmx preview of
where each line comes from (`supplychain.rules.sourcing.source_request`: the regional warehouse's
available stock first, the rest bought, delivered to the warehouse and transferred on, or straight
to the store where the supplier delivers direct), of the pack-size rounding and of the purchase
orders per supplier and delivery, and the submit that starts one TransferWorkflow (origin SOURCING)
for the warehouse-stock part and one ReplenishmentWorkflow per planned order. The form's one-time
token (`claim_submission`) covers all of them: a second submit starts nothing.

The orders' own pages (lists, the document page, the supplier's and buyer's actions) are
web/routes/purchase_orders.py; the transfer's are web/routes/transfers.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.responses import Response
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from supplychain import i18n, planning, transfers
from supplychain.models import (
    Location,
    RequestSubmission,
    Role,
    Sku,
)
from supplychain.numbering import reserve_number
from supplychain.principal import Principal
from supplychain.replenishment import (
    CatalogueItem,
    available_stock,
    business_today,
    orderable_items,
    regional_warehouse_for,
    replenishment_input,
    sourcing_transfer_input,
    with_batch_tracking,
)
from supplychain.rules.ordering import (
    OrderQuantity,
    PlannedOrder,
    SupplierOffer,
    needs_approval,
)
from supplychain.rules.sourcing import Delivery, SourcingPlan, source_request
from supplychain.security import new_token
from supplychain.settings import settings
from web.deps import FormDep, SessionDep, names_for, parse_row_id, require_roles
from web.flash import flash
from web.purchasing import (
    form_text,
    parse_quantity,
    sku_label,
    temporal_client,
)
from web.routes.transfers import start_transfer, transfer_slas
from web.templating import render
from web.workflow_calls import await_on_loop
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import (
    ReplenishmentInput,
    ReplenishmentWorkflow,
    WaitRecordedInput,
    po_workflow_id,
)

router = APIRouter()
log = logging.getLogger(__name__)

StoreUser = Annotated[Principal, Depends(require_roles(Role.STORE))]
QTY_FIELD = "qty-"


@dataclass
class RequestForm:
    """What the store typed, parsed: valid requests, and messages beside lines or above the list."""

    values: dict[int, str]  # sku id -> the text as typed, shown again
    errors: dict[int, str]  # sku id -> message beside that line
    general_errors: list[str]
    requests: list[tuple[SupplierOffer, int]]
    submission_token: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general_errors and bool(self.requests)


SUBMISSION_FIELD = "submission_token"
SUBMISSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def parse_request(session: Session, form: Any, items: dict[int, CatalogueItem]) -> RequestForm:
    parsed = RequestForm(values={}, errors={}, general_errors=[], requests=[])
    parsed.submission_token = form_text(form, SUBMISSION_FIELD, 64)
    if not SUBMISSION_TOKEN.fullmatch(parsed.submission_token):
        parsed.submission_token = new_token()
        parsed.general_errors.append(
            i18n.gettext("This form has expired. Please check the quantities and send it again.")
        )
    for key in form:
        if not key.startswith(QTY_FIELD):
            continue
        raw = form_text(form, key, 32)
        if not raw:
            continue
        suffix = key[len(QTY_FIELD) :]
        sku_id = parse_row_id(suffix)
        if sku_id is None or sku_id not in items:
            sku = session.get(Sku, sku_id) if sku_id is not None else None
            if sku is None:
                parsed.general_errors.append(i18n.gettext("An item in the request is not a known SKU."))
            else:
                parsed.general_errors.append(
                    i18n.gettext(
                        "%(sku)s cannot be ordered: it has no active supplier price.", sku=sku_label(sku)
                    )
                )
            continue
        parsed.values[sku_id] = raw
        quantity, error = parse_quantity(raw)
        if error:
            parsed.errors[sku_id] = error
        elif quantity:
            parsed.requests.append((items[sku_id].offer, quantity))
    if not parsed.requests and not parsed.errors and not parsed.general_errors:
        parsed.general_errors.append(i18n.gettext("Enter a quantity for at least one item."))
    return parsed


def rounding_note(quantity: OrderQuantity, offer: SupplierOffer) -> str:
    if quantity.raised_to_moq and quantity.rounded_for_pack:
        return i18n.gettext(
            "Raised to the minimum order quantity of %(moq)s, then rounded up to whole packs of %(pack)s.",
            moq=offer.moq,
            pack=offer.pack_size,
        )
    if quantity.raised_to_moq:
        return i18n.gettext("Raised to the minimum order quantity of %(moq)s.", moq=offer.moq)
    if quantity.rounded_for_pack:
        return i18n.gettext("Rounded up to whole packs of %(pack)s.", pack=offer.pack_size)
    return ""


def claim_submission(session: Session, *, token: str, user_id: int) -> RequestSubmission | None:
    """Claim a form's token; None when it was claimed before (double click, resent POST)."""
    submission = RequestSubmission(token=token, user_id=user_id)
    session.add(submission)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return submission


CATALOGUE_PER_PAGE = 50
MAX_SEARCH = 100


@dataclass(frozen=True)
class Browse:
    """Which part of the catalogue the listing shows: a search, a category, a page."""

    q: str = ""
    category: str = ""
    page: int = 1

    @classmethod
    def of(cls, source: Any) -> Browse:
        q = str(source.get("q") or "").strip()[:MAX_SEARCH]
        category = str(source.get("category") or "").strip()[:64]
        raw = str(source.get("page") or "1")
        page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 1
        # The listing's buttons (the request form posts them): a new search starts at page 1.
        if source.get("search") is not None:
            page = 1
        elif source.get("next") is not None:
            page += 1
        elif source.get("prev") is not None:
            page -= 1
        return cls(q, category, max(1, page))


class CatalogueListing:
    """The listing part of the request page, read only when the page renders it (the htmx preview
    does not): one page of the SKUs the search and category select, each with its on hand, reorder
    point and suggested quantity at the store (`supplychain.planning.reorder_view`, a fixed number
    of queries), and the quantities typed for SKUs not on this page, carried as hidden fields."""

    def __init__(
        self,
        session: Session,
        user: Principal,
        items: dict[int, CatalogueItem],
        parsed: RequestForm | None,
        browse: Browse,
    ) -> None:
        self._session, self._user, self._items, self._parsed = session, user, items, parsed
        self.browse = browse

    @cached_property
    def _selected(self) -> list[CatalogueItem]:
        if not self.browse.q and not self.browse.category:
            return list(self._items.values())
        found = orderable_items(
            self._session, self._user, search=self.browse.q, category=self.browse.category
        )
        return [self._items[sku_id] for sku_id in found if sku_id in self._items]

    @property
    def total(self) -> int:
        return len(self._selected)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // CATALOGUE_PER_PAGE))

    @property
    def number(self) -> int:
        return min(self.browse.page, self.pages)

    @cached_property
    def page(self) -> list[CatalogueItem]:
        start = (self.number - 1) * CATALOGUE_PER_PAGE
        return self._selected[start : start + CATALOGUE_PER_PAGE]

    @cached_property
    def views(self) -> dict[int, planning.View]:
        if self._user.location_id is None:
            return {}
        ids = [item.sku.id for item in self.page if item.sku.id is not None]
        return planning.reorder_view(self._session, self._user.location_id, ids, business_today())

    @cached_property
    def categories(self) -> list[str]:
        return sorted({item.sku.category for item in self._items.values() if item.sku.category})

    @cached_property
    def hidden_values(self) -> dict[int, str]:
        shown = {item.sku.id for item in self.page}
        values = self._parsed.values if self._parsed else {}
        return {sku_id: raw for sku_id, raw in values.items() if sku_id not in shown}


def _sourcing(session: Session, user: Principal, parsed: RequestForm | None) -> SourcingPlan:
    """Where each line comes from: the regional warehouse's available stock first, the rest bought."""
    if parsed is None or not parsed.requests:
        return SourcingPlan()
    warehouse = regional_warehouse_for(session, user)
    available = (
        available_stock(session, warehouse.id, {offer.sku_id for offer, _ in parsed.requests})
        if warehouse is not None and warehouse.id is not None
        else {}
    )
    return source_request(parsed.requests, available)


def _request_context(
    session: Session,
    user: Principal,
    items: dict[int, CatalogueItem],
    parsed: RequestForm | None,
    browse: Browse | None = None,
    sourcing: SourcingPlan | None = None,
) -> dict[str, Any]:
    sourcing = sourcing if sourcing is not None else _sourcing(session, user, parsed)
    orders = sourcing.orders
    offers = {(o.supplier_id, o.sku_id): o for o, _ in (parsed.requests if parsed else [])}
    notes = {
        (order.supplier_id, delivery.value, line.line_no): rounding_note(
            line.quantity, offers[(order.supplier_id, line.sku_id)]
        )
        for order, delivery in orders
        for line in order.lines
    }
    names = names_for(session, org_ids={i.offer.supplier_id for i in items.values()})
    return {
        "user": user,
        "items": list(items.values()),
        "form": parsed,
        # Kept across a re-rendered form, so correcting a mistake and sending again still works.
        "submission_token": parsed.submission_token if parsed else new_token(),
        "sourcing": sourcing,
        "orders": orders,
        "plan": [order for order, _ in orders],
        "notes": notes,
        "approvals": {
            (o.supplier_id, d.value): needs_approval(o.total_amount, user.approval_limit) for o, d in orders
        },
        "plan_total": sum((o.total_amount for o, _ in orders), start=Decimal("0.00")),
        "skus": {sku_id: item.sku for sku_id, item in items.items()},
        "orgs": names["orgs"],
        "catalogue": CatalogueListing(session, user, items, parsed, browse or Browse()),
    }


@router.get("/replenishment/new")
def new_request(request: Request, user: StoreUser, session: SessionDep) -> Response:
    items = orderable_items(session, user)
    ctx = _request_context(session, user, items, None, Browse.of(request.query_params))
    return render(request, "purchase_orders/new.html", ctx)


@router.post("/replenishment/browse")
def browse_catalogue(request: Request, user: StoreUser, session: SessionDep, form: FormDep) -> Response:
    """Search, filter or turn the page of the catalogue without losing what was typed: the request
    form posts here (its search and page buttons), and every quantity typed so far comes back,
    in its row when the row is shown and as a hidden field otherwise."""
    items = orderable_items(session, user)
    parsed = parse_request(session, form, items)
    parsed.general_errors = []  # browsing is not sending: no "enter a quantity" or "expired"
    ctx = _request_context(session, user, items, parsed, Browse.of(form))
    return render(request, "purchase_orders/new.html", ctx)


@router.post("/replenishment/preview")
def preview_request(request: Request, user: StoreUser, session: SessionDep, form: FormDep) -> Response:
    """htmx: the rounding and the split into purchase orders for what is typed so far."""
    items = orderable_items(session, user)
    parsed = parse_request(session, form, items)
    ctx = _request_context(session, user, items, parsed)
    return render(request, "purchase_orders/new.html", ctx, block="preview")


@router.post("/replenishment/new")
def submit_request(request: Request, user: StoreUser, session: SessionDep, form: FormDep) -> Response:
    items = orderable_items(session, user)
    parsed = parse_request(session, form, items)
    ship_to = regional_warehouse_for(session, user)
    if ship_to is None:
        parsed.general_errors.append(
            i18n.gettext("Your account has no store location to order for. Please ask an administrator.")
        )
    if not parsed.ok or ship_to is None:
        ctx = _request_context(session, user, items, parsed)
        return render(request, "purchase_orders/new.html", ctx, status_code=400)
    client = await_on_loop(session, temporal_client, request)
    if client is None:
        parsed.general_errors.append(
            i18n.gettext(
                "The order process cannot be reached right now. Nothing was ordered; please try again."
            )
        )
        return _form_again(request, session, user, parsed, status_code=400)

    submission = claim_submission(session, token=parsed.submission_token, user_id=user.user_id)
    if submission is None:
        flash(session, request, i18n.gettext("This request was already sent; here are your orders."), "info")
        return RedirectResponse("/replenishment", status_code=303)
    sourcing = _sourcing(session, user, parsed)
    created, failed = _start_sourcing(session, client, user, ship_to, sourcing)
    submission.po_numbers = ",".join(([created.transfer] if created.transfer else []) + created.orders)
    session.add(submission)
    session.commit()
    if created.transfer:
        flash(
            session,
            request,
            i18n.gettext(
                "Transfer %(number)s brings what the warehouse holds to your store.", number=created.transfer
            ),
        )
    if created.orders:
        flash(
            session,
            request,
            i18n.ngettext(
                "Purchase order %(numbers)s was created.",
                "Purchase orders %(numbers)s were created, one per supplier.",
                len(created.orders),
                numbers=", ".join(created.orders),
            ),
        )
    if failed:
        message = i18n.gettext(
            "The order process could not take the rest of your request right now; please check your "
            "orders and send what is missing again."
        )
        if not created.transfer and not created.orders:
            parsed.general_errors.append(message)
            return _form_again(request, session, user, parsed, status_code=503)
        flash(session, request, message, "error")
    return RedirectResponse("/replenishment", status_code=303)


def _form_again(
    request: Request, session: Session, user: Principal, parsed: RequestForm, *, status_code: int
) -> Response:
    """The request form with its messages after a call to Temporal: the catalogue is read again,
    since the rows read before were expired when the connection was given back."""
    ctx = _request_context(session, user, orderable_items(session, user), parsed)
    return render(request, "purchase_orders/new.html", ctx, status_code=status_code)


@dataclass
class Created:
    """The documents a submitted request started."""

    transfer: str | None = None
    orders: list[str] = field(default_factory=list)


def _start_sourcing(
    session: Session, client: Client, user: Principal, warehouse: Location, sourcing: SourcingPlan
) -> tuple[Created, bool]:
    """Start the transfer of the warehouse-stock part (first: it reserves that stock at once), then
    one ReplenishmentWorkflow per planned PO; (what was started, whether one start failed)."""
    created = Created()
    if sourcing.transfer:
        assert user.location_id is not None and warehouse.id is not None
        number = reserve_number(session, transfers.NUMBER_PREFIX, datetime.now(BUSINESS_TIMEZONE).year)
        start = sourcing_transfer_input(
            number,
            sourcing,
            user,
            warehouse,
            needs_approval=transfers.needs_approval(session, warehouse.id, user.location_id),
            **transfer_slas(),
        )
        try:
            await_on_loop(session, start_transfer, client, start)
        except (RPCError, WorkflowAlreadyStartedError, WorkflowUpdateFailedError) as exc:
            log.error("Starting transfer %s failed: %r", number, exc)
            return created, True
        created.transfer = number
    store = session.get(Location, user.location_id) if sourcing.direct else None
    for planned, delivery in sourcing.orders:
        ship_to = store if delivery is Delivery.STORE else warehouse
        assert ship_to is not None
        transfer_on = delivery is Delivery.WAREHOUSE
        number, failed = _start_order_for(session, client, user, ship_to, planned, transfer_on=transfer_on)
        if failed:
            return created, True
        created.orders.append(number)
    return created, False


def _start_order_for(
    session: Session,
    client: Client,
    user: Principal,
    ship_to: Location,
    planned: PlannedOrder,
    *,
    transfer_on: bool = False,
) -> tuple[str, bool]:
    number = reserve_number(session, "PO", datetime.now(BUSINESS_TIMEZONE).year)
    planned_input = replenishment_input(number, planned, user, ship_to, transfer_on=transfer_on)
    start = with_batch_tracking(session, planned_input)
    try:
        await_on_loop(session, _start_order, client, start)
    except (RPCError, WorkflowAlreadyStartedError, WorkflowUpdateFailedError) as exc:
        log.error("Starting purchase order %s failed: %r", number, exc)
        return number, True
    return number, False


async def _start_order(client: Client, start: ReplenishmentInput) -> None:
    """Start the PO's workflow and wait until its rows exist (read-your-writes: "my orders" lists it
    on the redirect), in one round trip: update-with-start."""
    operation = WithStartWorkflowOperation(
        ReplenishmentWorkflow.run,
        start,
        id=po_workflow_id(start.number),
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    await client.execute_update_with_start_workflow(
        ReplenishmentWorkflow.wait_recorded, WaitRecordedInput(), start_workflow_operation=operation
    )
