"""Subjects: find or create by identifier, keep every name they were reported under."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist.models import Subject, SubjectName

_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "责任公司", "公司")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "[": "(", "]": ")"})


def normalize_name(name: str) -> str:
    """A company name reduced for matching: NFKC, brackets unified, no whitespace,
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


def upsert_subject(session: Session, info: Mapping[str, Any], cache: dict[str, Subject] | None = None) -> Subject:
    """The subject a record names, created on first sight; a new name is remembered."""
    key = info["key"]
    subject = cache.get(key) if cache is not None else None
    if subject is None:
        subject = find_by_key(session, key)
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
    if cache is not None:
        cache[key] = subject
    return subject
