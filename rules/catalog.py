"""The joint-punishment measures catalogue (regulations.md §6), read from the packs."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from blacklist.eligibility import Measure

PACK_DIR = Path(__file__).parent / "packs"

# Persons under the statutory bans (Work Safety Law Art 94, 113; 国务院令第493号 Art 40) are
# checked in this domain; a listing of a person is a reference for it.
EXECUTIVE_POSITION = {
    "domain": "executive_position", "activity": "担任生产经营单位主要负责人",
    "activity_en": "serving as main person in charge of a unit", "effect": "reference",
    "implementer": "负有安全生产监督管理职责的部门、市场监督管理部门",
    "basis": "《中华人民共和国安全生产法》第九十四条、第一百一十三条；《生产安全事故报告和调查处理条例》第四十条",
}


class PackCatalog:
    """Measures per pack and domain, from each pack's `measures` list."""

    def __init__(self, packs: Sequence[dict[str, Any]]) -> None:
        self._by_pack: dict[str, dict[str, Measure]] = {}
        order: list[str] = []
        for pack in packs:
            entries = {**{m["domain"]: m for m in pack.get("measures", [])}}
            entries.setdefault("executive_position", EXECUTIVE_POSITION)
            self._by_pack[pack["id"]] = {
                d: Measure(d, m["activity"], m["effect"], m["implementer"], m["basis"]) for d, m in entries.items()}
            order.extend(d for d in entries if d not in order)
        self._domains = tuple(order)

    def domains(self) -> Sequence[str]:
        return self._domains

    def measure(self, pack: str, domain: str) -> Measure | None:
        return self._by_pack.get(pack, {}).get(domain)


@lru_cache(maxsize=1)
def default_catalog() -> PackCatalog:
    packs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(PACK_DIR.glob("*.json"))]
    return PackCatalog(packs)
