"""The audit chain catches an edited row; two regulators deciding at once: one wins."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from blacklist import audit
from blacklist.audit import AuditVerdict, verify
from tests.conftest import Client
from tests.test_workflow import decide, ingest, major_accident_records, unit_case


def test_audit_verify_catches_an_edited_row(client: Client, token: Any, db: Session) -> None:
    reg = token("regulator")
    ingest(client, token("system"), major_accident_records())
    case = unit_case(client, reg)
    client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={"served_on": "2024-09-23"})
    assert verify(db).ok
    entry_id = db.execute(text("SELECT id FROM audit_log WHERE action = 'case.notified'")).scalar_one()
    db.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = :i"), {"i": entry_id})
    db.commit()
    verdict = verify(db)
    assert not verdict.ok and verdict.broken_at == entry_id and "edited" in (verdict.problem or "")


def test_audit_verify_catches_a_deleted_row(client: Client, token: Any, db: Session) -> None:
    ingest(client, token("system"), major_accident_records())
    first = db.execute(text("SELECT min(id) FROM audit_log WHERE entity = 'case'")).scalar_one()
    db.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": first})
    db.commit()
    verdict = verify(db)
    assert not verdict.ok and "prev_hash" in (verdict.problem or "")


def test_entries_appended_many_at_once_chain_like_those_appended_one_by_one(db: Session) -> None:
    """`append_many` (a stored evaluation's cases) continues the chain `append` left, and
    `append` continues it after; the entries read back verify, and an edit among them shows."""
    audit.append(db, actor="a", action="x.one", entity="x", entity_id=1, after={"n": 1})
    assert audit.append_many(db, [("engine", "case.proposed", "case", i, None, {"rule": "r", "n": i})
                                  for i in range(2, 5)]) == 3
    audit.append(db, actor="a", action="x.last", entity="x", entity_id=5, before={"n": 4}, after={"n": 5})
    db.commit()
    rows = db.execute(text("SELECT entity_id, prev_hash, hash FROM audit_log ORDER BY id")).all()
    assert [r.entity_id for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:]))
    assert verify(db) == AuditVerdict(5, None, None)
    db.execute(text("UPDATE audit_log SET after = :a WHERE entity_id = '3'"), {"a": '{"rule": "r", "n": 30}'})
    db.commit()
    verdict = verify(db)
    assert not verdict.ok and "edited" in (verdict.problem or "")


def test_concurrent_decisions_one_wins(client: Client, token: Any, db: Session) -> None:
    """Real concurrency: both requests are in flight at once; exactly one lists the case."""
    regs = [token("regulator", "王科长"), token("regulator", "李科长")]
    ingest(client, token("system"), major_accident_records())
    case = unit_case(client, regs[0])
    client.post(f"/api/v1/cases/{case['id']}/notice", regs[0], json={"served_on": "2024-09-23"})
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def run(t: str) -> None:
        other = Client(client.base)
        barrier.wait()
        statuses.append(decide(other, t, case["id"], "2024-10-08").status_code)

    threads = [threading.Thread(target=run, args=(t,)) for t in regs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(statuses) == [200, 409], statuses
    listings = db.execute(text("SELECT count(*) FROM listings WHERE case_id = :c"), {"c": case["id"]}).scalar_one()
    assert listings == 1
    events = db.execute(text("SELECT count(*) FROM listing_events")).scalar_one()
    assert events == 1
    assert verify(db).ok


@pytest.mark.postgres
def test_concurrent_decisions_on_postgres_many_rounds(client: Client, token: Any, db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks are exercised on PostgreSQL (TEST_DATABASE_URL)")
    reg_tokens = [token("regulator", f"科员{i}") for i in range(4)]
    system = token("system")
    for n in range(5):
        records = major_accident_records()
        for r in records:
            r["record_id"] += f"-{n}"
        records[1]["accident_id"] = records[0]["record_id"]
        ingest(client, system, records)
    cases = [c for c in client.get("/api/v1/cases", reg_tokens[0], params={"status": "proposed"}).json()["items"]]
    for case in cases:
        client.post(f"/api/v1/cases/{case['id']}/notice", reg_tokens[0], json={"served_on": "2024-09-23"})
        barrier = threading.Barrier(len(reg_tokens))
        statuses: list[int] = []

        def run(t: str, case_id: int = case["id"]) -> None:
            other = Client(client.base)
            barrier.wait()
            statuses.append(decide(other, t, case_id, "2024-10-08").status_code)

        threads = [threading.Thread(target=run, args=(t,)) for t in reg_tokens]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(statuses) == [200, 409, 409, 409], statuses
    assert db.execute(text("SELECT count(*) FROM listings")).scalar_one() == len(cases)
    assert verify(db).ok
