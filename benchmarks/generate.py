"""Write a realistic synthetic file of violation records (records.md) as JSON Lines.

    python -m benchmarks.generate --records 1000000 --subjects 100000 --seed 7 out.jsonl

Deterministic for a seed. Memory stays constant whatever the size: a subject is derived
from its number when it is needed, and only a bounded window of recent records is kept
(to link penalties to accidents, to delay some records and to re-send corrections).
Every record is valid; `--check-every K` validates every K-th one while writing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import random
import sys
from collections import deque
from functools import lru_cache
from typing import Any, Iterator

from benchmarks.subjects import Population, Subject
from benchmarks.vocab import NATIONAL, City, Division, authority_name
from blacklist.grades import GRADES, derive_grade

FIRST_DAY = dt.date(2015, 8, 1)
LAST_DAY = dt.date(2026, 10, 31)

# Accident severity bands: (weight, deaths range, serious-injury range, loss range CNY).
_BANDS = (
    (9350, (0, 2), (0, 9), (20_000, 9_990_000)),
    (550, (3, 9), (0, 25), (1_000_000, 30_000_000)),
    (90, (10, 29), (0, 60), (20_000_000, 90_000_000)),
    (10, (30, 80), (10, 150), (100_000_000, 1_500_000_000)),
)
_REPORTING = (("on_time", 900), ("late", 60), ("concealed", 30), ("false", 10))
# Work Safety Law Art 114: fine range by grade (CNY).
_ACCIDENT_FINES = {"general": (300_000, 1_000_000), "larger": (1_000_000, 2_000_000),
                   "major": (2_000_000, 10_000_000), "especially_major": (10_000_000, 20_000_000)}
_UNIT_CODES = (("hazard.major_unrectified", 20), ("permit.none", 12), ("other", 35),
               ("hazard.occupational_over_limit", 8), ("facilities.not_accepted", 6),
               ("order.suspension_ignored", 5), ("supervision.evaded", 5),
               ("permit.suspended_or_revoked", 3), ("penalty.refused_execution", 2))
_AGENCY_CODES = (("agency.false_report", 40), ("agency.qualification_abuse", 25), ("other", 35))
_PERSON_CODES = (("other", 70), ("permit.none", 15), ("supervision.evaded", 10),
                 ("hazard.major_unrectified", 5))
_REPORTING_CODE = {"late": "accident.late_report", "concealed": "accident.concealed",
                   "false": "accident.false_report"}


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _skewed(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high], most often near `low`."""
    return low + int((high - low + 1) * rng.random() ** 2.5)


