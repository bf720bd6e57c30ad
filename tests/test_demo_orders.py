"""Demo purchase orders (`portal dev` runs them after the worker is up): made through the real
ReplenishmentWorkflow on a dev server with the production worker, one in each state, so every role's
home page card counts work; a second run creates nothing."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.testing import WorkflowEnvironment

from supplychain.demo_orders import (
    DEMO_CLOSED,
    DEMO_IN_DELIVERY,
    DEMO_ORDERS,
    DEMO_PENDING_APPROVAL,
    DEMO_SENT,
    seed_demo_orders,
)
from supplychain.events import timeline
from supplychain.models import (
    DocumentEvent,
    DocumentSequence,
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
from tests.fixtures.temporal import running_worker
from web.deps import Scope
from web.routes.approvals import pending_count
from web.routes.purchase_orders import open_orders_count, to_confirm_count
from web.routes.shipments import expected_receipts_count
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import ReplenishmentWorkflow, po_workflow_id


def _fresh_document_numbers(session: Session) -> None:
    """The dev server outlives every wipe of the database and a PO's workflow id comes from its
    number: start from a block no other test of the run uses (see tests/browser/conftest.py)."""
    year = datetime.now(BUSINESS_TIMEZONE).year
    base = random.randrange(950, 999) * 1000
    for prefix in ("PO", "SHP"):
        session.merge(DocumentSequence(prefix=prefix, year=year, last_value=base))
    session.commit()


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
        assert len(created) == len(DEMO_ORDERS) == 4

        with Session(db) as session:
            pos = {
                po.note: po
                for po in session.execute(select(PurchaseOrder).order_by(col(PurchaseOrder.id))).scalars()
            }
            assert sorted(po.number for po in pos.values()) == sorted(created)
            assert {note: po.status for note, po in pos.items()} == {
                DEMO_CLOSED: POStatus.CLOSED,
                DEMO_IN_DELIVERY: POStatus.IN_DELIVERY,
                DEMO_SENT: POStatus.SENT,
                DEMO_PENDING_APPROVAL: POStatus.PENDING_APPROVAL,
            }
            assert all(po.needs_approval for po in pos.values())  # the demo store has no limit of its own

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
            assert len(session.execute(select(Shipment)).scalars().all()) == 2

        state = await client.get_workflow_handle(po_workflow_id(pos[DEMO_SENT].number)).query(
            ReplenishmentWorkflow.get_state
        )
        assert state.status is POStatus.SENT
