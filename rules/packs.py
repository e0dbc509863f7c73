"""Rule packs: loading, validating and overriding the JSON files in rules/packs/."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rules import language

PACK_DIR = Path(__file__).parent / "packs"
SUBJECT_KINDS = ("unit", "agency", "person")
EFFECTS = ("prohibited", "restricted", "reference", "heightened_supervision")
LIST_CODES = ("serious_untrustworthy", "joint_punishment", "blacklist")
REQUIRED_PARAMETERS = ("period_months", "window_months", "early_removal_after_months",
                       "repeat_period_months", "period_anchor")
_PACK_KEYS = {"id", "version", "document", "document_no", "list", "conduct", "scope",
              "requires_penalty", "parameters", "parameter_notes", "measures", "rules"}
_RULE_KEYS = {"id", "title", "article", "confidence", "lists_main_person", "tier", "needs",
              "applies_to", "window", "when"}
_ENGINE_KEYS = {"all": "multi-fact patterns ('all'/'any')", "any": "multi-fact patterns",
                "count": "count", "cap": "cap", "pri": "priority", "dist": "distinct",
                "run": "actions", "statechart": "statecharts", "flowchart": "flowcharts",
                "states": "statecharts", "stages": "flowcharts", "to": "statecharts"}


class PackError(ValueError):
    """A pack file that is not valid; ``problems`` name file, JSON path and problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid rule pack:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Window:
    """How the facts builder groups a rule's accidents into 12-month runs."""

    select: Mapping[str, Any]
    measure: str
    label: str


@dataclass(frozen=True)
class Rule:
    """One situation of a pack, with its single-fact condition resolved."""

    id: str
    title: str
    article: str | None
    basis: str
    lists_main_person: bool
    tier: str | None
    applies_to: tuple[str, ...]
    needs: str
    when: Mapping[str, Any]
    window: Window | None


@dataclass(frozen=True)
class Measure:
    """One joint-punishment measure (regulations.md §6)."""

    domain: str
    activity: str
    effect: str
    implementer: str
    basis: str


