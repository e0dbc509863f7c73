"""The regulator's deadline view: statements over and awaiting decision, publications due."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from blacklist.cases import case_summary, overdue_clause
from blacklist.clock import today
from blacklist.models import Case, Change
from web.auth import require
from web.blueprint import Blueprint
from web.context import db, settings
from web.schemas import ObjectSchema

bp = Blueprint("deadlines", __name__, url_prefix="/api/v1", description="Deadlines (regulator)")


@bp.route("/deadlines")
@bp.response(200, ObjectSchema)
@require("regulator")
def deadlines() -> dict[str, Any]:
    """Cases whose statement period ended and that await a decision (oldest first), and
    changes not yet published, overdue first."""
    session = db()
    day = today(settings().timezone)
    awaiting = session.scalars(select(Case).where(overdue_clause(day)).order_by(Case.statement_ends, Case.id)
                               .limit(1000)).unique().all()
    unpublished = session.scalars(select(Change).where(Change.published_at.is_(None))
                                  .order_by(Change.due_on, Change.id).limit(1000)).all()
    return {
        "today": day.isoformat(),
        "awaiting_decision": [case_summary(c, day) for c in awaiting],
        "unpublished_changes": [{
            "id": c.id, "change_id": c.change_id, "kind": c.kind, "listing_id": c.listing_id,
            "effective_on": c.effective_on.isoformat(), "due_on": c.due_on.isoformat() if c.due_on else None,
            "due_provisional": c.due_provisional,
            "overdue": bool(c.due_on and c.due_on < day), "attempts": c.attempts, "last_error": c.last_error,
        } for c in unpublished],
    }
