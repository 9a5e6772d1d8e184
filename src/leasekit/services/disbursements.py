"""The payout queue: signed contracts reviewed, approved one by one or in batches, and paid
out through the bank, with every attempt tracked.

A signed contract (``contract_signed``) enters the queue by itself: its contract and
application move to ``disbursement_requested`` and a :class:`~leasekit.domain.disbursements.
Disbursement` records what is to be paid to whom and what the automated checks found
(:func:`payout_checks`). A finance reviewer claims it for a lease and approves, rejects or
reports fraud. Approval re-runs the checks (any failure refuses it, with the reasons) and
takes the partner's limit for the amount lent; a batch approves each item in a transaction of
its own and reports each outcome.

The payout runs after the approval commits, in a handler whose bank call happens outside any
transaction: it first asks the bank about the attempt's instruction id (a call that timed out
may have been carried out) and sends the instruction only if the bank has never seen it, so
a payout retried after a timeout is paid once. The bank's receipt moves the item: accepted is
``sent``, settled is ``paid``, refused is a failure, which gives the limit back and returns
the item to the queue. Paid, the contract is disbursed and active, with
``contract_disbursed`` carrying the amounts the vouchers need. A payout the bank accepted but
has not settled yet is followed with :func:`track_payout`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import date
from typing import Final

import attrs

from leasekit.domain.applications import ApplicationAction
from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import Contract, ContractAction, ContractState
from leasekit.domain.credit_limits import LimitMovementKind
from leasekit.domain.disbursements import (
    DISBURSEMENT_LIFECYCLE,
    PAYOUT_REVIEWERS,
    Disbursement,
    DisbursementAction,
    DisbursementState,
    Payee,
    PayoutCheck,
    failed_checks,
)
from leasekit.domain.documents import OwnerKind
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.domain.lifecycle import MAX_REASON
from leasekit.domain.partner_profiles import account_number, mask_number, settlement_account
from leasekit.domain.partners import PartnerCapability
from leasekit.domain.review_flags import ReviewCause, ReviewFlag, ReviewFlagState
from leasekit.errors import DomainError, LeasekitError, NotFoundError, ValidationError
from leasekit.ports import PaymentInstruction, PaymentReceipt, PaymentStatus, send_once
from leasekit.services.blacklist import AddToBlacklist, add_to_blacklist, blacklist_hits
from leasekit.services.commands import Work, command, execute, transition_command
from leasekit.services.context import ServiceContext, scoped, visible_contract, visible_or_not_found
from leasekit.services.credit_limits import move_limit
from leasekit.services.events import handles, handles_gathered
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record
from leasekit.services.workflow import WORKFLOW, move_along

__all__ = [
    "FINAL_EVENTS",
    "BatchApproval",
    "BatchOutcome",
    "DisbursementQuery",
    "ItemOutcome",
    "PayoutFeed",
    "approve_disbursements",
    "batch_contract_numbers",
    "get_disbursement",
    "list_disbursements",
    "next_payout_events",
    "open_payout_feed",
    "pay_out",
    "payout_checks",
    "queue_payout",
    "track_payout",
    "transition_disbursement",
    "withdraw_payouts",
]

_SUBJECT: Final = "disbursement"
MAX_BATCH: Final = 200


def _exposure(contract_id: str) -> str:
    """The reference a contract's exposure holds the partner's limit under."""
    return f"contract:{contract_id}"


# --- the checks ------------------------------------------------------------------------------


def _documents_check(work: Work, contract: Contract) -> PayoutCheck:
    owners = [(OwnerKind.CONTRACT, contract.id), (OwnerKind.APPLICATION, contract.application_id)]
    wanted = work.ctx.payout_rules.documents_for(contract.business_type)
    missing = [kind for kind in wanted if not work.uow.documents.of_owners(owners, kind, 1)]
    if missing:
        return PayoutCheck("documents", False, f"missing: {', '.join(map(str, missing))}")
    return PayoutCheck("documents", True, f"present: {', '.join(map(str, wanted)) or 'none'}")


def _signature_check(work: Work, contract: Contract) -> PayoutCheck:
    """The signed PDF is in the store and still has the digest recorded when it came back."""
    stored = contract.signed_document
    if stored is None:
        return PayoutCheck("signatures", False, "no signed document")
    try:
        digest = hashlib.sha256()
        for chunk in work.ctx.adapters.document_store.open(stored.key):
            digest.update(chunk)
    except NotFoundError:
        return PayoutCheck("signatures", False, "the signed document is missing from the store")
    if digest.hexdigest() != stored.sha256:
        return PayoutCheck("signatures", False, "the signed document changed after signing")
    return PayoutCheck("signatures", True, "the signed document is as it came back")


def _partner_check(work: Work, contract: Contract) -> PayoutCheck:
    partner = work.uow.partners.get(contract.partner_id)
    if not partner.may(PartnerCapability.RECEIVE_DISBURSEMENTS):
        return PayoutCheck("partner_status", False, f"{partner.name} is {partner.state}")
    return PayoutCheck("partner_status", True, f"{partner.name} is {partner.state}")


def _limit_check(work: Work, contract: Contract) -> PayoutCheck:
    try:
        position = work.uow.credit_limits.get(contract.partner_id).position(work.business_date)
    except NotFoundError:
        return PayoutCheck("partner_limit", False, "the partner has no credit limit")
    fits = contract.principal <= position.available
    detail = f"needs {contract.principal.amount}; {position.describe()}"
    return PayoutCheck("partner_limit", fits, detail)


def _fraud_check(work: Work, contract: Contract) -> PayoutCheck:
    """No open review flag on the business, and nobody on it, nor the partner, blacklisted."""
    flags = [
        flag
        for flag in work.uow.review_flags.for_application(contract.application_id)
        if flag.state is ReviewFlagState.OPEN
    ]
    people = [work.uow.customers.get(signer.customer_id) for signer in contract.signers]
    hits = blacklist_hits(
        work.uow,
        id_numbers=[(person.country, person.id_number) for person in people],
        phones=[person.phone for person in people if person.phone],
        partner_ids=[contract.partner_id],
    )
    faults = [f"open review flag: {flag.cause}" for flag in flags]
    faults += [f"blacklisted {hit.kind}" for hit in hits]
    return PayoutCheck("fraud_flags", not faults, "; ".join(faults) or "clear")


def _payee_check(payee: Payee | None, contract: Contract) -> PayoutCheck:
    if payee is not None:
        return PayoutCheck("payee_account", True, f"{payee.name}, {mask_number(payee.account)}")
    if contract.business_type is BusinessType.SALE_LEASEBACK:
        return PayoutCheck("payee_account", False, "enter the seller's account on the contract")
    return PayoutCheck("payee_account", False, "the partner has no primary settlement account")


def _payee(work: Work, contract: Contract) -> Payee | None:
    """The dealer's settlement account; for a sale-leaseback, the seller's own."""
    if contract.business_type is BusinessType.SALE_LEASEBACK:
        account = contract.seller_account
    else:
        account = settlement_account(work.uow.partners.get(contract.partner_id).profile)
    if account is None:
        return None
    return Payee(account.holder, account_number(account), account.bank_name)


def payout_checks(work: Work, contract: Contract, payee: Payee | None) -> list[PayoutCheck]:
    """What must hold before *contract* is paid out, each check with what it found."""
    return [
        _documents_check(work, contract),
        _signature_check(work, contract),
        _partner_check(work, contract),
        _limit_check(work, contract),
        _fraud_check(work, contract),
        _payee_check(payee, contract),
    ]


# --- into the queue --------------------------------------------------------------------------


def _move_contract(
    work: Work, contract: Contract, action: ContractAction, reason: str | None = None, **params: str
) -> None:
    move_along(work, contract, work.uow.contracts, action, reason, **params)


def _move_application(
    work: Work, contract: Contract, action: ApplicationAction, reason: str | None = None
) -> None:
    application = work.uow.applications.get(contract.application_id)
    move_along(work, application, work.uow.applications, action, reason)


def queue_payout(work: Work, contract: Contract) -> None:
    """Queue the payout of *contract*, which has just asked for disbursement."""
    payee = _payee(work, contract)
    amount = contract.vehicle_price - contract.down_payment
    item = Disbursement.queue(
        contract_id=contract.id,
        contract_number=contract.number,
        application_id=contract.application_id,
        partner_id=contract.partner_id,
        amount=amount,
        payee=payee,
        checks=payout_checks(work, contract, payee),
        actor=WORKFLOW,
        at=work.at,
    )
    work.uow.disbursements.add(item)
    _move_application(work, contract, ApplicationAction.REQUEST_DISBURSEMENT)
    work.event(
        "disbursement_queued",
        _SUBJECT,
        item.id,
        {"contract_id": contract.id, "contract_number": contract.number,
         "partner_id": contract.partner_id, "amount": str(amount.amount),
         "currency": amount.currency.code,
         "failed_checks": ", ".join(c.name for c in item.checks if not c.passed)},
    )  # fmt: skip


@handles("contract_signed", name="payouts.queue")
def queue_signed(work: Work, event: DomainEvent) -> None:
    """A signed contract asks for its disbursement and enters the payout queue."""
    if event.subject != "contract":
        return
    contract = work.uow.contracts.get(event.subject_id)
    if contract.state is not ContractState.SIGNED:
        return  # cancelled, or queued already
    _move_contract(work, contract, ContractAction.REQUEST_DISBURSEMENT)
    queue_payout(work, contract)


# --- reviewing -------------------------------------------------------------------------------


def _claim(work: Work, item: Disbursement) -> None:
    item.lock_expires_at = work.at + work.ctx.payout_rules.claim_lease


def _approve(work: Work, item: Disbursement) -> None:
    """Check again, now: a failed check refuses the approval; then take the partner's limit
    for the amount lent (refused, with the figures, when it is not available)."""
    contract = work.uow.contracts.get(item.contract_id)
    if contract.state is not ContractState.DISBURSEMENT_REQUESTED:
        raise DomainError(f"contract {contract.number} is {contract.state}: nothing to pay")
    payee = _payee(work, contract)
    item.recheck(payout_checks(work, contract, payee), work.at)
    refusal = failed_checks(item.checks)
    if refusal is not None:
        raise refusal
    item.payee = payee
    move_limit(
        work, contract.partner_id, LimitMovementKind.TAKE, _exposure(contract.id),
        contract.principal.amount, f"payout of contract {contract.number}",
    )  # fmt: skip


def _back_to_signed(work: Work, item: Disbursement) -> None:
    """A refused payout leaves the contract signed: it may be queued again once mended."""
    contract = work.uow.contracts.get(item.contract_id)
    why = f"payout refused: {item.reason}"
    _move_contract(work, contract, ContractAction.REJECT_DISBURSEMENT, why)
    _move_application(work, contract, ApplicationAction.REJECT_DISBURSEMENT, why)


def _fraud(work: Work, item: Disbursement) -> None:
    """Fraud counts against the partner's rating (a review flag on the business, which its
    fraud hits count) and, when the reviewer names a person on the contract, puts that
    person's id number on the blacklist."""
    _back_to_signed(work, item)
    reason = f"fraud at payout of contract {item.contract_number}: {item.reason}"
    _flag(work, item, reason)
    if item.reported_person is not None:
        _blacklist(work, item, item.reported_person, reason)


