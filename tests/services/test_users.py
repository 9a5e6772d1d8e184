"""Users and credentials: nobody, administrators included, can act as somebody else."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from leasekit.domain.clock import FixedClock
from leasekit.domain.identity import Actor, Role
from leasekit.domain.users import UserState
from leasekit.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.services import users
from leasekit.services.context import ServiceContext
from leasekit.services.events import handler_subscribers
from leasekit.services.storage import hash_secret
from leasekit.store.outbox import OutboxRelay
from leasekit.testing.fakes import Fakes


def deliver(engine: Engine, ctx: ServiceContext) -> None:
    """What the background worker does: run the in-process handlers on committed events."""
    relay = OutboxRelay(engine, handler_subscribers(ctx))
    while relay.run_pass():
        pass


def token_of(ctx: ServiceContext, actor: Actor, label: str = "test") -> str:
    return users.issue_token(ctx, actor, users.NewToken(label)).token


def test_bootstrap_admin_works_once_on_an_empty_installation(ctx: ServiceContext) -> None:
    user, token = users.bootstrap_admin(ctx, "root", "Root")
    actor = users.authenticate(ctx, token)
    assert actor == Actor(user.id, Role.ADMIN)
    assert actor.token_id is not None
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("user", user.id)
    assert [(entry.action, entry.actor_id) for entry in trail] == [("user_created", "system")]
    with pytest.raises(DomainError, match="users exist already"):
        users.bootstrap_admin(ctx, "intruder", "Intruder")
    assert [u["username"] for u in users.list_users(ctx, user.actor()).items] == ["root", "system"]


def test_tokens_are_stored_only_as_hashes(
    ctx: ServiceContext, admin: Actor, engine: Engine
) -> None:
    token = token_of(ctx, admin)
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT token_hash FROM api_tokens").scalars().all()
    assert token not in stored
    assert hash_secret(token) in stored


@pytest.mark.parametrize("token", ["", "lk_wrong", "x" * 500])
def test_unknown_tokens_do_not_authenticate(ctx: ServiceContext, admin: Actor, token: str) -> None:
    with pytest.raises(AuthenticationError):
        users.authenticate(ctx, token)


def test_a_revoked_token_fails_at_once_and_revoking_twice_is_a_conflict(
    ctx: ServiceContext, officer: Actor
) -> None:
    issued = users.issue_token(ctx, officer, users.NewToken("laptop"))
    assert users.authenticate(ctx, issued.token) == officer
    users.revoke_token(ctx, officer, issued.id)
    with pytest.raises(AuthenticationError):
        users.authenticate(ctx, issued.token)
    with pytest.raises(ConflictError, match="revoked already"):
        users.revoke_token(ctx, officer, issued.id)


def test_only_the_owner_or_an_admin_revokes_a_token(
    ctx: ServiceContext, admin: Actor, officer: Actor, manager: Actor
) -> None:
    issued = users.issue_token(ctx, officer, users.NewToken("laptop"))
    with pytest.raises(NotFoundError):
        users.revoke_token(ctx, manager, issued.id)
    users.revoke_token(ctx, admin, issued.id)
    [listed] = users.list_tokens(ctx, officer, officer.user_id)
    assert (listed.id, listed.label, listed.active) == (issued.id, "laptop", False)


def test_a_user_issues_tokens_for_itself_and_nobody_for_anyone_else(
    ctx: ServiceContext, admin: Actor, officer: Actor
) -> None:
    """There is no operation that makes a token for another user: the token made belongs to
    whoever asked, administrators included."""
    token = token_of(ctx, admin)
    assert users.authenticate(ctx, token).user_id == admin.user_id
    assert users.authenticate(ctx, token_of(ctx, officer)).user_id == officer.user_id
    with pytest.raises(PermissionDeniedError):
        users.list_tokens(ctx, officer, admin.user_id)


def test_disabling_a_user_revokes_every_token_at_once(
    ctx: ServiceContext, admin: Actor, officer: Actor
) -> None:
    tokens = [token_of(ctx, officer, "laptop"), token_of(ctx, officer, "phone")]
    with pytest.raises(ValidationError, match="reason"):
        users.transition_user(ctx, admin, officer.user_id, "disable")
    disabled = users.transition_user(ctx, admin, officer.user_id, "disable", "left the company")
    assert disabled.state is UserState.DISABLED
    for token in tokens:
        with pytest.raises(AuthenticationError):
            users.authenticate(ctx, token)
    enabled = users.transition_user(ctx, admin, officer.user_id, "enable")
    assert enabled.state is UserState.ACTIVE
    for token in tokens:
        with pytest.raises(AuthenticationError, match="revoked"):
            users.authenticate(ctx, token)


def test_only_admins_disable_and_never_themselves(
    ctx: ServiceContext, admin: Actor, officer: Actor, manager: Actor
) -> None:
    with pytest.raises(PermissionDeniedError):
        users.transition_user(ctx, manager, officer.user_id, "disable", "x")
    with pytest.raises(PermissionDeniedError, match="your own"):
        users.transition_user(ctx, admin, admin.user_id, "disable", "oops")
    with pytest.raises(IllegalTransitionError):
        users.transition_user(ctx, admin, officer.user_id, "enable")


def test_only_admins_create_users_and_usernames_are_unique(
    ctx: ServiceContext, admin: Actor, officer: Actor
) -> None:
    with pytest.raises(PermissionDeniedError):
        users.create_user(ctx, officer, users.CreateUser("eve", "Eve", Role.DIRECTOR))
    with pytest.raises(ValidationError, match="username") as caught:
        users.create_user(ctx, admin, users.CreateUser("officer", "Again", Role.OFFICER))
    assert [e.field for e in caught.value.errors] == ["username"]


def test_system_accounts_are_made_on_the_server_only(ctx: ServiceContext, admin: Actor) -> None:
    with pytest.raises(ValidationError, match="leasekit users create-system") as caught:
        users.create_user(ctx, admin, users.CreateUser("robot", "Robot", Role.SYSTEM))
    assert [e.field for e in caught.value.errors] == ["role"]
    user, token = users.create_system_account(ctx, "bank-callback", "Bank callback")
    assert users.authenticate(ctx, token) == Actor(user.id, Role.SYSTEM)


def test_dealer_user_needs_an_existing_partner(ctx: ServiceContext, admin: Actor) -> None:
    with pytest.raises(ValidationError) as caught:
        users.create_user(ctx, admin, users.CreateUser("dee", "Dee", Role.DEALER_USER, "nope"))
    assert [e.field for e in caught.value.errors] == ["partner_id"]
    assert [u["username"] for u in users.list_users(ctx, admin).items] == ["admin", "system"]


def test_listing_users_is_for_admins_and_a_read(
    ctx: ServiceContext, admin: Actor, officer: Actor, deliveries: list[int]
) -> None:
    before = len(deliveries)
    assert [u["id"] for u in users.list_users(ctx, admin).items] == [
        admin.user_id,
        officer.user_id,
        "system",
    ]
    assert len(deliveries) == before
    with pytest.raises(PermissionDeniedError):
        users.list_users(ctx, officer)


# --- enrolment -------------------------------------------------------------------------------


def create_with_email(ctx: ServiceContext, admin: Actor, engine: Engine, fakes: Fakes) -> str:
    """A new officer with an e-mail; the secret that reached its inbox."""
    users.create_user(
        ctx, admin, users.CreateUser("li.na", "Li Na", Role.OFFICER, email="li.na@example.com")
    )
    deliver(engine, ctx)
    [message] = fakes.notifier.messages
    assert message.recipient == "li.na@example.com"
    return next(word for word in message.body.split() if word.startswith("lke_"))


def test_a_new_user_enrols_with_the_secret_sent_to_it_and_nobody_else(
    ctx: ServiceContext, admin: Actor, engine: Engine, fakes: Fakes
) -> None:
    secret = create_with_email(ctx, admin, engine, fakes)
    with engine.connect() as connection:
        stored = (
            connection.exec_driver_sql(
                "SELECT payload FROM outbox UNION ALL SELECT details FROM audit_log"
            )
            .scalars()
            .all()
        )
    assert all(secret not in text for text in stored), "the secret is stored nowhere"
    issued = users.enrol(ctx, secret, "laptop")
    actor = users.authenticate(ctx, issued.token)
    assert (actor.role, actor.token_id) == (Role.OFFICER, issued.id)
    with ctx.uow_factory() as uow:
        [*_, enrolled] = uow.audit.for_subject("user", actor.user_id)
    assert (enrolled.action, enrolled.actor_id, enrolled.token_id) == (
        "user_enrolled", actor.user_id, issued.id,
    )  # fmt: skip
    with pytest.raises(AuthenticationError):
        users.enrol(ctx, secret)


def test_a_redelivered_enrolment_event_sends_nothing_twice(
    ctx: ServiceContext, admin: Actor, engine: Engine, fakes: Fakes
) -> None:
    create_with_email(ctx, admin, engine, fakes)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE event_deliveries SET status = 'pending'")
    deliver(engine, ctx)
    assert len(fakes.notifier.messages) == 1


@pytest.mark.parametrize("secret", ["", "lke_wrong", "lk_" + "x" * 43])
def test_a_wrong_secret_enrols_nobody(ctx: ServiceContext, admin: Actor, secret: str) -> None:
    with pytest.raises(AuthenticationError):
        users.enrol(ctx, secret)


def test_an_expired_or_replaced_secret_enrols_nobody(
    ctx: ServiceContext,
    admin: Actor,
    engine: Engine,
    fakes: Fakes,
    fixed_clock: FixedClock,
) -> None:
    first = create_with_email(ctx, admin, engine, fakes)
    user_id = users.list_users(ctx, admin).items[1]["id"]
    users.issue_enrolment(ctx, admin, user_id)
    deliver(engine, ctx)
    second = next(w for w in fakes.notifier.messages[-1].body.split() if w.startswith("lke_"))
    assert second != first
    with pytest.raises(AuthenticationError):
        users.enrol(ctx, first)
    fixed_clock.advance(users.ENROLMENT_LIFETIME.days + 1)
    with pytest.raises(AuthenticationError):
        users.enrol(ctx, second)


def test_a_disabled_user_cannot_enrol(
    ctx: ServiceContext, admin: Actor, engine: Engine, fakes: Fakes
) -> None:
    secret = create_with_email(ctx, admin, engine, fakes)
    user_id = users.list_users(ctx, admin).items[1]["id"]
    users.transition_user(ctx, admin, user_id, "disable", "hired by mistake")
    with pytest.raises(AuthenticationError):
        users.enrol(ctx, secret)


def test_a_user_without_email_is_enrolled_on_the_server(ctx: ServiceContext, admin: Actor) -> None:
    users.create_user(ctx, admin, users.CreateUser("wang", "Wang", Role.MANAGER))
    user_id = users.list_users(ctx, admin).items[1]["id"]
    with pytest.raises(ValidationError, match="email"):
        users.issue_enrolment(ctx, admin, user_id)
    secret = users.enrol_locally(ctx, "wang")
    assert users.authenticate(ctx, users.enrol(ctx, secret).token).user_id == user_id


def test_every_audit_entry_names_the_token_that_acted(ctx: ServiceContext, officer: Actor) -> None:
    token = token_of(ctx, officer)
    acting = users.authenticate(ctx, token)
    issued = users.issue_token(ctx, acting, users.NewToken("second"))
    with ctx.uow_factory() as uow:
        [*_, entry] = uow.audit.for_subject("user", officer.user_id)
    assert (entry.action, entry.token_id) == ("token_issued", acting.token_id)
    assert entry.details["payload"]["token_id"] == issued.id
