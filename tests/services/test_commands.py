"""Every registered command commits once, leaves an audit entry and an outbox row for each
event it records, and wakes delivery once after its commit; reads do none of it.

The commands are taken from the registry, not listed here: a new command without a way to
run it below fails :func:`test_every_registered_command_is_exercised`, so none can be missed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.demo import DEMO_PRODUCTS, credit_code, vin
from leasekit.domain.bookings import Accounting
from leasekit.domain.contracts import Contract, DraftChanges, SignerContact
from leasekit.domain.credit_limits import LimitMovementKind, LimitRequestKind
from leasekit.domain.disbursements import DisbursementState, PayoutAttempt
from leasekit.domain.document_defects import DefectKind
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.events import DomainEvent
from leasekit.domain.exception_requests import Proposal
from leasekit.domain.identity import Actor, Role
from leasekit.domain.mandates import DebitScheme
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.domain.refunds import RefundState
from leasekit.domain.rules import RuleAction
from leasekit.domain.statement_entries import EntryState
from leasekit.money import Money
from leasekit.ports import BankStatement, PaymentReceipt, PaymentStatus, StatementLine
from leasekit.services import (
    accounting,
    applications,
    approvals,
    blacklist,
    catalog,
    contracts,
    credit_limits,
    customers,
    debit_runs,
    disbursements,
    document_defects,
    documents,
    end_of_day,
    events,
    exception_requests,
    face_photos,
    funds,
    ledger_sync,
    mandates,
    partner_exit,
    partner_imports,
    partner_monitoring,
    partner_onboarding,
    partner_ratings,
    partners,
    products,
    reconciliation,
    refunds,
    review_flags,
    rules,
    settlement_quotes,
    sign_ins,
    users,
    vehicles,
    voucher_templates,
)
from leasekit.services.commands import Work, execute
from leasekit.services.context import ServiceContext
from leasekit.services.storage import DeliveryQuery, DeliveryStatus
from leasekit.store.audit import count_entries
from leasekit.store.outbox import OutboxRelay
from leasekit.store.uow import SqlUnitOfWork
from leasekit.testing.fakes import FakeBank
from leasekit.testing.photos import sample_face_photo

from .conftest import (
    decide,
    deliver,
    open_review,
    open_task,
    register_customer,
    register_vehicle,
    taken_over,
)
from .test_applications import draft_command
from .test_documents import PNG, chunks
from .test_voucher_templates_api import fee_template


@attrs.frozen
class World:
    ctx: ServiceContext
    engine: Engine
    admin: Actor
    officer: Actor
    manager: Actor
    dealer: Actor
    partner: Partner
    director: Actor


Prepare = Callable[[World], Callable[[], object]]
"""Prepares a command (unmeasured) and returns the call to measure."""


def _draft(w: World) -> applications.DraftApplication:
    customer, vehicle = register_customer(w.ctx, w.dealer), register_vehicle(w.ctx, w.dealer)
    return draft_command(w.partner, customer, vehicle)


def _revise(w: World) -> Callable[[], object]:
    draft = applications.create_draft(w.ctx, w.dealer, _draft(w))
    revised = draft_command(w.partner, draft.customer_id, draft.vehicle_id, term_months=48)
    return lambda: applications.update_draft(w.ctx, w.dealer, draft.id, revised)


def _priced(w: World) -> str:
    """A draft priced with the finance lease, which the manager wrote and the director
    published."""
    product = products.create_product(w.ctx, w.manager, DEMO_PRODUCTS[1])
    products.transition_product_version(w.ctx, w.director, product.draft_version_id or "",
                                        "publish")  # fmt: skip
    request = attrs.evolve(_draft(w), product_code=product.code)
    return applications.create_draft(w.ctx, w.dealer, request).id


def _submit(w: World) -> Callable[[], object]:
    draft = applications.create_draft(w.ctx, w.dealer, _draft(w))
    return lambda: applications.transition_application(w.ctx, w.dealer, draft.id, "submit")


def _upload(w: World) -> Callable[[], object]:
    owner = register_customer(w.ctx, w.dealer)
    request = documents.UploadDocument(OwnerKind.CUSTOMER, owner, DocumentKind.ID_CARD_FRONT, "a")
    return lambda: documents.upload_document(w.ctx, w.dealer, request, chunks(PNG))


def _with_email(w: World) -> str:
    request = users.CreateUser("li.na", "Li Na", Role.OFFICER, email="li.na@example.com")
    return users.create_user(w.ctx, w.admin, request).id


def _redeem(w: World) -> Callable[[], object]:
    secret = users.enrol_locally(w.ctx, "officer")
    return lambda: users.enrol(w.ctx, secret)


def _sign_in(w: World) -> Callable[[], object]:
    issued = users.issue_token(w.ctx, w.officer, users.NewToken("workbench"))
    return lambda: sign_ins.sign_in(w.ctx, sign_ins.SignIn("officer", issued.token, "en"))


def _sign_out(w: World) -> Callable[[], object]:
    issued = users.issue_token(w.ctx, w.officer, users.NewToken("workbench"))
    started = sign_ins.sign_in(w.ctx, sign_ins.SignIn("officer", issued.token, "en"))
    return lambda: sign_ins.sign_out(w.ctx, w.officer, started.session.id)


def _revoke(w: World) -> Callable[[], object]:
    issued = users.issue_token(w.ctx, w.officer, users.NewToken("laptop"))
    return lambda: users.revoke_token(w.ctx, w.officer, issued.id)


def _parked(w: World) -> str:
    """A delivery parked after failing, as an administrator finds it."""
    failing = _Failing()
    relay = OutboxRelay(w.engine, [failing])
    for _ in range(20):
        relay.run_pass()
        with w.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE event_deliveries SET next_attempt_at = '2000-01-01'")
            )
    with w.ctx.uow_factory() as uow:
        return uow.deliveries.page(DeliveryQuery(status=DeliveryStatus.PARKED)).items[0].id


def _listed(w: World) -> str:
    request = blacklist.AddToBlacklist("fraud ring", phone="13800138000")
    return blacklist.add_to_blacklist(w.ctx, w.manager, request).id


def _flagged(w: World) -> str:
    """A review flag on an open application, as blacklisting its partner raises it."""
    applications.create_draft(w.ctx, w.dealer, _draft(w))
    event = DomainEvent.new(
        "partner_blacklisted", "partner", w.partner.id, {"reason": "forged invoices"},
        occurred_at=w.ctx.clock.now(), business_date=w.ctx.clock.business_date(),
        actor_id="director",
    )  # fmt: skip
    handler = catalog.handlers()["review.flag_blacklisted_partners_applications"]
    events.HandlerSubscriber(handler, w.ctx).deliver(event)
    return review_flags.list_review_flags(w.ctx, w.officer).items[0]["id"]


class _Failing:
    name = "always-down"

    def wants(self, event_name: str) -> bool:
        return True

    def deliver(self, event: DomainEvent) -> None:
        raise RuntimeError("down")


def _partner_document(w: World) -> str:
    """One of the partner's onboarding documents (the fixture uploaded them)."""
    page = documents.list_documents(w.ctx, w.officer, OwnerKind.PARTNER, w.partner.id)
    return str(page.items[0]["id"])


