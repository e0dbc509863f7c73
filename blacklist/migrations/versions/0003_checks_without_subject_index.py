"""checks: no index on subject_ref

A batch of 100,000 answers inserted a row into this index at 100,000 places spread over all
of it, so each batch rewrote most of the index and took longer as the log grew (2.5 s at
5 million rows, 1.9 s without the index; BENCHMARKS.md). No query of the product reads the
log by subject; an audit that does scans it (0.6 s for 5 million rows on SQLite).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 11:00:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checks_subject_ref'))


def downgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checks_subject_ref'), ['subject_ref'], unique=False)
