"""The float-seeded solver: the bracketing solver's rates to 1e-15, and its fallback.

Realistic flows must be solved on the fast path and agree with the bracketing solver to 1e-15
(absolute, on the rate as a fraction), far below any published digit, with a proven bound on
the float error that is never below the actual one; flows where a float seed proves nothing
(several sign changes, no rate, rates near -100 % or beyond 10**6, overflow, no proof within
1e-15) must go to the bracketing solver, whose answer or error is then exactly the one
``solver="bracket"`` gives.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leasekit.calc import apr, flat_to_effective, irr, round_aprc, xirr
from leasekit.calc.apr import _Calendar, _eu_day_columns, _eu_time, _eu_years, _GeneralEquation
from leasekit.calc.dates import add_months
from leasekit.calc.rates import FlowColumns, TimedFlow, solve_flows
from leasekit.calc.seeded import AGREEMENT, SeededSum, Solution, Solver
from leasekit.calc.solve import find_root, working_precision
from leasekit.errors import CalculationError, NoRateError

AGREE = Decimal(AGREEMENT)


def close(fast: Decimal, reference: Decimal, *, percent: bool = False) -> bool:
    """Within :data:`~leasekit.calc.seeded.AGREEMENT` on the rate as a fraction; an APR in
    percent is 100 times that."""
    return abs(fast - reference) <= AGREE * (100 if percent else 1)


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
        assert close(fast, apr(advances=advances, payments=payments, **options), percent=True)
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
    # would move them far beyond 1e-15.
    start, payments = calendar
    lent = (sum(amount for _, amount in payments) * Decimal("0.95")).quantize(Decimal("0.01"))
    credit = {"advances": [(start, lent)], "payments": payments}
    us = {"convention": "us_actuarial", "unit_period": unit}
    assert close(apr(**credit, **us, solver="float_seed"), apr(**credit, **us), percent=True)
    eu = {"convention": "eu", "time_basis": time_basis}
    assert close(apr(**credit, **eu, solver="float_seed"), apr(**credit, **eu), percent=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=60))
def test_any_single_sign_change_takes_the_fast_path(cents: list[int]) -> None:
    # One outlay, then any repayments (zeros included) at any amounts: exactly one rate.
    amounts = [Decimal(-sum(cents) - 1) / 100] + [Decimal(c) / 100 for c in cents]
    if not any(cents):
        return
    solution = periodic(amounts)
    # Rates of thousands of percent are past float's absolute precision: the Decimal polish,
    # or beyond 10**6 the bracketing solver, answers.
    assert solution.solver == "float_seed" or "range" in solution.fallback
    assert close(solution.rate, irr(amounts))


EXCEL_XIRR = [
    (date(2008, 1, 1), "-10000"),
    (date(2008, 3, 1), "2750"),
    (date(2008, 10, 30), "4250"),
    (date(2009, 2, 15), "3250"),
    (date(2009, 4, 1), "2750"),
]
LONG_FIRST_PERIOD = {
    "advances": [(date(1978, 2, 10), "6000")],
    "payments": [(add_months(date(1978, 4, 1), k), "200") for k in range(36)],
}
DIRECTIVE_EXAMPLE = {
    "advances": [(date(1994, 1, 1), "1000")],
    "payments": [(date(1995, 7, 1), "1200")],
    "convention": "eu",
}
MONTH_ENDS = {
    "advances": [(date(2024, 1, 31), "10000")],
    "payments": [(add_months(date(2024, 1, 31), k, 31), "856.07") for k in range(1, 13)],
}
REGULAR = {
    "advances": [(date(1978, 1, 10), "5000")],
    "payments": [(add_months(date(1978, 2, 10), k), "230") for k in range(24)],
}
HP_12C = {
    "advances": [(date(2004, 7, 19), "3950")],
    "payments": [(add_months(date(2004, 9, 1), k), "120") for k in range(42)],
}


def rate_of(name: str, solver: Solver) -> Decimal:
    """Each rate docs/apr.md prints or states, by the call that makes it."""
    calls: dict[str, Callable[[], Decimal]] = {
        "irr": lambda: irr(["-100", "39", "59", "55", "20"], solver=solver),
        "xirr": lambda: xirr(EXCEL_XIRR, solver=solver),
        "flat nominal": lambda: flat_to_effective("0.10", 36, solver=solver),
        "flat effective": lambda: flat_to_effective("0.10", 36, basis="effective", solver=solver),
        "us long first period": lambda: apr(**LONG_FIRST_PERIOD, solver=solver),
        "us regular": lambda: apr(**REGULAR, solver=solver),
        "us hp 12c": lambda: apr(**HP_12C, solver=solver),
        "us month ends": lambda: apr(**MONTH_ENDS, solver=solver),
        "eu days": lambda: apr(**DIRECTIVE_EXAMPLE, solver=solver),
        "eu months": lambda: apr(**DIRECTIVE_EXAMPLE, time_basis="months", solver=solver),
        "eu month ends, months": lambda: apr(
            **MONTH_ENDS, convention="eu", time_basis="months", solver=solver
        ),
    }
    return calls[name]()


# (call, as docs/apr.md prints it from the default solver or None, each figure it states with
# that many decimals: in the unit returned, a fraction or percent)
DOCUMENTED = [
    ("irr", "0.2809484211599611045765619513451803", ["0.2809", "0.2809484212"]),
    ("xirr", "0.3733625335188315103084554119145394", ["0.3733625335"]),
    ("flat nominal", "0.1791767586046448748002832189603167", ["0.1792"]),
    ("flat effective", "0.194648795545973323702544005728268", []),
    ("us long first period", "11.81650829082602749539187361282697", ["11.82", "11.8165"]),
    ("us regular", None, ["9.69"]),
    ("us hp 12c", None, ["13.95"]),
    ("us month ends", None, ["5.00"]),
    ("eu days", "12.96203770807236251511703007892878", ["13.0", "12.96"]),
    ("eu months", None, ["12.92"]),
    ("eu month ends, months", None, ["5.12"]),
]


@pytest.mark.parametrize(
    ("name", "printed", "stated"), DOCUMENTED, ids=[case[0] for case in DOCUMENTED]
)
def test_every_documented_figure_is_the_same_on_the_fast_path(
    name: str, printed: str | None, stated: list[str]
) -> None:
    bracket, fast = rate_of(name, "bracket"), rate_of(name, "float_seed")
    if printed is not None:  # the default solver still prints what the page shows
        assert bracket == Decimal(printed)
    assert close(fast, bracket, percent=name.startswith(("us", "eu")))
    for figure in stated:
        quantum = Decimal(figure).as_tuple().exponent
        assert round(bracket, -quantum) == round(fast, -quantum) == Decimal(figure)
        assert round_aprc(bracket, -quantum) == round_aprc(fast, -quantum) == Decimal(figure)


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
    assert close(solution.rate, Decimal("1e-8"))


@settings(max_examples=150, deadline=None)
@given(loans())
def test_the_proven_error_is_never_below_the_actual_one(
    loan: tuple[date, Decimal, list[tuple[date, Decimal]]],
) -> None:
    # Days over 365, as XIRR counts them, and the bound the float stage proves when it is
    # asked for nothing less than all it can give.
    start, principal, payments = loan
    flows = [(start, -principal), *payments]
    amounts = [amount for _, amount in flows]
    days = [(when - start).days for when, _ in flows]
    _, float_flows = SeededSum(amounts, [(365, days)])._float_flows(None)
    assert float_flows is not None
    found = float_flows.root(float_flows.rough_log_rate(), lambda rate: 0.0)
    assert found is not None
    exact = xirr(flows)
    assert abs(Decimal(found.rate) - exact) <= Decimal(found.rate_error) + Decimal("1e-23")


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=60, max_value=99),
    st.integers(min_value=1, max_value=29),
    st.lists(st.integers(min_value=0, max_value=5_000_00), min_size=1, max_size=60),
)
def test_the_proven_error_holds_with_simple_interest(
    lent_percent: int, odd_days: int, cents: list[int]
) -> None:
    # Regulation Z's odd fraction f discounts every payment by 1 + f * i as well; 60 % to 99 %
    # of what is repaid is lent.
    assume(sum(cents) >= 100)
    principal = (Decimal(sum(cents)) * lent_percent / 10000).quantize(Decimal("0.01"))
    amounts = [-principal, *(Decimal(c) / 100 for c in cents)]
    fraction = Decimal(odd_days) / 30
    wholes = [0, *range(len(cents))]
    fractions = [Decimal(0), *[fraction] * len(cents)]
    _, float_flows = SeededSum(amounts, [(1, wholes)], fractions)._float_flows(None)
    assert float_flows is not None
    found = float_flows.root(float_flows.rough_log_rate(), lambda rate: 0.0)
    assume(found is not None and -0.5 < found.rate < 1)
    equation = _GeneralEquation(
        [(-amount, whole, f) for amount, whole, f in zip(amounts, wholes, fractions, strict=True)]
    )
    exact = find_root(equation.value, derivative=equation.slope, guess=Decimal(repr(found.rate)))
    assert abs(Decimal(found.rate) - exact) <= Decimal(found.rate_error) + Decimal("1e-23")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=2_000_00),
            st.integers(min_value=0, max_value=60),
            st.integers(min_value=0, max_value=40),
            st.sampled_from([360, 365, 366]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=60, max_value=99),
)
def test_times_in_several_columns_agree_with_the_bracketing_solver(
    repaid: list[tuple[int, int, int, int]], lent_percent: int
) -> None:
    # Whole months of an annual rate plus odd days in years of three lengths: four columns,
    # each time a sum of three divisions, as rate_of_return counts them.
    assume(any(months or days for _, months, days, _ in repaid))
    total = sum(cents for cents, *_ in repaid)
    lent = (Decimal(total) * lent_percent / 10000).quantize(Decimal("0.01"))
    assume(lent > 0)
    flows = [TimedFlow(-lent, 0)]
    flows += [TimedFlow(Decimal(c) / 100, m, d, year) for c, m, d, year in repaid]
    columns = FlowColumns.of(flows)
    assume(not columns.simultaneous)
    with working_precision():
        period = Decimal(1) / 12
    try:
        exact = solve_flows(columns, period=period, solver="bracket").rate
    except NoRateError as error:  # repaid at time 0 beyond what is lent
        with pytest.raises(NoRateError, match=re.escape(str(error))):
            solve_flows(columns, period=period)
        return
    fast = solve_flows(columns, period=period)
    assert fast.fallback != "the times are not whole units of the rate's"
    assert close(fast.rate, exact)


def test_a_loan_of_a_few_months_is_polished_in_decimal(monkeypatch: pytest.MonkeyPatch) -> None:
    # Three months of payments make a sum so flat in the rate that the float rate alone is
    # proven only to a few 1e-15: one Newton step in Decimal proves it far below 1e-15.
    proven = []
    polish = SeededSum._polish

    def spy(self: SeededSum, seed: Any, allowed: Callable[[float], float]) -> Decimal | None:
        proven.append(seed.rate_error)
        return polish(self, seed, allowed)

    monkeypatch.setattr(SeededSum, "_polish", spy)
    flows = [(date(2024, 1, 15), Decimal(-3000))]
    flows += [(date(2024, month, 15), Decimal("1010.00")) for month in (2, 3, 4)]
    columns = FlowColumns(
        [amount for _, amount in flows], [0] * 4, [(when - flows[0][0]).days for when, _ in flows],
        [365] * 4,
    )  # fmt: skip
    solution = solve_flows(columns)
    assert solution.solver == "float_seed"
    assert proven[0] > AGREEMENT
    assert close(solution.rate, xirr(flows))
    assert close(xirr(flows, solver="float_seed"), xirr(flows))


def test_without_a_proof_the_bracketing_solver_answers() -> None:
    # Reported at 10**12 times the rate solved for, no float nor Decimal step is proven within
    # 1e-15 of it.
    amounts = [Decimal(-1000), *[Decimal(90)] * 12]
    solution = SeededSum(amounts, [(1, range(13))]).solve(None, lambda: irr(amounts), scale=1e12)
    assert solution == Solution(irr(amounts), "bracket", solution.fallback)
    assert "proven" in solution.fallback


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(1999, 1, 1), max_value=date(2032, 12, 31)),
    st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=40),
    st.sampled_from([None, 28, 29, 30, 31]),
)
def test_eu_days_are_counted_in_bulk_as_date_by_date(
    start: date, offsets: list[int], month_end: int | None
) -> None:
    # The fast path's float times and Decimal columns against _eu_time, the bracketing
    # solver's count, on any dates: leap days, month ends standing for later days.
    dates = [start, *sorted(start + timedelta(days=n) for n in offsets)]
    if month_end is not None:
        dates += [add_months(start, k, month_end) for k in range(1, 40)]
    calendar = _Calendar.of(dates)
    times, counted = _eu_years(start, dates)
    assert counted == calendar
    columns = dict(_eu_day_columns(start, dates, calendar))
    for index, when in enumerate(dates):
        whole, odd, length = _eu_time(start, when, "days", calendar)
        for year, counts in columns.items():
            assert counts[index] == (length * whole + odd if year == length else 0)
        assert abs(times[index] - (whole + odd / length)) <= 2**-51 * times[index]


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
