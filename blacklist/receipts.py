"""Proof of check: receipts signed with the deployment's Ed25519 key."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from blacklist.records import canonical_json

ALGORITHM = "Ed25519"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


class Signer:
    """Signs receipts; the key is loaded from (or, first time, created at) a PEM file."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    @classmethod
    def from_file(cls, path: str | Path) -> "Signer":
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
            except FileExistsError:
                pass  # another worker created it first
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(key)

    def sign(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """`{payload, signature, algorithm, key_id}`; the signature covers the canonical payload."""
        body = dict(payload)
        body["key_id"] = self.key_id
        signature = self.private.sign(canonical_json(body).encode())
        return {"payload": body, "algorithm": ALGORITHM, "signature": _b64(signature)}

    def public_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(public_raw(self.public)), "kid": self.key_id,
                "use": "sig", "alg": "EdDSA"}


def public_key_from_jwk(jwk: Mapping[str, str]) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_unb64(jwk["x"]))


def verify(receipt: Mapping[str, Any], public: Ed25519PublicKey) -> tuple[bool, str]:
    """Whether the receipt was signed by this key and is unchanged; with the reason."""
    try:
        payload = receipt["payload"]
        signature = _unb64(receipt["signature"])
    except (KeyError, TypeError, ValueError):
        return False, "not a receipt: it needs payload and signature"
    if not isinstance(payload, Mapping):
        return False, "payload must be an object"
    if payload.get("key_id") != key_id(public):
        return False, f"signed by key {payload.get('key_id')!r}, not by this deployment's key {key_id(public)}"
    try:
        public.verify(signature, canonical_json(dict(payload)).encode())
    except InvalidSignature:
        return False, "the signature does not match: the receipt was altered or not issued by us"
    return True, "valid: issued by this deployment and unaltered"


def digest(results: Any) -> str:
    return hashlib.sha256(canonical_json(results).encode()).hexdigest()
