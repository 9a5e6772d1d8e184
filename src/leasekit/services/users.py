"""Users and their login tokens.

A token is shown once, when issued, and stored only as its hash (:func:`hash_token`), so a
copy of the database grants no access. Tokens are revoked, never deleted, so the audit log can
still say which one was used.
"""

from __future__ import annotations

import secrets

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.identity import Actor, Role, User, new_id
from leasekit.errors import AuthenticationError, DomainError, ValidationError
from leasekit.services.context import ServiceContext
from leasekit.services.idempotency import Retry
from leasekit.services.partners import load_partner_reference
from leasekit.services.ports import ApiToken, UnitOfWork, hash_token

__all__ = [
    "CreateUser",
    "authenticate",
    "bootstrap_admin",
    "create_user",
    "issue_token",
    "list_users",
]

TOKEN_PREFIX = "lk_"
"""Marks leasekit tokens so secret scanners and people recognise a leaked one."""


@attrs.frozen
class CreateUser:
    username: str
    display_name: str
    role: Role
    partner_id: str | None = None


def create_user(
    ctx: ServiceContext,
    actor: Actor,
    command: CreateUser,
    *,
    idempotency_key: str | None = None,
) -> User:
    """A new active user; usernames are unique, dealer users must name an existing partner."""
    ensure_may_create(actor, "user")
    retry = Retry.of(idempotency_key, "create_user", command)
    with ctx.unit_of_work() as uow:
        earlier = retry.earlier(uow, actor)
        if earlier is not None:
            return uow.users.get(earlier)
        user = User.create(
            username=command.username,
            display_name=command.display_name,
            role=command.role,
            partner_id=command.partner_id,
            at=ctx.clock.now(),
        )
        if uow.users.find_by_username(user.username) is not None:
            raise ValidationError.single("username", f"{user.username!r} is already taken")
        if user.partner_id is not None:
            load_partner_reference(uow, actor, user.partner_id)
        _add_user(ctx, uow, actor, user)
        retry.remember(uow, actor, "user", user.id, user.created_at)
        uow.commit()
    return user


def list_users(ctx: ServiceContext, actor: Actor) -> list[User]:
    ensure_may_create(actor, "user")
    with ctx.uow_factory() as uow:
        return uow.users.all()


def bootstrap_admin(ctx: ServiceContext, username: str, display_name: str) -> tuple[User, str]:
    """The first administrator and a login token for it.

    Only an admin may create users, so a new installation needs one made another way; this
    is it, and it is refused as soon as any user exists, so it cannot be used to take over.
    """
    with ctx.unit_of_work() as uow:
        if uow.users.all():
            raise DomainError("users exist already; an administrator creates further users")
        user = User.create(
            username=username, display_name=display_name, role=Role.ADMIN, at=ctx.clock.now()
        )
        system = Actor.system()
        _add_user(ctx, uow, system, user)
        token = _add_token(ctx, uow, system, user)
        uow.commit()
    return user, token


def issue_token(ctx: ServiceContext, actor: Actor, user_id: str) -> str:
    """A new login token for *user_id*: the only time its text exists outside the caller."""
    if actor.user_id != user_id:
        ensure_may_create(actor, "user")
    with ctx.unit_of_work() as uow:
        token = _add_token(ctx, uow, actor, uow.users.get(user_id))
        uow.commit()
    return token


def _add_user(ctx: ServiceContext, uow: UnitOfWork, actor: Actor, user: User) -> None:
    uow.users.add(user)
    uow.record(ctx.event(actor, "user_created", "user", user.id, {"role": user.role.value}))


def _add_token(ctx: ServiceContext, uow: UnitOfWork, actor: Actor, user: User) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    uow.tokens.add(
        ApiToken(
            id=new_id(), user_id=user.id, token_hash=hash_token(token), created_at=ctx.clock.now()
        )
    )
    uow.record(ctx.event(actor, "token_issued", "user", user.id, {}))
    return token


def authenticate(ctx: ServiceContext, token: str) -> Actor:
    """The actor behind *token*; one error for every failure, so probing reveals nothing."""
    with ctx.uow_factory() as uow:
        stored = uow.tokens.find_by_hash(hash_token(token))
        user = uow.users.get(stored.user_id) if stored is not None and stored.active else None
    if user is None or not user.active:
        raise AuthenticationError("invalid or revoked token")
    return user.actor()
