"""The payout queue on SQLite and PostgreSQL: a signed contract is queued with its checks;
approval re-runs them and takes the partner's limit; a batch approves what passes and reports
the rest, nothing half-done; the bank is asked before any resend, so a payout retried after a
timeout is paid once; a refused payout gives the limit back and waits in the queue again;
paid, the contract and its application are active."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from importlib import resources

import pytest

from leasekit.demo import credit_code, supply_onboarding_documents
from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.applications import ApplicationState
from leasekit.domain.clock import FixedClock
from leasekit.domain.contracts import Contract, ContractState, DraftChanges, SignerContact
from leasekit.domain.disbursements import Disbursement, DisbursementState
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partner_profiles import BankAccount
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.domain.products import Product
from leasekit.domain.review_flags import ReviewCause
from leasekit.errors import (
    AdapterError,
    ConflictError,
    DomainError,
    IllegalTransitionError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from leasekit.services import (
    applications,
    blacklist,
    contracts,
    credit_limits,
    disbursements,
    documents,
    partners,
    users,
)
from leasekit.services.catalog import handlers
from leasekit.services.context import ServiceContext
from leasekit.services.contracts import ContractRevision, EnvelopeCheck
from leasekit.services.disbursements import BatchApproval, DisbursementQuery
from leasekit.services.end_of_day import close_business_day
from leasekit.services.events import HandlerSubscriber
from leasekit.testing import Fakes

from .conftest import dealer_of, deliver
from .test_contracts import approved, drawn_up

SYSTEM = Actor.system()
ACCOUNT = BankAccount(scheme="cn_bank_card", holder="Sunrise Motors", bank_name="ICBC Shenzhen",
                      card_number="6222020200112233446", primary=True)  # fmt: skip
INVOICE = resources.files("leasekit.samples").joinpath("vehicle-invoice.pdf").read_bytes()


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(
        ctx, admin, users.CreateUser("finance", "Finance", Role.FINANCE)
    ).actor()


@pytest.fixture
def settled_partner(ctx: ServiceContext, officer: Actor, partner: Partner) -> Partner:
    """The partner with its settlement account on file."""
    change = partners.ProfileChange(
        name=partner.name, bank_accounts=(ACCOUNT,), reason="settlement account"
    )
    return partners.revise_partner(ctx, officer, partners.ProfileRevision(partner.id, change))


def signed(ctx: ServiceContext, officer: Actor, fakes: Fakes, contract: Contract) -> Contract:
    contact = SignerContact(contract.signers[0].customer_id, email="zhang.wei@example.com")
    contracts.revise_contract(
        ctx, officer, ContractRevision(contract.id, DraftChanges(contacts=(contact,)))
    )
    sent = contracts.transition_contract(ctx, officer, contract.id, "send_for_signature")
    assert sent.envelope_id is not None
    fakes.signature_provider.sign(sent.envelope_id)
    return contracts.check_signature(ctx, officer, EnvelopeCheck(contract.id))


def invoiced(ctx: ServiceContext, dealer: Actor, contract: Contract) -> None:
    upload = documents.UploadDocument(
        OwnerKind.CONTRACT, contract.id, DocumentKind.VEHICLE_INVOICE, "invoice.pdf"
    )
    documents.upload_document(ctx, dealer, upload, [INVOICE])


def queued_item(ctx: ServiceContext, contract: Contract) -> Disbursement:
    """Let the workflow queue the signed contract's payout."""
    deliver(ctx, "payouts.queue", "contract_signed", "contract", contract.id)
    query = DisbursementQuery(contract_id=contract.id, state=DisbursementState.QUEUED)
    (record,) = disbursements.list_disbursements(ctx, SYSTEM, query).items
    return disbursements.get_disbursement(ctx, SYSTEM, record["id"])


def payout(
    ctx: ServiceContext, dealer: Actor, officer: Actor, fakes: Fakes, partner: Partner, n: int,
    *, invoice: bool = True,
) -> Disbursement:  # fmt: skip
    """Application *n*, approved, drawn up, signed and (with its invoice) queued for payout."""
    contract = drawn_up(ctx, approved(ctx, dealer, partner, officer, n))
    if invoice:
        invoiced(ctx, dealer, contract)
    return queued_item(ctx, signed(ctx, officer, fakes, contract))


