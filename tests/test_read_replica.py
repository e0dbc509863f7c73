"""Checks answered from a read replica (BLACKLIST_READ_DATABASE_URL), recorded on the primary.

The "replica" is the test database opened read-only (PostgreSQL:
default_transaction_read_only; SQLite: mode=ro), so any write sent to it fails, as it
would on a hot standby."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from blacklist.db import make_engine

from blacklist.models import Check
from blacklist.settings import Settings
from tests.conftest import Client, serve
from tests.factories import UNIT, uscc
from tests.test_workflow import listed_case


def read_only(url: str) -> str:
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url[len('sqlite:///'):]}?mode=ro&uri=true"
    return url + ("&" if "?" in url else "?") + "options=-c%20default_transaction_read_only%3Don"


def test_the_replica_of_these_tests_refuses_writes(settings: Settings, db: Session) -> None:
    replica = make_engine(read_only(settings.database_url))
    try:
        with pytest.raises(DBAPIError, match="read-only|readonly"):
            with replica.begin() as conn:
                conn.execute(Check.__table__.delete())
    finally:
        replica.dispose()


def test_checks_read_the_replica_and_are_recorded_on_the_primary(
        client: Client, token: Any, settings: Settings, db: Session) -> None:
    from web import create_app

    tokens = {"system": token("system"), "regulator": token("regulator"), "officer": token("officer")}
    listed_case(client, tokens)
    server, base = serve(create_app(replace(settings, read_database_url=read_only(settings.database_url))))
    try:
        replica = Client(base)
        officer = tokens["officer"]
        single = replica.get("/api/v1/eligibility", officer,
                             params={"uscc": UNIT, "domain": "procurement", "as_of": "2025-01-01"})
        assert single.status_code == 200, single.text
        assert single.json()["eligible"] is False and single.json()["effect"] == "prohibited"
        posted = replica.post("/api/v1/eligibility", officer,
                              json={"subject": {"uscc": uscc(77)}, "domain": "bidding", "as_of": "2025-01-01"})
        assert posted.status_code == 200, posted.text
        assert posted.json()["eligible"] is True
        batch = replica.post("/api/v1/eligibility/batch", officer, json={
            "domain": "procurement", "as_of": "2025-01-01", "subjects": [{"uscc": UNIT}, {"uscc": uscc(78)}]})
        assert batch.status_code == 200, batch.text
        assert [a["eligible"] for a in batch.json()["results"]] == [False, True]
        # the same list version as the primary answers with
        primary = client.get("/api/v1/eligibility", officer, params={"uscc": UNIT, "domain": "procurement"})
        assert single.json()["list_version"] == primary.json()["list_version"]
        ids = {single.json()["check_id"], posted.json()["check_id"], *(a["check_id"] for a in batch.json()["results"])}
        db.rollback()
        assert db.scalar(select(func.count()).select_from(Check).where(Check.id.in_(ids))) == 4
    finally:
        server.shutdown()
