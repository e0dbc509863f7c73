"""Per-process services and the per-request database session."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from flask import Flask, current_app, g, request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from blacklist.db import make_check_engine, make_engine, make_sessionmaker
from blacklist.deployment import bind_id_key
from blacklist.eligibility import MeasureCatalog
from blacklist.receipts import Signer
from blacklist.settings import Settings
from blacklist.workdays import WorkdayCalendar


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    extra: dict[str, Any]
    # The eligibility lookups: a read replica's engine when one is configured, else `engine`.
    check_engine: Engine | None = None
    check_readers: sessionmaker[Session] | None = None
    # A single check's SELECT (without a replica) and INSERT: `engine`, or on PostgreSQL an
    # engine of its own on the same database (`blacklist.db.make_check_engine`).
    hot_engine: Engine | None = None

    @property
    def lookups(self) -> sessionmaker[Session]:
        """Sessions for the eligibility lookups (read only: a replica refuses writes)."""
        return self.check_readers or self.readers


def init_app(app: Flask, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    # Refuse to start with another identity-hash key than the one the database is bound to.
    bind_id_key(engine, settings.id_hash_key)
    # A bad announced-holidays file stops the start with its own message (file, entry and
    # what is wrong), not the first request that counts working days with a 500.
    svc = Services(settings, engine, make_sessionmaker(engine), make_sessionmaker(engine, write=False),
                   {"calendar": WorkdayCalendar.configured(settings.holidays_file)})
    svc.hot_engine = (make_check_engine(settings.database_url) if settings.check_pool else None) or engine
    if settings.read_database_url:
        svc.check_engine = make_engine(settings.read_database_url)
        svc.check_readers = make_sessionmaker(svc.check_engine, write=False)
    app.extensions["blacklist"] = svc

    @app.teardown_appcontext
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def services() -> Services:
    svc: Services = current_app.extensions["blacklist"]
    return svc


def db() -> Session:
    """The request's session; the view commits what it changed."""
    if "db" not in g:
        svc = services()
        g.db = (svc.readers if request.method in ("GET", "HEAD") else svc.sessions)()
    session: Session = g.db
    return session


@contextmanager
def autocommit_cursor(engine: Engine | None = None) -> Iterator[Any]:
    """A driver cursor on a pooled connection of `engine` (the primary by default) in
    autocommit mode, each statement a transaction of its own; driver errors are raised as
    SQLAlchemy's, as from a session."""
    engine = engine or services().engine
    dialect = engine.dialect
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    sqlite = dialect.name == "sqlite"  # its connections already are (isolation_level None)
    cursor = None
    try:
        if not sqlite:
            driver.autocommit = True
        cursor = driver.cursor()
        yield cursor
    except dialect.loaded_dbapi.Error as exc:
        invalidated = dialect.is_disconnect(exc, pooled, cursor)
        if invalidated:
            pooled.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=invalidated,
                                  dialect=dialect) from exc
    finally:
        if cursor is not None:
            cursor.close()
        if not sqlite and pooled.is_valid:
            driver.autocommit = False
        pooled.close()


def settings() -> Settings:
    return services().settings


def calendar() -> WorkdayCalendar:
    """The working-day calendar, with the deployment's announced holidays if configured
    (loaded when the app starts)."""
    cal: WorkdayCalendar = services().extra["calendar"]
    return cal


def catalog() -> MeasureCatalog:
    """The measures catalogue of the loaded rule packs."""
    extra = services().extra
    if "catalog" not in extra:
        from rules.catalog import PackCatalog

        extra["catalog"] = PackCatalog(packs())
    found: MeasureCatalog = extra["catalog"]
    return found


def signer() -> Signer:
    """The deployment's receipt signer (key created on first use if none is configured)."""
    extra = services().extra
    if "signer" not in extra:
        path = services().settings.signing_key_path or "instance/signing_key.pem"
        extra["signer"] = Signer.from_file(path)
    found: Signer = extra["signer"]
    return found


def packs() -> Any:
    """The rule packs in force for this deployment (packaged ones plus local overrides), as
    the stored evaluations load them: once per process, again when a pack file changes."""
    from rules.service import packs_for

    return packs_for(services().settings)
