"""Supplier quality certificates (inspection reports, COAs, health certificates, origin).

A certificate covers either one SKU the supplier supplies or one of its shipments, never both. The
file itself lives under `UPLOAD_DIR` with a random name (see `supplychain.certificates`); this row
keeps what the portal needs to serve and check it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field, public_id_field
from supplychain.models.org import enum_column


class CertificateType(enum.StrEnum):
    INSPECTION_REPORT = "inspection_report"
    COA = "coa"  # certificate of analysis
    HEALTH = "health"
    ORIGIN = "origin"


class QualityCertificate(SQLModel, table=True):
    __tablename__ = "quality_certificate"
    __table_args__ = (
        CheckConstraint(
            "(sku_id IS NULL AND shipment_id IS NOT NULL) OR (sku_id IS NOT NULL AND shipment_id IS NULL)",
            name="ck_certificate_sku_or_shipment",
        ),
        CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="ck_certificate_validity"),
        CheckConstraint("size_bytes > 0", name="ck_certificate_size_pos"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = public_id_field()  # the file's URL: /certificates/files/{public_id}
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    sku_id: int | None = Field(default=None, foreign_key="sku.id", index=True)
    shipment_id: int | None = Field(default=None, foreign_key="shipment.id", index=True)
    certificate_type: CertificateType = Field(sa_type=enum_column(CertificateType, "certificate_type"))
    number: str = Field(max_length=64)
    issued_on: date
    expires_on: date | None = None  # None: does not expire (e.g. a certificate of origin)
    original_filename: str = Field(max_length=255)
    stored_name: str = Field(max_length=64, unique=True)
    content_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64)
    uploaded_by_user_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    is_active: bool = True
