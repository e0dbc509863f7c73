"""Shared fixtures: a real database (SQLite file, or PostgreSQL from TEST_DATABASE_URL),
emptied after each test, and the real app served over HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Iterator

import pytest
import requests
from sqlalchemy import Engine, MetaData, text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from blacklist.db import make_engine, make_sessionmaker
from blacklist.migrate import upgrade
from blacklist.models import Base
from blacklist.settings import Settings
from blacklist.tokens import create_token
from tests.log_leaks import SuiteLog, leaks

ID_KEY = b"test-id-hash-key"


def cli_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child `blacklist` process on the test database: none of the
    caller's own BLACKLIST_* variables, the suite's keys, then `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKLIST_")}
    env.update({"BLACKLIST_DATABASE_URL": database_url, "BLACKLIST_ID_HASH_KEY": ID_KEY.decode(),
                "BLACKLIST_SECRET_KEY": "test-secret", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env
_suite_log: SuiteLog | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Keep every log line of the run (INFO and up; SQL statements excepted) for the scan."""
    global _suite_log
    _suite_log = SuiteLog()
    root = logging.getLogger()
    root.addHandler(_suite_log)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log line of it holds an identity number in the clear."""
    if _suite_log is None:
        return
    logging.getLogger().removeHandler(_suite_log)
    _suite_log.close()
    with _suite_log.path.open(encoding="utf-8") as handle:
        lines = handle.readlines()
    found = leaks(lines)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")
    if found:
        if reporter is not None:
            reporter.write_line(f"identity numbers in the clear in {len(found)} log lines of this run "
                                f"(all in {_suite_log.path}):", red=True)
            for line in found[:20]:
                reporter.write_line("  " + line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        if reporter is not None:
            reporter.write_line(f"log scan: no identity number in the clear in the {len(lines)} log lines of this run")
        _suite_log.path.unlink(missing_ok=True)


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _drop_everything(engine: Engine) -> None:
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    _drop_everything(eng)
    upgrade(eng)
    yield eng
    eng.dispose()


def _empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on the test database; every table is emptied after the test.
    Deferred transactions on SQLite, so a test reading through it never holds the write lock."""
    session = make_sessionmaker(engine, write=False)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        _empty_tables(engine)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    keydir = tmp_path_factory.mktemp("keys")
    return Settings(database_url=database_url, secret_key="test-secret", id_hash_key=ID_KEY,
                    signing_key_path=str(keydir / "signing.pem"), rate_limit="100000/minute")


class Client:
    """A tiny HTTP client bound to the served app."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def request(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.base + path, headers=headers, timeout=60, **kw)

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        return self.request("GET", path, token, **kw)

    def post(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, token, **kw)


def serve(app: Any) -> tuple[Any, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="session")
def served(engine: Engine, settings: Settings) -> Iterator[tuple[Any, str]]:
    from web import create_app

    app = create_app(settings)
    server, base = serve(app)
    yield app, base
    server.shutdown()


@pytest.fixture
def client(served: tuple[Any, str], db: Session) -> Client:
    """Real HTTP to the app; depends on `db` so tables are emptied after the test."""
    return Client(served[1])


@pytest.fixture
def token(db: Session) -> Any:
    """`token(role)` → a fresh bearer token of that role."""

    def make(role: str, name: str | None = None) -> str:
        plain, _ = create_token(db, role=role, name=name or f"test {role}", actor="test")
        db.commit()
        return plain

    return make
