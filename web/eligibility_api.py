"""Eligibility checks: single (by code in the query, or by body for persons) and batch."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import threading
from contextlib import contextmanager
from itertools import islice
from typing import Any, Iterator, Sequence

from flask import Response, current_app, request
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from blacklist.clock import now, today
from blacklist.db import compact_json
from blacklist.eligibility import EligibilityService, MeasureCatalog, SingleCheck, canonical_answers
from blacklist.errors import InvalidInputError
from blacklist.identifiers import (InvalidIdentifierError, hash_id_number, is_normal_valid_uscc, mask_id_number,
                                   validate_id_number, validate_uscc)
from blacklist.receipts import Signer
from blacklist.redact import redact_value
from web.auth import current_caller, require
from web.blueprint import Blueprint
from web.context import autocommit_cursor, catalog, db, services, settings, signer
from web.schemas import ObjectSchema, TimeAxesSchema
from web.timeaxes import axes

bp = Blueprint("eligibility", __name__, url_prefix="/api/v1", description="Eligibility checks")


class CheckQuerySchema(TimeAxesSchema):
    uscc = fields.String(required=True, metadata={"description": "unified social credit code"})
    domain = fields.String(required=True, metadata={"description": "activity code (regulations.md §6)"})


class SubjectRefSchema(Schema):
    uscc = fields.String(load_default=None)
    id_number = fields.String(load_default=None, metadata={"description": "resident identity number (persons)"})


class CheckBodySchema(TimeAxesSchema):
    subject = fields.Nested(SubjectRefSchema, required=True)
    domain = fields.String(required=True)


class _SubjectList(fields.List):
    """A list of objects, taken as it is when every item is one (a batch holds 100,000):
    deserialising each item would only copy it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if type(value) is list and all(type(item) is dict for item in value):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class BatchBodySchema(TimeAxesSchema):
    domain = fields.String(required=True)
    subjects = _SubjectList(fields.Dict(), required=True, validate=validate.Length(min=1))


def _domain(measures: MeasureCatalog, domain: str) -> None:
    if domain not in measures.domains():
        valid = list(measures.domains())
        raise InvalidInputError(f"unknown domain {domain!r}; valid domains: {', '.join(valid)}",
                                errors={"domain": [f"{domain!r} is not one of {', '.join(valid)}"]},
                                valid_domains=valid) from None


def _answer_and_record(refs: Sequence[tuple[str, str, dict[str, Any]]], domain: str, args: dict[str, Any]
                       ) -> tuple[dt.date, dt.datetime, str, list[dict[str, Any]], list[str]]:
    """Answer, and record every answer before anything is returned (POSTs, batches).

    The answer is read on a connection of its own, outside the write lock; the record goes
    through the request's session, a writer (on SQLite it may hold the write lock already,
    since the caller was looked up), which commits it.
    """
    as_of, known_at = axes(args)
    measures = catalog()
    _domain(measures, domain)
    caller = current_caller()
    with services().lookups() as session:
        version, results = EligibilityService(session, measures).check_many(refs, domain, as_of, known_at)
    writer = db()
    ids = EligibilityService(writer, measures).record(caller.id if caller else None, refs, results, domain, as_of,
                                                      known_at, version)
    writer.commit()
    return as_of, known_at, version, results, ids


def subject_ref(raw: Any, path: str) -> tuple[str, str, dict[str, Any]]:
    """`(scheme, value, shown)` for a subject given by code or identity number; 422 if invalid."""
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{path} must be an object with uscc or id_number", errors={path: ["not an object"]})
    uscc, number = raw.get("uscc"), raw.get("id_number")
    if (uscc is None) == (number is None):
        raise InvalidInputError(f"{path} needs exactly one of uscc or id_number",
                                errors={path: ["give exactly one of uscc or id_number"]})
    try:
        if uscc is not None:
            if not isinstance(uscc, str):
                raise InvalidIdentifierError("format", "must be a string")
            code = validate_uscc(uscc)
            return "uscc", code, {"kind": "unit", "uscc": code}
        if not isinstance(number, str):
            raise InvalidIdentifierError("format", "must be a string")
        valid = validate_id_number(number, as_of=today(settings().timezone))
    except InvalidIdentifierError as exc:
        name = "uscc" if uscc is not None else "id_number"
        field = f"{path}.{name}" if path else name
        shown = redact_value(uscc) + ": " if isinstance(uscc, str) else ""
        raise InvalidInputError(f"invalid {'unified social credit code' if uscc is not None else 'identity number'}"
                                f": {shown}{exc}", errors={field: [str(exc)]}, reason=exc.code) from None
    masked = mask_id_number(valid)
    return "id_hash", hash_id_number(valid, settings().id_hash_key), {"kind": "person", "id_number_masked": masked}