@dataclass(frozen=True)
class Pack:
    """A validated rule pack: one regime in one version."""

    id: str
    version: str
    document: str
    document_no: str
    list_code: str
    list_name: str
    conduct_from: date
    conduct_until: date | None
    scope_kinds: tuple[str, ...]
    unit_sectors: tuple[str, ...] | None
    scope_article: str | None
    scope_description: str
    requires_penalty: bool
    parameters: Mapping[str, Any]
    measures: tuple[Measure, ...]
    rules: tuple[Rule, ...]
    source: str
    digest: str = field(default="")

    def covers(self, conduct: date) -> bool:
        """Whether conduct on this day falls under this pack."""
        return self.conduct_from <= conduct and (
            self.conduct_until is None or conduct <= self.conduct_until)

    def param(self, name: str) -> Any:
        """A parameter's value (KeyError when the pack has no such parameter)."""
        return self.parameters[name]

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id."""
        return next(rule for rule in self.rules if rule.id == rule_id)


def _date(value: Any, path: str, problems: list[str], *, nullable: bool) -> date | None:
    if value is None and nullable:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        problems.append(f"{path}: expected a date YYYY-MM-DD, got {value!r}")
        return None


def _str(doc: Mapping[str, Any], key: str, path: str, problems: list[str],
         *, nullable: bool = False) -> str:
    value = doc.get(key)
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{path}.{key}: expected a non-empty string, got {value!r}")
        return ""
    return value


def _check_parameters(params: Any, problems: list[str]) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        problems.append(f"$.parameters: expected an object, got {params!r}")
        return {}
    for name in REQUIRED_PARAMETERS:
        if name not in params:
            problems.append(f"$.parameters.{name}: required parameter is missing")
    for name, value in params.items():
        if name == "period_anchor":
            if value != "decision_date":
                problems.append(f"$.parameters.period_anchor: only 'decision_date' is supported")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                    or value < 0):
            problems.append(f"$.parameters.{name}: expected a number >= 0 or null, got {value!r}")
    for name in ("period_months", "window_months"):
        value = params.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"$.parameters.{name}: expected a whole number of months >= 1")
    return dict(params)


def _check_condition(node: Any, path: str, params: Mapping[str, Any],
                     problems: list[str]) -> dict[str, Any]:
    found = language.problems(node, path)
    if found:
        problems.extend(found)
        return {}
    try:
        resolved: dict[str, Any] = language.resolve(node, params, path)
    except KeyError as error:
        problems.append(str(error.args[0]))
        return {}
    found = language.problems(resolved, path, resolved=True)
    problems.extend(found)
    return resolved


def _check_rule(raw: Any, path: str, doc: Mapping[str, Any], params: Mapping[str, Any],
                kinds: tuple[str, ...], problems: list[str]) -> Rule | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: a rule must be an object")
        return None
    for key in raw:
        if key in _ENGINE_KEYS:
            problems.append(f"{path}.{key}: {_ENGINE_KEYS[key]} not allowed; "
                            "write a single-fact condition under 'when'")
        elif key not in _RULE_KEYS:
            problems.append(f"{path}.{key}: unknown key")
    rule_id = _str(raw, "id", path, problems)
    if rule_id and not rule_id.startswith(str(doc.get("id", "")).rsplit("-", 1)[-1] + "."):
        problems.append(f"{path}.id: {rule_id!r} does not belong to pack {doc.get('id')!r}")
    title = _str(raw, "title", path, problems)
    needs = _str(raw, "needs", path, problems)
    article = raw.get("article")
    if article is not None and not isinstance(article, str):
        problems.append(f"{path}.article: expected a string or null")
        article = None
    tier = raw.get("tier")
    if tier not in (None, "target", "blacklist"):
        problems.append(f"{path}.tier: expected 'target', 'blacklist' or null, got {tier!r}")
    main = raw.get("lists_main_person", False)
    if not isinstance(main, bool):
        problems.append(f"{path}.lists_main_person: expected a boolean")
    applies_to = raw.get("applies_to", list(kinds))
    if not isinstance(applies_to, list) or not set(applies_to) <= set(kinds) or not applies_to:
        problems.append(f"{path}.applies_to: expected a non-empty subset of {list(kinds)}")
        applies_to = list(kinds)
    window = None
    if raw.get("window") is not None:
        spec = raw["window"]
        wpath = f"{path}.window"
        if not isinstance(spec, Mapping):
            problems.append(f"{wpath}: expected an object")
        else:
            select = _check_condition(spec.get("select"), f"{wpath}.select", params, problems)
            measure = spec.get("measure")
            if measure not in ("count", "deaths"):
                problems.append(f"{wpath}.measure: expected 'count' or 'deaths'")
            label = _str(spec, "label", wpath, problems)
            window = Window(select=select, measure=str(measure), label=label)
    when = _check_condition(raw.get("when"), f"{path}.when", params, problems)
    if when and not language.anchored(when):
        problems.append(f"{path}.when: a pattern without a single-fact test on 'kind' "
                        "(it would also match the engine's state fact)")
    document = str(doc.get("document", ""))
    basis = f"{document}{article}" if article else document
    return Rule(id=rule_id, title=title, article=article, basis=basis,
                lists_main_person=bool(main), tier=tier, applies_to=tuple(applies_to),
                needs=needs, when=when, window=window)


def _check_measures(raw: Any, problems: list[str]) -> tuple[Measure, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("$.measures: expected a non-empty list")
        return ()
    measures = []
    for index, item in enumerate(raw):
        path = f"$.measures[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{path}: expected an object")
            continue
        values = {key: _str(item, key, path, problems)
                  for key in ("domain", "activity", "effect", "implementer", "basis")}
        if values["effect"] and values["effect"] not in EFFECTS:
            problems.append(f"{path}.effect: expected one of {list(EFFECTS)}")
        measures.append(Measure(**values))
    return tuple(measures)


def _object(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, Mapping) else {}


def canonical(doc: Mapping[str, Any]) -> str:
    """Canonical JSON text of a pack document (the basis of its content hash)."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def validate(doc: Any, source: str = "<pack>") -> Pack:
    """Validate a full pack document; PackError names file, JSON path and problem."""
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        raise PackError([f"{source}: $: a pack must be a JSON object"])
    for key in doc:
        if key not in _PACK_KEYS:
            problems.append(f"$.{key}: unknown key")
    pack_id = _str(doc, "id", "$", problems)
    version = _str(doc, "version", "$", problems)
    document = _str(doc, "document", "$", problems)
    document_no = _str(doc, "document_no", "$", problems)
    listing = _object(doc, "list")
    list_code = _str(listing, "code", "$.list", problems)
    if list_code and list_code not in LIST_CODES:
        problems.append(f"$.list.code: expected one of {list(LIST_CODES)}")
    list_name = _str(listing, "name", "$.list", problems)
    conduct = _object(doc, "conduct")
    start = _date(conduct.get("from"), "$.conduct.from", problems, nullable=False)
    until = _date(conduct.get("until"), "$.conduct.until", problems, nullable=True)
    if start and until and until < start:
        problems.append("$.conduct: 'until' is before 'from'")
    scope = _object(doc, "scope")
    kinds = scope.get("subject_kinds")
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(SUBJECT_KINDS):
        problems.append(f"$.scope.subject_kinds: expected a non-empty subset of {SUBJECT_KINDS}")
        kinds = list(SUBJECT_KINDS)
    sectors = scope.get("unit_sectors")
    if sectors is not None and (not isinstance(sectors, list)
                                or not all(isinstance(s, str) for s in sectors)):
        problems.append("$.scope.unit_sectors: expected a list of sector codes or null")
        sectors = None
    description = _str(scope, "description", "$.scope", problems)
    requires_penalty = doc.get("requires_penalty")
    if not isinstance(requires_penalty, bool):
        problems.append("$.requires_penalty: expected a boolean")
    params = _check_parameters(doc.get("parameters"), problems)
    measures = _check_measures(doc.get("measures"), problems)
    raw_rules = doc.get("rules")
    rules: list[Rule] = []
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append("$.rules: expected a non-empty list")
        raw_rules = []
    for index, raw in enumerate(raw_rules):
        rule = _check_rule(raw, f"$.rules[{index}]", doc, params, tuple(kinds), problems)
        if rule is not None:
            rules.append(rule)
    ids = [rule.id for rule in rules]
    for rule_id in {i for i in ids if ids.count(i) > 1}:
        problems.append(f"$.rules: duplicate rule id {rule_id!r}")
    if problems:
        raise PackError([f"{source}: {problem}" for problem in problems])
    assert start is not None
    return Pack(
        id=pack_id, version=version, document=document, document_no=document_no,
        list_code=list_code, list_name=list_name, conduct_from=start, conduct_until=until,
        scope_kinds=tuple(kinds), unit_sectors=tuple(sectors) if sectors is not None else None,
        scope_article=scope.get("article"), scope_description=description,
        requires_penalty=bool(requires_penalty), parameters=params, measures=measures,
        rules=tuple(rules), source=source,
        digest=hashlib.sha256(canonical(doc).encode("utf-8")).hexdigest())


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PackError([f"{path}: cannot read: {error.strerror}"]) from error
    except json.JSONDecodeError as error:
        raise PackError([f"{path}: $: not JSON ({error.msg} at line {error.lineno})"]) from error


