"""Document events (audit trail and timeline) and in-app notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field, timestamp_field


class DocumentEvent(SQLModel, table=True):
    """One thing that happened to one document: who, what, when, and the state before and after.

    Append-only (database triggers refuse UPDATE and DELETE); the timeline on every document page
    is a query over this table.
    """

    __tablename__ = "document_event"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_document_event_idempotency_key"),
        Index("ix_document_event_document", "document_type", "document_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_type: str = Field(max_length=32)
    document_id: str = Field(max_length=64)
    action: str = Field(max_length=64)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    # A delegate acting for someone else: the decision is recorded as on behalf of that person.
    on_behalf_of_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    occurred_at: datetime = created_at_field()
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    note: str = Field(default="", max_length=2000)
    idempotency_key: str = Field(max_length=200)


class Notification(SQLModel, table=True):
    """Something a user must look at; shown under the bell, e-mailed too when SMTP is configured."""

    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_notification_idempotency_key"),
        Index("ix_notification_user_unread", "user_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    # A message id from the translation catalogue plus its parameters, so each reader gets it in
    # their own language.
    message: str = Field(max_length=500)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    link: str = Field(default="", max_length=300)
    document_type: str = Field(default="", max_length=32)
    document_id: str = Field(default="", max_length=64)
    created_at: datetime = created_at_field()
    read_at: datetime | None = timestamp_field()
    emailed_at: datetime | None = timestamp_field()
    idempotency_key: str = Field(max_length=200)
