"""Every feature's commands and event handlers, loaded together.

Commands and handlers register themselves when their module is imported; this module imports
every module of :mod:`leasekit.services`, so the composition root, the HTTP server, the
command line and the invariant tests that import it see every one of them, a new feature's
included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leasekit.discovery import submodules
from leasekit.services.commands import COMMANDS, Command
from leasekit.services.events import HANDLERS, Handler

__all__ = ["commands", "handlers"]

submodules("leasekit.services")


def commands() -> Mapping[str, Command[Any, Any]]:
    """Every command, by name."""
    return COMMANDS


def handlers() -> Mapping[str, Handler]:
    """Every in-process event handler, by name."""
    return HANDLERS
