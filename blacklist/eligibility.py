"""Eligibility: may this subject take part in this activity on this day? A lookup of the
listings in force (never the rules engine), answered with measures and legal basis."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol, Sequence

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from blacklist.listings import ListingState, list_version, states
from blacklist.models import Check, Listing, Subject

# Strongest first; `prohibited` and `restricted` make a subject ineligible.
EFFECTS = ("prohibited", "restricted", "heightened_supervision", "reference")
BARRING = ("prohibited", "restricted")


@dataclass(frozen=True)
class Measure:
    domain: str
    activity: str
    effect: str
    implementer: str
    basis: str


class MeasureCatalog(Protocol):
    """What a listing under a pack means in each activity (implemented by the rule packs)."""

    def domains(self) -> Sequence[str]: ...

    def measure(self, pack: str, domain: str) -> Measure | None: ...


class UnknownDomainError(ValueError):
    pass


def listing_brief(state: ListingState) -> dict[str, Any]:
    listing = state.listing
    return {
        "id": listing.id, "list": listing.list_code, "tier": listing.tier, "rule": listing.rule,
        "pack": listing.pack, "basis": listing.basis, "decided_on": listing.decided_on.isoformat(),
        "period_start": listing.period_start.isoformat(),
        "period_end": state.last_day.isoformat() if state.last_day else None,
        "document_no": listing.document_no, "authority": listing.authority,
    }


def answer(subject: Mapping[str, Any], domain: str, as_of: dt.date, in_force: Iterable[ListingState],
           catalog: MeasureCatalog, known: bool) -> dict[str, Any]:
    """The verdict for one subject from the listings in force."""
    measures: list[dict[str, Any]] = []
    listings = []
    for state in in_force:
        listings.append(listing_brief(state))
        measure = catalog.measure(state.listing.pack, domain)
        if measure is not None:
            entry = {"domain": domain, "activity": measure.activity, "effect": measure.effect,
                     "implementer": measure.implementer, "basis": measure.basis, "listing_id": state.listing.id}
            measures.append(entry)
    effects = [m["effect"] for m in measures]
    effect = next((e for e in EFFECTS if e in effects), "none")
    out: dict[str, Any] = {
        "subject": dict(subject), "domain": domain, "as_of": as_of.isoformat(),
        "eligible": effect not in BARRING, "effect": effect, "measures": measures, "listings": listings,
    }
    if not known:
        out["note"] = "no record: this code is valid but the engine holds no record of it"
    elif not listings:
        out["note"] = "no listing in force on this day"
    return out


class EligibilityService:
    """Answers checks from the database; the caller commits the recorded checks."""

    def __init__(self, session: Session, catalog: MeasureCatalog) -> None:
        self.session = session
        self.catalog = catalog

    def check_domain(self, domain: str) -> None:
        if domain not in self.catalog.domains():
            raise UnknownDomainError(domain)

    def in_force(self, subject_ids: Sequence[int], as_of: dt.date, known_at: dt.datetime) -> dict[int, list[ListingState]]:
        found: dict[int, list[ListingState]] = {}
        for i in range(0, len(subject_ids), 900):
            chunk = subject_ids[i:i + 900]
            rows = self.session.scalars(select(Listing).where(
                Listing.subject_id.in_(chunk), Listing.recorded_at <= known_at, Listing.period_start <= as_of,
                or_(Listing.period_end.is_(None), Listing.period_end >= as_of))).unique().all()
            for state in states(self.session, rows, known_at):
                if state.in_force(as_of):
                    found.setdefault(state.listing.subject_id, []).append(state)
        return found

    def subjects(self, column: Any, values: Sequence[str]) -> dict[str, Subject]:
        out: dict[str, Subject] = {}
        unique = list(dict.fromkeys(values))
        for i in range(0, len(unique), 900):
            for subject in self.session.scalars(select(Subject).where(column.in_(unique[i:i + 900]))):
                out[getattr(subject, column.key)] = subject
        return out

    def check_many(self, refs: Sequence[tuple[str, str, dict[str, Any]]], domain: str, as_of: dt.date,
                   known_at: dt.datetime) -> tuple[str, list[dict[str, Any]]]:
        """Answers for `(scheme, value, shown subject)` refs, scheme `uscc` or `id_hash`, in order."""
        self.check_domain(domain)
        version = list_version(self.session, known_at)
        by_uscc = self.subjects(Subject.uscc, [v for s, v, _ in refs if s == "uscc"])
        by_hash = self.subjects(Subject.id_hash, [v for s, v, _ in refs if s == "id_hash"])
        ids = [s.id for s in (*by_uscc.values(), *by_hash.values())]
        listed = self.in_force(ids, as_of, known_at)
        results = []
        for scheme, value, shown in refs:
            subject = (by_uscc if scheme == "uscc" else by_hash).get(value)
            if subject is not None:
                shown = {**shown, "name": subject.name}
            results.append(answer(shown, domain, as_of, listed.get(subject.id, []) if subject else [],
                                  self.catalog, known=subject is not None))
        return version, results

    def record(self, token_id: int | None, refs: Sequence[tuple[str, str, Any]], results: Sequence[dict[str, Any]],
               domain: str, as_of: dt.date, known_at: dt.datetime, version: str) -> list[str]:
        """Log every answer (persons by keyed hash only); returns the check ids."""
        rows = []
        ids = []
        batch = len(results)
        for (scheme, value, _), result in zip(refs, results):
            check_id = str(uuid.uuid4())
            ids.append(check_id)
            rows.append({"id": check_id, "token_id": token_id, "subject_ref": f"{scheme}:{value}",
                         "domain": domain, "as_of": as_of, "known_at": known_at,
                         "eligible": result["eligible"], "effect": result["effect"], "list_version": version,
                         "batch_size": batch})
        if rows:
            self.session.execute(insert(Check), rows)
        return ids
