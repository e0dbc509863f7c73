"""Subjects: a unit's full history, and search by name (candidates, never a verdict)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from blacklist.cases import case_summary, public_payload
from blacklist.clock import today
from blacklist.errors import NotFoundError
from blacklist.listings import as_dict, subject_dict, subject_listings
from blacklist.records import event_date
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
    """A unit's full history: records with versions, cases, listings and their events, as
    recorded at `known_at` (default now): each record in the version then current, the
    cases opened by then, and the listings with the events known by then."""
    _, code, _ = subject_ref({"uscc": uscc}, "")
    as_of, known_at = axes(args)
    session = db()
    subject = session.scalars(select(Subject).where(Subject.uscc == code)).one_or_none()
    if subject is None or subject.created_at > known_at:
        raise NotFoundError(f"no record of {code}: the code is valid but the engine held nothing on it"
                            + ("" if subject is None else f" at {known_at.isoformat()}"))
    record_ids = list(session.scalars(select(Record.record_id).where(Record.subject_id == subject.id)))
    then: dict[str, RecordVersion] = {}  # each record's version current at known_at
    counts: dict[str, int] = {}
    for version in session.scalars(select(RecordVersion).where(
            RecordVersion.record_id.in_(record_ids), RecordVersion.received_at <= known_at)
            .order_by(RecordVersion.record_id, RecordVersion.version)):
        then[version.record_id] = version
        counts[version.record_id] = counts.get(version.record_id, 0) + 1
    day = today(settings().timezone)
    cases = [case_summary(c, day) for c in session.scalars(
        select(Case).where(Case.subject_id == subject.id, Case.created_at <= known_at).order_by(Case.id)).unique()]
    names = session.scalars(select(SubjectName.name).where(SubjectName.subject_id == subject.id,
                                                           SubjectName.first_seen <= known_at)
                            .order_by(SubjectName.first_seen, SubjectName.id)).all()
    records = sorted(then.values(), key=lambda v: (event_date(v.payload), v.record_id))
    return {
        "id": subject.id, "subject": {**subject_dict(subject), "names": list(names)},
        "records": [{"record_id": v.record_id, "type": v.payload.get("type"), "status": v.payload.get("status"),
                     "version": v.version, "versions": counts[v.record_id], "record": public_payload(v.payload)}
                    for v in records],
        "cases": cases,
        "listings": [as_dict(s, as_of) for s in subject_listings(session, [subject.id], known_at)],
        "as_of": as_of.isoformat(), "known_at": known_at.isoformat(),
    }