def _face_check(w: World) -> Callable[[], object]:
    """The check of a draft's face photo, which would record its hash if it wrote."""
    draft = applications.create_draft(w.ctx, w.dealer, _draft(w))
    upload = documents.UploadDocument(
        OwnerKind.APPLICATION, draft.id, DocumentKind.FACE_PHOTO, "signing.jpg"
    )
    documents.upload_document(w.ctx, w.dealer, upload, [sample_face_photo()])
    return lambda: face_photos.face_check(w.ctx, w.officer, draft.id)


def _defect(w: World) -> str:
    request = document_defects.RecordDefect(_partner_document(w), DefectKind.ILLEGIBLE, "blurred")
    return document_defects.record_document_defect(w.ctx, w.officer, request).id


def _limit_change(w: World) -> credit_limits.RequestLimitChange:
    return credit_limits.RequestLimitChange(
        w.partner.id, LimitRequestKind.STANDING, Decimal("1200000.00"), "more stock"
    )


def _approve_limit_change(w: World) -> Callable[[], object]:
    change = credit_limits.request_limit_change(w.ctx, w.officer, _limit_change(w))
    return lambda: credit_limits.transition_limit_request(w.ctx, w.manager, change.id, "approve")


def _override(w: World) -> partner_ratings.RequestRatingOverride:
    until = w.ctx.clock.business_date() + timedelta(days=30)
    return partner_ratings.RequestRatingOverride(w.partner.id, PartnerRating.B, until, "franchise")


def _approve_override(w: World) -> Callable[[], object]:
    made = partner_ratings.request_rating_override(w.ctx, w.officer, _override(w))
    return lambda: partner_ratings.transition_rating_override(w.ctx, w.manager, made.id, "approve")


def _import_file(w: World) -> bytes:
    """A file that suspends the world's partner."""
    return f"partner_id,status,reason\r\n{w.partner.id},suspended,late papers\r\n".encode()


def _imported(w: World) -> str:
    return str(partner_imports.import_partners(w.ctx, w.manager, [_import_file(w)]).id)


def _rule_set() -> rules.SaveRuleSet:
    rule = rules.RuleInput("blacklisted", "blacklist_hits > 0", RuleAction.DECLINE, "listed")
    return rules.SaveRuleSet("pre_approval", (rule,))


def _product(w: World) -> str:
    """A product with its first draft, written by the world's manager."""
    return products.create_product(w.ctx, w.manager, DEMO_PRODUCTS[0]).id


def _revise_product(w: World) -> Callable[[], object]:
    revision = products.ProductRevision(_product(w), DEMO_PRODUCTS[0].terms)
    return lambda: products.revise_product(w.ctx, w.manager, revision)


def _publish(w: World) -> Callable[[], object]:
    """The draft published by a director (its author, the manager, may not)."""
    draft = products.get_product(w.ctx, w.manager, _product(w)).draft_version_id or ""
    return lambda: products.transition_product_version(w.ctx, w.director, draft, "publish")


def _in_review(w: World) -> str:
    """A submitted application's officer-tier task, opened by the workflow."""
    draft = applications.create_draft(w.ctx, w.dealer, _draft(w))
    applications.transition_application(w.ctx, w.dealer, draft.id, "submit")
    open_review(w.ctx, draft.id)
    return open_task(w.ctx, draft.id).id


