"""Record ingest: idempotent by record_id, versioned on change, one bad record never
stops or half-writes the others."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from blacklist.db import EncodedJSON
from blacklist.iterables import chunked
from blacklist.models import Base, Record, utcnow
from blacklist.records import RecordValidationError, ValidRecord, event_date, validate_record
from blacklist.subjects import upsert_subjects


# Rows are inserted through the tables: the ORM form (insert(Model)) ran one statement per
# row here, the table form one multi-row statement per chunk.
_RECORDS = Base.metadata.tables["records"]
_VERSIONS = Base.metadata.tables["record_versions"]


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
    # What re-evaluation needs; bounded by the number of subjects, not records, so an
    # import's memory does not grow with the size of its file.
    touched_subjects: set[int] = field(default_factory=set)

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


class Checked(NamedTuple):
    """A chunk of an import file after parsing and validation: the valid records with their
    positions, and the rejected ones."""

    valid: list[tuple[int, ValidRecord]]
    rejected: list[Rejection]


def check(items: Iterable[tuple[int, Any]], *, today: dt.date, id_key: bytes) -> Checked:
    """Validate `(position, raw record)` pairs."""
    valid: list[tuple[int, ValidRecord]] = []
    rejected: list[Rejection] = []
    for index, raw in items:
        try:
            valid.append((index, validate_record(raw, today=today, id_key=id_key)))
        except RecordValidationError as exc:
            rejected.append(Rejection(index, exc.record_id, exc.errors))
    return Checked(valid, rejected)


def check_lines(lines: Sequence[tuple[int, bytes]], *, today: dt.date, id_key: bytes) -> Checked:
    """Parse and validate `(line number, line)` pairs of a JSON Lines file; a line that is not
    JSON is rejected by its number. Runs in an import's child processes: it reads nothing but
    its arguments."""
    parsed: list[tuple[int, Any]] = []
    bad: list[Rejection] = []
    for number, line in lines:
        try:
            parsed.append((number, json.loads(line)))
        except (ValueError, UnicodeDecodeError) as exc:
            bad.append(Rejection(number, None, {"": [f"not valid JSON: {exc}"]}))
    checked = check(parsed, today=today, id_key=id_key)
    if bad:
        checked.rejected.extend(bad)
        checked.rejected.sort(key=lambda r: r.index)
    return checked


class _Stored(NamedTuple):
    """What the database holds for a record_id: enough to tell unchanged from a new version."""

    content_hash: str
    version: int
    subject_id: int


class _Step(NamedTuple):
    """One changed record as it will be written: a first version, or a new one."""

    record: ValidRecord
    version: int

    @property
    def first(self) -> bool:
        return self.version == 1


class _Written(NamedTuple):
    first: bool
    subject_ids: list[int]


class Ingestor:
    """Takes records in chunks; the caller owns the session and commits.

    A chunk is validated whole, compared with the stored content hashes in one query,
    and what changed is written with a few multi-row statements inside one savepoint. If
    the database refuses the chunk, it is redone record by record, each in its own
    savepoint, so only the failing record is refused and nothing of it stays behind.
    """

    def __init__(self, session: Session, *, today: dt.date, id_key: bytes, chunk_size: int = 2000,
                 fresh: bool = False) -> None:
        self.session = session
        self.today = today
        self.id_key = id_key
        self.chunk_size = chunk_size
        self.report = IngestReport()
        # `fresh`: the caller's transaction holds nothing of its own yet, so until the first
        # chunk is written a failure may roll all of it back instead of a savepoint's worth
        # (a savepoint and its release are two of a single-record request's round trips).
        self._fresh = fresh

    def run(self, items: Iterable[tuple[int, Any]], progress: Callable[[int], None] | None = None) -> IngestReport:
        """Ingest `(position, raw record)` pairs; `progress` is told how many were read."""
        for chunk in chunked(items, self.chunk_size):
            self.store(check(chunk, today=self.today, id_key=self.id_key))
            if progress:
                progress(len(chunk))
        return self.report

    def store(self, checked: Checked) -> None:
        """Store one chunk validated by `check` or `check_lines` (perhaps in another process
        with the same `today` and key), and count it in the report."""
        self.report.rejected.extend(checked.rejected)
        valid = checked.valid
        if not valid:
            return
        stored = self._stored({v.record_id for _, v in valid})
        steps = _plan(valid, stored)
        if not steps:
            self.report.unchanged += len(valid)
            return
        try:
            if self._fresh:
                outcome = self._write(steps, stored)
            else:
                with self.session.begin_nested():
                    outcome = self._write(steps, stored)
        except SQLAlchemyError:
            if self._fresh:
                self.session.rollback()  # nothing else was in it
                self._fresh = False
            # Something in the chunk failed at the database: redo it record by record so
            # only the failing record is refused and the others are kept whole.
            self._one_by_one(valid, stored)
            return
        self._fresh = False
        self.report.unchanged += len(valid) - len(steps)
        self._count(outcome)

    def _one_by_one(self, valid: list[tuple[int, ValidRecord]], stored: dict[str, _Stored]) -> None:
        for index, v in valid:
            steps = _plan([(index, v)], stored)
            if not steps:
                self.report.unchanged += 1
                continue
            try:
                with self.session.begin_nested():
                    outcome = self._write(steps, stored)
            except SQLAlchemyError as exc:
                self.report.rejected.append(Rejection(index, v.record_id, {
                    "": [f"could not be stored: {type(getattr(exc, 'orig', None) or exc).__name__}"]}))
                continue
            self._count(outcome)
            stored[v.record_id] = _Stored(v.content_hash, steps[0].version, outcome[0].subject_ids[0])

    def _count(self, outcome: list[_Written]) -> None:
        for written in outcome:
            if written.first:
                self.report.accepted += 1
            else:
                self.report.new_versions += 1
            self.report.touched_subjects.update(written.subject_ids)

    def _stored(self, record_ids: set[str]) -> dict[str, _Stored]:
        rows = self.session.execute(
            select(Record.record_id, Record.content_hash, Record.version, Record.subject_id)
            .where(Record.record_id.in_(record_ids)))
        return {row.record_id: _Stored(row.content_hash, row.version, row.subject_id) for row in rows}

    def _write(self, steps: list[_Step], stored: Mapping[str, _Stored]) -> list[_Written]:
        """Write the changed records, their versions and their subjects."""
        infos: list[Mapping[str, Any]] = []
        for step in steps:
            subject = step.record.data["subject"]
            infos.append(subject)
            if subject.get("main_person"):
                infos.append({**subject["main_person"], "kind": "person"})
        subject_ids = upsert_subjects(self.session, infos)
        now = utcnow()
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[str, dict[str, Any]] = {}
        versions: list[dict[str, Any]] = []
        outcome: list[_Written] = []
        owner: dict[str, int] = {}  # subject of a record's version written earlier in this call
        for step in steps:
            data, record_id = step.record.data, step.record.record_id
            payload = EncodedJSON(data, step.record.text)
            subject_id = subject_ids[data["subject"]["key"]]
            touched = [subject_id]
            if data["subject"].get("main_person"):
                touched.append(subject_ids[data["subject"]["main_person"]["key"]])
            row = dict(
                record_id=record_id, type=data["type"], subject_id=subject_id, status=data["status"],
                version=step.version, content_hash=step.record.content_hash, event_date=event_date(data),
                accident_ref=data.get("accident_id"), payload=payload, updated_at=now,
            )
            if step.first:
                inserts[record_id] = {**row, "received_at": now}
            else:
                touched.append(owner[record_id] if record_id in owner else stored[record_id].subject_id)
                if record_id in inserts:  # its first version came earlier in this chunk
                    inserts[record_id].update(row)
                else:
                    updates[record_id] = row
            owner[record_id] = subject_id
            versions.append(dict(record_id=record_id, version=step.version,
                                 content_hash=step.record.content_hash, payload=payload, received_at=now))
            outcome.append(_Written(step.first, touched))
        if inserts:
            self.session.execute(insert(_RECORDS), list(inserts.values()))
        if updates:
            self.session.execute(update(Record), list(updates.values()))
        self.session.execute(insert(_VERSIONS), versions)
        return outcome


def _plan(valid: list[tuple[int, ValidRecord]], stored: Mapping[str, _Stored]) -> list[_Step]:
    """The records that differ from what is stored, or from their earlier copy in `valid`."""
    steps = []
    latest: dict[str, tuple[str, int]] = {}
    for _, v in valid:
        earlier = latest.get(v.record_id)
        previous = stored.get(v.record_id)
        if earlier is not None:
            content_hash, version = earlier
        elif previous is not None:
            content_hash, version = previous.content_hash, previous.version
        else:
            content_hash, version = "", 0
        if content_hash == v.content_hash:
            continue
        steps.append(_Step(v, version + 1))
        latest[v.record_id] = (v.content_hash, version + 1)
    return steps
