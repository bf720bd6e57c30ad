"""Demo supplier statements: one per demo supplier, each waiting for somebody, so finance, the buyer
and the suppliers find reconciliation work on a fresh `portal dev`.

`seed_demo_statements(client, task_queue)` runs after `seed_demo_orders` (its closed orders are the
goods received that the statements bill) and a worker on `task_queue`. Every statement goes through
the real process, never by writing rows: a StatementWorkflow is started for the supplier and a
period that covers its demo receipts (the month of its latest one, up to that day), with the workflow
id the scheduled run would use (`statement_workflow_id`) and the SLA settings the run passes in,
then driven by the Updates the statement page calls, as the supplier's user:

- SUP-HZLY (the `supplier` login): confirmed, and a matching invoice uploaded: MATCHED, its T+7
  settlement scheduled (finance's payments page; the supplier waits for its money);
- SUP-GDYH (`supplier2`): one line disputed with a reason and the supplier's own figure: DISPUTED
  (the buyer's disputes page);
- SUP-SHFH (`supplier3`): confirmed, and an invoice above the statement by more than the supplier's
  tolerance: MATCH_EXCEPTION (finance's approval queue and match exceptions page).

Each invoice is a small generated PDF stored under UPLOAD_DIR exactly as the invoice form stores an
upload (`invoices.receive_invoice_file`: checked by content, then committed).

Idempotent: a statement that exists for the period is left as it is (people may have moved it on
since), unless an earlier run stopped half-way: a statement still untouched in the state the start
left it in (waiting for confirmation, no dispute), or confirmed with no invoice when an invoice is its
target, is driven on to its target.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from supplychain import accounts, demo_orders, invoices
from supplychain.db import session_scope
from supplychain.invoices import INVOICE_MATCH
from supplychain.models import (
    ApprovalRequest,
    Organisation,
    PurchaseOrder,
    Role,
    Shipment,
    ShipmentStatus,
    StatementDispute,
    User,
)
from supplychain.models.settlement import InvoiceMatch, Payment, StatementStatus
from supplychain.replenishment import business_today
from supplychain.rules.statement import Period
from supplychain.seed import refuse_demo_data_in_production
from supplychain.settings import settings
from supplychain.statements import statement_by_workflow, statement_workflow_id, terms_for
from workflows.common import business_date
from workflows.statement import (
    ConfirmStatementInput,
    DisputeLineInput,
    StatementInput,
    StatementState,
    StatementWorkflow,
    SubmitInvoiceInput,
)

log = logging.getLogger(__name__)
_Handle = WorkflowHandle[StatementWorkflow, Any]

# The dispute's reason (what the buyer reads) and how far the supplier's figure is above ours.
DEMO_DISPUTE_REASON = "演示 (demo)：此行单价应按最新合同价结算"
DEMO_DISPUTE_EXTRA = Decimal("12.00")
# How far the mismatching invoice is above the statement, beyond the supplier's tolerance.
DEMO_MISMATCH_EXTRA = Decimal("100.00")
INVOICE_TARGETS = (StatementStatus.MATCHED, StatementStatus.MATCH_EXCEPTION)


@dataclass(frozen=True)
class DemoStatement:
    supplier_code: str
    target: StatementStatus


DEMO_STATEMENTS: tuple[DemoStatement, ...] = (
    DemoStatement("SUP-HZLY", StatementStatus.MATCHED),
    DemoStatement("SUP-GDYH", StatementStatus.DISPUTED),
    DemoStatement("SUP-SHFH", StatementStatus.MATCH_EXCEPTION),
)


class DemoStatementsError(Exception):
    """The demo statements could not be made (missing demo data, a step that did not take effect)."""


@dataclass(frozen=True)
class _Plan:
    supplier_id: int
    supplier_user_id: int
    period: Period
    workflow_id: str


async def seed_demo_statements(client: Client, task_queue: str) -> list[str]:
    """Create the demo statements that do not exist yet and drive each to its state; returns the new
    numbers. DemoDataRefused in production, before anything is started."""
    refuse_demo_data_in_production()
    created: list[str] = []
    for demo in DEMO_STATEMENTS:
        plan = _plan(demo.supplier_code)
        if _existing(plan) is None:
            await _start(client, task_queue, plan)
            number = _existing(plan)
            assert number is not None
            created.append(number)
        if _to_drive_on(plan, demo.target):
            await _drive(client, plan, demo.target)
    if created:
        log.info("Demo statements created: %s", ", ".join(created))
    return created


# --- the period and its statement ---------------------------------------------------------------


def _plan(supplier_code: str) -> _Plan:
    with session_scope() as session:
        supplier = session.execute(select(Organisation).filter_by(code=supplier_code)).scalars().first()
        if supplier is None or supplier.id is None:
            raise DemoStatementsError(f"demo supplier {supplier_code} is missing: run `portal seed` first")
        notes = [order.note for order in demo_orders.DEMO_ORDERS]
        received = session.execute(
            select(func.max(Shipment.received_at))
            .join(PurchaseOrder, col(PurchaseOrder.id) == col(Shipment.purchase_order_id))
            .where(
                col(PurchaseOrder.supplier_id) == supplier.id,
                col(PurchaseOrder.note).in_(notes),
                col(Shipment.status) == ShipmentStatus.RECEIVED,
            )
        ).scalar_one_or_none()
        if received is None:
            raise DemoStatementsError(
                f"no demo goods received from {supplier_code}: run `portal demo-orders` first"
            )
        # The month of the receipts up to their day: the same period on every run, so the same
        # workflow id (one statement per supplier and period).
        end = business_date(received)
        period = Period(end.replace(day=1), end)
        return _Plan(
            supplier_id=supplier.id,
            supplier_user_id=_supplier_user(session, supplier),
            period=period,
            workflow_id=statement_workflow_id(supplier.id, period),
        )


def _existing(plan: _Plan) -> str | None:
    with session_scope() as session:
        statement = statement_by_workflow(session, plan.workflow_id)
        return statement.number if statement is not None else None


def _to_drive_on(plan: _Plan, target: StatementStatus) -> bool:
    """Whether the statement is where an interrupted run of this step left it (see the docstring)."""
    with session_scope() as session:
        statement = statement_by_workflow(session, plan.workflow_id)
        assert statement is not None and statement.id is not None
        if statement.status is StatementStatus.AWAITING_CONFIRMATION:
            disputes = session.execute(
                select(func.count())
                .select_from(StatementDispute)
                .where(col(StatementDispute.statement_id) == statement.id)
            ).scalar_one()
            return bool(disputes == 0)
        if statement.status is StatementStatus.CONFIRMED and target in INVOICE_TARGETS:
            return not invoices.invoices_of(session, statement.id)
        if statement.status is not target:
            # People moved it on (a buyer answered the dispute, finance paid): as it should be.
            log.info(
                "Demo statement %s is %s, not %s; left as it is", statement.number, statement.status, target
            )
        return False


async def _start(client: Client, task_queue: str, plan: _Plan) -> None:
    """Start the period's statement as its scheduled run would, and wait until it is recorded."""
    handle = await client.start_workflow(
        StatementWorkflow.run,
        StatementInput(
            supplier_id=plan.supplier_id,
            period_start=plan.period.start,
            period_end=plan.period.end,
            confirm_reminder_after=timedelta(hours=settings.STATEMENT_CONFIRM_REMINDER_HOURS),
            confirm_escalation_after=timedelta(hours=settings.STATEMENT_CONFIRM_ESCALATION_HOURS),
            dispute_reminder_after=timedelta(hours=settings.STATEMENT_DISPUTE_REMINDER_HOURS),
            dispute_escalation_after=timedelta(hours=settings.STATEMENT_DISPUTE_ESCALATION_HOURS),
        ),
        id=plan.workflow_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    state: StatementState = await demo_orders.until(
        lambda: handle.query(StatementWorkflow.get_state),
        lambda s: s.recorded or s.no_source_lines,
        f"statement {plan.workflow_id} to be collected",
    )
    if state.no_source_lines:
        raise DemoStatementsError(f"statement {plan.workflow_id} found nothing to state")


# --- driving a statement, through the Updates the statement page calls --------------------------


async def _drive(client: Client, plan: _Plan, target: StatementStatus) -> None:
    handle = client.get_workflow_handle_for(StatementWorkflow.run, plan.workflow_id)
    state: StatementState = await handle.query(StatementWorkflow.get_state)
    actor = plan.supplier_user_id
    if target is StatementStatus.DISPUTED:
        line = state.lines[0]
        await handle.execute_update(
            StatementWorkflow.dispute_line,
            DisputeLineInput(
                actor_user_id=actor,
                line_no=line.line_no,
                reason=DEMO_DISPUTE_REASON,
                supplier_net_amount=abs(line.net_amount) + DEMO_DISPUTE_EXTRA,
            ),
        )
        return
    if state.status is StatementStatus.AWAITING_CONFIRMATION:
        await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(actor_user_id=actor))
    with session_scope() as session:
        statement = statement_by_workflow(session, plan.workflow_id)
        assert statement is not None
        number, statement_id = statement.number, statement.id
        net, tax = statement.net_amount, statement.tax_amount
        if target is StatementStatus.MATCH_EXCEPTION:
            terms = terms_for(session, plan.supplier_id)
            net += (terms.tolerance_amount + net * terms.tolerance_percent + DEMO_MISMATCH_EXTRA).quantize(
                Decimal("0.01")
            )
    invoice_number = "FP" + "".join(ch for ch in number if ch.isdigit())
    await _submit_invoice(handle, actor, number, invoice_number, net, tax)
    # Done when the work is where people find it: the payment on finance's payments page, the
    # mismatch in finance's approval queue (both written by child workflows, a moment later).
    if target is StatementStatus.MATCHED:
        await demo_orders.until(
            lambda: _exists(select(col(Payment.id)).where(col(Payment.statement_id) == statement_id)),
            bool,
            f"the settlement of {number} to schedule it",
        )
    else:
        await demo_orders.until(
            lambda: _exists(
                select(col(ApprovalRequest.id)).where(
                    col(ApprovalRequest.document_type) == INVOICE_MATCH,
                    col(ApprovalRequest.document_id) == number,
                )
            ),
            bool,
            f"the mismatch of {number} to reach finance",
        )


