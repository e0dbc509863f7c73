"""Factories and process helpers for the publication tests."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blacklist.models import Change, Listing, ListingEvent, Subject, utcnow
from blacklist.outbox import record_change
from blacklist.workdays import WorkdayCalendar
from tests.conftest import cli_env
from tests.factories import uscc

__all__ = ["cli_env"]  # re-exported: the scheduler tests import it from here

CALENDAR = WorkdayCalendar()
BLACKLIST = str(Path(sys.executable).with_name("blacklist"))
_numbers = itertools.count(1000)


def make_listing(session: Session, n: int = 1, *, decided_on: dt.date = dt.date(2024, 9, 30),
                 period_end: dt.date | None = dt.date(2027, 9, 29), person: bool = False) -> Listing:
    """A subject and a listing decided on `decided_on` (no case behind it)."""
    if person:
        subject = Subject(kind="person", name="张某", name_norm="张某", id_hash=f"h{n:063d}",
                          id_masked="110105********002X")
    else:
        subject = Subject(kind="unit", name=f"咸阳某化工有限公司{n}", name_norm=f"咸阳某化工有限公司{n}", uscc=uscc(n),
                          industry="chemicals")
    session.add(subject)
    session.flush()
    listing = Listing(subject_id=subject.id, list_code="serious_untrustworthy", tier=None, rule="mem11.a1",
                      pack="cn-2023-mem11", pack_version="2023.1", basis="应急管理部令第11号 第五条",
                      document_no=f"陕应急信决〔2024〕{n}号",
                      authority={"name": "陕西省应急管理厅", "region": "610000", "level": "province"},
                      evidence=[f"ACC-{n}"], decided_on=decided_on, period_start=decided_on, period_end=period_end,
                      early_removal_from=None, recorded_at=utcnow())
    session.add(listing)
    session.flush()
    session.add(ListingEvent(listing_id=listing.id, kind="listed", effective_on=decided_on, actor="test",
                             data={}, recorded_at=utcnow()))
    session.flush()
    return listing


def make_changes(session: Session, count: int, *, listings: int = 1, kind: str = "listed",
                 decided_on: dt.date = dt.date(2024, 9, 30)) -> list[Change]:
    """`count` outbox changes spread over `listings` listings, committed."""
    made = [make_listing(session, next(_numbers), decided_on=decided_on, person=(i % 5 == 4))
            for i in range(listings)]
    changes = [record_change(session, made[i % listings], kind, decided_on, calendar=CALENDAR, publication_days=7)
               for i in range(count)]
    session.commit()
    return changes


def published_count(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Change).where(Change.published_at.is_not(None))) or 0)


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(every)


class Processes:
    """Child processes of one test, all stopped at its end."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.running: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], env: dict[str, str], name: str) -> subprocess.Popen[str]:
        log = (self.cwd / f"{name}-{len(self.running)}.log").open("w")
        proc = subprocess.Popen([BLACKLIST, *args], cwd=self.cwd, env=env, stdout=subprocess.PIPE,
                                stderr=log, text=True)
        self.running.append(proc)
        return proc

    def run(self, args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BLACKLIST, *args], cwd=self.cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.running:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(self.cwd.glob("*.log")))


class Simulator:
    """A `blacklist platform-sim` process and a client for its test endpoints."""

    def __init__(self, procs: Processes, env: dict[str, str], *args: str) -> None:
        self.proc = procs.start(["platform-sim", "--port", "0", *args], env, "sim")
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening on" in line, line
        self.url = line.rsplit(" ", 1)[-1].strip()

    def received(self) -> dict[str, Any]:
        answer: dict[str, Any] = requests.get(self.url + "/received", timeout=10).json()
        return answer

    def control(self, **faults: Any) -> None:
        requests.post(self.url + "/control", json=faults, timeout=10).raise_for_status()
