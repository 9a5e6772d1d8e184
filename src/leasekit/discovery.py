"""Each layer finds its features by their modules, so that adding a feature edits no list.

The command registry, the schema, the HTTP routes and the lifecycle documentation each need
every feature of their layer loaded; they import the layer's package with :func:`submodules`
instead of naming its modules one by one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Collection
from types import ModuleType

__all__ = ["submodules"]


def submodules(package: str, *, besides: Collection[str] = ()) -> list[ModuleType]:
    """Every module directly inside *package* (but the names in *besides*), imported, in
    name order so that whatever is built from them comes out the same each time."""
    root = importlib.import_module(package)
    names = sorted(info.name for info in pkgutil.iter_modules(root.__path__))
    return [importlib.import_module(f"{package}.{name}") for name in names if name not in besides]
