"""The migrations build exactly the schema the models describe, on either backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from blacklist.models import Base


def test_the_migrated_schema_is_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_check_log_has_no_subject_index(engine: Engine) -> None:
    # Each 100,000-subject batch rewrote most of such an index (migration 0003).
    indexed = {tuple(index["column_names"]) for index in inspect(engine).get_indexes("checks")}
    assert ("subject_ref",) not in indexed and ("at",) in indexed


def test_the_check_log_has_no_foreign_key(engine: Engine) -> None:
    # The database checked it row by row, a third of a batch's COPY on PostgreSQL (migration
    # 0006); test_eligibility.py asserts that every row names the token that asked.
    assert inspect(engine).get_foreign_keys("checks") == []
