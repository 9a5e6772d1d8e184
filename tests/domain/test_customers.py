from __future__ import annotations

from datetime import datetime
from functools import partial

import pytest

from leasekit.domain.customers import ID_NUMBER_SCHEMES, Customer, CustomerKind, validate_id_number
from leasekit.domain.identity import Actor, Role
from leasekit.errors import PermissionDeniedError, ValidationError

PERSON, COMPANY = CustomerKind.INDIVIDUAL, CustomerKind.COMPANY

VALID = [
    ("CN", PERSON, "11010519491231002X", "11010519491231002X"),
    ("CN", PERSON, "110105 19491231 002x", "11010519491231002X"),
    ("CN", PERSON, "360426199101010071", "360426199101010071"),
    ("CN", COMPANY, "91110000600037341L", "91110000600037341L"),
    ("CN", COMPANY, "9 1 110000 600037341L", "91110000600037341L"),
    ("US", PERSON, "536-90-4399", "536904399"),
    ("US", COMPANY, "91-1144442", "911144442"),
    ("BR", PERSON, "390.533.447-05", "39053344705"),
    ("BR", COMPANY, "16.727.230/0001-97", "16727230000197"),
    ("FR", PERSON, "2 95 10 99 126 111 93", "295109912611193"),
    ("FR", COMPANY, "404833048", "404833048"),
    ("ES", PERSON, "54362315-K", "54362315K"),
    ("ES", COMPANY, "J99216582", "J99216582"),
]

INVALID = [
    ("CN", PERSON, "110105194912310021", "checksum"),  # last digit changed
    ("CN", PERSON, "110105199902300015", "invalid or unknown"),  # 30 February
    ("CN", PERSON, "1101051949123100", "length"),
    ("CN", PERSON, "91110000600037341L", ""),  # a company code is no person's id
    ("CN", COMPANY, "91110000600037341M", "checksum"),
    ("CN", COMPANY, "11010519491231002X", ""),
    ("US", PERSON, "000-90-4399", "invalid or unknown"),  # area 000 is never issued
    ("US", COMPANY, "07-1144442", "invalid or unknown"),  # prefix 07 is not assigned
    ("BR", PERSON, "390.533.447-06", "checksum"),
    ("BR", COMPANY, "16.727.230/0001-98", "checksum"),
    ("FR", PERSON, "2 95 10 99 126 111 94", "checksum"),
    ("FR", COMPANY, "404833047", "checksum"),
    ("ES", PERSON, "54362315-Z", "checksum"),
    ("ES", COMPANY, "J99216583", "checksum"),
]


@pytest.mark.parametrize(("country", "kind", "number", "compact"), VALID)
def test_valid_numbers_are_stored_compact(
    country: str, kind: CustomerKind, number: str, compact: str
) -> None:
    assert validate_id_number(country, kind, number) == compact


@pytest.mark.parametrize(("country", "kind", "number", "why"), INVALID)
def test_invalid_numbers_name_the_field_and_the_scheme(
    country: str, kind: CustomerKind, number: str, why: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_id_number(country, kind, number)
    [error] = caught.value.errors
    assert error.field == "id_number"
    assert error.message.startswith(
        f"not a valid {country} {ID_NUMBER_SCHEMES[country, kind].name}"
    )
    assert why in error.message


def test_every_supported_country_has_both_kinds() -> None:
    countries = {country for country, _ in ID_NUMBER_SCHEMES}
    assert {(c, k) for c in countries for k in CustomerKind} == set(ID_NUMBER_SCHEMES)


def test_unsupported_country_is_an_id_number_error_listing_the_supported() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_id_number("JP", PERSON, "123456789012")
    [error] = caught.value.errors
    assert error.field == "id_number"
    assert "supported: BR, CN, ES, FR, US" in error.message


def test_register_an_individual(officer: Actor, at: datetime) -> None:
    customer = Customer.register(
        kind="individual", name=" Wang   Fang ", id_number="110105 19491231 002x",
        actor=officer, at=at,
    )  # fmt: skip
    assert (customer.kind, customer.name, customer.country, customer.id_number) == (
        PERSON, "Wang Fang", "CN", "11010519491231002X",
    )  # fmt: skip
    assert customer.partner_id is None
    assert len(customer.id) == 32
    assert customer.version == 0


def test_a_phone_number_is_kept_as_digits(officer: Actor, at: datetime) -> None:
    register = partial(Customer.register, kind="individual", name="Wang Fang",
                       id_number="11010519491231002X", actor=officer, at=at)  # fmt: skip
    assert register(phone="+86 (138) 0013-8000").phone == "+8613800138000"
    assert register().phone is None
    for wrong in ("138 0013 8000 ext 5", "1234", "１３８００１３８０００"):
        with pytest.raises(ValidationError) as caught:
            register(phone=wrong)
        assert [e.field for e in caught.value.errors] == ["phone"]


def test_register_a_us_company(officer: Actor, at: datetime) -> None:
    customer = Customer.register(
        kind=COMPANY, name="Acme Inc", id_number="91-1144442", country="us", actor=officer, at=at
    )
    assert (customer.country, customer.id_number) == ("US", "911144442")


def test_register_names_every_bad_field(officer: Actor, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        Customer.register(
            kind="person", name=" ", id_number="x", country="CHN", actor=officer, at=at
        )
    assert [e.field for e in caught.value.errors] == ["kind", "name", "country"]


def test_register_checks_the_number_against_country_and_kind(officer: Actor, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        Customer.register(
            kind="company", name="Wang Fang", id_number="11010519491231002X", actor=officer, at=at
        )
    assert [e.field for e in caught.value.errors] == ["id_number"]


def test_a_dealer_users_customer_belongs_to_its_partner(dealer: Actor, at: datetime) -> None:
    customer = Customer.register(
        kind="individual", name="Wang Fang", id_number="11010519491231002X", actor=dealer, at=at
    )
    assert customer.partner_id == dealer.partner_id


def test_a_dealer_user_cannot_register_for_another_partner(dealer: Actor, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        Customer.register(
            kind="individual", name="Wang Fang", id_number="11010519491231002X",
            actor=dealer, at=at, partner_id="someone-else",
        )  # fmt: skip
    assert [e.field for e in caught.value.errors] == ["partner_id"]


def test_back_office_may_register_for_a_partner(officer: Actor, at: datetime) -> None:
    customer = Customer.register(
        kind="individual", name="Wang Fang", id_number="11010519491231002X",
        actor=officer, at=at, partner_id="p9",
    )  # fmt: skip
    assert customer.partner_id == "p9"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.FINANCE, Role.SYSTEM])
def test_only_originating_roles_register_customers(role: Role, at: datetime) -> None:
    with pytest.raises(PermissionDeniedError, match=f"role '{role}' may not create a customer"):
        Customer.register(
            kind="individual", name="Wang Fang", id_number="11010519491231002X",
            actor=Actor("u", role), at=at,
        )  # fmt: skip
