"""Demo purchase orders: a few POs in different states, so every role's home page has work waiting.

`seed_demo_orders(client, task_queue)` runs after `seed_demo` (it needs its users, SKUs and prices)
and a worker on `task_queue`. Every order goes through the real process, never by writing rows: it
is built from the demo store's request exactly as the catalogue page builds one, SLAs from the
settings included (`supplychain.replenishment`: `orderable_items` -> `split_by_supplier` ->
`replenishment_input`), started as a ReplenishmentWorkflow, and then driven by the same Updates the
pages call, as the user each page would act as (the assigned approver, the supplier's user, the
warehouse user):

- `DEMO_PENDING_APPROVAL`: waiting in the approver's queue (the demo store has no approval limit of
  its own, so every store order needs HQ approval);
- `DEMO_SENT`: approved, waiting for the supplier's confirmation;
- `DEMO_IN_DELIVERY`: confirmed and shipped (ASN in transit), waiting for the warehouse to receive;
- `DEMO_CLOSED`: received in full and closed (the store sees a finished order with its timeline);
  `DEMO_CLOSED_GDYH` and `DEMO_CLOSED_SHFH` the same from the two other demo suppliers, so each of
  the three has goods received for its demo statement (`supplychain.demo_statements`).

Idempotent: each order carries a fixed note on the store's PO. An order whose note already exists is
not created again; it is only driven on to its target state if an earlier run stopped half-way (for
example the worker went down), so repeating the step is always safe.

The orders ship to the demo warehouse login's location (HQ's central warehouse), so its "Shipments
to receive" card counts them; a real store order ships to its region's warehouse
(`regional_warehouse_for`), which is the only difference from an order placed on the page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from supplychain import accounts
from supplychain.db import session_scope
from supplychain.models import (
    Location,
    Organisation,
    POStatus,
    PriceListEntry,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    User,
)
from supplychain.numbering import reserve_number
from supplychain.principal import principal_for
from supplychain.replenishment import (
    business_today,
    orderable_items,
    regional_warehouse_for,
    replenishment_input,
    with_batch_tracking,
)
from supplychain.rules.ordering import PlannedOrder, split_by_supplier
from supplychain.seed import EMAIL_DOMAIN, refuse_demo_data_in_production
from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import (
    ConfirmLinesInput,
    CreateShipmentInput,
    LineConfirmation,
    PurchaseOrderState,
    ReceiptLineInput,
    RecordReceiptInput,
    ReplenishmentWorkflow,
    ShipmentLineInput,
    WaitRecordedInput,
    po_workflow_id,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
_Handle = WorkflowHandle[ReplenishmentWorkflow, Any]

STORE_EMAIL = f"store@{EMAIL_DOMAIN}"
WAREHOUSE_EMAIL = f"warehouse@{EMAIL_DOMAIN}"
# How long one step may take to show its effect (an approval turning into "sent", say).
STEP_TIMEOUT_S = 60.0
POLL_S = 0.1
DEMO_CARRIER = "顺丰速运"
ETA_DAYS = 2

# The note on each demo PO: both what the store reads on the order and the marker that makes the
# step idempotent. Never change a text once released, or a repeated run creates the orders again.
DEMO_PENDING_APPROVAL = "演示订单 (demo)：等待总部审批"
DEMO_SENT = "演示订单 (demo)：等待供应商确认"
DEMO_IN_DELIVERY = "演示订单 (demo)：已发货，等待仓库收货"
DEMO_CLOSED = "演示订单 (demo)：已收货关闭"
# Goods received from the two other demo suppliers, so each has a demo statement to bill them
# (supplychain.demo_statements).
DEMO_CLOSED_GDYH = "演示订单 (demo)：已收货关闭 (日化)"
DEMO_CLOSED_SHFH = "演示订单 (demo)：已收货关闭 (粮油)"

# The order a PO's status moves through on the happy path; a target is reached by walking it.
HAPPY_PATH = (
    POStatus.PENDING_APPROVAL,
    POStatus.SENT,
    POStatus.CONFIRMED,
    POStatus.IN_DELIVERY,
    POStatus.CLOSED,
)


@dataclass(frozen=True)
class DemoOrder:
    note: str
    target: POStatus
    items: tuple[tuple[str, int], ...]  # SKU code, quantity the store asks for (rounded like any request)


# Oldest first, so the order numbers follow the story. The open orders' SKUs come from the demo
# supplier login's organisation (杭州绿源食品), so its "Purchase orders to confirm" card counts the
# SENT one; the first three are closed, one per demo supplier (SKUs without receiving inspection).
DEMO_ORDERS: tuple[DemoOrder, ...] = (
    DemoOrder(DEMO_CLOSED_GDYH, POStatus.CLOSED, (("PER-002", 24), ("HOU-001", 30))),
    DemoOrder(DEMO_CLOSED_SHFH, POStatus.CLOSED, (("GRO-004", 20), ("CON-005", 40))),
    DemoOrder(DEMO_CLOSED, POStatus.CLOSED, (("BEV-001", 240), ("BEV-004", 120))),
    DemoOrder(DEMO_IN_DELIVERY, POStatus.IN_DELIVERY, (("DAI-001", 36), ("DAI-002", 96))),
    DemoOrder(DEMO_SENT, POStatus.SENT, (("SNK-001", 60), ("SNK-002", 48), ("BEV-006", 100))),
    DemoOrder(DEMO_PENDING_APPROVAL, POStatus.PENDING_APPROVAL, (("SNK-003", 24), ("BEV-007", 30))),
)


class DemoOrdersError(Exception):
    """The demo orders could not be made (missing demo data, a step that did not take effect)."""


async def seed_demo_orders(client: Client, task_queue: str) -> list[str]:
    """Create the demo POs that do not exist yet and drive each to its state; returns the new numbers.
    DemoDataRefused in production, before anything is started."""
    refuse_demo_data_in_production()
    created: list[str] = []
    for order in DEMO_ORDERS:
        numbers = _existing_numbers(order.note)
        if not numbers:
            numbers = await _start(client, task_queue, order)
            created += numbers
        for number in numbers:
            await _drive(client, number, order.target)
    if created:
        log.info("Demo purchase orders created: %s", ", ".join(created))
    return created


# --- starting an order, as the catalogue page does -----------------------------------------------


def _existing_numbers(note: str) -> list[str]:
    with session_scope() as session:
        store = _user(session, STORE_EMAIL)
        return list(
            session.execute(
                select(col(PurchaseOrder.number))
                .where(col(PurchaseOrder.requester_user_id) == store.id, col(PurchaseOrder.note) == note)
                .order_by(col(PurchaseOrder.id))
            ).scalars()
        )


async def _start(client: Client, task_queue: str, order: DemoOrder) -> list[str]:
    with session_scope() as session:
        store = principal_for(session, _user(session, STORE_EMAIL))
        items = orderable_items(session, store)
        by_code = {item.sku.code: item for item in items.values()}
        missing = [code for code, _ in order.items if code not in by_code]
        if missing:
            raise DemoOrdersError(f"demo SKUs without an active supplier price: {', '.join(missing)}")
        plan: list[PlannedOrder] = split_by_supplier(
            [(by_code[code].offer, quantity) for code, quantity in order.items]
        )
        ship_to = _demo_ship_to(session) or regional_warehouse_for(session, store)
        if ship_to is None:
            raise DemoOrdersError("the demo store has no warehouse to order for")
        year = datetime.now(BUSINESS_TIMEZONE).year
        starts = []
        for planned in plan:
            number = reserve_number(session, "PO", year)
            starts.append(
                (
                    number,
                    with_batch_tracking(
                        session,
                        replace(replenishment_input(number, planned, store, ship_to), note=order.note),
                    ),
                )
            )
    numbers: list[str] = []
    for number, input in starts:
        handle = await client.start_workflow(
            ReplenishmentWorkflow.run,
            input,
            id=po_workflow_id(number),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        await handle.execute_update(ReplenishmentWorkflow.wait_recorded, WaitRecordedInput())
        numbers.append(number)
    return numbers


def _demo_ship_to(session: Session) -> Location | None:
    """The demo warehouse login's own warehouse, so its home page counts the shipment in transit."""
    warehouse_user = session.execute(select(User).filter_by(email=WAREHOUSE_EMAIL)).scalars().first()
    if warehouse_user is None or warehouse_user.location_id is None:
        return None
    return session.get(Location, warehouse_user.location_id)


