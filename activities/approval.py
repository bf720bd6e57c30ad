"""Side effects of the approval step (workflows/approval.py): the queue row, events, notifications.

Sync activities on the worker's thread pool, like every database activity (see activities/events.py).
Each writes its row change, the document event (on the approved document: its type and number) and
the notification in one transaction, keyed by `<approval workflow id>:<step>`: a retry writes nothing
twice. E-mail goes out after the commit, as in activities/notifications.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session
from temporalio import activity

from activities.notifications import email_after_commit
from supplychain import approvals, notifications
from supplychain.db import session_scope
from supplychain.events import record_event
from supplychain.i18n import lazy
from supplychain.models import ApprovalStatus, Role

MSG_ASSIGNED = lazy("%(document)s is waiting for your approval (%(amount)s CNY).")
MSG_REMINDER = lazy("Reminder: %(document)s is still waiting for your approval.")
MSG_ESCALATED = lazy("%(document)s was escalated to you for approval (%(amount)s CNY).")
MSG_APPROVED = lazy("%(document)s has been approved.")
MSG_REJECTED = lazy("%(document)s has been rejected: %(comment)s")
MSG_DECIDED = lazy("HQ has decided what happens to %(document)s.")


@dataclass
class ApprovalRef:
    """Which approval step, and the document it decides on."""

    workflow_id: str
    document_type: str
    document_id: str
    document_link: str
    requester_user_id: int
    amount: Decimal


@dataclass
class ResolveChainInput:
    amount: Decimal
    requester_user_id: int
    approver_role: str = "approver"


@dataclass
class ResolveChainResult:
    chain: list[int]


@dataclass
class OpenRequestInput:
    ref: ApprovalRef
    summary: str
    assignee_user_id: int
    level: int
    requested_at: datetime
    reminder_after: timedelta
    escalation_after: timedelta
    choices: list[str] = field(default_factory=list)


@dataclass
class OpenRequestResult:
    request_id: int


@dataclass
class RemindInput:
    ref: ApprovalRef
    assignee_user_id: int
    reminder_number: int  # part of the key: each reminder notifies once
    at: datetime


@dataclass
class EscalateInput:
    ref: ApprovalRef
    previous_assignee_user_id: int
    assignee_user_id: int
    level: int  # 1-based, as on the row
    at: datetime


@dataclass
class RecordDecisionInput:
    ref: ApprovalRef
    status: ApprovalStatus
    decided_by_user_id: int | None  # None: decided by the rules (no approver covers the amount)
    on_behalf_of_user_id: int | None
    comment: str
    at: datetime
    choice: str = ""
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class CancelRequestInput:
    ref: ApprovalRef
    at: datetime


@activity.defn
def resolve_approval_chain(input: ResolveChainInput) -> ResolveChainResult:
    with session_scope() as session:
        chain = approvals.approval_chain(
            session,
            amount=input.amount,
            requester_user_id=input.requester_user_id,
            role=Role(input.approver_role),
        )
    return ResolveChainResult(chain=chain)


@activity.defn
def open_approval_request(input: OpenRequestInput) -> OpenRequestResult:
    ref = input.ref
    with session_scope() as session:
        row, _created = approvals.open_request(
            session,
            workflow_id=ref.workflow_id,
            document_type=ref.document_type,
            document_id=ref.document_id,
            document_link=ref.document_link,
            summary=input.summary,
            amount=ref.amount,
            requester_user_id=ref.requester_user_id,
            assignee_user_id=input.assignee_user_id,
            level=input.level,
            requested_at=input.requested_at,
            reminder_after=input.reminder_after,
            escalation_after=input.escalation_after,
            choices=input.choices,
        )
        record_event(
            session,
            document_type=ref.document_type,
            document_id=ref.document_id,
            action=approvals.ACTION_REQUESTED,
            idempotency_key=f"{ref.workflow_id}:requested",
            actor_user_id=ref.requester_user_id,
            after={"approval": "pending", "assignee_user_id": input.assignee_user_id, "amount": ref.amount},
            occurred_at=input.requested_at,
        )
        sent = _notify(session, ref, [input.assignee_user_id], MSG_ASSIGNED, "assigned:1")
        assert row.id is not None
        request_id = row.id
    email_after_commit(sent)
    return OpenRequestResult(request_id=request_id)


@activity.defn
def remind_approver(input: RemindInput) -> None:
    ref = input.ref
    with session_scope() as session:
        approvals.mark_reminded(session, workflow_id=ref.workflow_id, at=input.at)
        record_event(
            session,
            document_type=ref.document_type,
            document_id=ref.document_id,
            action=approvals.ACTION_REMINDED,
            idempotency_key=f"{ref.workflow_id}:reminder:{input.reminder_number}",
            after={"assignee_user_id": input.assignee_user_id},
            occurred_at=input.at,
        )
        sent = _notify(
            session, ref, [input.assignee_user_id], MSG_REMINDER, f"reminder:{input.reminder_number}"
        )
    email_after_commit(sent)


@activity.defn
def escalate_approval(input: EscalateInput) -> None:
    ref = input.ref
    with session_scope() as session:
        approvals.reassign(
            session,
            workflow_id=ref.workflow_id,
            assignee_user_id=input.assignee_user_id,
            level=input.level,
            at=input.at,
        )
        record_event(
            session,
            document_type=ref.document_type,
            document_id=ref.document_id,
            action=approvals.ACTION_ESCALATED,
            idempotency_key=f"{ref.workflow_id}:escalated:{input.level}",
            before={"assignee_user_id": input.previous_assignee_user_id, "level": input.level - 1},
            after={"assignee_user_id": input.assignee_user_id, "level": input.level},
            occurred_at=input.at,
        )
        sent = _notify(session, ref, [input.assignee_user_id], MSG_ESCALATED, f"escalated:{input.level}")
    email_after_commit(sent)


@activity.defn
def record_approval_decision(input: RecordDecisionInput) -> None:
    ref = input.ref
    approved = input.status is ApprovalStatus.APPROVED
    with session_scope() as session:
        approvals.record_decision(
            session,
            workflow_id=ref.workflow_id,
            status=input.status,
            decided_by_user_id=input.decided_by_user_id,
            on_behalf_of_user_id=input.on_behalf_of_user_id,
            comment=input.comment,
            at=input.at,
            choice=input.choice,
            details=input.details,
        )
        after: dict[str, object] = {"approval": input.status}
        if input.choice:
            after = {**after, "choice": input.choice, **input.details}
        record_event(
            session,
            document_type=ref.document_type,
            document_id=ref.document_id,
            action=approvals.ACTION_APPROVED if approved else approvals.ACTION_REJECTED,
            idempotency_key=f"{ref.workflow_id}:decided",
            actor_user_id=input.decided_by_user_id,
            on_behalf_of_user_id=input.on_behalf_of_user_id,
            before={"approval": ApprovalStatus.PENDING},
            after=after,
            note=input.comment,
            occurred_at=input.at,
        )
        sent = _notify(
            session,
            ref,
            [ref.requester_user_id],
            MSG_DECIDED if input.choice else MSG_APPROVED if approved else MSG_REJECTED,
            "decided",
            link=ref.document_link,
            comment=input.comment,
        )
    email_after_commit(sent)


@activity.defn
def cancel_approval_request(input: CancelRequestInput) -> None:
    ref = input.ref
    with session_scope() as session:
        row = approvals.request_by_workflow(session, ref.workflow_id)
        if row is not None and row.status is ApprovalStatus.PENDING:
            row.status = ApprovalStatus.CANCELLED
            row.decided_at = input.at
            session.add(row)
            session.flush()
        record_event(
            session,
            document_type=ref.document_type,
            document_id=ref.document_id,
            action=approvals.ACTION_CANCELLED,
            idempotency_key=f"{ref.workflow_id}:cancelled",
            before={"approval": ApprovalStatus.PENDING},
            after={"approval": ApprovalStatus.CANCELLED},
            occurred_at=input.at,
        )


def _notify(
    session: Session,
    ref: ApprovalRef,
    user_ids: list[int],
    message: str,
    step: str,
    *,
    link: str = "/approvals",
    **extra: str,
) -> list[int]:
    rows = notifications.notify(
        session,
        user_ids=user_ids,
        message=message,
        idempotency_key=f"{ref.workflow_id}:{step}",
        params={"document": ref.document_id, "amount": f"{ref.amount:,.2f}", **extra},
        link=link,
        document_type=ref.document_type,
        document_id=ref.document_id,
    )
    return [row.id for row in rows if row.id is not None]
