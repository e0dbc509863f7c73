"""Golden table: every rule fires on its case and not on the nearest ones (pure Python)."""

from __future__ import annotations

import pytest

from rules.evaluate import SubjectEvaluation, evaluate
from rules.packs import load_packs
from rules_factories import day
from rules_golden_cases import CASES, Case

PACKS = load_packs()


def subject_entry(case: Case, results: list[SubjectEvaluation]) -> SubjectEvaluation | None:
    key = case.subject or case.records[0]["subject"]["key"]
    return next((r for r in results if r.key == key), None)


def test_golden_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    fired = {rule for case in CASES for rule in case.fires}
    every_rule = {rule.id for pack in PACKS for rule in pack.rules}
    assert every_rule <= fired, f"rules without a firing case: {every_rule - fired}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_golden(case: Case) -> None:
    results = evaluate(case.records, day(case.as_of), PACKS, engine=False,
                       prior_listings=case.prior)
    entry = subject_entry(case, results)
    assert entry is not None, f"{case.cite}: subject missing from the answer"
    assert {p.rule for p in entry.proposals} == case.fires, case.cite
    reasons = {e.rule: e.reason for e in entry.explanations}
    for rule, reason in case.reasons.items():
        assert reasons.get(rule) == reason, (case.cite, rule, entry.explanations)
    proposals = {p.rule: p.to_json() for p in entry.proposals}
    for rule, fields in case.expect.items():
        for name, value in fields.items():
            assert proposals[rule][name] == value, (case.cite, rule, name)
    for explanation in entry.explanations:
        assert explanation.text and explanation.reason in {
            "out_of_scope", "no_effective_penalty", "below_threshold", "outside_window",
            "no_matching_record", "set_aside", "no_pack"}
