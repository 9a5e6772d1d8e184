"""A partner's profile: who represents it, whom to call, where it is, what it sells and where
its money goes; and the history that explains every change of it.

The profile is what the back office keeps up to date after onboarding
(:class:`PartnerProfile`); the company code, country, state and rating are not part of it,
each changes by a path of its own. Every profile field is checked together
(:func:`checked_profile`), each fault named by its path in the input
(``bank_accounts[1].iban``), so a form hears of all its mistakes at once.

Settlement bank accounts are checked with python-stdnum: an IBAN by its check digits (and a
BIC, when given, by its form and country), a Chinese bank card by its 16 to 19 digits and the
Luhn check digit, a US account by the ABA routing number's checksum. Account numbers are
sensitive: events carry field names only, and the history keeps and shows them masked to their
last four characters (:func:`masked`), so the partner's own row is the one place that holds
them whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeVar

import attrs
from stdnum import bic, iban, luhn
from stdnum.exceptions import InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as NumberError
from stdnum.us import rtn

from leasekit.domain.clock import require_utc
from leasekit.domain.face_photos import GeoPoint
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.lifecycle import MAX_REASON
from leasekit.domain.validation import (
    Checks,
    country_code,
    email_address,
    telephone,
    text,
)
from leasekit.errors import DomainError, ValidationError
from leasekit.money import to_decimal

__all__ = [
    "PROFILE_FIELDS",
    "BankAccount",
    "BankScheme",
    "Contact",
    "FieldChange",
    "PartnerProfile",
    "PartnerRevision",
    "PostalAddress",
    "account_number",
    "checked_account",
    "checked_profile",
    "mask_number",
    "masked",
    "no_change",
    "profile_changes",
    "profile_view",
    "rebuilt_view",
    "revision_reason",
    "settlement_account",
]

_T = TypeVar("_T")

MAX_CONTACTS: Final = 20
MAX_BANK_ACCOUNTS: Final = 10
MAX_BRANDS: Final = 50
MAX_BRAND: Final = 50
MAX_BRANCH: Final = 32
_BRANCH: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MAX_NAME: Final = 100
"""RFC 5321's limit on an address that can actually receive mail."""

ONBOARDING_REASON: Final = "onboarded"
"""The reason revision 0 gives: the profile as the partner was onboarded with it."""


def _degrees(value: object) -> Decimal:
    return to_decimal(value, "degrees")


@attrs.frozen(kw_only=True)
class PostalAddress:
    """A postal address, structured so that letters and filings can be printed from it."""

    line: str
    city: str
    region: str | None = None
    """Province, state or county, where the country has them."""
    postal_code: str | None = None
    country: str = attrs.field(metadata={"description": "ISO 3166-1 alpha-2 code."})
    latitude: Decimal | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(_degrees),
        metadata={"description": "Where it is on the map (WGS 84 degrees, -90 to 90), with "
                  "``longitude``: face photos are checked to be taken near it."},
    )  # fmt: skip
    longitude: Decimal | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(_degrees),
        metadata={"description": "WGS 84 degrees, -180 to 180, with ``latitude``."},
    )

    @property
    def position(self) -> GeoPoint | None:
        """Its coordinates, when both are known."""
        if self.latitude is None or self.longitude is None:
            return None
        return GeoPoint(self.latitude, self.longitude)


@attrs.frozen(kw_only=True)
class Contact:
    """A person at the partner to reach, and for what (sales, finance, after-sales ...)."""

    name: str
    role: str
    phone: str | None = attrs.field(
        default=None,
        metadata={"description": "International form preferred (+86 138 0013 8000); stored as "
                  "a plus and digits."},
    )  # fmt: skip
    email: str | None = None


class BankScheme(StrEnum):
    """How a settlement account is identified, each with the fields it needs."""

    IBAN = "iban"
    """``iban``, and optionally ``bic``."""
    CN_BANK_CARD = "cn_bank_card"
    """``card_number``: a Chinese bank card (UnionPay), 16 to 19 digits with a Luhn digit."""
    US_ABA = "us_aba"
    """``routing_number`` (ABA) and ``account_number``."""


