"""The core stays free of storage and web code.

``leasekit.calc`` and ``leasekit.domain`` import only the standard library, attrs and small
pure helpers (python-stdnum, rule-engine); ``leasekit.services`` may add the ports and the
plugin facade. None of them may reach SQLAlchemy, aiohttp or pydantic, so that a quote can
be computed by a script, and a use case run from any framework, without loading a database
driver or a web server. Two checks enforce it: importing every module of these packages in a fresh
interpreter must not load a forbidden library, and a static scan of their source finds
imports that only run on some code paths.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import leasekit

FORBIDDEN = ("sqlalchemy", "aiohttp", "pydantic", "pydantic_settings", "numpy", "psycopg")
PURE_LEASEKIT = ("leasekit.money", "leasekit.errors", "leasekit.calc", "leasekit.discovery")
ALLOWED: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    # package: (third-party top-level modules, leasekit modules) it may import
    "calc": (frozenset({"attrs"}), PURE_LEASEKIT),
    # rule-engine: voucher templates compile their amount expressions in the domain, with
    # the library the rules engine uses; it is pure Python and parses its own language.
    "domain": (frozenset({"attrs", "stdnum", "rule_engine"}), (*PURE_LEASEKIT, "leasekit.domain")),
    "services": (
        frozenset({"attrs", "filetype", "openpyxl", "pypdf", "rule_engine"}),
        (
            *PURE_LEASEKIT,
            "leasekit.domain",
            "leasekit.services",
            "leasekit.ports",
            "leasekit.plugins",
        ),
    ),
}

PACKAGE_DIR = Path(leasekit.__file__).parent

_PROBE = """
import importlib, json, pkgutil, sys
found = []
for package in ("leasekit.calc", "leasekit.domain", "leasekit.services"):
    module = importlib.import_module(package)
    found += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
for name in found:
    importlib.import_module(name)
print(json.dumps({"core_modules": sorted(found), "loaded": sorted(sys.modules)}))
"""


def _import_core_in_fresh_interpreter(cwd: Path) -> dict[str, list[str]]:
    """Import the core in a new interpreter; return the modules found and sys.modules.

    A fresh process matters: in this one, pytest, hypothesis and psycopg are already loaded.
    """
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, f"importing the core failed:\n{completed.stderr}"
    result: dict[str, list[str]] = json.loads(completed.stdout.splitlines()[-1])
    return result


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


def test_importing_the_core_loads_no_heavy_library(tmp_path: Path) -> None:
    probe = _import_core_in_fresh_interpreter(tmp_path)
    packages = {name.split(".")[1] for name in probe["core_modules"]}
    assert packages == set(ALLOWED), (
        f"found modules only in {packages}; discovery is broken, so this test proves too little"
    )
    loaded = sorted(name for name in probe["loaded"] if _is_forbidden(name))
    assert loaded == [], f"importing {probe['core_modules']} loaded {loaded}"


def _core_sources() -> list[Path]:
    return sorted(
        path
        for package in ALLOWED
        if (PACKAGE_DIR / package).is_dir()
        for path in (PACKAGE_DIR / package).rglob("*.py")
    )


def _package_of(path: Path) -> str:
    """The package that relative imports in *path* are resolved against."""
    return ".".join(["leasekit", *path.relative_to(PACKAGE_DIR).parent.parts])


def _resolve(node: ast.ImportFrom, package: str) -> str:
    """The absolute name of the module a ``from ... import`` statement reads from."""
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_allowed(module: str, package: str) -> bool:
    third_party, own = ALLOWED[package]
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in third_party:
        return True
    return any(module == allowed or module.startswith(f"{allowed}.") for allowed in own)


def _imports(tree: ast.Module, package: str) -> list[tuple[int, str]]:
    """Every module an ``import`` statement names, with its line number.

    ``from leasekit import money`` names ``leasekit.money``, so importing a pure module through
    its parent package is judged by the module, not by ``leasekit`` itself.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node, package)
            if module == "leasekit":
                found.extend((node.lineno, f"leasekit.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, module))
    return found


def test_static_scan_finds_the_core_sources() -> None:
    scanned = {path.relative_to(PACKAGE_DIR).parts[0] for path in _core_sources()}
    assert scanned == set(ALLOWED), f"found sources only in {scanned}; the scan proves too little"


@pytest.mark.parametrize(
    "path", _core_sources(), ids=lambda path: str(path.relative_to(PACKAGE_DIR))
)
def test_core_module_imports_only_what_its_layer_allows(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    layer = path.relative_to(PACKAGE_DIR).parts[0]
    offending = [
        f"line {line}: {module}"
        for line, module in _imports(tree, _package_of(path))
        if not _is_allowed(module, layer)
    ]
    assert offending == [], f"{path.name} imports outside the pure core: {offending}"
