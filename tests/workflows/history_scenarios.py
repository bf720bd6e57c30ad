"""The history scenarios: one recording function per story whose workflow histories are committed.

Each scenario drives real workflows (the worker's activities, the test database, the time-skipping
server) through one story of the workflow tests, asserts that the story reached its intended end,
and returns the ids of the workflows it records, in the order of the file names it is registered
with (`@scenario("replenishment_approved", "approval_approved")`). Every workflow has finished by
then, so a file holds a whole run. A file's name says its workflow (`replenishment_*`,
`approval_*`, `inspection_*`) and its story.

A story recorded again after a versioning change gets a second file, `<name>.<patch>.json`, named
in the scenario's `rerecorded` (`replenishment_happy_path.named_steps`: the happy path as a PO
started under `NAMED_STEPS_PATCH` runs it). The older file stays and keeps proving the older path;
the newer one proves the new path. The scenario runs once and both files come from its workflow.

The scenarios reuse the worlds and helpers of the workflow tests: the two-line order of
test_replenishment (100 x A at 10.00, 50 x B at 20.00, 13% VAT: 2,260.00; over the store
requester's limit only when `needs_approval`, then approver_mid decides, approver_high is the next
level), and inspection_world's received order whose line-1 lot of 100 is inspected.

tests/workflows/test_histories.py replays every committed file and runs every scenario;
`make histories` records the files that do not exist yet.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client, WorkflowFailureError, WorkflowHistory, WorkflowUpdateStage
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
        User,
    )
    from supplychain.models.catalog import InspectionMode
    from tests.factories import make_user
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
    from workflows.approval import ApprovalResult, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.inspection import InspectionResult, InspectionWorkflow
    from workflows.replenishment import CancelPOInput, RejectPOInput, ReplenishmentWorkflow

HISTORIES = Path(__file__).parent / "histories"
# The first word of a file's name says whose history it is.
WORKFLOW_OF_PREFIX = {
    "replenishment": ReplenishmentWorkflow.__name__,
    "approval": ApprovalWorkflow.__name__,
    "inspection": InspectionWorkflow.__name__,
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
            if name in known or name.split("_")[0] not in WORKFLOW_OF_PREFIX:
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


def named_workflow(path: Path) -> str:
    """The workflow type a history file's name says it holds."""
    return WORKFLOW_OF_PREFIX[path.stem.split("_")[0]]


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
