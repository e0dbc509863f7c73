"""Stored-evaluation benchmarks (issue 3 goals): a full evaluation from and to the database,
and one new record ingested and evaluated over HTTP.

    python -m benchmarks.bench_evaluate prepare  --database-url URL [--file F] [--records N]
    python -m benchmarks.bench_evaluate evaluate --database-url URL [--workers N] [--as-of D]
    python -m benchmarks.bench_evaluate ingest   --database-url URL --file F [--requests 500]

`prepare` writes the records with benchmarks.generate (unless the file exists) and loads
them with `blacklist init` and `blacklist import --no-evaluate`. `evaluate` runs
rules.service.reevaluate over every subject, commits, reports, then deletes what it
stored (--keep to leave it). The time inside durable_rules is measured in the child
processes by wrapping rules.engine.fired. `ingest` serves a scratch copy of the database
with `blacklist serve` (gunicorn) and POSTs one new record per request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.bench_eligibility import wait_ready

BIN = Path(sys.executable).parent / "blacklist"
ID_KEY = "bench-key"
_timer: dict[str, float] = {"engine": 0.0, "engine_cpu": 0.0, "engine_calls": 0, "evaluate": 0.0,
                            "cpu": 0.0, "subjects": 0}


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "BLACKLIST_DATABASE_URL": url, "BLACKLIST_ID_HASH_KEY": ID_KEY,
            "BLACKLIST_SECRET_KEY": "bench"}


# -- prepare ---------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> None:
    file = Path(args.file)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "benchmarks.generate", "--records", str(args.records),
                        "--subjects", str(args.subjects), "--seed", str(args.seed), str(file)],
                       check=True)
    env = _env(args.database_url)
    subprocess.run([str(BIN), "init"], env=env, check=True)
    start = time.perf_counter()
    subprocess.run([str(BIN), "import", "--no-evaluate", str(file)], env=env, check=True)
    print(f"imported {file} in {time.perf_counter() - start:.0f} s")


# -- evaluate --------------------------------------------------------------------------


def timed_jobs(jobs: Sequence[Any], *, as_of: dt.date, packs: Sequence[Any]) -> list[Any]:
    """rules.batch.evaluate_jobs, timed in the child process (engine time apart)."""
    from rules import batch

    _instrument_engine()
    wall, cpu = time.perf_counter(), time.process_time()
    verdicts = batch.evaluate_jobs(jobs, as_of=as_of, packs=packs)
    _timer["evaluate"] += time.perf_counter() - wall
    _timer["cpu"] += time.process_time() - cpu
    _timer["subjects"] += len(jobs)
    Path(os.environ["BENCH_TIMING_DIR"], f"{os.getpid()}.json").write_text(json.dumps(_timer))
    return verdicts


def _instrument_engine() -> None:
    from rules import engine

    if getattr(engine.fired, "timed", False):
        return
    original = engine.fired

    def fired(pack: Any, facts: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return original(pack, facts)
        finally:
            _timer["engine"] += time.perf_counter() - start
            _timer["engine_cpu"] += time.process_time() - cpu
            _timer["engine_calls"] += 1

    fired.timed = True  # type: ignore[attr-defined]
    engine.fired = fired


def _timed(module: Any, name: str, totals: dict[str, float]) -> None:
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kw)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
            totals[name + "_cpu"] = totals.get(name + "_cpu", 0.0) + time.process_time() - cpu

    setattr(module, name, wrapper)


def evaluate(args: argparse.Namespace) -> None:
    from sqlalchemy import delete, func, select

    from blacklist.db import make_engine, make_sessionmaker
    from benchmarks import bench_evaluate  # the runner is pickled by this name, not __main__
    from blacklist.models import AuditEntry, Case, EvaluationRun, Record, Subject
    from blacklist.settings import Settings
    from rules import service

    settings = Settings(database_url=args.database_url, id_hash_key=ID_KEY.encode())
    engine = make_engine(settings.database_url)
    session = make_sessionmaker(engine)()
    ids = list(session.scalars(select(Subject.id).order_by(Subject.id)))
    records = session.scalar(select(func.count()).select_from(Record))
    marks = {model: session.scalar(select(func.max(model.id))) or 0
             for model in (AuditEntry, Case, EvaluationRun)}
    session.commit()
    parent: dict[str, float] = {}
    for name in ("_roots", "_jobs", "_store"):
        _timed(service, name, parent)
    timing = tempfile.mkdtemp(prefix="bench-evaluate-")
    os.environ["BENCH_TIMING_DIR"] = timing  # the spawned children inherit it
    as_of = dt.date.fromisoformat(args.as_of)
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = service.reevaluate(session, ids, settings, as_of=as_of, workers=args.workers,
                                 in_process_max=args.in_process_max,
                                 runner=bench_evaluate.timed_jobs)
    stored = time.perf_counter()
    session.commit()
    total = time.perf_counter() - wall
    parent_cpu = time.process_time() - cpu
    children = [json.loads(p.read_text()) for p in Path(timing).glob("*.json")]
    shutil.rmtree(timing)
    child = {k: sum(c[k] for c in children) for k in _timer} if children else bench_evaluate._timer
    report = {
        "database": engine.dialect.name, "subjects": len(ids), "records": records,
        "root_subjects": outcome.subjects, "cases_opened": outcome.cases_opened,
        "cases_lapsed": outcome.cases_lapsed, "failed": len(outcome.failed),
        "workers": args.workers or os.cpu_count(), "total_s": round(total, 1),
        "commit_s": round(total - (stored - wall), 2),
        "subjects_per_s": round(len(ids) / total), "records_per_s": round((records or 0) / total),
        "parent_s": {k.strip("_"): round(v, 1) for k, v in parent.items()},
        "parent_cpu_s": round(parent_cpu, 1),
        "children_evaluate_s": round(child["evaluate"], 1), "children_cpu_s": round(child["cpu"], 1),
        "durable_rules_s": round(child["engine"], 1), "durable_rules_cpu_s": round(child["engine_cpu"], 1),
        "durable_rules_calls": int(child["engine_calls"]),
        "durable_rules_share_of_evaluation": round(child["engine"] / max(child["evaluate"], 1e-9), 3),
        "durable_rules_share_of_all_cpu": round(
            child["engine_cpu"] / max(child["cpu"] + parent_cpu, 1e-9), 3),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))
    if not args.keep:
        for model in (AuditEntry, Case, EvaluationRun):
            session.execute(delete(model).where(model.id > marks[model]))
        session.commit()
    session.close()
    engine.dispose()


# -- ingest ----------------------------------------------------------------------------


def _scratch(url: str) -> tuple[str, Callable[[], None]]:
    """A copy of the benchmark database to write into, and how to remove it."""
    if url.startswith("sqlite:///"):
        source = Path(url[len("sqlite:///"):])
        target = source.with_name(source.stem + ".ingest" + source.suffix)
        shutil.copyfile(source, target)

        def remove() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)

        return f"sqlite:///{target}", remove
    base, _, name = url.rpartition("/")
    scratch = f"{name}_ingest"
    admin = f"{base}/postgres"

    def sql(statement: str) -> None:
        subprocess.run(["psql", admin, "-q", "-c", statement], check=True)

    sql(f'DROP DATABASE IF EXISTS "{scratch}"')
    sql(f'CREATE DATABASE "{scratch}" TEMPLATE "{name}"')
    return f"{base}/{scratch}", lambda: sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _new_records(file: Path, count: int, seed: int) -> list[dict[str, Any]]:
    """Penalties of existing units sent again under new record ids: each touches a subject
    with its history, as a day's new records do."""
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    seen = 0
    with file.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["type"] != "penalty" or record["subject"]["kind"] != "unit":
                continue
            seen += 1  # reservoir sampling: one pass, any file size
            if len(chosen) < count:
                chosen.append(record)
            elif (slot := rng.randrange(seen)) < count:
                chosen[slot] = record
    for n, record in enumerate(chosen):
        record["record_id"] = f"BENCH-{n:05d}-{record['record_id']}"
    return chosen


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ingest(args: argparse.Namespace) -> None:
    import requests

    url, remove = _scratch(args.database_url)
    server = None
    try:
        env = _env(url)
        token = subprocess.run([str(BIN), "tokens", "create", "--role", "system", "--name", "bench"],
                               env=env, check=True, capture_output=True, text=True).stdout.split()[-1]
        port = _free_port()
        server = subprocess.Popen([str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", str(args.server_workers), "--threads", "4"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        wait_ready(base, server)
        records = _new_records(Path(args.file), args.requests + args.warmup, args.seed)
        latencies = []
        opened = 0
        for n, record in enumerate(records):
            start = time.perf_counter()
            response = http.post(base + "/api/v1/records", json=[record], timeout=60)
            elapsed = time.perf_counter() - start
            if response.status_code != 200 or response.json()["accepted"] != 1:
                raise SystemExit(f"request {n}: {response.status_code} {response.text[:300]}")
            if n >= args.warmup:
                latencies.append(elapsed * 1000)
                opened += response.json().get("cases_opened", 0)
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        print(json.dumps({
            "database": url.split(":")[0], "requests": len(latencies), "warmup": args.warmup,
            "server": f"gunicorn {args.server_workers} workers x 4 threads",
            "p50_ms": round(cuts[49], 1), "p95_ms": round(cuts[94], 1), "p99_ms": round(cuts[98], 1),
            "max_ms": round(max(latencies), 1), "mean_ms": round(statistics.fmean(latencies), 1),
            "cases_opened": opened, "load_average": os.getloadavg()}, indent=2))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        remove()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="generate the records and import them")
    prep.add_argument("--database-url", required=True)
    prep.add_argument("--file", default="benchmarks/out/evaluate-300k.jsonl")
    prep.add_argument("--records", type=int, default=300_000)
    prep.add_argument("--subjects", type=int, default=109_000,
                      help="subjects to draw from: 109,000 gives ~100,000 holding records")
    prep.add_argument("--seed", type=int, default=7)
    ev = commands.add_parser("evaluate", help="time a stored evaluation of every subject")
    ev.add_argument("--database-url", required=True)
    ev.add_argument("--workers", type=int, default=None, help="child processes (default: CPUs)")
    ev.add_argument("--in-process-max", type=int, default=200)
    ev.add_argument("--as-of", default="2026-11-01")
    ev.add_argument("--keep", action="store_true", help="keep the cases it opened")
    ing = commands.add_parser("ingest", help="POST one new record per request to a served copy")
    ing.add_argument("--database-url", required=True)
    ing.add_argument("--file", default="benchmarks/out/evaluate-300k.jsonl",
                     help="the records prepare imported (penalties are re-sent under new ids)")
    ing.add_argument("--requests", type=int, default=500)
    ing.add_argument("--warmup", type=int, default=20)
    ing.add_argument("--server-workers", type=int, default=2)
    ing.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    {"prepare": prepare, "evaluate": evaluate, "ingest": ingest}[args.command](args)


if __name__ == "__main__":
    main()
