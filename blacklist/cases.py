"""Cases: opened from the engine's proposals (never twice for the same evidence), queried
by the regulator's queue."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Sequence

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from blacklist import audit
from blacklist.listings import subject_dict
from blacklist.models import AuditEntry, Case, Listing, Record, Subject
from blacklist.workflow import CASE_STATUSES, LAPSED, NOTIFIED, PROPOSED, Actor


def evidence_key(evidence: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(sorted(evidence)).encode()).hexdigest()


def find_case(session: Session, subject_id: int, rule: str, evidence: Sequence[str]) -> Case | None:
    return session.scalars(select(Case).where(
        Case.subject_id == subject_id, Case.rule == rule,
        Case.evidence_key == evidence_key(evidence))).one_or_none()


def open_case(session: Session, *, subject: Subject, proposal: dict[str, Any], explanations: list[Any],
              parameters: dict[str, Any], authority: dict[str, Any] | None, run_id: int | None,
              lapsed: bool, actor: Actor) -> Case | None:
    """A case for a new proposal; None when one exists already for this evidence."""
    evidence = list(proposal["evidence"])
    if find_case(session, subject.id, proposal["rule"], evidence) is not None:
        return None
    stored = {**proposal, "parameters": parameters}
    case = Case(
        subject_id=subject.id, rule=proposal["rule"], pack=proposal["pack"],
        pack_version=proposal["pack_version"], list_code=proposal["list"], tier=proposal.get("tier"),
        evidence=evidence, evidence_key=evidence_key(evidence), status=LAPSED if lapsed else PROPOSED,
        proposal=stored, explanations=explanations, authority=authority,
        authority_region=(authority or {}).get("region"), evaluation_run_id=run_id,
    )
    session.add(case)
    session.flush()
    audit.append(session, actor=actor.name, action=f"case.{case.status}", entity="case", entity_id=case.id,
                 after={"rule": case.rule, "subject_id": subject.id, "evidence": evidence,
                        "status": case.status})
    return case


def overdue_clause(today: dt.date) -> Any:
    """Notified cases whose statement period is over and that still await a decision."""
    return and_(Case.status == NOTIFIED, Case.statement_ends < today)


def case_query(*, status: str | None = None, uscc: str | None = None, subject_id: int | None = None,
               rule: str | None = None, authority: str | None = None, overdue: bool = False,
               today: dt.date, after: int | None = None) -> Select[Case]:
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    else:
        # A proposal whose period was over before it was found is recorded as lapsed, and no
        # case is opened for it (regulations.md §9): shown only when asked for by status.
        query = query.where(Case.status != LAPSED)
    if uscc:
        query = query.join(Subject, Subject.id == Case.subject_id).where(Subject.uscc == uscc)
    if subject_id:
        query = query.where(Case.subject_id == subject_id)
    if rule:
        query = query.where(Case.rule == rule)
    if authority:
        query = query.where(or_(Case.authority_region == authority,
                                Case.authority_region.like(authority.rstrip("0") + "%")))
    if overdue:
        query = query.where(overdue_clause(today))
    if after:
        query = query.where(Case.id > after)
    return query.order_by(Case.id)


def case_summary(case: Case, today: dt.date) -> dict[str, Any]:
    proposal = case.proposal
    return {
        "id": case.id, "status": case.status, "subject": subject_dict(case.subject), "rule": case.rule,
        "pack": case.pack, "pack_version": case.pack_version, "list": case.list_code, "tier": case.tier,
        "basis": proposal.get("basis"), "evidence": case.evidence, "authority": case.authority,
        "proposed_at": case.created_at.isoformat(),
        "period_start": proposal.get("period_start"), "period_end": proposal.get("period_end"),
        "served_on": _iso(case.served_on), "statement_ends": _iso(case.statement_ends),
        "statement_provisional": case.statement_provisional, "decided_on": _iso(case.decided_on),
        "outcome": case.outcome, "document_no": case.document_no, "decided_by": case.decided_by,
        "reason": case.reason, "statement_waived": case.statement_waived,
        "overdue": case.status == NOTIFIED and case.statement_ends is not None and case.statement_ends < today,
    }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored record as shown to people: keyed hashes and keys left out."""
    out = dict(payload)
    subject = dict(out.get("subject") or {})
    subject.pop("id_hash", None)
    subject.pop("key", None)
    if subject.get("main_person"):
        main = dict(subject["main_person"])
        main.pop("id_hash", None)
        main.pop("key", None)
        subject["main_person"] = main
    out["subject"] = subject
    return out


def case_detail(session: Session, case: Case, today: dt.date) -> dict[str, Any]:
    """Everything the regulator needs to defend the case."""
    records = session.scalars(select(Record).where(Record.record_id.in_(case.evidence))).all()
    by_id = {r.record_id: r for r in records}
    history = session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "case", AuditEntry.entity_id == str(case.id)).order_by(AuditEntry.id)).all()
    listing = session.scalars(select(Listing).where(Listing.case_id == case.id)).unique().one_or_none()
    detail = case_summary(case, today)
    detail.update(
        proposal={k: v for k, v in case.proposal.items() if k != "parameters"},
        parameters=case.proposal.get("parameters", {}),
        explanations=case.explanations,
        evidence_records=[
            {"record_id": rid, "version": by_id[rid].version, "status": by_id[rid].status,
             "record": public_payload(by_id[rid].payload)} if rid in by_id else {"record_id": rid, "missing": True}
            for rid in case.evidence
        ],
        deadlines={"statement_ends": _iso(case.statement_ends), "provisional": case.statement_provisional},
        listing_id=listing.id if listing else None,
        history=[{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "before": e.before,
                  "after": e.after} for e in history],
    )
    if listing is not None:
        # Decided: the listing's own period (anchored on the decision date), not the one
        # the proposal computed from its evidence, which stays in `proposal`.
        detail.update(period_start=listing.period_start.isoformat(), period_end=_iso(listing.period_end),
                      early_removal_from=_iso(listing.early_removal_from))
    return detail


__all__ = ["CASE_STATUSES", "open_case", "case_query", "case_summary", "case_detail", "find_case"]
