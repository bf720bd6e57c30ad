"""Planning: runs of the reorder review and the transfer planner and their proposals (draft purchase
orders per supplier and location, transfer lines), and which price list entries a supplier delivers
straight to the store.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planning_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reorder_review",
                "transfer_plan",
                name="planning_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("workflow_id", sa.String(length=128), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("started_by_user_id", sa.Integer(), nullable=True),
        sa.Column("proposals", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by_user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_table(
        "replenishment_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("planning_run_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "released",
                "dismissed",
                "superseded",
                name="proposal_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("purchase_order_number", sa.String(length=32), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
        ),
        sa.ForeignKeyConstraint(
            ["planning_run_id"],
            ["planning_run.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "planning_run_id", "supplier_id", "location_id", name="uq_replenishment_proposal"
        ),
    )
    with op.batch_alter_table("replenishment_proposal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_replenishment_proposal_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_replenishment_proposal_planning_run_id"), ["planning_run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_replenishment_proposal_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "transfer_proposal_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("planning_run_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "shortage",
                "slow_moving",
                name="transfer_proposal_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("source_location_id", sa.Integer(), nullable=False),
        sa.Column("destination_location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cost", sa.BigInteger(), nullable=False),
        sa.Column("line_cost", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "released",
                "dismissed",
                "superseded",
                name="proposal_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("transfer_number", sa.String(length=32), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_transfer_proposal_quantity"),
        sa.CheckConstraint(
            "source_location_id <> destination_location_id", name="ck_transfer_proposal_places"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["destination_location_id"],
            ["location.id"],
        ),
        sa.ForeignKeyConstraint(
            ["planning_run_id"],
            ["planning_run.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["sku.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_location_id"],
            ["location.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transfer_proposal_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transfer_proposal_line_destination_location_id"),
            ["destination_location_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_transfer_proposal_line_planning_run_id"), ["planning_run_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_transfer_proposal_line_sku_id"), ["sku_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_transfer_proposal_line_source_location_id"), ["source_location_id"], unique=False
        )

    op.create_table(
        "replenishment_proposal_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("inventory_position", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("order_up_to", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), server_default=sa.text("''"), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_replenishment_proposal_quantity"),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["replenishment_proposal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["sku.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id", "sku_id", name="uq_replenishment_proposal_line"),
    )
    with op.batch_alter_table("replenishment_proposal_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_replenishment_proposal_line_proposal_id"), ["proposal_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_replenishment_proposal_line_sku_id"), ["sku_id"], unique=False)

    with op.batch_alter_table("price_list_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("direct_delivery", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("price_list_entry", schema=None) as batch_op:
        batch_op.drop_column("direct_delivery")

    with op.batch_alter_table("replenishment_proposal_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replenishment_proposal_line_sku_id"))
        batch_op.drop_index(batch_op.f("ix_replenishment_proposal_line_proposal_id"))

    op.drop_table("replenishment_proposal_line")
    with op.batch_alter_table("transfer_proposal_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_proposal_line_source_location_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_proposal_line_sku_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_proposal_line_planning_run_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_proposal_line_destination_location_id"))

    op.drop_table("transfer_proposal_line")
    with op.batch_alter_table("replenishment_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replenishment_proposal_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_replenishment_proposal_planning_run_id"))
        batch_op.drop_index(batch_op.f("ix_replenishment_proposal_location_id"))

    op.drop_table("replenishment_proposal")
    op.drop_table("planning_run")
