"""`blacklist export`: streamed files of changes after a cursor, with a manifest."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from blacklist.db import make_sessionmaker
from scheduler.export import COLUMNS, export_changes
from tests.scheduler.publication_helpers import Processes, cli_env, make_changes


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_jsonl_export_with_manifest_and_cursor(db: Session, procs: Processes, database_url: str,
                                               tmp_path: Path) -> None:
    made = make_changes(db, 23, listings=5)
    env = cli_env(database_url)
    out = tmp_path / "all.jsonl"
    result = procs.run(["export", "--since", "0", "--format", "jsonl", "--output", str(out)], env)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["change_id"] for line in lines] == [c.change_id for c in made]
    assert lines[0]["cursor"] == str(made[0].id) and lines[0]["subject"]["name"].startswith("咸阳")
    assert lines[0] == {"cursor": str(made[0].id), **made[0].payload}
    manifest = json.loads((tmp_path / "all.jsonl.manifest.json").read_text())
    assert (manifest["count"], manifest["sha256"], manifest["bytes"]) == (23, sha256(out), out.stat().st_size)
    assert manifest["next"] == str(made[-1].id) and manifest["format"] == "jsonl"
    assert not list(tmp_path.glob("*.partial"))

    later = make_changes(db, 2)
    again = tmp_path / "later.jsonl"
    assert procs.run(["export", "--since", manifest["next"], "-o", str(again)], env).returncode == 0
    assert [json.loads(x)["change_id"] for x in again.read_text().splitlines()] == [c.change_id for c in later]
    assert procs.run(["export", "--since", "x1"], env).returncode == 2


def test_csv_and_xlsx_exports(db: Session, engine: Engine, tmp_path: Path) -> None:
    made = make_changes(db, 12, listings=5)
    reader = make_sessionmaker(engine, write=False)
    with reader() as session:
        manifest = export_changes(session, since=made[1].id, fmt="csv", output=tmp_path / "c.csv")
    assert (tmp_path / "c.csv").read_bytes().startswith(b"\xef\xbb\xbfcursor,")  # Excel reads it as UTF-8
    rows = list(csv.DictReader((tmp_path / "c.csv").open(encoding="utf-8-sig")))
    assert manifest.count == len(rows) == 10 and manifest.sha256 == sha256(tmp_path / "c.csv")
    assert tuple(rows[0]) == COLUMNS and rows[0]["change_id"] == made[2].change_id
    persons = [r for r in rows if r["subject_kind"] == "person"]
    assert persons and {r["subject_id_number_masked"] for r in persons} == {"110105********002X"}
    assert all(r["subject_uscc"] == "" for r in persons)

    from openpyxl import load_workbook

    with reader() as session:
        manifest = export_changes(session, since=0, fmt="xlsx", output=tmp_path / "c.xlsx")
    sheet = load_workbook(tmp_path / "c.xlsx", read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == COLUMNS and len(values) == 13 and manifest.count == 12
    assert values[1][1] == made[0].change_id and manifest.sha256 == sha256(tmp_path / "c.xlsx")

    with reader() as session:
        empty = export_changes(session, since=made[-1].id, fmt="jsonl", output=tmp_path / "none.jsonl")
    assert (empty.count, empty.next, (tmp_path / "none.jsonl").read_bytes()) == (0, str(made[-1].id), b"")


def test_xlsx_writer_rolls_over_to_a_new_sheet_and_escapes(tmp_path: Path, monkeypatch: Any) -> None:
    from openpyxl import load_workbook

    from scheduler import xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)  # header + 2 rows a sheet
    with xlsx.XlsxWriter(tmp_path / "x.xlsx", ["n", "text"]) as book:
        book.write_rows([(1, "a <b> & c"), (2, " 陕应急 "), (3, "bell\x07"), (4, None), (5, 2.5)])
    sheets = load_workbook(tmp_path / "x.xlsx", read_only=True).worksheets
    assert [s.title for s in sheets] == ["changes1", "changes2", "changes3"]
    values = [list(s.iter_rows(values_only=True)) for s in sheets]
    assert values[0] == [("n", "text"), (1, "a <b> & c"), (2, " 陕应急 ")]
    assert values[1] == [("n", "text"), (3, "bell"), (4, None)]
    assert values[2] == [("n", "text"), (5, 2.5)]
