"""What a printed contract says: the facts a lease or loan document is rendered from.

These classes hold data only. Wording, layout and language belong to a template and a
renderer (:mod:`leasekit.render`), so the same document can be printed in English or Chinese,
and a deployer can change the clauses without touching the figures. Every amount is an exact
``Decimal`` in the document's currency, already at the currency's minor unit (the calculator
quantizes schedule lines and totals); a ``float`` is refused, so that no binary rounding can
reach a signed contract.

The disclosure figures use the vocabulary of :class:`~leasekit.domain.plans.PlanSummary`
(Regulation Z §1026.18, or the EU APRC), and :meth:`Disclosures.from_summary` copies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Final, Protocol

import attrs

from leasekit.domain.blacklist import mask
from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import Contract, ContractSigner, Receivable, SignerRole
from leasekit.domain.customers import Customer
from leasekit.domain.plans import PlanSummary
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import AmountError, ValidationError
from leasekit.money import currency

__all__ = [
    "APR_CONVENTIONS",
    "PARTY_ROLES",
    "ContractDocument",
    "ContractRenderer",
    "Disclosures",
    "DocumentFee",
    "DocumentLine",
    "DocumentParty",
    "DocumentTerms",
    "DocumentVehicle",
    "document_of",
]

PARTY_ROLES: Final = ("lessee", "borrower", "co_applicant", "guarantor")
"""Roles a person may sign in; each is a label key every template translates."""
APR_CONVENTIONS: Final = ("us_actuarial", "eu")
"""The disclosure box a document carries: Regulation Z's federal box, or the EU SECCI items."""

_is_decimal: Final = attrs.validators.instance_of(Decimal)
"""Amounts must be ``Decimal``: a float (or anything else) is refused."""


@attrs.frozen
class DocumentParty:
    """A person on the contract, in the role the template has a label for."""

    role: str = attrs.field(validator=attrs.validators.in_(PARTY_ROLES))
    name: str
    id_number: str | None = None
    """Masked (``3301**********1234``): a printed copy travels further than the database."""


@attrs.frozen
class DocumentVehicle:
    """The financed vehicle as the contract identifies it."""

    make: str
    model: str
    year: int
    vin: str


@attrs.frozen
class DocumentTerms:
    """The agreed terms; ``annual_rate`` is the nominal rate in percent."""

    vehicle_price: Decimal = attrs.field(validator=_is_decimal)
    down_payment: Decimal = attrs.field(validator=_is_decimal)
    principal: Decimal = attrs.field(validator=_is_decimal)
    annual_rate: Decimal = attrs.field(validator=_is_decimal)
    term_months: int
    residual_value: Decimal = attrs.field(validator=_is_decimal)
    installment: Decimal = attrs.field(validator=_is_decimal)


@attrs.frozen
class DocumentFee:
    """A fee and whether it is financed (added to the principal) or paid at signing."""

    name: str
    amount: Decimal = attrs.field(validator=_is_decimal)
    financed: bool


@attrs.frozen
class DocumentLine:
    """One installment of the schedule as printed."""

    number: int
    due_date: date
    payment: Decimal = attrs.field(validator=_is_decimal)
    principal: Decimal = attrs.field(validator=_is_decimal)
    interest: Decimal = attrs.field(validator=_is_decimal)
    fee: Decimal = attrs.field(validator=_is_decimal)
    balance: Decimal = attrs.field(validator=_is_decimal)


@attrs.frozen
class Disclosures:
    """The cost-of-credit figures of the disclosure box; ``apr`` in percent, as disclosed."""

    apr_convention: str = attrs.field(validator=attrs.validators.in_(APR_CONVENTIONS))
    apr: Decimal = attrs.field(validator=_is_decimal)
    finance_charge: Decimal = attrs.field(validator=_is_decimal)
    amount_financed: Decimal = attrs.field(validator=_is_decimal)
    total_of_payments: Decimal = attrs.field(validator=_is_decimal)
    total_interest: Decimal = attrs.field(validator=_is_decimal)
    due_at_signing: Decimal = attrs.field(validator=_is_decimal)

    @classmethod
    def from_summary(cls, summary: PlanSummary) -> Disclosures:
        """The figures of a priced plan, which already rounds its APR as disclosed."""
        return cls(
            apr_convention=summary.apr_convention,
            apr=summary.apr,
            finance_charge=summary.finance_charge,
            amount_financed=summary.amount_financed,
            total_of_payments=summary.total_of_payments,
            total_interest=summary.total_interest,
            due_at_signing=summary.due_at_signing,
        )


