"""Stored evaluation: evaluate the subjects an ingest touched, open a case per new
proposal (never twice for the same evidence), withdraw what lost its evidence.

The same three steps for one subject or for all of them: gather each root subject's
records in a few queries (chunked IN lists); evaluate them, in this process for a few
subjects and in spawned child processes for many (a durable_rules segfault then costs a
retried chunk, not the importer); store the answers in bulk."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, exists, or_, select
from sqlalchemy.orm import Session, aliased

from blacklist import audit
from blacklist.cases import evidence_key
from blacklist.db import among, analyze, insert_rows
from blacklist.clock import today
from blacklist.iterables import chunked
from blacklist.listings import states
from blacklist.models import Case, EvaluationRun, Listing, Record, Subject, subject_key, utcnow
from blacklist.parallel import run_chunks
from blacklist.settings import Settings
from blacklist.subjects import upsert_subject
from blacklist.workdays import WorkdayCalendar
from blacklist.workflow import LAPSED, NOTIFIED, PROPOSED, Actor, withdraw_case, withdraw_listing
from rules.batch import Job, Opening, Verdict, evaluate_jobs
from rules.packs import PACK_DIR, Pack, load_packs

log = logging.getLogger(__name__)
ENGINE = Actor("engine")
IN_PROCESS_MAX = 200  # more root subjects than this are evaluated in child processes
CHUNK = 500  # root subjects per evaluation task
IN_LIST = 900  # values per IN (...) list
ANALYZE_CASES_FROM = 2_000  # cases stored by one run before the planner is told of them


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


JobRunner = Callable[..., list[Verdict]]


def packs_for(settings: Settings) -> tuple[Pack, ...]:
    """The packaged packs with the deployment's local overrides, loaded and validated once
    per process and again whenever one of their files changes (size or modification time).

    Loading and validating the packs took a fifth of one ingested record's time when it
    was done on every request (cProfile of 300 single-record POSTs: 2.2 of 10.1 s)."""
    overrides = tuple(settings.pack_files or ())
    key = (overrides, _stamps((PACK_DIR, *overrides)))
    with _PACKS_LOCK:
        cached = _PACKS.get(overrides)
        if cached is not None and cached[0] == key:
            return cached[1]
    packs = load_packs(overrides=overrides or None)
    with _PACKS_LOCK:
        _PACKS[overrides] = (key, packs)
    return packs


_PACKS: dict[tuple[str, ...], tuple[Any, tuple[Pack, ...]]] = {}
_PACKS_LOCK = threading.Lock()


def _stamps(sources: Iterable[str | Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every pack file under `sources`; a missing file stamps as -1,
    so that loading it raises the usual error."""
    found = []
    for source in sources:
        path = Path(source)
        for file in (sorted(path.glob("*.json")) if path.is_dir() else [path]):
            try:
                stat = file.stat()
                found.append((str(file), stat.st_size, stat.st_mtime_ns))
            except OSError:
                found.append((str(file), -1, -1))
    return tuple(found)


def records_for(session: Session, subject: Subject) -> list[dict[str, Any]]:
    """The subject's records and the accidents its penalties name, wherever those stand."""
    own = session.scalars(select(Record).where(Record.subject_id == subject.id)).all()
    refs = {r.accident_ref for r in own if r.accident_ref} - {r.record_id for r in own}
    named = session.scalars(select(Record).where(Record.record_id.in_(refs))).all() if refs else []
    return [r.payload for r in (*own, *named)]


def _roots(session: Session, subject_ids: Iterable[int]) -> list[int]:
    """Subjects to evaluate: those touched, and those whose penalties name their accidents.
    A person with no records of their own is left out: their unit's evaluation covers them."""
    touched = sorted(set(subject_ids))
    ids = set(touched)
    accident = aliased(Record)
    for part in chunked(touched, IN_LIST):
        ids.update(session.scalars(select(Record.subject_id).distinct().join(
            accident, Record.accident_ref == accident.record_id).where(
            among(session, accident.subject_id, part), accident.type == "accident")))
    roots: list[int] = []
    holds = exists().where(Record.subject_id == Subject.id)
    for part in chunked(sorted(ids), IN_LIST):
        roots += session.scalars(select(Subject.id).where(among(session, Subject.id, part),
                                                          or_(Subject.kind != "person", holds)))
    return sorted(roots)


