"""GET /api/v1/publications (regulators) and GET /api/v1/changes (pulling systems)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from blacklist.models import utcnow
from tests.conftest import Client
from tests.scheduler.publication_helpers import make_changes


def test_publications_show_status_and_overdue(client: Client, token: Any, db: Session) -> None:
    reg = token("regulator")
    old = make_changes(db, 3, decided_on=dt.date(2024, 9, 30))  # due 2024-10-15: long overdue
    fresh = make_changes(db, 1, decided_on=dt.date.today())
    old[0].published_at = dt.datetime(2024, 10, 14, 2, 0, tzinfo=dt.timezone.utc)   # on time
    old[1].attempts, old[1].last_error = 2, "HTTP 503: down"
    fresh[0].published_at = utcnow()
    db.commit()

    page = client.get("/api/v1/publications", reg).json()
    by_id = {i["change_id"]: i for i in page["items"]}
    assert [(by_id[c.change_id]["status"], by_id[c.change_id]["overdue"]) for c in old + fresh] == [
        ("published", False), ("retrying", True), ("pending", True), ("published", False)]
    assert by_id[old[1].change_id]["last_error"] == "HTTP 503: down"
    assert by_id[old[1].change_id]["due_on"] == "2024-10-15"
    assert page["summary"] == {"total": 4, "published": 2, "retrying": 1, "pending": 1, "overdue_unpublished": 2}
    overdue = client.get("/api/v1/publications", reg, params={"overdue": "true"}).json()["items"]
    assert [i["change_id"] for i in overdue] == [old[1].change_id, old[2].change_id]
    pending = client.get("/api/v1/publications", reg, params={"status": "pending"}).json()["items"]
    assert [i["change_id"] for i in pending] == [old[2].change_id]
    first = client.get("/api/v1/publications", reg, params={"overdue": "true", "limit": 1}).json()
    assert len(first["items"]) == 1 and first["next"] == first["items"][0]["cursor"]
    rest = client.get("/api/v1/publications", reg, params={"overdue": "true", "cursor": first["next"]}).json()
    assert [i["change_id"] for i in rest["items"]] == [old[2].change_id] and rest["next"] is None

    assert client.get("/api/v1/publications", token("officer")).status_code == 403
    assert client.get("/api/v1/publications").status_code == 401
    assert client.get("/api/v1/publications", reg, params={"status": "lost"}).status_code == 422


def test_change_feed_pages_by_a_stable_cursor(client: Client, token: Any, db: Session) -> None:
    officer = token("officer")
    made = make_changes(db, 1205, listings=5)
    first = client.get("/api/v1/changes", officer).json()
    assert len(first["items"]) == 1000 and first["more"] is True
    assert first["items"][0]["cursor"] == str(made[0].id) and first["next"] == str(made[999].id)
    change = first["items"][0]
    assert {"change_id", "kind", "subject", "id", "list", "tier", "rule", "basis", "document_no", "authority",
            "decided_on", "period_start", "period_end", "effective_on"} <= set(change)
    later = make_changes(db, 2)  # arrive between pages
    second = client.get("/api/v1/changes", officer, params={"since": first["next"]}).json()
    assert [i["change_id"] for i in second["items"]] == [c.change_id for c in made[1000:] + later]
    assert second["more"] is False
    idle = client.get("/api/v1/changes", officer, params={"since": second["next"]}).json()
    assert idle == {"items": [], "next": second["next"], "more": False}
    small = client.get("/api/v1/changes", officer, params={"since": "0", "limit": 2}).json()
    assert [i["change_id"] for i in small["items"]] == [c.change_id for c in made[:2]]
    persons = [i["subject"] for i in first["items"] if i["subject"]["kind"] == "person"]
    assert persons and all(set(p) == {"kind", "name", "id_number_masked"} for p in persons)

    assert client.get("/api/v1/changes", officer, params={"since": "abc"}).status_code == 422
    assert client.get("/api/v1/changes", officer, params={"limit": 1001}).status_code == 422
    assert client.get("/api/v1/changes").status_code == 401
