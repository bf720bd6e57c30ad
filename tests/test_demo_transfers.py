"""`portal demo-transfers`: through the real worker on the dev server, one transfer in each state that
waits for somebody (dispatch, receipt, a loss, HQ approval between regions, and a completed one);
each person's page shows it; a second run makes nothing; production makes none."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.testing import WorkflowEnvironment

from supplychain.demo_transfers import DEMO_TRANSFERS, seed_demo_transfers
from supplychain.models import ApprovalRequest, Transfer, TransferStatus
from supplychain.seed import EMAIL_DOMAIN, USERS, DemoDataRefused, seed_demo
from supplychain.settings import settings
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.temporal import running_worker
from tests.fixtures.web import ClientFactory, login

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
