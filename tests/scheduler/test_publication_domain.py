"""The storage side of publication: due changes and their order, claims and answers,
retry delays, expiry, deadlines, the change feed and the publisher lease."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from blacklist.db import make_sessionmaker
from blacklist.models import Change, Lease, ListingEvent, PublicationBatch
from blacklist.outbox import record_change
from blacklist.publication import (
    ACCEPTED,
    INTERRUPTED,
    SENDING,
    acquire_lease,
    change_feed,
    claim,
    due_changes,
    expire_listings,
    interrupt_stale_batches,
    is_overdue,
    overdue_unpublished,
    record_accepted,
    record_failed,
    release_lease,
    retry_delay,
)
from scheduler.lock import exclusive
from tests.scheduler.publication_helpers import CALENDAR, make_changes, make_listing

NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


def test_retry_delay_doubles_is_capped_and_jittered() -> None:
    assert [retry_delay(n, base=30, cap=3600, jitter=0) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20, base=30, cap=3600, jitter=0) == 3600
    assert retry_delay(1, base=30, cap=3600, jitter=0.999) == pytest.approx(15.015)


def test_due_changes_in_order_and_a_listing_waits_behind_its_failed_change(db: Session) -> None:
    changes = make_changes(db, 6, listings=2)  # listing 1: changes 0, 2, 4; listing 2: 1, 3, 5
    assert [c.id for c in due_changes(db, NOW, 100)] == [c.id for c in changes]
    assert len(due_changes(db, NOW, 4)) == 4
    first = changes[0]
    claimed = claim(db, [first.id], sent_at=NOW, retry_after=lambda attempts: 300)
    assert claimed is not None
    record_failed(db, claimed, status="failed", http_status=503, error="HTTP 503: down")
    db.commit()
    db.expire_all()
    # listing 1 waits behind its change in backoff, listing 2 goes ahead
    assert [c.id for c in due_changes(db, NOW, 100)] == [changes[i].id for i in (1, 3, 5)]
    # an operator's run does not wait out the delay
    assert len(due_changes(db, NOW, 100, ignore_backoff=True)) == 6
    assert len(due_changes(db, NOW + dt.timedelta(minutes=6), 100)) == 6
    assert (first.attempts, first.last_error, first.batch_id) == (1, "HTTP 503: down", claimed.batch_id)


def test_claim_and_answers_keep_change_ids_and_publish_once(db: Session) -> None:
    changes = make_changes(db, 3)
    ids = [c.change_id for c in changes]
    ids_ = [c.id for c in changes]
    seen: list[int] = []

    def delay(attempts: int) -> float:
        seen.append(attempts)
        return 30.0 * attempts

    one = claim(db, ids_, sent_at=NOW, retry_after=delay)
    assert one is not None
    assert [c["change_id"] for c in one.changes] == ids
    record_failed(db, one, status="no_answer", http_status=None, error="no answer: timeout")
    two = claim(db, ids_, sent_at=NOW, retry_after=delay)
    assert two is not None
    db.expire_all()
    assert {c.next_attempt_at for c in changes} == {NOW + dt.timedelta(seconds=60)}
    assert [c["change_id"] for c in two.changes] == ids and two.batch_id != one.batch_id
    assert record_accepted(db, two, at=NOW, http_status=200, response="ok") == 3
    assert claim(db, ids_, sent_at=NOW, retry_after=delay) is None  # all published
    assert seen == [1, 2]
    db.commit()
    db.expire_all()
    assert {(c.published_at, c.batch_id, c.attempts, c.last_error) for c in changes} == {(NOW, two.batch_id, 2, None)}
    batches = db.scalars(select(PublicationBatch).order_by(PublicationBatch.id)).all()
    assert [(b.status, b.http_status, b.count) for b in batches] == [("no_answer", None, 3), (ACCEPTED, 200, 3)]


def test_batches_left_sending_are_marked_interrupted(db: Session) -> None:
    claim(db, [c.id for c in make_changes(db, 2)], sent_at=NOW, retry_after=lambda n: 0)
    assert interrupt_stale_batches(db) == 1
    assert db.scalar(select(PublicationBatch.status)) == INTERRUPTED
    assert interrupt_stale_batches(db) == 0


def test_expiry_once_per_listing_effective_the_day_after_the_last_day(db: Session) -> None:
    ended = make_listing(db, 1, decided_on=dt.date(2021, 3, 1), period_end=dt.date(2024, 2, 29))
    current = make_listing(db, 2, decided_on=dt.date(2024, 3, 1), period_end=dt.date(2027, 2, 28))
    last_day = make_listing(db, 3, decided_on=dt.date(2023, 3, 2), period_end=dt.date(2026, 3, 1))
    removed = make_listing(db, 4, decided_on=dt.date(2021, 3, 1), period_end=dt.date(2024, 2, 29))
    db.add(ListingEvent(listing_id=removed.id, kind="removed_early", effective_on=dt.date(2022, 5, 1), actor="t"))
    withdrawn = make_listing(db, 5, decided_on=dt.date(2021, 3, 1), period_end=dt.date(2024, 2, 29))
    db.add(ListingEvent(listing_id=withdrawn.id, kind="withdrawn", effective_on=dt.date(2021, 3, 1), actor="t"))
    person = make_listing(db, 6, decided_on=dt.date(2021, 3, 1), period_end=dt.date(2024, 2, 29), person=True)
    db.commit()
    today = dt.date(2026, 3, 1)
    result = expire_listings(db, today=today, calendar=CALENDAR, actor="scheduler")
    db.commit()
    assert result.expired == (ended.id, person.id)
    assert expire_listings(db, today=today, calendar=CALENDAR, actor="scheduler", after=result.last_scanned or 0
                           ).expired == ()
    assert expire_listings(db, today=today, calendar=CALENDAR, actor="scheduler").expired == ()  # once only
    event = db.scalars(select(ListingEvent).where(ListingEvent.kind == "expired",
                                                  ListingEvent.listing_id == ended.id)).one()
    assert event.effective_on == dt.date(2024, 3, 1) and event.data == {"last_day_in_force": "2024-02-29"}
    change = db.scalars(select(Change).where(Change.listing_id == ended.id)).one()
    assert (change.kind, change.effective_on, change.payload["effective_on"]) == (
        "expired", dt.date(2024, 3, 1), "2024-03-01")
    assert change.due_on == dt.date(2024, 3, 12)  # 7 working days after Friday 2024-03-01
    masked = db.scalars(select(Change).where(Change.listing_id == person.id)).one().payload["subject"]
    assert masked == {"kind": "person", "name": "张某", "id_number_masked": "110105********002X"}
    # the next day, the listing whose last day was 2026-03-01 expires too
    assert expire_listings(db, today=today + dt.timedelta(days=1), calendar=CALENDAR,
                           actor="scheduler").expired == (last_day.id,)
    assert current.id not in result.expired


def test_overdue_after_the_due_day_in_shanghai(db: Session) -> None:
    listing = make_listing(db)
    change = record_change(db, listing, "listed", dt.date(2024, 9, 30), calendar=CALENDAR, publication_days=7)
    db.commit()
    assert change.due_on == dt.date(2024, 10, 15)  # National Day holidays do not count
    tz = "Asia/Shanghai"
    assert not is_overdue(change, dt.date(2024, 10, 15), tz)
    assert is_overdue(change, dt.date(2024, 10, 16), tz)
    assert overdue_unpublished(db, dt.date(2024, 10, 16)) == [change]
    change.published_at = dt.datetime(2024, 10, 15, 15, 59, tzinfo=dt.timezone.utc)  # 23:59 in Shanghai
    assert not is_overdue(change, dt.date(2030, 1, 1), tz)
    change.published_at = dt.datetime(2024, 10, 15, 16, 0, tzinfo=dt.timezone.utc)   # 00:00 on the 16th
    assert is_overdue(change, dt.date(2030, 1, 1), tz)


def test_feed_pages_neither_skip_nor_repeat(db: Session) -> None:
    made = make_changes(db, 25, listings=3)
    seen, since = [], 0
    while True:
        items, more = change_feed(db, since, 10)
        db.rollback()
        seen += [i["change_id"] for i in items]
        if items:
            since = int(items[-1]["cursor"])
        if not more:
            break
        make_changes(db, 1, listings=1) if len(seen) == 10 else None
    assert seen[:25] == [c.change_id for c in made] and len(seen) == len(set(seen)) == 26
    assert change_feed(db, since, 10) == ([], False)


@pytest.mark.postgres
def test_feed_waits_for_a_change_written_before_a_later_one_commits(engine: Engine, db: Session) -> None:
    """PostgreSQL gives out ids at insert, not at commit: the feed must not pass an id
    whose row may still appear."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; ids commit in order")
    listing = make_listing(db)
    db.commit()
    sessions = make_sessionmaker(engine)
    slow, fast = sessions(), sessions()
    early = record_change(slow, slow.merge(listing), "listed", dt.date(2024, 9, 30), calendar=CALENDAR,
                          publication_days=7)
    slow.flush()  # id taken, not committed
    late = record_change(fast, fast.merge(listing), "listed", dt.date(2024, 9, 30), calendar=CALENDAR,
                         publication_days=7)
    fast.commit()
    assert early.id < late.id
    committing: list[float] = []

    def commit_later() -> None:
        committing.append(time.monotonic())
        slow.commit()

    timer = threading.Timer(0.5, commit_later)
    timer.start()
    reader = sessions()
    items, _ = change_feed(reader, 0, 10)
    returned = time.monotonic()
    reader.rollback()
    timer.join()
    assert committing and returned >= committing[0]  # it waited for the slow writer
    assert [i["change_id"] for i in items] == [early.change_id, late.change_id]
    for session in (slow, fast, reader):
        session.close()


