"""Bearer tokens with roles, and per-token rate limits."""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, TypeVar

from flask import Flask, g, request
from flask_limiter import Limiter
from werkzeug.exceptions import Forbidden, Unauthorized

from blacklist.tokens import find_token, has_role, hash_token
from web.context import db, services

F = TypeVar("F", bound=Callable[..., Any])
_CACHE_SECONDS = 10.0


class Caller:
    def __init__(self, token_id: int, name: str, role: str) -> None:
        self.id, self.name, self.role = token_id, name, role


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_caller() -> Caller | None:
    """The token's holder, looked up once per request (cached briefly per process)."""
    if "caller" in g:
        return g.caller  # type: ignore[no-any-return]
    caller = None
    plain = _bearer()
    if plain:
        cache: dict[str, tuple[float, Caller | None]] = services().extra.setdefault("token_cache", {})
        digest = hash_token(plain)
        hit = cache.get(digest)
        if hit and hit[0] > time.monotonic():
            caller = hit[1]
        else:
            token = find_token(db(), plain)
            caller = Caller(token.id, token.name, token.role) if token else None
            cache[digest] = (time.monotonic() + _CACHE_SECONDS, caller)
    g.caller = caller
    return caller


def require(role: str) -> Callable[[F], F]:
    """Refuse the request unless its token has `role` (401 without a token, 403 with another)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            caller = current_caller()
            if caller is None:
                raise Unauthorized("a valid bearer token is required (Authorization: Bearer <token>)")
            if not has_role(caller.role, role):
                raise Forbidden(f"this needs the {role} role; the token has the {caller.role} role")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def require_any(*roles: str) -> Callable[[F], F]:
    """Like `require`, for endpoints several roles may use."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            caller = current_caller()
            if caller is None:
                raise Unauthorized("a valid bearer token is required (Authorization: Bearer <token>)")
            if not any(has_role(caller.role, r) for r in roles):
                raise Forbidden(f"this needs one of the roles {', '.join(roles)}; the token has {caller.role}")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def _limit_key() -> str:
    plain = _bearer()
    return "t:" + hash_token(plain)[:16] if plain else "ip:" + (request.remote_addr or "-")


_EXEMPT = ("/healthz", "/metrics", "/openapi.json", "/docs", "/static/")


def init_app(app: Flask) -> None:
    settings = app.extensions["blacklist"].settings
    limiter = Limiter(
        key_func=_limit_key, app=app, default_limits=[settings.rate_limit],
        storage_uri=settings.redis_url or "memory://", headers_enabled=True,
    )

    @limiter.request_filter
    def _exempt() -> bool:
        return request.path.startswith(_EXEMPT)

    app.extensions["blacklist_limiter"] = limiter
