"""Contracts, their repayment schedules (receivables) and the payments made against them.

A contract is drawn up from an approved application and fixes its terms; each schedule line
is a :class:`Receivable` that records what falls due on a date and how much of each part has
been paid. A :class:`Payment` is money received from the customer; how it is split over the
receivables (allocation) and how it is undone (reversal) follow :data:`PAYMENT_LIFECYCLE`.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_act, ensure_may_create
from leasekit.domain.applications import (
    APPLICATION_LIFECYCLE,
    Application,
    ApplicationState,
)
from leasekit.domain.business import BusinessType
from leasekit.domain.clock import require_utc
from leasekit.domain.events import PayloadValue
from leasekit.domain.identity import (
    BOOKKEEPERS,
    ORIGINATORS,
    SENIOR_REVIEWERS,
    Actor,
    Role,
    new_id,
)
from leasekit.domain.lifecycle import Effect, Move, Stateful, StateMachine, row
from leasekit.domain.partner_profiles import BankAccount, checked_account
from leasekit.domain.plans import PlanRow, PlanSummary
from leasekit.domain.validation import (
    Checks,
    email_address,
    is_whole_number,
    money_amount,
    telephone,
    text,
)
from leasekit.errors import DomainError, FieldError, IllegalTransitionError, ValidationError
from leasekit.money import Money

__all__ = [
    "CONTRACT_LIFECYCLE",
    "LANGUAGES",
    "PAYMENT_LIFECYCLE",
    "Contract",
    "ContractAction",
    "ContractSigner",
    "ContractState",
    "Contracting",
    "DraftChanges",
    "NumberPattern",
    "Payment",
    "PaymentAction",
    "PaymentSource",
    "PaymentState",
    "Receivable",
    "SignerContact",
    "SignerRole",
    "StoredFile",
    "receivables",
]


class ContractState(StrEnum):
    DRAFT = "draft"
    SENT_FOR_SIGNATURE = "sent_for_signature"
    SIGNED = "signed"
    DISBURSEMENT_REQUESTED = "disbursement_requested"
    DISBURSED = "disbursed"
    ACTIVE = "active"
    SETTLED = "settled"
    TERMINATED = "terminated"
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ContractAction(StrEnum):
    SEND_FOR_SIGNATURE = "send_for_signature"
    RECALL = "recall"
    SIGN = "sign"
    REQUEST_DISBURSEMENT = "request_disbursement"
    REJECT_DISBURSEMENT = "reject_disbursement"
    DISBURSE = "disburse"
    ACTIVATE = "activate"
    SETTLE = "settle"
    TERMINATE = "terminate"
    WRITE_OFF = "write_off"
    CLOSE = "close"
    CANCEL = "cancel"


_C = ContractState
_CA = ContractAction
_OFFICE_OR_SYSTEM: Final = (Role.OFFICER, Role.SYSTEM)
_WORKFLOW: Final = (Role.SYSTEM,)
_PAYOUT: Final = ("disbursement_id", "payout_amount", "bank_reference")
"""What a disbursement's event says of the payout that made it."""
_PAYOFF: Final = ("settlement_quote_id", "payment_id", "amount")
"""What a settlement quote's payoff says when it settles the contract."""

