"""Statutory bans (regulations.md §6 [law]): they run on their own clocks, outlive any
listing, and need no decision: a person penalised for a major accident may never again be
main person in charge in that industry; an agency penalised for false reports or a lent
qualification is barred from it for 5 years, for life when serious."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Client
from blacklist.identifiers import make_valid_id_number
from tests.factories import AGENCY, PERSON, UNIT, accident, penalty, person, unit

OTHER = make_valid_id_number("11010519800101003")
from tests.test_workflow import ingest


@pytest.fixture
def tokens(token: Any) -> dict[str, str]:
    return {"system": token("system"), "officer": token("officer")}


def ask(client: Client, officer: str, subject: dict[str, str], domain: str, as_of: str) -> dict[str, Any]:
    response = client.post("/api/v1/eligibility", officer, json={"subject": subject, "domain": domain, "as_of": as_of})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_person_penalised_for_a_major_accident_may_never_lead_a_unit_of_that_industry(
        client: Client, tokens: dict[str, str]) -> None:
    ingest(client, tokens["system"], [
        accident("ACC-M", subject=unit(industry="chemicals"), deaths=11, occurred_on="2024-05-06"),
        penalty("PEN-P", subject=person(), accident_id="ACC-M", decided_on="2024-09-20")])
    officer, who = tokens["officer"], {"id_number": PERSON}
    before = ask(client, officer, who, "executive_position", "2024-09-19")
    assert before["eligible"] is True and before["effect"] == "none"
    for as_of in ("2024-09-20", "2031-01-01", "2060-01-01"):  # for life: long after any listing
        body = ask(client, officer, who, "executive_position", as_of)
        assert (body["eligible"], body["effect"]) == (False, "restricted"), as_of
        [ban] = [m for m in body["measures"] if m.get("statutory_ban")]
        assert (ban["since"], ban["until"], ban["industry"], ban["records"]) == (
            "2024-09-20", None, "chemicals", ["PEN-P", "ACC-M"])
        assert "第九十四条" in ban["basis"] and ban["implementer"]
        assert PERSON not in str(body)
    assert ask(client, officer, who, "procurement", "2031-01-01")["eligible"] is True  # a ban, not a listing
    batch = client.post("/api/v1/eligibility/batch", officer, json={
        "domain": "executive_position", "as_of": "2031-01-01",
        "subjects": [{"uscc": UNIT}, who, {"id_number": OTHER}]}).json()
    assert [(r["eligible"], r["effect"]) for r in batch["results"]] == [
        (True, "none"), (False, "restricted"), (True, "none")]


def test_no_ban_from_a_revoked_penalty_a_smaller_accident_or_for_the_unit(client: Client,
                                                                          tokens: dict[str, str]) -> None:
    other = OTHER
    ingest(client, tokens["system"], [
        accident("ACC-M", subject=unit(industry="chemicals"), deaths=11, occurred_on="2024-05-06"),
        penalty("PEN-R", subject=person(), accident_id="ACC-M", decided_on="2024-09-20", status="revoked"),
        accident("ACC-L", subject=unit(industry="chemicals"), deaths=3, occurred_on="2024-06-06"),
        penalty("PEN-L", subject=person(other, "李某"), accident_id="ACC-L", decided_on="2024-09-20")])
    officer = tokens["officer"]
    assert ask(client, officer, {"id_number": PERSON}, "executive_position", "2025-01-01")["eligible"] is True
    assert ask(client, officer, {"id_number": other}, "executive_position", "2025-01-01")["eligible"] is True
    assert ask(client, officer, {"uscc": UNIT}, "executive_position", "2025-01-01")["effect"] == "none"


@pytest.mark.parametrize("serious, last_day, free_from", [(False, "2029-09-19", "2029-09-20"),
                                                           (True, "2060-01-01", None)])
def test_an_agency_that_issued_false_reports_loses_its_qualification_for_5_years_or_for_life(
        client: Client, tokens: dict[str, str], serious: bool, last_day: str, free_from: str | None) -> None:
    agency = unit(AGENCY, "某安全评价有限公司", industry=None, kind="agency")
    ingest(client, tokens["system"], [penalty("PEN-AG", subject=agency, violations=["agency.false_report"],
                                              decided_on="2024-09-20", serious=serious)])
    officer, who = tokens["officer"], {"uscc": AGENCY}
    assert ask(client, officer, who, "qualification", "2024-09-19")["eligible"] is True
    body = ask(client, officer, who, "qualification", last_day)
    assert (body["eligible"], body["effect"]) == (False, "prohibited")
    [ban] = [m for m in body["measures"] if m.get("statutory_ban")]
    assert (ban["since"], ban["until"]) == ("2024-09-20", None if serious else last_day)
    got = client.get("/api/v1/eligibility", officer, params={"uscc": AGENCY, "domain": "qualification",
                                                             "as_of": last_day}).json()
    assert (got["eligible"], got["effect"]) == (False, "prohibited")
    if free_from:
        assert ask(client, officer, who, "qualification", free_from)["eligible"] is True
