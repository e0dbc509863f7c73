"""Rule-change preview: evaluate the stored records under a changed pack and list the
subjects that would gain or lose a proposal, and why."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist.models import Record, Subject
from blacklist.settings import Settings
from rules.evaluate import SubjectEvaluation, evaluate
from rules.packs import Pack, load_packs
from rules.service import packs_for, records_for


def changed_packs(settings: Settings, pack_file: Path) -> tuple[Pack, ...]:
    """The deployment's packs with `pack_file` applied (an override, or a whole pack replacing its id)."""
    doc = json.loads(pack_file.read_text(encoding="utf-8"))
    if isinstance(doc, dict) and "extends" in doc:
        return load_packs(overrides=[*settings.pack_files, pack_file])
    current = packs_for(settings)
    replaced = load_packs([pack_file])
    ids = {p.id for p in replaced}
    others = [p.source.split(" + ")[0] for p in current if p.id not in ids]
    return load_packs([*map(Path, others), pack_file])


def _subjects(session: Session) -> Iterator[Subject]:
    ids = select(Record.subject_id).distinct()
    yield from session.scalars(select(Subject).where(Subject.id.in_(ids)).order_by(Subject.id)
                               .execution_options(yield_per=500))


def _proposals(results: list[SubjectEvaluation]) -> dict[tuple[str, str], tuple[SubjectEvaluation, Any]]:
    return {(r.key, p.rule): (r, p) for r in results for p in r.proposals}


def _why(result: SubjectEvaluation | None, rule: str) -> str:
    if result is None:
        return "no longer a subject of any rule"
    for e in result.explanations:
        if e.rule == rule:
            return f"{e.reason}: {e.text}"
    return "the rule does not apply"


def preview(session: Session, settings: Settings, pack_file: Path, as_of: dt.date,
            progress: bool = False) -> list[dict[str, Any]]:
    """Each subject × rule whose proposal appears or disappears under the changed packs.

    Runs the pure-Python evaluator (engine=False): a preview must never crash on the engine,
    and the two evaluators are cross-checked on every stored evaluation anyway."""
    before_packs = packs_for(settings)
    after_packs = changed_packs(settings, pack_file)
    changes: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for subject in _subjects(session):
        records = records_for(session, subject)
        before = evaluate(records, as_of, before_packs, engine=False)
        after = evaluate(records, as_of, after_packs, engine=False)
        old, new = _proposals(before), _proposals(after)
        after_by_key = {r.key: r for r in after}
        before_by_key = {r.key: r for r in before}
        for (key, rule), (result, proposal) in new.items():
            if (key, rule) not in old and ("gain", key, rule) not in seen:
                seen.add(("gain", key, rule))
                changes.append({"change": "gain", "rule": rule, "subject": result.subject_json(),
                                "evidence": list(proposal.evidence), "why": f"now fires on {', '.join(proposal.evidence)}"
                                f" (before: {_why(before_by_key.get(key), rule)})"})
        for (key, rule), (result, proposal) in old.items():
            if (key, rule) not in new and ("lose", key, rule) not in seen:
                seen.add(("lose", key, rule))
                changes.append({"change": "lose", "rule": rule, "subject": result.subject_json(),
                                "evidence": list(proposal.evidence), "why": _why(after_by_key.get(key), rule)})
    return sorted(changes, key=lambda c: (c["change"], c["rule"], c["subject"].get("uscc") or ""))
