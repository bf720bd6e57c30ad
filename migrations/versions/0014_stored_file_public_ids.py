"""Stored files get a random public id: certificate files and inspection photos are addressed by it
in URLs (`/certificates/files/{public_id}`, `/inspections/{number}/photos/{public_id}`) instead of
their row id, which counts up and so names every other organisation's files too. Scoping still
decides who may open one; the public id only keeps URLs from being guessed.

Existing rows get a fresh random id each.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:40:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("quality_certificate", "inspection_photo")


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column("public_id", sa.String))
        for (row_id,) in bind.execute(sa.select(rows.c.id)).all():
            bind.execute(
                sa.update(rows).where(rows.c.id == row_id).values(public_id=secrets.token_hex(16))
            )
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
            batch_op.create_index(batch_op.f(f"ix_{table}_public_id"), ["public_id"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_public_id"))
            batch_op.drop_column("public_id")