def _flag(work: Work, item: Disbursement, reason: str) -> None:
    application = work.uow.applications.get(item.application_id)
    earlier = work.uow.review_flags.for_application(application.id)
    if any(flag.cause is ReviewCause.FRAUD_AT_PAYOUT for flag in earlier):
        return  # reported before, at an earlier attempt: one hit per business
    flag = ReviewFlag.raise_on(
        application, ReviewCause.FRAUD_AT_PAYOUT, reason[:MAX_REASON], actor=WORKFLOW,
        at=work.at,
    )  # fmt: skip
    work.uow.review_flags.add(flag)
    work.event(
        "review_flag_raised", "review_flag", flag.id,
        {"application_id": application.id, "partner_id": application.partner_id,
         "cause": str(flag.cause)},
    )  # fmt: skip


def _blacklist(work: Work, item: Disbursement, customer_id: str, reason: str) -> None:
    """The named person's id number on the blacklist, by the workflow on the reviewer's
    report (the reviewer's own report is the event before it), unless it is there already."""
    contract = work.uow.contracts.get(item.contract_id)
    if customer_id not in {signer.customer_id for signer in contract.signers}:
        raise ValidationError.single("person", "is not a customer on this contract")
    person = work.uow.customers.get(customer_id)
    if blacklist_hits(work.uow, id_numbers=[(person.country, person.id_number)]):
        return
    request = AddToBlacklist(reason[:1000], id_number=person.id_number, country=person.country)
    add_to_blacklist.within(attrs.evolve(work, actor=WORKFLOW), request)


