"""Pre-approval: on submission, gather an application's facts and let the rules judge them.

An in-process handler of ``application_submitted`` and ``application_resubmitted`` (so never
inside the dealer's request) gathers the facts: the terms, the customer, the dealer's state,
grade and available limit, the blacklist, other applications by the same id number (at any
dealer), the credit bureau's report and the anti-fraud source's check. It runs the published
``pre_approval`` rule set over them and keeps the assessment
(:class:`~leasekit.domain.pre_approvals.PreApproval`). A decline moves the application to
``declined`` with every reason; anything else pre-approves it for the people
who decide, the outcome (pass or refer) and its reasons kept for them. A party that fails to
answer leaves its facts null and the outcome a referral at least.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from leasekit.domain.applications import Application, ApplicationAction, ApplicationState
from leasekit.domain.events import DomainEvent
from leasekit.domain.pre_approvals import RULE_SET, PreApproval, outcome_of
from leasekit.domain.rules import RuleAction
from leasekit.ports import CreditSubject, FraudSubject
from leasekit.services.blacklist import blacklist_hits
from leasekit.services.commands import Work
from leasekit.services.context import back_office_lists
from leasekit.services.events import handles
from leasekit.services.reads import Lister, lister
from leasekit.services.rules import evaluate, published_rule_set
from leasekit.services.storage import Record

__all__ = ["PreApprovalQuery", "list_pre_approvals", "pre_approve_submitted"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")
_EXACT_DIGITS: Final = Decimal("0.0001")


def _asked(party: str, call: Callable[[], _T], unavailable: list[str]) -> _T | None:
    """*call*'s answer, or None with *party* noted as not answering: an external party's
    failure, whatever it raises, leaves its facts unknown, never the assessment undone."""
    try:
        return call()
    except Exception as exc:
        # The error's kind only: a vendor's message may quote the id number it was sent.
        logger.warning("pre-approval: %s did not answer (%s)", party, type(exc).__name__)
        unavailable.append(party)
        return None


def _facts(work: Work, application: Application) -> tuple[dict[str, Any], list[str]]:
    """The facts the rules read, and the parties that did not answer."""
    uow, adapters = work.uow, work.ctx.adapters
    customer = uow.customers.get(application.customer_id)
    vehicle = uow.vehicles.get(application.vehicle_id)
    partner = uow.partners.get(application.partner_id)
    terms = application.requested
    position = uow.credit_limits.get(partner.id).position(work.business_date)
    hits = blacklist_hits(
        uow,
        id_numbers=[(customer.country, customer.id_number)],
        vins=[str(vehicle.vin)],
        partner_ids=[partner.id],
    )
    unavailable: list[str] = []
    report = _asked(
        "credit_bureau",
        lambda: adapters.credit_bureau.fetch_report(
            CreditSubject(customer.name, customer.id_number, str(customer.kind), customer.country)
        ),
        unavailable,
    )
    fraud = _asked("fraud_source", lambda: adapters.fraud_source.check(
        FraudSubject(customer.name, customer.id_number)), unavailable)  # fmt: skip
    facts: dict[str, Any] = {
        "amount_financed": terms.amount_financed.amount,
        "vehicle_price": terms.vehicle_price.amount,
        "down_payment_ratio": (terms.down_payment.amount / terms.vehicle_price.amount).quantize(
            _EXACT_DIGITS
        ),
        "term_months": Decimal(terms.term_months),
        "annual_rate": terms.annual_rate,
        "business_type": str(application.business_type),
        "customer_kind": str(customer.kind),
        "partner_rating": None if partner.rating is None else str(partner.rating),
        "partner_state": str(partner.state),
        "partner_available_limit": position.available.amount,
        "blacklist_hits": Decimal(len(hits)),
        "same_id_other_applications": Decimal(
            uow.applications.count_for_identity(
                customer.country, customer.id_number, application.id
            )
        ),
        "credit_score": None if report is None or report.score is None else Decimal(report.score),
        "bureau_overdue_accounts": None if report is None else Decimal(report.delinquent_accounts),
        "fraud_risk": None if fraud is None else str(fraud.risk),
    }
    return facts, unavailable


@handles("application_submitted", "application_resubmitted", name="origination.pre_approve")
def pre_approve_submitted(work: Work, event: DomainEvent) -> None:
    """Assess the submitted application and decline or pre-approve it (see the module)."""
    if event.subject != "application":
        return
    application = work.uow.applications.get(event.subject_id)
    if application.state is not ApplicationState.SUBMITTED:
        return  # withdrawn or moved on before its turn came: nothing left to assess
    facts, unavailable = _facts(work, application)
    rules = published_rule_set(work.ctx, RULE_SET, work.uow)
    result = None if rules is None else evaluate(rules, facts)
    action, added = outcome_of(None if result is None else result.action, unavailable)
    fired = () if result is None else tuple(
        f"{f.code}: {f.reason}" for f in result.fired if f.action is not RuleAction.PASS
    )  # fmt: skip
    assessment = PreApproval.of(
        application_id=application.id,
        partner_id=application.partner_id,
        outcome=action,
        score=0 if result is None else result.score,
        reasons=fired + added,
        facts=facts,
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
