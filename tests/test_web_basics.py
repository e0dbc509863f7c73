"""Health, metrics, OpenAPI, the deadline view, and one error format for every status."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

from blacklist.errors import ConflictError, InvalidInputError, NotFoundError, PreconditionError
from tests.conftest import Client
from tests.test_workflow import ingest, major_accident_records, unit_case


def test_healthz_needs_no_token(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_metrics_count_requests(client: Client) -> None:
    client.get("/healthz")
    body = client.get("/metrics").text
    assert 'blacklist_http_requests_total{endpoint="health.healthz",method="GET",status="200"}' in body


def test_openapi_documents_every_endpoint(client: Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/records", "/api/v1/evaluations", "/api/v1/cases", "/api/v1/cases/{case_id}",
                 "/api/v1/cases/{case_id}/notice", "/api/v1/cases/{case_id}/decision", "/api/v1/listings",
                 "/api/v1/listings/{listing_id}/early-removal", "/api/v1/eligibility", "/api/v1/eligibility/batch",
                 "/api/v1/subjects/{uscc}", "/api/v1/subjects", "/api/v1/keys", "/api/v1/receipts/verify"):
        assert path in paths, path
    assert "422" in paths["/api/v1/eligibility"]["get"]["responses"]
    assert client.get("/docs").status_code == 200


def test_deadline_view_lists_statement_periods_that_ended(client: Client, token: Any) -> None:
    reg = token("regulator")
    ingest(client, token("system"), major_accident_records())
    case = unit_case(client, reg)
    client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={"served_on": "2024-09-23"})
    view = client.get("/api/v1/deadlines", reg).json()
    assert [c["id"] for c in view["awaiting_decision"]] == [case["id"]]
    assert view["awaiting_decision"][0]["overdue"] is True
    overdue = client.get("/api/v1/cases", reg, params={"overdue": "true"}).json()["items"]
    assert [c["id"] for c in overdue] == [case["id"]]


ERRORS: list[tuple[Exception, int]] = [
    (InvalidInputError("bad", errors={"x": ["bad"]}), 422),
    (PreconditionError("unmet", errors={"c": ["unmet"]}), 422),
    (NotFoundError("none"), 404),
    (ConflictError("late", first_allowed="2025-01-01"), 409),
    (RuntimeError("boom"), 500),
]


@pytest.mark.parametrize(("exc", "status"), ERRORS)
def test_every_domain_error_becomes_problem_json(exc: Exception, status: int) -> None:
    from web import errors

    app = Flask(__name__)
    errors.init_app(app)

    @app.route("/boom")
    def boom() -> None:
        raise exc

    response = app.test_client().get("/boom")
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == status
    if status == 500:
        assert "boom" not in body["detail"]  # internals never leak


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503])
def test_every_http_status_becomes_problem_json(status: int) -> None:
    from web import errors

    app = Flask(__name__)
    errors.init_app(app)

    @app.route("/s")
    def s() -> None:
        exc = HTTPException(description=f"status {status}")
        exc.code = status
        raise exc

    response = app.test_client().get("/s")
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == status
    if status == 429:
        assert response.headers["Retry-After"]


def test_unknown_path_and_wrong_method_are_problems(client: Client) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    wrong = client.request("DELETE", "/api/v1/records")
    assert wrong.status_code == 405 and wrong.headers["Content-Type"] == "application/problem+json"


def test_a_body_is_json_whatever_its_content_type_says(client: Client, token: Any) -> None:
    """api.md: malformed JSON is a 400, a well-formed body that breaks a rule a 422; a client
    that leaves out Content-Type gets the same answers as one that sends it."""
    officer = token("officer")
    plain = {"Content-Type": "text/plain"}
    good = '{"subject": {"uscc": "91110000710924945A"}, "domain": "land"}'
    for headers in ({}, plain, {"Content-Type": "application/json"}):
        answered = client.post("/api/v1/eligibility", officer, data=good.encode(), headers=dict(headers))
        assert answered.status_code == 200, (headers, answered.text)
        malformed = client.post("/api/v1/eligibility/batch", officer, data=b"nope", headers=dict(headers))
        assert malformed.status_code == 400, (headers, malformed.text)
        assert malformed.headers["Content-Type"] == "application/problem+json"
        unruly = client.post("/api/v1/eligibility", officer, data=b'{"subject": {}, "domain": "land"}',
                             headers=dict(headers))
        assert unruly.status_code == 422 and "subject" in str(unruly.json()["errors"]), (headers, unruly.text)
    empty = client.post("/api/v1/eligibility", officer, data=b"", headers=plain)
    assert empty.status_code == 422 and "domain" in str(empty.json()["errors"])


def test_security_headers_on_pages_and_api(client: Client) -> None:
    page = client.get("/")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    api = client.get("/healthz")
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_a_body_over_the_size_limit_is_413(engine: Any, settings: Any, token: Any) -> None:
    from dataclasses import replace

    from tests.conftest import serve
    from web import create_app

    server, base = serve(create_app(replace(settings, max_content_length=1024)))
    try:
        response = Client(base).post("/api/v1/records", token("system"), data=b"[" + b" " * 4096 + b"]",
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.headers["Content-Type"] == "application/problem+json"
    finally:
        server.shutdown()


def test_behind_a_trusted_proxy_receipt_links_carry_the_public_https_address(
        settings: Any, token: Any, db: Any) -> None:
    import re
    from dataclasses import replace

    import requests

    from tests.conftest import serve
    from tests.factories import uscc
    from web import create_app

    officer = token("officer")
    server, base = serve(create_app(replace(settings, proxies=1)))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "credit.example.gov.cn"}
    try:
        browser = requests.Session()
        form = browser.get(base + "/login", timeout=30).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        signed_in = browser.post(base + "/login", data={"csrf_token": csrf.group(1), "token": officer}, timeout=30)
        assert signed_in.status_code == 200, signed_in.text[:300]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', signed_in.text)  # a new session, a new token
        assert csrf is not None
        page = browser.post(base + "/", data={"csrf_token": csrf.group(1), "q": uscc(5), "domain": "procurement"},
                            timeout=30).text
        receipt = re.search(r'href="(/receipt\?r=[^"]+)"', page)
        assert receipt is not None, page[:500]
        printed = browser.get(base + receipt.group(1).replace("&amp;", "&"), headers=forwarded, timeout=30).text
        assert "https://credit.example.gov.cn/receipts/verify?r=" in printed
        direct = browser.get(base + receipt.group(1).replace("&amp;", "&"), timeout=30).text
        assert base + "/receipts/verify?r=" in direct  # no proxy headers: the address asked
    finally:
        server.shutdown()