@attrs.frozen(kw_only=True)
class BankAccount:
    """An account the partner is paid into; ``primary`` is the one payouts use."""

    scheme: BankScheme = attrs.field(converter=BankScheme)
    holder: str
    bank_name: str
    iban: str | None = None
    bic: str | None = None
    card_number: str | None = None
    routing_number: str | None = None
    account_number: str | None = None
    primary: bool = False


@attrs.frozen(kw_only=True)
class PartnerProfile:
    """What a partner's record says about it beyond its company code: every field the back
    office may change after onboarding, each change explained in the history."""

    name: str
    legal_representative: str | None = None
    contacts: tuple[Contact, ...] = ()
    registered_address: PostalAddress | None = None
    business_address: PostalAddress | None = attrs.field(
        default=None, metadata={"description": "Where it trades, when not where it is registered."}
    )
    brands: tuple[str, ...] = attrs.field(
        default=(), metadata={"description": "The makes it sells (short names)."}
    )
    bank_accounts: tuple[BankAccount, ...] = attrs.field(
        default=(), metadata={"description": "Settlement accounts; exactly one is primary."}
    )
    branch: str | None = attrs.field(
        default=None,
        metadata={"description": "The company's branch that serves it, as a code (letters, "
                  "digits, '-', '_'): the branch its contracts' vouchers are analysed by.",
                  "max_length": MAX_BRANCH},
    )  # fmt: skip


PROFILE_FIELDS: Final = tuple(field.name for field in attrs.fields(PartnerProfile))


# --- checks ----------------------------------------------------------------------------------


def checked_profile(profile: PartnerProfile) -> PartnerProfile:
    """*profile* with every text cleaned and every number in its compact form; a
    ``ValidationError`` naming every fault by its path otherwise."""
    checks = Checks()
    name = checks.run(lambda: text(profile.name, "name"))
    representative = _optional(checks, profile.legal_representative, "legal_representative")
    contacts = _each(checks, profile.contacts, "contacts", MAX_CONTACTS, _contact)
    registered = _address_at(checks, profile.registered_address, "registered_address")
    business = _address_at(checks, profile.business_address, "business_address")
    brands = checks.run(lambda: _brands(profile.brands))
    accounts = _each(
        checks, profile.bank_accounts, "bank_accounts", MAX_BANK_ACCOUNTS, checked_account
    )
    if accounts is not None:
        checks.run(lambda: _settlement_rules(accounts))
    branch = None if profile.branch is None else checks.run(lambda: _branch(profile.branch))
    if name is None or contacts is None or brands is None or accounts is None or checks.errors:
        raise checks.error()
    return PartnerProfile(
        name=name,
        legal_representative=representative,
        contacts=contacts,
        registered_address=registered,
        business_address=business,
        brands=brands,
        bank_accounts=accounts,
        branch=branch,
    )


def _branch(value: str | None) -> str:
    """A branch code as accountants filter by it: no spaces, no punctuation but ``-`` and
    ``_``, compared as entered."""
    code = text(value or "", "branch", MAX_BRANCH)
    if not _BRANCH.fullmatch(code):
        raise ValidationError.single("branch", "letters, digits, '-' and '_' only")
    return code


def _optional(checks: Checks, value: str | None, field: str, limit: int = MAX_NAME) -> str | None:
    return None if value is None else checks.run(lambda: text(value, field, limit))


def _each(
    checks: Checks,
    items: tuple[_T, ...],
    field: str,
    limit: int,
    check: Callable[[_T, str], _T],
) -> tuple[_T, ...] | None:
    """Every item checked by *check* under its path (``contacts[2]``); None after errors."""
    if len(items) > limit:
        checks.add(field, f"at most {limit}")
        return None
    valid = [checks.run(functools.partial(check, item, f"{field}[{index}]"))
             for index, item in enumerate(items)]  # fmt: skip
    return None if None in valid else tuple(v for v in valid if v is not None)


