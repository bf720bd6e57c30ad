"""Quality inspections: one row per inspected receipt line, with its sampling plan and verdict.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 13:45:48.040625
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('workflow_id', sa.String(length=200), nullable=False),
    sa.Column('po_number', sa.String(length=32), nullable=False),
    sa.Column('shipment_number', sa.String(length=32), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('lot_size', sa.Integer(), nullable=False),
    sa.Column('inspection_level', sa.String(length=8), nullable=False),
    sa.Column('severity', sa.Enum('normal', 'tightened', 'reduced', name='inspection_severity', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('aql_critical', sa.String(length=8), nullable=False),
    sa.Column('aql_major', sa.String(length=8), nullable=False),
    sa.Column('aql_minor', sa.String(length=8), nullable=False),
    sa.Column('code_letter', sa.String(length=1), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('hundred_percent', sa.Boolean(), nullable=False),
    sa.Column('critical_sample_size', sa.Integer(), nullable=False),
    sa.Column('critical_accept', sa.Integer(), nullable=False),
    sa.Column('critical_reject', sa.Integer(), nullable=False),
    sa.Column('major_sample_size', sa.Integer(), nullable=False),
    sa.Column('major_accept', sa.Integer(), nullable=False),
    sa.Column('major_reject', sa.Integer(), nullable=False),
    sa.Column('minor_sample_size', sa.Integer(), nullable=False),
    sa.Column('minor_accept', sa.Integer(), nullable=False),
    sa.Column('minor_reject', sa.Integer(), nullable=False),
    sa.Column('critical_defects', sa.Integer(), nullable=True),
    sa.Column('major_defects', sa.Integer(), nullable=True),
    sa.Column('minor_defects', sa.Integer(), nullable=True),
    sa.Column('notes', sa.String(length=2000), nullable=False),
    sa.Column('verdict', sa.Enum('pending', 'accepted', 'rejected', name='inspection_verdict', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('accepted_quantity', sa.Integer(), nullable=True),
    sa.Column('rejected_quantity', sa.Integer(), nullable=True),
    sa.Column('inspector_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(verdict = 'pending' AND critical_defects IS NULL AND major_defects IS NULL AND minor_defects IS NULL AND accepted_quantity IS NULL AND rejected_quantity IS NULL AND decided_at IS NULL) OR (verdict <> 'pending' AND critical_defects IS NOT NULL AND major_defects IS NOT NULL AND minor_defects IS NOT NULL AND accepted_quantity >= 0 AND rejected_quantity >= 0 AND accepted_quantity + rejected_quantity = lot_size AND decided_at IS NOT NULL)", name='ck_inspection_decided'),
    sa.CheckConstraint('critical_accept >= 0 AND critical_reject > critical_accept', name='ck_inspection_critical_ac_re'),
    sa.CheckConstraint('critical_defects IS NULL OR (critical_defects >= 0 AND critical_defects <= critical_sample_size)', name='ck_inspection_critical_defects'),
    sa.CheckConstraint('critical_sample_size > 0 AND critical_sample_size <= sample_size', name='ck_inspection_critical_sample'),
    sa.CheckConstraint('line_no > 0', name='ck_inspection_line_no_pos'),
    sa.CheckConstraint('lot_size > 0', name='ck_inspection_lot_pos'),
    sa.CheckConstraint('major_accept >= 0 AND major_reject > major_accept', name='ck_inspection_major_ac_re'),
    sa.CheckConstraint('major_defects IS NULL OR (major_defects >= 0 AND major_defects <= major_sample_size)', name='ck_inspection_major_defects'),
    sa.CheckConstraint('major_sample_size > 0 AND major_sample_size <= sample_size', name='ck_inspection_major_sample'),
    sa.CheckConstraint('minor_accept >= 0 AND minor_reject > minor_accept', name='ck_inspection_minor_ac_re'),
    sa.CheckConstraint('minor_defects IS NULL OR (minor_defects >= 0 AND minor_defects <= minor_sample_size)', name='ck_inspection_minor_defects'),
    sa.CheckConstraint('minor_sample_size > 0 AND minor_sample_size <= sample_size', name='ck_inspection_minor_sample'),
    sa.CheckConstraint('sample_size > 0 AND sample_size <= lot_size', name='ck_inspection_sample'),
    sa.ForeignKeyConstraint(['inspector_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['sku.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_inspection_po_number'), ['po_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_shipment_number'), ['shipment_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_sku_id'), ['sku_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_supplier_id'), ['supplier_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_sku_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_shipment_number'))
        batch_op.drop_index(batch_op.f('ix_inspection_po_number'))
        batch_op.drop_index(batch_op.f('ix_inspection_number'))
        batch_op.drop_index(batch_op.f('ix_inspection_location_id'))

    op.drop_table('inspection')
