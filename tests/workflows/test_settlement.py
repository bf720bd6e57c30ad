"""SettlementWorkflow and PaymentRunWorkflow on the time-skipping server, with the real activities,
database and file adapter (its outbox in a temporary directory)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.settlement import WriteInstructionsInput, write_payment_instructions
from supplychain.models import Role, WorkingDayOverride
from supplychain.models.settlement import DueDateMode, PaymentStatus, Statement, StatementStatus
from supplychain.payments import BankStatus
from supplychain.settings import settings
from supplychain.settlement import payment_number
from tests.factories import make_user
from tests.fixtures.temporal import assert_replays, running_worker, started_timers
from tests.workflows.settlement_world import (
    keys_in_outbox,
    make_statement,
    make_world,
    notifications,
    payment,
    run_payments,
    start_settlement,
    today,
    until,
    until_ready,
)
from workflows.approval import ApprovalWorkflow, DecideInput, approval_workflow_id
from workflows.registry import WORKFLOWS
from workflows.settlement import (
    EARLY_DATE_NOT_BEFORE_DUE,
    EARLY_DATE_PAST,
    BankResultInput,
    DecideEarlyPaymentInput,
    FailedPaymentInput,
    RequestEarlyPaymentInput,
    SettlementWorkflow,
)

CAL, WORK = DueDateMode.CALENDAR_DAYS, DueDateMode.WORKING_DAYS


@pytest.fixture(autouse=True)
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "outbox"
    monkeypatch.setattr(settings, "PAYMENT_OUTBOX_DIR", directory)
    monkeypatch.setattr(settings, "CALENDAR_OFFICIAL_YEARS", [])
    return directory


async def update(env: WorkflowEnvironment, handle: Any, method: Any, arg: Any) -> Any:
    """An Update with time standing still: while a client waits, the time-skipping server would
    otherwise jump over the workflow's timers (to its due date, or past its run timeout)."""
    with env.auto_time_skipping_disabled():
        return await handle.execute_update(method, arg)


