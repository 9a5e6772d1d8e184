"""Every feature's commands and event handlers, loaded together.

Commands and handlers register themselves when their module is imported; the composition
root, the HTTP server, the command line and the invariant tests import this module to be
sure every one of them is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leasekit.services import (  # noqa: F401 - imported for the commands they register
    applications,
    customers,
    documents,
    partners,
    users,
    vehicles,
)
from leasekit.services.commands import COMMANDS, Command
from leasekit.services.events import HANDLERS, Handler

__all__ = ["commands", "handlers"]


def commands() -> Mapping[str, Command[Any, Any]]:
    """Every command, by name."""
    return COMMANDS


def handlers() -> Mapping[str, Handler]:
    """Every in-process event handler, by name."""
    return HANDLERS
