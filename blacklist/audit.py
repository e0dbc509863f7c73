"""The audit log: every state change appended with a hash chained to the one before."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from blacklist.db import insert_rows
from blacklist.models import AuditEntry, utcnow
from blacklist.records import canonical_json

GENESIS = "0" * 64


class Entry(NamedTuple):
    """What an audit entry's hash covers, besides the hash of the entry before it."""

    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _digest(prev: str, entry: Entry | AuditEntry) -> str:
    body = canonical_json({
        "at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
        "entity": entry.entity, "entity_id": entry.entity_id,
        "before": entry.before, "after": entry.after,
    })
    return hashlib.sha256((prev + body).encode()).hexdigest()


def _now_ms() -> dt.datetime:
    """Now, to the millisecond (what every database keeps of it, so the hash still holds
    when the entry is read back)."""
    now = utcnow()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _head(session: Session) -> str:
    """Take the chain's lock (PostgreSQL; SQLite has one writer) and read its last hash."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    return session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS


def append(session: Session, *, actor: str, action: str, entity: str, entity_id: object,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry; concurrent writers are serialised so the chain never forks."""
    prev = _head(session)
    entry = AuditEntry(at=_now_ms(), actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                       before=before, after=after, prev_hash=prev)
    entry.hash = _digest(prev, entry)
    session.add(entry)
    session.flush()
    return entry


def append_many(session: Session, entries: Iterable[tuple[str, str, str, object, dict[str, Any] | None,
                                                          dict[str, Any] | None]]) -> int:
    """Append `(actor, action, entity, entity_id, before, after)` entries in order, chained
    as `append` chains them, in one multi-row INSERT (a stored evaluation opens thousands of
    cases at once); returns how many. Pending ORM changes are flushed first, so the head read
    is the true one."""
    session.flush()
    prev = _head(session)
    rows = []
    for actor, action, entity, entity_id, before, after in entries:
        entry = Entry(_now_ms(), actor, action, entity, str(entity_id), before, after)
        digest = _digest(prev, entry)
        rows.append({**entry._asdict(), "prev_hash": prev, "hash": digest})
        prev = digest
    insert_rows(session.connection(), AuditEntry.metadata.tables[AuditEntry.__tablename__], rows)
    return len(rows)


@dataclass(frozen=True)
class AuditVerdict:
    entries: int
    broken_at: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session) -> AuditVerdict:
    """Walk the chain in order and report the first entry that does not hold."""
    prev = GENESIS
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)):
        count += 1
        if entry.prev_hash != prev:
            return AuditVerdict(count, entry.id, f"entry {entry.id}: prev_hash does not match entry before it")
        if _digest(prev, entry) != entry.hash:
            return AuditVerdict(count, entry.id, f"entry {entry.id}: content does not match its hash (edited)")
        prev = entry.hash
    return AuditVerdict(count, None, None)