def _jobs(session: Session, ids: Sequence[int]) -> list[Job]:
    """The evaluation input of these root subjects, in a few queries."""
    payload = cast(Record.payload, Text)  # the text as stored: parsed in the child
    own: dict[int, dict[str, str]] = {i: {} for i in ids}
    refs: dict[int, set[str]] = {i: set() for i in ids}
    texts: dict[str, str] = {}
    keys: dict[int, str] = {}
    # each subject with its records (one row for a subject that holds none)
    for row in session.execute(select(Subject.id, Subject.uscc, Subject.id_hash, Record.record_id,
                                      Record.accident_ref, payload)
                               .outerjoin(Record, Record.subject_id == Subject.id).where(among(session, Subject.id, ids))):
        keys[row[0]] = subject_key(row[1], row[2])
        if row[3] is None:
            continue
        own[row[0]][row[3]] = texts[row[3]] = row[5]
        if row[4]:
            refs[row[0]].add(row[4])
    missing = sorted(set[str]().union(*refs.values()) - texts.keys())
    for part in chunked(missing, IN_LIST):
        texts.update((row[0], row[1]) for row in session.execute(
            select(Record.record_id, payload).where(among(session, Record.record_id, part))))
    prior = _prior_listings(session, ids)
    jobs = []
    for subject_id in ids:
        named = [texts[r] for r in sorted(refs[subject_id] - own[subject_id].keys()) if r in texts]
        jobs.append(Job(subject_id, keys[subject_id], (*own[subject_id].values(), *named),
                        prior.get(subject_id, 0)))
    return jobs


