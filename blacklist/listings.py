"""Listings in force, on two time axes: the day asked about (`as_of`) and the state of
our records at a moment (`known_at`). Events are appended, never changed, so an answer
given yesterday can be given again today."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from blacklist.models import Listing, ListingEvent

# Event kinds; each also names the change published for it.
LISTED, REMOVED_EARLY, WITHDRAWN, RESTORED, EXPIRED, CORRECTED = (
    "listed", "removed_early", "withdrawn", "restored", "expired", "corrected")
REFUSED_EARLY_REMOVAL = "early_removal_refused"


@dataclass(frozen=True)
class ListingState:
    """What a listing was, as known at some moment."""

    listing: Listing
    events: tuple[ListingEvent, ...]
    withdrawn: bool
    removed_on: dt.date | None  # first day out of force after an early removal

    @property
    def last_day(self) -> dt.date | None:
        """The last day in force (None when withdrawn: it never was)."""
        if self.withdrawn:
            return None
        end = self.listing.period_end
        if self.removed_on is not None:
            early = self.removed_on - dt.timedelta(days=1)
            end = early if end is None or early < end else end
        return end

    def in_force(self, as_of: dt.date) -> bool:
        last = self.last_day
        return (not self.withdrawn and self.listing.period_start <= as_of
                and (last is None or as_of <= last))

    def status(self, as_of: dt.date) -> str:
        if self.withdrawn:
            return "withdrawn"
        if self.in_force(as_of):
            return "in_force"
        if as_of < self.listing.period_start:
            return "pending"
        if self.removed_on is not None and as_of >= self.removed_on:
            return "removed_early"
        return "expired"


def fold(listing: Listing, events: Iterable[ListingEvent]) -> ListingState:
    """Replay a listing's events in the order they were recorded."""
    withdrawn = False
    removed_on: dt.date | None = None
    ordered = tuple(sorted(events, key=lambda e: (e.recorded_at, e.id)))
    for event in ordered:
        if event.kind == WITHDRAWN:
            withdrawn = True
        elif event.kind == REMOVED_EARLY:
            removed_on = event.effective_on
        elif event.kind == RESTORED:
            removed_on = None
    return ListingState(listing, ordered, withdrawn, removed_on)


def states(session: Session, listings: Sequence[Listing], known_at: dt.datetime) -> list[ListingState]:
    """The state of each listing from the events recorded up to `known_at`."""
    if not listings:
        return []
    ids = [listing.id for listing in listings]
    by_listing: dict[int, list[ListingEvent]] = {i: [] for i in ids}
    for event in session.scalars(select(ListingEvent).where(
            ListingEvent.listing_id.in_(ids), ListingEvent.recorded_at <= known_at)):
        by_listing[event.listing_id].append(event)
    return [fold(listing, by_listing[listing.id]) for listing in listings]


def subject_listings(session: Session, subject_ids: Sequence[int], known_at: dt.datetime,
                     as_of: dt.date | None = None) -> list[ListingState]:
    """Listings of these subjects as known at `known_at`; with `as_of`, only those in force."""
    query = select(Listing).where(Listing.subject_id.in_(subject_ids), Listing.recorded_at <= known_at)
    if as_of is not None:
        query = query.where(Listing.period_start <= as_of,
                            or_(Listing.period_end.is_(None), Listing.period_end >= as_of))
    found = states(session, session.scalars(query.order_by(Listing.id)).all(), known_at)
    return [s for s in found if as_of is None or s.in_force(as_of)]


_EVENTS = ListingEvent.__table__
# The newest event id, read backwards along the primary key until one is known at `known_at`
# (the first it meets, as a rule): unlike max() with a WHERE, SQLite does not scan the table.
_NEWEST_EVENT = select(_EVENTS.c.id).order_by(_EVENTS.c.id.desc()).limit(1)
_NEWEST_EVENT_KNOWN = _NEWEST_EVENT.where(_EVENTS.c.recorded_at <= bindparam("known_at"))


def list_version(session: Session, known_at: dt.datetime | None = None) -> str:
    """Changes whenever any listing changes: the newest listing event known."""
    if session.autoflush:
        session.flush()  # as an ORM query would: pending events count
    connection = session.connection()
    if known_at is None:
        newest = connection.scalar(_NEWEST_EVENT)
    else:
        newest = connection.scalar(_NEWEST_EVENT_KNOWN, {"known_at": known_at})
    return f"v{newest or 0}"


def as_dict(state: ListingState, as_of: dt.date) -> dict[str, Any]:
    listing = state.listing
    subject = listing.subject
    return {
        "id": listing.id,
        "subject": subject_dict(subject),
        "list": listing.list_code,
        "tier": listing.tier,
        "rule": listing.rule,
        "pack": listing.pack,
        "pack_version": listing.pack_version,
        "basis": listing.basis,
        "document_no": listing.document_no,
        "authority": listing.authority,
        "decided_on": listing.decided_on.isoformat(),
        "period_start": listing.period_start.isoformat(),
        "period_end": listing.period_end.isoformat() if listing.period_end else None,
        "last_day_in_force": state.last_day.isoformat() if state.last_day else None,
        "early_removal_from": listing.early_removal_from.isoformat() if listing.early_removal_from else None,
        "evidence": listing.evidence,
        "case_id": listing.case_id,
        "status": state.status(as_of),
        "events": [event_dict(e) for e in state.events],
    }


def event_dict(event: ListingEvent) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "effective_on": event.effective_on.isoformat(),
            "recorded_at": event.recorded_at.isoformat(), "actor": event.actor, "data": event.data}


def subject_dict(subject: Any) -> dict[str, Any]:
    """A subject as shown to others: persons only by their masked number."""
    if subject.kind == "person":
        return {"id": subject.id, "kind": "person", "name": subject.name, "id_number_masked": subject.id_masked}
    return {"id": subject.id, "kind": subject.kind, "name": subject.name, "uscc": subject.uscc,
            "industry": subject.industry}
