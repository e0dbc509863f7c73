"""POST /api/v1/records: ingest a JSON array of records."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields
from werkzeug.exceptions import BadRequest

from blacklist.clock import today
from blacklist.errors import InvalidInputError
from blacklist.ingest import Ingestor
from rules.service import reevaluate_after_ingest
from web.auth import require_any
from web.blueprint import Blueprint
from web.context import db, settings

bp = Blueprint("records", __name__, url_prefix="/api/v1", description="Record ingest")


class RejectedSchema(Schema):
    index = fields.Integer()
    record_id = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class IngestResultSchema(Schema):
    accepted = fields.Integer()
    unchanged = fields.Integer()
    new_versions = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedSchema))
    cases_opened = fields.Integer()
    cases_withdrawn = fields.Integer()
    listings_withdrawn = fields.Integer()


def json_body() -> Any:
    """The request body as JSON; malformed JSON is a 400."""
    try:
        return request.get_json(force=True)
    except BadRequest:
        raise BadRequest("the body is not well-formed JSON") from None


def records_array(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise InvalidInputError("the body must be a JSON array of records",
                                errors={"": ["expected a JSON array"]})
    return body


RECORD_DOC = {"type": "object", "required": ["type", "record_id", "subject"],
              "description": "a record in the format of records.md (accident or penalty)",
              "properties": {"type": {"type": "string", "enum": ["accident", "penalty"]},
                             "record_id": {"type": "string"}, "subject": {"type": "object"}}}


@bp.route("/records", methods=["POST"])
@bp.doc(requestBody={"required": True, "content": {"application/json": {
    "schema": {"type": "array", "items": RECORD_DOC}}}})
@bp.response(200, IngestResultSchema)
@bp.alt_response(422, description="not a JSON array")
@require_any("system", "regulator")
def post_records() -> dict[str, Any]:
    """Ingest records (records.md); good ones are taken, each bad one reported by position."""
    items = records_array(json_body())
    session = db()
    s = settings()
    ingestor = Ingestor(session, today=today(s.timezone), id_key=s.id_hash_key, fresh=True)
    report = ingestor.run(enumerate(items))
    result = report.as_dict()
    result.update(after_ingest(session, report))
    session.commit()
    return result


def after_ingest(session: Any, report: Any) -> dict[str, int]:
    """Re-evaluate what the ingest touched: open cases, withdraw what lost its evidence."""
    return reevaluate_after_ingest(session, report, settings())