def _prior_listings(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """How many listings (not withdrawn) each subject has had."""
    listings = session.scalars(select(Listing).where(among(session, Listing.subject_id, ids))).unique().all()
    counts: dict[int, int] = {}
    for state in states(session, listings, utcnow()):
        if not state.withdrawn:
            counts[state.listing.subject_id] = counts.get(state.listing.subject_id, 0) + 1
    return counts


def _subject_ids(session: Session, verdicts: Sequence[Verdict]) -> dict[str, int]:
    """Subject id by key for every subject these verdicts speak for; a main person the
    database lacks is created when a case is to be opened for them."""
    ids = {v.keys[0]: v.subject_id for v in verdicts}
    hashes = sorted({k.partition(":")[2] for v in verdicts for k in v.keys[1:]
                     if k.startswith("person:") and k not in ids})
    for part in chunked(hashes, IN_LIST):
        ids.update((subject_key(None, row.id_hash), row.id) for row in session.execute(
            select(Subject.id, Subject.id_hash).where(among(session, Subject.id_hash, part))))
    for verdict in verdicts:
        for opening in verdict.openings:
            if opening.key not in ids and opening.person is not None:
                ids[opening.key] = upsert_subject(session, {**opening.person, "kind": "person"}).id
    return ids


def _case_row(subject_id: int, opening: Opening, parameters: dict[str, Any], run_id: int) -> dict[str, Any]:
    """The case blacklist.cases.open_case would open, as a row (a test keeps the two alike)."""
    proposal, authority = opening.proposal, opening.authority
    evidence = list(proposal["evidence"])
    return {
        "subject_id": subject_id, "rule": proposal["rule"], "pack": proposal["pack"],
        "pack_version": proposal["pack_version"], "list": proposal["list"], "tier": proposal.get("tier"),
        "evidence": evidence, "evidence_key": evidence_key(evidence),
        "status": LAPSED if opening.lapsed else PROPOSED,
        "proposal": {**proposal, "parameters": parameters,
                     # a subject whose every proposal lapsed is not explained (a quarter of a
                     # full evaluation's work); a dry run of its records gives the explanations
                     **({"explanations_omitted": "lapsed"} if opening.lapsed and not opening.explanations else {})},
        "explanations": opening.explanations,
        "authority": authority, "authority_region": (authority or {}).get("region"),
        "evaluation_run_id": run_id, "row_version": 1}


def _open_cases(session: Session, rows: Sequence[dict[str, Any]], run_id: int) -> None:
    """Insert the cases in one statement, and an audit entry for each as open_case writes it."""
    if not rows:
        return
    insert_rows(session.connection(), Case.metadata.tables[Case.__tablename__], rows)
    case_ids: dict[tuple[int, str, str], int] = {}
    for part in chunked(sorted({row["subject_id"] for row in rows}), IN_LIST):
        case_ids.update(((r.subject_id, r.rule, r.evidence_key), r.id) for r in session.execute(
            select(Case.id, Case.subject_id, Case.rule, Case.evidence_key).where(
                Case.evaluation_run_id == run_id, among(session, Case.subject_id, part))))
    audit.append_many(session, (
        (ENGINE.name, f"case.{row['status']}", "case", case_ids[row["subject_id"], row["rule"], row["evidence_key"]],
         None, {"rule": row["rule"], "subject_id": row["subject_id"], "evidence": row["evidence"],
                "status": row["status"]})
        for row in rows))


def _store(session: Session, verdicts: Sequence[Verdict], by_pack: Mapping[str, Pack],
           as_of: dt.date, run: EvaluationRun, outcome: EvaluationOutcome,
           calendar: WorkdayCalendar) -> None:
    """Open the new cases and withdraw what these verdicts no longer support."""
    outcome.subjects += len(verdicts)
    for verdict in verdicts:
        if verdict.error is not None:
            log.error("evaluation failed closed: %s", verdict.error)
            outcome.failed.append(verdict.error)
    good = [v for v in verdicts if v.error is None]
    if not good:
        return
    ids = _subject_ids(session, good)
    existing: list[Any] = []  # the cases of every subject these verdicts speak for, as they stand
    for part in chunked(sorted(set(ids.values())), IN_LIST):
        existing += session.execute(select(Case.id, Case.subject_id, Case.rule, Case.evidence_key, Case.status)
                                    .where(among(session, Case.subject_id, part))).all()
    known = {(r.subject_id, r.rule, r.evidence_key) for r in existing}
    rows: list[dict[str, Any]] = []
    for verdict in good:
        for opening in verdict.openings:
            key = (ids[opening.key], opening.rule, opening.evidence_key)
            if key not in known:
                known.add(key)
                parameters = dict(by_pack[opening.proposal["pack"]].parameters)
                rows.append(_case_row(key[0], opening, parameters, _run_id(session, run)))
                if opening.lapsed:
                    outcome.cases_lapsed += 1
                else:
                    outcome.cases_opened += 1
    if rows:
        _open_cases(session, rows, _run_id(session, run))
    # the cases just opened are left out: each fires in the verdict that opened it
    still_open = sorted((r for r in existing if r.status in (PROPOSED, NOTIFIED)), key=lambda r: r.id)
    _withdraw_unsupported(session, good, ids, still_open, outcome, calendar, as_of)


def _run_id(session: Session, run: EvaluationRun) -> int:
    """The run's id, writing its row first if no case has needed it yet: a run that opens
    no case (most after a single ingested record) is written once, finished."""
    if run.id is None:
        session.add(run)
        session.flush()
    return run.id


def _withdraw_unsupported(session: Session, verdicts: Sequence[Verdict], ids: Mapping[str, int],
                          open_cases: Sequence[Any], outcome: EvaluationOutcome, calendar: WorkdayCalendar,
                          as_of: dt.date) -> None:
    """Open cases (`open_cases`, by id) whose proposal no longer fires, and listings whose
    evidence was revoked."""
    speakers: dict[int, list[Verdict]] = {}  # subject id -> the evaluations that speak for it
    for verdict in verdicts:
        for key in verdict.keys:
            if key in ids:
                speakers.setdefault(ids[key], []).append(verdict)
    firing = {v.subject_id: {(ids[o.key], o.rule, o.evidence_key) for o in v.openings}
              for v in verdicts}
    scope = sorted(speakers)
    listings: list[Listing] = []
    for part in chunked(scope, IN_LIST):
        listings += session.scalars(select(Listing).where(among(session, Listing.subject_id, part))
                                    .order_by(Listing.id)).unique()
    for row in open_cases:
        if row.subject_id not in speakers:
            continue
        doubted = [v for v in speakers[row.subject_id]
                   if (row.subject_id, row.rule, row.evidence_key) not in firing[v.subject_id]]
        if not doubted:
            continue
        case = session.get_one(Case, row.id)
        main_of = case.proposal.get("main_person_of")
        # a unit's evaluation answers for its own cases and those derived for its main persons
        if any(main_of == v.keys[0] or (not main_of and row.subject_id == v.subject_id)
               for v in doubted) and withdraw_case(
                session, case, reason="the evidence no longer supports this proposal", actor=ENGINE):
            outcome.cases_withdrawn += 1
    evidence = sorted({str(i) for listing in listings for i in listing.evidence})
    revoked: set[str] = set()
    for some in chunked(evidence, IN_LIST):
        revoked.update(session.scalars(select(Record.record_id).where(
            among(session, Record.record_id, some), Record.status == "revoked")))
    for listing in listings:
        hit = sorted(revoked.intersection(map(str, listing.evidence)))
        if hit and withdraw_listing(session, listing, reason="evidence revoked or set aside",
                                    records=hit, actor=ENGINE, calendar=calendar, today=as_of):
            outcome.listings_withdrawn += 1


def reevaluate(session: Session, subject_ids: Iterable[int], settings: Settings, *,
               as_of: dt.date | None = None, calendar: WorkdayCalendar | None = None,
               workers: int | None = None, in_process_max: int = IN_PROCESS_MAX,
               runner: JobRunner | None = None) -> EvaluationOutcome:
    """Evaluate these subjects (and those linked through accidents) and store the result.

    Up to ``in_process_max`` root subjects are evaluated here; more go to ``workers`` child
    processes (default: one per CPU). ``runner`` replaces ``evaluate_jobs`` (a module-level
    function, for tests and benchmarks). A subject whose evaluation fails (the engine and
    the Python evaluator disagree, or its chunk crashed its process twice) gets nothing
    stored, and the run is marked failed with the reason."""
    as_of = as_of or today(settings.timezone)
    calendar = calendar or WorkdayCalendar.configured(settings.holidays_file)
    packs = packs_for(settings)
    by_pack = {p.id: p for p in packs}
    outcome = EvaluationOutcome()
    run = EvaluationRun(started_at=utcnow(), status="running")  # added to the session when first needed
    roots = _roots(session, subject_ids)
    work = (_jobs(session, part) for part in chunked(roots, CHUNK))
    task = functools.partial(runner or evaluate_jobs, as_of=as_of, packs=packs)
    answers: Iterable[tuple[list[Job], list[Verdict] | None]]
    if len(roots) <= in_process_max:
        answers = ((jobs, task(jobs)) for jobs in work)
    else:
        answers = run_chunks(task, work, workers=workers or os.cpu_count() or 1)
    analyze_at = ANALYZE_CASES_FROM
    for jobs, verdicts in answers:
        if verdicts is None:
            error = (f"subjects {jobs[0].subject_id}..{jobs[-1].subject_id} ({len(jobs)}): their "
                     "evaluation crashed its process twice")
            outcome.failed.append(error)
            log.error("evaluation failed closed: %s", error)
            outcome.subjects += len(jobs)
            continue
        _store(session, verdicts, by_pack, as_of, run, outcome, calendar)
        stored = outcome.cases_opened + outcome.cases_lapsed
        if stored >= analyze_at:
            # Each chunk reads the cases of its subjects by index; with the statistics of the
            # table as it was before this run, PostgreSQL scanned it whole instead (100 ms a
            # read at 80,000 cases: most of a 42 s evaluation). Counted again at each doubling.
            analyze(session, Case.__tablename__)
            analyze_at = 2 * stored
    run.finished_at = utcnow()
    run.subjects = outcome.subjects
    run.proposals = outcome.cases_opened
    run.status = "failed" if outcome.failed else "ok"
    run.error = "\n".join(outcome.failed)[:4000] or None
    session.add(run)  # flushed with the caller's commit
    return outcome


def reevaluate_after_ingest(session: Session, report: Any, settings: Settings) -> dict[str, int]:
    """Evaluate what an ingest touched; the caller commits."""
    if not report.touched_subjects:
        return {"cases_opened": 0, "cases_withdrawn": 0, "listings_withdrawn": 0}
    return reevaluate(session, report.touched_subjects, settings).as_dict()
