"""Payment crash safety: the worker process dies after the payment run wrote its instruction file
and before the run recorded anything; after the restart exactly one instruction exists.

A worker that halts right after `write_payment_instructions` returned (tests/e2e/halting_worker.py:
the file is complete, Temporal has not heard the activity finish) is SIGKILLed. A normal worker
takes over; Temporal retries the activity after its timeout, which finds the run's file and writes
nothing new; the run records the payment as instructed. A second run, and the bank's answer, follow:
the payment is paid once and its key is in one file only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from supplychain.models import OrgKind, Role
from supplychain.models.settlement import Payment, PaymentStatus, Statement, StatementStatus
from supplychain.payments import BankStatus
from supplychain.settings import settings
from supplychain.settlement import payment_by_number, payment_number
from tests.e2e.conftest import WorkerProcesses
from tests.factories import make_organisation, make_user
from tests.fixtures.temporal import assert_replays
from tests.workflows.settlement_world import keys_in_outbox
from workflows.common import business_date
from workflows.payment_run import PaymentRunInput, PaymentRunWorkflow, payment_run_workflow_id
from workflows.registry import WORKFLOWS
from workflows.settlement import BankResultInput, SettlementInput, SettlementWorkflow, settlement_workflow_id

# The killed worker's activity is retried after its start-to-close timeout: short here.
ACTIVITY_TIMEOUT = timedelta(seconds=5)
TIMEOUT = 60.0


async def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.mark.e2e
async def test_a_worker_killed_after_the_instruction_file_leaves_exactly_one_instruction(
    dev_server_env: WorkflowEnvironment,
    workers: WorkerProcesses,
    session: Session,
    db: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = dev_server_env.client
    outbox = tmp_path / "outbox"
    monkeypatch.setattr(settings, "PAYMENT_OUTBOX_DIR", outbox)
    marker = tmp_path / "halted"
    env = {"PAYMENT_OUTBOX_DIR": str(outbox), "HALT_MARKER": str(marker)}

    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    supplier_user = make_user(session, organisation=supplier, roles=[Role.SUPPLIER])
    suffix = f"{uuid.uuid4().int % 1_000_000:06d}"
    number = f"ST-E2E-{suffix}"  # the dev server outlives the database: a number of its own
    assert supplier.id is not None
    statement = Statement(
        number=number,
        workflow_id=f"statement-{number.lower()}",
        supplier_id=supplier.id,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        status=StatementStatus.MATCHED,
        net_amount=Decimal("5000.00"),
        tax_amount=Decimal("650.00"),
        total_amount=Decimal("5650.00"),
        confirmed_by_user_id=supplier_user.id,
        matched_on=date(2026, 3, 2),  # due long ago: ready at once
    )
    session.add(statement)
    session.commit()
    assert statement.id is not None
    pay = payment_number(number)

    def row() -> Payment:
        with Session(db) as s:
            found = payment_by_number(s, pay)
        assert found is not None
        return found

    def ready() -> bool:
        with Session(db) as s:
            found = payment_by_number(s, pay)
        return found is not None and found.ready_at is not None

    halting = workers.start("tests.e2e.halting_worker", env)
    await halting.wait_ready_async()
    settlement = await client.start_workflow(
        SettlementWorkflow.run,
        SettlementInput(
            statement_id=statement.id,
            statement_number=number,
            supplier_id=supplier.id,
            amount=statement.total_amount,
            matched_on=date(2026, 3, 2),
            answer_late_clicks_for=timedelta(seconds=1),
            activity_timeout=ACTIVITY_TIMEOUT,
        ),
        id=settlement_workflow_id(number),
        task_queue=workers.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    await _until(ready, "the payment to be ready")
    key = row().idempotency_key

    run_number = f"PR-E2E-{suffix}"
    today = business_date(datetime.now(UTC))
    run = await client.start_workflow(
        PaymentRunWorkflow.run,
        PaymentRunInput(run_number=run_number, value_date=today, activity_timeout=ACTIVITY_TIMEOUT),
        id=payment_run_workflow_id(run_number),
        task_queue=workers.task_queue,
    )
    await _until(marker.exists, "the instruction file to be written")
    halting.kill()
    # The kill landed between the file and its record: the bank has the instruction, the run nothing.
    assert keys_in_outbox(outbox) == [key]
    killed_at = row()
    assert (killed_at.status, killed_at.payment_run_id) == (PaymentStatus.SCHEDULED, None)

    restarted = workers.start(env={"PAYMENT_OUTBOX_DIR": str(outbox)})
    await restarted.wait_ready_async()
    result = await asyncio.wait_for(run.result(), TIMEOUT)
    assert result.payment_numbers == [pay]
    assert keys_in_outbox(outbox) == [key]  # exactly one instruction after the restart
    instructed = row()
    assert instructed.status is PaymentStatus.INSTRUCTED and instructed.payment_run_id is not None

    # Another run finds nothing to pay; the bank's answer settles the payment once.
    again = f"PR-E2E-{suffix}-2"
    second = await client.execute_workflow(
        PaymentRunWorkflow.run,
        PaymentRunInput(run_number=again, value_date=today, activity_timeout=ACTIVITY_TIMEOUT),
        id=payment_run_workflow_id(again),
        task_queue=workers.task_queue,
    )
    assert second.payment_numbers == []
    await settlement.execute_update(
        SettlementWorkflow.record_bank_result, BankResultInput(key, BankStatus.PAID, "BANK-E2E-1")
    )
    assert (await asyncio.wait_for(settlement.result(), TIMEOUT)).status is PaymentStatus.PAID
    assert keys_in_outbox(outbox) == [key]
    await assert_replays(client, run.id, WORKFLOWS)
    await assert_replays(client, settlement.id, WORKFLOWS)
