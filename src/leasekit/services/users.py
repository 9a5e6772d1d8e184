"""Users and their credentials, arranged so that nobody can act as somebody else.

- Administrators create users, disable and enable them, and revoke tokens; they never hold a
  credential that works as another user. There is no way to issue a token for someone else.
- A new user gets a **one-time enrolment secret** by e-mail, through the notifier: it is
  derived from the installation's secret key and the enrolment's id when the message is sent
  (:func:`send_enrolment`, an event handler), so it is stored nowhere in clear, neither in the
  database nor in the outbox, and never shown to the administrator. The user exchanges it for
  a first token (:func:`redeem_enrolment`), then manages its own tokens.
- On the server machine, the operator may enrol a user without e-mail
  (:func:`enrol_locally`, ``leasekit users enrol``), create the first administrator and
  ``system`` accounts: whoever runs commands there holds the database anyway.
- Disabling a user revokes every token at once; every audit entry names the token used.

Tokens and secrets are stored only as hashes (:func:`~leasekit.services.storage.hash_secret`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Final

import attrs

from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.partners import admits_users
from leasekit.domain.users import USER_LIFECYCLE, User, UserAction, UserState
from leasekit.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    NotFoundError,
    PartnerBarredError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.ports import Message
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext
from leasekit.services.events import handles
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import lister
from leasekit.services.storage import (
    ApiToken,
    Credential,
    Enrolment,
    UnitOfWork,
    hash_secret,
)

__all__ = [
    "ENROLMENT_LIFETIME",
    "TOKEN_PREFIX",
    "CreateUser",
    "IssuedToken",
    "NewToken",
    "Redemption",
    "UserQuery",
    "actor_of",
    "authenticate",
    "bootstrap_admin",
    "create_system_account",
    "create_user",
    "enrol",
    "enrol_locally",
    "get_token",
    "get_user",
    "issue_enrolment",
    "issue_token",
    "list_tokens",
    "list_users",
    "redeem_enrolment",
    "revoke_token",
    "send_enrolment",
    "transition_user",
]

TOKEN_PREFIX: Final = "lk_"
"""Marks leasekit tokens so secret scanners and people recognise a leaked one."""
ENROLMENT_PREFIX: Final = "lke_"
ENROLMENT_LIFETIME: Final = timedelta(days=7)
_ADMINS: Final = frozenset({Role.ADMIN})
_SERVER: Final = frozenset({Role.SYSTEM})
"""Commands only the server machine's own command line runs (as the system account)."""
SYSTEM: Final = Actor("system", Role.SYSTEM)


@attrs.frozen
class CreateUser:
    username: str
    display_name: str
    role: Role
    partner_id: str | None = None
    email: str | None = attrs.field(
        default=None,
        metadata={"description": "Where the enrolment secret is sent; without one, the user "
                  "is enrolled with `leasekit users enrol` on the server."},
    )  # fmt: skip


@attrs.frozen
class UserQuery:
    """Which users to list."""

    role: Role | None = None
    state: UserState | None = None
    partner_id: str | None = None


@attrs.frozen
class NewToken:
    """A token a user issues for itself; the label says where it is used."""

    label: str | None = attrs.field(
        default=None, metadata={"description": 'Where the token is used ("laptop", "CI").'}
    )


@attrs.frozen
class IssuedToken:
    """A new API token. Store it now: it is never shown again."""

    id: str
    token: str = attrs.field(
        metadata={"description": "Send it as the header Authorization: Bearer <token>."}
    )


@attrs.frozen
class Redemption:
    """An enrolment secret exchanged for a first token."""

    secret: str
    label: str | None = None


def _load_user(uow: UnitOfWork, user_id: str) -> User:
    return uow.users.get(user_id)


