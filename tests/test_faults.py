"""Faults: an import killed with SIGKILL leaves whole records only and completes when run
again; with the database gone, requests answer 503 and the service recovers by itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from blacklist.audit import verify
from tests.conftest import ID_KEY, Client, serve
from tests.factories import accident, penalty, unit, uscc
from tests.test_server_kill import consistent_records

BIN = Path(sys.executable).parent / "blacklist"


def big_file(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            subject = unit(code=uscc(i % 1500), name=f"测试化工{i % 1500}有限公司")
            rec = accident(f"ACC-{i}", subject=subject) if i % 2 == 0 else penalty(f"PEN-{i}", subject=subject)
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def test_sigkill_during_import_leaves_no_partial_record(database_url: str, db: Session, tmp_path: Path) -> None:
    path = big_file(tmp_path / "big.jsonl", 6000)
    env = {**os.environ, "BLACKLIST_DATABASE_URL": database_url, "BLACKLIST_ID_HASH_KEY": ID_KEY.decode()}
    proc = subprocess.Popen([str(BIN), "import", str(path)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once some chunks are in, before it ends
        count = db.execute(text("SELECT count(*) FROM records")).scalar_one()
        db.rollback()
        if count > 0 or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = db.execute(text("SELECT count(*) FROM records")).scalar_one()
    consistent_records(db)
    done = subprocess.run([str(BIN), "import", str(path)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{6000 - partial} accepted, {partial} unchanged" in done.stdout
    assert db.execute(text("SELECT count(*) FROM records")).scalar_one() == 6000
    assert verify(db).ok


class Proxy:
    """A TCP proxy to the database that can be cut and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        self.open = False
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conns.clear()

    def restore(self) -> None:
        self.open = True


def test_database_outage_is_503_then_recovers(database_url: str, settings: Any, token: Any, db: Session) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the outage is simulated on the PostgreSQL connection (TEST_DATABASE_URL)")
    from dataclasses import replace

    from web import create_app

    url = make_url(database_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    officer = token("officer")
    server, base = serve(create_app(replace(settings, database_url=proxied)))
    try:
        client = Client(base)
        assert client.get("/healthz").status_code == 200
        proxy.cut()
        down = client.get("/api/v1/eligibility", officer, params={"uscc": uscc(1), "domain": "land"})
        assert down.status_code == 503
        assert down.headers["Content-Type"] == "application/problem+json" and down.headers["Retry-After"]
        proxy.restore()
        statuses = []
        for _ in range(20):
            statuses.append(client.get("/api/v1/eligibility", officer,
                                       params={"uscc": uscc(1), "domain": "land"}).status_code)
            if statuses[-1] == 200:
                break
            time.sleep(0.2)
        assert statuses[-1] == 200, statuses
    finally:
        server.shutdown()
