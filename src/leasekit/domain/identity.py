"""Who acts: roles, and the actor behind every command (users are in :mod:`.users`).

Permissions hang off roles, never off individual users, so that the lifecycle tables in
:mod:`leasekit.domain.lifecycle` can say in one place who may do what. Dealer users are the
one role tied to an organisation: they carry the id of their partner, and object-level checks
(:mod:`leasekit.domain.access`) confine them to that partner's objects.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from enum import StrEnum
from typing import Final

import attrs

from leasekit.errors import FieldError, ValidationError

__all__ = [
    "BACK_OFFICE",
    "BOOKKEEPERS",
    "ORIGINATORS",
    "REVIEWERS",
    "SENIOR_REVIEWERS",
    "Actor",
    "Role",
    "new_id",
    "role_errors",
]


_RANDOM_BYTES: Final = 10
_BUFFERED_IDS: Final = 256


class _IdClock:
    """The last id's millisecond and random part, so that ids made in one process never go
    backwards, even several in one millisecond or across a clock step back.

    The random parts are read from the operating system's generator for many ids at once
    (one system call per :data:`_BUFFERED_IDS`, which a bulk run would otherwise spend most
    of an id's cost on); a forked child starts with a fresh buffer, so no two processes share
    one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (0, 0)
        self._random = b""
        os.register_at_fork(after_in_child=self._forget_random)

    def _forget_random(self) -> None:
        self._random = b""

    def _draw(self) -> int:
        """Random bits for one id; called with the lock held."""
        if not self._random:
            self._random = secrets.token_bytes(_RANDOM_BYTES * _BUFFERED_IDS)
        drawn, self._random = self._random[:_RANDOM_BYTES], self._random[_RANDOM_BYTES:]
        return int.from_bytes(drawn)

    def next(self) -> tuple[int, int]:
        now = time.time_ns() // 1_000_000
        with self._lock:
            rand = self._draw()
            last_ms, last_rand = self._last
            if now <= last_ms:
                # The random part counts on from the last one by a random step, so the
                # ids stay unguessable yet ordered.
                now, rand = last_ms, last_rand + 1 + (rand >> 48)
                if rand >= 1 << 80:
                    now, rand = last_ms + 1, rand - (1 << 80)
            self._last = (now, rand)
            return now, rand


_ID_CLOCK: Final = _IdClock()


def new_id() -> str:
    """A fresh entity id: 32 hex digits, the millisecond it was made followed by 80 random
    bits (the layout of a UUIDv7). Unguessable and URL-safe like a random UUID, and in
    creation order, so lists page by id and new rows land at the end of an index."""
    millisecond, rand = _ID_CLOCK.next()
    return f"{millisecond:012x}{rand:020x}"


class Role(StrEnum):
    """What a user does in the company; each lifecycle transition lists the roles allowed."""

    OFFICER = "officer"
    """Credit officer: first-tier review of applications, prepares contracts."""
    MANAGER = "manager"
    """Credit manager: second-tier review, supervises officers, manages partners."""
    DIRECTOR = "director"
    """Risk director: top-tier review, blacklisting, partner exits."""
    FINANCE = "finance"
    """Finance staff: disbursements, payments, executing approved exceptions."""
    POST_LOAN_SUPERVISOR = "post_loan_supervisor"
    """Post-loan supervisor: collections, terminations, first approval of exceptions."""
    FINANCE_DIRECTOR = "finance_director"
    """Finance director: final approval of exceptions, write-offs."""
    DEALER_USER = "dealer_user"
    """A partner's (dealer's) employee: originates applications for its own partner only."""
    ADMIN = "admin"
    """Administers users and settings; makes no business decisions (separation of duties)."""
    SYSTEM = "system"
    """Automated work: rules, callbacks from adapters, end-of-day batches."""


BACK_OFFICE: Final = frozenset(Role) - {Role.DEALER_USER}
"""The company's own roles; they see every object, whichever partner it belongs to."""

# Role groups the lifecycle tables share.
ORIGINATORS: Final = frozenset({Role.DEALER_USER, Role.OFFICER})
"""Who brings business in: a dealer's staff, or an officer on a partner's behalf."""
REVIEWERS: Final = frozenset({Role.OFFICER, Role.MANAGER, Role.DIRECTOR})
SENIOR_REVIEWERS: Final = frozenset({Role.MANAGER, Role.DIRECTOR})
BOOKKEEPERS: Final = frozenset({Role.FINANCE, Role.SYSTEM})
"""Who books what the money did: finance staff, or the system reading the bank's files."""


def role_errors(role: Role, partner_id: str | None) -> list[FieldError]:
    """Dealer users must belong to a partner; nobody else may, so a stray id grants nothing."""
    if role is Role.DEALER_USER and not partner_id:
        return [FieldError("partner_id", "a dealer user must belong to a partner")]
    if role is not Role.DEALER_USER and partner_id is not None:
        return [FieldError("partner_id", f"only dealer users belong to a partner, not {role}")]
    return []


@attrs.frozen
class Actor:
    """The authenticated party behind one command, as the audit log records it."""

    user_id: str
    role: Role = attrs.field(converter=Role)
    partner_id: str | None = None
    token_id: str | None = attrs.field(default=None, eq=False)
    """The API token the request came with, so the audit log can say which credential acted;
    None for work the server does itself."""

    def __attrs_post_init__(self) -> None:
        errors = role_errors(self.role, self.partner_id)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The actor for automated work (batches, rules, adapter callbacks)."""
        return cls(name, Role.SYSTEM)

    @property
    def is_dealer(self) -> bool:
        return self.role is Role.DEALER_USER
