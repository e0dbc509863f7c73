"""subjects: an index that answers the eligibility lookup by code alone

A check and a batch find each unit by its code, known at `known_at`, and answer with its id
and name. Through the unique index on `uscc` every code also cost a visit to the table, at
a place unrelated to the code's: 0.6-0.9 of the 0.9-1.2 s that a 100,000-subject batch spent
looking up subjects on SQLite. With (uscc, created_at, id, name) in one index they are read
from it alone (PostgreSQL: an index-only scan). It costs about 100 MB per million subjects
on SQLite (BENCHMARKS.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:40:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.create_index('ix_subjects_uscc_lookup', ['uscc', 'created_at', 'id', 'name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_index('ix_subjects_uscc_lookup')
