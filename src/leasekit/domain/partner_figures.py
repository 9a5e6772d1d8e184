"""A partner's figures: what its own book says about it, for rating and monitoring.

The same :class:`PartnerFigures` feed the scorecard (:mod:`leasekit.domain.partner_ratings`)
and the monitoring rules (:mod:`leasekit.domain.partner_monitoring`), so a grade and an alert
never disagree about the numbers. Storage counts the records; this module only turns counts
into rates.

Counts of business cover the **window**: the months before the business date
(``window_months``, by settings), judged by when each record was made. A rate whose
denominator is zero is ``None``, never a division by zero or a made-up 0 %: a partner with no
decided applications has no approval rate yet, and the models decide what no data is worth.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Final

import attrs

from leasekit.calc.dates import add_months
from leasekit.money import Money

__all__ = ["RATE_PLACES", "BookCounts", "PartnerFigures", "months_between", "rate", "window_start"]

RATE_PLACES: Final = Decimal("0.0001")
"""Rates are kept to a hundredth of a percent: finer adds nothing a threshold could use."""


def rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part / whole`` to :data:`RATE_PLACES`, or None when there is no whole to speak of."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES)


def window_start(as_of: date, months: int) -> date:
    """The first day of the window of *months* that ends on *as_of*."""
    return add_months(as_of, -months)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from *start* to *end* (0 when *end* is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


@attrs.frozen
class BookCounts:
    """What storage counts of one partner's book; :meth:`PartnerFigures.of` derives the rest."""

    applications: int
    """Applications submitted in the window (drafts are not business yet)."""
    decided: int
    """Of those, the ones the company decided: approved (and what followed) or refused."""
    approved: int
    volume: Money
    """Amount financed of the approved ones."""
    contracts: int
    """Contracts of the partner on the books (disbursed and not yet ended)."""
    overdue_contracts: int
    """Of those, the ones with an installment past due and not fully paid."""
    fraud_hits: int
    """Review flags raised on its applications in the window, and its customers on the
    blacklist."""
    documents: int
    """Documents uploaded in the window."""
    document_defects: int
    """Defects recorded on its documents in the window."""


@attrs.frozen
class PartnerFigures:
    """One partner's figures on one business date."""

    partner_id: str
    as_of: date
    since: date
    """The first day of the window the counts cover."""
    applications: int
    decided: int
    approved: int
    approval_rate: Decimal | None
    volume: Money
    contracts: int
    overdue_contracts: int
    overdue_rate: Decimal | None
    fraud_hits: int
    documents: int
    document_defects: int
    defect_rate: Decimal | None
    months_in_business: int
    """Whole months since the partner was onboarded with the company."""
    limit: Money
    exposure: Money
    """Used plus frozen on its credit limit."""
    utilisation: Decimal | None
    """Exposure over limit; None for a partner without a limit."""

    @classmethod
    def of(
        cls,
        partner_id: str,
        counts: BookCounts,
        *,
        onboarded_at: datetime,
        limit: Money,
        exposure: Money,
        as_of: date,
        since: date,
    ) -> PartnerFigures:
        return cls(
            partner_id=partner_id,
            as_of=as_of,
            since=since,
            applications=counts.applications,
            decided=counts.decided,
            approved=counts.approved,
            approval_rate=rate(counts.approved, counts.decided),
            volume=counts.volume,
            contracts=counts.contracts,
            overdue_contracts=counts.overdue_contracts,
            overdue_rate=rate(counts.overdue_contracts, counts.contracts),
            fraud_hits=counts.fraud_hits,
            documents=counts.documents,
            document_defects=counts.document_defects,
            defect_rate=rate(counts.document_defects, counts.documents),
            months_in_business=months_between(onboarded_at.date(), as_of),
            limit=limit,
            exposure=exposure,
            utilisation=rate(exposure.amount, limit.amount),
        )
