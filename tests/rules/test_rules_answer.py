"""The evaluation answer: api.md shape, ordering, main persons, periods, determinism."""

from __future__ import annotations

import json
import random
import sys
import types
from typing import Any

import pytest

import rules
from rules.evaluate import EngineMismatchError, evaluate, natural_key, period, to_json
from rules.packs import load_packs
from rules_factories import accident, agency, day, main_person, penalty, person, unit

PACKS = load_packs()
MEM11 = next(p for p in PACKS if p.id == "cn-2023-mem11")
AS_OF = day("2025-06-30")
BOSS = main_person("王某", "610402********0011")
U = unit(1, "甲化工有限公司", "chemicals", main=BOSS)


def answer(records: list[dict[str, Any]], as_of: str = "2025-06-30",
           **kw: Any) -> list[dict[str, Any]]:
    return to_json(evaluate(records, day(as_of), PACKS, engine=False, **kw))


def test_entry_shape_is_exactly_the_api_contract() -> None:
    records = [accident("A1", U, "2024-05-06", 11), penalty("P1", U, "2024-09-20",
                                                             accident_id="A1")]
    (unit_entry, boss_entry) = answer(records)
    assert set(unit_entry) == {"subject", "proposals", "explanations"}
    assert unit_entry["subject"] == {"kind": "unit", "name": "甲化工有限公司",
                                     "uscc": U["uscc"]}
    assert boss_entry["subject"] == {"kind": "person", "name": "王某",
                                     "id_number_masked": "610402********0011"}
    proposal = unit_entry["proposals"][0]
    assert set(proposal) >= {"rule", "pack", "pack_version", "list", "tier", "evidence",
                             "basis", "scope_unconfirmed", "period_start", "period_end",
                             "early_removal_from"}
    assert proposal["pack"] == "cn-2023-mem11" and proposal["pack_version"] == "2023.1"
    assert proposal["basis"].startswith("安全生产严重失信主体名单管理办法")
    assert (proposal["period_start"], proposal["period_end"],
            proposal["early_removal_from"]) == ("2024-09-20", "2027-09-19", "2025-09-20")
    for explanation in unit_entry["explanations"]:
        assert set(explanation) == {"rule", "reason", "text"}
    json.dumps(unit_entry, ensure_ascii=False)  # plain JSON types only


def test_main_person_gets_same_rule_evidence_and_period() -> None:
    records = [accident("A1", U, "2024-05-06", 11), penalty("P1", U, "2024-09-20",
                                                             accident_id="A1")]
    results = evaluate(records, AS_OF, PACKS, engine=False)
    unit_result, boss = results
    assert boss.key == BOSS["key"] and boss.kind == "person"
    assert [p.rule for p in boss.proposals] == ["mem11.a1"]
    ours, theirs = unit_result.proposals[0], boss.proposals[0]
    assert theirs.main_person_of == U["key"]
    assert (theirs.evidence, theirs.period_start, theirs.period_end) == (
        ours.evidence, ours.period_start, ours.period_end)


def test_latest_record_naming_a_main_person_decides() -> None:
    new_boss = main_person("陈某", "610402********0022")
    later = dict(U, main_person=new_boss)
    records = [accident("A1", U, "2024-05-06", 11),
               penalty("P1", later, "2024-09-20", accident_id="A1")]
    keys = [r.key for r in evaluate(records, AS_OF, PACKS, engine=False)]
    assert keys == [U["key"], new_boss["key"]]


def test_rules_that_do_not_list_the_main_person_leave_them_out() -> None:
    records = [penalty("P1", U, "2024-09-20", ("accident.concealed",))]
    results = evaluate(records, AS_OF, PACKS, engine=False)
    assert [r.key for r in results] == [U["key"]]
    assert [p.rule for p in results[0].proposals] == ["mem11.a4"]


def test_subjects_in_order_of_first_appearance_with_main_person_after_unit() -> None:
    early = unit(2, "乙机械有限公司", "machinery")
    lone = person("李某")
    records = [penalty("P9", lone, "2024-10-01", serious=True),
               accident("A1", U, "2024-05-06", 11),
               penalty("P1", U, "2024-09-20", accident_id="A1"),
               penalty("P0", early, "2024-01-02", serious=True)]
    names = [e["subject"]["name"] for e in answer(records)]
    assert names == ["乙机械有限公司", "甲化工有限公司", "王某", "李某"]


