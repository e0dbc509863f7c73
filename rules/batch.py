"""Batch evaluation in child processes, so a durable_rules segfault costs one retried chunk."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from typing import Any

from rules.evaluate import SubjectEvaluation, evaluate, order
from rules.facts import Context
from rules.packs import Pack, load_packs

logger = logging.getLogger(__name__)

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


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"))


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
    run = runner or run_chunk
    packs = load_packs() if packs is None else tuple(packs)
    ctx = Context(records, as_of, packs)
    prior = dict(prior_listings or {})
    work = chunks(ctx, chunk_size)
    done: dict[int, list[SubjectEvaluation]] = {}
    failed: list[int] = []
    with _pool(workers) as pool:
        futures: dict[int, Future[list[SubjectEvaluation]]] = {
            index: pool.submit(run, chunk, as_of, packs, engine, prior)
            for index, chunk in enumerate(work)}
        for index, future in futures.items():
            try:
                done[index] = future.result()
            except BrokenProcessPool:
                failed.append(index)
    for index in failed:
        logger.warning("evaluation chunk %d of %d lost its process; retrying alone",
                       index + 1, len(work))
        with _pool(1) as pool:
            try:
                done[index] = pool.submit(run, work[index], as_of, packs, engine,
                                          prior).result()
            except BrokenProcessPool as error:
                raise BatchError(f"evaluation chunk {index + 1} crashed twice") from error
    # Each chunk holds whole linked groups, so it merged its own main persons already;
    # only the global order of subjects is left to restore.
    return order(ctx, {result.key: result for results in done.values() for result in results})
