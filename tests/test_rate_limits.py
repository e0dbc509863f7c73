"""Per-token quotas over real HTTP: several limits at once, and one count shared by
several servers through Redis (BLACKLIST_REDIS_URL), as gunicorn workers share it."""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import Client, serve
from tests.factories import UNIT


def _check(client: Client, token: str) -> Any:
    return client.get("/api/v1/eligibility", token, params={"uscc": UNIT, "domain": "land"})


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_every_limit_counts_and_the_tightest_answers_429(settings: Any, token: Any) -> None:
    from web import create_app

    officer = token("officer")
    server, base = serve(create_app(replace(settings, rate_limit="100/minute;2/hour")))
    try:
        client = Client(base)
        assert [_check(client, officer).status_code for _ in range(3)] == [200, 200, 429]
        over = _check(client, officer)
        assert over.status_code == 429 and over.headers["Content-Type"] == "application/problem+json"
        assert 60 < int(over.headers["Retry-After"]) <= 3600  # the hourly window, not the minute's
        assert "2 per 3600 s" in over.json()["detail"]
        assert client.get("/healthz").status_code == 200  # exempt
    finally:
        server.shutdown()


def test_a_made_up_token_earns_no_quota_of_its_own(settings: Any, token: Any) -> None:
    """Tokens that are not ours count against the address, however many are invented."""
    from web import create_app

    server, base = serve(create_app(replace(settings, rate_limit="3/minute")))
    try:
        client = Client(base)
        statuses = [_check(client, f"bl_invented_{i}").status_code for i in range(4)]
        assert statuses == [401, 401, 401, 429]
        assert "without a valid token from this address" in _check(client, "bl_invented_x").json()["detail"]
        assert _check(client, token("officer")).status_code == 200  # a real token has its own quota
    finally:
        server.shutdown()


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_two_servers_share_one_quota_through_redis(settings: Any, token: Any) -> None:
    from web import create_app

    officer, other = token("officer"), token("officer")
    limited = replace(settings, rate_limit="3/minute", redis_url="redis://127.0.0.1:6379/15")
    first, first_base = serve(create_app(limited))
    second, second_base = serve(create_app(limited))
    try:
        a, b = Client(first_base), Client(second_base)
        assert [_check(a, officer).status_code, _check(b, officer).status_code, _check(a, officer).status_code] \
            == [200, 200, 200]
        assert _check(b, officer).status_code == 429  # the fourth, counted across both servers
        assert int(_check(a, officer).headers["Retry-After"]) > 0
        assert _check(b, other).status_code == 200  # another token: its own count
    finally:
        first.shutdown()
        second.shutdown()
