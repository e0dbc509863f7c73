"""Every role × every API endpoint: 401 without a token, 403 for a role that may not,
anything but 401/403 for a role that may (api.md "Access")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Client
from tests.factories import UNIT

ROLES = ("officer", "system", "regulator", "admin")
ANY = set(ROLES)
REG = {"regulator", "admin"}
MATRIX: list[tuple[str, str, dict[str, Any] | None, set[str] | None]] = [
    # method, path, JSON body, roles allowed (None: public)
    ("GET", "/healthz", None, None),
    ("GET", "/api/v1/keys", None, None),
    ("POST", "/api/v1/receipts/verify", {"payload": {}, "signature": "x"}, None),
    ("POST", "/api/v1/records", [], {"system", "regulator", "admin"}),
    ("POST", "/api/v1/evaluations", {"records": []}, ANY),
    ("GET", "/api/v1/cases", None, REG),
    ("GET", "/api/v1/cases/1", None, REG),
    ("POST", "/api/v1/cases/1/notice", {"served_on": "2024-01-02"}, REG),
    ("POST", "/api/v1/cases/1/decision", {"outcome": "reject", "decided_on": "2024-01-02"}, REG),
    ("GET", "/api/v1/deadlines", None, REG),
    ("GET", "/api/v1/listings", None, ANY),
    ("GET", "/api/v1/listings/1", None, ANY),
    ("POST", "/api/v1/listings/1/early-removal",
     {"applied_on": "2024-01-02", "decided_on": "2024-01-02", "outcome": "refused"}, REG),
    ("POST", "/api/v1/listings/1/restore", {"decided_on": "2024-01-02", "reason": "x"}, REG),
    ("GET", f"/api/v1/eligibility?uscc={UNIT}&domain=land", None, ANY),
    ("POST", "/api/v1/eligibility", {"subject": {"uscc": UNIT}, "domain": "land"}, ANY),
    ("POST", "/api/v1/eligibility/batch", {"subjects": [{"uscc": UNIT}], "domain": "land"}, ANY),
    ("GET", f"/api/v1/subjects/{UNIT}", None, ANY),
    ("GET", "/api/v1/subjects?name=化工", None, ANY),
]


@pytest.fixture
def role_tokens(token: Any) -> dict[str, str]:
    return {role: token(role) for role in ROLES}


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(client: Client, role_tokens: dict[str, str], method: str, path: str,
                     body: Any, allowed: set[str] | None) -> None:
    kwargs = {"json": body} if body is not None else {}
    anonymous = client.request(method, path, **kwargs).status_code
    if allowed is None:
        assert anonymous not in (401, 403), path
        return
    assert anonymous == 401, path
    assert client.request(method, path, "bl_not-a-real-token", **kwargs).status_code == 401
    for role, plain in role_tokens.items():
        status = client.request(method, path, plain, **kwargs).status_code
        if role in allowed:
            assert status not in (401, 403), (role, path, status)
        else:
            assert status == 403, (role, path, status)


def _shape(path: str) -> str:
    parts = path.split("?")[0].split("/")
    return "/".join("<id>" if part in ("1", UNIT) else part for part in parts)


def test_every_api_route_is_in_the_matrix(served: tuple[Any, str]) -> None:
    covered = {_shape(p) for _, p, _, _ in MATRIX}
    routes = set()
    for rule in served[0].url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            shape = rule.rule
            for name in ("<int:case_id>", "<int:listing_id>", "<string:uscc>"):
                shape = shape.replace(name, "<id>")
            routes.add(shape)
    # publication endpoints have their own role tests in tests/scheduler
    missing = {r for r in routes - covered if not r.startswith(("/api/v1/publications", "/api/v1/changes"))}
    assert not missing, f"add to the matrix: {sorted(missing)}"
