"""Eligibility checks shared by the pages: one check as the API answers it, a signed batch
receipt, and receipts carried in a URL (for the printed QR code)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import zlib
from typing import Any, Mapping, Sequence

from blacklist.clock import now
from blacklist.receipts import digest
from blacklist.records import canonical_json
from web.context import signer
from web.eligibility_api import _single, subject_ref

__all__ = ["check_one", "sign_batch", "encode_receipt", "decode_receipt", "subject_ref"]


def check_one(ref: tuple[str, str, dict[str, Any]], domain: str, as_of: dt.date | None) -> dict[str, Any]:
    """Answer, record and sign one check exactly as `GET /api/v1/eligibility` does.

    The caller is `web.auth.current_caller()`, which the pages set from the signed-in session.
    """
    return _single(ref, domain, {"as_of": as_of, "known_at": None})


def sign_batch(domain: str, as_of: dt.date, known_at: dt.datetime, version: str,
               results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One receipt over a digest of all results, as `POST /api/v1/eligibility/batch` signs it."""
    return signer().sign({
        "batch": True, "domain": domain, "as_of": as_of.isoformat(), "known_at": known_at.isoformat(),
        "list_version": version, "count": len(results), "results_sha256": digest(list(results)),
        "issued_at": now().isoformat()})


def encode_receipt(receipt: Mapping[str, Any]) -> str:
    """A receipt as a short URL-safe string (compressed canonical JSON, base64url)."""
    packed = zlib.compress(canonical_json(dict(receipt)).encode(), 9)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode_receipt(text: str) -> dict[str, Any] | None:
    """The receipt an `encode_receipt` string carries; None when it is not one."""
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(zlib.decompress(packed).decode())
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
