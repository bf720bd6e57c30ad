"""Planning: the runs of the reorder review and the transfer planner, and what they propose.

A run's proposals wait for a person: a buyer releases a replenishment proposal (one draft purchase
order per supplier and location) or dismisses it; HQ releases transfer proposal lines as transfers.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import (
    blank_text_field,
    created_at_field,
    decimal_field,
    money_field,
    timestamp_field,
)
from supplychain.models.org import enum_column
from supplychain.rules.money import PRICE_PLACES


class PlanningKind(enum.StrEnum):
    REORDER_REVIEW = "reorder_review"
    TRANSFER_PLAN = "transfer_plan"


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    RELEASED = "released"
    DISMISSED = "dismissed"
    SUPERSEDED = "superseded"  # a later run proposed again


class TransferProposalKind(enum.StrEnum):
    SHORTAGE = "shortage"  # covers a location below its reorder point
    SLOW_MOVING = "slow_moving"  # moves stock nobody bought for N days to where it sells


class PlanningRun(SQLModel, table=True):
    __tablename__ = "planning_run"

    id: int | None = Field(default=None, primary_key=True)
    kind: PlanningKind = Field(sa_type=enum_column(PlanningKind, "planning_kind"))
    workflow_id: str = Field(max_length=128, unique=True)  # one row per run, also when retried
    business_date: date
    started_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")  # None: the schedule
    proposals: int = 0
    finished_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class ReplenishmentProposal(SQLModel, table=True):
    """One draft purchase order: what a location needs of one supplier's SKUs."""

    __tablename__ = "replenishment_proposal"
    __table_args__ = (
        UniqueConstraint("planning_run_id", "supplier_id", "location_id", name="uq_replenishment_proposal"),
    )

    id: int | None = Field(default=None, primary_key=True)
    planning_run_id: int = Field(foreign_key="planning_run.id", index=True)
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    status: ProposalStatus = Field(sa_type=enum_column(ProposalStatus, "proposal_status"))
    purchase_order_number: str | None = Field(default=None, max_length=32)
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class ReplenishmentProposalLine(SQLModel, table=True):
    __tablename__ = "replenishment_proposal_line"
    __table_args__ = (
        UniqueConstraint("proposal_id", "sku_id", name="uq_replenishment_proposal_line"),
        CheckConstraint("quantity > 0", name="ck_replenishment_proposal_quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="replenishment_proposal.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    quantity: int  # rounded to MOQ and pack size
    needed: int  # order-up-to level minus inventory position, before rounding
    on_hand: int
    inventory_position: int
    reorder_point: int
    order_up_to: int
    unit_price: Decimal = decimal_field(PRICE_PLACES)
    reason: str = blank_text_field(max_length=200)


class TransferProposalLine(SQLModel, table=True):
    __tablename__ = "transfer_proposal_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_transfer_proposal_quantity"),
        CheckConstraint("source_location_id <> destination_location_id", name="ck_transfer_proposal_places"),
    )

    id: int | None = Field(default=None, primary_key=True)
    planning_run_id: int = Field(foreign_key="planning_run.id", index=True)
    kind: TransferProposalKind = Field(sa_type=enum_column(TransferProposalKind, "transfer_proposal_kind"))
    sku_id: int = Field(foreign_key="sku.id", index=True)
    source_location_id: int = Field(foreign_key="location.id", index=True)
    destination_location_id: int = Field(foreign_key="location.id", index=True)
    quantity: int
    unit_cost: Decimal = decimal_field(PRICE_PLACES)  # CNY per unit moved, to 0.0001
    line_cost: Decimal = money_field()
    reason: str = blank_text_field(max_length=200)
    status: ProposalStatus = Field(sa_type=enum_column(ProposalStatus, "proposal_status"))
    transfer_number: str | None = Field(default=None, max_length=32)
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
