"""Side effects of StatementWorkflow's invoice steps (issue 12 item 3): the invoice recorded with
its match, finance's decision on a mismatch, and the handover of a MATCHED statement to settlement.
Each writes its rows, timeline event and notifications in one transaction
(supplychain/invoices.py), e-mail after the commit; each safe to retry."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import activity

from activities.notifications import email_after_commit
from supplychain import invoices
from supplychain.db import session_scope
from supplychain.invoices import (
    FigureDifference,
    InvoiceDecision,
    InvoiceSubmission,
    LineDifferenceRow,
    SettlementHandover,
)
from supplychain.models.settlement import InvoiceMatch


@dataclass
class RecordInvoiceResult:
    duplicate: bool  # the supplier's number is taken by another upload: nothing was written
    invoice_id: int | None = None
    match: InvoiceMatch | None = None
    figures: list[FigureDifference] = field(default_factory=list)
    emailed: int = 0
    lines: list[LineDifferenceRow] = field(default_factory=list)  # the invoice's lines that differ


@activity.defn
def record_supplier_invoice(step: InvoiceSubmission) -> RecordInvoiceResult:
    """The invoice (and its lines) with its match against the statement's totals and lines (the
    supplier's tolerance): the statement MATCHED (T) or MATCH_EXCEPTION; the supplier told, and
    finance on a mismatch."""
    try:
        with session_scope() as session:
            recorded, told = invoices.record_invoice(session, step)
            ids = [row.id for row in told if row.id is not None]
    except invoices.DuplicateInvoice:
        return RecordInvoiceResult(duplicate=True)
    return RecordInvoiceResult(
        duplicate=False,
        invoice_id=recorded.invoice_id,
        match=recorded.match,
        figures=recorded.figures,
        emailed=email_after_commit(ids),
        lines=recorded.lines,
    )


@activity.defn
def record_invoice_decision(step: InvoiceDecision) -> int:
    """Finance's decision on a mismatched invoice; returns how many e-mails went out."""
    with session_scope() as session:
        told = invoices.record_invoice_decision(session, step)
        ids = [row.id for row in told if row.id is not None]
    return email_after_commit(ids)


@dataclass
class HandOverInput:
    number: str
    idempotency_key: str  # `<workflow id>:settlement_handover`


@activity.defn
def hand_over_to_settlement(input: HandOverInput) -> SettlementHandover:
    """What settlement starts from (statement id, number, supplier, total, T), with the
    "settlement_handover" timeline event. The start of SettlementWorkflow is wired at merge."""
    with session_scope() as session:
        return invoices.settlement_handover(session, input.number, input.idempotency_key)