def pay(ctx: ServiceContext, item: Disbursement) -> None:
    """Deliver the item's latest approval to the payout handler, as the relay would."""
    with ctx.uow_factory() as uow:
        found = uow.event_log.after(["disbursement"], 0, 10_000)
    (event,) = [
        event for _, event in found
        if event.subject_id == item.id and event.name == "disbursement_approved"
    ][-1:]  # fmt: skip
    HandlerSubscriber(handlers()["payouts.pay_out"], ctx).deliver(event)


def state_of(ctx: ServiceContext, item: Disbursement) -> DisbursementState:
    return disbursements.get_disbursement(ctx, SYSTEM, item.id).state


def used(ctx: ServiceContext, partner_id: str) -> Decimal:
    return credit_limits.get_credit_limit(ctx, SYSTEM, partner_id).used.amount


@pytest.fixture
def item(
    ctx: ServiceContext, dealer: Actor, officer: Actor, fakes: Fakes, settled_partner: Partner,
    lease: Product,
) -> Disbursement:  # fmt: skip
    return payout(ctx, dealer, officer, fakes, settled_partner, 0)


def test_a_signed_contract_waits_in_the_queue_with_its_checks(
    ctx: ServiceContext, item: Disbursement
) -> None:
    contract = contracts.get_contract(ctx, SYSTEM, item.contract_id)
    assert contract.state is ContractState.DISBURSEMENT_REQUESTED
    application = applications.get_application(ctx, SYSTEM, contract.application_id)
    assert application.state is ApplicationState.DISBURSEMENT_REQUESTED
    assert item.amount == contract.vehicle_price - contract.down_payment
    assert (item.payee.name, item.payee.account) == ("Sunrise Motors", ACCOUNT.card_number)
    assert {check.name: check.passed for check in item.checks} == {
        "documents": True, "signatures": True, "partner_status": True, "partner_limit": True,
        "fraud_flags": True, "payee_account": True,
    }  # fmt: skip


def test_paid_the_contract_and_its_application_are_active(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, item: Disbursement
) -> None:
    contract = contracts.get_contract(ctx, SYSTEM, item.contract_id)
    before = used(ctx, contract.partner_id)
    approved_item = disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    assert approved_item.state is DisbursementState.APPROVED
    assert used(ctx, contract.partner_id) == before + contract.principal.amount
    pay(ctx, approved_item)
    assert state_of(ctx, item) is DisbursementState.SENT, "accepted, not yet settled"
    (instruction,) = fakes.bank.paid(ACCOUNT.card_number)
    assert (instruction.instruction_id, instruction.amount) == (f"{item.id}-1", item.amount)
    fakes.bank.settle(instruction.instruction_id)
    paid = disbursements.track_payout(ctx, finance, item.id)
    assert paid.state is DisbursementState.PAID
    attempt = paid.current
    assert attempt.sent_at is not None
    assert attempt.paid_at is not None
    active = contracts.get_contract(ctx, SYSTEM, contract.id)
    assert (active.state, active.start_date) == (ContractState.ACTIVE, ctx.clock.business_date())
    application = applications.get_application(ctx, SYSTEM, contract.application_id)
    assert application.state is ApplicationState.ACTIVE
    with ctx.uow_factory() as uow:
        events = uow.event_log.after(["contract"], 0, 10_000)
    (disbursed,) = [event for _, event in events if event.name == "contract_disbursed"]
    assert disbursed.payload["payout_amount"] == str(item.amount.amount)
    assert disbursed.payload["principal"] == str(contract.principal.amount)
    assert disbursed.payload["bank_reference"] == attempt.bank_reference


def test_a_payout_retried_after_the_bank_timed_out_is_paid_once(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, item: Disbursement
) -> None:
    approved_item = disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    fakes.bank.lose_next_answer()
    with pytest.raises(AdapterError):
        pay(ctx, approved_item)
    assert state_of(ctx, item) is DisbursementState.APPROVED, "the outcome is unknown"
    pay(ctx, approved_item)
    pay(ctx, approved_item)
    assert state_of(ctx, item) is DisbursementState.SENT
    assert len(fakes.bank.paid(ACCOUNT.card_number)) == 1


