"""Supplier statement (对账单, DESIGN 4.4): one statement per supplier and period, confirmed or
disputed line by line by the supplier, disputes resolved by the buyer.

`StatementRunWorkflow` is what a supplier's Temporal Schedule starts (supplychain/statement_schedules.py:
monthly by default, semi-monthly or weekly per the supplier's terms; an admin's "run now" triggers
the same): from the schedule's time (China date) it works out the last complete period of the
supplier's cycle (`plan_statement_run`), and unless nothing waits to be stated it starts that
period's `StatementWorkflow` as an abandoned child, workflow id
`statement-<supplier id>-<yyyymmdd>-<yyyymmdd>`. A period whose statement is running or finished
is not started again ("run now" twice starts one).

`StatementWorkflow`, step by step (each step one named activity in activities/statement.py writing
the statement, its timeline event and whom it tells in one transaction):

1. `collect_statement`: every source line of the supplier dated up to the period's end and not on
   a statement yet (what a source line is: supplychain/statements.py), numbered `ST-<year>-<n>`;
   the supplier is asked to confirm. Nothing to state: the run ends without a statement.
2. Until the supplier confirms:
   - `confirm` (supplier; `record_statement_confirmed`): only with no dispute open, once.
   - `dispute_line` (supplier; `record_statement_line_disputed`): a line, a reason and its own net
     figure; a new round per dispute on a line; the buyers are told.
   - `resolve_dispute` (buyer; `record_statement_dispute_resolved`): accept the supplier's figure,
     keep ours with a comment, or adjust to a figure; the supplier sees the outcome. With no dispute
     left open the statement waits for the supplier's confirmation again.
   - Timers, restarted whenever the statement changes: waiting for the supplier, a reminder to the
     supplier after `confirm_reminder_after`, the buyers told after `confirm_escalation_after`;
     disputes open, a reminder to the buyers after `dispute_reminder_after`, the approvers told
     after `dispute_escalation_after` (`record_statement_reminder`, `record_statement_escalated`;
     the STATEMENT_*_HOURS settings, passed in by the starter).
3. CONFIRMED: waiting for the supplier's invoice (`_continue_to_invoice`, issue 12 item 3).
   - `submit_invoice` (supplier; `record_supplier_invoice`): the invoice's number, date, amount
     excluding tax, tax, total, its file (checked by content and stored by the route) and, when it
     gives them, its lines (billed quantity and unit price per goods line; an input field with a
     default, so earlier histories replay). One activity writes the invoice and its lines with its
     three-way match (the statement's totals and goods lines against the invoice's three figures and
     lines within the supplier's tolerance, supplychain/rules/statement_invoice.py):
     MATCHED, the statement MATCHED with T = the business date; or MISMATCH, the statement
     MATCH_EXCEPTION and finance told. A number the supplier used before is refused.
   - A mismatch goes to the approval step (ApprovalWorkflow child `<workflow id>:invoice-<n>`,
     document type "invoice_match", decided by finance; `record_invoice_decision`): approved, the
     invoice ACCEPTED and the statement MATCHED (T = the day of the decision); rejected, the invoice
     REJECTED and the statement back to CONFIRMED: the supplier is told and uploads a corrected
     invoice under a new number. The page offers that upload once the decision's row is written,
     a moment before the workflow hears back from the activity: the upload is taken from the
     moment the activity starts (`_state_for_clicks`) and recorded once the decision is (the lock).
   - MATCHED: `_start_settlement` hands the statement over to the T+7 settlement (one place).
4. It keeps answering late clicks for `answer_late_clicks_for` (a second confirmation gets "already
   confirmed", not an RPC error), then completes.

The rules of each Update are pure functions in `supplychain.rules.statement`; every Update
refuses in its validator, checks again under the lock, and returns after its activity committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    # Passed through with the rules, so `checked` catches the very `Refused` they raise.
    from activities.statement import (
        CollectStatementInput,
        PlanStatementRunInput,
        collect_statement,
        plan_statement_run,
        record_statement_confirmed,
        record_statement_dispute_resolved,
        record_statement_escalated,
        record_statement_line_disputed,
        record_statement_reminder,
    )
    from activities.statement_invoice import (
        HandOverInput,
        RecordInvoiceResult,
        hand_over_to_settlement,
        record_invoice_decision,
        record_supplier_invoice,
    )
    from supplychain import sla
    from supplychain.i18n import lazy
    from supplychain.invoices import (
        INVOICE_MATCH,
        NO_FINANCE_DECIDER,
        InvoiceDecision,
        InvoiceSubmission,
        SettlementHandover,
    )
    from supplychain.models.settlement import DisputeResolution, InvoiceMatch, StatementStatus
    from supplychain.rules.statement import (
        ConfirmStatementInput,
        DisputeLineInput,
        ResolveDisputeInput,
        StatementLineState,
        StatementState,
        StatementUpdateResult,
        check_confirm,
        check_dispute_line,
        check_resolve_dispute,
        resolved_net,
        signed_figure,
    )
    from supplychain.rules.statement_invoice import (
        DUPLICATE_NUMBER,
        SubmitInvoiceInput,
        SubmitInvoiceResult,
        check_submit_invoice,
        summary_of,
    )
    from supplychain.statements import Audience, DisputeRaised, DisputeResolved, Notice, StatementStep
    from workflows.common import UpdateRejected, as_shown, business_date, checked

from workflows.approval import ApprovalInput, ApprovalResult, ApprovalWorkflow, approval_workflow_id
from workflows.settlement import SettlementInput, SettlementWorkflow, settlement_workflow_id

__all__ = [
    "ConfirmStatementInput",
    "DisputeLineInput",
    "ResolveDisputeInput",
    "StatementInput",
    "StatementResult",
    "StatementRunInput",
    "StatementRunResult",
    "StatementRunWorkflow",
    "StatementState",
    "StatementUpdateResult",
    "StatementWorkflow",
    "SubmitInvoiceInput",
    "SubmitInvoiceResult",
]

CONFIRM_REMINDER_AFTER = timedelta(hours=sla.STATEMENT_CONFIRM_REMINDER_HOURS)
CONFIRM_ESCALATION_AFTER = timedelta(hours=sla.STATEMENT_CONFIRM_ESCALATION_HOURS)
DISPUTE_REMINDER_AFTER = timedelta(hours=sla.STATEMENT_DISPUTE_REMINDER_HOURS)
DISPUTE_ESCALATION_AFTER = timedelta(hours=sla.STATEMENT_DISPUTE_ESCALATION_HOURS)
ANSWER_LATE_CLICKS_FOR = timedelta(days=1)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))

RESOLVED_MESSAGES = {
    DisputeResolution.ACCEPTED_SUPPLIER: lazy(
        "The buyer accepted your figure for line %(line)s of statement %(number)s."
    ),
    DisputeResolution.KEPT_OURS: lazy(
        "The buyer kept our figure for line %(line)s of statement %(number)s: %(comment)s"
    ),
    DisputeResolution.ADJUSTED: lazy(
        "The buyer adjusted line %(line)s of statement %(number)s to %(amount)s."
    ),
}


@dataclass
class StatementInput:
    supplier_id: int
    period_start: date
    period_end: date
    confirm_reminder_after: timedelta = CONFIRM_REMINDER_AFTER
    confirm_escalation_after: timedelta = CONFIRM_ESCALATION_AFTER
    dispute_reminder_after: timedelta = DISPUTE_REMINDER_AFTER
    dispute_escalation_after: timedelta = DISPUTE_ESCALATION_AFTER
    answer_late_clicks_for: timedelta = ANSWER_LATE_CLICKS_FOR
    activity_timeout: timedelta = ACTIVITY_TIMEOUT


@dataclass
class StatementResult:
    number: str | None  # None: nothing to state for the period
    status: StatementStatus | None


@workflow.defn
class StatementWorkflow:
    @workflow.init
    def __init__(self, input: StatementInput) -> None:
        self._input = input
        self._state = StatementState()
        self._lock = asyncio.Lock()
        self._steps = 0
        self._revision = 0  # bumped by every change the timers depend on
        self._mismatched_invoice: tuple[int, str, str] | None = None  # (id, number, queue summary)
        self._invoice_requester = 0  # the supplier user who uploaded the mismatched invoice
        self._invoice_total = Decimal("0.00")
        self._deciding_to: StatementStatus | None = None  # the status a decision being recorded sets

    @workflow.run
    async def run(self, input: StatementInput) -> StatementResult:
        if not await self._collect():
            return StatementResult(number=None, status=None)
        await self._until_confirmed()
        await self._continue_to_invoice()
        await self._answer_late_clicks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return StatementResult(number=self._state.number, status=self._state.status)

    @workflow.query
    def get_state(self) -> StatementState:
        return self._state

    # --- the story's steps -------------------------------------------------------------------------

    async def _collect(self) -> bool:
        workflow_id = workflow.info().workflow_id
        collected = await self._activity(
            collect_statement,
            CollectStatementInput(
                workflow_id=workflow_id,
                supplier_id=self._input.supplier_id,
                period_start=self._input.period_start,
                period_end=self._input.period_end,
                idempotency_key=f"{workflow_id}:created",
                occurred_at=workflow.now(),
            ),
        )
        if collected.number is None:
            self._state.no_source_lines = True
            return False
        self._state.number = collected.number
        self._state.lines = [
            StatementLineState(
                line_id=line.line_id,
                line_no=line.line_no,
                tax_rate=line.tax_rate,
                net_amount=line.net_amount,
                deduction=line.deduction,
            )
            for line in collected.lines
        ]
        self._state.recorded = True
        return True

    async def _until_confirmed(self) -> None:
        """The SLA of whoever must act: the supplier (to confirm) or the buyers (open disputes);
        every change starts the timers again."""
        while self._state.status is not StatementStatus.CONFIRMED:
            seen = self._revision

            def changed(seen: int = seen) -> bool:
                return self._revision != seen

            waiting_for_buyers = self._state.status is StatementStatus.DISPUTED
            reminder_after, escalation_after = (
                (self._input.dispute_reminder_after, self._input.dispute_escalation_after)
                if waiting_for_buyers
                else (self._input.confirm_reminder_after, self._input.confirm_escalation_after)
            )
            if await self._wait(changed, reminder_after):
                continue
            await self._remind(waiting_for_buyers, seen)
            remaining = escalation_after - reminder_after
            if remaining > timedelta(0) and await self._wait(changed, remaining):
                continue
            await self._escalate(waiting_for_buyers, escalation_after, seen)
            await workflow.wait_condition(changed)

    async def _continue_to_invoice(self) -> None:
        """Until an invoice matches (or finance accepts a mismatch): each mismatch to the approval
        step; then the hand-over to settlement."""
        decided = 0
        while self._state.status is not StatementStatus.MATCHED:
            await workflow.wait_condition(
                lambda: self._state.status in (StatementStatus.MATCHED, StatementStatus.MATCH_EXCEPTION)
            )
            if self._state.status is StatementStatus.MATCH_EXCEPTION:
                decided += 1
                await self._decide_mismatch(decided)
        await self._start_settlement()

    async def _decide_mismatch(self, n: int) -> None:
        """Finance decides a mismatched invoice (the shared approval step, `details` of the queue:
        the differences of amount / tax / total); the decision is recorded with its outcome."""
        assert self._mismatched_invoice is not None
        invoice_id, _, summary = self._mismatched_invoice
        workflow_id = workflow.info().workflow_id
        result: ApprovalResult = await workflow.execute_child_workflow(
            ApprovalWorkflow.run,
            ApprovalInput(
                document_type=INVOICE_MATCH,
                document_id=self._state.number,
                document_link=f"/statements/{self._state.number}",
                summary=summary,
                amount=self._invoice_total,
                requester_user_id=self._invoice_requester,
                approver_role="finance",
                no_approver_comment=NO_FINANCE_DECIDER,
            ),
            id=approval_workflow_id(workflow_id, f"invoice-{n}"),
        )
        async with self._lock:
            status = StatementStatus.MATCHED if result.approved else StatementStatus.CONFIRMED
            self._deciding_to = status
            await self._activity(
                record_invoice_decision,
                InvoiceDecision(
                    number=self._state.number,
                    invoice_id=invoice_id,
                    idempotency_key=f"{workflow_id}:invoice_decided:{n}",
                    approved=result.approved,
                    decided_by_user_id=result.decided_by_user_id,
                    comment=result.comment,
                    matched_on=business_date(workflow.now()),
                    occurred_at=workflow.now(),
                ),
            )
            self._deciding_to = None
            self._mismatched_invoice = None
            self._changed(status)

    async def _start_settlement(self) -> SettlementHandover:
        """The one place a MATCHED statement goes on to the T+7 settlement (DESIGN 4.5)."""
        handover: SettlementHandover = await self._activity(
            hand_over_to_settlement,
            HandOverInput(
                number=self._state.number,
                idempotency_key=f"{workflow.info().workflow_id}:settlement_handover",
            ),
        )
        # The payment lives on for days after this statement's process ends: an abandoned child, one
        # per statement (its id comes from the statement number).
        await workflow.start_child_workflow(
            SettlementWorkflow.run,
            SettlementInput(
                statement_id=handover.statement_id,
                statement_number=handover.number,
                supplier_id=handover.supplier_id,
                amount=handover.total_amount,
                matched_on=handover.matched_on,
                approval_limit=handover.approval_limit,
            ),
            id=settlement_workflow_id(handover.number),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return handover

    async def _answer_late_clicks(self) -> None:
        await self._wait(lambda: False, self._input.answer_late_clicks_for)

    async def _remind(self, waiting_for_buyers: bool, seen: int) -> None:
        async with self._lock:
            if self._revision != seen:
                return
            if waiting_for_buyers:
                notice = Notice(
                    Audience.BUYERS,
                    lazy(
                        "Reminder: %(count)s disputed line(s) of statement %(number)s wait for your answer."
                    ),
                    {"count": self._state.open_disputes},
                )
            else:
                notice = Notice(
                    Audience.SUPPLIER,
                    lazy("Reminder: statement %(number)s is still waiting for your confirmation."),
                )
            await self._step(record_statement_reminder, "reminder_sent", notices=[notice])
            self._state.reminders_sent += 1

    async def _escalate(self, waiting_for_buyers: bool, after: timedelta, seen: int) -> None:
        async with self._lock:
            if self._revision != seen:
                return
            hours = int(after.total_seconds() // 3600)
            if waiting_for_buyers:
                notice = Notice(
                    Audience.APPROVERS,
                    lazy(
                        "Disputed lines of statement %(number)s have waited %(hours)s hours for the buyers."
                    ),
                    {"hours": hours},
                )
            else:
                notice = Notice(
                    Audience.BUYERS,
                    lazy("The supplier has not confirmed statement %(number)s within %(hours)s hours."),
                    {"hours": hours},
                )
            await self._step(
                record_statement_escalated, "escalated", details={"hours": hours}, notices=[notice]
            )
            self._state.escalations += 1

    # --- updates: what people do --------------------------------------------------------------------

    @workflow.update
    async def confirm(self, input: ConfirmStatementInput) -> StatementUpdateResult:
        async with self._lock:
            self.validate_confirm(input)  # again: another click may have changed the state
            await self._step(
                record_statement_confirmed,
                "confirmed",
                StatementStatus.CONFIRMED,
                actor=input.actor_user_id,
                notices=[Notice(Audience.BUYERS, lazy("The supplier confirmed statement %(number)s."))],
            )
            self._changed(StatementStatus.CONFIRMED)
            return StatementUpdateResult(status=self._state.status)

    @confirm.validator
    def validate_confirm(self, input: ConfirmStatementInput) -> None:
        checked(check_confirm, self._state, input)

    @workflow.update
    async def dispute_line(self, input: DisputeLineInput) -> StatementUpdateResult:
        async with self._lock:
            self.validate_dispute_line(input)
            line = self._state.line(input.line_no)
            assert line is not None
            figure = signed_figure(line.deduction, input.supplier_net_amount)
            reason = input.reason.strip()
            round = line.rounds + 1
            await self._step(
                record_statement_line_disputed,
                "line_disputed",
                StatementStatus.DISPUTED,
                actor=input.actor_user_id,
                raised=DisputeRaised(line.line_no, round, reason, figure),
                note=reason,
                notices=[
                    Notice(
                        Audience.BUYERS,
                        lazy("The supplier disputed line %(line)s of statement %(number)s: %(reason)s"),
                        {"line": line.line_no, "reason": reason},
                    )
                ],
            )
            line.rounds, line.dispute_open, line.supplier_net_amount = round, True, figure
            self._changed(StatementStatus.DISPUTED)
            return StatementUpdateResult(status=self._state.status)

    @dispute_line.validator
    def validate_dispute_line(self, input: DisputeLineInput) -> None:
        checked(check_dispute_line, self._state, input)

    @workflow.update
    async def resolve_dispute(self, input: ResolveDisputeInput) -> StatementUpdateResult:
        async with self._lock:
            self.validate_resolve_dispute(input)
            line = self._state.line(input.line_no)
            assert line is not None
            net = resolved_net(line, input)
            comment = input.comment.strip()
            status = (
                StatementStatus.AWAITING_CONFIRMATION
                if self._state.open_disputes == 1
                else StatementStatus.DISPUTED
            )
            await self._step(
                record_statement_dispute_resolved,
                "dispute_resolved",
                status,
                actor=input.actor_user_id,
                resolved=DisputeResolved(line.line_no, line.rounds, input.resolution, net, comment),
                note=comment,
                notices=[
                    Notice(
                        Audience.SUPPLIER,
                        RESOLVED_MESSAGES[input.resolution],
                        {"line": line.line_no, "comment": comment, "amount": str(net)},
                    )
                ],
            )
            line.dispute_open, line.net_amount = False, net
            self._changed(status)
            return StatementUpdateResult(status=self._state.status)

    @resolve_dispute.validator
    def validate_resolve_dispute(self, input: ResolveDisputeInput) -> None:
        checked(check_resolve_dispute, self._state, input)

    @workflow.update
    async def submit_invoice(self, input: SubmitInvoiceInput) -> SubmitInvoiceResult:
        async with self._lock:
            self.validate_submit_invoice(input)
            number = input.invoice_number.strip()
            self._state.invoice_numbers.append(number)
            n = len(self._state.invoice_numbers)
            recorded: RecordInvoiceResult = await self._activity(
                record_supplier_invoice,
                InvoiceSubmission(
                    number=self._state.number,
                    idempotency_key=f"{workflow.info().workflow_id}:invoice_received:{n}",
                    actor_user_id=input.actor_user_id,
                    invoice_number=number,
                    invoice_date=input.invoice_date,
                    net_amount=input.net_amount,
                    tax_amount=input.tax_amount,
                    total_amount=input.total_amount,
                    stored_name=input.stored_name,
                    content_type=input.content_type,
                    size_bytes=input.size_bytes,
                    matched_on=business_date(workflow.now()),
                    occurred_at=workflow.now(),
                    lines=input.lines,
                ),
            )
            if recorded.duplicate:  # used on another statement, or by an upload racing this one
                raise UpdateRejected(DUPLICATE_NUMBER, number=number)
            assert recorded.invoice_id is not None
            if recorded.match is InvoiceMatch.MATCHED:
                self._changed(StatementStatus.MATCHED)
            else:
                summary = summary_of(
                    self._state.number,
                    number,
                    [f.difference for f in recorded.figures],
                    [(line.line_no, line.difference) for line in recorded.lines],
                )
                self._mismatched_invoice = (recorded.invoice_id, number, summary)
                self._invoice_requester = input.actor_user_id
                self._invoice_total = input.total_amount
                self._changed(StatementStatus.MATCH_EXCEPTION)
            assert recorded.match is not None
            return SubmitInvoiceResult(match=recorded.match, status=self._state.status)

    @submit_invoice.validator
    def validate_submit_invoice(self, input: SubmitInvoiceInput) -> None:
        checked(check_submit_invoice, self._state_for_clicks(), input)

    def _state_for_clicks(self) -> StatementState:
        return as_shown(self._state, self._deciding_to)

    # --- carrying a step out ------------------------------------------------------------------------

    def _changed(self, status: StatementStatus) -> None:
        self._state.status = status
        self._revision += 1

    async def _step(
        self,
        activity: Callable[[StatementStep], Any],
        action: str,
        status: StatementStatus | None = None,
        *,
        actor: int | None = None,
        raised: DisputeRaised | None = None,
        resolved: DisputeResolved | None = None,
        note: str = "",
        details: dict[str, Any] | None = None,
        notices: Sequence[Notice] = (),
    ) -> None:
        self._steps += 1
        await self._activity(
            activity,
            StatementStep(
                number=self._state.number,
                action=action,
                idempotency_key=f"{workflow.info().workflow_id}:{action}:{self._steps}",
                status=status,
                actor_user_id=actor,
                raised=raised,
                resolved=resolved,
                note=note,
                details=details or {},
                notices=list(notices),
                occurred_at=workflow.now(),
            ),
        )

    async def _activity(self, activity: Callable[..., Any], arg: Any) -> Any:
        return await workflow.execute_activity(
            activity, arg, start_to_close_timeout=self._input.activity_timeout, retry_policy=ACTIVITY_RETRY
        )

    @staticmethod
    async def _wait(condition: Callable[[], bool], timeout: timedelta) -> bool:
        """True when `condition` became true, False when `timeout` passed first (a durable timer)."""
        try:
            await workflow.wait_condition(condition, timeout=timeout)
        except TimeoutError:
            return False
        return True


# --- the scheduled run -----------------------------------------------------------------------------


@dataclass
class StatementRunInput:
    supplier_id: int


@dataclass
class StatementRunResult:
    supplier_id: int
    period_start: date
    period_end: date
    workflow_id: str
    # "started"; "already_started" (running or finished: one statement per period); or
    # "no_source_lines" (nothing waits to be stated: no statement for the period).
    outcome: str


@workflow.defn
class StatementRunWorkflow:
    @workflow.run
    async def run(self, input: StatementRunInput) -> StatementRunResult:
        plan = await workflow.execute_activity(
            plan_statement_run,
            PlanStatementRunInput(supplier_id=input.supplier_id, today=business_date(workflow.now())),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

        def result(outcome: str) -> StatementRunResult:
            return StatementRunResult(
                input.supplier_id, plan.period_start, plan.period_end, plan.workflow_id, outcome
            )

        if plan.already_stated:
            return result("already_started")
        if plan.pending_source_lines == 0:
            return result("no_source_lines")
        sla = plan.sla
        try:
            await workflow.start_child_workflow(
                StatementWorkflow.run,
                StatementInput(
                    supplier_id=input.supplier_id,
                    period_start=plan.period_start,
                    period_end=plan.period_end,
                    confirm_reminder_after=timedelta(hours=sla.confirm_reminder_hours),
                    confirm_escalation_after=timedelta(hours=sla.confirm_escalation_hours),
                    dispute_reminder_after=timedelta(hours=sla.dispute_reminder_hours),
                    dispute_escalation_after=timedelta(hours=sla.dispute_escalation_hours),
                ),
                id=plan.workflow_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return result("already_started")
        return result("started")
