"""Bearer tokens with roles, and per-token rate limits."""

from __future__ import annotations

import functools
import math
import threading
import time
from typing import Any, Callable, TypeVar, cast

from flask import Flask, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

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
        digest = _bearer_digest()
        hit = cache.get(digest)
        if hit and hit[0] > time.monotonic():
            caller = hit[1]
        else:
            token = find_token(db(), plain)
            caller = Caller(token.id, token.name, token.role) if token else None
            if caller is not None:  # only real tokens: made-up ones would grow the cache without end
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


class _MemoryStorage(MemoryStorage):
    """limits' in-memory storage without a timer thread started on every hit.

    limits expires counters from a `threading.Timer` it restarts each time one has fired,
    up to a hundred new threads a second under load, each start waiting for the GIL. Reads
    already drop an expired counter before counting (`get`), so an inline sweep at most once
    a second keeps memory bounded and the limits answer exactly as before.
    """

    STORAGE_SCHEME = ["blacklist-memory"]
    _SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0
        self._sweeping = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the private timer restart
        now = time.monotonic()
        if now >= self._next_sweep and self._sweeping.acquire(blocking=False):
            try:
                self._next_sweep = now + self._SWEEP_SECONDS
                self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
            finally:
                self._sweeping.release()


def _bearer_digest() -> str | None:
    """The bearer token's SHA-256, once per request: the limiter's key and the lookup share it."""
    if "bearer_digest" not in g:
        plain = _bearer()
        g.bearer_digest = hash_token(plain) if plain else None
    digest: str | None = g.bearer_digest
    return digest


def _limit_key() -> str:
    """A valid token's own quota; anything else (no token, or one that is not ours) counts
    against the address, so that inventing a new token per request earns no fresh quota."""
    digest = _bearer_digest()
    if digest is not None and current_caller() is not None:
        return "t:" + digest[:16]
    return "ip:" + (request.remote_addr or "-")


_EXEMPT = ("/healthz", "/metrics", "/openapi.json", "/docs", "/static/")


class RateLimits:
    """Per-token quotas, counted in fixed windows by `limits` (the library Flask-Limiter is
    built on): in this process's memory by default, in Redis when configured, so that all
    workers and machines share one count.

    One `before_request` hook with the limits parsed once. Flask-Limiter's own hook resolves
    the route's and blueprint's limits on every request and re-parses the limit string;
    that cost 93 µs of a check's 625 µs of CPU (benchmarks/eligibility_cpu.py, the limiter
    disabled against enabled) for the one default limit this deployment sets.
    """

    def __init__(self, spec: str, storage_uri: str) -> None:
        self.items: list[RateLimitItem] = parse_many(spec)
        self.storage = cast(Storage, storage_from_string(storage_uri))  # a synchronous URI: never the aio kind
        self.strategy = FixedWindowRateLimiter(self.storage)

    def hit(self, key: str) -> tuple[RateLimitItem, int] | None:
        """Count one request of `key`; None if every limit allows it, else the limit
        exceeded and the whole seconds until its window resets."""
        for item in self.items:
            if not self.strategy.hit(item, key):
                reset = self.strategy.get_window_stats(item, key).reset_time
                return item, max(1, math.ceil(reset - time.time()))
        return None


def init_app(app: Flask) -> None:
    settings = app.extensions["blacklist"].settings
    limits = RateLimits(settings.rate_limit, settings.redis_url or "blacklist-memory://")
    app.extensions["blacklist_limits"] = limits

    @app.before_request
    def _rate_limit() -> None:
        if request.path.startswith(_EXEMPT):
            return
        key = _limit_key()
        over = limits.hit(key)
        if over is not None:
            item, retry = over
            whose = "this token" if key.startswith("t:") else "requests without a valid token from this address"
            exc = TooManyRequests(f"{item.amount} per {item.get_expiry()} s for {whose}")
            exc.retry_after = retry  # web.errors sets Retry-After from it
            raise exc
