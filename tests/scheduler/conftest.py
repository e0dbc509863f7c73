"""Fixtures of the publication tests: child processes and the platform simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.orm import Session

from tests.scheduler.publication_helpers import Processes


@pytest.fixture
def procs(db: Session, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Processes]:
    """Processes stopped before `db` empties the tables; their logs shown on failure."""
    running = Processes(tmp_path)
    yield running
    running.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(running.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