transition_disbursement = transition_command(
    _SUBJECT,
    DISBURSEMENT_LIFECYCLE,
    lambda uow: uow.disbursements,
    before={DisbursementAction.CLAIM: _claim, DisbursementAction.APPROVE: _approve},
    after={DisbursementAction.REJECT: _back_to_signed, DisbursementAction.REPORT_FRAUD: _fraud},
    roles=frozenset({*PAYOUT_REVIEWERS, Role.FINANCE_DIRECTOR}),
)
"""Claim, release, approve, reject or report fraud on a payout (see the module)."""


@attrs.frozen
class BatchApproval:
    """Payouts to approve together; each is approved or refused on its own."""

    ids: tuple[str, ...] = attrs.field(
        metadata={"description": f"The payouts' ids, 1 to {MAX_BATCH}, each once."}
    )


@attrs.frozen
class ItemOutcome:
    """One payout of a batch: approved, or why not (the error's kind and message)."""

    id: str
    approved: bool
    error: str | None = None
    """The kind of refusal: ``ValidationError`` (a check failed), ``LimitExceededError``,
    ``ObjectPermissionError`` (someone else holds it), ``IllegalTransitionError`` ..."""
    detail: str | None = None


@attrs.frozen
class BatchOutcome:
    items: tuple[ItemOutcome, ...]

    @property
    def approved(self) -> int:
        return sum(item.approved for item in self.items)


