from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leasekit import calc
from leasekit.calc import SettlementFee
from leasekit.errors import CalculationError, LeasekitError


def loan(**overrides):
    args = {
        "principal": D("12000"),
        "annual_rate": D("0.06"),
        "periods": 12,
        "start_date": date(2024, 1, 15),
    }
    args.update(overrides)
    return calc.schedule(**args)


def assert_consistent(s, opening):
    balance = opening
    for row in s.rows:
        assert row.payment == row.principal + row.interest
        assert row.balance == balance - row.principal
        balance = row.balance
    assert balance == s.balloon


# -- early settlement ----------------------------------------------------------------------


def test_quote_on_a_due_date_has_no_accrued_interest():
    s = loan()
    q = calc.settlement_quote(s, s.rows[3].due_date)
    assert q.outstanding_principal == s.rows[3].balance
    assert q.accrued_interest == 0
    assert q.total == s.rows[3].balance


def test_quote_between_due_dates_accrues_the_next_rows_interest_pro_rata():
    s = loan()
    # 15 Apr → 1 May is 16 of the 30 days (30/360) to 15 May.
    q = calc.settlement_quote(s, date(2024, 5, 1))
    expected = (s.rows[3].interest * D(16) / D(30)).quantize(D("0.01"))
    assert q.accrued_interest == expected
    assert q.outstanding_principal == s.rows[2].balance


def test_accrued_interest_follows_actual_actual_across_a_year_end():
    s = loan(
        principal=D("100000"),
        annual_rate=D("0.10"),
        periods=2,
        start_date=date(2023, 12, 15),
        day_count="actual/actual",
    )
    # Row 1 charges 17 days of 2023 over 365 and 14 of 2024 over 366 (848.27). By 31
    # December 16 days of 2023 have passed: 100,000 × 10 % × 16/365 = 438.36, not 16/31 of
    # the row (437.82).
    assert s.rows[0].interest == D("848.27")
    assert calc.settlement_quote(s, date(2023, 12, 31)).accrued_interest == D("438.36")


def test_quote_fee_and_deposit():
    s = loan()
    fee = SettlementFee(rate=D("0.02"), fixed=D("50"), maximum=D("150"))
    q = calc.settlement_quote(s, date(2024, 2, 15), fee=fee, deposit=D("500"))
    # 2 % of 11,027.20 = 220.54 + 50 → capped at 150
    assert q.fee == D("150")
    assert q.total == q.outstanding_principal + q.accrued_interest + D("150") - D("500")
    low = calc.settlement_quote(s, date(2024, 2, 15), fee=SettlementFee(minimum=D("75")))
    assert low.fee == D("75")


def test_fee_refuses_floats_when_built():
    with pytest.raises(TypeError, match=r"fee: float 200\.0 is not exact"):
        SettlementFee(minimum=200.0)


def test_quote_counts_unpaid_rows_as_overdue():
    s = loan()
    q = calc.settlement_quote(s, date(2024, 4, 20), paid_through=1)
    assert q.overdue == s.rows[1].payment + s.rows[2].payment
    assert q.outstanding_principal == s.rows[2].balance


def test_deposit_larger_than_balance_is_a_refund():
    s = loan(balloon=D("4000"))
    q = calc.settlement_quote(s, s.maturity_date, deposit=D("5000"))
    assert q.outstanding_principal == D("4000.00")
    assert q.total == D("-1000.00")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"on": date(2024, 1, 1)}, "on: 2024-01-01 is before the contract starts"),
        ({"on": date(2024, 3, 1), "paid_through": 3}, "paid_through: must be between 0 and 1"),
        ({"on": date(2024, 3, 1), "deposit": 10.0}, "deposit: float"),
        ({"on": date(2024, 3, 1), "deposit": "10.001"}, "deposit: 10.001 has more decimal"),
        ({"on": date(2024, 3, 1), "fee": SettlementFee(fixed="49.999")}, "fee.fixed: 49.999"),
    ],
)
def test_quote_rejects_bad_input(kwargs, message):
    with pytest.raises((LeasekitError, TypeError), match=message):
        calc.settlement_quote(loan(), **kwargs)


# -- partial prepayment --------------------------------------------------------------------


def test_reduce_payment_keeps_maturity_and_charges_accrued_interest():
    s = loan()
    p = calc.prepay(s, on=date(2024, 5, 1), amount=D("3000"))
    # 3,000 × 6 % × 16/360 = 8.00 for the sixteen days it was still borrowed.
    assert p.accrued_interest == D("8.00")
    new = p.schedule
    assert new.rows[:3] == s.rows[:3]
    assert len(new.rows) == 12
    assert new.maturity_date == s.maturity_date
    assert new.payment < s.payment
    # A month's interest on the reduced balance, 6,066.99 × 0.5 % = 30.33, plus the 8.00.
    assert new.rows[3].interest == D("38.33")
    assert new.prepayments == ((date(2024, 5, 1), D("3000.00")),)
    assert new.total_principal == D("12000.00")
    assert (date(2024, 5, 1), D("3000.00")) in new.cash_flows()


