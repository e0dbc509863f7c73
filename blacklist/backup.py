"""Consistent snapshots: SQLite's online backup API, or pg_dump / pg_restore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    pass


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres",
            "-d", u.database or "postgres"]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


def backup(url: str, target: Path) -> Path:
    """Write a consistent snapshot of the database at `url` to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(url))
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)  # a consistent copy even while writers are active (WAL)
        finally:
            dest.close()
            source.close()
        return target
    args, env = _pg_args(url)
    done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), *args],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database at `url` with the snapshot `source` (the target should be empty)."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        src = sqlite3.connect(source)
        dest = sqlite3.connect(path)
        try:
            src.backup(dest)
        finally:
            dest.close()
            src.close()
        return
    args, env = _pg_args(url)
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           *args, str(source)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
