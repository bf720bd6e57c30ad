"""StatementWorkflow's invoice step on the time-skipping server, with the real activities and
database: the three-way match at exactly the tolerance and one fen over, a mismatch decided by
finance in the approval step (approved; rejected, then a corrected invoice), invoices with lines
matched line by line, duplicate numbers and
invoices on an unconfirmed statement refused with nothing written, and the hand-over of a MATCHED
statement to settlement. Each test ends by replaying the recorded history."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import Client, WorkflowUpdateStage
    from temporalio.testing import WorkflowEnvironment

    from activities.statement_invoice import record_invoice_decision
    from supplychain import invoices, statements
    from supplychain.models import ApprovalRequest, DocumentEvent, Role, User
    from supplychain.models.settlement import (
        DisputeResolution,
        InvoiceMatch,
        Payment,
        SettlementTerms,
        StatementStatus,
        SupplierInvoice,
        SupplierInvoiceLine,
    )
    from supplychain.rules.statement_invoice import BilledLine
    from tests.factories import make_user
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.statement_world import StatementWorld
    from tests.workflows.test_ready_for_the_click import Gate, held_after_commit, worker_holding
    from tests.workflows.test_statement import (
        WORKFLOWS as STATEMENT_WORKFLOWS,
    )
    from tests.workflows.test_statement import (
        Handle,
        _actions,
        _messages,
        _refused,
        _start,
        _statement,
        _until,
        world,  # noqa: F401 - the fixture
    )
    from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.settlement import settlement_workflow_id
    from workflows.statement import (
        ConfirmStatementInput,
        DisputeLineInput,
        ResolveDisputeInput,
        StatementWorkflow,
        SubmitInvoiceInput,
    )

# The statement of the `world` fixture: 50.00 excluding tax, 6.50 tax, 56.50 in all; the supplier
# has no terms, so the default tolerance: 1.00 CNY, no percentage.
NET, TAX, TOTAL = Decimal("50.00"), Decimal("6.50"), Decimal("56.50")
WORKFLOWS = [*STATEMENT_WORKFLOWS, ApprovalWorkflow]


@pytest.fixture
def finance(db: Engine, world: StatementWorld) -> User:
    with Session(db, expire_on_commit=False) as session:
        return make_user(session, organisation=world.hq, roles=[Role.FINANCE], locale="en")


def invoice(world: StatementWorld, number: str, net: str, tax: str, total: str) -> SubmitInvoiceInput:
    assert world.supplier_user.id is not None
    return SubmitInvoiceInput(
        actor_user_id=world.supplier_user.id,
        invoice_number=number,
        invoice_date=date(2026, 2, 3),
        net_amount=Decimal(net),
        tax_amount=Decimal(tax),
        total_amount=Decimal(total),
        stored_name=secrets.token_hex(16),
        content_type="application/pdf",
        size_bytes=1000,
    )


async def confirmed(client: Client, task_queue: str, world: StatementWorld) -> Handle:
    handle = await _start(client, task_queue, world)
    await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(world.supplier_user.id))
    return handle


def invoices_of(db: Engine, number: str) -> list[tuple[str, InvoiceMatch]]:
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None and statement.id is not None
        return [(i.invoice_number, i.match) for i in invoices.invoices_of(session, statement.id)]


async def decide(
    client: Client, handle: Handle, n: int, user: User, *, approve: bool, comment: str = ""
) -> None:
    approval = client.get_workflow_handle(approval_workflow_id(handle.id, f"invoice-{n}"))

    async def assigned() -> bool:
        try:
            state: ApprovalState = await approval.query(ApprovalWorkflow.get_state)
        except Exception:
            return False
        return state.assignee_user_id == user.id

    await _until(assigned, "the approval step assigned to finance")
    assert user.id is not None
    await approval.execute_update(
        ApprovalWorkflow.decide, DecideInput(user.id, user.id, approve=approve, comment=comment)
    )


def _payment_of(db: Engine, statement_id: int | None) -> Payment | None:
    with Session(db, expire_on_commit=False) as session:
        query = select(Payment).where(col(Payment.statement_id) == statement_id)
        return session.execute(query).scalar_one_or_none()


async def test_an_invoice_off_by_exactly_the_tolerance_matches_and_goes_on_to_settlement(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine, finance: User
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await confirmed(client, task_queue, world)
        result = await handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-001", "51.00", "6.50", "57.50")
        )
        assert (result.match, result.status) == (InvoiceMatch.MATCHED, StatementStatus.MATCHED)
        statement, _ = _statement(db, world)
        assert statement.status is StatementStatus.MATCHED
        assert statement.matched_on is not None  # T, the business date of the match
        assert invoices_of(db, statement.number) == [("INV-001", InvoiceMatch.MATCHED)]
        assert _messages(db, world.supplier_user, statement.number)[-1] == (
            "Your invoice %(invoice)s matches statement %(number)s; payment is being scheduled."
        )
        assert _messages(db, finance, statement.number) == []
        await _until(lambda: "settlement_handover" in _actions(db, statement.number), "the hand-over")
        late = handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-002", "50.00", "6.50", "56.50")
        )
        assert (await _refused(late)).startswith("This statement's invoice is already matched")
        assert _actions(db, statement.number) == [
            "created",
            "confirmed",
            "invoice_received",
            "settlement_handover",
        ]
        with Session(db) as session:
            handover = session.execute(
                select(DocumentEvent).where(
                    col(DocumentEvent.document_id) == statement.number,
                    col(DocumentEvent.action) == "settlement_handover",
                )
            ).scalar_one()
            assert handover.after is not None and handover.after["total_amount"] in (
                "56.50",
                56.5,
                Decimal("56.50"),
            )
        # The T+7 settlement takes over: its payment is scheduled for the statement's total. (Waited
        # for without blocking the event loop: the worker runs on it.)
        payment = await _until(lambda: _payment_of(db, statement.id), "the payment to be scheduled")
        assert payment.amount == Decimal("56.50") and payment.matched_on == statement.matched_on
        settlement = client.get_workflow_handle(settlement_workflow_id(statement.number))
        assert (await settlement.describe()).parent_id == handle.id
        finished = await handle.result()
        assert finished.status is StatementStatus.MATCHED
        await assert_replays(client, handle.id, WORKFLOWS)
        await settlement.terminate("test over")  # it would wait for its due date


async def test_one_fen_over_goes_to_finance_rejected_then_a_corrected_invoice_matches(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine, finance: User
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await confirmed(client, task_queue, world)
        number = _statement(db, world)[0].number
        result = await handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-101", "51.01", "6.50", "57.51")
        )
        assert (result.match, result.status) == (InvoiceMatch.MISMATCH, StatementStatus.MATCH_EXCEPTION)
        assert _statement(db, world)[0].status is StatementStatus.MATCH_EXCEPTION
        assert _messages(db, finance, number) == [
            "Invoice %(invoice)s differs from statement %(number)s beyond tolerance: please decide."
        ]
        meanwhile = handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-102", "50.00", "6.50", "56.50")
        )
        assert (await _refused(meanwhile)).startswith("The invoice of this statement differs from it")

        await _until(lambda: _approval_rows(db, number), "the approval request")
        row = _approval_rows(db, number)[0]
        assert (row.document_type, row.assignee_user_id) == ("invoice_match", finance.id)
        assert row.summary == f"{number} · INV-101 · +1.01 / +0.00 / +1.01"
        await decide(client, handle, 1, finance, approve=False, comment="amount wrong")
        await _until(lambda: _statement(db, world)[0].status is StatementStatus.CONFIRMED, "the rejection")
        assert invoices_of(db, number) == [("INV-101", InvoiceMatch.REJECTED)]
        assert _messages(db, world.supplier_user, number)[-1].startswith("Finance rejected your invoice")

        again = handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-101", "50.00", "6.50", "56.50")
        )
        assert (await _refused(again)).startswith("You have already uploaded an invoice numbered")
        corrected = await handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-103", "50.00", "6.50", "56.50")
        )
        assert corrected.match is InvoiceMatch.MATCHED
        assert invoices_of(db, number) == [
            ("INV-101", InvoiceMatch.REJECTED),
            ("INV-103", InvoiceMatch.MATCHED),
        ]
        await _until(lambda: "settlement_handover" in _actions(db, number), "the hand-over")
        assert _actions(db, number) == [
            "created",
            "confirmed",
            "invoice_received",
            "invoice_rejected",
            "invoice_received",
            "settlement_handover",
        ]
        finished = await handle.result()
        assert finished.status is StatementStatus.MATCHED
        await assert_replays(client, handle.id, WORKFLOWS)
        await assert_replays(client, approval_workflow_id(handle.id, "invoice-1"), WORKFLOWS)


async def test_a_mismatch_finance_approves_is_accepted_and_matched(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine, finance: User
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await confirmed(client, task_queue, world)
        number = _statement(db, world)[0].number
        result = await handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-201", "52.00", "6.50", "58.50")
        )
        assert result.match is InvoiceMatch.MISMATCH
        await decide(client, handle, 1, finance, approve=True)
        await _until(lambda: _statement(db, world)[0].status is StatementStatus.MATCHED, "the acceptance")
        assert invoices_of(db, number) == [("INV-201", InvoiceMatch.ACCEPTED)]
        assert _statement(db, world)[0].matched_on is not None
        assert _messages(db, world.supplier_user, number)[-1] == (
            "Finance accepted your invoice %(invoice)s for statement %(number)s."
        )
        await _until(lambda: "settlement_handover" in _actions(db, number), "the hand-over")
        await handle.result()
        await assert_replays(client, handle.id, WORKFLOWS)


async def test_bad_invoices_are_refused_with_nothing_written(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world)
        number = _statement(db, world)[0].number
        early = handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-301", "50.00", "6.50", "56.50")
        )
        assert (await _refused(early)).startswith("Confirm the statement before you upload its invoice")
        await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(world.supplier_user.id))
        bad: list[tuple[tuple[str, str, str], str]] = [
            (("-50.00", "6.50", "-43.50"), "Amounts on an invoice cannot be negative"),
            (("50.00", "6.50", "57.00"), "The amount excluding tax plus the tax must equal"),
            (("50.001", "6.50", "56.501"), "Enter each amount with at most 2 decimals"),
        ]
        for figures, message in bad:
            refused = handle.execute_update(
                StatementWorkflow.submit_invoice, invoice(world, "INV-302", *figures)
            )
            assert (await _refused(refused)).startswith(message)
        blank = handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, " ", "50.00", "6.50", "56.50")
        )
        assert (await _refused(blank)).startswith("Enter the invoice number")

        # The number is already stored for this supplier (another upload won the race): the unique
        # constraint refuses it, and the statement waits for an invoice as before.
        statement, _ = _statement(db, world)
        with Session(db) as session:
            session.add(
                SupplierInvoice(
                    statement_id=statement.id,
                    supplier_id=world.supplier_id,
                    invoice_number="INV-304",
                    invoice_date=date(2026, 2, 1),
                    net_amount=NET,
                    tax_amount=TAX,
                    total_amount=TOTAL,
                    stored_name=secrets.token_hex(16),
                    content_type="application/pdf",
                    size_bytes=10,
                    match=InvoiceMatch.REJECTED,
                    uploaded_by_user_id=world.supplier_user.id,
                )
            )
            session.commit()
        raced = handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-304", "50.00", "6.50", "56.50")
        )
        assert (await _refused(raced)).startswith("You have already uploaded an invoice numbered")
        assert invoices_of(db, number) == [("INV-304", InvoiceMatch.REJECTED)]
        assert _statement(db, world)[0].status is StatementStatus.CONFIRMED
        assert _actions(db, number) == ["created", "confirmed"]

        ok = await handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-305", "50.00", "6.50", "56.50")
        )
        assert ok.match is InvoiceMatch.MATCHED
        await handle.result()
        await assert_replays(client, handle.id, WORKFLOWS)


def _approval_rows(db: Engine, number: str) -> list[Any]:
    with Session(db, expire_on_commit=False) as session:
        return list(
            session.execute(
                select(ApprovalRequest)
                .where(col(ApprovalRequest.document_id) == number)
                .order_by(col(ApprovalRequest.id))
            ).scalars()
        )


async def test_with_nobody_in_finance_a_mismatch_is_refused_and_the_supplier_asked_again(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await confirmed(client, task_queue, world)
        number = _statement(db, world)[0].number
        result = await handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-401", "60.00", "6.50", "66.50")
        )
        assert result.match is InvoiceMatch.MISMATCH
        await _until(lambda: _statement(db, world)[0].status is StatementStatus.CONFIRMED, "the refusal")
        assert invoices_of(db, number) == [("INV-401", InvoiceMatch.REJECTED)]
        with Session(db) as session:
            note = session.execute(
                select(col(DocumentEvent.note)).where(
                    col(DocumentEvent.document_id) == number, col(DocumentEvent.action) == "invoice_rejected"
                )
            ).scalar_one()
        assert note == "Nobody in finance could decide on this invoice"
        await handle.execute_update(
            StatementWorkflow.submit_invoice, invoice(world, "INV-402", "50.00", "6.50", "56.50")
        )
        await handle.result()
        await assert_replays(client, handle.id, WORKFLOWS)


def goods_line(db: Engine, world: StatementWorld, quantity: int) -> Any:
    """The statement's receipt line of `quantity` (the lots of 3 and 4 at 10.0000)."""
    return next(line for line in _statement(db, world)[1] if line.quantity == quantity and line.unit_price)