def _claim(w: World) -> Callable[[], object]:
    task_id = _in_review(w)
    return lambda: approvals.transition_approval_task(w.ctx, w.officer, task_id, "claim")


def _retag(w: World) -> Callable[[], object]:
    change = approvals.TagsRevision(_in_review(w), approvals.TagsChange(add=("vip",)))
    return lambda: approvals.retag_approval_task(w.ctx, w.officer, change)


def _contract(w: World) -> Contract:
    """A contract the workflow drew up from a priced application an officer approved."""
    application_id = _priced(w)
    applications.transition_application(w.ctx, w.dealer, application_id, "submit")
    open_review(w.ctx, application_id)
    decide(w.ctx, w.officer, application_id, "approve")
    deliver(w.ctx, "contracts.draw_up", "application_approved", "application", application_id)
    query = contracts.ContractQuery(application_id=application_id)
    (record,) = contracts.list_contracts(w.ctx, w.officer, query).items
    deliver(w.ctx, "contracts.render", "contract_drawn_up", "contract", record["id"])
    return contracts.get_contract(w.ctx, w.officer, record["id"])


def _reachable(w: World) -> Contract:
    """:func:`_contract`, with its signer's e-mail address entered."""
    contract = _contract(w)
    contact = SignerContact(contract.signers[0].customer_id, email="zhang.wei@example.com")
    revision = contracts.ContractRevision(contract.id, DraftChanges(contacts=(contact,)))
    return contracts.revise_contract(w.ctx, w.officer, revision)


def _signing(w: World) -> Callable[[], object]:
    """The check that finds the contract's envelope signed."""
    sent = contracts.transition_contract(w.ctx, w.officer, _reachable(w).id, "send_for_signature")
    w.ctx.adapters.signature_provider.sign(sent.envelope_id)  # type: ignore[attr-defined]
    return lambda: contracts.check_signature(w.ctx, w.officer, contracts.EnvelopeCheck(sent.id))


def _finance(w: World) -> Actor:
    made = users.create_user(w.ctx, w.admin, users.CreateUser("finance", "Finance", Role.FINANCE))
    return made.actor()


def _finance_director(w: World) -> Actor:
    request = users.CreateUser("cfo", "Finance director", Role.FINANCE_DIRECTOR)
    return users.create_user(w.ctx, w.admin, request).actor()


def _quote(w: World) -> tuple[str, Actor]:
    """An open settlement quote of a taken-over contract, and finance."""
    finance = _finance(w)
    request = settlement_quotes.RequestQuote(taken_over(w.ctx, 1).contract.id)
    return settlement_quotes.create_settlement_quote(w.ctx, finance, request).id, finance


def _paid(w: World) -> tuple[str, str]:
    """A taken-over contract with a payment finance recorded: their ids."""
    contract = taken_over(w.ctx, 1).contract
    payment = funds.record_payment(
        w.ctx, _finance(w), funds.RecordPayment(contract.id, Money("100.00", "USD"), "TRF-1")
    )
    return contract.id, payment.id


def _reversal_of(payment_id: str) -> Proposal:
    return Proposal("reversal", "duplicate", "entered twice", payment_id=payment_id)  # type: ignore[arg-type]


def _payment_of(w: World, request_id: str) -> str:
    return exception_requests.get_exception_request(w.ctx, w.officer, request_id).payment_id or ""


def _exception_request(w: World) -> tuple[str, Actor]:
    """A draft reversal of a payment on a taken-over contract, and the finance user."""
    contract_id, payment_id = _paid(w)
    request = exception_requests.RaiseRequest(contract_id, _reversal_of(payment_id))
    made = exception_requests.create_exception_request(w.ctx, w.officer, request)
    with w.ctx.uow_factory() as uow:
        finance = uow.users.find_by_username("finance")
    assert finance is not None
    return made.id, finance.actor()


def _queued(w: World) -> str:
    """A signed contract's payout, queued by the workflow."""
    _signing(w)()
    (record,) = contracts.list_contracts(w.ctx, w.officer).items
    deliver(w.ctx, "payouts.queue", "contract_signed", "contract", record["id"])
    return str(disbursements.list_disbursements(w.ctx, w.officer).items[0]["id"])


def _payout_status(w: World) -> Callable[[], object]:
    """What the bank says of a payout it accepted: settled."""
    item_id = _queued(w)
    with w.ctx.uow_factory() as uow:
        item = uow.disbursements.get(item_id)
        attempt = PayoutAttempt(
            1, f"{item_id}-1", "finance", w.ctx.clock.now(), bank_reference="B-1"
        )
        item.state, item.attempts = DisbursementState.SENT, (attempt,)
        uow.disbursements.update(item)
        uow.commit()
    receipt = PaymentReceipt(f"{item_id}-1", "B-1", PaymentStatus.SETTLED, w.ctx.clock.now())
    return lambda: execute(w.ctx, Actor.system(), disbursements.record_payout_status, receipt)


def _refund(w: World) -> str:
    """A refund of a taken-over contract's credit, which the bank accepted."""
    contract = taken_over(w.ctx, 1).contract
    funds.record_payment(w.ctx, _finance(w), funds.RecordPayment(
        contract.id, Money("5000.00", contract.principal.currency), "overpaid"))  # fmt: skip
    with w.ctx.uow_factory() as uow:
        at, business_date = w.ctx.moment()
        made = refunds.pay_out_refund(
            Work(w.ctx, uow, _finance_director(w), at, business_date), contract_id=contract.id,
            amount=Money("10.00", contract.principal.currency), iban="DE89370400440532013000",
            holder="Erika Mustermann", exception_request_id=None,
        )  # fmt: skip
        made.state = RefundState.SENT
        uow.refunds.update(made)
        uow.commit()
    return made.id