def _single(ref: tuple[str, str, dict[str, Any]], domain: str, args: dict[str, Any]) -> dict[str, Any]:
    if request.method in ("GET", "HEAD"):
        as_of, known_at, version, result, check_id = _single_autocommit(ref, domain, args)
    else:
        as_of, known_at, version, [result], [check_id] = _answer_and_record([ref], domain, args)
    issued = now().isoformat()
    result.update(list_version=version, check_id=check_id, known_at=known_at.isoformat(), checked_at=issued)
    result["receipt"] = signer().sign({
        "check_id": check_id, "subject": result["subject"], "domain": domain, "as_of": as_of.isoformat(),
        "known_at": known_at.isoformat(), "eligible": result["eligible"], "effect": result["effect"],
        "list_version": version, "issued_at": issued})
    return result


def _single_autocommit(ref: tuple[str, str, dict[str, Any]], domain: str, args: dict[str, Any]
                       ) -> tuple[dt.date, dt.datetime, str, dict[str, Any], str]:
    """The hot path (a GET): one SELECT answers, one INSERT records, each its own transaction,
    the record committed before the answer leaves. A GET's request session only ever reads, so
    no lock of ours can be held while the INSERT waits for SQLite's write lock."""
    as_of, known_at = axes(args)
    measures = catalog()
    _domain(measures, domain)
    caller = current_caller()
    svc = services()
    check: SingleCheck | None = svc.extra.get("single_check")
    if check is None:
        check = svc.extra["single_check"] = SingleCheck(svc.engine.dialect, measures)
    token_id = caller.id if caller else None
    if svc.check_engine is None:
        with autocommit_cursor(svc.hot_engine) as cursor:
            version, result = check.answer(cursor, ref, domain, as_of, known_at)
            check_id = check.record(cursor, token_id, ref, result, domain, as_of, known_at, version)
    else:  # answered by the replica, recorded on the primary
        with autocommit_cursor(svc.check_engine) as cursor:
            version, result = check.answer(cursor, ref, domain, as_of, known_at)
        with autocommit_cursor(svc.hot_engine) as cursor:
            check_id = check.record(cursor, token_id, ref, result, domain, as_of, known_at, version)
    return as_of, known_at, version, result, check_id


_CHECK_QUERY = CheckQuerySchema()


def _check_query() -> dict[str, Any]:
    """The query of a single check, as webargs would load it with `CheckQuerySchema`
    (unknown parameters ignored, 422 naming each bad field), without webargs' per-request
    machinery for the common query of only `uscc` and `domain`: the hot path."""
    raw = request.args
    if len(raw) == 2 and "uscc" in raw and "domain" in raw:
        return {"uscc": raw["uscc"], "domain": raw["domain"], "as_of": None, "known_at": None}
    try:
        loaded: dict[str, Any] = _CHECK_QUERY.load({k: raw[k] for k in _CHECK_QUERY.fields if k in raw})
    except ValidationError as exc:
        abort(422, messages={"query": exc.messages})
    return loaded


@bp.route("/eligibility")
# Documented from the schema; parsed by `_check_query`.
@bp.doc(parameters=[{"in": "query", "schema": CheckQuerySchema}])
@bp.response(200, ObjectSchema)
@require("officer")
def get_eligibility() -> Response:
    """May this unit take part in this activity on this day?"""
    args = _check_query()
    code = _uscc_as_given({"uscc": args["uscc"]})
    ref = ("uscc", code, {"kind": "unit", "uscc": code}) if code else subject_ref({"uscc": args["uscc"]}, "")
    # What the response decorator would send (ObjectSchema passes the answer through), built directly.
    return current_app.json.response(_single(ref, args["domain"], args))


@bp.route("/eligibility", methods=["POST"])
@bp.arguments(CheckBodySchema())
@bp.response(200, ObjectSchema)
@require("officer")
def post_eligibility(args: dict[str, Any]) -> dict[str, Any]:
    """The same for a subject in the body; persons by identity number go here."""
    ref = subject_ref({k: v for k, v in args["subject"].items() if v is not None}, "subject")
    return _single(ref, args["domain"], args)