CONTRACT_LIFECYCLE: Final = StateMachine(
    "contract",
    _C.DRAFT,
    (
        row(_CA.SEND_FOR_SIGNATURE, [_C.DRAFT], _C.SENT_FOR_SIGNATURE, _OFFICE_OR_SYSTEM,
            "contract_sent_for_signature"),
        # Corrections, or a declined or expired envelope: back to draft, the envelope is void.
        row(_CA.RECALL, [_C.SENT_FOR_SIGNATURE], _C.DRAFT,
            [Role.OFFICER, Role.MANAGER, Role.SYSTEM], "contract_recalled", True),
        # What the signature provider and the payout queue report, moved by the workflow.
        row(_CA.SIGN, [_C.SENT_FOR_SIGNATURE], _C.SIGNED, _WORKFLOW, "contract_signed"),
        # Into the payout queue: by itself once signed, or again after a refused payout.
        row(_CA.REQUEST_DISBURSEMENT, [_C.SIGNED], _C.DISBURSEMENT_REQUESTED,
            [*ORIGINATORS, Role.SYSTEM], "contract_disbursement_requested"),
        row(_CA.REJECT_DISBURSEMENT, [_C.DISBURSEMENT_REQUESTED], _C.SIGNED, _WORKFLOW,
            "contract_disbursement_rejected", True),
        row(_CA.DISBURSE, [_C.DISBURSEMENT_REQUESTED], _C.DISBURSED, _WORKFLOW,
            "contract_disbursed", params=_PAYOUT),
        row(_CA.ACTIVATE, [_C.DISBURSED], _C.ACTIVE, _WORKFLOW, "contract_activated"),
        # Paid off early; a settlement quote's payoff names the quote, payment and amount.
        row(_CA.SETTLE, [_C.ACTIVE], _C.SETTLED, BOOKKEEPERS, "contract_settled",
            optional=_PAYOFF),
        # Default: the contract is ended early and the vehicle recovered.
        row(_CA.TERMINATE, [_C.ACTIVE], _C.TERMINATED,
            [Role.POST_LOAN_SUPERVISOR, Role.DIRECTOR], "contract_terminated", True),
        row(_CA.WRITE_OFF, [_C.ACTIVE, _C.TERMINATED], _C.WRITTEN_OFF, [Role.FINANCE_DIRECTOR],
            "contract_written_off", True),
        row(_CA.CLOSE, [_C.SETTLED, _C.TERMINATED], _C.CLOSED, BOOKKEEPERS, "contract_closed"),
        # Nothing has been paid out before disbursement, so cancelling needs no accounting.
        row(_CA.CANCEL,
            [_C.DRAFT, _C.SENT_FOR_SIGNATURE, _C.SIGNED, _C.DISBURSEMENT_REQUESTED],
            _C.CANCELLED, SENIOR_REVIEWERS, "contract_cancelled", True),
    ),
    final=frozenset({_C.WRITTEN_OFF, _C.CLOSED, _C.CANCELLED}),
    actions_enum=ContractAction,
)  # fmt: skip


class PaymentState(StrEnum):
    RECEIVED = "received"
    ALLOCATED = "allocated"
    REVERSED = "reversed"
    REFUNDED = "refunded"


class PaymentAction(StrEnum):
    ALLOCATE = "allocate"
    REVERSE = "reverse"
    REFUND = "refund"


_Y = PaymentState
_YA = PaymentAction
_SPLIT: Final = ("penalty", "fee", "interest", "principal", "credit")

PAYMENT_LIFECYCLE: Final = StateMachine(
    "payment",
    _Y.RECEIVED,
    (
        # What the payment paid of each part, and what is left as credit, for the vouchers.
        row(_YA.ALLOCATE, [_Y.RECEIVED], _Y.ALLOCATED, BOOKKEEPERS, "payment_allocated",
            params=_SPLIT),
        # A reversal undoes a payment that bounced or was booked to the wrong contract (what
        # it had paid of each part, and its credit, given back); for an allocated payment
        # booked by hand the service first requires an executed exception request.
        row(_YA.REVERSE, [_Y.RECEIVED, _Y.ALLOCATED], _Y.REVERSED, BOOKKEEPERS,
            "payment_reversed", True, optional=_SPLIT),
        row(_YA.REFUND, [_Y.RECEIVED], _Y.REFUNDED, BOOKKEEPERS, "payment_refunded", True),
    ),
    final=frozenset({_Y.REVERSED, _Y.REFUNDED}),
    actions_enum=PaymentAction,
)  # fmt: skip


def _start(contract: Contract, move: Move) -> None:
    """Activation fixes the start date: interest and due dates run from it."""
    if contract.start_date is None:
        contract.start_date = move.business_date


