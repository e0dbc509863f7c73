"""The regulator's workflow end to end over HTTP: proposal → notice → decision → listing,
early removal, restore, withdrawal, and the two time axes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from blacklist.audit import verify
from blacklist.eligibility import NO_RECORD
from blacklist.errors import ConflictError
from blacklist.workdays import WorkdayCalendar
from blacklist.workflow import Actor, restore, serve_notice
from blacklist.workflow import decide as decide_case
from tests.conftest import Client
from tests.factories import UNIT, accident, penalty, unit

MAIN = {"name": "张某", "id_number": "11010519491231002X"}


def major_accident_records(executed: bool | None = None, status: str = "effective") -> list[dict[str, Any]]:
    """mem11.a1 (应急管理部令第11号 Art 5(1)): a major liability accident and a penalty naming it."""
    pen = penalty("PEN-A1", accident_id="ACC-A1", status=status)
    if executed is not None:
        pen["executed"] = executed
    return [accident("ACC-A1", subject=unit(main_person=MAIN), deaths=11, occurred_on="2024-05-06"), pen]


def ingest(client: Client, token: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post("/api/v1/records", token, json=records)
    assert response.status_code == 200, response.text
    return response.json()


def unit_case_id(client: Client, tokens: dict[str, str]) -> int:
    """The unit's case, whatever its status."""
    items = [c for status in ("decided", "withdrawn") for c in client.get(
        "/api/v1/cases", tokens["regulator"], params={"uscc": UNIT, "status": status}).json()["items"]]
    assert len(items) == 1, items
    return int(items[0]["id"])


def unit_case(client: Client, reg: str) -> dict[str, Any]:
    items = client.get("/api/v1/cases", reg, params={"uscc": UNIT}).json()["items"]
    assert len(items) == 1, items
    return items[0]


@pytest.fixture
def tokens(token: Any) -> dict[str, str]:
    return {"system": token("system"), "regulator": token("regulator", "王科长"), "officer": token("officer")}


def decide(client: Client, reg: str, case_id: int, day: str, **kw: Any) -> Any:
    body = {"outcome": "list", "decided_on": day, "document_no": "陕应急信决〔2024〕1号", "reason": "事故责任"}
    body.update(kw)
    return client.post(f"/api/v1/cases/{case_id}/decision", reg, json=body)


def check(client: Client, officer: str, as_of: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/eligibility", officer,
                          params={"uscc": UNIT, "domain": "procurement", "as_of": as_of, **params})
    assert response.status_code == 200, response.text
    return response.json()


