"""Stock balances per location and SKU, and the append-only ledger that explains them.

Each ledger row carries the change it made to each balance bucket; summing the ledger per location
and SKU gives the balance row exactly. Both are written in one transaction by
`supplychain.stock.post_movement`, and CHECK constraints keep every bucket non-negative.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field
from supplychain.models.org import enum_column


class MovementType(enum.StrEnum):
    OPENING = "opening"  # starting stock loaded at go-live
    RECEIPT = "receipt"  # goods received into on hand (e.g. accepted purchase receipt)
    ISSUE = "issue"  # goods leaving on hand (sale, consumption, return to vendor)
    ADJUSTMENT = "adjustment"  # stock count correction, either sign
    RESERVE = "reserve"  # on hand earmarked for a document
    RELEASE = "release"  # reservation given back
    DISPATCH = "dispatch"  # reserved goods leave the source location
    TRANSIT_IN = "transit_in"  # goods on their way to the destination location
    TRANSIT_RECEIPT = "transit_receipt"  # goods in transit arrive into on hand
    TRANSIT_LOSS = "transit_loss"  # goods lost or damaged in transit
    # Receiving inspection: a lot waits in quarantine (on hand, not available) until its disposition.
    QUARANTINE_RECEIPT = "quarantine_receipt"  # received into on hand, held in quarantine
    QUARANTINE_RELEASE = "quarantine_release"  # accepted (or conceded): quarantine -> available
    RETURN_TO_VENDOR = "return_to_vendor"  # a rejected lot handed back to the supplier


class StockBalance(SQLModel, table=True):
    __tablename__ = "stock_balance"
    __table_args__ = (
        UniqueConstraint("location_id", "sku_id", name="uq_stock_balance_location_sku"),
        CheckConstraint("on_hand >= 0", name="ck_stock_on_hand_nonneg"),
        CheckConstraint("reserved >= 0", name="ck_stock_reserved_nonneg"),
        CheckConstraint("in_transit >= 0", name="ck_stock_in_transit_nonneg"),
        CheckConstraint("reserved <= on_hand", name="ck_stock_reserved_le_on_hand"),
        CheckConstraint("quarantine >= 0", name="ck_stock_quarantine_nonneg"),
        CheckConstraint("reserved + quarantine <= on_hand", name="ck_stock_held_le_on_hand"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    # Part of on hand held by receiving inspection: counted in stock, not available to reserve.
    quarantine: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.quarantine


class StockLedgerEntry(SQLModel, table=True):
    __tablename__ = "stock_ledger"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_stock_ledger_idempotency_key"),
        CheckConstraint(
            "delta_on_hand <> 0 OR delta_reserved <> 0 OR delta_in_transit <> 0 OR delta_quarantine <> 0",
            name="ck_stock_ledger_moves_something",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    movement_type: MovementType = Field(sa_type=enum_column(MovementType, "movement_type"))
    delta_on_hand: int = 0
    delta_reserved: int = 0
    delta_in_transit: int = 0
    delta_quarantine: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    source_document_type: str = Field(max_length=32)
    source_document_id: str = Field(max_length=64, index=True)
    idempotency_key: str = Field(max_length=200)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    note: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()
