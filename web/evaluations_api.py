"""POST /api/v1/evaluations: what the rules would propose, with explanations; stores nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any


from blacklist.clock import today
from blacklist.errors import InvalidInputError
from blacklist.records import RecordValidationError, validate_record
from rules.evaluate import evaluate, to_json
from web.auth import require
from web.blueprint import Blueprint
from web.context import packs, settings
from web.records_api import RECORD_DOC, json_body
from web.schemas import ObjectSchema

bp = Blueprint("evaluations", __name__, url_prefix="/api/v1", description="Dry-run evaluation")


def _as_of(raw: Any, default: dt.date) -> dt.date:
    if raw is None:
        return default
    try:
        if not isinstance(raw, str):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(f"as_of {raw!r} is not a date YYYY-MM-DD",
                                errors={"as_of": [f"{raw!r} is not a date in the form YYYY-MM-DD"]}) from None


def validate_all(records: list[Any], day: dt.date, id_key: bytes) -> list[dict[str, Any]]:
    """Every record valid, or a 422 naming each bad record and field."""
    valid, errors = [], {}
    for index, raw in enumerate(records):
        try:
            valid.append(validate_record(raw, today=day, id_key=id_key).data)
        except RecordValidationError as exc:
            errors[str(index)] = {"record_id": exc.record_id, "errors": exc.errors}
    if errors:
        rejected = [{"index": int(i), **e} for i, e in errors.items()]
        raise InvalidInputError(f"{len(errors)} record(s) break records.md; nothing was evaluated",
                                errors={f"records[{r['index']}]": r["errors"] for r in rejected},
                                rejected=rejected)
    return valid


@bp.route("/evaluations", methods=["POST"])
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["records"],
    "properties": {"records": {"type": "array", "items": RECORD_DOC},
                   "as_of": {"type": "string", "format": "date"}}}}}})
@bp.response(200, ObjectSchema)
@require("officer")
def post_evaluation() -> dict[str, Any]:
    """`{records, as_of}` → for each subject, the proposals and why every other rule did not fire."""
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise InvalidInputError("the body must be an object {records: [...], as_of}",
                                errors={"records": ["required: a JSON array of records"]})
    s = settings()
    day = today(s.timezone)
    as_of = _as_of(body.get("as_of"), day)
    records = validate_all(body["records"], day, s.id_hash_key)
    return {"as_of": as_of.isoformat(), "subjects": to_json(evaluate(records, as_of, packs()))}
