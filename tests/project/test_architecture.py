"""The package's layout is its architecture: imports between subpackages go one way only, and
the hook registry is the one place that names hooks."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cds_service

PACKAGE = Path(cds_service.__file__).parent
# Which subpackages each may import (besides itself); the package docstring says the same.
ALLOWED = {
    "core": set(),
    "hooks": {"core"},
    "library": {"hooks", "core"},
    "data": {"hooks", "core"},
    "engine": {"library", "hooks", "data", "core"},
    "storage": {"core"},
    "workbench": {"data", "engine", "storage", "hooks", "library", "core"},
    "web": {"workbench", "data", "engine", "storage", "hooks", "library", "core"},
    "tools": {"web", "workbench", "data", "engine", "storage", "hooks", "library", "core"},
}


def imported_subpackages(source: str, parts: tuple[str, ...]) -> set[str]:
    """The cds_service subpackages a module (at `parts` under the package) imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(parts[:-1])[: len(parts) - node.level]
                target = base + (node.module.split(".") if node.module else [])
                if not node.module:
                    target += [alias.name for alias in node.names][:1]
            elif node.module and node.module.startswith("cds_service."):
                target = node.module.split(".")[1:]
            else:
                continue
            if target:
                found.add(target[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("cds_service.")}
    return found


def test_every_module_lives_in_a_known_subpackage():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert loose == []
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == set(ALLOWED)


def test_imports_between_subpackages_go_one_way():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        own = path.relative_to(PACKAGE).parts[0]
        if own not in ALLOWED:
            continue
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        for target in imported_subpackages(path.read_text(encoding="utf-8"), parts) - {own}:
            if target in ALLOWED and target not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert wrong == []


def test_hook_names_are_written_only_in_the_registry():
    names = ('"patient-view"', '"order-select"', '"order-sign"')
    outside = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
               if p.name != "registry.py" and any(n in p.read_text(encoding="utf-8") for n in names)]
    assert outside == []


def test_the_resolver_sees_cross_package_imports():
    """Guard for the guard: relative, bare-relative and absolute imports are all resolved."""
    assert imported_subpackages("from ..web.app import create_app", ("engine", "rules")) == {"web"}
    assert imported_subpackages("from .. import tools", ("engine", "rules")) == {"tools"}
    assert imported_subpackages("from .findings import find", ("engine", "rules")) == {"engine"}
    assert imported_subpackages("import cds_service.web.app", ("engine", "rules")) == {"web"}


def test_only_the_storage_package_reaches_its_sql_implementation():
    """Outside storage/, modules see its interface (storage, storage.interface, storage.feedback,
    storage.analytics), never the SQLAlchemy modules behind it."""
    reaching = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "storage":
            continue
        source = path.read_text(encoding="utf-8")
        if "storage.sql" in source or "sqlalchemy" in source:
            reaching.append(str(path.relative_to(PACKAGE)))
    assert reaching == []


def test_storage_raises_storage_errors_never_http_errors():
    """A store says what went wrong in storage terms (storage/interface.py); which HTTP status that
    is, is the web layer's choice. A storage module that imports core/errors.py could answer 4xx
    or 5xx on its own."""
    speaking_http = []
    for path in (PACKAGE / "storage").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("core.errors"):
                speaking_http.append(str(path.relative_to(PACKAGE)))
    assert speaking_http == []


def test_no_module_but_the_sql_store_loads_a_database_library_when_imported():
    """The interface and everything outside storage/sql*.py import without SQLAlchemy or Alembic:
    open_storage imports the SQL store when it is called, not before. Checked in a fresh process
    (this one has loaded SQLAlchemy long ago), which then imports the SQL store to show the check sees it."""
    modules = sorted(".".join(("cds_service",) + p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
                     for p in PACKAGE.rglob("*.py")
                     if p.name != "__main__.py" and not p.name.startswith("sql") and "migrations" not in p.parts)
    probe = ("import importlib, sys\n"
             "loaded = lambda: sorted(n for n in ('sqlalchemy', 'alembic') if n in sys.modules)\n"
             "for name in sys.argv[1:]: importlib.import_module(name)\n"
             "print(loaded()); importlib.import_module('cds_service.storage.sql'); print(loaded())")
    result = subprocess.run([sys.executable, "-c", probe, *modules], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "cds_service.storage.interface" in modules and "cds_service.web.app" in modules
    assert result.stdout.splitlines() == ["[]", "['alembic', 'sqlalchemy']"]
