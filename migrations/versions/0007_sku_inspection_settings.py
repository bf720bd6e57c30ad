"""Receiving-inspection settings per SKU: mode (never/always/skip_lot), level and AQL per category.

Existing SKUs get the server defaults: never inspected (so receipts behave as before), level II,
AQL critical 0 (zero tolerance), major 2.5, minor 4.0.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 13:55:52.685856
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sku', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inspection_mode', sa.Enum('never', 'always', 'skip_lot', name='inspection_mode', native_enum=False, create_constraint=True, length=32), server_default='never', nullable=False))
        batch_op.add_column(sa.Column('inspection_level', sa.String(length=8), server_default='II', nullable=False))
        batch_op.add_column(sa.Column('aql_critical', sa.String(length=8), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('aql_major', sa.String(length=8), server_default='2.5', nullable=False))
        batch_op.add_column(sa.Column('aql_minor', sa.String(length=8), server_default='4.0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sku', schema=None) as batch_op:
        batch_op.drop_column('aql_minor')
        batch_op.drop_column('aql_major')
        batch_op.drop_column('aql_critical')
        batch_op.drop_column('inspection_level')
        batch_op.drop_constraint('inspection_mode', type_='check')  # the enum's CHECK, named after it
        batch_op.drop_column('inspection_mode')
