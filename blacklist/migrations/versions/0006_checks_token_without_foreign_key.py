"""checks: token_id without a foreign key constraint

The database checked the constraint once for every row: on PostgreSQL a trigger's query of
`tokens` per row, 0.25-0.45 s of the 0.6-1.2 s that COPY took for a 100,000-subject batch
(BENCHMARKS.md). It guarded nothing that can happen: a check's token is the caller the
request authenticated, and tokens are never deleted (a revoked one keeps its row, with
`revoked_at`), so every token_id in the log names a row of `tokens`, as
tests/test_eligibility.py asserts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_checks_token_id_tokens'), type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('checks', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_checks_token_id_tokens'), 'tokens', ['token_id'], ['id'])
