"""Organisations (HQ, suppliers, distributors), regions and locations."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field, decimal_field

COORDINATE_PLACES = 6


class OrgKind(enum.StrEnum):
    HQ = "hq"
    SUPPLIER = "supplier"
    DISTRIBUTOR = "distributor"


class LocationKind(enum.StrEnum):
    CENTRAL_WAREHOUSE = "central_warehouse"
    REGIONAL_WAREHOUSE = "regional_warehouse"
    STORE = "store"

    @property
    def is_warehouse(self) -> bool:
        return self is not LocationKind.STORE


def enum_column(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    # Stored as the lower-case value in a VARCHAR with a CHECK, identical on SQLite and PostgreSQL.
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class OrganisationBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: OrgKind = Field(sa_type=enum_column(OrgKind, "org_kind"))
    is_active: bool = True


class Organisation(OrganisationBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()


class Region(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    # Where the region's goods are handled, for the cost of moving a unit between regions (the
    # transfer planner). Degrees, 6 places (about 0.1 m); unknown until an admin enters them.
    latitude: Decimal | None = decimal_field(COORDINATE_PLACES, nullable=True)
    longitude: Decimal | None = decimal_field(COORDINATE_PLACES, nullable=True)


class LocationBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: LocationKind = Field(sa_type=enum_column(LocationKind, "location_kind"))
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    address: str = Field(default="", max_length=300)
    is_active: bool = True


class Location(LocationBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
