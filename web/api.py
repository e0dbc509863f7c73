"""The API object, its blueprints, and the error answers documented on every operation."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields

from web import (
    cases_api,
    deadlines_api,
    eligibility_api,
    evaluations_api,
    health,
    keys_api,
    listings_api,
    publications_api,
    records_api,
    subjects_api,
)
from web.errors import _http

BLUEPRINTS = [health, records_api, evaluations_api, cases_api, listings_api, eligibility_api, subjects_api,
              keys_api, deadlines_api, publications_api]
PUBLIC = {"/healthz", "/api/v1/keys", "/api/v1/receipts/verify", "/metrics"}


class ProblemSchema(Schema):
    """application/problem+json (RFC 9457), the body of every non-2xx answer."""

    class Meta:
        unknown = INCLUDE  # problems may carry more members (first_allowed, valid_domains …)

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "for invalid input: each bad field and what is wrong"})


class BlacklistApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering errors in our problem+json format."""

    def handle_http_exception(self, error: Any) -> Any:
        return _http(error)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def document_errors(api: BlacklistApi) -> None:
    """Every operation documents the problems it can answer, in one place."""
    for path, operations in api.spec._paths.items():  # apispec keeps paths here until rendered
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue  # path-level "parameters"
            responses = operation.setdefault("responses", {})
            if path in PUBLIC:
                operation["security"] = []  # no token needed
            else:
                responses.setdefault("401", _problem("no valid bearer token"))
                responses.setdefault("403", _problem("the token's role may not do this"))
                responses.setdefault("429", _problem("over the token's quota; see Retry-After"))
            if "{" in path:
                responses.setdefault("404", _problem("no such object"))
            if method == "post":
                responses.setdefault("400", _problem("the body is not well-formed JSON"))
                responses.setdefault("413", _problem("the body or batch is too large"))
            if "422" in responses or method == "post" or operation.get("parameters"):
                responses["422"] = _problem("well-formed input that breaks a rule; `errors` names each field")
            responses.setdefault("503", _problem("the database is unavailable; retry"))
            responses["default"] = _problem("any other error")
    for path in ("/api/v1/cases/{case_id}/notice", "/api/v1/cases/{case_id}/decision",
                 "/api/v1/listings/{listing_id}/early-removal", "/api/v1/listings/{listing_id}/restore"):
        if path in api.spec._paths:
            api.spec._paths[path]["post"]["responses"]["409"] = _problem(
                "refused in the current state (decided twice, too early, withdrawn …), with the date that matters")


def init_app(app: Flask, extra: list[Any] | None = None) -> None:
    api = BlacklistApi(app, spec_kwargs={
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    api.spec.components.schema("Problem", schema=ProblemSchema)
    for module in [*BLUEPRINTS, *(extra or [])]:
        api.register_blueprint(module.bp)
    document_errors(api)
    app.extensions["blacklist_api"] = api
