"""Interest rates implied by cash flows, and conversions between rate quotations.

A rate is always returned as an unrounded fraction (``Decimal("0.049")`` is 4.9 %), because
rounding is a disclosure decision that belongs to the caller.

- :func:`irr` and :func:`xirr` find the rate that makes the present value of a series of
  flows zero: per period for equally spaced flows, per year for dated flows (Excel's XIRR
  convention: the exponent of each flow is its days from the first flow over 365).
- :func:`nominal_to_effective` and :func:`effective_to_nominal` convert between a nominal annual
  rate compounded *m* times a year and the effective annual rate it amounts to.
- :func:`flat_to_effective` and :func:`effective_to_flat` convert between a flat (add-on) rate,
  which charges interest on the original principal for the whole term, and the rate the
  borrower actually pays on the declining balance.
- :func:`rate_of_return` is the engine behind all of them: flows whose times are a whole
  number of periods plus a number of days, as XIRR and the EU APRC both express them.

:func:`irr`, :func:`xirr`, :func:`flat_to_effective` and :func:`rate_of_return` take
``solver="float_seed"`` for books of many contracts: a binary-float root with a proven error
bound (:mod:`leasekit.calc.seeded`), many times faster than the default bracketing search and
within 1e-15 of its answer, though not digit for digit: it carries about 17 significant
digits, not 34.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from operator import sub
from typing import Any, Final, NamedTuple, TypeGuard

import attrs

from leasekit.calc.dates import periods_per_year as _periods_per_year
from leasekit.calc.seeded import Scale, SeededSum, Solution, Solver, check_solver
from leasekit.calc.solve import RateEquation, find_root, working_precision
from leasekit.errors import CalculationError, NoRateError
from leasekit.money import DecimalLike, to_decimal

__all__ = [
    "BASES",
    "FlowColumns",
    "TimedFlow",
    "dated_columns",
    "effective_to_flat",
    "effective_to_nominal",
    "flat_to_effective",
    "irr",
    "nominal_to_effective",
    "powers_of",
    "rate_of_return",
    "rough_rate",
    "solve_flows",
    "xirr",
]

BASES: Final = ("nominal", "effective")
"""How an annual rate built from a periodic rate *i* is quoted: ``i * m`` or ``(1+i)**m - 1``."""

_DAYS_PER_YEAR: Final = 365
_DEFAULT_GUESS: Final = "0.1"
_LOWEST_GUESS: Final = Decimal("-0.5")
_HIGHEST_GUESS: Final = Decimal(10)
_UNIT_SLACK: Final = Decimal("1e-30")
"""How far ``period * n`` may be from 1 for *period* to count as ``1 / n``: ``Decimal(1) / 12``
is 0.0833…3 to 34 digits."""


def _amount(value: object) -> Decimal:
    return to_decimal(value, "amount")


@attrs.frozen
class TimedFlow:
    """An amount due *periods* whole periods plus *days* days after the start.

    A day is ``1 / days_in_year`` of the unit the rate is quoted per (a year), so the time of
    the flow is ``periods * period + days / days_in_year`` (see :func:`rate_of_return`).
    Keeping both parts whole keeps discounting exact and fast: a solver needs one fractional
    power of ``1 + rate`` per period length and per year length, then only multiplications.
    XIRR counts days alone; the EU APRC counts whole months, weeks or years plus odd days in
    a year of 365 or 366.
    """

    amount: Decimal = attrs.field(converter=_amount)
    periods: int = attrs.field(validator=attrs.validators.ge(0))
    days: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    days_in_year: int = attrs.field(default=_DAYS_PER_YEAR, validator=attrs.validators.ge(1))


class FlowColumns(NamedTuple):
    """Flows as columns of :class:`TimedFlow`'s fields, one entry per flow.

    The float-seeded solver reads flows column by column; building a ``TimedFlow`` for each
    would cost more than solving.
    """

    amounts: Sequence[Decimal]
    periods: Sequence[int]
    days: Sequence[int]
    days_in_year: Sequence[int]

    @classmethod
    def of(cls, flows: Sequence[TimedFlow]) -> FlowColumns:
        return cls(
            [flow.amount for flow in flows],
            [flow.periods for flow in flows],
            [flow.days for flow in flows],
            [flow.days_in_year for flow in flows],
        )

    def timed(self) -> list[TimedFlow]:
        return [TimedFlow(*flow) for flow in zip(*self, strict=True)]

    @property
    def simultaneous(self) -> bool:
        """True when every flow falls at the same time, so that any rate, or none, fits."""
        count = len(self.amounts)
        return all(column.count(column[0]) == count for column in self[1:] if column)

    def columns(self, period: Decimal) -> list[tuple[int, Sequence[int]]] | None:
        """The times as whole units for :class:`~leasekit.calc.seeded.SeededSum`, or None
        when *period* is neither a whole number of the rate's units nor one n-th of one."""
        units = _units(period)
        if units is None:
            return None
        unit, per_period = units
        columns: list[tuple[int, Sequence[int]]] = []
        if any(self.periods):
            periods = self.periods
            columns.append(
                (unit, periods if per_period == 1 else [n * per_period for n in periods])
            )
        years = set(self.days_in_year)
        for year in sorted(years):
            days = self.days
            if len(years) > 1:
                days = [
                    n if length == year else 0
                    for n, length in zip(days, self.days_in_year, strict=True)
                ]
            if any(days):
                columns.append((year, days))
        return columns


