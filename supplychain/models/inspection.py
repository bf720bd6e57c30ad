"""Quality inspections of received lots: the read model of InspectionWorkflow.

One row per inspected receipt line (INS-2026-000001), written only by the workflow's activities. It
keeps what the inspector works with (lot size, level, severity, AQL per defect category and the plan
computed from them) and what was found (defects per category, the verdict, accepted and rejected
quantities). The CHECK constraints hold the plan's arithmetic, so a bad write fails loudly.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, UniqueConstraint, false
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from supplychain.models.base import (
    blank_text_field,
    created_at_field,
    decimal_field,
    public_id_field,
    timestamp_field,
)
from supplychain.models.org import enum_column
from supplychain.rules.money import PRICE_PLACES


class InspectionVerdict(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # skip-lot: accepted without inspection (supplier qualified for this SKU)


class InspectionStage(enum.StrEnum):
    """Where the lot is in its inspection; what the queues filter on."""

    AWAITING_INSPECTION = "awaiting_inspection"
    AWAITING_DECISION = "awaiting_decision"  # rejected: HQ quality approver decides
    SORTING = "sorting"  # 100% inspection of the lot after the decision "sorting"
    AWAITING_RETURN = "awaiting_return"  # RTV: waiting for the supplier's acknowledgement
    ON_HOLD = "on_hold"  # accepted by the plan, blocked by a missing or expired certificate
    DONE = "done"


class Disposition(enum.StrEnum):
    """HQ's decision on a rejected lot."""

    CONCESSION = "concession"  # 让步接收: accepted with a price deduction (a debit note)
    SORTING = "sorting"  # 100% inspection; good units accepted, the rest returned
    RETURN_TO_VENDOR = "return_to_vendor"  # the whole lot goes back (RTV + debit note)


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
        # Skipped (skip-lot): no counts, the whole lot accepted.
        CheckConstraint(
            "(verdict = 'pending' AND critical_defects IS NULL AND major_defects IS NULL"
            " AND minor_defects IS NULL AND accepted_quantity IS NULL AND rejected_quantity IS NULL"
            " AND decided_at IS NULL)"
            " OR (verdict IN ('accepted', 'rejected') AND critical_defects IS NOT NULL"
            " AND major_defects IS NOT NULL AND minor_defects IS NOT NULL AND accepted_quantity >= 0"
            " AND rejected_quantity >= 0 AND accepted_quantity + rejected_quantity = lot_size"
            " AND decided_at IS NOT NULL)"
            " OR (verdict = 'skipped' AND critical_defects IS NULL AND major_defects IS NULL"
            " AND minor_defects IS NULL AND accepted_quantity = lot_size AND rejected_quantity = 0"
            " AND decided_at IS NOT NULL)",
            name="ck_inspection_decided",
        ),
        CheckConstraint("lot_no > 0", name="ck_inspection_lot_no_pos"),
        CheckConstraint(  # in stored units (1/100 of a percent): below 100 %
            "price_deduction_percent IS NULL"
            " OR (price_deduction_percent > 0 AND price_deduction_percent < 10000)",
            name="ck_inspection_deduction",
        ),
        CheckConstraint(
            "sorted_good_quantity IS NULL"
            " OR (sorted_good_quantity >= 0 AND sorted_good_quantity <= lot_size)",
            name="ck_inspection_sorted",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    workflow_id: str = Field(max_length=200, unique=True)
    # The receipt line inspected. Numbers, not ids: the inspection is read next to its PO and ASN.
    po_number: str = Field(max_length=32, index=True)
    shipment_number: str = Field(max_length=32, index=True)
    line_no: int
    # One receipt line may be inspected as several lots: one per batch, or in tranches.
    lot_no: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    batch_no: str = blank_text_field(max_length=64)
    expiry_date: date | None = None
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
    # After the verdict: where the lot is, HQ's decision on a rejected lot, and what it set.
    stage: InspectionStage = Field(
        default=InspectionStage.AWAITING_INSPECTION,
        sa_type=enum_column(InspectionStage, "inspection_stage"),
        sa_column_kwargs={"server_default": "awaiting_inspection"},
        index=True,
    )
    disposition: Disposition | None = Field(default=None, sa_type=enum_column(Disposition, "disposition"))
    price_deduction_percent: Decimal | None = decimal_field(2, nullable=True)
    sorted_good_quantity: int | None = None
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    # Messages (ids) of the certificate check that holds an accepted lot; "" when clear.
    hold_reason: str = blank_text_field(max_length=1000)
    # The lot's result has been fed into the supplier+SKU switching state (once per lot).
    switching_applied: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Unit price of the PO line (net, CNY): the basis of concession deductions and debit notes.
    unit_price: Decimal | None = decimal_field(PRICE_PLACES, nullable=True)
    tax_rate: Decimal | None = decimal_field(PRICE_PLACES, nullable=True)


class InspectionPhoto(SQLModel, table=True):
    """A photo of what the inspector found; the file lives under UPLOAD_DIR/inspection-photos."""

    __tablename__ = "inspection_photo"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="ck_inspection_photo_size_pos"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = public_id_field()  # the file's URL: /inspections/{number}/photos/{public_id}
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    original_filename: str = Field(max_length=255)
    stored_name: str = Field(max_length=64, unique=True)
    content_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64)
    caption: str = Field(default="", max_length=200)
    uploaded_by_user_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class SwitchingSeverity(enum.StrEnum):
    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"
    DISCONTINUED = "discontinued"  # ISO 2859-1 9.4: until the supplier's corrective action


class InspectionSwitching(SQLModel, table=True):
    """ISO 2859-1 switching state and skip-lot standing of one supplier for one SKU.

    Mirrors `supplychain.rules.switching.SwitchingState` and `supplychain.rules.skip_lot.SkipLotState`.
    Written by the inspection activities (one lot at a time, `Inspection.switching_applied`) and by
    HQ's actions on the scorecard, always through `supplychain.inspection_standing.update_standing`.
    `version` is the ORM's version counter: every UPDATE says `WHERE id = :id AND version = :seen`
    and raises `StaleDataError` when another writer got there first, so no write is lost.
    """

    __tablename__ = "inspection_switching"
    __table_args__ = (
        UniqueConstraint("supplier_id", "sku_id", name="uq_inspection_switching_supplier_sku"),
        CheckConstraint("switching_score >= 0", name="ck_switching_score_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    supplier_id: int = Field(foreign_key="organisation.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    severity: SwitchingSeverity = Field(
        default=SwitchingSeverity.NORMAL, sa_type=enum_column(SwitchingSeverity, "switching_severity")
    )
    # Last lots on normal inspection, oldest first: "1" not accepted, "0" accepted (at most 4).
    recent_normal_rejections: str = Field(default="", max_length=8)
    switching_score: int = 0
    consecutive_accepted_tightened: int = 0
    rejected_on_tightened: int = 0
    # The responsible authority (HQ quality) allows reduced inspection once the score reaches 30.
    reduced_approved: bool = False
    # Skip-lot standing (SKUs with inspection mode skip_lot).
    skip_consecutive_accepted: int = 0
    skip_qualified: bool = False
    skip_lots_since_qualified: int = 0
    lots_inspected: int = 0
    lots_skipped: int = 0
    updated_at: datetime = created_at_field()
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]
