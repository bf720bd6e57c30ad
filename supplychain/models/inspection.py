"""Quality inspections of received lots: the read model of InspectionWorkflow.

One row per inspected receipt line (INS-2026-000001), written only by the workflow's activities. It
keeps what the inspector works with (lot size, level, severity, AQL per defect category and the plan
computed from them) and what was found (defects per category, the verdict, accepted and rejected
quantities). The CHECK constraints hold the plan's arithmetic, so a bad write fails loudly.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from supplychain.models.base import created_at_field, timestamp_field
from supplychain.models.org import enum_column


class InspectionVerdict(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class InspectionSeverity(enum.StrEnum):
    """ISO 2859-1 inspection severity. Reduced waits for Table II-C (see supplychain.rules.sampling)."""

    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"


def _category_checks(category: str) -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(
            f"{category}_sample_size > 0 AND {category}_sample_size <= sample_size",
            name=f"ck_inspection_{category}_sample",
        ),
        CheckConstraint(
            f"{category}_accept >= 0 AND {category}_reject > {category}_accept",
            name=f"ck_inspection_{category}_ac_re",
        ),
        CheckConstraint(
            f"{category}_defects IS NULL"
            f" OR ({category}_defects >= 0 AND {category}_defects <= {category}_sample_size)",
            name=f"ck_inspection_{category}_defects",
        ),
    )


class Inspection(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("lot_size > 0", name="ck_inspection_lot_pos"),
        CheckConstraint("line_no > 0", name="ck_inspection_line_no_pos"),
        CheckConstraint("sample_size > 0 AND sample_size <= lot_size", name="ck_inspection_sample"),
        *_category_checks("critical"),
        *_category_checks("major"),
        *_category_checks("minor"),
        # Pending: nothing found yet. Decided: every count recorded and the whole lot accounted for.
        CheckConstraint(
            "(verdict = 'pending' AND critical_defects IS NULL AND major_defects IS NULL"
            " AND minor_defects IS NULL AND accepted_quantity IS NULL AND rejected_quantity IS NULL"
            " AND decided_at IS NULL)"
            " OR (verdict <> 'pending' AND critical_defects IS NOT NULL AND major_defects IS NOT NULL"
            " AND minor_defects IS NOT NULL AND accepted_quantity >= 0 AND rejected_quantity >= 0"
            " AND accepted_quantity + rejected_quantity = lot_size AND decided_at IS NOT NULL)",
            name="ck_inspection_decided",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    workflow_id: str = Field(max_length=200, unique=True)
    # The receipt line inspected. Numbers, not ids: the inspection is read next to its PO and ASN.
    po_number: str = Field(max_length=32, index=True)
    shipment_number: str = Field(max_length=32, index=True)
    line_no: int
    sku_id: int = Field(foreign_key="sku.id", index=True)
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    location_id: int = Field(foreign_key="location.id", index=True)  # where the lot waits
    lot_size: int
    inspection_level: str = Field(max_length=8)  # S-1 .. S-4, I, II, III
    severity: InspectionSeverity = Field(sa_type=enum_column(InspectionSeverity, "inspection_severity"))
    # AQL per category as the standard prints it ("0.65", "2.5"); "0" is zero tolerance (Ac 0, Re 1).
    aql_critical: str = Field(max_length=8)
    aql_major: str = Field(max_length=8)
    aql_minor: str = Field(max_length=8)
    # The plan: Table I's code letter, the sample the inspector draws (the largest of the categories'
    # plans; the whole lot when `hundred_percent`), and each category's own plan.
    code_letter: str = Field(max_length=1)
    sample_size: int
    hundred_percent: bool = False
    critical_sample_size: int
    critical_accept: int
    critical_reject: int
    major_sample_size: int
    major_accept: int
    major_reject: int
    minor_sample_size: int
    minor_accept: int
    minor_reject: int
    # What the inspector found.
    critical_defects: int | None = None
    major_defects: int | None = None
    minor_defects: int | None = None
    notes: str = Field(default="", max_length=2000)
    verdict: InspectionVerdict = Field(
        default=InspectionVerdict.PENDING, sa_type=enum_column(InspectionVerdict, "inspection_verdict")
    )
    accepted_quantity: int | None = None
    rejected_quantity: int | None = None
    inspector_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    decided_at: datetime | None = timestamp_field()
