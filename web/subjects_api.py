"""Subjects: a unit's full history, and search by name (candidates, never a verdict)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from blacklist.cases import case_summary, public_payload
from blacklist.clock import today
from blacklist.errors import NotFoundError
from blacklist.listings import as_dict, subject_dict, subject_listings
from blacklist.redact import redact
from blacklist.models import Case, Record, RecordVersion, Subject, SubjectName
from blacklist.search import search_names
from web.auth import require
from web.blueprint import Blueprint
from web.context import db, settings
from web.eligibility_api import subject_ref
from web.schemas import ObjectSchema, TimeAxesSchema
from web.timeaxes import axes

bp = Blueprint("subjects", __name__, url_prefix="/api/v1", description="Subjects")


class SearchQuerySchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 50))


@bp.route("/subjects")
@bp.arguments(SearchQuerySchema, location="query")
@bp.response(200, ObjectSchema)
@require("officer")
def search(args: dict[str, Any]) -> dict[str, Any]:
    """Candidates for a company name, ranked by similarity, each with its score and code."""
    items = search_names(db(), args["name"], limit=args["limit"])
    # echoed masked: a clerk may paste an identity number into the name box
    return {"items": items, "next": None, "query": redact(args["name"]),
            "note": "candidates by name similarity only: check eligibility by code before relying on one"}


@bp.route("/subjects/<string:uscc>")
@bp.arguments(TimeAxesSchema, location="query")
@bp.response(200, ObjectSchema)
@require("officer")
def history(args: dict[str, Any], uscc: str) -> dict[str, Any]:
    """A unit's full history: records with versions, cases, listings and their events."""
    _, code, _ = subject_ref({"uscc": uscc}, "")
    as_of, known_at = axes(args)
    session = db()
    subject = session.scalars(select(Subject).where(Subject.uscc == code)).one_or_none()
    if subject is None:
        raise NotFoundError(f"no record of {code}: the code is valid but the engine holds nothing on it")
    records = session.scalars(select(Record).where(Record.subject_id == subject.id).order_by(
        Record.event_date, Record.record_id)).all()
    versions: dict[str, int] = {}
    for rid, count in session.execute(select(RecordVersion.record_id, RecordVersion.version).where(
            RecordVersion.record_id.in_([r.record_id for r in records]))):
        versions[rid] = max(versions.get(rid, 0), count)
    day = today(settings().timezone)
    cases = [case_summary(c, day) for c in session.scalars(
        select(Case).where(Case.subject_id == subject.id).order_by(Case.id)).unique()]
    names = session.scalars(select(SubjectName.name).where(SubjectName.subject_id == subject.id)
                            .order_by(SubjectName.first_seen, SubjectName.id)).all()
    return {
        "id": subject.id, "subject": {**subject_dict(subject), "names": list(names)},
        "records": [{"record_id": r.record_id, "type": r.type, "status": r.status, "version": r.version,
                     "versions": versions.get(r.record_id, 1), "record": public_payload(r.payload)} for r in records],
        "cases": cases,
        "listings": [as_dict(s, as_of) for s in subject_listings(session, [subject.id], known_at)],
        "as_of": as_of.isoformat(), "known_at": known_at.isoformat(),
    }
