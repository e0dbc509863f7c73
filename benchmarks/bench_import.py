"""Time `blacklist import --no-evaluate` on SQLite and PostgreSQL: first import, re-import
of the unchanged file, and the importer's peak memory for two file sizes.

    python -m benchmarks.bench_import                       # 1,000,000 and 100,000 records
    python -m benchmarks.bench_import --records 200000 --small 20000 --backends sqlite

Each run starts from a fresh database (`blacklist init`), imports the file, then imports
it again. Wall time, CPU time (user + system) and peak RSS are those of the `blacklist`
child process alone (os.wait4); the PostgreSQL server's own work shows only in wall time.
Files are generated once (benchmarks/generate.py) and reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BLACKLIST = str(Path(sys.executable).with_name("blacklist"))
SUMMARY = re.compile(r"read (\d+) records .*: (\d+) accepted, (\d+) unchanged, (\d+) new versions, (\d+) rejected")


@dataclass
class Run:
    backend: str
    records: int
    phase: str
    wall: float
    cpu: float
    peak_rss_mb: float
    summary: str

    @property
    def rate(self) -> float:
        return self.records / self.wall


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "sqlite": __import__("sqlite3").sqlite_version, "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def data_file(workdir: Path, records: int, subjects: int, seed: int) -> Path:
    path = workdir / f"records-{records}-s{subjects}-seed{seed}.jsonl"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        tmp = path.with_suffix(".tmp")
        subprocess.run([sys.executable, "-m", "benchmarks.generate", "--records", str(records),
                        "--subjects", str(subjects), "--seed", str(seed), str(tmp)],
                       check=True, cwd=ROOT.parent)
        tmp.rename(path)
    return path


def check_sample(path: Path, every: int = 1000) -> int:
    """Validate every `every`-th record: the importer exits 1 if any is rejected."""
    from blacklist.records import validate_record

    today = dt.date.today()
    checked = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            if number % every == 0:
                validate_record(json.loads(line), today=today, id_key=b"bench-check")
                checked += 1
    return checked


def fresh_database(backend: str, workdir: Path, pg_admin: str, pg_db: str) -> str:
    if backend == "sqlite":
        db = workdir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{db}"
    import psycopg

    with psycopg.connect(f"{pg_admin}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{pg_db}"')
    return f"{pg_admin}/{pg_db}"


def run_child(args: list[str], env: dict[str, str], workdir: Path, log: Path) -> tuple[float, float, float, str]:
    """Run one command; (wall s, CPU s, peak RSS MiB, stdout) of that child alone."""
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}:\n{text[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def bench(backend: str, path: Path, records: int, workdir: Path, pg_admin: str, pg_db: str) -> list[Run]:
    url = fresh_database(backend, workdir, pg_admin, pg_db)
    env = {**os.environ, "BLACKLIST_DATABASE_URL": url, "BLACKLIST_SECRET_KEY": "bench-secret",
           "BLACKLIST_ID_HASH_KEY": "bench-id-key"}
    run_child([BLACKLIST, "init"], env, workdir, workdir / "init.log")
    runs = []
    for phase in ("first import", "re-import"):
        log = workdir / f"{backend}-{records}-{phase.replace(' ', '-')}.log"
        wall, cpu, rss, text = run_child([BLACKLIST, "import", "--no-evaluate", str(path)], env, workdir, log)
        match = SUMMARY.search(text)
        summary = "{1} accepted, {2} unchanged, {3} new versions, {4} rejected".format(*match.groups()) if match else "?"
        run = Run(backend, records, phase, wall, cpu, rss, summary)
        print(f"{backend} {records:,} {phase}: {wall:.1f} s, {run.rate:,.0f} records/s, CPU {cpu:.1f} s, "
              f"peak RSS {rss:.0f} MiB ({summary})", file=sys.stderr)
        runs.append(run)
    return runs


def table(runs: list[Run]) -> str:
    lines = ["| backend | records | phase | wall s | records/s | importer CPU s | peak RSS MiB | outcome |",
             "|---|---:|---|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r.backend} | {r.records:,} | {r.phase} | {r.wall:.1f} | {r.rate:,.0f} | {r.cpu:.1f} | "
                     f"{r.peak_rss_mb:.0f} | {r.summary} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="the large file (default 1,000,000)")
    parser.add_argument("--small", type=int, default=100_000,
                        help="a smaller file, to show peak memory does not grow with size (0 to skip)")
    parser.add_argument("--subjects", type=int, default=100_000, help="distinct subjects in both files")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--pg-db", default="bench", help="database dropped and created for each run")
    parser.add_argument("--workdir", type=Path, default=ROOT / "out")
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()  # the children run inside it
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    sizes = [n for n in (args.small, args.records) if n]
    files = {n: data_file(args.workdir, n, args.subjects, args.seed) for n in sizes}
    for n, path in files.items():
        print(f"{path.name}: sample of {check_sample(path)} records valid", file=sys.stderr)
    runs: list[Run] = []
    for backend in args.backends.split(","):
        for n in sizes:
            runs.extend(bench(backend, files[n], n, args.workdir, args.pg_admin, args.pg_db))
    info["load after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print()
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