def test_a_refused_payout_gives_the_limit_back_and_waits_again(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, item: Disbursement
) -> None:
    before = used(ctx, item.partner_id)
    fakes.bank.reject_payments_to(ACCOUNT.card_number, "account closed")
    approved_item = disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    pay(ctx, approved_item)
    failed = disbursements.get_disbursement(ctx, SYSTEM, item.id)
    assert failed.state is DisbursementState.QUEUED
    assert (failed.current.reason, failed.current.failed_at is not None) == ("account closed", True)
    assert used(ctx, item.partner_id) == before
    again = disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    assert [attempt.instruction_id for attempt in again.attempts] == [
        f"{item.id}-1", f"{item.id}-2",
    ]  # fmt: skip


def test_a_missing_document_refuses_the_approval_with_the_reason_and_takes_nothing(
    ctx: ServiceContext, dealer: Actor, officer: Actor, finance: Actor, fakes: Fakes,
    settled_partner: Partner, lease: Product,
) -> None:  # fmt: skip
    without = payout(ctx, dealer, officer, fakes, settled_partner, 0, invoice=False)
    assert [check.name for check in without.checks if not check.passed] == ["documents"]
    before = used(ctx, without.partner_id)
    with pytest.raises(ValidationError, match="documents: missing: vehicle_invoice"):
        disbursements.transition_disbursement(ctx, finance, without.id, "approve")
    assert used(ctx, without.partner_id) == before
    invoiced(ctx, dealer, contracts.get_contract(ctx, SYSTEM, without.contract_id))
    approved_item = disbursements.transition_disbursement(ctx, finance, without.id, "approve")
    assert all(check.passed for check in approved_item.checks), "checked again at approval"


def test_a_partner_at_its_limit_is_refused_with_the_figures(
    ctx: ServiceContext, manager: Actor, finance: Actor, item: Disbursement
) -> None:
    adjust = credit_limits.AdjustCreditLimit(
        item.partner_id, "take", "stock:floor-plan", Decimal("900000.00"), "floor plan"
    )
    credit_limits.adjust_credit_limit(ctx, manager, adjust)
    with pytest.raises(ValidationError, match=r"partner_limit: needs .* available 100,000\.00"):
        disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    assert state_of(ctx, item) is DisbursementState.QUEUED


def test_a_batch_approves_what_passes_and_reports_the_rest(
    ctx: ServiceContext, dealer: Actor, officer: Actor, finance: Actor, fakes: Fakes,
    settled_partner: Partner, lease: Product, admin: Actor,
) -> None:  # fmt: skip
    items = [
        payout(ctx, dealer, officer, fakes, settled_partner, n, invoice=n not in (2, 5))
        for n in range(8)
    ]
    other = users.create_user(ctx, admin, users.CreateUser("finance2", "F2", Role.FINANCE))
    disbursements.transition_disbursement(ctx, other.actor(), items[6].id, "claim")
    before = used(ctx, items[0].partner_id)
    outcome = disbursements.approve_disbursements(
        ctx, finance, BatchApproval(tuple(item.id for item in items))
    )
    refused = {entry.id: entry.error for entry in outcome.items if not entry.approved}
    assert refused == {
        items[2].id: "ValidationError", items[5].id: "ValidationError",
        items[6].id: "ObjectPermissionError",
    }  # fmt: skip
    assert outcome.approved == 5
    states = [state_of(ctx, item) for item in items]
    assert states.count(DisbursementState.APPROVED) == 5
    principal = contracts.get_contract(ctx, SYSTEM, items[0].contract_id).principal.amount
    assert used(ctx, items[0].partner_id) == before + 5 * principal, "nothing half-done"


