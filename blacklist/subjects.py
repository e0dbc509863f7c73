"""Subjects: find or create by identifier, keep every name they were reported under."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from blacklist.models import Base, Subject, SubjectName, subject_key, utcnow

# Bulk rows go through the tables: insert(Subject) ran one statement per row.
_SUBJECTS = Base.metadata.tables["subjects"]
_NAMES = Base.metadata.tables["subject_names"]
_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "责任公司", "公司")
# Brackets are dropped, their content kept: 燕山石化（集团）有限公司 ~ 燕山石化集团有限公司.
_BRACKETS = str.maketrans("", "", "()（）[]【】〔〕{}<>《》")


def normalize_name(name: str) -> str:
    """A company name reduced for matching: NFKC, no brackets, no whitespace,
    the legal-form suffix dropped."""
    text = unicodedata.normalize("NFKC", name).translate(_BRACKETS)
    text = re.sub(r"\s+", "", text).upper()
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text


def find_by_key(session: Session, key: str) -> Subject | None:
    scheme, _, value = key.partition(":")
    column = Subject.uscc if scheme == "uscc" else Subject.id_hash
    return session.scalars(select(Subject).where(column == value)).one_or_none()


def upsert_subject(session: Session, info: Mapping[str, Any]) -> Subject:
    """The subject a record names, created on first sight; a new name is remembered."""
    subject = find_by_key(session, info["key"])
    name = info["name"]
    if subject is None:
        subject = Subject(
            kind=info["kind"], name=name, name_norm=normalize_name(name),
            uscc=info.get("uscc"), id_hash=info.get("id_hash"),
            id_masked=info.get("id_number_masked"), industry=info.get("industry"),
        )
        session.add(subject)
        session.flush()
        session.add(SubjectName(subject_id=subject.id, name=name, name_norm=subject.name_norm))
    else:
        if subject.name != name:
            known = session.scalar(select(SubjectName.id).where(
                SubjectName.subject_id == subject.id, SubjectName.name == name))
            if known is None:
                session.add(SubjectName(subject_id=subject.id, name=name, name_norm=normalize_name(name)))
            subject.name, subject.name_norm = name, normalize_name(name)
        if info.get("industry") and subject.industry != info["industry"]:
            subject.industry = info["industry"]
    return subject


@dataclass
class _Seen:
    """A subject as a batch leaves it; `names` are the names to remember, first sight first."""

    id: int | None  # None until a new subject is inserted
    name: str
    industry: str | None
    info: Mapping[str, Any] | None  # how a new subject was first reported; None if stored
    names: list[str] = field(default_factory=list)
    changed: bool = False


def upsert_subjects(session: Session, infos: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """`upsert_subject` for each of `infos` in order, in a few statements; key -> subject id."""
    if not infos:
        return {}
    found = _find(session, {i["key"] for i in infos}, Subject.id, Subject.name, Subject.industry)
    seen = {subject_key(row.uscc, row.id_hash): _Seen(row.id, row.name, row.industry, None) for row in found}
    for info in infos:
        name, industry = info["name"], info.get("industry")
        subject = seen.get(info["key"])
        if subject is None:
            seen[info["key"]] = _Seen(None, name, industry, info, [name])
            continue
        if subject.name != name:
            if name not in subject.names:
                subject.names.append(name)
            subject.name, subject.changed = name, True
        if industry and subject.industry != industry:
            subject.industry, subject.changed = industry, True
    _insert_new(session, [s for s in seen.values() if s.info is not None])
    _update_known(session, [s for s in seen.values() if s.info is None and (s.changed or s.names)])
    return {key: s.id for key, s in seen.items() if s.id is not None}


def _find(session: Session, keys: Iterable[str], *columns: Any) -> list[Any]:
    """Rows of the stored subjects with these keys (`uscc:…` or `person:…`, as find_by_key)."""
    usccs: list[str] = []
    hashes: list[str] = []
    for key in keys:
        scheme, _, value = key.partition(":")
        (usccs if scheme == "uscc" else hashes).append(value)
    rows: list[Any] = []
    for column, values in ((Subject.uscc, usccs), (Subject.id_hash, hashes)):
        if values:
            rows += session.execute(select(*columns, Subject.uscc, Subject.id_hash).where(column.in_(values)))
    return rows


def _insert_new(session: Session, new: list[_Seen]) -> None:
    if not new:
        return
    values = []
    for s in new:
        assert s.info is not None
        values.append({"kind": s.info["kind"], "name": s.name, "name_norm": normalize_name(s.name),
                       "uscc": s.info.get("uscc"), "id_hash": s.info.get("id_hash"),
                       "id_masked": s.info.get("id_number_masked"), "industry": s.industry})
    session.execute(insert(_SUBJECTS), values)
    # Read the new ids back by key: a multi-row INSERT .. RETURNING goes row by row on SQLite.
    by_key = {s.info["key"]: s for s in new if s.info is not None}
    for row in _find(session, by_key, Subject.id):
        by_key[subject_key(row.uscc, row.id_hash)].id = row.id
    session.execute(insert(_NAMES), [
        {"subject_id": s.id, "name": name, "name_norm": normalize_name(name)} for s in new for name in s.names])


def _update_known(session: Session, known: list[_Seen]) -> None:
    """Remember new names of subjects already stored and write their latest name and industry."""
    with_names = [s for s in known if s.names]
    if with_names:
        rows = session.execute(select(SubjectName.subject_id, SubjectName.name).where(
            SubjectName.subject_id.in_([s.id for s in with_names])))
        stored = {(row.subject_id, row.name) for row in rows}
        missing = [{"subject_id": s.id, "name": name, "name_norm": normalize_name(name)}
                   for s in with_names for name in s.names if (s.id, name) not in stored]
        if missing:
            session.execute(insert(_NAMES), missing)
    changed = [s for s in known if s.changed]
    if changed:
        now = utcnow()
        session.execute(update(Subject), [
            {"id": s.id, "name": s.name, "name_norm": normalize_name(s.name), "industry": s.industry,
             "updated_at": now} for s in changed])
