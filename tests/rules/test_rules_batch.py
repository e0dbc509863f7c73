"""Batch evaluation in spawned children gives evaluate()'s answer and survives a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rules.batch import BatchError, evaluate_many
from rules.evaluate import evaluate, to_json
from rules.packs import load_packs
from rules_batch_runners import crash_always, crash_once
from rules_factories import accident, agency, day, main_person, penalty, person, unit

PACKS = load_packs()
AS_OF = day("2025-06-30")


def batch_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for n in range(12):
        u = unit(100 + n, f"单位{n}", "chemicals", main=main_person(f"负责人{n}"))
        records.append(accident(f"A{n:02d}", u, "2024-05-06", 3 + n))
        records.append(penalty(f"P{n:02d}", u, "2024-09-20", accident_id=f"A{n:02d}"))
    records.append(penalty("P-AG", agency(90), "2024-02-01", ("agency.false_report",),
                           accident_id="A03"))
    records.append(penalty("P-PS", person("李某"), "2024-03-01", ("accident.concealed",)))
    return records


def test_evaluate_many_equals_evaluate() -> None:
    records = batch_records()
    expected = to_json(evaluate(records, AS_OF, PACKS, engine=False))
    got = to_json(evaluate_many(records, AS_OF, PACKS, engine=True, chunk_size=5, workers=2))
    assert got == expected


def test_a_crashed_chunk_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RULES_BATCH_MARKER", str(tmp_path / "crashed"))
    records = batch_records()
    expected = to_json(evaluate(records, AS_OF, PACKS, engine=False))
    got = to_json(evaluate_many(records, AS_OF, PACKS, engine=False, chunk_size=8,
                                runner=crash_once))
    assert got == expected
    assert (tmp_path / "crashed").exists()


def test_a_chunk_that_crashes_twice_fails_closed() -> None:
    with pytest.raises(BatchError, match="crashed twice"):
        evaluate_many(batch_records()[:2], AS_OF, PACKS, runner=crash_always)
