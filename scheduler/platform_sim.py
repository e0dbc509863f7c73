"""A credit-platform simulator for tests and demos: a real threaded HTTP server that
validates batches as api.md describes them, stores them, counts duplicate change ids, and
fails on command (503s, a dropped connection after accepting, a stall after accepting).

POST /         a batch                      GET /received   what arrived
POST /control  {"fail", "drop", "stall",    POST /reset     forget everything
                "stall_seconds", "status"}  GET /healthz
Faults are used up in that order: the next `fail` requests are refused, then the next
`drop` are stored and the connection closed without an answer, then the next `stall` are
stored and answered only after `stall_seconds`."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scheduler.client import SIGNATURE_HEADER, signature_ok

log = logging.getLogger(__name__)

KINDS = ("listed", "expired", "removed_early", "withdrawn", "restored", "corrected")
CHANGE_FIELDS = ("change_id", "kind", "subject", "id", "list", "tier", "rule", "basis", "document_no",
                 "authority", "decided_on", "period_start", "period_end", "effective_on")
_MASKED = re.compile(r"[0-9]{6}\*{8}[0-9]{3}[0-9X]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def validate_batch(body: Any) -> dict[str, list[str]]:
    """Field errors of a batch; empty when it is acceptable."""
    errors: dict[str, list[str]] = {}
    if not isinstance(body, dict):
        return {"": ["the body must be a JSON object"]}
    for key in ("batch_id", "sent_at"):
        if not isinstance(body.get(key), str) or not body[key]:
            errors[key] = ["required string"]
    changes = body.get("changes")
    if not isinstance(changes, list) or not changes:
        errors["changes"] = ["a non-empty list is required"]
        return errors
    for i, change in enumerate(changes):
        problems = _change_errors(change)
        if problems:
            errors[f"changes[{i}]"] = problems
    return errors


def _change_errors(change: Any) -> list[str]:
    if not isinstance(change, dict):
        return ["must be an object"]
    problems = [f"{name} is missing" for name in CHANGE_FIELDS if name not in change]
    if change.get("kind") not in KINDS:
        problems.append(f"kind {change.get('kind')!r} is not one of {', '.join(KINDS)}")
    for name in ("decided_on", "period_start", "effective_on"):
        if name in change and not (isinstance(change[name], str) and _DATE.fullmatch(change[name])):
            problems.append(f"{name} must be a date YYYY-MM-DD")
    subject = change.get("subject")
    if not isinstance(subject, dict) or "kind" not in subject or "name" not in subject:
        problems.append("subject needs kind and name")
    elif subject["kind"] == "person":
        if "id_number" in subject:
            problems.append("a person's full identity number must never be sent")
        if not _MASKED.fullmatch(str(subject.get("id_number_masked", ""))):
            problems.append("a person needs id_number_masked (first 6 and last 4 characters)")
    elif not subject.get("uscc"):
        problems.append("a unit or agency needs its uscc")
    return problems


@dataclass
class Faults:
    fail: int = 0
    drop: int = 0
    stall: int = 0
    stall_seconds: float = 30.0
    status: int = 503


@dataclass
class Store:
    """Everything received; thread-safe. Changes are kept once per change id."""

    path: Path | None = None
    faults: Faults = field(default_factory=Faults)
    requests: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self) -> str | None:
        with self.lock:
            self.requests += 1
            for name in ("fail", "drop", "stall"):
                if getattr(self.faults, name) > 0:
                    setattr(self.faults, name, getattr(self.faults, name) - 1)
                    return name
        return None

    def accept(self, body: dict[str, Any], outcome: str) -> dict[str, Any]:
        ids = [c["change_id"] for c in body["changes"]]
        with self.lock:
            duplicates = 0
            for change in body["changes"]:
                cid = change["change_id"]
                duplicates += cid in self.changes
                self.changes.setdefault(cid, change)
                self.deliveries[cid] = self.deliveries.get(cid, 0) + 1
            entry = {"batch_id": body["batch_id"], "sent_at": body["sent_at"], "change_ids": ids,
                     "duplicates": duplicates, "outcome": outcome, "received_at": time.time()}
            self.batches.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({**entry, "changes": body["changes"]}, ensure_ascii=False) + "\n")
        return {"batch_id": body["batch_id"], "accepted": len(ids), "duplicates": duplicates}

    def report(self) -> dict[str, Any]:
        with self.lock:
            delivered = sum(self.deliveries.values())
            return {"requests": self.requests, "batches": list(self.batches), "unique": len(self.changes),
                    "delivered": delivered, "duplicates": delivered - len(self.changes),
                    "deliveries": dict(self.deliveries)}

    def reset(self) -> None:
        with self.lock:
            self.requests, self.batches, self.changes, self.deliveries = 0, [], {}, {}
            self.faults = Faults()


class _Handler(BaseHTTPRequestHandler):
    server: "PlatformSimulator"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        log.debug("%s " + format, self.address_string(), *args)

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/received":
            self._json(200, self.server.store.report())
        elif self.path == "/healthz":
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        raw = self._body()
        store = self.server.store
        if self.path == "/control":
            order = json.loads(raw or b"{}")
            with store.lock:
                for key, value in order.items():
                    setattr(store.faults, key, value)
            self._json(200, {"faults": vars(store.faults)})
            return
        if self.path == "/reset":
            store.reset()
            self._json(200, {"ok": True})
            return
        fault = store.next_fault()
        if fault == "fail":
            self._json(store.faults.status, {"error": "simulated outage"})
            return
        secret = self.server.secret
        if secret and not signature_ok(secret, raw, self.headers.get(SIGNATURE_HEADER)):
            self._json(401, {"error": f"bad or missing {SIGNATURE_HEADER}"})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, {"error": "not JSON"})
            return
        errors = validate_batch(body)
        if errors:
            self._json(422, {"error": "invalid batch", "errors": errors})
            return
        answer = store.accept(body, fault or "answered")
        if fault == "drop":
            # Accepted and stored, but the sender never hears so.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "stall":
            time.sleep(store.faults.stall_seconds)
        self._json(200, answer)


class PlatformSimulator(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, *, store: Store, secret: str | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.store, self.secret = store, secret

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"
