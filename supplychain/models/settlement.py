"""Reconciliation and settlement (DESIGN 4.4, 4.5): supplier statements and their lines, line
disputes, supplier invoices, payments and payment runs, per-supplier settlement terms, and the
admin-entered working-day overrides of the Chinese calendar.

- A **statement** collects, per supplier and period, every source line not yet on a statement:
  goods received at the PO price (per lot where lots exist), concession deductions and returns
  (their debit notes), and price adjustments. `statement_line` carries a unique (source type,
  source id): each source line lands on exactly one statement, however runs overlap or retry.
- **Disputes** are rounds on a line: the supplier's figure and reason, then the buyer's
  resolution (accept the supplier's figure, keep ours with a comment, or adjust).
- A **supplier invoice** answers one confirmed statement; its number is unique per supplier.
- A **payment** settles one statement: due date from the terms (T+N), finance approval above a
  limit, an idempotency key the payment adapter is called with (a payment is never made twice),
  and the bank's result. A **payment run** is one instruction file with the payments in it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from supplychain.models.base import (
    created_at_field,
    decimal_field,
    money_field,
    public_id_field,
    timestamp_field,
)
from supplychain.models.org import enum_column
from supplychain.rules.money import PRICE_PLACES

RATE_PLACES = 6  # early-payment discount per day: 0.05 % is 0.000500
# Unit prices as a VAT invoice prints them (often to 6 or 8 places, to make the amount come out).
BILLED_PRICE_PLACES = 8


class StatementCycle(enum.StrEnum):
    MONTHLY = "monthly"
    SEMI_MONTHLY = "semi_monthly"  # 1st-15th, 16th-end of month
    WEEKLY = "weekly"  # Monday-Sunday


class DueDateMode(enum.StrEnum):
    CALENDAR_DAYS = "calendar_days"  # T + N days, moved to the next working day
    WORKING_DAYS = "working_days"  # the Nth working day after T (T never counts)


class SettlementTerms(SQLModel, table=True):
    """How one supplier is reconciled and paid. A supplier without a row gets the defaults."""

    __tablename__ = "settlement_terms"
    __table_args__ = (
        CheckConstraint("payment_days BETWEEN 1 AND 365", name="ck_terms_payment_days"),
        CheckConstraint("tolerance_amount >= 0", name="ck_terms_tolerance_amount"),
        # Units of the exact decimals: percentage 0..100 % (4 places), discount 0..1 % a day (6 places).
        CheckConstraint("tolerance_percent BETWEEN 0 AND 10000", name="ck_terms_tolerance_percent"),
        CheckConstraint("early_payment_rate_per_day BETWEEN 0 AND 10000", name="ck_terms_early_payment_rate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    supplier_id: int = Field(foreign_key="organisation.id", unique=True)
    statement_cycle: StatementCycle = Field(
        default=StatementCycle.MONTHLY, sa_type=enum_column(StatementCycle, "statement_cycle")
    )
    payment_days: int = 7
    due_date_mode: DueDateMode = Field(
        default=DueDateMode.CALENDAR_DAYS, sa_type=enum_column(DueDateMode, "due_date_mode")
    )
    # Price convention of the supplier's statements: unit prices excluding VAT (the PO's) or including.
    prices_include_tax: bool = False
    # Three-way match: a difference within either bound is accepted.
    tolerance_amount: Decimal = money_field(default=Decimal("1.00"))
    tolerance_percent: Decimal = decimal_field(PRICE_PLACES, default=Decimal("0.0000"))  # 0.0050 = 0.5 %
    # Early payment at the supplier's request: discount per calendar day before the due date.
    early_payment_rate_per_day: Decimal = decimal_field(RATE_PLACES, default=Decimal("0.000000"))
    schedule_paused: bool = False
    updated_at: datetime = created_at_field()


class StatementStatus(enum.StrEnum):
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # sent to the supplier
    DISPUTED = "disputed"  # at least one line waits for the buyer
    CONFIRMED = "confirmed"  # the supplier agreed; waiting for the invoice
    MATCH_EXCEPTION = "match_exception"  # the invoice differs beyond tolerance: an approval decides
    MATCHED = "matched"  # T: settlement runs from here
    PAID = "paid"
    CANCELLED = "cancelled"


class Statement(SQLModel, table=True):
    __tablename__ = "statement"
    __table_args__ = (
        UniqueConstraint("supplier_id", "period_start", "period_end", name="uq_statement_supplier_period"),
        CheckConstraint("period_start <= period_end", name="ck_statement_period"),
        CheckConstraint("total_amount = net_amount + tax_amount", name="ck_statement_total"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # ST-2026-000001
    workflow_id: str = Field(max_length=100, unique=True)
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    period_start: date
    period_end: date
    status: StatementStatus = Field(
        default=StatementStatus.AWAITING_CONFIRMATION,
        sa_type=enum_column(StatementStatus, "statement_status"),
    )
    prices_include_tax: bool = False
    net_amount: Decimal = money_field(default=Decimal("0.00"))
    tax_amount: Decimal = money_field(default=Decimal("0.00"))
    total_amount: Decimal = money_field(default=Decimal("0.00"))
    confirmed_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    confirmed_at: datetime | None = timestamp_field()
    matched_on: date | None = None  # T: the business day it was confirmed and matched
    created_at: datetime = created_at_field()


class StatementLineSource(enum.StrEnum):
    RECEIPT = "receipt"  # goods received on a PO line (one lot, or the whole line without lots)
    DEBIT_NOTE = "debit_note"  # a concession deduction or a return to vendor (negative)
    PRICE_ADJUSTMENT = "price_adjustment"  # agreed by the buyer (either sign)


class StatementLine(SQLModel, table=True):
    __tablename__ = "statement_line"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", name="uq_statement_line_source"),
        UniqueConstraint("statement_id", "line_no", name="uq_statement_line_no"),
        CheckConstraint("total_amount = net_amount + tax_amount", name="ck_statement_line_total"),
        CheckConstraint("tax_rate BETWEEN 0 AND 10000", name="ck_statement_line_tax_rate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(foreign_key="statement.id", index=True)
    line_no: int
    source_type: StatementLineSource = Field(
        sa_type=enum_column(StatementLineSource, "statement_line_source")
    )
    source_id: int  # receipt_lot / shipment_line / debit_note / price_adjustment id, by source_type
    source_document: str = Field(max_length=64)  # the number its link shows: PO, SHP, DN, ADJ
    po_number: str = Field(default="", max_length=32, index=True)
    occurred_on: date
    sku_id: int | None = Field(default=None, foreign_key="sku.id")
    description: str = Field(default="", max_length=300)
    quantity: int = 0  # signed: negative for returns
    unit_price: Decimal | None = decimal_field(PRICE_PLACES, nullable=True)
    tax_rate: Decimal = decimal_field(PRICE_PLACES)
    # Our figure as collected; the current one changes only by a resolved dispute.
    original_net_amount: Decimal = money_field()
    net_amount: Decimal = money_field()
    tax_amount: Decimal = money_field()
    total_amount: Decimal = money_field()


class DisputeResolution(enum.StrEnum):
    ACCEPTED_SUPPLIER = "accepted_supplier"  # the supplier's figure replaces ours
    KEPT_OURS = "kept_ours"  # with the buyer's comment
    ADJUSTED = "adjusted"  # a third figure the buyer sets


class StatementDispute(SQLModel, table=True):
    """One round of a dispute on one line: raised by the supplier, resolved by the buyer."""

    __tablename__ = "statement_dispute"
    __table_args__ = (UniqueConstraint("statement_line_id", "round", name="uq_statement_dispute_round"),)

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(foreign_key="statement.id", index=True)
    statement_line_id: int = Field(foreign_key="statement_line.id", index=True)
    round: int
    reason: str = Field(max_length=1000)
    supplier_net_amount: Decimal = money_field()  # the supplier's figure, excluding VAT
    raised_by_user_id: int = Field(foreign_key="app_user.id")
    raised_at: datetime = created_at_field()
    resolution: DisputeResolution | None = Field(
        default=None, sa_type=enum_column(DisputeResolution, "dispute_resolution"), nullable=True
    )
    resolved_net_amount: Decimal | None = money_field(nullable=True)
    resolution_comment: str = Field(default="", max_length=1000)
    resolved_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    resolved_at: datetime | None = timestamp_field()


class PriceAdjustment(SQLModel, table=True):
    """An amount agreed with a supplier outside any receipt (a rebate, a price correction)."""

    __tablename__ = "price_adjustment"
    __table_args__ = (
        CheckConstraint("net_amount <> 0", name="ck_price_adjustment_nonzero"),
        CheckConstraint("total_amount = net_amount + tax_amount", name="ck_price_adjustment_total"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # ADJ-2026-000001
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    po_number: str = Field(default="", max_length=32)
    reason: str = Field(max_length=1000)
    tax_rate: Decimal = decimal_field(PRICE_PLACES)
    net_amount: Decimal = money_field()
    tax_amount: Decimal = money_field()
    total_amount: Decimal = money_field()
    created_by_user_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class InvoiceMatch(enum.StrEnum):
    MATCHED = "matched"
    MISMATCH = "mismatch"  # beyond tolerance: waiting for the approval step
    ACCEPTED = "accepted"  # a mismatch HQ approved anyway
    REJECTED = "rejected"  # a mismatch HQ refused: the supplier uploads a corrected invoice


class SupplierInvoice(SQLModel, table=True):
    """The supplier's VAT invoice (发票) for one confirmed statement, file checked by content."""

    __tablename__ = "supplier_invoice"
    __table_args__ = (
        UniqueConstraint("supplier_id", "invoice_number", name="uq_supplier_invoice_number"),
        CheckConstraint("net_amount >= 0 AND tax_amount >= 0", name="ck_supplier_invoice_amounts"),
        CheckConstraint("total_amount = net_amount + tax_amount", name="ck_supplier_invoice_total"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = public_id_field()
    statement_id: int = Field(foreign_key="statement.id", index=True)
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    invoice_number: str = Field(max_length=32)
    invoice_date: date
    net_amount: Decimal = money_field()
    tax_amount: Decimal = money_field()
    total_amount: Decimal = money_field()
    stored_name: str = Field(max_length=100)  # under UPLOAD_DIR, random
    content_type: str = Field(max_length=50)
    size_bytes: int
    match: InvoiceMatch = Field(sa_type=enum_column(InvoiceMatch, "invoice_match"))
    uploaded_by_user_id: int = Field(foreign_key="app_user.id")
    uploaded_at: datetime = created_at_field()


class SupplierInvoiceLine(SQLModel, table=True):
    """A line of a supplier invoice as billed, against the statement line it bills: the quantity and
    unit price the invoice prints, and its amount excluding tax (quantity x price, half-up)."""

    __tablename__ = "supplier_invoice_line"
    __table_args__ = (
        UniqueConstraint("invoice_id", "statement_line_id", name="uq_supplier_invoice_line"),
        CheckConstraint(
            "quantity >= 0 AND unit_price >= 0 AND net_amount >= 0", name="ck_supplier_invoice_line_values"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="supplier_invoice.id", index=True)
    statement_line_id: int = Field(foreign_key="statement_line.id")
    quantity: int
    unit_price: Decimal = decimal_field(BILLED_PRICE_PLACES)
    net_amount: Decimal = money_field()


class PaymentStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for its due date
    AWAITING_APPROVAL = "awaiting_approval"  # above the finance limit
    INSTRUCTED = "instructed"  # in a payment run's instruction file
    PAID = "paid"
    FAILED = "failed"  # the bank refused it: finance decides
    CANCELLED = "cancelled"


class PaymentRun(SQLModel, table=True):
    """One instruction file handed to the bank, and the result file read back."""

    __tablename__ = "payment_run"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # PR-2026-000001
    instruction_file: str = Field(max_length=200)
    result_file: str = Field(default="", max_length=200)
    created_at: datetime = created_at_field()


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_payment_amount_pos"),
        CheckConstraint("discount_amount >= 0 AND discount_amount < amount", name="ck_payment_discount"),
        CheckConstraint("payable_amount = amount - discount_amount", name="ck_payment_payable"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # PAY-2026-000001
    workflow_id: str = Field(max_length=100, unique=True)
    statement_id: int = Field(foreign_key="statement.id", unique=True)  # one payment per statement
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    amount: Decimal = money_field()  # the statement's total including VAT
    discount_amount: Decimal = money_field(default=Decimal("0.00"))  # early payment
    payable_amount: Decimal = money_field()
    matched_on: date  # T
    due_date: date
    due_date_provisional: bool = False  # past the official calendar: finance was told
    early_payment_date: date | None = None  # the supplier asked to be paid on this day instead
    # Finance agreed: paid on that day, less the discount.
    early_payment_approved: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    status: PaymentStatus = Field(
        default=PaymentStatus.SCHEDULED, sa_type=enum_column(PaymentStatus, "payment_status")
    )
    approved_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = timestamp_field()
    # Due (or early payment agreed) and approved: the next payment run takes it (status SCHEDULED).
    ready_at: datetime | None = timestamp_field()
    # What the payment adapter is called with: the same key on every retry, so the bank pays once.
    idempotency_key: str = Field(max_length=200, unique=True)
    payment_run_id: int | None = Field(default=None, foreign_key="payment_run.id", index=True)
    bank_reference: str = Field(default="", max_length=64)
    failure_reason: str = Field(default="", max_length=500)
    paid_on: date | None = None
    created_at: datetime = created_at_field()


class WorkingDayOverride(SQLModel, table=True):
    """An official working day or holiday an admin entered (the State Council's make-up workdays
    for a year the calendar library does not know yet); it wins over both libraries."""

    __tablename__ = "working_day_override"

    day: date = Field(primary_key=True)
    is_working_day: bool
    note: str = Field(default="", max_length=200)
    entered_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
