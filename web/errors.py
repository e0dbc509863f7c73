"""One error format for every non-2xx answer: application/problem+json, from one table."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from blacklist.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PreconditionError,
)

log = logging.getLogger(__name__)

# Domain exception → HTTP status. Domain code knows nothing of HTTP.
STATUS = {
    InvalidInputError: 422,
    PreconditionError: 422,
    NotFoundError: 404,
    ConflictError: 409,
}

TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
    415: "Unsupported media type", 422: "Unprocessable entity", 429: "Too many requests",
    500: "Internal server error", 503: "Service unavailable",
}


def problem(status: int, detail: str, *, errors: Any = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.io/{status}" if status not in (422, 409) else f"urn:blacklist:problem:{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _domain(exc: DomainError) -> Response:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return problem(status, str(exc), errors=exc.errors, **exc.extra)
    log.exception("unmapped domain error")
    return problem(500, "internal error")


def _http(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = exc.description or TITLES.get(status, "")
    errors = None
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and "messages" in data:
        # webargs/marshmallow: {"json": {...}} or {"query": {...}} → flattened by location
        messages = data["messages"]
        errors = {}
        for location, fields in messages.items():
            if isinstance(fields, dict):
                errors.update(fields)
            else:
                errors[location] = fields
        detail = "the request does not match the schema: " + ", ".join(sorted(errors)) if errors else detail
    if status == 400 and "JSON" in str(detail).upper() or status == 400 and detail.startswith("The browser"):
        detail = "the body is not well-formed JSON"
    headers = {}
    if status == 429:
        retry = getattr(exc, "retry_after", None)
        headers["Retry-After"] = str(retry or 60)
        detail = "rate limit exceeded: " + str(getattr(exc, "description", ""))
    if status == 405 and exc.valid_methods if hasattr(exc, "valid_methods") else False:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return problem(status, detail, errors=errors, headers=headers)


def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _http(exc)
    log.exception("unhandled error")
    from sqlalchemy.exc import OperationalError, InterfaceError
    if isinstance(exc, (OperationalError, InterfaceError)):
        return problem(503, "the database is unavailable; try again shortly", headers={"Retry-After": "5"})
    return problem(500, "internal error; it has been logged")


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
