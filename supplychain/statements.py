"""Supplier statements: collecting the source lines, and recording each step of the statement.

Writes for activities/statement.py, each in the caller's transaction and safe to repeat.

**What a source line is** (decided for issue 12, following the debit-note design of
`supplychain.dispositions`): goods are billed as RECEIVED and returns and concessions are deducted
by their debit notes, so received - returned = accepted and the supplier sees each return on its
statement.

- A **receipt lot** (`receipt_lot`, source type RECEIPT, its id) of a shipment received on one of
  the supplier's purchase orders: its quantity x the PO line's net unit price, at the line's VAT
  rate. It is billable once it is settled in stock: a lot with no inspection (a SKU not inspected)
  at receipt; an inspected lot once its inspection has ended (stage DONE: accepted, skipped,
  conceded, sorted or returned). A lot still in inspection, waiting for HQ's decision, on hold for
  a certificate or waiting for the supplier to take a return back waits for a later statement.
  Dated by the shipment's receipt (China date).
- A **debit note** (source type DEBIT_NOTE) OPEN for the supplier: a concession's deduction or the
  value of goods returned, as a negative line with the debit note's own figures. It is marked
  RECONCILED with `statement_id` in the same transaction. Dated by its creation.
- A **price adjustment** (source type PRICE_ADJUSTMENT), either sign, with its own figures. Dated
  by its creation.

Source lines dated up to the period's end are collected, each once: `statement_line`'s unique
(source type, source id) is the guard, so two runs for different periods that overlap, or a retried
activity, put each source line on exactly one statement (the INSERT that hits the constraint skips
that source line). Shipment lines received before receipt lots existed (migration 0008) have no
lot and are not collected (see the report of issue 12: they need a source type of their own).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain import notifications
from supplychain.db import insert_once
from supplychain.events import record_event
from supplychain.i18n import lazy
from supplychain.models import (
    DebitNote,
    DebitNoteKind,
    DebitNoteStatus,
    Inspection,
    InspectionStage,
    Organisation,
    OrgKind,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLot,
    Role,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    Statement,
    StatementDispute,
    StatementLine,
)
from supplychain.models.base import utcnow
from supplychain.models.events import Notification
from supplychain.models.settlement import (
    DisputeResolution,
    PriceAdjustment,
    SettlementTerms,
    StatementCycle,
    StatementLineSource,
    StatementStatus,
)
from supplychain.notifications import users_with_role
from supplychain.numbering import reserve_number
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.rules.statement import (
    LineAmounts,
    Period,
    amounts_from_net,
    gross_price,
    statement_line_amounts,
    totals_by_rate,
)

DOCUMENT_TYPE = "statement"
STATEMENT_PREFIX = "ST"


def statement_link(number: str) -> str:
    return f"/statements/{number}"


def statement_workflow_id(supplier_id: int, period: Period) -> str:
    """One statement per supplier and period: `statement-<supplier id>-<yyyymmdd>-<yyyymmdd>`."""
    return f"statement-{supplier_id}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"


def source_link(source_type: StatementLineSource, document: str, po_number: str) -> str:
    """Where a statement line's source document is read."""
    if source_type is StatementLineSource.DEBIT_NOTE:
        return f"/debit-notes/{document}"
    if source_type is StatementLineSource.RECEIPT:
        return f"/purchase-orders/{po_number}"
    return f"/purchase-orders/{po_number}" if po_number else ""


def terms_for(session: Session, supplier_id: int) -> SettlementTerms:
    """The supplier's settlement terms; the defaults (not stored) when it has none."""
    found = session.execute(
        select(SettlementTerms).where(col(SettlementTerms.supplier_id) == supplier_id)
    ).scalar_one_or_none()
    return found or SettlementTerms(supplier_id=supplier_id, statement_cycle=StatementCycle.MONTHLY)


# --- collecting -----------------------------------------------------------------------------------


@dataclass
class SourceLine:
    source_type: StatementLineSource
    source_id: int
    source_document: str
    po_number: str
    occurred_on: date
    sku_id: int | None
    description: str
    quantity: int
    unit_price: Decimal | None
    tax_rate: Decimal
    amounts: LineAmounts
    debit_note_id: int | None = None


def _day_after(period_end: date) -> datetime:
    """The first moment after the period (China time), for comparing stored UTC timestamps."""
    return datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=BUSINESS_TIMEZONE)


