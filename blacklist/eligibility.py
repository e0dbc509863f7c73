"""Eligibility: may this subject take part in this activity on this day? A lookup of the
listings in force (never the rules engine), answered with measures and legal basis."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import struct
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from sqlalchemy import (BindParameter, Column, ColumnElement, Connection, Engine, Select, Text, and_, any_, bindparam, cast,
                        func, insert, literal, or_, select)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from blacklist.bans import BAN_DOMAINS, Ban, in_force as statutory_in_force
from blacklist.bans import derive as derive_bans
from blacklist.listings import ListingState, fold, list_version
from blacklist.models import Base, Listing, ListingEvent, utcnow
from blacklist.records import canonical_json

# Strongest first; `prohibited` and `restricted` make a subject ineligible.
EFFECTS = ("prohibited", "restricted", "heightened_supervision", "reference")
BARRING = ("prohibited", "restricted")
NO_RECORD = "no record: this code is valid but the engine holds no record of it"
NO_LISTING = "no listing in force on this day"


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
           catalog: MeasureCatalog, known: bool, bans: Sequence[Ban] = ()) -> dict[str, Any]:
    """The verdict for one subject from the listings in force and its statutory bans."""
    measures: list[dict[str, Any]] = []
    listings = []
    for state in in_force:
        listings.append(listing_brief(state))
        measure = catalog.measure(state.listing.pack, domain)
        if measure is not None:
            entry = {"domain": domain, "activity": measure.activity, "effect": measure.effect,
                     "implementer": measure.implementer, "basis": measure.basis, "listing_id": state.listing.id}
            measures.append(entry)
    measures += [ban.measure() for ban in statutory_in_force(bans, domain, as_of)]
    effects = [m["effect"] for m in measures]
    effect = next((e for e in EFFECTS if e in effects), "none")
    out: dict[str, Any] = {
        "subject": dict(subject), "domain": domain, "as_of": as_of.isoformat(),
        "eligible": effect not in BARRING, "effect": effect, "measures": measures, "listings": listings,
    }
    if not known:
        out["note"] = NO_RECORD
    elif not listings:
        out["note"] = NO_LISTING
    return out


class EligibilityService:
    """Answers checks from the database; the caller commits the recorded checks."""

    def __init__(self, session: Session, catalog: MeasureCatalog) -> None:
        self.session = session
        self.catalog = catalog

    def check_domain(self, domain: str) -> None:
        if domain not in self.catalog.domains():
            raise UnknownDomainError(domain)

    def lookup(self, scheme: str, values: Sequence[str], as_of: dt.date, known_at: dt.datetime
               ) -> dict[str, Found]:
        """The subjects we hold by `scheme` (`uscc` or `id_hash`), with their listings in force.

        Two narrow queries per chunk rather than one wide join: subjects by their unique key,
        then listings (with events) by subject; most subjects have no listing. They run on the
        driver's cursor in this session's transaction (`_Prepared`; on PostgreSQL every other
        chunk on a second connection), the keys sorted so that each chunk reads neighbouring
        index pages.
        """
        found: dict[str, Found] = {}
        unique = sorted(set(values))
        if not unique:
            return found
        connection = self.session.connection()
        by_key, listings_of = _batch_statements(connection.dialect)

        def run(cursor: Any, starts: Sequence[int]) -> None:
            for i in starts:
                statement = by_key[scheme]
                cursor.execute(statement.sql, statement.among("k", unique[i:i + _CHUNK], {"known_at": known_at}))
                subjects = {key: (subject_id, name) for key, subject_id, name in statement.rows(cursor)}
                in_force: dict[int, list[ListingState]] = {}
                if subjects:
                    ids = [subject_id for subject_id, _ in subjects.values()]
                    cursor.execute(listings_of.sql, listings_of.among("i", ids, {"as_of": as_of, "known_at": known_at}))
                    in_force = _listings_in_force(listings_of.rows(cursor), as_of)
                for key, (subject_id, name) in subjects.items():
                    found[key] = (subject_id, name, in_force.get(subject_id, []))

        starts = list(range(0, len(unique), _CHUNK))
        if connection.dialect.name == "postgresql" and len(starts) > 1:
            # PostgreSQL: every other chunk on a second pooled connection, so that the server
            # works on two at a time while this process reads the answers (a 100,000-subject
            # batch: 2.38-2.61 -> 2.13-2.39 s served). Each statement reads what is committed,
            # bounded by `known_at`, as on one connection. Not on SQLite, where the work is this
            # process's own: two threads only contend for the GIL (1.87-2.01 s against 1.69-1.83).
            helper = _Helper(connection.engine, run, starts[1::2])
            starts = starts[0::2]
        else:
            helper = None
        cursor = _driver_cursor(connection)
        try:
            run(cursor, starts)
        finally:
            cursor.close()
            if helper is not None:
                helper.join()
        return found

    def check_many(self, refs: Sequence[Ref], domain: str, as_of: dt.date,
                   known_at: dt.datetime) -> tuple[str, list[dict[str, Any]]]:
        """Answers for `(scheme, value, shown subject)` refs, scheme `uscc` or `id_hash`, in order."""
        version, found = self.find(refs, domain, as_of, known_at)
        bans = self.bans(found, domain, as_of, known_at)
        return version, [_answer(ref, found[ref[0]].get(ref[1]), domain, as_of, self.catalog, bans) for ref in refs]

    def find(self, refs: Sequence[tuple[str, str, Any]], domain: str, as_of: dt.date, known_at: dt.datetime
             ) -> tuple[str, dict[str, dict[str, Found]]]:
        """The list version, and per scheme the subjects we hold with their listings in force."""
        version = self.version(domain, known_at)
        return version, self.subjects(refs, as_of, known_at)

    def version(self, domain: str, known_at: dt.datetime) -> str:
        """The list version as known at `known_at`, for a domain we know."""
        self.check_domain(domain)
        return list_version(self.session, known_at)  # flushes pending changes, as an ORM query would

    def subjects(self, refs: Sequence[tuple[str, str, Any]], as_of: dt.date, known_at: dt.datetime
                 ) -> dict[str, dict[str, Found]]:
        """Per scheme, the subjects of `refs` we hold, with their listings in force."""
        return {scheme: self.lookup(scheme, [v for s, v, _ in refs if s == scheme], as_of, known_at)
                for scheme in ("uscc", "id_hash")}

    def check_and_log(self, writer: Session, refs: Sequence[Ref], domain: str, as_of: dt.date,
                      known_at: dt.datetime, token_id: int | None, part: int = 20_000
                      ) -> tuple[str, dict[str, dict[str, Found]], dict[int, list[Ban]], list[str]]:
        """A batch's list version, subjects found, statutory bans and check ids, each answer's
        verdict logged through `writer` (the caller commits it).

        `part` subjects at a time are looked up, answered and handed to the check log, which on
        PostgreSQL streams them into one COPY: the server stores one part while the next is
        looked up (a 100,000-subject batch waited 0.3-0.45 s for the COPY to end when it began
        after the last lookup). One list version for all: read first, and every lookup bounded
        by `known_at`, as the lookup's chunks always were.
        """
        version = self.version(domain, known_at)
        found: dict[str, dict[str, Found]] = {"uscc": {}, "id_hash": {}}
        bans: dict[int, list[Ban]] = {}
        with CheckLog(writer, len(refs), token_id, domain, as_of, known_at, version) as log:
            for start in range(0, len(refs), part):
                some = refs[start:start + part]
                some_found = self.subjects(some, as_of, known_at)
                some_bans = self.bans(some_found, domain, as_of, known_at)
                log.add(some, [_VERDICTS[verdict] for verdict in self.verdicts(some, some_found, domain, as_of,
                                                                                some_bans)])
                for scheme, by_key in some_found.items():
                    found[scheme].update(by_key)
                bans.update(some_bans)
        return version, found, bans, log.ids

    def verdict(self, subject: Found | None, domain: str, as_of: dt.date,
                bans: Mapping[int, list[Ban]]) -> tuple[bool, str]:
        """`(eligible, effect)` as `answer` gives them, without building the answer."""
        banned = statutory_in_force(bans.get(subject[0], ()), domain, as_of) if subject is not None and bans else []
        if subject is None or not (subject[2] or banned):
            return True, "none"
        effects = {_strongest(self.catalog, subject[2], domain), *(ban.effect for ban in banned)}
        effect = next((e for e in EFFECTS if e in effects), "none")
        return effect not in BARRING, effect

    def verdicts(self, refs: Sequence[Ref], found: Mapping[str, Mapping[str, Found]], domain: str, as_of: dt.date,
                 bans: Mapping[int, list[Ban]]) -> list[tuple[bool, str]]:
        """`verdict` of each ref, in order; a subject with nothing that could be in force (nearly
        every one of a batch) answered without building anything."""
        clear = (True, "none")
        return [clear if (subject := found[scheme].get(value)) is None or not (subject[2] or subject[0] in bans)
                else self.verdict(subject, domain, as_of, bans) for scheme, value, _ in refs]

    def bans(self, found: Mapping[str, Mapping[str, Found]], domain: str, as_of: dt.date,
             known_at: dt.datetime) -> dict[int, list[Ban]]:
        """The statutory bans of the subjects found, by subject id, for a domain that has any."""
        if domain not in BAN_DOMAINS:
            return {}
        ids = sorted({subject[0] for by_key in found.values() for subject in by_key.values()})
        connection = self.session.connection()
        cursor = _driver_cursor(connection)
        try:
            return _bans_of(cursor, _ban_statement(connection.dialect), ids, as_of, known_at)
        finally:
            cursor.close()

    def record(self, token_id: int | None, refs: Sequence[tuple[str, str, Any]],
               results: Sequence[Mapping[str, Any]], domain: str, as_of: dt.date, known_at: dt.datetime,
               version: str) -> list[str]:
        """Log every answer (persons by keyed hash only); returns the check ids."""
        batch = len(results)
        if batch > 1:
            with CheckLog(self.session, batch, token_id, domain, as_of, known_at, version) as log:
                log.add(refs, results)
            return log.ids
        connection = self.session.connection()
        ids, at = _uuids(batch), utcnow()
        rows = [_check_row(check_id, at, token_id, ref, result, domain, as_of, known_at, version, batch)
                for check_id, ref, result in zip(ids, refs, results)]
        if rows:
            connection.execute(_INSERT_CHECK, rows[0] if len(rows) == 1 else rows)
        return ids


# The verdicts a check row records; shared, as 100,000 rows hold a handful of distinct ones.
_VERDICTS = {(eligible, effect): {"eligible": eligible, "effect": effect}
             for effect in ("none", *EFFECTS) for eligible in (True, False)}


class _Helper(threading.Thread):
    """`run(cursor, starts)` on a pooled connection of its own, in a thread; `join` re-raises
    what it raised."""

    def __init__(self, engine: Engine, run: Callable[[Any, Sequence[int]], None], starts: Sequence[int]) -> None:
        super().__init__(name="batch-lookup", daemon=True)
        self._engine, self._run, self._starts = engine, run, starts
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            with self._engine.connect() as connection:  # back to the pool, rolled back, on exit
                cursor = _driver_cursor(connection)
                try:
                    self._run(cursor, self._starts)
                finally:
                    cursor.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the joining thread
            self._error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self._error is not None:
            raise self._error


class SingleCheck:
    """One check on a DBAPI connection in autocommit mode: one SELECT for the answer (a snapshot
    of its own: version, subject, listings and events together) and one INSERT for its record (a
    transaction of its own, committed before the answer is given).

    The same statements and type conversions as `EligibilityService`, compiled once for the
    dialect and run on the driver's cursor: SQLAlchemy's per-execution machinery costs several
    times what the database spends on a check. On SQLite, an INSERT in autocommit mode takes and
    releases the write lock inside one call, without waiting for the GIL in between.
    """

    def __init__(self, dialect: Dialect, catalog: MeasureCatalog) -> None:
        self.catalog = catalog
        self._lookup = {scheme: _Prepared(statement, dialect) for scheme, statement in _LOOKUP_ONE.items()}
        self._insert = _prepared_insert(dialect)
        self._bans = _ban_statement(dialect, 1)

    def answer(self, cursor: Any, ref: Ref, domain: str, as_of: dt.date, known_at: dt.datetime
               ) -> tuple[str, dict[str, Any]]:
        """`(list version, answer)` for one `(scheme, value, shown subject)` ref."""
        if domain not in self.catalog.domains():
            raise UnknownDomainError(domain)
        lookup = self._lookup[ref[0]]
        cursor.execute(lookup.sql, lookup.parameters({"key": ref[1], "as_of": as_of, "known_at": known_at}))
        newest, subjects = _subjects_in_force(lookup.rows(cursor), as_of)
        subject = subjects.get(ref[1])
        bans = _bans_of(cursor, self._bans, [subject[0]], as_of, known_at, 1) \
            if subject is not None and domain in BAN_DOMAINS else {}
        return _version(newest), _answer(ref, subject, domain, as_of, self.catalog, bans)

    def record(self, cursor: Any, token_id: int | None, ref: Ref, result: Mapping[str, Any], domain: str,
               as_of: dt.date, known_at: dt.datetime, version: str) -> str:
        """Log the answer (a person by keyed hash only); returns the check id."""
        [check_id] = _uuids(1)
        row = _check_row(check_id, utcnow(), token_id, ref, result, domain, as_of, known_at, version, 1)
        cursor.execute(self._insert.sql, self._insert.parameters(row))
        return check_id


Ref = tuple[str, str, dict[str, Any]]
Found = tuple[int, str, list[ListingState]]  # subject id, name, listings in force


def canonical_answers(refs: Sequence[Ref], found: Mapping[str, Mapping[str, Found]], domain: str,
                      as_of: dt.date, catalog: MeasureCatalog, ids: Sequence[str], version: str,
                      bans: Mapping[int, list[Ban]] | None = None) -> Iterator[str]:
    """Each answer with its check id and the list version, as `records.canonical_json` writes it.

    A unit with no listing in force (nearly every subject of a batch) is written from a
    template, its name the only value to escape; anything else goes through `answer`.
    """
    encode = canonical_json
    lead = '{"as_of":' + encode(as_of.isoformat()) + ',"check_id":"'
    clear = ('","domain":' + encode(domain) + ',"effect":"none","eligible":true,"list_version":' + encode(version)
             + ',"listings":[],"measures":[],"note":')
    no_record, no_listing = encode(NO_RECORD), encode(NO_LISTING)
    # Whether every check id and every unit's code can be written as it is, asked once of all
    # of them together (per answer, the two matches were a tenth of the answers' time).
    plain = bool(_PLAIN_ID.fullmatch("".join(ids))) and bool(
        _PLAIN_CODE.fullmatch("".join(value for scheme, value, _ in refs if scheme == "uscc")))
    banned = bans or {}
    for ref, check_id in zip(refs, ids):
        scheme, value, shown = ref
        subject = found[scheme].get(value)
        if plain and scheme == "uscc" and (subject is None or not (subject[2] or subject[0] in banned)) \
                and len(shown) == 2 and shown.get("kind") == "unit" and shown.get("uscc") == value:
            if subject is None:
                yield f'{lead}{check_id}{clear}{no_record},"subject":{{"kind":"unit","uscc":"{value}"}}}}'
            else:
                name = encode(subject[1])
                yield f'{lead}{check_id}{clear}{no_listing},"subject":{{"kind":"unit","name":{name},"uscc":"{value}"}}}}'
            continue
        result = _answer(ref, subject, domain, as_of, catalog, bans or {})
        result["check_id"] = check_id
        result["list_version"] = version
        yield encode(result)


_PLAIN_ID = re.compile(r"[0-9a-f-]*")  # written as they are: nothing in them to escape
_PLAIN_CODE = re.compile(r"[0-9A-Z]*")


def _answer(ref: Ref, subject: Found | None, domain: str, as_of: dt.date, catalog: MeasureCatalog,
            bans: Mapping[int, list[Ban]] | None = None) -> dict[str, Any]:
    if subject is None:
        return answer(ref[2], domain, as_of, (), catalog, known=False)
    return answer({**ref[2], "name": subject[1]}, domain, as_of, subject[2], catalog, known=True,
                  bans=(bans or {}).get(subject[0], ()))


def _strongest(catalog: MeasureCatalog, in_force: Iterable[ListingState], domain: str) -> str:
    effects = set()
    for state in in_force:
        measure = catalog.measure(state.listing.pack, domain)
        if measure is not None:
            effects.add(measure.effect)
    return next((e for e in EFFECTS if e in effects), "none")


def _version(newest: int | None) -> str:
    return f"v{newest or 0}"  # as `listings.list_version` names it


def _check_row(check_id: str, at: dt.datetime, token_id: int | None, ref: tuple[str, str, Any],
               result: Mapping[str, Any], domain: str, as_of: dt.date, known_at: dt.datetime, version: str,
               batch: int) -> dict[str, Any]:
    return {"id": check_id, "at": at, "token_id": token_id, "subject_ref": f"{ref[0]}:{ref[1]}", "domain": domain,
            "as_of": as_of, "known_at": known_at, "eligible": result["eligible"], "effect": result["effect"],
            "list_version": version, "batch_size": batch}


# Core statements: compiled once, no ORM flush or identity map.
_CHUNK = 900  # bound parameters per IN list, under SQLite's historical limit of 999
_ROWS_PER_INSERT = 90  # check rows per multi-row INSERT: 990 parameters, under that limit too
_SUBJECTS, _LISTINGS, _EVENTS, _CHECKS = (Base.metadata.tables[name]
                                          for name in ("subjects", "listings", "listing_events", "checks"))
_NEWEST = _EVENTS.alias("newest")
_LISTING_COLUMNS: list[tuple[str, Column[Any]]] = [(key, column) for key, column in Listing.__mapper__.columns.items()]
_EVENT_COLUMNS: list[tuple[str, Column[Any]]] = [(key, column) for key, column in ListingEvent.__mapper__.columns.items()]
_INSERT_CHECK = insert(_CHECKS)
_PREPARED_INSERTS: dict[str, "_Prepared"] = {}
_BAN_STATEMENTS: dict[tuple[str, int], "_Prepared"] = {}
_RECORDS = Base.metadata.tables["records"]
_BATCH_STATEMENTS: dict[str, tuple[dict[str, "_Prepared"], "_Prepared"]] = {}


def _lookup_statement(key: ColumnElement[Any]) -> Select[Any]:
    """The list version as known at `known_at`, and the subject whose `key` is `:key`, with
    its listings that may be in force on `as_of` and their events as known at `known_at`.

    One statement, so one snapshot, and all indexed: the newest event backwards along the
    primary key (unlike max() with a WHERE, which SQLite answers with a scan); subjects by
    their unique key; listings by subject; events by listing. The version comes from a one-row
    table the subjects are joined to, so it is there even when no subject is found.
    """
    known_at: BindParameter[Any] = bindparam("known_at")
    as_of: BindParameter[Any] = bindparam("as_of")
    newest = (select(_NEWEST.c.id).where(_NEWEST.c.recorded_at <= known_at).order_by(_NEWEST.c.id.desc())
              .limit(1).scalar_subquery())
    version = select(newest.label("newest")).subquery("version")
    subject = and_(key == bindparam("key"), _SUBJECTS.c.created_at <= known_at)  # unknown before it was recorded
    maybe_in_force = and_(_LISTINGS.c.subject_id == _SUBJECTS.c.id, _LISTINGS.c.recorded_at <= known_at,
                          _LISTINGS.c.period_start <= as_of,
                          or_(_LISTINGS.c.period_end.is_(None), _LISTINGS.c.period_end >= as_of))
    known = and_(_EVENTS.c.listing_id == _LISTINGS.c.id, _EVENTS.c.recorded_at <= known_at)
    return (select(version.c.newest, key, _SUBJECTS.c.id, _SUBJECTS.c.name, *(c for _, c in _LISTING_COLUMNS),
                   *(c for _, c in _EVENT_COLUMNS))
            .select_from(version.outerjoin(_SUBJECTS, subject).outerjoin(_LISTINGS, maybe_in_force)
                         .outerjoin(_EVENTS, known)))


_LOOKUP_ONE = {"uscc": _lookup_statement(_SUBJECTS.c.uscc), "id_hash": _lookup_statement(_SUBJECTS.c.id_hash)}


def _batch_statements(dialect: Dialect) -> tuple[dict[str, _Prepared], _Prepared]:
    """Subjects by key and listings by subject, each for `_CHUNK` keys, compiled for the dialect."""
    found = _BATCH_STATEMENTS.get(dialect.name)
    if found is None:
        known_at: BindParameter[Any] = bindparam("known_at")
        by_key = {scheme: _Prepared(select(key, _SUBJECTS.c.id, _SUBJECTS.c.name).where(
            _one_of(key, "k", _CHUNK, dialect), _SUBJECTS.c.created_at <= known_at), dialect)
                  for scheme, key in (("uscc", _SUBJECTS.c.uscc), ("id_hash", _SUBJECTS.c.id_hash))}
        as_of: BindParameter[Any] = bindparam("as_of")
        listings_of = (
            select(*(c for _, c in _LISTING_COLUMNS), *(c for _, c in _EVENT_COLUMNS))
            .select_from(_LISTINGS.outerjoin(_EVENTS, and_(_EVENTS.c.listing_id == _LISTINGS.c.id,
                                                           _EVENTS.c.recorded_at <= known_at)))
            .where(_one_of(_LISTINGS.c.subject_id, "i", _CHUNK, dialect), _LISTINGS.c.recorded_at <= known_at,
                   _LISTINGS.c.period_start <= as_of,
                   or_(_LISTINGS.c.period_end.is_(None), _LISTINGS.c.period_end >= as_of)))
        found = _BATCH_STATEMENTS[dialect.name] = (by_key, _Prepared(listings_of, dialect))
    return found


def _ban_statement(dialect: Dialect, slots: int = _CHUNK) -> _Prepared:
    """The effective penalties (with the accident each names) of up to `slots` subjects, as
    known at `known_at` and decided by `as_of`: what `bans.derive` reads. A single check has a
    statement of one slot: binding 900 for one subject cost it 150 µs."""
    found = _BAN_STATEMENTS.get((dialect.name, slots))
    if found is None:
        known_at: BindParameter[Any] = bindparam("known_at")
        named = _RECORDS.alias("named")
        statement = (
            select(_RECORDS.c.subject_id, _SUBJECTS.c.kind, _RECORDS.c.record_id, _RECORDS.c.payload, named.c.payload)
            .select_from(_RECORDS.join(_SUBJECTS, _SUBJECTS.c.id == _RECORDS.c.subject_id).outerjoin(
                named, and_(named.c.record_id == _RECORDS.c.accident_ref, named.c.type == "accident",
                            named.c.received_at <= known_at)))
            .where(_one_of(_RECORDS.c.subject_id, "i", slots, dialect), _RECORDS.c.type == "penalty", _RECORDS.c.status == "effective",
                   _RECORDS.c.event_date <= bindparam("as_of"), _RECORDS.c.received_at <= known_at)
            .order_by(_RECORDS.c.subject_id, _RECORDS.c.event_date, _RECORDS.c.record_id))
        found = _BAN_STATEMENTS[(dialect.name, slots)] = _Prepared(statement, dialect)
    return found


def _bans_of(cursor: Any, statement: _Prepared, subject_ids: Sequence[int], as_of: dt.date,
             known_at: dt.datetime, slots: int = _CHUNK) -> dict[int, list[Ban]]:
    """Statutory bans by subject id (only subjects that have one), `statement` having `slots`."""
    rows: dict[int, tuple[str, list[tuple[str, Any, Any]]]] = {}
    for i in range(0, len(subject_ids), slots):
        bounds = {"as_of": as_of, "known_at": known_at}
        cursor.execute(statement.sql, statement.among("i", subject_ids[i:i + slots], bounds, slots))
        for subject_id, kind, record_id, penalty, accident in statement.rows(cursor):
            rows.setdefault(subject_id, (kind, []))[1].append((record_id, penalty, accident))
    out = {}
    for subject_id, (kind, penalties) in rows.items():
        derived = derive_bans(kind, penalties)
        if derived:
            out[subject_id] = derived
    return out


def _driver_cursor(connection: Connection) -> Any:
    """A cursor of the driver's connection under `connection`, in its transaction."""
    driver = connection.connection.driver_connection
    assert driver is not None, "the connection is closed"
    return driver.cursor()


