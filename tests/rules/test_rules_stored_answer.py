"""The stored-evaluation form of evaluate(): one subject, explanations only where it proposes.

It must give that subject (and the main persons it lists) exactly what the full answer
gives, for every golden case and the batch records."""

from __future__ import annotations

from typing import Any

import pytest

from rules.evaluate import evaluate
from rules.packs import load_packs
from rules_factories import day
from rules_golden_cases import CASES, Case
from test_rules_batch import AS_OF, batch_records

PACKS = load_packs()


def check(records: list[dict[str, Any]], as_of: Any, prior: dict[str, int] | None) -> None:
    full = {r.key: r for r in evaluate(records, as_of, PACKS, engine=False, prior_listings=prior)}
    own = {r["subject"]["key"] for r in records}
    for key in sorted(own):
        lean = evaluate(records, as_of, PACKS, engine=False, prior_listings=prior,
                        subjects=(key,), explain_all=False)
        assert lean[0].key == key
        for result in lean:
            expected = full[result.key]
            if result.key == key:
                assert result.proposals == expected.proposals
            else:  # a main person: here only what this subject's proposals list
                assert result.proposals == tuple(
                    p for p in expected.proposals if p.main_person_of == key)
                assert result.proposals and not result.explanations
                continue
            if result.proposals:
                assert result.explanations == expected.explanations
            else:
                assert result.explanations == ()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_one_subject_lean_answer_matches_the_full_one(case: Case) -> None:
    check(case.records, day(case.as_of), case.prior)


def test_linked_subjects_lean_answers_match_the_full_one() -> None:
    check(batch_records(), AS_OF, None)