def _china_date(moment: datetime) -> date:
    return moment.astimezone(BUSINESS_TIMEZONE).date()


def _not_on_a_statement(source_type: StatementLineSource, id_column: Any) -> Any:
    return ~exists().where(
        col(StatementLine.source_type) == source_type, col(StatementLine.source_id) == id_column
    )


def _receipt_lines(session: Session, supplier_id: int, until: datetime) -> list[SourceLine]:
    rows = session.execute(
        select(ReceiptLot, ShipmentLine, Shipment, PurchaseOrderLine, PurchaseOrder)
        .join(ShipmentLine, col(ShipmentLine.id) == col(ReceiptLot.shipment_line_id))
        .join(Shipment, col(Shipment.id) == col(ShipmentLine.shipment_id))
        .join(PurchaseOrderLine, col(PurchaseOrderLine.id) == col(ShipmentLine.po_line_id))
        .join(PurchaseOrder, col(PurchaseOrder.id) == col(Shipment.purchase_order_id))
        .where(
            col(PurchaseOrder.supplier_id) == supplier_id,
            col(Shipment.status) == ShipmentStatus.RECEIVED,
            col(Shipment.received_at) < until,
            _not_on_a_statement(StatementLineSource.RECEIPT, col(ReceiptLot.id)),
        )
        .order_by(
            col(Shipment.received_at),
            col(Shipment.id),
            col(PurchaseOrderLine.line_no),
            col(ReceiptLot.lot_no),
        )
    ).all()
    if not rows:
        return []
    stages = {
        (row.shipment_number, row.line_no, row.lot_no): row.stage
        for row in session.execute(
            select(Inspection).where(col(Inspection.shipment_number).in_({r[2].number for r in rows}))
        ).scalars()
    }
    lines = []
    for lot, _shipment_line, shipment, po_line, po in rows:
        stage = stages.get((shipment.number, po_line.line_no, lot.lot_no))
        if stage is not None and stage is not InspectionStage.DONE:
            continue  # still in inspection: billed once its inspection has ended
        assert lot.id is not None and shipment.received_at is not None
        lines.append(
            SourceLine(
                source_type=StatementLineSource.RECEIPT,
                source_id=lot.id,
                source_document=shipment.number,
                po_number=po.number,
                occurred_on=_china_date(shipment.received_at),
                sku_id=po_line.sku_id,
                description=" ".join(
                    part
                    for part in (f"{po.number}/{po_line.line_no}", f"lot {lot.lot_no}", lot.batch_no)
                    if part
                ),
                quantity=lot.quantity,
                unit_price=po_line.unit_price,
                tax_rate=po_line.tax_rate,
                amounts=statement_line_amounts(lot.quantity, po_line.unit_price, po_line.tax_rate),
            )
        )
    return lines


def _priced_including_tax(source: SourceLine) -> SourceLine:
    """A goods line in the convention of a supplier whose prices include VAT: its unit price with
    VAT, and its amounts worked out from that (the issue's rule for prices including tax)."""
    if source.source_type is not StatementLineSource.RECEIPT or source.unit_price is None:
        return source  # debit notes and adjustments carry their own figures
    return replace(
        source,
        unit_price=gross_price(source.unit_price, source.tax_rate),
        amounts=statement_line_amounts(
            source.quantity, source.unit_price, source.tax_rate, prices_include_tax=True
        ),
    )


def _debit_note_lines(session: Session, supplier_id: int, until: datetime) -> list[SourceLine]:
    rows = session.execute(
        select(DebitNote, Inspection)
        .join(Inspection, col(Inspection.id) == col(DebitNote.inspection_id))
        .where(
            col(DebitNote.supplier_id) == supplier_id,
            col(DebitNote.status) == DebitNoteStatus.OPEN,
            col(DebitNote.created_at) < until,
            _not_on_a_statement(StatementLineSource.DEBIT_NOTE, col(DebitNote.id)),
        )
        .order_by(col(DebitNote.created_at), col(DebitNote.id))
    ).all()
    lines = []
    for note, inspection in rows:
        assert note.id is not None
        returned = note.kind is DebitNoteKind.RETURN_TO_VENDOR
        lines.append(
            SourceLine(
                source_type=StatementLineSource.DEBIT_NOTE,
                source_id=note.id,
                source_document=note.number,
                po_number=note.po_number,
                occurred_on=_china_date(note.created_at),
                sku_id=note.sku_id,
                description=note.kind.value,
                quantity=-note.quantity if returned else 0,
                unit_price=inspection.unit_price if returned else None,
                tax_rate=inspection.tax_rate or Decimal("0"),
                amounts=LineAmounts(-note.net_amount, -note.tax_amount),
                debit_note_id=note.id,
            )
        )
    return lines