def _one_of(column: ColumnElement[Any], name: str, slots: int, dialect: Dialect) -> ColumnElement[bool]:
    """`column` among up to `slots` values bound as `name` (see `_bound`): on PostgreSQL one text
    parameter, the values joined by commas and split by the server (`string_to_array`), where
    an IN list of 900 placeholders was converted anew on every execution by psycopg, and an
    array parameter element by element in Python (8 % of a 100,000-subject batch); elsewhere an
    IN list of `slots`."""
    if dialect.name == "postgresql":
        split = func.string_to_array(bindparam(name, type_=Text()), literal(",", Text()))
        return column == any_(cast(split, ARRAY(column.type)))
    return column.in_([bindparam(f"{name}{i}") for i in range(slots)])


def _bound(statement: "_Prepared", name: str, values: Sequence[Any], slots: int = _CHUNK) -> dict[str, Any]:
    """The parameters of a `_one_of(…, name, slots, …)` in `statement` for these values."""
    if not statement.one_parameter:
        return _padded(name, values, slots)
    joined = ",".join(map(str, values))
    if joined.count(",") != len(values) - 1:  # codes, hashes and ids never hold one
        raise ValueError(f"a value to look up holds a comma: {name}")
    return {name: joined}


def _padded(prefix: str, values: Sequence[Any], slots: int = _CHUNK) -> dict[str, Any]:
    """`{prefix0: v0, …}` for all `slots` of an IN list, the last value repeated to fill it
    (a repeated value changes nothing in an IN list, and one statement serves every chunk)."""
    last = values[-1]
    return {f"{prefix}{i}": values[i] if i < len(values) else last for i in range(slots)}


