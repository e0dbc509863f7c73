"""The single-fact condition language shared by the pack validator and both evaluators.

A condition is one JSON object with exactly one key: an equality test ``{"field": value}``,
a comparison ``{"$gte": {"field": number}}`` (``$lt``, ``$lte``, ``$gt``, ``$gte``), an
inequality ``{"$neq": {"field": value}}``, a presence test ``{"$ex": {"field": 1}}`` /
``{"$nex": {"field": 1}}``, or ``{"$and": [...]}`` / ``{"$or": [...]}`` of conditions. In a
pack file a value may also be ``{"$param": name}`` or ``{"$grade": name}``, resolved at load.
This is exactly the subset of durable_rules that is safe to use (spec/durable_rules.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Condition = Mapping[str, Any]

GRADE_RANKS: Mapping[str, int] = {"general": 0, "larger": 1, "major": 2, "especially_major": 3}

VIOLATION_CODES: tuple[str, ...] = (
    "accident.liability", "accident.concealed", "accident.false_report",
    "accident.late_report", "accident.no_rescue_or_fled", "accident.scene_destroyed",
    "permit.none", "permit.suspended_or_revoked", "agency.qualification_abuse",
    "agency.false_report", "penalty.refused_execution", "hazard.major_unrectified",
    "hazard.occupational_over_limit", "order.suspension_ignored", "supervision.evaded",
    "facilities.not_accepted", "mining.beyond_boundary", "other",
)


def violation_field(code: str) -> str:
    """The fact field that is true when a penalty carries ``code``."""
    return "v_" + code.replace(".", "_")


# Field name -> value type ("number", "bool", "str"), for every fact kind facts.py asserts.
FACT_FIELDS: Mapping[str, str] = {
    "kind": "str", "record_id": "str", "subject_kind": "str", "rule": "str",
    # accident facts
    "own": "bool", "grade": "str", "grade_rank": "number", "liability": "bool",
    "deaths": "number", "serious_injuries": "number", "direct_loss_cny": "number",
    "reporting": "str", "penalised": "bool", "penalty_serious": "bool",
    # penalty facts
    "serious": "bool", "executed": "bool", "fine_cny": "number", "fine_multiple": "number",
    "names_accident": "bool", "accident_reporting": "str", "accident_grade_rank": "number",
    "accident_liability": "bool",
    # window facts (also "deaths", "penalised", "rule")
    "count": "number",
    **{violation_field(code): "bool" for code in VIOLATION_CODES},
}

COMPARISONS = ("$lt", "$lte", "$gt", "$gte")
_FIELD_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FORBIDDEN = {
    "$m": "a correlated reference", "$s": "a reference to session state",
    "$add": "arithmetic", "$sub": "arithmetic", "$mul": "arithmetic", "$div": "arithmetic",
    "$iall": "an array test", "$iany": "an array test", "$mt": "a regex test",
    "$imt": "a regex test", "$eq": "an explicit $eq (write {field: value})",
    "$all": "a multi-fact join", "$any": "a multi-fact join", "$not": "negation",
    "count": "count", "cap": "cap", "pri": "priority", "dist": "distinct",
}


def _value_problems(value: Any, path: str, *, numeric: bool, resolved: bool) -> list[str]:
    if isinstance(value, Mapping):
        if not resolved and len(value) == 1 and set(value) <= {"$param", "$grade"}:
            name = next(iter(value.values()))
            if not isinstance(name, str):
                return [f"{path}: {next(iter(value))} needs a name"]
            if "$grade" in value and name not in GRADE_RANKS:
                return [f"{path}: unknown grade {name!r}"]
            return []
        keys = ", ".join(sorted(map(str, value)))
        return [f"{path}: value {{{keys}}} is a correlated reference or arithmetic; "
                "only literal values are allowed"]
    if numeric:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{path}: comparison needs a number, got {value!r}"]
        return []
    if value is None or isinstance(value, (list, dict)):
        return [f"{path}: value must be a string, number or boolean, got {value!r}"]
    return []


def _field_problems(field: str, path: str) -> list[str]:
    if not isinstance(field, str) or not _FIELD_RE.match(field):
        return [f"{path}: field {field!r} is not a plain fact field "
                "(dotted names are correlated or nested references)"]
    if field not in FACT_FIELDS:
        return [f"{path}: unknown fact field {field!r}"]
    return []


def problems(node: Any, path: str = "$", *, resolved: bool = False) -> list[str]:
    """Every way ``node`` leaves the single-fact language (empty when it is valid)."""
    if not isinstance(node, Mapping):
        return [f"{path}: a condition must be an object, got {type(node).__name__}"]
    if len(node) != 1:
        return [f"{path}: a condition must have exactly one key, got {sorted(map(str, node))}"]
    key, body = next(iter(node.items()))
    where = f"{path}.{key}"
    if key in ("$and", "$or"):
        if not isinstance(body, list) or not body:
            return [f"{where}: needs a non-empty list of conditions"]
        found: list[str] = []
        for index, child in enumerate(body):
            found += problems(child, f"{where}[{index}]", resolved=resolved)
        return found
    if key in COMPARISONS or key in ("$neq", "$ex", "$nex"):
        if not isinstance(body, Mapping) or len(body) != 1:
            return [f"{where}: needs exactly one {{field: value}}"]
        field, value = next(iter(body.items()))
        found = _field_problems(field, where)
        if key in ("$ex", "$nex"):
            if value != 1:
                found.append(f"{where}.{field}: presence tests take the value 1")
            return found
        numeric = key in COMPARISONS
        if numeric and not found and FACT_FIELDS[field] != "number":
            found.append(f"{where}.{field}: {field} is not a number field")
        if not numeric and not found:
            found += _type_problems(field, value, f"{where}.{field}")
        return found + _value_problems(value, f"{where}.{field}", numeric=numeric,
                                       resolved=resolved)
    if key in _FORBIDDEN:
        return [f"{where}: {_FORBIDDEN[key]} is not allowed (single-fact conditions only)"]
    if isinstance(key, str) and key.startswith("$"):
        return [f"{where}: unknown operator {key!r}"]
    found = _field_problems(key, path)
    if not found:
        found += _type_problems(key, body, where)
    return found + _value_problems(body, where, numeric=False, resolved=resolved)


def _type_problems(field: str, value: Any, path: str) -> list[str]:
    if isinstance(value, Mapping):
        return []
    wanted = FACT_FIELDS[field]
    actual = ("bool" if isinstance(value, bool) else "number"
              if isinstance(value, (int, float)) else "str" if isinstance(value, str) else "other")
    if actual != wanted:
        return [f"{path}: {field} holds a {wanted}, not {value!r}"]
    return []


def anchored(node: Condition) -> bool:
    """True when every way to satisfy ``node`` tests the fact's ``kind`` (no bare patterns)."""
    key, body = next(iter(node.items()))
    if key == "kind":
        return True
    if key == "$and":
        return any(anchored(child) for child in body)
    if key == "$or":
        return all(anchored(child) for child in body)
    return False


