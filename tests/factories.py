"""Small record factories with valid synthetic identifiers."""

from __future__ import annotations

from typing import Any

from blacklist.identifiers import make_valid_id_number, make_valid_uscc

UNIT = "91110000710924945A"
UNIT2 = "91440105MA59AGQ16J"
AGENCY = "91430111743169333P"
PERSON = make_valid_id_number("11010519491231002")


def uscc(n: int) -> str:
    """The n-th synthetic code (region 610400)."""
    return make_valid_uscc(f"91610400{n:09d}")


def unit(code: str = UNIT, name: str = "咸阳某化工有限公司", industry: str | None = "chemicals",
         main_person: dict[str, str] | None = None, kind: str = "unit") -> dict[str, Any]:
    subject: dict[str, Any] = {"kind": kind, "name": name, "uscc": code}
    if industry is not None:
        subject["industry"] = industry
    if main_person is not None:
        subject["main_person"] = main_person
    return subject


def person(number: str = PERSON, name: str = "张某") -> dict[str, Any]:
    return {"kind": "person", "name": name, "id_number": number}


def accident(record_id: str = "ACC-1", subject: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "type": "accident", "record_id": record_id, "subject": subject or unit(),
        "occurred_on": "2024-05-06", "deaths": 1, "serious_injuries": 0, "direct_loss_cny": 100_000,
    }
    rec.update(kw)
    return rec


def penalty(record_id: str = "PEN-1", subject: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "type": "penalty", "record_id": record_id, "subject": subject or unit(),
        "document_no": "陕应急罚〔2024〕31号",
        "authority": {"name": "陕西省应急管理厅", "region": "610000", "level": "province"},
        "decided_on": "2024-09-20", "violations": ["accident.liability"],
    }
    rec.update(kw)
    return rec
