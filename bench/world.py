"""The benchmark's world: the demo chain's people, and purchase orders driven through the workflow API.

An order starts as the catalogue page starts one (`orderable_items` -> `split_by_supplier` ->
`replenishment_input` -> `with_batch_tracking`, as supplychain/demo_orders.py does) and is driven by
the Updates the pages call, as the person each page would act as: the assigned approver decides,
the supplier confirms every line in full and ships it all, the warehouse counts exactly what was
shipped. Numbers (PO and shipment) are reserved before the clock starts, so a timed run measures
the process, not the runner's own database writes.

Imported only after the runner has pointed the settings at its own database (bench/run.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session, col
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from bench.processes import BenchError
from supplychain.db import session_scope
from supplychain.demo_orders import assigned_approval, until
from supplychain.models import ApprovalRequest, ApprovalStatus, POStatus, PurchaseOrder, Shipment, Sku, User
from supplychain.numbering import reserve_number
from supplychain.principal import principal_for
from supplychain.replenishment import (
    business_today,
    orderable_items,
    regional_warehouse_for,
    replenishment_input,
    with_batch_tracking,
)
from supplychain.rules.ordering import split_by_supplier
from supplychain.seed import EMAIL_DOMAIN
from workflows.approval import ApprovalWorkflow, DecideInput
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import (
    ConfirmLinesInput,
    CreateShipmentInput,
    LineConfirmation,
    PurchaseOrderState,
    ReceiptLineInput,
    RecordReceiptInput,
    ReplenishmentInput,
    ReplenishmentWorkflow,
    ShipmentLineInput,
    WaitRecordedInput,
    po_workflow_id,
)

T = TypeVar("T")

# What the store orders: SKUs of one supplier each, none inspected or batch tracked, so an order
# closes when it is received. INSPECTED goes to an inspection on receipt (the inspection queue).
EVERYDAY = (("BEV-001", 24), ("SNK-001", 12))
INSPECTED = (("PER-006", 24),)
STORE = f"store@{EMAIL_DOMAIN}"
WAREHOUSE = f"warehouse@{EMAIL_DOMAIN}"
# Passwords of the demo logins (supplychain/seed.py), one per role the benchmark acts as.
LOGINS = {
    "store": (STORE, "demo-store-2026"),
    "approver": (f"approver@{EMAIL_DOMAIN}", "demo-approver-2026"),
    "buyer": (f"buyer@{EMAIL_DOMAIN}", "demo-buyer-2026"),
    "supplier": (f"supplier@{EMAIL_DOMAIN}", "demo-supplier-2026"),
    "warehouse": (WAREHOUSE, "demo-warehouse-2026"),
    "inspector": (f"inspector@{EMAIL_DOMAIN}", "demo-inspector-2026"),
}
SUPPLIER_FOR = {"BEV-001": f"supplier@{EMAIL_DOMAIN}", "PER-006": f"supplier2@{EMAIL_DOMAIN}"}
POLL_S = 0.05
STEP_TIMEOUT_S = 60.0


class WorldError(BenchError):
    """An order did not reach the state it was driven to."""


@dataclass(frozen=True)
class PreparedOrder:
    input: ReplenishmentInput
    shipment_number: str
    supplier_user_id: int


@dataclass(frozen=True)
class People:
    warehouse_user_id: int


def people() -> People:
    with session_scope() as session:
        return People(warehouse_user_id=_user_id(session, WAREHOUSE))


def sku_ids(items: tuple[tuple[str, int], ...]) -> dict[int, int]:
    """SKU id -> quantity, for the catalogue form's `qty-<id>` fields."""
    with session_scope() as session:
        ids = dict(
            session.execute(
                select(col(Sku.code), col(Sku.id)).where(col(Sku.code).in_([c for c, _ in items]))
            ).all()
        )
        return {int(ids[code]): quantity for code, quantity in items}


def prepare_orders(count: int, items: tuple[tuple[str, int], ...] = EVERYDAY) -> list[PreparedOrder]:
    """`count` start inputs of the demo store's request for `items` (one supplier), numbers reserved."""
    year = datetime.now(BUSINESS_TIMEZONE).year
    with session_scope() as session:
        store = principal_for(session, _user(session, STORE))
        by_code = {item.sku.code: item for item in orderable_items(session, store).values()}
        plan = split_by_supplier([(by_code[code].offer, quantity) for code, quantity in items])
        if len(plan) != 1:
            raise WorldError(f"{items} is not ordered from exactly one supplier")
        ship_to = regional_warehouse_for(session, store)
        if ship_to is None:
            raise WorldError("the demo store has no warehouse to order for")
        supplier_user = _user_id(session, SUPPLIER_FOR[items[0][0]])
        orders = []
        for _ in range(count):
            number = reserve_number(session, "PO", year)
            start = with_batch_tracking(session, replenishment_input(number, plan[0], store, ship_to))
            orders.append(PreparedOrder(start, reserve_number(session, "SHP", year), supplier_user))
        session.commit()
        return orders


