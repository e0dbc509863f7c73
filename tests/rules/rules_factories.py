"""Small factories for normalized record dicts (the shape rules.evaluate receives)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(serial: int) -> str:
    """A synthetic unified social credit code with a correct check character."""
    body = f"91610400MA{serial:07d}"
    total = sum(_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(body))
    return body + _ALPHABET[(31 - total % 31) % 31]


def person(name: str, masked: str = "610402********9465") -> dict[str, Any]:
    key = "person:" + hashlib.sha256(name.encode("utf-8")).hexdigest()
    return {"key": key, "kind": "person", "name": name, "uscc": None, "industry": None,
            "id_number_masked": masked, "main_person": None}


def main_person(name: str, masked: str = "110105********002X") -> dict[str, Any]:
    full = person(name, masked)
    return {"key": full["key"], "name": name, "id_number_masked": masked}


def unit(serial: int = 1, name: str = "甲化工有限公司", industry: str | None = "chemicals",
         kind: str = "unit", main: dict[str, Any] | None = None) -> dict[str, Any]:
    code = uscc(serial)
    return {"key": f"uscc:{code}", "kind": kind, "name": name, "uscc": code,
            "industry": industry if kind == "unit" else None, "id_number_masked": None,
            "main_person": main}


def agency(serial: int = 90, name: str = "丙安全评价有限公司") -> dict[str, Any]:
    return unit(serial, name, None, kind="agency")


def grade_of(deaths: int, injuries: int, loss: int) -> str:
    """Test-only grade derivation (the lead's validator owns the real one)."""
    if deaths >= 30 or injuries >= 100 or loss >= 100_000_000:
        return "especially_major"
    if deaths >= 10 or injuries >= 50 or loss >= 50_000_000:
        return "major"
    if deaths >= 3 or injuries >= 10 or loss >= 10_000_000:
        return "larger"
    return "general"


def accident(record_id: str, subject: dict[str, Any], occurred_on: str, deaths: int = 0,
             injuries: int = 0, loss: int = 0, *, grade: str | None = None,
             liability: bool = True, reporting: str = "on_time",
             status: str = "effective") -> dict[str, Any]:
    return {"type": "accident", "record_id": record_id, "status": status, "subject": subject,
            "occurred_on": occurred_on, "deaths": deaths, "serious_injuries": injuries,
            "direct_loss_cny": loss, "grade": grade or grade_of(deaths, injuries, loss),
            "liability": liability, "reporting": reporting, "report_approved_on": None}


def penalty(record_id: str, subject: dict[str, Any], decided_on: str,
            violations: tuple[str, ...] = ("other",), *, accident_id: str | None = None,
            conduct_on: str | None = None, fine_multiple: float | None = None,
            serious: bool = False, status: str = "effective",
            executed: bool | None = None) -> dict[str, Any]:
    return {"type": "penalty", "record_id": record_id, "status": status, "subject": subject,
            "document_no": f"陕应急罚〔{decided_on[:4]}〕{record_id[-2:]}号",
            "authority": {"name": "陕西省应急管理厅", "region": "610000", "level": "province"},
            "decided_on": decided_on, "conduct_on": conduct_on, "accident_id": accident_id,
            "violations": list(violations), "fine_cny": 100000, "fine_multiple": fine_multiple,
            "serious": serious, "executed": executed}


def day(text: str) -> date:
    return date.fromisoformat(text)