# --- driving an order to its state, through the Updates the pages call ---------------------------


async def _drive(client: Client, number: str, target: POStatus) -> None:
    handle = client.get_workflow_handle(po_workflow_id(number))
    while True:
        state: PurchaseOrderState = await handle.query(ReplenishmentWorkflow.get_state)
        status = state.status
        if status not in HAPPY_PATH or HAPPY_PATH.index(status) >= HAPPY_PATH.index(target):
            if status is not target:
                log.warning("Demo purchase order %s is %s, not %s; left as it is", number, status, target)
            elif status is POStatus.PENDING_APPROVAL:
                await assigned_approval(client, number)  # in the approver's queue from now on
            return
        if status is POStatus.PENDING_APPROVAL:
            await _approve(client, number)
        elif status is POStatus.SENT:
            await _confirm(handle, number, state)
        elif status is POStatus.CONFIRMED:
            await _ship(handle, number, state)
        else:
            await _receive(handle, number, state)
        await until(
            lambda: handle.query(ReplenishmentWorkflow.get_state),
            _left(status),
            f"{number} to leave {status}",
        )


def _left(status: POStatus) -> Callable[[PurchaseOrderState], bool]:
    return lambda state: state.status is not status


async def assigned_approval(client: Client, number: str) -> tuple[str, int]:
    """(approval workflow id, assigned approver) once the approval step has opened its request
    (`make bench` drives its orders with it too)."""
    handle = client.get_workflow_handle(po_workflow_id(number))
    state = await until(
        lambda: handle.query(ReplenishmentWorkflow.get_state),
        lambda s: s.approval_workflow_id is not None,
        f"the approval step of {number} to start",
    )
    approval_id = state.approval_workflow_id
    assert approval_id is not None

    async def approval_state() -> ApprovalState | None:
        try:
            result: ApprovalState = await client.get_workflow_handle(approval_id).query(
                ApprovalWorkflow.get_state
            )
        except RPCError:  # the child is still starting
            return None
        return result

    approval = await until(
        approval_state, lambda s: s is not None and s.assignee_user_id is not None, f"{number} to be assigned"
    )
    assert approval is not None and approval.assignee_user_id is not None
    return approval_id, approval.assignee_user_id