@pytest.fixture
def large_partner(ctx: ServiceContext, officer: Actor, manager: Actor) -> Partner:
    """A dealer with room for a hundred contracts, its settlement account on file."""
    command = partners.OnboardPartner(
        "Grand Motors", credit_code("91440300MA5F0B2C3"), Decimal("50000000.00"),
        rating=PartnerRating.B, bank_accounts=(ACCOUNT,),
    )  # fmt: skip
    partner = partners.onboard_partner(ctx, officer, command)
    partner = partners.transition_partner(ctx, officer, partner.id, "apply")
    supply_onboarding_documents(ctx, officer, partner)
    partner = partners.transition_partner(ctx, officer, partner.id, "start_review")
    return partners.transition_partner(ctx, manager, partner.id, "approve")


def test_a_batch_of_a_hundred_with_three_failing_checks_pays_ninety_seven(
    ctx: ServiceContext, admin: Actor, officer: Actor, finance: Actor, fakes: Fakes,
    large_partner: Partner, lease: Product,
) -> None:  # fmt: skip
    dealer = dealer_of(ctx, admin, large_partner, "grand")
    failing = {7, 42, 93}
    items = [
        payout(ctx, dealer, officer, fakes, large_partner, n, invoice=n not in failing)
        for n in range(100)
    ]
    outcome = disbursements.approve_disbursements(
        ctx, finance, BatchApproval(tuple(item.id for item in items))
    )
    refused = {entry.id: entry.detail for entry in outcome.items if not entry.approved}
    assert set(refused) == {items[n].id for n in failing}
    assert all("documents: missing: vehicle_invoice" in (why or "") for why in refused.values())
    for item in items:
        if item.id not in refused:
            pay(ctx, item)
    assert len(fakes.bank.paid(ACCOUNT.card_number)) == 97
    states = [state_of(ctx, item) for item in items]
    assert states.count(DisbursementState.SENT) == 97
    assert states.count(DisbursementState.QUEUED) == 3, "the refused ones wait, untouched"
    principal = contracts.get_contract(ctx, SYSTEM, items[0].contract_id).principal.amount
    assert used(ctx, large_partner.id) == 97 * principal


def test_a_batch_names_each_item_once_and_not_too_many(
    ctx: ServiceContext, finance: Actor, item: Disbursement
) -> None:
    with pytest.raises(ValidationError, match="twice"):
        disbursements.approve_disbursements(ctx, finance, BatchApproval((item.id, item.id)))
    for ids in ((), tuple(f"p{n}" for n in range(201))):
        with pytest.raises(ValidationError, match="name 1 to 200 payouts"):
            disbursements.approve_disbursements(ctx, finance, BatchApproval(ids))


def test_a_claim_excludes_other_reviewers_and_expires(
    ctx: ServiceContext, admin: Actor, finance: Actor, item: Disbursement, fixed_clock: FixedClock
) -> None:
    other = users.create_user(ctx, admin, users.CreateUser("finance2", "F2", Role.FINANCE)).actor()
    disbursements.transition_disbursement(ctx, finance, item.id, "claim")
    for action in ("claim", "approve", "reject"):
        with pytest.raises(ObjectPermissionError, match="another reviewer holds the payout"):
            disbursements.transition_disbursement(ctx, other, item.id, action, "x")
    fixed_clock.current += timedelta(minutes=31)
    claimed = disbursements.transition_disbursement(ctx, other, item.id, "claim")
    assert claimed.locked_by == other.user_id


def test_the_close_releases_a_claim_whose_lease_ran_out(
    ctx: ServiceContext, finance: Actor, item: Disbursement, fixed_clock: FixedClock
) -> None:
    disbursements.transition_disbursement(ctx, finance, item.id, "claim")
    fixed_clock.current += timedelta(minutes=31)
    assert close_business_day(ctx).summary["expiries"]["claims_released"] == 1
    released = disbursements.get_disbursement(ctx, SYSTEM, item.id)
    assert (released.state, released.locked_by) == (DisbursementState.QUEUED, None)


