"""The scheduler's jobs, plain functions over a Context: expiry, deadline watch, publication.

Each job opens its own sessions; expiry and the deadline watch commit once per chunk,
publication once per claim and once per answer (see scheduler.publisher)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from blacklist.cases import case_query
from blacklist.clock import today
from blacklist.db import make_engine, make_sessionmaker
from blacklist.publication import count_overdue_unpublished, expire_listings, overdue_unpublished
from blacklist.settings import Settings
from blacklist.workdays import WorkdayCalendar
from scheduler.client import PlatformClient
from scheduler.config import PublisherConfig
from scheduler.lock import LeaseLostError, exclusive
from scheduler.publisher import PublishReport, Publisher

log = logging.getLogger(__name__)

ACTOR = "scheduler"
PUBLISHER_LOCK = "publisher"
EXPIRY_LOCK = "expiry"
_OVERDUE_LOGGED = 50


@dataclass
class Context:
    """What every job needs, made once per process."""

    settings: Settings
    config: PublisherConfig
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    calendar: WorkdayCalendar
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, config: PublisherConfig) -> "Context":
        engine = make_engine(settings.database_url)
        calendar = WorkdayCalendar.configured(settings.holidays_file)
        return cls(settings, config, engine, make_sessionmaker(engine), make_sessionmaker(engine, write=False),
                   calendar)

    def today(self) -> Any:
        return today(self.settings.timezone)

    def close(self) -> None:
        client = self.extra.pop("client", None)
        if client is not None:
            client.close()
        self.engine.dispose()


def expiry_job(ctx: Context) -> int:
    """Lift listings whose period ended: an `expired` event and change, once per listing."""
    day = ctx.today()
    total = 0
    with exclusive(ctx.engine, ctx.sessions, EXPIRY_LOCK, ttl=ctx.config.lease_seconds) as guard:
        if guard is None:
            log.info("expiry: another scheduler is running it")
            return 0
        after: int | None = 0
        while after is not None:
            guard.renew()
            with ctx.sessions() as session, session.begin():
                result = expire_listings(session, today=day, calendar=ctx.calendar, actor=ACTOR, after=after)
            total += len(result.expired)
            after = result.last_scanned
    if total:
        log.info("expiry: %d listings expired", total)
    return total


def deadlines_job(ctx: Context) -> int:
    """Warn about changes past their publication deadline; note cases awaiting a decision."""
    day = ctx.today()
    with ctx.readers() as session:
        overdue = count_overdue_unpublished(session, day)
        for change in overdue_unpublished(session, day, limit=_OVERDUE_LOGGED):
            # ids and dates only: payloads name persons (masked, but still not for logs)
            log.warning("publication overdue: change %s (%s of listing %d) was due on %s; %d attempts; %s",
                        change.change_id, change.kind, change.listing_id, change.due_on, change.attempts,
                        change.last_error or "not sent yet")
        if overdue > _OVERDUE_LOGGED:
            log.warning("publication overdue: %d more changes not listed", overdue - _OVERDUE_LOGGED)
        waiting = list(session.scalars(case_query(overdue=True, today=day).limit(_OVERDUE_LOGGED)))
        for case in waiting:
            log.info("case %d: the statement period ended on %s; it awaits a decision", case.id,
                     case.statement_ends)
        session.rollback()
    return overdue


def publish_job(ctx: Context, *, ignore_backoff: bool = False) -> PublishReport:
    """Publish what is due, if this process gets the publisher lock."""
    if not ctx.config.url:
        if not ctx.extra.get("warned_no_url"):
            log.warning("BLACKLIST_PLATFORM_URL is not set; nothing is published")
            ctx.extra["warned_no_url"] = True
        return PublishReport(error="no platform URL configured")
    if "client" not in ctx.extra:
        ctx.extra["client"] = PlatformClient(ctx.config.url, secret=ctx.config.secret, timeout=ctx.config.timeout)
    publisher = Publisher(ctx.sessions, ctx.extra["client"], ctx.config)
    with exclusive(ctx.engine, ctx.sessions, PUBLISHER_LOCK, ttl=ctx.config.lease_seconds) as guard:
        if guard is None:
            log.info("publish: another publisher holds the lock")
            return PublishReport(busy=True)
        try:
            report = publisher.run(guard, ignore_backoff=ignore_backoff)
        except LeaseLostError as exc:
            log.error("publish: %s", exc)
            return PublishReport(error=str(exc))
    if report.attempts:
        log.info("publish: %s", report.summary())
    return report