def apply_override(base_doc: Mapping[str, Any], override: Mapping[str, Any],
                   source: str) -> dict[str, Any]:
    """Merge a deployment override ``{"extends", "parameters", "version"?}`` into a pack."""
    problems = [f"{source}: $.{key}: an override may only set extends, parameters, version"
                for key in override if key not in ("extends", "parameters", "version")]
    params = override.get("parameters", {})
    if not isinstance(params, Mapping):
        problems.append(f"{source}: $.parameters: expected an object")
        params = {}
    known = base_doc.get("parameters", {})
    for name in params:
        if name not in known:
            problems.append(f"{source}: $.parameters.{name}: "
                            f"{base_doc.get('id')} has no such parameter")
    if problems:
        raise PackError(problems)
    merged = copy.deepcopy(dict(base_doc))
    merged["parameters"] = {**known, **params}
    merged["version"] = override.get("version", f"{base_doc.get('version')}+local")
    return merged


def load_pack(path: str | Path) -> Pack:
    """Load and validate one full pack file (not an override)."""
    doc = _read(Path(path))
    if isinstance(doc, Mapping) and "extends" in doc:
        raise PackError([f"{path}: $.extends: an override needs its base; use load_packs"])
    return validate(doc, str(path))


PackSource = str | Path | Mapping[str, Any]


def _documents(sources: Iterable[PackSource]) -> list[tuple[str, Mapping[str, Any]]]:
    docs: list[tuple[str, Mapping[str, Any]]] = []
    for source in sources:
        if isinstance(source, Mapping):
            docs.append(("<override>", source))
            continue
        path = Path(source)
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for file in files:
            doc = _read(file)
            if not isinstance(doc, Mapping):
                raise PackError([f"{file}: $: a pack must be a JSON object"])
            docs.append((str(file), doc))
    return docs


def load_packs(paths: Iterable[PackSource] | None = None,
               overrides: Iterable[PackSource] | None = None) -> tuple[Pack, ...]:
    """Load and validate packs (default: the packaged ones), then apply overrides.

    A file with ``extends`` is an override wherever it is given. Packs come back ordered
    by the start of their conduct dates; overlapping date ranges are refused.
    """
    docs = _documents([PACK_DIR] if paths is None else paths)
    docs += _documents(overrides or ())
    bases: dict[str, tuple[str, Mapping[str, Any]]] = {}
    extensions: list[tuple[str, Mapping[str, Any]]] = []
    for source, doc in docs:
        if "extends" in doc:
            extensions.append((source, doc))
        elif str(doc.get("id")) in bases:
            raise PackError([f"{source}: $.id: pack {doc.get('id')!r} is loaded twice"])
        else:
            bases[str(doc.get("id"))] = (source, doc)
    for source, ext in extensions:
        target = str(ext["extends"])
        if target not in bases:
            raise PackError([f"{source}: $.extends: no loaded pack {target!r}"])
        base_source, base_doc = bases[target]
        bases[target] = (f"{base_source} + {source}", apply_override(base_doc, ext, source))
    packs = sorted((validate(doc, source) for source, doc in bases.values()),
                   key=lambda pack: pack.conduct_from)
    for earlier, later in zip(packs, packs[1:]):
        if earlier.conduct_until is None or earlier.conduct_until >= later.conduct_from:
            raise PackError([f"{later.source}: $.conduct: overlaps {earlier.id} "
                             f"({earlier.conduct_from}..{earlier.conduct_until or 'open'})"])
    return tuple(packs)


def pack_for(conduct: date, packs: Sequence[Pack]) -> Pack | None:
    """The pack in force for conduct on this day, or None when none is."""
    return next((pack for pack in packs if pack.covers(conduct)), None)
