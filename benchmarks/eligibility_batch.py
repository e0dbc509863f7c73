"""Where a batch's time goes: the 100,000-subject batch of `bench_eligibility`, in one process
without a server (the app's WSGI callable through werkzeug's test client), each phase timed.

    python -m benchmarks.eligibility_batch --url sqlite:////tmp/eligbench/bench.db \
        --workdir /tmp/eligbench [--batches 4]

Prints, for each batch, the wall and CPU seconds and the cyclic collector's seconds, then the
mean seconds per batch of each phase: validating the codes (`_batch_refs`), the list version,
the subject and listing lookups, statutory bans, verdicts, the ids, adding rows to the check
log and closing it (its INSERTs on SQLite; the end of the COPY on PostgreSQL), the commit,
and the answers' JSON with its digest and receipt (`body`). The phases are timed by wrapping
the functions, which costs a few microseconds a call: the whole is a little slower than served.
"""

from __future__ import annotations

import argparse
import collections
import functools
import gc
import os
import resource
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from benchmarks.bench_eligibility import batch_body
from benchmarks.eligibility_data import cli_env

PHASES: dict[str, float] = collections.defaultdict(float)


def timed(owner: Any, name: str, label: str) -> None:
    """Replace `owner.name` by a wrapper adding its wall time to PHASES[label]."""
    function: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            PHASES[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.update(cli_env(args.url, args.workdir))
    os.environ["BLACKLIST_RATE_LIMIT"] = "1000000000/minute"

    import blacklist.eligibility as eligibility
    import web.eligibility_api as api
    from sqlalchemy.orm import Session
    from web import create_app

    for name, label in (("version", "list version"), ("subjects", "lookups"), ("bans", "bans"),
                        ("verdicts", "verdicts")):
        timed(eligibility.EligibilityService, name, label)
    timed(eligibility.CheckLog, "add", "check log: add")
    timed(eligibility.CheckLog, "close", "check log: close")
    timed(api, "_batch_refs", "validating codes")
    timed(eligibility, "_uuids", "ids")
    timed(Session, "commit", "commit")
    build = api._batch_body

    def body(*a: Any, **k: Any) -> Iterator[bytes]:
        started = time.perf_counter()
        yield from build(*a, **k)
        PHASES["body"] += time.perf_counter() - started

    api._batch_body = body  # type: ignore[assignment]

    app = create_app()
    gc.collect()
    gc.freeze()  # as `blacklist serve` does for each worker
    collector = [0.0, 0.0]

    def collecting(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            collector[1] = time.perf_counter()
        else:
            collector[0] += time.perf_counter() - collector[1]

    gc.callbacks.append(collecting)
    payload = batch_body(args.size, 1_000_000, 20_000)
    token = (args.workdir / "token.txt").read_text().strip()
    client = app.test_client()
    for i in range(args.batches):
        collector[0] = 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/eligibility/batch", data=payload, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        size = len(response.get_data())
        print(f"batch {i + 1}: {response.status_code}, {size / 2**20:.1f} MiB, wall {time.perf_counter() - wall:.2f} s,"
              f" CPU {time.process_time() - cpu:.2f} s, collector {collector[0]:.2f} s", flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
    print("seconds per batch by phase (mean):")
    for label, seconds in PHASES.items():
        print(f"  {label:<20} {seconds / args.batches:.3f}")


if __name__ == "__main__":
    main()
