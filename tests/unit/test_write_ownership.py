"""Each context owns its writes: the back office is screens over the other contexts'
services and selectors, and the core modules that hold shared use cases and mechanisms
import no context."""

from __future__ import annotations

import ast
from pathlib import Path

import mutualis

SOURCE = Path(mutualis.__file__).parent
# ORM methods that write (or lock rows for writing).
WRITES = {
    "save",
    "delete",
    "create",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "select_for_update",
}
CONTEXTS = ("identity", "companies", "directory", "backoffice")


def _modules(*parts: str) -> list[Path]:
    path = SOURCE.joinpath(*parts)
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_back_office_has_no_use_case_of_its_own():
    assert not (SOURCE / "backoffice" / "services.py").exists()
    assert not (SOURCE / "backoffice" / "errors.py").exists()


def test_the_back_office_writes_no_row_itself():
    """No ORM write in the back office: every change goes through a context's service
    (``manager.update(…)`` is told from ``dict.update`` by the absence of a dict)."""
    found = []
    for path in _modules("backoffice"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            is_queryset_update = name == "update" and not node.args and node.keywords
            if name in WRITES or is_queryset_update:
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno} .{name}()")
    assert found == []


def test_the_back_office_imports_no_model_to_write_through():
    """The back office reads models through selectors; it may name a model's choices
    (an enumeration), never import one of the other contexts' model classes to query."""
    offenders = []
    for path in _modules("backoffice"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in {
                "mutualis.identity.models",
                "mutualis.companies.models",
            }:
                names = {alias.name for alias in node.names}
                classes = {n for n in names if not n.endswith(("Status", "Role", "Kind"))}
                if path.name != "selectors.py" and classes:
                    offenders.append(f"{path.relative_to(SOURCE)}: {sorted(classes)}")
    assert offenders == []


def test_the_shared_core_modules_import_no_context():
    modules = [
        *_modules("core", "services"),
        *_modules("core", "invitations"),
        *_modules("core", "numbers"),
        *_modules("core", "errors"),
    ]
    offenders = {
        f"{path.relative_to(SOURCE)} → {name}"
        for path in modules
        for name in _imported(ast.parse(path.read_text()))
        if name.startswith(tuple(f"mutualis.{context}" for context in CONTEXTS))
    }
    assert offenders == set()


def test_one_form_errors_partial_serves_every_context():
    templates = list(SOURCE.rglob("*.html"))
    partials = sorted(str(p.relative_to(SOURCE)) for p in templates if "form_errors" in p.name)
    assert partials == ["templates/_form_errors.html"]
    includes = {
        line.strip()
        for path in templates
        for line in path.read_text().splitlines()
        if "form_errors" in line
    }
    assert includes
    assert all('{% include "_form_errors.html"' in line for line in includes)
