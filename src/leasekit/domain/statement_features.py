"""Facts about a customer's income and balance, read from a bank statement.

:func:`statement_features` is a pure function of a
:class:`~leasekit.domain.statements.BankStatement`; pre-approval reads its result as facts.
Every feature comes with a sentence saying how it was found, for the officer who reviews the
case and for the customer who asks why.

**Recurring income.** Money in is grouped by counterparty (its account when the statement names
one, else its name, ignoring case and spacing). A group is *recurring*, salary-like, when it
paid at least twice (payments on one day count as one), the median gap between its payments is
25 to 35 days, and each payment is within 30 % of the median payment. The monthly income
estimate is the sum, over recurring groups, of their median payment; one-off inflows (a car
sold, a loan from a relative) never count.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final, Generic, TypeVar

import attrs

from leasekit.domain.statements import BankStatement, StatementLine
from leasekit.money import DECIMAL_CONTEXT, HALF_UP, Money, exact

__all__ = [
    "Explained",
    "IncomeSource",
    "StatementFeatures",
    "statement_features",
]

_T = TypeVar("_T")

MIN_GAP_DAYS: Final = 25
MAX_GAP_DAYS: Final = 35
MAX_MONTHLY_DEVIATION: Final = Decimal("0.30")
LARGEST_INFLOWS: Final = 3
DAYS_PER_MONTH: Final = 30
"""The balance trend is given per 30 days."""


@attrs.frozen
class Explained(Generic[_T]):
    """A feature's value and a sentence saying how it was found."""

    value: _T
    explanation: str


@attrs.frozen
class IncomeSource:
    """A counterparty that pays the customer about monthly."""

    counterparty: str
    monthly_amount: Money
    """The median of its monthly totals."""
    months: int
    """The calendar months in which it paid."""
    payments: int
    """Its payments; two on one day count as one."""


@attrs.frozen
class StatementFeatures:
    """What a statement says about income and balance."""

    months_covered: Explained[int]
    monthly_income: Explained[Money]
    income_sources: Explained[tuple[IncomeSource, ...]]
    income_regularity: Explained[Decimal]
    """Between 0 and 1: the main income's payments per calendar month covered, at most one."""
    balance_trend: Explained[Money]
    """The balance's change per 30 days, from a least-squares line through the end-of-day
    balances; negative when savings shrink."""
    largest_inflows: Explained[tuple[StatementLine, ...]]


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _counterparty_key(line: StatementLine) -> str:
    account = "".join(line.counterparty_account.split()).casefold()
    return account or " ".join(line.counterparty_name.casefold().split())


def _median(values: Sequence[Decimal]) -> Decimal:
    with_context: Decimal = statistics.median(sorted(values))
    return with_context