def _address_at(checks: Checks, address: PostalAddress | None, field: str) -> PostalAddress | None:
    return None if address is None else checks.run(lambda: _address(address, field))


def _address(address: PostalAddress, path: str) -> PostalAddress:
    checks = Checks()
    line = checks.run(lambda: text(address.line, f"{path}.line"))
    city = checks.run(lambda: text(address.city, f"{path}.city", MAX_NAME))
    region = _optional(checks, address.region, f"{path}.region")
    postal = None
    if address.postal_code is not None:
        postal = checks.run(lambda: _postal_code(address.postal_code or "", f"{path}.postal_code"))
    country = checks.run(lambda: country_code(address.country, f"{path}.country"))
    checks.run(lambda: _coordinates(address, path))
    if line is None or city is None or country is None or checks.errors:
        raise checks.error()
    return PostalAddress(line=line, city=city, region=region, postal_code=postal, country=country,
                         latitude=address.latitude, longitude=address.longitude)  # fmt: skip


def _coordinates(address: PostalAddress, path: str) -> None:
    """Both coordinates or neither, each in its range."""
    latitude, longitude = address.latitude, address.longitude
    if latitude is None and longitude is None:
        return
    if latitude is None or longitude is None:
        missing = "latitude" if latitude is None else "longitude"
        raise ValidationError.single(f"{path}.{missing}", "give latitude and longitude, or neither")
    try:
        GeoPoint(latitude, longitude)
    except ValidationError as exc:
        raise exc.prefixed(path) from None


_POSTAL_CODE: Final = re.compile(r"[0-9A-Z][0-9A-Z -]{1,10}[0-9A-Z]")


def _postal_code(value: str, field: str) -> str:
    code = " ".join(text(value, field, 12).upper().split())
    if not _POSTAL_CODE.fullmatch(code):
        raise ValidationError.single(field, f"{value!r} is not a postal code")
    return code


def _contact(contact: Contact, path: str) -> Contact:
    checks = Checks()
    name = checks.run(lambda: text(contact.name, f"{path}.name", MAX_NAME))
    role = checks.run(lambda: text(contact.role, f"{path}.role", MAX_NAME))
    phone = email = None
    if contact.phone is not None:
        phone = checks.run(lambda: telephone(contact.phone or "", f"{path}.phone"))
    if contact.email is not None:
        email = checks.run(lambda: email_address(contact.email or "", f"{path}.email"))
    if contact.phone is None and contact.email is None:
        checks.add(path, "give a phone number or an e-mail address")
    if name is None or role is None or checks.errors:
        raise checks.error()
    return Contact(name=name, role=role, phone=phone, email=email)


def _brands(brands: tuple[str, ...]) -> tuple[str, ...]:
    checks = Checks()
    if len(brands) > MAX_BRANDS:
        raise ValidationError.single("brands", f"at most {MAX_BRANDS}")
    seen: set[str] = set()
    valid = []
    for index, brand in enumerate(brands):
        name = checks.run(functools.partial(text, brand, f"brands[{index}]", MAX_BRAND))
        if name is not None and name.casefold() in seen:
            checks.add(f"brands[{index}]", f"{name!r} is listed twice")
        elif name is not None:
            seen.add(name.casefold())
            valid.append(name)
    if checks.errors:
        raise checks.error()
    return tuple(valid)


def _stdnum(validate: Callable[[str], str], value: str | None, field: str, what: str) -> str:
    """*value* in its compact form, as python-stdnum's *validate* gives it; its reason for
    refusing otherwise."""
    if value is None:
        raise ValidationError.single(field, f"required for this scheme: the {what}")
    try:
        return validate(text(value, field, 64))
    except NumberError as exc:
        raise ValidationError.single(field, f"not a valid {what}: {exc}") from None


def _digits(value: str) -> str:
    """*value* without the blanks and hyphens people group digits with."""
    number = value.replace(" ", "").replace("-", "")
    if not number.isascii() or not number.isdigit():
        raise InvalidFormat("digits only")
    return number


def _card_number(value: str) -> str:
    number = luhn.validate(_digits(value))
    if not 16 <= len(number) <= 19:
        raise InvalidLength("a bank card number has 16 to 19 digits")
    return number