def _adjustment_lines(session: Session, supplier_id: int, until: datetime) -> list[SourceLine]:
    rows = session.execute(
        select(PriceAdjustment)
        .where(
            col(PriceAdjustment.supplier_id) == supplier_id,
            col(PriceAdjustment.created_at) < until,
            _not_on_a_statement(StatementLineSource.PRICE_ADJUSTMENT, col(PriceAdjustment.id)),
        )
        .order_by(col(PriceAdjustment.created_at), col(PriceAdjustment.id))
    ).scalars()
    return [
        SourceLine(
            source_type=StatementLineSource.PRICE_ADJUSTMENT,
            source_id=adjustment.id,
            source_document=adjustment.number,
            po_number=adjustment.po_number,
            occurred_on=_china_date(adjustment.created_at),
            sku_id=None,
            description=adjustment.reason[:300],
            quantity=0,
            unit_price=None,
            tax_rate=adjustment.tax_rate,
            amounts=LineAmounts(adjustment.net_amount, adjustment.tax_amount),
        )
        for adjustment in rows
    ]


def pending_source_lines(session: Session, supplier_id: int, period_end: date) -> list[SourceLine]:
    """Every source line of the supplier dated up to `period_end` and not on a statement yet."""
    until = _day_after(period_end)
    return [
        *_receipt_lines(session, supplier_id, until),
        *_debit_note_lines(session, supplier_id, until),
        *_adjustment_lines(session, supplier_id, until),
    ]


def get_statement(session: Session, number: str) -> Statement | None:
    return session.execute(select(Statement).where(col(Statement.number) == number)).scalar_one_or_none()


def statement_by_workflow(session: Session, workflow_id: str) -> Statement | None:
    return session.execute(
        select(Statement).where(col(Statement.workflow_id) == workflow_id)
    ).scalar_one_or_none()


def statement_lines(session: Session, statement_id: int) -> list[StatementLine]:
    return list(
        session.execute(
            select(StatementLine)
            .where(col(StatementLine.statement_id) == statement_id)
            .order_by(col(StatementLine.line_no))
        ).scalars()
    )


def collect_statement(
    session: Session,
    *,
    workflow_id: str,
    supplier_id: int,
    period: Period,
    idempotency_key: str,
    at: datetime,
) -> tuple[Statement | None, list[Notification]]:
    """The period's statement with every pending source line on it, its "created" event and the
    supplier told; (None, []) when there is nothing to put on it. A retry returns the statement an
    earlier attempt committed. Commits the number reservation first (numbering.reserve_number)."""
    existing = statement_by_workflow(session, workflow_id)
    if existing is not None:
        return existing, []
    pending = pending_source_lines(session, supplier_id, period.end)
    if not pending:
        return None, []
    number = reserve_number(session, STATEMENT_PREFIX, _china_date(at).year)
    terms = terms_for(session, supplier_id)
    if terms.prices_include_tax:
        pending = [_priced_including_tax(source) for source in pending]
    statement, created = insert_once(
        session,
        Statement(
            number=number,
            workflow_id=workflow_id,
            supplier_id=supplier_id,
            period_start=period.start,
            period_end=period.end,
            prices_include_tax=terms.prices_include_tax,
            created_at=at,
        ),
        lambda: statement_by_workflow(session, workflow_id),
    )
    if not created:
        return statement, []
    assert statement.id is not None
    written: list[StatementLine] = []
    for source in pending:
        row = _line_row(statement.id, len(written) + 1, source)
        savepoint = session.begin_nested()
        try:
            session.add(row)
            session.flush()
            savepoint.commit()
        except IntegrityError:  # another statement took this source line meanwhile: skip it
            savepoint.rollback()
            continue
        written.append(row)
        if source.debit_note_id is not None:
            note = session.get(DebitNote, source.debit_note_id)
            assert note is not None
            note.status = DebitNoteStatus.RECONCILED
            note.statement_id = statement.id
            session.add(note)
    if not written:  # every line went to an overlapping run: no statement after all
        session.rollback()
        return None, []
    _set_totals(statement, written)
    session.add(statement)
    session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=statement.number,
        action="created",
        idempotency_key=idempotency_key,
        after={
            "period_start": period.start,
            "period_end": period.end,
            "lines": len(written),
            "total_amount": statement.total_amount,
        },
        occurred_at=at,
    )
    told = notifications.notify(
        session,
        user_ids=recipients(session, statement, Audience.SUPPLIER),
        message=WAITING_FOR_CONFIRMATION,
        params=_params(statement),
        idempotency_key=f"{idempotency_key}:{Audience.SUPPLIER}",
        link=statement_link(statement.number),
        document_type=DOCUMENT_TYPE,
        document_id=statement.number,
    )
    return statement, told