def _refusal(error: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str:
    cause = error.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def _pay(env: WorkflowEnvironment, task_queue: str, handle: Any, number: str, run: str) -> None:
    """Through a payment run and the bank's 'paid' answer."""
    await until_ready(handle, env)
    result = await run_payments(env, task_queue, run)
    assert result.payment_numbers == [number]
    key = (await handle.query(SettlementWorkflow.get_state)).bank_idempotency_key
    await update(
        env,
        handle,
        SettlementWorkflow.record_bank_result,
        BankResultInput(key, BankStatus.PAID, "BANK-REF-1"),
    )


async def test_the_t_plus_7_wait_is_a_durable_timer_and_the_statement_ends_paid(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine, outbox: Path
) -> None:
    client = time_skipping_env.client
    world = make_world(session)
    t = await today(time_skipping_env)
    statement = make_statement(session, world, matched_on=t)
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        started = await time_skipping_env.get_current_time()
        handle = await start_settlement(client, task_queue, statement)
        await until_ready(handle, time_skipping_env)
        waited = await time_skipping_env.get_current_time() - started  # server time, skipped
        row = payment(db, number)
        assert row.status is PaymentStatus.SCHEDULED and row.ready_at is not None
        assert row.due_date >= t + timedelta(days=7)
        [timer] = [t for t in await started_timers(client, handle.id) if t > timedelta(days=1)]
        assert timedelta(days=6) < timer <= row.due_date - t + timedelta(days=1)
        assert waited >= timer  # the whole timer went by on the server's clock, not the test's

        await _pay(time_skipping_env, task_queue, handle, number, "PR-T-000001")
        result = await handle.result()
    assert result.status is PaymentStatus.PAID
    row = payment(db, number)
    assert row.status is PaymentStatus.PAID and row.bank_reference == "BANK-REF-1"
    assert row.payment_run_id is not None
    with Session(db) as s:
        paid_statement = s.get(Statement, statement.id)
        assert paid_statement is not None and paid_statement.status is StatementStatus.PAID
    told = notifications(db, world.supplier_user.id)
    assert any("remittance advice is ready" in n.message for n in told)
    assert keys_in_outbox(outbox) == [row.idempotency_key]
    await assert_replays(client, handle.id, WORKFLOWS)


@pytest.mark.parametrize(
    ("matched_on", "mode", "expected"),
    [
        (date(2026, 9, 30), CAL, date(2026, 10, 8)),  # National Day: Oct 1-7 off
        (date(2026, 9, 30), WORK, date(2026, 10, 15)),  # Oct 8, 9, 10 (Sat, make-up), 12-15
        (date(2026, 2, 12), CAL, date(2026, 2, 24)),  # Spring Festival
        (date(2026, 2, 12), WORK, date(2026, 2, 28)),  # Sat Feb 28 is a make-up workday
    ],
)
async def test_the_due_date_follows_the_chinese_calendar_in_both_modes(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    session: Session,
    db: Engine,
    matched_on: date,
    mode: DueDateMode,
    expected: date,
) -> None:
    client = time_skipping_env.client
    world = make_world(session, mode=mode)
    statement = make_statement(session, world, matched_on=matched_on)
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        handle = await start_settlement(client, task_queue, statement)
        await _pay(time_skipping_env, task_queue, handle, number, f"PR-CAL-{mode.value}-{matched_on}")
        await handle.result()
    row = payment(db, number)
    assert (row.due_date, row.due_date_provisional) == (expected, False)
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_2027_due_date_is_provisional_and_finance_is_told(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    world = make_world(session)
    statement = make_statement(session, world, matched_on=date(2026, 12, 28))
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        handle = await start_settlement(client, task_queue, statement)
        await until_ready(handle, time_skipping_env)
        row = payment(db, number)
        assert (row.due_date, row.due_date_provisional) == (date(2027, 1, 4), True)
        [told] = notifications(db, world.finance.id)
        assert "provisional" in told.message and told.params["years"] == "2027"
        await _pay(time_skipping_env, task_queue, handle, number, "PR-PROV-000001")
        await handle.result()
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_the_admins_override_table_wins_and_a_complete_year_is_not_provisional(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    session: Session,
    db: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = time_skipping_env.client
    monkeypatch.setattr(settings, "CALENDAR_OFFICIAL_YEARS", [2027])
    session.add(WorkingDayOverride(day=date(2027, 1, 4), is_working_day=False, note="test: a day off"))
    session.commit()
    world = make_world(session)
    statement = make_statement(session, world, matched_on=date(2026, 12, 28))
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        handle = await start_settlement(client, task_queue, statement)
        await _pay(time_skipping_env, task_queue, handle, number, "PR-OVR-000001")
        await handle.result()
    row = payment(db, number)
    assert (row.due_date, row.due_date_provisional) == (date(2027, 1, 5), False)
    assert not [n for n in notifications(db, world.finance.id) if "provisional" in n.message]
    await assert_replays(client, handle.id, WORKFLOWS)


@pytest.mark.parametrize("approve", [True, False])
async def test_a_payment_above_the_limit_waits_for_finance_approval(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine, approve: bool
) -> None:
    client = time_skipping_env.client
    world = make_world(session)
    statement = make_statement(session, world, total="80000.00", matched_on=await today(time_skipping_env))
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        handle = await start_settlement(client, task_queue, statement, approval_limit=Decimal("50000.00"))
        child = client.get_workflow_handle(approval_workflow_id(handle.id))

        async def assigned() -> int | None:
            try:
                return (await child.query(ApprovalWorkflow.get_state)).assignee_user_id
            except Exception:
                return None

        assert await until(assigned, "the approval to open") == world.finance.id
        assert payment(db, number).status is PaymentStatus.AWAITING_APPROVAL
        assert not (await handle.query(SettlementWorkflow.get_state)).ready
        await update(
            time_skipping_env,
            child,
            ApprovalWorkflow.decide,
            DecideInput(
                actor_user_id=world.finance.id,
                on_behalf_of_user_id=world.finance.id,
                approve=approve,
                comment="" if approve else "not this month",
            ),
        )
        if approve:
            await _pay(time_skipping_env, task_queue, handle, number, "PR-APR-000001")
        result = await handle.result()
    row = payment(db, number)
    if approve:
        assert result.status is PaymentStatus.PAID
        assert row.approved_by_user_id == world.finance.id
    else:
        assert result.status is PaymentStatus.CANCELLED
        assert row.failure_reason == "not this month" and row.ready_at is None
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_early_payment_is_paid_on_the_agreed_day_less_the_discount(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    world = make_world(session, days=30, rate="0.000500")
    t = await today(time_skipping_env)
    statement = make_statement(session, world, total="10000.00", matched_on=t)
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        handle = await start_settlement(client, task_queue, statement)

        async def scheduled() -> bool:
            return (await handle.query(SettlementWorkflow.get_state)).scheduled

        await until(scheduled, "the payment to be scheduled")
        due = payment(db, number).due_date
        supplier = world.supplier_user.id
        assert supplier is not None
        with pytest.raises(WorkflowUpdateFailedError) as on_due:
            await update(
                time_skipping_env,
                handle,
                SettlementWorkflow.request_early_payment,
                RequestEarlyPaymentInput(supplier, due),
            )
        assert _refusal(on_due) == EARLY_DATE_NOT_BEFORE_DUE
        with pytest.raises(WorkflowUpdateFailedError) as past:
            await update(
                time_skipping_env,
                handle,
                SettlementWorkflow.request_early_payment,
                RequestEarlyPaymentInput(supplier, t - timedelta(days=1)),
            )
        assert _refusal(past) == EARLY_DATE_PAST
        assert payment(db, number).early_payment_date is None

        pay_on = t + timedelta(days=2)
        await update(
            time_skipping_env,
            handle,
            SettlementWorkflow.request_early_payment,
            RequestEarlyPaymentInput(supplier, pay_on),
        )
        assert any("paid early" in n.message for n in notifications(db, world.finance.id))
        assert world.finance.id is not None
        await update(
            time_skipping_env,
            handle,
            SettlementWorkflow.decide_early_payment,
            DecideEarlyPaymentInput(world.finance.id, approve=True),
        )
        days_early = (due - pay_on).days
        discount = (Decimal("10000.00") * Decimal("0.0005") * days_early).quantize(Decimal("0.01"))
        row = payment(db, number)
        assert (row.early_payment_date, row.early_payment_approved) == (pay_on, True)
        assert (row.discount_amount, row.payable_amount) == (discount, Decimal("10000.00") - discount)
        await _pay(time_skipping_env, task_queue, handle, number, "PR-EARLY-000001")
        await handle.result()
    timers = [t for t in await started_timers(client, handle.id) if t > timedelta(hours=1)]
    assert timers[0] > timedelta(days=29)  # first the due date
    assert timedelta(days=1) <= timers[1] <= timedelta(days=2)  # then cut to the agreed day
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_failed_payment_goes_to_finance_and_a_retry_pays_it_under_a_new_key(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine, outbox: Path
) -> None:
    client = time_skipping_env.client
    world = make_world(session)
    statement = make_statement(session, world, matched_on=date(2026, 3, 2))
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        handle = await start_settlement(client, task_queue, statement)
        await until_ready(handle, time_skipping_env)
        await run_payments(time_skipping_env, task_queue, "PR-FAIL-000001")
        first_key = payment(db, number).idempotency_key
        await update(
            time_skipping_env,
            handle,
            SettlementWorkflow.record_bank_result,
            BankResultInput(first_key, BankStatus.FAILED, reason="account frozen"),
        )
        row = payment(db, number)
        assert (row.status, row.failure_reason) == (PaymentStatus.FAILED, "account frozen")
        assert any("account frozen" in str(n.params) for n in notifications(db, world.finance.id))
        # A second run does not pay a failed payment again.
        assert (await run_payments(time_skipping_env, task_queue, "PR-FAIL-000002")).payment_numbers == []
        assert world.finance.id is not None
        await update(
            time_skipping_env, handle, SettlementWorkflow.retry_payment, FailedPaymentInput(world.finance.id)
        )
        second_key = payment(db, number).idempotency_key
        assert second_key != first_key
        with pytest.raises(WorkflowUpdateFailedError):  # the first attempt's answer is stale now
            await update(
                time_skipping_env,
                handle,
                SettlementWorkflow.record_bank_result,
                BankResultInput(first_key, BankStatus.PAID, "LATE"),
            )
        await _pay(time_skipping_env, task_queue, handle, number, "PR-FAIL-000003")
        await handle.result()
    assert payment(db, number).status is PaymentStatus.PAID
    assert keys_in_outbox(outbox) == [first_key, second_key]
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_overlapping_runs_and_a_retried_activity_instruct_a_payment_once(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine, outbox: Path
) -> None:
    client = time_skipping_env.client
    world = make_world(session)
    statement = make_statement(session, world, matched_on=date(2026, 3, 2))
    number = payment_number(statement.number)
    async with running_worker(client, task_queue):
        handle = await start_settlement(client, task_queue, statement)
        await until_ready(handle, time_skipping_env)
        # The first run's file is written, and its activity "retried" by hand: nothing new.
        once = write_payment_instructions(WriteInstructionsInput("PR-OVL-000001", date(2026, 3, 9)))
        again = write_payment_instructions(WriteInstructionsInput("PR-OVL-000001", date(2026, 3, 9)))
        assert once == again and len(once.idempotency_keys) == 1
        # Two more runs at once while the row still says "ready": neither writes the key again.
        results = await asyncio.gather(
            run_payments(time_skipping_env, task_queue, "PR-OVL-000002"),
            run_payments(time_skipping_env, task_queue, "PR-OVL-000003"),
        )
        assert [r.payment_numbers for r in results] == [[], []]
        [key] = keys_in_outbox(outbox)
        # The first run completes as its workflow would after the retry.
        result = await run_payments(time_skipping_env, task_queue, "PR-OVL-000001")
        assert result.payment_numbers == [number]
        await update(
            time_skipping_env,
            handle,
            SettlementWorkflow.record_bank_result,
            BankResultInput(key, BankStatus.PAID, "R"),
        )
        await handle.result()
    assert keys_in_outbox(outbox) == [key]
    await assert_replays(client, handle.id, WORKFLOWS)


async def test_the_approval_chain_for_a_payment_is_finance_not_approvers(session: Session) -> None:
    from supplychain.approvals import approval_chain
    from supplychain.models import OrgKind
    from tests.factories import make_organisation

    world = make_world(session)
    hq = make_organisation(session, kind=OrgKind.HQ)
    make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal("1000000"))
    assert world.supplier_user.id is not None
    chain = approval_chain(
        session, amount=Decimal("80000"), requester_user_id=world.supplier_user.id, role=Role.FINANCE
    )
    assert chain == [world.finance.id]
