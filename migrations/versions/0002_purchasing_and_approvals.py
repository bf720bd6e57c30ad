"""Purchase orders, shipments, approval requests, delegations and document numbers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:52:58.089871
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('document_sequence',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year')
    )
    op.create_table('approval_delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('approver_user_id', sa.Integer(), nullable=False),
    sa.Column('delegate_user_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('approver_user_id <> delegate_user_id', name='ck_delegation_not_self'),
    sa.CheckConstraint('end_date >= start_date', name='ck_delegation_dates'),
    sa.ForeignKeyConstraint(['approver_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['delegate_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('approval_delegation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_delegation_approver_user_id'), ['approver_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_delegation_delegate_user_id'), ['delegate_user_id'], unique=False)

    op.create_table('approval_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.String(length=120), nullable=False),
    sa.Column('document_type', sa.String(length=32), nullable=False),
    sa.Column('document_id', sa.String(length=64), nullable=False),
    sa.Column('document_link', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('requester_user_id', sa.Integer(), nullable=False),
    sa.Column('assignee_user_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'cancelled', name='approval_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('on_behalf_of_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.String(length=1000), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['on_behalf_of_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['requester_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.create_index('ix_approval_request_assignee_status', ['assignee_user_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_request_document_id'), ['document_id'], unique=False)

    op.create_table('purchase_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('workflow_id', sa.String(length=64), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('requester_user_id', sa.Integer(), nullable=False),
    sa.Column('requester_org_id', sa.Integer(), nullable=False),
    sa.Column('requested_for_location_id', sa.Integer(), nullable=False),
    sa.Column('ship_to_location_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending_approval', 'approval_rejected', 'sent', 'confirmed', 'supplier_rejected', 'in_delivery', 'closed', 'cancelled', name='po_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('total_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('status_reason', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('total_amount >= 0', name='ck_po_total_nonneg'),
    sa.ForeignKeyConstraint(['requested_for_location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['requester_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['requester_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['ship_to_location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('purchase_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_order_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_purchase_order_requested_for_location_id'), ['requested_for_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_order_requester_org_id'), ['requester_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_order_requester_user_id'), ['requester_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_order_ship_to_location_id'), ['ship_to_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_order_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('purchase_order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('quantity_requested', sa.Integer(), nullable=False),
    sa.Column('quantity_ordered', sa.Integer(), nullable=False),
    sa.Column('quantity_confirmed', sa.Integer(), nullable=True),
    sa.Column('quantity_shipped', sa.Integer(), nullable=False),
    sa.Column('quantity_received', sa.Integer(), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('line_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.Enum('open', 'short_closed', 'cancelled', 'received', name='po_line_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.CheckConstraint('quantity_confirmed IS NULL OR (quantity_confirmed >= 0 AND quantity_confirmed <= quantity_ordered)', name='ck_po_line_confirmed_range'),
    sa.CheckConstraint('quantity_ordered > 0', name='ck_po_line_ordered_pos'),
    sa.CheckConstraint('quantity_received >= 0', name='ck_po_line_received_nonneg'),
    sa.CheckConstraint('quantity_shipped >= 0', name='ck_po_line_shipped_nonneg'),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_order.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['sku.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('purchase_order_id', 'line_no', name='uq_po_line_no')
    )
    with op.batch_alter_table('purchase_order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_order_line_purchase_order_id'), ['purchase_order_id'], unique=False)

    op.create_table('shipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=False),
    sa.Column('tracking_number', sa.String(length=100), nullable=False),
    sa.Column('eta', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('in_transit', 'received', name='shipment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by_user_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_order.id'], ),
    sa.ForeignKeyConstraint(['received_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_shipment_purchase_order_id'), ['purchase_order_id'], unique=False)

    op.create_table('shipment_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('po_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity_shipped', sa.Integer(), nullable=False),
    sa.Column('quantity_received', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity_received IS NULL OR quantity_received >= 0', name='ck_shipment_line_recv'),
    sa.CheckConstraint('quantity_shipped > 0', name='ck_shipment_line_qty_pos'),
    sa.ForeignKeyConstraint(['po_line_id'], ['purchase_order_line.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shipment_id', 'po_line_id', name='uq_shipment_line')
    )
    with op.batch_alter_table('shipment_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_line_po_line_id'), ['po_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipment_line_shipment_id'), ['shipment_id'], unique=False)



def downgrade() -> None:

    with op.batch_alter_table('shipment_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_line_shipment_id'))
        batch_op.drop_index(batch_op.f('ix_shipment_line_po_line_id'))

    op.drop_table('shipment_line')
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_purchase_order_id'))
        batch_op.drop_index(batch_op.f('ix_shipment_number'))

    op.drop_table('shipment')
    with op.batch_alter_table('purchase_order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_order_line_purchase_order_id'))

    op.drop_table('purchase_order_line')
    with op.batch_alter_table('purchase_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_order_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_order_ship_to_location_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_order_requester_user_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_order_requester_org_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_order_requested_for_location_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_order_number'))

    op.drop_table('purchase_order')
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_request_document_id'))
        batch_op.drop_index('ix_approval_request_assignee_status')

    op.drop_table('approval_request')
    with op.batch_alter_table('approval_delegation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_delegation_delegate_user_id'))
        batch_op.drop_index(batch_op.f('ix_approval_delegation_approver_user_id'))

    op.drop_table('approval_delegation')
    op.drop_table('document_sequence')