def test_shorten_term_keeps_the_installment():
    s = loan()
    p = calc.prepay(s, on=date(2024, 5, 15), amount=D("3000"), mode="shorten_term")
    new = p.schedule
    assert new.payment == s.payment
    assert len(new.rows) < len(s.rows)
    assert all(r.payment == s.payment for r in new.rows[4:-1])
    assert new.rows[-1].payment <= s.payment
    assert new.total_principal == D("12000.00")
    assert new.terms.periods == len(new.rows)


def test_second_prepayment_builds_on_the_first():
    s = loan()
    first = calc.prepay(s, on=date(2024, 5, 1), amount=D("3000")).schedule
    second = calc.prepay(first, on=date(2024, 5, 10), amount=D("1000")).schedule
    assert second.total_prepaid == D("4000.00")
    assert second.total_principal == D("12000.00")
    # Both prepayments fall before row 4, so row 4 starts from 9,066.99 − 4,000.
    assert second.rows[3].balance == D("5066.99") - second.rows[3].principal
    with pytest.raises(CalculationError, match="before the last prepayment"):
        calc.prepay(second, on=date(2024, 5, 5), amount=D("100"))
    quote = calc.settlement_quote(second, date(2024, 5, 12))
    assert quote.outstanding_principal == D("5066.99")


def test_two_prepayments_in_one_period_both_carry_their_interest():
    s = loan(principal=D("10000"), periods=6)
    first = calc.prepay(s, on=date(2024, 3, 20), amount=D("3000"))
    second = calc.prepay(first.schedule, on=date(2024, 3, 30), amount=D("1000"))
    # 3,000 × 6 % × 5/360 = 2.50 and 1,000 × 6 % × 15/360 = 2.50, both owed with row 3.
    assert (first.accrued_interest, second.accrued_interest) == (D("2.50"), D("2.50"))
    reduced = s.rows[1].balance - D("4000")
    on_balance = (reduced * D("0.005")).quantize(D("0.01"))
    assert second.schedule.rows[2].interest == on_balance + D("5.00")


def test_quote_after_a_prepayment_owes_its_carried_interest_in_full():
    s = loan(principal=D("10000"), periods=6)
    p = calc.prepay(s, on=date(2024, 3, 30), amount=D("3000")).schedule
    assert s.rows[1].balance == D("6699.87")
    q = calc.settlement_quote(p, date(2024, 3, 30))
    # 15 of 30 days on 3,699.87 (9.25) plus the prepaid 3,000's 15 days (7.50): the same as
    # 6,699.87 × 6 % × 15/360 = 16.75 had nothing been prepaid.
    assert q.outstanding_principal == D("3699.87")
    assert q.accrued_interest == D("16.75")
    with pytest.raises(CalculationError, match="before the last prepayment"):
        calc.settlement_quote(p, date(2024, 3, 25))


@pytest.mark.parametrize("on", [date(2024, 1, 15), date(2024, 3, 15)])
def test_a_prepayment_on_the_start_or_a_due_date_lowers_the_balance_that_day(on):
    s = loan()
    p = calc.prepay(s, on=on, amount=D("1000")).schedule
    due = sum(1 for r in s.rows if r.due_date <= on)
    before = s.rows[due - 1].balance if due else s.terms.principal
    assert calc.settlement_quote(p, on).outstanding_principal == before - D("1000")
    later = calc.prepay(p, on=on, amount=D("500")).schedule
    assert calc.settlement_quote(later, on).outstanding_principal == before - D("1500")


def test_prepayment_before_a_broken_first_due_date_keeps_add_to_first():
    s = loan(first_due_date=date(2024, 3, 1), broken_period="add_to_first")
    p = calc.prepay(s, on=date(2024, 2, 1), amount=D("1000"))
    new = p.schedule
    regular = calc.schedule(
        principal=D("11000"), annual_rate=D("0.06"), periods=12, start_date=date(2024, 2, 1)
    )
    # The installment is solved on regular periods, as the original was.
    assert new.payment == regular.payment
    # Row 1: 46 days (30/360) of interest on 11,000 = 84.33, plus 1,000 × 6 % × 16/360 = 2.67.
    assert new.rows[0].interest == D("84.33") + D("2.67")
    assert new.total_principal == D("12000.00")


def test_equal_principal_shorten_term_keeps_principal_per_row():
    s = loan(method="equal_principal")
    p = calc.prepay(s, on=date(2024, 5, 15), amount=D("3000"), mode="shorten_term")
    assert {r.principal for r in p.schedule.rows[:-1]} == {D("1000.00")}
    assert len(p.schedule.rows) == 9


