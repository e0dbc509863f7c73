"""The joint-punishment measures catalogue (regulations.md §6), read from the packs."""

from __future__ import annotations

from typing import Sequence

from blacklist.eligibility import Measure
from rules.packs import Pack

# Persons under the statutory bans (Work Safety Law Art 94, 113; 国务院令第493号 Art 40) are
# checked in this domain; a listing of a person is to be weighed there, and the bans
# themselves, which need no listing, come from blacklist.bans.
EXECUTIVE_POSITION = Measure(
    domain="executive_position", activity="担任生产经营单位主要负责人", effect="reference",
    implementer="负有安全生产监督管理职责的部门、市场监督管理部门",
    basis="《中华人民共和国安全生产法》第九十四条、第一百一十三条；《生产安全事故报告和调查处理条例》第四十条",
)


class PackCatalog:
    """Measures per pack and domain, from each pack's `measures` list."""

    def __init__(self, packs: Sequence[Pack]) -> None:
        self._by_pack: dict[str, dict[str, Measure]] = {}
        order: list[str] = []
        for pack in packs:
            entries = {m.domain: Measure(m.domain, m.activity, m.effect, m.implementer, m.basis)
                       for m in pack.measures}
            entries.setdefault(EXECUTIVE_POSITION.domain, EXECUTIVE_POSITION)
            self._by_pack[pack.id] = entries
            order.extend(d for d in entries if d not in order)
        self._domains = tuple(order)

    def domains(self) -> Sequence[str]:
        return self._domains

    def measure(self, pack: str, domain: str) -> Measure | None:
        return self._by_pack.get(pack, {}).get(domain)
