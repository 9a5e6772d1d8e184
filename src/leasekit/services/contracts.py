"""Contracts: drawn up from approved applications, edited while drafts, rendered, and signed
through the signature provider.

When an application is approved (``application_approved``), an in-process handler contracts
it and draws up its contract: the next number of the company's year, the approved terms and
plan, the signers (the customer, then the co-applicants and guarantors) and the schedule
frozen as receivables, one per installment. The contract document is rendered from the
template of the business type and language by the next handler (``contract_drawn_up``), and
again after every change to the draft, so that the document in the store is the draft's.

Sending for signature hands the document to the signature provider as one envelope; the
envelope's outcome is fetched by :func:`check_signature` (a poll, or a provider's callback
naming the envelope). Signed, the signed PDF is stored and the contract and its application
are signed; declined or expired, the contract goes back to draft to be sent again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

import attrs

from leasekit.domain.applications import Application, ApplicationAction, ApplicationState
from leasekit.domain.contract_documents import DocumentFee, document_of
from leasekit.domain.contracts import (
    Contract,
    ContractAction,
    ContractSigner,
    ContractState,
    DraftChanges,
    Receivable,
    SignerRole,
    StoredFile,
    receivables,
)
from leasekit.domain.documents import OwnerKind
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import BACK_OFFICE, ORIGINATORS, Actor, Role
from leasekit.domain.plans import PartyRole
from leasekit.errors import DomainError, ValidationError
from leasekit.ports import SignatureRequest, SignatureStatus, Signer
from leasekit.services.commands import Work, at_version, command, transition_command
from leasekit.services.context import (
    ServiceContext,
    back_office_only,
    scoped,
    visible_or_not_found,
)
from leasekit.services.disbursements import queue_payout, withdraw_payouts
from leasekit.services.events import handles
from leasekit.services.funds import write_off_receivables
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record
from leasekit.services.workflow import move_along

__all__ = [
    "ContractQuery",
    "ContractRevision",
    "ContractTrace",
    "EnvelopeCheck",
    "check_signature",
    "contract_file",
    "draw_up",
    "draw_up_approved",
    "get_contract",
    "list_contracts",
    "render_drawn_up",
    "revise_contract",
    "trace_contract",
    "transition_contract",
]

_SUBJECT: Final = "contract"
_EDITORS: Final = frozenset({*ORIGINATORS, Role.MANAGER})
_ROLE_OF_PARTY: Final = {
    PartyRole.CO_APPLICANT: SignerRole.CO_APPLICANT,
    PartyRole.GUARANTOR: SignerRole.GUARANTOR,
}


# --- drawing up ------------------------------------------------------------------------------


def _signers(work: Work, application: Application) -> list[ContractSigner]:
    """The customer first, then the other parties in the order the application lists them."""
    people = [(application.customer_id, SignerRole.CUSTOMER)]
    people += [(party.customer_id, _ROLE_OF_PARTY[party.role]) for party in application.parties]
    signers = []
    for customer_id, role in people:
        customer = work.uow.customers.get(customer_id)
        signers.append(ContractSigner(customer.id, role, customer.name, phone=customer.phone))
    return signers


def draw_up(work: Work, application: Application) -> Contract:
    """The contract of *application*, just moved to ``contracted``, with its receivables.
    Its document is rendered after the commit (:func:`render_drawn_up`): the year's number
    counter stays locked until the commit, and rendering takes a while."""
    rules = work.ctx.contracting
    year = work.business_date.year
    number = rules.numbering.format(
        year, work.uow.contracts.next_sequence(rules.numbering.company, year)
    )
    contract = Contract.draw_up(
        application,
        number=number,
        signers=_signers(work, application),
        language=rules.language,
        actor=work.actor,
        at=work.at,
    )
    lines = receivables(contract, work.uow.plan_rows.for_application(application.id))
    work.uow.contracts.add(contract)
    work.uow.receivables.add_many(lines)
    work.event(
        "contract_drawn_up",
        _SUBJECT,
        contract.id,
        {"number": contract.number, "application_id": application.id,
         "partner_id": contract.partner_id, "business_type": str(contract.business_type),
         "principal": str(contract.principal.amount), "currency": contract.principal.currency.code,
         "installments": len(lines)},
    )  # fmt: skip
    return contract


@handles("application_approved", name="contracts.draw_up")
def draw_up_approved(work: Work, event: DomainEvent) -> None:
    """Contract an approved application and draw up its contract (see the module)."""
    if event.subject != "application":
        return
    application = work.uow.applications.get(event.subject_id)
    if application.state is not ApplicationState.APPROVED or application.plan is None:
        return  # moved on already, or approved without a plan to freeze
    move_along(work, application, work.uow.applications, ApplicationAction.CONTRACT)
    draw_up(work, application)


# --- the document ----------------------------------------------------------------------------


@handles("contract_drawn_up", name="contracts.render")
def render_drawn_up(work: Work, event: DomainEvent) -> None:
    """Render a drawn-up contract's document, unless data entry has rendered it already."""
    if event.subject != _SUBJECT:
        return
    contract = work.uow.contracts.get(event.subject_id)
    if contract.state is not ContractState.DRAFT or contract.document is not None:
        return
    _render_and_store(work, contract, "contract_document_rendered")


