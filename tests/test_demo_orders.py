"""Demo purchase orders (`portal dev` runs them after the worker is up): made through the real
ReplenishmentWorkflow on a dev server with the production worker, one in each state, so every role's
home page card counts work, and each demo supplier has goods received for its demo statement; a
second run creates nothing.

`portal dev` runs the step as `portal demo-orders` in a process of its own: run that way, again and
again, it exits 0 without a crash or a warning, its orders carry the SLA settings of its environment,
and only a real failure gives the warning.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.testing import WorkflowEnvironment

from supplychain.demo_orders import (
    DEMO_CLOSED,
    DEMO_CLOSED_GDYH,
    DEMO_CLOSED_SHFH,
    DEMO_IN_DELIVERY,
    DEMO_ORDERS,
    DEMO_PENDING_APPROVAL,
    DEMO_SENT,
    seed_demo_orders,
)
from supplychain.events import timeline
from supplychain.models import (
    DocumentEvent,
    Organisation,
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    ShipmentStatus,
    StockLedgerEntry,
    User,
)
from supplychain.principal import principal_for
from supplychain.seed import EMAIL_DOMAIN, seed_demo
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.temporal import running_worker, start_input, started_timers
from web.deps import Scope
from web.routes.approvals import pending_count
from web.routes.purchase_orders import open_orders_count, to_confirm_count
from web.routes.shipments import expected_receipts_count
from workflows.approval import approval_workflow_id
from workflows.replenishment import ReplenishmentInput, ReplenishmentWorkflow, po_workflow_id

# The SLAs `portal demo-orders` finds in its environment (all away from their defaults).
SLA_ENV = {
    "PO_CONFIRM_REMINDER_HOURS": "5",
    "PO_CONFIRM_ESCALATION_HOURS": "11",
    "APPROVAL_REMINDER_HOURS": "3",
    "APPROVAL_ESCALATION_HOURS": "9",
    "QUALITY_DECISION_REMINDER_HOURS": "2",
    "QUALITY_DECISION_ESCALATION_HOURS": "7",
}


def _fresh_document_numbers(session: Session) -> None:
    """The dev server outlives every wipe of the database and a PO's workflow id comes from its
    number: start from a block no other test of the run uses (see tests/browser/conftest.py)."""
    fresh_document_numbers(session, ("PO", "SHP"))


def _scope(session: Session, local_part: str) -> Scope:
    user = session.execute(select(User).filter_by(email=f"{local_part}@{EMAIL_DOMAIN}")).scalar_one()
    return Scope(session, principal_for(session, user))


async def test_demo_orders_put_work_on_every_home_page_and_are_made_once(
    db: Engine, dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    with Session(db) as session:
        seed_demo(session)
        _fresh_document_numbers(session)
    client = dev_server_env.client

    async with running_worker(client, task_queue):
        created = await seed_demo_orders(client, task_queue)
        assert len(created) == len(DEMO_ORDERS) == 6

        with Session(db) as session:
            pos = {
                po.note: po
                for po in session.execute(select(PurchaseOrder).order_by(col(PurchaseOrder.id))).scalars()
            }
            assert sorted(po.number for po in pos.values()) == sorted(created)
            assert {note: po.status for note, po in pos.items()} == {
                DEMO_CLOSED: POStatus.CLOSED,
                DEMO_CLOSED_GDYH: POStatus.CLOSED,
                DEMO_CLOSED_SHFH: POStatus.CLOSED,
                DEMO_IN_DELIVERY: POStatus.IN_DELIVERY,
                DEMO_SENT: POStatus.SENT,
                DEMO_PENDING_APPROVAL: POStatus.PENDING_APPROVAL,
            }
            assert all(po.needs_approval for po in pos.values())  # the demo store has no limit of its own
            # Each demo supplier has goods received, for its demo statement (test_demo_statements.py).
            suppliers = {
                code
                for (code,) in session.execute(
                    select(Organisation.code)
                    .join(PurchaseOrder, col(PurchaseOrder.supplier_id) == col(Organisation.id))
                    .where(col(PurchaseOrder.status) == POStatus.CLOSED)
                ).all()
            }
            assert suppliers == {"SUP-HZLY", "SUP-GDYH", "SUP-SHFH"}

            # Made by the workflow, step by step: the timeline of the closed one tells the whole story.
            closed = pos[DEMO_CLOSED]
            actions = [
                e.action
                for e in session.execute(
                    select(DocumentEvent)
                    .where(col(DocumentEvent.document_id) == closed.number)
                    .order_by(col(DocumentEvent.id))
                ).scalars()
            ]
            for step in ("created", "sent", "confirmed", "closed"):
                assert step in actions, (step, actions)
            assert timeline(session, "purchase_order", closed.number)
            lines = list(
                session.execute(
                    select(PurchaseOrderLine).where(col(PurchaseOrderLine.purchase_order_id) == closed.id)
                ).scalars()
            )
            assert lines and all(line.status is POLineStatus.RECEIVED for line in lines)
            assert all(line.quantity_received == line.quantity_ordered for line in lines)
            received_into_stock = sum(
                e.delta_on_hand
                for e in session.execute(
                    select(StockLedgerEntry).where(col(StockLedgerEntry.source_document_id) == closed.number)
                ).scalars()
            )
            assert received_into_stock == sum(line.quantity_ordered for line in lines)

            shipment = session.execute(
                select(Shipment).where(col(Shipment.purchase_order_id) == pos[DEMO_IN_DELIVERY].id)
            ).scalar_one()
            assert shipment.status is ShipmentStatus.IN_TRANSIT

            # Every role's home page card counts something.
            assert pending_count(_scope(session, "approver")) == 1
            assert to_confirm_count(_scope(session, "supplier")) == 1
            assert expected_receipts_count(_scope(session, "warehouse")) == 1
            assert open_orders_count(_scope(session, "store")) == 3
            assert open_orders_count(_scope(session, "buyer")) == 3

        # Again (every `portal dev` start): nothing new, nothing moved.
        assert await seed_demo_orders(client, task_queue) == []
        with Session(db) as session:
            again = {po.number: po.status for po in session.execute(select(PurchaseOrder)).scalars()}
            assert again == {po.number: po.status for po in pos.values()}
            assert len(session.execute(select(Shipment)).scalars().all()) == 4

        state = await client.get_workflow_handle(po_workflow_id(pos[DEMO_SENT].number)).query(
            ReplenishmentWorkflow.get_state
        )
        assert state.status is POStatus.SENT


# --- the step as `portal dev` runs it ------------------------------------------------------------


def _as_portal_dev_runs_it(monkeypatch: pytest.MonkeyPatch, address: str, task_queue: str) -> None:
    """The environment `portal dev` hands its child processes: this run's database (already in the
    environment), the dev server and the task queue of this test's worker."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", address)
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", task_queue)