def _refund_status(w: World) -> Callable[[], object]:
    """What the bank says of a refund it accepted: settled."""
    receipt = PaymentReceipt(_refund(w), "B-1", PaymentStatus.SETTLED, w.ctx.clock.now())
    return lambda: execute(w.ctx, Actor.system(), refunds.record_refund_status, receipt)


PREPARE: dict[str, Prepare] = {
    "revise_contract": lambda w: (lambda contract: lambda: contracts.revise_contract(
        w.ctx, w.officer, contracts.ContractRevision(contract.id, DraftChanges("zh"))))(
        _contract(w)),
    "transition_contract": lambda w: (lambda contract: lambda: contracts.transition_contract(
        w.ctx, w.officer, contract.id, "send_for_signature"))(_reachable(w)),
    "check_signature": _signing,
    "transition_disbursement": lambda w: (lambda item_id, finance: lambda:
        disbursements.transition_disbursement(w.ctx, finance, item_id, "claim"))(
        _queued(w), _finance(w)),
    "record_payout_status": _payout_status,
    "record_refund_status": _refund_status,
    "transition_approval_task": _claim,
    "retag_approval_task": _retag,
    "create_user": lambda w: lambda: users.create_user(
        w.ctx, w.admin, users.CreateUser("new", "New", Role.OFFICER)
    ),
    "issue_enrolment": lambda w: (lambda user_id: lambda: users.issue_enrolment(
        w.ctx, w.admin, user_id))(_with_email(w)),
    "redeem_enrolment": _redeem,
    "issue_token": lambda w: lambda: users.issue_token(w.ctx, w.officer, users.NewToken("x")),
    "revoke_token": _revoke,
    "sign_in": _sign_in,
    "sign_out": _sign_out,
    "transition_user": lambda w: lambda: users.transition_user(
        w.ctx, w.admin, w.officer.user_id, "disable", "left"
    ),
    "create_account": lambda w: lambda: users.create_system_account(w.ctx, "robot", "Robot"),
    "enrol_locally": lambda w: lambda: users.enrol_locally(w.ctx, "officer"),
    "onboard_partner": lambda w: lambda: partners.onboard_partner(
        w.ctx,
        w.officer,
        partners.OnboardPartner("Lakeside", credit_code("91110000MA00AB1C2"), Decimal(0)),
    ),
    "revise_partner": lambda w: lambda: partners.revise_partner(
        w.ctx,
        w.officer,
        partners.ProfileRevision(
            w.partner.id, partners.ProfileChange(name="Acme Motors Ltd", reason="renamed")
        ),
    ),
    "transition_partner": lambda w: lambda: partners.transition_partner(
        w.ctx, w.manager, w.partner.id, "suspend", "late"
    ),
    "import_partners": lambda w: lambda: partner_imports.import_partners(
        w.ctx, w.manager, [_import_file(w)]),
    "adjust_credit_limit": lambda w: lambda: credit_limits.adjust_credit_limit(
        w.ctx, w.manager, credit_limits.AdjustCreditLimit(
            w.partner.id, LimitMovementKind.TAKE, "contract:1", Decimal("10.00"), "manual")),
    "request_limit_change": lambda w: lambda: credit_limits.request_limit_change(
        w.ctx, w.officer, _limit_change(w)),
    "transition_limit_request": _approve_limit_change,
    "create_product": lambda w: lambda: products.create_product(
        w.ctx, w.manager, DEMO_PRODUCTS[1]),
    "revise_product": _revise_product,
    "transition_product_version": _publish,
    "register_customer": lambda w: lambda: register_customer(w.ctx, w.dealer),
    "register_vehicle": lambda w: lambda: register_vehicle(w.ctx, w.dealer),
    "transition_vehicle": lambda w: (lambda vehicle_id: lambda: vehicles.transition_vehicle(
        w.ctx, w.officer, vehicle_id, "release", "sold"))(register_vehicle(w.ctx, w.dealer)),
    "create_draft": lambda w: (lambda draft: lambda: applications.create_draft(
        w.ctx, w.dealer, draft))(_draft(w)),
    "revise_application": _revise,
    "transition_application": _submit,
    "upload_document": _upload,
    "record_document_defect": lambda w: (lambda document_id: lambda:
        document_defects.record_document_defect(w.ctx, w.officer, document_defects.RecordDefect(
            document_id, DefectKind.EXPIRED, "expired in May")))(_partner_document(w)),
    "transition_document_defect": lambda w: (lambda defect_id: lambda:
        document_defects.transition_document_defect(w.ctx, w.manager, defect_id, "resolve",
                                                    "original seen"))(_defect(w)),
    "add_to_blacklist": lambda w: lambda: blacklist.add_to_blacklist(
        w.ctx, w.manager, blacklist.AddToBlacklist("stolen", vin=vin("LSVAU2180N2183294"))),
    "transition_blacklist_entry": lambda w: (lambda entry_id: lambda:
        blacklist.transition_blacklist_entry(w.ctx, w.manager, entry_id, "request_removal",
                                             "reassigned"))(_listed(w)),
    "save_rule_set": lambda w: lambda: rules.save_rule_set(w.ctx, w.manager, _rule_set()),
    "transition_rule_set_version": lambda w: (lambda version_id: lambda:
        rules.transition_rule_set_version(w.ctx, w.director, version_id, "publish"))(
        rules.save_rule_set(w.ctx, w.manager, _rule_set()).id),
    "transition_review_flag": lambda w: (lambda flag_id: lambda:
        review_flags.transition_review_flag(w.ctx, w.officer, flag_id, "clear", "cancelled"))(
        _flagged(w)),
    "rate_partner": lambda w: lambda: partner_ratings.rate_partner(
        w.ctx, w.officer, partner_ratings.RatePartner(w.partner.id)),
    "refresh_partner": lambda w: lambda: partner_monitoring.refresh_partner(
        w.ctx, Actor.system(), partner_monitoring.RefreshPartner(w.partner.id)),
    "request_rating_override": lambda w: lambda: partner_ratings.request_rating_override(
        w.ctx, w.officer, _override(w)),
    "transition_rating_override": _approve_override,
    "retry_delivery": lambda w: (lambda delivery_id: lambda: events.retry_delivery(
        w.ctx, w.admin, delivery_id))(_parked(w)),
    "discard_delivery": lambda w: (lambda delivery_id: lambda: events.discard_delivery(
        w.ctx, w.admin, delivery_id))(_parked(w)),
    "record_payment": lambda w: (lambda contract, finance: lambda: funds.record_payment(
        w.ctx, finance, funds.RecordPayment(contract.id, Money("100.00", "USD"), "TRF-1")))(
        taken_over(w.ctx, 1).contract, _finance(w)),
    "take_mandate": lambda w: (lambda contract, finance: lambda: mandates.take_mandate(
        w.ctx, finance, mandates.TakeMandate(contract.id, "MD-1", DebitScheme.NACHA, "J. Smith",
        "000123456789", w.ctx.clock.business_date(), "011000015")))(
        taken_over(w.ctx, 1, mandate=False).contract, _finance(w)),
    "transition_mandate": lambda w: (lambda made, finance: lambda: mandates.transition_mandate(
        w.ctx, finance, made.mandate.id, "revoke", reason="replaced"))(
        taken_over(w.ctx, 1), _finance(w)),
    "create_settlement_quote": lambda w: (lambda contract, finance: lambda:
        settlement_quotes.create_settlement_quote(w.ctx, finance,
            settlement_quotes.RequestQuote(contract.id)))(
        taken_over(w.ctx, 1).contract, _finance(w)),
    "pay_settlement_quote": lambda w: (lambda quote_id, finance: lambda:
        settlement_quotes.pay_settlement_quote(w.ctx, finance, settlement_quotes.PayQuote(
            quote_id, settlement_quotes.QuotePayment(Money("100.00", "USD"), "TRF-1"))))(
        *_quote(w)),
    "transition_settlement_quote": lambda w: (lambda quote_id, finance: lambda:
        settlement_quotes.transition_settlement_quote(w.ctx, finance, quote_id, "cancel",
                                                      reason="withdrawn"))(*_quote(w)),
    "create_exception_request": lambda w: (lambda contract_id, payment_id: lambda:
        exception_requests.create_exception_request(w.ctx, w.officer,
            exception_requests.RaiseRequest(contract_id, _reversal_of(payment_id))))(*_paid(w)),
    "edit_exception_request": lambda w: (lambda request_id, finance: lambda:
        exception_requests.edit_exception_request(w.ctx, w.officer, exception_requests.Revision(
            request_id, _reversal_of(_payment_of(w, request_id)))))(*_exception_request(w)),
    "submit_exception_request": lambda w: (lambda request_id, finance: lambda:
        exception_requests.submit_exception_request(w.ctx, w.officer,
            exception_requests.Submission(request_id)))(*_exception_request(w)),
    "transition_exception_request": lambda w: (lambda request_id, finance: lambda:
        exception_requests.transition_exception_request(w.ctx, w.officer, request_id,
                                                        "cancel"))(*_exception_request(w)),
    "start_debit_run": lambda w: (lambda finance: lambda: debit_runs.start_debit_run(
        w.ctx, finance, debit_runs.StartDebitRun("us")))(
        (taken_over(w.ctx, 1), _finance(w))[1]),
    "settle_debit_run": lambda w: (lambda run, finance: lambda: debit_runs.settle_debit_run(
        w.ctx, finance, debit_runs.SettleRun(run.id)))(*_debit_run(w)),
    "apply_debit_results": lambda w: (lambda run, finance: lambda: debit_runs.import_debit_results(
        w.ctx, finance, [_results(w, run)]))(*_debit_run(w)),
    "apply_statement": lambda w: (lambda finance: lambda: reconciliation.import_statement(
        w.ctx, finance, [_statement(w)]))(_finance(w)),
    "match_statement_entry": lambda w: (lambda entry, finance, contract: lambda:
        reconciliation.match_statement_entry(w.ctx, finance, reconciliation.MatchEntry(
            entry, (reconciliation.EntryPart(contract, Money("7.00", "USD")),))))(
        *_queued_entry(w), taken_over(w.ctx, 2).contract.id),
    "park_statement_entry": lambda w: (lambda entry, finance: lambda:
        reconciliation.park_statement_entry(w.ctx, finance, reconciliation.ParkEntry(
            entry, "unknown sender")))(*_queued_entry(w)),
    "replay_unmapped": lambda w: (lambda unmapped_id, finance: lambda:
        accounting.replay_unmapped(w.ctx, finance, unmapped_id))(*_unmapped(w)),
    "reverse_voucher": lambda w: (lambda voucher_id, finance: lambda:
        accounting.reverse_voucher(w.ctx, finance, accounting.ReverseVoucher(
            voucher_id, accounting.Correction("posted twice"))))(*_voucher(w)),
    "close_books": lambda w: (lambda director: lambda: accounting.close_books(
        w.ctx, director, "2023-12"))(_finance_director(w)),
    "save_voucher_template": lambda w: (lambda finance: lambda:
        voucher_templates.save_voucher_template(w.ctx, finance, fee_template()))(_finance(w)),
    "start_close": lambda w: lambda: end_of_day.start_close(
        w.ctx, w.admin, end_of_day.StartClose()),
}  # fmt: skip
"""How to run each registered command, except event handlers (below)."""


