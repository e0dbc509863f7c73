"""The receipt-signing public key, and receipt verification for auditors."""

from __future__ import annotations

from typing import Any

from flask import request

from blacklist.errors import InvalidInputError
from blacklist.receipts import verify
from web.blueprint import Blueprint
from web.context import signer
from web.schemas import ObjectSchema

bp = Blueprint("keys", __name__, url_prefix="/api/v1", description="Receipt keys and verification")


@bp.route("/keys")
@bp.response(200, ObjectSchema)
def keys() -> dict[str, Any]:
    """The public key that signs receipts (JWK set); no token needed."""
    return {"keys": [signer().public_jwk()]}


@bp.route("/receipts/verify", methods=["POST"])
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "a receipt {payload, algorithm, signature}, or an answer holding one",
    "properties": {"payload": {"type": "object"}, "signature": {"type": "string"},
                   "algorithm": {"type": "string"}, "receipt": {"type": "object"}}}}}})
@bp.response(200, ObjectSchema)
def verify_receipt() -> dict[str, Any]:
    """Was this receipt issued by this deployment and left unaltered? No token needed."""
    from web.records_api import json_body

    body = json_body()
    receipt = body.get("receipt", body) if isinstance(body, dict) else None
    if not isinstance(receipt, dict):
        raise InvalidInputError("the body must be a receipt object", errors={"receipt": ["not an object"]})
    valid, reason = verify(receipt, signer().public)
    return {"valid": valid, "reason": reason, "payload": receipt.get("payload")}
