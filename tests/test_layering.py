"""Imports flow one way: web → rules → blacklist, scheduler → rules → blacklist; only
rules/engine.py imports durable_rules; blacklist imports no framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "blacklist": {"blacklist"},
    "rules": {"rules", "blacklist"},
    "web": {"web", "rules", "blacklist"},
    "scheduler": {"scheduler", "rules", "blacklist"},
}
OURS = {"blacklist", "rules", "web", "scheduler", "cli"}
FRAMEWORKS = {"flask", "flask_smorest", "marshmallow", "apscheduler", "durable", "webargs", "flask_limiter", "limits"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_import_direction(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        ours = imports(path) & OURS
        assert ours <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(ours - ALLOWED[package])}"


def test_the_domain_imports_no_framework() -> None:
    for path in (ROOT / "blacklist").rglob("*.py"):
        assert not imports(path) & FRAMEWORKS, path


def test_only_the_engine_adapter_imports_durable_rules() -> None:
    users = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py")
             if ".venv" not in p.parts and "durable" in imports(p) and "tests" not in p.parts]
    assert users == ["rules/engine.py"]
