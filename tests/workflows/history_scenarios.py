"""The history scenarios: one recording function per story whose workflow histories are committed.

Each scenario drives real workflows (the worker's activities, the test database, the time-skipping
server) through one story of the workflow tests, asserts that the story reached its intended end,
and returns the ids of the workflows it records, in the order of the file names it is registered
with (`@scenario("replenishment_approved", "approval_approved")`). Every workflow has finished by
then, so a file holds a whole run. A file's name says its workflow (`replenishment_*`,
`approval_*`, `inspection_*`, `statement_*`, `statement_run_*`, `settlement_*`, `payment_run_*`,
`transfer_*`, `planning_reorder_review_*`, `planning_transfer_plan_*`:
the longest prefix wins) and its story.

A story recorded again after a versioning change gets a second file, `<name>.<patch>.json`, named
in the scenario's `rerecorded` (`replenishment_happy_path.named_steps`: the happy path as a PO
started under `NAMED_STEPS_PATCH` runs it). The older file stays and keeps proving the older path;
the newer one proves the new path. The scenario runs once and both files come from its workflow.

The scenarios reuse the worlds and helpers of the workflow tests: the two-line order of
test_replenishment (100 x A at 10.00, 50 x B at 20.00, 13% VAT: 2,260.00; over the store
requester's limit only when `needs_approval`, then approver_mid decides, approver_high is the next
level), and inspection_world's received order whose line-1 lot of 100 is inspected.

The statement stories use test_statement's January world (three lines, 50.00 + 6.50 tax = 56.50;
no terms, so a tolerance of 1.00) and its short SLA timers where the timers are the story; each ends
MATCHED, which starts the statement's SettlementWorkflow as an abandoned child: that child waits for
its due date, is not recorded there and is terminated (the settlement stories start their own, as
test_settlement does, from settlement_world's matched statement of 10,000.00 and T+7 calendar days).

tests/workflows/test_histories.py replays every committed file and runs every scenario;
`make histories` records the files that do not exist yet.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client, WorkflowFailureError, WorkflowHistory, WorkflowUpdateStage
    from temporalio.service import RPCError
    from temporalio.testing import WorkflowEnvironment

    from supplychain.models import (
        ApprovalStatus,
        Disposition,
        InspectionStage,
        InspectionVerdict,
        Organisation,
        POLineStatus,
        POStatus,
        Role,
        SwitchingSeverity,
        TransferStatus,
        User,
    )
    from supplychain.models.catalog import InspectionMode
    from supplychain.models.settlement import (
        DisputeResolution,
        InvoiceMatch,
        PaymentStatus,
        Statement,
        StatementStatus,
    )
    from supplychain.payments import BankStatus
    from supplychain.settlement import payment_number
    from tests.factories import make_user
    from tests.planning_world import build_planning_world
    from tests.statement_world import StatementWorld
    from tests.transfer_world import build_transfer_world
    from tests.workflows import test_transfer as transfer_tests
    from tests.workflows.inspection_world import (
        acknowledge,
        closed,
        decide,
        record_defects,
        reject,
        set_mode,
        set_standing,
        sort,
        until_return,
        until_stage,
        upload_certificate,
    )
    from tests.workflows.settlement_world import World as SettlementWorld
    from tests.workflows.settlement_world import (
        make_statement,
        notifications,
        payment,
        run_payments,
        start_settlement,
        until_ready,
    )
    from tests.workflows.settlement_world import make_world as make_settlement_world
    from tests.workflows.test_approval import Gate, gated_open, worker_with
    from tests.workflows.test_inspection_dispositions import LOT, _lot_of_line_1
    from tests.workflows.test_replenishment import (
        Handle,
        World,
        _actions,
        _approval_opened,
        _confirm,
        _decide,
        _events,
        _input,
        _lines,
        _messages,
        _on_hand,
        _po,
        _receive,
        _run_happy_path,
        _ship,
        _short_close,
        _start,
        _today,
        _until,
    )
    from tests.workflows.test_settlement import _pay, update
    from tests.workflows.test_statement import Handle as StatementHandle
    from tests.workflows.test_statement import _actions as _statement_actions
    from tests.workflows.test_statement import _messages as _statement_messages
    from tests.workflows.test_statement import _start as _start_statement
    from tests.workflows.test_statement import _statement, january_world
    from tests.workflows.test_statement_invoice import confirmed, invoices_of
    from tests.workflows.test_statement_invoice import decide as decide_invoice
    from tests.workflows.test_statement_invoice import invoice as invoice_of
    from workflows.approval import ApprovalResult, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.common import business_date
    from workflows.inspection import InspectionResult, InspectionWorkflow
    from workflows.payment_run import PaymentRunWorkflow, payment_run_workflow_id
    from workflows.planning import PlanningRunInput, ReorderReviewWorkflow, TransferPlanWorkflow
    from workflows.replenishment import CancelPOInput, RejectPOInput, ReplenishmentWorkflow
    from workflows.settlement import (
        BankResultInput,
        DecideEarlyPaymentInput,
        FailedPaymentInput,
        RequestEarlyPaymentInput,
        SettlementWorkflow,
        settlement_workflow_id,
    )
    from workflows.statement import (
        ConfirmStatementInput,
        DisputeLineInput,
        ResolveDisputeInput,
        StatementRunInput,
        StatementRunWorkflow,
        StatementWorkflow,
    )
    from workflows.transfer import (
        CancelTransferInput,
        ReceivedLine,
        ReceiveTransferInput,
        TransferWorkflow,
    )

HISTORIES = Path(__file__).parent / "histories"
# The first words of a file's name say whose history it is (the longest prefix that matches:
# `statement_run_started` is StatementRunWorkflow's, `statement_invoice_corrected` StatementWorkflow's).
WORKFLOW_OF_PREFIX = {
    "replenishment": ReplenishmentWorkflow.__name__,
    "approval": ApprovalWorkflow.__name__,
    "inspection": InspectionWorkflow.__name__,
    "statement": StatementWorkflow.__name__,
    "statement_run": StatementRunWorkflow.__name__,
    "settlement": SettlementWorkflow.__name__,
    "payment_run": PaymentRunWorkflow.__name__,
    "transfer": TransferWorkflow.__name__,
    "planning_reorder_review": ReorderReviewWorkflow.__name__,
    "planning_transfer_plan": TransferPlanWorkflow.__name__,
}
SORTED_GOOD = 70


@dataclass(frozen=True)
class Scene:
    """What a scenario works with: the server, the task queue its worker polls, people and places."""

    env: WorkflowEnvironment
    task_queue: str
    world: World
    inspector: User
    quality_approver: User
    session: Session
    db: Engine

    @property
    def client(self) -> Client:
        return self.env.client


Record = Callable[[Scene], Awaitable[tuple[str, ...]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    histories: tuple[str, ...]  # file names without `.json`, one per workflow id `record` returns
    record: Record
    # `<one of histories>.<patch>`: that workflow recorded again under a later versioning change.
    rerecorded: tuple[str, ...] = ()

    def paths(self) -> list[Path]:
        return [path for path, _ in self.files(self.histories)]

    def files(self, workflow_ids: tuple[str, ...]) -> list[tuple[Path, str]]:
        """Each file of the scenario with the workflow id (of `record`'s result) it holds."""
        assert len(workflow_ids) == len(self.histories), "one workflow id per history file"
        of = dict(zip(self.histories, workflow_ids, strict=True))
        return [(history_path(name), of[name]) for name in self.histories] + [
            (history_path(name), of[name.split(".")[0]]) for name in self.rerecorded
        ]


SCENARIOS: list[Scenario] = []
# The versioning changes stories were recorded again under (a file name's second part).
PATCHES = (
    "named_steps",  # workflows.replenishment.NAMED_STEPS_PATCH
    "rechecks_kept",  # workflows.inspection.KEEP_RECHECKS_PATCH
    "local_decision",  # workflows.approval.LOCAL_DECISION_PATCH
)


def scenario(*histories: str, rerecorded: tuple[str, ...] = ()) -> Callable[[Record], Record]:
    """Register a recording function with the names of the history files it records."""

    def register(record: Record) -> Record:
        known = {name for s in SCENARIOS for name in (*s.histories, *s.rerecorded)}
        for name in (*histories, *rerecorded):
            if name in known or workflow_prefix(name) is None:
                raise ValueError(f"history name {name!r} is taken or does not start with its workflow")
        for name in rerecorded:
            base, _, patch = name.partition(".")
            if base not in histories or patch not in PATCHES:
                raise ValueError(f"{name!r} is not `<one of {histories}>.<one of {PATCHES}>`")
        SCENARIOS.append(Scenario(record.__name__, histories, record, rerecorded))
        return record

    return register


def history_path(name: str) -> Path:
    return HISTORIES / f"{name}.json"


def read_history(path: Path) -> WorkflowHistory:
    recorded = json.loads(path.read_text())
    return WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])