def _us_account_number(value: str) -> str:
    """A US deposit account number: 4 to 17 digits (what an ACH entry carries)."""
    number = _digits(value)
    if not 4 <= len(number) <= 17:
        raise InvalidLength("4 to 17 digits")
    return number


_SCHEME_FIELDS: Final[Mapping[BankScheme, frozenset[str]]] = {
    BankScheme.IBAN: frozenset({"iban", "bic"}),
    BankScheme.CN_BANK_CARD: frozenset({"card_number"}),
    BankScheme.US_ABA: frozenset({"routing_number", "account_number"}),
}
_NUMBER_FIELDS: Final = ("iban", "bic", "card_number", "routing_number", "account_number")


def checked_account(account: BankAccount, path: str) -> BankAccount:
    """*account* with its numbers checked for its scheme (IBAN and BIC, a Chinese bank card,
    a US routing and account number), faults named under *path*."""
    checks = Checks()
    scheme = account.scheme
    holder = checks.run(lambda: text(account.holder, f"{path}.holder"))
    bank_name = checks.run(lambda: text(account.bank_name, f"{path}.bank_name"))
    numbers = checks.run(lambda: _numbers(account, scheme, path))
    if holder is None or bank_name is None or numbers is None:
        raise checks.error()
    return BankAccount(scheme=scheme, holder=holder, bank_name=bank_name,
                       primary=account.primary, **numbers)  # fmt: skip


def _numbers(account: BankAccount, scheme: BankScheme, path: str) -> dict[str, str | None]:
    """The numbers *scheme* needs, checked; a number of another scheme is a fault."""
    checks = Checks()
    wanted = _SCHEME_FIELDS[scheme]
    for field in _NUMBER_FIELDS:
        if field not in wanted and getattr(account, field) is not None:
            checks.add(f"{path}.{field}", f"not part of a {scheme} account")
    numbers: dict[str, str | None] = dict.fromkeys(_NUMBER_FIELDS)
    if scheme is BankScheme.IBAN:
        numbers["iban"] = checks.run(
            lambda: _stdnum(iban.validate, account.iban, f"{path}.iban", "IBAN")
        )
        if account.bic is not None:
            numbers["bic"] = checks.run(
                lambda: _stdnum(bic.validate, account.bic, f"{path}.bic", "BIC")
            )
    elif scheme is BankScheme.CN_BANK_CARD:
        numbers["card_number"] = checks.run(
            lambda: _stdnum(_card_number, account.card_number, f"{path}.card_number",
                            "bank card number")
        )  # fmt: skip
    else:
        numbers["routing_number"] = checks.run(
            lambda: _stdnum(rtn.validate, account.routing_number, f"{path}.routing_number",
                            "ABA routing number")
        )  # fmt: skip
        numbers["account_number"] = checks.run(
            lambda: _stdnum(_us_account_number, account.account_number,
                            f"{path}.account_number", "account number")
        )  # fmt: skip
    if checks.errors:
        raise checks.error()
    return numbers


def _settlement_rules(accounts: tuple[BankAccount, ...]) -> None:
    """Exactly one primary account when there are any, and no account listed twice."""
    checks = Checks()
    primaries = sum(account.primary for account in accounts)
    if accounts and primaries != 1:
        checks.add("bank_accounts", f"exactly one account must be primary, not {primaries}")
    seen: set[tuple[str | None, ...]] = set()
    for index, account in enumerate(accounts):
        key = tuple(getattr(account, field) for field in _NUMBER_FIELDS)
        if key in seen:
            checks.add(f"bank_accounts[{index}]", "the same account is listed twice")
        seen.add(key)
    if checks.errors:
        raise checks.error()


def settlement_account(profile: PartnerProfile | None) -> BankAccount | None:
    """The account payouts to the partner go into: its primary one."""
    if profile is None:
        return None
    return next((account for account in profile.bank_accounts if account.primary), None)


