"""The regulator's workbench: the case queue (overdue first) and the case page with its
evidence, the engine's explanation, and the notice and decision forms."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm.exc import StaleDataError

from blacklist.cases import case_detail, case_query, case_summary
from blacklist.clock import today
from blacklist.errors import ConflictError, DomainError
from blacklist.identifiers import normalize_uscc
from blacklist.models import Case, Subject
from blacklist.workflow import CASE_STATUSES, NOTIFIED, PROPOSED, Actor, decide, get_case, serve_notice
from web.context import calendar, db, settings
from web.pages.base import bp, domain_status, page_user, render, require_role
from web.pages.forms import FormResult, apply_domain_error, read_form
from web.pages.labels import CASE_STATUSES as STATUS_NAMES
from web.schemas import DecisionSchema, NoticeSchema

PAGE_SIZE = 50
_CODE_LIKE = re.compile(r"[0-9A-Z]{10,24}")
SOON_DAYS = 2


def actor() -> Actor:
    user = page_user()
    return Actor(user.name if user else "anonymous")


def deadline_tone(summary: dict[str, Any], day: dt.date) -> str:
    """red: overdue; amber: the statement period ends within two days; '' otherwise."""
    if summary["overdue"]:
        return "red"
    ends = summary.get("statement_ends")
    if summary["status"] == NOTIFIED and ends and dt.date.fromisoformat(ends) <= day + dt.timedelta(days=SOON_DAYS):
        return "amber"
    return ""


def _queue_order(day: dt.date) -> tuple[Any, ...]:
    urgency = case(
        (and_(Case.status == NOTIFIED, Case.statement_ends < day), 0),
        (Case.status == NOTIFIED, 1), (Case.status == PROPOSED, 2), else_=3)
    return urgency, case((Case.statement_ends.is_(None), 1), else_=0), Case.statement_ends, Case.id


@bp.route("/workbench")
@require_role("regulator")
def queue() -> Any:
    """Cases filtered by status, subject, rule, region and overdue; overdue first."""
    day = today(settings().timezone)
    args = request.args
    status = args.get("status") or None
    status = status if status in CASE_STATUSES else None
    subject = (args.get("q") or "").strip()
    overdue = args.get("overdue") == "1"
    code = normalize_uscc(subject) if _CODE_LIKE.fullmatch(normalize_uscc(subject)) else None
    query = case_query(status=status, uscc=code, rule=(args.get("rule") or "").strip() or None,
                       authority=(args.get("authority") or "").strip() or None, overdue=overdue, today=day)
    if subject and not code:
        query = query.join(Subject, Subject.id == Case.subject_id).where(Subject.name.contains(subject))
    total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, args.get("page", 1, type=int) or 1), pages)
    rows = db().scalars(query.order_by(None).order_by(*_queue_order(day))
                        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).unique().all()
    items = [case_summary(c, day) for c in rows]
    for item in items:
        item["tone"] = deadline_tone(item, day)
    return render("queue.html", items=items, total=total, page=page, pages=pages, args=args, today=day,
                  statuses=STATUS_NAMES)


def _case_page(case_id: int, status: int = 200, notice: FormResult | None = None,
               decision: FormResult | None = None) -> Any:
    session = db()
    day = today(settings().timezone)
    detail = case_detail(session, get_case(session, case_id), day)
    detail["tone"] = deadline_tone(detail, day)
    return render("case.html", status, case=detail, today=day, notice=notice or FormResult(),
                  decision=decision or FormResult(), raw=request.form if request.method == "POST" else {})


@bp.route("/workbench/cases/<int:case_id>")
@require_role("regulator")
def case_page(case_id: int) -> Any:
    return _case_page(case_id)


@bp.route("/workbench/cases/<int:case_id>/notice", methods=["POST"])
@require_role("regulator")
def case_notice(case_id: int) -> Any:
    """Record that the notice was served; the statement period opens."""
    form = read_form(NoticeSchema(), request.form)
    if form.ok:
        session = db()
        try:
            serve_notice(session, case_id, form.values["served_on"], actor=actor(), calendar=calendar(),
                         today=today(settings().timezone))
            session.commit()
        except DomainError as exc:
            session.rollback()
            apply_domain_error(form, exc, ("served_on",))
            return _case_page(case_id, domain_status(exc), notice=form)
        flash(f"已登记告知书送达（{form.values['served_on']}），陈述申辩期开始计算。")
        return redirect(url_for("pages.case_page", case_id=case_id))
    return _case_page(case_id, 422, notice=form)


@bp.route("/workbench/cases/<int:case_id>/decision", methods=["POST"])
@require_role("regulator")
def case_decision(case_id: int) -> Any:
    """List or reject; refusals (too early, already decided) are shown on the page."""
    form = read_form(DecisionSchema(), request.form, booleans=("statement_waived",))
    if form.ok:
        session = db()
        try:
            try:
                _case, listing = decide(session, case_id, actor=actor(), calendar=calendar(),
                                        today=today(settings().timezone), **form.values)
                session.commit()
            except StaleDataError:
                session.rollback()
                raise ConflictError(f"case {case_id} was decided by someone else at the same time") from None
        except DomainError as exc:
            session.rollback()
            apply_domain_error(form, exc, tuple(DecisionSchema().fields))
            return _case_page(case_id, domain_status(exc), decision=form)
        if listing is not None:
            flash(f"已决定列入（{form.values['document_no']}），名单自 {listing.period_start} 起生效。")
            return redirect(url_for("pages.listing_page", listing_id=listing.id))
        flash("已决定不予列入。")
        return redirect(url_for("pages.case_page", case_id=case_id))
    return _case_page(case_id, 422, decision=form)
