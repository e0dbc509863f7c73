"""changes: whether the publication deadline is provisional

regulations.md §3: for a year whose holidays are not announced, count Monday to Friday and
mark the deadline as provisional. Statement periods were marked; publication deadlines now
are too. Existing changes are marked not provisional.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_provisional', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_column('due_provisional')
