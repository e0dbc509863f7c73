"""Per-process services and the per-request database session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from blacklist.db import make_engine, make_sessionmaker
from blacklist.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    extra: dict[str, Any]


def init_app(app: Flask, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    app.extensions["blacklist"] = Services(settings, engine, make_sessionmaker(engine), {})

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
        g.db = services().sessions()
    session: Session = g.db
    return session


def settings() -> Settings:
    return services().settings