def approve_disbursements(
    ctx: ServiceContext,
    actor: Actor,
    batch: BatchApproval,
    /,
    *,
    idempotency_key: str | None = None,
) -> BatchOutcome:
    """Approve every payout in *batch*, each in a transaction of its own: one that is refused
    (a failed check, someone else's claim, a limit run out) is reported with why, and never
    holds up or half-applies the others. A retried batch (same key) answers each approved
    item as before."""
    transition_disbursement.authorize(actor)
    if not 1 <= len(batch.ids) <= MAX_BATCH:
        raise ValidationError.single("ids", f"name 1 to {MAX_BATCH} payouts")
    if len(set(batch.ids)) != len(batch.ids):
        raise ValidationError.single("ids", "an id is listed twice")
    outcomes = []
    for item_id in batch.ids:
        key = None if idempotency_key is None else f"{idempotency_key}:{item_id}"
        try:
            transition_disbursement(
                ctx, actor, item_id, DisbursementAction.APPROVE, idempotency_key=key
            )
        except LeasekitError as exc:
            outcomes.append(ItemOutcome(item_id, False, type(exc).__name__, str(exc)))
        else:
            outcomes.append(ItemOutcome(item_id, True))
    return BatchOutcome(tuple(outcomes))


def batch_contract_numbers(
    ctx: ServiceContext, actor: Actor, item_ids: Collection[str], /
) -> dict[str, str]:
    """The contract number of each payout of a batch, read at once, so that its outcome can
    name them; for those who approve payouts (who see every one)."""
    transition_disbursement.authorize(actor)
    with ctx.uow_factory() as uow:
        return uow.disbursements.contract_numbers(item_ids)


def withdraw_payouts(work: Work, contract: Contract) -> None:
    """Before *contract* is cancelled: its payout still in the queue is rejected; one the
    bank has (approved, sent, paid) refuses the cancellation."""
    for item in work.uow.disbursements.for_contract(contract.id):
        if item.state in (DisbursementState.QUEUED, DisbursementState.CLAIMED):
            why = f"contract {contract.number} was cancelled"
            move_along(work, item, work.uow.disbursements, DisbursementAction.REJECT, why)
        elif item.state is not DisbursementState.REJECTED:
            raise DomainError(
                f"the payout of contract {contract.number} is {item.state}: a contract whose "
                "money is at the bank or paid is not cancelled"
            )


