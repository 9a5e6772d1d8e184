from __future__ import annotations

import pytest

from leasekit.domain.identity import Actor, Role
from leasekit.errors import AuthenticationError, DomainError, PermissionDeniedError, ValidationError
from leasekit.services import users
from leasekit.services.context import ServiceContext
from leasekit.services.storage import hash_secret


def test_bootstrap_admin_works_once_on_an_empty_installation(ctx: ServiceContext) -> None:
    user, token = users.bootstrap_admin(ctx, "root", "Root")
    assert users.authenticate(ctx, token) == Actor(user.id, Role.ADMIN)
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("user", user.id)
    assert [(entry.action, entry.actor_id) for entry in trail] == [
        ("user_created", "system"),
        ("token_issued", "system"),
    ]
    with pytest.raises(DomainError, match="users exist already"):
        users.bootstrap_admin(ctx, "intruder", "Intruder")
    assert [u.username for u in users.list_users(ctx, user.actor())] == ["root"]


def test_tokens_are_stored_only_as_hashes(ctx: ServiceContext, admin: Actor) -> None:
    token = users.issue_token(ctx, admin, admin.user_id)
    with ctx.uow_factory() as uow:
        stored = uow.tokens.list_for_user(admin.user_id)
    assert token not in {t.token_hash for t in stored}
    assert hash_secret(token) in {t.token_hash for t in stored}


@pytest.mark.parametrize("token", ["", "lk_wrong", "x" * 500])
def test_unknown_tokens_do_not_authenticate(ctx: ServiceContext, admin: Actor, token: str) -> None:
    with pytest.raises(AuthenticationError):
        users.authenticate(ctx, token)


def test_revoked_token_and_inactive_user_are_refused(
    ctx: ServiceContext, admin: Actor, officer: Actor
) -> None:
    token = users.issue_token(ctx, admin, admin.user_id)
    assert users.authenticate(ctx, token) == admin
    with ctx.uow_factory() as uow:
        stored = uow.tokens.find_by_hash(hash_secret(token))
        assert stored is not None
        uow.tokens.revoke(stored.id, ctx.clock.now())
        uow.commit()
    with pytest.raises(AuthenticationError):
        users.authenticate(ctx, token)
    officer_token = users.issue_token(ctx, officer, officer.user_id)
    assert users.authenticate(ctx, officer_token) == officer
    with ctx.uow_factory() as uow:
        user = uow.users.get(officer.user_id)
        user.active = False
        uow.users.update(user)
        uow.commit()
    with pytest.raises(AuthenticationError):
        users.authenticate(ctx, officer_token)


def test_only_admins_create_users_and_usernames_are_unique(
    ctx: ServiceContext, admin: Actor, officer: Actor
) -> None:
    with pytest.raises(PermissionDeniedError):
        users.create_user(ctx, officer, users.CreateUser("eve", "Eve", Role.DIRECTOR))
    with pytest.raises(ValidationError, match="username") as caught:
        users.create_user(ctx, admin, users.CreateUser("officer", "Again", Role.OFFICER))
    assert [e.field for e in caught.value.errors] == ["username"]


def test_dealer_user_needs_an_existing_partner(ctx: ServiceContext, admin: Actor) -> None:
    with pytest.raises(ValidationError) as caught:
        users.create_user(ctx, admin, users.CreateUser("dee", "Dee", Role.DEALER_USER, "nope"))
    assert [e.field for e in caught.value.errors] == ["partner_id"]
    assert [u.username for u in users.list_users(ctx, admin)] == ["admin"]


def test_listing_users_is_a_read_and_delivers_nothing(
    ctx: ServiceContext, admin: Actor, deliveries: list[int]
) -> None:
    before = len(deliveries)
    assert [u.id for u in users.list_users(ctx, admin)] == [admin.user_id]
    assert len(deliveries) == before


def test_a_user_may_issue_a_token_for_itself_only(
    ctx: ServiceContext, officer: Actor, manager: Actor
) -> None:
    assert users.authenticate(ctx, users.issue_token(ctx, officer, officer.user_id)) == officer
    with pytest.raises(PermissionDeniedError):
        users.issue_token(ctx, officer, manager.user_id)
