"""Eligibility benchmark (issue 5): single checks against /healthz under the same load, and
a batch of 100,000 subjects, on a served deployment (`blacklist serve`, gunicorn).

    python -m benchmarks.bench_eligibility --url sqlite:////tmp/eligbench/bench.db \
        --workdir /tmp/eligbench [--build] [--workers 2 --threads 4 --duration 30]

With `--build` the database is (re)filled first (benchmarks/eligibility_data.py:
1,000,000 subjects, 20,000 listings). Then, against one server: a warm-up, wrk on /healthz and
wrk on the check (benchmarks/eligibility_wrk.lua rotating listed, known unlisted and
unknown codes over the domains) in alternating rounds, at the same connections and duration; then the batch
POSTed `--batches` times, its server time taken from gunicorn's access log (%(M)s) and each
worker's peak RSS (VmHWM) from /proc. Every check must leave a row in `checks`: the rows
added are compared with the answers wrk counted. Results go to WORKDIR/result-LABEL.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.eligibility_data import build, cli_env, unknown_uscc, uscc
from blacklist.db import make_engine
from blacklist.models import Check

HERE = Path(__file__).parent
LUA = HERE / "eligibility_wrk.lua"


def wrk(base: str, mode: str, workdir: Path, token: str, connections: int, duration: int,
        threads: int, delay_ms: int = 0) -> dict[str, Any]:
    """One wrk run; with `delay_ms` each connection pauses that long between requests."""
    env = dict(os.environ, ELIG_MODE=mode, ELIG_TOKEN=token, ELIG_CODES=str(workdir / "codes.txt"),
               ELIG_DELAY_MS=str(delay_ms))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
                          "--timeout", "10s", "-s", str(LUA), base], env=env, capture_output=True,
                         text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    return result


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput over all rounds; latency percentiles as the median of the rounds' (and the worst)."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["duration_us"] for r in runs) / 1e6
    cpu = sum(r["worker_cpu_s"] for r in runs)
    out: dict[str, Any] = {"requests": requests, "rps": round(requests / seconds, 1),
                           "worker_cpu_us_per_request": round(cpu / max(requests, 1) * 1e6),
                           "non2xx": sum(r["non2xx"] for r in runs),
                           "errors": sum(r[k] for r in runs for k in ("connect_errors", "read_errors", "write_errors",
                                                                      "timeouts"))}
    for key in ("p50_ms", "p90_ms", "p99_ms"):
        values = sorted(r[key] for r in runs)
        out[key] = values[len(values) // 2]
        out[key.replace("_ms", "_worst_ms")] = values[-1]
    out["rounds"] = runs
    return out


def check_rows(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Check)) or 0
    engine.dispose()
    return count


def workers_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def workers_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server's workers have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for worker in workers_of(pid):
        try:
            fields = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def batch_body(size: int, n_subjects: int, n_listings: int) -> bytes:
    """`size` distinct subjects, in the proportions of the database: one in 50 listed (one in ten
    of those listings has run out), one in ten unknown, the rest known and never listed."""
    step = max(1, n_subjects // n_listings)
    subjects = []
    for i in range(size):
        if i % 50 == 0:
            code = uscc(1 + (i // 50 % n_listings) * step)
        elif i % 10 == 1:
            code = unknown_uscc(i)
        else:
            j = i * 7919 % (n_listings * (step - 1))
            code = uscc(2 + j % n_listings * step + j // n_listings)  # never a listed one (1 + k * step)
        subjects.append({"uscc": code})
    return json.dumps({"domain": "bidding", "subjects": subjects}).encode()


def post_batch(base: str, token: str, body: bytes) -> tuple[float, int, int]:
    """(client seconds, status, response bytes)."""
    req = urllib.request.Request(base + "/api/v1/eligibility/batch", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as response:
        data = response.read()
        status = response.status
    return time.perf_counter() - started, status, len(data)


def batch_times_ms(log: Path) -> list[int]:
    """gunicorn's request times (%(M)s ms) of the batch POSTs in the access log, in order."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if "POST /api/v1/eligibility/batch" in line:
            match = re.search(r"(\d+)ms$", line.strip())
            if match:
                found.append(int(match.group(1)))
    return found