def rate_of_return(
    flows: Sequence[TimedFlow],
    *,
    period: DecimalLike = 1,
    guess: DecimalLike | None = None,
    solver: Solver = "bracket",
) -> Decimal:
    """The rate *X* with ``sum(amount * (1 + X) ** -t) == 0``, each flow's time *t* being
    ``periods * period + days / days_in_year``.

    *period* is the length of one period in the unit the rate is quoted per: ``1`` for a
    periodic IRR, ``1/12`` when months are counted towards an annual rate. The search starts
    at *guess*, by default :func:`rough_rate` of the flows. Raises :class:`NoRateError` when
    the flows do not change sign or no rate balances them. *solver* is ``"bracket"`` or
    ``"float_seed"`` (:mod:`leasekit.calc.seeded`).
    """
    check_solver(solver)
    period_length = to_decimal(period, "period")
    if period_length <= 0:
        raise CalculationError(f"period: {period_length} must be positive")
    columns = FlowColumns.of(flows)
    return solve_flows(columns, period=period_length, guess=guess, solver=solver).rate


def solve_flows(
    flows: FlowColumns,
    *,
    period: Decimal = Decimal(1),
    guess: DecimalLike | None = None,
    name: str = "flows",
    solver: Solver = "float_seed",
) -> Solution:
    """The rate of *flows* and the solver that found it, for tests and benchmarks.

    With ``"float_seed"`` the bracketing solver answers whenever the float answer is not
    proven within 1e-15 of the exact rate, and :attr:`~leasekit.calc.seeded.Solution.fallback`
    says why. Errors name *name*, as :func:`rate_of_return` does.
    """

    def bracket() -> Decimal:
        return _solve(flows.timed(), period, guess, name)

    if solver == "bracket":
        return Solution(bracket(), "bracket")
    _require_both_signs(flows.amounts, name)
    if flows.simultaneous:
        raise _simultaneous(name)
    start = None if guess is None else to_decimal(guess, "guess")
    columns = flows.columns(period)
    if columns is None:
        return Solution(bracket(), "bracket", "the times are not whole units of the rate's")
    return SeededSum(flows.amounts, columns).solve(start, bracket)


def _rate(
    amounts: Sequence[Decimal],
    column: tuple[int, Sequence[int]],
    timed: Callable[[], list[TimedFlow]],
    guess: DecimalLike | None,
    name: str,
    solver: Solver,
    scale: Scale = 1.0,
) -> Decimal:
    """The rate of *amounts* at times counted in one *column*, as :func:`solve_flows` finds
    it, for :func:`irr` and :func:`xirr`: the checks it makes before solving are made on the
    float amounts first, and exactly only when those cannot tell. *timed* builds the flows
    for the bracketing solver, only when it is to answer; *scale* is as in
    :meth:`~leasekit.calc.seeded.SeededSum.solve`."""

    def bracket() -> Decimal:
        return _solve(timed(), Decimal(1), guess, name)

    if solver == "bracket":
        return bracket()
    seeded = SeededSum(amounts, [column])
    if not seeded.changes_sign:
        _require_both_signs(amounts, name)
    if seeded.simultaneous:
        raise _simultaneous(name)
    start = None if guess is None else to_decimal(guess, "guess")
    return seeded.solve(start, bracket, scale=scale).rate


