"""The publication outbox: a change row written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session

from blacklist.listings import subject_dict
from blacklist.models import Change, Listing
from blacklist.workdays import WorkdayCalendar


def change_payload(listing: Listing, kind: str, effective_on: dt.date, change_id: str) -> dict[str, Any]:
    """The change as api.md's Publication section describes it (persons masked)."""
    subject = subject_dict(listing.subject)
    subject.pop("id", None)
    subject.pop("industry", None)
    return {
        "change_id": change_id, "kind": kind, "subject": subject, "id": listing.id,
        "list": listing.list_code, "tier": listing.tier, "rule": listing.rule, "basis": listing.basis,
        "document_no": listing.document_no, "authority": listing.authority,
        "decided_on": listing.decided_on.isoformat(), "period_start": listing.period_start.isoformat(),
        "period_end": listing.period_end.isoformat() if listing.period_end else None,
        "effective_on": effective_on.isoformat(),
    }


def record_change(session: Session, listing: Listing, kind: str, effective_on: dt.date, *,
                  calendar: WorkdayCalendar, publication_days: int, decided_on: dt.date | None = None,
                  details: dict[str, Any] | None = None) -> Change:
    """Queue one change for the credit platform, due within the publication deadline counted
    from the latest of its effect, the listing decision and the change's own decision;
    `details` (a withdrawal's reason, records and date) travel with it."""
    change_id = str(uuid.uuid4())
    start = max(effective_on, listing.decided_on, decided_on or effective_on)
    due = calendar.add_workdays(start, publication_days)
    payload = change_payload(listing, kind, effective_on, change_id)
    if details:
        payload["details"] = details
    change = Change(change_id=change_id, kind=kind, listing_id=listing.id, effective_on=effective_on,
                    due_on=due.date, due_provisional=due.provisional, payload=payload)
    session.add(change)
    return change