class Generator:
    """Produces records one by one; `records()` yields exactly `total` of them."""

    def __init__(self, total: int, subjects: int, seed: int, last_day: dt.date = LAST_DAY,
                 corrections: float = 0.002) -> None:
        self.total = total
        self.rng = random.Random(seed)
        self.people = Population(subjects, seed, last_day)
        self.last_day = last_day
        self.corrections = corrections
        self.span = (last_day - FIRST_DAY).days
        self.recent: deque[dict[str, Any]] = deque(maxlen=2000)
        self.doc_numbers: dict[tuple[str, int], int] = {}
        self.sequence = 0

    # -- dates and authorities -------------------------------------------------------
    def _day(self, start: dt.date = FIRST_DAY) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, (self.last_day - start).days))

    def _after(self, day: dt.date, low: int, high: int) -> dt.date:
        return min(day + dt.timedelta(days=self.rng.randint(low, high)), self.last_day)

    def _authority(self, city: City, grade: str = "general") -> Division:
        r = self.rng.random()
        if grade in ("major", "especially_major"):
            return NATIONAL if r < 0.15 else city.province
        if grade == "larger" or r < 0.09:
            return city.province if r < 0.7 else city.city
        if city.counties and r < 0.35:
            return self.rng.choice(city.counties)
        return city.city

    def _document(self, authority: Division, day: dt.date) -> str:
        key = (authority.code, day.year)
        number = self.doc_numbers[key] = self.doc_numbers.get(key, 0) + 1
        return f"{authority.short}应急罚〔{day.year}〕{number}号"

    def _record_id(self, prefix: str, region: str, day: dt.date) -> str:
        self.sequence += 1
        return f"{prefix}-{region}-{day.year}-{self.sequence:07d}"

    # -- records ---------------------------------------------------------------------
    def _accident(self, unit: Subject, day: dt.date) -> dict[str, Any]:
        rng = self.rng
        band = rng.choices(_BANDS, weights=[b[0] for b in _BANDS])[0]
        deaths = _skewed(rng, *band[1])
        if band is _BANDS[0]:
            deaths = rng.choices((0, 1, 2), weights=(45, 45, 10))[0]
        injuries = _skewed(rng, *band[2])
        loss = _skewed(rng, *band[3]) // 1000 * 1000
        record: dict[str, Any] = {
            "type": "accident", "record_id": self._record_id("ACC", unit.city.city.code, day),
            "subject": unit.as_subject(day, with_main_person=rng.random() < 0.4),
            "occurred_on": day.isoformat(), "deaths": deaths, "serious_injuries": injuries,
            "direct_loss_cny": loss,
        }
        grade = derive_grade(deaths, injuries, loss)
        r = rng.random()
        if r < 0.005 and grade != "especially_major":
            record["grade"] = GRADES[GRADES.index(grade) + 1]  # the approved report rated it higher
        elif r < 0.6:
            record["grade"] = grade
        if rng.random() < 0.07:
            record["liability"] = False
        elif rng.random() < 0.5:
            record["liability"] = True
        reporting = _weighted(rng, _REPORTING)
        if reporting != "on_time" or rng.random() < 0.3:
            record["reporting"] = reporting
        if rng.random() < 0.7:
            approved = self._after(day, 45, 180)
            record["report_approved_on"] = approved.isoformat()
        if rng.random() < 0.001:
            record["status"] = "revoked"
        return record

    def _penalty(self, subject: Subject, authority: Division, decided: dt.date,
                 violations: list[str], fine: int | None, *, conduct: dt.date | None = None,
                 accident_id: str | None = None) -> dict[str, Any]:
        rng = self.rng
        record: dict[str, Any] = {
            "type": "penalty", "record_id": self._record_id("PEN", authority.code, decided),
            "subject": subject.as_subject(decided, with_main_person=rng.random() < 0.3),
            "document_no": self._document(authority, decided),
            "authority": {"name": authority_name(authority), "region": authority.code,
                          "level": authority.level},
            "decided_on": decided.isoformat(), "violations": violations,
        }
        if conduct is not None:
            record["conduct_on"] = conduct.isoformat()
        if accident_id is not None:
            record["accident_id"] = accident_id
        if fine is not None:
            record["fine_cny"] = fine
        if rng.random() < 0.02:
            record["serious"] = True
        r = rng.random()
        if r < 0.75:
            record["executed"] = True
        elif r < 0.83:
            record["executed"] = False
        if rng.random() < 0.004:
            record["status"] = "revoked"
        return record

    def _accident_case(self) -> list[tuple[int, dict[str, Any]]]:
        """An accident and the penalties it led to, each with a delay in file positions."""
        rng = self.rng
        unit = self.people.unit(rng)
        accident = self._accident(unit, self._day())
        if accident.get("liability") is False or accident.get("status") == "revoked":
            return [(0, accident)]
        day = dt.date.fromisoformat(accident["occurred_on"])
        grade = derive_grade(accident["deaths"], accident["serious_injuries"], accident["direct_loss_cny"])
        authority = self._authority(unit.city, grade)
        decided = self._after(day, 60, 300)
        rid = accident["record_id"]
        codes = ["accident.liability"]
        if accident.get("reporting") in _REPORTING_CODE:
            codes.append(_REPORTING_CODE[accident["reporting"]])
        if rng.random() < 0.005:
            codes.append("accident.scene_destroyed")
        low, high = _ACCIDENT_FINES[grade]
        fine = rng.randrange(low, high + 1, 10_000)
        penalties = []
        if rng.random() < 0.9:
            pen = self._penalty(unit, authority, decided, codes, fine, accident_id=rid)
            if rng.random() < (0.03 if grade != "general" else 0.003):
                multiple = rng.choice((2, 2.5, 3, 4, 5))
                pen["fine_multiple"], pen["fine_cny"] = multiple, int(fine * multiple)
            penalties.append(pen)
        if accident["deaths"] and rng.random() < 0.35:
            person_codes = ["accident.liability"]
            if rng.random() < 0.01:
                person_codes.append("accident.no_rescue_or_fled")
            penalties.append(self._penalty(unit.main_person(), authority, decided, person_codes,
                                           rng.randrange(30_000, 300_001, 1000), accident_id=rid))
        if rng.random() < (0.03 if grade != "general" else 0.005):
            agency_codes = ["accident.liability"] + (["agency.false_report"] if rng.random() < 0.5 else [])
            penalties.append(self._penalty(self.people.agency(rng), authority, decided, agency_codes,
                                           rng.randrange(50_000, 500_001, 10_000), accident_id=rid))
        if penalties and rng.random() < 0.05:  # the accident's report arrives after a penalty
            return [(0, penalties[0]), (rng.randint(1, 2000), accident)] + [
                (rng.randint(1, 5000), p) for p in penalties[1:]]
        return [(0, accident)] + [(rng.randint(1, 5000), p) for p in penalties]

    def _standalone_penalty(self) -> dict[str, Any]:
        rng = self.rng
        r = rng.random()
        if r < 0.85:
            subject, table = self.people.unit(rng), _UNIT_CODES
        elif r < 0.92:
            subject, table = self.people.agency(rng), _AGENCY_CODES
        else:
            subject, table = self.people.person(rng), _PERSON_CODES
        codes = sorted({_weighted(rng, table) for _ in range(1 + (rng.random() < 0.2))})
        if subject.industry == "mining" and rng.random() < 0.1:
            codes.append("mining.beyond_boundary")
        decided = self._day(FIRST_DAY + dt.timedelta(days=30))
        conduct = None
        if rng.random() < 0.6:
            conduct = max(decided - dt.timedelta(days=rng.randint(15, 180)), FIRST_DAY)
        fine = None if rng.random() < 0.05 else rng.randrange(10_000, 500_001, 1000)
        return self._penalty(subject, self._authority(subject.city), decided, codes, fine, conduct=conduct)

    def _correction(self) -> dict[str, Any] | None:
        """A later version of a record already sent (numbers revised, or revoked on review)."""
        if not self.recent:
            return None
        record = json.loads(json.dumps(self.rng.choice(self.recent)))
        if record["type"] == "accident" and self.rng.random() < 0.7:
            record["deaths"] += 1
            if "grade" in record:
                implied = derive_grade(record["deaths"], record["serious_injuries"], record["direct_loss_cny"])
                record["grade"] = max(record["grade"], implied, key=GRADES.index)
        else:
            record["status"] = "revoked"
        return record

    def records(self) -> Iterator[dict[str, Any]]:
        """Exactly `total` records; delayed ones come out when their position is reached."""
        pending: list[tuple[int, int, dict[str, Any]]] = []
        written = ticket = 0
        while written < self.total:
            room = self.total - written - len(pending)
            if pending and (pending[0][0] <= written or room <= 0):
                record = heapq.heappop(pending)[2]
            elif self.rng.random() < self.corrections and (fix := self._correction()) is not None:
                record = fix
            else:
                case = self._accident_case() if self.rng.random() < 0.3 else [(0, self._standalone_penalty())]
                first, *rest = case[:room]
                record = first[1]
                for delay, later in rest:
                    ticket += 1
                    heapq.heappush(pending, (written + delay, ticket, later))
            self.recent.append(record)
            written += 1
            yield record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="the JSON Lines file to write ('-' for stdout)")
    parser.add_argument("--records", type=int, default=1_000_000, help="how many records (default 1,000,000)")
    parser.add_argument("--subjects", type=int, default=100_000,
                        help="how many distinct units, agencies and persons to draw from (default 100,000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--corrections", type=float, default=0.002,
                        help="share of records that re-send an earlier record_id with changed content")
    parser.add_argument("--check-every", type=int, default=0, metavar="K",
                        help="validate every K-th record with blacklist.records.validate_record")
    args = parser.parse_args(argv)
    generator = Generator(args.records, args.subjects, args.seed, corrections=args.corrections)
    check = _checker() if args.check_every else None
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8", buffering=1 << 20)
    try:
        for n, record in enumerate(generator.records()):
            if check is not None and n % args.check_every == 0:
                check(record)
            out.write(json.dumps(record, ensure_ascii=False, separators=(", ", ": ")))
            out.write("\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


@lru_cache(maxsize=1)
def _checker() -> Any:
    from blacklist.records import validate_record

    def check(record: dict[str, Any]) -> None:
        validate_record(record, today=LAST_DAY, id_key=b"generator-check")

    return check


if __name__ == "__main__":
    sys.exit(main())
