"""Engine and session factories; the caller owns sessions and transactions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, Engine, Table, any_, bindparam, create_engine, event, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker


class EncodedJSON(dict[str, Any]):
    """A dict that carries its own JSON text, stored as it is: a record's canonical JSON is
    computed for its content hash already, and would otherwise be encoded twice more (the
    record row and its version row)."""

    __slots__ = ("text",)

    def __init__(self, data: dict[str, Any], text: str) -> None:
        super().__init__(data)
        self.text = text


# Compact UTF-8 JSON, built once (json.dumps builds the encoder on every call).
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_serializer(value: Any) -> str:
    """JSON columns as compact UTF-8 text: Chinese names stored as themselves (a third of
    the bytes of \\uXXXX escapes), and exported as they are stored."""
    if type(value) is EncodedJSON:
        return value.text
    return compact_json(value)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas SQLite needs for concurrent readers and FK checks."""
    kwargs.setdefault("json_serializer", _json_serializer)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock up front, so two writers queue instead of one
            # failing with SQLITE_BUSY after both have read.
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


# Single eligibility checks on PostgreSQL: the lookup's plan made once per connection, not for
# every check (planning was half of the server's CPU under load: 13 % of all CPU by perf), and
# the check log committed without waiting for the WAL flush. A crash of the database server
# (not of a worker) can lose the last fraction of a second of check records, as a power cut
# can on SQLite (WAL, synchronous=NORMAL); the answers were given with their signed receipts.
_CHECK_OPTIONS = "-c plan_cache_mode=force_generic_plan -c synchronous_commit=off"


def make_check_engine(url: str) -> Engine | None:
    """An engine for the single checks' one SELECT and one INSERT on PostgreSQL (see above),
    used for nothing else; None elsewhere, where they use the main engine."""
    if not url.startswith("postgresql"):
        return None
    return make_engine(url, connect_args={"options": _CHECK_OPTIONS})


def make_sessionmaker(engine: Engine, *, write: bool = True) -> sessionmaker[Session]:
    """Sessions for writers (SQLite: BEGIN IMMEDIATE) or, with write=False, readers."""
    bind = engine.execution_options(sqlite_immediate=True) if write else engine
    return sessionmaker(bind, expire_on_commit=False)


# Tables a large import fills; their statistics decide whether PostgreSQL reads an index.
_IMPORTED = ("subjects", "subject_names", "records", "record_versions")
ANALYZE_AFTER = 10_000  # rows written by one import


def refresh_statistics(session: Session, rows_written: int) -> bool:
    """After a large import, update the planner's statistics of the imported tables.

    PostgreSQL's autovacuum analyses a table only some time after it changed; until then
    the planner works without statistics and, measured after a 300,000-record import,
    answered the evaluation's accident join with a sequential scan: 375 ms a query instead
    of 5 ms. Returns whether it ran (PostgreSQL only: SQLite plans these joins by index)."""
    return rows_written >= ANALYZE_AFTER and analyze(session, *_IMPORTED)


def among(session: Session, column: ColumnElement[Any] | QueryableAttribute[Any],
          values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, for the lists of hundreds of ids a stored evaluation reads by.
    On PostgreSQL `column = ANY(array)`: one parameter, where an IN list made SQLAlchemy render
    a cast for each value (872,000 in one evaluation) and psycopg parse each statement anew (too
    long for its cache of converted queries): a fifth of the parent's time by cProfile."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def analyze(session: Session, *tables: str) -> bool:
    """ANALYZE these tables now (PostgreSQL; SQLite plans by index without statistics).
    For a table a long transaction is filling: autovacuum cannot see the new rows until it
    commits, and the planner goes on scanning what it believes is a small table."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    session.execute(text("ANALYZE " + ", ".join(tables)))
    return True


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows (dicts with the same keys) into `table` in this connection's transaction: by COPY
    on PostgreSQL with psycopg (a stored evaluation writes 80,000 cases and as many audit
    entries at a time), else one executemany INSERT. Columns left out take their Python-side
    defaults, as an INSERT would give them; the database numbers the rows."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        connection.execute(insert(table), list(rows))
        return
    given = [c for c in table.columns if c.key in rows[0]]
    defaulted = [c for c in table.columns if c.key not in rows[0] and c.default is not None and not c.primary_key]
    convert = {c.key: _converter(c, dialect) for c in given + defaulted}
    names = ", ".join(f'"{c.name}"' for c in given + defaulted)
    driver = connection.connection.driver_connection
    assert driver is not None, "the connection is closed"
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([convert[c.key](row[c.key]) for c in given]
                           + [convert[c.key](_default(c.default)) for c in defaulted])


def _converter(column: Any, dialect: Any) -> Any:
    """How SQLAlchemy would turn a value of `column` into what the driver gets."""
    if isinstance(column.type, JSON):
        return _json_serializer  # None as JSON null, as an INSERT stores it
    return column.type.dialect_impl(dialect).bind_processor(dialect) or _as_is


def _default(default: Any) -> Any:
    """A column's Python-side default value (SQLAlchemy wraps a callable to take a context)."""
    return default.arg(None) if default.is_callable else default.arg


def _as_is(value: Any) -> Any:
    return value

