"""The durable_rules adapter: the only module that imports durable_rules.

Used exactly as spec/durable_rules.md prescribes: an own host without background
threads, one per process; rulesets named by content hash and registered once from a deep
copy; one live session at a time under a lock, with a fresh id; facts asserted one by
one; an end event handled by a sentinel rule; the state checked for a swallowed
exception and deleted in ``finally``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from durable.engine import Host, MessageNotHandledException  # type: ignore[import-untyped]

from rules.facts import Fact
from rules.packs import Pack

END_KIND = "$end"
SENTINEL = "end_of_facts"


class EngineError(RuntimeError):
    """durable_rules reported a failure (an exception swallowed into the session state)."""


class _QuietHost(Host):  # type: ignore[misc]
    """A durable_rules host that starts no dispatch or timer threads."""

    def _run(self) -> None:
        return None


_lock = threading.Lock()
_host: _QuietHost | None = None
_registered: dict[str, str] = {}
_names: dict[tuple[str, str], str] = {}
_hits: list[tuple[str, str]] = []
_sessions = itertools.count(1)


def _rule_name(rule_id: str) -> str:
    return "rule_" + rule_id.replace(".", "_")


def ruleset_definition(pack: Pack) -> dict[str, Any]:
    """The durable_rules JSON of a pack: one single-fact rule per pack rule, plus a sentinel."""
    definition: dict[str, Any] = {}
    for rule in pack.rules:
        definition[_rule_name(rule.id)] = {"all": [{"m": copy.deepcopy(dict(rule.when))}]}
    definition[SENTINEL] = {"all": [{"m": {"kind": END_KIND}}]}
    return definition


def ruleset_name(pack: Pack) -> str:
    """``pack_id@hash`` of the ruleset's canonical JSON: a changed rule gets a new name."""
    cached = _names.get((pack.id, pack.digest))
    if cached is not None:
        return cached
    text = json.dumps(ruleset_definition(pack), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    name = f"{pack.id}@{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"
    if pack.digest:
        _names[(pack.id, pack.digest)] = name
    return name


def _action(rule_id: str) -> Callable[[Any], None]:
    def record(c: Any) -> None:
        _hits.append((rule_id, str(c.m["id"])))
    return record


def _ensure(pack: Pack) -> str:
    global _host
    name = ruleset_name(pack)
    if name in _registered:
        return name
    if _host is None:
        _host = _QuietHost()
    definition = copy.deepcopy(ruleset_definition(pack))  # registration mutates its argument
    for rule in pack.rules:
        definition[_rule_name(rule.id)]["run"] = _action(rule.id)
    definition[SENTINEL]["run"] = _action(SENTINEL)
    _host.register_rulesets({name: definition})
    _registered[name] = pack.id
    return name


def fired(pack: Pack, facts: Sequence[Fact]) -> set[tuple[str, str]]:
    """(rule id, fact id) for every rule each fact satisfies, as durable_rules decides it."""
    with _lock:
        name = _ensure(pack)
        assert _host is not None
        sid = f"{os.getpid()}-{next(_sessions)}-{uuid.uuid4().hex[:12]}"
        _hits.clear()
        end = {"id": f"end-{sid}", "sid": sid, "kind": END_KIND}
        ended = False
        try:
            for fact in sorted(facts, key=lambda f: (f.conduct, f.rank, f.id)):
                try:
                    _host.assert_fact(name, {**fact.data, "id": fact.id, "sid": sid})
                except MessageNotHandledException:
                    pass
            _host.post(name, end)
            ended = True
            state = _host.get_state(name, sid)
            if state.get("exception"):
                raise EngineError(f"durable_rules action failed: {state['exception']}")
            if (SENTINEL, end["id"]) not in _hits:
                raise EngineError("durable_rules did not handle the end event")
            return {hit for hit in _hits if hit[0] != SENTINEL}
        finally:
            if not ended:  # deleting a session on which no action ran segfaults
                try:
                    _host.post(name, end)
                except Exception:  # noqa: BLE001 - the original error is the one to raise
                    pass
            _hits.clear()
            _host.delete_state(name, sid)
