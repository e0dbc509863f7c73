"""durable_rules against the Python evaluator, in child processes (a segfault fails one test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def run_child(*args: str, timeout: float = 300) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-X", "faulthandler", "-W", "error",
                           "-W", "ignore::DeprecationWarning",
                           str(HERE / "rules_engine_child.py"), *args],
                          cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode < 0:
        pytest.fail(f"engine child died of {signal.Signals(-done.returncode).name}:\n"
                    f"{done.stderr[-4000:]}")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_engine_agrees_on_every_golden_case() -> None:
    assert "golden ok" in run_child("golden")


def test_engine_agrees_on_random_record_sets() -> None:
    assert "agree ok" in run_child("agree", "300")


def test_engine_in_process_fires_and_cleans_up() -> None:
    # One in-process smoke test of the adapter itself, run in a child for isolation too.
    code = (
        "from rules.packs import load_packs\n"
        "from rules import engine, facts\n"
        "from rules_factories import penalty, unit, day\n"
        "pack = next(p for p in load_packs() if p.id == 'cn-2023-mem11')\n"
        "u = unit(1)\n"
        "ctx = facts.Context([penalty('P1', u, '2024-01-05', ('permit.none',), serious=True)],"
        " day('2025-01-01'), [pack])\n"
        "fs = facts.build(ctx, u['key'], pack)\n"
        "for _ in range(1500):\n"
        "    got = engine.fired(pack, fs)\n"
        "assert got == {('mem11.b1', fs[0].id), ('mem11.b4', fs[0].id)}, got\n"
        "assert engine.fired(pack, []) == set()\n"
        "assert len(engine._registered) == 1\n"
        "print('adapter ok')\n")
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    done = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], cwd=HERE,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "adapter ok" in done.stdout, done.stderr[-4000:]
