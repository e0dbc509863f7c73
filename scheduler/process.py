"""The scheduler process: one APScheduler BlockingScheduler with three jobs.

APScheduler's job stores cannot be shared between processes, so each scheduler keeps its
jobs in memory; the database lock, not the job store, keeps two schedulers from
publishing the same changes."""

from __future__ import annotations

import datetime as dt
import logging
import signal
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from scheduler.jobs import Context, deadlines_job, expiry_job, publish_job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intervals:
    """Seconds between runs of each job; every job also runs at start."""

    publish: float = 60.0
    expiry: float = 3600.0
    deadlines: float = 3600.0


def build(ctx: Context, intervals: Intervals) -> BlockingScheduler:
    tz = ZoneInfo(ctx.settings.timezone)
    scheduler = BlockingScheduler(
        timezone=tz, executors={"default": ThreadPoolExecutor(3)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    start = dt.datetime.now(tz)
    jobs: list[tuple[str, Any, float]] = [
        ("expiry", expiry_job, intervals.expiry),
        ("deadlines", deadlines_job, intervals.deadlines),
        ("publish", publish_job, intervals.publish),
    ]
    for job_id, func, every in jobs:
        scheduler.add_job(func, "interval", args=[ctx], id=job_id, name=job_id, seconds=every,
                          next_run_time=start, replace_existing=True)  # one at a time, coalesced: job_defaults
    return scheduler


def run(ctx: Context, intervals: Intervals) -> None:
    """Run until SIGTERM or SIGINT; a batch in flight is finished before exiting."""
    scheduler = build(ctx, intervals)

    def stop(signum: int, _frame: Any) -> None:
        log.info("scheduler: signal %d, stopping", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: publish every %ss, expiry every %ss, deadlines every %ss",
             intervals.publish, intervals.expiry, intervals.deadlines)
    try:
        scheduler.start()
    finally:
        ctx.close()
