"""The deadline view and the publication status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, inspect, select

from blacklist.cases import case_summary
from blacklist.clock import now, today
from blacklist.listings import states
from blacklist.models import Case, Change, Listing, PublicationBatch
from blacklist.workflow import NOTIFIED, PROPOSED
from web.context import db, services, settings
from web.pages.base import bp, render, require_role
from web.pages.workbench import deadline_tone

LIMIT = 200
EXPIRY_DAYS = 30


def _has_changes_table() -> bool:
    extra = services().extra
    if "pages_has_changes" not in extra:
        extra["pages_has_changes"] = inspect(services().engine).has_table(Change.__tablename__)
    return bool(extra["pages_has_changes"])


def _change(change: Change, day: dt.date) -> dict[str, Any]:
    payload = change.payload or {}
    return {"id": change.id, "change_id": change.change_id, "kind": change.kind, "listing_id": change.listing_id,
            "subject": payload.get("subject") or {}, "document_no": payload.get("document_no"),
            "effective_on": change.effective_on, "due_on": change.due_on, "due_provisional": change.due_provisional,
            "attempts": change.attempts,
            "last_error": change.last_error, "next_attempt_at": change.next_attempt_at,
            "overdue": bool(change.due_on and change.due_on < day),
            "days_left": (change.due_on - day).days if change.due_on else None}


@bp.route("/workbench/deadlines")
@require_role("regulator")
def deadlines() -> Any:
    """Statement periods (overdue first), notices not yet served, publications due, listings ending."""
    session = db()
    day = today(settings().timezone)
    notified = session.scalars(select(Case).where(Case.status == NOTIFIED)
                               .order_by(Case.statement_ends, Case.id).limit(LIMIT)).unique().all()
    statements = [case_summary(c, day) for c in notified]
    for item in statements:
        item["tone"] = deadline_tone(item, day)
        ends = dt.date.fromisoformat(item["statement_ends"]) if item["statement_ends"] else None
        item["days_left"] = (ends - day).days if ends else None
    waiting = session.scalars(select(Case).where(Case.status == PROPOSED)
                              .order_by(Case.created_at, Case.id).limit(LIMIT)).unique().all()
    proposed = [{**case_summary(c, day), "age": (day - c.created_at.date()).days} for c in waiting]
    changes = []
    if _has_changes_table():
        changes = [_change(c, day) for c in session.scalars(
            select(Change).where(Change.published_at.is_(None)).order_by(Change.due_on, Change.id).limit(LIMIT))]
    horizon = day + dt.timedelta(days=EXPIRY_DAYS)
    ending = session.scalars(select(Listing).where(Listing.period_end >= day, Listing.period_end <= horizon)
                             .order_by(Listing.period_end, Listing.id).limit(LIMIT)).unique().all()
    expiring = [s for s in states(session, ending, now()) if s.in_force(day)]
    return render("deadlines.html", statements=statements, proposed=proposed, changes=changes,
                  expiring=expiring, today=day, horizon=EXPIRY_DAYS)


@bp.route("/workbench/publication")
@require_role("regulator")
def publication() -> Any:
    """What is waiting to reach the credit platform, what is late, and the last batches."""
    day = today(settings().timezone)
    if not _has_changes_table():
        return render("publication.html", present=False, today=day)
    session = db()
    unpublished = Change.published_at.is_(None)
    counts = {
        "unpublished": session.scalar(select(func.count()).where(unpublished)) or 0,
        "overdue": session.scalar(select(func.count()).where(unpublished, Change.due_on < day)) or 0,
        "failing": session.scalar(select(func.count()).where(unpublished, Change.attempts > 0)) or 0,
        "published": session.scalar(select(func.count()).where(Change.published_at.is_not(None))) or 0,
    }
    pending = [_change(c, day) for c in session.scalars(
        select(Change).where(unpublished).order_by(Change.due_on, Change.id).limit(LIMIT))]
    batches = session.scalars(select(PublicationBatch).order_by(PublicationBatch.id.desc()).limit(10)).all()
    last = session.scalar(select(func.max(Change.published_at)))
    return render("publication.html", present=True, counts=counts, pending=pending, batches=batches,
                  last_published=last, today=day)
