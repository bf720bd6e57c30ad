"""StatementWorkflow and StatementRunWorkflow on the time-skipping server, with the real activities
and database: collection, confirmation, disputes resolved each of the three ways and in rounds, bad
clicks refused with nothing changed, and the reminder and escalation timers. Each test ends by
replaying the recorded history (no history files are committed yet: the process grows invoice and
settlement steps first)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import WorkflowEnvironment

    from supplychain import statements
    from supplychain.models import (
        DebitNoteKind,
        DocumentEvent,
        InspectionStage,
        Notification,
        Statement,
        User,
    )
    from supplychain.models.settlement import DisputeResolution, StatementDispute, StatementStatus
    from supplychain.rules.statement import Period
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.statement_world import StatementWorld, build_world, debit_note, inspect, receive
    from workflows.statement import (
        ConfirmStatementInput,
        DisputeLineInput,
        ResolveDisputeInput,
        StatementInput,
        StatementResult,
        StatementRunInput,
        StatementRunWorkflow,
        StatementState,
        StatementWorkflow,
        SubmitInvoiceInput,
    )

JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))
WORKFLOWS = [StatementWorkflow, StatementRunWorkflow]
Handle = WorkflowHandle[Any, Any]


@pytest.fixture
def world(db: Engine) -> StatementWorld:
    with Session(db, expire_on_commit=False) as session:
        return january_world(session)


def january_world(session: Session) -> StatementWorld:
    """January's statement of three lines: lots of 3 and 4 received on the 10th (30.00 and 40.00),
    the second lot's concession debit note of 20.00 on the 11th; 50.00 + 6.50 tax = 56.50."""
    world = build_world(session)
    receipt = receive(session, world, on=date(2026, 1, 10), lots=[3, 4])
    inspection = inspect(session, world, receipt, 2, stage=InspectionStage.DONE)
    debit_note(
        session,
        world,
        inspection,
        kind=DebitNoteKind.CONCESSION,
        quantity=4,
        net=Decimal("20.00"),
        tax=Decimal("2.60"),
        on=date(2026, 1, 11),
    )
    return world


