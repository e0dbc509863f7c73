"""Publication: the regulator's view of what reached the credit platform and what is
overdue, and the change feed for systems that pull."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ServiceUnavailable

from blacklist.clock import today
from blacklist.publication import (
    FEED_PAGE_MAX,
    PUBLICATION_STATUSES,
    change_feed,
    is_overdue,
    publication_dict,
    publication_summary,
    publications_query,
)
from web.auth import require
from web.blueprint import Blueprint
from web.cases_api import cursor_id
from web.context import db, settings
from web.schemas import PageQuerySchema, PageSchema

bp = Blueprint("publications", __name__, url_prefix="/api/v1", description="Publication to the credit platform")


class PublicationsQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(PUBLICATION_STATUSES))
    overdue = fields.Boolean(load_default=False, metadata={
        "description": "only changes published after, or still unpublished past, their due day"})


class ChangesQuerySchema(Schema):
    since = fields.String(load_default="0", metadata={"description": "`next` of the previous page (0: from the start)"})
    limit = fields.Integer(load_default=FEED_PAGE_MAX, validate=validate.Range(1, FEED_PAGE_MAX))


_CHANGE_ID_MAX = 2**63 - 1  # changes.id is a BigInteger


@bp.route("/publications")
@bp.arguments(PublicationsQuerySchema, location="query")
@bp.response(200, PageSchema)
@require("regulator")
def list_publications(args: dict[str, Any]) -> dict[str, Any]:
    """Changes and their publication: status, attempts, deadline and whether it was missed."""
    session = db()
    tz = settings().timezone
    day = today(tz)
    limit, after = args["limit"], cursor_id(args["cursor"], maximum=_CHANGE_ID_MAX) or 0
    items: list[dict[str, Any]] = []
    more = False
    # Overdue needs each change's publication day in Asia/Shanghai: filter while walking.
    while not more:
        query = publications_query(status=args["status"], overdue=args["overdue"], today=day, after=after)
        rows = list(session.scalars(query.limit(limit + 1)))
        for change in rows:
            if args["overdue"] and not is_overdue(change, day, tz):
                continue
            if len(items) == limit:
                more = True
                break
            items.append(publication_dict(change, day, tz))
        if len(rows) <= limit:
            break
        after = rows[-1].id
    return {"items": items, "next": items[-1]["cursor"] if more else None, "today": day.isoformat(),
            "summary": publication_summary(session, day)}


@bp.route("/changes")
@bp.arguments(ChangesQuerySchema, location="query")
@bp.response(200, PageSchema)
@require("officer")
def list_changes(args: dict[str, Any]) -> dict[str, Any]:
    """Changes after cursor `since`, oldest first, up to 1,000; `next` is where to go on
    from (the same cursor when nothing is new), `more` whether another page is ready now.
    No change is skipped or repeated across pages, however changes arrive meanwhile."""
    since = cursor_id(args["since"], "since", _CHANGE_ID_MAX) or 0
    session = db()
    try:
        items, more = change_feed(session, since, args["limit"])
    except OperationalError as exc:  # lock_timeout: a long transaction is still writing changes
        session.rollback()
        raise ServiceUnavailable("changes are being written; try again shortly") from exc
    session.rollback()  # end the read now: on PostgreSQL it holds a table lock
    return {"items": items, "next": items[-1]["cursor"] if items else str(since), "more": more}