def _new_user(work: Work, request: CreateUser) -> User:
    if request.role is Role.SYSTEM:
        raise ValidationError.single(
            "role", "system accounts are created on the server: leasekit users create-system"
        )
    user = User.create(
        username=request.username,
        display_name=request.display_name,
        role=request.role,
        partner_id=request.partner_id,
        email=request.email,
        at=work.at,
    )
    if work.uow.users.find_by_username(user.username) is not None:
        raise ValidationError.single("username", f"{user.username!r} is already taken")
    if user.partner_id is not None:
        load_partner_reference(work.uow, work.actor, user.partner_id)
    work.uow.users.add(user)
    return user


def _enrolment(work: Work, user: User) -> Enrolment:
    """A new enrolment for *user*, replacing any unused one; only its hash is stored."""
    work.uow.enrolments.withdraw_open(user.id, work.at)
    enrolment = Enrolment(
        id=new_id(),
        user_id=user.id,
        created_by=work.actor.user_id,
        created_at=work.at,
        expires_at=work.at + ENROLMENT_LIFETIME,
    )
    work.uow.enrolments.add(enrolment, hash_secret(enrolment_secret(work.ctx, enrolment.id)))
    return enrolment


def enrolment_secret(ctx: ServiceContext, enrolment_id: str) -> str:
    """The secret of one enrolment, derived again whenever it is needed and never stored."""
    if not ctx.secret_key:
        raise DomainError("the installation has no secret key; set LEASEKIT_SECRET_KEY")
    digest = hmac.new(ctx.secret_key, f"enrolment:{enrolment_id}".encode(), hashlib.sha256)
    return ENROLMENT_PREFIX + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


@command("create_user", subject="user", creates="user", reload=_load_user)
def create_user(work: Work, request: CreateUser) -> User:
    """Create a user.

    Administrators only. The user is active, with no credential yet; usernames are unique. A
    dealer user names its partner in ``partner_id``; other roles must not. With an ``email``,
    the user is sent a one-time enrolment secret through the notifier, which it exchanges at
    ``POST /enrolments``; the administrator never sees it. ``system`` accounts are made on the
    server only (``leasekit users create-system``).
    """
    user = _new_user(work, request)
    payload: dict[str, str | None] = {"role": user.role.value, "enrolment_id": None}
    if user.email is not None:
        payload["enrolment_id"] = _enrolment(work, user).id
        payload["channel"] = "email"
    work.event("user_created", "user", user.id, payload)
    return user


@command("issue_enrolment", subject="user", roles=_ADMINS, reload=_load_user)
def issue_enrolment(work: Work, user_id: str) -> User:
    """Send the user a new enrolment secret (the earlier one stops working): a lost e-mail,
    or a user whose tokens were all revoked."""
    user = work.uow.users.get(user_id)
    if user.email is None:
        raise ValidationError.single(
            "email", "the user has no e-mail address; enrol it with leasekit users enrol"
        )
    if not user.active:
        raise DomainError(f"user {user.username!r} is disabled; enable it first")
    enrolment = _enrolment(work, user)
    work.event(
        "user_enrolment_issued",
        "user",
        user.id,
        {"enrolment_id": enrolment.id, "channel": "email"},
    )
    return user


@handles("user_created", "user_enrolment_issued", name="identity.send_enrolment")
def send_enrolment(work: Work, event: DomainEvent) -> None:
    """E-mail the enrolment secret to the user, through the notifier; the message's
    idempotency key is the enrolment's, so a repeat delivery sends nothing twice."""
    enrolment_id = event.payload.get("enrolment_id")
    if event.payload.get("channel") != "email" or not isinstance(enrolment_id, str):
        return
    user = work.uow.users.get(event.subject_id)
    if user.email is None:
        return
    secret = enrolment_secret(work.ctx, enrolment_id)
    work.ctx.adapters.notifier.send(
        Message(
            recipient=user.email,
            subject="Your leasekit enrolment",
            body=(
                f"Hello {user.display_name},\n\n"
                f"exchange this one-time secret for your API token within "
                f"{ENROLMENT_LIFETIME.days} days (POST /enrolments):\n\n{secret}\n"
            ),
            idempotency_key=f"enrolment:{enrolment_id}",
        )
    )


