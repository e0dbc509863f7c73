"""Server-rendered pages in Chinese for officers, regulators and the public."""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask

from web.pages import bulk, check, listings, oversight, workbench  # noqa: F401  (routes register on import)
from web.pages.base import bp
from web.pages.labels import filters

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Register the pages; the session cookie is HttpOnly and SameSite=Lax, Secure when configured."""
    settings = app.extensions["blacklist"].settings
    app.config.update(
        SESSION_COOKIE_NAME="blacklist_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
    )
    # A deployment behind HTTPS sets BLACKLIST_SECURE_COOKIES (Settings.secure_cookies).
    app.config["SESSION_COOKIE_SECURE"] = bool(settings.secure_cookies
                                               or app.config.get("SESSION_COOKIE_SECURE"))
    app.config.setdefault("PAGES_BULK_DIR", os.path.join(app.instance_path, "bulk-checks"))
    app.config.setdefault("PAGES_BULK_CHUNK", 500)
    app.register_blueprint(bp)
    app.jinja_env.filters.update(filters())