def _store(work: Work, contract: Contract, name: str, content: bytes) -> StoredFile:
    """*content* in the document store under a key its digest names, so a retry that stores
    it again writes the same file."""
    sha256 = hashlib.sha256(content).hexdigest()
    key = f"contracts/{contract.id}/{name}-{sha256[:16]}.pdf"
    work.ctx.adapters.document_store.put(key, [content])
    return StoredFile(key, sha256, len(content))


def _fees(work: Work, contract: Contract) -> list[DocumentFee]:
    """The product's fees as this deal comes to them (charged on price less down payment)."""
    if contract.product_version_id is None:
        return []
    version = work.uow.product_versions.get(contract.product_version_id)
    base = contract.vehicle_price - contract.down_payment
    return [
        DocumentFee(fee.name, fee.charge(base).amount, fee.financed) for fee in version.terms.fees
    ]


def _render_and_store(work: Work, contract: Contract, name: str, **details: str) -> None:
    """Render the draft's document, store the contract with it and record *name* with the
    document's digest."""
    _render(work, contract, work.uow.receivables.list_for_contract(contract.id))
    work.uow.contracts.update(contract)
    assert contract.document is not None
    work.event(
        name,
        _SUBJECT,
        contract.id,
        {"number": contract.number, "partner_id": contract.partner_id,
         "document_sha256": contract.document.sha256, **details},
    )  # fmt: skip


def _render(work: Work, contract: Contract, lines: Sequence[Receivable]) -> None:
    """Render the draft's document from its template and keep it."""
    people = {s.customer_id: work.uow.customers.get(s.customer_id) for s in contract.signers}
    document = document_of(
        contract,
        lines,
        company=work.ctx.contracting.company_name,
        dealer=work.uow.partners.get(contract.partner_id).name,
        vehicle=work.uow.vehicles.get(contract.vehicle_id),
        people=people,
        fees=_fees(work, contract),
        issued_on=work.business_date,
    )
    contract.document = _store(work, contract, "contract", work.ctx.render_contract(document))


@attrs.frozen
class ContractRevision:
    """Data entry on a draft: the document's language, signers' e-mail addresses and phones,
    a sale-leaseback seller's account."""

    contract_id: str
    changes: DraftChanges
    expected_version: int | None = None


@command(
    "revise_contract",
    subject=_SUBJECT,
    reload=lambda uow, contract_id: uow.contracts.get(contract_id),
    roles=_EDITORS,
    quiet=True,
)
def revise_contract(work: Work, request: ContractRevision) -> Contract:
    """Change a draft contract; its document is rendered again. Nothing changed, nothing is
    recorded."""
    contract = _load(work, request.contract_id, request.expected_version)
    changed = contract.revise(request.changes, work.actor)
    if changed:
        _render_and_store(work, contract, "contract_revised", changed=", ".join(changed))
    return contract


def _load(work: Work, contract_id: str, expected_version: int | None = None) -> Contract:
    contract = visible_or_not_found(
        work.actor, work.uow.contracts.get(contract_id), _SUBJECT, contract_id
    )
    return at_version(_SUBJECT, contract_id, contract, expected_version)


# --- signing ---------------------------------------------------------------------------------


def _send(work: Work, contract: Contract) -> None:
    """Open the envelope: the current document, every signer, and a request id of the
    contract's version, so that a send retried after a rollback gets the envelope the first
    one opened, and a new round (after a decline or a recall) a new one."""
    errors = contract.signing_errors()
    if errors:
        raise ValidationError(errors)
    assert contract.document is not None
    content = b"".join(work.ctx.adapters.document_store.open(contract.document.key))
    request = SignatureRequest(
        request_id=f"{contract.id}-v{contract.version}",
        title=f"Contract {contract.number}",
        filename=f"{contract.number}.pdf",
        document=content,
        signers=[Signer(s.name, email=s.email, phone=s.phone) for s in contract.signers],
    )
    contract.envelope_id = work.ctx.adapters.signature_provider.request(request)


transition_contract = transition_command(
    _SUBJECT,
    Contract.lifecycle,
    lambda uow: uow.contracts,
    before={ContractAction.SEND_FOR_SIGNATURE: _send, ContractAction.CANCEL: withdraw_payouts},
    after={
        ContractAction.REQUEST_DISBURSEMENT: queue_payout,
        ContractAction.WRITE_OFF: write_off_receivables,
    },
    roles=frozenset({*BACK_OFFICE, *ORIGINATORS}),
)
"""Send a draft for signature, recall it, cancel it, or queue a signed contract's payout
again after a refused one; signing and payouts are the workflow's (:func:`check_signature`,
:mod:`leasekit.services.disbursements`)."""


@attrs.frozen
class EnvelopeCheck:
    """Which contract's envelope to ask the signature provider about."""

    contract_id: str


