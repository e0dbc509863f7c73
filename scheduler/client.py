"""The credit-platform client: one signed POST per batch, and what the answer means."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Sequence

import requests

from blacklist.publication import ACCEPTED, FAILED, NO_ANSWER

SIGNATURE_HEADER = "X-Signature"


def batch_body(batch_id: str, sent_at: str, changes: Sequence[dict[str, Any]]) -> bytes:
    """The body of api.md's Publication section, as UTF-8 JSON."""
    body = {"batch_id": batch_id, "sent_at": sent_at, "changes": list(changes)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(sign(secret, body), header)


@dataclass(frozen=True)
class Answer:
    """What came back: accepted only on a 2xx; `transient` failures are retried at once."""

    status: str
    http_status: int | None
    text: str
    transient: bool

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    @property
    def error(self) -> str:
        if self.http_status is None:
            return f"no answer: {self.text}"
        return f"HTTP {self.http_status}: {self.text[:500]}"


class PlatformClient:
    """POSTs batches to the platform URL; never raises for the platform's failures."""

    def __init__(self, url: str, *, secret: str | None, timeout: float,
                 http: requests.Session | None = None) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout
        self.http = http or requests.Session()

    def send(self, batch_id: str, body: bytes) -> Answer:
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Batch-Id": batch_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        try:
            response = self.http.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            # Refused, dropped, timed out: the platform may or may not have taken the batch,
            # so it is sent again, with the same change ids.
            return Answer(NO_ANSWER, None, type(exc).__name__ + ": " + str(exc)[:300], True)
        text = response.text[:2000]
        if 200 <= response.status_code < 300:
            return Answer(ACCEPTED, response.status_code, text, False)
        transient = response.status_code >= 500 or response.status_code in (408, 425, 429)
        return Answer(FAILED, response.status_code, text, transient)

    def close(self) -> None:
        self.http.close()