def _token(work: Work, user: User, label: str | None) -> IssuedToken:
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(id=new_id(), user_id=user.id, label=label, created_at=work.at)
    work.uow.tokens.add(token, hash_secret(text))
    return IssuedToken(token.id, text)


def _check_label(label: str | None) -> str | None:
    if label is not None and not 1 <= len(label.strip()) <= 100:
        raise ValidationError.single("label", "1 to 100 characters")
    return None if label is None else label.strip()


@command("redeem_enrolment", subject="user", roles=frozenset(Role))
def redeem_enrolment(work: Work, request: Redemption) -> IssuedToken:
    """A first token for the user the secret was issued to: once, before it expires, while
    the user is active. Every failure reads the same, so probing reveals nothing."""
    label = _check_label(request.label)
    enrolment = work.uow.enrolments.find_by_hash(hash_secret(request.secret))
    refused = AuthenticationError("invalid, used or expired enrolment secret")
    if enrolment is None or enrolment.used_at is not None or enrolment.expires_at <= work.at:
        raise refused
    user = work.uow.users.get(enrolment.user_id)
    if not user.active or not work.uow.enrolments.use(enrolment.id, work.at):
        raise refused
    issued = _token(work, user, label)
    work.actor = user.actor(issued.id)
    work.uow.token_id = issued.id
    work.event("user_enrolled", "user", user.id, {"token_id": issued.id})
    return issued


def enrol(ctx: ServiceContext, secret: str, label: str | None = None) -> IssuedToken:
    """:func:`redeem_enrolment` for someone with no credential yet (the public endpoint)."""
    return redeem_enrolment(ctx, SYSTEM, Redemption(secret, label))


@command("issue_token", subject="api_token")
def issue_token(work: Work, request: NewToken) -> IssuedToken:
    """A new token for the caller itself: the only time its text exists outside the caller.
    No one issues tokens for anyone else."""
    user = work.uow.users.get(work.actor.user_id)
    issued = _token(work, user, _check_label(request.label))
    work.event("token_issued", "user", user.id, {"token_id": issued.id})
    return issued


@command("revoke_token", subject="api_token", reload=lambda uow, tid: uow.tokens.get(tid))
def revoke_token(work: Work, token_id: str) -> ApiToken:
    """Revoke one token: the caller's own, or anyone's for an administrator. It fails on the
    very next request; revoking twice is a conflict."""
    try:
        token = work.uow.tokens.get(token_id)
    except NotFoundError:
        raise NotFoundError("api token", token_id) from None
    if token.user_id != work.actor.user_id and work.actor.role is not Role.ADMIN:
        raise NotFoundError("api token", token_id)
    if not work.uow.tokens.revoke(token_id, work.at):
        raise ConflictError(f"api token {token_id!r} was revoked already")
    work.event("token_revoked", "user", token.user_id, {"token_id": token_id})
    return attrs.evolve(token, revoked_at=work.at)


def _revoke_all(work: Work, user: User) -> None:
    work.uow.tokens.revoke_all(user.id, work.at)


transition_user = transition_command(
    "user", USER_LIFECYCLE, lambda uow: uow.users, after={UserAction.DISABLE: _revoke_all}
)
"""``disable`` (revoking every token at once) and ``enable``: administrators only."""


def _admins_only(actor: Actor, query: UserQuery) -> UserQuery:
    _require_admin(actor, "list")
    return query


list_users = lister(
    "list_users",
    UserQuery,
    lambda uow: uow.users,
    _admins_only,
    """List users.

    Administrators only.""",
)


def get_user(ctx: ServiceContext, actor: Actor, user_id: str) -> User:
    """Get a user.

    One's own record, or anyone's for an administrator."""
    if actor.user_id != user_id:
        _require_admin(actor, "read")
    with ctx.uow_factory() as uow:
        return uow.users.get(user_id)