WAITING_FOR_CONFIRMATION = lazy(
    "Statement %(number)s (%(start)s to %(end)s) is waiting for your confirmation."
)


def _line_row(statement_id: int, line_no: int, source: SourceLine) -> StatementLine:
    return StatementLine(
        statement_id=statement_id,
        line_no=line_no,
        source_type=source.source_type,
        source_id=source.source_id,
        source_document=source.source_document,
        po_number=source.po_number,
        occurred_on=source.occurred_on,
        sku_id=source.sku_id,
        description=source.description[:300],
        quantity=source.quantity,
        unit_price=source.unit_price,
        tax_rate=source.tax_rate,
        original_net_amount=source.amounts.net,
        net_amount=source.amounts.net,
        tax_amount=source.amounts.tax,
        total_amount=source.amounts.total,
    )


def _set_totals(statement: Statement, lines: Sequence[StatementLine]) -> None:
    rates = totals_by_rate((line.tax_rate, line.net_amount, line.tax_amount) for line in lines)
    statement.net_amount = sum((rate.net for rate in rates), Decimal("0.00"))
    statement.tax_amount = sum((rate.tax for rate in rates), Decimal("0.00"))
    statement.total_amount = statement.net_amount + statement.tax_amount


def _params(statement: Statement) -> dict[str, Any]:
    return {
        "number": statement.number,
        "start": statement.period_start.isoformat(),
        "end": statement.period_end.isoformat(),
    }


# --- who hears about it -----------------------------------------------------------------------------


class Audience(enum.StrEnum):
    SUPPLIER = "supplier"  # the supplier organisation's users
    BUYERS = "buyers"  # HQ buyers
    APPROVERS = "approvers"  # HQ approvers: a dispute the buyers left unanswered is escalated to them


def recipients(session: Session, statement: Statement, audience: Audience) -> list[int]:
    if audience is Audience.SUPPLIER:
        return users_with_role(session, Role.SUPPLIER, statement.supplier_id)
    role = Role.BUYER if audience is Audience.BUYERS else Role.APPROVER
    hq_ids = session.execute(
        select(col(Organisation.id)).where(col(Organisation.kind) == OrgKind.HQ)
    ).scalars()
    return [uid for org_id in hq_ids for uid in users_with_role(session, role, org_id)]


@dataclass
class Notice:
    audience: Audience
    message: str  # a message id; the statement's number, period start and end are added
    params: dict[str, Any] = field(default_factory=dict)


# --- the steps --------------------------------------------------------------------------------------


@dataclass
class DisputeRaised:
    line_no: int
    round: int
    reason: str
    supplier_net_amount: Decimal  # signed, as the line


@dataclass
class DisputeResolved:
    line_no: int
    round: int
    resolution: DisputeResolution
    net_amount: Decimal  # the line's figure from now on (signed)
    comment: str = ""


@dataclass
class StatementStep:
    """One step of the statement as the workflow decided it; `record_step` writes it all."""

    number: str
    action: str  # the timeline entry: "confirmed", "line_disputed", "dispute_resolved", ...
    idempotency_key: str  # `<workflow id>:<action>:<n>`; a notice's `<key>:<audience>`
    status: StatementStatus | None = None  # None: as it is (a reminder)
    actor_user_id: int | None = None
    raised: DisputeRaised | None = None
    resolved: DisputeResolved | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    occurred_at: datetime | None = None


def require_statement(session: Session, number: str) -> Statement:
    statement = get_statement(session, number)
    if statement is None:
        raise LookupError(f"statement {number} not recorded")
    return statement