def test_fraud_is_flagged_against_the_partner_and_the_person_blacklisted(
    ctx: ServiceContext, finance: Actor, item: Disbursement
) -> None:
    contract = contracts.get_contract(ctx, SYSTEM, item.contract_id)
    person = contract.signers[0].customer_id
    rejected = disbursements.transition_disbursement(
        ctx, finance, item.id, "report_fraud", "the invoice is forged", person=person
    )
    assert (rejected.state, rejected.reason, rejected.reported_person) == (
        DisbursementState.REJECTED, "the invoice is forged", person,
    )  # fmt: skip
    assert contracts.get_contract(ctx, SYSTEM, contract.id).state is ContractState.SIGNED
    with ctx.uow_factory() as uow:
        (flag,) = uow.review_flags.for_application(contract.application_id)
        customer = uow.customers.get(person)
    assert flag.cause is ReviewCause.FRAUD_AT_PAYOUT
    assert blacklist.blacklist_hits(ctx, id_numbers=[(customer.country, customer.id_number)])


def test_a_refused_payout_is_queued_again_when_asked(
    ctx: ServiceContext, finance: Actor, dealer: Actor, item: Disbursement
) -> None:
    disbursements.transition_disbursement(ctx, finance, item.id, "reject", "wrong invoice")
    contracts.transition_contract(ctx, dealer, item.contract_id, "request_disbursement")
    query = DisbursementQuery(contract_id=item.contract_id)
    states = [r["state"] for r in disbursements.list_disbursements(ctx, SYSTEM, query).items]
    assert sorted(states) == ["queued", "rejected"]


def test_dealers_see_their_payouts_but_do_not_review_them(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor, item: Disbursement
) -> None:
    assert disbursements.get_disbursement(ctx, dealer, item.id).id == item.id
    assert disbursements.list_disbursements(ctx, other_dealer).items == []
    with pytest.raises(PermissionDeniedError):
        disbursements.transition_disbursement(ctx, dealer, item.id, "approve")


def test_two_reviewers_racing_for_one_payout_leave_one_holder(
    ctx: ServiceContext, admin: Actor, finance: Actor, item: Disbursement
) -> None:
    other = users.create_user(ctx, admin, users.CreateUser("finance2", "F2", Role.FINANCE)).actor()
    barrier, results = threading.Barrier(2), {}

    def claim(actor: Actor) -> None:
        barrier.wait()
        try:
            disbursements.transition_disbursement(
                ctx, actor, item.id, "claim", expected_version=item.version
            )
            results[actor.user_id] = "claimed"
        except (StaleVersionError, ConflictError, ObjectPermissionError) as exc:
            results[actor.user_id] = type(exc).__name__

    threads = [threading.Thread(target=claim, args=(actor,)) for actor in (finance, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()).count("claimed") == 1, results
    holder = disbursements.get_disbursement(ctx, SYSTEM, item.id).locked_by
    assert results[holder or ""] == "claimed"


def test_cancelling_a_contract_withdraws_its_queued_payout(
    ctx: ServiceContext, manager: Actor, finance: Actor, item: Disbursement
) -> None:
    contracts.transition_contract(ctx, manager, item.contract_id, "cancel", "customer withdrew")
    assert state_of(ctx, item) is DisbursementState.REJECTED
    with pytest.raises(IllegalTransitionError):
        disbursements.transition_disbursement(ctx, finance, item.id, "approve")


def test_a_contract_whose_payout_is_at_the_bank_is_not_cancelled(
    ctx: ServiceContext, manager: Actor, finance: Actor, item: Disbursement
) -> None:
    disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    with pytest.raises(DomainError, match="at the bank or paid"):
        contracts.transition_contract(ctx, manager, item.contract_id, "cancel", "too late")
    contract = contracts.get_contract(ctx, SYSTEM, item.contract_id)
    assert contract.state is ContractState.DISBURSEMENT_REQUESTED


def test_a_batchs_payouts_are_named_by_their_contracts_for_approvers_only(
    ctx: ServiceContext, finance: Actor, dealer: Actor, item: Disbursement
) -> None:
    numbers = disbursements.batch_contract_numbers(ctx, finance, [item.id, "no-such-payout"])
    assert numbers == {item.id: item.contract_number}
    with pytest.raises(PermissionDeniedError):
        disbursements.batch_contract_numbers(ctx, dealer, [item.id])
