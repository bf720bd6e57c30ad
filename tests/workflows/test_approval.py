"""The approval step on the time-skipping server, with the real activities and database.

Each test starts `ApprovalWorkflow` (directly, or as the child of a small parent), drives it through
its `decide` Update and timers, checks the rows the activities wrote, and replays the history.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import (
        Client,
        WorkflowFailureError,
        WorkflowHandle,
        WorkflowUpdateFailedError,
        WorkflowUpdateStage,
    )
    from temporalio.exceptions import ApplicationError, CancelledError
    from temporalio.service import RPCError
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from activities import ACTIVITIES
    from activities.approval import (
        EscalateInput,
        OpenRequestInput,
        OpenRequestResult,
        escalate_approval,
        open_approval_request,
    )
    from supplychain.approvals import ACTION_APPROVED, NO_APPROVER_COMMENT, request_by_workflow
    from supplychain.models import (
        ApprovalDelegation,
        ApprovalRequest,
        ApprovalStatus,
        DocumentEvent,
        Notification,
        OrgKind,
        Role,
        User,
    )
    from tests.factories import make_organisation, make_user
    from tests.fixtures.temporal import assert_replays, running_worker
    from worker import MAX_CONCURRENT_ACTIVITIES
    from workflows.approval import (
        ALREADY_DECIDED,
        COMMENT_REQUIRED,
        NOT_ASSIGNED,
        OWN_REQUEST,
        ApprovalInput,
        ApprovalResult,
        ApprovalState,
        ApprovalWorkflow,
        DecideInput,
        approval_workflow_id,
    )
    from workflows.registry import WORKFLOWS


@dataclass
class People:
    requester: User
    low: User  # limit 10,000: too low for the test amount
    mid: User  # limit 50,000: first level
    high: User  # limit 500,000: second level
    delegate: User  # an approver without a limit, acting for others


def _people(session: Session) -> People:
    hq = make_organisation(session, kind=OrgKind.HQ)

    def approver(limit: str | None, **kw: Any) -> User:
        return make_user(
            session,
            organisation=hq,
            roles=[Role.APPROVER],
            approval_limit=Decimal(limit) if limit else None,
            **kw,
        )

    people = People(
        # The requester is an approver with the highest limit: the chain must still skip them.
        requester=make_user(
            session, organisation=hq, roles=[Role.BUYER, Role.APPROVER], approval_limit=Decimal("900000")
        ),
        low=approver("10000"),
        mid=approver("50000"),
        high=approver("500000"),
        delegate=approver(None),
    )
    approver("1000000", is_active=False)  # inactive: never in the chain
    return people


def _input(people: People, amount: str = "20000.00", **kw: Any) -> ApprovalInput:
    return ApprovalInput(
        document_type="purchase_order",
        document_id=f"PO-TEST-{uuid.uuid4().hex[:8]}",
        document_link="/purchase-orders/PO-TEST",
        summary="Supplier A, 3 lines",
        amount=Decimal(amount),
        requester_user_id=people.requester.id,
        **kw,
    )


async def _start(
    client: Client, task_queue: str, input: ApprovalInput
) -> WorkflowHandle[Any, ApprovalResult]:
    return await client.start_workflow(
        ApprovalWorkflow.run,
        input,
        id=approval_workflow_id(f"po-test-{uuid.uuid4()}"),
        task_queue=task_queue,
    )


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


async def _opened(handle: WorkflowHandle[Any, Any]) -> ApprovalState:
    async def assigned() -> ApprovalState | None:
        try:
            state = await handle.query(ApprovalWorkflow.get_state)
        except RPCError:  # a child not started yet
            return None
        return state if state.assignee_user_id is not None else None

    result: ApprovalState = await _until(assigned, "the request to open")
    return result


def _row(db: Engine, workflow_id: str) -> ApprovalRequest | None:
    with Session(db) as session:
        return request_by_workflow(session, workflow_id)


def _events(db: Engine, document_id: str) -> list[DocumentEvent]:
    with Session(db) as session:
        return list(
            session.execute(
                select(DocumentEvent)
                .where(col(DocumentEvent.document_id) == document_id)
                .order_by(col(DocumentEvent.id))
            ).scalars()
        )


def _notifications(db: Engine, user_id: int) -> list[Notification]:
    with Session(db) as session:
        return list(
            session.execute(
                select(Notification)
                .where(col(Notification.user_id) == user_id)
                .order_by(col(Notification.id))
            ).scalars()
        )


def _refusal(error: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str:
    return _message(error.value)


def _message(error: WorkflowUpdateFailedError) -> str:
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def test_approver_approves_and_the_decision_is_recorded_before_the_update_returns(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people)
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)
        state = await _opened(handle)
        assert state.chain == [people.mid.id, people.high.id]
        assert state.assignee_user_id == people.mid.id
        assert [n.message for n in _notifications(db, people.mid.id)] == [
            "%(document)s is waiting for your approval (%(amount)s CNY)."
        ]

        result = await handle.execute_update(
            ApprovalWorkflow.decide,
            DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True),
        )
        assert result.status is ApprovalStatus.APPROVED
        # Read-your-writes: the row, event and notification exist as soon as the Update returns.
        row = _row(db, handle.id)
        assert row.status is ApprovalStatus.APPROVED
        assert row.decided_by_user_id == people.mid.id and row.on_behalf_of_user_id is None
        assert row.decided_at is not None
        decided = [e for e in _events(db, input.document_id) if e.action == ACTION_APPROVED]
        assert len(decided) == 1
        assert decided[0].document_type == "purchase_order"
        assert decided[0].before == {"approval": "pending"} and decided[0].after == {"approval": "approved"}
        assert decided[0].actor_user_id == people.mid.id
        assert [n.message for n in _notifications(db, people.requester.id)] == [
            "%(document)s has been approved."
        ]

        outcome = await handle.result()
        assert outcome == ApprovalResult(
            approved=True, decided_by_user_id=people.mid.id, on_behalf_of_user_id=None, comment=""
        )
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_reject_needs_a_reason_and_records_it(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people)
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)
        await _opened(handle)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ApprovalWorkflow.decide,
                DecideInput(
                    actor_user_id=people.mid.id,
                    on_behalf_of_user_id=people.mid.id,
                    approve=False,
                    comment="  ",
                ),
            )
        assert _refusal(refused) == COMMENT_REQUIRED
        assert _row(db, handle.id).status is ApprovalStatus.PENDING

        await handle.execute_update(
            ApprovalWorkflow.decide,
            DecideInput(
                actor_user_id=people.mid.id,
                on_behalf_of_user_id=people.mid.id,
                approve=False,
                comment="Price too high",
            ),
        )
        row = _row(db, handle.id)
        assert row.status is ApprovalStatus.REJECTED and row.comment == "Price too high"
        rejected = [e for e in _events(db, input.document_id) if e.action == "approval.rejected"]
        assert len(rejected) == 1 and rejected[0].note == "Price too high"
        outcome = await handle.result()
        assert not outcome.approved and outcome.comment == "Price too high"
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_requester_can_never_decide_their_own_request(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, _input(people))
        state = await _opened(handle)
        assert people.requester.id not in state.chain  # highest limit, yet not in the chain
        for on_behalf_of in (people.requester.id, people.mid.id):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(
                    ApprovalWorkflow.decide,
                    DecideInput(
                        actor_user_id=people.requester.id, on_behalf_of_user_id=on_behalf_of, approve=True
                    ),
                )
            assert _refusal(refused) == OWN_REQUEST
        # Someone in the chain but not the assignee is refused too.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ApprovalWorkflow.decide,
                DecideInput(actor_user_id=people.high.id, on_behalf_of_user_id=people.high.id, approve=True),
            )
        assert _refusal(refused) == NOT_ASSIGNED
        assert _row(db, handle.id).status is ApprovalStatus.PENDING
        await handle.execute_update(
            ApprovalWorkflow.decide,
            DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True),
        )
        await handle.result()
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_decision_after_the_step_finished_is_refused_and_changes_nothing(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people)
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)
        await _opened(handle)
        decide = DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True)
        await handle.execute_update(ApprovalWorkflow.decide, decide)
        events_before = len(_events(db, input.document_id))
        # The step has finished: the server refuses the Update (the web route answers this case from
        # the row; simultaneous clicks get the validator's message, see the next test).
        with pytest.raises((WorkflowUpdateFailedError, RPCError)) as refused:
            await handle.execute_update(
                ApprovalWorkflow.decide,
                DecideInput(
                    actor_user_id=people.mid.id,
                    on_behalf_of_user_id=people.mid.id,
                    approve=False,
                    comment="no",
                ),
            )
        if isinstance(refused.value, WorkflowUpdateFailedError):
            assert _message(refused.value) == ALREADY_DECIDED
        row = _row(db, handle.id)
        assert row.status is ApprovalStatus.APPROVED and row.comment == ""
        assert len(_events(db, input.document_id)) == events_before
        assert (await handle.result()).approved
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_two_simultaneous_decisions_exactly_one_wins(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people)
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)
        await _opened(handle)
        approve = DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True)
        # The same assignee from a second browser, and their delegate, all at the same moment.
        reject = DecideInput(
            actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=False, comment="dup"
        )
        delegate = DecideInput(
            actor_user_id=people.delegate.id, on_behalf_of_user_id=people.mid.id, approve=False, comment="d"
        )
        outcomes = await asyncio.gather(
            *(handle.execute_update(ApprovalWorkflow.decide, d) for d in (approve, reject, delegate)),
            return_exceptions=True,
        )
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1, outcomes
        assert all(isinstance(o, WorkflowUpdateFailedError) for o in lost)
        assert {_message(o) for o in lost if isinstance(o, WorkflowUpdateFailedError)} == {ALREADY_DECIDED}
        row = _row(db, handle.id)
        assert row.status is won[0].status
        assert len([e for e in _events(db, input.document_id) if e.action.startswith("approval.")]) == 2
        assert len(_notifications(db, people.requester.id)) == 1
        await handle.result()
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_reminder_then_escalation_to_the_next_level(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people, reminder_after=timedelta(hours=2), escalation_after=timedelta(hours=6))
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)
        await _opened(handle)
        row = _row(db, handle.id)
        assert row.reminder_after_seconds == 2 * 3600 and row.escalation_after_seconds == 6 * 3600

        await time_skipping_env.sleep(timedelta(hours=2, minutes=1))
        await _until(lambda: len(_notifications(db, people.mid.id)) == 2, "the reminder")
        assert _notifications(db, people.mid.id)[-1].message == (
            "Reminder: %(document)s is still waiting for your approval."
        )
        assert _row(db, handle.id).reminded_at is not None
        assert _row(db, handle.id).assignee_user_id == people.mid.id

        await time_skipping_env.sleep(timedelta(hours=4))
        await _until(lambda: _row(db, handle.id).assignee_user_id == people.high.id, "the escalation")
        row = _row(db, handle.id)
        assert row.level == 2 and row.escalated_at is not None
        assert [n.message for n in _notifications(db, people.high.id)] == [
            "%(document)s was escalated to you for approval (%(amount)s CNY)."
        ]
        escalated = [e for e in _events(db, input.document_id) if e.action == "approval.escalated"]
        assert escalated[0].before == {"assignee_user_id": people.mid.id, "level": 1}
        assert escalated[0].after == {"assignee_user_id": people.high.id, "level": 2}
        state = await handle.query(ApprovalWorkflow.get_state)
        assert (state.level, state.reminders_sent, state.escalations) == (1, 1, 1)

        # The first level may no longer decide; the second may.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ApprovalWorkflow.decide,
                DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True),
            )
        assert _refusal(refused) == NOT_ASSIGNED
        await handle.execute_update(
            ApprovalWorkflow.decide,
            DecideInput(actor_user_id=people.high.id, on_behalf_of_user_id=people.high.id, approve=True),
        )
        assert (await handle.result()).decided_by_user_id == people.high.id
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_delegate_decision_is_recorded_on_behalf_of_the_approver(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people)
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)
        await _opened(handle)
        await handle.execute_update(
            ApprovalWorkflow.decide,
            DecideInput(actor_user_id=people.delegate.id, on_behalf_of_user_id=people.mid.id, approve=True),
        )
        row = _row(db, handle.id)
        assert (row.decided_by_user_id, row.on_behalf_of_user_id) == (people.delegate.id, people.mid.id)
        event = next(e for e in _events(db, input.document_id) if e.action == ACTION_APPROVED)
        assert (event.actor_user_id, event.on_behalf_of_user_id) == (people.delegate.id, people.mid.id)
        outcome = await handle.result()
        assert (outcome.decided_by_user_id, outcome.on_behalf_of_user_id) == (
            people.delegate.id,
            people.mid.id,
        )
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_no_approver_covers_the_amount_rejects_at_once(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    # Over every active limit; the requester's own 900,000 and the inactive 1,000,000 do not count.
    input = _input(people, amount="800000.00")
    async with running_worker(client, task_queue):
        handle = await _start(client, task_queue, input)
        outcome = await handle.result()
    assert outcome == ApprovalResult(
        approved=False, decided_by_user_id=None, on_behalf_of_user_id=None, comment=NO_APPROVER_COMMENT
    )
    rejected = [e for e in _events(db, input.document_id) if e.action == "approval.rejected"]
    assert len(rejected) == 1 and rejected[0].note == "No approver's limit covers this amount"
    assert [n.message for n in _notifications(db, people.requester.id)] == [
        "%(document)s has been rejected: %(comment)s"
    ]
    assert _row(db, handle.id) is None  # nobody to put it in front of
    await assert_replays(client, handle.id, [ApprovalWorkflow])


@dataclass
class Gate:
    """Holds a queue-row write after its commit: the queue shows the row, the workflow has not yet
    seen the activity finish (the moment an approver's click used to be refused, issue 10)."""

    written: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        self.written.set()
        assert self.go.wait(timeout=30), "the test never let the write finish"

    async def until_written(self) -> None:
        assert await asyncio.to_thread(self.written.wait, 30), "the row was never written"


def gated_open(gate: Gate) -> Callable[..., Any]:
    @activity.defn(name="open_approval_request")
    def open_then_hold(input: OpenRequestInput) -> OpenRequestResult:
        result = open_approval_request(input)  # the real write, committed
        gate.hold()
        return result

    return open_then_hold


def gated_escalate(gate: Gate) -> Callable[..., Any]:
    @activity.defn(name="escalate_approval")
    def escalate_then_hold(input: EscalateInput) -> None:
        escalate_approval(input)  # the real write, committed
        gate.hold()

    return escalate_then_hold


@asynccontextmanager
async def worker_with(
    client: Client, task_queue: str, gate: Gate, *replacements: Callable[..., Any]
) -> AsyncIterator[Worker]:
    """The production worker with some activities replaced by gated ones of the same name."""
    names = {r.__temporal_activity_definition.name for r in replacements}  # type: ignore[attr-defined]
    kept = [a for a in ACTIVITIES if a.__temporal_activity_definition.name not in names]  # type: ignore[attr-defined]
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES, thread_name_prefix="test-activity") as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=[*kept, *replacements],
            activity_executor=executor,
        ) as worker:
            try:
                yield worker
            finally:
                gate.go.set()  # a failing test never leaves a write held (nor the worker's shutdown)


