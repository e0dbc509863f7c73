"""The listing page (timeline, early removal and restore forms) and the public list."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy import or_, select

from blacklist.clock import now, today
from blacklist.errors import DomainError
from blacklist.identifiers import normalize_uscc
from blacklist.listings import as_dict, states
from blacklist.models import Listing, Subject
from blacklist.workflow import early_removal, get_listing, restore
from web.context import calendar, db, settings
from web.pages.base import bp, domain_status, render, require_role
from web.pages.forms import FormResult, apply_domain_error, read_form
from web.pages.workbench import actor
from web.schemas import EarlyRemovalSchema, RestoreSchema

PUBLIC_PAGE_SIZE = 20


def _listing_page(listing_id: int, status: int = 200, removal: FormResult | None = None,
                  restoring: FormResult | None = None) -> Any:
    session = db()
    day = today(settings().timezone)
    listing = get_listing(session, listing_id)
    detail = as_dict(states(session, [listing], now())[0], day)
    events = sorted(detail["events"], key=lambda e: (e["effective_on"], e["recorded_at"]))
    return render("listing.html", status, listing=detail, events=events, today=day,
                  removal=removal or FormResult(), restoring=restoring or FormResult(),
                  raw=request.form if request.method == "POST" else {})


@bp.route("/workbench/listings/<int:listing_id>")
@require_role("regulator")
def listing_page(listing_id: int) -> Any:
    return _listing_page(listing_id)


@bp.route("/workbench/listings/<int:listing_id>/early-removal", methods=["POST"])
@require_role("regulator")
def listing_early_removal(listing_id: int) -> Any:
    """Credit repair decided: granted takes the listing out of force from the decision day."""
    form = read_form(EarlyRemovalSchema(), request.form)
    if form.ok:
        session = db()
        try:
            early_removal(session, listing_id, actor=actor(), calendar=calendar(),
                          today=today(settings().timezone), **form.values)
            session.commit()
        except DomainError as exc:
            session.rollback()
            apply_domain_error(form, exc, tuple(EarlyRemovalSchema().fields))
            return _listing_page(listing_id, domain_status(exc), removal=form)
        flash("已登记提前移出决定：" + ("准予移出。" if form.values["outcome"] == "granted" else "不予移出。"))
        return redirect(url_for("pages.listing_page", listing_id=listing_id))
    return _listing_page(listing_id, 422, removal=form)


@bp.route("/workbench/listings/<int:listing_id>/restore", methods=["POST"])
@require_role("regulator")
def listing_restore(listing_id: int) -> Any:
    """An early removal obtained by fraud is revoked; the listing is back in force."""
    form = read_form(RestoreSchema(), request.form)
    if form.ok:
        session = db()
        try:
            restore(session, listing_id, actor=actor(), calendar=calendar(), today=today(settings().timezone),
                    **form.values)
            session.commit()
        except DomainError as exc:
            session.rollback()
            apply_domain_error(form, exc, tuple(RestoreSchema().fields))
            return _listing_page(listing_id, domain_status(exc), restoring=form)
        flash("已恢复列入。")
        return redirect(url_for("pages.listing_page", listing_id=listing_id))
    return _listing_page(listing_id, 422, restoring=form)


@bp.route("/public")
def public_list() -> Any:
    """Listings in force today, searchable by name or code; persons masked. No sign-in."""
    session = db()
    day = today(settings().timezone)
    text = (request.args.get("q") or "").strip()
    query = select(Listing).join(Subject, Subject.id == Listing.subject_id).where(
        Listing.period_start <= day, or_(Listing.period_end.is_(None), Listing.period_end >= day))
    if text:
        code = normalize_uscc(text)
        query = query.where(or_(Subject.uscc == code, Subject.name.contains(text)))
    rows = session.scalars(query.order_by(Listing.decided_on.desc(), Listing.id.desc())).unique().all()
    in_force = [s for s in states(session, rows, now()) if s.in_force(day)]
    pages = max(1, -(-len(in_force) // PUBLIC_PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    shown = [as_dict(s, day) for s in in_force[(page - 1) * PUBLIC_PAGE_SIZE:page * PUBLIC_PAGE_SIZE]]
    return render("public.html", items=shown, total=len(in_force), page=page, pages=pages, q=text, today=day)