def write_history(path: Path, history: WorkflowHistory) -> None:
    """Write a new history file; an existing one is never overwritten (mode "x" refuses)."""
    with path.open("x") as file:
        file.write(
            json.dumps(
                {"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}, indent=1
            )
            + "\n"
        )


def workflow_prefix(name: str) -> str | None:
    """The longest prefix of WORKFLOW_OF_PREFIX that `name` (`<prefix>_<story>[.<patch>]`) starts with."""
    story = name.split(".")[0]
    found = [prefix for prefix in WORKFLOW_OF_PREFIX if story.startswith(f"{prefix}_")]
    return max(found, key=len, default=None)


def named_workflow(path: Path) -> str:
    """The workflow type a history file's name says it holds."""
    prefix = workflow_prefix(path.stem)
    assert prefix is not None, f"{path.name} does not start with a workflow's prefix"
    return WORKFLOW_OF_PREFIX[prefix]


def workflow_type(history: WorkflowHistory) -> str:
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    return started.workflow_execution_started_event_attributes.workflow_type.name


async def _ended(handle: Handle, status: POStatus) -> None:
    assert (await handle.result()).status is status


async def _approval_result(scene: Scene, workflow_id: str) -> ApprovalResult:
    return await scene.client.get_workflow_handle_for(ApprovalWorkflow.run, workflow_id).result()


async def _cancel(handle: Handle, world: World, reason: str = "Test over") -> POStatus:
    result = await handle.execute_update(
        ReplenishmentWorkflow.cancel_po, CancelPOInput(actor_user_id=world.buyer.id, reason=reason)
    )
    return result.status


# --- purchase orders ------------------------------------------------------------------------------


@scenario("replenishment_happy_path", rerecorded=("replenishment_happy_path.named_steps",))
async def happy_path(scene: Scene) -> tuple[str, ...]:
    """No approval: confirmed in full, one shipment received in full, closed. (The first file
    predates the inspection step: its replay covers the receipt before `INSPECTION_PATCH`; the
    `.named_steps` one is the same story as a PO started today runs it.)"""
    handle = await _run_happy_path(scene.env, scene.task_queue, scene.world, scene.db)
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


@scenario("replenishment_partial_backorder", rerecorded=("replenishment_partial_backorder.named_steps",))
async def partial_backorder(scene: Scene) -> tuple[str, ...]:
    """Line 1 confirmed 60 of 100 (a backorder of 40), shipped and received; the supplier confirms 80
    later (a second `confirm_lines`), ships and delivers 20 more; the buyer short-closes the line."""
    world, db = scene.world, scene.db
    today = await _today(scene.env)
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    await _confirm(handle, world, [(1, 60, today + timedelta(days=5)), (2, 50, today + timedelta(days=5))])
    first = await _ship(handle, world, today + timedelta(days=1), [(1, 60), (2, 50)])
    assert await _receive(handle, world, first, [(1, 60), (2, 50)]) is POStatus.IN_DELIVERY
    assert _lines(db, input.number)[1].status is POLineStatus.OPEN  # the backorder
    await _confirm(handle, world, [(1, 80, today + timedelta(days=9))])
    second = await _ship(handle, world, today + timedelta(days=2), [(1, 20)])
    assert await _receive(handle, world, second, [(1, 20)]) is POStatus.IN_DELIVERY
    assert await _short_close(handle, world, 1) is POStatus.CLOSED
    line = _lines(db, input.number)[1]
    assert (line.status, line.quantity_confirmed, line.quantity_received) == (
        POLineStatus.SHORT_CLOSED,
        80,
        80,
    )
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


@scenario("replenishment_line_confirmed_zero", rerecorded=("replenishment_line_confirmed_zero.named_steps",))
async def line_confirmed_zero(scene: Scene) -> tuple[str, ...]:
    """Line 2 confirmed 0 (the supplier cannot supply it): cancelled; line 1 is delivered, the PO closes."""
    world = scene.world
    today = await _today(scene.env)
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    await _confirm(handle, world, [(1, 100, today), (2, 0, None)])
    assert _lines(scene.db, input.number)[2].status is POLineStatus.CANCELLED
    shipment = await _ship(handle, world, today, [(1, 100)])
    assert await _receive(handle, world, shipment, [(1, 100)]) is POStatus.CLOSED
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


@scenario("replenishment_supplier_rejected", rerecorded=("replenishment_supplier_rejected.named_steps",))
async def supplier_rejected(scene: Scene) -> tuple[str, ...]:
    """The supplier rejects the order (`reject_po`) with a reason; the requester and buyers are told."""
    world = scene.world
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    result = await handle.execute_update(
        ReplenishmentWorkflow.reject_po,
        RejectPOInput(actor_user_id=world.supplier.id, reason="Discontinued item"),
    )
    assert result.status is POStatus.SUPPLIER_REJECTED
    assert _po(scene.db, input.number).status_reason == "Discontinued item"
    await _ended(handle, POStatus.SUPPLIER_REJECTED)
    return (handle.id,)


@scenario("replenishment_two_shipments", rerecorded=("replenishment_two_shipments.named_steps",))
async def two_shipments(scene: Scene) -> tuple[str, ...]:
    """Two shipments (40 of line 1, then the rest); the later one is received first."""
    world = scene.world
    today = await _today(scene.env)
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    await _confirm(handle, world, [(1, 100, today + timedelta(days=4)), (2, 50, today + timedelta(days=4))])
    first = await _ship(handle, world, today + timedelta(days=1), [(1, 40)])
    second = await _ship(handle, world, today + timedelta(days=3), [(1, 60), (2, 50)])
    assert await _receive(handle, world, second, [(1, 60), (2, 50)]) is POStatus.IN_DELIVERY
    assert await _receive(handle, world, first, [(1, 40)]) is POStatus.CLOSED
    assert _actions(scene.db, input.number).count("shipment_received") == 2
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


@scenario("replenishment_over_short_receipt", rerecorded=("replenishment_over_short_receipt.named_steps",))
async def over_short_receipt(scene: Scene) -> tuple[str, ...]:
    """103 counted of 100 shipped (the line is received), 45 of 50 (open until the buyer short-closes it)."""
    world, db = scene.world, scene.db
    today = await _today(scene.env)
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    await _confirm(handle, world, [(1, 100, today), (2, 50, today)])
    shipment = await _ship(handle, world, today, [(1, 100), (2, 50)])
    assert await _receive(handle, world, shipment, [(1, 103), (2, 45)]) is POStatus.IN_DELIVERY
    lines = _lines(db, input.number)
    assert (lines[1].status, lines[2].status) == (POLineStatus.RECEIVED, POLineStatus.OPEN)
    assert (_on_hand(db, world, world.sku_a), _on_hand(db, world, world.sku_b)) == (103, 45)
    assert await _short_close(handle, world, 2) is POStatus.CLOSED
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


@scenario(
    "replenishment_confirmation_escalated", rerecorded=("replenishment_confirmation_escalated.named_steps",)
)
async def confirmation_escalated(scene: Scene) -> tuple[str, ...]:
    """No confirmation: the supplier is reminded after 24 hours, the buyers told after 48; then the
    supplier confirms, ships and the order is received and closed."""
    world, db = scene.world, scene.db
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    await scene.env.sleep(timedelta(hours=25))
    await _until(lambda: "confirmation_reminder_sent" in _actions(db, input.number), "the reminder")
    await scene.env.sleep(timedelta(hours=24))
    await _until(lambda: "confirmation_escalated" in _actions(db, input.number), "the escalation")
    today = await _today(scene.env)
    await _confirm(handle, world, [(1, 100, today + timedelta(days=1)), (2, 50, today + timedelta(days=1))])
    shipment = await _ship(handle, world, today, [(1, 100), (2, 50)])
    assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.CLOSED
    assert _actions(db, input.number).count("confirmation_reminder_sent") == 1
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


@scenario("replenishment_overdue_alert", rerecorded=("replenishment_overdue_alert.named_steps",))
async def overdue_alert(scene: Scene) -> tuple[str, ...]:
    """Line 1 promised for today is not delivered: the buyers are alerted once; then everything arrives."""
    world, db = scene.world, scene.db
    today = await _today(scene.env)
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    await _confirm(handle, world, [(1, 100, today), (2, 50, today + timedelta(days=10))])
    await scene.env.sleep(timedelta(days=2))
    await _until(lambda: _events(db, input.number, "line_overdue"), "the overdue alert")
    shipment = await _ship(handle, world, await _today(scene.env), [(1, 100), (2, 50)])
    assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.CLOSED
    assert [e.after["line"] for e in _events(db, input.number, "line_overdue")] == [1]
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


@scenario("replenishment_cancelled", rerecorded=("replenishment_cancelled.named_steps",))
async def cancelled(scene: Scene) -> tuple[str, ...]:
    """The buyer cancels a confirmed order before anything shipped; the supplier is told."""
    world, db = scene.world, scene.db
    today = await _today(scene.env)
    input = _input(world)
    handle = await _start(scene.client, scene.task_queue, input)
    await _confirm(handle, world, [(1, 100, today), (2, 50, today)])
    assert await _cancel(handle, world, "Store closed for renovation") is POStatus.CANCELLED
    assert {line.status for line in _lines(db, input.number).values()} == {POLineStatus.CANCELLED}
    assert (
        _messages(db, world.supplier, input.number)[-1]
        == "Purchase order %(number)s was cancelled: %(reason)s"
    )
    await _ended(handle, POStatus.CANCELLED)
    return (handle.id,)


@scenario("replenishment_transferred_on.named_steps")
async def transferred_on(scene: Scene) -> tuple[str, ...]:
    """Sourcing: a PO bought for a store, delivered to its warehouse (`transfer_on_to_location_id`,
    TRANSFER_ON_PATCH): received in full and closed; what the store asked for (95 of the 100 A
    bought, all 50 B) goes on to it by a TransferWorkflow started as an abandoned child, left
    waiting for dispatch when the PO's run ends. (A new story, recorded only under the named steps:
    no PO before that change had a store to send its goods on to.)"""
    from tests.workflows.test_replenishment_transfer_on import run_transfer_on

    handle = await run_transfer_on(scene.env, scene.task_queue, scene.world, scene.db)
    await _ended(handle, POStatus.CLOSED)
    return (handle.id,)


# --- purchase orders with the approval step -------------------------------------------------------


@scenario(
    "replenishment_approved",
    "approval_approved",
    rerecorded=("replenishment_approved.named_steps", "approval_approved.local_decision"),
)
async def approved(scene: Scene) -> tuple[str, ...]:
    """Over the requester's limit: the approval child, approved by the first level; then the order is
    sent, confirmed, shipped, received and closed."""
    world, db = scene.world, scene.db
    input = _input(world, needs_approval=True)
    handle = await _start(scene.client, scene.task_queue, input)
    assert _po(db, input.number).status is POStatus.PENDING_APPROVAL
    approval = await _approval_opened(scene.client, handle)
    await approval.execute_update(ApprovalWorkflow.decide, _decide(world, world.approver_mid, True))
    await _until(lambda: _po(db, input.number).status is POStatus.SENT, "the PO to be sent")
    today = await _today(scene.env)
    await _confirm(handle, world, [(1, 100, today), (2, 50, today)])
    shipment = await _ship(handle, world, today, [(1, 100), (2, 50)])
    assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.CLOSED
    decided = await _approval_result(scene, approval.id)
    assert decided.approved and decided.decided_by_user_id == world.approver_mid.id
    await _ended(handle, POStatus.CLOSED)
    return handle.id, approval.id


@scenario(
    "replenishment_approval_rejected",
    "approval_rejected",
    rerecorded=("replenishment_approval_rejected.named_steps", "approval_rejected.local_decision"),
)
async def approval_rejected(scene: Scene) -> tuple[str, ...]:
    """The approver rejects with a reason: the order ends APPROVAL_REJECTED, never sent."""
    world, db = scene.world, scene.db
    input = _input(world, needs_approval=True)
    handle = await _start(scene.client, scene.task_queue, input)
    approval = await _approval_opened(scene.client, handle)
    await approval.execute_update(
        ApprovalWorkflow.decide, _decide(world, world.approver_mid, False, "Over budget this month")
    )
    await _ended(handle, POStatus.APPROVAL_REJECTED)
    assert _po(db, input.number).status_reason == "Over budget this month"
    assert _messages(db, world.supplier, input.number) == []
    assert not (await _approval_result(scene, approval.id)).approved
    return handle.id, approval.id


@scenario("approval_escalated", rerecorded=("approval_escalated.local_decision",))
async def approval_escalated(scene: Scene) -> tuple[str, ...]:
    """Nobody decides: the first level is reminded after 8 hours and the step escalated to the next
    level after 24; the second level approves; the order is sent (then cancelled: the story ends)."""
    world, db = scene.world, scene.db
    input = _input(world, needs_approval=True)
    handle = await _start(scene.client, scene.task_queue, input)
    approval = await _approval_opened(scene.client, handle)
    await scene.env.sleep(timedelta(hours=25))

    async def escalated() -> bool:
        state = await approval.query(ApprovalWorkflow.get_state)
        return bool(state.escalations == 1 and state.reminders_sent == 1)

    await _until(escalated, "the escalation")
    await approval.execute_update(ApprovalWorkflow.decide, _decide(world, world.approver_high, True))
    await _until(lambda: _po(db, input.number).status is POStatus.SENT, "the PO to be sent")
    decided = await _approval_result(scene, approval.id)
    assert decided.approved and decided.decided_by_user_id == world.approver_high.id
    assert await _cancel(handle, world) is POStatus.CANCELLED
    await _ended(handle, POStatus.CANCELLED)
    return (approval.id,)


@scenario("approval_delegated", rerecorded=("approval_delegated.local_decision",))
async def approval_delegated(scene: Scene) -> tuple[str, ...]:
    """A delegate approves on behalf of the assignee (the web route checks the delegation); the order
    is sent (then cancelled: the story ends)."""
    world, db = scene.world, scene.db
    hq = scene.session.get(Organisation, world.hq_id)
    assert hq is not None
    delegate = make_user(scene.session, organisation=hq, roles=[Role.APPROVER])
    input = _input(world, needs_approval=True)
    handle = await _start(scene.client, scene.task_queue, input)
    approval = await _approval_opened(scene.client, handle)
    await approval.execute_update(
        ApprovalWorkflow.decide,
        DecideInput(actor_user_id=delegate.id, on_behalf_of_user_id=world.approver_mid.id, approve=True),
    )
    await _until(lambda: _po(db, input.number).status is POStatus.SENT, "the PO to be sent")
    decided = await _approval_result(scene, approval.id)
    assert (decided.decided_by_user_id, decided.on_behalf_of_user_id) == (delegate.id, world.approver_mid.id)
    assert await _cancel(handle, world) is POStatus.CANCELLED
    await _ended(handle, POStatus.CANCELLED)
    return (approval.id,)


@scenario("approval_decided_while_opening", rerecorded=("approval_decided_while_opening.local_decision",))
async def approval_decided_while_opening(scene: Scene) -> tuple[str, ...]:
    """The approver clicks the moment the queue row is written, before the step sees the write
    finish: the decision is accepted, recorded once the write is done, and the order is sent (then
    cancelled: the story ends). Its own worker holds the write (test_approval's gate)."""
    world, db = scene.world, scene.db
    gate = Gate()
    task_queue = f"{scene.task_queue}-gated"
    async with worker_with(scene.client, task_queue, gate, gated_open(gate)):
        input = _input(world, needs_approval=True)
        handle = await _start(scene.client, task_queue, input)
        await gate.until_written()
        approval = scene.client.get_workflow_handle(approval_workflow_id(handle.id))
        decision = await approval.start_update(
            ApprovalWorkflow.decide,
            _decide(world, world.approver_mid, True),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.go.set()
        assert (await decision.result()).status is ApprovalStatus.APPROVED
        await _until(lambda: _po(db, input.number).status is POStatus.SENT, "the PO to be sent")
        decided = await _approval_result(scene, approval.id)
        assert decided.approved and decided.decided_by_user_id == world.approver_mid.id
        assert await _cancel(handle, world) is POStatus.CANCELLED
        await _ended(handle, POStatus.CANCELLED)
    return (approval.id,)


@scenario(
    "replenishment_cancelled_in_approval",
    "approval_cancelled",
    rerecorded=("replenishment_cancelled_in_approval.named_steps",),
)
async def cancelled_in_approval(scene: Scene) -> tuple[str, ...]:
    """The buyer cancels while the order waits for approval: the approval child is cancelled and
    records it; the supplier never hears of the order."""
    world, db = scene.world, scene.db
    input = _input(world, needs_approval=True)
    handle = await _start(scene.client, scene.task_queue, input)
    approval = await _approval_opened(scene.client, handle)
    assert await _cancel(handle, world, "Ordered twice") is POStatus.CANCELLED
    with pytest.raises(WorkflowFailureError):  # the child ends cancelled
        await approval.result()
    assert _messages(db, world.supplier, input.number) == []
    await _ended(handle, POStatus.CANCELLED)
    return handle.id, approval.id


# --- receiving inspection ------------------------------------------------------------------------


@scenario(
    "replenishment_inspection_accepted",
    "inspection_accepted",
    rerecorded=("replenishment_inspection_accepted.named_steps",),
)
async def inspection_accepted(scene: Scene) -> tuple[str, ...]:
    """Line 1 (SKU A, inspected always) goes into quarantine with an inspection child, line 2 into
    stock at once; the lot is accepted and released; the PO closes."""
    set_mode(scene.session, scene.world.sku_a, InspectionMode.ALWAYS)
    handle, number, child = await _lot_of_line_1(scene.env, scene.task_queue, scene.world, scene.db)
    await record_defects(child, scene.inspector, major=1)  # major 2.5 at n 20: Ac 1
    await closed(handle, scene.db, number)
    assert await child.result() == InspectionResult(LOT, 0, InspectionVerdict.ACCEPTED)
    await _ended(handle, POStatus.CLOSED)
    return handle.id, child.id


@scenario(
    "inspection_concession",
    "approval_quality_decision",
    rerecorded=("approval_quality_decision.local_decision",),
)
async def inspection_concession(scene: Scene) -> tuple[str, ...]:
    """Line 1's lot rejected; HQ's quality approver chooses a concession of 10% in the decision step
    (the inspection's ApprovalWorkflow child with choices): the whole lot released, a debit note."""
    set_mode(scene.session, scene.world.sku_a, InspectionMode.ALWAYS)
    handle, number, child = await _lot_of_line_1(scene.env, scene.task_queue, scene.world, scene.db)
    await reject(child, scene.inspector)
    approval = await decide(
        scene.client, child, scene.quality_approver, "concession", {"deduction_percent": "10"}
    )
    await closed(handle, scene.db, number)
    assert await child.result() == InspectionResult(
        LOT, 0, InspectionVerdict.REJECTED, Disposition.CONCESSION
    )
    decided = await _approval_result(scene, approval.id)
    assert (decided.choice, decided.details) == ("concession", {"deduction_percent": "10"})
    await _ended(handle, POStatus.CLOSED)
    return child.id, approval.id


@scenario(
    "replenishment_inspection_return",
    "inspection_return",
    rerecorded=("replenishment_inspection_return.named_steps",),
)
async def inspection_return(scene: Scene) -> tuple[str, ...]:
    """Line 1's lot rejected, returned to the vendor by HQ's decision and acknowledged by the
    supplier; the PO learns the quantities by the inspection's `inspection_settled` signal and closes."""
    set_mode(scene.session, scene.world.sku_a, InspectionMode.ALWAYS)
    handle, number, child = await _lot_of_line_1(scene.env, scene.task_queue, scene.world, scene.db)
    await reject(child, scene.inspector)
    await decide(scene.client, child, scene.quality_approver, "return_to_vendor")
    await until_return(child)
    await acknowledge(child, scene.world.supplier)
    await closed(handle, scene.db, number)
    assert await child.result() == InspectionResult(
        0, LOT, InspectionVerdict.REJECTED, Disposition.RETURN_TO_VENDOR
    )
    await _ended(handle, POStatus.CLOSED)
    return handle.id, child.id


@scenario("inspection_sorting")
async def inspection_sorting(scene: Scene) -> tuple[str, ...]:
    """Line 1's lot rejected and sorted (`record_sorting`): 70 good released, 30 returned and acknowledged."""
    set_mode(scene.session, scene.world.sku_a, InspectionMode.ALWAYS)
    handle, number, child = await _lot_of_line_1(scene.env, scene.task_queue, scene.world, scene.db)
    await reject(child, scene.inspector)
    await decide(scene.client, child, scene.quality_approver, "sorting")
    await until_stage(child, InspectionStage.SORTING)
    result = await sort(child, scene.inspector, SORTED_GOOD)
    assert (result.accepted_quantity, result.returned_quantity) == (SORTED_GOOD, LOT - SORTED_GOOD)
    await until_return(child)
    await acknowledge(child, scene.world.supplier)
    await closed(handle, scene.db, number)
    assert await child.result() == InspectionResult(
        SORTED_GOOD, LOT - SORTED_GOOD, InspectionVerdict.REJECTED, Disposition.SORTING
    )
    await _ended(handle, POStatus.CLOSED)
    return (child.id,)


@scenario("inspection_discontinued_return")
async def inspection_discontinued(scene: Scene) -> tuple[str, ...]:
    """Line 1's lot of a discontinued supplier+SKU (ISO 2859-1 9.4) meets its tightened plan, is held
    for HQ's decision (`discontinued-lots-go-to-decision`), returned to the vendor and acknowledged."""
    set_standing(scene.session, scene.world, SwitchingSeverity.DISCONTINUED, rejected_on_tightened=5)
    handle, number, child = await _lot_of_line_1(scene.env, scene.task_queue, scene.world, scene.db)
    await record_defects(child, scene.inspector)
    await until_stage(child, InspectionStage.AWAITING_DECISION)
    await decide(scene.client, child, scene.quality_approver, "return_to_vendor")
    await until_return(child)
    await acknowledge(child, scene.world.supplier)
    await closed(handle, scene.db, number)
    assert await child.result() == InspectionResult(
        0, LOT, InspectionVerdict.ACCEPTED, Disposition.RETURN_TO_VENDOR
    )
    await _ended(handle, POStatus.CLOSED)
    return (child.id,)


@scenario("inspection_certificate_hold", rerecorded=("inspection_certificate_hold.rechecks_kept",))
async def inspection_certificate_hold(scene: Scene) -> tuple[str, ...]:
    """Line 1's lot is accepted but held: its SKU needs a COA the supplier has not uploaded. The daily
    recheck (a timer) still finds none; the upload's `recheck_certificates` signal releases the lot."""
    world = scene.world
    set_mode(scene.session, world.sku_a, InspectionMode.ALWAYS, certificates="coa")
    handle, number, child = await _lot_of_line_1(scene.env, scene.task_queue, world, scene.db)
    await record_defects(child, scene.inspector)
    await until_stage(child, InspectionStage.ON_HOLD)
    await scene.env.sleep(timedelta(days=1, hours=1))

    async def rechecked() -> bool:
        history = await child.fetch_history()
        return _activities(history, "check_lot_certificates") >= 2

    await _until(rechecked, "the daily recheck")
    assert (await child.query(InspectionWorkflow.get_state)).stage is InspectionStage.ON_HOLD
    upload_certificate(scene.session, world, await _today(scene.env))
    await child.signal(InspectionWorkflow.recheck_certificates)
    await closed(handle, scene.db, number)
    assert await child.result() == InspectionResult(LOT, 0, InspectionVerdict.ACCEPTED)
    await _ended(handle, POStatus.CLOSED)
    return (child.id,)


# --- supplier statements -------------------------------------------------------------------------

STATEMENT_SLA = {  # test_statement's short timers: the supplier 2 h / 5 h, open disputes 3 h / 7 h
    "confirm_reminder_after": timedelta(hours=2),
    "confirm_escalation_after": timedelta(hours=5),
    "dispute_reminder_after": timedelta(hours=3),
    "dispute_escalation_after": timedelta(hours=7),
}


def _january(scene: Scene) -> StatementWorld:
    with Session(scene.db, expire_on_commit=False) as session:
        return january_world(session)


def _finance(scene: Scene, organisation: Organisation) -> User:
    with Session(scene.db, expire_on_commit=False) as session:
        return make_user(session, organisation=organisation, roles=[Role.FINANCE], locale="en")


async def _submit(
    handle: StatementHandle, world: StatementWorld, number: str, figures: tuple[str, str, str]
) -> Any:
    return await handle.execute_update(StatementWorkflow.submit_invoice, invoice_of(world, number, *figures))


async def _statement_matched(
    scene: Scene, handle: StatementHandle, world: StatementWorld, number: str
) -> None:
    """The MATCHED statement has started its settlement (an abandoned child) and ends after its
    late-click window; then the settlement, waiting for its due date and not recorded here, is ended."""
    await _until(lambda: "settlement_handover" in _statement_actions(scene.db, number), "the hand-over")
    settlement = scene.client.get_workflow_handle(settlement_workflow_id(number))

    async def started_by_the_statement() -> bool:  # the child starts in the task after the hand-over's
        try:
            return (await settlement.describe()).parent_id == handle.id
        except RPCError:
            return False

    await _until(started_by_the_statement, "the settlement child")
    result = await handle.result()
    assert (result.number, result.status) == (number, StatementStatus.MATCHED)
    assert _statement(scene.db, world)[0].status is StatementStatus.MATCHED
    await settlement.terminate("its statement's history is recorded")


@scenario("statement_confirmed_matched")
async def statement_confirmed_matched(scene: Scene) -> tuple[str, ...]:
    """The supplier confirms the statement as collected; the invoice is 1.00 over on the amount (the
    tolerance): MATCHED, handed over to settlement."""
    world = _january(scene)
    handle = await confirmed(scene.client, scene.task_queue, world)
    number = _statement(scene.db, world)[0].number
    result = await _submit(handle, world, "INV-001", ("51.00", "6.50", "57.50"))
    assert (result.match, result.status) == (InvoiceMatch.MATCHED, StatementStatus.MATCHED)
    await _statement_matched(scene, handle, world, number)
    assert _statement_actions(scene.db, number) == [
        "created",
        "confirmed",
        "invoice_received",
        "settlement_handover",
    ]
    return (handle.id,)


@scenario("statement_disputes_resolved")
async def statement_disputes_resolved(scene: Scene) -> tuple[str, ...]:
    """The supplier disputes all three lines; the buyer accepts the supplier's figure on line 1, keeps
    ours on line 2 with a comment and adjusts line 3; the supplier confirms, the invoice matches."""
    world, db = _january(scene), scene.db
    supplier, buyer = world.supplier_user.id, world.buyer.id
    assert supplier is not None and buyer is not None
    handle = await _start_statement(scene.client, scene.task_queue, world)
    number = _statement(db, world)[0].number
    for line_no, figure in ((1, "25.00"), (2, "45.00"), (3, "10.00")):
        disputed = await handle.execute_update(
            StatementWorkflow.dispute_line, DisputeLineInput(supplier, line_no, "wrong", Decimal(figure))
        )
        assert disputed.status is StatementStatus.DISPUTED
    resolutions = [
        (ResolveDisputeInput(buyer, 1, DisputeResolution.ACCEPTED_SUPPLIER), StatementStatus.DISPUTED),
        (
            ResolveDisputeInput(buyer, 2, DisputeResolution.KEPT_OURS, "4 units as counted"),
            StatementStatus.DISPUTED,
        ),
        (
            ResolveDisputeInput(buyer, 3, DisputeResolution.ADJUSTED, adjusted_net_amount=Decimal("15.00")),
            StatementStatus.AWAITING_CONFIRMATION,
        ),
    ]
    for resolution, status in resolutions:
        assert (await handle.execute_update(StatementWorkflow.resolve_dispute, resolution)).status is status
    result = await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(supplier))
    assert result.status is StatementStatus.CONFIRMED
    statement, lines = _statement(db, world)
    assert [line.net_amount for line in lines] == [Decimal("25.00"), Decimal("40.00"), Decimal("-15.00")]
    assert (statement.net_amount, statement.tax_amount, statement.total_amount) == (
        Decimal("50.00"),
        Decimal("6.50"),
        Decimal("56.50"),
    )
    await _submit(handle, world, "INV-011", ("50.00", "6.50", "56.50"))
    await _statement_matched(scene, handle, world, number)
    assert _statement_actions(db, number)[:8] == [
        "created",
        *["line_disputed"] * 3,
        *["dispute_resolved"] * 3,
        "confirmed",
    ]
    return (handle.id,)


@scenario("statement_reminded_escalated")
async def statement_reminded_escalated(scene: Scene) -> tuple[str, ...]:
    """Nobody acts (the short SLA timers): the supplier is reminded, then the buyers told; a disputed
    line waits: the buyers are reminded, then the approvers told; the buyer accepts the supplier's
    figure, the supplier confirms, the invoice matches."""
    world, db, env = _january(scene), scene.db, scene.env
    assert world.supplier_user.id is not None and world.buyer.id is not None
    handle = await _start_statement(scene.client, scene.task_queue, world, **STATEMENT_SLA)
    number = _statement(db, world)[0].number

    async def after(hours: float, action: str, count: int) -> None:
        await env.sleep(timedelta(hours=hours))
        await _until(lambda: _statement_actions(db, number).count(action) == count, f"{action} #{count}")

    await after(2.2, "reminder_sent", 1)
    await after(3, "escalated", 1)
    await handle.execute_update(
        StatementWorkflow.dispute_line, DisputeLineInput(world.supplier_user.id, 1, "short", Decimal("20"))
    )
    await after(3.2, "reminder_sent", 2)
    await after(4, "escalated", 2)
    assert _statement_messages(db, world.approver, number) == [
        "Disputed lines of statement %(number)s have waited %(hours)s hours for the buyers."
    ]
    await handle.execute_update(
        StatementWorkflow.resolve_dispute,
        ResolveDisputeInput(world.buyer.id, 1, DisputeResolution.ACCEPTED_SUPPLIER),
    )
    await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(world.supplier_user.id))
    statement = _statement(db, world)[0]
    figures = (str(statement.net_amount), str(statement.tax_amount), str(statement.total_amount))
    await _submit(handle, world, "INV-021", figures)
    await _statement_matched(scene, handle, world, number)
    assert _statement_actions(db, number)[:9] == [
        "created",
        "reminder_sent",
        "escalated",
        "line_disputed",
        "reminder_sent",
        "escalated",
        "dispute_resolved",
        "confirmed",
        "invoice_received",
    ]
    return (handle.id,)


