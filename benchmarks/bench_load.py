"""Load test (issue 8): single checks at a steady rate for a long time against gunicorn.

    python -m benchmarks.bench_load --url sqlite:////tmp/eligbench/bench.db --workdir /tmp/eligbench \
        [--rate 800 --duration 600 --connections 16]

The database is the eligibility benchmark's (`benchmarks/eligibility_data.py`, or
`bench_eligibility --build`): 1,000,000 subjects, 20,000 listings. The target rate is 4x the
expected daily peak of 200 checks/s. wrk paces each connection with `delay()` (ELIG_DELAY_MS),
the pause calibrated in a short first run so that the connections together ask `--rate`
checks a second. While it runs, every worker's resident memory is sampled each
`--sample-every` seconds, so that a leak shows as a slope. Every answered check must have
left its row in `checks`.

wrk measures latency from the moment it sends a request, so a stall that delays the next
request of a connection is not counted against it (no coordinated-omission correction);
the achieved rate is reported beside the target to show whether the server kept up.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_eligibility import check_rows, memory, start_server, stop_server, wait_ready, workers_of, wrk
from benchmarks.eligibility_data import cli_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--rate", type=int, default=800, help="checks a second to ask for (4x a 200/s peak)")
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--sample-every", type=int, default=10)
    parser.add_argument("--label", default="load")
    args = parser.parse_args()

    workdir: Path = args.workdir
    token = (workdir / "token.txt").read_text().strip()
    server = start_server(cli_env(args.url, workdir), workdir, args.port, args.workers, args.threads,
                          workdir / f"access-{args.label}.log")
    base = f"http://127.0.0.1:{args.port}"
    result: dict[str, Any] = {"label": args.label, "url": args.url.split("@")[-1], "target_rps": args.rate,
                              "duration_s": args.duration, "connections": args.connections,
                              "workers": args.workers, "threads": args.threads}
    try:
        wait_ready(base, server)
        # Calibrate: the pause that, with the latency seen at this load, gives the target rate.
        delay = max(0, round(args.connections * 1000 / args.rate))
        for _ in range(3):
            trial = wrk(base, "check", workdir, token, args.connections, 5, 2, delay)
            per_request = args.connections * 1000 / max(trial["rps"], 1) - delay  # ms a request takes
            delay = max(0, round(args.connections * 1000 / args.rate - per_request))
        result["delay_ms"] = delay
        before = check_rows(args.url)
        samples: list[dict[str, Any]] = []
        outcome: dict[str, Any] = {}
        runner = threading.Thread(target=lambda: outcome.update(
            wrk(base, "check", workdir, token, args.connections, args.duration, 2, delay)))
        started = time.monotonic()
        runner.start()
        while runner.is_alive():
            runner.join(args.sample_every)
            rss = {str(pid): memory(pid)["VmRSS"] for pid in workers_of(server.pid)}
            samples.append({"t": round(time.monotonic() - started), "rss_mib": rss, "load": os.getloadavg()[0]})
        result["wrk"] = outcome
        result["check_rows_added"] = check_rows(args.url) - before
        result["memory_samples"] = samples
        per_worker: dict[str, list[int]] = {}
        for sample in samples:
            for pid, rss in sample["rss_mib"].items():
                per_worker.setdefault(pid, []).append(rss)
        # First sample after a minute (warm caches) against the last one.
        skip = max(1, 60 // args.sample_every)
        result["memory_mib"] = {pid: {"after_1_min": v[min(skip, len(v) - 1)], "end": v[-1], "max": max(v)}
                                for pid, v in per_worker.items()}
    finally:
        stop_server(server)
    out = workdir / f"load-{args.label}.json"
    out.write_text(json.dumps(result, indent=1))
    w = result.get("wrk", {})
    print(json.dumps({k: result[k] for k in ("label", "url", "target_rps", "duration_s", "delay_ms",
                                              "check_rows_added", "memory_mib") if k in result}
                     | {k: w.get(k) for k in ("requests", "rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "non2xx",
                                             "connect_errors", "read_errors", "write_errors", "timeouts")}))


if __name__ == "__main__":
    main()
