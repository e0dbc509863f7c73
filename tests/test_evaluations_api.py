"""POST /api/v1/evaluations: the dry run over HTTP, stores nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blacklist.models import Case, Record
from tests.conftest import Client
from tests.factories import accident, penalty, unit

MAIN = {"name": "张某", "id_number": "11010519491231002X"}


def test_the_records_md_example_proposes_a1_for_unit_and_main_person(client: Client, token: Any, db: Session) -> None:
    # 应急管理部令第11号 Art 5(1): a major liability accident (11 deaths) and a penalty naming it
    records = [
        accident("ACC-610400-2024-0007", subject=unit(main_person=MAIN), deaths=11, serious_injuries=3,
                 direct_loss_cny=32_000_000, report_approved_on="2024-08-30"),
        penalty("PEN-610400-2024-0031", accident_id="ACC-610400-2024-0007", fine_cny=5_000_000, executed=True),
    ]
    response = client.post("/api/v1/evaluations", token("officer"), json={"records": records, "as_of": "2024-10-01"})
    assert response.status_code == 200, response.text
    body = response.json()
    unit_entry, person_entry = body["subjects"]
    assert unit_entry["subject"] == {"kind": "unit", "name": "咸阳某化工有限公司", "uscc": "91110000710924945A"}
    [proposal] = unit_entry["proposals"]
    assert proposal["rule"] == "mem11.a1" and proposal["pack"] == "cn-2023-mem11"
    assert proposal["evidence"] == ["ACC-610400-2024-0007", "PEN-610400-2024-0031"]
    assert (proposal["period_start"], proposal["period_end"], proposal["early_removal_from"]) == (
        "2024-09-20", "2027-09-19", "2025-09-20")
    assert {e["rule"] for e in unit_entry["explanations"]} >= {"mem11.a2", "mem11.b4"}
    assert all(e["text"] for e in unit_entry["explanations"])
    assert person_entry["subject"]["id_number_masked"] == "110105********002X"
    assert [p["rule"] for p in person_entry["proposals"]] == ["mem11.a1"]
    assert db.scalar(select(func.count()).select_from(Record)) == 0
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_a_bad_record_makes_the_dry_run_a_422_naming_it(client: Client, token: Any) -> None:
    response = client.post("/api/v1/evaluations", token("officer"),
                           json={"records": [accident(), accident("A2", deaths=-1)], "as_of": "2024-10-01"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == {"records[1]": {"deaths": ["-1 is negative; must be >= 0"]}}
    assert body["rejected"][0]["record_id"] == "A2"


def test_conduct_before_every_pack_is_explained(client: Client, token: Any) -> None:
    response = client.post("/api/v1/evaluations", token("officer"),
                           json={"records": [accident(occurred_on="2015-07-28", deaths=40)], "as_of": "2024-10-01"})
    [entry] = response.json()["subjects"]
    assert entry["proposals"] == []
    assert {"rule": None, "reason": "no_pack"} == {k: entry["explanations"][0][k] for k in ("rule", "reason")}