def _line(session: Session, statement: Statement, line_no: int) -> StatementLine:
    line: StatementLine = session.execute(
        select(StatementLine).where(
            col(StatementLine.statement_id) == statement.id, col(StatementLine.line_no) == line_no
        )
    ).scalar_one()
    return line


def _dispute(session: Session, line: StatementLine, round: int) -> StatementDispute | None:
    return session.execute(
        select(StatementDispute).where(
            col(StatementDispute.statement_line_id) == line.id, col(StatementDispute.round) == round
        )
    ).scalar_one_or_none()


def record_step(session: Session, step: StatementStep) -> list[Notification]:
    """Write one step: the dispute row or its resolution (and the line's new figure, the statement's
    totals), the status, the timeline event and the notices. Safe to repeat (absolute values, the
    dispute unique per line and round, keys on the event and notifications)."""
    statement = require_statement(session, step.number)
    at = step.occurred_at or utcnow()
    before: dict[str, Any] = {}
    after: dict[str, Any] = dict(step.details)
    if step.raised is not None:
        raised = step.raised
        line = _line(session, statement, raised.line_no)
        insert_once(
            session,
            StatementDispute(
                statement_id=statement.id,  # type: ignore[arg-type]
                statement_line_id=line.id,  # type: ignore[arg-type]
                round=raised.round,
                reason=raised.reason[:1000],
                supplier_net_amount=raised.supplier_net_amount,
                raised_by_user_id=step.actor_user_id,  # type: ignore[arg-type]
                raised_at=at,
            ),
            lambda: _dispute(session, line, raised.round),
        )
        after |= {
            "line": raised.line_no,
            "round": raised.round,
            "supplier_net_amount": raised.supplier_net_amount,
        }
    if step.resolved is not None:
        resolved = step.resolved
        line = _line(session, statement, resolved.line_no)
        dispute = _dispute(session, line, resolved.round)
        assert dispute is not None
        dispute.resolution = resolved.resolution
        dispute.resolved_net_amount = resolved.net_amount
        dispute.resolution_comment = resolved.comment[:1000]
        dispute.resolved_by_user_id = step.actor_user_id
        dispute.resolved_at = dispute.resolved_at or at
        session.add(dispute)
        if line.net_amount != resolved.net_amount:
            before |= {"line": resolved.line_no, "net_amount": line.net_amount}
            amounts = amounts_from_net(resolved.net_amount, line.tax_rate)
            line.net_amount, line.tax_amount, line.total_amount = amounts.net, amounts.tax, amounts.total
            session.add(line)
            session.flush()
            _set_totals(statement, statement_lines(session, statement.id))  # type: ignore[arg-type]
        after |= {
            "line": resolved.line_no,
            "round": resolved.round,
            "resolution": resolved.resolution,
            "net_amount": resolved.net_amount,
        }
    if step.status is not None and step.status is not statement.status:
        before["status"] = statement.status
        after["status"] = step.status
        statement.status = step.status
        if step.status is StatementStatus.CONFIRMED:
            statement.confirmed_by_user_id = step.actor_user_id
            statement.confirmed_at = at
    session.add(statement)
    session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=statement.number,
        action=step.action,
        idempotency_key=step.idempotency_key,
        actor_user_id=step.actor_user_id,
        before=before or None,
        after=after or None,
        note=step.note,
        occurred_at=at,
    )
    return [
        row
        for notice in step.notices
        for row in notifications.notify(
            session,
            user_ids=recipients(session, statement, notice.audience),
            message=notice.message,
            params={**_params(statement), **notice.params},
            idempotency_key=f"{step.idempotency_key}:{notice.audience}",
            link=statement_link(statement.number),
            document_type=DOCUMENT_TYPE,
            document_id=statement.number,
        )
    ]


# --- reading for the pages ------------------------------------------------------------------------------


def open_dispute_count(session: Session, statement_ids: Sequence[int]) -> dict[int, int]:
    if not statement_ids:
        return {}
    rows = session.execute(
        select(col(StatementDispute.statement_id), func.count())
        .where(
            col(StatementDispute.statement_id).in_(statement_ids), col(StatementDispute.resolution).is_(None)
        )
        .group_by(col(StatementDispute.statement_id))
    ).all()
    return {statement_id: int(n) for statement_id, n in rows}
