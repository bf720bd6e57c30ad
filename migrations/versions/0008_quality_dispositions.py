"""Quality dispositions: quarantine stock, HQ decisions on rejected lots, returns and debit notes.

- stock: a `quarantine` bucket (on hand, not available) and its ledger delta; movement types
  quarantine_receipt / quarantine_release / return_to_vendor; on hand covers reserved + quarantine.
- inspection: lot (batch, tranche), stage, disposition, deduction, sorting result, certificate hold,
  PO unit price; verdict "skipped" (skip-lot); photos; switching state per supplier and SKU.
- return_to_vendor and debit_note; approval steps with choices; role quality_approver.
- SKU: batch tracking and required certificates; ASN batches and receipt lots.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:56:18.974648
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

MOVEMENT_TYPES_0001 = (
    "opening",
    "receipt",
    "issue",
    "adjustment",
    "reserve",
    "release",
    "dispatch",
    "transit_in",
    "transit_receipt",
    "transit_loss",
)
MOVEMENT_TYPES = (*MOVEMENT_TYPES_0001, "quarantine_receipt", "quarantine_release", "return_to_vendor")
ROLES_0001 = ("supplier", "store", "buyer", "approver", "warehouse", "inspector", "finance", "admin")
ROLES = (*ROLES_0001, "quality_approver")
VERDICTS_0006 = ("pending", "accepted", "rejected")
VERDICTS = (*VERDICTS_0006, "skipped")
LEDGER_MOVES_0001 = "delta_on_hand <> 0 OR delta_reserved <> 0 OR delta_in_transit <> 0"
LEDGER_MOVES = f"{LEDGER_MOVES_0001} OR delta_quarantine <> 0"
DECIDED_0006 = (
    "(verdict = 'pending' AND critical_defects IS NULL AND major_defects IS NULL"
    " AND minor_defects IS NULL AND accepted_quantity IS NULL AND rejected_quantity IS NULL"
    " AND decided_at IS NULL)"
    " OR (verdict <> 'pending' AND critical_defects IS NOT NULL AND major_defects IS NOT NULL"
    " AND minor_defects IS NOT NULL AND accepted_quantity >= 0 AND rejected_quantity >= 0"
    " AND accepted_quantity + rejected_quantity = lot_size AND decided_at IS NOT NULL)"
)
DECIDED = (
    "(verdict = 'pending' AND critical_defects IS NULL AND major_defects IS NULL"
    " AND minor_defects IS NULL AND accepted_quantity IS NULL AND rejected_quantity IS NULL"
    " AND decided_at IS NULL)"
    " OR (verdict IN ('accepted', 'rejected') AND critical_defects IS NOT NULL"
    " AND major_defects IS NOT NULL AND minor_defects IS NOT NULL AND accepted_quantity >= 0"
    " AND rejected_quantity >= 0 AND accepted_quantity + rejected_quantity = lot_size"
    " AND decided_at IS NOT NULL)"
    " OR (verdict = 'skipped' AND critical_defects IS NULL AND major_defects IS NULL"
    " AND minor_defects IS NULL AND accepted_quantity = lot_size AND rejected_quantity = 0"
    " AND decided_at IS NOT NULL)"
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ledger_triggers(create: bool) -> None:
    """SQLite drops a table's triggers when batch mode rebuilds it: put stock_ledger's back."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS stock_ledger_no_{verb.lower()}")
        if create:
            op.execute(
                f"CREATE TRIGGER stock_ledger_no_{verb.lower()} BEFORE {verb} ON stock_ledger "
                "BEGIN SELECT RAISE(ABORT, 'stock_ledger is append-only'); END"
            )


revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspection_switching",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "normal",
                "tightened",
                "reduced",
                "discontinued",
                name="switching_severity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("recent_normal_rejections", sa.String(length=8), nullable=False),
        sa.Column("switching_score", sa.Integer(), nullable=False),
        sa.Column("consecutive_accepted_tightened", sa.Integer(), nullable=False),
        sa.Column("rejected_on_tightened", sa.Integer(), nullable=False),
        sa.Column("reduced_approved", sa.Boolean(), nullable=False),
        sa.Column("skip_consecutive_accepted", sa.Integer(), nullable=False),
        sa.Column("skip_qualified", sa.Boolean(), nullable=False),
        sa.Column("skip_lots_since_qualified", sa.Integer(), nullable=False),
        sa.Column("lots_inspected", sa.Integer(), nullable=False),
        sa.Column("lots_skipped", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("switching_score >= 0", name="ck_switching_score_nonneg"),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["sku.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_id", "sku_id", name="uq_inspection_switching_supplier_sku"),
    )
    with op.batch_alter_table("inspection_switching", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_switching_sku_id"), ["sku_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inspection_switching_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "inspection_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size_bytes > 0", name="ck_inspection_photo_size_pos"),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stored_name"),
    )
    with op.batch_alter_table("inspection_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_photo_inspection_id"), ["inspection_id"], unique=False
        )

    op.create_table(
        "return_to_vendor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("po_number", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("tax_rate", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "awaiting_acknowledgement",
                "acknowledged",
                name="return_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("acknowledged_by_user_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'awaiting_acknowledgement' AND acknowledged_at IS NULL) OR (status = 'acknowledged' AND acknowledged_at IS NOT NULL AND acknowledged_by_user_id IS NOT NULL)",
            name="ck_rtv_acknowledged",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_rtv_quantity_pos"),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["sku.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inspection_id"),
    )
    with op.batch_alter_table("return_to_vendor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_to_vendor_number"), ["number"], unique=True)
        batch_op.create_index(batch_op.f("ix_return_to_vendor_po_number"), ["po_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_to_vendor_supplier_id"), ["supplier_id"], unique=False)

    op.create_table(
        "debit_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "concession",
                "return_to_vendor",
                name="debit_note_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=True),
        sa.Column("po_number", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("net_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("tax_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "reconciled",
                name="debit_note_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("net_amount > 0", name="ck_debit_note_net_pos"),
        sa.CheckConstraint("tax_amount >= 0", name="ck_debit_note_tax_nonneg"),
        sa.CheckConstraint("total_amount = net_amount + tax_amount", name="ck_debit_note_total"),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_to_vendor.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["sku.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inspection_id", "kind", name="uq_debit_note_inspection_kind"),
    )
    with op.batch_alter_table("debit_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_debit_note_inspection_id"), ["inspection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_debit_note_number"), ["number"], unique=True)
        batch_op.create_index(batch_op.f("ix_debit_note_po_number"), ["po_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_debit_note_supplier_id"), ["supplier_id"], unique=False)

    op.create_table(
        "receipt_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_line_id", sa.Integer(), nullable=False),
        sa.Column("lot_no", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.String(length=64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("lot_no > 0", name="ck_receipt_lot_no_pos"),
        sa.CheckConstraint("quantity > 0", name="ck_receipt_lot_qty_pos"),
        sa.ForeignKeyConstraint(
            ["shipment_line_id"],
            ["shipment_line.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_line_id", "lot_no", name="uq_receipt_lot"),
    )
    with op.batch_alter_table("receipt_lot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipt_lot_shipment_line_id"), ["shipment_line_id"], unique=False
        )

    op.create_table(
        "shipment_line_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_line_id", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.String(length=64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_shipment_line_batch_qty_pos"),
        sa.ForeignKeyConstraint(
            ["shipment_line_id"],
            ["shipment_line.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_line_id", "batch_no", name="uq_shipment_line_batch"),
    )
    with op.batch_alter_table("shipment_line_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_line_batch_shipment_line_id"), ["shipment_line_id"], unique=False
        )

    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("choices", sa.String(length=200), server_default="", nullable=False))
        batch_op.add_column(sa.Column("choice", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("choice_details", sa.String(length=500), server_default="", nullable=False)
        )

    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lot_no", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("batch_no", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("expiry_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "stage",
                sa.Enum(
                    "awaiting_inspection",
                    "awaiting_decision",
                    "sorting",
                    "awaiting_return",
                    "on_hold",
                    "done",
                    name="inspection_stage",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                server_default="awaiting_inspection",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "disposition",
                sa.Enum(
                    "concession",
                    "sorting",
                    "return_to_vendor",
                    name="disposition",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("price_deduction_percent", sa.Numeric(precision=5, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("sorted_good_quantity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("hold_reason", sa.String(length=1000), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("switching_applied", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column("tax_rate", sa.Numeric(precision=5, scale=4), nullable=True))
        batch_op.create_index(batch_op.f("ix_inspection_stage"), ["stage"], unique=False)
        batch_op.create_foreign_key(
            "fk_inspection_decided_by_user_id", "app_user", ["decided_by_user_id"], ["id"]
        )

    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("batch_tracked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("required_certificates", sa.String(length=200), server_default="", nullable=False)
        )

    with op.batch_alter_table("stock_balance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quarantine", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("stock_ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delta_quarantine", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("stock_balance", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_stock_quarantine_nonneg", "quarantine >= 0")
        batch_op.create_check_constraint("ck_stock_held_le_on_hand", "reserved + quarantine <= on_hand")

    _ledger_triggers(create=False)
    with op.batch_alter_table("stock_ledger", schema=None) as batch_op:
        batch_op.drop_constraint("ck_stock_ledger_moves_something", type_="check")
        batch_op.create_check_constraint("ck_stock_ledger_moves_something", LEDGER_MOVES)
        batch_op.drop_constraint("movement_type", type_="check")
        batch_op.create_check_constraint("movement_type", _in("movement_type", MOVEMENT_TYPES))
    _ledger_triggers(create=True)

    with op.batch_alter_table("user_role", schema=None) as batch_op:
        batch_op.drop_constraint("role", type_="check")
        batch_op.create_check_constraint("role", _in("role", ROLES))

    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_constraint("inspection_verdict", type_="check")
        batch_op.create_check_constraint("inspection_verdict", _in("verdict", VERDICTS))
        batch_op.drop_constraint("ck_inspection_decided", type_="check")
        batch_op.create_check_constraint("ck_inspection_decided", DECIDED)
        batch_op.create_check_constraint("ck_inspection_lot_no_pos", "lot_no > 0")
        batch_op.create_check_constraint(
            "ck_inspection_deduction",
            "price_deduction_percent IS NULL OR (price_deduction_percent > 0 AND price_deduction_percent < 100)",
        )
        batch_op.create_check_constraint(
            "ck_inspection_sorted",
            "sorted_good_quantity IS NULL OR (sorted_good_quantity >= 0 AND sorted_good_quantity <= lot_size)",
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_constraint("ck_inspection_sorted", type_="check")
        batch_op.drop_constraint("ck_inspection_deduction", type_="check")
        batch_op.drop_constraint("ck_inspection_lot_no_pos", type_="check")
        batch_op.drop_constraint("ck_inspection_decided", type_="check")
        batch_op.create_check_constraint("ck_inspection_decided", DECIDED_0006)
        batch_op.drop_constraint("inspection_verdict", type_="check")
        batch_op.create_check_constraint("inspection_verdict", _in("verdict", VERDICTS_0006))

    with op.batch_alter_table("user_role", schema=None) as batch_op:
        batch_op.drop_constraint("role", type_="check")
        batch_op.create_check_constraint("role", _in("role", ROLES_0001))

    _ledger_triggers(create=False)
    with op.batch_alter_table("stock_ledger", schema=None) as batch_op:
        batch_op.drop_constraint("movement_type", type_="check")
        batch_op.create_check_constraint("movement_type", _in("movement_type", MOVEMENT_TYPES_0001))
        batch_op.drop_constraint("ck_stock_ledger_moves_something", type_="check")
        batch_op.create_check_constraint("ck_stock_ledger_moves_something", LEDGER_MOVES_0001)
        batch_op.drop_column("delta_quarantine")
    _ledger_triggers(create=True)

    with op.batch_alter_table("stock_balance", schema=None) as batch_op:
        batch_op.drop_constraint("ck_stock_held_le_on_hand", type_="check")
        batch_op.drop_constraint("ck_stock_quarantine_nonneg", type_="check")
        batch_op.drop_column("quarantine")

    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_column("required_certificates")
        batch_op.drop_column("batch_tracked")

    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_constraint("fk_inspection_decided_by_user_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_inspection_stage"))
        batch_op.drop_column("tax_rate")
        batch_op.drop_column("unit_price")
        batch_op.drop_column("switching_applied")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("decided_by_user_id")
        batch_op.drop_column("sorted_good_quantity")
        batch_op.drop_column("price_deduction_percent")
        batch_op.drop_constraint("disposition", type_="check")  # the enums' CHECKs, named after them
        batch_op.drop_column("disposition")
        batch_op.drop_constraint("inspection_stage", type_="check")
        batch_op.drop_column("stage")
        batch_op.drop_column("expiry_date")
        batch_op.drop_column("batch_no")
        batch_op.drop_column("lot_no")

    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.drop_column("choice_details")
        batch_op.drop_column("choice")
        batch_op.drop_column("choices")

    with op.batch_alter_table("shipment_line_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_line_batch_shipment_line_id"))

    op.drop_table("shipment_line_batch")
    with op.batch_alter_table("receipt_lot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_lot_shipment_line_id"))

    op.drop_table("receipt_lot")
    with op.batch_alter_table("debit_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debit_note_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_debit_note_po_number"))
        batch_op.drop_index(batch_op.f("ix_debit_note_number"))
        batch_op.drop_index(batch_op.f("ix_debit_note_inspection_id"))

    op.drop_table("debit_note")
    with op.batch_alter_table("return_to_vendor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_to_vendor_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_return_to_vendor_po_number"))
        batch_op.drop_index(batch_op.f("ix_return_to_vendor_number"))

    op.drop_table("return_to_vendor")
    with op.batch_alter_table("inspection_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_photo_inspection_id"))

    op.drop_table("inspection_photo")
    with op.batch_alter_table("inspection_switching", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_switching_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_inspection_switching_sku_id"))

    op.drop_table("inspection_switching")