def _subjects_in_force(rows: Iterable[Sequence[Any]], as_of: dt.date) -> tuple[int | None, dict[str, Found]]:
    """The newest event id, and the rows of a `_lookup_statement` folded into subjects with
    their listings in force."""
    newest = None
    subjects: dict[str, tuple[int, str]] = {}
    listing_rows = []
    for row in rows:
        newest, key = row[0], row[1]
        if key is None:
            continue
        subjects.setdefault(key, (row[2], row[3]))
        if row[4] is not None:
            listing_rows.append(row[4:])
    in_force = _listings_in_force(listing_rows, as_of)
    return newest, {key: (subject_id, name, in_force.get(subject_id, []))
                    for key, (subject_id, name) in subjects.items()}


def _listings_in_force(rows: Iterable[Sequence[Any]], as_of: dt.date) -> dict[int, list[ListingState]]:
    """Rows of listing columns then event columns folded into each subject's listings in force,
    in listing order."""
    event_at = len(_LISTING_COLUMNS)
    listings: dict[int, tuple[Listing, list[ListingEvent]]] = {}
    for row in rows:
        listing_id = row[0]
        if listing_id not in listings:
            values = row[:event_at]
            listings[listing_id] = (Listing(**{k: v for (k, _), v in zip(_LISTING_COLUMNS, values)}), [])
        if row[event_at] is not None:
            values = row[event_at:]
            listings[listing_id][1].append(ListingEvent(**{k: v for (k, _), v in zip(_EVENT_COLUMNS, values)}))
    by_subject: dict[int, list[ListingState]] = {}
    for _, (listing, events) in sorted(listings.items()):
        state = fold(listing, events)
        if state.in_force(as_of):
            by_subject.setdefault(listing.subject_id, []).append(state)
    return by_subject