def _disbursed(contract: Contract, move: Move) -> Mapping[str, PayloadValue]:
    """What the voucher engine needs of a payout: what was paid, what was lent, and the fees
    financed or paid up front."""
    cur = contract.principal.currency
    financed_fees = contract.principal - (contract.vehicle_price - contract.down_payment)
    return {
        **{name: move.params[name] for name in _PAYOUT},
        "currency": cur.code,
        "business_type": str(contract.business_type),
        "principal": str(contract.principal.amount),
        "vehicle_price": str(contract.vehicle_price.amount),
        "down_payment": str(contract.down_payment.amount),
        "financed_fees": str(financed_fees.amount),
        "upfront_fees": str(contract.plan.upfront_fees),
    }


def _void_envelope(contract: Contract, move: Move) -> None:
    """A recalled or declined signing round is over: its envelope is void and the next round
    sends a new one."""
    contract.envelope_id = None


_NUMBER_FIELDS: Final = frozenset({"company", "year", "sequence"})


@attrs.frozen
class NumberPattern:
    """How contract numbers read: a :meth:`str.format` pattern over ``company``, ``year`` and
    ``sequence`` (the count within the company's year, from 1, without gaps)."""

    pattern: str = "{company}-{year}-{sequence:06d}"
    company: str = "LK"

    def __attrs_post_init__(self) -> None:
        names = {name for _, name, _, _ in string.Formatter().parse(self.pattern) if name}
        if "sequence" not in names or "year" not in names or not names <= _NUMBER_FIELDS:
            raise ValidationError.single(
                "number_pattern",
                "must name {year} and {sequence}, and may name {company}; nothing else",
            )
        self.format(2000, 1)  # a format specification that does not fit fails here

    def format(self, year: int, sequence: int) -> str:
        try:
            return self.pattern.format(company=self.company, year=year, sequence=sequence)
        except (ValueError, IndexError) as exc:
            raise ValidationError.single("number_pattern", str(exc)) from None


class SignerRole(StrEnum):
    """Why a person signs: they take the financing, share it, or guarantee it."""

    CUSTOMER = "customer"
    """The lessee, or the borrower of a loan."""
    CO_APPLICANT = "co_applicant"
    GUARANTOR = "guarantor"


@attrs.frozen
class ContractSigner:
    """A person who must sign, and where the signature provider reaches them."""

    customer_id: str
    role: SignerRole = attrs.field(converter=SignerRole)
    name: str
    email: str | None = None
    phone: str | None = None


@attrs.frozen
class StoredFile:
    """A file the contract keeps in the document store, and the SHA-256 of its bytes."""

    key: str
    sha256: str
    size: int


@attrs.frozen
class SignerContact:
    """Where to reach one signer, as data entry on a draft gives it."""

    customer_id: str
    email: str | None = None
    phone: str | None = None


@attrs.frozen
class DraftChanges:
    """What may change on a draft: the document's language, the signers' contacts, and for a
    sale-leaseback the seller's account the price is paid into."""

    language: str | None = None
    contacts: tuple[SignerContact, ...] = ()
    seller_account: BankAccount | None = None


LANGUAGES: Final = frozenset({"en", "zh"})
"""The languages contract documents are written in."""


@attrs.frozen
class Contracting:
    """How the company draws up contracts: its name on them, their numbers, and the language
    of their documents unless a draft says otherwise."""

    company_name: str = "Leasekit Demo Leasing Co."
    numbering: NumberPattern = attrs.field(factory=NumberPattern)
    language: str = "en"


