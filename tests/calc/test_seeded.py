"""The float-seeded solver: the same rates as the bracketing solver, and its fallback.

Realistic flows must be solved on the fast path and agree with the bracketing solver far below
any published digit; flows where a float seed proves nothing (several sign changes, no rate,
rates near -100 % or beyond 10**6, overflow) must go to the bracketing solver, whose answer or
error is then exactly the one ``solver="bracket"`` gives.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leasekit.calc import apr, flat_to_effective, irr, xirr
from leasekit.calc.dates import add_months
from leasekit.calc.rates import FlowColumns, TimedFlow, solve_flows
from leasekit.calc.seeded import Solution
from leasekit.calc.solve import working_precision
from leasekit.errors import CalculationError, NoRateError

AGREE = Decimal("1e-12")


def close(fast: Decimal, reference: Decimal) -> bool:
    return abs(fast - reference) <= AGREE * max(Decimal(1), abs(reference))


def periodic(amounts: list[str | Decimal], guess: str | None = None) -> Solution:
    count = len(amounts)
    flows = FlowColumns([Decimal(a) for a in amounts], range(count), [0] * count, [365] * count)
    return solve_flows(flows, guess=guess, name="cash_flows")


# -- realistic flows: the fast path, agreeing with the bracketing solver -------------------

principals = st.integers(min_value=1_000_00, max_value=500_000_00).map(lambda c: Decimal(c) / 100)
annual_rates = st.integers(min_value=0, max_value=3500).map(lambda bp: Decimal(bp) / 10000)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@st.composite
def loans(draw: st.DrawFn) -> tuple[date, Decimal, list[tuple[date, Decimal]]]:
    """A loan repaid monthly in cents, sometimes with a balloon, a skipped month or an
    extra payment: what a book of vehicle loans holds."""
    principal = draw(principals)
    count = draw(st.integers(min_value=2, max_value=120))
    start = draw(starts)
    with working_precision():
        periodic_rate = draw(annual_rates) / 12
        balloon = principal * draw(st.integers(min_value=0, max_value=40)) / 100
        owed = principal - balloon / (1 + periodic_rate) ** count
        payment = (
            owed / count
            if periodic_rate.is_zero()
            else owed * periodic_rate / (1 - (1 + periodic_rate) ** -count)
        )
    payment = payment.quantize(Decimal("0.01"))
    day = draw(st.integers(min_value=0, max_value=20))
    payments = [(add_months(start, k) + timedelta(days=day), payment) for k in range(1, count + 1)]
    payments[-1] = (payments[-1][0], payment + balloon.quantize(Decimal("0.01")))
    skipped = draw(st.integers(min_value=0, max_value=count - 1))
    if draw(st.booleans()):
        payments[skipped] = (payments[skipped][0], Decimal("0.00"))
    return start, principal, payments


@settings(max_examples=150, deadline=None)
@given(loans())
def test_fast_path_agrees_with_the_bracketing_solver(
    loan: tuple[date, Decimal, list[tuple[date, Decimal]]],
) -> None:
    start, principal, payments = loan
    flows = [(start, -principal), *payments]
    amounts = [amount for _, amount in flows]
    assert close(xirr(flows, solver="float_seed"), xirr(flows))
    assert close(irr(amounts, solver="float_seed"), irr(amounts))
    advances = [(start, principal)]
    for convention, time_basis in (("us_actuarial", None), ("eu", None), ("eu", "months")):
        options = {"convention": convention, "time_basis": time_basis}
        fast = apr(advances=advances, payments=payments, solver="float_seed", **options)
        assert close(fast, apr(advances=advances, payments=payments, **options))
    assert periodic(amounts).solver == "float_seed"


UNITS = ["daily", "weekly", "biweekly", "semimonthly", "monthly", "quarterly", "annual", None]


@st.composite
def calendars(draw: st.DrawFn) -> tuple[date, list[tuple[date, Decimal]]]:
    """Payment dates that stress how time is counted: month ends (a start on the 29th to
    31st, or on 28 or 29 February), leap days, odd days before the first payment, and
    irregular gaps. The fast path counts these in bulk, the bracketing solver date by date."""
    start = draw(st.dates(min_value=date(1999, 1, 1), max_value=date(2031, 12, 31)))
    count = draw(st.integers(min_value=2, max_value=40))
    step = draw(st.sampled_from([1, 1, 1, 3, 12]))
    day = draw(st.sampled_from([None, 28, 29, 30, 31]))
    odd = draw(st.integers(min_value=0, max_value=40))
    dates = [add_months(start, k * step, day) + timedelta(days=odd) for k in range(1, count + 1)]
    if draw(st.booleans()):
        gaps = draw(st.lists(st.integers(1, 70), min_size=count, max_size=count))
        dates = [start + timedelta(days=sum(gaps[: k + 1])) for k in range(count)]
    payment = Decimal(draw(st.integers(min_value=1_00, max_value=2_000_00))) / 100
    return start, [(when, payment) for when in dates]


@settings(max_examples=200, deadline=None)
@given(calendars(), st.sampled_from(UNITS), st.sampled_from(["days", "weeks", "months"]))
def test_the_fast_path_counts_time_as_the_rules_do(
    calendar: tuple[date, list[tuple[date, Decimal]]], unit: str | None, time_basis: str
) -> None:
    # Lending 95 % of what is repaid keeps the rates realistic; any day counted differently
    # would move them far beyond 1e-12.
    start, payments = calendar
    lent = (sum(amount for _, amount in payments) * Decimal("0.95")).quantize(Decimal("0.01"))
    credit = {"advances": [(start, lent)], "payments": payments}
    us = {"convention": "us_actuarial", "unit_period": unit}
    assert close(apr(**credit, **us, solver="float_seed"), apr(**credit, **us))
    eu = {"convention": "eu", "time_basis": time_basis}
    assert close(apr(**credit, **eu, solver="float_seed"), apr(**credit, **eu))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=60))
def test_any_single_sign_change_takes_the_fast_path(cents: list[int]) -> None:
    # One outlay, then any repayments (zeros included) at any amounts: exactly one rate.
    amounts = [Decimal(-sum(cents) - 1) / 100] + [Decimal(c) / 100 for c in cents]
    if not any(cents):
        return
    solution = periodic(amounts)
    assert solution.solver == "float_seed" or "range" in solution.fallback
    assert close(solution.rate, irr(amounts))


def test_documented_examples_agree_far_below_the_tolerance() -> None:
    excel = [
        (date(2008, 1, 1), "-10000"),
        (date(2008, 3, 1), "2750"),
        (date(2008, 10, 30), "4250"),
        (date(2009, 2, 15), "3250"),
        (date(2009, 4, 1), "2750"),
    ]
    assert abs(xirr(excel, solver="float_seed") - xirr(excel)) < Decimal("1e-26")
    flows = ["-100", "39", "59", "55", "20"]
    assert abs(irr(flows, solver="float_seed") - irr(flows)) < Decimal("1e-26")
    long_first = {
        "advances": [(date(1978, 2, 10), "6000")],
        "payments": [(add_months(date(1978, 4, 1), k), "200") for k in range(36)],
    }
    assert abs(apr(**long_first, solver="float_seed") - apr(**long_first)) < Decimal("1e-24")


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=0, max_value=4000).map(lambda bp: Decimal(bp) / 10000),
    st.integers(min_value=2, max_value=120),
    st.sampled_from(["monthly", "quarterly", "semiannual", "annual"]),
    st.booleans(),
)
def test_flat_to_effective_agrees_with_the_bracketing_solver(
    flat: Decimal, periods: int, frequency: str, in_advance: bool
) -> None:
    options = {"frequency": frequency, "in_advance": in_advance}
    for basis in ("nominal", "effective"):
        fast = flat_to_effective(flat, periods, basis=basis, solver="float_seed", **options)
        assert close(fast, flat_to_effective(flat, periods, basis=basis, **options))


def test_a_rate_near_zero_is_found_on_the_fast_path() -> None:
    solution = periodic(["-1000000", "1000000.01"])
    assert solution.solver == "float_seed"
    assert abs(solution.rate - Decimal("1e-8")) < Decimal("1e-30")


# -- pathological flows: the bracketing solver answers ------------------------------------


def test_two_roots_go_to_the_bracketing_solver_and_keep_its_choice() -> None:
    # -100 + 100 v - 7 v**3 has roots near -8.33 % and -67.9 %; which one depends on the guess.
    flows = ["-100", "100", "0", "-7"]
    near = periodic(flows)
    assert near.solver == "bracket"
    assert "more than once" in near.fallback
    assert near.rate == irr(flows) == irr(flows, solver="float_seed")
    far = periodic(flows, guess="-0.6")
    assert far.rate == irr(flows, guess="-0.6")
    assert abs(far.rate - Decimal("-0.679")) < Decimal("0.001")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=-(10**6), max_value=10**6), min_size=3, max_size=30))
def test_flows_changing_sign_more_than_once_get_the_bracketing_solvers_answer(
    cents: list[int],
) -> None:
    signs = [c > 0 for c in cents if c]
    assume(sum(a != b for a, b in itertools.pairwise(signs)) >= 2)
    amounts = [Decimal(c) / 100 for c in cents]
    try:
        expected = irr(amounts)
    except NoRateError as error:
        with pytest.raises(NoRateError, match=re.escape(str(error))):
            periodic(amounts)
        return
    solution = periodic(amounts)
    assert (solution.solver, solution.rate) == ("bracket", expected)
    assert "more than once" in solution.fallback


def test_no_root_raises_the_bracketing_solvers_error() -> None:
    # 100 - 300 v + 250 v**2 is positive for every v.
    with pytest.raises(NoRateError, match="never changes sign"):
        irr(["100", "-300", "250"], solver="float_seed")
    # One sign change after netting, but none left once equal times are added up.
    flows = [TimedFlow("-100", 0), TimedFlow("50", 1), TimedFlow("-60", 1)]
    with pytest.raises(NoRateError, match="never changes sign"):
        solve_flows(FlowColumns.of(flows))


def test_a_huge_rate_goes_to_the_bracketing_solver() -> None:
    solution = periodic(["-1", "1000000000000"])
    assert solution.solver == "bracket"
    assert "outside the range" in solution.fallback
    assert solution.rate == irr(["-1", "1000000000000"])
    assert abs(solution.rate - 999999999999) < Decimal("1e-12")


def test_a_rate_near_minus_100_percent_goes_to_the_bracketing_solver() -> None:
    solution = periodic(["-1000", "0.001"])
    assert solution.solver == "bracket"
    assert "outside the range" in solution.fallback
    assert abs(solution.rate - Decimal("-0.999999")) < Decimal("1e-20")


def test_float_overflow_goes_to_the_bracketing_solver() -> None:
    # From a guess of -90 % a period, 0.1 ** -2000 overflows a float.
    amounts = ["-100", *["1"] * 2000]
    solution = periodic(amounts, guess="-0.9")
    assert solution.solver == "bracket"
    assert "overflowed" in solution.fallback
    assert solution.rate == irr(amounts, guess="-0.9")


def test_errors_are_the_bracketing_solvers() -> None:
    with pytest.raises(CalculationError, match=r"guess: -2 is not inside"):
        irr(["-100", "110"], guess="-2", solver="float_seed")
    with pytest.raises(TypeError, match=r"cash_flows\[1\]: float"):
        irr(["-100", 110.0], solver="float_seed")  # type: ignore[list-item]
    with pytest.raises(NoRateError, match="no negative amount"):
        xirr([(date(2024, 1, 1), "100"), (date(2024, 2, 1), "1")], solver="float_seed")
    with pytest.raises(NoRateError, match="same time"):
        xirr([(date(2024, 1, 1), "-100"), (date(2024, 1, 1), "100")], solver="float_seed")
    with pytest.raises(CalculationError, match=r"flows\[1\]: 2023-12-31 is before"):
        xirr([(date(2024, 1, 1), "-100"), (date(2023, 12, 31), "100")], solver="float_seed")


def test_an_unknown_solver_is_refused() -> None:
    with pytest.raises(CalculationError, match="solver: 'newton' is not one of"):
        irr(["-100", "110"], solver="newton")  # type: ignore[arg-type]
    with pytest.raises(CalculationError, match="solver"):
        apr(advances=[(date(2024, 1, 1), "100")], payments=[(date(2024, 2, 1), "101")], solver="x")  # type: ignore[arg-type]
    with pytest.raises(CalculationError, match="solver"):
        flat_to_effective("0.1", 12, solver="newton")  # type: ignore[arg-type]