class CheckLog:
    """A batch's check rows `(id, subject_ref, eligible, effect)`, sharing the other columns,
    written part by part in the writer session's transaction by the driver's bulk path, each
    constant converted once (SQLAlchemy converts every value of every row):

    - PostgreSQL (psycopg): one COPY, opened at once, each part written as it is added, so
      that the server stores one part while the caller looks up the next;
    - SQLite (pysqlite): multi-row INSERTs at `close`, so that the write lock is held only
      while they run, not while the caller looks up;
    - elsewhere: SQLAlchemy's executemany at `close`.

    Ids are time-ordered and ascending in the order rows are added, so the primary key's index
    fills at its end. Use as a context manager; `ids` holds one id per row, in order.
    """

    def __init__(self, session: Session, size: int, token_id: int | None, domain: str, as_of: dt.date,
                 known_at: dt.datetime, version: str) -> None:
        self._session = session
        self._dialect = dialect = session.get_bind().dialect
        self.ids = _uuids(size)
        self._added = 0
        self._constant = {"at": utcnow(), "token_id": token_id, "domain": domain, "as_of": as_of,
                          "known_at": known_at, "list_version": version, "batch_size": size}
        self._rows: list[tuple[str, str, bool, str]] = []  # held until `close`, but on PostgreSQL
        self._cursor: Any = None
        self._copy: Any = None
        if dialect.name == "postgresql" and self.supports(dialect):
            columns = ["id", "subject_ref", "eligible", "effect", *self._constant]
            self._shared = "\t".join(map(_copy_text, self._constant.values())) + "\n"
            self._cursor = _driver_cursor(session.connection())
            self._copying = self._cursor.copy(f"COPY checks ({', '.join(columns)}) FROM STDIN")
            self._copy = self._copying.__enter__()

    @staticmethod
    def supports(dialect: Dialect) -> bool:
        return (dialect.name, dialect.driver) in (("sqlite", "pysqlite"), ("postgresql", "psycopg"))

    def add(self, refs: Sequence[tuple[str, str, Any]], results: Sequence[Mapping[str, Any]]) -> None:
        """Rows for these refs and their results (`eligible`, `effect`), after those added before."""
        ids = self.ids[self._added:self._added + len(refs)]
        if len(ids) != len(refs) or len(refs) != len(results):
            raise ValueError(f"{len(refs)} refs and {len(results)} results for {len(ids)} ids left")
        self._added += len(refs)
        rows = [(check_id, f"{scheme}:{value}", result["eligible"], result["effect"])
                for check_id, (scheme, value, _), result in zip(ids, refs, results)]
        if self._copy is None:
            self._rows += rows
            return
        # COPY's text form written here: the constant columns formatted once, each row one
        # f-string. psycopg's write_row formatted all eleven values of every row, a fifth of
        # a 100,000-subject batch's time (py-spy).
        if _COPY_SPECIAL.search("".join(f"{i}{r}{e}" for i, r, _, e in rows)):  # never so for our ids and codes
            rows = [(_copy_text(i), _copy_text(r), b, _copy_text(e)) for i, r, b, e in rows]
        shared = self._shared
        for start in range(0, len(rows), _ROWS_PER_COPY_WRITE):
            part = rows[start:start + _ROWS_PER_COPY_WRITE]
            self._copy.write("".join(f"{i}\t{r}\t{'t' if b else 'f'}\t{e}\t{shared}" for i, r, b, e in part))

    def close(self) -> None:
        """Write what is held and end the COPY: every row is then in the transaction."""
        if self._added != len(self.ids):
            error = ValueError(f"{self._added} rows added for {len(self.ids)} ids")
            self._end(error)
            raise error
        rows, self._rows = self._rows, []
        self._end(None)
        if rows:
            self._insert(rows)

    def __enter__(self) -> "CheckLog":
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            self.close()
        else:
            self._end(error)

    def _end(self, error: BaseException | None) -> None:
        """End the COPY (with `error`, if any: then nothing of it is stored) and its cursor."""
        try:
            if self._copy is not None:
                self._copy = None
                self._copying.__exit__(type(error) if error else None, error, None)
        finally:
            if self._cursor is not None:
                cursor, self._cursor = self._cursor, None
                cursor.close()

    def _insert(self, rows: Sequence[tuple[str, str, bool, str]]) -> None:
        """SQLite: INSERTs of `_ROWS_PER_INSERT` rows each, a quarter faster than executemany's
        row by row; other databases: SQLAlchemy's executemany."""
        dialect, connection = self._dialect, self._session.connection()
        if not self.supports(dialect):
            constant = self._constant
            connection.execute(_INSERT_CHECK, [
                {**constant, "id": check_id, "subject_ref": ref, "eligible": eligible, "effect": effect}
                for check_id, ref, eligible, effect in rows])
            return
        prepared = _prepared_insert(dialect)
        template = prepared.parameters({**self._constant, "id": None, "subject_ref": None, "eligible": None,
                                        "effect": None})
        assert isinstance(template, list)
        i_id, i_ref, i_eligible, i_effect = (prepared.names.index(name)
                                             for name in ("id", "subject_ref", "eligible", "effect"))
        to_bool: Callable[[Any], Any] = _CHECKS.c.eligible.type.dialect_impl(dialect).bind_processor(dialect) or _same
        head, _, one = prepared.sql.partition(" VALUES ")
        full = f"{head} VALUES {', '.join([one] * _ROWS_PER_INSERT)}"
        flat: list[Any] = []
        count = 0
        with closing(_driver_cursor(connection)) as cursor:
            for check_id, subject_ref, eligible, effect in rows:
                row = template.copy()
                row[i_id], row[i_ref], row[i_eligible], row[i_effect] = check_id, subject_ref, to_bool(eligible), effect
                flat += row
                count += 1
                if count == _ROWS_PER_INSERT:
                    cursor.execute(full, flat)
                    flat, count = [], 0
            if count:
                cursor.execute(f"{head} VALUES {', '.join([one] * count)}", flat)


