"""Fact building: per subject and pack, the records that count, as single-fact dicts.

Window, count and sum conditions are pre-aggregated here (spec/durable_rules.md): for a
rule with a ``window``, every run of its selected accidents that lies within
``window_months`` (calendar months, clamped; regulations.md §3) becomes one ``window``
fact carrying ``count``, ``deaths`` and ``penalised``, so every engine condition tests a
single fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped, unused-ignore]

from rules import language
from rules.packs import Pack

KIND_ORDER = {"accident": 0, "penalty": 1, "window": 2}


@dataclass(frozen=True, eq=False)
class Record:
    """One validated record, with the dates the rules read."""

    raw: Mapping[str, Any]
    type: str
    record_id: str
    effective: bool
    subject_key: str
    subject_kind: str
    day: date
    own_conduct: date
    accident_id: str | None
    order: tuple[date, str] = field(init=False)  # sort key: record date, then record id

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", (self.day, self.record_id))


def parse(raw: Mapping[str, Any]) -> Record:
    """Wrap a normalized record dict (records.md, validated by the caller)."""
    subject = raw["subject"]
    if raw["type"] == "accident":
        when = date.fromisoformat(raw["occurred_on"])
        conduct = when
    else:
        when = date.fromisoformat(raw["decided_on"])
        conduct = date.fromisoformat(raw["conduct_on"]) if raw.get("conduct_on") else when
    return Record(raw=raw, type=raw["type"], record_id=str(raw["record_id"]),
                  effective=raw.get("status", "effective") == "effective",
                  subject_key=str(subject["key"]), subject_kind=str(subject["kind"]),
                  day=when, own_conduct=conduct,
                  accident_id=raw.get("accident_id") if raw["type"] == "penalty" else None)


@dataclass(frozen=True)
class Relax:
    """Which conditions fact building lifts: used only to explain why a rule did not fire."""

    set_aside: bool = False
    revoked: bool = False
    out_of_scope: bool = False
    penalised: bool = False
    other_packs: bool = False
    unbounded_window: bool = False


STRICT = Relax()


@dataclass(frozen=True)
class Fact:
    """One asserted fact, with the records it rests on."""

    id: str
    kind: str
    data: Mapping[str, Any]
    conduct: date
    rank: tuple[Any, ...]
    evidence: tuple[str, ...]
    anchor: date


class Context:
    """The records of one evaluation request, deduplicated and indexed."""

    def __init__(self, records: Iterable[Mapping[str, Any]], as_of: date,
                 packs: Sequence[Pack]) -> None:
        latest: dict[str, Mapping[str, Any]] = {}
        for raw in records:
            latest.pop(str(raw["record_id"]), None)
            latest[str(raw["record_id"])] = raw  # a later duplicate wins
        self.records = sorted((parse(raw) for raw in latest.values()), key=lambda r: r.order)
        self.by_id = {record.record_id: record for record in self.records}
        self._position = {record.record_id: n for n, record in enumerate(self.records)}
        self.by_subject: dict[str, list[Record]] = {}
        for record in self.records:
            self.by_subject.setdefault(record.subject_key, []).append(record)
        self.as_of = as_of
        self.packs = tuple(packs)
        self._industry: dict[str, str | None] = {}

    def conduct(self, record: Record) -> date:
        """The day that picks the pack: a penalty naming a known accident goes with it."""
        if record.accident_id is not None and record.accident_id in self.by_id:
            return self.by_id[record.accident_id].day
        return record.own_conduct

    def subject(self, key: str) -> Mapping[str, Any]:
        """The subject details of the subject's latest record."""
        return self.by_subject[key][-1].raw["subject"]  # type: ignore[no-any-return]

    def industry(self, key: str) -> str | None:
        """A unit's industry: the latest one its records state up to as_of (None: unknown)."""
        if key not in self._industry:
            stated = [r.raw["subject"].get("industry") for r in self.by_subject.get(key, ())
                      if r.day <= self.as_of and r.raw["subject"].get("industry")]
            self._industry[key] = stated[-1] if stated else None
        return self._industry[key]

    def unit_scope(self, key: str, pack: Pack) -> tuple[str, str]:
        """``in``, ``unconfirmed`` or ``out`` for a unit (or agency) under a pack, and why."""
        records = self.by_subject.get(key)
        kind = records[0].subject_kind if records else "unit"
        if kind != "unit" or pack.unit_sectors is None:
            return "in", ""
        industry = self.industry(key)
        if industry is None:
            return "unconfirmed", "industry unknown"
        if industry in pack.unit_sectors:
            return "in", ""
        return "out", (f"industry {industry!r} is outside the sectors covered by {pack.id}"
                       + (f" ({pack.scope_article})" if pack.scope_article else ""))

    def record_scope(self, record: Record, subject_key: str, pack: Pack) -> tuple[str, str]:
        """Scope of one record for one subject (§9: a person follows the accident's unit)."""
        kind = self.by_subject[subject_key][0].subject_kind
        if kind not in pack.scope_kinds:
            return "out", f"{pack.id} does not apply to a {kind}"
        if kind != "person":
            return self.unit_scope(subject_key, pack)
        accident_id = record.record_id if record.type == "accident" else record.accident_id
        if accident_id is None:
            return "in", ""
        accident = self.by_id.get(accident_id)
        if accident is None:
            return "unconfirmed", f"accident {accident_id} is not among the records"
        if accident.subject_key == subject_key:
            return "in", ""
        state, why = self.unit_scope(accident.subject_key, pack)
        if state == "out":
            why = f"accident {accident_id} is of a unit whose {why}"
        return state, why

    def blocker(self, record: Record, subject_key: str, pack: Pack, relax: Relax) -> str | None:
        """Why a record does not count for this subject and pack (None: it counts)."""
        if not relax.other_packs and not pack.covers(self.conduct(record)):
            return "other_pack"
        if not relax.revoked and not record.effective:
            return "revoked"
        if not relax.set_aside and record.day > self.as_of:
            return "set_aside"
        if not relax.out_of_scope and self.record_scope(record, subject_key, pack)[0] == "out":
            return "out_of_scope"
        return None

    def evidence(self, ids: Iterable[str]) -> tuple[tuple[str, ...], date]:
        """Record ids ordered by date then id, and the latest date among them."""
        ordered = sorted(set(ids), key=self._position.__getitem__)  # the order of self.records
        return tuple(ordered), self.by_id[ordered[-1]].day


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months; a day the target month lacks clamps to its last day."""
    result: date = day + relativedelta(months=months)
    return result


def window_end(start: date, months: int) -> date:
    """The first day that is no longer within ``months`` of ``start`` (regulations.md §3)."""
    return add_months(start, months)


def _penalty_data(record: Record, subject_kind: str, accident: Record | None) -> dict[str, Any]:
    raw = record.raw
    data: dict[str, Any] = {"kind": "penalty", "record_id": record.record_id,
                            "subject_kind": subject_kind, "serious": bool(raw.get("serious")),
                            "names_accident": record.accident_id is not None}
    for name in ("executed", "fine_cny", "fine_multiple"):
        if raw.get(name) is not None:
            data[name] = raw[name]
    for code in raw.get("violations", ()):
        data[language.violation_field(code)] = True
    if accident is not None:
        data["accident_reporting"] = accident.raw.get("reporting", "on_time")
        data["accident_grade_rank"] = language.GRADE_RANKS[accident.raw["grade"]]
        data["accident_liability"] = bool(accident.raw.get("liability", True))
    return data


def _accident_data(record: Record, subject_key: str, subject_kind: str,
                   penalties: Sequence[Record], relax: Relax) -> dict[str, Any]:
    raw = record.raw
    return {"kind": "accident", "record_id": record.record_id, "subject_kind": subject_kind,
            "own": record.subject_key == subject_key, "grade": raw["grade"],
            "grade_rank": language.GRADE_RANKS[raw["grade"]],
            "liability": bool(raw.get("liability", True)), "deaths": int(raw["deaths"]),
            "serious_injuries": int(raw["serious_injuries"]),
            "direct_loss_cny": int(raw["direct_loss_cny"]),
            "reporting": raw.get("reporting", "on_time"),
            "penalised": bool(penalties) or relax.penalised,
            "penalty_serious": any(bool(p.raw.get("serious")) for p in penalties)}


@dataclass
class _Draft:
    kind: str
    data: dict[str, Any]
    conduct: date
    rank: tuple[Any, ...]
    ids: set[str] = field(default_factory=set)


def same_as_strict(ctx: Context, subject_key: str, pack: Pack, relax: Relax, strict: Sequence[Fact]) -> bool:
    """Whether `build(..., relax)` would give exactly the `strict` facts. Much cheaper than
    building the facts, which explaining a rule that did not fire would otherwise do once
    per relaxation.

    A relaxation of record blockers changes nothing when every record the build looks at
    (the subject's own, and the accidents its penalties name) counts or does not count
    alike under both. `penalised` (alone) changes nothing when every accident fact is
    already penalised; `unbounded_window` (alone) when there is at most one accident fact.
    """
    if relax.penalised or relax.unbounded_window:
        if relax.other_packs or relax.revoked or relax.set_aside or relax.out_of_scope:
            return False
        accidents = [fact for fact in strict if fact.kind == "accident"]
        if relax.penalised and not all(fact.data["penalised"] for fact in accidents):
            return False
        return not (relax.unbounded_window and len(accidents) > 1)
    own = ctx.by_subject.get(subject_key, [])
    if not own or own[0].subject_kind not in pack.scope_kinds:
        return not own
    for record in own:
        if (ctx.blocker(record, subject_key, pack, STRICT) is None) \
                != (ctx.blocker(record, subject_key, pack, relax) is None):
            return False
        if record.type == "penalty":
            named = ctx.by_id.get(record.accident_id or "")
            if named is not None and named.type == "accident" and \
                    (ctx.blocker(named, subject_key, pack, STRICT) is None) \
                    != (ctx.blocker(named, subject_key, pack, relax) is None):
                return False
    return True


def build(ctx: Context, subject_key: str, pack: Pack, relax: Relax = STRICT) -> list[Fact]:
    """The facts of one subject under one pack, ordered by conduct date and record id."""
    own = ctx.by_subject.get(subject_key, [])
    if not own:
        return []
    kind = own[0].subject_kind
    if kind not in pack.scope_kinds and not relax.out_of_scope:
        return []
    penalties = [r for r in own if r.type == "penalty"
                 and ctx.blocker(r, subject_key, pack, relax) is None]
    accidents: dict[str, Record] = {}
    for record in own:
        if record.type == "accident":
            accidents[record.record_id] = record
    for penalty in penalties:
        named = ctx.by_id.get(penalty.accident_id or "")
        if named is not None and named.type == "accident":
            accidents.setdefault(named.record_id, named)
    counted = {key: rec for key, rec in accidents.items()
               if ctx.blocker(rec, subject_key, pack, relax) is None}
    drafts: list[_Draft] = []
    accident_drafts: list[_Draft] = []
    for accident in sorted(counted.values(), key=lambda r: r.order):
        naming = [p for p in penalties if p.accident_id == accident.record_id]
        draft = _Draft("accident", _accident_data(accident, subject_key, kind, naming, relax),
                       accident.day, (accident.day, accident.record_id, 0),
                       {accident.record_id, *(p.record_id for p in naming)})
        drafts.append(draft)
        accident_drafts.append(draft)
    for penalty in penalties:
        named_record = counted.get(penalty.accident_id or "")
        draft = _Draft("penalty", _penalty_data(penalty, kind, named_record),
                       ctx.conduct(penalty), (penalty.day, penalty.record_id, 1),
                       {penalty.record_id} | ({named_record.record_id} if named_record else set()))
        drafts.append(draft)
    months = int(pack.param("window_months"))
    for rule in pack.rules:
        if rule.window is not None:
            drafts += _windows(rule.id, rule.window.select, accident_drafts, months, relax)
    drafts.sort(key=lambda d: (d.conduct, d.rank))
    facts = []
    for index, draft in enumerate(drafts):
        evidence, anchor = ctx.evidence(draft.ids)
        facts.append(Fact(id=f"f{index:05d}", kind=draft.kind, data=draft.data,
                          conduct=draft.conduct, rank=draft.rank, evidence=evidence,
                          anchor=anchor))
    return facts


def _windows(rule_id: str, select: Mapping[str, Any], accidents: Sequence[_Draft],
             months: int, relax: Relax) -> list[_Draft]:
    test = language.compiled(select)
    chosen = [d for d in accidents if test(d.data)]
    drafts = []
    for start, first in enumerate(chosen):
        bound = window_end(first.conduct, months)
        count = deaths = 0
        penalised = False
        ids: set[str] = set()
        for last in chosen[start:]:
            if last.conduct >= bound and not relax.unbounded_window:
                break
            count += 1
            deaths += int(last.data["deaths"])
            penalised = penalised or bool(last.data["penalised"])
            ids |= last.ids
            data = {"kind": "window", "rule": rule_id, "count": count, "deaths": deaths,
                    "penalised": penalised}
            rank = (last.conduct, last.data["record_id"], 2, first.conduct,
                    first.data["record_id"])
            drafts.append(_Draft("window", data, last.conduct, rank, set(ids)))
    return drafts
