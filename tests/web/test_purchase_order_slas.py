"""A store's request from the catalogue form starts its purchase orders with the SLA settings of the
moment, through the pages on a real dev server with the production worker.

The form splits one request into two orders: one over the store's limit goes to HQ approval, whose
first timer is the approver's reminder (APPROVAL_REMINDER_HOURS); one within the limit goes to the
supplier, whose first timer is the confirmation reminder (PO_CONFIRM_REMINDER_HOURS). Both start
with every SLA in their input, the quality decision's included (passed on to their inspections).
How each value drives its timers to the minute: tests/workflows/test_sla.py.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session
from temporalio.client import Client

from supplychain import sla
from supplychain.models import Role, User
from supplychain.settings import settings
from supplychain.temporal import connect
from tests.factories import make_user
from tests.fixtures.portal import WorkerThread
from tests.fixtures.temporal import start_input, started_timers
from tests.fixtures.web import ClientFactory
from tests.web import test_purchase_orders as pages
from tests.web.test_purchase_orders import World, as_user, load_po, submit_request
from workflows.approval import approval_workflow_id
from workflows.replenishment import ReplenishmentInput, po_workflow_id

# The catalogue world of the purchase-order page tests (two suppliers, a store, a regional warehouse).
world = pages.world
fresh_numbers = pages.fresh_numbers

CONFIGURED_HOURS = {
    "PO_CONFIRM_REMINDER_HOURS": 3.0,
    "PO_CONFIRM_ESCALATION_HOURS": 7.0,
    "APPROVAL_REMINDER_HOURS": 2.0,
    "APPROVAL_ESCALATION_HOURS": 5.0,
    "QUALITY_DECISION_REMINDER_HOURS": 4.0,
    "QUALITY_DECISION_ESCALATION_HOURS": 6.0,
}


def hours(name: str) -> timedelta:
    return timedelta(hours=CONFIGURED_HOURS[name])


@pytest.fixture
def configured_slas(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CONFIGURED_HOURS.items():
        assert value != getattr(sla, name)
        monkeypatch.setattr(settings, name, value)


async def _first_timer(client: Client, workflow_id: str) -> timedelta:
    deadline = time.monotonic() + 20
    while not (timers := await started_timers(client, workflow_id)):
        assert time.monotonic() < deadline, f"{workflow_id} started no timer"
        await asyncio.sleep(0.1)
    return timers[0]


async def test_the_order_form_starts_each_purchase_order_with_the_configured_slas(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    world: World,
    session: Session,
    fresh_numbers: None,
    configured_slas: None,
) -> None:
    # Supplier A's order (12 x 10.00 + VAT = 135.60) is over the limit, supplier B's (56.50) is not.
    store_user = session.get(User, world.store_a_user.id)
    assert store_user is not None
    store_user.approval_limit = Decimal("100.00")
    session.add(store_user)
    session.commit()
    make_user(session, organisation=world.hq, roles=[Role.APPROVER], approval_limit=Decimal("100000"))

    numbers = submit_request(as_user(portal_client, world.store_a_user), world, qty_a=10, qty_b=3)
    by_supplier = {load_po(session, number).supplier_id: number for number in numbers}
    assert set(by_supplier) == {world.supplier_a.id, world.supplier_b.id}
    to_approve, to_confirm = (by_supplier[org.id or 0] for org in (world.supplier_a, world.supplier_b))

    client = await connect(portal_worker.address)
    for number in numbers:
        started = await start_input(client, po_workflow_id(number), ReplenishmentInput)
        assert (started.confirm_reminder_after, started.confirm_escalation_after) == (
            hours("PO_CONFIRM_REMINDER_HOURS"),
            hours("PO_CONFIRM_ESCALATION_HOURS"),
        )
        assert (started.approval_reminder_after, started.approval_escalation_after) == (
            hours("APPROVAL_REMINDER_HOURS"),
            hours("APPROVAL_ESCALATION_HOURS"),
        )
        assert (started.quality_decision_reminder_after, started.quality_decision_escalation_after) == (
            hours("QUALITY_DECISION_REMINDER_HOURS"),
            hours("QUALITY_DECISION_ESCALATION_HOURS"),
        )
    approval_id = approval_workflow_id(po_workflow_id(to_approve))
    assert await _first_timer(client, approval_id) == hours("APPROVAL_REMINDER_HOURS")
    assert await _first_timer(client, po_workflow_id(to_confirm)) == hours("PO_CONFIRM_REMINDER_HOURS")
