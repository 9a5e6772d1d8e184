"""What the simulation measures, read from the database through the unit of work: each
contract's delinquency bucket, the principal outstanding by partner grade, and the money
collected per month.

Delinquency is computed here, in :func:`delinquency` alone, from the receivables' status on
the business date (:func:`leasekit.domain.funds.status_of` with the settings' grace days), so
that it can be switched to the aging end of day stores without touching anything else.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from leasekit.domain.contracts import PaymentState, Receivable
from leasekit.domain.funds import ReceivableStatus, status_of
from leasekit.domain.partners import PartnerRating
from leasekit.services.context import ServiceContext
from leasekit.services.funds import PAYING_STATES
from leasekit.simulation.book import CURRENCY

__all__ = [
    "DELINQUENT",
    "Bucket",
    "bucket_of",
    "collections_by_month",
    "delinquency",
    "exposure_by_grade",
    "month_of",
]

_STATES: Final = sorted(str(state) for state in PAYING_STATES)


class Bucket(StrEnum):
    """Where a contract stands on a business date, by the days past due of its oldest
    overdue line; ``closed`` once it no longer takes payments (paid off)."""

    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_90_PLUS = "90+"
    CLOSED = "closed"


DELINQUENT: Final = (Bucket.DAYS_1_30, Bucket.DAYS_31_60, Bucket.DAYS_61_90, Bucket.DAYS_90_PLUS)


def bucket_of(days_past_due: int) -> Bucket:
    if days_past_due <= 0:
        return Bucket.CURRENT
    if days_past_due <= 30:
        return Bucket.DAYS_1_30
    if days_past_due <= 60:
        return Bucket.DAYS_31_60
    if days_past_due <= 90:
        return Bucket.DAYS_61_90
    return Bucket.DAYS_90_PLUS


def _oldest_overdue(lines: Iterable[Receivable], on: date, grace_days: int) -> dict[str, date]:
    """Each contract's oldest due date among its overdue lines (lines in contract order)."""
    oldest: dict[str, date] = {}
    for line in lines:
        if line.contract_id not in oldest and (
            status_of(line, on, grace_days) is ReceivableStatus.OVERDUE
        ):
            oldest[line.contract_id] = line.due_date
    return oldest


def delinquency(ctx: ServiceContext, contract_ids: Collection[str], on: date) -> dict[str, Bucket]:
    """Each of *contract_ids*' bucket on the business date *on*: the days from the due date
    of its oldest line still owed past the grace days, or ``closed`` if it takes no
    payments any more."""
    grace = ctx.collection.retry.grace_days
    with ctx.uow_factory() as uow:
        contracts = uow.contracts.get_many(contract_ids)
        oldest = _oldest_overdue(uow.receivables.unpaid_due(on, CURRENCY, _STATES), on, grace)
    return {
        cid: Bucket.CLOSED if contracts[cid].state not in PAYING_STATES
        else bucket_of((on - oldest[cid]).days) if cid in oldest else Bucket.CURRENT
        for cid in contract_ids
    }  # fmt: skip


def exposure_by_grade(ctx: ServiceContext) -> dict[PartnerRating, Decimal]:
    """The principal still owed on contracts that take payments, by their dealer's grade."""
    by_contract: dict[str, Decimal] = {}
    with ctx.uow_factory() as uow:
        for contract_id, owed in uow.receivables.open_principal(CURRENCY, _STATES):
            by_contract[contract_id] = by_contract.get(contract_id, Decimal(0)) + owed
        contracts = uow.contracts.get_many(by_contract)
        partners = uow.partners.get_many({c.partner_id for c in contracts.values()})
    totals = dict.fromkeys(PartnerRating, Decimal(0))
    for contract_id, owed in by_contract.items():
        rating = partners[contracts[contract_id].partner_id].rating
        if rating is not None:
            totals[PartnerRating(rating)] += owed
    return totals


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def collections_by_month(
    ctx: ServiceContext, contract_ids: Iterable[str]
) -> dict[str, Mapping[str, Decimal]]:
    """The money *contract_ids*' payments brought in (reversed ones not), by the month it
    arrived and by where it came from."""
    months: dict[str, dict[str, Decimal]] = {}
    with ctx.uow_factory() as uow:
        for contract_id in contract_ids:
            for payment in uow.payments.list_for_contract(contract_id):
                if payment.state is PaymentState.REVERSED:
                    continue
                month = months.setdefault(month_of(payment.received_on), {})
                source = str(payment.source)
                month[source] = month.get(source, Decimal(0)) + payment.amount.amount
    return dict(sorted(months.items()))
