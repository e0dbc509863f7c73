"""A pure-Python evaluator of the pack conditions, and why each other rule did not fire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rules import facts as factmod
from rules import language
from rules.facts import Context, Fact, Relax
from rules.packs import Pack, Rule

REASONS = ("out_of_scope", "no_effective_penalty", "below_threshold", "outside_window",
           "no_matching_record", "set_aside", "no_pack")
_GRADE_NAMES = {rank: name for name, rank in language.GRADE_RANKS.items()}
_OPS = {"$gte": "at least", "$gt": "more than", "$lte": "at most", "$lt": "less than"}


@dataclass(frozen=True)
class Miss:
    """Why one rule did not fire for one subject."""

    rule: str
    reason: str
    text: str


def fired(pack: Pack, facts: Sequence[Fact]) -> dict[str, list[Fact]]:
    """Rule id -> the facts that satisfy its condition, in assertion order."""
    result: dict[str, list[Fact]] = {}
    for rule in pack.rules:
        test = language.compiled(rule.when)
        hits = [fact for fact in facts if test(fact.data)]
        if hits:
            result[rule.id] = hits
    return result


def first(hits: Sequence[Fact]) -> Fact:
    """The fact that satisfied a rule first (date, then the lower record id)."""
    return min(hits, key=lambda fact: fact.rank)


def _dates(ctx: Context, ids: Sequence[str]) -> str:
    return ", ".join(f"{i} of {ctx.by_id[i].day}" for i in ids)


def _counted(count: int, label: str) -> str:
    return f"{count} {label.replace('accidents', 'accident') if count == 1 else label}"


def _kinds(kinds: Sequence[str]) -> str:
    names = [f"{kind}s" if kind != "agency" else "agencies" for kind in kinds]
    return names[0] + " only" if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _describe_failure(rule: Rule, pack: Pack, fact: Fact, ctx: Context) -> str:
    failed = language.failed_comparisons(rule.when, fact.data)
    months = pack.param("window_months")
    if fact.kind == "window" and rule.window is not None:
        accidents = [i for i in fact.evidence if ctx.by_id[i].type == "accident"]
        parts = []
        for op, name, limit in failed:
            if name == "count":
                parts.append(f"at most {_counted(fact.data['count'], rule.window.label)} within "
                             f"{months} months ({_dates(ctx, accidents)}); needs {_OPS[op]} "
                             f"{limit}")
            elif name == "deaths":
                parts.append(f"{rule.window.label} within {months} months "
                             f"({_dates(ctx, accidents)}) cause at most {fact.data['deaths']} "
                             f"deaths; needs {_OPS[op]} {limit}")
            else:
                parts.append(f"{name} {fact.data.get(name)}; needs {_OPS[op]} {limit}")
        return "; ".join(parts)
    record = fact.data.get("record_id", "")
    parts = []
    for op, name, limit in failed:
        if name in ("grade_rank", "accident_grade_rank"):
            have = _GRADE_NAMES.get(int(fact.data[name]), str(fact.data[name]))
            need = _GRADE_NAMES.get(int(limit), str(limit))
            suffix = " or above" if op == "$gte" else ""
            parts.append(f"{record} ({ctx.by_id[record].day}) is of grade {have}; "
                         f"needs {need}{suffix}")
        else:
            parts.append(f"{record} has {name} {fact.data.get(name)}; needs {_OPS[op]} {limit}")
    return "; ".join(parts)


def _near_miss(rule: Rule, pack: Pack, facts: Sequence[Fact], ctx: Context) -> str | None:
    candidates = []
    near = language.compiled(rule.when, relax=True)
    for fact in facts:
        if near(fact.data):
            failed = language.failed_comparisons(rule.when, fact.data)
            closeness = tuple(-float(fact.data.get(name, 0)) for _, name, _ in failed)
            candidates.append(((len(failed), closeness, fact.rank), fact))
    if not candidates:
        return None
    return _describe_failure(rule, pack, min(candidates, key=lambda c: c[0])[1], ctx)


def _relaxed_hit(ctx: Context, subject_key: str, pack: Pack, rule: Rule, relax: Relax,
                 cache: dict[Relax, Sequence[Fact]], strict: Sequence[Fact]) -> Fact | None:
    if relax not in cache:
        cache[relax] = (strict if factmod.same_as_strict(ctx, subject_key, pack, relax, strict)
                        else factmod.build(ctx, subject_key, pack, relax))
    if cache[relax] is strict:
        return None  # the very facts the rule did not fire on (explain's precondition)
    test = language.compiled(rule.when)
    hits = [fact for fact in cache[relax] if test(fact.data)]
    return first(hits) if hits else None


def _relaxed_records(ctx: Context, subject_key: str, pack: Pack, fact: Fact) -> list[str]:
    return [i for i in fact.evidence
            if ctx.blocker(ctx.by_id[i], subject_key, pack, factmod.STRICT) is not None]


def explain(ctx: Context, subject_key: str, pack: Pack, rule: Rule, facts: Sequence[Fact],
            cache: dict[Relax, Sequence[Fact]] | None = None) -> Miss:
    """The reason (and a sentence with the deciding numbers or dates) a rule did not fire.

    ``facts`` are the strict facts of this subject and pack, on which ``rule`` did not fire;
    ``cache`` keeps the relaxed fact sets of one subject and pack across its rules (a
    relaxation that changes no record's standing reuses ``facts`` itself, and finds nothing).
    """
    cache = {} if cache is None else cache

    def miss(reason: str, text: str) -> Miss:
        return Miss(rule.id, reason, text)

    records = ctx.by_subject[subject_key]
    kind = records[0].subject_kind
    if kind not in pack.scope_kinds:
        return miss("out_of_scope", f"{pack.id} applies to {_kinds(pack.scope_kinds)}, "
                                    f"not to a {kind}")
    if kind not in rule.applies_to:
        return miss("out_of_scope", f"{rule.id} applies to {_kinds(rule.applies_to)}, "
                                    f"not to a {kind}")
    state, why = ctx.unit_scope(subject_key, pack) if kind == "unit" else ("in", "")
    if state == "out":
        return miss("out_of_scope", why)

    hit = _relaxed_hit(ctx, subject_key, pack, rule, Relax(out_of_scope=True), cache, facts)
    if hit is not None:
        whys = {ctx.record_scope(ctx.by_id[i], subject_key, pack)[1]
                for i in _relaxed_records(ctx, subject_key, pack, hit)}
        return miss("out_of_scope", "; ".join(sorted(w for w in whys if w))
                    or f"the supporting records are outside the scope of {pack.id}")
    hit = _relaxed_hit(ctx, subject_key, pack, rule, Relax(set_aside=True), cache, facts)
    if hit is not None:
        late = [i for i in _relaxed_records(ctx, subject_key, pack, hit)
                if ctx.by_id[i].day > ctx.as_of]
        verb = "is" if len(late) == 1 else "are"
        return miss("set_aside", f"{_dates(ctx, late)} {verb} dated after as_of {ctx.as_of} "
                                 f"and set aside; without it {rule.id} does not fire")
    hit = _relaxed_hit(ctx, subject_key, pack, rule, Relax(revoked=True), cache, facts)
    if hit is not None:
        revoked = [i for i in _relaxed_records(ctx, subject_key, pack, hit)
                   if not ctx.by_id[i].effective]
        reason = ("no_effective_penalty"
                  if any(ctx.by_id[i].type == "penalty" for i in revoked) else "no_matching_record")
        verb = "is" if len(revoked) == 1 else "are"
        return miss(reason, f"{_dates(ctx, revoked)} {verb} revoked, and a revoked record "
                            f"supports nothing; without it {rule.id} does not fire")
    if pack.requires_penalty:
        hit = _relaxed_hit(ctx, subject_key, pack, rule, Relax(penalised=True), cache, facts)
        if hit is not None:
            accidents = [i for i in hit.evidence if ctx.by_id[i].type == "accident"]
            return miss("no_effective_penalty",
                        f"{_dates(ctx, accidents)} would meet {rule.id}, but no effective "
                        "penalty against this subject names "
                        + ("it" if len(accidents) == 1 else "any of them"))
        if not any(f.kind == "penalty" for f in facts):
            # effective penalties there are, but outside the scope (a person follows the
            # accident's unit): that, not their absence, is the reason
            outside = {ctx.record_scope(r, subject_key, pack)[1] for r in records
                       if r.type == "penalty" and ctx.blocker(r, subject_key, pack, factmod.STRICT) == "out_of_scope"}
            if outside:
                return miss("out_of_scope", "; ".join(sorted(w for w in outside if w))
                            or f"the subject's penalties are outside the scope of {pack.id}")
            return miss("no_effective_penalty",
                        f"no effective penalty against this subject under {pack.id}, "
                        "which requires one for every listing"
                        + _set_aside_note(ctx, records, pack))
    hit = _relaxed_hit(ctx, subject_key, pack, rule, Relax(other_packs=True), cache, facts)
    if hit is not None:
        others = _relaxed_records(ctx, subject_key, pack, hit)
        notes = []
        for record_id in others:
            conduct = ctx.conduct(ctx.by_id[record_id])
            governing = _pack_name(ctx, conduct)
            notes.append(f"{record_id} (conduct {conduct}) falls under {governing}")
        return miss("no_matching_record", "; ".join(notes) + f", not under {pack.id} "
                    f"({pack.conduct_from}..{pack.conduct_until or 'open'})")
    if rule.window is not None:
        hit = _relaxed_hit(ctx, subject_key, pack, rule, Relax(unbounded_window=True), cache, facts)
        if hit is not None:
            accidents = [i for i in hit.evidence if ctx.by_id[i].type == "accident"]
            span = f"{ctx.by_id[accidents[0]].day} and {ctx.by_id[accidents[-1]].day}"
            what = _counted(len(accidents), rule.window.label)
            if rule.window.measure == "deaths":
                what += f" caused {hit.data['deaths']} deaths in all"
            return miss("outside_window", f"{what}, but {span} are not within "
                                          f"{pack.param('window_months')} months")
    text = _near_miss(rule, pack, facts, ctx)
    if text:
        return miss("below_threshold", text + _set_aside_note(ctx, records, pack))
    return miss("no_matching_record",
                f"no record matches: {rule.needs}" + _set_aside_note(ctx, records, pack))


def _set_aside_note(ctx: Context, records: Sequence[factmod.Record], pack: Pack) -> str:
    """Name the subject's records of this pack dated after as_of (regulations.md §9)."""
    late = [r.record_id for r in records if r.day > ctx.as_of and pack.covers(ctx.conduct(r))]
    if not late:
        return ""
    return f" ({_dates(ctx, late)} set aside: dated after as_of {ctx.as_of})"


def _pack_name(ctx: Context, conduct: Any) -> str:
    """The id of the pack in force on a conduct day, or a note that none is."""
    pack = next((p for p in ctx.packs if p.covers(conduct)), None)
    return pack.id if pack is not None else "no pack (before every regime)"