async def _until(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _start(client: Client, task_queue: str, world: StatementWorld, **sla: timedelta) -> Handle:
    handle = await client.start_workflow(
        StatementWorkflow.run,
        StatementInput(
            supplier_id=world.supplier_id, period_start=JANUARY.start, period_end=JANUARY.end, **sla
        ),
        id=statements.statement_workflow_id(world.supplier_id, JANUARY),
        task_queue=task_queue,
    )

    async def recorded() -> bool:
        state: StatementState = await handle.query(StatementWorkflow.get_state)
        return state.recorded

    await _until(recorded, "the statement to be collected")
    return handle


async def _refused(update: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as error:
        await update
    cause = error.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UpdateRejected"
    return cause.message


def _number(handle: Handle) -> str:
    return f"{handle.id}"


def _statement(db: Engine, world: StatementWorld) -> Any:
    with Session(db) as session:
        statement = statements.statement_by_workflow(
            session, statements.statement_workflow_id(world.supplier_id, JANUARY)
        )
        assert statement is not None
        lines = statements.statement_lines(session, statement.id)
        return statement, lines


def _actions(db: Engine, number: str) -> list[str]:
    with Session(db) as session:
        return list(
            session.execute(
                select(col(DocumentEvent.action))
                .where(
                    col(DocumentEvent.document_type) == "statement", col(DocumentEvent.document_id) == number
                )
                .order_by(col(DocumentEvent.id))
            ).scalars()
        )


def _messages(db: Engine, user: User, number: str) -> list[str]:
    with Session(db) as session:
        return list(
            session.execute(
                select(col(Notification.message))
                .where(col(Notification.user_id) == user.id, col(Notification.document_id) == number)
                .order_by(col(Notification.id))
            ).scalars()
        )


async def _finish(client: Client, handle: Handle, db: Engine) -> StatementResult:
    """A confirmed statement waits for its invoice: one that matches its totals ends it."""
    with Session(db) as session:
        statement = statements.statement_by_workflow(session, handle.id)
        assert statement is not None
        supplier_user = session.execute(
            select(col(Statement.confirmed_by_user_id)).where(col(Statement.id) == statement.id)
        ).scalar_one()
        await handle.execute_update(
            StatementWorkflow.submit_invoice,
            SubmitInvoiceInput(
                actor_user_id=supplier_user,
                invoice_number=f"INV-{statement.number}",
                invoice_date=date(2026, 2, 1),
                net_amount=statement.net_amount,
                tax_amount=statement.tax_amount,
                total_amount=statement.total_amount,
                stored_name=secrets.token_hex(16),
                content_type="application/pdf",
                size_bytes=100,
            ),
        )
    result: StatementResult = await handle.result()
    await assert_replays(client, handle.id, WORKFLOWS)
    return result


async def test_the_supplier_confirms_once_and_nothing_can_change_after(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world)
        statement, lines = _statement(db, world)
        assert [line.net_amount for line in lines] == [Decimal("30.00"), Decimal("40.00"), Decimal("-20.00")]
        assert _messages(db, world.supplier_user, statement.number) == [
            "Statement %(number)s (%(start)s to %(end)s) is waiting for your confirmation."
        ]

        result = await handle.execute_update(
            StatementWorkflow.confirm, ConfirmStatementInput(actor_user_id=world.supplier_user.id)
        )
        assert result.status is StatementStatus.CONFIRMED
        statement, _ = _statement(db, world)  # read-your-writes: committed when the Update returned
        assert statement.status is StatementStatus.CONFIRMED
        assert statement.confirmed_by_user_id == world.supplier_user.id and statement.confirmed_at
        assert _messages(db, world.buyer, statement.number) == [
            "The supplier confirmed statement %(number)s."
        ]

        again = handle.execute_update(
            StatementWorkflow.confirm, ConfirmStatementInput(world.supplier_user.id)
        )
        assert (await _refused(again)).startswith("This statement is already confirmed")
        dispute = DisputeLineInput(world.supplier_user.id, 1, "too much", Decimal("25.00"))
        late = handle.execute_update(StatementWorkflow.dispute_line, dispute)
        assert (await _refused(late)).startswith("This statement is already confirmed")
        assert _actions(db, statement.number) == ["created", "confirmed"]
        with Session(db) as session:
            assert session.execute(select(StatementDispute)).first() is None

        finished = await _finish(client, handle, db)
        assert (finished.number, finished.status) == (statement.number, StatementStatus.MATCHED)


async def test_disputes_are_resolved_each_way_in_rounds_before_the_supplier_confirms(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    supplier, buyer = world.supplier_user.id, world.buyer.id
    assert supplier is not None and buyer is not None

    async def dispute(line_no: int, figure: str, reason: str = "wrong") -> StatementStatus:
        result = await handle.execute_update(
            StatementWorkflow.dispute_line, DisputeLineInput(supplier, line_no, reason, Decimal(figure))
        )
        return result.status

    async def resolve(
        line_no: int, how: DisputeResolution, comment: str = "", figure: str = ""
    ) -> StatementStatus:
        result = await handle.execute_update(
            StatementWorkflow.resolve_dispute,
            ResolveDisputeInput(buyer, line_no, how, comment, Decimal(figure) if figure else None),
        )
        return result.status

    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world)
        number = _statement(db, world)[0].number

        assert await dispute(1, "25.00", "3 units damaged") is StatementStatus.DISPUTED
        assert _messages(db, world.buyer, number) == [
            "The supplier disputed line %(line)s of statement %(number)s: %(reason)s"
        ]
        confirm = handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(supplier))
        assert (await _refused(confirm)).startswith("This statement cannot be confirmed")
        twice = handle.execute_update(
            StatementWorkflow.dispute_line, DisputeLineInput(supplier, 1, "x", Decimal(1))
        )
        assert (await _refused(twice)).startswith("Line %(line)s is already disputed")
        negative = handle.execute_update(
            StatementWorkflow.dispute_line, DisputeLineInput(supplier, 2, "x", Decimal("-1"))
        )
        assert (await _refused(negative)).startswith("Enter the amount as a positive number")
        await dispute(2, "45.00")
        await dispute(3, "10.00", "the deduction is too high")

        assert await resolve(1, DisputeResolution.ACCEPTED_SUPPLIER) is StatementStatus.DISPUTED
        keep_silently = handle.execute_update(
            StatementWorkflow.resolve_dispute, ResolveDisputeInput(buyer, 2, DisputeResolution.KEPT_OURS)
        )
        assert (await _refused(keep_silently)).startswith("Give a comment")
        await resolve(2, DisputeResolution.KEPT_OURS, "4 units as counted")
        assert (
            await resolve(3, DisputeResolution.ADJUSTED, figure="15.00")
            is StatementStatus.AWAITING_CONFIRMATION
        )
        statement, lines = _statement(db, world)
        assert [line.net_amount for line in lines] == [Decimal("25.00"), Decimal("40.00"), Decimal("-15.00")]
        assert [line.original_net_amount for line in lines] == [
            Decimal("30.00"),
            Decimal("40.00"),
            Decimal("-20.00"),
        ]
        assert (statement.net_amount, statement.tax_amount, statement.total_amount) == (
            Decimal("50.00"),
            Decimal("6.50"),
            Decimal("56.50"),
        )

        # Round 2 on line 2: the supplier disputes again, the buyer accepts this time.
        await dispute(2, "45.00", "see the delivery note")
        assert await resolve(2, DisputeResolution.ACCEPTED_SUPPLIER) is StatementStatus.AWAITING_CONFIRMATION
        result = await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(supplier))
        assert result.status is StatementStatus.CONFIRMED

        statement, lines = _statement(db, world)
        assert statement.status is StatementStatus.CONFIRMED and statement.total_amount == Decimal("62.15")
        with Session(db) as session:
            rounds = [
                (d.round, d.resolution, d.resolved_net_amount, d.resolution_comment)
                for d in session.execute(
                    select(StatementDispute)
                    .where(col(StatementDispute.statement_line_id) == lines[1].id)
                    .order_by(col(StatementDispute.round))
                ).scalars()
            ]
        assert rounds == [
            (1, DisputeResolution.KEPT_OURS, Decimal("40.00"), "4 units as counted"),
            (2, DisputeResolution.ACCEPTED_SUPPLIER, Decimal("45.00"), ""),
        ]
        assert _messages(db, world.supplier_user, number)[1:] == [
            "The buyer accepted your figure for line %(line)s of statement %(number)s.",
            "The buyer kept our figure for line %(line)s of statement %(number)s: %(comment)s",
            "The buyer adjusted line %(line)s of statement %(number)s to %(amount)s.",
            "The buyer accepted your figure for line %(line)s of statement %(number)s.",
        ]
        assert _actions(db, number) == [
            "created",
            *["line_disputed"] * 3,
            *["dispute_resolved"] * 3,
            "line_disputed",
            "dispute_resolved",
            "confirmed",
        ]
        await _finish(client, handle, db)


