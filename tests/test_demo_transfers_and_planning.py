"""`portal demo-transfers` and `portal demo-planning`, through the real worker on the dev server: one
transfer in each state that waits for somebody (dispatch, receipt, a loss, HQ approval between
regions, and a completed one), each person's page showing it; the stores' sales history and a first
reorder review and transfer plan with proposals; a second run makes nothing; production makes none."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.testing import WorkflowEnvironment

from supplychain.demo_planning import seed_demo_planning
from supplychain.demo_transfers import DEMO_TRANSFERS, seed_demo_transfers
from supplychain.models import (
    ApprovalRequest,
    ProposalStatus,
    ReplenishmentProposal,
    Transfer,
    TransferProposalKind,
    TransferProposalLine,
    TransferStatus,
)
from supplychain.seed import EMAIL_DOMAIN, USERS, DemoDataRefused, seed_demo
from supplychain.settings import settings
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.temporal import running_worker
from tests.fixtures.web import ClientFactory, login
from workflows.planning import REORDER_REVIEW_ID, TRANSFER_PLAN_ID

DEMO_PASSWORDS = {local_part: password for _role, local_part, password, *_rest in USERS}


def _transfers(db: Engine) -> dict[str, Transfer]:
    with Session(db, expire_on_commit=False) as session:
        return {t.note: t for t in session.execute(select(Transfer)).scalars()}


def _page(make_client: ClientFactory, login_name: str, path: str) -> str:
    client = make_client()
    login(client, f"{login_name}@{EMAIL_DOMAIN}", DEMO_PASSWORDS[login_name])
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return str(response.text)


async def test_demo_transfers_leave_work_for_the_warehouse_the_store_and_the_approver_once(
    db: Engine, dev_server_env: WorkflowEnvironment, task_queue: str, make_client: ClientFactory
) -> None:
    with Session(db) as session:
        seed_demo(session)
        fresh_document_numbers(session, ("TR",))
    client = dev_server_env.client
    async with running_worker(client, task_queue):
        created = await seed_demo_transfers(client, task_queue)
        assert len(created) == len(DEMO_TRANSFERS)
        transfers = _transfers(db)
        assert {demo.note: transfers[demo.note].status for demo in DEMO_TRANSFERS} == {
            demo.note: demo.target for demo in DEMO_TRANSFERS
        }
        assert await seed_demo_transfers(client, task_queue) == [], "a second run makes nothing"
        assert len(_transfers(db)) == len(DEMO_TRANSFERS)

        by_status = {t.status: t.number for t in transfers.values()}
        warehouse = _page(make_client, "warehouse", f"/transfers/{by_status[TransferStatus.RESERVED]}")
        assert 'data-testid="dispatch-form"' in warehouse
        store = _page(make_client, "store", f"/transfers/{by_status[TransferStatus.IN_TRANSIT]}")
        assert 'id="receive-form"' in store
        with Session(db) as session:
            waiting = set(
                session.execute(
                    select(col(ApprovalRequest.document_type)).where(
                        col(ApprovalRequest.document_id).in_(
                            [
                                by_status[TransferStatus.PENDING_APPROVAL],
                                by_status[TransferStatus.LOSS_PENDING],
                            ]
                        )
                    )
                ).scalars()
            )
        assert waiting == {"transfer", "transfer_loss"}
        for workflow_id in [t.workflow_id for t in transfers.values()]:
            await client.get_workflow_handle(workflow_id).terminate("test over")


async def test_production_creates_no_demo_transfers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    with pytest.raises(DemoDataRefused):
        await seed_demo_transfers(None, "no-queue")  # refused before any use


async def test_demo_planning_leaves_proposals_for_the_buyer_and_hq_once(
    db: Engine, dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The stores' sales history, then a reorder review and a transfer plan: the buyer finds draft
    orders and HQ transfer lines (the warehouses' stock covers the stores' shortfalls); a second run
    the same day makes nothing."""
    with Session(db) as session:
        seed_demo(session)
    client = dev_server_env.client
    async with running_worker(client, task_queue):
        made = await seed_demo_planning(client, task_queue)
        assert set(made) == {REORDER_REVIEW_ID, TRANSFER_PLAN_ID}
        assert made[REORDER_REVIEW_ID] > 0 and made[TRANSFER_PLAN_ID] > 0
        assert await seed_demo_planning(client, task_queue) == {}
    with Session(db) as session:
        proposals = session.execute(select(ReplenishmentProposal)).scalars().all()
        lines = session.execute(select(TransferProposalLine)).scalars().all()
        assert proposals and all(p.status is ProposalStatus.PROPOSED for p in proposals)
        assert any(line.kind is TransferProposalKind.SHORTAGE for line in lines)
