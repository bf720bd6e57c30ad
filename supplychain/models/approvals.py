"""Approval requests (one per approval step of any document) and out-of-office delegations."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from supplychain import sla
from supplychain.models.base import blank_text_field, created_at_field, money_field, timestamp_field
from supplychain.models.org import enum_column


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # the document was cancelled while the approval was open


class ApprovalRequest(SQLModel, table=True):
    """The read model of one ApprovalWorkflow: what the approval queue lists."""

    __tablename__ = "approval_request"
    __table_args__ = (Index("ix_approval_request_assignee_status", "assignee_user_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=120, unique=True)
    document_type: str = Field(max_length=32)
    document_id: str = Field(max_length=64, index=True)
    document_link: str = Field(default="", max_length=300)
    summary: str = Field(default="", max_length=300)
    amount: Decimal = money_field()
    requester_user_id: int = Field(foreign_key="app_user.id")
    assignee_user_id: int = Field(foreign_key="app_user.id")
    level: int = 1
    status: ApprovalStatus = Field(
        default=ApprovalStatus.PENDING, sa_type=enum_column(ApprovalStatus, "approval_status")
    )
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    on_behalf_of_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = timestamp_field()
    comment: str = Field(default="", max_length=1000)
    reminded_at: datetime | None = timestamp_field()
    escalated_at: datetime | None = timestamp_field()
    # When the current assignee got the request, and the step's SLA durations: the queue computes
    # "on time / reminder due / escalated" from these without asking the workflow. The workflow
    # always writes both; the server defaults are what migration 0003 gave the rows it found.
    assigned_at: datetime | None = timestamp_field()
    reminder_after_seconds: int = Field(
        default=int(sla.APPROVAL_REMINDER_HOURS * 3600), sa_column_kwargs={"server_default": "28800"}
    )
    escalation_after_seconds: int = Field(
        default=int(sla.APPROVAL_ESCALATION_HOURS * 3600), sa_column_kwargs={"server_default": "86400"}
    )
    created_at: datetime = created_at_field()
    # A step that decides between options instead of approve/reject (e.g. a rejected lot:
    # concession, sorting, return to vendor): the options offered, the one chosen and its details.
    choices: str = blank_text_field(max_length=200)
    choice: str = blank_text_field(max_length=32)
    choice_details: str = blank_text_field(max_length=500)


class ApprovalDelegation(SQLModel, table=True):
    """While `approver` is away (start..end inclusive), `delegate` may decide on their behalf."""

    __tablename__ = "approval_delegation"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="ck_delegation_dates"),
        CheckConstraint("approver_user_id <> delegate_user_id", name="ck_delegation_not_self"),
    )

    id: int | None = Field(default=None, primary_key=True)
    approver_user_id: int = Field(foreign_key="app_user.id", index=True)
    delegate_user_id: int = Field(foreign_key="app_user.id", index=True)
    start_date: date
    end_date: date
    is_active: bool = True
    created_at: datetime = created_at_field()
