"""Publication benchmark: `blacklist publish` of N changes (default 10,000) to a local
receiver (`blacklist platform-sim`), over real HTTP on 127.0.0.1.

    .venv/bin/python -m benchmarks.bench_publish --changes 10000 [--batch-size 500] [--database-url URL]

Fills a fresh database (SQLite in a temporary folder unless --database-url names an empty
one), starts the simulator, times the real command as a child process (start-up
included), and checks every change arrived exactly once. Goal: 10,000 in ≤ 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_export import BLACKLIST, fill, refuse_a_used_database
from blacklist.db import make_engine
from blacklist.migrate import upgrade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--secret", default="bench-secret", help="sign batches (HMAC) with this; '' for none")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary folder)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    refuse_a_used_database(engine)
    upgrade(engine)
    fill(engine, args.changes, listings=min(2000, args.changes))
    engine.dispose()
    env = {**os.environ, "BLACKLIST_DATABASE_URL": url, "BLACKLIST_ID_HASH_KEY": "bench",
           "BLACKLIST_SECRET_KEY": "bench", "BLACKLIST_PLATFORM_SECRET": args.secret, "PYTHONUNBUFFERED": "1"}
    sim = subprocess.Popen([BLACKLIST, "platform-sim", "--port", "0"], env=env, cwd=workdir,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        receiver = sim.stdout.readline().rsplit(" ", 1)[-1].strip()
        started = time.perf_counter()
        done = subprocess.run([BLACKLIST, "publish", "--batch-size", str(args.batch_size)], cwd=workdir,
                              env={**env, "BLACKLIST_PLATFORM_URL": receiver}, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"publish failed: {done.stdout}{done.stderr}")
        import requests

        got = requests.get(receiver + "/received", timeout=30).json()
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    ok = got["unique"] == args.changes and got["duplicates"] == 0
    result = {"database": url.split("://")[0], "changes": args.changes, "batch_size": args.batch_size,
              "signed": bool(args.secret), "seconds": round(seconds, 2), "rate_per_s": round(args.changes / seconds),
              "requests": got["requests"], "unique_received": got["unique"], "duplicates": got["duplicates"],
              "exactly_once": ok}
    print(f"published {args.changes} changes in {seconds:.2f} s ({result['rate_per_s']}/s) in "
          f"{got['requests']} requests; received {got['unique']} unique, {got['duplicates']} duplicates",
          file=sys.stderr)
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
