"""Pack files: contents per regulations.md, the validator, and deployment overrides."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rules.packs import PACK_DIR, PackError, load_packs, pack_for, validate

PACKS = {pack.id: pack for pack in load_packs()}


def raw(pack_id: str) -> dict[str, Any]:
    return json.loads((PACK_DIR / f"{pack_id}.json").read_text(encoding="utf-8"))


def test_three_packs_with_fixed_rule_ids_and_dates() -> None:
    assert list(PACKS) == ["cn-2015-aw14", "cn-2017-aj49", "cn-2023-mem11"]
    mem11, aj49, aw14 = PACKS["cn-2023-mem11"], PACKS["cn-2017-aj49"], PACKS["cn-2015-aw14"]
    assert [r.id for r in mem11.rules] == [f"mem11.{x}" for x in
                                           ("a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4")]
    assert [r.id for r in aj49.rules] == [f"aj49.t{i}" for i in range(1, 11)] + [
        "aj49.bl1", "aj49.bl2", "aj49.bl3"]
    assert [r.id for r in aw14.rules] == [f"aw14.c{i}" for i in range(1, 6)]
    assert (aw14.conduct_from, aw14.conduct_until) == (date(2015, 7, 29), date(2017, 5, 8))
    assert (aj49.conduct_from, aj49.conduct_until) == (date(2017, 5, 9), date(2023, 9, 30))
    assert (mem11.conduct_from, mem11.conduct_until) == (date(2023, 10, 1), None)
    assert (mem11.list_code, aj49.list_code, aw14.list_code) == (
        "serious_untrustworthy", "joint_punishment", "blacklist")
    assert mem11.requires_penalty and not aj49.requires_penalty and not aw14.requires_penalty
    assert {r.id for r in mem11.rules if r.lists_main_person} == {
        "mem11.a1", "mem11.a2", "mem11.a3", "mem11.b1", "mem11.b3", "mem11.b4"}
    assert {r.tier for r in aj49.rules} == {"target", "blacklist"}
    assert aj49.scope_kinds == aw14.scope_kinds == ("unit", "agency")


def test_parameters_carry_every_default() -> None:
    mem11, aj49, aw14 = PACKS["cn-2023-mem11"], PACKS["cn-2017-aj49"], PACKS["cn-2015-aw14"]
    assert mem11.parameters["period_months"] == 36
    assert mem11.parameters["early_removal_after_months"] == 12
    assert mem11.parameters["statement_days"] == 5
    assert mem11.parameters["early_removal_decision_days"] == 15
    assert mem11.parameters["publication_days"] == 7
    assert mem11.parameters["a2_min_accidents"] == 2
    assert mem11.parameters["fine_multiple_min"] == 2
    assert aj49.parameters["period_months"] == 12
    assert aj49.parameters["removal_request_days_before_expiry"] == 30
    assert aj49.parameters["t1_min_death_accidents"] == 3
    assert aw14.parameters["repeat_period_months"] == 36
    assert aw14.parameters["c1_min_deaths"] == 10
    for pack in PACKS.values():
        assert pack.parameters["window_months"] == 12
        assert pack.parameters["period_anchor"] == "decision_date"
        # the procedure's working days are the pack's, never the workflow's fallback literals
        assert (pack.parameters["statement_days"], pack.parameters["publication_days"]) == (5, 7)
        assert {m.domain for m in pack.measures} == {
            "procurement", "bidding", "land", "mining_rights", "financing", "securities",
            "project_approval", "fiscal_support", "honours", "qualification", "market_entry",
            "insurance", "import_export", "exit_entry", "inspection"}


def test_confidence_marks_follow_the_regulations() -> None:
    # regulations.md §4: the aj49 targets were read in the full text [law]; the blacklist
    # subset is restated [secondary]
    aj49 = json.loads((Path(PACK_DIR) / "cn-2017-aj49.json").read_text(encoding="utf-8"))
    marks = {rule["id"]: rule["confidence"] for rule in aj49["rules"]}
    assert {marks[f"aj49.t{i}"] for i in range(1, 11)} == {"law"}
    assert {marks[f"aj49.bl{i}"] for i in range(1, 4)} == {"secondary"}


def test_pack_for_picks_the_regime_of_the_conduct_day() -> None:
    packs = load_packs()
    assert pack_for(date(2015, 7, 28), packs) is None
    assert pack_for(date(2015, 7, 29), packs).id == "cn-2015-aw14"  # type: ignore[union-attr]
    assert pack_for(date(2017, 5, 9), packs).id == "cn-2017-aj49"  # type: ignore[union-attr]
    assert pack_for(date(2023, 9, 30), packs).id == "cn-2017-aj49"  # type: ignore[union-attr]
    assert pack_for(date(2023, 10, 1), packs).id == "cn-2023-mem11"  # type: ignore[union-attr]


def test_a_pack_loads_from_any_path(tmp_path: Path) -> None:
    target = tmp_path / "mine.json"
    target.write_text((PACK_DIR / "cn-2023-mem11.json").read_text(encoding="utf-8"),
                      encoding="utf-8")
    (pack,) = load_packs([target])
    assert pack.id == "cn-2023-mem11" and pack.source == str(target)


def test_override_merges_parameters(tmp_path: Path) -> None:
    override = tmp_path / "local.json"
    override.write_text(json.dumps({"extends": "cn-2023-mem11",
                                    "parameters": {"a2_min_accidents": 3,
                                                   "period_months": 24}}), encoding="utf-8")
    packs = {p.id: p for p in load_packs(overrides=[override])}
    mem11 = packs["cn-2023-mem11"]
    assert mem11.parameters["a2_min_accidents"] == 3
    assert mem11.parameters["period_months"] == 24
    assert mem11.parameters["window_months"] == 12
    assert mem11.version == "2023.1+local"
    a2 = mem11.rule("mem11.a2")
    assert {"$gte": {"count": 3}} in a2.when["$and"]
    assert mem11.digest != PACKS["cn-2023-mem11"].digest


def test_override_given_among_paths_and_as_a_mapping() -> None:
    packs = load_packs([PACK_DIR, {"extends": "cn-2017-aj49", "version": "2017.1-x",
                                   "parameters": {"period_months": 6}}])
    aj49 = next(p for p in packs if p.id == "cn-2017-aj49")
    assert (aj49.version, aj49.parameters["period_months"]) == ("2017.1-x", 6)


@pytest.mark.parametrize("override, message", [
    ({"extends": "cn-2023-mem11", "parameters": {"no_such": 1}}, "$.parameters.no_such"),
    ({"extends": "cn-2023-mem11", "parameters": {"period_months": "three"}},
     "$.parameters.period_months"),
    ({"extends": "cn-2023-mem11", "rules": []}, "$.rules"),
    ({"extends": "cn-1999-none", "parameters": {}}, "$.extends"),
])
def test_bad_overrides_are_refused(tmp_path: Path, override: dict[str, Any],
                                   message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(override), encoding="utf-8")
    with pytest.raises(PackError) as error:
        load_packs(overrides=[path])
    assert message in str(error.value)
    assert "bad.json" in str(error.value)


def broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(raw("cn-2023-mem11"))
    change(doc)
    return doc


def set_when(index: int, when: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        doc["rules"][index]["when"] = when
    return change


@pytest.mark.parametrize("change, message", [
    (set_when(0, {"$and": [{"kind": "accident"}, {"$gt": {"deaths": {"$m": "first.deaths"}}}]}),
     "$.rules[0].when.$and[1].$gt.deaths: value {$m} is a correlated reference"),
    (set_when(0, {"$and": [{"kind": "accident"}, {"$gt": {"first.deaths": 1}}]}),
     "dotted names are correlated or nested references"),
    (set_when(0, {"$and": [{"kind": "accident"},
                           {"$gte": {"deaths": {"$add": {"$l": 1, "$r": 2}}}}]}),
     "correlated reference or arithmetic"),
    (set_when(0, {"$add": {"$l": {"$m": "deaths"}, "$r": 1}}), "arithmetic is not allowed"),
    (set_when(0, {"$iall": {"violations": "x"}}), "an array test is not allowed"),
    (set_when(0, {"$gte": {"deaths": 10}}), "pattern without a single-fact test"),
    (set_when(0, {"$or": [{"kind": "accident"}, {"serious": True}]}),
     "pattern without a single-fact test"),
    (set_when(0, {"$and": []}), "needs a non-empty list"),
    (set_when(0, {"$and": [{"kind": "accident"}, {"deaths": 1, "grade": "major"}]}),
     "exactly one key"),
    (set_when(0, {"$and": [{"kind": "accident"}, {"deathz": 1}]}), "unknown fact field 'deathz'"),
    (set_when(0, {"$and": [{"kind": "accident"}, {"$gte": {"grade": 2}}]}),
     "grade is not a number field"),
    (set_when(0, {"$and": [{"kind": "accident"}, {"liability": "yes"}]}),
     "liability holds a bool"),
    (set_when(0, {"$and": [{"kind": "accident"}, {"$gte": {"count": {"$param": "nope"}}}]}),
     "unknown or null parameter 'nope'"),
    (lambda doc: doc["rules"][0].update({"count": 2}), "$.rules[0].count: count not allowed"),
    (lambda doc: doc["rules"][0].update({"cap": 2}), "$.rules[0].cap: cap not allowed"),
    (lambda doc: doc["rules"][0].update({"all": [{"m": {"kind": "x"}}]}),
     "$.rules[0].all: multi-fact patterns"),
    (lambda doc: doc["rules"][0].update({"statechart": {}}), "statecharts not allowed"),
    (lambda doc: doc["rules"][0].update({"flowchart": {}}), "flowcharts not allowed"),
    (lambda doc: doc["rules"][1].update({"id": "mem11.a1"}), "duplicate rule id"),
    (lambda doc: doc["conduct"].update({"from": "2023-13-01"}), "$.conduct.from"),
    (lambda doc: doc["parameters"].pop("period_months"), "$.parameters.period_months"),
    (lambda doc: doc["measures"][0].update({"effect": "banned"}), "$.measures[0].effect"),
    (lambda doc: doc.update({"statechart": {}}), "$.statechart: unknown key"),
])
def test_validator_names_path_and_problem(change: Any, message: str) -> None:
    with pytest.raises(PackError) as error:
        validate(broken(change), "packs/x.json")
    text = str(error.value)
    assert "packs/x.json" in text and message in text, text


def test_unreadable_and_non_json_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PackError, match="bad.json: \\$: not JSON"):
        load_packs([bad])
    with pytest.raises(PackError, match="cannot read"):
        load_packs([tmp_path / "missing.json"])


def test_overlapping_packs_are_refused(tmp_path: Path) -> None:
    doc = raw("cn-2017-aj49")
    doc["id"] = "cn-2019-aj49"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(PackError, match="other.json: \\$.conduct: overlaps cn-2017-aj49"):
        load_packs([PACK_DIR, other])


def test_no_default_number_is_a_literal_in_code() -> None:
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (Path(__file__).parents[2] / "rules").glob("*.py"))
    for literal in ("36", "365", "months=12", ">= 2", ">= 3", ">= 10", "= 30"):
        assert literal not in source, literal


def test_load_pack_reads_one_file() -> None:
    from rules.packs import load_pack

    pack = load_pack(PACK_DIR / "cn-2015-aw14.json")
    assert pack.id == "cn-2015-aw14" and pack.digest == PACKS["cn-2015-aw14"].digest


def test_packs_for_loads_once_and_again_when_a_local_file_changes(tmp_path: Path) -> None:
    import os

    from blacklist.settings import Settings
    from rules.service import packs_for

    override = tmp_path / "local.json"
    override.write_text(json.dumps({"extends": "cn-2023-mem11", "parameters": {"period_months": 24}}),
                        encoding="utf-8")
    settings = Settings(pack_files=(str(override),))
    first = packs_for(settings)
    assert packs_for(settings) is first  # unchanged files: the packs loaded before
    mem11 = {p.id: p for p in first}["cn-2023-mem11"]
    assert mem11.parameters["period_months"] == 24
    override.write_text(json.dumps({"extends": "cn-2023-mem11", "parameters": {"period_months": 30}}),
                        encoding="utf-8")
    stat = override.stat()
    os.utime(override, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = {p.id: p for p in packs_for(settings)}["cn-2023-mem11"]
    assert changed.parameters["period_months"] == 30
    assert {p.id: p for p in packs_for(Settings())}["cn-2023-mem11"].parameters["period_months"] != 30
    override.unlink()
    with pytest.raises(PackError, match="cannot read"):
        packs_for(settings)  # a local pack that went missing is an error, not the old packs
