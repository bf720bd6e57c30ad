"""Replenishment form submissions: a double click starts the purchase orders once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:10:46.991039
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('request_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('po_numbers', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('request_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_submission_user_id'), ['user_id'], unique=False)



def downgrade() -> None:

    with op.batch_alter_table('request_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_submission_user_id'))

    op.drop_table('request_submission')