@attrs.define
class Contract(Stateful):
    """The agreement a customer signs; its terms are copied from the approved application and
    its plan, so that later revisions of anything else cannot change what was signed."""

    id: str
    number: str
    application_id: str
    partner_id: str
    customer_id: str
    vehicle_id: str
    business_type: BusinessType = attrs.field(converter=BusinessType)
    product_version_id: str | None
    vehicle_price: Money
    down_payment: Money
    principal: Money
    """The amount lent: vehicle price less down payment, plus financed fees."""
    annual_rate: Decimal
    term_months: int
    residual_value: Money | None
    plan: PlanSummary = attrs.field(metadata={"whole": True})
    """The approved plan's totals and disclosures, frozen."""
    signers: tuple[ContractSigner, ...]
    language: str
    start_date: date | None
    """The business date the contract became active; interest and due dates run from it."""
    state: ContractState = attrs.field(converter=ContractState)
    created_at: datetime
    document: StoredFile | None = None
    """The contract document to be signed; None until rendered, and again after a change."""
    envelope_id: str | None = None
    """The signature provider's envelope of the signing round under way."""
    signed_document: StoredFile | None = None
    seller_account: BankAccount | None = None
    """A sale-leaseback's seller (the customer) is paid into this account."""
    version: int = 0

    lifecycle: ClassVar[StateMachine[ContractState]] = CONTRACT_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("partner_id", "application_id", "number")
    effects: ClassVar[Mapping[str, Effect]] = {
        ContractAction.ACTIVATE: _start,
        ContractAction.RECALL: _void_envelope,
        ContractAction.DISBURSE: _disbursed,
    }

    @classmethod
    def draw_up(
        cls,
        application: Application,
        *,
        number: str,
        signers: Sequence[ContractSigner],
        language: str,
        actor: Actor,
        at: datetime,
    ) -> Contract:
        """A draft contract on the terms and plan of *application*, which the move that
        contracts it has just taken out of ``approved``."""
        ensure_may_create(actor, "contract")
        if application.state is not ApplicationState.CONTRACTED:
            raise IllegalTransitionError(
                APPLICATION_LIFECYCLE.name,
                str(application.state),
                "contract",
                APPLICATION_LIFECYCLE.actions_from(application.state),
            )
        if application.plan is None:
            raise DomainError(
                f"application {application.id} was approved without a product's plan; a "
                "contract freezes a plan's schedule, so price it with a product first"
            )
        terms = application.terms
        return cls(
            id=new_id(),
            number=number,
            application_id=application.id,
            partner_id=application.partner_id,
            customer_id=application.customer_id,
            vehicle_id=application.vehicle_id,
            business_type=application.business_type,
            product_version_id=application.product_version_id,
            vehicle_price=terms.vehicle_price,
            down_payment=terms.down_payment,
            principal=Money(application.plan.principal, terms.vehicle_price.currency),
            annual_rate=terms.annual_rate,
            term_months=terms.term_months,
            residual_value=terms.residual_value,
            plan=application.plan,
            signers=tuple(signers),
            language=_language(language),
            start_date=None,
            state=ContractState.DRAFT,
            created_at=require_utc(at),
        )

    def revise(self, changes: DraftChanges, actor: Actor) -> list[str]:
        """Apply data entry to a draft; the names of the fields that changed. A change voids
        the rendered document, which no longer shows the contract."""
        if self.state is not ContractState.DRAFT:
            raise DomainError(
                f"contract {self.number} is {self.state}: only a draft is edited; a signed "
                "contract changes only by reversal or settlement"
            )
        ensure_may_act(actor, self, "contract", "revise")
        checks = Checks()
        language = (
            self.language
            if changes.language is None
            else checks.run(lambda: _language(changes.language or ""))
        )
        signers = checks.run(lambda: self._with_contacts(changes.contacts))
        account = self.seller_account
        if changes.seller_account is not None:
            account = checks.run(lambda: self._seller_account(changes.seller_account))
        if checks.errors or language is None or signers is None:
            raise checks.error()
        changed: list[str] = [
            name
            for name, before, after in (
                ("language", self.language, language),
                ("signers", self.signers, signers),
                ("seller_account", self.seller_account, account),
            )
            if before != after
        ]
        self.language, self.signers, self.seller_account = language, signers, account
        if changed:
            self.document = None
        return changed

    def _seller_account(self, account: BankAccount | None) -> BankAccount:
        if self.business_type is not BusinessType.SALE_LEASEBACK:
            raise ValidationError.single(
                "seller_account", "only a sale-leaseback pays its customer; others pay the dealer"
            )
        assert account is not None
        return attrs.evolve(checked_account(account, "seller_account"), primary=True)

    def _with_contacts(self, contacts: Sequence[SignerContact]) -> tuple[ContractSigner, ...]:
        by_customer = {signer.customer_id: signer for signer in self.signers}
        checks, updated = Checks(), dict(by_customer)
        for index, contact in enumerate(contacts):
            path = f"contacts.{index}"
            signer = by_customer.get(contact.customer_id)
            if signer is None:
                checks.add(f"{path}.customer_id", "is not a signer of this contract")
                continue
            email = _checked(checks, contact.email, f"{path}.email", email_address)
            phone = _checked(checks, contact.phone, f"{path}.phone", telephone)
            updated[signer.customer_id] = attrs.evolve(
                signer, email=email or signer.email, phone=phone or signer.phone
            )
        if checks.errors:
            raise checks.error()
        return tuple(updated[signer.customer_id] for signer in self.signers)

    def signing_errors(self) -> list[FieldError]:
        """Why the contract cannot go for signature yet: no document, or a signer the
        provider cannot reach."""
        errors = []
        if self.document is None:
            errors.append(FieldError("document", "the contract document is not rendered yet"))
        for index, signer in enumerate(self.signers):
            if not (signer.email or signer.phone):
                errors.append(
                    FieldError(f"signers.{index}", f"{signer.name} has no e-mail or phone")
                )
        return errors