@scenario("statement_invoice_mismatch_approved")
async def statement_invoice_mismatch_approved(scene: Scene) -> tuple[str, ...]:
    """The invoice is 2.00 over on the amount: MATCH_EXCEPTION, to finance's approval step (the
    ApprovalWorkflow child, not recorded here); finance accepts it: MATCHED, handed over."""
    world = _january(scene)
    finance = _finance(scene, world.hq)
    handle = await confirmed(scene.client, scene.task_queue, world)
    number = _statement(scene.db, world)[0].number
    result = await _submit(handle, world, "INV-201", ("52.00", "6.50", "58.50"))
    assert (result.match, result.status) == (InvoiceMatch.MISMATCH, StatementStatus.MATCH_EXCEPTION)
    await decide_invoice(scene.client, handle, 1, finance, approve=True)
    await _statement_matched(scene, handle, world, number)
    assert invoices_of(scene.db, number) == [("INV-201", InvoiceMatch.ACCEPTED)]
    assert "invoice_accepted" in _statement_actions(scene.db, number)
    return (handle.id,)


@scenario("statement_invoice_corrected")
async def statement_invoice_corrected(scene: Scene) -> tuple[str, ...]:
    """The invoice is one fen over the tolerance; finance rejects it, the statement is CONFIRMED
    again; the supplier's corrected invoice under a new number matches."""
    world, db = _january(scene), scene.db
    finance = _finance(scene, world.hq)
    handle = await confirmed(scene.client, scene.task_queue, world)
    number = _statement(db, world)[0].number
    result = await _submit(handle, world, "INV-101", ("51.01", "6.50", "57.51"))
    assert result.match is InvoiceMatch.MISMATCH
    await decide_invoice(scene.client, handle, 1, finance, approve=False, comment="amount wrong")
    await _until(lambda: _statement(db, world)[0].status is StatementStatus.CONFIRMED, "the rejection")
    corrected = await _submit(handle, world, "INV-103", ("50.00", "6.50", "56.50"))
    assert corrected.match is InvoiceMatch.MATCHED
    await _statement_matched(scene, handle, world, number)
    assert invoices_of(db, number) == [("INV-101", InvoiceMatch.REJECTED), ("INV-103", InvoiceMatch.MATCHED)]
    return (handle.id,)


