"""Deployment settings: one frozen object, read once at the edge."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PREFIX = "BLACKLIST_"


def _instance_dir() -> Path:
    return Path.cwd() / "instance"


def _key_from_file(path: Path) -> str:
    """A generated key kept in the instance folder, for deployments that set none."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a deployment can configure; tests build it directly."""

    database_url: str = "sqlite:///instance/blacklist.db"
    # A read replica for the eligibility lookups (the checks' SELECTs); their records, and
    # everything else, go to `database_url`. None: the primary answers the checks too.
    read_database_url: str | None = None
    # PostgreSQL: single checks on a pool of their own with generic plans and asynchronous
    # commit (`blacklist.db.make_check_engine`). Off behind a PgBouncer that refuses the
    # `options` startup parameter (add `options` to its ignore_startup_parameters, or set
    # BLACKLIST_CHECK_POOL=0).
    check_pool: bool = True
    secret_key: str = field(default="dev-only-not-secret", repr=False)
    id_hash_key: bytes = field(default=b"dev-only-id-key", repr=False)
    signing_key_path: str | None = None
    platform_url: str | None = None
    platform_secret: str | None = field(default=None, repr=False)
    redis_url: str | None = None
    rate_limit: str = "6000/minute"
    holidays_file: str | None = None
    pack_files: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"
    workers: int = 2
    threads: int = 4
    max_content_length: int = 64 * 1024 * 1024
    batch_limit: int = 100_000
    secure_cookies: bool = False
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Port it trusts
    # (the client's address for rate limits; https and the public host in receipt links).
    proxies: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Read `BLACKLIST_*` variables; generate instance keys where none are set."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name)
            return value if value not in (None, "") else None

        instance = _instance_dir()
        url = get("DATABASE_URL")
        if url is None:
            instance.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{instance / 'blacklist.db'}"
        secret = get("SECRET_KEY") or _key_from_file(instance / "secret.key")
        id_key = get("ID_HASH_KEY") or _key_from_file(instance / "id_hash.key")
        packs = get("PACK_FILES")
        return cls(
            database_url=url,
            read_database_url=get("READ_DATABASE_URL"),
            check_pool=(get("CHECK_POOL") or "1").lower() not in ("0", "false", "no"),
            secret_key=secret,
            id_hash_key=id_key.encode(),
            signing_key_path=get("SIGNING_KEY") or str(instance / "signing_key.pem"),
            platform_url=get("PLATFORM_URL"),
            platform_secret=get("PLATFORM_SECRET"),
            redis_url=get("REDIS_URL"),
            rate_limit=get("RATE_LIMIT") or cls.rate_limit,
            holidays_file=get("HOLIDAYS_FILE"),
            pack_files=tuple(p for p in (packs or "").split(os.pathsep) if p),
            secure_cookies=(get("SECURE_COOKIES") or "").lower() in ("1", "true", "yes"),
            workers=int(get("WORKERS") or cls.workers),
            proxies=int(get("PROXIES") or cls.proxies),
            threads=int(get("THREADS") or cls.threads),
        )
