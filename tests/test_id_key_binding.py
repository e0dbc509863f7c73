"""A database is bound to the identity-hash key it was first used with; a process with
another key is refused before it reads or writes (blacklist.deployment).

Without this, a command run from another directory without BLACKLIST_ID_HASH_KEY takes
the key generated in that directory's instance/: every person would hash differently, a
listed person's check would answer "no record", and a re-import would store every
person-bearing record again (seen on the import benchmark's database).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from blacklist.deployment import ID_KEY_FACT, KeyMismatchError, bind_id_key, key_fingerprint
from blacklist.models import DeploymentFact, RecordVersion
from blacklist.settings import Settings
from tests.conftest import ID_KEY, cli_env
from tests.factories import PERSON, accident, unit

BIN = Path(sys.executable).parent / "blacklist"


def _run(database_url: str, cwd: Path, *args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    env = cli_env(database_url)
    if key is None:
        del env["BLACKLIST_ID_HASH_KEY"]
    else:
        env["BLACKLIST_ID_HASH_KEY"] = key
    return subprocess.run([str(BIN), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _bound(db: Session) -> str | None:
    return db.scalar(select(DeploymentFact.value).where(DeploymentFact.name == ID_KEY_FACT))


def test_first_use_binds_and_the_same_key_passes(engine: Engine, db: Session) -> None:
    assert _bound(db) is None
    assert bind_id_key(engine, ID_KEY) is True
    db.rollback()
    assert _bound(db) == key_fingerprint(ID_KEY)
    assert bind_id_key(engine, ID_KEY) is True  # again: nothing changes
    with pytest.raises(KeyMismatchError, match="BLACKLIST_ID_HASH_KEY"):
        bind_id_key(engine, b"another key")
    db.rollback()
    assert _bound(db) == key_fingerprint(ID_KEY)


def test_fingerprints_differ_by_key_and_do_not_reveal_it() -> None:
    assert key_fingerprint(b"a") != key_fingerprint(b"b")
    assert key_fingerprint(b"a") == key_fingerprint(b"a")
    # keyed (an HMAC of a fixed label), not a plain hash of the key that could be looked up
    assert len(key_fingerprint(b"secret-key")) == 32
    assert key_fingerprint(b"secret-key") != hashlib.sha256(b"secret-key").hexdigest()[:32]


def test_import_from_another_directory_without_the_key_is_refused(
        database_url: str, db: Session, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    person = {"name": "张三", "id_number": PERSON}
    records.write_text(json.dumps(accident("KEYACC-1", subject=unit(main_person=person)), ensure_ascii=False) + "\n",
                       encoding="utf-8")
    first = _run(database_url, tmp_path, "import", str(records), "--no-evaluate", key=ID_KEY.decode())
    assert first.returncode == 0, first.stdout + first.stderr
    versions = db.scalar(select(func.count()).select_from(RecordVersion))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = _run(database_url, elsewhere, "import", str(records), "--no-evaluate", key=None)
    assert refused.returncode == 1
    assert "identity-hash key" in refused.stderr and "BLACKLIST_ID_HASH_KEY" in refused.stderr
    db.rollback()
    assert db.scalar(select(func.count()).select_from(RecordVersion)) == versions  # nothing written
    again = _run(database_url, tmp_path, "import", str(records), "--no-evaluate", key=ID_KEY.decode())
    assert again.returncode == 0 and "1 unchanged" in again.stdout, again.stdout + again.stderr


def test_the_app_refuses_to_start_with_another_key(settings: Settings, engine: Engine, db: Session,
                                                  tmp_path: Path) -> None:
    from web import create_app

    bind_id_key(engine, ID_KEY)
    other = Settings(database_url=settings.database_url, secret_key="x", id_hash_key=b"not the deployment's key",
                     signing_key_path=str(tmp_path / "signing.pem"))
    with pytest.raises(KeyMismatchError):
        create_app(other)
    assert create_app(settings) is not None


def test_serve_refuses_another_key_before_starting(database_url: str, engine: Engine, db: Session,
                                                   tmp_path: Path) -> None:
    bind_id_key(engine, ID_KEY)
    done = _run(database_url, tmp_path, "serve", "--port", "0", key="wrong-key")
    assert done.returncode == 1 and "BLACKLIST_ID_HASH_KEY" in done.stderr
