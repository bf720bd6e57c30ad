"""Purchase orders remember when they were sent to the supplier (`sent_at`): a supplier sees an
order only from then on, never while it waits for HQ approval or after HQ rejected it.

Existing orders: the time of their "sent" timeline event (sent after approval); else, for an order
that needed no approval and was therefore sent when it was created, its creation time; an order that
still waits for approval, or was rejected or cancelled before it was sent, stays NULL.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchase_order") as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE purchase_order SET sent_at = ("
        " SELECT MIN(e.occurred_at) FROM document_event e"
        " WHERE e.document_type = 'purchase_order' AND e.document_id = purchase_order.number"
        " AND e.action = 'sent')"
    )
    op.execute(
        "UPDATE purchase_order SET sent_at = created_at"
        " WHERE sent_at IS NULL AND NOT needs_approval AND status <> 'pending_approval'"
    )


def downgrade() -> None:
    with op.batch_alter_table("purchase_order") as batch_op:
        batch_op.drop_column("sent_at")