async def test_the_supplier_is_reminded_then_the_buyers_told_and_open_disputes_likewise(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    sla = {
        "confirm_reminder_after": timedelta(hours=2),
        "confirm_escalation_after": timedelta(hours=5),
        "dispute_reminder_after": timedelta(hours=3),
        "dispute_escalation_after": timedelta(hours=7),
    }
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world, **sla)
        number = _statement(db, world)[0].number
        waiting = "Statement %(number)s (%(start)s to %(end)s) is waiting for your confirmation."
        reminder = "Reminder: statement %(number)s is still waiting for your confirmation."

        await time_skipping_env.sleep(timedelta(hours=1, minutes=50))
        assert _messages(db, world.supplier_user, number) == [waiting]
        await time_skipping_env.sleep(timedelta(minutes=20))
        await _until(lambda: len(_messages(db, world.supplier_user, number)) == 2, "the reminder")
        assert _messages(db, world.supplier_user, number) == [waiting, reminder]
        assert _messages(db, world.buyer, number) == []
        await time_skipping_env.sleep(timedelta(hours=3, minutes=10))
        await _until(lambda: _messages(db, world.buyer, number), "the escalation")
        assert _messages(db, world.buyer, number) == [
            "The supplier has not confirmed statement %(number)s within %(hours)s hours."
        ]

        await handle.execute_update(
            StatementWorkflow.dispute_line,
            DisputeLineInput(world.supplier_user.id, 1, "short", Decimal("20")),
        )
        await time_skipping_env.sleep(timedelta(hours=2, minutes=50))
        assert len(_messages(db, world.buyer, number)) == 2  # the escalation, the dispute
        await time_skipping_env.sleep(timedelta(minutes=20))
        await _until(lambda: len(_messages(db, world.buyer, number)) == 3, "the buyers' reminder")
        assert _messages(db, world.buyer, number)[-1] == (
            "Reminder: %(count)s disputed line(s) of statement %(number)s wait for your answer."
        )
        assert _messages(db, world.approver, number) == []
        await time_skipping_env.sleep(timedelta(hours=4, minutes=10))
        await _until(lambda: _messages(db, world.approver, number), "the approvers told")
        assert _messages(db, world.approver, number) == [
            "Disputed lines of statement %(number)s have waited %(hours)s hours for the buyers."
        ]
        assert _actions(db, number) == [
            "created",
            "reminder_sent",
            "escalated",
            "line_disputed",
            "reminder_sent",
            "escalated",
        ]

        await handle.execute_update(
            StatementWorkflow.resolve_dispute,
            ResolveDisputeInput(world.buyer.id, 1, DisputeResolution.ACCEPTED_SUPPLIER),
        )
        await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(world.supplier_user.id))
        await time_skipping_env.sleep(timedelta(hours=12))
        assert len(_messages(db, world.supplier_user, number)) == 3  # + the outcome; no reminder after it
        await _finish(client, handle, db)


