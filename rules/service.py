"""Stored evaluation: evaluate the subjects an ingest touched, open a case per new
proposal (never twice for the same evidence), withdraw what lost its evidence."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist.cases import evidence_key, open_case
from blacklist.clock import today
from blacklist.listings import states
from blacklist.models import Case, EvaluationRun, Listing, Record, Subject, utcnow
from blacklist.settings import Settings
from blacklist.subjects import find_by_key, upsert_subject
from blacklist.workdays import WorkdayCalendar
from blacklist.workflow import NOTIFIED, PROPOSED, Actor, withdraw_case, withdraw_listing
from rules.evaluate import EngineMismatchError, Proposal, evaluate
from rules.packs import Pack, load_packs

log = logging.getLogger(__name__)
ENGINE = Actor("engine")


@dataclass
class EvaluationOutcome:
    subjects: int = 0
    cases_opened: int = 0
    cases_lapsed: int = 0
    cases_withdrawn: int = 0
    listings_withdrawn: int = 0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"cases_opened": self.cases_opened, "cases_withdrawn": self.cases_withdrawn,
                "listings_withdrawn": self.listings_withdrawn}


def packs_for(settings: Settings) -> tuple[Pack, ...]:
    return load_packs(overrides=settings.pack_files or None)


def records_for(session: Session, subject: Subject) -> list[dict[str, Any]]:
    """The subject's records and the accidents its penalties name, wherever those stand."""
    own = session.scalars(select(Record).where(Record.subject_id == subject.id)).all()
    refs = {r.accident_ref for r in own if r.accident_ref} - {r.record_id for r in own}
    named = session.scalars(select(Record).where(Record.record_id.in_(refs))).all() if refs else []
    return [r.payload for r in (*own, *named)]


def roots(session: Session, subject_ids: Iterable[int]) -> list[Subject]:
    """Subjects to evaluate: those touched, and those whose penalties name their accidents."""
    ids = set(subject_ids)
    accident_ids = session.scalars(select(Record.record_id).where(
        Record.subject_id.in_(ids), Record.type == "accident")).all() if ids else []
    for i in range(0, len(accident_ids), 900):
        ids.update(session.scalars(select(Record.subject_id).where(
            Record.accident_ref.in_(accident_ids[i:i + 900]))).all())
    return list(session.scalars(select(Subject).where(Subject.id.in_(ids)).order_by(Subject.id)))


def _authority(session: Session, evidence: Sequence[str]) -> dict[str, Any] | None:
    penalties = session.scalars(select(Record).where(Record.record_id.in_(evidence),
                                                     Record.type == "penalty")).all()
    latest = max(penalties, key=lambda r: (r.payload["decided_on"], r.record_id), default=None)
    return latest.payload.get("authority") if latest else None


def _prior_listings(session: Session, subject: Subject) -> dict[str, int]:
    listings = session.scalars(select(Listing).where(Listing.subject_id == subject.id)).unique().all()
    return {subject.key: sum(1 for s in states(session, listings, utcnow()) if not s.withdrawn)}


def evaluate_subject(session: Session, subject: Subject, packs: Sequence[Pack], as_of: dt.date,
                     run: EvaluationRun, outcome: EvaluationOutcome, calendar: WorkdayCalendar) -> None:
    payloads = records_for(session, subject)
    results = evaluate(payloads, as_of, packs, prior_listings=_prior_listings(session, subject))
    persons = {p["subject"]["main_person"]["key"]: p["subject"]["main_person"]
               for p in payloads if p["subject"]["key"] == subject.key and p["subject"].get("main_person")}
    firing: dict[int, set[tuple[str, str]]] = {}
    by_pack = {p.id: p for p in packs}
    for result in results:
        if result.key == subject.key:
            target = subject
        elif result.key in persons:
            target = find_by_key(session, result.key) or upsert_subject(
                session, {**persons[result.key], "kind": "person"})
        else:
            continue  # another subject's own evaluation covers it
        fired = firing.setdefault(target.id, set())
        explanations = [e.to_json() for e in result.explanations]
        for proposal in result.proposals:
            if target is not subject and proposal.main_person_of not in (None, subject.key):
                continue
            fired.add((proposal.rule, evidence_key(proposal.evidence)))
            _open(session, target, proposal, explanations, by_pack, as_of, run, outcome)
    _withdraw_unsupported(session, subject, firing, outcome, calendar, as_of)


