from __future__ import annotations

import attrs
import pytest

from leasekit.domain.access import (
    CREATE_ROLES,
    ObjectPermissionError,
    ensure_may_act,
    ensure_may_create,
    owner_partner_id,
    visible_to,
)
from leasekit.domain.identity import BACK_OFFICE, Actor, Role
from leasekit.errors import PermissionDeniedError, ValidationError


@attrs.define
class Owned:
    partner_id: str | None


@attrs.define
class Unowned:
    id: str


DEALER = Actor("d1", Role.DEALER_USER, "p1")


@pytest.mark.parametrize("role", sorted(BACK_OFFICE))
def test_back_office_sees_everything(role: Role) -> None:
    actor = Actor("u1", role)
    assert visible_to(actor, Owned("p1"))
    assert visible_to(actor, Owned(None))
    assert visible_to(actor, Unowned("x"))


def test_a_dealer_sees_only_its_partners_objects() -> None:
    assert visible_to(DEALER, Owned("p1"))
    assert not visible_to(DEALER, Owned("p2"))
    assert not visible_to(DEALER, Owned(None))
    assert not visible_to(DEALER, Unowned("x"))


def test_acting_on_an_invisible_object_is_refused() -> None:
    ensure_may_act(DEALER, Owned("p1"), "application", "submit")
    with pytest.raises(ObjectPermissionError) as caught:
        ensure_may_act(DEALER, Owned("p2"), "application", "submit")
    assert isinstance(caught.value, PermissionDeniedError)
    assert (caught.value.machine, caught.value.action, caught.value.role) == (
        "application", "submit", "dealer_user",
    )  # fmt: skip
    assert str(caught.value) == (
        "dealer_user submit on this application refused: it belongs to another partner"
    )


def test_create_roles() -> None:
    assert CREATE_ROLES["application"] == {Role.DEALER_USER, Role.OFFICER}
    assert CREATE_ROLES["user"] == {Role.ADMIN}
    assert all(Role.ADMIN not in roles for kind, roles in CREATE_ROLES.items() if kind != "user")
    ensure_may_create(DEALER, "application")
    with pytest.raises(PermissionDeniedError, match="role 'dealer_user' may not create a voucher"):
        ensure_may_create(DEALER, "voucher")


def test_owner_partner_id() -> None:
    assert owner_partner_id(DEALER) == "p1"
    assert owner_partner_id(DEALER, "p1") == "p1"
    with pytest.raises(ValidationError, match="partner_id: a dealer user creates"):
        owner_partner_id(DEALER, "p2")
    officer = Actor("o1", Role.OFFICER)
    assert owner_partner_id(officer) is None
    assert owner_partner_id(officer, "p2") == "p2"
