"""A supplier with a matched statement, HQ finance, and helpers to drive SettlementWorkflow."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from supplychain.models import Notification, Organisation, OrgKind, Role, User
from supplychain.models.settlement import (
    DueDateMode,
    Payment,
    SettlementTerms,
    Statement,
    StatementStatus,
)
from supplychain.payments import read_instructions
from supplychain.settlement import payment_by_number
from tests.factories import make_organisation, make_user
from workflows.common import business_date
from workflows.payment_run import (
    PaymentRunInput,
    PaymentRunResult,
    PaymentRunWorkflow,
    payment_run_workflow_id,
)
from workflows.settlement import SettlementInput, SettlementWorkflow, settlement_workflow_id

SKIP = timedelta(days=2)


@dataclass
class World:
    supplier: Organisation
    supplier_user: User
    hq: Organisation
    finance: User


def make_world(
    session: Session, *, days: int = 7, mode: DueDateMode = DueDateMode.CALENDAR_DAYS, rate: str = "0"
) -> World:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    hq = make_organisation(session, kind=OrgKind.HQ)
    world = World(
        supplier=supplier,
        supplier_user=make_user(session, organisation=supplier, roles=[Role.SUPPLIER]),
        hq=hq,
        finance=make_user(session, organisation=hq, roles=[Role.FINANCE]),
    )
    assert supplier.id is not None
    session.add(
        SettlementTerms(
            supplier_id=supplier.id,
            payment_days=days,
            due_date_mode=mode,
            early_payment_rate_per_day=Decimal(rate),
        )
    )
    session.commit()
    return world


def make_statement(session: Session, world: World, *, total: str = "10000.00", matched_on: date) -> Statement:
    number = f"ST-2026-{uuid.uuid4().int % 1_000_000:06d}"
    assert world.supplier.id is not None
    statement = Statement(
        number=number,
        workflow_id=f"statement-{number.lower()}",
        supplier_id=world.supplier.id,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        status=StatementStatus.MATCHED,
        net_amount=Decimal(total),
        tax_amount=Decimal("0.00"),
        total_amount=Decimal(total),
        confirmed_by_user_id=world.supplier_user.id,
        matched_on=matched_on,
    )
    session.add(statement)
    session.commit()
    session.refresh(statement)
    return statement


async def today(env: WorkflowEnvironment) -> date:
    """The business day on the server's clock (time skipping moves it ahead of the wall clock)."""
    return business_date(await env.get_current_time())


async def start_settlement(
    client: Client, task_queue: str, statement: Statement, **kw: Any
) -> WorkflowHandle[SettlementWorkflow, Any]:
    assert statement.id is not None and statement.matched_on is not None
    return await client.start_workflow(
        SettlementWorkflow.run,
        SettlementInput(
            statement_id=statement.id,
            statement_number=statement.number,
            supplier_id=statement.supplier_id,
            amount=statement.total_amount,
            matched_on=statement.matched_on,
            **kw,
        ),
        id=settlement_workflow_id(statement.number),
        task_queue=task_queue,
    )


async def until(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def until_ready(handle: WorkflowHandle[SettlementWorkflow, Any], env: WorkflowEnvironment) -> None:
    """Until the payment is ready for a run, skipping time on the time-skipping server (time only
    moves there while someone waits on it)."""

    async def ready() -> bool:
        if (await handle.query(SettlementWorkflow.get_state)).ready:
            return True
        await env.sleep(SKIP)
        return False

    await until(ready, "the payment to be ready")


async def run_payments(env: WorkflowEnvironment, task_queue: str, run_number: str) -> PaymentRunResult:
    """A payment run, time standing still meanwhile (waiting on it would let the time-skipping
    server jump over the settlement workflows' timers)."""
    with env.auto_time_skipping_disabled():
        result: PaymentRunResult = await env.client.execute_workflow(
            PaymentRunWorkflow.run,
            PaymentRunInput(run_number=run_number, value_date=await today(env)),
            id=payment_run_workflow_id(run_number),
            task_queue=task_queue,
        )
    return result


def payment(db: Engine, number: str) -> Payment:
    with Session(db) as session:
        row = payment_by_number(session, number)
        assert row is not None
        return row


def notifications(db: Engine, user_id: int | None) -> list[Notification]:
    with Session(db) as session:
        return list(
            session.execute(
                select(Notification)
                .where(col(Notification.user_id) == user_id)
                .order_by(col(Notification.id))
            ).scalars()
        )


def keys_in_outbox(outbox: Path) -> list[str]:
    """Every idempotency key in every instruction file, duplicates kept."""
    return [
        instruction.idempotency_key
        for path in sorted(outbox.glob("*.csv"))
        for instruction in read_instructions(path.read_text(encoding="utf-8"))
    ]
