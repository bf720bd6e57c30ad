"""Purchase orders, their lines, shipments (ASN) and receipts: the read model of ReplenishmentWorkflow.

The workflow owns the process; these rows are written only by its activities so that lists and
document pages can be read from the database.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field, decimal_field, money_field, timestamp_field
from supplychain.models.org import enum_column
from supplychain.rules.money import PRICE_PLACES


class POStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVAL_REJECTED = "approval_rejected"
    SENT = "sent"  # waiting for the supplier to confirm
    CONFIRMED = "confirmed"  # confirmed (possibly short), nothing shipped yet
    SUPPLIER_REJECTED = "supplier_rejected"
    IN_DELIVERY = "in_delivery"  # at least one shipment
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_PO_STATUSES


FINAL_PO_STATUSES = frozenset(
    {POStatus.APPROVAL_REJECTED, POStatus.SUPPLIER_REJECTED, POStatus.CLOSED, POStatus.CANCELLED}
)


class POLineStatus(enum.StrEnum):
    OPEN = "open"
    SHORT_CLOSED = "short_closed"
    CANCELLED = "cancelled"
    RECEIVED = "received"


class ShipmentStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"


class PurchaseOrder(SQLModel, table=True):
    __tablename__ = "purchase_order"
    __table_args__ = (CheckConstraint("total_amount >= 0", name="ck_po_total_nonneg"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    workflow_id: str = Field(max_length=64, unique=True)
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    # Who asked: a store (HQ) or a distributor's store; goods arrive at the regional warehouse.
    requester_user_id: int = Field(foreign_key="app_user.id", index=True)
    requester_org_id: int = Field(foreign_key="organisation.id", index=True)
    requested_for_location_id: int = Field(foreign_key="location.id", index=True)
    ship_to_location_id: int = Field(foreign_key="location.id", index=True)
    status: POStatus = Field(default=POStatus.PENDING_APPROVAL, sa_type=enum_column(POStatus, "po_status"))
    currency: str = Field(default="CNY", max_length=3)
    net_amount: Decimal = money_field(default=Decimal("0"))
    tax_amount: Decimal = money_field(default=Decimal("0"))
    total_amount: Decimal = money_field(default=Decimal("0"))
    needs_approval: bool = False
    note: str = Field(default="", max_length=1000)
    status_reason: str = Field(default="", max_length=1000)  # rejection or cancellation reason
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field()
    # When the order was sent to the supplier (at once, or once HQ approved it): the supplier sees it
    # from then on and never before (supplychain/scoping.py). None while it waits for approval and
    # for ever if HQ rejects or cancels it first.
    sent_at: datetime | None = timestamp_field()


class PurchaseOrderLine(SQLModel, table=True):
    __tablename__ = "purchase_order_line"
    __table_args__ = (
        UniqueConstraint("purchase_order_id", "line_no", name="uq_po_line_no"),
        CheckConstraint("quantity_ordered > 0", name="ck_po_line_ordered_pos"),
        CheckConstraint(
            "quantity_confirmed IS NULL"
            " OR (quantity_confirmed >= 0 AND quantity_confirmed <= quantity_ordered)",
            name="ck_po_line_confirmed_range",
        ),
        CheckConstraint("quantity_shipped >= 0", name="ck_po_line_shipped_nonneg"),
        CheckConstraint("quantity_received >= 0", name="ck_po_line_received_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purchase_order_id: int = Field(foreign_key="purchase_order.id", index=True)
    line_no: int
    sku_id: int = Field(foreign_key="sku.id")
    quantity_requested: int  # what the store typed, before rounding up to the pack size
    quantity_ordered: int
    quantity_confirmed: int | None = None
    quantity_shipped: int = 0
    quantity_received: int = 0
    promised_date: date | None = None
    unit_price: Decimal = decimal_field(PRICE_PLACES)
    tax_rate: Decimal = decimal_field(PRICE_PLACES)
    line_amount: Decimal = money_field()  # net, rounded half-up to 2 decimals
    status: POLineStatus = Field(
        default=POLineStatus.OPEN, sa_type=enum_column(POLineStatus, "po_line_status")
    )


class Shipment(SQLModel, table=True):
    """An advance shipping notice (ASN) and, once it arrives, its receipt."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    purchase_order_id: int = Field(foreign_key="purchase_order.id", index=True)
    carrier: str = Field(max_length=100)
    tracking_number: str = Field(max_length=100)
    eta: date
    status: ShipmentStatus = Field(
        default=ShipmentStatus.IN_TRANSIT, sa_type=enum_column(ShipmentStatus, "shipment_status")
    )
    created_by_user_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    received_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    received_at: datetime | None = timestamp_field()


class ShipmentLine(SQLModel, table=True):
    __tablename__ = "shipment_line"
    __table_args__ = (
        UniqueConstraint("shipment_id", "po_line_id", name="uq_shipment_line"),
        CheckConstraint("quantity_shipped > 0", name="ck_shipment_line_qty_pos"),
        CheckConstraint("quantity_received IS NULL OR quantity_received >= 0", name="ck_shipment_line_recv"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id", index=True)
    po_line_id: int = Field(foreign_key="purchase_order_line.id", index=True)
    quantity_shipped: int
    quantity_received: int | None = None  # counted at the warehouse; over/short = received - shipped


class ShipmentLineBatch(SQLModel, table=True):
    """A batch (lot number, expiry date) of a shipment line, as the ASN announced it."""

    __tablename__ = "shipment_line_batch"
    __table_args__ = (
        UniqueConstraint("shipment_line_id", "batch_no", name="uq_shipment_line_batch"),
        CheckConstraint("quantity > 0", name="ck_shipment_line_batch_qty_pos"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shipment_line_id: int = Field(foreign_key="shipment_line.id", index=True)
    batch_no: str = Field(max_length=64)
    expiry_date: date | None = None
    quantity: int


class ReceiptLot(SQLModel, table=True):
    """A lot of a received shipment line: one batch, or one tranche of it, counted on its own.

    Each lot of an inspected SKU is inspected on its own (its own verdict and disposition).
    """

    __tablename__ = "receipt_lot"
    __table_args__ = (
        UniqueConstraint("shipment_line_id", "lot_no", name="uq_receipt_lot"),
        CheckConstraint("quantity > 0", name="ck_receipt_lot_qty_pos"),
        CheckConstraint("lot_no > 0", name="ck_receipt_lot_no_pos"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shipment_line_id: int = Field(foreign_key="shipment_line.id", index=True)
    lot_no: int
    batch_no: str = Field(default="", max_length=64)
    expiry_date: date | None = None
    quantity: int


class RequestSubmission(SQLModel, table=True):
    """One sent replenishment form. Its token is minted when the form is shown; claiming it under a
    unique constraint makes a double click (or a retried POST) start the purchase orders only once."""

    __tablename__ = "request_submission"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    po_numbers: str = Field(default="", max_length=1000)  # comma-separated, once started (a TR too)
    created_at: datetime = created_at_field()
