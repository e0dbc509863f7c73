"""Eligibility over HTTP: each domain's effect, code normalisation, errors, receipts,
batches at and over the limit, name search, roles and quotas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blacklist.models import Check, Token
from blacklist.tokens import hash_token
from tests.conftest import Client, serve
from tests.factories import AGENCY, PERSON, UNIT, accident, penalty, person, unit, uscc
from tests.test_workflow import listed_case

EXPECTED_EFFECTS = {
    "procurement": "prohibited", "bidding": "restricted", "land": "restricted", "mining_rights": "restricted",
    "financing": "reference", "securities": "restricted", "project_approval": "prohibited",
    "fiscal_support": "restricted", "honours": "prohibited", "qualification": "restricted",
    "market_entry": "restricted", "insurance": "reference", "import_export": "reference",
    "exit_entry": "reference", "inspection": "heightened_supervision",
}


@pytest.fixture
def tokens(token: Any) -> dict[str, str]:
    return {"system": token("system"), "regulator": token("regulator"), "officer": token("officer")}


def get(client: Client, t: str, **params: Any) -> Any:
    return client.get("/api/v1/eligibility", t, params=params)


def test_each_domain_has_its_effect_for_a_listed_unit(client: Client, tokens: dict[str, str]) -> None:
    # regulations.md §6: the catalogue of joint-punishment measures
    listed_case(client, tokens)
    for domain, effect in EXPECTED_EFFECTS.items():
        body = get(client, tokens["officer"], uscc=UNIT, domain=domain, as_of="2025-01-01").json()
        assert body["effect"] == effect, domain
        assert body["eligible"] is (effect not in ("prohibited", "restricted")), domain
        [measure] = body["measures"]
        assert measure["implementer"] and measure["basis"]
        [listing] = body["listings"]
        assert (listing["rule"], listing["document_no"]) == ("mem11.a1", "陕应急信决〔2024〕1号")


def test_codes_are_normalised(client: Client, tokens: dict[str, str]) -> None:
    listed_case(client, tokens)
    for variant in (" 91110000710924945a ", "９１１１００００７１０９２４９４５Ａ", "9111 0000 7109 2494 5A"):
        body = get(client, tokens["officer"], uscc=variant, domain="procurement", as_of="2025-01-01").json()
        assert body["subject"]["uscc"] == UNIT and body["eligible"] is False


def test_a_valid_unknown_code_is_eligible_with_no_record(client: Client, tokens: dict[str, str]) -> None:
    body = get(client, tokens["officer"], uscc=AGENCY, domain="bidding").json()
    assert body["eligible"] is True and body["effect"] == "none" and "no record" in body["note"]
    assert body["listings"] == [] and body["check_id"] and body["list_version"]


@pytest.mark.parametrize(("code", "fragment"), [
    ("9111000071092494", "18 characters"),
    ("91110000710924945I", "'I'"),
    ("91110000710924945B", "expected 'A'"),
])
def test_a_malformed_code_is_a_422_saying_what_is_wrong(client: Client, tokens: dict[str, str], code: str,
                                                        fragment: str) -> None:
    response = get(client, tokens["officer"], uscc=code, domain="procurement")
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert fragment in body["detail"] and any(fragment in m for m in body["errors"]["uscc"])
    assert set(body) >= {"type", "title", "status", "detail", "errors"}


def test_an_unknown_domain_lists_the_valid_ones(client: Client, tokens: dict[str, str]) -> None:
    response = get(client, tokens["officer"], uscc=UNIT, domain="casino")
    assert response.status_code == 422
    assert set(EXPECTED_EFFECTS) | {"executive_position"} <= set(response.json()["valid_domains"])


def test_missing_fields_and_bad_dates_are_422(client: Client, tokens: dict[str, str]) -> None:
    assert get(client, tokens["officer"], domain="procurement").status_code == 422
    assert get(client, tokens["officer"], uscc=UNIT, domain="procurement", as_of="2025-02-30").status_code == 422
    naive = get(client, tokens["officer"], uscc=UNIT, domain="procurement", known_at="2025-01-01T00:00:00")
    assert naive.status_code == 422 and "known_at" in naive.json()["errors"]


def test_persons_are_checked_by_body_and_never_echoed_whole(client: Client, tokens: dict[str, str], db: Session) -> None:
    t = tokens["system"]
    client.post("/api/v1/records", t, json=[penalty("P-PERSON", subject=person(), violations=["permit.none"])])
    response = client.post("/api/v1/eligibility", tokens["officer"],
                           json={"subject": {"id_number": PERSON}, "domain": "executive_position"})
    assert response.status_code == 200, response.text
    assert PERSON not in response.text
    assert response.json()["subject"]["id_number_masked"] == PERSON[:6] + "********" + PERSON[-4:]
    refs = db.scalars(select(Check.subject_ref)).all()
    assert refs and all(PERSON not in r for r in refs)


def test_receipts_verify_and_a_tampered_one_fails(client: Client, tokens: dict[str, str], tmp_path: Any) -> None:
    listed_case(client, tokens)
    body = get(client, tokens["officer"], uscc=UNIT, domain="procurement", as_of="2025-01-01").json()
    receipt = body["receipt"]
    assert receipt["payload"]["check_id"] == body["check_id"] and receipt["payload"]["eligible"] is False
    ok = client.post("/api/v1/receipts/verify", json=receipt).json()
    assert ok["valid"] is True
    tampered = json.loads(json.dumps(receipt))
    tampered["payload"]["eligible"] = True
    bad = client.post("/api/v1/receipts/verify", json=tampered).json()
    assert bad["valid"] is False and "altered" in bad["reason"]
    keys = client.get("/api/v1/keys").json()["keys"]
    assert keys[0]["kid"] == receipt["payload"]["key_id"]


def test_batch_answers_in_order_with_one_version_and_one_receipt(client: Client, tokens: dict[str, str]) -> None:
    listed_case(client, tokens)
    subjects = [{"uscc": AGENCY}, {"uscc": UNIT}, {"id_number": PERSON}]
    response = client.post("/api/v1/eligibility/batch", tokens["officer"],
                           json={"domain": "bidding", "as_of": "2025-01-01", "subjects": subjects})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["eligible"] for r in body["results"]] == [True, False, True]
    assert {r["list_version"] for r in body["results"]} == {body["list_version"]}
    assert body["receipt"]["payload"]["count"] == 3
    assert client.post("/api/v1/receipts/verify", json=body["receipt"]).json()["valid"] is True


def test_a_batch_over_many_lookup_chunks_records_each_answer_as_given(client: Client, tokens: dict[str, str],
                                                                      db: Session, monkeypatch: Any) -> None:
    """2,003 subjects, more than two chunks of lookups and three parts answered and recorded
    one after another (a listed unit last of the first, a person first of the second): every
    answer, repeated subjects included, has its own check row saying what the answer says,
    in the request's order, with ids ascending in that order."""
    import web.eligibility_api

    monkeypatch.setattr(web.eligibility_api, "_PART", 701)
    listed_case(client, tokens)
    subjects: list[dict[str, str]] = [{"uscc": uscc(i)} for i in range(2000)]
    subjects[700:700] = [{"uscc": UNIT}, {"id_number": PERSON}]
    subjects.append({"uscc": UNIT})  # asked twice: two answers, two rows
    response = client.post("/api/v1/eligibility/batch", tokens["officer"],
                           json={"domain": "procurement", "as_of": "2025-01-01", "subjects": subjects})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 2003
    assert [r["subject"].get("uscc") for r in results] == [s.get("uscc") for s in subjects]
    assert [r["eligible"] for r in results].count(False) == 2
    assert results[700]["eligible"] is False and results[-1]["eligible"] is False and results[701]["eligible"]
    db.rollback()
    rows = {row.id: row for row in db.scalars(select(Check).where(Check.batch_size == 2003))}
    assert len(rows) == 2003 == len({r["check_id"] for r in results})
    assert [r["check_id"] for r in results] == sorted(rows)
    for subject, result in zip(subjects, results):
        row = rows[result["check_id"]]
        assert (row.eligible, row.effect, row.domain) == (result["eligible"], result["effect"], "procurement")
        if "uscc" in subject:
            assert row.subject_ref == f"uscc:{subject['uscc']}"
        else:
            assert row.subject_ref.startswith("id_hash:") and PERSON not in row.subject_ref



