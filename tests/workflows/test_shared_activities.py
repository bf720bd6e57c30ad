"""The shared activities (events, notifications) driven by a real workflow on a real worker.

The pattern every process test copies: a worker from the registries on a fresh task queue, the real
database, the workflow run to the end, the rows checked, and the recorded history replayed against
the workflow code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import func, select
    from sqlmodel import Session, col
    from temporalio.testing import WorkflowEnvironment
    from temporalio.workflow import NondeterminismError

    from activities.events import RecordEventInput, record_event
    from activities.notifications import NotifyInput, notify
    from supplychain.models import DocumentEvent, Notification, OrgKind, Role
    from tests.factories import make_organisation, make_user
    from tests.fixtures.temporal import assert_replays, running_worker

STEP_TIMEOUT = timedelta(seconds=30)


@dataclass
class SharedStepsInput:
    document_id: str
    actor_user_id: int
    approver_ids: list[int]
    total: Decimal


@dataclass
class SharedStepsResult:
    event_ids: list[int]
    events_created: list[bool]
    notification_ids: list[list[int]]
    total: Decimal


@workflow.defn
class SharedStepsWorkflow:
    """Records one event and notifies the approvers, each step twice with the same keys (a retry)."""

    @workflow.run
    async def run(self, input: SharedStepsInput) -> SharedStepsResult:
        workflow_id = workflow.info().workflow_id
        result = SharedStepsResult(event_ids=[], events_created=[], notification_ids=[], total=input.total)
        for _attempt in range(2):
            event = await workflow.execute_activity(
                record_event,
                RecordEventInput(
                    document_type="test",
                    document_id=input.document_id,
                    action="submitted",
                    idempotency_key=f"{workflow_id}:submitted",
                    actor_user_id=input.actor_user_id,
                    before={"status": "draft"},
                    after={"status": "submitted", "total": input.total},
                    occurred_at=workflow.now(),
                ),
                start_to_close_timeout=STEP_TIMEOUT,
            )
            notified = await workflow.execute_activity(
                notify,
                NotifyInput(
                    user_ids=input.approver_ids,
                    message="Document %(number)s awaits your approval",
                    params={"number": input.document_id, "total": input.total},
                    link=f"/test/{input.document_id}",
                    document_type="test",
                    document_id=input.document_id,
                    idempotency_key=f"{workflow_id}:ask-approval",
                ),
                start_to_close_timeout=STEP_TIMEOUT,
            )
            result.event_ids.append(event.event_id)
            result.events_created.append(event.created)
            result.notification_ids.append(notified.notification_ids)
        return result


@workflow.defn(name="SharedStepsWorkflow")
class SharedStepsWorkflowReordered:
    """The same workflow type with its steps swapped: replaying an old history must fail."""

    @workflow.run
    async def run(self, input: SharedStepsInput) -> SharedStepsResult:
        workflow_id = workflow.info().workflow_id
        await workflow.execute_activity(
            notify,
            NotifyInput(user_ids=input.approver_ids, message="m", idempotency_key=f"{workflow_id}:ask"),
            start_to_close_timeout=STEP_TIMEOUT,
        )
        raise ApplicationError("never gets here: only replayed")


def _people(session: Session) -> tuple[int, list[int]]:
    hq = make_organisation(session, kind=OrgKind.HQ)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER])
    approvers = [make_user(session, organisation=hq, roles=[Role.APPROVER]) for _ in range(2)]
    assert buyer.id is not None
    return buyer.id, [a.id for a in approvers if a.id is not None]


async def _run_shared_steps(
    client: Client, task_queue: str, session: Session
) -> tuple[str, SharedStepsResult]:
    buyer_id, approver_ids = _people(session)
    workflow_id = f"test-shared-{uuid.uuid4()}"
    async with running_worker(client, task_queue, workflows=[SharedStepsWorkflow]):
        result = await client.execute_workflow(
            SharedStepsWorkflow.run,
            SharedStepsInput(
                document_id="DOC-1",
                actor_user_id=buyer_id,
                approver_ids=approver_ids,
                total=Decimal("1234.50"),
            ),
            id=workflow_id,
            task_queue=task_queue,
        )

    assert result.total == Decimal("1234.50")  # Decimal in and out through the data converter
    assert result.events_created == [True, False]
    assert result.event_ids[0] == result.event_ids[1]
    assert result.notification_ids[0] == result.notification_ids[1]
    events = (
        session.execute(select(DocumentEvent).where(col(DocumentEvent.document_id) == "DOC-1"))
        .scalars()
        .all()
    )
    assert len(events) == 1
    assert events[0].after == {"status": "submitted", "total": "1234.50"}
    assert events[0].idempotency_key == f"{workflow_id}:submitted"
    per_user = session.execute(
        select(col(Notification.user_id), func.count()).group_by(col(Notification.user_id))
    ).all()
    assert sorted(per_user) == sorted((uid, 1) for uid in approver_ids)
    return workflow_id, result


async def test_retried_steps_write_one_event_and_one_notification_per_user(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session
) -> None:
    await _run_shared_steps(time_skipping_env.client, task_queue, session)


async def test_shared_steps_on_the_real_dev_server(
    dev_server_env: WorkflowEnvironment, task_queue: str, session: Session
) -> None:
    workflow_id, _ = await _run_shared_steps(dev_server_env.client, task_queue, session)

    await assert_replays(dev_server_env.client, workflow_id, [SharedStepsWorkflow])


async def test_recorded_history_replays_and_a_changed_workflow_does_not(
    time_skipping_env: WorkflowEnvironment, task_queue: str, session: Session
) -> None:
    client = time_skipping_env.client
    workflow_id, _ = await _run_shared_steps(client, task_queue, session)

    await assert_replays(client, workflow_id, [SharedStepsWorkflow])
    with pytest.raises(NondeterminismError):
        await assert_replays(client, workflow_id, [SharedStepsWorkflowReordered])