def listed_case(client: Client, tokens: dict[str, str], executed: bool | None = None) -> dict[str, Any]:
    result = ingest(client, tokens["system"], major_accident_records(executed))
    assert result["cases_opened"] == 2  # the unit and its main person in charge
    case = unit_case(client, tokens["regulator"])
    assert client.post(f"/api/v1/cases/{case['id']}/notice", tokens["regulator"],
                       json={"served_on": "2024-09-23"}).status_code == 200
    response = decide(client, tokens["regulator"], case["id"], "2024-09-30")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_case_walks_from_proposal_to_listing(client: Client, tokens: dict[str, str], db: Session) -> None:
    reg = tokens["regulator"]
    ingest(client, tokens["system"], major_accident_records())
    case = unit_case(client, reg)
    assert (case["status"], case["rule"], case["list"]) == ("proposed", "mem11.a1", "serious_untrustworthy")
    assert case["evidence"] == ["ACC-A1", "PEN-A1"]
    assert case["authority"]["region"] == "610000"

    # no decision to list before the party is notified
    early = decide(client, reg, case["id"], "2024-09-24")
    assert early.status_code == 409 and "notified" in early.json()["detail"]

    # notice on Monday 2024-09-23: 5 working days are 24, 25, 26, 27 and Sunday 29 (a swapped
    # working day before National Day), so the statement period ends on 2024-09-29
    served = client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={"served_on": "2024-09-23"}).json()
    assert (served["status"], served["statement_ends"]) == ("notified", "2024-09-29")

    refused = decide(client, reg, case["id"], "2024-09-29")
    assert refused.status_code == 409
    assert refused.json()["statement_period_ends"] == "2024-09-29"
    assert decide(client, reg, case["id"], "2024-09-29", statement_waived=True).status_code == 200

    detail = client.get(f"/api/v1/cases/{case['id']}", reg).json()
    assert detail["status"] == "decided" and detail["decided_by"] == "王科长"
    # the listing's period, anchored on the decision; the proposal keeps the evidence's
    assert (detail["period_start"], detail["period_end"]) == ("2024-09-29", "2027-09-28")
    assert (detail["proposal"]["period_start"], detail["proposal"]["period_end"]) == ("2024-09-20", "2027-09-19")
    assert [e["record_id"] for e in detail["evidence_records"]] == ["ACC-A1", "PEN-A1"]
    assert [h["action"] for h in detail["history"]] == ["case.proposed", "case.notified", "case.decided"]
    assert "11010519491231002X" not in str(detail)

    listing = client.get(f"/api/v1/listings/{detail['listing_id']}", tokens["officer"]).json()
    assert (listing["period_start"], listing["period_end"], listing["early_removal_from"]) == (
        "2024-09-29", "2027-09-28", "2025-09-29")

    # an officer reads the unit's full history, its cases included (api.md: officer+)
    history = client.get(f"/api/v1/subjects/{UNIT}", tokens["officer"]).json()
    assert [(c["id"], c["status"]) for c in history["cases"]] == [(case["id"], "decided")]
    assert "11010519491231002X" not in str(history)

    again = decide(client, reg, case["id"], "2024-10-08")
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    assert verify(db).ok


