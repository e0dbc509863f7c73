"""Batch evaluation in child processes, so a durable_rules segfault costs one retried chunk:
``evaluate_many`` for a dry run's records, ``evaluate_jobs`` for a stored evaluation's subjects."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from blacklist.cases import evidence_key
from blacklist.parallel import run_chunks
from blacklist.records import event_date
from rules.evaluate import EngineMismatchError, SubjectEvaluation, evaluate, order
from rules.facts import Context
from rules.packs import Pack, load_packs

Chunk = list[Mapping[str, Any]]
Runner = Callable[[Chunk, date, Sequence[Pack], bool, Mapping[str, int]], list[SubjectEvaluation]]


class BatchError(RuntimeError):
    """A chunk crashed its child process again when retried alone."""


def _components(ctx: Context) -> list[list[str]]:
    """Subject keys linked by a penalty naming another's accident or a main person."""
    parent = {key: key for key in ctx.by_subject}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for record in ctx.records:
        named = ctx.by_id.get(record.accident_id or "")
        if named is not None:
            parent[root(named.subject_key)] = root(record.subject_key)
        person = record.raw["subject"].get("main_person")
        if person:
            parent[root(person["key"])] = root(record.subject_key)
    groups: dict[str, list[str]] = {}
    for key in ctx.by_subject:
        groups.setdefault(root(key), []).append(key)
    return list(groups.values())


def chunks(ctx: Context, chunk_size: int) -> list[Chunk]:
    """Records in chunks of about ``chunk_size``, never splitting linked subjects."""
    result: list[Chunk] = []
    current: Chunk = []
    for keys in _components(ctx):
        records = [record.raw for key in keys for record in ctx.by_subject[key]]
        if current and len(current) + len(records) > chunk_size:
            result.append(current)
            current = []
        current.extend(records)
    if current:
        result.append(current)
    return result


def run_chunk(records: Chunk, as_of: date, packs: Sequence[Pack], engine: bool,
              prior_listings: Mapping[str, int]) -> list[SubjectEvaluation]:
    """Evaluate one chunk (runs in a child process)."""
    return evaluate(records, as_of, packs, engine=engine, prior_listings=prior_listings)


def evaluate_many(records: Iterable[Mapping[str, Any]], as_of: date,
                  packs: Sequence[Pack] | None = None, *, engine: bool = True,
                  prior_listings: Mapping[str, int] | None = None, chunk_size: int = 500,
                  workers: int = 1, runner: Runner | None = None) -> list[SubjectEvaluation]:
    """``evaluate`` for large batches, chunk by chunk in spawned child processes.

    A chunk whose child dies (a segfault in durable_rules) is retried alone in a fresh
    process; if it dies again, BatchError is raised (fail closed). The answer is the one
    ``evaluate`` gives for the same records. ``runner`` (a module-level function with
    ``run_chunk``'s signature) replaces the chunk evaluation, for tests.
    """
    packs = load_packs() if packs is None else tuple(packs)
    ctx = Context(records, as_of, packs)
    work = chunks(ctx, chunk_size)
    task = functools.partial(_run, runner or run_chunk, as_of=as_of, packs=packs,
                             engine=engine, prior=dict(prior_listings or {}))
    done: dict[str, SubjectEvaluation] = {}
    for index, (_chunk, results) in enumerate(run_chunks(task, work, workers=workers)):
        if results is None:
            raise BatchError(f"evaluation chunk {index + 1} of {len(work)} crashed twice")
        done.update((result.key, result) for result in results)
    # Each chunk holds whole linked groups, so it merged its own main persons already;
    # only the global order of subjects is left to restore.
    return order(ctx, done)


def _run(runner: Runner, chunk: Chunk, *, as_of: date, packs: Sequence[Pack], engine: bool,
         prior: Mapping[str, int]) -> list[SubjectEvaluation]:
    return runner(chunk, as_of, packs, engine, prior)


@dataclass(frozen=True)
class Job:
    """One root subject's evaluation input: its records and the accidents they name."""

    subject_id: int
    key: str
    payloads: tuple[str, ...]  # the stored JSON text: the child process parses it
    prior_listings: int


@dataclass(frozen=True)
class Opening:
    """A proposal to keep as a case, with what the case stores besides the pack parameters."""

    key: str  # the subject to list: the root, or a main person its records name
    person: Mapping[str, Any] | None  # that main person as the records name them
    proposal: dict[str, Any]
    explanations: list[Any]
    authority: dict[str, Any] | None
    lapsed: bool

    @property
    def rule(self) -> str:
        return str(self.proposal["rule"])

    @property
    def evidence_key(self) -> str:
        return evidence_key(self.proposal["evidence"])


@dataclass(frozen=True)
class Verdict:
    """One root subject's answer: the subjects it speaks for (first the root) and what fires."""

    subject_id: int
    keys: tuple[str, ...]
    openings: tuple[Opening, ...]
    error: str | None = None


def evaluate_jobs(jobs: Sequence[Job], *, as_of: date, packs: Sequence[Pack]) -> list[Verdict]:
    """Each root subject evaluated on its own records (in a child process for a batch).

    A subject whose durable_rules and Python answers differ gets an error and nothing to
    store; the others are unaffected."""
    verdicts = []
    for job in jobs:
        payloads = [json.loads(text) for text in job.payloads]
        try:
            results = evaluate(payloads, as_of, packs, prior_listings={job.key: job.prior_listings},
                               subjects=(job.key,), explain_all=False, explain_lapsed=False)
        except EngineMismatchError as exc:
            verdicts.append(Verdict(job.subject_id, (), (), f"subject {job.subject_id}: {exc}"))
            continue
        verdicts.append(_verdict(job, payloads, results, as_of))
    return verdicts


def _verdict(job: Job, payloads: Sequence[Mapping[str, Any]], results: Sequence[SubjectEvaluation],
             as_of: date) -> Verdict:
    """What to store from a root subject's answer: its proposals, and those listing its main
    persons, each with the anchor date and the authority the case keeps."""
    persons = {p["subject"]["main_person"]["key"]: p["subject"]["main_person"] for p in payloads
               if p["subject"]["key"] == job.key and p["subject"].get("main_person")}
    by_id = {str(p["record_id"]): p for p in payloads}
    openings = []
    for result in results:
        if result.key != job.key and result.key not in persons:
            continue  # another subject's own evaluation covers it
        explanations = [e.to_json() for e in result.explanations]
        for proposal in result.proposals:
            if result.key != job.key and proposal.main_person_of not in (None, job.key):
                continue
            data = proposal.to_json()
            data["anchor"] = max((event_date(by_id[i]).isoformat() for i in proposal.evidence),
                                 default=None)
            if proposal.main_person_of:
                data["main_person_of"] = proposal.main_person_of
            openings.append(Opening(result.key, persons.get(result.key), data, explanations,
                                    _authority(by_id, proposal.evidence),
                                    proposal.period_end < as_of))
    return Verdict(job.subject_id, (job.key, *sorted(persons)), tuple(openings))


def _authority(by_id: Mapping[str, Mapping[str, Any]], evidence: Sequence[str]) -> dict[str, Any] | None:
    """The authority of the latest penalty among the evidence."""
    penalties = [by_id[i] for i in evidence if by_id[i]["type"] == "penalty"]
    latest = max(penalties, key=lambda p: (p["decided_on"], str(p["record_id"])), default=None)
    return latest.get("authority") if latest else None
