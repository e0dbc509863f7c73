"""Backup and restore into an empty database: the same checks give the same answers and
receipts issued before still verify."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.conftest import ID_KEY, Client, serve
from tests.factories import UNIT
from tests.test_workflow import listed_case

BIN = Path(sys.executable).parent / "blacklist"


def _empty_target(database_url: str, tmp_path: Path) -> tuple[str, Any]:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}", None
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target = database_url.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return target, drop


def test_backup_restore_answers_the_same(client: Client, token: Any, database_url: str, settings: Any,
                                         tmp_path: Path) -> None:
    from dataclasses import replace

    from web import create_app

    tokens = {"system": token("system"), "regulator": token("regulator"), "officer": token("officer")}
    listed_case(client, tokens)
    params = {"uscc": UNIT, "domain": "procurement", "as_of": "2025-01-01"}
    before = client.get("/api/v1/eligibility", tokens["officer"], params=params).json()
    env = {**os.environ, "BLACKLIST_DATABASE_URL": database_url, "BLACKLIST_ID_HASH_KEY": ID_KEY.decode()}
    snapshot = tmp_path / "snap.bak"
    done = subprocess.run([str(BIN), "backup", str(snapshot)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    target, drop = _empty_target(database_url, tmp_path)
    try:
        env["BLACKLIST_DATABASE_URL"] = target
        done = subprocess.run([str(BIN), "restore", "--yes", str(snapshot)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        server, base = serve(create_app(replace(settings, database_url=target)))
        try:
            restored = Client(base)
            after = restored.get("/api/v1/eligibility", tokens["officer"], params=params).json()
            for key in ("eligible", "effect", "measures", "listings", "list_version", "subject"):
                assert after[key] == before[key], key
            assert restored.post("/api/v1/receipts/verify", json=before["receipt"]).json()["valid"] is True
        finally:
            server.shutdown()
    finally:
        if drop:
            drop()