def test_reject_and_refusals(client: Client, tokens: dict[str, str]) -> None:
    reg = tokens["regulator"]
    ingest(client, tokens["system"], major_accident_records())
    case = unit_case(client, reg)
    assert client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={"served_on": "2030-01-01"}).status_code == 422
    assert client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={}).status_code == 422
    assert client.post("/api/v1/cases/999999/notice", reg, json={"served_on": "2024-09-23"}).status_code == 404
    # the penalty the case rests on was decided on 2024-09-20: no notice or decision before it
    early = client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={"served_on": "2024-09-19"})
    assert early.status_code == 422 and "2024-09-20" in early.json()["errors"]["served_on"][0]
    assert decide(client, reg, case["id"], "2020-01-20", outcome="reject").status_code == 422
    rejected = decide(client, reg, case["id"], "2024-09-24", outcome="reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={"served_on": "2024-09-23"}).status_code == 409
    assert client.get("/api/v1/cases", tokens["officer"]).status_code == 403
    assert client.get("/api/v1/cases", reg, params={"status": "bogus"}).status_code == 422


def test_period_boundaries_in_eligibility(client: Client, tokens: dict[str, str]) -> None:
    listed_case(client, tokens)
    officer = tokens["officer"]
    assert check(client, officer, "2024-09-29")["eligible"] is True   # the day before the decision
    answer = check(client, officer, "2024-09-30")                      # decided on D: in force on D
    assert answer["eligible"] is False and answer["effect"] == "prohibited"
    assert answer["listings"][0]["period_end"] == "2027-09-29"
    assert check(client, officer, "2027-09-29")["eligible"] is False   # the last day
    assert check(client, officer, "2027-09-30")["eligible"] is True    # eligible again


def test_early_removal_boundary_conditions_and_restore(client: Client, tokens: dict[str, str], db: Session) -> None:
    reg, officer = tokens["regulator"], tokens["officer"]
    listing_id = listed_case(client, tokens)["listing_id"]
    url = f"/api/v1/listings/{listing_id}/early-removal"
    too_early = client.post(url, reg, json={"applied_on": "2025-09-29", "decided_on": "2025-10-10",
                                            "outcome": "granted"})
    assert too_early.status_code == 409 and too_early.json()["first_allowed"] == "2025-09-30"
    not_performed = client.post(url, reg, json={"applied_on": "2025-09-30", "decided_on": "2025-10-10",
                                                "outcome": "granted"})
    assert not_performed.status_code == 422
    assert "penalty_not_performed" in not_performed.json()["errors"]
    ingest(client, tokens["system"], [major_accident_records(executed=True)[1]])  # penalty now performed
    granted = client.post(url, reg, json={"applied_on": "2025-09-30", "decided_on": "2025-10-10",
                                          "outcome": "granted", "reason": "信用修复"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["last_day_in_force"] == "2025-10-09"
    # §3: decided within 15 working days of the application (2025-09-30; then the National
    # Day holiday to 10-08, with 09-28 and 10-11 worked): due 2025-10-28, met
    [removal] = [e for e in granted.json()["events"] if e["kind"] == "removed_early"]
    assert (removal["data"]["decision_due"], removal["data"]["decided_in_time"]) == ("2025-10-28", True)
    assert check(client, officer, "2025-10-09")["eligible"] is False
    assert check(client, officer, "2025-10-10")["eligible"] is True
    twice = client.post(url, reg, json={"applied_on": "2025-09-30", "decided_on": "2025-10-11", "outcome": "granted"})
    assert twice.status_code == 409
    # a removal revoked after the period (to 2027-09-29) has run out restores nothing
    with pytest.raises(ConflictError, match="ended on 2027-09-29"):
        restore(db, listing_id, decided_on=dt.date(2027, 10, 8), reason="材料伪造", actor=Actor("王科长"),
                calendar=WorkdayCalendar.configured(None), today=dt.date(2027, 10, 9))
    db.rollback()
    restored = client.post(f"/api/v1/listings/{listing_id}/restore", reg,
                           json={"decided_on": "2025-12-01", "reason": "材料伪造"})
    assert restored.status_code == 200
    assert check(client, officer, "2025-10-10")["eligible"] is False
    # the removal is void from its start, and the platform is told so: in force again from
    # 2025-10-10, decided on 2025-12-01 (publication due 7 working days after that)
    changes = {c["kind"]: c for c in client.get("/api/v1/publications", reg).json()["items"]}
    assert (changes["restored"]["effective_on"], changes["restored"]["due_on"]) == ("2025-10-10", "2025-12-10")


def test_withdrawal_changes_answers_only_from_when_it_was_known(client: Client, tokens: dict[str, str]) -> None:
    officer = tokens["officer"]
    listed_case(client, tokens)
    before = check(client, officer, "2025-03-01")
    assert before["eligible"] is False
    known_then = dt.datetime.now(dt.timezone.utc).isoformat()
    result = ingest(client, tokens["system"], [major_accident_records(status="revoked")[1]])
    assert result["listings_withdrawn"] == 1
    # void from its start (2024-09-30), decided today: due 7 working days from today, not overdue
    [withdrawn] = [c for c in client.get("/api/v1/publications", tokens["regulator"]).json()["items"]
                   if c["kind"] == "withdrawn"]
    assert withdrawn["effective_on"] == "2024-09-30"
    assert withdrawn["due_on"] > dt.date.today().isoformat() and withdrawn["overdue"] is False
    [correction] = [c for c in client.get("/api/v1/changes", officer).json()["items"] if c["kind"] == "withdrawn"]
    assert correction["details"]["records"] == ["PEN-A1"] and correction["details"]["withdrawn_on"]
    # the decision falls with its listing, and says why in its history
    case = client.get(f"/api/v1/cases/{unit_case_id(client, tokens)}", tokens["regulator"]).json()
    assert case["status"] == "withdrawn" and case["reason"] == "事故责任"
    assert [h["action"] for h in case["history"]][-1] == "case.withdrawn"
    assert case["history"][-1]["after"]["records"] == ["PEN-A1"]
    assert check(client, officer, "2025-03-01")["eligible"] is True
    replay = check(client, officer, "2025-03-01", known_at=known_then)
    assert replay["eligible"] is False and replay["list_version"] == before["list_version"]


def test_before_a_subject_was_recorded_the_answer_is_no_record(client: Client, tokens: dict[str, str]) -> None:
    """known_at: the answer our records gave then. Before the unit's first record arrived we
    knew nothing of it, in a single check, a batch, and its history alike."""
    before_any = dt.datetime.now(dt.timezone.utc).isoformat()
    listed_case(client, tokens)
    officer = tokens["officer"]
    then = check(client, officer, "2025-03-01", known_at=before_any)
    assert (then["eligible"], then["subject"].get("name"), then["note"]) == (True, None, NO_RECORD)
    assert check(client, officer, "2025-03-01")["subject"]["name"] == "咸阳某化工有限公司"
    batch = client.post("/api/v1/eligibility/batch", officer, json={
        "domain": "procurement", "as_of": "2025-03-01", "known_at": before_any,
        "subjects": [{"uscc": UNIT}, {"id_number": MAIN["id_number"]}]}).json()
    assert [(r["eligible"], r["note"]) for r in batch["results"]] == [(True, NO_RECORD), (True, NO_RECORD)]
    history = client.get(f"/api/v1/subjects/{UNIT}", officer, params={"known_at": before_any})
    assert history.status_code == 404

    # a record revised later shows in the version current at the time asked about
    listed_then = dt.datetime.now(dt.timezone.utc).isoformat()
    ingest(client, tokens["system"], [major_accident_records(status="revoked")[1]])

    def penalty_in(params: dict[str, str]) -> tuple[Any, ...]:
        body = client.get(f"/api/v1/subjects/{UNIT}", officer, params=params).json()
        [pen] = [r for r in body["records"] if r["record_id"] == "PEN-A1"]
        return pen["version"], pen["versions"], pen["status"], pen["record"]["status"], len(body["cases"])

    assert penalty_in({"known_at": listed_then}) == (1, 1, "effective", "effective", 1)
    assert penalty_in({})[:4] == (2, 2, "revoked", "revoked")


def test_a_decision_to_list_needs_a_document_number_and_waiver_aliases_work(client: Client, tokens: dict[str, str]) -> None:
    reg = tokens["regulator"]
    ingest(client, tokens["system"], major_accident_records())
    case = unit_case(client, reg)
    client.post(f"/api/v1/cases/{case['id']}/notice", reg, json={"served_on": "2024-09-23"})
    missing = client.post(f"/api/v1/cases/{case['id']}/decision", reg,
                          json={"outcome": "list", "decided_on": "2024-09-30"})
    assert missing.status_code == 422 and "document_no" in missing.json()["errors"]
    waived = decide(client, reg, case["id"], "2024-09-24", party_waived=True)
    assert waived.status_code == 200 and waived.json()["statement_waived"] is True


def test_a_provisional_statement_period_is_counted_again_once_the_holidays_are_known(
        client: Client, tokens: dict[str, str], db: Session) -> None:
    """regulations.md §3: for a year the calendar does not cover, count Monday to Friday and
    mark the deadline provisional; holidays announced later (the deployment's file) count."""
    ingest(client, tokens["system"], major_accident_records())
    case_id = unit_case(client, tokens["regulator"])["id"]
    clerk, later = Actor("王科长"), dt.date(2027, 1, 20)
    unknown = WorkdayCalendar()  # 2027 not in chinesecalendar: Monday to Friday, provisional
    served = serve_notice(db, case_id, dt.date(2026, 12, 28), actor=clerk, calendar=unknown, today=later)
    if not served.statement_provisional:
        pytest.skip("chinesecalendar covers 2027 in this installation")
    assert served.statement_ends == dt.date(2027, 1, 4)  # 29, 30, 31 Dec, Fri 1 Jan, Mon 4 Jan
    announced = WorkdayCalendar(extra_holidays=[dt.date(2027, 1, 1)])
    with pytest.raises(ConflictError) as refused:
        decide_case(db, case_id, outcome="list", decided_on=dt.date(2027, 1, 5), document_no="陕应急信决〔2027〕1号",
               reason="事故责任", statement_waived=False, actor=clerk, calendar=announced, today=later)
    assert refused.value.extra["statement_period_ends"] == "2027-01-05"
    case, listing = decide_case(db, case_id, outcome="list", decided_on=dt.date(2027, 1, 6),
                                document_no="陕应急信决〔2027〕1号", reason="事故责任", statement_waived=False,
                                actor=clerk, calendar=announced, today=later)
    assert listing is not None and (case.statement_ends, case.statement_provisional) == (dt.date(2027, 1, 5), False)
    db.rollback()



def test_a_publication_deadline_in_a_year_without_announced_holidays_is_provisional(
        client: Client, tokens: dict[str, str], db: Session) -> None:
    """regulations.md §3: publication within 7 working days of the decision; for a year the
    calendar does not cover, count Monday to Friday and mark the deadline as provisional."""
    ingest(client, tokens["system"], major_accident_records())
    case_id = unit_case(client, tokens["regulator"])["id"]
    clerk, later = Actor("王科长"), dt.date(2027, 2, 1)
    unknown = WorkdayCalendar()
    if not unknown.is_provisional(dt.date(2027, 1, 15)):
        pytest.skip("chinesecalendar covers 2027 in this installation")
    serve_notice(db, case_id, dt.date(2026, 12, 28), actor=clerk, calendar=unknown, today=later)
    decide_case(db, case_id, outcome="list", decided_on=dt.date(2027, 1, 8), document_no="陕应急信决〔2027〕2号",
                reason="事故责任", statement_waived=False, actor=clerk, calendar=unknown, today=later)
    db.commit()
    [change] = client.get("/api/v1/deadlines", tokens["regulator"]).json()["unpublished_changes"]
    assert change["kind"] == "listed" and change["due_on"] == "2027-01-19"  # 11-15, 18, 19 Jan: Monday to Friday
    assert change["due_provisional"] is True
    # the regulator's deadline page, signed in as a person would be
    form = client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None
    client.post("/login", data={"csrf_token": csrf.group(1), "token": tokens["regulator"]})
    page = client.get("/workbench/deadlines")
    assert page.status_code == 200 and "2027-01-19（暂定）" in page.text

def test_a_lapsed_proposal_is_recorded_but_not_in_the_case_queue(client: Client, tokens: dict[str, str]) -> None:
    """regulations.md §9: a proposal whose period is over at as_of is recorded as lapsed and
    no case is opened for it: the queue leaves it out unless asked for by status."""
    reg = tokens["regulator"]
    old = accident("ACC-OLD", subject=unit(industry="chemicals"), deaths=3, occurred_on="2022-01-10")
    assert ingest(client, tokens["system"], [old])["cases_opened"] == 0
    assert client.get("/api/v1/cases", reg).json()["items"] == []
    lapsed = client.get("/api/v1/cases", reg, params={"status": "lapsed"}).json()["items"]
    assert {c["rule"] for c in lapsed} >= {"aj49.t1"} and {c["status"] for c in lapsed} == {"lapsed"}
    # nothing to act on: the other rules' explanations are not kept (a dry run gives them)
    detail = client.get(f"/api/v1/cases/{lapsed[0]['id']}", reg).json()
    assert detail["explanations"] == [] and detail["proposal"]["explanations_omitted"] == "lapsed"
    dry = client.post("/api/v1/evaluations", reg, json={"records": [old], "as_of": dt.date.today().isoformat()}).json()
    assert dry["subjects"][0]["explanations"]


def test_a_live_case_keeps_the_explanations_of_the_rules_that_did_not_fire(client: Client,
                                                                           tokens: dict[str, str]) -> None:
    ingest(client, tokens["system"], major_accident_records())
    detail = client.get(f"/api/v1/cases/{unit_case(client, tokens['regulator'])['id']}", tokens["regulator"]).json()
    assert {e["rule"] for e in detail["explanations"]} >= {"mem11.a2", "mem11.b1"}
    assert "explanations_omitted" not in detail["proposal"]
