"""The publication job: push due changes to the credit platform in batches.

Every HTTP attempt is claimed in the database before it is made (a batch row `sending`,
the changes' attempt count and their next retry time) and answered after, so a crash at
any point loses nothing: unanswered changes are sent again, with the same change ids.
The platform dedupes by change id; delivery is at least once."""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from blacklist.clock import now as utc_now
from blacklist.publication import (
    Claim,
    claim,
    due_query,
    interrupt_stale_batches,
    record_accepted,
    record_failed,
    retry_delay,
)
from scheduler.client import Answer, PlatformClient, batch_body
from scheduler.config import PublisherConfig
from scheduler.lock import Guard

log = logging.getLogger(__name__)


@dataclass
class PublishReport:
    """What one run did."""

    attempts: int = 0         # HTTP requests made
    accepted: int = 0         # batches the platform accepted
    published: int = 0        # changes published by this run
    failed: int = 0           # requests refused or unanswered
    interrupted: int = 0      # batches a dead publisher had left `sending`
    busy: bool = False        # another publisher holds the lock
    error: str | None = None  # why the run stopped early

    def summary(self) -> str:
        if self.busy:
            return "another publisher is running; nothing sent"
        text = (f"{self.published} changes published in {self.accepted} batches "
                f"({self.attempts} requests, {self.failed} failed)")
        return text + (f"; stopped: {self.error}" if self.error else "")


class SendFailedError(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.error)
        self.answer = answer


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, SendFailedError) and exc.answer.transient


class Publisher:
    """Publishes due changes while holding the publisher lock (the caller takes it)."""

    def __init__(self, sessions: sessionmaker[Session], client: PlatformClient, config: PublisherConfig, *,
                 clock: Callable[[], dt.datetime] = utc_now, jitter: Callable[[], float] = random.random) -> None:
        self.sessions, self.client, self.config = sessions, client, config
        self.clock, self.jitter = clock, jitter

    def run(self, guard: Guard, *, ignore_backoff: bool = False) -> PublishReport:
        """Send batch after batch until nothing is due or a batch fails for good."""
        report = PublishReport()
        with self.sessions() as session, session.begin():
            report.interrupted = interrupt_stale_batches(session)
        if report.interrupted:
            log.warning("%d batches were left unanswered by a stopped publisher; their changes are resent",
                        report.interrupted)
        while True:
            with self.sessions() as session, session.begin():
                query = due_query(self.clock(), ignore_backoff=ignore_backoff).limit(self.config.batch_size)
                ids = list(session.scalars(query))
            if not ids:
                break
            try:
                published = self._send_with_retries(guard, ids, report)
            except SendFailedError as exc:
                report.error = exc.answer.error
                log.warning("publication stopped after %d requests: %s", report.attempts, report.error)
                break
            if published:
                report.accepted += 1
                report.published += published
        return report

    def _send_with_retries(self, guard: Guard, ids: list[int], report: PublishReport) -> int:
        retrying = Retrying(
            stop=stop_after_attempt(self.config.tries),
            wait=(wait_exponential(multiplier=self.config.retry_wait, max=self.config.retry_wait_max)
                  + wait_random(0, self.config.retry_wait)),
            retry=retry_if_exception(_transient), reraise=True)
        published: int = retrying(self._attempt, guard, ids, report)
        return published

    def _attempt(self, guard: Guard, ids: list[int], report: PublishReport) -> int:
        """One request: claimed, sent, answered. Raises SendFailedError unless accepted."""
        guard.renew()
        claimed = self._claim(ids)
        if claimed is None:
            return 0  # someone published them meanwhile (never while we hold the lock)
        body = batch_body(claimed.batch_id, claimed.sent_at.isoformat(), claimed.changes)
        report.attempts += 1
        answer = self.client.send(claimed.batch_id, body)
        with self.sessions() as session, session.begin():
            if answer.accepted:
                return record_accepted(session, claimed, at=self.clock(), http_status=answer.http_status or 200,
                                       response=answer.text)
            record_failed(session, claimed, status=answer.status, http_status=answer.http_status,
                          error=answer.error, response=answer.text)
        report.failed += 1
        log.info("batch %s of %d changes not accepted: %s", claimed.batch_id, len(ids), answer.error)
        raise SendFailedError(answer)

    def _claim(self, ids: list[int]) -> Claim | None:
        def delay(attempts: int) -> float:
            return retry_delay(attempts, base=self.config.backoff_base, cap=self.config.backoff_cap,
                               jitter=self.jitter())

        with self.sessions() as session, session.begin():
            return claim(session, ids, sent_at=self.clock(), retry_after=delay)