@scenario("statement_run_started", "statement_run_already_started", "statement_run_no_source_lines")
async def statement_runs(scene: Scene) -> tuple[str, ...]:
    """The scheduled run starts the last complete month's statement (an abandoned child: not recorded
    here, ended once it collected); a second run for the period starts nothing; a supplier with
    nothing to state gets no statement."""
    world = _january(scene)
    assert world.other_supplier.id is not None

    async def run(supplier_id: int, n: int) -> tuple[str, str, str]:
        workflow_id = f"statement-run-{supplier_id}-{n}"
        result = await scene.client.execute_workflow(
            StatementRunWorkflow.run,
            StatementRunInput(supplier_id),
            id=workflow_id,
            task_queue=scene.task_queue,
        )
        return workflow_id, result.outcome, result.workflow_id

    started, outcome, statement_id = await run(world.supplier_id, 1)
    assert outcome == "started"
    again, outcome, same = await run(world.supplier_id, 2)
    assert (outcome, same) == ("already_started", statement_id)
    empty, outcome, _ = await run(world.other_supplier.id, 1)
    assert outcome == "no_source_lines"
    statement = scene.client.get_workflow_handle(statement_id)

    async def collected() -> bool:
        return bool((await statement.query(StatementWorkflow.get_state)).recorded)

    await _until(collected, "the statement to be collected")
    await statement.terminate("its run's history is recorded")
    return started, again, empty