def _checked(
    checks: Checks, value: str | None, field: str, check: Callable[[str, str], str]
) -> str | None:
    """*value* as *check* gives it back, None if it is None or at fault (noted in
    *checks*)."""
    return None if value is None else checks.run(functools.partial(check, value, field))


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValidationError.single("language", f"must be one of {', '.join(sorted(LANGUAGES))}")
    return value


def receivables(contract: Contract, rows: Sequence[PlanRow]) -> list[Receivable]:
    """The contract's schedule as receivables, one per installment of the plan's *rows*.

    Each line's principal and interest are the row's. The residual value is owed with the
    last installment (the balloon of a loan, the purchase price a finance lease ends with),
    except for an operating lease, whose vehicle goes back instead. So the receivables'
    principal adds up to the contract's principal, less an operating lease's residual.
    """
    if len(rows) != contract.plan.installments:
        raise DomainError(
            f"the plan has {len(rows)} rows but its totals count {contract.plan.installments}"
        )
    cur = contract.principal.currency
    balloon = Decimal(0)
    if contract.business_type is not BusinessType.OPERATING_LEASE:
        balloon = contract.plan.residual_value
    return [
        Receivable.line(
            contract_id=contract.id,
            sequence=row.number,
            due_date=row.due_date,
            principal=Money(row.principal + (balloon if row is rows[-1] else 0), cur),
            interest=Money(row.interest, cur),
        )
        for row in rows
    ]


def _zero_like(amount: Money) -> Money:
    return Money(amount.currency.zero, amount.currency)


