"""Export benchmark: `blacklist export` of N changes (default 1,000,000), time and memory.

    .venv/bin/python -m benchmarks.bench_export --changes 1000000 [--format jsonl] [--database-url URL]

Fills a fresh database (a SQLite file in a temporary folder unless --database-url names
an empty one) with N outbox changes over 2,000 listings, then runs the real command as a
child process and reports its wall time and peak RSS; a second export of the last tenth
shows memory does not grow with the size of the export. Goal: 1,000,000 in ≤ 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from blacklist.db import make_engine, make_sessionmaker
from blacklist.migrate import upgrade
from blacklist.models import Change, Listing, Subject, utcnow
from blacklist.outbox import change_payload
from blacklist.periods import period_end
from blacklist.workdays import WorkdayCalendar

BLACKLIST = str(Path(sys.executable).with_name("blacklist"))
KINDS = ("listed", "listed", "listed", "expired", "removed_early", "withdrawn")


def _uscc(n: int) -> str:
    from blacklist.identifiers import make_valid_uscc

    return make_valid_uscc(f"91610400{n:09d}")


def refuse_a_used_database(engine: Engine) -> None:
    """The benchmark fills the database it is given: never one that holds anything."""
    from sqlalchemy import inspect

    if inspect(engine).get_table_names():
        raise SystemExit(f"{engine.url.render_as_string(hide_password=True)} is not empty; "
                         "give a scratch database (createdb ...; dropdb ... after)")


def fill(engine: Engine, changes: int, listings: int = 2000, chunk: int = 20_000) -> float:
    """N changes over `listings` listings (every 5th subject a person); seconds taken."""
    started = time.perf_counter()
    calendar = WorkdayCalendar()
    with make_sessionmaker(engine)() as session:
        made = []
        for n in range(listings):
            decided = dt.date(2023, 1, 3) + dt.timedelta(days=n % 600)
            if n % 5 == 4:
                subject = Subject(kind="person", name=f"张{n}", name_norm=f"张{n}", id_hash=f"{n:064d}",
                                  id_masked="610402********9465")
            else:
                subject = Subject(kind="unit", name=f"咸阳某化工有限公司{n}", name_norm=f"咸阳某化工有限公司{n}",
                                  uscc=_uscc(n), industry="chemicals")
            session.add(subject)
            session.flush()
            listing = Listing(subject_id=subject.id, list_code="serious_untrustworthy", tier=None,
                              rule="mem11.a1", pack="cn-2023-mem11", pack_version="2023.1",
                              basis="应急管理部令第11号 第五条第一项", document_no=f"陕应急信决〔2024〕{n}号",
                              authority={"name": "陕西省应急管理厅", "region": "610000", "level": "province"},
                              evidence=[f"ACC-{n}", f"PEN-{n}"], decided_on=decided, period_start=decided,
                              period_end=period_end(decided, 36),
                              early_removal_from=None, recorded_at=utcnow())
            session.add(listing)
            session.flush()
            template = change_payload(listing, "listed", decided, "")
            made.append((listing.id, decided, calendar.add_workdays(decided, 7).date, template))
        session.commit()
        rows: list[dict[str, Any]] = []
        created = utcnow()
        table = Change.metadata.tables["changes"]
        for i in range(changes):
            listing_id, decided, due, template = made[i % listings]
            kind = KINDS[i % len(KINDS)]
            change_id = str(uuid.uuid4())
            rows.append({"change_id": change_id, "kind": kind, "listing_id": listing_id, "effective_on": decided,
                         "due_on": due, "created_at": created, "attempts": 0,
                         "payload": {**template, "change_id": change_id, "kind": kind}})
            if len(rows) == chunk:
                session.execute(insert(table), rows)
                session.commit()
                rows = []
        if rows:
            session.execute(insert(table), rows)
            session.commit()
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a running process (ru_maxrss would count the forked parent's pages)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def timed_export(database_url: str, since: int, fmt: str, output: Path) -> dict[str, Any]:
    """Run `blacklist export` as a child; its wall time and peak resident memory."""
    env = {**os.environ, "BLACKLIST_DATABASE_URL": database_url, "BLACKLIST_ID_HASH_KEY": "bench",
           "BLACKLIST_SECRET_KEY": "bench"}
    started = time.perf_counter()
    child = subprocess.Popen([BLACKLIST, "export", "--since", str(since), "--format", fmt, "--output", str(output)],
                             env=env, cwd=output.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0.0
    while True:
        peak = max(peak, peak_rss_mb(child.pid) or peak)
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    _, err = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"export failed: {err.decode()}")
    manifest = json.loads(output.with_name(output.name + ".manifest.json").read_text())
    return {"format": fmt, "since": since, "count": manifest["count"], "seconds": round(seconds, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(peak, 1), "bytes": manifest["bytes"],
            "rate_per_s": round(manifest["count"] / seconds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--format", action="append", choices=("jsonl", "csv", "xlsx"))
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--reuse", action="store_true",
                        help="export the changes already in --database-url (filled by an earlier run)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    if args.reuse and args.database_url:
        with engine.connect() as conn:
            args.changes = int(conn.execute(select(func.count()).select_from(Change)).scalar_one())
    else:
        refuse_a_used_database(engine)
        upgrade(engine)
        fill_seconds = fill(engine, args.changes)
        print(f"filled {args.changes} changes in {fill_seconds:.1f} s ({url.split('://')[0]})", file=sys.stderr)
    engine.dispose()
    results = []
    for fmt in args.format or ["jsonl"]:
        whole = timed_export(url, 0, fmt, workdir / f"all.{fmt}")
        tenth = timed_export(url, args.changes - args.changes // 10, fmt, workdir / f"tenth.{fmt}")
        results += [whole, tenth]
        for r in (whole, tenth):
            print(f"{r['format']}: {r['count']} changes in {r['seconds']} s ({r['rate_per_s']}/s; "
                  f"{r['cpu_seconds']} s CPU), "
                  f"peak RSS {r['peak_rss_mb']} MB, {r['bytes'] / 1e6:.0f} MB written", file=sys.stderr)
    print(json.dumps({"database": url.split("://")[0], "changes": args.changes, "results": results}))
    if not args.keep:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