# --- paying out ------------------------------------------------------------------------------


def _instruction(item: Disbursement, on: date) -> PaymentInstruction:
    assert item.payee is not None  # approval checked the payee's account
    return PaymentInstruction(
        instruction_id=item.current.instruction_id,
        payee_name=item.payee.name,
        payee_account=item.payee.account,
        amount=item.amount,
        requested_date=on,
        remittance=f"Contract {item.contract_number}",
        payee_bank=item.payee.bank,
    )


def _ask_bank(ctx: ServiceContext, event: DomainEvent) -> PaymentReceipt | None:
    """The bank's receipt for the approved attempt, before any transaction: what the bank
    knows of its instruction id first (an earlier call may have timed out after the bank
    acted), and only if it knows nothing, the instruction sent."""
    if event.subject != _SUBJECT:
        return None
    with ctx.uow_factory() as uow:
        item = uow.disbursements.get(event.subject_id)
    if item.state is not DisbursementState.APPROVED:
        return None  # answered already
    if item.current.instruction_id != event.payload.get("instruction_id"):
        return None  # an earlier attempt's approval
    return send_once(ctx.adapters.bank, _instruction(item, ctx.moment()[1]))


@handles_gathered("disbursement_approved", name="payouts.pay_out", gather=_ask_bank)
def pay_out(work: Work, event: DomainEvent, receipt: PaymentReceipt | None) -> None:
    """Record what the bank answered for an approved payout (see the module)."""
    if receipt is None:
        return
    item = work.uow.disbursements.get(event.subject_id)
    if item.state is DisbursementState.APPROVED and item.current.instruction_id == (
        receipt.instruction_id
    ):
        _record_receipt(work, item, receipt)


def _record_receipt(work: Work, item: Disbursement, receipt: PaymentReceipt) -> None:
    if receipt.status is PaymentStatus.REJECTED:
        _fail(work, item, receipt.reason or "refused by the bank")
        return
    if item.state is DisbursementState.APPROVED:
        _move(work, item, DisbursementAction.SEND, bank_reference=receipt.bank_reference)
    if receipt.status is PaymentStatus.SETTLED:
        _settle(work, item)


def _move(
    work: Work, item: Disbursement, action: DisbursementAction, reason: str | None = None,
    **params: str,
) -> None:  # fmt: skip
    move_along(work, item, work.uow.disbursements, action, reason, **params)


def _fail(work: Work, item: Disbursement, reason: str) -> None:
    """The limit taken at approval goes back; the item waits in the queue again."""
    _move(work, item, DisbursementAction.FAIL, reason)
    contract = work.uow.contracts.get(item.contract_id)
    move_limit(
        work, contract.partner_id, LimitMovementKind.RELEASE, _exposure(contract.id),
        contract.principal.amount, f"payout of contract {contract.number} failed: {reason}",
    )  # fmt: skip


def _settle(work: Work, item: Disbursement) -> None:
    """Paid: the contract is disbursed and active, and so is its application."""
    _move(work, item, DisbursementAction.SETTLE)
    contract = work.uow.contracts.get(item.contract_id)
    _move_contract(
        work, contract, ContractAction.DISBURSE,
        disbursement_id=item.id, payout_amount=str(item.amount.amount),
        bank_reference=item.current.bank_reference or "",
    )  # fmt: skip
    _move_contract(work, contract, ContractAction.ACTIVATE)
    _move_application(work, contract, ApplicationAction.DISBURSE)
    _move_application(work, contract, ApplicationAction.ACTIVATE)


@command(
    "record_payout_status",
    subject=_SUBJECT,
    roles=frozenset({Role.SYSTEM}),
    reload=lambda uow, item_id: uow.disbursements.get(item_id),
    quiet=True,
)
def record_payout_status(work: Work, receipt: PaymentReceipt) -> Disbursement:
    """Record the bank's current receipt for a payout that is out at the bank."""
    item_id = receipt.instruction_id.rsplit("-", 1)[0]
    item = work.uow.disbursements.get(item_id)
    out = item.state in (DisbursementState.APPROVED, DisbursementState.SENT)
    if out and item.current.instruction_id == receipt.instruction_id:
        _record_receipt(work, item, receipt)
    return item


