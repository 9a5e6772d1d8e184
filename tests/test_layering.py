"""The pure core stays pure.

``leasekit.money``, ``leasekit.errors``, ``leasekit.calc`` and ``leasekit.domain`` must import
only the standard library and attrs, so that a quote or a schedule can be computed by a script
that installed nothing else and so that loading the calculator never drags in a database
driver or a web framework. Two checks enforce it: importing the core in a fresh interpreter
must not load any heavy library, and a static scan of the core's source finds imports that
only run on some code paths.
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
THIRD_PARTY_ALLOWED = frozenset({"attrs"})
PURE_LEASEKIT = ("leasekit.money", "leasekit.errors", "leasekit.calc", "leasekit.domain")
PURE_PACKAGES = ("calc", "domain")

PACKAGE_DIR = Path(leasekit.__file__).parent

_PROBE = """
import importlib, json, pkgutil, sys
import leasekit, leasekit.money, leasekit.errors, leasekit.calc
infos = pkgutil.walk_packages(leasekit.calc.__path__, "leasekit.calc.")
found = sorted(info.name for info in infos)
for name in found:
    importlib.import_module(name)
print(json.dumps({"calc_modules": found, "loaded": sorted(sys.modules)}))
"""


def _import_core_in_fresh_interpreter(cwd: Path) -> dict[str, list[str]]:
    """Import the core in a new interpreter; return the calc modules found and sys.modules.

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
    assert probe["calc_modules"], (
        "found no modules under leasekit.calc; discovery is broken, so this test proves nothing"
    )
    loaded = sorted(name for name in probe["loaded"] if _is_forbidden(name))
    assert loaded == [], f"importing {probe['calc_modules']} loaded {loaded}"


def _core_sources() -> list[Path]:
    return sorted(
        path
        for package in PURE_PACKAGES
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


def _is_allowed(module: str) -> bool:
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in THIRD_PARTY_ALLOWED:
        return True
    return any(module == pure or module.startswith(f"{pure}.") for pure in PURE_LEASEKIT)


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
    assert any(path.parent.name == "calc" for path in _core_sources()), (
        f"found no source files under {PACKAGE_DIR / 'calc'}; the static scan would prove nothing"
    )


@pytest.mark.parametrize(
    "path", _core_sources(), ids=lambda path: str(path.relative_to(PACKAGE_DIR))
)
def test_core_module_imports_only_stdlib_attrs_and_pure_leasekit(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offending = [
        f"line {line}: {module}"
        for line, module in _imports(tree, _package_of(path))
        if not _is_allowed(module)
    ]
    assert offending == [], f"{path.name} imports outside the pure core: {offending}"
