"""Inspection switching: a version counter, so HQ's actions and the lot results cannot overwrite
each other (optimistic concurrency; `supplychain.inspection_standing.update_standing`).

Existing rows start at version 1, as new rows do.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inspection_switching', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('inspection_switching', schema=None) as batch_op:
        batch_op.drop_column('version')
