"""The approval step, shared by every process that needs a decision from HQ.

A document workflow starts `ApprovalWorkflow` as a child with
`approval_workflow_id(<parent workflow id>, <step>)` and awaits its `ApprovalResult`.

1. An activity resolves the approval chain from rules: approvers (role approver, active, not the
   requester) whose limit covers the amount, lowest limit first; the first is assigned, each
   escalation moves to the next level above.
2. The step is written to `approval_request` (the queue's read model) and the assignee is notified.
   The row is visible from its commit, before the workflow sees that activity finish: the assignee
   may decide from the start of the write (`handover_user_id`), and a decision taken meanwhile is
   recorded once the write is done (the lock), so a click on a freshly listed row is never refused.
3. It waits for a `decide` Update. After `reminder_after` it reminds the assignee; after
   `escalation_after` it reassigns to the next level (and notifies); while that write runs, the
   level the queue still shows may decide too. No level left: it stays with the last one. The
   parent passes both from the settings (APPROVAL_*_HOURS for a purchase order,
   QUALITY_DECISION_*_HOURS for a rejected lot).
4. The decision is recorded (row, document event, notification of the requester) before the Update
   returns, so the page re-rendered after the click shows it. The decider waits on that write, so
   it runs as a local activity (in the workflow task, without a round trip through the server's
   activity queue); steps decided before `LOCAL_DECISION_PATCH` recorded it as an activity.

A step may offer choices instead of approve/reject (`ApprovalInput.choices`, e.g. a rejected lot:
concession, sorting or return to vendor, decided by a quality approver): the decision is then one
choice with its details, checked by `supplychain.rules.decisions`, and returned to the parent.

Nobody covers the amount (empty chain): rejected at once, with `no_approver_comment` recorded. The requester
can never decide; a decided approval cannot be decided again (the decision is taken in the handler
before its first await, so of two clicks at the same moment exactly one wins). A delegate decides
"on behalf of" the assignee; the web route checks the delegation before calling the Update. When the
parent cancels the step (its document was cancelled), the request is marked cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.approval import (
        ApprovalRef,
        CancelRequestInput,
        EscalateInput,
        OpenRequestInput,
        RecordDecisionInput,
        RemindInput,
        ResolveChainInput,
        cancel_approval_request,
        escalate_approval,
        open_approval_request,
        record_approval_decision,
        remind_approver,
        resolve_approval_chain,
    )
    from supplychain import sla
    from supplychain.approvals import COMMENT_MAX_LENGTH, NO_APPROVER_COMMENT
    from supplychain.i18n import lazy
    from supplychain.models.approvals import ApprovalStatus
    from supplychain.rules.decisions import choice_problem
    from workflows.common import UpdateRejected

# Defaults of the SLA when the input does not carry one (the parent passes the settings' values).
DEFAULT_REMINDER_AFTER = timedelta(hours=sla.APPROVAL_REMINDER_HOURS)
DEFAULT_ESCALATION_AFTER = timedelta(hours=sla.APPROVAL_ESCALATION_HOURS)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
# From here a decision is recorded by a local activity (step 4); before it, by an activity.
LOCAL_DECISION_PATCH = "decision-recorded-locally"

# Validator messages (message ids; the web layer translates them with rejection_message).
ALREADY_DECIDED = lazy("This approval has already been decided.")
CANCELLED = lazy("This approval was cancelled.")
OWN_REQUEST = lazy("You cannot decide on your own request.")
NOT_ASSIGNED = lazy("This approval is not assigned to you.")
COMMENT_REQUIRED = lazy("Please give a reason for the rejection.")
CHOOSE_AN_OPTION = lazy("This decision is made by choosing one of its options, not by rejecting it.")
COMMENT_TOO_LONG = lazy("The comment is too long (at most %(max)s characters).")


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
    # Who decides: "approver" (limit covers the amount) or another role (e.g. "quality_approver").
    approver_role: str = "approver"
    # Options to decide between instead of approve/reject (supplychain.rules.decisions); the
    # decision is then `approve=True` with one `choice` and its details.
    choices: list[str] = field(default_factory=list)
    # The comment recorded when nobody can decide (no approver of the role, or none whose limit
    # covers the amount): a message id, shown in the reader's language.
    no_approver_comment: str = NO_APPROVER_COMMENT


@dataclass
class ApprovalResult:
    approved: bool
    decided_by_user_id: int | None
    on_behalf_of_user_id: int | None
    comment: str
    choice: str = ""
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class DecideInput:
    actor_user_id: int  # who clicked
    # The approver the actor decides for: themselves, or the absent approver who delegated to them.
    # The web route checks the delegation in the database before calling the Update.
    on_behalf_of_user_id: int
    approve: bool
    comment: str = ""
    choice: str = ""  # one of ApprovalInput.choices, for a step with choices
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class DecideResult:
    status: ApprovalStatus


@dataclass
class ApprovalState:
    status: ApprovalStatus = ApprovalStatus.PENDING
    chain: list[int] = field(default_factory=list)  # approver user ids, lowest level first
    level: int = 0  # index into chain of the current assignee
    assignee_user_id: int | None = None
    # While the queue row is being written (opened, or reassigned on escalation) it shows either the
    # assignee or this approver, so both may decide until the write is done (see `_handing_over`).
    handover_user_id: int | None = None
    decided_by_user_id: int | None = None
    on_behalf_of_user_id: int | None = None
    comment: str = ""
    reminders_sent: int = 0
    escalations: int = 0
    choice: str = ""
    details: dict[str, str] = field(default_factory=dict)


@workflow.defn
class ApprovalWorkflow:
    @workflow.init
    def __init__(self, input: ApprovalInput) -> None:
        self.input = input
        self.state = ApprovalState()
        self.lock = asyncio.Lock()  # one activity at a time on the request row
        self.decided_at: datetime | None = None

    @workflow.run
    async def run(self, input: ApprovalInput) -> ApprovalResult:
        try:
            self.state.chain = await self._resolve_chain()
            if not self.state.chain:
                await self._reject_for_want_of_approver()
            else:
                await self._open_request()
                await self._wait_for_decision()
        except asyncio.CancelledError:
            if self.state.status is ApprovalStatus.PENDING:
                self.state.status = ApprovalStatus.CANCELLED
                # Shielded: the cancellation that brought us here must not cancel the bookkeeping.
                await asyncio.shield(asyncio.ensure_future(self._record_cancelled()))
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ApprovalResult(
            approved=self.state.status is ApprovalStatus.APPROVED,
            decided_by_user_id=self.state.decided_by_user_id,
            on_behalf_of_user_id=self.state.on_behalf_of_user_id,
            comment=self.state.comment,
            choice=self.state.choice,
            details=dict(self.state.details),
        )

    @workflow.query
    def get_state(self) -> ApprovalState:
        return self.state

    @workflow.update
    async def decide(self, input: DecideInput) -> DecideResult:
        # Validators of Updates delivered together all run before any handler: check again, and take
        # the decision before the first await, so the second of two simultaneous clicks is refused.
        self._check_decision(input)
        self.state.status = ApprovalStatus.APPROVED if input.approve else ApprovalStatus.REJECTED
        self.state.decided_by_user_id = input.actor_user_id
        self.state.on_behalf_of_user_id = (
            input.on_behalf_of_user_id if input.on_behalf_of_user_id != input.actor_user_id else None
        )
        self.state.comment = input.comment.strip()
        if self.input.choices:
            self.state.choice = input.choice
            self.state.details = dict(input.details)
        self.decided_at = workflow.now()
        async with self.lock:
            await self._record_decision()
        return DecideResult(status=self.state.status)

    @decide.validator
    def validate_decide(self, input: DecideInput) -> None:
        self._check_decision(input)

    # -- steps ------------------------------------------------------------------------------------

    async def _resolve_chain(self) -> list[int]:
        result = await self._activity(
            resolve_approval_chain,
            ResolveChainInput(
                amount=self.input.amount,
                requester_user_id=self.input.requester_user_id,
                approver_role=self.input.approver_role,
            ),
        )
        return list(result.chain)

    async def _reject_for_want_of_approver(self) -> None:
        self.state.status = ApprovalStatus.REJECTED
        self.state.comment = self.input.no_approver_comment
        self.decided_at = workflow.now()
        await self._record_decision()

    async def _open_request(self) -> None:
        assignee = self.state.chain[0]
        # The row is visible from its commit, before this workflow sees the activity finish: the
        # assignee may decide from the start of the write, and the decision is recorded after it.
        async with self.lock:
            with self._handing_over(assignee):
                await self._activity(
                    open_approval_request,
                    OpenRequestInput(
                        ref=self._ref(),
                        summary=self.input.summary,
                        assignee_user_id=assignee,
                        level=1,
                        requested_at=workflow.now(),
                        reminder_after=self.input.reminder_after,
                        escalation_after=self.input.escalation_after,
                        choices=list(self.input.choices),
                    ),
                )
                self.state.level = 0
                self.state.assignee_user_id = assignee

    async def _wait_for_decision(self) -> None:
        """Remind after `reminder_after`, escalate after `escalation_after`, at every level."""
        escalate_in = max(self.input.escalation_after - self.input.reminder_after, timedelta(0))
        while True:
            if await self._decided_within(self.input.reminder_after):
                return
            await self._remind()
            if escalate_in and await self._decided_within(escalate_in):
                return
            if self.state.level + 1 >= len(self.state.chain):
                # Nobody above: it stays with the last level until someone decides.
                await workflow.wait_condition(self._decided)
                return
            if not await self._escalate():
                return

    async def _decided_within(self, timeout: timedelta) -> bool:
        try:
            await workflow.wait_condition(self._decided, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def _decided(self) -> bool:
        return self.state.status is not ApprovalStatus.PENDING

    async def _remind(self) -> None:
        async with self.lock:
            if self._decided():
                return
            self.state.reminders_sent += 1
            assert self.state.assignee_user_id is not None
            await self._activity(
                remind_approver,
                RemindInput(
                    ref=self._ref(),
                    assignee_user_id=self.state.assignee_user_id,
                    reminder_number=self.state.reminders_sent,
                    at=workflow.now(),
                ),
            )

    async def _escalate(self) -> bool:
        """Move to the next level; False when a decision came first."""
        async with self.lock:
            if self._decided():
                return False
            previous = self.state.chain[self.state.level]
            self.state.level += 1
            self.state.escalations += 1
            self.state.assignee_user_id = self.state.chain[self.state.level]
            # Until the reassignment commits, the queue still shows the step to the previous level.
            with self._handing_over(previous):
                await self._activity(
                    escalate_approval,
                    EscalateInput(
                        ref=self._ref(),
                        previous_assignee_user_id=previous,
                        assignee_user_id=self.state.assignee_user_id,
                        level=self.state.level + 1,
                        at=workflow.now(),
                    ),
                )
        return True

    @contextmanager
    def _handing_over(self, user_id: int) -> Iterator[None]:
        """While a write to the queue row runs, `user_id` may decide besides the assignee.

        Held with the lock: a decision taken meanwhile is recorded once the write is done."""
        self.state.handover_user_id = user_id
        try:
            yield
        finally:
            self.state.handover_user_id = None

    async def _record_decision(self) -> None:
        decision = RecordDecisionInput(
            ref=self._ref(),
            status=self.state.status,
            decided_by_user_id=self.state.decided_by_user_id,
            on_behalf_of_user_id=self.state.on_behalf_of_user_id,
            comment=self.state.comment,
            at=self.decided_at or workflow.now(),
            choice=self.state.choice,
            details=dict(self.state.details),
        )
        if not workflow.patched(LOCAL_DECISION_PATCH):
            await self._activity(record_approval_decision, decision)
            return
        await workflow.execute_local_activity(
            record_approval_decision,
            decision,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )

    async def _record_cancelled(self) -> None:
        await self._activity(cancel_approval_request, CancelRequestInput(ref=self._ref(), at=workflow.now()))

    async def _activity(self, activity: Any, arg: Any) -> Any:
        # Wait for a cancelled activity to finish: the cancellation bookkeeping must come after the
        # write it would otherwise race (these sync activities run to the end anyway).
        return await workflow.execute_activity(
            activity,
            arg,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )

    # -- rules ------------------------------------------------------------------------------------

    def _check_decision(self, input: DecideInput) -> None:
        if self.state.status is ApprovalStatus.CANCELLED:
            raise UpdateRejected(CANCELLED)
        if self.state.status is not ApprovalStatus.PENDING:
            raise UpdateRejected(ALREADY_DECIDED)
        if self.input.requester_user_id in (input.actor_user_id, input.on_behalf_of_user_id):
            raise UpdateRejected(OWN_REQUEST)
        if input.on_behalf_of_user_id not in self._deciders():
            raise UpdateRejected(NOT_ASSIGNED)
        if self.input.choices:
            if not input.approve:
                raise UpdateRejected(CHOOSE_AN_OPTION)
            problem = choice_problem(self.input.choices, input.choice, input.details)
            if problem is not None:
                raise UpdateRejected(problem.message, **problem.params)
        if not input.approve and not input.comment.strip():
            raise UpdateRejected(COMMENT_REQUIRED)
        if len(input.comment.strip()) > COMMENT_MAX_LENGTH:
            raise UpdateRejected(COMMENT_TOO_LONG, max=COMMENT_MAX_LENGTH)

    def _deciders(self) -> set[int]:
        """Whom the queue row may show the step to right now (and their delegates, checked by the route)."""
        return {u for u in (self.state.assignee_user_id, self.state.handover_user_id) if u is not None}

    def _ref(self) -> ApprovalRef:
        return ApprovalRef(
            workflow_id=workflow.info().workflow_id,
            document_type=self.input.document_type,
            document_id=self.input.document_id,
            document_link=self.input.document_link,
            requester_user_id=self.input.requester_user_id,
            amount=self.input.amount,
        )
