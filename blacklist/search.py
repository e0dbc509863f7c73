"""Name search: candidates ranked by similarity after normalising Chinese company names.
Never a verdict by name alone."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist.models import Subject, SubjectName
from blacklist.subjects import normalize_name


def search_names(session: Session, name: str, *, limit: int = 10, cutoff: float = 60.0) -> list[dict[str, Any]]:
    """Units and agencies whose current or former names resemble `name`, best first."""
    query = normalize_name(name)
    if not query:
        return []
    rows = session.execute(
        select(SubjectName.subject_id, SubjectName.name, SubjectName.name_norm)
        .join(Subject, Subject.id == SubjectName.subject_id).where(Subject.kind != "person")).all()
    best: dict[int, tuple[float, str]] = {}
    choices = {i: row.name_norm for i, row in enumerate(rows)}
    for _choice, score, index in process.extract(query, choices, scorer=fuzz.WRatio, score_cutoff=cutoff,
                                                 limit=limit * 5):
        row = rows[index]
        exact_bonus = 1.0 if row.name_norm == query else 0.0
        scored = min(100.0, score + exact_bonus)
        if row.subject_id not in best or best[row.subject_id][0] < scored:
            best[row.subject_id] = (scored, row.name)
    if not best:
        return []
    subjects = {s.id: s for s in session.scalars(select(Subject).where(Subject.id.in_(best)))}
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], subjects[kv[0]].uscc or ""))[:limit]
    return [{"id": sid, "uscc": subjects[sid].uscc, "name": subjects[sid].name, "kind": subjects[sid].kind,
             "matched_name": matched, "former_name": matched != subjects[sid].name, "score": round(score, 1)}
            for sid, (score, matched) in ranked]
