"""Statutory bans (regulations.md §6 [law]): they run on their own clocks and outlive any
listing, and need no decision of the department's, so a check derives them from the
subject's own effective penalties (a lookup of records, never the rules engine).

- A person penalised for a liability accident of grade `major` or worse may never again be
  main person in charge of a unit in that accident's industry (Work Safety Law Art 94):
  domain `executive_position`, effect `restricted`: barred in that industry, which the
  implementing department weighs against the post in question.
- An agency penalised for lending its qualification or for false reports loses it and is
  barred for 5 years, for life when the penalty marks the conduct serious (国务院令第493号
  Art 40; Work Safety Law): domain `qualification`, effect `prohibited`.

The 5-year ban on a main person "who received a criminal penalty or dismissal" is not
derived: no record of records.md says that a person was sentenced or dismissed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blacklist.periods import period_end

BAN_DOMAINS = ("executive_position", "qualification")
SEVERE_GRADES = ("major", "especially_major")
AGENCY_VIOLATIONS = ("agency.qualification_abuse", "agency.false_report")
AGENCY_BAN_MONTHS = 60  # 5 years, fixed by law [law], not a regime's default

_PERSON_BASIS = "《中华人民共和国安全生产法》第九十四条"
_AGENCY_BASIS = "《生产安全事故报告和调查处理条例》（国务院令第493号）第四十条；《中华人民共和国安全生产法》"
_IMPLEMENTER = "负有安全生产监督管理职责的部门、市场监督管理部门"


@dataclass(frozen=True)
class Ban:
    domain: str
    effect: str
    activity: str
    basis: str
    since: dt.date
    until: dt.date | None  # the last day; None: for life
    records: tuple[str, ...]  # the penalty, and the accident it names
    industry: str | None = None

    def in_force(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)

    def measure(self) -> dict[str, Any]:
        """The ban as an entry of an eligibility answer's `measures`."""
        return {"domain": self.domain, "activity": self.activity, "effect": self.effect,
                "implementer": _IMPLEMENTER, "basis": self.basis, "statutory_ban": True,
                "since": self.since.isoformat(), "until": self.until.isoformat() if self.until else None,
                "records": list(self.records), **({"industry": self.industry} if self.industry else {})}


def derive(kind: str, penalties: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any] | None]]
           ) -> list[Ban]:
    """The bans a subject of `kind` incurs from its effective penalties, each given as
    `(record id, payload, payload of the accident it names or None)`, oldest first."""
    bans = []
    for record_id, penalty, accident in penalties:
        decided = dt.date.fromisoformat(penalty["decided_on"])
        if kind == "person" and accident is not None and accident.get("status", "effective") == "effective" \
                and accident.get("liability", True) and accident.get("grade") in SEVERE_GRADES:
            industry = (accident.get("subject") or {}).get("industry")
            where = f"{industry}行业" if industry else "本行业"
            bans.append(Ban("executive_position", "restricted",
                            f"终身不得担任{where}生产经营单位的主要负责人（对{accident['grade']}级事故负有责任）",
                            _PERSON_BASIS, decided, None, (record_id, str(accident["record_id"])), industry))
        if kind == "agency" and any(v in AGENCY_VIOLATIONS for v in penalty.get("violations", ())):
            serious = bool(penalty.get("serious"))
            until = None if serious else period_end(decided, AGENCY_BAN_MONTHS)
            bans.append(Ban("qualification", "prohibited",
                            "吊销资质，" + ("终身" if serious else "五年内") + "不得从事安全评价、认证、检测、检验等技术服务",
                            _AGENCY_BASIS, decided, until, (record_id,)))
    return bans


def in_force(bans: Sequence[Ban], domain: str, day: dt.date) -> list[Ban]:
    return [ban for ban in bans if ban.domain == domain and ban.in_force(day)]
