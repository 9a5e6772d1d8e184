"""Pre-approval: on submission, gather an application's facts and let the rules judge them.

An in-process handler of ``application_submitted`` and ``application_resubmitted`` (so never
inside the dealer's request) assesses the application in two steps.

Its gather step (:func:`gather_answers`), before any transaction opens, asks the external
parties: the credit bureau, the anti-fraud source, the document store and the statement
parser for the bank statements (:mod:`leasekit.services.statement_facts`), then the approval
policy and every plugin implementing ``leasekit_evaluate_application`` for their votes. Each
call has a deadline and retries (``LEASEKIT_PRE_APPROVAL__*``, :mod:`leasekit.services.calls`);
a party that fails or times out on every attempt, a plugin that raises included, is noted as
not answering, its facts left null.

The handler then, in its transaction, checks the face-to-face photo
(:mod:`leasekit.services.face_photos`: a face, capture time and place, reuse on another
application, the face verifier's match with the ID card, asked with its own deadline) and
adds what the database knows: the terms, the customer,
the dealer's state, grade and available limit, the blacklist, and how many other applications
carry the same id number (at any dealer, and at other dealers) or the same VIN. It runs the
published ``pre_approval`` rule set over the facts and keeps the assessment
(:class:`~leasekit.domain.pre_approvals.PreApproval`): the outcome is the most severe of the
rules' action and the votes, a referral at least when a party did not answer. A decline moves
the application to ``declined`` with every reason; anything else pre-approves it for the
people who decide, the outcome (pass or refer) and its reasons kept for them.

Id numbers never reach a log line: a party's failure is logged by the kind of its error only,
and the bureau's report is kept with the id number masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import Any, Final

import attrs

from leasekit.domain.applications import Application, ApplicationAction, ApplicationState
from leasekit.domain.blacklist import mask
from leasekit.domain.customers import Customer
from leasekit.domain.documents import Document, DocumentKind
from leasekit.domain.events import DomainEvent
from leasekit.domain.partners import Partner
from leasekit.domain.pre_approvals import RULE_SET, PreApproval, Vote, outcome_of
from leasekit.domain.rules import RuleAction
from leasekit.ports import (
    AdapterKind,
    ApprovalCase,
    CreditReport,
    CreditSubject,
    FraudCheck,
    FraudSubject,
    PolicyVote,
    RiskLevel,
    Verdict,
)
from leasekit.services.blacklist import blacklist_hits
from leasekit.services.calls import ask
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext, back_office_lists
from leasekit.services.events import handles_gathered
from leasekit.services.face_photos import FacePhotoCheck, check_face_photo
from leasekit.services.reads import Lister, lister
from leasekit.services.rules import RuleResult, evaluate, published_rule_set
from leasekit.services.statement_facts import (
    MAX_STATEMENTS,
    StatementFacts,
    statement_facts,
    statement_owners,
)
from leasekit.services.storage import Record

__all__ = ["Answers", "PreApprovalQuery", "approval_case", "gather_answers",
           "list_pre_approvals", "pre_approve_submitted"]  # fmt: skip

logger = logging.getLogger(__name__)
_EXACT_DIGITS: Final = Decimal("0.0001")
_ACTIONS: Final = {
    Verdict.APPROVE: RuleAction.PASS,
    Verdict.REFER: RuleAction.REFER,
    Verdict.DECLINE: RuleAction.DECLINE,
}
"""A voter's verdict as the rule action it weighs like."""
PLUGINS: Final = "plugins"
"""How the per-party timeouts name every plugin voting on applications."""


@attrs.frozen
class Answers:
    """What the external parties said about one submission, gathered before the
    transaction."""

    report: CreditReport | None
    fraud: FraudCheck | None
    statements: StatementFacts
    votes: tuple[Vote, ...]
    unavailable: tuple[str, ...]


def _down_payment_ratio(application: Application) -> Decimal:
    terms = application.terms
    return (terms.down_payment.amount / terms.vehicle_price.amount).quantize(_EXACT_DIGITS)


def approval_case(
    application: Application,
    partner: Partner,
    credit_score: int | None,
    fraud_risk: RiskLevel | None,
    tags: Iterable[str],
) -> ApprovalCase:
    """The case as the approval policy and the plugins see it."""
    return ApprovalCase(
        application_id=application.id,
        partner_id=application.partner_id,
        business_type=str(application.business_type),
        amount_financed=application.terms.amount_financed,
        term_months=application.terms.term_months,
        down_payment_ratio=_down_payment_ratio(application),
        partner_rating=None if partner.rating is None else str(partner.rating),
        credit_score=credit_score,
        fraud_risk=fraud_risk,
        tags=frozenset(tags),
    )


def _vote(voter: str, vote: PolicyVote | None) -> tuple[Vote, ...]:
    return () if vote is None else (Vote(voter, _ACTIONS[vote.verdict], vote.reasons),)


