"""Moves the workflow makes on its own: an application following its contract, a contract
following its payout. They are made as the ``system`` account, whoever's command led to them,
so that no person holds the right to make them by hand."""

from __future__ import annotations

from typing import Any, Final

from leasekit.domain.identity import Actor
from leasekit.domain.lifecycle import Stateful
from leasekit.services.commands import Work
from leasekit.services.storage import Repository

__all__ = ["WORKFLOW", "move_along"]

WORKFLOW: Final = Actor.system()


def move_along(
    work: Work,
    subject: Stateful,
    repository: Repository[Any],
    action: str,
    reason: str | None = None,
    **params: str,
) -> None:
    """Move *subject* by *action* as the workflow, store it and record the move."""
    moved = subject.apply(
        action, WORKFLOW, at=work.at, business_date=work.business_date, reason=reason,
        partner=None, **params,
    )  # fmt: skip
    repository.update(subject)
    work.record(moved)