def test_each_batch_answer_is_its_canonical_json_under_the_receipts_digest(client: Client,
                                                                          tokens: dict[str, str]) -> None:
    """Most batch answers are written from a template; each must read exactly as the canonical
    JSON of what it says, or an auditor could not recompute the receipt's digest from them."""
    from blacklist.eligibility import NO_LISTING, NO_RECORD
    from blacklist.receipts import digest
    from blacklist.records import canonical_json
    from tests.test_workflow import ingest

    listed_case(client, tokens)
    known, name = uscc(7), '西安"引号"\\反斜线有限公司'
    ingest(client, tokens["system"], [accident("ACC-Q", subject=unit(known, name=name), deaths=0)])
    subjects = [{"uscc": AGENCY}, {"uscc": known}, {"uscc": UNIT}, {"id_number": PERSON}, {"uscc": known}]
    response = client.post("/api/v1/eligibility/batch", tokens["officer"],
                           json={"domain": "procurement", "as_of": "2025-01-01", "subjects": subjects})
    assert response.status_code == 200, response.text
    text = response.text
    body = json.loads(text)
    results = body["results"]
    assert [r.get("note") for r in results] == [NO_RECORD, NO_LISTING, None, NO_LISTING, NO_LISTING]
    assert results[1]["subject"] == {"kind": "unit", "name": name, "uscc": known}
    assert [r["eligible"] for r in results] == [True, True, False, True, True]
    written = text[text.index('"results":') + len('"results":'):text.rindex(',"receipt":')]
    assert written == canonical_json(results)
    assert digest(results) == body["receipt"]["payload"]["results_sha256"]


