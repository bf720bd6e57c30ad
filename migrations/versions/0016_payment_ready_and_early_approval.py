"""Settlement workflow: a payment is marked ready for the payment run (`ready_at`: due, or its early
payment agreed, and approved) and an early payment request records finance's agreement
(`early_payment_approved`; a pending request has a date and no agreement).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 11:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("early_payment_approved", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_column("early_payment_approved")
        batch_op.drop_column("ready_at")