@bp.route("/eligibility/batch", methods=["POST"])
@bp.arguments(BatchBodySchema())
@bp.response(200, ObjectSchema)
@require("officer")
def post_batch(args: dict[str, Any]) -> Response:
    """Up to the limit of subjects, answered in order under one list version and one receipt."""
    limit = settings().batch_limit
    subjects = args["subjects"]
    if len(subjects) > limit:
        exc = RequestEntityTooLarge(f"a batch holds at most {limit} subjects; this one holds {len(subjects)}")
        raise exc
    domain = args["domain"]
    as_of, known_at = axes(args)
    measures = catalog()
    _domain(measures, domain)
    caller = current_caller()
    with _collector_paused():
        refs = _batch_refs(subjects)
        writer = db()
        with services().lookups() as session:
            version, found, bans, ids = EligibilityService(session, measures).check_and_log(
                writer, refs, domain, as_of, known_at, caller.id if caller else None, _PART)
        writer.commit()  # every answer is on record before the first one leaves
    head = {"list_version": version, "domain": domain, "as_of": as_of.isoformat(), "known_at": known_at.isoformat(),
            "count": len(refs)}
    texts = canonical_answers(refs, found, domain, as_of, measures, ids, version, bans)
    return Response(_batch_body(head, texts, signer()), mimetype="application/json")


_PART = 20_000  # subjects looked up, then logged, at a time (`EligibilityService.check_and_log`)


_PAUSE_LOCK = threading.Lock()
_pausing = 0  # batches running with the collector paused, in this process's threads
_resume = False  # whether the collector was running when the first of them paused it


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a batch builds its answers: hundreds of
    thousands of containers, none of them cyclic garbage, which the collector scanned again
    and again (0.2-0.4 s of a 100,000-subject batch with the worker's own objects frozen,
    `blacklist serve`). Counted, as batches may run in several threads of a worker at once:
    the collector resumes when the last of them ends, if it was running before the first."""
    global _pausing, _resume
    with _PAUSE_LOCK:
        if _pausing == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _pausing -= 1
            if _pausing == 0 and _resume:
                gc.enable()


def _batch_refs(subjects: list[Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """`subject_ref` for each subject, or one 422 naming every invalid one."""
    errors: dict[str, list[str]] = {}
    refs = []
    for i, raw in enumerate(subjects):
        code = _uscc_as_given(raw)
        if code is not None:
            refs.append(("uscc", code, {"kind": "unit", "uscc": code}))
            continue
        try:
            refs.append(subject_ref(raw, f"subjects[{i}]"))
        except InvalidInputError as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInputError(f"{len(errors)} subject(s) are invalid", errors=errors)
    return refs


def _uscc_as_given(raw: Any) -> str | None:
    """The code of `{"uscc": code}` when `validate_uscc` would return it unchanged, as most in
    a batch are; None when `subject_ref` must decide."""
    if type(raw) is not dict or raw.get("id_number") is not None:
        return None
    code = raw.get("uscc")
    return code if is_normal_valid_uscc(code) else None


def _batch_body(head: dict[str, Any], results: Iterator[str], signer: Signer) -> Iterator[bytes]:
    """`{...head, "results": [...], "receipt": {...}}`, streamed from the results' canonical JSON,
    which both goes out and feeds the digest the receipt signs (`receipts.digest` of the
    results): each result is serialised once, and no 40 MB document is ever held whole."""
    dumps = compact_json  # as the app's JSON provider writes
    yield (dumps(head)[:-1] + ',"results":[').encode()
    hashed = hashlib.sha256(b"[")
    first = True
    while True:
        with _collector_paused():  # while each piece is built, not while it is sent
            pieces = list(islice(results, 2_000))
            if len(pieces) < 2_000:
                break
            data = (("" if first else ",") + ",".join(pieces)).encode()
        hashed.update(data)
        yield data
        first = False
    data = (("" if first or not pieces else ",") + ",".join(pieces)).encode()
    hashed.update(data)
    hashed.update(b"]")
    receipt = signer.sign({"batch": True, "domain": head["domain"], "as_of": head["as_of"],
                           "known_at": head["known_at"], "list_version": head["list_version"], "count": head["count"],
                           "results_sha256": hashed.hexdigest(), "issued_at": now().isoformat()})
    yield data + b'],"receipt":' + dumps(receipt).encode() + b"}"


__all__ = ["bp", "subject_ref", "dt"]
