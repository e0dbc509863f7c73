"""The API object and its blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from web.errors import _http


class BlacklistApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering errors in our problem+json format."""

    def handle_http_exception(self, error: Any) -> Any:
        return _http(error)


def init_app(app: Flask) -> None:
    api = BlacklistApi(app, spec_kwargs={
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    from web import health, records_api

    api.register_blueprint(health.bp)
    api.register_blueprint(records_api.bp)
    for name in ("evaluations_api", "cases_api", "listings_api", "eligibility_api", "subjects_api", "keys_api", "deadlines_api"):
        module = _optional(name)
        if module is not None:
            api.register_blueprint(module.bp)
    app.extensions["blacklist_api"] = api


def _optional(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"web.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"web.{name}":
            raise
        return None
