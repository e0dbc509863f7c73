"""Run in a child process by test_rules_engine.py: durable_rules may segfault here only.

``python rules_engine_child.py golden`` evaluates every golden case with the engine on;
``python rules_engine_child.py agree N`` checks N random record sets. Both compare the
answer to the engine-off one; evaluate() itself raises EngineMismatchError when the
durable_rules fired set differs from the Python evaluator's.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings

from rules.evaluate import evaluate, to_json
from rules.packs import load_packs
from rules_factories import day
from rules_golden_cases import CASES
from rules_strategies import as_of_days, record_sets

PACKS = load_packs()


def same_answer(records: list[dict[str, Any]], as_of: date,
                prior: dict[str, int] | None = None) -> None:
    with_engine = to_json(evaluate(records, as_of, PACKS, engine=True, prior_listings=prior))
    without = to_json(evaluate(records, as_of, PACKS, engine=False, prior_listings=prior))
    assert with_engine == without


def golden() -> None:
    for case in CASES:
        same_answer(case.records, day(case.as_of), case.prior)
    print(f"golden ok: {len(CASES)} cases")


def agree(examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(record_sets(), as_of_days)
    def check(records: list[dict[str, Any]], as_of: date) -> None:
        same_answer(records, as_of)

    check()
    print(f"agree ok: {examples} examples")


if __name__ == "__main__":
    if sys.argv[1] == "golden":
        golden()
    else:
        agree(int(sys.argv[2]))