def _statement(w: World) -> bytes:
    """A statement with one line nobody owes (7.00 USD from a stranger)."""
    day, money = w.ctx.clock.business_date(), Money("7.00", "USD")
    line = StatementLine("L-7", day, money, "Stranger", "42", "?")
    return FakeBank.statement_file(BankStatement("US-1", day, day, money, money + money, [line]))


def _queued_entry(w: World) -> tuple[str, Actor]:
    finance = _finance(w)
    reconciliation.import_statement(w.ctx, finance, [_statement(w)])
    query = reconciliation.EntryQuery(state=EntryState.QUEUED)
    (entry,) = reconciliation.list_statement_entries(w.ctx, finance, query).items
    return str(entry["id"]), finance


def _unmapped(w: World) -> tuple[str, Actor]:
    """A payment's receipt, booked while suspense (2900) was closed, in the unmapped queue;
    and a finance user."""
    finance = _finance(w)
    contract = taken_over(w.ctx, 1).contract
    funds.record_payment(
        w.ctx, finance, funds.RecordPayment(contract.id, Money("100.00", "USD"), "TRF-1")
    )
    with w.ctx.uow_factory() as uow:
        found = uow.event_log.after(["payment"], 0, 100)
    (received,) = [event for _, event in found if event.name == "payment_received"]
    closed = attrs.evolve(w.ctx, accounting=Accounting.of(w.ctx.accounting.chart, ["2900"]))
    events.HandlerSubscriber(catalog.handlers()["accounting.book"], closed).deliver(received)
    (unmapped,) = accounting.list_unmapped(w.ctx, finance).items
    return str(unmapped["id"]), finance


