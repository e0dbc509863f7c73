"""Listings: in force on a day as known at a moment; early removal and restore."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from blacklist.clock import today
from blacklist.identifiers import normalize_uscc
from blacklist.listings import as_dict, states
from blacklist.models import Listing, Subject
from blacklist.workflow import early_removal, get_listing, restore
from web.auth import require
from web.blueprint import Blueprint
from web.cases_api import actor, cursor_id
from web.context import calendar, db, settings
from web.schemas import EarlyRemovalSchema, ListingsQuerySchema, ObjectSchema, PageSchema, RestoreSchema
from web.timeaxes import axes

bp = Blueprint("listings", __name__, url_prefix="/api/v1", description="Listings")


@bp.route("/listings")
@bp.arguments(ListingsQuerySchema, location="query")
@bp.response(200, PageSchema)
@require("officer")
def list_listings(args: dict[str, Any]) -> dict[str, Any]:
    """Listings in force on `as_of` (or all with active=false), as known at `known_at`."""
    as_of, known_at = axes(args)
    session = db()
    limit = args["limit"]
    after = cursor_id(args["cursor"]) or 0
    items: list[dict[str, Any]] = []
    # Walk in id order, filtering on state, until a page is full (states need events).
    while len(items) <= limit:
        query = select(Listing).where(Listing.id > after, Listing.recorded_at <= known_at)
        if args["active"]:
            query = query.where(Listing.period_start <= as_of,
                                or_(Listing.period_end.is_(None), Listing.period_end >= as_of))
        if args["uscc"]:
            query = query.join(Subject, Subject.id == Listing.subject_id).where(
                Subject.uscc == normalize_uscc(args["uscc"]))
        rows = session.scalars(query.order_by(Listing.id).limit(limit + 1)).unique().all()
        if not rows:
            break
        for state in states(session, rows, known_at):
            if args["active"] and not state.in_force(as_of):
                continue
            items.append(as_dict(state, as_of))
            if len(items) > limit:
                break
        after = rows[-1].id
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next": str(items[-1]["id"]) if more and items else None,
            "as_of": as_of.isoformat(), "known_at": known_at.isoformat()}


@bp.route("/listings/<int:listing_id>")
@bp.arguments(ListingsQuerySchema, location="query")
@bp.response(200, ObjectSchema)
@require("officer")
def show_listing(args: dict[str, Any], listing_id: int) -> dict[str, Any]:
    """One listing with its events, as known at `known_at`."""
    as_of, known_at = axes(args)
    listing = get_listing(db(), listing_id)
    if listing.recorded_at > known_at:
        from blacklist.errors import NotFoundError

        raise NotFoundError(f"listing {listing_id} was not yet recorded at {known_at.isoformat()}")
    return as_dict(states(db(), [listing], known_at)[0], as_of)


def _answer(listing_id: int) -> dict[str, Any]:
    from blacklist.clock import now

    session = db()
    day = today(settings().timezone)
    return as_dict(states(session, [get_listing(session, listing_id)], now())[0], day)


@bp.route("/listings/<int:listing_id>/early-removal", methods=["POST"])
@bp.arguments(EarlyRemovalSchema)
@bp.response(200, ObjectSchema)
@require("regulator")
def post_early_removal(args: dict[str, Any], listing_id: int) -> dict[str, Any]:
    """Credit repair: granted, the listing's last day in force is the day before `decided_on`."""
    session = db()
    early_removal(session, listing_id, actor=actor(), calendar=calendar(),
                  today=today(settings().timezone), **args)
    session.commit()
    return _answer(listing_id)


@bp.route("/listings/<int:listing_id>/restore", methods=["POST"])
@bp.arguments(RestoreSchema)
@bp.response(200, ObjectSchema)
@require("regulator")
def post_restore(args: dict[str, Any], listing_id: int) -> dict[str, Any]:
    """An early removal obtained by fraud is revoked and the listing restored."""
    session = db()
    restore(session, listing_id, actor=actor(), calendar=calendar(), today=today(settings().timezone), **args)
    session.commit()
    return _answer(listing_id)
