"""The approval step, shared by every process that needs a decision from HQ.

INTERFACE FIXED, BODY TO BE WRITTEN (issue 4): a document workflow starts `ApprovalWorkflow` as a
child with `approval_workflow_id(<parent workflow id>, <step>)` and awaits its `ApprovalResult`.

1. An activity resolves the approval chain from rules: approvers (role approver, active, not the
   requester) whose limit covers the amount, lowest limit first; the first is assigned, each
   escalation moves to the next level above.
2. The step is written to `approval_request` (the queue's read model) and the assignee is notified.
3. It waits for a `decide` Update. After REMINDER it reminds the assignee; after ESCALATION it
   reassigns to the next level (and notifies). No level left: it stays with the last one.
4. The decision is recorded (row, document event, notification of the requester) before the Update
   returns, so the page re-rendered after the click shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from supplychain.models.approvals import ApprovalStatus

DEFAULT_REMINDER_AFTER = timedelta(hours=8)
DEFAULT_ESCALATION_AFTER = timedelta(hours=24)


def approval_workflow_id(parent_workflow_id: str, step: str = "approval") -> str:
    return f"{parent_workflow_id}:{step}"


@dataclass
class ApprovalInput:
    document_type: str  # "purchase_order", "transfer", ...
    document_id: str  # the document number, e.g. "PO-2026-000123"
    document_link: str  # where the approver reads the document, e.g. "/purchase-orders/PO-2026-000123"
    summary: str  # one line for the queue, e.g. supplier and item count
    amount: Decimal
    requester_user_id: int
    reminder_after: timedelta = DEFAULT_REMINDER_AFTER
    escalation_after: timedelta = DEFAULT_ESCALATION_AFTER


@dataclass
class ApprovalResult:
    approved: bool
    decided_by_user_id: int | None
    on_behalf_of_user_id: int | None
    comment: str


@dataclass
class DecideInput:
    actor_user_id: int  # who clicked
    # The approver the actor decides for: themselves, or the absent approver who delegated to them.
    # The web route checks the delegation in the database before calling the Update.
    on_behalf_of_user_id: int
    approve: bool
    comment: str = ""


@dataclass
class DecideResult:
    status: ApprovalStatus


@dataclass
class ApprovalState:
    status: ApprovalStatus = ApprovalStatus.PENDING
    chain: list[int] = field(default_factory=list)  # approver user ids, lowest level first
    level: int = 0  # index into chain of the current assignee
    assignee_user_id: int | None = None
    decided_by_user_id: int | None = None
    on_behalf_of_user_id: int | None = None
    comment: str = ""
    reminders_sent: int = 0
    escalations: int = 0