def _hours(name: str) -> timedelta:
    return timedelta(hours=float(SLA_ENV[name]))


async def test_the_demo_orders_step_exits_cleanly_each_time_with_the_configured_slas(
    db: Engine,
    dev_server_env: WorkflowEnvironment,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from cli import _create_demo_orders

    with Session(db) as session:
        seed_demo(session)
        _fresh_document_numbers(session)
    client = dev_server_env.client
    _as_portal_dev_runs_it(monkeypatch, client.service_client.config.target_host, task_queue)
    for name, value in SLA_ENV.items():
        monkeypatch.setenv(name, value)

    async with running_worker(client, task_queue):
        for run in range(3):
            in_place = await asyncio.to_thread(_create_demo_orders)
            out, err = capfd.readouterr()
            assert "Fatal Python error" not in err
            assert "Warning" not in err, err
            assert in_place, err
            if run == 0:
                assert "Demo purchase orders created: PO-" in out, out
            else:
                assert "Demo purchase orders are in place already." in out, out

    with Session(db) as session:
        pos = {po.note: po.number for po in session.execute(select(PurchaseOrder)).scalars()}
    assert sorted(pos) == sorted(order.note for order in DEMO_ORDERS)
    for number in pos.values():
        started = await start_input(client, po_workflow_id(number), ReplenishmentInput)
        assert (
            started.confirm_reminder_after,
            started.confirm_escalation_after,
            started.approval_reminder_after,
            started.approval_escalation_after,
            started.quality_decision_reminder_after,
            started.quality_decision_escalation_after,
        ) == tuple(_hours(name) for name in SLA_ENV)
    # The order waiting for its supplier and the one waiting for HQ run their reminders on them.
    assert await started_timers(client, po_workflow_id(pos[DEMO_SENT])) == [
        _hours("PO_CONFIRM_REMINDER_HOURS")
    ]
    waiting = approval_workflow_id(po_workflow_id(pos[DEMO_PENDING_APPROVAL]))
    assert await started_timers(client, waiting) == [_hours("APPROVAL_REMINDER_HOURS")]


async def test_when_the_demo_orders_really_fail_portal_dev_warns_and_carries_on(
    db: Engine,
    dev_server_env: WorkflowEnvironment,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """No demo data (nobody ran `portal seed`): the step explains, exits 1, and `portal dev` warns."""
    from cli import _create_demo_orders

    _as_portal_dev_runs_it(monkeypatch, dev_server_env.client.service_client.config.target_host, task_queue)
    assert not await asyncio.to_thread(_create_demo_orders)
    _, err = capfd.readouterr()
    assert f"demo user store@{EMAIL_DOMAIN} is missing: run `portal seed` first" in err
    assert "Warning: the demo purchase orders could not be created (see above); continuing." in err
    assert "Fatal Python error" not in err