def track_payout(ctx: ServiceContext, actor: Actor, item_id: str, /) -> Disbursement:
    """Ask the bank where a payout that is out stands, and record its answer: a settled
    payment is paid, a refused or returned one fails back to the queue. Back office only."""
    transition_disbursement.authorize(actor)
    item = get_disbursement(ctx, actor, item_id)
    if item.state not in (DisbursementState.APPROVED, DisbursementState.SENT):
        return item
    receipt = ctx.adapters.bank.payment_status(item.current.instruction_id)
    if receipt is None:
        return item
    return execute(ctx, WORKFLOW, record_payout_status, receipt)


# --- following ------------------------------------------------------------------------------

_FOLLOWED: Final = ("disbursement",)
_LOOK_BACK: Final = 200
"""How far behind its position a feed looks again: on PostgreSQL a transaction that took an
earlier event id may commit after a later one, so a late event still gets through."""
FINAL_EVENTS: Final = frozenset({"disbursement_paid", "disbursement_rejected",
                                 "disbursement_fraud_reported"})  # fmt: skip
"""After one of these, a feed that follows one contract has nothing more to say."""


@attrs.define
class PayoutFeed:
    """One client's place in the payout events: the position it has read up to and the
    events it has had behind it, so none is sent twice."""

    position: int
    contract_id: str | None = None
    seen: set[int] = attrs.field(factory=set)


def open_payout_feed(
    ctx: ServiceContext, actor: Actor, after: int | None, contract_id: str | None, /
) -> PayoutFeed:
    """A feed of the payout events the actor may see from now, or from just after *after*
    (a reconnecting client's last event), of one contract's payouts if *contract_id*."""
    with ctx.uow_factory() as uow:
        if contract_id is not None:
            visible_contract(uow, actor, contract_id)
        if after is None:
            after = uow.event_log.last_position()
        behind = uow.event_log.after(_FOLLOWED, max(after - _LOOK_BACK, 0), _LOOK_BACK)
    return PayoutFeed(after, contract_id, {position for position, _ in behind if position <= after})


def _follows(actor: Actor, feed: PayoutFeed, event: DomainEvent) -> bool:
    payload = event.payload
    if actor.is_dealer and payload.get("partner_id") != actor.partner_id:
        return False
    return feed.contract_id is None or payload.get("contract_id") == feed.contract_id


def next_payout_events(
    ctx: ServiceContext, actor: Actor, feed: PayoutFeed, /
) -> list[tuple[int, DomainEvent]]:
    """The payout events committed since the feed last read, oldest first, each with its
    position (the stream's event id)."""
    with ctx.uow_factory() as uow:
        found = uow.event_log.after(_FOLLOWED, max(feed.position - _LOOK_BACK, 0), 500)
    fresh = [(position, event) for position, event in found if position not in feed.seen]
    for position, _ in found:
        feed.seen.add(position)
        feed.position = max(feed.position, position)
    feed.seen = {position for position in feed.seen if position > feed.position - _LOOK_BACK}
    return [(position, event) for position, event in fresh if _follows(actor, feed, event)]


# --- reading ---------------------------------------------------------------------------------


@attrs.frozen
class DisbursementQuery:
    """Which payouts to list; every field left out matches all."""

    state: DisbursementState | None = None
    partner_id: str | None = None
    contract_id: str | None = None
    locked_by: str | None = None
    created_from: date | None = None
    created_to: date | None = None


list_disbursements: Lister[DisbursementQuery, Record] = lister(
    "list_disbursements",
    DisbursementQuery,
    lambda uow: uow.disbursements,
    scoped,
    """List payouts.

    A dealer user sees its own partner's payouts; back-office staff see all.
    ``?state=queued`` is the queue; ``locked_by`` one reviewer's claimed items.""",
)


def get_disbursement(ctx: ServiceContext, actor: Actor, item_id: str, /) -> Disbursement:
    """Get a payout: its checks, its claim and every attempt at the bank."""
    with ctx.uow_factory() as uow:
        return visible_or_not_found(actor, uow.disbursements.get(item_id), _SUBJECT, item_id)
