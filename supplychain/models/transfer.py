"""Transfers between locations (warehouse -> store, region -> region): the read model of
TransferWorkflow. The workflow owns the process; these rows are written only by its activities."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import blank_text_field, created_at_field, timestamp_field
from supplychain.models.org import enum_column


class TransferStatus(enum.StrEnum):
    REQUESTED = "requested"  # recorded; the source's stock is being reserved
    PENDING_APPROVAL = "pending_approval"
    APPROVAL_REJECTED = "approval_rejected"
    NOT_AVAILABLE = "not_available"  # the source could not reserve every line
    RESERVED = "reserved"  # stock held at the source, waiting for dispatch
    IN_TRANSIT = "in_transit"
    LOSS_PENDING = "loss_pending"  # received short or damaged; the loss waits for approval
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_TRANSFER_STATUSES


FINAL_TRANSFER_STATUSES = frozenset(
    {
        TransferStatus.APPROVAL_REJECTED,
        TransferStatus.NOT_AVAILABLE,
        TransferStatus.COMPLETED,
        TransferStatus.CANCELLED,
    }
)


class TransferOrigin(enum.StrEnum):
    REQUESTED = "requested"  # asked for by a store or warehouse
    SOURCING = "sourcing"  # a store's request served from warehouse stock
    PLANNER = "planner"  # proposed by the transfer planner and released by HQ


class Transfer(SQLModel, table=True):
    __tablename__ = "transfer"
    __table_args__ = (
        CheckConstraint("source_location_id <> destination_location_id", name="ck_transfer_two_places"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    workflow_id: str = Field(max_length=64, unique=True)
    status: TransferStatus = Field(sa_type=enum_column(TransferStatus, "transfer_status"))
    origin: TransferOrigin = Field(sa_type=enum_column(TransferOrigin, "transfer_origin"))
    source_location_id: int = Field(foreign_key="location.id", index=True)
    destination_location_id: int = Field(foreign_key="location.id", index=True)
    # Denormalised from the two locations, so scoping is one comparison per side.
    source_org_id: int = Field(foreign_key="organisation.id", index=True)
    destination_org_id: int = Field(foreign_key="organisation.id", index=True)
    requested_by_user_id: int = Field(foreign_key="app_user.id")
    needs_approval: bool = False
    carrier: str = blank_text_field(max_length=100)
    tracking_number: str = blank_text_field(max_length=100)
    expected_arrival: date | None = None
    dispatched_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()
    status_reason: str = blank_text_field(max_length=500)
    note: str = blank_text_field(max_length=500)
    purchase_order_number: str | None = Field(default=None, max_length=32, index=True)
    created_at: datetime = created_at_field()


class TransferLine(SQLModel, table=True):
    __tablename__ = "transfer_line"
    __table_args__ = (
        UniqueConstraint("transfer_id", "line_no", name="uq_transfer_line_no"),
        CheckConstraint("quantity > 0", name="ck_transfer_line_quantity"),
        CheckConstraint("quantity_received >= 0", name="ck_transfer_line_received"),
        CheckConstraint("quantity_lost >= 0", name="ck_transfer_line_lost"),
        CheckConstraint("quantity_received + quantity_lost <= quantity", name="ck_transfer_line_settled"),
    )

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(foreign_key="transfer.id", index=True)
    line_no: int
    sku_id: int = Field(foreign_key="sku.id", index=True)
    quantity: int
    quantity_received: int = 0  # into the destination's on hand
    quantity_damaged: int = 0  # arrived unusable (part of the loss)
    quantity_lost: int = 0  # written off after approval (short + damaged)