async def _approve(client: Client, number: str) -> None:
    """The assigned approver approves, once the step has put the request in their queue."""
    approval_id, approver = await assigned_approval(client, number)
    await client.get_workflow_handle(approval_id).execute_update(
        ApprovalWorkflow.decide,
        DecideInput(actor_user_id=approver, on_behalf_of_user_id=approver, approve=True),
    )


async def _confirm(handle: _Handle, number: str, state: PurchaseOrderState) -> None:
    """The supplier confirms every line in full, for delivery within its lead time."""
    supplier_user, lead_days = _supplier_side(number)
    promised = business_today() + timedelta(days=lead_days)
    await handle.execute_update(
        ReplenishmentWorkflow.confirm_lines,
        ConfirmLinesInput(
            actor_user_id=supplier_user,
            lines=[
                LineConfirmation(line_no=line.line_no, quantity=line.quantity_ordered, promised_date=promised)
                for line in state.lines
            ],
        ),
    )


async def _ship(handle: _Handle, number: str, state: PurchaseOrderState) -> None:
    """The supplier ships everything confirmed in one shipment with its ASN."""
    supplier_user, _ = _supplier_side(number)
    with session_scope() as session:
        shipment_number = reserve_number(session, "SHP", datetime.now(BUSINESS_TIMEZONE).year)
    await handle.execute_update(
        ReplenishmentWorkflow.create_shipment,
        CreateShipmentInput(
            actor_user_id=supplier_user,
            shipment_number=shipment_number,
            carrier=DEMO_CARRIER,
            tracking_number=f"SF{shipment_number.replace('-', '')[3:]}",
            eta=business_today() + timedelta(days=ETA_DAYS),
            lines=[
                ShipmentLineInput(line_no=line.line_no, quantity=open_quantity)
                for line in state.lines
                if (open_quantity := (line.quantity_confirmed or 0) - line.quantity_shipped) > 0
            ],
        ),
    )


async def _receive(handle: _Handle, number: str, state: PurchaseOrderState) -> None:
    """The warehouse counts exactly what was shipped on each shipment still in transit."""
    with session_scope() as session:
        warehouse_user = _user(session, WAREHOUSE_EMAIL).id
    assert warehouse_user is not None
    for shipment in state.shipments:
        if shipment.received is not None:
            continue
        await handle.execute_update(
            ReplenishmentWorkflow.record_receipt,
            RecordReceiptInput(
                actor_user_id=warehouse_user,
                shipment_number=shipment.number,
                lines=[
                    ReceiptLineInput(line_no=line_no, quantity_received=quantity)
                    for line_no, quantity in sorted(shipment.lines.items())
                ],
            ),
        )


# --- lookups -------------------------------------------------------------------------------------


def _user(session: Session, email: str) -> User:
    user: User | None = session.execute(select(User).filter_by(email=email)).scalars().first()
    if user is None or user.id is None:
        raise DemoOrdersError(f"demo user {email} is missing: run `portal seed` first")
    return user


def _supplier_side(number: str) -> tuple[int, int]:
    """(a supplier user of the PO's supplier, the longest lead time on its lines in days)."""
    with session_scope() as session:
        po = session.execute(select(PurchaseOrder).filter_by(number=number)).scalar_one()
        user_id = (
            session.execute(
                select(col(User.id))
                .where(
                    col(User.organisation_id) == po.supplier_id,
                    col(User.id).in_(accounts.holders_of(Role.SUPPLIER)),
                    col(User.is_active),
                )
                .order_by(col(User.id))
            )
            .scalars()
            .first()
        )
        if user_id is None:
            supplier = session.get(Organisation, po.supplier_id)
            raise DemoOrdersError(f"supplier {supplier.code if supplier else po.supplier_id} has no user")
        lead = session.execute(
            select(col(PriceListEntry.lead_time_days))
            .join(PurchaseOrderLine, col(PurchaseOrderLine.sku_id) == col(PriceListEntry.sku_id))
            .where(
                col(PurchaseOrderLine.purchase_order_id) == po.id,
                col(PriceListEntry.supplier_id) == po.supplier_id,
            )
        ).scalars()
        return user_id, max(lead, default=1)


async def until(fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    """Poll `fetch` until `done` holds (DemoOrdersError after STEP_TIMEOUT_S)."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        value = await fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise DemoOrdersError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_S)
