"""A partner's profile: each field checked and named by its path, settlement accounts by their
scheme's check digits, account numbers masked in what the history shows."""

from __future__ import annotations

import attrs
import pytest

from leasekit.domain.partner_profiles import (
    BankAccount,
    Contact,
    FieldChange,
    PartnerProfile,
    PostalAddress,
    checked_profile,
    profile_changes,
    profile_view,
    rebuilt_view,
)
from leasekit.errors import ValidationError

IBAN = "DE89370400440532013000"
CARD = "6222021000000000009"
"""19 digits whose last is the Luhn check digit."""
CARD_16 = "4111111111111111"
ROUTING = "011000015"


def iban_account(number: str = IBAN, **changes: object) -> BankAccount:
    values = {"scheme": "iban", "holder": "Riverside Autos", "bank_name": "Deutsche Bank",
              "iban": number, "primary": True} | changes  # fmt: skip
    return BankAccount(**values)  # type: ignore[arg-type]


def card_account(number: str = CARD, **changes: object) -> BankAccount:
    values = {"scheme": "cn_bank_card", "holder": "Riverside Autos", "bank_name": "ICBC",
              "card_number": number} | changes  # fmt: skip
    return BankAccount(**values)  # type: ignore[arg-type]


def us_account(routing: str = ROUTING, number: str = "000123456789") -> BankAccount:
    return BankAccount(scheme="us_aba", holder="Riverside Autos", bank_name="Fed",  # type: ignore[arg-type]
                       routing_number=routing, account_number=number)  # fmt: skip


def faults(profile: PartnerProfile) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        checked_profile(profile)
    return [error.field for error in caught.value.errors]


def accounts(*given: BankAccount) -> PartnerProfile:
    return PartnerProfile(name="Riverside Autos", bank_accounts=given)


def test_valid_accounts_of_every_scheme_come_back_compact() -> None:
    profile = accounts(
        iban_account("DE89 3704 0044 0532 0130 00", bic="deutdeff"),
        card_account("6222 0210 0000 0000 009"),
        card_account(CARD_16),
        us_account(),
    )
    checked = checked_profile(profile).bank_accounts
    assert [a.iban or a.card_number or a.account_number for a in checked] == [
        IBAN, CARD, CARD_16, "000123456789",
    ]  # fmt: skip
    assert checked[0].bic == "DEUTDEFF"
    assert checked[3].routing_number == ROUTING


@pytest.mark.parametrize(
    ("account", "field"),
    [
        (iban_account("DE89370400440532013001"), "iban"),
        (iban_account(bic="DEUT1EFF"), "bic"),
        (card_account("6222021000000000008"), "card_number"),
        (card_account("622202100000009"), "card_number"),
        (card_account("62220210000000000x9"), "card_number"),
        (us_account(routing="011000016"), "routing_number"),
        (us_account(number="12a"), "account_number"),
        (iban_account(card_number=CARD), "card_number"),
        (card_account(None), "card_number"),
    ],
    ids=[
        "iban-digit",
        "bic",
        "card-luhn",
        "card-15-digits",
        "card-letter",
        "routing",
        "us-account",
        "another-schemes-number",
        "missing-number",
    ],
)
def test_each_invalid_number_is_named_by_its_path(account: BankAccount, field: str) -> None:
    profile = accounts(iban_account(), attrs.evolve(account, primary=False))
    assert faults(profile) == [f"bank_accounts[1].{field}"]


def test_exactly_one_account_is_primary_and_none_is_listed_twice() -> None:
    assert faults(accounts(card_account(), us_account())) == ["bank_accounts"]
    assert faults(accounts(iban_account(), iban_account())) == [
        "bank_accounts",
        "bank_accounts[1]",
    ]
    assert checked_profile(accounts()).bank_accounts == ()


def test_contacts_addresses_and_brands_are_checked_each_by_its_path() -> None:
    profile = PartnerProfile(
        name="Riverside Autos",
        legal_representative="Zhou\x00Min",
        contacts=(
            Contact(name="Zhou Min", role="owner", phone="+86 (27) 8888-0101"),
            Contact(name="Li Ping", role="finance", phone="12", email="li@@example.com"),
            Contact(name="Wu Qing", role="sales"),
        ),
        registered_address=PostalAddress(line="1 Jiefang Ave", city="Wuhan", country="China"),
        brands=("Buick", "BUICK", " "),
    )
    assert faults(profile) == [
        "legal_representative",
        "contacts[1].phone",
        "contacts[1].email",
        "contacts[2]",
        "registered_address.country",
        "brands[1]",
        "brands[2]",
    ]


def test_phones_and_e_mail_domains_are_written_one_way() -> None:
    contact = Contact(name="Zhou Min", role="owner", phone="+86 (27) 8888-0101",
                      email="Zhou.Min@Riverside.EXAMPLE")  # fmt: skip
    checked = checked_profile(PartnerProfile(name="R", contacts=(contact,))).contacts[0]
    assert (checked.phone, checked.email) == ("+862788880101", "Zhou.Min@riverside.example")


def test_the_history_shows_account_numbers_masked_and_rebuilds_the_profile() -> None:
    before = checked_profile(accounts(iban_account(), card_account(primary=False)))
    after = attrs.evolve(before, bank_accounts=(before.bank_accounts[0],), brands=("Buick",))
    onboarding = profile_changes(None, before)
    revision = profile_changes(before, after)
    assert [change.field for change in onboarding] == ["name", "bank_accounts"]
    assert [change.field for change in revision] == ["brands", "bank_accounts"]
    shown = revision[1].before
    assert [(a["iban"], a["card_number"]) for a in shown] == [
        ("****3000", None),
        (None, "****0009"),
    ]
    assert IBAN not in repr(onboarding + revision)
    assert CARD not in repr(onboarding + revision)
    assert rebuilt_view([onboarding, revision]) == profile_view(after)


def test_a_new_number_with_the_same_last_digits_is_still_a_change() -> None:
    before = checked_profile(accounts(iban_account()))
    other = "GB77WEST12345698763000"
    after = checked_profile(accounts(iban_account(other)))
    assert profile_changes(before, after) == (
        FieldChange("bank_accounts", profile_view(before)["bank_accounts"],
                    profile_view(after)["bank_accounts"]),
    )  # fmt: skip


@pytest.mark.parametrize("code", ["", "NORTH 1", "north/1", "-1", "N" * 33, "A\x00"])
def test_a_branch_is_a_short_code(code: str) -> None:
    assert faults(PartnerProfile(name="Riverside Autos", branch=code)) == ["branch"]


def test_a_branch_code_is_kept_as_entered() -> None:
    profile = checked_profile(PartnerProfile(name="Riverside Autos", branch="North-1_a"))
    assert profile.branch == "North-1_a"
