"""leasekit: vehicle financing and leasing for lenders, dealers and integrators."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leasekit.hookspecs import hookimpl

__version__ = "0.2.0"

__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> object:
    """``from leasekit import hookimpl`` for plugins, imported on first use so that
    ``import leasekit.money`` stays free of pluggy."""
    if name == "hookimpl":
        from leasekit.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'leasekit' has no attribute {name!r}")
