"""Supplier invoice lines: what the invoice bills per statement line (quantity, unit price to 8
places as VAT invoices print it, amount excluding tax), so a mismatch is laid out line by line.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supplier_invoice_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("statement_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("net_amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "quantity >= 0 AND unit_price >= 0 AND net_amount >= 0", name="ck_supplier_invoice_line_values"
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["supplier_invoice.id"]),
        sa.ForeignKeyConstraint(["statement_line_id"], ["statement_line.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "statement_line_id", name="uq_supplier_invoice_line"),
    )
    with op.batch_alter_table("supplier_invoice_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_invoice_line_invoice_id"), ["invoice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supplier_invoice_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_invoice_line_invoice_id"))
    op.drop_table("supplier_invoice_line")
