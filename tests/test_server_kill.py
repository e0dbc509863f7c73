"""SIGKILL of the served product (`blacklist serve`: gunicorn master and workers, one
process group) in the middle of a large record import and in the middle of decisions.
After a restart nothing is half-written, no event is lost or doubled, the audit chain
verifies, and sending the same requests again completes the work exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from blacklist.audit import verify
from blacklist.models import Case, Change, Listing, ListingEvent
from tests.conftest import ID_KEY, Client, cli_env
from tests.factories import accident, penalty, unit, uscc

BIN = Path(sys.executable).parent / "blacklist"


class Server:
    """`blacklist serve` on a free port, in a process group of its own."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = cli_env(database_url, BLACKLIST_SIGNING_KEY=str(tmp_path / "signing.pem"),
                           BLACKLIST_RATE_LIMIT="100000/minute", BLACKLIST_WORKERS="2", BLACKLIST_THREADS="4")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([str(BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=self.env, start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited"
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("the server did not come up")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)  # master and workers, no chance to clean up
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


def post_in_background(url: str, token: str, bodies: list[Any]) -> list[threading.Thread]:
    def send(body: Any) -> None:
        try:
            requests.post(url if not isinstance(body, tuple) else url.format(body[0]),
                          json=body if not isinstance(body, tuple) else body[1],
                          headers={"Authorization": f"Bearer {token}"}, timeout=120)
        except requests.RequestException:
            pass  # the server died under it: that is the point
    threads = [threading.Thread(target=send, args=(body,), daemon=True) for body in bodies]
    for thread in threads:
        thread.start()
    return threads


def consistent_records(db: Session) -> None:
    """Every stored record has exactly its version rows, no version is orphaned, and no
    case was opened twice for the same evidence."""
    broken = db.execute(text(
        "SELECT count(*) FROM records r WHERE (SELECT count(*) FROM record_versions v "
        "WHERE v.record_id = r.record_id) != r.version")).scalar_one()
    orphans = db.execute(text(
        "SELECT count(*) FROM record_versions v LEFT JOIN records r ON r.record_id = v.record_id "
        "WHERE r.record_id IS NULL")).scalar_one()
    twice = db.execute(text(
        "SELECT count(*) FROM (SELECT subject_id, rule, evidence_key FROM cases "
        "GROUP BY subject_id, rule, evidence_key HAVING count(*) > 1) AS d")).scalar_one()
    db.rollback()
    assert (broken, orphans, twice) == (0, 0, 0)


def test_server_killed_during_a_large_import(database_url: str, db: Session, token: Any, tmp_path: Path) -> None:
    system = token("system")
    records = []
    for i in range(3000):
        subject = unit(code=uscc(i % 1000), name=f"测试化工{i % 1000}有限公司")
        records.append(accident(f"ACC-K{i}", subject=subject, deaths=1 + i % 4) if i % 2 == 0
                       else penalty(f"PEN-K{i}", subject=subject, accident_id=f"ACC-K{i - 1}"))
    server = Server(database_url, tmp_path)
    server.start()
    try:
        batches = [records[i:i + 500] for i in range(0, len(records), 500)]
        post_in_background(server.base + "/api/v1/records", system, batches)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill once some batches are in and others are not
            stored = db.execute(text("SELECT count(*) FROM records")).scalar_one()
            db.rollback()
            if stored > 0:
                break
            time.sleep(0.02)
        server.kill()
        partial = db.execute(text("SELECT count(*) FROM records")).scalar_one()
        db.rollback()
        assert 0 < partial <= len(records)
        consistent_records(db)
        assert verify(db).ok
        db.rollback()  # a fresh snapshot for what follows

        server.start()
        client = Client(server.base)
        for batch in batches:  # the sender retries everything; what is in already is unchanged
            response = client.post("/api/v1/records", system, json=batch)
            assert response.status_code == 200, response.text
        assert db.execute(text("SELECT count(*) FROM records")).scalar_one() == len(records)
        db.rollback()
        consistent_records(db)
        assert verify(db).ok
    finally:
        server.stop()


def test_server_killed_during_decisions(database_url: str, client: Client, db: Session, token: Any,
                                        tmp_path: Path) -> None:
    system, reg = token("system"), token("regulator", "王科长")
    units = [unit(code=uscc(500 + n), name=f"测试矿业{n}有限公司") for n in range(12)]
    records = []
    for n, subject in enumerate(units):  # mem11.a1: a major liability accident and its penalty
        records += [accident(f"ACC-D{n}", subject=subject, deaths=11, occurred_on="2024-05-06"),
                    penalty(f"PEN-D{n}", subject=subject, accident_id=f"ACC-D{n}")]
    assert client.post("/api/v1/records", system, json=records).status_code == 200
    case_ids = sorted(db.scalars(select(Case.id).where(Case.rule == "mem11.a1")))
    db.rollback()
    assert len(case_ids) == 12
    for case_id in case_ids:
        served = client.post(f"/api/v1/cases/{case_id}/notice", reg, json={"served_on": "2024-09-23"})
        assert served.status_code == 200, served.text
    decision = {"outcome": "list", "decided_on": "2024-09-30", "document_no": "陕应急信决〔2024〕9号",
                "reason": "事故责任"}

    server = Server(database_url, tmp_path)
    server.start()
    try:
        post_in_background(server.base + "/api/v1/cases/{}/decision", reg,
                           [(case_id, decision) for case_id in case_ids])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill once some decisions are in
            if db.scalar(select(func.count()).select_from(Listing)):
                break
            db.rollback()
            time.sleep(0.01)
        server.kill()
        db.rollback()

        server.start()
        again = Client(server.base)
        statuses = {}
        for case_id in case_ids:  # the regulator sends each decision again
            response = again.post(f"/api/v1/cases/{case_id}/decision", reg, json=decision)
            statuses[case_id] = response.status_code
            assert response.status_code in (200, 409), response.text
        assert 409 in statuses.values(), statuses  # some were decided before the kill

        for case_id in case_ids:
            [listing] = db.scalars(select(Listing).where(Listing.case_id == case_id)).unique().all()
            kinds = db.scalars(select(ListingEvent.kind).where(ListingEvent.listing_id == listing.id)).all()
            changes = db.scalars(select(Change.kind).where(Change.listing_id == listing.id)).all()
            assert (list(kinds), list(changes)) == (["listed"], ["listed"]), case_id
            assert db.get(Case, case_id).status == "decided"  # type: ignore[union-attr]
        db.rollback()
        assert verify(db).ok
    finally:
        server.stop()
