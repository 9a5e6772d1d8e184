"""Who acts: roles, the actor behind every command, and the users that log in.

Permissions hang off roles, never off individual users, so that the lifecycle tables in
:mod:`leasekit.domain.lifecycle` can say in one place who may do what. Dealer users are the
one role tied to an organisation: they carry the id of their partner, and object-level checks
(:mod:`leasekit.domain.access`) confine them to that partner's objects.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Final

import attrs

from leasekit.domain.clock import require_utc
from leasekit.errors import FieldError, ValidationError

__all__ = [
    "BACK_OFFICE",
    "BOOKKEEPERS",
    "ORIGINATORS",
    "REVIEWERS",
    "SENIOR_REVIEWERS",
    "Actor",
    "Role",
    "User",
    "new_id",
]


def new_id() -> str:
    """A fresh entity id: a random UUID as 32 hex digits, unguessable and URL-safe."""
    return uuid.uuid4().hex


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


def _role_errors(role: Role, partner_id: str | None) -> list[FieldError]:
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

    def __attrs_post_init__(self) -> None:
        errors = _role_errors(self.role, self.partner_id)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The actor for automated work (batches, rules, adapter callbacks)."""
        return cls(name, Role.SYSTEM)

    @property
    def is_dealer(self) -> bool:
        return self.role is Role.DEALER_USER


_USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


@attrs.define
class User:
    """Someone who logs in. Tokens live in the store; a user only says who and in what role."""

    id: str
    username: str
    display_name: str
    role: Role = attrs.field(converter=Role)
    partner_id: str | None
    active: bool
    created_at: datetime
    version: int = 0

    @classmethod
    def create(
        cls,
        *,
        username: str,
        display_name: str,
        role: Role | str,
        at: datetime,
        partner_id: str | None = None,
    ) -> User:
        """A new active user; usernames are lower-case so that logins are not case puzzles."""
        errors: list[FieldError] = []
        try:
            role = Role(role)
        except ValueError:
            allowed = ", ".join(Role)
            raise ValidationError.single("role", f"{role!r} is not one of {allowed}") from None
        if not _USERNAME.fullmatch(username):
            errors.append(
                FieldError(
                    "username",
                    "2-64 characters: lower-case letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit",
                )
            )
        if not display_name.strip():
            errors.append(FieldError("display_name", "must not be blank"))
        errors.extend(_role_errors(role, partner_id))
        if errors:
            raise ValidationError(errors)
        return cls(
            id=new_id(),
            username=username,
            display_name=display_name.strip(),
            role=role,
            partner_id=partner_id,
            active=True,
            created_at=require_utc(at),
        )

    def actor(self) -> Actor:
        """The actor this user acts as once authenticated."""
        return Actor(self.id, self.role, self.partner_id)
