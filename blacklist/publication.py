"""Publication to the credit platform, the storage side: which outbox changes are due,
claiming them for one send, recording the platform's answer, expiring listings whose
period ended, overdue changes, the change feed, and the lease that keeps publication to
one process at a time. Services never commit; the caller owns each transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Text, and_, cast, exists, func, or_, select, text, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from blacklist.listings import EXPIRED, WITHDRAWN, fold
from blacklist.models import Change, Lease, Listing, ListingEvent, PublicationBatch
from blacklist.workdays import WorkdayCalendar
from blacklist.workflow import Actor, append_event

# PublicationBatch.status: one row per HTTP attempt.
SENDING, ACCEPTED, FAILED, NO_ANSWER, INTERRUPTED = "sending", "accepted", "failed", "no_answer", "interrupted"
# A change's publication status as shown to regulators.
PENDING, RETRYING, PUBLISHED = "pending", "retrying", "published"
PUBLICATION_STATUSES = (PENDING, RETRYING, PUBLISHED)
FEED_PAGE_MAX = 1000
_RESPONSE_KEPT = 2000


@dataclass(frozen=True)
class Claim:
    """Changes claimed for one send: the batch row is written before the request goes out."""

    batch_id: str
    sent_at: dt.datetime
    ids: tuple[int, ...]
    changes: tuple[dict[str, Any], ...]


def retry_delay(attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds before the next run may resend after `attempts` sends: exponential, capped,
    with `jitter` in [0, 1) taking off up to half (so many engines do not retry in step)."""
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return float(delay * (1 - jitter / 2))


def due_query(now: dt.datetime, *, ignore_backoff: bool = False) -> Select[int]:
    """Ids of unpublished changes in the order they were recorded.

    A change waits while an older unpublished change of the same listing is in its retry
    delay, so a listing's changes reach the platform in order (never `expired` before
    `listed`); other listings go ahead. `ignore_backoff` (an operator's run) sends now."""
    query = select(Change.id).where(Change.published_at.is_(None))
    if not ignore_backoff:
        older = aliased(Change)
        query = query.where(
            or_(Change.next_attempt_at.is_(None), Change.next_attempt_at <= now),
            ~exists().where(older.listing_id == Change.listing_id, older.id < Change.id,
                            older.published_at.is_(None), older.next_attempt_at > now))
    return query.order_by(Change.id)


def due_changes(session: Session, now: dt.datetime, limit: int, *,
                ignore_backoff: bool = False) -> list[Change]:
    """The first `limit` due changes (see `due_query`)."""
    ids = due_query(now, ignore_backoff=ignore_backoff).limit(limit).subquery()
    return list(session.scalars(select(Change).where(Change.id.in_(select(ids))).order_by(Change.id)))


def claim(session: Session, ids: Sequence[int], *, sent_at: dt.datetime,
          retry_after: Callable[[int], float]) -> Claim | None:
    """Record a send before it happens: a batch row `sending`, and each change's attempt.
    None when every one of `ids` is published already.

    The retry time (`retry_after(attempts)` seconds from now) is set now, pessimistically:
    if the process dies mid-request, the next run resends after the delay, with the same
    change ids."""
    table = Change.__table__
    rows = session.connection().execute(
        select(table.c.id, table.c.attempts, table.c.payload)
        .where(table.c.id.in_(ids), table.c.published_at.is_(None)).order_by(table.c.id)).all()
    if not rows:
        return None
    batch_id = str(uuid.uuid4())
    claimed = tuple(row[0] for row in rows)
    retry_at = sent_at + dt.timedelta(seconds=retry_after(max(row[1] for row in rows) + 1))
    session.add(PublicationBatch(batch_id=batch_id, sent_at=sent_at, count=len(rows), status=SENDING))
    session.execute(update(Change).where(Change.id.in_(claimed), Change.published_at.is_(None)).values(
        batch_id=batch_id, attempts=Change.attempts + 1, next_attempt_at=retry_at,
        last_error="sent; no answer recorded yet"), execution_options={"synchronize_session": False})
    return Claim(batch_id, sent_at, claimed, tuple(row[2] for row in rows))


