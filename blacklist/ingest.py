"""Record ingest: idempotent by record_id, versioned on change, one bad record never
stops or half-writes the others."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from blacklist.models import Record, RecordVersion, Subject, utcnow
from blacklist.records import RecordValidationError, ValidRecord, event_date, validate_record
from blacklist.subjects import upsert_subject


@dataclass
class Rejection:
    index: int
    record_id: str | None
    errors: dict[str, list[str]]


@dataclass
class IngestReport:
    accepted: int = 0
    unchanged: int = 0
    new_versions: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    touched_subjects: set[int] = field(default_factory=set)
    touched_records: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.unchanged + self.new_versions + len(self.rejected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted, "unchanged": self.unchanged,
            "new_versions": self.new_versions,
            "rejected": [{"index": r.index, "record_id": r.record_id, "errors": r.errors}
                         for r in self.rejected],
        }


def _chunks(items: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    chunk: list[tuple[int, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Ingestor:
    """Takes records in chunks; the caller owns the session and commits."""

    def __init__(self, session: Session, *, today: dt.date, id_key: bytes, chunk_size: int = 500) -> None:
        self.session = session
        self.today = today
        self.id_key = id_key
        self.chunk_size = chunk_size
        self.report = IngestReport()
        self._subjects: dict[str, Subject] = {}

    def run(self, items: Iterable[tuple[int, Any]], progress: Callable[[int], None] | None = None) -> IngestReport:
        """Ingest `(position, raw record)` pairs; `progress` is told how many were read."""
        for chunk in _chunks(items, self.chunk_size):
            self._chunk(chunk)
            if progress:
                progress(len(chunk))
        return self.report

    def _chunk(self, chunk: list[tuple[int, Any]]) -> None:
        valid: list[tuple[int, ValidRecord]] = []
        for index, raw in chunk:
            try:
                valid.append((index, validate_record(raw, today=self.today, id_key=self.id_key)))
            except RecordValidationError as exc:
                self.report.rejected.append(Rejection(index, exc.record_id, exc.errors))
        if not valid:
            return
        ids = list({v.record_id for _, v in valid})
        current = {row.record_id: row for row in self.session.execute(
            select(Record.record_id, Record.content_hash, Record.version).where(Record.record_id.in_(ids)))}
        state = {rid: (row.content_hash, row.version) for rid, row in current.items()}
        try:
            with self.session.begin_nested():
                outcome = [self._apply(index, v, state) for index, v in valid]
        except SQLAlchemyError:
            # Something in the chunk failed at the database: redo it record by record so
            # only the failing record is refused and the others are kept whole.
            self._subjects.clear()
            state = {rid: (row.content_hash, row.version) for rid, row in current.items()}
            outcome = []
            for index, v in valid:
                try:
                    with self.session.begin_nested():
                        result = self._apply(index, v, state)
                    outcome.append(result)
                except SQLAlchemyError as exc:
                    state.pop(v.record_id, None)
                    if v.record_id in current:
                        state[v.record_id] = (current[v.record_id].content_hash, current[v.record_id].version)
                    self._subjects.clear()
                    self.report.rejected.append(Rejection(index, v.record_id, {
                        "": [f"could not be stored: {type(exc.orig or exc).__name__}"]}))
        for kind, record_id, subject_ids in outcome:
            if kind == "accepted":
                self.report.accepted += 1
            elif kind == "new_version":
                self.report.new_versions += 1
            else:
                self.report.unchanged += 1
                continue
            self.report.touched_subjects.update(subject_ids)
            self.report.touched_records.append(record_id)

    def _apply(self, index: int, v: ValidRecord, state: dict[str, tuple[str, int]]) -> tuple[str, str, list[int]]:
        data = v.data
        record_id = v.record_id
        previous = state.get(record_id)
        if previous is not None and previous[0] == v.content_hash:
            return "unchanged", record_id, []
        subject = upsert_subject(self.session, data["subject"], self._subjects)
        touched = [subject.id]
        main = data["subject"].get("main_person")
        if main:
            person = upsert_subject(self.session, {**main, "kind": "person"}, self._subjects)
            touched.append(person.id)
        now = utcnow()
        values = dict(
            type=data["type"], subject_id=subject.id, status=data["status"],
            content_hash=v.content_hash, event_date=event_date(data),
            accident_ref=data.get("accident_id"), payload=data, updated_at=now,
        )
        if previous is None:
            version, kind = 1, "accepted"
            self.session.add(Record(record_id=record_id, version=1, received_at=now, **values))
        else:
            version, kind = previous[1] + 1, "new_version"
            record = self.session.get(Record, record_id)
            assert record is not None
            touched.append(record.subject_id)
            for name, value in values.items():
                setattr(record, name, value)
            record.version = version
        self.session.add(RecordVersion(record_id=record_id, version=version,
                                       content_hash=v.content_hash, payload=data, received_at=now))
        state[record_id] = (v.content_hash, version)
        return kind, record_id, touched