# --- settlement ------------------------------------------------------------------------------------


def _settlement(
    scene: Scene, *, total: str = "10000.00", matched_on: date | None = None, **terms: Any
) -> tuple[SettlementWorld, Statement]:
    """settlement_world's supplier (T+7 calendar days unless `terms` say otherwise) and its statement."""
    with Session(scene.db, expire_on_commit=False) as session:
        world = make_settlement_world(session, **terms)
        return world, make_statement(session, world, total=total, matched_on=matched_on or date(2026, 3, 2))


def _run_number(story: str) -> str:
    """Unique within the run's var/ (an instruction file is named after its run)."""
    return f"PR-H-{story}-{uuid.uuid4().hex[:6]}"


async def _settled(handle: Any, status: PaymentStatus) -> None:
    assert (await handle.result()).status is status


async def _failed(scene: Scene, handle: Any, number: str) -> str:
    """Through a payment run and the bank's 'failed' answer; the first attempt's key."""
    await until_ready(handle, scene.env)
    await run_payments(scene.env, scene.task_queue, _run_number("FAIL"))
    key = payment(scene.db, number).idempotency_key
    await update(
        scene.env,
        handle,
        SettlementWorkflow.record_bank_result,
        BankResultInput(key, BankStatus.FAILED, reason="account frozen"),
    )
    assert payment(scene.db, number).status is PaymentStatus.FAILED
    return key


