"""The close's rules as properties: a penalty accrued one day at a time is the calculator's
penalty for the whole span, a repeated day adds nothing, interest earned grows to the
installment's interest and no further, and the buckets' edges."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasekit.calc import penalty_interest
from leasekit.domain.contracts import Receivable
from leasekit.domain.end_of_day import (
    AgingBucket,
    InterestAccrual,
    PenaltyReplay,
    PenaltyState,
    accrue_penalty,
    bucket_of,
    cut,
    days_past_due,
    earned_unpaid,
)
from leasekit.money import Money

CENT = Decimal("0.01")
DUE = date(2024, 2, 29)

bases = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.01"), places=5)


@given(base=bases, rate=rates, grace=st.integers(0, 10), days=st.integers(0, 400))
def test_a_penalty_accrued_day_by_day_is_the_calculators(
    base: Decimal, rate: Decimal, grace: int, days: int
) -> None:
    exact, charged, through = Decimal(0), Decimal(0), None
    for day in range(days + 1):
        on = DUE + timedelta(days=day)
        accrued = accrue_penalty(base=base, due_date=DUE, exact=exact, through=through, on=on,
                                 daily_rate=rate, grace_days=grace, exponent=CENT)  # fmt: skip
        if accrued is not None:
            exact, charged, through = accrued.exact, charged + accrued.added, accrued.through
            again = accrue_penalty(base=base, due_date=DUE, exact=exact, through=through, on=on,
                                   daily_rate=rate, grace_days=grace, exponent=CENT)  # fmt: skip
            assert again is None, "a day closed twice adds nothing"
    quoted = penalty_interest([(DUE, base)], as_of=DUE + timedelta(days=days), daily_rate=rate,
                              grace_days=grace, currency_code="CNY")  # fmt: skip
    assert charged == quoted.total


@given(
    interest=st.decimals(min_value=Decimal(0), max_value=Decimal("100000"), places=2),
    paid_share=st.decimals(min_value=Decimal(0), max_value=Decimal(1), places=2),
    day=st.integers(-40, 40),
)
def test_interest_earned_never_exceeds_what_is_unpaid(
    interest: Decimal, paid_share: Decimal, day: int
) -> None:
    paid = (interest * paid_share).quantize(CENT)
    on = DUE + timedelta(days=day)
    earned = earned_unpaid(interest=interest, paid=paid, due_date=DUE, on=on, exponent=CENT)
    assert Decimal(0) <= earned <= interest - paid
    if day >= 0:
        assert earned == interest - paid, "all of it is earned once due"
    later = earned_unpaid(interest=interest, paid=paid, due_date=DUE, on=on + timedelta(days=1),
                          exponent=CENT)  # fmt: skip
    assert later >= earned


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, AgingBucket.CURRENT), (1, AgingBucket.DAYS_1_30), (30, AgingBucket.DAYS_1_30),
     (31, AgingBucket.DAYS_31_60), (60, AgingBucket.DAYS_31_60), (61, AgingBucket.DAYS_61_90),
     (90, AgingBucket.DAYS_61_90), (91, AgingBucket.DAYS_90_PLUS)],
)  # fmt: skip
def test_buckets_by_days_past_due(days: int, bucket: AgingBucket) -> None:
    assert bucket_of(days) is bucket


def test_days_past_due_count_from_the_due_date_once_past_the_grace() -> None:
    assert days_past_due(None, DUE, 3) == 0
    assert days_past_due(DUE, DUE + timedelta(days=3), 3) == 0
    assert days_past_due(DUE, DUE + timedelta(days=4), 3) == 4


def test_month_end_is_the_last_day_of_each_month() -> None:
    assert InterestAccrual.MONTH_END.due_on(date(2024, 2, 29))
    assert not InterestAccrual.MONTH_END.due_on(date(2024, 2, 28))
    assert InterestAccrual.DAILY.due_on(date(2024, 2, 28))
    assert not InterestAccrual.OFF.due_on(date(2024, 2, 29))


def test_partitions_cover_every_id() -> None:
    assert cut([]) == [("", None)]
    assert cut(["a", "m", "t"]) == [("", "m"), ("m", "t"), ("t", None)]


def _line(owed: str, due: date) -> Receivable:
    return Receivable.line(contract_id="c1", sequence=1, due_date=due,
                           principal=Money(owed, "USD"), interest=Money("0.00", "USD"))  # fmt: skip


def test_a_replay_charges_the_closes_since_a_payment_on_what_was_owed_without_it() -> None:
    """A line of 1,000.00 due on the 1st (0.50 a day), paid in full on the 11th, closes
    through the 21st; the payment undone, the closes charge every day since the due date on
    1,000.00: 10.00, as if it had never been paid; a waiver's cut of 1.00 stays."""
    due, paid_on = date(2026, 3, 1), date(2026, 3, 11)
    line = _line("1000.00", due)
    line.penalty = Money("3.50", "USD")  # charged through the 10th (4.50), then 1.00 waived
    replay = PenaltyReplay.before(
        [line], paid_on, [], first=due, last=date(2026, 3, 21), daily_rate=Decimal("0.0005"),
        grace_days=3, exact={line.id: Decimal("4.50")},
    )  # fmt: skip
    assert line.penalty == Money("3.50", "USD")
    assert replay.states[line.id] == PenaltyState(Decimal("4.50"), date(2026, 3, 10))
    replay.close_through([line], date(2026, 3, 31))
    assert line.penalty == Money("9.00", "USD")
    assert replay.states[line.id] == PenaltyState(Decimal("10.0000"), date(2026, 3, 21))


def test_a_replay_charges_a_line_owed_more_before_on_what_it_owed_each_day() -> None:
    """Paid 400.00 of 1,000.00 on the 6th (kept), the closes charge 1,000.00 for the four
    days to the 5th (the grace days caught up then) and 600.00 for the five after."""
    due = date(2026, 3, 1)
    line = _line("1000.00", due)
    line.paid_principal = Money("400.00", "USD")
    replay = PenaltyReplay.before(
        [line], date(2026, 3, 11), [(line.id, date(2026, 3, 6), Decimal("400.00"))],
        first=due, last=date(2026, 3, 10), daily_rate=Decimal("0.0005"), grace_days=3,
        exact={},
    )  # fmt: skip
    assert replay.states[line.id].exact == Decimal("2.00") + Decimal("1.50")
    assert line.penalty == Money("3.50", "USD")
