"""Returns to vendor (RTV) and debit notes: what a rejected lot costs the supplier.

An RTV is opened when HQ returns a rejected lot (or the bad units found by sorting); the supplier
acknowledges it, the goods leave quarantine and a debit note carries the amount into reconciliation.
A concession (让步接收) raises a debit note for its price deduction without any return. Each debit
note lands on exactly one supplier statement later (`statement_id`, set by reconciliation).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field, decimal_field, money_field, timestamp_field
from supplychain.models.org import enum_column
from supplychain.rules.money import PRICE_PLACES


class ReturnStatus(enum.StrEnum):
    AWAITING_ACKNOWLEDGEMENT = "awaiting_acknowledgement"
    ACKNOWLEDGED = "acknowledged"  # the supplier took the goods back; stock issued


class ReturnToVendor(SQLModel, table=True):
    __tablename__ = "return_to_vendor"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_rtv_quantity_pos"),
        CheckConstraint(
            "(status = 'awaiting_acknowledgement' AND acknowledged_at IS NULL)"
            " OR (status = 'acknowledged' AND acknowledged_at IS NOT NULL"
            " AND acknowledged_by_user_id IS NOT NULL)",
            name="ck_rtv_acknowledged",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # RTV-2026-000001
    inspection_id: int = Field(foreign_key="inspection.id", unique=True)  # one return per lot
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    sku_id: int = Field(foreign_key="sku.id")
    location_id: int = Field(foreign_key="location.id")  # where the goods are handed back
    po_number: str = Field(max_length=32, index=True)
    quantity: int
    unit_price: Decimal = decimal_field(PRICE_PLACES)
    tax_rate: Decimal = decimal_field(PRICE_PLACES)
    reason: str = Field(default="", max_length=1000)
    status: ReturnStatus = Field(
        default=ReturnStatus.AWAITING_ACKNOWLEDGEMENT, sa_type=enum_column(ReturnStatus, "return_status")
    )
    acknowledged_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    acknowledged_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class DebitNoteKind(enum.StrEnum):
    CONCESSION = "concession"  # price deduction on a lot accepted by concession
    RETURN_TO_VENDOR = "return_to_vendor"  # value of goods returned


class DebitNoteStatus(enum.StrEnum):
    OPEN = "open"  # not yet on a statement
    RECONCILED = "reconciled"


class DebitNote(SQLModel, table=True):
    __tablename__ = "debit_note"
    __table_args__ = (
        UniqueConstraint("inspection_id", "kind", name="uq_debit_note_inspection_kind"),
        CheckConstraint("net_amount > 0", name="ck_debit_note_net_pos"),
        CheckConstraint("tax_amount >= 0", name="ck_debit_note_tax_nonneg"),
        CheckConstraint("total_amount = net_amount + tax_amount", name="ck_debit_note_total"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)  # DN-2026-000001
    kind: DebitNoteKind = Field(sa_type=enum_column(DebitNoteKind, "debit_note_kind"))
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    return_id: int | None = Field(default=None, foreign_key="return_to_vendor.id")
    po_number: str = Field(max_length=32, index=True)
    sku_id: int = Field(foreign_key="sku.id")
    quantity: int  # units the amount is computed on
    net_amount: Decimal = money_field()
    tax_amount: Decimal = money_field()
    total_amount: Decimal = money_field()
    reason: str = Field(default="", max_length=1000)
    status: DebitNoteStatus = Field(
        default=DebitNoteStatus.OPEN, sa_type=enum_column(DebitNoteStatus, "debit_note_status")
    )
    statement_id: int | None = None  # the supplier statement it landed on (reconciliation, later)
    created_at: datetime = created_at_field()
