"""Server-side web sessions and login attempts (for throttling)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from supplychain.models.base import UTCDateTime, created_at_field


class WebSession(SQLModel, table=True):
    """A logged-in browser. The cookie carries a random token; only its SHA-256 is stored here,
    so deleting the row (logout, password change, deactivation) ends the session at once."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie token
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    # When the user last typed their password here (login, re-authentication): sensitive changes
    # ask for it again once this is older than REAUTH_MINUTES.
    authenticated_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    client_ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    flash: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "attempted_at"),
        Index("ix_login_attempt_client_at", "client_ip", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    client_ip: str = Field(max_length=64)
    succeeded: bool
    attempted_at: datetime = created_at_field()
