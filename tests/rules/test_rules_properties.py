"""Hypothesis properties of the Python evaluator (the engine agrees: test_rules_engine.py)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.evaluate import evaluate, to_json
from rules.facts import Context
from rules.language import VIOLATION_CODES
from rules.packs import load_packs
from rules_factories import accident, penalty
from rules_strategies import SUBJECTS, as_of_days, days, record_sets

PACKS = load_packs()
SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def answer(records: list[dict[str, Any]], as_of: date) -> str:
    return json.dumps(to_json(evaluate(records, as_of, PACKS, engine=False)),
                      ensure_ascii=False, sort_keys=False)


@SETTINGS
@given(st.data(), record_sets(), as_of_days)
def test_record_order_does_not_change_the_answer(data: st.DataObject,
                                                 records: list[dict[str, Any]],
                                                 as_of: date) -> None:
    shuffled = data.draw(st.permutations(records))
    assert answer(shuffled, as_of) == answer(records, as_of)


@st.composite
def extra_records(draw: st.DrawFn, existing: list[dict[str, Any]]) -> dict[str, Any]:
    subject = draw(st.sampled_from(SUBJECTS))
    accident_ids = [r["record_id"] for r in existing if r["type"] == "accident"]
    if draw(st.booleans()) and subject["kind"] != "person":
        return accident("X99", subject, draw(days).isoformat(), draw(st.integers(0, 12)),
                        liability=draw(st.booleans()),
                        reporting=draw(st.sampled_from(["on_time", "late", "concealed"])))
    return penalty("X99", subject, draw(days).isoformat(),
                   tuple(draw(st.lists(st.sampled_from(VIOLATION_CODES), min_size=1,
                                       max_size=3, unique=True))),
                   accident_id=draw(st.none() | st.sampled_from(accident_ids))
                   if accident_ids else None,
                   fine_multiple=draw(st.sampled_from([None, 2.0])), serious=draw(st.booleans()))


def proposed(records: list[dict[str, Any]], as_of: date) -> set[tuple[str, str]]:
    return {(result.key, proposal.rule)
            for result in evaluate(records, as_of, PACKS, engine=False)
            for proposal in result.proposals}


@SETTINGS
@given(st.data(), record_sets(), as_of_days)
def test_an_added_effective_record_never_removes_a_proposal(
        data: st.DataObject, records: list[dict[str, Any]], as_of: date) -> None:
    extra = data.draw(extra_records(records))
    assert proposed(records, as_of) <= proposed([*records, extra], as_of)


@SETTINGS
@given(record_sets(), as_of_days)
def test_every_governing_rule_is_proposed_or_explained(records: list[dict[str, Any]],
                                                       as_of: date) -> None:
    ctx = Context(records, as_of, PACKS)
    for result in evaluate(records, as_of, PACKS, engine=False):
        rules = [p.rule for p in result.proposals] + [
            e.rule for e in result.explanations if e.rule is not None]
        assert len(rules) == len(set(rules))
        own = ctx.by_subject.get(result.key, [])
        governing = {rule.id for pack in PACKS for rule in pack.rules
                     if any(pack.covers(ctx.conduct(r)) for r in own)}
        assert governing <= set(rules)
        for explanation in result.explanations:
            assert explanation.text


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(record_sets(), as_of_days)
def test_explanations_are_the_same_without_the_strict_facts_shortcut(records: list[dict[str, Any]],
                                                                     as_of: date) -> None:
    # rules.facts.same_as_strict lets the explanations of unfired rules reuse the strict facts
    # instead of building relaxed ones; building them every time must give the same answer.
    from unittest import mock

    from rules import facts

    with mock.patch.object(facts, "same_as_strict", return_value=False):
        built = answer(records, as_of)
    assert answer(records, as_of) == built
