"""CPU cost per request of /healthz and the single check, in one process without a server:
the app's WSGI callable driven by werkzeug's test client, so other load on the machine
matters less than under wrk. For profiling the hot path (`--profile` prints cProfile's top).

    python -m benchmarks.eligibility_cpu --url sqlite:////tmp/eligbench/bench.db \
        --workdir /tmp/eligbench --requests 3000 [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

from benchmarks.eligibility_data import cli_env
from blacklist.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", choices=("healthz", "check"), help="load one endpoint (to sample it with py-spy)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()
    env = cli_env(args.url, args.workdir)
    env["BLACKLIST_RATE_LIMIT"] = "1000000000/minute"
    os.chdir(args.workdir)
    from web import create_app

    app = create_app(Settings.from_env(env))
    client = app.test_client()
    token = (args.workdir / "token.txt").read_text().strip()
    codes = (args.workdir / "codes.txt").read_text().split()
    headers = {"Authorization": f"Bearer {token}"}
    domains = ("procurement", "bidding", "land", "financing", "inspection")
    paths = {"healthz": ["/healthz"],
             "check": [f"/api/v1/eligibility?uscc={c}&domain={domains[i % len(domains)]}" for i, c in enumerate(codes)]}
    if args.only:
        paths = {args.only: paths[args.only]}
    for name, urls in paths.items():
        for url in urls[:200]:
            assert client.get(url, headers=headers).status_code == 200
    if args.profile:
        for name, urls in paths.items():
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(args.requests):
                client.get(urls[i % len(urls)], headers=headers)
            profiler.disable()
            print(name)
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        return
    # Rounds alternate between the two so that other load on the machine hits both alike;
    # the best round of each is the least disturbed.
    best = {name: float("inf") for name in paths}
    offset = 0
    for _ in range(args.rounds):
        for name, urls in paths.items():
            cpu = time.process_time()
            for i in range(args.requests // args.rounds):
                client.get(urls[(offset + i) % len(urls)], headers=headers)
            best[name] = min(best[name], (time.process_time() - cpu) / (args.requests // args.rounds))
        offset += args.requests // args.rounds
    for name, seconds in best.items():
        print(f"{name}: {seconds * 1e6:.0f} µs CPU per request (best of {args.rounds} rounds)")
    if len(best) == 2:
        print(f"ratio of throughputs if CPU-bound: {best['healthz'] / best['check']:.2f}")

if __name__ == "__main__":
    main()
