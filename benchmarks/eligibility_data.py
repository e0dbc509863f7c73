"""A database for the eligibility benchmark: many subjects, some of them listed.

    python -m benchmarks.eligibility_data --url sqlite:////tmp/eligbench/bench.db \
        --subjects 1000000 --listings 20000 --workdir /tmp/eligbench

Creates the schema with `blacklist init`, then bulk-inserts (SQLAlchemy core, executemany)
subjects, listings without a case, and one `listed` event per listing. Writes the codes
the load generator rotates through (`codes.txt`) and an officer token (`token.txt`).
Deterministic; every code is a valid unified social credit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import func, insert, select, text

from blacklist.db import make_engine
from blacklist.identifiers import make_valid_uscc
from blacklist.iterables import chunked
from blacklist.models import Listing, ListingEvent, Subject

PACKS = (  # (pack, version, list code, rules)
    ("cn-2023-mem11", "2023.1", "serious_untrustworthy", ("mem11.a1", "mem11.a2", "mem11.b1")),
    ("cn-2017-aj49", "2017.1", "joint_punishment", ("aj49.t1", "aj49.t3")),
    ("cn-2015-aw14", "2015.1", "blacklist", ("aw14.c1", "aw14.c2")),
)
LISTED_EVERY = 50  # one subject in 50 carries a listing: 20,000 of 1,000,000
EXPIRED_EVERY = 10  # one listing in 10 has already run out
TODAY = dt.date.today()
NOW = dt.datetime.now(dt.timezone.utc)


def uscc(i: int) -> str:
    """The code of subject number `i` (region varies; the body is the number)."""
    return make_valid_uscc(f"91{110000 + (i % 500) * 100:06d}{i:09d}")


def unknown_uscc(i: int) -> str:
    """A valid code the database does not hold."""
    return make_valid_uscc(f"92{610000 + (i % 90):06d}{i:09d}")


def subjects(n: int) -> Iterator[dict[str, Any]]:
    for i in range(1, n + 1):
        name = f"基准测试第{i}号建设工程有限公司"
        yield {"id": i, "kind": "unit", "name": name, "name_norm": name, "uscc": uscc(i), "id_hash": None,
               "id_masked": None, "industry": "construction", "created_at": NOW, "updated_at": NOW}


def listings(n_subjects: int, n_listings: int) -> Iterator[dict[str, Any]]:
    step = max(1, n_subjects // n_listings)
    for k in range(n_listings):
        pack, version, code, rules = PACKS[k % len(PACKS)]
        decided = TODAY - dt.timedelta(days=30 + k % 700)
        expired = k % EXPIRED_EVERY == 0
        end = decided + dt.timedelta(days=20 if expired else 3 * 365)
        yield {"id": k + 1, "case_id": None, "subject_id": 1 + k * step, "list": code, "tier": None,
               "rule": rules[k % len(rules)], "pack": pack, "pack_version": version,
               "basis": "《安全生产严重失信主体名单管理办法》第五条", "document_no": f"陕应急信决〔2024〕{k + 1}号",
               "authority": {"name": "陕西省应急管理厅", "region": "610000"},
               "evidence": [{"record_id": f"BENCH-{k + 1}"}], "decided_on": decided, "period_start": decided,
               "period_end": end, "early_removal_from": None, "recorded_at": NOW - dt.timedelta(days=1)}


def events(n_listings: int) -> Iterator[dict[str, Any]]:
    for k in range(n_listings):
        yield {"id": k + 1, "listing_id": k + 1, "kind": "listed",
               "effective_on": TODAY - dt.timedelta(days=30 + k % 700),
               "recorded_at": NOW - dt.timedelta(days=1), "actor": "bench", "data": {}}


def cli_env(url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ, BLACKLIST_DATABASE_URL=url, BLACKLIST_SIGNING_KEY=str(workdir / "signing.pem"),
               BLACKLIST_SECRET_KEY="bench", BLACKLIST_ID_HASH_KEY="bench-id-key")
    return env


def blacklist_cli(*args: str, url: str, workdir: Path) -> str:
    exe = Path(sys.executable).with_name("blacklist")
    done = subprocess.run([str(exe), *args], env=cli_env(url, workdir), cwd=workdir, check=True,
                          capture_output=True, text=True)
    return done.stdout


def build(url: str, n_subjects: int, n_listings: int, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    blacklist_cli("init", url=url, workdir=workdir)
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Subject)) != n_subjects:
            for table in ("checks", "listing_events", "listings", "subjects"):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.commit()
            for chunk in chunked(subjects(n_subjects), 20_000):
                conn.execute(insert(Subject), chunk)
                conn.commit()
            for chunk in chunked(listings(n_subjects, n_listings), 5_000):
                conn.execute(insert(Listing), chunk)
            for chunk in chunked(events(n_listings), 5_000):
                conn.execute(insert(ListingEvent), chunk)
            if engine.dialect.name == "postgresql":
                for table in ("subjects", "listings", "listing_events"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT max(id) FROM {table}))"))
            conn.commit()
        conn.execute(text("DELETE FROM checks"))
        conn.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    print(f"data ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    write_codes(n_subjects, n_listings, workdir)
    token = blacklist_cli("tokens", "create", "--role", "officer", "--name", "bench", url=url,
                          workdir=workdir).strip().splitlines()[-1]
    (workdir / "token.txt").write_text(token + "\n")


def write_codes(n_subjects: int, n_listings: int, workdir: Path) -> None:
    """Codes the load rotates through: a third listed, a third known unlisted, a third unknown."""
    step = max(1, n_subjects // n_listings)
    listed = [uscc(1 + k * step) for k in range(0, n_listings, max(1, n_listings // 1000))][:1000]
    unlisted = [uscc(1 + step // 2 + (k * 997 % n_listings) * step) for k in range(1000)]
    unknown = [unknown_uscc(k) for k in range(1000)]
    mixed = [code for triple in zip(listed, unlisted, unknown) for code in triple]
    (workdir / "codes.txt").write_text("\n".join(mixed) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    build(args.url, args.subjects, args.listings, args.workdir)


if __name__ == "__main__":
    main()