async def drive(client: Client, order: PreparedOrder, people: People, target: POStatus) -> None:
    """Start the order and take it through the happy path until it reaches `target`.

    PENDING_APPROVAL ends once the approval is assigned (it is in the approver's queue); CLOSED once
    the receipt is recorded (for an inspected SKU: once the lot waits for its inspection).
    """
    number = order.input.number
    handle = await client.start_workflow(
        ReplenishmentWorkflow.run,
        order.input,
        id=po_workflow_id(number),
        task_queue=_task_queue(),
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    await handle.execute_update(ReplenishmentWorkflow.wait_recorded, WaitRecordedInput())
    approval_id, approver = await assigned_approval(client, number)
    if target is POStatus.PENDING_APPROVAL:
        return
    await client.get_workflow_handle(approval_id).execute_update(
        ApprovalWorkflow.decide,
        DecideInput(actor_user_id=approver, on_behalf_of_user_id=approver, approve=True),
    )
    await until(
        lambda: handle.query(ReplenishmentWorkflow.get_state),
        lambda state: state.status is POStatus.SENT,
        f"{number} to be sent to its supplier",
    )
    if target is POStatus.SENT:
        return
    lines = order.input.lines
    await handle.execute_update(
        ReplenishmentWorkflow.confirm_lines,
        ConfirmLinesInput(
            actor_user_id=order.supplier_user_id,
            lines=[
                LineConfirmation(line.line_no, line.quantity_ordered, business_today() + timedelta(days=3))
                for line in lines
            ],
        ),
    )
    await handle.execute_update(
        ReplenishmentWorkflow.create_shipment,
        CreateShipmentInput(
            actor_user_id=order.supplier_user_id,
            shipment_number=order.shipment_number,
            carrier="顺丰速运",
            tracking_number=f"SF{order.shipment_number.replace('-', '')}",
            eta=business_today() + timedelta(days=2),
            lines=[ShipmentLineInput(line.line_no, line.quantity_ordered) for line in lines],
        ),
    )
    if target is POStatus.IN_DELIVERY:
        return
    await handle.execute_update(
        ReplenishmentWorkflow.record_receipt,
        RecordReceiptInput(
            actor_user_id=people.warehouse_user_id,
            shipment_number=order.shipment_number,
            lines=[ReceiptLineInput(line.line_no, line.quantity_ordered) for line in lines],
        ),
    )


async def drive_all(
    client: Client, orders: list[PreparedOrder], people: People, target: POStatus, in_flight: int
) -> float:
    """Drive every order to `target`, `in_flight` at a time; returns the seconds it took."""
    gate = asyncio.Semaphore(in_flight)

    async def one(order: PreparedOrder) -> None:
        async with gate:
            await drive(client, order, people, target)

    started = time.perf_counter()
    await asyncio.gather(*(one(order) for order in orders))
    return time.perf_counter() - started


# The marker the SDK records for a local activity's result.
LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class HistoryCount:
    activities: int  # local ones included: the worker runs them like the others, within a workflow task
    local_activities: int
    workflow_tasks: int
    child_workflows: int


async def count_history(client: Client, number: str) -> HistoryCount:
    """Activities, workflow tasks and child workflows of a PO's run, its approval step's included."""
    ids = [po_workflow_id(number)]
    state: PurchaseOrderState = await client.get_workflow_handle(ids[0]).query(
        ReplenishmentWorkflow.get_state
    )
    if state.approval_workflow_id:
        ids.append(state.approval_workflow_id)
    counts = {
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: 0,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: 0,
    }
    children = local = 0
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            if event.event_type in counts:
                counts[event.event_type] += 1
            elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                children += 1
            elif (
                event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
            ):
                local += 1
    return HistoryCount(
        activities=counts[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] + local,
        local_activities=local,
        workflow_tasks=counts[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED],
        child_workflows=children,
    )


# --- reading the database, as the pages' read model shows it -------------------------------------


def new_po_numbers(after_id: int) -> list[tuple[int, str]]:
    with session_scope() as session:
        rows = session.execute(
            select(col(PurchaseOrder.id), col(PurchaseOrder.number))
            .where(col(PurchaseOrder.id) > after_id)
            .order_by(col(PurchaseOrder.id))
        ).all()
        return [(int(po_id), str(number)) for po_id, number in rows]


def last_po_id() -> int:
    rows = new_po_numbers(0)
    return rows[-1][0] if rows else 0


def po_status(number: str) -> POStatus:
    with session_scope() as session:
        status: POStatus = session.execute(
            select(col(PurchaseOrder.status)).where(col(PurchaseOrder.number) == number)
        ).scalar_one()
        return status


def pending_approval_id(number: str) -> int | None:
    with session_scope() as session:
        approval_id: int | None = (
            session.execute(
                select(col(ApprovalRequest.id)).where(
                    col(ApprovalRequest.document_id) == number,
                    col(ApprovalRequest.status) == ApprovalStatus.PENDING,
                )
            )
            .scalars()
            .first()
        )
        return approval_id


def shipment_numbers(number: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.execute(
                select(col(Shipment.number))
                .join(PurchaseOrder, col(PurchaseOrder.id) == col(Shipment.purchase_order_id))
                .where(col(PurchaseOrder.number) == number)
                .order_by(col(Shipment.id))
            ).scalars()
        )


def wait_for(fetch: Callable[[], T | None], what: str, timeout: float = STEP_TIMEOUT_S) -> T:
    """Poll `fetch` (a database read) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WorldError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def wait_for_status(number: str, status: POStatus) -> None:
    wait_for(lambda: po_status(number) is status, f"{number} to be {status}")


def _task_queue() -> str:
    from supplychain.settings import settings

    return settings.TEMPORAL_TASK_QUEUE


def _user(session: Session, email: str) -> User:
    user: User | None = session.execute(select(User).filter_by(email=email)).scalars().first()
    if user is None or user.id is None:
        raise WorldError(f"demo user {email} is missing: did the seed run?")
    return user


def _user_id(session: Session, email: str) -> int:
    user_id = _user(session, email).id
    assert user_id is not None
    return user_id