def billed_lines_of(db: Engine, invoice_number: str) -> list[tuple[int, int, Decimal, Decimal]]:
    with Session(db) as session:
        return [
            (line.statement_line_id, line.quantity, line.unit_price, line.net_amount)
            for line in session.execute(
                select(SupplierInvoiceLine)
                .join(SupplierInvoice, col(SupplierInvoice.id) == col(SupplierInvoiceLine.invoice_id))
                .where(col(SupplierInvoice.invoice_number) == invoice_number)
                .order_by(col(SupplierInvoiceLine.statement_line_id))
            ).scalars()
        ]


async def test_totals_within_tolerance_but_a_line_beyond_it_goes_to_finance_with_that_line(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine, finance: User
) -> None:
    """Each line is judged with the tolerance on its own amount (rules/statement_invoice.py): at 2 %,
    the 30.00 line billed at 10.25 is 0.75 over its 0.60, while the totals (+0.75 / +0.10 / +0.85
    against 1.00 / 0.13 / 1.13) are within theirs."""
    with Session(db) as session:
        session.add(
            SettlementTerms(
                supplier_id=world.supplier_id, tolerance_amount=0, tolerance_percent=Decimal("0.0200")
            )
        )
        session.commit()
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await confirmed(client, task_queue, world)
        number = _statement(db, world)[0].number
        three, four = goods_line(db, world, 3), goods_line(db, world, 4)
        submitted = invoice(world, "INV-501", "50.75", "6.60", "57.35")
        submitted.lines = [
            BilledLine(three.id, 3, Decimal("10.25")),
            BilledLine(four.id, 4, Decimal("10.0000")),
        ]
        result = await handle.execute_update(StatementWorkflow.submit_invoice, submitted)
        assert (result.match, result.status) == (InvoiceMatch.MISMATCH, StatementStatus.MATCH_EXCEPTION)
        assert billed_lines_of(db, "INV-501") == [
            (three.id, 3, Decimal("10.25"), Decimal("30.75")),
            (four.id, 4, Decimal("10.0000"), Decimal("40.00")),
        ]
        await _until(lambda: _approval_rows(db, number), "the approval request")
        row = _approval_rows(db, number)[0]
        assert (row.document_type, row.assignee_user_id) == ("invoice_match", finance.id)
        assert row.summary == f"{number} · INV-501 · +0.75 / +0.10 / +0.85 · #{three.line_no} +0.75"
        with Session(db) as session:
            received = session.execute(
                select(DocumentEvent).where(
                    col(DocumentEvent.document_id) == number, col(DocumentEvent.action) == "invoice_received"
                )
            ).scalar_one()
        assert received.after is not None and received.after["lines_differing"] == [three.line_no]
        await decide(client, handle, 1, finance, approve=True)
        await _until(lambda: "settlement_handover" in _actions(db, number), "the hand-over")
        await handle.result()
        await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_line_short_and_another_long_that_offset_are_both_listed_and_go_to_finance(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine, finance: User
) -> None:
    """The totals match exactly, but one line bills a unit less and the other a unit more: each line
    is judged on its own (the quantities are what was received), so both are listed, 10.00 apiece
    beyond the default 1.00."""
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle = await confirmed(client, task_queue, world)
        number = _statement(db, world)[0].number
        three, four = goods_line(db, world, 3), goods_line(db, world, 4)
        refused = invoice(world, "INV-601", "50.00", "6.50", "56.50")
        refused.lines = [BilledLine(three.id, 3, Decimal("10.123456789"))]
        assert (await _refused(handle.execute_update(StatementWorkflow.submit_invoice, refused))).startswith(
            "Enter a unit price of 0 or more with at most %(places)s decimals"
        )
        assert invoices_of(db, number) == []

        submitted = invoice(world, "INV-602", "50.00", "6.50", "56.50")
        submitted.lines = [
            BilledLine(three.id, 2, Decimal("10.00")),
            BilledLine(four.id, 5, Decimal("10.00")),
        ]
        result = await handle.execute_update(StatementWorkflow.submit_invoice, submitted)
        assert result.match is InvoiceMatch.MISMATCH
        await _until(lambda: _approval_rows(db, number), "the approval request")
        assert _approval_rows(db, number)[0].summary == (
            f"{number} · INV-602 · +0.00 / +0.00 / +0.00 · #{three.line_no} -10.00, #{four.line_no} +10.00"
        )
        assert billed_lines_of(db, "INV-602") == [
            (three.id, 2, Decimal("10.00"), Decimal("20.00")),
            (four.id, 5, Decimal("10.00"), Decimal("50.00")),
        ]
        await decide(client, handle, 1, finance, approve=False, comment="quantities wrong")
        await _until(lambda: _statement(db, world)[0].status is StatementStatus.CONFIRMED, "the rejection")
        corrected = invoice(world, "INV-603", "50.00", "6.50", "56.50")
        corrected.lines = [
            BilledLine(three.id, 3, Decimal("10.00000000")),
            BilledLine(four.id, 4, Decimal("10")),
        ]
        assert (await handle.execute_update(StatementWorkflow.submit_invoice, corrected)).match is (
            InvoiceMatch.MATCHED
        )
        await handle.result()
        await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_line_billed_at_the_amount_agreed_in_its_dispute_matches(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine
) -> None:
    """The buyer accepted the supplier's 33.00 for the line of 3 at 10.0000: the invoice bills that
    line 3 x 11.00 = 33.00, its totals are the statement's, and it matches; the line is not judged
    against 3 x 10.00 = 30.00 (3.00 over the 1.00 tolerance)."""
    client = time_skipping_env.client
    supplier, buyer = world.supplier_user.id, world.buyer.id
    assert supplier is not None and buyer is not None
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, world)
        three, four = goods_line(db, world, 3), goods_line(db, world, 4)
        await handle.execute_update(
            StatementWorkflow.dispute_line,
            DisputeLineInput(supplier, three.line_no, "price", Decimal("33.00")),
        )
        await handle.execute_update(
            StatementWorkflow.resolve_dispute,
            ResolveDisputeInput(buyer, three.line_no, DisputeResolution.ACCEPTED_SUPPLIER),
        )
        await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(supplier))
        statement, lines = _statement(db, world)
        agreed = next(line for line in lines if line.id == three.id)
        assert invoices.billing_price(agreed, prices_include_tax=False) == Decimal("11.00000000")
        submitted = invoice(
            world,
            "INV-601",
            str(statement.net_amount),
            str(statement.tax_amount),
            str(statement.total_amount),
        )
        submitted.lines = [
            BilledLine(three.id, 3, Decimal("11.00")),
            BilledLine(four.id, 4, Decimal("10.0000")),
        ]
        result = await handle.execute_update(StatementWorkflow.submit_invoice, submitted)
        assert (result.match, result.status) == (InvoiceMatch.MATCHED, StatementStatus.MATCHED)
        await _until(lambda: "settlement_handover" in _actions(db, statement.number), "the hand-over")
        await handle.result()
        await assert_replays(client, handle.id, WORKFLOWS)


