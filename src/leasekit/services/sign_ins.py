"""Sessions of the back-office workbench: a person signs in with their user name and one of
their own API tokens, and works on with a session whose secret travels as a cookie.

The session is an extension of the token, not a second kind of credential: it is looked up
with the token on every page, so revoking the token, disabling the user or barring their
partner ends it at once; and the actor it yields names the token, so the audit log reads the
same whichever way a person worked. Only the secret's SHA-256 is stored, as for tokens.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Final

import attrs

from leasekit.domain.identity import Actor, Role, new_id
from leasekit.errors import AuthenticationError, ValidationError
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext
from leasekit.services.storage import SignInSession, hash_secret
from leasekit.services.users import SYSTEM, actor_of

__all__ = [
    "SESSION_PREFIX",
    "SignIn",
    "SignedIn",
    "StartedSession",
    "choose_language",
    "session_actor",
    "sign_in",
    "sign_out",
]

SESSION_PREFIX: Final = "lks_"
TOUCH_EVERY: Final = timedelta(minutes=1)
"""Activity is written at most this often, so that reading a page rarely writes; the idle
expiry is exact to this much."""
_LANGUAGE: Final = re.compile(r"[a-z]{2}(-[A-Za-z0-9]{1,8})?")


@attrs.frozen
class SignIn:
    username: str
    token: str = attrs.field(repr=False)
    language: str


@attrs.frozen
class StartedSession:
    session: SignInSession
    secret: str = attrs.field(repr=False)
    """The cookie's value: it exists only here and in the person's browser."""


@attrs.frozen
class SignedIn:
    """Who a session speaks for, as each page needs it."""

    actor: Actor
    session: SignInSession
    display_name: str


def _check_language(language: str) -> str:
    if not _LANGUAGE.fullmatch(language):
        raise ValidationError.single("language", "a language tag such as en or zh")
    return language


@command("sign_in", subject="user", roles=frozenset(Role))
def _start(work: Work, request: SignIn) -> StartedSession:
    """A session for the owner of the token, if the user name is theirs. Every failure reads
    the same, so probing names or tokens reveals nothing."""
    refused = AuthenticationError("unknown user name or token")
    found = work.uow.tokens.credential(hash_secret(request.token))
    actor = actor_of(found, refused)
    if work.uow.users.get(actor.user_id).username != request.username:
        raise refused
    if actor.role is Role.SYSTEM:
        raise AuthenticationError("automated accounts use the API, not the workbench")
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    session = SignInSession(
        id=new_id(),
        user_id=actor.user_id,
        token_id=str(actor.token_id),
        language=_check_language(request.language),
        created_at=work.at,
        last_seen_at=work.at,
    )
    work.actor = actor
    work.uow.token_id = actor.token_id
    work.uow.sign_ins.add(session, hash_secret(secret))
    work.event("user_signed_in", "user", actor.user_id, {"session_id": session.id})
    return StartedSession(session, secret)


def sign_in(ctx: ServiceContext, request: SignIn) -> StartedSession:
    """:func:`_start` for someone not signed in yet (the sign-in form)."""
    return _start(ctx, SYSTEM, request)


def session_actor(ctx: ServiceContext, secret: str, idle: timedelta) -> SignedIn:
    """The person a session's *secret* speaks for, if it is live: not ended, used within
    *idle*, its token unrevoked and its user active. Records the activity."""
    refused = AuthenticationError("signed out or expired; sign in again")
    with ctx.uow_factory() as uow:
        found = uow.sign_ins.credential(hash_secret(secret))
        if found is None:
            raise refused
        now = ctx.clock.now()
        if found.session.last_seen_at + idle <= now:
            raise refused
        actor = actor_of(found.credential, refused)
        if now - found.session.last_seen_at >= TOUCH_EVERY:
            uow.sign_ins.touch(found.session.id, now)
            uow.commit()
    return SignedIn(actor, found.session, found.display_name)


@command("sign_out", subject="user")
def sign_out(work: Work, session_id: str) -> bool:
    """End the caller's own session; False if it had ended already."""
    ended = work.uow.sign_ins.end(session_id, work.actor.user_id, work.at)
    work.event("user_signed_out", "user", work.actor.user_id, {"session_id": session_id})
    return ended


def choose_language(ctx: ServiceContext, session_id: str, language: str) -> None:
    """The language the session's pages speak from now on: a preference, not a business
    change, so it leaves no audit entry."""
    with ctx.uow_factory() as uow:
        uow.sign_ins.set_language(session_id, _check_language(language))
        uow.commit()
