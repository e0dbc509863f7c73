"""Eligibility checks: single (by code in the query, or by body for persons) and batch."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from blacklist.clock import now
from blacklist.eligibility import EligibilityService, UnknownDomainError
from blacklist.errors import InvalidInputError
from blacklist.identifiers import InvalidIdentifierError, hash_id_number, mask_id_number, validate_id_number, validate_uscc
from blacklist.receipts import digest
from web.auth import current_caller, require
from web.context import catalog, db, settings, signer
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


class BatchBodySchema(TimeAxesSchema):
    domain = fields.String(required=True)
    subjects = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


def _domain(service: EligibilityService, domain: str) -> None:
    try:
        service.check_domain(domain)
    except UnknownDomainError:
        valid = list(catalog().domains())
        raise InvalidInputError(f"unknown domain {domain!r}; valid domains: {', '.join(valid)}",
                                errors={"domain": [f"{domain!r} is not one of {', '.join(valid)}"]},
                                valid_domains=valid) from None


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
        valid = validate_id_number(number)
    except InvalidIdentifierError as exc:
        name = "uscc" if uscc is not None else "id_number"
        field = f"{path}.{name}" if path else name
        shown = repr(uscc) + ": " if uscc is not None else ""
        raise InvalidInputError(f"invalid {'unified social credit code' if uscc is not None else 'identity number'}"
                                f": {shown}{exc}", errors={field: [str(exc)]}, reason=exc.code) from None
    masked = mask_id_number(valid)
    return "id_hash", hash_id_number(valid, settings().id_hash_key), {"kind": "person", "id_number_masked": masked}


def _single(ref: tuple[str, str, dict[str, Any]], domain: str, args: dict[str, Any]) -> dict[str, Any]:
    as_of, known_at = axes(args)
    session = db()
    service = EligibilityService(session, catalog())
    _domain(service, domain)
    version, [result] = service.check_many([ref], domain, as_of, known_at)
    caller = current_caller()
    [check_id] = service.record(caller.id if caller else None, [ref], [result], domain, as_of, known_at, version)
    session.commit()
    issued = now().isoformat()
    result.update(list_version=version, check_id=check_id, known_at=known_at.isoformat(), checked_at=issued)
    result["receipt"] = signer().sign({
        "check_id": check_id, "subject": result["subject"], "domain": domain, "as_of": as_of.isoformat(),
        "known_at": known_at.isoformat(), "eligible": result["eligible"], "effect": result["effect"],
        "list_version": version, "issued_at": issued})
    return result


@bp.route("/eligibility")
@bp.arguments(CheckQuerySchema, location="query")
@bp.response(200, ObjectSchema)
@require("officer")
def get_eligibility(args: dict[str, Any]) -> dict[str, Any]:
    """May this unit take part in this activity on this day?"""
    ref = subject_ref({"uscc": args["uscc"]}, "")
    return _single(ref, args["domain"], args)


@bp.route("/eligibility", methods=["POST"])
@bp.arguments(CheckBodySchema)
@bp.response(200, ObjectSchema)
@require("officer")
def post_eligibility(args: dict[str, Any]) -> dict[str, Any]:
    """The same for a subject in the body; persons by identity number go here."""
    ref = subject_ref({k: v for k, v in args["subject"].items() if v is not None}, "subject")
    return _single(ref, args["domain"], args)


@bp.route("/eligibility/batch", methods=["POST"])
@bp.arguments(BatchBodySchema)
@bp.response(200, ObjectSchema)
@require("officer")
def post_batch(args: dict[str, Any]) -> dict[str, Any]:
    """Up to the limit of subjects, answered in order under one list version and one receipt."""
    limit = settings().batch_limit
    subjects = args["subjects"]
    if len(subjects) > limit:
        exc = RequestEntityTooLarge(f"a batch holds at most {limit} subjects; this one holds {len(subjects)}")
        raise exc
    errors: dict[str, list[str]] = {}
    refs = []
    for i, raw in enumerate(subjects):
        try:
            refs.append(subject_ref(raw, f"subjects[{i}]"))
        except InvalidInputError as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInputError(f"{len(errors)} subject(s) are invalid", errors=errors)
    as_of, known_at = axes(args)
    session = db()
    service = EligibilityService(session, catalog())
    _domain(service, args["domain"])
    version, results = service.check_many(refs, args["domain"], as_of, known_at)
    caller = current_caller()
    ids = service.record(caller.id if caller else None, refs, results, args["domain"], as_of, known_at, version)
    session.commit()
    for result, check_id in zip(results, ids):
        result["check_id"] = check_id
        result["list_version"] = version
    issued = now().isoformat()
    receipt = signer().sign({
        "batch": True, "domain": args["domain"], "as_of": as_of.isoformat(), "known_at": known_at.isoformat(),
        "list_version": version, "count": len(results), "results_sha256": digest(results), "issued_at": issued})
    return {"list_version": version, "domain": args["domain"], "as_of": as_of.isoformat(),
            "known_at": known_at.isoformat(), "count": len(results), "results": results, "receipt": receipt}


__all__ = ["bp", "subject_ref", "dt"]