def resolve(node: Any, parameters: Mapping[str, Any], path: str = "$") -> Any:
    """Replace ``$param`` and ``$grade`` values with literals; KeyError names the path."""
    if isinstance(node, Mapping):
        if len(node) == 1 and "$param" in node:
            name = node["$param"]
            if name not in parameters or parameters[name] is None:
                raise KeyError(f"{path}: unknown or null parameter {name!r}")
            return parameters[name]
        if len(node) == 1 and "$grade" in node:
            return GRADE_RANKS[node["$grade"]]
        return {key: resolve(value, parameters, f"{path}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, parameters, f"{path}[{i}]") for i, item in enumerate(node)]
    return node


def _same_type(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return True
    return type(left) is type(right)


def _compare(op: str, actual: Any, limit: Any) -> bool:
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    if op == "$lt":
        return bool(actual < limit)
    if op == "$lte":
        return bool(actual <= limit)
    if op == "$gt":
        return bool(actual > limit)
    return bool(actual >= limit)


def matches(node: Condition, fact: Mapping[str, Any], *, relax: bool = False) -> bool:
    """Evaluate a resolved condition on one fact, as durable_rules does.

    An absent field fails every test but ``$nex``. With ``relax``, numeric comparisons on
    present fields count as met: used to find near misses ("below threshold").
    The condition is compiled to nested closures once (`compiled`): the explanations of a
    batch evaluation test each rule's condition on hundreds of thousands of facts.
    """
    return compiled(node, relax)(fact)


Test = Callable[[Mapping[str, Any]], bool]
_COMPILED: dict[tuple[int, bool], tuple[Condition, Test]] = {}
_COMPILED_MAX = 4096  # packs are loaded once a process; a bound all the same


def compiled(node: Condition, relax: bool = False) -> Test:
    """`matches` for this condition as one function of the fact (cached per condition object)."""
    key = (id(node), relax)
    hit = _COMPILED.get(key)
    if hit is not None and hit[0] is node:
        return hit[1]
    test = _compile(node, relax)
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[key] = (node, test)  # holding the node keeps its id from being reused
    return test


def _compile(node: Condition, relax: bool) -> Test:
    key, body = next(iter(node.items()))
    if key in ("$and", "$or"):
        parts = tuple(_compile(child, relax) for child in body)
        if key == "$and":
            def every(fact: Mapping[str, Any]) -> bool:
                for part in parts:
                    if not part(fact):
                        return False
                return True
            return every

        def some(fact: Mapping[str, Any]) -> bool:
            for part in parts:
                if part(fact):
                    return True
            return False
        return some
    if key in ("$ex", "$nex"):
        field = next(iter(body))
        present = key == "$ex"
        return lambda fact: (field in fact) == present
    if key in COMPARISONS:
        field, limit = next(iter(body.items()))
        if relax:
            return lambda fact: field in fact
        return lambda fact: field in fact and _compare(key, fact[field], limit)
    if key == "$neq":
        field, limit = next(iter(body.items()))
        return lambda fact: field in fact and _same_type(fact[field], limit) and bool(fact[field] != limit)
    field, value = key, body
    if isinstance(value, bool):
        return lambda fact: field in fact and isinstance(fact[field], bool) and fact[field] == value
    if isinstance(value, (int, float)):
        return lambda fact: (field in fact and isinstance(fact[field], (int, float))
                             and not isinstance(fact[field], bool) and bool(fact[field] == value))
    kind = type(value)
    return lambda fact: field in fact and type(fact[field]) is kind and bool(fact[field] == value)


def failed_comparisons(node: Condition, fact: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """The (op, field, limit) comparisons ``fact`` fails, in a branch it relaxed-matches."""
    key, body = next(iter(node.items()))
    if key == "$and":
        failed: list[tuple[str, str, Any]] = []
        for child in body:
            failed += failed_comparisons(child, fact)
        return failed
    if key == "$or":
        branches = [failed_comparisons(child, fact) for child in body
                    if matches(child, fact, relax=True)]
        return min(branches, key=len) if branches else []
    if key in COMPARISONS:
        field, limit = next(iter(body.items()))
        if field in fact and not _compare(key, fact[field], limit):
            return [(key, field, limit)]
    return []