def _known_currency(_instance: object, _attribute: object, code: str) -> None:
    try:
        currency(code)
    except AmountError as exc:
        raise ValidationError.single("currency", str(exc)) from None


def _has_lines(_instance: object, _attribute: object, lines: tuple[DocumentLine, ...]) -> None:
    if not lines:
        raise ValidationError.single("schedule", "a contract needs at least one installment")


@attrs.frozen
class ContractDocument:
    """Everything a rendered contract states, in the language its template is chosen for."""

    number: str
    business_type: BusinessType = attrs.field(converter=BusinessType)
    language: str
    company: str
    dealer: str
    issued_on: date
    """Also the PDF's creation date, so that the same contract always renders the same bytes."""
    currency: str = attrs.field(validator=_known_currency)
    parties: tuple[DocumentParty, ...]
    vehicle: DocumentVehicle
    terms: DocumentTerms
    fees: tuple[DocumentFee, ...]
    schedule: tuple[DocumentLine, ...] = attrs.field(validator=_has_lines)
    disclosures: Disclosures
    signers: tuple[str, ...]
    """Names printed under the signature lines, in order."""


class ContractRenderer(Protocol):
    """What turns a document into PDF bytes (:mod:`leasekit.render`, with the deployer's
    templates and fonts)."""

    def __call__(self, document: ContractDocument, /) -> bytes: ...


def _role(signer: ContractSigner, business_type: BusinessType) -> str:
    if signer.role is not SignerRole.CUSTOMER:
        return str(signer.role)
    return "borrower" if business_type is BusinessType.LOAN else "lessee"


def _party(
    signer: ContractSigner, contract: Contract, people: Mapping[str, Customer]
) -> DocumentParty:
    role = _role(signer, contract.business_type)
    return DocumentParty(role, signer.name, mask(people[signer.customer_id].id_number))


def _lines(contract: Contract, receivables: Sequence[Receivable]) -> tuple[DocumentLine, ...]:
    """The schedule as printed, with the principal still owed after each installment."""
    owed, lines = contract.principal.amount, []
    for line in receivables:
        owed -= line.principal.amount
        lines.append(
            DocumentLine(
                line.sequence, line.due_date, line.amount_due.amount, line.principal.amount,
                line.interest.amount, line.fee.amount, owed,
            )
        )  # fmt: skip
    return tuple(lines)


def document_of(
    contract: Contract,
    receivables: Sequence[Receivable],
    *,
    company: str,
    dealer: str,
    vehicle: Vehicle,
    people: Mapping[str, Customer],
    fees: Sequence[DocumentFee],
    issued_on: date,
) -> ContractDocument:
    """What *contract*'s document states: its terms, plan and schedule, the *people* who sign
    it (by customer id; id numbers masked) and the product's *fees*."""
    cur = contract.principal.currency
    residual = contract.residual_value.amount if contract.residual_value else cur.zero
    return ContractDocument(
        number=contract.number,
        business_type=contract.business_type,
        language=contract.language,
        company=company,
        dealer=dealer,
        issued_on=issued_on,
        currency=cur.code,
        parties=tuple(_party(signer, contract, people) for signer in contract.signers),
        vehicle=DocumentVehicle(vehicle.make, vehicle.model, vehicle.year, str(vehicle.vin)),
        terms=DocumentTerms(
            vehicle_price=contract.vehicle_price.amount,
            down_payment=contract.down_payment.amount,
            principal=contract.principal.amount,
            annual_rate=contract.annual_rate * 100,
            term_months=contract.term_months,
            residual_value=residual,
            installment=contract.plan.installment,
        ),
        fees=tuple(fees),
        schedule=_lines(contract, receivables),
        disclosures=Disclosures.from_summary(contract.plan),
        signers=tuple(signer.name for signer in contract.signers),
    )
