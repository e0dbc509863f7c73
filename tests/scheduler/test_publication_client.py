"""The publication job in process against the simulator in a thread: signatures, the
body of api.md, masked persons, refusals that are not retried at once."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist.models import Change, PublicationBatch
from blacklist.settings import Settings
from scheduler.client import batch_body, sign, signature_ok
from scheduler.config import PublisherConfig
from scheduler.jobs import Context, deadlines_job, expiry_job, publish_job
from scheduler.platform_sim import PlatformSimulator, Store, validate_batch
from tests.scheduler.publication_helpers import make_changes, make_listing


@pytest.fixture
def platform(db: Session) -> Iterator[PlatformSimulator]:
    server = PlatformSimulator("127.0.0.1", 0, store=Store(), secret="s3cret")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def context(settings: Settings, url: str, secret: str | None, **kw: float) -> Context:
    config = PublisherConfig(url=url, secret=secret, batch_size=4, timeout=5, tries=2, retry_wait=0.01,
                             lease_seconds=10, **kw)  # type: ignore[arg-type]
    return Context.build(settings, config)


def test_signed_batches_in_the_api_format_with_masked_persons(
        db: Session, settings: Settings, platform: PlatformSimulator) -> None:
    made = make_changes(db, 10, listings=5)
    ctx = context(settings, platform.url, "s3cret")
    try:
        report = publish_job(ctx)
    finally:
        ctx.close()
    assert (report.published, report.accepted, report.attempts, report.error) == (10, 3, 3, None)
    got = platform.store.report()
    assert [len(b["change_ids"]) for b in got["batches"]] == [4, 4, 2]
    assert [cid for b in got["batches"] for cid in b["change_ids"]] == [c.change_id for c in made]
    person = next(c for c in platform.store.changes.values() if c["subject"]["kind"] == "person")
    assert person["subject"] == {"kind": "person", "name": "张某", "id_number_masked": "110105********002X"}
    db.rollback()
    receipts = db.scalars(select(PublicationBatch)).all()
    assert {(b.status, b.http_status) for b in receipts} == {("accepted", 200)}
    assert all('"accepted"' in (b.response or "") for b in receipts)


def test_a_wrong_secret_is_refused_and_not_retried_at_once(
        db: Session, settings: Settings, platform: PlatformSimulator) -> None:
    make_changes(db, 3)
    ctx = context(settings, platform.url, "wrong")
    try:
        report = publish_job(ctx)
    finally:
        ctx.close()
    assert report.attempts == 1 and report.published == 0 and "HTTP 401" in (report.error or "")
    db.rollback()
    assert {(c.attempts, c.published_at is None) for c in db.scalars(select(Change))} == {(1, True)}
    assert "X-Signature" in (db.scalars(select(Change)).first().last_error or "")  # type: ignore[union-attr]


def test_signature_and_validation() -> None:
    body = batch_body("b1", "2026-01-01T00:00:00+00:00", [])
    assert signature_ok("k", body, sign("k", body)) and not signature_ok("k", body + b" ", sign("k", body))
    assert not signature_ok("k", body, None)
    assert "changes" in validate_batch({"batch_id": "b", "sent_at": "t", "changes": []})
    bad = {"batch_id": "b", "sent_at": "t", "changes": [{"change_id": "c", "kind": "listed", "subject": {
        "kind": "person", "name": "张某", "id_number": "11010519491231002X"}}]}
    problems = validate_batch(bad)["changes[0]"]
    assert "a person's full identity number must never be sent" in problems
    assert "effective_on is missing" in problems


def test_without_a_platform_url_nothing_is_sent(db: Session, settings: Settings) -> None:
    make_changes(db, 1)
    ctx = context(settings, "", None)
    try:
        assert publish_job(ctx).error == "no platform URL configured"
    finally:
        ctx.close()


def test_expiry_and_deadline_jobs(db: Session, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    import datetime as dt

    make_listing(db, 77, decided_on=dt.date(2021, 3, 1), period_end=dt.date(2024, 2, 29))
    db.commit()
    ctx = context(settings, "", None)
    try:
        assert expiry_job(ctx) == 1
        assert expiry_job(ctx) == 0
        with caplog.at_level("WARNING", logger="scheduler.jobs"):
            assert deadlines_job(ctx) == 1
    finally:
        ctx.close()
    assert "publication overdue" in caplog.text and "was due on 2024-03-12" in caplog.text