def get_token(ctx: ServiceContext, actor: Actor, token_id: str) -> ApiToken:
    """Get a token's record.

    Never its text. One's own token, or anyone's for an administrator; anybody else's reads
    as missing."""
    with ctx.uow_factory() as uow:
        token = uow.tokens.get(token_id)
    if token.user_id != actor.user_id and actor.role is not Role.ADMIN:
        raise NotFoundError("api token", token_id)
    return token


def list_tokens(ctx: ServiceContext, actor: Actor, user_id: str) -> list[ApiToken]:
    """A user's tokens (never their text): one's own, or anyone's for an administrator."""
    if actor.user_id != user_id:
        _require_admin(actor, "read")
    with ctx.uow_factory() as uow:
        uow.users.get(user_id)
        return uow.tokens.list_for_user(user_id)


def _require_admin(actor: Actor, action: str) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDeniedError("user", action, actor.role.value)


def authenticate(ctx: ServiceContext, token: str) -> Actor:
    """The actor behind *token*, in one query; one error for every failure (unknown, revoked,
    user disabled), so probing reveals nothing. A live token of a user whose partner bars its
    users (blacklisted, rejected) is refused as such: the holder is known, and learns why."""
    with ctx.uow_factory() as uow:
        found = uow.tokens.credential(hash_secret(token))
    return actor_of(found, AuthenticationError("invalid or revoked token"))


def actor_of(found: Credential | None, refused: AuthenticationError) -> Actor:
    """The actor a credential speaks for; *refused* when there is none or its user is not
    active, and PartnerBarredError when the user's partner bars its users."""
    if found is None or found.user_state != UserState.ACTIVE:
        raise refused
    if found.partner_state is not None and not admits_users(found.partner_state):
        raise PartnerBarredError(found.partner_state)
    return Actor(found.user_id, Role(found.role), found.partner_id, found.token_id)


# --- on the server machine only ---------------------------------------------------------


@attrs.frozen
class _Account:
    username: str
    display_name: str
    role: Role


@command("create_account", subject="user", roles=_SERVER)
def _create_account(work: Work, request: _Account) -> tuple[User, IssuedToken]:
    if request.role is Role.ADMIN and work.uow.users.any():
        raise DomainError("users exist already; an administrator creates further users")
    user = User.create(
        username=request.username,
        display_name=request.display_name,
        role=request.role,
        at=work.at,
    )
    work.uow.users.add(user)
    issued = _token(work, user, "created on the server")
    work.event("user_created", "user", user.id, {"role": user.role.value, "token_id": issued.id})
    return user, issued


def bootstrap_admin(ctx: ServiceContext, username: str, display_name: str) -> tuple[User, str]:
    """The first administrator and a token for it, refused once any user exists, so that it
    cannot be used to take over."""
    user, issued = _create_account(ctx, SYSTEM, _Account(username, display_name, Role.ADMIN))
    return user, issued.token


def create_system_account(
    ctx: ServiceContext, username: str, display_name: str
) -> tuple[User, str]:
    """An account for automated work (a bank's callback, a batch scheduler) and its token."""
    user, issued = _create_account(ctx, SYSTEM, _Account(username, display_name, Role.SYSTEM))
    return user, issued.token


@command("enrol_locally", subject="user", roles=_SERVER)
def _enrol_locally(work: Work, username: str) -> tuple[User, str]:
    user = work.uow.users.find_by_username(username)
    if user is None:
        raise NotFoundError("user", username)
    enrolment = _enrolment(work, user)
    work.event(
        "user_enrolment_issued",
        "user",
        user.id,
        {"enrolment_id": enrolment.id, "channel": "server"},
    )
    return user, enrolment_secret(work.ctx, enrolment.id)


def enrol_locally(ctx: ServiceContext, username: str) -> str:
    """An enrolment secret for *username*, printed on the server for the operator to hand
    over (a user without e-mail); the earlier one stops working."""
    return _enrol_locally(ctx, SYSTEM, username)[1]
