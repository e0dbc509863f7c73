"""Cases: the regulator's queue, notice and decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from blacklist.cases import case_detail, case_query, case_summary
from blacklist.clock import today
from blacklist.errors import ConflictError
from blacklist.identifiers import normalize_uscc
from blacklist.workflow import Actor, decide, get_case, serve_notice
from web.auth import current_caller, require
from web.blueprint import Blueprint
from web.context import calendar, db, settings
from web.schemas import CasesQuerySchema, DecisionSchema, NoticeSchema, ObjectSchema, PageSchema

bp = Blueprint("cases", __name__, url_prefix="/api/v1", description="Cases (regulator)")


def actor() -> Actor:
    caller = current_caller()
    return Actor(caller.name if caller else "anonymous")


def page(rows: list[Any], limit: int, render: Any) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [render(r) for r in rows], "next": str(rows[-1].id) if more and rows else None}


def cursor_id(cursor: str | None, name: str = "cursor", maximum: int = 2**31 - 1) -> int | None:
    """The row id a page's `next` cursor names; 422 for anything this API never gave."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > maximum:
        from blacklist.errors import InvalidInputError

        raise InvalidInputError("cursor is not one this API gave", errors={name: ["unknown cursor"]})
    return int(cursor)


@bp.route("/cases")
@bp.arguments(CasesQuerySchema, location="query")
@bp.response(200, PageSchema)
@require("regulator")
def list_cases(args: dict[str, Any]) -> dict[str, Any]:
    """Cases, filtered by status, subject, rule, authority region and overdue."""
    day = today(settings().timezone)
    uscc = normalize_uscc(args["uscc"]) if args["uscc"] else None
    query = case_query(status=args["status"], uscc=uscc, rule=args["rule"], authority=args["authority"],
                       overdue=args["overdue"], today=day, after=cursor_id(args["cursor"]))
    rows = list(db().scalars(query.limit(args["limit"] + 1)).unique())
    return page(rows, args["limit"], lambda c: case_summary(c, day))


@bp.route("/cases/<int:case_id>")
@bp.response(200, ObjectSchema)
@require("regulator")
def show_case(case_id: int) -> dict[str, Any]:
    """One case: subject, rule, basis, evidence records, explanation, deadlines, history."""
    return case_detail(db(), get_case(db(), case_id), today(settings().timezone))


@bp.route("/cases/<int:case_id>/notice", methods=["POST"])
@bp.arguments(NoticeSchema)
@bp.response(200, ObjectSchema)
@require("regulator")
def notice(args: dict[str, Any], case_id: int) -> dict[str, Any]:
    """The party was notified on `served_on`; the statement period opens."""
    session = db()
    day = today(settings().timezone)
    case = serve_notice(session, case_id, args["served_on"], actor=actor(), calendar=calendar(), today=day)
    session.commit()
    return case_detail(session, case, day)


@bp.route("/cases/<int:case_id>/decision", methods=["POST"])
@bp.arguments(DecisionSchema)
@bp.response(200, ObjectSchema)
@require("regulator")
def decision(args: dict[str, Any], case_id: int) -> dict[str, Any]:
    """Decide to list or reject; two decisions at once: one wins, the other gets 409."""
    session = db()
    day = today(settings().timezone)
    try:
        case, _listing = decide(session, case_id, actor=actor(), calendar=calendar(), today=day, **args)
        session.commit()
    except StaleDataError:
        session.rollback()
        raise ConflictError(f"case {case_id} was decided by someone else at the same time") from None
    return case_detail(session, case, day)