@scenario("settlement_paid", "payment_run_instructed")
async def settlement_paid(scene: Scene) -> tuple[str, ...]:
    """Matched today, below the limit: the durable timer to the due date (T+7 calendar days), a
    payment run instructs the bank (its `payment_instructed` signal), the bank says paid: PAID, the
    statement PAID."""
    env, db = scene.env, scene.db
    t = business_date(await env.get_current_time())
    world, statement = _settlement(scene, matched_on=t)
    number = payment_number(statement.number)
    handle = await start_settlement(scene.client, scene.task_queue, statement)
    await until_ready(handle, env)
    assert payment(db, number).due_date >= t + timedelta(days=7)
    run = _run_number("PAID")
    await _pay(env, scene.task_queue, handle, number, run)
    await _settled(handle, PaymentStatus.PAID)
    row = payment(db, number)
    assert (row.status, row.bank_reference) == (PaymentStatus.PAID, "BANK-REF-1")
    assert row.payment_run_id is not None
    with Session(db) as session:
        paid = session.get(Statement, statement.id)
        assert paid is not None and paid.status is StatementStatus.PAID
    assert any("remittance advice is ready" in n.message for n in notifications(db, world.supplier_user.id))
    return handle.id, payment_run_workflow_id(run)


async def _above_the_limit(scene: Scene, *, approve: bool) -> tuple[Any, str, SettlementWorld]:
    """80,000.00 above the limit of 50,000.00: the payment waits for finance in the approval step
    (the child, not recorded here), who decides."""
    env = scene.env
    world, statement = _settlement(
        scene, total="80000.00", matched_on=business_date(await env.get_current_time())
    )
    number = payment_number(statement.number)
    handle = await start_settlement(
        scene.client, scene.task_queue, statement, approval_limit=Decimal("50000.00")
    )
    child = scene.client.get_workflow_handle(approval_workflow_id(handle.id))

    async def assigned() -> int | None:
        try:
            return (await child.query(ApprovalWorkflow.get_state)).assignee_user_id
        except Exception:
            return None

    assert await _until(assigned, "the approval to open") == world.finance.id
    assert payment(scene.db, number).status is PaymentStatus.AWAITING_APPROVAL
    assert world.finance.id is not None
    decision = DecideInput(
        actor_user_id=world.finance.id,
        on_behalf_of_user_id=world.finance.id,
        approve=approve,
        comment="" if approve else "not this month",
    )
    await update(env, child, ApprovalWorkflow.decide, decision)
    return handle, number, world


