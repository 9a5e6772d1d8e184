"""Customers: the people and companies that borrow or lease.

A customer is identified by an official number whose format and check digit depend on the
country and on whether the customer is a person or a company. Numbers are checked with
python-stdnum (the same validators banks and tax tools use) and stored in their compact form,
so that ``110105 19491231 002X`` and ``11010519491231002X`` are recognised as one customer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final

import attrs
from stdnum.br import cnpj, cpf
from stdnum.cn import ric, uscc
from stdnum.es import cif, dni
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir, siren
from stdnum.us import ein, ssn

from leasekit.domain.access import ensure_may_create, owner_partner_id
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.validation import Checks, choice, country_code, normalize_phone, text
from leasekit.errors import ValidationError

__all__ = [
    "ID_NUMBER_SCHEMES",
    "Customer",
    "CustomerKind",
    "IdNumberScheme",
    "validate_id_number",
]


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    COMPANY = "company"


@attrs.frozen
class IdNumberScheme:
    """One official numbering scheme: what it is called and how python-stdnum checks it."""

    name: str
    validate: Callable[[str], str]
    """Returns the number in compact form; raises python-stdnum's ValidationError."""


ID_NUMBER_SCHEMES: Final[Mapping[tuple[str, CustomerKind], IdNumberScheme]] = {
    ("CN", CustomerKind.INDIVIDUAL): IdNumberScheme("resident identity card number", ric.validate),
    ("CN", CustomerKind.COMPANY): IdNumberScheme("unified social credit code", uscc.validate),
    ("US", CustomerKind.INDIVIDUAL): IdNumberScheme("social security number", ssn.validate),
    ("US", CustomerKind.COMPANY): IdNumberScheme("employer identification number", ein.validate),
    ("BR", CustomerKind.INDIVIDUAL): IdNumberScheme("CPF", cpf.validate),
    ("BR", CustomerKind.COMPANY): IdNumberScheme("CNPJ", cnpj.validate),
    ("FR", CustomerKind.INDIVIDUAL): IdNumberScheme("NIR", nir.validate),
    ("FR", CustomerKind.COMPANY): IdNumberScheme("SIREN", siren.validate),
    ("ES", CustomerKind.INDIVIDUAL): IdNumberScheme("DNI", dni.validate),
    ("ES", CustomerKind.COMPANY): IdNumberScheme("CIF", cif.validate),
}
"""The schemes accepted per (ISO 3166 country, customer kind). Add a row to support more."""


def _supported(kind: CustomerKind) -> str:
    return ", ".join(sorted(country for country, k in ID_NUMBER_SCHEMES if k is kind))


def validate_id_number(
    country: str, kind: CustomerKind, number: str, field: str = "id_number"
) -> str:
    """*number* in compact form if valid for *country* and *kind*; else a ``ValidationError``
    on *field* saying which scheme rejected it or that none applies."""
    scheme = ID_NUMBER_SCHEMES.get((country, kind))
    if scheme is None:
        raise ValidationError.single(
            field,
            f"no {kind} id number scheme for country {country!r}; supported: {_supported(kind)}",
        )
    try:
        # Spaces and a lower-case check letter are how people type numbers, not errors.
        return scheme.validate("".join(number.split()).upper())
    except StdnumError as exc:
        raise ValidationError.single(field, f"not a valid {country} {scheme.name}: {exc}") from None


@attrs.define
class Customer:
    """A borrower or lessee; ``partner_id`` is set when a dealer user registered it."""

    id: str
    kind: CustomerKind = attrs.field(converter=CustomerKind)
    name: str
    country: str
    id_number: str
    partner_id: str | None
    created_at: datetime
    phone: str | None = None
    """The customer's mobile number, digits with an optional leading ``+``: anti-fraud
    counts other applications giving the same number, and the blacklist lists numbers."""
    version: int = 0

    @classmethod
    def register(
        cls,
        *,
        kind: CustomerKind | str,
        name: str,
        id_number: str,
        actor: Actor,
        at: datetime,
        country: str = "CN",
        partner_id: str | None = None,
        phone: str | None = None,
    ) -> Customer:
        """A new customer, its id number checked and compacted, its phone number brought to
        digits, every bad field named."""
        ensure_may_create(actor, "customer")
        owner = owner_partner_id(actor, partner_id)
        checks = Checks()
        valid_kind = checks.run(lambda: choice(CustomerKind, kind, "kind"))
        valid_name = checks.run(lambda: text(name, "name"))
        valid_country = checks.run(lambda: country_code(country))
        number = None
        if valid_kind is not None and valid_country is not None:
            number = checks.run(lambda: validate_id_number(valid_country, valid_kind, id_number))
        digits = None if phone is None else checks.run(lambda: normalize_phone(phone))
        if valid_kind is None or valid_name is None or valid_country is None or number is None:
            raise checks.error()
        if checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            kind=valid_kind,
            name=valid_name,
            country=valid_country,
            id_number=number,
            partner_id=owner,
            created_at=require_utc(at),
            phone=digits,
        )