def test_lease_one_holder_until_it_expires(db: Session) -> None:
    assert acquire_lease(db, "publisher", "a", now=NOW, ttl=60)
    assert not acquire_lease(db, "publisher", "b", now=NOW + dt.timedelta(seconds=59), ttl=60)
    assert acquire_lease(db, "publisher", "a", now=NOW + dt.timedelta(seconds=59), ttl=60)  # renewed
    assert not acquire_lease(db, "publisher", "b", now=NOW + dt.timedelta(seconds=118), ttl=60)
    assert acquire_lease(db, "publisher", "b", now=NOW + dt.timedelta(seconds=120), ttl=60)  # a was killed
    release_lease(db, "publisher", "a")  # not a's any more: nothing happens
    assert db.get(Lease, "publisher").holder == "b"  # type: ignore[union-attr]
    release_lease(db, "publisher", "b")
    assert db.scalar(select(func.count()).select_from(Lease)) == 0


def test_exclusive_admits_one_holder_at_a_time(engine: Engine, db: Session) -> None:
    sessions = make_sessionmaker(engine)
    with exclusive(engine, sessions, "publisher", ttl=30) as first:
        assert first is not None
        with exclusive(engine, sessions, "publisher", ttl=30) as second:
            assert second is None
        first.renew()
    with exclusive(engine, sessions, "publisher", ttl=30) as again:
        assert again is not None


def test_claim_records_a_sending_batch_first(db: Session) -> None:
    claimed = claim(db, [c.id for c in make_changes(db, 2)], sent_at=NOW, retry_after=lambda n: 0)
    assert claimed is not None
    db.commit()
    batch = db.scalars(select(PublicationBatch)).one()
    assert (batch.batch_id, batch.status, batch.count) == (claimed.batch_id, SENDING, 2)


def test_export_chunks_walk_id_windows_across_gaps(db: Session) -> None:
    from sqlalchemy import delete

    from blacklist.publication import iter_change_chunks, last_change_id

    made = make_changes(db, 9)
    gone = [c.id for c in made[1:6]]
    db.execute(delete(Change).where(Change.id.in_(gone)))
    db.commit()
    chunks = list(iter_change_chunks(db, made[0].id - 1, until=last_change_id(db), chunk=2))
    assert [[row[0] for row in rows] for rows in chunks] == [[made[0].id], [made[6].id], [made[7].id, made[8].id]]
    fields = list(iter_change_chunks(db, made[7].id, fields=[("kind",), ("subject", "kind")]))
    assert fields == [[(made[8].id, "listed", "unit")]]