def record_accepted(session: Session, claim_: Claim, *, at: dt.datetime, http_status: int,
                    response: str) -> int:
    """The platform accepted the batch: its changes are published (once; a resend that is
    accepted again leaves the first publication time)."""
    _answer(session, claim_.batch_id, ACCEPTED, http_status, response)
    result = session.execute(update(Change).where(Change.id.in_(claim_.ids), Change.published_at.is_(None)).values(
        published_at=at, batch_id=claim_.batch_id, next_attempt_at=None, last_error=None),
        execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def record_failed(session: Session, claim_: Claim, *, status: str, http_status: int | None,
                  error: str, response: str | None = None) -> None:
    """The batch was refused or got no answer; the retry time set at claim stands."""
    _answer(session, claim_.batch_id, status, http_status, response if response is not None else error)
    session.execute(update(Change).where(Change.id.in_(claim_.ids), Change.published_at.is_(None)).values(
        last_error=error[:_RESPONSE_KEPT]), execution_options={"synchronize_session": False})


def _answer(session: Session, batch_id: str, status: str, http_status: int | None, response: str | None) -> None:
    session.execute(update(PublicationBatch).where(PublicationBatch.batch_id == batch_id).values(
        status=status, http_status=http_status, response=(response or "")[:_RESPONSE_KEPT]))


def interrupt_stale_batches(session: Session) -> int:
    """Batches left `sending` by a publisher that died mid-request (call holding the lease)."""
    result = session.execute(update(PublicationBatch).where(PublicationBatch.status == SENDING).values(
        status=INTERRUPTED, response="the publisher stopped before the answer was recorded"))
    return int(getattr(result, "rowcount", 0) or 0)


# Expiry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryResult:
    expired: tuple[int, ...]
    last_scanned: int | None


def expire_listings(session: Session, *, today: dt.date, calendar: WorkdayCalendar, actor: str,
                    after: int = 0, limit: int = 500) -> ExpiryResult:
    """Append an `expired` event and its outbox change to each listing whose last day in
    force is before `today`, once per listing, effective the day after that last day.

    Scans listings by id from `after`; call again with `last_scanned` until it is None."""
    done = select(ListingEvent.id).where(ListingEvent.listing_id == Listing.id,
                                         ListingEvent.kind.in_((EXPIRED, WITHDRAWN)))
    query = (select(Listing).where(Listing.id > after, Listing.period_end < today, ~exists(done))
             .order_by(Listing.id).limit(limit).with_for_update(of=Listing))
    candidates = list(session.scalars(query).unique())
    if not candidates:
        return ExpiryResult((), None)
    ids = [listing.id for listing in candidates]
    # Re-read after the row locks: a concurrent expiry committed while we waited is seen now.
    events: dict[int, list[ListingEvent]] = {i: [] for i in ids}
    for event in session.scalars(select(ListingEvent).where(ListingEvent.listing_id.in_(ids))):
        events[event.listing_id].append(event)
    expired = []
    for listing in candidates:
        if any(e.kind in (EXPIRED, WITHDRAWN) for e in events[listing.id]):
            continue
        state = fold(listing, events[listing.id])
        last = state.last_day
        if last is None or state.removed_on is not None or last >= today:
            continue  # removed early (published as such) or not over yet
        effective = last + dt.timedelta(days=1)
        data = {"last_day_in_force": last.isoformat()}
        append_event(session, listing, EXPIRED, effective, Actor(actor), data, calendar)
        expired.append(listing.id)
    return ExpiryResult(tuple(expired), ids[-1])


# Deadlines ---------------------------------------------------------------------------


def publication_status(change: Change) -> str:
    if change.published_at is not None:
        return PUBLISHED
    return RETRYING if change.attempts else PENDING


def is_overdue(change: Change, today: dt.date, tz: str) -> bool:
    """Not published by the end of its due day (Asia/Shanghai days), or published after it."""
    if change.due_on is None:
        return False
    if change.published_at is None:
        return today > change.due_on
    return change.published_at.astimezone(ZoneInfo(tz)).date() > change.due_on


def overdue_unpublished(session: Session, today: dt.date, limit: int | None = None) -> list[Change]:
    """Changes still unpublished after their due day, oldest due first."""
    query = (select(Change).where(Change.published_at.is_(None), Change.due_on < today)
             .order_by(Change.due_on, Change.id))
    return list(session.scalars(query.limit(limit) if limit else query))


def count_overdue_unpublished(session: Session, today: dt.date) -> int:
    return int(session.scalar(select(func.count()).select_from(Change).where(
        Change.published_at.is_(None), Change.due_on < today)) or 0)


def publications_query(*, status: str | None, overdue: bool, today: dt.date, after: int | None) -> Select[Change]:
    """Changes for the regulator's view, by id; `overdue` narrows to those due before today
    (the caller checks each with `is_overdue`: published late, or still unpublished)."""
    query = select(Change)
    if status == PUBLISHED:
        query = query.where(Change.published_at.is_not(None))
    elif status == PENDING:
        query = query.where(Change.published_at.is_(None), Change.attempts == 0)
    elif status == RETRYING:
        query = query.where(Change.published_at.is_(None), Change.attempts > 0)
    if overdue:
        query = query.where(Change.due_on < today)
    if after:
        query = query.where(Change.id > after)
    return query.order_by(Change.id)


def publication_summary(session: Session, today: dt.date) -> dict[str, int]:
    unpublished = Change.published_at.is_(None)
    row = session.execute(select(
        func.count(),
        func.count().filter(Change.published_at.is_not(None)),
        func.count().filter(and_(unpublished, Change.attempts > 0)),
        func.count().filter(and_(unpublished, Change.due_on < today)),
    ).select_from(Change)).one()
    total, published, retrying, overdue = (int(v or 0) for v in row)
    return {"total": total, PUBLISHED: published, RETRYING: retrying,
            PENDING: total - published - retrying, "overdue_unpublished": overdue}


def publication_dict(change: Change, today: dt.date, tz: str) -> dict[str, Any]:
    payload = change.payload
    return {
        "cursor": str(change.id), "change_id": change.change_id, "kind": change.kind,
        "listing_id": change.listing_id, "subject": payload.get("subject"), "rule": payload.get("rule"),
        "effective_on": change.effective_on.isoformat(),
        "due_on": change.due_on.isoformat() if change.due_on else None, "due_provisional": change.due_provisional,
        "status": publication_status(change), "overdue": is_overdue(change, today, tz),
        "published_at": change.published_at.isoformat() if change.published_at else None,
        "batch_id": change.batch_id, "attempts": change.attempts,
        "next_attempt_at": change.next_attempt_at.isoformat() if change.next_attempt_at else None,
        "last_error": change.last_error,
    }


# The change feed ---------------------------------------------------------------------


def settle_change_ids(session: Session, lock_timeout_ms: int = 5000) -> None:
    """Make ids a safe cursor: wait until every transaction that has written a change ends.

    PostgreSQL hands out ids when rows are written, not when they commit, so id 10 can
    become visible after id 11; a reader that went past 11 would skip 10. A SHARE lock on
    the table waits for those writers (and holds new ones back for the length of one
    page read). SQLite has one writer at a time, so ids commit in order already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
        session.execute(text("LOCK TABLE changes IN SHARE MODE"))


def change_feed(session: Session, since: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Changes after cursor `since`, oldest first, each with its `cursor`; and whether more
    are there. The caller ends the transaction right after (it may hold a table lock)."""
    limit = max(1, min(limit, FEED_PAGE_MAX))
    settle_change_ids(session)
    rows = session.execute(select(Change.id, Change.payload).where(Change.id > since)
                           .order_by(Change.id).limit(limit + 1)).all()
    items = [{"cursor": str(row_id), **payload} for row_id, payload in rows[:limit]]
    return items, len(rows) > limit


def iter_change_chunks(session: Session, since: int, *, until: int | None = None,
                       fields: Sequence[tuple[str, ...]] | None = None,
                       chunk: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of rows after cursor `since`, oldest first, read by keyset so memory stays
    flat however many changes there are. A row is (cursor, payload as stored JSON text),
    or with `fields` (JSON paths into the payload) (cursor, value as text, ...)."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    last = since
    while until is None or last < until:
        # With `until`, a window of ids and not only a LIMIT: the plan stays a short index
        # range scan even on a table the planner has no statistics for yet.
        upper = None if until is None else min(last + chunk, until)
        query = _chunk_query(last, upper, chunk, fields, postgres)
        rows = [tuple(row) for row in connection.execute(query).all()]
        if rows:
            yield rows
            last = rows[-1][0]
        elif upper is None:
            return
        else:
            last = upper


def _chunk_query(after: int, upper: int | None, limit: int, fields: Sequence[tuple[str, ...]] | None,
                 postgres: bool) -> Select[Any]:
    table = Change.__table__
    where = [table.c.id > after] + ([table.c.id <= upper] if upper is not None else [])
    if fields is None:
        # The stored text as it is: decoding and re-encoding a million payloads costs more
        # than the rest of an export together.
        raw = cast(table.c.payload, Text) if postgres else type_coerce(table.c.payload, Text)
        return select(table.c.id, raw).where(*where).order_by(table.c.id).limit(limit)
    if postgres:
        # Parsed once per row (as jsonb), not once per field as `json` operators would.
        inner = (select(table.c.id, cast(table.c.payload, JSONB).label("doc")).where(*where)
                 .order_by(table.c.id).limit(limit).subquery())
        doc = inner.c.doc
        values = [doc[path if len(path) > 1 else path[0]].astext for path in fields]
        return select(inner.c.id, *values).order_by(inner.c.id)
    payload = table.c.payload
    values = [payload[path if len(path) > 1 else path[0]].as_string() for path in fields]
    return select(table.c.id, *values).where(*where).order_by(table.c.id).limit(limit)


def last_change_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Change.id))) or 0)


# The publisher lease (SQLite; PostgreSQL uses an advisory lock) ----------------------


def acquire_lease(session: Session, name: str, holder: str, *, now: dt.datetime, ttl: float) -> bool:
    """Take or renew the lease `name` for `holder` unless someone else holds it unexpired.

    A killed holder blocks others only until its lease expires."""
    expires = now + dt.timedelta(seconds=ttl)
    lease = session.get(Lease, name, with_for_update=True, populate_existing=True)
    if lease is None:
        try:
            with session.begin_nested():
                session.add(Lease(name=name, holder=holder, expires_at=expires))
        except IntegrityError:
            return False
        return True
    if lease.holder != holder and lease.expires_at > now:
        return False
    lease.holder, lease.expires_at = holder, expires
    session.flush()
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    lease = session.get(Lease, name, with_for_update=True, populate_existing=True)
    if lease is not None and lease.holder == holder:
        session.delete(lease)
        session.flush()
