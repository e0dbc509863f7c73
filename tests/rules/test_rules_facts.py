"""Fact building: windows, regimes, record selection and scope (regulations.md §3, §9)."""

from __future__ import annotations

from datetime import date

import pytest

from rules.facts import Context, build, window_end
from rules.packs import load_packs
from rules_factories import accident, day, penalty, person, unit

PACKS = load_packs()
MEM11 = next(p for p in PACKS if p.id == "cn-2023-mem11")
AJ49 = next(p for p in PACKS if p.id == "cn-2017-aj49")
U = unit(1)


@pytest.mark.parametrize("start, later, within", [
    ("2024-03-15", "2025-03-14", True),
    ("2024-03-15", "2025-03-15", False),
    ("2024-02-29", "2025-02-27", True),
    ("2024-02-29", "2025-02-28", False),
    ("2024-01-31", "2025-01-30", True),
    ("2024-03-15", "2024-03-15", True),
])
def test_within_12_months(start: str, later: str, within: bool) -> None:
    assert (day(later) < window_end(day(start), 12)) is within


def test_leap_day_bound_clamps() -> None:
    assert window_end(date(2024, 2, 29), 12) == date(2025, 2, 28)


def windows(records: list[dict[str, object]], rule: str, as_of: str = "2025-06-30",
            pack: object = MEM11) -> list[dict[str, object]]:
    ctx = Context(records, day(as_of), PACKS)  # type: ignore[arg-type]
    return [dict(f.data) for f in build(ctx, U["key"], pack)  # type: ignore[arg-type]
            if f.kind == "window" and f.data["rule"] == rule]


def test_window_facts_are_runs_within_the_window() -> None:
    records = [accident("A1", U, "2024-01-10", 3), accident("A2", U, "2024-06-10", 4),
               accident("A3", U, "2025-01-09", 5), accident("A4", U, "2024-05-01", 1)]
    counts = sorted((w["count"], w["deaths"]) for w in windows(records, "mem11.a2"))
    # A4 is general: not selected. Runs: A1, A1-A2, A1-A3, A2, A2-A3, A3.
    assert counts == [(1, 3), (1, 4), (1, 5), (2, 7), (2, 9), (3, 12)]


def test_later_duplicate_record_id_wins() -> None:
    first = accident("A1", U, "2024-01-10", 12)
    second = accident("A1", U, "2024-01-10", 1)
    ctx = Context([first, second], day("2025-01-01"), PACKS)
    assert ctx.by_id["A1"].raw["deaths"] == 1
    ctx = Context([second, first], day("2025-01-01"), PACKS)
    assert ctx.by_id["A1"].raw["deaths"] == 12


def test_penalty_naming_an_accident_takes_its_date_for_the_regime() -> None:
    records = [accident("A1", U, "2023-09-15", 1),
               penalty("P1", U, "2023-12-01", ("permit.none",), accident_id="A1",
                       conduct_on="2023-10-05"),
               penalty("P2", U, "2023-12-01", ("permit.none",), conduct_on="2023-10-05"),
               penalty("P3", U, "2023-12-01", ("permit.none",))]
    ctx = Context(records, day("2024-01-01"), PACKS)
    assert ctx.conduct(ctx.by_id["P1"]) == date(2023, 9, 15)
    assert ctx.conduct(ctx.by_id["P2"]) == date(2023, 10, 5)
    assert ctx.conduct(ctx.by_id["P3"]) == date(2023, 12, 1)
    mem = {f.data["record_id"] for f in build(ctx, U["key"], MEM11)}
    aj = {f.data["record_id"] for f in build(ctx, U["key"], AJ49) if f.kind != "window"}
    assert mem == {"P2", "P3"} and aj == {"A1", "P1"}


def test_revoked_and_later_records_do_not_count() -> None:
    records = [penalty("P1", U, "2024-01-01", ("permit.none",), status="revoked"),
               penalty("P2", U, "2025-07-01", ("permit.none",)),
               penalty("P3", U, "2024-02-01", ("other",))]
    ctx = Context(records, day("2025-06-30"), PACKS)
    assert [f.data["record_id"] for f in build(ctx, U["key"], MEM11)] == ["P3"]


def test_accident_counts_for_every_subject_penalised_for_it() -> None:
    contractor = unit(2, "承包商", "machinery")
    records = [accident("A1", U, "2024-01-10", 12),
               penalty("P1", contractor, "2024-05-01", accident_id="A1")]
    ctx = Context(records, day("2025-06-30"), PACKS)
    facts = build(ctx, contractor["key"], MEM11)
    accidents = [f for f in facts if f.kind == "accident"]
    assert len(accidents) == 1
    assert accidents[0].data["own"] is False and accidents[0].data["penalised"] is True
    assert accidents[0].evidence == ("A1", "P1")
    own = [f for f in build(ctx, U["key"], MEM11) if f.kind == "accident"]
    assert own[0].data["penalised"] is False


def test_person_follows_the_unit_of_the_named_accident() -> None:
    builder = unit(3, "建筑公司", "construction")
    unknown = unit(4, "未知公司", None)
    p = person("李某")
    records = [accident("A1", builder, "2024-01-10", 1), accident("A2", unknown, "2024-01-10", 1),
               penalty("P1", p, "2024-05-01", accident_id="A1"),
               penalty("P2", p, "2024-05-01", accident_id="A2"),
               penalty("P3", p, "2024-05-01"),
               penalty("P4", p, "2024-05-01", accident_id="A-missing")]
    ctx = Context(records, day("2025-06-30"), PACKS)
    scopes = {rid: ctx.record_scope(ctx.by_id[rid], p["key"], MEM11)[0]
              for rid in ("P1", "P2", "P3", "P4")}
    assert scopes == {"P1": "out", "P2": "unconfirmed", "P3": "in", "P4": "unconfirmed"}
    assert ctx.record_scope(ctx.by_id["P3"], p["key"], AJ49)[0] == "out"


def test_facts_are_single_flat_objects_with_unique_ids() -> None:
    records = [accident("A1", U, "2024-01-10", 3), accident("A2", U, "2024-02-10", 3),
               penalty("P1", U, "2024-05-01", ("permit.none",), accident_id="A1",
                       fine_multiple=2.0)]
    ctx = Context(records, day("2025-06-30"), PACKS)
    facts = build(ctx, U["key"], MEM11)
    assert len({f.id for f in facts}) == len(facts)
    for fact in facts:
        assert all(isinstance(v, (str, int, float, bool)) for v in fact.data.values())
    assert [f.conduct for f in facts] == sorted(f.conduct for f in facts)
