"""Stored evaluation in bulk: child processes give the cases the in-process path gives,
survive a crash, and fail closed (run marked failed, nothing proposed) where they must."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist.audit import verify
from blacklist.cases import open_case
from blacklist.ingest import Ingestor
from blacklist.models import AuditEntry, Case, EvaluationRun, Subject
from blacklist.settings import Settings
from blacklist.workdays import WorkdayCalendar
from blacklist.workflow import decide, serve_notice
from rules import service
from rules.packs import Pack
from rules.batch import Job, Verdict, evaluate_jobs
from rules.service import ENGINE, reevaluate
from tests.conftest import ID_KEY
from tests.factories import AGENCY, UNIT, UNIT2, accident, penalty, person, unit, uscc

TODAY = dt.date(2025, 6, 30)
MAIN = {"name": "张某", "id_number": "11010519491231002X"}
BATCH = {"in_process_max": 0, "workers": 2}


def records() -> list[dict[str, Any]]:
    """Linked subjects (main person, a penalty naming another's accident, an agency), a
    person of their own, a lapsed case, and enough units for several chunks."""
    found = [accident("ACC-A1", subject=unit(main_person=MAIN), deaths=11, occurred_on="2024-05-06"),
             penalty("PEN-A1", accident_id="ACC-A1"),
             penalty("PEN-U2", subject=unit(UNIT2, "某建设有限公司", "construction"), accident_id="ACC-A1"),
             penalty("PEN-AG", subject=unit(AGENCY, "某安全评价公司", None, kind="agency"),
                     violations=["agency.false_report"], accident_id="ACC-A1"),
             penalty("PEN-P1", subject=person(), violations=["accident.concealed"],
                     accident_id="ACC-A1"),
             accident("ACC-OLD", subject=unit(uscc(900), "某老矿业有限公司", "mining"), deaths=12,
                      occurred_on="2016-05-06"),
             penalty("PEN-OLD", subject=unit(uscc(900), "某老矿业有限公司", "mining"),
                     accident_id="ACC-OLD", decided_on="2016-09-20")]
    for n in range(24):
        subject = unit(uscc(n), f"某化工{n}有限公司", "chemicals")
        found.append(accident(f"ACC-{n}", subject=subject, deaths=3 + n % 9, occurred_on="2024-03-01"))
        if n % 3:
            found.append(penalty(f"PEN-{n}", subject=subject, accident_id=f"ACC-{n}"))
    return found


def ingest(db: Session, items: list[dict[str, Any]]) -> set[int]:
    report = Ingestor(db, today=TODAY, id_key=ID_KEY).run(enumerate(items))
    assert not report.rejected, report.rejected
    db.commit()
    return report.touched_subjects


def stored_cases(db: Session) -> dict[tuple[int, str, str], tuple[Any, ...]]:
    return {(c.subject_id, c.rule, c.evidence_key): (c.status, c.proposal, c.explanations, c.authority,
                                                     c.authority_region, c.pack, c.tier, c.list_code)
            for c in db.scalars(select(Case))}


def a1_cases(db: Session) -> list[Case]:
    """The mem11.a1 cases resting on ACC-A1 and PEN-A1: the unit's and its main person's."""
    return [c for c in db.scalars(select(Case).where(Case.rule == "mem11.a1").order_by(Case.id))
            if "PEN-A1" in c.evidence]


def everyone(db: Session) -> list[int]:
    return list(db.scalars(select(Subject.id)))


def test_child_processes_store_what_the_in_process_path_stores(db: Session, settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(db, records())
    alone = reevaluate(db, everyone(db), settings, as_of=TODAY, in_process_max=10**6)
    expected = stored_cases(db)
    db.rollback()
    monkeypatch.setattr(service, "CHUNK", 7)  # several chunks in flight
    batch = reevaluate(db, everyone(db), settings, as_of=TODAY, **BATCH)
    assert stored_cases(db) == expected
    assert (batch.cases_opened, batch.cases_lapsed, batch.subjects) == (
        alone.cases_opened, alone.cases_lapsed, alone.subjects)
    assert batch.cases_lapsed >= 1 and batch.cases_opened >= 10 and not batch.failed
    main = a1_cases(db)
    assert len(main) == 2 and {c.proposal.get("main_person_of") for c in main} == {None, f"uscc:{UNIT}"}
    assert verify(db).ok


def test_a_second_run_opens_nothing_and_revocation_withdraws_unit_and_main_person(
        db: Session, settings: Settings) -> None:
    ingest(db, records())
    first = reevaluate(db, everyone(db), settings, as_of=TODAY, **BATCH)
    db.commit()
    again = reevaluate(db, everyone(db), settings, as_of=TODAY, **BATCH)
    assert (again.cases_opened, again.cases_lapsed, again.cases_withdrawn) == (0, 0, 0)
    assert first.cases_opened > 0
    touched = ingest(db, [penalty("PEN-A1", accident_id="ACC-A1", status="revoked")])
    after = reevaluate(db, touched, settings, as_of=TODAY)
    db.commit()
    statuses = {(c.proposal.get("main_person_of"), c.status) for c in a1_cases(db)}
    assert statuses == {(None, "withdrawn"), (f"uscc:{UNIT}", "withdrawn")}
    assert after.cases_withdrawn == 2
    assert verify(db).ok


def test_a_listing_whose_evidence_is_revoked_is_withdrawn_in_bulk(db: Session, settings: Settings) -> None:
    ingest(db, records())
    reevaluate(db, everyone(db), settings, as_of=TODAY, **BATCH)
    [case] = [c for c in a1_cases(db) if not c.proposal.get("main_person_of")]
    calendar = WorkdayCalendar()
    serve_notice(db, case.id, dt.date(2024, 9, 23), actor=ENGINE, calendar=calendar, today=TODAY)
    decide(db, case.id, outcome="list", decided_on=dt.date(2024, 10, 8), document_no="陕应急信决〔2024〕1号",
           reason="事故责任", statement_waived=False, actor=ENGINE, calendar=calendar, today=TODAY)
    db.commit()
    ingest(db, [penalty("PEN-A1", accident_id="ACC-A1", status="revoked")])
    outcome = reevaluate(db, everyone(db), settings, as_of=TODAY, **BATCH)
    assert outcome.listings_withdrawn == 1 and not outcome.failed


def test_bulk_cases_are_the_cases_open_case_opens(db: Session, settings: Settings) -> None:
    ingest(db, records())
    reevaluate(db, everyone(db), settings, as_of=TODAY, **BATCH)
    stored = a1_cases(db)[0]
    other = db.scalar(select(Subject).where(Subject.uscc == UNIT2))
    assert other is not None
    proposal = {k: v for k, v in stored.proposal.items() if k != "parameters"}
    again = open_case(db, subject=other, proposal=proposal, explanations=stored.explanations,
                      parameters=stored.proposal["parameters"], authority=stored.authority,
                      run_id=stored.evaluation_run_id, lapsed=stored.status == "lapsed", actor=ENGINE)
    assert again is not None
    skip = {"id", "subject_id", "created_at", "updated_at"}
    columns = [c.key for c in Case.__mapper__.column_attrs if c.key not in skip]
    assert {c: getattr(again, c) for c in columns} == {c: getattr(stored, c) for c in columns}
    entries = db.scalars(select(AuditEntry).where(AuditEntry.entity_id.in_(
        [str(stored.id), str(again.id)]))).all()
    assert [{**e.after, "subject_id": 0} for e in entries][0] == [
        {**e.after, "subject_id": 0} for e in entries][1]
    assert len({(e.actor, e.action, e.entity) for e in entries}) == 1
    assert verify(db).ok


def crash_once(jobs: Sequence[Job], *, as_of: dt.date, packs: Sequence[Pack]) -> list[Verdict]:
    marker = Path(os.environ["STORED_EVALUATION_MARKER"])
    if not marker.exists():
        marker.write_text("crashed")
        os.kill(os.getpid(), signal.SIGSEGV)
    return evaluate_jobs(jobs, as_of=as_of, packs=packs)


def crash_always(jobs: Sequence[Job], *, as_of: dt.date, packs: Sequence[Pack]) -> list[Verdict]:
    os.kill(os.getpid(), signal.SIGSEGV)
    raise AssertionError("unreachable")


def disagree_on_unit(jobs: Sequence[Job], *, as_of: dt.date, packs: Sequence[Pack]) -> list[Verdict]:
    """durable_rules made to miss every rule for UNIT's records: a mismatch for that subject."""
    from rules import engine

    original = engine.fired

    def fired(pack: Pack, facts: Any) -> Any:
        if any(i in ("ACC-A1", "PEN-A1") for fact in facts for i in fact.evidence):
            return set()
        return original(pack, facts)

    engine.fired = fired
    try:
        return evaluate_jobs(jobs, as_of=as_of, packs=packs)
    finally:
        engine.fired = original


def test_a_crashed_chunk_is_retried(db: Session, settings: Settings, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORED_EVALUATION_MARKER", str(tmp_path / "crashed"))
    ingest(db, records())
    outcome = reevaluate(db, everyone(db), settings, as_of=TODAY, runner=crash_once, **BATCH)
    assert (tmp_path / "crashed").exists()
    assert not outcome.failed and outcome.cases_opened > 0


def test_a_chunk_that_crashes_twice_fails_closed_without_stopping_the_caller(
        db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(db, records())
    monkeypatch.setattr(service, "CHUNK", 1000)
    outcome = reevaluate(db, everyone(db), settings, as_of=TODAY, runner=crash_always, **BATCH)
    assert outcome.failed and "crashed its process twice" in outcome.failed[0]
    assert db.scalars(select(Case)).first() is None
    run = db.scalars(select(EvaluationRun)).one()
    assert run.status == "failed" and run.error is not None and "crashed" in run.error


@pytest.mark.parametrize("in_process_max", [10**6, 0], ids=["in-process", "child processes"])
def test_an_engine_mismatch_fails_that_subject_closed(db: Session, settings: Settings,
                                                      in_process_max: int) -> None:
    ingest(db, records())
    if in_process_max:
        outcome = reevaluate(db, everyone(db), settings, as_of=TODAY, in_process_max=in_process_max,
                             runner=disagree_on_unit)
    else:
        outcome = reevaluate(db, everyone(db), settings, as_of=TODAY, runner=disagree_on_unit, **BATCH)
    unit_id = db.scalar(select(Subject.id).where(Subject.uscc == UNIT))
    assert any("disagree" in f and f"subject {unit_id}:" in f for f in outcome.failed)
    assert not db.scalars(select(Case).where(Case.subject_id == unit_id)).all()
    assert outcome.cases_opened > 0  # the other subjects are unaffected
    run = db.scalars(select(EvaluationRun)).one()
    assert run.status == "failed" and run.error is not None and "disagree" in run.error
