"""One publisher at a time: a PostgreSQL advisory lock, or a lease row on SQLite.

The advisory lock lives on a connection of its own and goes when that connection goes,
so a killed holder frees it at once; the lease row expires instead, so a killed holder
blocks the next one for at most its lease time."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from blacklist.clock import now as utc_now
from blacklist.publication import acquire_lease, release_lease

log = logging.getLogger(__name__)


class LeaseLostError(RuntimeError):
    """Another process took the lease (ours expired); stop before sending anything more."""


class Guard:
    """Held while publishing; `renew()` before each request proves it is still ours."""

    def __init__(self, renew: Callable[[], None]) -> None:
        self._renew = renew

    def renew(self) -> None:
        self._renew()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock."""
    return int.from_bytes(hashlib.sha256(f"blacklist:{name}".encode()).digest()[:8], "big", signed=True)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextmanager
def exclusive(engine: Engine, sessions: sessionmaker[Session], name: str, *,
              ttl: float) -> Iterator[Guard | None]:
    """Yield a Guard if this process now holds `name`, or None if another does."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name) as guard:
            yield guard
    else:
        with _lease(sessions, name, ttl) as guard:
            yield guard


@contextmanager
def _advisory(engine: Engine, name: str) -> Iterator[Guard | None]:
    key = lock_key(name)
    conn = engine.connect()
    try:
        got = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())
        conn.commit()
    except Exception:
        conn.close()
        raise
    if not got:
        conn.close()
        yield None
        return

    def renew() -> None:
        try:
            conn.execute(text("SELECT 1"))
            conn.commit()
        except Exception as exc:  # the lock's connection is gone, and the lock with it
            raise LeaseLostError(f"lost the {name} lock: {type(exc).__name__}") from exc

    try:
        yield Guard(renew)
    finally:
        try:
            conn.execute(select(func.pg_advisory_unlock(key)))
            conn.commit()
        except Exception:
            conn.invalidate()  # never hand a connection that may still hold the lock back to the pool
        finally:
            conn.close()


@contextmanager
def _lease(sessions: sessionmaker[Session], name: str, ttl: float) -> Iterator[Guard | None]:
    holder = holder_id()
    with sessions() as session, session.begin():
        got = acquire_lease(session, name, holder, now=utc_now(), ttl=ttl)
    if not got:
        yield None
        return

    def renew() -> None:
        with sessions() as session, session.begin():
            if not acquire_lease(session, name, holder, now=utc_now(), ttl=ttl):
                raise LeaseLostError(f"the {name} lease was taken by another process")

    try:
        yield Guard(renew)
    finally:
        try:
            with sessions() as session, session.begin():
                release_lease(session, name, holder)
        except Exception:
            log.warning("could not release the %s lease; it expires in %.0f s", name, ttl)