def _voucher(w: World) -> tuple[str, Actor]:
    """The voucher the unmapped receipt became once replayed, and a finance user."""
    unmapped_id, finance = _unmapped(w)
    return accounting.replay_unmapped(w.ctx, finance, unmapped_id).voucher_id or "", finance


def _debit_run(w: World) -> tuple[debit_runs.DebitRun, Actor]:
    """A run with one debit in flight, and a finance user."""
    taken_over(w.ctx, 1)
    finance = _finance(w)
    return debit_runs.start_debit_run(w.ctx, finance, debit_runs.StartDebitRun("us")), finance


def _results(w: World, run: debit_runs.DebitRun) -> bytes:
    fake = w.ctx.adapters.bank
    assert isinstance(fake, FakeBank)
    batch = debit_runs.debit_batch(w.ctx, Actor.system(), run.id)
    (item,) = batch.items
    return fake.return_file(batch, {item.item_id: "R01"})


@pytest.fixture
def world(
    ctx: ServiceContext,
    engine: Engine,
    admin: Actor,
    officer: Actor,
    manager: Actor,
    dealer: Actor,
    partner: Partner,
    director: Actor,
) -> World:
    return World(ctx, engine, admin, officer, manager, dealer, partner, director)


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per unit-of-work commit from here on."""
    counted: list[int] = []
    original = SqlUnitOfWork.commit

    def commit(self: SqlUnitOfWork) -> None:
        counted.append(len(self._events))
        original(self)

    monkeypatch.setattr(SqlUnitOfWork, "commit", commit)
    return counted


def _outbox_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one())


def _measure(
    engine: Engine, deliveries: list[int], commits: list[int], call: Callable[[], object]
) -> tuple[int, int, int, int, int]:
    """(audit entries, outbox rows, events committed, commits, wake-ups) that *call* added."""
    before = (count_entries(engine), _outbox_rows(engine), sum(commits), len(commits))
    wakes = len(deliveries)
    call()
    after = (count_entries(engine), _outbox_rows(engine), sum(commits), len(commits))
    entries, rows, recorded, committed = (a - b for a, b in zip(after, before, strict=True))
    return entries, rows, recorded, committed, len(deliveries) - wakes


def test_every_registered_command_is_exercised() -> None:
    handlers = {handler.command.name for handler in catalog.handlers().values()}
    assert set(catalog.commands()) - handlers == set(PREPARE)


@pytest.mark.parametrize("name", sorted(set(catalog.commands()) & set(PREPARE)))
def test_a_command_commits_once_and_records_its_change(
    world: World, engine: Engine, deliveries: list[int], commits: list[int], name: str
) -> None:
    call = PREPARE[name](world)
    entries, rows, recorded, committed, wakes = _measure(engine, deliveries, commits, call)
    assert (committed, wakes) == (1, 1)
    assert recorded >= 1
    assert entries == rows == recorded, "each event is one audit entry and one outbox row"


@pytest.mark.parametrize("name", sorted(catalog.handlers()))
def test_an_event_handler_runs_once_per_event(world: World, engine: Engine, name: str) -> None:
    handler = catalog.handlers()[name]
    event_name = sorted(handler.events)[0]
    event = DomainEvent.new(
        event_name, "user", world.officer.user_id, {}, occurred_at=world.ctx.clock.now(),
        business_date=world.ctx.clock.business_date(), actor_id="system",
    )  # fmt: skip
    subscriber = events.HandlerSubscriber(handler, world.ctx)
    with world.ctx.uow_factory() as uow:
        before = uow.idempotency.find("system", f"{name}:{event.idempotency_key}")
    subscriber.deliver(event)
    subscriber.deliver(event)
    with world.ctx.uow_factory() as uow:
        after = uow.idempotency.find("system", f"{name}:{event.idempotency_key}")
    assert (before, after is not None) == (None, True)


def _authenticate(w: World) -> Callable[[], object]:
    token = users.issue_token(w.ctx, w.officer, users.NewToken()).token
    return lambda: users.authenticate(w.ctx, token)


READS: dict[str, Prepare] = {
    "get_contract": lambda w: (
        lambda contract: lambda: contracts.get_contract(w.ctx, w.dealer, contract.id)
    )(_contract(w)),
    "list_contracts": lambda w: lambda: contracts.list_contracts(w.ctx, w.dealer),
    "list_receivables": lambda w: (
        lambda contract: lambda: funds.list_receivables(w.ctx, w.dealer, contract.id)
    )(_contract(w)),
    "trace_contract": lambda w: (
        lambda contract: lambda: contracts.trace_contract(w.ctx, w.officer, contract.id)
    )(_contract(w)),
    "list_disbursements": lambda w: lambda: disbursements.list_disbursements(w.ctx, w.officer),
    "get_refund": lambda w: (
        lambda refund_id: lambda: refunds.get_refund(w.ctx, w.officer, refund_id)
    )(_refund(w)),
    "list_contract_refunds": lambda w: (
        lambda contract: lambda: refunds.list_contract_refunds(w.ctx, w.officer, contract.id)
    )(taken_over(w.ctx, 1).contract),
    "get_disbursement": lambda w: (
        lambda item_id: lambda: disbursements.get_disbursement(w.ctx, w.officer, item_id)
    )(_queued(w)),
    "list_approval_tasks": lambda w: lambda: approvals.list_approval_tasks(w.ctx, w.officer),
    "get_task_view": lambda w: (
        lambda task_id: lambda: approvals.get_task_view(w.ctx, w.officer, task_id)
    )(_in_review(w)),
    "list_users": lambda w: lambda: users.list_users(w.ctx, w.admin),
    "list_tokens": lambda w: lambda: users.list_tokens(w.ctx, w.admin, w.officer.user_id),
    "list_partners": lambda w: lambda: partners.list_partners(w.ctx, w.officer),
    "get_partner": lambda w: lambda: partners.get_partner(w.ctx, w.dealer, w.partner.id),
    "list_customers": lambda w: lambda: customers.list_customers(w.ctx, w.dealer),
    "list_vehicles": lambda w: lambda: vehicles.list_vehicles(w.ctx, w.dealer),
    "list_applications": lambda w: lambda: applications.list_applications(w.ctx, w.dealer),
    "get_application_plan": lambda w: (
        lambda application_id: (
            lambda: applications.get_application_plan(w.ctx, w.dealer, application_id)
        )
    )(_priced(w)),
    "list_documents": lambda w: (
        lambda: documents.list_documents(w.ctx, w.dealer, OwnerKind.PARTNER, w.partner.id)
    ),
    "list_deliveries": lambda w: lambda: events.list_deliveries(w.ctx, w.admin),
    "get_credit_limit": lambda w: (
        lambda: credit_limits.get_credit_limit(w.ctx, w.dealer, w.partner.id)
    ),
    "list_limit_movements": lambda w: lambda: credit_limits.list_limit_movements(w.ctx, w.dealer),
    "list_limit_requests": lambda w: lambda: credit_limits.list_limit_requests(w.ctx, w.officer),
    "get_exit_review": lambda w: (
        lambda: partner_exit.get_exit_review(w.ctx, w.dealer, w.partner.id)
    ),
    "list_blacklist": lambda w: lambda: blacklist.list_blacklist(w.ctx, w.officer),
    "list_review_flags": lambda w: lambda: review_flags.list_review_flags(w.ctx, w.officer),
    "list_rule_set_versions": lambda w: lambda: rules.list_rule_set_versions(w.ctx, w.officer),
    "dry_run": lambda w: (
        lambda version_id: (
            lambda: rules.dry_run(w.ctx, w.officer, version_id, {"blacklist_hits": 1})
        )
    )(rules.save_rule_set(w.ctx, w.manager, _rule_set()).id),
    "get_partner_figures": lambda w: (
        lambda: partner_ratings.get_partner_figures(w.ctx, w.officer, w.partner.id)
    ),
    "get_partner_rating": lambda w: (
        lambda: partner_ratings.get_partner_rating(w.ctx, w.officer, w.partner.id)
    ),
    "list_ratings": lambda w: lambda: partner_ratings.list_ratings(w.ctx, w.officer),
    "list_rating_overrides": lambda w: (
        lambda: partner_ratings.list_rating_overrides(w.ctx, w.officer)
    ),
    "get_onboarding_checklist": lambda w: (
        lambda: partner_onboarding.get_onboarding_checklist(w.ctx, w.dealer, w.partner.id)
    ),
    "list_document_defects": lambda w: (
        lambda: document_defects.list_document_defects(w.ctx, w.officer)
    ),
    "get_document_defect": lambda w: (
        lambda defect_id: lambda: document_defects.get_document_defect(w.ctx, w.officer, defect_id)
    )(_defect(w)),
    "list_defects_of_document": lambda w: (
        lambda document_id: (
            lambda: document_defects.list_defects_of_document(w.ctx, w.officer, document_id)
        )
    )(_partner_document(w)),
    "document_defects_count": lambda w: (
        lambda: document_defects.document_defects_count(w.ctx, w.partner.id)
    ),
    "authenticate": _authenticate,
    "face_check": _face_check,
    "list_products": lambda w: lambda: products.list_products(w.ctx, w.officer),
    "get_product": lambda w: (
        lambda product_id: lambda: products.get_product(w.ctx, w.officer, product_id)
    )(_product(w)),
    "list_product_versions": lambda w: (
        lambda product_id: lambda: products.list_product_versions(w.ctx, w.officer, product_id)
    )(_product(w)),
    "get_product_version": lambda w: (
        lambda product: (
            lambda: products.get_product_version(w.ctx, w.officer, product.draft_version_id or "")
        )
    )(products.create_product(w.ctx, w.manager, DEMO_PRODUCTS[2])),
    "check_partner_import": lambda w: (
        lambda: partner_imports.import_partners(w.ctx, w.manager, [_import_file(w)], dry_run=True)
    ),
    "get_partner_import": lambda w: (
        lambda import_id: lambda: partner_imports.get_partner_import(w.ctx, w.officer, import_id)
    )(_imported(w)),
    "list_vouchers": lambda w: (lambda finance: lambda: accounting.list_vouchers(w.ctx, finance))(
        _finance(w)
    ),
    "get_voucher": lambda w: (
        lambda voucher_id, finance: lambda: accounting.get_voucher(w.ctx, finance, voucher_id)
    )(*_voucher(w)),
    "list_unmapped": lambda w: (lambda finance: lambda: accounting.list_unmapped(w.ctx, finance))(
        _unmapped(w)[1]
    ),
    "get_books": lambda w: (lambda finance: lambda: accounting.get_books(w.ctx, finance))(
        _finance(w)
    ),
    "reconcile_ledger": lambda w: (
        lambda voucher_id, finance: lambda: ledger_sync.reconcile_ledger(w.ctx, finance)
    )(*_voucher(w)),
    "get_exception_request": lambda w: (
        lambda request_id, finance: (
            lambda: exception_requests.get_exception_request(w.ctx, finance, request_id)
        )
    )(*_exception_request(w)),
    "list_exception_requests": lambda w: (
        lambda request_id, finance: (
            lambda: exception_requests.list_exception_requests(w.ctx, finance)
        )
    )(*_exception_request(w)),
    "preview_exception_request": lambda w: (
        lambda request_id, finance: (
            lambda: exception_requests.preview_exception_request(w.ctx, finance, request_id)
        )
    )(*_exception_request(w)),
    "list_payment_exception_requests": lambda w: (
        lambda request_id, finance: (
            lambda: exception_requests.list_payment_exception_requests(
                w.ctx, finance, _payment_of(w, request_id)
            )
        )
    )(*_exception_request(w)),
    "list_contract_exception_requests": lambda w: (
        lambda contract_id, payment_id: (
            lambda: exception_requests.list_contract_exception_requests(
                w.ctx, w.officer, contract_id
            )
        )
    )(*_paid(w)),
    "list_voucher_templates": lambda w: (
        lambda finance: lambda: voucher_templates.list_voucher_templates(w.ctx, finance)
    )(_finance(w)),
    "get_business_day": lambda w: lambda: end_of_day.get_business_day(w.ctx, w.officer),
    "get_close": lambda w: (
        lambda close: lambda: end_of_day.get_close(w.ctx, w.officer, close.business_date)
    )(end_of_day.start_close(w.ctx, w.admin, end_of_day.StartClose())),
    "get_voucher_template": lambda w: (
        lambda finance: (
            lambda: voucher_templates.get_voucher_template(w.ctx, finance, "loan_disbursed")
        )
    )(_finance(w)),
}


@pytest.mark.parametrize("name", READS)
def test_a_read_records_commits_and_delivers_nothing(
    world: World, engine: Engine, deliveries: list[int], commits: list[int], name: str
) -> None:
    read = READS[name](world)
    assert _measure(engine, deliveries, commits, read) == (0, 0, 0, 0, 0)