def test_a_listed_subject_in_the_second_lookup_chunk_is_found(client: Client, tokens: dict[str, str]) -> None:
    """On PostgreSQL every other chunk of 900 codes is looked up on a second connection; the
    listed unit sorts after the 1,000 other codes, into the second chunk."""
    from blacklist.identifiers import make_valid_uscc

    listed_case(client, tokens)
    subjects = [{"uscc": make_valid_uscc(f"911100000{i:08d}")} for i in range(1000)] + [{"uscc": UNIT}]
    assert sorted(s["uscc"] for s in subjects).index(UNIT) == 1000
    response = client.post("/api/v1/eligibility/batch", tokens["officer"],
                           json={"domain": "procurement", "as_of": "2025-01-01", "subjects": subjects})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["eligible"] for r in results] == [True] * 1000 + [False]
    assert results[-1]["effect"] == "prohibited" and results[-1]["subject"]["name"]

def test_a_batch_at_the_limit_passes_and_over_it_is_413(engine: Any, settings: Any, tokens: dict[str, str]) -> None:
    from dataclasses import replace

    from web import create_app

    server, base = serve(create_app(replace(settings, batch_limit=50)))
    try:
        client = Client(base)
        at = client.post("/api/v1/eligibility/batch", tokens["officer"],
                         json={"domain": "land", "subjects": [{"uscc": UNIT}] * 50})
        assert at.status_code == 200 and len(at.json()["results"]) == 50
        over = client.post("/api/v1/eligibility/batch", tokens["officer"],
                           json={"domain": "land", "subjects": [{"uscc": UNIT}] * 51})
        assert over.status_code == 413 and "at most 50" in over.json()["detail"]
    finally:
        server.shutdown()


