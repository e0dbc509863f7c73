"""The console script, run as a real process against the test database."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blacklist.identifiers import make_valid_id_number
from blacklist.models import Case, Record, Subject, Token
from blacklist.records import validate_record
from tests.conftest import ID_KEY
from tests.factories import UNIT, accident, penalty, person, unit, uscc
from tests.test_workflow import major_accident_records

BIN = Path(sys.executable).parent / "blacklist"


@pytest.fixture
def run(database_url: str, db: Session, tmp_path: Path, settings: Any) -> Any:
    env = {**os.environ, "BLACKLIST_DATABASE_URL": database_url, "BLACKLIST_ID_HASH_KEY": ID_KEY.decode(),
           "BLACKLIST_SECRET_KEY": "cli-test", "BLACKLIST_SIGNING_KEY": settings.signing_key_path}

    def call(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(BIN), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    return call


def jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_init_is_idempotent(run: Any) -> None:
    run("init")
    assert "database ready" in run("init").stdout


def test_tokens_create_prints_the_token_alone_on_the_last_line(run: Any, db: Session) -> None:
    out = run("tokens", "create", "--role", "officer", "--name", "采购中心").stdout
    plain = out.strip().splitlines()[-1]
    assert plain.startswith("bl_") and " " not in plain
    stored = db.scalars(select(Token)).one()
    assert stored.role == "officer" and plain not in stored.token_hash
    bad = run("tokens", "create", "--role", "king", "--name", "x", ok=False)
    assert bad.returncode == 2


def test_import_summarises_and_fails_on_rejections(run: Any, db: Session, tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    records = major_accident_records() + [accident("BAD", deaths=-1)]
    jsonl(path, records)
    with path.open("a") as fh:
        fh.write("{not json\n")
    done = run("import", str(path), ok=False)
    assert done.returncode == 1
    assert "2 accepted, 0 unchanged, 0 new versions, 2 rejected" in done.stdout
    assert "cases opened: 2" in done.stdout
    assert "line 3 (BAD): deaths:" in done.stderr and "line 4: record: not valid JSON" in done.stderr
    assert db.scalar(select(func.count()).select_from(Case)) == 2
    again = run("import", str(jsonl(path, major_accident_records())))
    assert "0 accepted, 2 unchanged" in again.stdout


def test_import_validating_in_child_processes_stores_what_one_process_would(run: Any, db: Session,
                                                                           tmp_path: Path) -> None:
    """`--jobs 2`: chunks of 2,000 lines parsed and validated in two children, stored here in
    file order. A record id sent again with other content in a later chunk is a new version,
    a bad line anywhere is rejected by its own line number, and every stored row is what
    validating the record here gives."""
    main = person(make_valid_id_number("61040119800101123"), "李某")
    records: list[Any] = [penalty(f"P{i}", subject=unit(uscc(i % 1500), main_person=main if i % 7 == 0 else None),
                                  decided_on=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}") for i in range(4500)]
    records[3100] = penalty("P10", subject=unit(uscc(10)), decided_on="2024-12-30")  # P10 again, changed
    records[1200] = accident("BAD", deaths=-1)
    path = jsonl(tmp_path / "many.jsonl", records)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(2000, "\n")  # a blank line: skipped, not counted
    lines.insert(4200, "{not json\n")
    path.write_text("".join(lines), encoding="utf-8")

    done = run("import", "--no-evaluate", "--jobs", "2", str(path), ok=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "read 4501 records" in done.stdout
    assert "4498 accepted, 0 unchanged, 1 new versions, 2 rejected" in done.stdout
    assert "line 1201 (BAD): deaths:" in done.stderr and "line 4201: record: not valid JSON" in done.stderr

    expected: dict[str, str] = {}
    for raw in records:
        if raw["record_id"] != "BAD":
            expected[raw["record_id"]] = validate_record(raw, today=dt.date.today(), id_key=ID_KEY).content_hash
    stored = {row.record_id: (row.content_hash, row.version) for row in db.scalars(select(Record))}
    assert {k: h for k, (h, _) in stored.items()} == expected
    assert stored["P10"][1] == 2 and stored["P11"][1] == 1
    assert db.scalar(select(func.count()).select_from(Subject).where(Subject.kind == "person")) == 1

    # again: P10's first content differs from the stored second, then the second comes back
    again = run("import", "--no-evaluate", "--jobs", "2", str(path), ok=False)
    assert "0 accepted, 4497 unchanged, 2 new versions, 2 rejected" in again.stdout
    db.rollback()  # a fresh snapshot
    assert db.scalar(select(Record.version).where(Record.record_id == "P10")) == 4


def test_evaluate_explains_in_words_and_json(run: Any, tmp_path: Path, db: Session) -> None:
    path = jsonl(tmp_path / "try.jsonl", major_accident_records())
    text = run("evaluate", str(path), "--as-of", "2024-10-01").stdout
    assert "PROPOSE mem11.a1" in text and "not mem11.a2" in text
    data = json.loads(run("evaluate", str(path), "--as-of", "2024-10-01", "--json").stdout)
    assert data["subjects"][0]["proposals"][0]["rule"] == "mem11.a1"
    assert db.scalar(select(func.count()).select_from(Record)) == 0


def test_rules_diff_previews_a_parameter_change(run: Any, tmp_path: Path) -> None:
    # two larger accidents 13 months apart: outside the 12-month window of mem11.a2
    subject = unit(industry="mining")
    records = [accident("A1", subject=subject, deaths=3, occurred_on="2024-01-10"),
               accident("A2", subject=subject, deaths=4, occurred_on="2025-02-10"),
               penalty("P2", subject=subject, accident_id="A2", decided_on="2025-05-01")]
    run("import", str(jsonl(tmp_path / "r.jsonl", records)))
    override = tmp_path / "wider.json"
    override.write_text(json.dumps({"extends": "cn-2023-mem11", "parameters": {"window_months": 24}}))
    out = run("rules", "diff", "--pack", str(override), "--as-of", "2025-06-01").stdout
    assert "GAIN  mem11.a2" in out and UNIT in out
    assert "1 gained, 0 lost" in out


def test_audit_verify_and_receipts_verify(run: Any, tmp_path: Path, db: Session) -> None:
    run("import", str(jsonl(tmp_path / "r.jsonl", major_accident_records())))
    assert "audit log intact" in run("audit", "verify").stdout
    bidders = tmp_path / "bidders.csv"
    bidders.write_text(f"统一社会信用代码,名称\n{UNIT},咸阳某化工有限公司\n91440105MA59AGQ16J,某公司\n", encoding="utf-8")
    out = run("check", str(bidders), "--domain", "procurement").stdout
    assert "2 bidders checked" in out
    result = tmp_path / "bidders.checked.receipt.json"
    assert "VALID" in run("receipts", "verify", str(result)).stdout
    doc = json.loads(result.read_text())
    doc["results"][0]["eligible"] = not doc["results"][0].get("eligible")
    result.write_text(json.dumps(doc))
    assert run("receipts", "verify", str(result), ok=False).returncode == 1
