"""The audit log: every state change appended with a hash chained to the one before."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from blacklist.models import AuditEntry, utcnow
from blacklist.records import canonical_json

GENESIS = "0" * 64


def _digest(prev: str, entry: AuditEntry) -> str:
    body = canonical_json({
        "at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
        "entity": entry.entity, "entity_id": entry.entity_id,
        "before": entry.before, "after": entry.after,
    })
    return hashlib.sha256((prev + body).encode()).hexdigest()


def append(session: Session, *, actor: str, action: str, entity: str, entity_id: object,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry; concurrent writers are serialised so the chain never forks."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    at = utcnow().replace(microsecond=utcnow().microsecond // 1000 * 1000)
    entry = AuditEntry(at=at, actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                       before=before, after=after, prev_hash=prev)
    entry.hash = _digest(prev, entry)
    session.add(entry)
    session.flush()
    return entry


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
