"""Evaluation: records and a day in, proposals and explanations out (a pure function)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from rules import facts as factmod
from rules import pyeval
from rules.facts import Context, Fact, add_months
from rules.packs import Pack, Rule, load_packs


class EngineMismatchError(RuntimeError):
    """durable_rules and the Python evaluator disagree: fail closed, propose nothing."""


@dataclass(frozen=True)
class Proposal:
    """One rule that fires for one subject, with its evidence and period."""

    rule: str
    title: str
    pack: str
    pack_version: str
    list_code: str
    list_name: str
    tier: str | None
    evidence: tuple[str, ...]
    basis: str
    scope_unconfirmed: bool
    period_start: date
    period_end: date
    early_removal_from: date | None
    lists_main_person: bool
    main_person_of: str | None = None
    rank: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The api.md proposal object."""
        return {
            "rule": self.rule, "pack": self.pack, "pack_version": self.pack_version,
            "list": self.list_code, "tier": self.tier, "evidence": list(self.evidence),
            "basis": self.basis, "scope_unconfirmed": self.scope_unconfirmed,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "early_removal_from": (self.early_removal_from.isoformat()
                                   if self.early_removal_from else None),
            "title": self.title, "lists_main_person": self.lists_main_person,
        }


@dataclass(frozen=True)
class Explanation:
    """Why a rule did not fire (``rule`` None for ``no_pack``)."""

    rule: str | None
    reason: str
    text: str
    pack: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The api.md explanation object."""
        return {"rule": self.rule, "reason": self.reason, "text": self.text}


@dataclass(frozen=True)
class SubjectEvaluation:
    """The answer for one subject; ``key`` is the grouping key the lead stores cases by."""

    key: str
    kind: str
    name: str
    uscc: str | None
    id_number_masked: str | None
    proposals: tuple[Proposal, ...]
    explanations: tuple[Explanation, ...]

    def subject_json(self) -> dict[str, Any]:
        """The api.md subject object (a person's number only masked)."""
        if self.kind == "person":
            return {"kind": self.kind, "name": self.name,
                    "id_number_masked": self.id_number_masked}
        return {"kind": self.kind, "name": self.name, "uscc": self.uscc}

    def to_json(self) -> dict[str, Any]:
        """The api.md evaluation entry for this subject."""
        return {"subject": self.subject_json(),
                "proposals": [p.to_json() for p in self.proposals],
                "explanations": [e.to_json() for e in self.explanations]}


def natural_key(rule_id: str | None) -> tuple[Any, ...]:
    """Rule ids with numbers compared as numbers (t2 before t10); None sorts last."""
    if rule_id is None:
        return ((2, ""),)
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", rule_id) if part)


def period(pack: Pack, anchor: date, prior_listings: int = 0) -> tuple[date, date, date | None]:
    """(period_start, period_end, early_removal_from) of a listing anchored on ``anchor``."""
    months = int(pack.param("period_months"))
    repeat = pack.parameters.get("repeat_period_months")
    if prior_listings > 0 and repeat is not None:
        months = int(repeat)
    end = add_months(anchor, months) - timedelta(days=1)
    early_after = pack.parameters.get("early_removal_after_months")
    early = add_months(anchor, int(early_after)) if early_after is not None else None
    return anchor, end, early


def _proposal(ctx: Context, key: str, pack: Pack, rule: Rule, fact: Fact,
              prior_listings: int) -> Proposal:
    start, end, early = period(pack, fact.anchor, prior_listings)
    unconfirmed = any(ctx.record_scope(ctx.by_id[i], key, pack)[0] == "unconfirmed"
                      for i in fact.evidence)
    return Proposal(rule=rule.id, title=rule.title, pack=pack.id, pack_version=pack.version,
                    list_code=pack.list_code, list_name=pack.list_name, tier=rule.tier,
                    evidence=fact.evidence, basis=rule.basis, scope_unconfirmed=unconfirmed,
                    period_start=start, period_end=end, early_removal_from=early,
                    lists_main_person=rule.lists_main_person, rank=fact.rank)


def _cross_check(pack: Pack, facts: Sequence[Fact], hits: Mapping[str, list[Fact]],
                 key: str) -> None:
    from rules import engine  # only here: durable_rules stays out of engine=False callers

    expected = {(rule, fact.id) for rule, found in hits.items() for fact in found}
    got = engine.fired(pack, facts)
    if got != expected:
        raise EngineMismatchError(
            f"{pack.id}: durable_rules and the Python evaluator disagree for subject {key}: "
            f"engine only {sorted(got - expected)}, python only {sorted(expected - got)}")


def _no_pack(ctx: Context, record: factmod.Record) -> Explanation:
    conduct = ctx.conduct(record)
    earliest = min(ctx.packs, key=lambda p: p.conduct_from) if ctx.packs else None
    if earliest is not None and conduct < earliest.conduct_from:
        where = (f"before every rule pack (the earliest, {earliest.id}, covers conduct from "
                 f"{earliest.conduct_from})")
    else:
        where = "outside the dates of every loaded rule pack"
    return Explanation(None, "no_pack", f"{record.record_id} (conduct {conduct}) is {where}; "
                                        "no rule applies to it")


@dataclass
class _Own:
    """A subject's own evaluation: its proposals now, the explanations of the rest on demand."""

    proposals: list[Proposal]
    unfired: list[tuple[Pack, Rule, list[Fact], dict[factmod.Relax, Sequence[Fact]]]]
    no_pack: list[Explanation]

    def misses(self, ctx: Context, key: str, fired: set[str]) -> list[Explanation]:
        """Why each rule not in ``fired`` did not fire (computing that is most of the cost)."""
        misses = []
        for pack, rule, facts, relaxed in self.unfired:
            if rule.id not in fired:
                miss = pyeval.explain(ctx, key, pack, rule, facts, relaxed)
                misses.append(Explanation(rule.id, miss.reason, miss.text, pack.id))
        return misses + self.no_pack


def _evaluate_subject(ctx: Context, key: str, prior_listings: int, engine: bool) -> _Own:
    records = ctx.by_subject[key]
    own = _Own([], [], [])
    for pack in ctx.packs:
        if not any(pack.covers(ctx.conduct(record)) for record in records):
            continue
        facts = factmod.build(ctx, key, pack)
        hits = pyeval.fired(pack, facts)
        if engine:
            _cross_check(pack, facts, hits, key)
        relaxed: dict[factmod.Relax, Sequence[Fact]] = {}
        for rule in pack.rules:
            if rule.id in hits:
                own.proposals.append(_proposal(ctx, key, pack, rule, pyeval.first(hits[rule.id]),
                                               prior_listings))
            else:
                own.unfired.append((pack, rule, facts, relaxed))
    for record in records:
        if not any(pack.covers(ctx.conduct(record)) for pack in ctx.packs):
            own.no_pack.append(_no_pack(ctx, record))
    return own


def _main_person(ctx: Context, key: str) -> Mapping[str, Any] | None:
    named = [r for r in ctx.by_subject[key] if r.effective and r.day <= ctx.as_of
             and r.raw["subject"].get("main_person")]
    if not named:
        return None
    person: Mapping[str, Any] = named[-1].raw["subject"]["main_person"]
    return person


def _subject_fields(ctx: Context, key: str) -> dict[str, Any]:
    subject = ctx.subject(key)
    return {"key": key, "kind": subject["kind"], "name": subject["name"],
            "uscc": subject.get("uscc"), "id_number_masked": subject.get("id_number_masked")}


def _sorted(proposals: Iterable[Proposal]) -> tuple[Proposal, ...]:
    return tuple(sorted(proposals, key=lambda p: natural_key(p.rule)))


def _explanations(misses: Iterable[Explanation], fired: set[str]) -> tuple[Explanation, ...]:
    kept = [m for m in misses if m.rule is None or m.rule not in fired]
    return tuple(sorted(kept, key=lambda m: natural_key(m.rule)))


def assemble(ctx: Context, own: Mapping[str, _Own], *, explain_all: bool = True, explain_lapsed: bool = True
             ) -> list[SubjectEvaluation]:
    """Merge main-person proposals and order subjects as the answer lists them.

    Without ``explain_all`` a subject left without a proposal gets no explanations; without
    ``explain_lapsed`` neither does one whose every proposal ended before as_of."""
    extra: dict[str, list[Proposal]] = {}
    persons: dict[str, Mapping[str, Any]] = {}
    for key, evaluation in own.items():
        listing = [p for p in evaluation.proposals if p.lists_main_person]
        person = _main_person(ctx, key) if listing else None
        if person is None or person["key"] == key:
            continue
        persons.setdefault(person["key"], person)
        extra.setdefault(person["key"], []).extend(
            replace(p, main_person_of=key) for p in listing)
    results: dict[str, SubjectEvaluation] = {}
    for key in set(own) | set(extra):
        mine = own.get(key)
        proposals = mine.proposals if mine is not None else []
        best: dict[str, Proposal] = {}
        candidates = [(p, 0) for p in proposals] + [(p, 1) for p in extra.get(key, [])]
        for proposal, origin in sorted(candidates, key=lambda c: (c[0].rank, c[1],
                                                                    c[0].main_person_of or "")):
            best.setdefault(proposal.rule, proposal)
        if key in ctx.by_subject:
            fields = _subject_fields(ctx, key)
        else:
            person = persons[key]
            fields = {"key": key, "kind": "person", "name": person["name"], "uscc": None,
                      "id_number_masked": person.get("id_number_masked")}
        live = explain_lapsed or any(p.period_end >= ctx.as_of for p in best.values())
        misses = (mine.misses(ctx, key, set(best))
                  if mine is not None and ((best and live) or explain_all) else [])
        results[key] = SubjectEvaluation(**fields, proposals=_sorted(best.values()),
                                         explanations=_explanations(misses, set(best)))
    return order(ctx, results)


def order(ctx: Context, results: Mapping[str, SubjectEvaluation]) -> list[SubjectEvaluation]:
    """Subjects by first appearance (earliest record date, then id; the same for any input
    order); a main person without a place yet goes right after the unit that first names them."""
    first_named: dict[str, tuple[Any, str]] = {}
    for record in ctx.records:
        person = record.raw["subject"].get("main_person")
        if person and person["key"] not in first_named:
            first_named[person["key"]] = (record.order, record.subject_key)
    inserted: dict[str, list[str]] = {}
    for person_key in sorted((k for k in results if k not in ctx.by_subject),
                             key=lambda k: first_named[k][0]):
        inserted.setdefault(first_named[person_key][1], []).append(person_key)
    appearance = sorted(ctx.by_subject, key=lambda k: ctx.by_subject[k][0].order)
    answer: list[SubjectEvaluation] = []
    seen: set[str] = set()
    for key in appearance:
        for item in [key, *inserted.get(key, [])]:
            if item in results and item not in seen:
                seen.add(item)
                answer.append(results[item])
    return answer


def evaluate(records: Iterable[Mapping[str, Any]], as_of: date,
             packs: Sequence[Pack] | None = None, *, engine: bool = True,
             prior_listings: Mapping[str, int] | None = None,
             subjects: Collection[str] | None = None,
             explain_all: bool = True, explain_lapsed: bool = True) -> list[SubjectEvaluation]:
    """What the packs propose for each subject of ``records`` as of a day (stores nothing).

    ``prior_listings`` counts each subject key's earlier listings (the aw14 3-year rule); a
    dry run passes none. With ``engine`` the durable_rules result is cross-checked against
    the Python evaluator, and any difference raises EngineMismatchError. ``subjects``
    limits the answer to those keys (and the main persons their proposals list; the other
    records serve as evidence only); without ``explain_all`` only subjects with a proposal
    are explained, which a stored evaluation needs and is most of the work.
    """
    ctx = Context(records, as_of, load_packs() if packs is None else packs)
    prior = prior_listings or {}
    own = {key: _evaluate_subject(ctx, key, int(prior.get(key, 0)), engine)
           for key in ctx.by_subject if subjects is None or key in subjects}
    return assemble(ctx, own, explain_all=explain_all, explain_lapsed=explain_lapsed)


def to_json(results: Iterable[SubjectEvaluation]) -> list[dict[str, Any]]:
    """The api.md ``subjects`` list of an evaluation answer."""
    return [result.to_json() for result in results]
