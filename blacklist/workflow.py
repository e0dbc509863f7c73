"""The regulator's workflow: proposed → notified → decided (listed) | rejected, withdrawn
when the evidence goes away; then early removal, restore and withdrawal of listings.
Every step is audited; services never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist import audit
from blacklist.errors import ConflictError, InvalidInputError, NotFoundError, PreconditionError
from blacklist.listings import (
    LISTED,
    REFUSED_EARLY_REMOVAL,
    REMOVED_EARLY,
    RESTORED,
    WITHDRAWN,
    fold,
    states,
)
from blacklist.models import Case, Listing, ListingEvent, Record, utcnow
from blacklist.outbox import record_change
from blacklist.periods import add_months, period_end
from blacklist.workdays import Deadline, WorkdayCalendar

PROPOSED, NOTIFIED, DECIDED, REJECTED, WITHDRAWN_CASE, LAPSED = (
    "proposed", "notified", "decided", "rejected", "withdrawn", "lapsed")
CASE_STATUSES = (PROPOSED, NOTIFIED, DECIDED, REJECTED, WITHDRAWN_CASE, LAPSED)
DEFAULT_PUBLICATION_DAYS = 7  # working days, when a pack sets no publication_days


@dataclass(frozen=True)
class Actor:
    name: str


def _param(case_or_listing_proposal: dict[str, Any], name: str, default: Any) -> Any:
    return case_or_listing_proposal.get("parameters", {}).get(name, default)


def case_snapshot(case: Case) -> dict[str, Any]:
    return {
        "status": case.status, "served_on": _iso(case.served_on), "statement_ends": _iso(case.statement_ends),
        "decided_on": _iso(case.decided_on), "outcome": case.outcome, "document_no": case.document_no,
        "reason": case.reason, "decided_by": case.decided_by, "statement_waived": case.statement_waived,
    }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL


def get_case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    if not 0 < case_id <= MAX_ID:
        raise NotFoundError(f"no case {case_id}")
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update(of=Case)
    case = session.scalars(query).one_or_none()
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    return case


def _not_future(day: dt.date, today: dt.date, field: str) -> None:
    if day > today:
        raise InvalidInputError(f"{field} {day} is in the future (today is {today})",
                                errors={field: [f"{day} is after today ({today})"]})


def _not_before_evidence(case: Case, day: dt.date, field: str) -> None:
    """A notice or decision cannot come before the latest record the proposal rests on."""
    anchor = case.proposal.get("anchor")
    if anchor and day.isoformat() < anchor:
        raise InvalidInputError(
            f"{field} {day} is before the latest evidence of case {case.id} ({anchor}): a case cannot be "
            "served or decided before the records it rests on",
            errors={field: [f"{day} is before the latest evidence ({anchor})"]})


def serve_notice(session: Session, case_id: int, served_on: dt.date, *, actor: Actor,
                 calendar: WorkdayCalendar, today: dt.date) -> Case:
    """The party was notified: the statement period opens (working days after notice)."""
    case = get_case(session, case_id, lock=True)
    if case.status != PROPOSED:
        raise ConflictError(f"case {case_id} is {case.status}; notice can be served only on a proposed case",
                            status_now=case.status)
    _not_future(served_on, today, "served_on")
    _not_before_evidence(case, served_on, "served_on")
    before = case_snapshot(case)
    deadline = _statement_deadline(case, served_on, calendar)
    case.status, case.served_on = NOTIFIED, served_on
    case.statement_ends, case.statement_provisional = deadline.date, deadline.provisional
    session.flush()
    audit.append(session, actor=actor.name, action="case.notified", entity="case", entity_id=case.id,
                 before=before, after=case_snapshot(case))
    return case


def _recount_provisional_statement(case: Case, calendar: WorkdayCalendar) -> None:
    """A statement period counted Monday to Friday before its year's holidays were announced
    is counted again on the calendar as it is now (holidays loaded since then push it back)."""
    if case.statement_provisional and case.served_on is not None:
        deadline = _statement_deadline(case, case.served_on, calendar)
        case.statement_ends, case.statement_provisional = deadline.date, deadline.provisional


def _statement_deadline(case: Case, served_on: dt.date, calendar: WorkdayCalendar) -> Deadline:
    """The last day of the statement period (the pack's working days after the notice)."""
    return calendar.add_workdays(served_on, int(_param(case.proposal, "statement_days", 5)))


def listing_period(case: Case, decided_on: dt.date, listed_before: bool) -> tuple[dt.date, dt.date | None, dt.date | None]:
    """Start, end and first early-removal day of a listing decided on `decided_on`."""
    months = int(_param(case.proposal, "period_months", 36))
    repeat = _param(case.proposal, "repeat_period_months", None)
    if listed_before and repeat:
        months = int(repeat)
    end = period_end(decided_on, months)
    after = _param(case.proposal, "early_removal_after_months", None)
    window = _param(case.proposal, "removal_request_days_before_expiry", None)
    if after is not None:
        early: dt.date | None = add_months(decided_on, int(after))
    elif window is not None:
        early = end - dt.timedelta(days=int(window) - 1)
    else:
        early = None
    return decided_on, end, early


def decide(session: Session, case_id: int, *, outcome: str, decided_on: dt.date, document_no: str | None,
           reason: str, statement_waived: bool, actor: Actor, calendar: WorkdayCalendar,
           today: dt.date) -> tuple[Case, Listing | None]:
    """List or reject; a listing needs the party heard (statement period over or waived)."""
    case = get_case(session, case_id, lock=True)
    if case.status in (DECIDED, REJECTED):
        raise ConflictError(f"case {case_id} was already decided ({case.status} on {case.decided_on})",
                            status_now=case.status)
    if case.status in (WITHDRAWN_CASE, LAPSED):
        raise ConflictError(f"case {case_id} is {case.status}; it cannot be decided", status_now=case.status)
    _not_future(decided_on, today, "decided_on")
    _not_before_evidence(case, decided_on, "decided_on")
    if case.served_on and decided_on < case.served_on:
        raise InvalidInputError(f"decided_on {decided_on} is before the notice was served ({case.served_on})",
                                errors={"decided_on": [f"before served_on {case.served_on}"]})
    if outcome == "list":
        if case.status != NOTIFIED:
            raise ConflictError(f"case {case_id} is {case.status}: the party must be notified before a "
                                "decision to list", status_now=case.status)
        _recount_provisional_statement(case, calendar)
        assert case.statement_ends is not None
        if decided_on <= case.statement_ends and not statement_waived:
            raise ConflictError(
                f"the statement period runs until {case.statement_ends}; a decision to list may be made "
                f"from {case.statement_ends + dt.timedelta(days=1)} unless the party waived or already "
                "stated its case", statement_period_ends=case.statement_ends.isoformat(),
                provisional=case.statement_provisional)
    before = case_snapshot(case)
    case.status = DECIDED if outcome == "list" else REJECTED
    case.outcome, case.decided_on, case.document_no = outcome, decided_on, document_no
    case.reason, case.decided_by, case.statement_waived = reason, actor.name, statement_waived
    session.flush()  # the row version check: a concurrent decision fails here
    listing = None
    if outcome == "list":
        listing = _create_listing(session, case, decided_on, actor, calendar)
    audit.append(session, actor=actor.name, action=f"case.{case.status}", entity="case", entity_id=case.id,
                 before=before, after={**case_snapshot(case), "listing_id": listing.id if listing else None})
    return case, listing


def _create_listing(session: Session, case: Case, decided_on: dt.date, actor: Actor,
                    calendar: WorkdayCalendar) -> Listing:
    earlier = session.scalars(select(Listing).where(
        Listing.subject_id == case.subject_id, Listing.decided_on < decided_on)).all()
    listed_before = any(not s.withdrawn for s in states(session, earlier, utcnow()))
    start, end, early = listing_period(case, decided_on, listed_before)
    proposal = case.proposal
    listing = Listing(
        case_id=case.id, subject_id=case.subject_id, list_code=case.list_code, tier=case.tier,
        rule=case.rule, pack=case.pack, pack_version=case.pack_version, basis=proposal.get("basis", ""),
        document_no=case.document_no or "", authority=case.authority, evidence=case.evidence,
        decided_on=decided_on, period_start=start, period_end=end, early_removal_from=early,
        recorded_at=utcnow(),
    )
    session.add(listing)
    session.flush()
    append_event(session, listing, LISTED, decided_on, actor, {"case_id": case.id, "listed_before": listed_before},
                 calendar)
    return listing


def append_event(session: Session, listing: Listing, kind: str, effective_on: dt.date, actor: Actor,
                 data: dict[str, Any], calendar: WorkdayCalendar | None, publish: bool = True,
                 decided_on: dt.date | None = None) -> ListingEvent:
    """Append a listing event with its audit entry and, when published, its outbox change, due
    within the publication days from the later of its effect and `decided_on` (a withdrawal
    takes effect from the listing's start, years before it is decided)."""
    event = ListingEvent(listing_id=listing.id, kind=kind, effective_on=effective_on, actor=actor.name,
                         data=data, recorded_at=utcnow())
    session.add(event)
    session.flush()
    if publish and calendar is not None:
        days = int(listing_parameters(session, listing).get("publication_days", DEFAULT_PUBLICATION_DAYS))
        record_change(session, listing, kind, effective_on, calendar=calendar, publication_days=days,
                      decided_on=decided_on, details=data if kind == WITHDRAWN else None)
    audit.append(session, actor=actor.name, action=f"listing.{kind}", entity="listing", entity_id=listing.id,
                 after={"effective_on": effective_on.isoformat(), **data})
    return event


def listing_parameters(session: Session, listing: Listing) -> dict[str, Any]:
    if listing.case_id is None:
        return {}
    case = session.get(Case, listing.case_id)
    return dict(case.proposal.get("parameters", {})) if case else {}


def get_listing(session: Session, listing_id: int, *, lock: bool = False) -> Listing:
    if not 0 < listing_id <= MAX_ID:
        raise NotFoundError(f"no listing {listing_id}")
    query = select(Listing).where(Listing.id == listing_id)
    if lock:
        query = query.with_for_update(of=Listing)
    listing = session.scalars(query).unique().one_or_none()
    if listing is None:
        raise NotFoundError(f"no listing {listing_id}")
    return listing


def _current_state(session: Session, listing: Listing) -> Any:
    events = session.scalars(select(ListingEvent).where(ListingEvent.listing_id == listing.id)).all()
    return fold(listing, events)


def early_removal(session: Session, listing_id: int, *, applied_on: dt.date, decided_on: dt.date,
                  outcome: str, reason: str, actor: Actor, calendar: WorkdayCalendar,
                  today: dt.date) -> Listing:
    """Credit repair: granted takes the listing out of force from `decided_on`."""
    listing = get_listing(session, listing_id, lock=True)
    state = _current_state(session, listing)
    _not_future(decided_on, today, "decided_on")
    if decided_on < applied_on:
        raise InvalidInputError("decided_on is before applied_on",
                                errors={"decided_on": [f"{decided_on} is before applied_on {applied_on}"]})
    if state.withdrawn:
        raise ConflictError(f"listing {listing_id} was withdrawn", status_now="withdrawn")
    if state.removed_on is not None:
        raise ConflictError(f"listing {listing_id} was already removed early from {state.removed_on}",
                            status_now="removed_early")
    if not state.in_force(decided_on):
        raise ConflictError(f"listing {listing_id} is not in force on {decided_on}",
                            status_now=state.status(decided_on))
    if listing.early_removal_from is None:
        raise ConflictError(f"the {listing.pack} pack allows no early removal; the listing ends on "
                            f"{listing.period_end}", first_allowed=None)
    if applied_on < listing.early_removal_from:
        raise ConflictError(f"early removal may be asked for from {listing.early_removal_from}; "
                            f"applied on {applied_on}", first_allowed=listing.early_removal_from.isoformat())
    asked = {"applied_on": applied_on.isoformat(), "reason": reason,
             **_decision_deadline(session, listing, applied_on, decided_on, calendar)}
    if outcome == "refused":
        append_event(session, listing, REFUSED_EARLY_REMOVAL, decided_on, actor, asked, calendar, publish=False)
        return listing
    unmet = _early_removal_conditions(session, listing)
    if unmet:
        raise PreconditionError("early removal refused: " + "; ".join(text for _, text in unmet),
                                errors={code: [text] for code, text in unmet},
                                conditions=[code for code, _ in unmet])
    append_event(session, listing, REMOVED_EARLY, decided_on, actor,
                 {**asked, "last_day_in_force": (decided_on - dt.timedelta(days=1)).isoformat()}, calendar)
    return listing


def _decision_deadline(session: Session, listing: Listing, applied_on: dt.date, decided_on: dt.date,
                       calendar: WorkdayCalendar) -> dict[str, Any]:
    """When the department had to decide an early removal (regulations.md §3: within the pack's
    `early_removal_decision_days` working days of the application), and whether it did."""
    days = listing_parameters(session, listing).get("early_removal_decision_days")
    if days is None:
        return {}
    due = calendar.add_workdays(applied_on, int(days))
    return {"decision_due": due.date.isoformat(), "decision_due_provisional": due.provisional,
            "decided_in_time": decided_on <= due.date}


def _early_removal_conditions(session: Session, listing: Listing) -> list[tuple[str, str]]:
    """The conditions of regulations.md §3 not met: penalty performed, no new trigger."""
    unmet: list[tuple[str, str]] = []
    penalties = session.scalars(select(Record).where(
        Record.record_id.in_(listing.evidence), Record.type == "penalty")).all()
    not_done = [p.record_id for p in penalties if p.payload.get("executed") is not True]
    if not_done:
        unmet.append(("penalty_not_performed",
                      f"the penalty has not been recorded as performed: {', '.join(sorted(not_done))}"))
    newer = session.scalars(select(Case).where(
        Case.subject_id == listing.subject_id, Case.id != listing.case_id,
        Case.status.in_((PROPOSED, NOTIFIED, DECIDED)))).all()
    triggers = [c for c in newer if (c.proposal.get("anchor") or "") > listing.decided_on.isoformat()]
    if triggers:
        unmet.append(("new_trigger", "a new trigger occurred since listing: " + ", ".join(
            f"case {c.id} ({c.rule}, {c.proposal.get('anchor')})" for c in triggers)))
    return unmet


def restore(session: Session, listing_id: int, *, decided_on: dt.date, reason: str, actor: Actor,
            calendar: WorkdayCalendar, today: dt.date) -> Listing:
    """An early removal obtained by concealment or forgery is revoked: the listing returns."""
    listing = get_listing(session, listing_id, lock=True)
    state = _current_state(session, listing)
    _not_future(decided_on, today, "decided_on")
    if state.removed_on is None or state.withdrawn:
        raise ConflictError(f"listing {listing_id} was not removed early; there is nothing to restore",
                            status_now=state.status(today))
    if listing.period_end is not None and decided_on > listing.period_end:
        raise ConflictError(f"listing {listing_id}'s period ended on {listing.period_end}; a removal revoked "
                            "after that restores nothing", status_now="expired",
                            period_end=listing.period_end.isoformat())
    # The removal is void from its start (fold erases it): the platform is told the listing
    # is in force again from the day it was removed, decided on `decided_on`.
    append_event(session, listing, RESTORED, state.removed_on, actor,
                 {"reason": reason, "removal_revoked": state.removed_on.isoformat(),
                  "decided_on": decided_on.isoformat()}, calendar, decided_on=decided_on)
    return listing


def withdraw_listing(session: Session, listing: Listing, *, reason: str, records: list[str],
                     actor: Actor, calendar: WorkdayCalendar, today: dt.date) -> bool:
    """The evidence was revoked: the listing is void from its start. False if already so."""
    state = _current_state(session, listing)
    if state.withdrawn:
        return False
    append_event(session, listing, WITHDRAWN, listing.period_start, actor,
                 {"reason": reason, "records": records, "withdrawn_on": today.isoformat()}, calendar,
                 decided_on=today)
    case = session.get(Case, listing.case_id) if listing.case_id is not None else None
    if case is not None and case.status == DECIDED:  # the decision falls with its listing
        # its decision's reason stays; the withdrawal's is in the audit entry
        _mark_withdrawn(session, case, actor, withdrawal=reason, records=records)
    return True


def withdraw_case(session: Session, case: Case, *, reason: str, actor: Actor) -> bool:
    if case.status not in (PROPOSED, NOTIFIED):
        return False
    _mark_withdrawn(session, case, actor, reason=reason)
    return True


def _mark_withdrawn(session: Session, case: Case, actor: Actor, *, reason: str | None = None,
                    **noted: Any) -> None:
    """The case withdrawn (with `reason` as its own, if given), audited with `noted`."""
    before = case_snapshot(case)
    case.status = WITHDRAWN_CASE
    if reason is not None:
        case.reason = reason
    session.flush()
    audit.append(session, actor=actor.name, action="case.withdrawn", entity="case", entity_id=case.id,
                 before=before, after={**case_snapshot(case), **noted})