def wait_ready(base: str, proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not become ready")


def start_server(env: dict[str, str], workdir: Path, port: int, workers: int, threads: int, log: Path
                 ) -> subprocess.Popen[bytes]:
    """`blacklist serve` with the rate limit lifted, its access log to `log`."""
    env = {**env, "BLACKLIST_RATE_LIMIT": "1000000000/minute", "BLACKLIST_WORKERS": str(workers),
           "BLACKLIST_THREADS": str(threads)}
    exe = Path(sys.executable).with_name("blacklist")
    with open(log, "wb") as out:
        return subprocess.Popen([str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn finishes its requests and flushes its log), SIGKILL after 30 s."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir: Path = args.workdir
    token = (workdir / "token.txt").read_text().strip()
    env = cli_env(args.url, workdir)
    log = workdir / f"access-{args.label}.log"
    server = start_server(env, workdir, args.port, args.workers, args.threads, log)
    base = f"http://127.0.0.1:{args.port}"
    result: dict[str, Any] = {"label": args.label, "url": args.url.split("@")[-1], "workers": args.workers,
                              "threads": args.threads, "connections": args.connections,
                              "duration_s": args.duration}
    try:
        wait_ready(base, server)
        wrk_args = (workdir, token, args.connections)
        wrk(base, "check", *wrk_args, args.warmup, args.wrk_threads)
        wrk(base, "healthz", *wrk_args, args.warmup, args.wrk_threads)
        before = check_rows(args.url)
        result["check_rows_at_start"] = before
        result["load_before"] = os.getloadavg()
        rounds: dict[str, list[dict[str, Any]]] = {"healthz": [], "check": []}
        for _ in range(args.rounds):  # alternating, so that other load on the machine falls on both alike
            for mode in ("healthz", "check"):
                cpu = workers_cpu(server.pid)
                run = wrk(base, mode, *wrk_args, args.duration // args.rounds, args.wrk_threads)
                run["worker_cpu_s"] = round(workers_cpu(server.pid) - cpu, 2)
                rounds[mode].append(run)
        time.sleep(1)
        result["load_after"] = os.getloadavg()
        result["check_rows_added"] = check_rows(args.url) - before
        for mode, runs in rounds.items():
            result[mode] = summary(runs)
        result["ratio"] = round(result["check"]["rps"] / result["healthz"]["rps"], 3)
        if args.light_connections:
            # The same check at a light load: the service time, with little queueing in front of it.
            cpu = workers_cpu(server.pid)
            light = wrk(base, "check", workdir, token, args.light_connections, 10, 1)
            light["worker_cpu_s"] = round(workers_cpu(server.pid) - cpu, 2)
            result["check_light"] = summary([light])
        result["cpu_ratio"] = round(result["healthz"]["worker_cpu_us_per_request"]
                                    / result["check"]["worker_cpu_us_per_request"], 3)
        if args.batch_size:
            body = batch_body(args.batch_size, args.subjects, args.listings)
            batches = []
            for _ in range(args.batches):
                seconds, status, size = post_batch(base, token, body)
                batches.append({"client_s": round(seconds, 3), "status": status, "response_mb": round(size / 2**20, 1)})
            result["batch"] = batches
            result["workers_memory_mib"] = {str(pid): memory(pid) for pid in workers_of(server.pid)}
    finally:
        stop_server(server)
    # The access log is complete once the server has stopped (its stdout is buffered).
    for batch, ms in zip(result.get("batch", []), batch_times_ms(log)):
        batch["server_ms"] = ms
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--build", action="store_true", help="fill the database first")
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--light-connections", type=int, default=4, help="also the check alone at this load (0: no)")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per endpoint, over all rounds")
    parser.add_argument("--rounds", type=int, default=3, help="alternating healthz/check rounds")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--label", default="run")
    args = parser.parse_args()
    if args.build:
        build(args.url, args.subjects, args.listings, args.workdir)
    result = run(args)
    (args.workdir / f"result-{args.label}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
