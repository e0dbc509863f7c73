"""Synthetic subjects, each derived from its number alone (no table of them is kept).

Codes are synthetic but valid: a unified social credit code is 9 + 1 + the registering
division + a 9-character organisation code whose own GB 11714 check character is right,
then the GB 32100 check character; an identity number has a plausible birth region,
birth date and sequence, then its MOD 11-2 check. Numbers are a bijection of the subject
number, so two subjects never share one.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from benchmarks.vocab import AGENCY_WORDS, BRANDS, CITIES, GIVEN, INDUSTRIES, LEGAL_FORMS, SURNAMES, City
from blacklist.identifiers import USCC_ALPHABET, make_valid_id_number, make_valid_uscc

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_BIRTH_FIRST = dt.date(1955, 1, 1)
_BIRTH_DAYS = (dt.date(2000, 12, 31) - _BIRTH_FIRST).days + 1
_ID_REGION_TAILS = ("02", "03", "21", "81")


def _coprime_step(modulus: int, start: int) -> int:
    step = start
    while math.gcd(step, modulus) != 1:
        step += 1
    return step


def _org_code(body: str) -> str:
    """An 8-character organisation code body with its GB 11714 check character."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "id_number": self.id_number}


@dataclass(frozen=True)
class Subject:
    """One unit, agency or person as the generator knows it."""

    kind: str
    name: str
    city: City
    uscc: str | None = None
    industry: str | None = None
    former_name: str | None = None
    renamed_on: dt.date | None = None
    person: Person | None = None  # the person, or a unit's main person in charge
    odd_spelling: bool = False  # sent in lower case with spaces around (normalised on ingest)

    def as_subject(self, day: dt.date, *, with_main_person: bool = False) -> dict[str, Any]:
        """The subject object of a record dated `day`."""
        if self.kind == "person":
            assert self.person is not None
            return {"kind": "person", **self.person.as_dict()}
        name = self.former_name if self.renamed_on and day < self.renamed_on else self.name
        code = f" {self.uscc.lower()} " if self.odd_spelling and self.uscc else self.uscc
        out: dict[str, Any] = {"kind": self.kind, "name": name, "uscc": code}
        if self.industry:
            out["industry"] = self.industry
        if with_main_person and self.person is not None:
            out["main_person"] = self.person.as_dict()
        return out

    def main_person(self) -> Subject:
        assert self.person is not None
        return Subject("person", self.person.name, self.city, person=self.person)


class Population:
    """`size` subjects: 75 % units, 5 % agencies, 20 % persons; units also have main persons."""

    def __init__(self, size: int, seed: int, last_day: dt.date) -> None:
        self.seed = seed
        self.last_day = last_day
        self.units = max(1, size * 75 // 100)
        self.agencies = max(1, size * 5 // 100)
        self.persons = max(1, size - self.units - self.agencies)
        self.id_regions = tuple(c.city.code[:4] + t for c in CITIES for t in _ID_REGION_TAILS)
        self.id_space = len(self.id_regions) * _BIRTH_DAYS * 1000
        self.id_step = _coprime_step(self.id_space, 1_000_003)
        self.industries = tuple(INDUSTRIES)
        self.industry_weights = tuple(w for w, _ in INDUSTRIES.values())
        self.subject = lru_cache(maxsize=65_536)(self._subject)

    def unit(self, rng: random.Random) -> Subject:
        return self.subject(self._pick(rng, self.units))

    def agency(self, rng: random.Random) -> Subject:
        return self.subject(self.units + self._pick(rng, self.agencies))

    def person(self, rng: random.Random) -> Subject:
        return self.subject(self.units + self.agencies + rng.randrange(self.persons))

    @staticmethod
    def _pick(rng: random.Random, n: int) -> int:
        """Most subjects have few records; a heavy head has many."""
        return int(n * rng.random() ** 3) if rng.random() < 0.25 else rng.randrange(n)

    def _identity(self, number: int, rng: random.Random) -> Person:
        k = number * self.id_step % self.id_space
        region, rest = divmod(k, _BIRTH_DAYS * 1000)
        day, sequence = divmod(rest, 1000)
        birth = _BIRTH_FIRST + dt.timedelta(days=day)
        prefix = f"{self.id_regions[region]}{birth:%Y%m%d}{sequence:03d}"
        return Person(_person_name(rng), make_valid_id_number(prefix))

    def _uscc(self, number: int, region: str, rng: random.Random) -> str:
        if rng.random() < 0.6:  # an older, all-digit organisation code
            body = f"{number * 48_271 % 10**8:08d}"
        else:  # issued after 2015: MA + 6 characters
            k = number * 7_919 % 31**6
            chars = []
            for _ in range(6):
                k, r = divmod(k, 31)
                chars.append(USCC_ALPHABET[r])
            body = "MA" + "".join(chars)
        return make_valid_uscc(f"91{region}{_org_code(body)}")

    def _subject(self, number: int) -> Subject:
        rng = random.Random(f"{self.seed}:subject:{number}")
        city = rng.choice(CITIES)
        if number >= self.units + self.agencies:
            return Subject("person", "", city, person=self._identity(number, rng))
        division = rng.choice(city.counties) if city.counties and rng.random() < 0.3 else city.city
        form = rng.choices([f for f, _ in LEGAL_FORMS], weights=[w for _, w in LEGAL_FORMS])[0]
        code = self._uscc(number, division.code, rng)
        odd = rng.random() < 0.005
        if number >= self.units:
            name = f"{division.place}{rng.choice(BRANDS)}{rng.choice(AGENCY_WORDS)}有限公司"
            return Subject("agency", name, city, uscc=code, odd_spelling=odd)
        industry = rng.choices(self.industries, weights=self.industry_weights)[0]
        words = INDUSTRIES[industry][1]
        name = f"{division.place}{rng.choice(BRANDS)}{rng.choice(words)}{form}"
        former = renamed = None
        if rng.random() < 0.06:
            former = f"{division.place}{rng.choice(BRANDS)}{rng.choice(words)}{form}"
            renamed = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, (self.last_day - dt.date(2016, 1, 1)).days))
        # Main persons are numbered after every subject, so they never collide with one.
        main = self._identity(self.units + self.agencies + self.persons + number, rng)
        return Subject("unit", name, city, uscc=code, industry=industry, former_name=former,
                       renamed_on=renamed, person=main, odd_spelling=odd)
