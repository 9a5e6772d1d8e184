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
from leasekit.domain.end_of_day import (
    AgingBucket,
    InterestAccrual,
    accrue_penalty,
    bucket_of,
    cut,
    days_past_due,
    earned_unpaid,
)

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
