"""The close of business: what one day's close does to a contract's receivables, how a book
is cut into partitions, and the record of a close and its steps.

A receivable that is still owed after its grace days is **overdue**; its contract's **days
past due** count from the due date of its oldest overdue line, and put the contract in an
**aging bucket** (1–30, 31–60, 61–90, 90+). Overdue lines accrue **penalty interest** every
day on what they still owe of fee, interest and principal (never on penalty: it does not
compound), by the calculator's rule (:func:`leasekit.calc.penalty_interest`): nothing within
the grace days, and past them the penalty runs from the due date. The exact figure is kept
beside the charged one, which is that figure rounded once to the currency's minor unit, so
a line whose balance never changes is charged exactly what the calculator quotes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

import attrs

from leasekit.calc.dates import add_months
from leasekit.domain.contracts import Receivable
from leasekit.money import Money

__all__ = [
    "AgingBucket",
    "CloseRules",
    "CloseState",
    "InterestAccrual",
    "LineAccrual",
    "PartitionState",
    "PenaltyReplay",
    "PenaltyState",
    "accrue_penalty",
    "bucket_of",
    "cut",
    "days_past_due",
    "earned_unpaid",
    "next_business_date",
]


class AgingBucket(StrEnum):
    """How long a contract's oldest overdue installment has been unpaid."""

    CURRENT = "current"
    """Nothing overdue."""
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_90_PLUS = "90+"


_BUCKETS: Final = ((30, AgingBucket.DAYS_1_30), (60, AgingBucket.DAYS_31_60),
                   (90, AgingBucket.DAYS_61_90))  # fmt: skip


def bucket_of(days: int) -> AgingBucket:
    """The bucket of a contract *days* past due (0 is current)."""
    if days <= 0:
        return AgingBucket.CURRENT
    for upper, bucket in _BUCKETS:
        if days <= upper:
            return bucket
    return AgingBucket.DAYS_90_PLUS


def days_past_due(oldest_owed: date | None, on: date, grace_days: int) -> int:
    """Days from the due date of a contract's oldest line still owed to *on*, once that line
    is past its grace days; 0 while it is within them or when nothing is owed."""
    if oldest_owed is None:
        return 0
    days = (on - oldest_owed).days
    return days if days > grace_days else 0


@attrs.frozen
class LineAccrual:
    """What a close adds to a line's penalty: the exact accrual since the due date, what that
    adds to the charged penalty (the exact accrual rounded once, less what the last close
    charged of it; a waiver or a settlement may have cut the charged penalty meanwhile, and
    is not undone), and the business date it runs through."""

    exact: Decimal
    added: Decimal
    through: date


def accrue_penalty(
    *,
    base: Decimal,
    due_date: date,
    exact: Decimal,
    through: date | None,
    on: date,
    daily_rate: Decimal,
    grace_days: int,
    exponent: Decimal,
) -> LineAccrual | None:
    """The penalty of a line owing *base* (fee, interest and principal still unpaid) after
    the close of *on*, given what it had accrued (*exact*) through *through*; None when the
    close adds nothing (within the grace days, nothing owed, or already accrued through *on*,
    which makes a repeated close a no-op). The first close past the grace days charges the
    days since the due date; each later one the days since the last close."""
    if base <= 0 or (on - due_date).days <= grace_days:
        return None
    start = max(through or due_date, due_date)
    days = (on - start).days
    if days <= 0:
        return None
    total = exact + base * daily_rate * days
    added = _rounded(total, exponent) - _rounded(exact, exponent)
    return LineAccrual(total, added, on)


def _rounded(amount: Decimal, exponent: Decimal) -> Decimal:
    return amount.quantize(exponent, ROUND_HALF_UP)


_DAY: Final = timedelta(days=1)
_BASE_PARTS: Final = ("principal", "interest", "fee")
"""The parts penalty accrues on (never on penalty)."""


@attrs.define
class PenaltyState:
    """Where a line's accrual stands: the exact penalty and the business date it runs
    through (None before the first close that charged it)."""

    exact: Decimal
    through: date | None


