from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from leasekit.domain.identity import BACK_OFFICE, Actor, Role, new_id
from leasekit.domain.users import User
from leasekit.errors import ValidationError


def fields(error: ValidationError) -> list[str]:
    return [e.field for e in error.errors]


def test_roles_are_the_contracted_names() -> None:
    assert [r.value for r in Role] == [
        "officer", "manager", "director", "finance", "post_loan_supervisor",
        "finance_director", "dealer_user", "admin", "system",
    ]  # fmt: skip
    assert Role.DEALER_USER not in BACK_OFFICE
    assert BACK_OFFICE | {Role.DEALER_USER} == set(Role)


def test_new_ids_are_32_hex_digits_and_distinct() -> None:
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_dealer_user_must_belong_to_a_partner() -> None:
    with pytest.raises(ValidationError) as caught:
        Actor("u1", Role.DEALER_USER)
    assert fields(caught.value) == ["partner_id"]
    assert Actor("u1", "dealer_user", "p1").is_dealer


def test_back_office_actor_belongs_to_no_partner() -> None:
    with pytest.raises(ValidationError, match="only dealer users belong to a partner"):
        Actor("u1", Role.OFFICER, "p1")


def test_system_actor() -> None:
    assert Actor.system() == Actor("system", Role.SYSTEM)
    assert Actor.system("end-of-day").user_id == "end-of-day"


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="'boss' is not a valid Role"):
        Actor("u1", "boss")


AT = datetime(2024, 3, 1, 17, 30, tzinfo=timezone(timedelta(hours=8)))


def test_user_create() -> None:
    user = User.create(
        username="li.wei", display_name="  Li Wei ", role="dealer_user", partner_id="p1", at=AT
    )
    assert (user.username, user.display_name, user.role, user.active) == (
        "li.wei", "Li Wei", Role.DEALER_USER, True,
    )  # fmt: skip
    assert user.created_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert user.created_at.tzinfo is UTC
    assert user.actor() == Actor(user.id, Role.DEALER_USER, "p1")
    assert user.version == 0


def test_user_create_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        User.create(username="Li Wei", display_name=" ", role="dealer_user", at=AT)
    assert fields(caught.value) == ["username", "display_name", "partner_id"]


def test_user_create_refuses_an_unknown_role() -> None:
    with pytest.raises(ValidationError) as caught:
        User.create(username="x1", display_name="X", role="boss", at=AT)
    assert fields(caught.value) == ["role"]


def test_user_create_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        User.create(username="x1", display_name="X", role="admin", at=datetime(2024, 3, 1))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_does_not_draw_the_random_parts_its_parent_will() -> None:
    """The random parts are read ahead in bulk; a child of fork must not reuse its parent's
    stock, or two processes would make the same ids in the same millisecond."""
    new_id()  # the parent's stock is filled
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        time.sleep(0.005)  # a later millisecond: the random part is a fresh draw, not a step
        os.write(write, new_id()[12:].encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        childs = pipe.read()
    time.sleep(0.005)
    assert len(childs) == 20
    assert childs != new_id()[12:], "the child drew the parent's next random part"
