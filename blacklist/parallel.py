"""Work over chunks in spawned child processes, results in order, a bounded number of chunks
in flight: the stored evaluation's subjects (rules.batch) and an import's validation
(cli import). A child that dies costs one retried chunk, not the run."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"))


def _alone(fn: Callable[[T], R], chunk: T) -> R | None:
    """``fn(chunk)`` in a fresh child of its own; None if that child dies too."""
    with _pool(1) as pool:
        try:
            return pool.submit(fn, chunk).result()
        except BrokenProcessPool:
            return None


def _submit(pool: ProcessPoolExecutor, fn: Callable[[T], R], chunk: T) -> Future[R]:
    """``pool.submit``; a pool already broken gives a future that failed the same way."""
    try:
        return pool.submit(fn, chunk)
    except BrokenProcessPool as error:
        lost: Future[R] = Future()
        lost.set_exception(error)
        return lost


def _succeeded(future: Future[Any]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def run_chunks(fn: Callable[[T], R], chunks: Iterable[T], *, workers: int = 1,
               ahead: int | None = None) -> Iterator[tuple[T, R | None]]:
    """``fn`` over ``chunks`` in spawned child processes, yielded in order as (chunk, result).

    At most ``ahead`` chunks (default twice ``workers``) are taken from ``chunks`` before
    their results are yielded, so a generator of chunks is read as the work goes. When a
    child dies (a segfault in durable_rules) the pool is lost with every chunk in flight:
    the first of them is retried alone in a fresh process, the others go to a new pool. A
    chunk that kills its process when alone too is yielded with None (fail closed).
    ``fn`` must be picklable: a module-level function, or a functools.partial of one.
    """
    source = iter(chunks)
    window = ahead or 2 * workers
    pending: deque[tuple[T, Future[R]]] = deque()
    pool = _pool(workers)
    try:
        while True:
            for chunk in itertools.islice(source, window - len(pending)):
                pending.append((chunk, _submit(pool, fn, chunk)))
            if not pending:
                return
            chunk, future = pending.popleft()
            try:
                result: R | None = future.result()
            except BrokenProcessPool:
                logger.warning("a batch chunk lost its process; retrying it alone")
                pool.shutdown(cancel_futures=True)
                result = _alone(fn, chunk)
                if result is None:
                    logger.error("a batch chunk crashed its process twice; its work is lost")
                pool = _pool(workers)
                pending = deque((item, done if _succeeded(done) else _submit(pool, fn, item))
                                for item, done in pending)
            yield chunk, result
    finally:
        pool.shutdown(cancel_futures=True)
