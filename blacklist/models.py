"""The tables: subjects, records and their versions, cases, listings and their events,
tokens, checks, the publication outbox and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored in UTC and always returned time-zone aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def subject_key(uscc: str | None, id_hash: str | None) -> str:
    """A subject's key as records name it: `uscc:<code>`, or `person:<keyed hash>`."""
    return f"uscc:{uscc}" if uscc else f"person:{id_hash}"


class Subject(Base):
    """A unit, an agency or a person; persons are known only by a keyed hash."""

    __tablename__ = "subjects"
    # The eligibility lookup by code read from this index alone (migration 0005): through the
    # unique index, each code cost a visit to the table besides.
    __table_args__ = (Index("ix_subjects_uscc_lookup", "uscc", "created_at", "id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    name_norm: Mapped[str] = mapped_column(String(200), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_masked: Mapped[str | None] = mapped_column(String(18))
    industry: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    names: Mapped[list["SubjectName"]] = relationship(back_populates="subject", lazy="raise")

    @property
    def key(self) -> str:
        return subject_key(self.uscc, self.id_hash)


class SubjectName(Base):
    """Every name a subject has been reported under (former names help search)."""

    __tablename__ = "subject_names"
    __table_args__ = (UniqueConstraint("subject_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_norm: Mapped[str] = mapped_column(String(200), index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    subject: Mapped[Subject] = relationship(back_populates="names")


class Record(Base):
    """The current version of a violation record; history is in `record_versions`."""

    __tablename__ = "records"
    record_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    event_date: Mapped[dt.date] = mapped_column(Date)
    accident_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RecordVersion(Base):
    """Every content a record has had, in order; appended, never changed."""

    __tablename__ = "record_versions"
    __table_args__ = (UniqueConstraint("record_id", "version"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.record_id"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvaluationRun(Base):
    """One stored evaluation of a set of subjects; a failed run proposes nothing."""

    __tablename__ = "evaluation_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(10), default="running")
    subjects: Mapped[int] = mapped_column(Integer, default=0)
    proposals: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Case(Base):
    """A proposal to list one subject under one rule, and what the regulator did with it."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("subject_id", "rule", "evidence_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    rule: Mapped[str] = mapped_column(String(20), index=True)
    pack: Mapped[str] = mapped_column(String(40))
    pack_version: Mapped[str] = mapped_column(String(40))
    list_code: Mapped[str] = mapped_column("list", String(40))
    tier: Mapped[str | None] = mapped_column(String(20))
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    evidence_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), index=True)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)
    explanations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    authority: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    authority_region: Mapped[str | None] = mapped_column(String(6), index=True)
    evaluation_run_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_runs.id"))
    served_on: Mapped[dt.date | None] = mapped_column(Date)
    statement_ends: Mapped[dt.date | None] = mapped_column(Date)
    statement_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(10))
    document_no: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    statement_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    subject: Mapped[Subject] = relationship(lazy="joined", innerjoin=True)
    __mapper_args__ = {"version_id_col": row_version}


class Listing(Base):
    """A subject on a list; its life (early removal, withdrawal, restore) is in events."""

    __tablename__ = "listings"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    list_code: Mapped[str] = mapped_column("list", String(40))
    tier: Mapped[str | None] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(20))
    pack: Mapped[str] = mapped_column(String(40))
    pack_version: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(Text)
    document_no: Mapped[str] = mapped_column(String(100))
    authority: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date, index=True)
    early_removal_from: Mapped[dt.date | None] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    subject: Mapped[Subject] = relationship(lazy="joined", innerjoin=True)


class ListingEvent(Base):
    """Append-only history of a listing; `recorded_at` is the knowledge axis."""

    __tablename__ = "listing_events"
    __table_args__ = (Index("ix_listing_events_listing_recorded", "listing_id", "recorded_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    kind: Mapped[str] = mapped_column(String(20))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Token(Base):
    """An API token; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


class Check(Base):
    """Every eligibility answer given: who asked about whom, when, and what we said."""

    __tablename__ = "checks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # The id of a row of `tokens` (never deleted), without a foreign key: see migration 0006.
    token_id: Mapped[int | None] = mapped_column(Integer)
    subject_ref: Mapped[str] = mapped_column(String(80))  # not indexed: see migration 0003
    domain: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[dt.date] = mapped_column(Date)
    known_at: Mapped[dt.datetime]
    eligible: Mapped[bool] = mapped_column(Boolean)
    effect: Mapped[str] = mapped_column(String(32))
    list_version: Mapped[str] = mapped_column(String(40))
    batch_size: Mapped[int] = mapped_column(Integer, default=1)


class Change(Base):
    """The publication outbox: one row per change, written with the change itself."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    change_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    effective_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    # counted Monday to Friday over a year whose holidays are not announced (regulations.md §3)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    batch_id: Mapped[str | None] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class PublicationBatch(Base):
    """One push to the credit platform and what it answered."""

    __tablename__ = "publication_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(36), unique=True)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)


class Lease(Base):
    """A named lease row: one holder at a time (SQLite's stand-in for advisory locks)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[dt.datetime]


class DeploymentFact(Base):
    """A fact this database was bound to when first used, e.g. the fingerprint of its
    identity-hash key (blacklist.deployment), so another key cannot silently be used on it."""

    __tablename__ = "deployment"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class AuditEntry(Base):
    """Hash-chained audit log; the application only ever appends."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