def test_a_batch_with_a_bad_code_names_its_position(client: Client, tokens: dict[str, str]) -> None:
    response = client.post("/api/v1/eligibility/batch", tokens["officer"],
                           json={"domain": "land", "subjects": [{"uscc": UNIT}, {"uscc": "123"}]})
    assert response.status_code == 422 and "subjects[1].uscc" in response.json()["errors"]


def test_roles_and_quota(engine: Any, settings: Any, tokens: dict[str, str], client: Client) -> None:
    assert get(client, "", uscc=UNIT, domain="land").status_code == 401
    assert get(client, "not-a-token", uscc=UNIT, domain="land").status_code == 401
    from dataclasses import replace

    from web import create_app

    server, base = serve(create_app(replace(settings, rate_limit="3/minute")))
    try:
        limited = Client(base)
        answers = [get(limited, tokens["officer"], uscc=UNIT, domain="land").status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        over = get(limited, tokens["officer"], uscc=UNIT, domain="land")
        assert int(over.headers["Retry-After"]) > 0
        assert over.headers["Content-Type"] == "application/problem+json"
        # another token has its own quota
        assert get(limited, tokens["regulator"], uscc=UNIT, domain="land").status_code == 200
    finally:
        server.shutdown()


def test_name_search_ranks_realistic_near_duplicates(client: Client, tokens: dict[str, str]) -> None:
    names = [("91110000710924945A", "北京燕山石化有限公司"), ("91440105MA59AGQ16J", "北京燕山石油化工有限公司"),
             ("91430111743169333P", "湖南燕山建材有限责任公司"), ("91430111051692406B", "长沙市岳麓区好运餐饮店")]
    records = [penalty(f"P{i}", subject=unit(code=c, name=n)) for i, (c, n) in enumerate(names)]
    client.post("/api/v1/records", tokens["system"], json=records)
    found = client.get("/api/v1/subjects", tokens["officer"], params={"name": "北京燕山石化（有限公司）"}).json()
    items = found["items"]
    assert items[0]["uscc"] == "91110000710924945A" and items[0]["score"] == 100
    assert items[1]["uscc"] == "91440105MA59AGQ16J"
    assert all(i["uscc"] != "91430111051692406B" for i in items)
    assert "verdict" not in json.dumps(items)
    # a former name still finds the unit
    client.post("/api/v1/records", tokens["system"], json=[penalty("P9", subject=unit(name="北京新名字化工有限公司"))])
    renamed = client.get("/api/v1/subjects", tokens["officer"], params={"name": "北京燕山石化有限公司"}).json()["items"]
    assert renamed[0]["uscc"] == UNIT and renamed[0]["former_name"] is True


def test_every_check_is_recorded(client: Client, tokens: dict[str, str], db: Session) -> None:
    get(client, tokens["officer"], uscc=UNIT, domain="land")
    [check] = db.scalars(select(Check)).all()
    assert (check.subject_ref, check.domain, check.eligible) == (f"uscc:{UNIT}", "land", True)


def test_each_check_names_the_token_that_asked(client: Client, token: Any, db: Session) -> None:
    """Who asked, on each path that records (a GET, a POST, a batch): the log's token_id has no
    foreign key (migration 0006), so this is what holds it to a row of `tokens`."""
    asked = {name: token("officer", name) for name in ("clerk a", "clerk b", "clerk c")}
    get(client, asked["clerk a"], uscc=UNIT, domain="land")
    client.post("/api/v1/eligibility", asked["clerk b"], json={"subject": {"id_number": PERSON}, "domain": "bidding"})
    client.post("/api/v1/eligibility/batch", asked["clerk c"],
                json={"domain": "bidding", "subjects": [{"uscc": UNIT}, {"uscc": AGENCY}]})
    db.rollback()
    who = db.execute(select(Token.name, Token.token_hash, Check.subject_ref).join(Token, Token.id == Check.token_id)
                     .order_by(Token.name, Check.subject_ref)).all()
    assert [(name, ref) for name, _, ref in who] == [
        ("clerk a", f"uscc:{UNIT}"), ("clerk b", who[1][2]), ("clerk c", f"uscc:{UNIT}"), ("clerk c", f"uscc:{AGENCY}")]
    assert who[1][2].startswith("id_hash:") and PERSON not in who[1][2]
    assert all(hash_token(asked[name]) == token_hash for name, token_hash, _ in who)
    assert db.scalar(select(func.count()).select_from(Check)) == len(who)


def test_single_checks_on_postgresql_use_connections_of_their_own(served: tuple[Any, str], client: Client,
                                                                    db: Session, token: Any) -> None:
    """Generic plans and asynchronous commit for the check's own SELECT and INSERT, and for
    nothing else: a decision's commit must still wait for the WAL."""
    from sqlalchemy import text

    from web.context import services

    app, _ = served
    with app.app_context():
        svc = services()
        if svc.engine.dialect.name != "postgresql":
            pytest.skip("a check engine of its own is made on PostgreSQL (TEST_DATABASE_URL)")
        assert svc.hot_engine is not svc.engine
        with svc.hot_engine.connect() as hot, svc.engine.connect() as main:
            assert hot.scalar(text("SHOW plan_cache_mode")) == "force_generic_plan"
            assert hot.scalar(text("SHOW synchronous_commit")) == "off"
            assert main.scalar(text("SHOW plan_cache_mode")) == "auto"
            assert main.scalar(text("SHOW synchronous_commit")) == "on"
    code = uscc(424242)
    answer = client.get(f"/api/v1/eligibility?uscc={code}&domain=procurement", token=token("officer")).json()
    assert db.scalar(select(Check.subject_ref).where(Check.id == answer["check_id"])) == f"uscc:{code}"


def test_the_check_pool_can_be_turned_off(settings: Any) -> None:
    """Behind a PgBouncer that refuses the `options` startup parameter."""
    from dataclasses import replace

    from blacklist.settings import Settings
    from web import create_app
    from web.context import services

    assert Settings.from_env({"BLACKLIST_CHECK_POOL": "0", "BLACKLIST_DATABASE_URL": settings.database_url,
                              "BLACKLIST_SECRET_KEY": "s", "BLACKLIST_ID_HASH_KEY": "k"}).check_pool is False
    app = create_app(replace(settings, check_pool=False))
    with app.app_context():
        assert services().hot_engine is services().engine


def test_the_collector_resumes_when_the_last_batch_that_paused_it_ends() -> None:
    """Batches in two threads of a worker overlap: the first to end must not resume the
    collector under the other, and a collector that was off before stays off."""
    import gc

    from web.eligibility_api import _collector_paused

    assert gc.isenabled()
    with _collector_paused():
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_check_rows_keep_every_value_as_given(db: Session) -> None:
    """A batch's check rows go in by the database's bulk path (on PostgreSQL, COPY text that
    we write): a tab, a newline, a backslash, a carriage return and what reads as NULL in a
    value come back as they went in, and so do the columns every row shares."""
    import datetime as dt

    from blacklist.eligibility import EligibilityService

    odd = ["a\tb", "c\nd", "e\\f", "\\N", "g\rh"]
    refs: list[Any] = [("uscc", value, {}) for value in odd]
    results = [{"eligible": i % 2 == 0, "effect": "restricted" if i % 2 else "none"} for i in range(len(odd))]
    known_at = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    before = dt.datetime.now(dt.timezone.utc)
    ids = EligibilityService(db, None).record(None, refs, results, "bidding", dt.date(2025, 1, 1),  # type: ignore[arg-type]
                                              known_at, "v7")
    rows = {row.id: row for row in db.scalars(select(Check).where(Check.id.in_(ids)))}
    assert len(rows) == len(odd)
    for check_id, value, result in zip(ids, odd, results):
        row = rows[check_id]
        assert row.subject_ref == f"uscc:{value}"
        assert (row.eligible, row.effect) == (result["eligible"], result["effect"])
        assert (row.domain, row.as_of, row.known_at, row.list_version) == ("bidding", dt.date(2025, 1, 1), known_at, "v7")
        assert (row.token_id, row.batch_size) == (None, len(odd))
        assert before - dt.timedelta(seconds=1) <= row.at <= dt.datetime.now(dt.timezone.utc)


def test_a_check_log_that_fails_midway_stores_nothing_and_the_session_goes_on(db: Session) -> None:
    """An error after a part was handed to the log (on PostgreSQL, streamed into the COPY)
    ends the log with nothing stored, and the session can roll back and record again; a log
    given fewer rows than it has ids refuses to close."""
    import datetime as dt

    from blacklist.eligibility import CheckLog

    refs: list[Any] = [("uscc", uscc(i), {}) for i in range(5)]
    clear = [{"eligible": True, "effect": "none"}] * 5
    args = (None, "bidding", dt.date(2025, 1, 1), dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc), "v1")
    with pytest.raises(RuntimeError, match="midway"):
        with CheckLog(db, 5, *args) as log:
            log.add(refs[:3], clear[:3])
            raise RuntimeError("midway")
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Check)) == 0
    with pytest.raises(ValueError, match="3 rows added for 5 ids"):
        with CheckLog(db, 5, *args) as log:
            log.add(refs[:3], clear[:3])
    db.rollback()
    with pytest.raises(ValueError, match="6 refs"):
        with CheckLog(db, 5, *args) as log:
            log.add(refs + refs[:1], clear + clear[:1])
    db.rollback()
    with CheckLog(db, 5, *args) as log:
        log.add(refs[:2], clear[:2])
        log.add(refs[2:], clear[2:])
    db.commit()
    stored = db.execute(select(Check.id, Check.subject_ref).order_by(Check.id)).all()
    assert stored == [(check_id, f"uscc:{uscc(i)}") for i, check_id in enumerate(log.ids)]


