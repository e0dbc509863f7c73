"""Ingest through the real API and database: idempotency, versions, linking, batches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from blacklist.models import Record, RecordVersion, Subject, SubjectName
from tests.conftest import Client
from tests.factories import UNIT2, accident, penalty, person, unit


def post(client: Client, token: str, records: Any) -> Any:
    response = client.post("/api/v1/records", token, json=records)
    assert response.status_code == 200, response.text
    return response.json()


def test_accepts_then_is_idempotent_then_versions(client: Client, token: Any, db: Session) -> None:
    t = token("system")
    assert post(client, t, [accident(), penalty()])["accepted"] == 2
    again = post(client, t, [accident(), penalty()])
    assert (again["accepted"], again["unchanged"], again["new_versions"]) == (0, 2, 0)
    changed = post(client, t, [accident(deaths=2)])
    assert changed["new_versions"] == 1
    versions = db.scalars(select(RecordVersion).where(RecordVersion.record_id == "ACC-1")
                          .order_by(RecordVersion.version)).all()
    assert [v.payload["deaths"] for v in versions] == [1, 2]
    assert db.get(Record, "ACC-1").version == 2  # type: ignore[union-attr]


def test_a_penalty_may_arrive_before_its_accident(client: Client, token: Any, db: Session) -> None:
    t = token("system")
    post(client, t, [penalty(accident_id="ACC-9")])
    post(client, t, [accident("ACC-9")])
    linked = db.scalars(select(Record).where(Record.accident_ref == "ACC-9")).all()
    assert [r.record_id for r in linked] == ["PEN-1"]
    assert db.get(Record, "ACC-9") is not None


def test_a_mixed_batch_takes_the_good_and_reports_each_bad_by_position(client: Client, token: Any, db: Session) -> None:
    t = token("system")
    body = [accident("A1"), accident("A2", deaths=-1), penalty("P1"), {"type": "penalty"}, accident("A3")]
    result = post(client, t, body)
    assert result["accepted"] == 3
    assert [(r["index"], r["record_id"]) for r in result["rejected"]] == [(1, "A2"), (3, None)]
    assert "deaths" in result["rejected"][0]["errors"]
    assert db.scalar(select(Record.record_id).where(Record.record_id == "A2")) is None


def _install_failure_trigger(db: Session) -> None:
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("CREATE TRIGGER boom BEFORE INSERT ON record_versions WHEN NEW.record_id = 'BOOM' "
                        "BEGIN SELECT RAISE(ABORT, 'boom'); END"))
    else:
        db.execute(text("CREATE OR REPLACE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                        "IF NEW.record_id = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ "
                        "LANGUAGE plpgsql"))
        db.execute(text("CREATE TRIGGER boom BEFORE INSERT ON record_versions FOR EACH ROW EXECUTE FUNCTION boom()"))
    db.commit()


def _drop_failure_trigger(db: Session) -> None:
    db.rollback()
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("DROP TRIGGER IF EXISTS boom"))
    else:
        db.execute(text("DROP TRIGGER IF EXISTS boom ON record_versions"))
        db.execute(text("DROP FUNCTION IF EXISTS boom()"))
    db.commit()


def test_a_failure_inside_a_batch_leaves_nothing_of_that_record(client: Client, token: Any, db: Session) -> None:
    t = token("system")
    _install_failure_trigger(db)
    try:
        subject = unit(code=UNIT2, name="渭南某矿业有限公司")
        result = post(client, t, [accident("A1"), accident("BOOM", subject=subject), accident("A3")])
    finally:
        _drop_failure_trigger(db)
    assert result["accepted"] == 2
    assert [(r["index"], r["record_id"]) for r in result["rejected"]] == [(1, "BOOM")]
    assert db.get(Record, "BOOM") is None
    # the subject the failed record would have created is gone with it
    assert db.scalar(select(Subject).where(Subject.uscc == UNIT2)) is None
    assert db.get(Record, "A1") is not None and db.get(Record, "A3") is not None


def test_a_single_record_that_fails_at_the_database_is_refused_and_leaves_nothing(
        client: Client, token: Any, db: Session) -> None:
    """A request's first write goes without a savepoint (its transaction holds nothing else):
    a failure rolls the transaction back, the record is refused, and the answer is still 200."""
    t = token("system")
    _install_failure_trigger(db)
    try:
        result = post(client, t, [accident("BOOM", subject=unit(code=UNIT2, name="渭南某矿业有限公司"))])
        later = post(client, t, [accident("A1")])  # the next request is unaffected
    finally:
        _drop_failure_trigger(db)
    assert result["accepted"] == 0 and [r["record_id"] for r in result["rejected"]] == ["BOOM"]
    assert "could not be stored" in result["rejected"][0]["errors"][""][0]
    db.rollback()
    assert db.get(Record, "BOOM") is None and db.scalar(select(Subject).where(Subject.uscc == UNIT2)) is None
    assert later["accepted"] == 1 and db.get(Record, "A1") is not None


def test_a_new_name_is_kept_as_a_former_name(client: Client, token: Any, db: Session) -> None:
    t = token("system")
    post(client, t, [accident("A1", subject=unit(name="旧名化工有限公司"))])
    post(client, t, [accident("A2", subject=unit(name="新名化工有限公司"))])
    names = set(db.scalars(select(SubjectName.name)).all())
    assert names == {"旧名化工有限公司", "新名化工有限公司"}


def test_persons_are_stored_without_their_number(client: Client, token: Any, db: Session) -> None:
    t = token("system")
    number = person()["id_number"]
    post(client, t, [penalty("P-PERSON", subject=person())])
    subject = db.scalars(select(Subject).where(Subject.kind == "person")).one()
    assert subject.id_masked == number[:6] + "********" + number[-4:]
    dumped = repr(db.get(Record, "P-PERSON").payload)  # type: ignore[union-attr]
    assert number not in dumped


def test_ingest_needs_system_or_regulator(client: Client, token: Any) -> None:
    assert client.post("/api/v1/records", json=[]).status_code == 401
    response = client.post("/api/v1/records", token("officer"), json=[])
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert client.post("/api/v1/records", token("regulator"), json=[]).status_code == 200


def test_malformed_json_is_400_and_a_non_array_is_422(client: Client, token: Any) -> None:
    t = token("system")
    bad = client.post("/api/v1/records", t, data=b"[{", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "the body is not well-formed JSON"
    wrong = client.post("/api/v1/records", t, json={"records": []})
    assert wrong.status_code == 422 and wrong.json()["errors"]


def test_statistics_are_refreshed_after_a_large_import_on_postgresql(db: Session) -> None:
    from blacklist.db import ANALYZE_AFTER, refresh_statistics

    assert refresh_statistics(db, ANALYZE_AFTER - 1) is False
    ran = refresh_statistics(db, ANALYZE_AFTER)
    assert ran is (db.get_bind().dialect.name == "postgresql")
    db.commit()