def account_number(account: BankAccount) -> str:
    """The number a payment instruction names: the IBAN, the card number, or the routing and
    account numbers as ``routing/account``."""
    if account.scheme is BankScheme.US_ABA:
        return f"{account.routing_number}/{account.account_number}"
    number = account.iban if account.scheme is BankScheme.IBAN else account.card_number
    assert number is not None  # checked_account made sure the scheme's number is there
    return number


# --- the history -----------------------------------------------------------------------------


_SECRET_NUMBERS: Final = ("iban", "card_number", "account_number")
"""What identifies the account itself; a routing number or BIC names only the bank."""


def mask_number(number: str) -> str:
    """An account number as people other than the bank see it: its last four characters."""
    return f"****{number[-4:]}"


def _mask(number: str | None) -> str | None:
    return None if number is None else mask_number(number)


def masked(account: BankAccount) -> BankAccount:
    """*account* with its number cut to the last four characters, as the history shows it."""
    numbers: dict[str, Any] = {field: _mask(getattr(account, field)) for field in _SECRET_NUMBERS}
    return attrs.evolve(account, **numbers)


JsonValue = Any
"""A profile field as JSON (strings, lists and objects of them, null)."""


def _plain(value: object) -> JsonValue:
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if attrs.has(type(value)):
        fields = attrs.asdict(value, recurse=False)  # type: ignore[arg-type]
        return {name: _plain(item) for name, item in fields.items()}
    return str(value) if isinstance(value, StrEnum | Decimal) else value


def profile_view(profile: PartnerProfile) -> dict[str, JsonValue]:
    """Each field of *profile* as the history shows it: JSON, account numbers masked."""
    shown = attrs.evolve(profile, bank_accounts=tuple(map(masked, profile.bank_accounts)))
    return {field: _plain(getattr(shown, field)) for field in PROFILE_FIELDS}


_BLANK: Final[Mapping[str, JsonValue]] = {
    field.name: None if field.default in (None, attrs.NOTHING) else []
    for field in attrs.fields(PartnerProfile)
}
"""The profile before onboarding, as the history shows it: nothing known."""


@attrs.frozen
class FieldChange:
    """One field of the profile before and after a change, as JSON (numbers masked)."""

    field: str
    before: Any
    after: Any


def profile_changes(
    before: PartnerProfile | None, after: PartnerProfile
) -> tuple[FieldChange, ...]:
    """The fields *after* changes from *before* (None: from nothing, at onboarding). Compared
    whole, so a new account number is a change even when its last four digits are not."""
    shown_before = _BLANK if before is None else profile_view(before)
    shown_after = profile_view(after)
    return tuple(
        FieldChange(field, shown_before[field], shown_after[field])
        for field in PROFILE_FIELDS
        if (_BLANK[field] if before is None else _plain(getattr(before, field)))
        != _plain(getattr(after, field))
    )


@attrs.frozen
class PartnerRevision:
    """One change of a partner's profile: who made it, when, why, and each field's before and
    after. ``revision`` is the partner's version the change produced (0 at onboarding)."""

    id: str
    partner_id: str
    revision: int
    reason: str
    changes: tuple[FieldChange, ...]
    actor_id: str
    created_at: datetime

    @classmethod
    def new(
        cls,
        partner_id: str,
        revision: int,
        changes: tuple[FieldChange, ...],
        *,
        reason: str,
        actor: Actor,
        at: datetime,
    ) -> PartnerRevision:
        return cls(new_id(), partner_id, revision, reason, changes, actor.user_id, require_utc(at))


def revision_reason(reason: str) -> str:
    """Why a profile changes, checked as every reason is."""
    return text(reason, "reason", MAX_REASON)


def no_change() -> DomainError:
    return DomainError("the revision changes nothing: every field is as the profile has it")


def rebuilt_view(changes: list[tuple[FieldChange, ...]]) -> dict[str, JsonValue]:
    """The profile as the history shows it, rebuilt by applying *changes* oldest first to the
    empty profile: what a history that explains every change must allow."""
    view = dict(_BLANK)
    for revision in changes:
        for change in revision:
            view[change.field] = change.after
    return view
