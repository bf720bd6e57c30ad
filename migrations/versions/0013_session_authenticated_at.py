"""Sessions remember when their user last typed their password (`authenticated_at`): at login and
whenever they confirm it again, so sensitive admin changes can ask for it when that was more than
REAUTH_MINUTES ago. Existing sessions count from their login (`created_at`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_session") as batch_op:
        batch_op.add_column(sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE web_session SET authenticated_at = created_at")
    with op.batch_alter_table("web_session") as batch_op:
        batch_op.alter_column("authenticated_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("web_session") as batch_op:
        batch_op.drop_column("authenticated_at")
