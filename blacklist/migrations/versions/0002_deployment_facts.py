"""deployment facts: the identity-hash key's fingerprint, bound on first use

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 05:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_deployment'))
    )


def downgrade() -> None:
    op.drop_table('deployment')