def _recurring(lines: list[StatementLine]) -> IncomeSource | None:
    """The group of inflows from one counterparty as an income source, if it recurs.

    Payments are compared one by one rather than by calendar month, so a salary paid on the
    last working day, which drifts between the end of one month and the start of the next,
    still counts: two in March and none in February are two months' pay.
    """
    by_day: defaultdict[date, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_day[line.booked_on] += line.amount.amount
    if len(by_day) < 2:
        return None
    days = sorted(by_day)
    gaps = [(later - earlier).days for earlier, later in itertools.pairwise(days)]
    if not MIN_GAP_DAYS <= statistics.median(gaps) <= MAX_GAP_DAYS:
        return None
    median = _median(list(by_day.values()))
    if median <= 0 or any(
        abs(amount - median) > median * MAX_MONTHLY_DEVIATION for amount in by_day.values()
    ):
        return None
    name = next((line.counterparty_name for line in lines if line.counterparty_name.strip()), "")
    label = name or lines[0].counterparty_account or "unnamed counterparty"
    months = len({_month(day) for day in days})
    return IncomeSource(label, Money(median, lines[0].amount.currency), months, len(by_day))


def _income(
    statement: BankStatement, months: int
) -> tuple[Explained[Money], Explained[tuple[IncomeSource, ...]], Explained[Decimal]]:
    currency = statement.opening_balance.currency
    groups: defaultdict[str, list[StatementLine]] = defaultdict(list)
    for line in statement.lines:
        if line.amount.amount > 0:
            groups[_counterparty_key(line)].append(line)
    sources = tuple(
        sorted(
            (source for lines in groups.values() if (source := _recurring(lines)) is not None),
            key=lambda source: (-source.monthly_amount.amount, source.counterparty),
        )
    )
    total = sum((source.monthly_amount for source in sources), Money.zero(currency))
    total = total.quantize(HALF_UP)
    if not sources:
        return (
            Explained(total, "no inflow recurs about monthly from one counterparty"),
            Explained(sources, "no counterparty pays about monthly"),
            Explained(Decimal("0.00"), "no recurring income to be regular"),
        )
    named = ", ".join(
        f"{source.counterparty} {source.monthly_amount.quantize(HALF_UP)}" for source in sources
    )
    main = sources[0]
    regularity = (Decimal(min(main.payments, months)) / Decimal(months)).quantize(
        Decimal("0.01"), context=DECIMAL_CONTEXT
    )
    return (
        Explained(
            total,
            f"the median monthly payment of each counterparty that pays about monthly: {named}",
        ),
        Explained(sources, f"{len(sources)} counterparty(ies) pay about monthly"),
        Explained(
            regularity,
            f"{main.counterparty} paid {main.payments} time(s) in the {months} calendar "
            "month(s) the statement covers",
        ),
    )


def _end_of_day_balances(statement: BankStatement) -> list[tuple[int, Decimal]]:
    """(days since the period start, balance at the end of that day), opening day first."""
    points = {0: statement.opening_balance.amount}
    running = statement.opening_balance.amount
    for line in sorted(statement.lines, key=lambda line: line.booked_on):
        running = line.balance.amount if line.balance is not None else running + line.amount.amount
        points[max((line.booked_on - statement.period_start).days, 0)] = running
    points[(statement.period_end - statement.period_start).days] = statement.closing_balance.amount
    return sorted(points.items())


def _trend(statement: BankStatement) -> Explained[Money]:
    currency = statement.opening_balance.currency
    points = _end_of_day_balances(statement)
    if len(points) < 2:
        return Explained(Money.zero(currency), "a single day shows no trend")
    count = Decimal(len(points))
    mean_x = sum(Decimal(x) for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    spread = sum((Decimal(x) - mean_x) ** 2 for x, _ in points)
    slope = sum((Decimal(x) - mean_x) * (y - mean_y) for x, y in points) / spread
    trend = Money(slope * DAYS_PER_MONTH, currency).quantize(HALF_UP)
    direction = "grows" if trend.amount > 0 else "shrinks" if trend.amount < 0 else "holds"
    return Explained(
        trend,
        f"the balance {direction} by {abs(trend.amount)} {currency.code} per 30 days, on a "
        f"least-squares line through {len(points)} end-of-day balances",
    )


def _largest_inflows(statement: BankStatement, count: int) -> Explained[tuple[StatementLine, ...]]:
    inflows = sorted(
        (line for line in statement.lines if line.amount.amount > 0),
        key=lambda line: (-line.amount.amount, line.booked_on),
    )[:count]
    if not inflows:
        return Explained((), "no money came in")
    listed = ", ".join(
        f"{line.amount} from {line.counterparty_name or 'an unnamed counterparty'} on "
        f"{line.booked_on.isoformat()}"
        for line in inflows
    )
    return Explained(tuple(inflows), f"the {len(inflows)} largest inflow(s): {listed}")


@exact
def statement_features(
    statement: BankStatement, *, largest: int = LARGEST_INFLOWS
) -> StatementFeatures:
    """Income, regularity, balance trend, largest inflows and months covered of *statement*."""
    months = _months_between(statement.period_start, statement.period_end)
    income, sources, regularity = _income(statement, months)
    return StatementFeatures(
        months_covered=Explained(
            months,
            f"the period {statement.period_start.isoformat()} to "
            f"{statement.period_end.isoformat()} touches {months} calendar month(s)",
        ),
        monthly_income=income,
        income_sources=sources,
        income_regularity=regularity,
        balance_trend=_trend(statement),
        largest_inflows=_largest_inflows(statement, largest),
    )