def test_answer_is_byte_identical_for_any_record_order() -> None:
    records = [accident("A1", U, "2024-05-06", 11), accident("A2", U, "2024-05-06", 12),
               penalty("P1", U, "2024-09-20", accident_id="A2"),
               penalty("P2", U, "2024-09-20", accident_id="A1"),
               penalty("P3", agency(90), "2024-02-01", ("agency.false_report",)),
               penalty("P4", person("李某"), "2024-03-01", ("accident.concealed",)),
               accident("A0", U, "2015-01-01", 1)]
    expected = json.dumps(answer(records), ensure_ascii=False)
    shuffler = random.Random(7)
    for _ in range(20):
        shuffled = records[:]
        shuffler.shuffle(shuffled)
        assert json.dumps(answer(shuffled), ensure_ascii=False) == expected


def test_tie_goes_to_the_lower_record_id() -> None:
    records = [accident("A2", U, "2024-05-06", 11), accident("A1", U, "2024-05-06", 12),
               penalty("P2", U, "2024-09-21", accident_id="A2"),
               penalty("P1", U, "2024-09-22", accident_id="A1")]
    (entry, _) = answer(records)
    assert entry["proposals"][0]["evidence"] == ["A1", "P1"]
    assert entry["proposals"][0]["period_start"] == "2024-09-22"


def test_rule_ids_sort_with_numbers_as_numbers() -> None:
    ids = ["aj49.t10", "aj49.t2", "aj49.bl1", "aj49.t1", "mem11.b1", "mem11.a2"]
    assert sorted(ids, key=natural_key) == [
        "aj49.bl1", "aj49.t1", "aj49.t2", "aj49.t10", "mem11.a2", "mem11.b1"]
    records = [penalty("P1", agency(90), "2020-03-01", ("agency.false_report", "permit.none"))]
    entry = answer(records, "2020-12-31")[0]
    assert [p["rule"] for p in entry["proposals"]] == ["aj49.t2", "aj49.t10"]
    rules_explained = [e["rule"] for e in entry["explanations"]]
    assert rules_explained == sorted(rules_explained, key=natural_key)


def test_no_pack_explanation_with_null_rule() -> None:
    records = [accident("A1", U, "2014-01-01", 12), penalty("P1", U, "2024-01-05",
                                                            ("other",))]
    entry = answer(records)[0]
    assert entry["explanations"][-1]["rule"] is None
    assert entry["explanations"][-1]["reason"] == "no_pack"
    assert "A1" in entry["explanations"][-1]["text"]
    assert {e["rule"] for e in entry["explanations"][:-1]} == {r.id for r in MEM11.rules}


def test_penalty_rule_evidence_is_penalty_and_its_accident() -> None:
    records = [accident("A1", U, "2024-05-06", 1, reporting="concealed"),
               penalty("P1", U, "2024-09-20", ("accident.concealed",), accident_id="A1")]
    entry = answer(records)[0]
    assert entry["proposals"][0]["evidence"] == ["A1", "P1"]


def test_periods_clamp_and_prior_listings() -> None:
    assert period(MEM11, day("2024-02-29")) == (day("2024-02-29"), day("2027-02-27"),
                                                day("2025-02-28"))
    aw14 = next(p for p in PACKS if p.id == "cn-2015-aw14")
    assert period(aw14, day("2016-03-01"))[1:] == (day("2017-02-28"), None)
    assert period(aw14, day("2016-03-01"), prior_listings=1)[1] == day("2019-02-28")
    assert period(MEM11, day("2024-03-01"), prior_listings=3)[1] == day("2027-02-28")


def test_a_lapsed_period_is_still_proposed_in_a_dry_run() -> None:
    records = [accident("A1", unit(3), "2016-03-01", 12)]
    entry = answer(records, "2025-01-01")[0]
    assert entry["proposals"][0]["period_end"] == "2017-02-28"


def test_engine_mismatch_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("rules.engine")
    fake.fired = lambda pack, facts: set()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rules.engine", fake)
    monkeypatch.setattr(rules, "engine", fake, raising=False)
    records = [penalty("P1", U, "2024-09-20", ("permit.none",))]
    with pytest.raises(EngineMismatchError, match="python only"):
        evaluate(records, AS_OF, PACKS, engine=True)
    assert evaluate([penalty("P1", U, "2024-09-20", ("other",))], AS_OF, PACKS, engine=True)


def test_set_aside_records_are_named_in_the_explanations() -> None:
    records = [penalty("P1", U, "2025-07-02", ("other",)),
               penalty("P2", U, "2025-07-03", ("permit.none",))]
    entry = answer(records)[0]
    reasons = {e["rule"]: (e["reason"], e["text"]) for e in entry["explanations"]}
    assert reasons["mem11.b1"][0] == "set_aside" and "P2 of 2025-07-03" in reasons["mem11.b1"][1]
    assert reasons["mem11.b4"][0] == "no_effective_penalty"
    assert "P1 of 2025-07-02" in reasons["mem11.b4"][1]
    assert entry["proposals"] == []
