"""Reconciliation and settlement tables (issue 12): settlement terms per supplier, statements and
their lines (each source line on exactly one statement: unique source type and id), line disputes,
price adjustments, supplier invoices (unique number per supplier), payments (one per statement,
unique idempotency key) and payment runs, and the working-day overrides of the Chinese calendar.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 10:40:56.653624
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op



revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('instruction_file', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('result_file', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payment_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_run_number'), ['number'], unique=True)

    op.create_table('settlement_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('statement_cycle', sa.Enum('monthly', 'semi_monthly', 'weekly', name='statement_cycle', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('payment_days', sa.Integer(), nullable=False),
    sa.Column('due_date_mode', sa.Enum('calendar_days', 'working_days', name='due_date_mode', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('tolerance_amount', sa.BigInteger(), nullable=False),
    sa.Column('tolerance_percent', sa.BigInteger(), nullable=False),
    sa.Column('early_payment_rate_per_day', sa.BigInteger(), nullable=False),
    sa.Column('schedule_paused', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('early_payment_rate_per_day BETWEEN 0 AND 10000', name='ck_terms_early_payment_rate'),
    sa.CheckConstraint('payment_days BETWEEN 1 AND 365', name='ck_terms_payment_days'),
    sa.CheckConstraint('tolerance_amount >= 0', name='ck_terms_tolerance_amount'),
    sa.CheckConstraint('tolerance_percent BETWEEN 0 AND 10000', name='ck_terms_tolerance_percent'),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supplier_id')
    )
    op.create_table('price_adjustment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('po_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('tax_rate', sa.BigInteger(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('net_amount <> 0', name='ck_price_adjustment_nonzero'),
    sa.CheckConstraint('total_amount = net_amount + tax_amount', name='ck_price_adjustment_total'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('price_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_adjustment_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_price_adjustment_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('awaiting_confirmation', 'disputed', 'confirmed', 'match_exception', 'matched', 'paid', 'cancelled', name='statement_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('confirmed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('matched_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('period_start <= period_end', name='ck_statement_period'),
    sa.CheckConstraint('total_amount = net_amount + tax_amount', name='ck_statement_total'),
    sa.ForeignKeyConstraint(['confirmed_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supplier_id', 'period_start', 'period_end', name='uq_statement_supplier_period'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_statement_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('working_day_override',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('entered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('discount_amount', sa.BigInteger(), nullable=False),
    sa.Column('payable_amount', sa.BigInteger(), nullable=False),
    sa.Column('matched_on', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('due_date_provisional', sa.Boolean(), nullable=False),
    sa.Column('early_payment_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('scheduled', 'awaiting_approval', 'instructed', 'paid', 'failed', 'cancelled', name='payment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('approved_by_user_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('payment_run_id', sa.Integer(), nullable=True),
    sa.Column('bank_reference', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failure_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name='ck_payment_amount_pos'),
    sa.CheckConstraint('discount_amount >= 0 AND discount_amount < amount', name='ck_payment_discount'),
    sa.CheckConstraint('payable_amount = amount - discount_amount', name='ck_payment_payable'),
    sa.ForeignKeyConstraint(['approved_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['payment_run_id'], ['payment_run.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('statement_id'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_payment_payment_run_id'), ['payment_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('statement_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('source_type', sa.Enum('receipt', 'debit_note', 'price_adjustment', name='statement_line_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('source_document', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('po_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=True),
    sa.Column('tax_rate', sa.BigInteger(), nullable=False),
    sa.Column('original_net_amount', sa.BigInteger(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('tax_rate BETWEEN 0 AND 10000', name='ck_statement_line_tax_rate'),
    sa.CheckConstraint('total_amount = net_amount + tax_amount', name='ck_statement_line_total'),
    sa.ForeignKeyConstraint(['sku_id'], ['sku.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_type', 'source_id', name='uq_statement_line_source'),
    sa.UniqueConstraint('statement_id', 'line_no', name='uq_statement_line_no')
    )
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_line_po_number'), ['po_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_line_statement_id'), ['statement_id'], unique=False)

    op.create_table('supplier_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('invoice_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('stored_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('match', sa.Enum('matched', 'mismatch', 'accepted', 'rejected', name='invoice_match', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('net_amount >= 0 AND tax_amount >= 0', name='ck_supplier_invoice_amounts'),
    sa.CheckConstraint('total_amount = net_amount + tax_amount', name='ck_supplier_invoice_total'),
    sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supplier_id', 'invoice_number', name='uq_supplier_invoice_number')
    )
    with op.batch_alter_table('supplier_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_invoice_public_id'), ['public_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_supplier_invoice_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supplier_invoice_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('statement_dispute',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('statement_line_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('supplier_net_amount', sa.BigInteger(), nullable=False),
    sa.Column('raised_by_user_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolution', sa.Enum('accepted_supplier', 'kept_ours', 'adjusted', name='dispute_resolution', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('resolved_net_amount', sa.BigInteger(), nullable=True),
    sa.Column('resolution_comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('resolved_by_user_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['raised_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['resolved_by_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], ),
    sa.ForeignKeyConstraint(['statement_line_id'], ['statement_line.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_line_id', 'round', name='uq_statement_dispute_round')
    )
    with op.batch_alter_table('statement_dispute', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_dispute_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_dispute_statement_line_id'), ['statement_line_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('statement_dispute', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_dispute_statement_line_id'))
        batch_op.drop_index(batch_op.f('ix_statement_dispute_statement_id'))

    op.drop_table('statement_dispute')
    with op.batch_alter_table('supplier_invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_invoice_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_supplier_invoice_statement_id'))
        batch_op.drop_index(batch_op.f('ix_supplier_invoice_public_id'))

    op.drop_table('supplier_invoice')
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_line_statement_id'))
        batch_op.drop_index(batch_op.f('ix_statement_line_po_number'))

    op.drop_table('statement_line')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_payment_payment_run_id'))
        batch_op.drop_index(batch_op.f('ix_payment_number'))

    op.drop_table('payment')
    op.drop_table('working_day_override')
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_statement_number'))

    op.drop_table('statement')
    with op.batch_alter_table('price_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_adjustment_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_price_adjustment_number'))

    op.drop_table('price_adjustment')
    op.drop_table('settlement_terms')
    with op.batch_alter_table('payment_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_run_number'))

    op.drop_table('payment_run')
