"""Transfers between locations (TransferWorkflow's read model) and region coordinates for the
cost of moving goods between regions (the transfer planner).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("workflow_id", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "pending_approval",
                "approval_rejected",
                "not_available",
                "reserved",
                "in_transit",
                "loss_pending",
                "completed",
                "cancelled",
                name="transfer_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "origin",
            sa.Enum(
                "requested",
                "sourcing",
                "planner",
                name="transfer_origin",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source_location_id", sa.Integer(), nullable=False),
        sa.Column("destination_location_id", sa.Integer(), nullable=False),
        sa.Column("source_org_id", sa.Integer(), nullable=False),
        sa.Column("destination_org_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("carrier", sa.String(length=100), server_default=sa.text("''"), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), server_default=sa.text("''"), nullable=False),
        sa.Column("expected_arrival", sa.Date(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_reason", sa.String(length=500), server_default=sa.text("''"), nullable=False),
        sa.Column("note", sa.String(length=500), server_default=sa.text("''"), nullable=False),
        sa.Column("purchase_order_number", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source_location_id <> destination_location_id", name="ck_transfer_two_places"),
        sa.ForeignKeyConstraint(
            ["destination_location_id"],
            ["location.id"],
        ),
        sa.ForeignKeyConstraint(
            ["destination_org_id"],
            ["organisation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_location_id"],
            ["location.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id"),
    )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transfer_destination_location_id"), ["destination_location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfer_destination_org_id"), ["destination_org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_transfer_number"), ["number"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_transfer_purchase_order_number"), ["purchase_order_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfer_source_location_id"), ["source_location_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_transfer_source_org_id"), ["source_org_id"], unique=False)

    op.create_table(
        "transfer_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("quantity_damaged", sa.Integer(), nullable=False),
        sa.Column("quantity_lost", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_transfer_line_quantity"),
        sa.CheckConstraint("quantity_lost >= 0", name="ck_transfer_line_lost"),
        sa.CheckConstraint("quantity_received + quantity_lost <= quantity", name="ck_transfer_line_settled"),
        sa.CheckConstraint("quantity_received >= 0", name="ck_transfer_line_received"),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["sku.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transfer_id", "line_no", name="uq_transfer_line_no"),
    )
    with op.batch_alter_table("transfer_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_line_sku_id"), ["sku_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_line_transfer_id"), ["transfer_id"], unique=False)

    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")

    with op.batch_alter_table("transfer_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_line_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_line_sku_id"))

    op.drop_table("transfer_line")
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_source_org_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_source_location_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_purchase_order_number"))
        batch_op.drop_index(batch_op.f("ix_transfer_number"))
        batch_op.drop_index(batch_op.f("ix_transfer_destination_org_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_destination_location_id"))

    op.drop_table("transfer")