async def test_a_run_starts_the_period_statement_once_and_reports_an_empty_period(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine
) -> None:
    """The scheduled run works out the last complete month from its time and starts that period's
    statement; a second run for the same period starts nothing; a supplier with nothing to state
    gets no statement, and the run says so."""
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        first = await client.execute_workflow(
            StatementRunWorkflow.run,
            StatementRunInput(supplier_id=world.supplier_id),
            id=f"statement-run-{world.supplier_id}-1",
            task_queue=task_queue,
        )
        assert first.outcome == "started"
        assert first.period_start.day == 1 and (first.period_end + timedelta(days=1)).day == 1
        second = await client.execute_workflow(
            StatementRunWorkflow.run,
            StatementRunInput(supplier_id=world.supplier_id),
            id=f"statement-run-{world.supplier_id}-2",
            task_queue=task_queue,
        )
        assert (second.outcome, second.workflow_id) == ("already_started", first.workflow_id)
        assert world.other_supplier.id is not None
        empty = await client.execute_workflow(
            StatementRunWorkflow.run,
            StatementRunInput(supplier_id=world.other_supplier.id),
            id=f"statement-run-{world.other_supplier.id}-1",
            task_queue=task_queue,
        )
        assert empty.outcome == "no_source_lines"

        statement = client.get_workflow_handle(first.workflow_id)
        await _until(lambda: _has_statement(db, first.workflow_id), "the statement")
        await statement.execute_update(
            StatementWorkflow.confirm, ConfirmStatementInput(world.supplier_user.id)
        )
        with Session(db) as session:
            row = statements.statement_by_workflow(session, first.workflow_id)
            assert row is not None and row.status is StatementStatus.CONFIRMED
        # The time-skipping test server stops skipping time once an abandoned child outlives its
        # parent (the dev server does not): check the child's history so far, then end it.
        await assert_replays(client, statement.id, WORKFLOWS)
        await statement.terminate("test over")
        for run_id in (f"statement-run-{world.supplier_id}-1", f"statement-run-{world.supplier_id}-2"):
            await assert_replays(client, run_id, WORKFLOWS)


def _has_statement(db: Engine, workflow_id: str) -> bool:
    with Session(db) as session:
        return statements.statement_by_workflow(session, workflow_id) is not None


async def test_a_run_passes_the_configured_slas_to_its_statement(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: StatementWorld,
    db: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from supplychain.settings import settings
    from tests.fixtures.temporal import start_input

    hours = {
        "STATEMENT_CONFIRM_REMINDER_HOURS": 5.0,
        "STATEMENT_CONFIRM_ESCALATION_HOURS": 9.0,
        "STATEMENT_DISPUTE_REMINDER_HOURS": 2.0,
        "STATEMENT_DISPUTE_ESCALATION_HOURS": 4.0,
    }
    for name, value in hours.items():
        monkeypatch.setattr(settings, name, value)
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        run = await client.execute_workflow(
            StatementRunWorkflow.run,
            StatementRunInput(supplier_id=world.supplier_id),
            id=f"statement-run-{world.supplier_id}-sla",
            task_queue=task_queue,
        )
        started = await start_input(client, run.workflow_id, StatementInput)
        assert (
            started.confirm_reminder_after,
            started.confirm_escalation_after,
            started.dispute_reminder_after,
            started.dispute_escalation_after,
        ) == (timedelta(hours=5), timedelta(hours=9), timedelta(hours=2), timedelta(hours=4))
        await _until(lambda: _has_statement(db, run.workflow_id), "the statement")
        await assert_replays(client, run.workflow_id, WORKFLOWS)
        await client.get_workflow_handle(run.workflow_id).terminate("test over")