async def test_a_corrected_invoice_is_taken_from_the_moment_the_rejection_is_recorded(
    time_skipping_env: WorkflowEnvironment, task_queue: str, world: StatementWorld, db: Engine, finance: User
) -> None:
    """Finance rejects the mismatch; once its decision is written the statement page shows CONFIRMED
    and offers the upload, while the workflow has not heard back from that activity yet. A corrected
    invoice sent then is accepted, and recorded once the decision is."""
    client = time_skipping_env.client
    gate = Gate()
    async with worker_holding(client, task_queue, held_after_commit(gate, record_invoice_decision), gate):
        handle = await confirmed(client, task_queue, world)
        mismatched = invoice(world, "INV-701", "60.00", "6.50", "66.50")
        assert (await handle.execute_update(StatementWorkflow.submit_invoice, mismatched)).match is (
            InvoiceMatch.MISMATCH
        )
        await decide(client, handle, 1, finance, approve=False, comment="the amount is wrong")
        await gate.reached()
        assert _statement(db, world)[0].status is StatementStatus.CONFIRMED  # what the page shows
        corrected = await handle.start_update(
            StatementWorkflow.submit_invoice,
            invoice(world, "INV-702", "50.00", "6.50", "56.50"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.release()
        result = await corrected.result()
        assert (result.match, result.status) == (InvoiceMatch.MATCHED, StatementStatus.MATCHED)
        assert invoices_of(db, _statement(db, world)[0].number) == [
            ("INV-701", InvoiceMatch.REJECTED),
            ("INV-702", InvoiceMatch.MATCHED),
        ]
        await handle.result()
        await assert_replays(client, handle.id, WORKFLOWS)
