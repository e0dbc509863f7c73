"""Chunk runners for test_rules_batch.py; imported by spawned children by module name."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from rules.batch import run_chunk
from rules.evaluate import SubjectEvaluation
from rules.packs import Pack


def crash_once(records: list[Mapping[str, Any]], as_of: date, packs: Sequence[Pack],
               engine: bool, prior: Mapping[str, int]) -> list[SubjectEvaluation]:
    marker = Path(os.environ["RULES_BATCH_MARKER"])
    if not marker.exists():
        marker.write_text("crashed")
        os.kill(os.getpid(), signal.SIGSEGV)
    return run_chunk(records, as_of, packs, engine, prior)


def crash_always(records: list[Mapping[str, Any]], as_of: date, packs: Sequence[Pack],
                 engine: bool, prior: Mapping[str, int]) -> list[SubjectEvaluation]:
    os.kill(os.getpid(), signal.SIGSEGV)
    raise AssertionError("unreachable")