async def _submit_invoice(
    handle: _Handle, actor: int, number: str, invoice_number: str, net: Decimal, tax: Decimal
) -> None:
    """Upload the supplier's invoice as the invoice form does: the file stored first, removed again
    when the Update refuses it."""
    content = invoice_pdf(invoice_number, number, net + tax)
    received = invoices.receive_invoice_file(io.BytesIO(content), max_bytes=settings.CERTIFICATE_MAX_BYTES)
    stored_name = received.commit()
    try:
        result = await handle.execute_update(
            StatementWorkflow.submit_invoice,
            SubmitInvoiceInput(
                actor_user_id=actor,
                invoice_number=invoice_number,
                invoice_date=business_today(),
                net_amount=net,
                tax_amount=tax,
                total_amount=net + tax,
                stored_name=stored_name,
                content_type=received.content_type,
                size_bytes=received.size,
            ),
        )
    except BaseException:
        invoices.discard_stored(stored_name)
        raise
    log.debug("Demo invoice %s for %s: %s", invoice_number, number, result.match)
    assert result.match in (InvoiceMatch.MATCHED, InvoiceMatch.MISMATCH)


async def _exists(query: Select[Any]) -> bool:
    with session_scope() as session:
        return session.execute(query).first() is not None


# --- lookups and the invoice file ---------------------------------------------------------------


def _supplier_user(session: Session, supplier: Organisation) -> int:
    user_id = (
        session.execute(
            select(col(User.id))
            .where(
                col(User.organisation_id) == supplier.id,
                col(User.id).in_(accounts.holders_of(Role.SUPPLIER)),
                col(User.is_active),
            )
            .order_by(col(User.id))
        )
        .scalars()
        .first()
    )
    if user_id is None:
        raise DemoStatementsError(f"supplier {supplier.code} has no user")
    return int(user_id)


def invoice_pdf(invoice_number: str, statement_number: str, total: Decimal) -> bytes:
    """A one-page PDF naming the invoice, its statement and total (ASCII only: Helvetica), with the
    cross-reference table a real PDF ends with (the upload check reads it)."""
    text = f"Demo invoice {invoice_number} for statement {statement_number}, total CNY {total}"
    stream = f"BT /F1 14 Tf 56 780 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
