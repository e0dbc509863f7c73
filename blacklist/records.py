"""The interchange format of records.md: validation with field-level errors and the
normalised form every other part reads (persons carry a keyed hash, never the number)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping  # isinstance on typing.Mapping costs a microsecond more
from typing import Any

from blacklist.grades import GRADES, derive_grade, grade_rank
from blacklist.redact import redact, redact_value
from blacklist.identifiers import (
    InvalidIdentifierError,
    hash_id_number,
    mask_id_number,
    validate_id_number,
    validate_uscc,
)

KINDS = ("unit", "agency", "person")
INDUSTRIES = (
    "mining", "chemicals", "pharmaceuticals", "hazardous_chemicals", "fireworks",
    "oil_extraction", "metallurgy", "non_ferrous", "building_materials", "machinery",
    "light_industry", "textiles", "tobacco", "commerce", "construction", "transport", "other",
)
REPORTING = ("on_time", "late", "concealed", "false")
LEVELS = ("county", "city", "province", "national")
VIOLATIONS = (
    "accident.liability", "accident.concealed", "accident.false_report",
    "accident.late_report", "accident.no_rescue_or_fled", "accident.scene_destroyed",
    "permit.none", "permit.suspended_or_revoked", "agency.qualification_abuse",
    "agency.false_report", "penalty.refused_execution", "hazard.major_unrectified",
    "hazard.occupational_over_limit", "order.suspension_ignored", "supervision.evaded",
    "facilities.not_accepted", "mining.beyond_boundary", "other",
)
STATUSES = ("effective", "revoked")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII digits: \d takes any script's


class RecordValidationError(ValueError):
    """A record broke records.md; `errors` maps each field path to what is wrong."""

    def __init__(self, errors: dict[str, list[str]], record_id: str | None = None) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        self.record_id = record_id


class ValidRecord:
    """A record that passed validation, in normalised form, with its content hash.

    It travels between processes as its canonical text alone (an import validates in child
    processes), and `data` is parsed back only where it is read: a re-import compares
    hashes and never needs it.
    """

    __slots__ = ("record_id", "content_hash", "text", "_data")

    def __init__(self, record_id: str, content_hash: str, text: str, data: dict[str, Any] | None = None) -> None:
        self.record_id = record_id
        self.content_hash = content_hash
        self.text = text  # `data` as canonical JSON: hashed, and stored as it is (db.EncodedJSON)
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self.text)
        return self._data

    def __reduce__(self) -> tuple[Any, ...]:
        return ValidRecord, (self.record_id, self.content_hash, self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidRecord) and (self.content_hash, self.text) == (other.content_hash, other.text)

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def __repr__(self) -> str:
        return f"ValidRecord({self.record_id!r}, {self.content_hash[:12]}…)"


# Built once: json.dumps with these options builds the same encoder on every call.
canonical_json: Callable[[Any], str] = json.JSONEncoder(sort_keys=True, ensure_ascii=False,
                                                        separators=(",", ":")).encode


def _shown(value: Any) -> str:
    """A value as the sender wrote it in JSON (`true`, `null`, `"abc"`), for error messages,
    an identity number in it masked (sent in any field, in any dress)."""
    if isinstance(value, str):
        return redact_value(value, quote=canonical_json)  # a string as json.dumps writes it
    try:
        return redact(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError):
        return redact(repr(value))


class _Checker:
    """Collects field errors while reading one record."""

    def __init__(self, raw: Mapping[str, Any], today: dt.date) -> None:
        self.raw = raw
        self.today = today
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def text(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool,
             max_len: int = 200) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {type(value).__name__}")
            return None
        value = value.strip()
        if not value:
            self.fail(path, "must not be empty")
            return None
        if len(value) > max_len:
            self.fail(path, f"must be at most {max_len} characters, got {len(value)}")
            return None
        return value

    def choice(self, obj: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...],
               *, default: str | None = None, required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, f"is required; one of {', '.join(allowed)}")
            return default
        if value not in allowed:
            self.fail(path, f"{_shown(value)} is not one of {', '.join(allowed)}")
            return default
        return str(value)

    def date(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool,
             not_future: bool = True) -> dt.date | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "is required (a date YYYY-MM-DD)")
            return None
        if not isinstance(value, str) or not _DATE.match(value):
            self.fail(path, f"{_shown(value)} is not a date in the form YYYY-MM-DD")
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.fail(path, f"{_shown(value)} is not a real calendar date")
            return None
        if not_future and day > self.today:
            self.fail(path, f"{value} is in the future (today is {self.today.isoformat()})")
            return None
        return day

    def integer(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> int | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "is required (an integer >= 0)")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"{_shown(value)} is not an integer")
            return None
        if value < 0:
            self.fail(path, f"{value} is negative; must be >= 0")
            return None
        return value

    def boolean(self, obj: Mapping[str, Any], key: str, path: str, default: bool | None) -> bool | None:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, f"{_shown(value)} is not a boolean (true or false)")
            return default
        return value


def _subject(c: _Checker, id_key: bytes) -> dict[str, Any] | None:
    raw = c.raw.get("subject")
    if raw is None:
        c.fail("subject", "is required")
        return None
    if not isinstance(raw, Mapping):
        c.fail("subject", "must be an object")
        return None
    kind = c.choice(raw, "kind", "subject.kind", KINDS, required=True)
    name = c.text(raw, "name", "subject.name", required=True)
    out: dict[str, Any] = {"kind": kind, "name": name, "uscc": None, "industry": None,
                           "id_number_masked": None, "id_hash": None, "main_person": None}
    if raw.get("industry") is not None:
        out["industry"] = c.choice(raw, "industry", "subject.industry", INDUSTRIES)
    if kind in ("unit", "agency"):
        code = raw.get("uscc")
        if code is None:
            c.fail("subject.uscc", f"is required for a subject of kind {kind}")
        elif not isinstance(code, str):
            c.fail("subject.uscc", "must be a string")
        else:
            try:
                out["uscc"] = validate_uscc(code)
            except InvalidIdentifierError as exc:
                c.fail("subject.uscc", f"{redact_value(code)}: {exc}")
        main = raw.get("main_person")
        if main is not None:
            out["main_person"] = _person(c, main, "subject.main_person", id_key)
    elif kind == "person":
        person = _person(c, raw, "subject", id_key)
        if person:
            out["id_number_masked"] = person["id_number_masked"]
            out["id_hash"] = person["id_hash"]
    if kind is not None and out["uscc"]:
        out["key"] = f"uscc:{out['uscc']}"
    elif out["id_hash"]:
        out["key"] = f"person:{out['id_hash']}"
    return out


def _person(c: _Checker, raw: Any, path: str, id_key: bytes) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        c.fail(path, "must be an object with name and id_number")
        return None
    name = c.text(raw, "name", f"{path}.name", required=True)
    number = raw.get("id_number")
    if number is None:
        c.fail(f"{path}.id_number", "is required for a person")
        return None
    if not isinstance(number, str):
        c.fail(f"{path}.id_number", "must be a string")
        return None
    try:
        valid = validate_id_number(number, as_of=c.today)
    except InvalidIdentifierError as exc:
        c.fail(f"{path}.id_number", str(exc))  # the message never holds the whole number
        return None
    digest = hash_id_number(valid, id_key)
    return {"key": f"person:{digest}", "name": name, "id_number_masked": mask_id_number(valid),
            "id_hash": digest}


def _accident(c: _Checker, out: dict[str, Any]) -> None:
    raw = c.raw
    occurred = c.date(raw, "occurred_on", "occurred_on", required=True)
    deaths = c.integer(raw, "deaths", "deaths", required=True)
    injuries = c.integer(raw, "serious_injuries", "serious_injuries", required=True)
    loss = c.integer(raw, "direct_loss_cny", "direct_loss_cny", required=True)
    stated = c.choice(raw, "grade", "grade", GRADES)
    grade = stated
    if deaths is not None and injuries is not None and loss is not None:
        implied = derive_grade(deaths, injuries, loss)
        if stated is None:
            grade = implied
        elif grade_rank(stated) < grade_rank(implied):
            c.fail("grade", f"stated grade {_shown(stated)} is lower than {_shown(implied)}, which "
                   f"{deaths} deaths, {injuries} serious injuries and {loss} CNY direct loss imply")
    approved = c.date(raw, "report_approved_on", "report_approved_on", required=False)
    out.update(
        occurred_on=occurred.isoformat() if occurred else None,
        deaths=deaths, serious_injuries=injuries, direct_loss_cny=loss, grade=grade,
        liability=c.boolean(raw, "liability", "liability", True),
        reporting=c.choice(raw, "reporting", "reporting", REPORTING, default="on_time"),
        report_approved_on=approved.isoformat() if approved else None,
    )


def _penalty(c: _Checker, out: dict[str, Any]) -> None:
    raw = c.raw
    document_no = c.text(raw, "document_no", "document_no", required=True, max_len=100)
    authority = None
    auth = raw.get("authority")
    if auth is None:
        c.fail("authority", "is required: {name, region, level}")
    elif not isinstance(auth, Mapping):
        c.fail("authority", "must be an object {name, region, level}")
    else:
        region = auth.get("region")
        if region is None:
            c.fail("authority.region", "is required (a 6-digit division code)")
        elif not isinstance(region, str) or not re.fullmatch(r"[0-9]{6}", region):
            c.fail("authority.region", f"{_shown(region)} is not a 6-digit division code")
        authority = {
            "name": c.text(auth, "name", "authority.name", required=True),
            "region": region,
            "level": c.choice(auth, "level", "authority.level", LEVELS, required=True),
        }
    decided = c.date(raw, "decided_on", "decided_on", required=True)
    conduct = c.date(raw, "conduct_on", "conduct_on", required=False)
    if conduct and decided and conduct > decided:
        c.fail("conduct_on", f"{conduct} is after the decision date {decided}")
    accident_id = c.text(raw, "accident_id", "accident_id", required=False, max_len=100)
    violations: list[str] = []
    codes = raw.get("violations")
    if codes is None:
        c.fail("violations", "is required: a list of at least one violation code")
    elif not isinstance(codes, list) or not codes:
        c.fail("violations", "must be a non-empty list of violation codes")
    else:
        for i, code in enumerate(codes):
            if code not in VIOLATIONS:
                c.fail(f"violations[{i}]", f"{_shown(code)} is not a violation code; "
                       f"one of {', '.join(VIOLATIONS)}")
            elif code not in violations:
                violations.append(code)
        violations.sort()
    multiple = raw.get("fine_multiple")
    if multiple is not None:
        if isinstance(multiple, bool) or not isinstance(multiple, (int, float)):
            c.fail("fine_multiple", f"{_shown(multiple)} is not a number")
            multiple = None
        elif not 2 <= multiple <= 5:
            c.fail("fine_multiple", f"{multiple} is outside 2–5 (Work Safety Law Art 114 ¶2)")
            multiple = None
        else:
            multiple = float(multiple)
    out.update(
        document_no=document_no, authority=authority,
        decided_on=decided.isoformat() if decided else None,
        conduct_on=conduct.isoformat() if conduct else None,
        accident_id=accident_id, violations=violations,
        fine_cny=c.integer(raw, "fine_cny", "fine_cny", required=False),
        fine_multiple=multiple,
        serious=c.boolean(raw, "serious", "serious", False),
        executed=c.boolean(raw, "executed", "executed", None),
    )


def validate_record(raw: Any, *, today: dt.date, id_key: bytes) -> ValidRecord:
    """Check one record against records.md and return its normalised form."""
    if not isinstance(raw, Mapping):
        raise RecordValidationError({"": [f"a record must be a JSON object, got {type(raw).__name__}"]})
    c = _Checker(raw, today)
    kind = c.choice(raw, "type", "type", ("accident", "penalty"), required=True)
    record_id = c.text(raw, "record_id", "record_id", required=True, max_len=100)
    out: dict[str, Any] = {
        "type": kind,
        "record_id": record_id,
        "status": c.choice(raw, "status", "status", STATUSES, default="effective"),
        "subject": _subject(c, id_key),
    }
    if kind == "accident":
        _accident(c, out)
    elif kind == "penalty":
        _penalty(c, out)
    if c.errors:
        raw_id = raw.get("record_id")
        raise RecordValidationError(c.errors, raw_id if isinstance(raw_id, str) else None)
    text = canonical_json(out)
    return ValidRecord(str(record_id), hashlib.sha256(text.encode()).hexdigest(), text, out)


def event_date(data: Mapping[str, Any]) -> dt.date:
    """The record's own date: an accident's occurrence, a penalty's decision."""
    return dt.date.fromisoformat(data["occurred_on"] if data["type"] == "accident" else data["decided_on"])
