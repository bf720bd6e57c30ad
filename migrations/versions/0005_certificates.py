"""Supplier quality certificates: one row per uploaded file, for a SKU or a shipment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:35:07.032393
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quality_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('certificate_type', sa.Enum('inspection_report', 'coa', 'health', 'origin', name='certificate_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('(sku_id IS NULL AND shipment_id IS NOT NULL) OR (sku_id IS NOT NULL AND shipment_id IS NULL)', name='ck_certificate_sku_or_shipment'),
    sa.CheckConstraint('expires_on IS NULL OR expires_on >= issued_on', name='ck_certificate_validity'),
    sa.CheckConstraint('size_bytes > 0', name='ck_certificate_size_pos'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['sku.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stored_name')
    )
    with op.batch_alter_table('quality_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_certificate_shipment_id'), ['shipment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_certificate_sku_id'), ['sku_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_certificate_supplier_id'), ['supplier_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('quality_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_certificate_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_quality_certificate_sku_id'))
        batch_op.drop_index(batch_op.f('ix_quality_certificate_shipment_id'))

    op.drop_table('quality_certificate')