@attrs.define
class PenaltyReplay:
    """Penalty interest charged again while a contract's payments are replayed (a reversal):
    what the closes of *first* through *last* would have charged had the replayed history been
    the real one, close by close with :func:`accrue_penalty` itself, each line owing what it
    owes at that point of the replay.

    What was taken off a line's penalty other than by closes (a waiver) stays taken off: its
    *offset* is kept on the replayed figure."""

    first: date
    last: date
    daily_rate: Decimal
    grace_days: int
    states: dict[str, PenaltyState]
    offsets: Mapping[str, Decimal]
    closed: date
    """The last close replayed so far (the day before *first* while none is): the closes
    before *since* once :meth:`before` has built it."""

    @classmethod
    def before(
        cls,
        lines: Sequence[Receivable],
        since: date,
        paid_since: Iterable[tuple[str, date, Decimal]],
        *,
        first: date,
        last: date,
        daily_rate: Decimal,
        grace_days: int,
        exact: Mapping[str, Decimal],
    ) -> PenaltyReplay:
        """The accrual as it stood after the close before *since*, every line's penalty set
        to it. *lines* owe what they owed before *since* and carry the penalty the closes
        charged, *exact* before rounding; *paid_since* are the payments of fee, interest and
        principal (line id, day, amount) that stand from before *since*, by which a line
        owed more on each earlier day."""
        offsets = {line.id: line.penalty.amount - _rounded(exact.get(line.id, Decimal(0)),
                                                            line.principal.currency.quantum)
                   for line in lines}  # fmt: skip
        replay = cls(first, last, daily_rate, grace_days,
                     {line.id: PenaltyState(Decimal(0), None) for line in lines}, offsets,
                     max(first - _DAY, min(since - _DAY, last)))  # fmt: skip
        later: dict[str, list[tuple[date, Decimal]]] = {line.id: [] for line in lines}
        for line_id, day, amount in paid_since:
            later[line_id].append((day, amount))
        for line in lines:
            replay._set(line)
            replay._charge_before(line, replay.closed, later[line.id])
        return replay

    def _charge_before(
        self, line: Receivable, through: date, paid: Sequence[tuple[date, Decimal]]
    ) -> None:
        """Each close from the first past the line's grace days through *through*, on what
        it owes now and what *paid* paid of it after that day."""
        owed_now = _base(line)
        if owed_now <= 0 and not paid:
            return
        day = max(self.first, line.due_date + timedelta(days=self.grace_days + 1))
        while day <= through:
            self._charge(line, day, owed_now + sum((a for on, a in paid if on > day), Decimal(0)))
            day += _DAY

    def close_through(self, lines: Sequence[Receivable], day: date) -> None:
        """Replay each close after the last one replayed, through *day* (never past
        *last*), on what *lines* owe now."""
        while self.closed < min(day, self.last):
            self.closed += _DAY
            for line in lines:
                if (self.closed - line.due_date).days > self.grace_days:
                    self._charge(line, self.closed, _base(line))

    def _charge(self, line: Receivable, on: date, owed: Decimal) -> None:
        state = self.states[line.id]
        accrued = accrue_penalty(
            base=owed, due_date=line.due_date, exact=state.exact, through=state.through, on=on,
            daily_rate=self.daily_rate, grace_days=self.grace_days,
            exponent=line.principal.currency.quantum,
        )  # fmt: skip
        if accrued is not None:
            state.exact, state.through = accrued.exact, on
            self._set(line)

    def _set(self, line: Receivable) -> None:
        exact = self.states[line.id].exact
        charged = _rounded(exact, line.principal.currency.quantum) + self.offsets[line.id]
        line.penalty = Money(max(charged, line.paid_penalty.amount), line.principal.currency)


def _base(line: Receivable) -> Decimal:
    """What *line* owes that penalty accrues on."""
    return sum((line.owed(part).amount for part in _BASE_PARTS), Decimal(0))


class InterestAccrual(StrEnum):
    """When the close books interest earned but not yet paid."""

    OFF = "off"
    """Never: interest is income when paid."""
    DAILY = "daily"
    MONTH_END = "month_end"
    """On the last day of each month."""

    def due_on(self, on: date) -> bool:
        if self is InterestAccrual.MONTH_END:
            return (on + timedelta(days=1)).month != on.month
        return self is InterestAccrual.DAILY


def earned_unpaid(
    *, interest: Decimal, paid: Decimal, due_date: date, on: date, exponent: Decimal
) -> Decimal:
    """What a monthly installment's *interest* has earned by the close of *on* and is not yet
    paid: the interest spread evenly over the days of the month before its due date (all of
    it once due), less what is paid of it; never below zero."""
    start = add_months(due_date, -1)
    if on <= start:
        return Decimal(0)
    share = min(Decimal((on - start).days) / Decimal((due_date - start).days), Decimal(1))
    return max(_rounded(interest * share, exponent) - paid, Decimal(0))


def cut(starts: Sequence[str]) -> list[tuple[str, str | None]]:
    """Partitions from the sorted ids they start at: ``(start, next start)`` ranges, the
    first from the lowest id there can be and the last open-ended, so that a contract added
    meanwhile still falls into one of them; one partition for an empty book."""
    bounds = ["", *starts[1:]]
    return [(low, bounds[index + 1] if index + 1 < len(bounds) else None)
            for index, low in enumerate(bounds)]  # fmt: skip


@attrs.frozen
class CloseRules:
    """How the close of business works the book."""

    partition_size: int = 5000
    """Contracts per partition: the unit one worker does in one transaction."""
    penalty_daily_rate: Decimal = Decimal("0.0005")
    """Penalty interest per day on what an overdue line still owes (0.05 %)."""
    prepare_debit_runs: bool = False
    """Whether the close prepares the next business date's debit runs."""
    interest_accrual: InterestAccrual = InterestAccrual.MONTH_END
    """When the close books interest earned but not yet paid."""


class CloseState(StrEnum):
    RUNNING = "running"
    """Steps are being worked; the business date has not moved."""
    CLOSED = "closed"
    """Every step succeeded and the business date moved to the next day."""


class PartitionState(StrEnum):
    PENDING = "pending"
    DONE = "done"


def next_business_date(closed: date) -> date:
    """The business date after a closed one: the next calendar day (weekends and holidays
    are business days of a leasing company's books; interest runs on them too)."""
    return closed + timedelta(days=1)