@pytest.mark.parametrize(
    ("schedule_args", "kwargs", "message"),
    [
        ({"method": "flat"}, {}, "flat-rate schedule"),
        ({"method": "interest_only"}, {"mode": "shorten_term"}, "no term to shorten"),
        ({}, {"amount": D("20000")}, "amount: must be positive and below"),
        ({}, {"amount": D("0")}, "amount: must be positive"),
        ({}, {"on": date(2025, 1, 1)}, "on: no installment remains"),
        ({}, {"mode": "recast"}, "mode: 'recast' is not one of"),
        ({}, {"on": date(2024, 1, 5)}, "on: 2024-01-05 is before the contract starts"),
        ({}, {"amount": D("10.001")}, "amount: 10.001 has more decimal places"),
        ({"grace_periods": 3}, {"on": date(2024, 3, 1)}, "falls in the grace period"),
    ],
)
def test_prepay_rejects(schedule_args, kwargs, message):
    args = {"on": date(2024, 5, 1), "amount": D("1000")} | kwargs
    with pytest.raises(LeasekitError, match=message):
        calc.prepay(loan(**schedule_args), **args)


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["annuity", "equal_principal"]),
    mode=st.sampled_from(["reduce_payment", "shorten_term"]),
    days=st.integers(min_value=0, max_value=300),
    share=st.integers(min_value=1, max_value=90),
    day_count=st.sampled_from(["30/360", "actual/365", "actual/actual"]),
    first_due=st.sampled_from([None, date(2024, 2, 1), date(2024, 3, 1)]),
    broken_period=st.sampled_from(["amortize", "add_to_first"]),
    grace_periods=st.integers(min_value=0, max_value=2),
)
def test_prepayment_conserves_principal(
    method, mode, days, share, day_count, first_due, broken_period, grace_periods
):
    s = loan(
        method=method,
        periods=12,
        day_count=day_count,
        balloon=D("1200"),
        first_due_date=first_due,
        broken_period=broken_period,
        grace_periods=grace_periods,
    )
    on = s.terms.start_date + timedelta(days=days)
    due = sum(1 for r in s.rows if r.due_date <= on)
    assume(due >= grace_periods)  # a prepayment inside the grace period is refused
    balance = s.rows[due - 1].balance if due else s.terms.principal
    amount = ((balance - s.balloon) * share / 100).quantize(D("0.01"))
    p = calc.prepay(s, on=on, amount=amount, mode=mode)
    assert p.schedule.total_principal == s.terms.principal - s.balloon
    assert_consistent_after_prepayment(p.schedule, amount, due)
    assert all(r.interest >= 0 for r in p.schedule.rows)
    # Ending the contract right after costs what was left, not a cent more or less.
    quote = calc.settlement_quote(p.schedule, on)
    assert quote.outstanding_principal == balance - amount


def assert_consistent_after_prepayment(s, amount, due):
    balance = s.terms.principal
    for index, row in enumerate(s.rows):
        if index == due:
            balance -= amount
        assert row.payment == row.principal + row.interest
        assert row.balance == balance - row.principal
        balance = row.balance
    assert balance == s.balloon


# -- penalty interest ----------------------------------------------------------------------


def test_daily_penalty_on_each_overdue_amount():
    q = calc.penalty_interest(
        [(date(2024, 1, 1), D("1000")), (date(2024, 1, 21), D("500.50"))],
        as_of=date(2024, 1, 31),
        daily_rate=D("0.0005"),
    )
    assert [line.days for line in q.lines] == [30, 10]
    # 1000 × 0.0005 × 30 = 15.00; 500.50 × 0.0005 × 10 = 2.5025 → 2.50
    assert [line.penalty for line in q.lines] == [D("15.00"), D("2.50")]
    assert q.total == D("17.50")


def test_grace_days_waive_then_count_from_the_due_date():
    items = [(date(2024, 1, 1), D("1000"))]
    within = calc.penalty_interest(items, as_of=date(2024, 1, 4), daily_rate="0.001", grace_days=3)
    after = calc.penalty_interest(items, as_of=date(2024, 1, 5), daily_rate="0.001", grace_days=3)
    assert within.total == 0
    assert after.total == D("4.00")


def test_no_overdue_lines_total_zero_in_the_currency():
    q = calc.penalty_interest([], as_of=date(2024, 1, 1), daily_rate="0.001")
    assert str(q.total) == "0.00"


def test_not_yet_due_costs_nothing():
    q = calc.penalty_interest(
        [(date(2024, 2, 1), D("100"))], as_of=date(2024, 1, 1), daily_rate="0.01"
    )
    assert q.lines[0].days == 0
    assert q.total == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"daily_rate": "-0.1"}, "daily_rate: must not be negative"),
        ({"daily_rate": 0.001}, "daily_rate: float"),
        ({"daily_rate": "0.001", "grace_days": -1}, "grace_days: must not be negative"),
    ],
)
def test_penalty_rejects(kwargs, message):
    with pytest.raises((CalculationError, TypeError), match=message):
        calc.penalty_interest([(date(2024, 1, 1), D("1"))], as_of=date(2024, 2, 1), **kwargs)


def test_penalty_names_the_bad_line():
    with pytest.raises(CalculationError, match=r"overdue\[1\]: amount must not be negative"):
        calc.penalty_interest(
            [(date(2024, 1, 1), D("1")), (date(2024, 1, 2), D("-1"))],
            as_of=date(2024, 2, 1),
            daily_rate="0.001",
        )
