"""Users: the people (and system accounts) that log in, and their lifecycle.

A user says who someone is and in what role; credentials (API tokens, enrolment secrets) live
in the store. Administrators create, disable and enable users and revoke their tokens, but
never hold a credential that works as anyone else: a user's first token comes from a one-time
enrolment secret sent to the user, never to the administrator (:mod:`leasekit.services.users`).
Disabling is a move of :data:`USER_LIFECYCLE`, so it is audited like any other, with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor, Role, new_id, role_errors
from leasekit.domain.lifecycle import Guard, Move, Stateful, StateMachine, row
from leasekit.errors import FieldError, ValidationError

__all__ = ["USER_LIFECYCLE", "User", "UserAction", "UserState", "check_email"]

_USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}")
MAX_DISPLAY_NAME: Final = 100


class UserState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class UserAction(StrEnum):
    DISABLE = "disable"
    ENABLE = "enable"


USER_LIFECYCLE: Final = StateMachine(
    "user",
    UserState.ACTIVE,
    (
        # Someone left, or a credential leaked: every token stops working at once.
        row(UserAction.DISABLE, [UserState.ACTIVE], UserState.DISABLED, [Role.ADMIN],
            "user_disabled", True),
        row(UserAction.ENABLE, [UserState.DISABLED], UserState.ACTIVE, [Role.ADMIN],
            "user_enabled"),
    ),
    final=frozenset(),
    actions_enum=UserAction,
)  # fmt: skip


def check_email(value: str, field: str = "email") -> str:
    """An address to send a user's enrolment secret to; only its shape is checked."""
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValidationError.single(field, "not an e-mail address")
    return value


def _not_yourself(user: User, move: Move) -> None:
    """An administrator who disables their own account locks everyone out of user work."""
    if user.id == move.actor.user_id:
        raise ObjectPermissionError("user", "disable", move.actor.role.value, "it is your own")


@attrs.define
class User(Stateful):
    """Someone who logs in, in one role; dealer users belong to their partner."""

    id: str
    username: str
    display_name: str
    role: Role = attrs.field(converter=Role)
    partner_id: str | None
    state: UserState = attrs.field(converter=UserState)
    email: str | None
    """Where the enrolment secret goes; a user without one enrols through the server's CLI."""
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[UserState]] = USER_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("role",)
    guards: ClassVar[Mapping[str, Guard]] = {UserAction.DISABLE: _not_yourself}

    @classmethod
    def create(
        cls,
        *,
        username: str,
        display_name: str,
        role: Role | str,
        at: datetime,
        partner_id: str | None = None,
        email: str | None = None,
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
        elif len(display_name.strip()) > MAX_DISPLAY_NAME:
            errors.append(FieldError("display_name", f"at most {MAX_DISPLAY_NAME} characters"))
        if email is not None:
            try:
                check_email(email)
            except ValidationError as exc:
                errors.extend(exc.errors)
        errors.extend(role_errors(role, partner_id))
        if errors:
            raise ValidationError(errors)
        return cls(
            id=new_id(),
            username=username,
            display_name=display_name.strip(),
            role=role,
            partner_id=partner_id,
            state=UserState.ACTIVE,
            email=email,
            created_at=require_utc(at),
        )

    @property
    def active(self) -> bool:
        return self.state is UserState.ACTIVE

    def actor(self, token_id: str | None = None) -> Actor:
        """The actor this user acts as once authenticated (with *token_id*, if by a token)."""
        return Actor(self.id, self.role, self.partner_id, token_id)