@attrs.define
class Receivable:
    """One schedule line: what falls due on *due_date*, by part, and what has been paid.

    Parts are kept apart because payments are applied to them in a set order and because
    fees, interest and principal go to different ledger accounts.
    """

    id: str
    contract_id: str
    sequence: int
    due_date: date
    principal: Money
    interest: Money
    fee: Money
    paid_principal: Money
    paid_interest: Money
    paid_fee: Money
    penalty: Money
    """Penalty interest accrued while the line is overdue (end of day adds it)."""
    paid_penalty: Money
    written_off_on: date | None = None
    """The business date the company gave up on what is still outstanding."""
    version: int = 0

    @classmethod
    def line(
        cls,
        *,
        contract_id: str,
        sequence: int,
        due_date: date,
        principal: Money,
        interest: Money,
        fee: Money | None = None,
    ) -> Receivable:
        """An unpaid line; every part in the principal's currency, to the cent, not negative."""
        cur = principal.currency
        checks = Checks()
        valid_principal = checks.run(lambda: money_amount(principal, "principal"))
        valid_interest = checks.run(lambda: money_amount(interest, "interest", cur))
        valid_fee = checks.run(lambda: money_amount(fee or _zero_like(principal), "fee", cur))
        for name, part in (
            ("principal", valid_principal),
            ("interest", valid_interest),
            ("fee", valid_fee),
        ):
            if part is not None and part.amount < 0:
                checks.add(name, "must not be negative")
        if not is_whole_number(sequence) or sequence < 1:
            checks.add("sequence", "lines are numbered from 1")
        if valid_principal is None or valid_interest is None or valid_fee is None or checks.errors:
            raise checks.error()
        zero = _zero_like(valid_principal)
        return cls(
            id=new_id(),
            contract_id=contract_id,
            sequence=sequence,
            due_date=due_date,
            principal=valid_principal,
            interest=valid_interest,
            fee=valid_fee,
            paid_principal=zero,
            paid_interest=zero,
            paid_fee=zero,
            penalty=zero,
            paid_penalty=zero,
        )

    @property
    def amount_due(self) -> Money:
        return self.principal + self.interest + self.fee + self.penalty

    @property
    def paid(self) -> Money:
        return self.paid_principal + self.paid_interest + self.paid_fee + self.paid_penalty

    def owed(self, part: str) -> Money:
        """What is still unpaid of *part* (``principal``, ``interest``, ``fee``,
        ``penalty``)."""
        return getattr(self, part) - getattr(self, f"paid_{part}")  # type: ignore[no-any-return]

    def pay(self, part: str, amount: Money) -> None:
        """Add *amount* to what is paid of *part*; a negative amount undoes a payment. Paying
        more than is owed, or undoing more than was paid, is a bug the caller made."""
        paid = getattr(self, f"paid_{part}") + amount
        if paid.amount < 0 or paid > getattr(self, part):
            raise DomainError(f"line {self.sequence}: {part} paid would be {paid.amount}")
        setattr(self, f"paid_{part}", paid)

    @property
    def outstanding(self) -> Money:
        return self.amount_due - self.paid

    @property
    def settled(self) -> bool:
        return self.outstanding.amount <= 0


class PaymentSource(StrEnum):
    """Where money came from; with :attr:`Payment.source_ref` it names the very item."""

    DIRECT_DEBIT = "direct_debit"
    """A debit run's item the bank collected (``source_ref``: the item's id)."""
    BANK_TRANSFER = "bank_transfer"
    """A line of the company's bank statement (``source_ref``: the line's id)."""
    DEALER_SETTLEMENT = "dealer_settlement"
    """A dealer paying for its customers' contracts (corporate settlement)."""
    CASH = "cash"
    OTHER = "other"


@attrs.define
class Payment(Stateful):
    """Money received for a contract, where it came from, and what of it is still unallocated.

    Allocation spreads the amount over the contract's receivables; what no receivable is due
    for stays on the payment as the customer's credit (:attr:`unallocated`), which a later
    installment uses. So allocations plus credit always equal the amount.
    """

    id: str
    contract_id: str
    amount: Money
    received_on: date
    """The business date the money arrived; allocation and interest use it, not the time."""
    reference: str
    """The payer's or the bank's reference, as it came."""
    source: PaymentSource = attrs.field(converter=PaymentSource)
    source_ref: str | None
    """The id of the item it came from (debit item, statement line); one payment per item."""
    recorded_by: str
    """The user who entered it, or the system account that read it from a bank file."""
    unallocated: Money
    state: PaymentState = attrs.field(converter=PaymentState)
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[PaymentState]] = PAYMENT_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("contract_id", "amount", "source")

    @classmethod
    def receive(
        cls,
        *,
        contract_id: str,
        amount: Money,
        received_on: date,
        reference: str,
        source: PaymentSource,
        source_ref: str | None = None,
        actor: Actor,
        at: datetime,
    ) -> Payment:
        ensure_may_create(actor, "payment")
        checks = Checks()
        valid_amount = checks.run(lambda: money_amount(amount, "amount"))
        if valid_amount is not None and valid_amount.amount <= 0:
            checks.add("amount", "must be positive")
        valid_reference = checks.run(lambda: text(reference, "reference"))
        if valid_amount is None or valid_reference is None or checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            contract_id=contract_id,
            amount=valid_amount,
            received_on=received_on,
            reference=valid_reference,
            source=source,
            source_ref=source_ref,
            recorded_by=actor.user_id,
            unallocated=valid_amount,
            state=PaymentState.RECEIVED,
            created_at=require_utc(at),
        )
