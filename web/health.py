"""Liveness for load balancers; no token needed."""

from __future__ import annotations

from sqlalchemy import text

from web.blueprint import Blueprint
from web.context import db

bp = Blueprint("health", __name__, description="Service health")


@bp.route("/healthz")
@bp.response(200)
def healthz() -> dict[str, str]:
    """Is the service up and its database reachable?"""
    db().execute(text("SELECT 1"))
    return {"status": "ok"}