def _open(session: Session, subject: Subject, proposal: Proposal, explanations: list[Any],
          by_pack: dict[str, Pack], as_of: dt.date, run: EvaluationRun, outcome: EvaluationOutcome) -> None:
    data = proposal.to_json()
    data["anchor"] = max(_evidence_dates(session, proposal.evidence), default=None)
    if proposal.main_person_of:
        data["main_person_of"] = proposal.main_person_of
    pack = by_pack[proposal.pack]
    lapsed = proposal.period_end < as_of
    case = open_case(session, subject=subject, proposal=data, explanations=explanations,
                     parameters=dict(pack.parameters), authority=_authority(session, proposal.evidence),
                     run_id=run.id, lapsed=lapsed, actor=ENGINE)
    if case is not None:
        if lapsed:
            outcome.cases_lapsed += 1
        else:
            outcome.cases_opened += 1


def _evidence_dates(session: Session, evidence: Sequence[str]) -> list[str]:
    return [d.isoformat() for d in session.scalars(select(Record.event_date).where(Record.record_id.in_(evidence)))]


def _withdraw_unsupported(session: Session, subject: Subject, firing: dict[int, set[tuple[str, str]]],
                          outcome: EvaluationOutcome, calendar: WorkdayCalendar, as_of: dt.date) -> None:
    """Open cases whose proposal no longer fires, and listings whose evidence was revoked."""
    subject_ids = {subject.id, *firing}
    main_of = subject.key
    for case in session.scalars(select(Case).where(Case.subject_id.in_(subject_ids),
                                                   Case.status.in_((PROPOSED, NOTIFIED)))).unique():
        own = case.subject_id == subject.id and not case.proposal.get("main_person_of")
        derived = case.proposal.get("main_person_of") == main_of
        if not (own or derived):
            continue
        if (case.rule, case.evidence_key) not in firing.get(case.subject_id, set()):
            if withdraw_case(session, case, reason="the evidence no longer supports this proposal",
                             actor=ENGINE):
                outcome.cases_withdrawn += 1
    listings = session.scalars(select(Listing).where(Listing.subject_id.in_(subject_ids))).unique().all()
    for listing in listings:
        revoked = session.scalars(select(Record.record_id).where(
            Record.record_id.in_(listing.evidence), Record.status == "revoked")).all()
        if revoked and withdraw_listing(session, listing, reason="evidence revoked or set aside",
                                        records=sorted(revoked), actor=ENGINE, calendar=calendar,
                                        today=as_of):
            outcome.listings_withdrawn += 1


def reevaluate(session: Session, subject_ids: Iterable[int], settings: Settings, *,
               as_of: dt.date | None = None, calendar: WorkdayCalendar | None = None) -> EvaluationOutcome:
    """Evaluate these subjects (and those linked through accidents) and store the result."""
    as_of = as_of or today(settings.timezone)
    calendar = calendar or (WorkdayCalendar.from_file(settings.holidays_file) if settings.holidays_file
                            else WorkdayCalendar())
    packs = packs_for(settings)
    outcome = EvaluationOutcome()
    run = EvaluationRun(started_at=utcnow())
    session.add(run)
    session.flush()
    for subject in roots(session, subject_ids):
        if subject.kind == "person" and not session.scalar(
                select(Record.record_id).where(Record.subject_id == subject.id).limit(1)):
            continue  # a main person with no records of their own: their unit's evaluation covers them
        outcome.subjects += 1
        try:
            with session.begin_nested():
                evaluate_subject(session, subject, packs, as_of, run, outcome, calendar)
        except EngineMismatchError as exc:
            log.error("evaluation of subject %s failed closed: %s", subject.id, exc)
            outcome.failed.append(f"subject {subject.id}: {exc}")
    run.finished_at = utcnow()
    run.subjects = outcome.subjects
    run.proposals = outcome.cases_opened
    run.status = "failed" if outcome.failed else "ok"
    run.error = "\n".join(outcome.failed)[:4000] or None
    return outcome


def reevaluate_after_ingest(session: Session, report: Any, settings: Settings) -> dict[str, int]:
    """Evaluate what an ingest touched; the caller commits."""
    if not report.touched_subjects:
        return {"cases_opened": 0, "cases_withdrawn": 0, "listings_withdrawn": 0}
    return reevaluate(session, report.touched_subjects, settings).as_dict()
