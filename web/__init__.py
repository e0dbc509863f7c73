"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask

from blacklist.redact import install_log_redaction
from blacklist.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from explicit settings (tests) or the environment (deployments)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        JSON_SORT_KEYS=False,
        API_TITLE="Work-safety credit blacklist and joint-punishment API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_REDOC_PATH="/docs",
        OPENAPI_REDOC_URL="/static/redoc.standalone.js",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.getLogger("blacklist").setLevel(logging.INFO)
    # gunicorn masks its own access lines; werkzeug's (a development server) and the app
    # logger's lines are masked here, e.g. an identity number someone typed into a URL.
    # Our modules' loggers never get one: the suite's log scan (tests/log_leaks.py) checks.
    install_log_redaction(logging.getLogger("werkzeug"), app.logger)

    from web import api, auth, context, errors, metrics, pages, security

    if settings.proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    context.init_app(app, settings)
    errors.init_app(app)
    auth.init_app(app)
    api.init_app(app)
    pages.init_app(app)
    metrics.init_app(app)
    security.init_app(app)
    return app