async def test_a_decision_on_a_row_just_written_is_accepted_and_recorded_after_the_write(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people)
    gate = Gate()
    async with worker_with(client, task_queue, gate, gated_open(gate)):
        handle = await _start(client, task_queue, input)
        await gate.until_written()
        # The queue lists the row for mid; the workflow has not seen the write finish.
        assert _row(db, handle.id).status is ApprovalStatus.PENDING
        state = await handle.query(ApprovalWorkflow.get_state)
        assert (state.assignee_user_id, state.handover_user_id) == (None, people.mid.id)
        # Only the approver the row shows may decide; anyone else is refused as before.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ApprovalWorkflow.decide,
                DecideInput(actor_user_id=people.high.id, on_behalf_of_user_id=people.high.id, approve=True),
            )
        assert _refusal(refused) == NOT_ASSIGNED

        decision = await handle.start_update(
            ApprovalWorkflow.decide,
            DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        # Accepted, and taken: a second click is refused at once, though nothing is recorded yet.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ApprovalWorkflow.decide,
                DecideInput(
                    actor_user_id=people.mid.id,
                    on_behalf_of_user_id=people.mid.id,
                    approve=False,
                    comment="no",
                ),
            )
        assert _refusal(refused) == ALREADY_DECIDED
        assert _row(db, handle.id).status is ApprovalStatus.PENDING
        gate.go.set()

        assert (await decision.result()).status is ApprovalStatus.APPROVED
        row = _row(db, handle.id)
        assert row.status is ApprovalStatus.APPROVED and row.decided_by_user_id == people.mid.id
        assert [e.action for e in _events(db, input.document_id)] == ["approval.requested", ACTION_APPROVED]
        state = await handle.query(ApprovalWorkflow.get_state)
        assert (state.assignee_user_id, state.handover_user_id) == (people.mid.id, None)
        outcome = await handle.result()
        assert outcome.approved and outcome.decided_by_user_id == people.mid.id
    await assert_replays(client, handle.id, [ApprovalWorkflow])


