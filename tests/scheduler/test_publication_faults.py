"""Faults with real processes and real HTTP on 127.0.0.1: `blacklist platform-sim` as the
credit platform, `blacklist scheduler` and `blacklist publish` as the publisher."""

from __future__ import annotations

import datetime as dt
import signal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist.models import Change, PublicationBatch, utcnow
from tests.scheduler.publication_helpers import (
    Processes,
    Simulator,
    cli_env,
    make_changes,
    published_count,
    wait_until,
)

FAST = ["--tries", "2", "--retry-wait", "0.05", "--backoff", "0.2", "--backoff-cap", "1"]


def scheduler_args(*extra: str) -> list[str]:
    return ["-v", "scheduler", "--publish-every", "0.2", *FAST, *extra]


def batches(db: Session) -> list[tuple[str, int | None]]:
    db.rollback()
    return [(b.status, b.http_status) for b in db.scalars(select(PublicationBatch).order_by(PublicationBatch.id))]


def all_ids(db: Session) -> list[str]:
    db.rollback()
    return list(db.scalars(select(Change.change_id).order_by(Change.id)))


def test_503_for_the_first_requests_then_every_change_arrives_exactly_once(
        db: Session, procs: Processes, database_url: str) -> None:
    make_changes(db, 120, listings=7)
    sim = Simulator(procs, cli_env(database_url), "--fail-first", "3")
    procs.start(scheduler_args("--batch-size", "50"), cli_env(database_url, BLACKLIST_PLATFORM_URL=sim.url),
                "scheduler")
    wait_until(lambda: published_count(db) == 120)
    got = sim.received()
    assert got["unique"] == 120 and got["duplicates"] == 0
    assert set(got["deliveries"]) == set(all_ids(db))
    assert got["requests"] == 3 + 3  # three refused, then three batches of 50, 50 and 20
    assert batches(db) == [("failed", 503)] * 3 + [("accepted", 200)] * 3


def test_publish_run_by_hand_does_not_wait_out_the_retry_delay(
        db: Session, procs: Processes, database_url: str) -> None:
    make_changes(db, 10)
    sim = Simulator(procs, cli_env(database_url), "--fail-first", "1")
    env = cli_env(database_url, BLACKLIST_PLATFORM_URL=sim.url)
    args = ["publish", "--tries", "1", "--backoff", "3600"]
    failed = procs.run(args, env)
    assert failed.returncode == 1 and "HTTP 503" in failed.stdout, failed.stdout + failed.stderr
    db.rollback()
    assert all(c.next_attempt_at and c.next_attempt_at > utcnow() + dt.timedelta(minutes=25)
               for c in db.scalars(select(Change)))  # the scheduler would wait half an hour or more
    again = procs.run(args, env)
    assert again.returncode == 0 and "10 changes published in 1 batches" in again.stdout, again.stderr
    assert sim.received()["unique"] == 10 and sim.received()["duplicates"] == 0
    db.rollback()
    assert {c.attempts for c in db.scalars(select(Change))} == {2}


def test_accepted_but_connection_dropped_the_resend_carries_the_same_change_ids(
        db: Session, procs: Processes, database_url: str) -> None:
    make_changes(db, 30, listings=4)
    sim = Simulator(procs, cli_env(database_url), "--drop-first", "1")
    env = cli_env(database_url, BLACKLIST_PLATFORM_URL=sim.url)
    first = procs.run(["publish", "--tries", "1"], env)
    assert first.returncode == 1 and "no answer" in first.stdout, first.stdout + first.stderr
    assert published_count(db) == 0  # the platform has them; we cannot know it
    second = procs.run(["publish", "--tries", "1"], env)
    assert second.returncode == 0, second.stdout + second.stderr
    got = sim.received()
    dropped, resent = got["batches"]
    assert dropped["outcome"] == "drop" and resent["outcome"] == "answered"
    assert resent["change_ids"] == dropped["change_ids"] == all_ids(db)
    assert dropped["batch_id"] != resent["batch_id"]
    assert (got["unique"], got["duplicates"], resent["duplicates"]) == (30, 30, 30)  # at least once, same ids
    assert batches(db) == [("no_answer", None), ("accepted", 200)]
    assert published_count(db) == 30


def test_scheduler_killed_mid_batch_and_restarted_loses_nothing(
        db: Session, procs: Processes, database_url: str) -> None:
    make_changes(db, 150, listings=9)
    sim = Simulator(procs, cli_env(database_url), "--stall-first", "1", "--stall-seconds", "30")
    env = cli_env(database_url, BLACKLIST_PLATFORM_URL=sim.url)
    args = scheduler_args("--batch-size", "50", "--timeout", "3", "--lease", "4")
    first = procs.start(args, env, "scheduler")
    wait_until(lambda: sim.received()["requests"] == 1)  # the first batch is in flight
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert published_count(db) == 0 and batches(db) == [("sending", None)]
    procs.start(args, env, "scheduler")
    wait_until(lambda: published_count(db) == 150)
    got = sim.received()
    stalled = got["batches"][0]
    assert got["unique"] == 150 and set(got["deliveries"]) == set(all_ids(db))
    assert got["duplicates"] == 50 and got["batches"][1]["change_ids"] == stalled["change_ids"]
    assert batches(db)[0] == ("interrupted", None)


def test_two_schedulers_started_together_send_one_batch(
        db: Session, procs: Processes, database_url: str) -> None:
    make_changes(db, 40, listings=5)
    # The platform takes a while to answer, so both schedulers run while the batch is out.
    sim = Simulator(procs, cli_env(database_url), "--stall-first", "1", "--stall-seconds", "1.5")
    env = cli_env(database_url, BLACKLIST_PLATFORM_URL=sim.url)
    args = scheduler_args("--timeout", "5", "--lease", "10")
    pair = [procs.start(args, env, "scheduler"), procs.start(args, env, "scheduler")]
    wait_until(lambda: published_count(db) == 40)
    wait_until(lambda: _both_ran_publish(procs), timeout=10)
    assert all(p.poll() is None for p in pair)
    got: dict[str, Any] = sim.received()
    assert got["requests"] == 1 and len(got["batches"]) == 1
    assert got["unique"] == 40 and got["duplicates"] == 0
    assert batches(db) == [("accepted", 200)]


def _both_ran_publish(procs: Processes) -> bool:
    logs = [p.read_text() for p in sorted(procs.cwd.glob("scheduler-*.log"))]
    return len(logs) == 2 and all("another publisher holds the lock" in log or "publish: " in log for log in logs) \
        and any("another publisher holds the lock" in log for log in logs)