@scenario("settlement_approved_above_limit")
async def settlement_approved_above_limit(scene: Scene) -> tuple[str, ...]:
    """Above the limit, finance approves; paid on its due date."""
    handle, number, world = await _above_the_limit(scene, approve=True)
    await _pay(scene.env, scene.task_queue, handle, number, _run_number("APR"))
    await _settled(handle, PaymentStatus.PAID)
    assert payment(scene.db, number).approved_by_user_id == world.finance.id
    return (handle.id,)


@scenario("settlement_approval_rejected")
async def settlement_approval_rejected(scene: Scene) -> tuple[str, ...]:
    """Above the limit, finance rejects with a reason: CANCELLED, never ready for a payment run."""
    handle, number, _ = await _above_the_limit(scene, approve=False)
    await _settled(handle, PaymentStatus.CANCELLED)
    row = payment(scene.db, number)
    assert (row.status, row.failure_reason, row.ready_at) == (PaymentStatus.CANCELLED, "not this month", None)
    return (handle.id,)


@scenario("settlement_early_payment")
async def settlement_early_payment(scene: Scene) -> tuple[str, ...]:
    """T+30 with a discount of 0.05% a day: the supplier asks to be paid in 2 days, finance agrees;
    the timer is cut to that day, paid less the discount."""
    env, db = scene.env, scene.db
    t = business_date(await env.get_current_time())
    world, statement = _settlement(scene, matched_on=t, days=30, rate="0.000500")
    number = payment_number(statement.number)
    handle = await start_settlement(scene.client, scene.task_queue, statement)

    async def scheduled() -> bool:
        return bool((await handle.query(SettlementWorkflow.get_state)).scheduled)

    await _until(scheduled, "the payment to be scheduled")
    due = payment(db, number).due_date
    pay_on = t + timedelta(days=2)
    assert world.supplier_user.id is not None and world.finance.id is not None
    request = RequestEarlyPaymentInput(world.supplier_user.id, pay_on)
    await update(env, handle, SettlementWorkflow.request_early_payment, request)
    agreed = DecideEarlyPaymentInput(world.finance.id, approve=True)
    await update(env, handle, SettlementWorkflow.decide_early_payment, agreed)
    discount = (Decimal("10000.00") * Decimal("0.0005") * (due - pay_on).days).quantize(Decimal("0.01"))
    await _pay(env, scene.task_queue, handle, number, _run_number("EARLY"))
    await _settled(handle, PaymentStatus.PAID)
    row = payment(db, number)
    assert (row.early_payment_date, row.early_payment_approved, row.discount_amount) == (
        pay_on,
        True,
        discount,
    )
    assert row.paid_on is not None and row.paid_on < due
    return (handle.id,)


@scenario("settlement_failed_retried")
async def settlement_failed_retried(scene: Scene) -> tuple[str, ...]:
    """Due already (matched in March): the bank says the payment failed; finance retries it under a
    new key; the next run pays it."""
    world, statement = _settlement(scene)
    number = payment_number(statement.number)
    handle = await start_settlement(scene.client, scene.task_queue, statement)
    first_key = await _failed(scene, handle, number)
    assert world.finance.id is not None
    await update(scene.env, handle, SettlementWorkflow.retry_payment, FailedPaymentInput(world.finance.id))
    await _pay(scene.env, scene.task_queue, handle, number, _run_number("RETRY"))
    await _settled(handle, PaymentStatus.PAID)
    row = payment(scene.db, number)
    assert row.status is PaymentStatus.PAID and row.idempotency_key not in ("", first_key)
    return (handle.id,)


@scenario("settlement_cancelled")
async def settlement_cancelled(scene: Scene) -> tuple[str, ...]:
    """The bank says the payment failed; finance cancels it with a reason: CANCELLED."""
    world, statement = _settlement(scene)
    number = payment_number(statement.number)
    handle = await start_settlement(scene.client, scene.task_queue, statement)
    await _failed(scene, handle, number)
    assert world.finance.id is not None
    cancel = FailedPaymentInput(world.finance.id, "supplier account closed")
    await update(scene.env, handle, SettlementWorkflow.cancel_payment, cancel)
    await _settled(handle, PaymentStatus.CANCELLED)
    assert payment(scene.db, number).status is PaymentStatus.CANCELLED
    return (handle.id,)