def _votes(ctx: ServiceContext, case: ApprovalCase, unavailable: list[str]) -> tuple[Vote, ...]:
    """The approval policy's vote, if one is configured, and each plugin's that votes."""
    calls, votes = ctx.party_calls, tuple[Vote, ...]()
    party = AdapterKind.APPROVAL_POLICY.value
    if ctx.adapters.active_id(AdapterKind.APPROVAL_POLICY):
        policy = ctx.adapters.approval_policy
        votes += _vote(party, ask(party, partial(policy.vote, case), calls, unavailable))
    for voter in ctx.voters:
        name = f"plugin {voter.name}"
        answer = ask(name, partial(voter.vote, case), calls, unavailable, timeout_of=PLUGINS)
        votes += _vote(name, answer)
    return votes


def _ask_parties(
    ctx: ServiceContext,
    application: Application,
    customer: Customer,
    partner: Partner,
    documents: list[Document],
) -> Answers:
    adapters, calls = ctx.adapters, ctx.party_calls
    unavailable: list[str] = []
    subject = CreditSubject(customer.name, customer.id_number, str(customer.kind), customer.country)
    report = ask(
        AdapterKind.CREDIT_BUREAU.value,
        lambda: adapters.credit_bureau.fetch_report(subject),
        calls,
        unavailable,
    )
    fraud = ask(
        AdapterKind.FRAUD_SOURCE.value,
        lambda: adapters.fraud_source.check(FraudSubject(customer.name, customer.id_number)),
        calls,
        unavailable,
    )
    statements = statement_facts(adapters, calls, documents)
    unavailable += statements.unavailable
    tags = frozenset(statements.signal_names) | frozenset(unavailable)
    score = None if report is None else report.score
    case = approval_case(application, partner, score, None if fraud is None else fraud.risk, tags)
    votes = _votes(ctx, case, unavailable)
    return Answers(report, fraud, statements, votes, tuple(unavailable))


def gather_answers(ctx: ServiceContext, event: DomainEvent) -> Answers | None:
    """The gather step: ask the external parties about a submitted application, holding no
    transaction open; None when nothing is left to assess (withdrawn, or assessed already by
    an earlier delivery of the event)."""
    if event.subject != "application":
        return None
    with ctx.uow_factory() as uow:
        application = uow.applications.get(event.subject_id)
        if application.state is not ApplicationState.SUBMITTED:
            return None
        customer = uow.customers.get(application.customer_id)
        partner = uow.partners.get(application.partner_id)
        owners = statement_owners(application.id, customer.id)
        documents = uow.documents.of_owners(owners, DocumentKind.BANK_STATEMENT, MAX_STATEMENTS)
    return _ask_parties(ctx, application, customer, partner, documents)


def _kept_report(report: CreditReport | None) -> dict[str, Any] | None:
    """The bureau's report as the assessment keeps and shows it: the id number masked."""
    if report is None:
        return None
    outstanding = report.outstanding
    return {
        "bureau_reference": report.bureau_reference,
        "id_number": mask(report.id_number),
        "score": report.score,
        "grade": report.grade,
        "fetched_at": report.fetched_at.isoformat(),
        "open_accounts": report.open_accounts,
        "delinquent_accounts": report.delinquent_accounts,
        "outstanding": None if outstanding is None else str(outstanding.amount),
        "currency": None if outstanding is None else outstanding.currency.code,
    }


def _answer_facts(answers: Answers) -> dict[str, Any]:
    report, fraud = answers.report, answers.fraud
    return {
        "credit_score": None if report is None or report.score is None else Decimal(report.score),
        "bureau_overdue_accounts": None if report is None else Decimal(report.delinquent_accounts),
        "fraud_risk": None if fraud is None else str(fraud.risk),
        **answers.statements.facts,
    }


