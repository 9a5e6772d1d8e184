"""Claims: a piece of work locked to one person for a lease.

A reviewer claims an approval task or a payout before working on it, so that two people never
decide the same thing; the claim lasts a lease (set by the service from settings), so that
work is not stuck with someone who went home. Once the lease has run out anyone allowed may
claim it, and the late holder may no longer act on it. The holder renews a claim by claiming
again.

The functions here are the guards and effects of the claim, release and claimed actions of
any lifecycle whose objects have the three fields of :class:`Claimable`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor
from leasekit.domain.lifecycle import Move

__all__ = [
    "Claimable",
    "check_holder",
    "check_live_claim",
    "check_not_taken",
    "leased",
    "lock",
    "refused",
    "unlock",
]


class Claimable(Protocol):
    locked_by: str | None
    locked_at: datetime | None
    lock_expires_at: datetime | None
    """When the claim's lease runs out; None while unclaimed."""


def refused(machine: str, action: str, actor: Actor, why: str) -> ObjectPermissionError:
    return ObjectPermissionError(machine, action, actor.role.value, why)


def leased(work: Claimable, at: datetime) -> bool:
    """Whether a claim on *work* stands at *at*: claimed, and its lease (if set) not run out."""
    if work.locked_by is None:
        return False
    return work.lock_expires_at is None or require_utc(at) < work.lock_expires_at


def check_not_taken(work: Claimable, move: Move, machine: str, what: str) -> None:
    """Someone else's claim that still stands keeps *work* from being claimed."""
    if work.locked_by not in (None, move.actor.user_id) and leased(work, move.at):
        until = "" if work.lock_expires_at is None else f" until {work.lock_expires_at}"
        raise refused(machine, move.transition.action, move.actor, f"{what}{until}")


def check_holder(work: Claimable, move: Move, machine: str, what: str) -> None:
    """Only the holder acts on claimed work; *what* says who else holds it."""
    if work.locked_by != move.actor.user_id:
        raise refused(machine, move.transition.action, move.actor, what)


def check_live_claim(work: Claimable, move: Move, machine: str, what: str) -> None:
    """Acting on claimed work needs a claim that still stands: after its lease someone else
    may hold it."""
    check_holder(work, move, machine, what)
    if not leased(work, move.at):
        raise refused(
            machine, move.transition.action, move.actor,
            f"the claim ran out at {work.lock_expires_at}; claim it again",
        )  # fmt: skip


def lock(work: Claimable, move: Move) -> None:
    """Lock to the claimant; the service sets how long the lease lasts."""
    work.locked_by, work.locked_at = move.actor.user_id, require_utc(move.at)
    work.lock_expires_at = None


def unlock(work: Claimable, move: Move) -> None:
    work.locked_by, work.locked_at, work.lock_expires_at = None, None, None
