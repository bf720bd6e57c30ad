"""Side effects of StatementRunWorkflow and StatementWorkflow: planning a run, collecting the
statement, and one named activity per step (confirmed, line disputed, dispute resolved, reminders,
escalations), each writing the statement change, its timeline event and whom it tells in one
transaction (supplychain/statements.py), e-mail after the commit. Sync activities on the worker's
thread pool, each safe to retry (see supplychain/statements.py for how)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from temporalio import activity

from activities.notifications import email_after_commit
from supplychain import statements
from supplychain.db import session_scope
from supplychain.models.settlement import StatementLineSource
from supplychain.rules.statement import Period, last_complete_period
from supplychain.settings import settings
from supplychain.statements import StatementStep


@dataclass
class PlanStatementRunInput:
    supplier_id: int
    today: date  # the business date of the run (from the schedule's time)


@dataclass
class StatementSla:
    """From the settings (STATEMENT_*_HOURS), in hours."""

    confirm_reminder_hours: float
    confirm_escalation_hours: float
    dispute_reminder_hours: float
    dispute_escalation_hours: float


@dataclass
class PlanStatementRunResult:
    period_start: date
    period_end: date
    workflow_id: str
    pending_source_lines: int
    sla: StatementSla
    already_stated: bool = False  # the period's statement exists (a second "run now")


@activity.defn
def plan_statement_run(input: PlanStatementRunInput) -> PlanStatementRunResult:
    """The period to state (the supplier's cycle, the last complete period), its workflow id, how
    many source lines wait, and the SLAs the statement runs with."""
    with session_scope() as session:
        terms = statements.terms_for(session, input.supplier_id)
        period = last_complete_period(terms.statement_cycle, input.today)
        pending = len(statements.pending_source_lines(session, input.supplier_id, period.end))
        workflow_id = statements.statement_workflow_id(input.supplier_id, period)
        already_stated = statements.statement_by_workflow(session, workflow_id) is not None
    return PlanStatementRunResult(
        period_start=period.start,
        period_end=period.end,
        workflow_id=workflow_id,
        pending_source_lines=pending,
        already_stated=already_stated,
        sla=StatementSla(
            confirm_reminder_hours=settings.STATEMENT_CONFIRM_REMINDER_HOURS,
            confirm_escalation_hours=settings.STATEMENT_CONFIRM_ESCALATION_HOURS,
            dispute_reminder_hours=settings.STATEMENT_DISPUTE_REMINDER_HOURS,
            dispute_escalation_hours=settings.STATEMENT_DISPUTE_ESCALATION_HOURS,
        ),
    )


@dataclass
class CollectStatementInput:
    workflow_id: str
    supplier_id: int
    period_start: date
    period_end: date
    idempotency_key: str  # `<workflow id>:created`
    occurred_at: datetime


@dataclass
class CollectedLine:
    line_no: int
    line_id: int
    tax_rate: Decimal
    net_amount: Decimal
    deduction: bool


@dataclass
class CollectStatementResult:
    number: str | None  # None: nothing to put on a statement
    lines: list[CollectedLine] = field(default_factory=list)
    emailed: int = 0


@activity.defn
def collect_statement(input: CollectStatementInput) -> CollectStatementResult:
    with session_scope() as session:
        statement, told = statements.collect_statement(
            session,
            workflow_id=input.workflow_id,
            supplier_id=input.supplier_id,
            period=Period(input.period_start, input.period_end),
            idempotency_key=input.idempotency_key,
            at=input.occurred_at,
        )
        if statement is None:
            return CollectStatementResult(number=None)
        assert statement.id is not None
        lines = [
            CollectedLine(
                line_no=line.line_no,
                line_id=line.id,  # type: ignore[arg-type]
                tax_rate=line.tax_rate,
                net_amount=line.net_amount,
                deduction=line.source_type is StatementLineSource.DEBIT_NOTE or line.original_net_amount < 0,
            )
            for line in statements.statement_lines(session, statement.id)
        ]
        number = statement.number
        ids = [row.id for row in told if row.id is not None]
    return CollectStatementResult(number=number, lines=lines, emailed=email_after_commit(ids))


@dataclass
class StatementStepResult:
    user_ids: list[int]  # who was told
    emailed: int


def _record(step: StatementStep) -> StatementStepResult:
    with session_scope() as session:
        told = statements.record_step(session, step)
        ids = [row.id for row in told if row.id is not None]
        user_ids = [row.user_id for row in told]
    return StatementStepResult(user_ids=user_ids, emailed=email_after_commit(ids))


@activity.defn
def record_statement_confirmed(step: StatementStep) -> StatementStepResult:
    """The supplier confirmed the statement (CONFIRMED); the buyers are told."""
    return _record(step)


@activity.defn
def record_statement_line_disputed(step: StatementStep) -> StatementStepResult:
    """The supplier disputed a line (a new round; DISPUTED); the buyers are told."""
    return _record(step)


@activity.defn
def record_statement_dispute_resolved(step: StatementStep) -> StatementStepResult:
    """The buyer resolved a dispute (the line's figure, the totals; back to waiting for the
    supplier's confirmation when no dispute is left open); the supplier is told."""
    return _record(step)


@activity.defn
def record_statement_reminder(step: StatementStep) -> StatementStepResult:
    """A reminder: to the supplier (confirmation) or the buyers (open disputes)."""
    return _record(step)


@activity.defn
def record_statement_escalated(step: StatementStep) -> StatementStepResult:
    """An escalation: to the buyers (the supplier has not confirmed) or the approvers (disputes)."""
    return _record(step)