def _signed(work: Work, contract: Contract, envelope_id: str) -> None:
    """Every signer has signed: the signed PDF is kept, and contract and application are
    signed (which queues the payout)."""
    content = work.ctx.adapters.signature_provider.signed_document(envelope_id)
    contract.signed_document = _store(work, contract, "signed", content)
    move_along(work, contract, work.uow.contracts, ContractAction.SIGN)
    application = work.uow.applications.get(contract.application_id)
    move_along(work, application, work.uow.applications, ApplicationAction.SIGN)


def _not_signed(work: Work, contract: Contract, status: SignatureStatus) -> None:
    why = f"the signature envelope was {status}: send the contract again"
    move_along(work, contract, work.uow.contracts, ContractAction.RECALL, why)


@command(
    "check_signature",
    subject=_SUBJECT,
    reload=lambda uow, contract_id: uow.contracts.get(contract_id),
    roles=frozenset({Role.OFFICER, Role.SYSTEM}),
    quiet=True,
)
def check_signature(work: Work, request: EnvelopeCheck) -> Contract:
    """Ask the signature provider where the contract's envelope stands: signed, the signed
    PDF is stored and the contract signed; declined or expired, it goes back to draft;
    pending, nothing changes."""
    contract = _load(work, request.contract_id)
    envelope_id = contract.envelope_id
    if contract.state is not ContractState.SENT_FOR_SIGNATURE or envelope_id is None:
        raise DomainError(f"contract {contract.number} is {contract.state}, not out for signature")
    status = work.ctx.adapters.signature_provider.status(envelope_id)
    if status is SignatureStatus.SIGNED:
        _signed(work, contract, envelope_id)
    elif status is not SignatureStatus.PENDING:
        _not_signed(work, contract, status)
    return contract


# --- reading ---------------------------------------------------------------------------------


def get_contract(ctx: ServiceContext, actor: Actor, contract_id: str, /) -> Contract:
    """Get a contract. Another partner's contract reads as missing, like a missing one."""
    with ctx.uow_factory() as uow:
        return visible_or_not_found(actor, uow.contracts.get(contract_id), _SUBJECT, contract_id)


@attrs.frozen
class ContractQuery:
    """Which contracts to list; every field left out matches all."""

    partner_id: str | None = None
    state: ContractState | None = None
    application_id: str | None = None
    customer_id: str | None = None
    number: str | None = None
    created_from: date | None = None
    created_to: date | None = None


list_contracts: Lister[ContractQuery, Record] = lister(
    "list_contracts",
    ContractQuery,
    lambda uow: uow.contracts,
    scoped,
    """List contracts.

    A dealer user sees its own partner's contracts; back-office staff see all.
    ``?state=draft`` keeps those in one state; ``number`` finds one by its number.""",
)


@attrs.frozen
class TraceEntry:
    """One step in a contract's history: what happened to which object, when, by whom."""

    at: datetime
    subject: str
    subject_id: str
    action: str
    actor_id: str | None
    details: Mapping[str, Any]


@attrs.frozen
class ContractTrace:
    """Everything that led to a contract and followed it, oldest first: its application and
    the approval tasks that decided it, the documents, the contract's drawing up and signing,
    and every payout and attempt at the bank."""

    contract_id: str
    number: str
    state: ContractState
    entries: tuple[TraceEntry, ...]


_TRACE_DOCUMENTS: Final = 200


def trace_contract(ctx: ServiceContext, actor: Actor, contract_id: str, /) -> ContractTrace:
    """The contract's history across every object it touched, from the audit log. Back
    office only: it shows reviewers' reasons."""
    back_office_only(actor, "a contract's trace")
    with ctx.uow_factory() as uow:
        contract = uow.contracts.get(contract_id)
        application_id = contract.application_id
        owners = [(OwnerKind.CONTRACT, contract.id), (OwnerKind.APPLICATION, application_id)]
        subjects = [
            ("application", application_id),
            *(("approval_task", task.id)
              for task in uow.approval_tasks.list_for_application(application_id)),
            ("contract", contract.id),
            *(("disbursement", item.id) for item in uow.disbursements.for_contract(contract.id)),
            *(("document", document.id)
              for document in uow.documents.of_owners(owners, None, _TRACE_DOCUMENTS)),
        ]  # fmt: skip
        records = [record for subject in subjects for record in uow.audit.for_subject(*subject)]
    records.sort(key=lambda record: (record.at, record.id))
    entries = tuple(
        TraceEntry(r.at, r.subject, r.subject_id, r.action, r.actor_id, r.details) for r in records
    )
    return ContractTrace(contract.id, contract.number, contract.state, entries)


def contract_file(
    ctx: ServiceContext, actor: Actor, contract_id: str, signed: bool, /
) -> tuple[Contract, StoredFile, Iterator[bytes]]:
    """The contract's document (or its signed copy) and its content in chunks."""
    contract = get_contract(ctx, actor, contract_id)
    stored = contract.signed_document if signed else contract.document
    if stored is None:
        what = "signed document" if signed else "document"
        raise DomainError(f"contract {contract.number} has no {what} yet")
    return contract, stored, ctx.adapters.document_store.open(stored.key)