def test_in_list_values_are_bound_in_their_places_as_by_name() -> None:
    """`_Prepared.among` puts an IN list's values straight into their positions (SQLite):
    the same parameters as binding every slot by name, for each lookup statement, a full and
    a short chunk, and the one-slot ban statement."""
    import datetime as dt

    from sqlalchemy.dialects import sqlite

    from blacklist.eligibility import _CHUNK, _ban_statement, _batch_statements, _padded

    dialect = sqlite.dialect()
    by_key, listings_of = _batch_statements(dialect)
    others = {"as_of": dt.date(2025, 1, 1), "known_at": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)}
    cases = [(by_key["uscc"], "k", _CHUNK), (by_key["id_hash"], "k", _CHUNK), (listings_of, "i", _CHUNK),
             (_ban_statement(dialect), "i", _CHUNK), (_ban_statement(dialect, 1), "i", 1)]
    for statement, name, slots in cases:
        for values in ([f"v{i}" for i in range(slots)], ["a", "b"][:slots]):
            expected = statement.parameters({**others, **_padded(name, values, slots)})
            assert statement.among(name, values, others, slots) == expected
            assert len(expected) == statement.sql.count("?")
        with pytest.raises(ValueError):
            statement.among(name, [], others, slots)


def test_a_value_with_a_comma_is_never_split_into_two_lookups() -> None:
    """On PostgreSQL a chunk's values travel as one comma-joined text that the server splits;
    a value holding a comma (no code, hash or id does) is refused, not looked up in pieces."""
    from sqlalchemy.dialects import postgresql

    from blacklist.eligibility import _batch_statements, _bound

    by_key, listings_of = _batch_statements(postgresql.dialect())
    assert _bound(by_key["uscc"], "k", ["A1", "B2"]) == {"k": "A1,B2"}
    assert _bound(listings_of, "i", [3, 14]) == {"i": "3,14"}
    with pytest.raises(ValueError, match="comma"):
        _bound(by_key["uscc"], "k", ["A1", "B,2"])