async def test_the_level_the_queue_still_shows_may_decide_while_the_escalation_is_written(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people, reminder_after=timedelta(hours=2), escalation_after=timedelta(hours=6))
    gate = Gate()
    async with worker_with(client, task_queue, gate, gated_escalate(gate)):
        handle = await _start(client, task_queue, input)
        await _opened(handle)
        # The server skips no time while the escalation activity runs: the sleep ends after it.
        past_escalation = asyncio.create_task(time_skipping_env.sleep(timedelta(hours=6, minutes=1)))
        await gate.until_written()
        state = await handle.query(ApprovalWorkflow.get_state)
        assert (state.assignee_user_id, state.handover_user_id) == (people.high.id, people.mid.id)

        # mid clicked on the row the queue showed them a moment before it moved up to high.
        decision = await handle.start_update(
            ApprovalWorkflow.decide,
            DecideInput(actor_user_id=people.mid.id, on_behalf_of_user_id=people.mid.id, approve=True),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        gate.go.set()
        await past_escalation
        assert (await decision.result()).status is ApprovalStatus.APPROVED
        row = _row(db, handle.id)
        assert (row.status, row.decided_by_user_id) == (ApprovalStatus.APPROVED, people.mid.id)
        assert (row.assignee_user_id, row.level) == (people.high.id, 2)
        assert (await handle.result()).decided_by_user_id == people.mid.id
    await assert_replays(client, handle.id, [ApprovalWorkflow])


@dataclass
class ParentInput:
    approval: ApprovalInput


@workflow.defn
class ParentDocumentWorkflow:
    """Stands in for a document process: waits for its approval step, until it is cancelled."""

    @workflow.run
    async def run(self, input: ParentInput) -> bool:
        result = await workflow.execute_child_workflow(
            ApprovalWorkflow.run, input.approval, id=approval_workflow_id(workflow.info().workflow_id)
        )
        return result.approved


async def test_cancelling_the_document_cancels_its_approval_request(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session, db: Engine
) -> None:
    client = time_skipping_env.client
    people = _people(session)
    input = _input(people)
    parent_id = f"po-test-{uuid.uuid4()}"
    child_id = approval_workflow_id(parent_id)
    async with running_worker(client, task_queue, workflows=[ParentDocumentWorkflow]):
        parent = await client.start_workflow(
            ParentDocumentWorkflow.run, ParentInput(approval=input), id=parent_id, task_queue=task_queue
        )
        await _opened(client.get_workflow_handle(child_id))
        await parent.cancel()
        # Awaiting a result lets the time-skipping server jump to the next timer: wait (in real
        # time) until the cancellation has reached the step first, or a slow worker would see the
        # server skip past the step's SLA timers to the run's time-out.
        await _until(
            lambda: (row := _row(db, child_id)) is not None and row.status is ApprovalStatus.CANCELLED,
            "the approval request to be cancelled",
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await parent.result()
        assert isinstance(failed.value.cause, CancelledError)
        child: WorkflowHandle[Any, ApprovalResult] = client.get_workflow_handle_for(
            ApprovalWorkflow.run, child_id
        )
        with pytest.raises(WorkflowFailureError):
            await child.result()
        row = _row(db, child_id)
        assert row.status is ApprovalStatus.CANCELLED
        assert [e.action for e in _events(db, input.document_id)][-1] == "approval.cancelled"
        # A click that arrives afterwards cannot decide it either.
        state = await child.query(ApprovalWorkflow.get_state)
        assert state.status is ApprovalStatus.CANCELLED
    await assert_replays(client, child_id, [ApprovalWorkflow])
    await assert_replays(client, parent_id, [ParentDocumentWorkflow, ApprovalWorkflow])


def test_delegation_lookup_covers_only_the_dates_and_the_approver(session: Session) -> None:
    from datetime import date

    from supplychain.approvals import delegators_of

    people = _people(session)
    session.add(
        ApprovalDelegation(
            approver_user_id=people.mid.id,
            delegate_user_id=people.delegate.id,
            start_date=date(2026, 12, 1),
            end_date=date(2026, 12, 3),
        )
    )
    session.commit()

    def delegators(delegate_id: int | None, day: date) -> set[int]:
        assert delegate_id is not None
        return set(session.execute(delegators_of(delegate_id, day)).scalars())

    assert delegators(people.delegate.id, date(2026, 12, 1)) == {people.mid.id}
    assert delegators(people.delegate.id, date(2026, 12, 3)) == {people.mid.id}
    assert delegators(people.delegate.id, date(2026, 12, 4)) == set()
    assert delegators(people.mid.id, date(2026, 12, 2)) == set()  # a delegation is one way