# --- transfers ------------------------------------------------------------------------------------


@scenario("transfer_received", "transfer_dispatch_escalated")
async def transfer_received(scene: Scene) -> tuple[str, ...]:
    """Within a region: reserved, dispatched, received whole; and one not dispatched for two days
    (reminder, escalation) before it goes and arrives."""
    world = build_transfer_world(scene.db)
    handle = await transfer_tests._start(scene.client, scene.task_queue, world, world.north_store)
    await transfer_tests._reach(handle, TransferStatus.RESERVED)
    await transfer_tests._dispatch(scene.env, handle, world)
    whole = ReceiveTransferInput(world.north_store_user.id, [ReceivedLine(1, 10), ReceivedLine(2, 5)])
    await handle.execute_update(TransferWorkflow.receive_transfer, whole)
    late = await transfer_tests._start(
        scene.client,
        scene.task_queue,
        world,
        world.north_store,
        dispatch_reminder_after=timedelta(hours=2),
        dispatch_escalation_after=timedelta(hours=5),
    )
    await transfer_tests._reach(late, TransferStatus.RESERVED)
    await scene.env.sleep(timedelta(hours=6))
    await transfer_tests._dispatch(scene.env, late, world)
    await late.execute_update(TransferWorkflow.receive_transfer, whole)
    for done in (handle, late):
        assert (await done.result()).status is TransferStatus.COMPLETED
    return (handle.id, late.id)


@scenario("transfer_loss_written_off", "transfer_loss_refused_then_counted")
async def transfer_loss(scene: Scene) -> tuple[str, ...]:
    """Between regions, approved; received short and damaged, the loss written off. Within a region,
    received short, the loss refused, the rest counted in."""
    world = build_transfer_world(scene.db)
    handle = await transfer_tests._start(scene.client, scene.task_queue, world, world.south_warehouse)
    await transfer_tests._decide(scene.client, handle, "approval", world, approve=True)
    await transfer_tests._reach(handle, TransferStatus.RESERVED)
    await transfer_tests._dispatch(scene.env, handle, world)
    short = ReceiveTransferInput(world.south_warehouse_user.id, [ReceivedLine(1, 7, 1), ReceivedLine(2, 5)])
    await handle.execute_update(TransferWorkflow.receive_transfer, short)
    await transfer_tests._decide(scene.client, handle, "loss:1", world, approve=True)
    refused = await transfer_tests._start(scene.client, scene.task_queue, world, world.north_store)
    await transfer_tests._reach(refused, TransferStatus.RESERVED)
    await transfer_tests._dispatch(scene.env, refused, world)
    user = world.north_store_user.id
    await refused.execute_update(
        TransferWorkflow.receive_transfer,
        ReceiveTransferInput(user, [ReceivedLine(1, 6), ReceivedLine(2, 5)]),
    )
    await transfer_tests._decide(scene.client, refused, "loss:1", world, approve=False)
    await transfer_tests._reach(refused, TransferStatus.IN_TRANSIT)
    await refused.execute_update(
        TransferWorkflow.receive_transfer, ReceiveTransferInput(user, [ReceivedLine(1, 4)])
    )
    for done in (handle, refused):
        assert (await done.result()).status is TransferStatus.COMPLETED
    return (handle.id, refused.id)


@scenario("transfer_cancelled", "transfer_not_available")
async def transfer_cancelled(scene: Scene) -> tuple[str, ...]:
    """Reserved, then cancelled (the reservation released); and one the source cannot hold."""
    world = build_transfer_world(scene.db)
    handle = await transfer_tests._start(scene.client, scene.task_queue, world, world.north_store)
    await transfer_tests._reach(handle, TransferStatus.RESERVED)
    cancel = CancelTransferInput(world.north_store_user.id, "ordered by mistake")
    await handle.execute_update(TransferWorkflow.cancel_transfer, cancel)
    short = await transfer_tests._start(
        scene.client, scene.task_queue, world, world.north_store, quantities=(500, 1)
    )
    assert (await handle.result()).status is TransferStatus.CANCELLED
    assert (await short.result()).status is TransferStatus.NOT_AVAILABLE
    return (handle.id, short.id)


# --- planning runs --------------------------------------------------------------------------------


@scenario("planning_reorder_review_proposed", "planning_transfer_plan_proposed")
async def planning_runs(scene: Scene) -> tuple[str, ...]:
    """The reorder review proposes an order for a store below its reorder point; the transfer
    planner proposes covering it from the region's warehouse."""
    from supplychain.models import MovementType, ReplenishmentProposal, TransferProposalLine
    from supplychain.rules.stock import StockDelta
    from tests.planning_world import noon, post

    today = business_date(datetime.now(UTC))
    with Session(scene.db, expire_on_commit=False) as session:
        world = build_planning_world(session, today)
        post(
            session,
            world.warehouse,
            world.sku_x,
            MovementType.RECEIPT,
            StockDelta(on_hand=500),
            noon(today - timedelta(days=1)),
        )
    ids = (
        f"planning-reorder-review-scenario-{uuid.uuid4().hex}",
        f"planning-transfer-plan-scenario-{uuid.uuid4().hex}",
    )
    from supplychain.settings import settings
    from tests.planning_world import HISTORY_DAYS

    history_days, settings.PLANNING_HISTORY_DAYS = settings.PLANNING_HISTORY_DAYS, HISTORY_DAYS
    try:
        review = await scene.client.execute_workflow(
            ReorderReviewWorkflow.run, PlanningRunInput(None, today), id=ids[0], task_queue=scene.task_queue
        )
        plan = await scene.client.execute_workflow(
            TransferPlanWorkflow.run, PlanningRunInput(None, today), id=ids[1], task_queue=scene.task_queue
        )
    finally:
        settings.PLANNING_HISTORY_DAYS = history_days
    with Session(scene.db) as session:
        proposed = (
            session.execute(
                select(ReplenishmentProposal).where(
                    ReplenishmentProposal.planning_run_id == review.run_id,
                    ReplenishmentProposal.location_id == world.store_a.id,
                )
            )
            .scalars()
            .all()
        )
        lines = (
            session.execute(
                select(TransferProposalLine).where(
                    TransferProposalLine.planning_run_id == plan.run_id,
                    TransferProposalLine.destination_location_id == world.store_a.id,
                )
            )
            .scalars()
            .all()
        )
    assert len(proposed) == 1 and [line.source_location_id for line in lines] == [world.warehouse.id]
    return ids


def _activities(history: WorkflowHistory, activity_type: str) -> int:
    """How many times the history scheduled `activity_type`."""
    return activity_types(history).count(activity_type)


def activity_types(history: WorkflowHistory) -> list[str]:
    """The activities the history scheduled, in order."""
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def patch_markers(history: WorkflowHistory) -> list[str]:
    """The patch ids the history recorded (`workflow.patched` markers), in order."""
    return [
        patch
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        for patch in _patch_ids(event.marker_recorded_event_attributes)
    ]


def _patch_ids(marker: Any) -> list[str]:
    if marker.marker_name != "core_patch":
        return []
    payloads = marker.details["patch-data"].payloads
    return [json.loads(payload.data)["id"] for payload in payloads]