def rough_rate(flows: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """A starting point for a rate search: simple interest between the average times.

    *flows* are ``(amount, time)`` pairs, negative amounts lent and positive ones repaid. If
    everything lent were lent at its amount-weighted average time, and everything repaid
    repaid at its own, the simple-interest rate per unit of time that balances them is close
    enough to the compound rate for Newton's method to start from (for a 30-year level loan at
    7.5 % it says 10.1 %). Kept within -50 % and 1000 % per unit; where no time passes
    between the averages, 10 %.
    """
    with working_precision():
        lent = repaid = lent_time = repaid_time = Decimal(0)
        for amount, time in flows:
            if amount < 0:
                lent -= amount
                lent_time -= amount * time
            else:
                repaid += amount
                repaid_time += amount * time
        if lent.is_zero() or repaid.is_zero():
            return Decimal(_DEFAULT_GUESS)
        elapsed = repaid_time / repaid - lent_time / lent
        if elapsed <= 0:
            return Decimal(_DEFAULT_GUESS)
        return min(max((repaid / lent - 1) / elapsed, _LOWEST_GUESS), _HIGHEST_GUESS)


def _solve(
    flows: Sequence[TimedFlow], period: Decimal, guess: DecimalLike | None, name: str
) -> Decimal:
    _require_both_signs([flow.amount for flow in flows], name)
    discounted = _DiscountedSum(flows, period)
    if discounted.simultaneous:
        raise _simultaneous(name)
    start = discounted.rough_rate() if guess is None else to_decimal(guess, "guess")
    return find_root(discounted.value, derivative=discounted.slope, guess=start)


def irr(
    cash_flows: Sequence[DecimalLike],
    *,
    guess: DecimalLike | None = None,
    solver: Solver = "bracket",
) -> Decimal:
    """Periodic internal rate of return of equally spaced flows, the first at time 0.

    With several rates (flows that change sign more than once) the one nearest *guess* is
    returned, as spreadsheets do; without a guess the search starts at :func:`rough_rate`.
    ``solver="float_seed"`` finds the rate many times faster, within 1e-15 of the default's
    (:mod:`leasekit.calc.seeded`).

    >>> round(irr(["-100", "39", "59", "55", "20"]), 10)
    Decimal('0.2809484212')
    """
    check_solver(solver)
    amounts = _exact_amounts(cash_flows, "cash_flows")

    def timed() -> list[TimedFlow]:
        return [TimedFlow(amount, index) for index, amount in enumerate(amounts)]

    return _rate(amounts, (1, range(len(amounts))), timed, guess, "cash_flows", solver)


def xirr(
    flows: Sequence[tuple[date, DecimalLike]],
    *,
    guess: DecimalLike | None = None,
    solver: Solver = "bracket",
) -> Decimal:
    """Annual effective rate of dated flows, discounted by ``(1 + rate) ** (days / 365)``.

    Days are counted from the first flow's date, as Excel's XIRR does; no flow may be dated
    before it. The result matches XIRR's, without its float rounding; *guess* and *solver*
    work as in :func:`irr`.
    """
    check_solver(solver)
    if not flows:
        raise CalculationError("flows: at least two dated cash flows are required")
    amounts, days = _dated_amounts(flows) or _read_dated(flows)

    def timed() -> list[TimedFlow]:
        return [TimedFlow(amount, 0, n) for amount, n in zip(amounts, days, strict=True)]

    return _rate(amounts, (_DAYS_PER_YEAR, days), timed, guess, "flows", solver)


def _exact_amounts(values: Sequence[DecimalLike], name: str) -> list[Decimal]:
    """*values* as finite ``Decimal`` amounts; errors name the value at fault.

    A book passes finite ``Decimal`` amounts, which are taken as they are after one check of
    them all; anything else is converted one by one, which names the value at fault.
    """
    if _all_exact(values):
        return list(values)
    return [
        value if _is_exact(value) else to_decimal(value, f"{name}[{index}]")
        for index, value in enumerate(values)
    ]


def dated_columns(
    flows: Sequence[tuple[date, DecimalLike]],
) -> tuple[Sequence[date], Sequence[Decimal]] | None:
    """The dates and the amounts of ``(date, amount)`` pairs, when every pair is a plain tuple
    of a ``date`` and a finite ``Decimal``: checked once for the whole sequence, as a book
    passes thousands. None otherwise, for the caller to check pair by pair and name the one
    at fault."""
    if set(map(type, flows)) != {tuple}:
        return None
    try:
        dates, amounts = zip(*flows, strict=True)
    except ValueError:  # pairs of different lengths, or not pairs
        return None
    if set(map(type, dates)) != {date} or not _all_exact(amounts):
        return None
    return dates, amounts


def _dated_amounts(
    flows: Sequence[tuple[date, DecimalLike]],
) -> tuple[Sequence[Decimal], list[int]] | None:
    """The amounts and their days from the first date, when :func:`dated_columns` can tell
    the flows are well formed and none is dated before the first."""
    columns = dated_columns(flows)
    if columns is None:
        return None
    dates, amounts = columns
    days = list(map(date.toordinal, dates))
    first = days[0]
    if min(days) < first:
        return None
    return amounts, list(map(sub, days, repeat(first)))


def _read_dated(flows: Sequence[tuple[date, DecimalLike]]) -> tuple[Sequence[Decimal], list[int]]:
    """:func:`_dated_amounts` one flow at a time, raising for the first flow at fault."""
    start = _flow_date(flows[0], "flows[0]")
    first_day = start.toordinal()
    amounts: list[Decimal] = []
    days: list[int] = []
    for index, flow in enumerate(flows):
        when = _flow_date(flow, f"flows[{index}]")
        if when < start:
            raise CalculationError(
                f"flows[{index}]: {when} is before the first flow's date {start}"
            )
        amounts.append(to_decimal(flow[1], f"flows[{index}] amount"))
        days.append(when.toordinal() - first_day)
    return amounts, days


def nominal_to_effective(rate: DecimalLike, periods_per_year: int) -> Decimal:
    """Effective annual rate of a nominal annual *rate* compounded *periods_per_year* times.

    >>> nominal_to_effective("0.12", 12).quantize(Decimal("1e-12"))
    Decimal('0.126825030132')
    """
    nominal = to_decimal(rate, "rate")
    per_year = _positive_count(periods_per_year, "periods_per_year")
    with working_precision():
        periodic = nominal / per_year
        _check_periodic(periodic, "rate")
        return (1 + periodic) ** per_year - 1


def effective_to_nominal(rate: DecimalLike, periods_per_year: int) -> Decimal:
    """Nominal annual rate, compounded *periods_per_year* times, equal to the effective *rate*."""
    effective = to_decimal(rate, "rate")
    per_year = _positive_count(periods_per_year, "periods_per_year")
    with working_precision():
        _check_periodic(effective, "rate")
        return per_year * ((1 + effective) ** (Decimal(1) / per_year) - 1)


def flat_to_effective(
    flat_rate: DecimalLike,
    periods: int,
    frequency: str = "monthly",
    *,
    in_advance: bool = False,
    basis: str = "nominal",
    solver: Solver = "bracket",
) -> Decimal:
    """The annual rate on the declining balance that a flat (add-on) rate really charges.

    A flat annual rate *f* over *periods* installments at *frequency* charges interest of
    ``principal * f * periods / m`` (``m`` periods a year) on the original principal, and the
    principal plus that interest is repaid in equal installments, at the end of each period or,
    with *in_advance*, at the start. The answer is the periodic IRR *i* of that annuity, quoted
    as ``i * m`` (``basis="nominal"``, an APR) or ``(1 + i) ** m - 1`` (``basis="effective"``).
    *solver* works as in :func:`irr`.
    """
    check_solver(solver)
    flat = to_decimal(flat_rate, "flat_rate")
    count = _positive_count(periods, "periods")
    per_year = _periods_per_year(frequency)
    _check_basis(basis)
    with working_precision():
        installment = (1 + flat * count / per_year) / count
    if installment <= 0:
        raise CalculationError(f"flat_rate: {flat} leaves nothing to repay over {count} periods")
    if in_advance and count == 1:
        raise NoRateError(
            "a single installment paid in advance is repaid when the principal is lent, so no "
            "rate of interest describes it"
        )
    amounts = _level_annuity(installment, count, in_advance)

    def timed() -> list[TimedFlow]:
        return [TimedFlow(amount, index) for index, amount in enumerate(amounts)]

    def scale(rate: float) -> float:
        """How much the annual rate moves per unit of the periodic one: ``m``, or
        ``m * (1 + i) ** (m - 1)``, taken a little above *i* to cover its error."""
        if basis == "nominal":
            return float(per_year)
        return per_year * (1.0 + rate + 1e-9) ** (per_year - 1) * 1.001

    periodic = _rate(amounts, (1, range(len(amounts))), timed, None, "flat_rate", solver, scale)
    return _annualise(periodic, per_year, basis)


def effective_to_flat(
    rate: DecimalLike,
    periods: int,
    frequency: str = "monthly",
    *,
    in_advance: bool = False,
    basis: str = "nominal",
) -> Decimal:
    """The flat (add-on) annual rate that costs the same as *rate* on the declining balance.

    The exact inverse of :func:`flat_to_effective` with the same arguments: *rate* is read as
    nominal (``i * m``) or effective (``(1 + i) ** m - 1``) according to *basis*.
    """
    annual = to_decimal(rate, "rate")
    count = _positive_count(periods, "periods")
    per_year = _periods_per_year(frequency)
    _check_basis(basis)
    with working_precision():
        if basis == "nominal":
            periodic = annual / per_year
        else:
            _check_periodic(annual, "rate")
            periodic = (1 + annual) ** (Decimal(1) / per_year) - 1
        _check_periodic(periodic, "rate")
        installment = _annuity_installment(periodic, count, in_advance)
        return (count * installment - 1) * per_year / count


def _annuity_installment(periodic: Decimal, count: int, in_advance: bool) -> Decimal:
    """Installment repaying 1 over *count* periods at *periodic*, in arrears or in advance.

    The present values are summed term by term rather than taken from the closed form
    ``(1 - v**n) / i``, which cancels catastrophically as *periodic* approaches zero.
    """
    discount = 1 / (1 + periodic)
    first = 0 if in_advance else 1
    factors = powers_of(discount, range(first, first + count))
    return 1 / sum(factors.values(), Decimal(0))


def _level_annuity(installment: Decimal, count: int, in_advance: bool) -> list[Decimal]:
    """Lender's flows for a principal of 1 repaid by *count* equal installments, one period
    apart from period 0."""
    if in_advance:
        return [installment - 1] + [installment] * (count - 1)
    return [Decimal(-1)] + [installment] * count


def _annualise(periodic: Decimal, per_year: int, basis: str) -> Decimal:
    with working_precision():
        if basis == "nominal":
            return periodic * per_year
        return (1 + periodic) ** per_year - 1


class _DiscountedSum(RateEquation):
    """``sum(amount * (1 + X) ** -t)`` and its derivative, computed together once per *X*.

    Flows due at the same time are added up first. Whole periods and days are discounted by
    successive multiplication (:func:`powers_of`) from one fractional power each, so a
    360-month schedule costs two or three logarithms and a few hundred multiplications per
    evaluation.
    """

    def __init__(self, flows: Sequence[TimedFlow], period: Decimal) -> None:
        grouped: dict[tuple[int, int, int], Decimal] = {}
        with working_precision():
            for flow in flows:
                key = (flow.periods, flow.days, flow.days_in_year)
                grouped[key] = grouped.get(key, Decimal(0)) + flow.amount
            self._groups = sorted(grouped.items())
            self._times = [
                periods * period + Decimal(days) / year for (periods, days, year), _ in self._groups
            ]
        self._period = period
        super().__init__()

    @property
    def simultaneous(self) -> bool:
        """True when every flow falls at the same time, so that any rate, or none, fits."""
        return len(self._groups) < 2

    def rough_rate(self) -> Decimal:
        return rough_rate(
            (amount, time) for (_, amount), time in zip(self._groups, self._times, strict=True)
        )

    def _compute(self, rate: Decimal) -> tuple[Decimal, Decimal]:
        growth = 1 + rate
        whole = powers_of(growth**-self._period, [key[0] for key, _ in self._groups])
        daily = {
            year: powers_of(
                growth ** (Decimal(-1) / year),
                [days for (_, days, in_year), _ in self._groups if in_year == year],
            )
            for year in {key[2] for key, _ in self._groups}
        }
        total = weighted = Decimal(0)
        for ((periods, days, year), amount), time in zip(self._groups, self._times, strict=True):
            term = amount * whole[periods] * daily[year][days]
            total += term
            weighted += time * term
        return total, -weighted / growth


def powers_of(base: Decimal, exponents: Iterable[int]) -> dict[int, Decimal]:
    """``{n: base ** n}`` for whole *n* >= 0, each built from the previous by multiplication.

    Rate solvers discount hundreds of flows at every trial rate; stepping from one exponent
    to the next costs one multiplication where a fresh power would cost a dozen. Call it under
    :func:`~leasekit.calc.solve.working_precision`: the rounding error then stays near
    ``1e-34`` per step, far below any tolerance a rate needs.
    """
    result: dict[int, Decimal] = {}
    reached, power = 0, Decimal(1)
    for exponent in sorted(set(exponents)):
        power *= base ** (exponent - reached)
        result[exponent], reached = power, exponent
    return result


def _is_exact(value: object) -> TypeGuard[Decimal]:
    """True for a finite ``Decimal``, which :func:`~leasekit.money.to_decimal` returns as is:
    books pass thousands of them, and an error message needs naming only when one is not."""
    return type(value) is Decimal and value.is_finite()


def _all_exact(values: Sequence[Any]) -> TypeGuard[Sequence[Decimal]]:
    """True when every value is a finite ``Decimal`` (or subclass, which
    :func:`~leasekit.money.to_decimal` also returns as is): one pass in C for a book's
    thousands of amounts."""
    try:
        return all(map(Decimal.is_finite, values))
    except TypeError:  # not a Decimal
        return False


def _units(period: Decimal) -> tuple[int, int] | None:
    """*period* as ``(n, k)``, k units of one n-th of the rate's unit of time: ``(1, 1)`` for
    an IRR's period, ``(12, 1)`` for a month of an annual rate; None for other lengths."""
    if period == period.to_integral_value():
        return 1, int(period)
    with working_precision():
        reciprocal = (1 / period).to_integral_value()
        if abs(reciprocal * period - 1) < _UNIT_SLACK:
            return int(reciprocal), 1
    return None


def _simultaneous(name: str) -> NoRateError:
    return NoRateError(f"{name}: every flow falls at the same time, so no rate describes them")


def _require_both_signs(amounts: Sequence[Decimal], name: str) -> None:
    """No rate can balance flows that all point the same way; say so plainly."""
    if not any(amount > 0 for amount in amounts):
        raise NoRateError(f"{name}: no positive amount; a rate needs money both lent and repaid")
    if not any(amount < 0 for amount in amounts):
        raise NoRateError(f"{name}: no negative amount; a rate needs money both lent and repaid")


def _flow_date(flow: tuple[date, DecimalLike], name: str) -> date:
    """The date of a ``(date, amount)`` pair; a datetime is refused, days must be whole."""
    when = flow[0] if isinstance(flow, tuple) and len(flow) == 2 else None
    if not isinstance(when, date) or isinstance(when, datetime):
        raise TypeError(f"{name}: expected a (date, amount) pair, got {flow!r}")
    return when


def _positive_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected a whole number, got {type(value).__name__}")
    if value < 1:
        raise CalculationError(f"{name}: {value} must be at least 1")
    return value


def _check_basis(basis: str) -> None:
    if basis not in BASES:
        raise CalculationError(f"basis: {basis!r} is not one of {', '.join(BASES)}")


def _check_periodic(rate: Decimal, name: str) -> None:
    if rate <= -1:
        raise CalculationError(f"{name}: a rate of {rate} per period wipes out the principal")
