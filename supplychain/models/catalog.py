"""SKUs and supplier price lists."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from supplychain.models.base import blank_text_field, created_at_field, decimal_field
from supplychain.models.org import enum_column
from supplychain.rules.money import PRICE_PLACES


class InspectionMode(enum.StrEnum):
    """Whether a received lot of the SKU is inspected before it is posted to stock (issue 5).

    SKIP_LOT inspects every lot until the supplier qualifies for skip-lot on this SKU, then only
    one lot in a few (`supplychain.rules.skip_lot`); the others are accepted without inspection.
    """

    NEVER = "never"
    ALWAYS = "always"
    SKIP_LOT = "skip_lot"


class SkuBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    unit: str = Field(default="pcs", max_length=16)
    category: str = Field(default="", max_length=64)
    is_active: bool = True
    # Receiving inspection (ISO 2859-1 single sampling). Existing SKUs stay "never".
    inspection_mode: InspectionMode = Field(
        default=InspectionMode.NEVER,
        sa_type=enum_column(InspectionMode, "inspection_mode"),
        sa_column_kwargs={"server_default": "never"},
    )
    inspection_level: str = Field(default="II", max_length=8, sa_column_kwargs={"server_default": "II"})
    # AQL per defect category as the standard prints it; "0" is zero tolerance.
    aql_critical: str = Field(default="0", max_length=8, sa_column_kwargs={"server_default": "0"})
    aql_major: str = Field(default="2.5", max_length=8, sa_column_kwargs={"server_default": "2.5"})
    aql_minor: str = Field(default="4.0", max_length=8, sa_column_kwargs={"server_default": "4.0"})
    # Batch/lot number and expiry date required on ASN and receipt lines (food, cosmetics, drugs).
    batch_tracked: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Certificate types (comma-separated CertificateType values) a lot needs before it is accepted.
    required_certificates: str = blank_text_field(max_length=200)


class Sku(SkuBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()


class PriceListEntryBase(SQLModel):
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    # Unit price net of VAT, CNY, 4 decimals so per-unit prices of cheap goods stay exact;
    # line amounts are rounded half-up to 2 decimals by supplychain.rules.money.
    unit_price: Decimal = decimal_field(PRICE_PLACES)
    tax_rate: Decimal = decimal_field(PRICE_PLACES)
    currency: str = Field(default="CNY", max_length=3)
    lead_time_days: int = 7
    moq: int = 1
    pack_size: int = 1
    valid_from: date | None = None
    valid_to: date | None = None
    is_active: bool = True
    # The supplier delivers this SKU straight to the store that asks (ship-to = the store, which
    # receives it); otherwise to the store's regional warehouse, which transfers it on.
    direct_delivery: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class PriceListEntry(PriceListEntryBase, table=True):
    __tablename__ = "price_list_entry"
    __table_args__ = (
        UniqueConstraint("supplier_id", "sku_id", "valid_from", name="uq_price_supplier_sku_from"),
        CheckConstraint("unit_price >= 0", name="ck_price_nonneg"),
        # In stored units (1/10000): below 1, i.e. below 100 %.
        CheckConstraint("tax_rate >= 0 AND tax_rate < 10000", name="ck_price_tax_rate"),
        CheckConstraint("lead_time_days >= 0", name="ck_price_lead_time"),
        CheckConstraint("moq >= 1", name="ck_price_moq"),
        CheckConstraint("pack_size >= 1", name="ck_price_pack_size"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="ck_price_validity"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