def _facts(work: Work, application: Application, answers: Answers) -> dict[str, Any]:
    """The facts the rules read: the database's, and the parties' answers."""
    uow = work.uow
    customer = uow.customers.get(application.customer_id)
    vehicle = uow.vehicles.get(application.vehicle_id)
    partner = uow.partners.get(application.partner_id)
    terms = application.terms
    position = uow.credit_limits.get(partner.id).position(work.business_date)
    people = [customer, *(uow.customers.get(party.customer_id) for party in application.parties)]
    hits = blacklist_hits(
        uow,
        id_numbers=[(person.country, person.id_number) for person in people],
        phones=[person.phone for person in people if person.phone is not None],
        vins=[str(vehicle.vin)],
        partner_ids=[partner.id],
    )
    identity = (customer.country, customer.id_number, application.id)
    return {
        "amount_financed": terms.amount_financed.amount,
        "vehicle_price": terms.vehicle_price.amount,
        "down_payment_ratio": _down_payment_ratio(application),
        "term_months": Decimal(terms.term_months),
        "annual_rate": terms.annual_rate,
        "business_type": str(application.business_type),
        "customer_kind": str(customer.kind),
        "partner_rating": None if partner.rating is None else str(partner.rating),
        "partner_state": str(partner.state),
        "partner_available_limit": position.available.amount,
        "blacklist_hits": Decimal(len(hits)),
        "same_id_other_applications": Decimal(uow.applications.count_for_identity(*identity)),
        "same_id_other_dealers": Decimal(
            uow.applications.count_for_identity(*identity, other_than=partner.id)
        ),
        "same_vin_other_applications": Decimal(
            uow.applications.count_for_vin(str(vehicle.vin), application.id)
        ),
        "same_phone_other_applications": None
        if customer.phone is None
        else Decimal(uow.applications.count_for_phone(customer.phone, application.id)),
        **_answer_facts(answers),
        **_affordability(application, answers),
    }


def _affordability(application: Application, answers: Answers) -> dict[str, Any]:
    """The plan's installment, and how many times the statement's monthly income covers it
    (null without a plan or a statement income)."""
    installment = None if application.plan is None else application.plan.installment
    income = answers.statements.facts.get("statement_monthly_income")
    cover = None
    if installment and income is not None:
        cover = (income / installment).quantize(_EXACT_DIGITS)
    return {"installment": installment, "income_to_installment": cover}


def _face_findings(check: FacePhotoCheck) -> list[str]:
    """The face photo's findings as sentences; none without a photo (a fact says so)."""
    if not check.facts["face_photo_present"]:
        return []
    verdicts = {True: "passed", False: "failed", None: "not judged"}
    return [f"face photo, {f.check} ({verdicts[f.passed]}): {f.sentence}" for f in check.findings]


def _fired(result: RuleResult | None) -> tuple[str, ...]:
    """The reasons of the rules that held against the case."""
    if result is None:
        return ()
    return tuple(f"{f.code}: {f.reason}" for f in result.fired if f.action is not RuleAction.PASS)


@handles_gathered(
    "application_submitted",
    "application_resubmitted",
    name="origination.pre_approve",
    gather=gather_answers,
)
def pre_approve_submitted(work: Work, event: DomainEvent, answers: Answers | None) -> None:
    """Assess the submitted application and decline or pre-approve it (see the module)."""
    if answers is None:
        return
    application = work.uow.applications.get(event.subject_id)
    if application.state is not ApplicationState.SUBMITTED:
        return  # withdrawn or moved on while the parties were asked
    face = check_face_photo(work, application)
    facts = {**_facts(work, application, answers), **face.facts}
    unavailable = (*answers.unavailable, *face.unavailable)
    rules = published_rule_set(work.ctx, RULE_SET, work.uow)
    result = None if rules is None else evaluate(rules, facts)
    action, added = outcome_of(
        None if result is None else result.action, unavailable, answers.votes
    )
    assessment = PreApproval.of(
        application_id=application.id,
        partner_id=application.partner_id,
        outcome=action,
        score=0 if result is None else result.score,
        reasons=_fired(result) + added,
        facts=facts,
        findings=(*answers.statements.findings, *_face_findings(face)),
        bureau_report=_kept_report(answers.report),
        unavailable=unavailable,
        rule_set_version_id=None if rules is None else rules.id,
        at=work.at,
    )
    work.uow.pre_approvals.add(assessment)
    work.event(
        "application_pre_assessed",
        "application",
        application.id,
        {"pre_approval_id": assessment.id, "outcome": str(action),
         "partner_id": application.partner_id},
    )  # fmt: skip
    move = (
        ApplicationAction.DECLINE if action is RuleAction.DECLINE else ApplicationAction.PRE_APPROVE
    )
    reason = "; ".join(assessment.reasons) if move is ApplicationAction.DECLINE else None
    moved = application.apply(
        move, work.actor, at=work.at, business_date=work.business_date, reason=reason
    )
    work.uow.applications.update(application)
    work.record(moved)
    logger.info("application %s pre-assessed: %s", application.id, action)


@attrs.frozen
class PreApprovalQuery:
    """Which assessments to list; every field left out matches all."""

    application_id: str | None = None
    partner_id: str | None = None
    outcome: RuleAction | None = None


list_pre_approvals: Lister[PreApprovalQuery, Record] = lister(
    "list_pre_approvals",
    PreApprovalQuery,
    lambda uow: uow.pre_approvals,
    back_office_lists("pre_approval"),
    """List pre-approval assessments.

    ``?application_id=`` gives an application's, one per submission: the outcome and its
    reasons, the facts the rules read, the parties that did not answer and the rule set
    version. Back-office staff only (the facts include the bureau's and the anti-fraud
    source's findings).""",
)
