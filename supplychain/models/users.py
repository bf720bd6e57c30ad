"""Users, their roles and approval limits."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field, money_field
from supplychain.models.org import enum_column


class Role(enum.StrEnum):
    SUPPLIER = "supplier"
    STORE = "store"
    BUYER = "buyer"
    APPROVER = "approver"
    WAREHOUSE = "warehouse"
    INSPECTOR = "inspector"
    QUALITY_APPROVER = "quality_approver"  # HQ: decides what happens to a lot that failed inspection
    FINANCE = "finance"
    ADMIN = "admin"


class UserBase(SQLModel):
    email: str = Field(max_length=254, unique=True, index=True)
    full_name: str = Field(max_length=200)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    # The store or warehouse a store/warehouse user works at; None for HQ-wide and supplier users.
    location_id: int | None = Field(default=None, foreign_key="location.id")
    approval_limit: Decimal | None = money_field(nullable=True)
    locale: str = Field(default="zh_CN", max_length=8)
    is_active: bool = True


class User(UserBase, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("approval_limit IS NULL OR approval_limit >= 0", name="ck_user_limit_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = created_at_field()


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    role: Role = Field(sa_type=enum_column(Role, "role"))