_ROWS_PER_COPY_WRITE = 10_000  # about 1 MB of COPY text
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """A value in PostgreSQL's COPY text form, as psycopg would write it."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _prepared_insert(dialect: Dialect) -> _Prepared:
    prepared = _PREPARED_INSERTS.get(dialect.name)
    if prepared is None:
        prepared = _PREPARED_INSERTS[dialect.name] = _Prepared(_INSERT_CHECK, dialect, [c.key for c in _CHECKS.c])
    return prepared


def _same(value: Any) -> Any:
    return value


class _Prepared:
    """A core statement compiled once for a dialect, with SQLAlchemy's type conversions for its
    parameters and result columns, to run on a driver cursor."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self.one_parameter = dialect.name == "postgresql"  # how `_one_of` binds its values there
        self._positional = compiled.positional
        names = compiled.positiontup if compiled.positional and compiled.positiontup is not None else list(compiled.params)
        self.names = list(names)
        defaults = compiled.params
        self._binds = [(name, defaults.get(name), compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                       for name in dict.fromkeys(names)]  # each once, however often the SQL repeats it
        self._in_order = self._positional and len(self._binds) == len(self.names)  # each name once, in order
        # Where each IN list of `_one_of` sits among positional parameters, when its values
        # need no conversion: `among` puts them there as they are.
        self._runs: dict[str, tuple[int, int, list[tuple[str, Any, Any]]]] = {}
        processes = {name: process for name, _, process in self._binds}
        for prefix in ("k", "i"):
            if not self._positional or f"{prefix}0" not in self.names:
                continue
            start = end = self.names.index(f"{prefix}0")
            while end < len(self.names) and self.names[end] == f"{prefix}{end - start}":
                end += 1
            run = set(self.names[start:end])
            if all(processes[name] is None for name in run) and run.isdisjoint(self.names[:start] + self.names[end:]):
                self._runs[prefix] = (start, end - start, [bind for bind in self._binds if bind[0] not in run])
        columns = getattr(statement, "selected_columns", ())
        self._results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]

    def parameters(self, values: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        if self._in_order:
            return [process(values.get(name, default)) if process else values.get(name, default)
                    for name, default, process in self._binds]
        converted = {name: process(values.get(name, default)) if process else values.get(name, default)
                     for name, default, process in self._binds}
        return [converted[name] for name in self.names] if self._positional else converted

    def among(self, name: str, values: Sequence[Any], others: Mapping[str, Any], slots: int = _CHUNK
              ) -> list[Any] | dict[str, Any]:
        """`parameters` for `values` bound as `_one_of(…, name, slots, …)`, and `others`.

        On SQLite the IN list's values go into their places as they are, the last repeated to
        fill it, where building and reading back a dict of 900 names for every chunk was a
        sixth of a batch's lookups (py-spy)."""
        if not 0 < len(values) <= slots:
            raise ValueError(f"{len(values)} values for an IN list of {slots}")
        run = self._runs.get(name)
        if run is None or run[1] != slots:
            return self.parameters({**others, **_bound(self, name, values, slots)})
        start, count, rest = run
        converted = {key: process(others.get(key, default)) if process else others.get(key, default)
                     for key, default, process in rest}
        names = self.names
        return [*(converted[key] for key in names[:start]), *values, *([values[-1]] * (count - len(values))),
                *(converted[key] for key in names[start + count:])]

    def rows(self, cursor: Any) -> list[Any]:
        processors = self._results
        if not any(processors):
            return cursor.fetchall()  # type: ignore[no-any-return]
        return [tuple(process(value) if process else value for process, value in zip(processors, row))
                for row in cursor.fetchall()]


_VARIANT = 0b10 << 62
_RANDOM_74 = (0xFFF << 64) | ((1 << 62) - 1)  # the 12 bits after the version, the 62 after the variant


def _uuids(n: int) -> list[str]:
    """`n` check ids, ascending: time-ordered UUIDs (version 7: milliseconds since the epoch,
    a 24-bit counter from a random start, 50 random bits), so that new rows land at the end
    of the primary key index, in order, instead of all over it."""
    if n == 1:  # a single check: version 7 with 74 random bits after the milliseconds, one urandom read
        value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | int.from_bytes(os.urandom(10), "big") & _RANDOM_74
        text = f"{value | _VARIANT:032x}"
        return [f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"]
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    start = secrets.randbelow((1 << 24) - n) if n < 1 << 24 else 0
    variant = 0b10 << 62
    ids = []
    for count, random64 in enumerate(struct.unpack(f">{n}Q", os.urandom(8 * n)), start):
        tail = f"{variant | (count & 0xFFF) << 50 | random64 >> 14:016x}"
        ids.append(f"{head}{count >> 12:03x}-{tail[:4]}-{tail[4:]}")
    return ids

