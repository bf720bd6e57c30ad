"""Approval requests: when the current assignee got the request, and the step's SLA durations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:57:30.790063
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminder_after_seconds', sa.Integer(), server_default='28800', nullable=False))
        batch_op.add_column(sa.Column('escalation_after_seconds', sa.Integer(), server_default='86400', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_column('escalation_after_seconds')
        batch_op.drop_column('reminder_after_seconds')
        batch_op.drop_column('assigned_at')
