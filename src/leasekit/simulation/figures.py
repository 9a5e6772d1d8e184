"""What the simulation measures, read from the database through the unit of work: each
contract's delinquency bucket, the principal outstanding by partner grade, and the money
collected per month.

Delinquency is the aging the close of business stored for the day (``contract_aging``):
the simulation reads it after each month end's close.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from leasekit.domain.contracts import PaymentState
from leasekit.domain.end_of_day import AgingBucket
from leasekit.domain.partners import PartnerRating
from leasekit.services.context import ServiceContext
from leasekit.services.funds import PAYING_STATES
from leasekit.simulation.book import CURRENCY

__all__ = [
    "DELINQUENT",
    "Bucket",
    "collections_by_month",
    "delinquency",
    "exposure_by_grade",
    "month_of",
]

_STATES: Final = sorted(str(state) for state in PAYING_STATES)


class Bucket(StrEnum):
    """Where a contract stands on a business date: its aging bucket
    (:class:`~leasekit.domain.end_of_day.AgingBucket`), or ``closed`` once it no longer takes
    payments (paid off)."""

    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_90_PLUS = "90+"
    CLOSED = "closed"


DELINQUENT: Final = (Bucket.DAYS_1_30, Bucket.DAYS_31_60, Bucket.DAYS_61_90, Bucket.DAYS_90_PLUS)


def delinquency(ctx: ServiceContext, contract_ids: Collection[str], on: date) -> dict[str, Bucket]:
    """Each of *contract_ids*' bucket as the close of *on* left it, or ``closed`` if it takes
    no payments any more."""
    with ctx.uow_factory() as uow:
        contracts = uow.contracts.get_many(contract_ids)
        aged = uow.end_of_day.buckets_on(on)
    return {
        cid: Bucket.CLOSED if contracts[cid].state not in PAYING_STATES
        else Bucket(aged.get(cid, AgingBucket.CURRENT).value)
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
