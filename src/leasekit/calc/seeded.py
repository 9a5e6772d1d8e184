"""Rates solved in binary floating point, with a proven bound on their error.

The bracketing solver (:func:`~leasekit.calc.solve.find_root`) evaluates a discounted sum some
ten times in 34-digit ``Decimal``, each time with fractional powers of the growth factor (a
logarithm and an exponential apiece). Books of a million contracts need rates much faster;
:meth:`SeededSum.solve` finds them in float, proves how far the float answer can be from the
exact rate, and returns it only when that is at most :data:`AGREEMENT` (1e-15, absolute, on the
rate as the caller reports it). It takes three steps:

1. **One rate or several?** Ordered by time, amounts that change sign once balance at exactly
   one rate: Descartes' rule of signs, which Laguerre extended to real exponents, allows at
   most one root, and the signs at either end of the range make one. Regulation Z's simple
   interest for odd fractions keeps the rule, as ``f / (1 + f i)`` grows with the fraction
   and meets ``1 / (1 + i)`` where a whole unit-period begins. With more sign changes there
   may be several rates, and which one is reported is the bracketing solver's choice.
2. **Float.** Newton's method in binary floating point on ``d = ln(1 + rate)``, where the sum
   ``sum(amount * exp(-d * time))`` is smooth and nearly straight. It starts where the sum's
   cumulant expansion to second order balances, which for a loan lands within about 1e-4 of
   the rate without computing a single power, and each step solves the sum's cubic Taylor
   expansion: one evaluation usually suffices.
3. **Proof.** Each evaluation carries a bound on its own rounding error, from the rounding of
   every operation it makes (the platform's ``exp``, ``log`` and ``pow`` taken as good to two
   units in the last place, :data:`_LIBM`: an assumption about the C library), and bounds on the
   second and fourth derivatives bound what the cubic expansion leaves out. Together they
   bound ``|sum|`` at the new rate and, the slope being bounded away from zero around it, the
   distance to the one root: see :meth:`_FloatFlows.certify`. That distance, carried through
   ``expm1`` and the conversion to ``Decimal``, is the float answer's proven error.

When that error is above :data:`AGREEMENT` (a loan shorter than about a year, whose sum is
flat in the rate; a rate of several hundred percent, past float's absolute precision), one
Newton step in 34-digit ``Decimal`` from the float rate, with the float slope, polishes it,
provided the error the step leaves, bounded from the float error and the slope's, is itself
below :data:`AGREEMENT`. The sum is then taken by Horner's rule from the last flow back, with
the discount factor of each unit of time a root of the growth factor polished from a float
seed and the power of each distinct gap between flows computed once.

Whenever neither is proven, or the float seed is not conclusive (several sign changes, an
overflow, no convergence, a rate outside -99 % to 10**6 per unit of time), the bracketing solver
answers instead, so errors and the choice among several rates stay its own. The float answer
carries about 17 significant digits, not 34: it agrees with the bracketing solver to 1e-15,
far below any published digit, not digit for digit. The figures this project publishes come
from the bracketing solver, which stays the default.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import cached_property
from itertools import compress, islice, repeat
from math import copysign, exp, expm1, fsum, isfinite, log, log1p, sqrt
from operator import add, mul, not_, truediv
from typing import Final, Literal, NamedTuple, TypeAlias

from leasekit.calc.solve import TOLERANCE, working_precision
from leasekit.errors import CalculationError

__all__ = [
    "AGREEMENT",
    "SOLVERS",
    "Columns",
    "Scale",
    "SeededSum",
    "Solution",
    "Solver",
    "check_solver",
]

Solver: TypeAlias = Literal["bracket", "float_seed"]
SOLVERS: Final = ("bracket", "float_seed")
"""``"bracket"``: the bracketing search of :mod:`leasekit.calc.solve`, digit for digit as in
every earlier release. ``"float_seed"``: this module, many times faster, within
:data:`AGREEMENT` of it."""

AGREEMENT: Final = 1e-15
"""How far ``"float_seed"`` may be from ``"bracket"``, absolute, on the rate as the caller
reports it (a fraction: for an APR in percent, 1e-13 of a percentage point)."""

Columns: TypeAlias = Sequence[tuple[int, Sequence[int]]]
"""Each flow's time as whole units: ``(unit, counts)`` pairs (see :class:`SeededSum`)."""
Scale: TypeAlias = float | Callable[[float], float]
"""How much the reported rate moves per unit of the rate solved for, at most: 1 when they are
the same, 12 for a monthly rate quoted as a nominal annual one; a function of the solved rate
when that depends on it."""

_U: Final = 2.0**-53
"""The unit roundoff of a float: every correctly rounded operation is good to this, relative."""
_LIBM: Final = 4 * _U
"""What ``exp``, ``log``, ``pow`` and ``expm1`` may be off by, relative: two units in the last
place. An assumption about the platform's C library, not a guarantee it makes: glibc aims for
"within a few ulp", and the implementations glibc and musl use for double ``exp`` and ``pow``
(Arm's) state worst cases of 0.51 and 0.54 ulp in their sources."""
_E_CHORD: Final = 1.7183
"""Above ``e - 1``: ``exp(x) <= 1 + _E_CHORD * x`` for ``0 <= x <= 1``."""
_SLACK: Final = 1.01
"""For the rounding of the bounds themselves, and for the terms of second order in _U."""
_DECIMAL_OPERATION: Final = 1e-31
"""A generous bound on the relative error of a 34-digit ``Decimal`` evaluation, per flow and per
unit of the longest count: each operation rounds to 5e-34, and the discount factor's error of
a few 1e-33 grows with the power it is raised to."""
_FLOAT_STEPS: Final = 60
_LOWEST_LOG_RATE: Final = log(0.01)
_HIGHEST_LOG_RATE: Final = log1p(1e6)
"""Per unit of time, -99 % and 10**6. Beyond these, discount factors over long terms leave the
float range; the bracketing solver, whose range is wider, answers instead."""
_HALFWAY_DOWN: Final = -log(2.0)
"""A float step never goes more than halfway towards -100 %."""
_LOWEST_GUESS: Final = log(0.5)
_HIGHEST_GUESS: Final = log(11.0)
_DEFAULT_GUESS: Final = log(1.1)
_GUESS_RANGE: Final = (Decimal(-1), Decimal("1e18"))
"""Where :func:`~leasekit.calc.solve.find_root` accepts a guess; outside, it explains."""
_BRACKET_ERROR: Final = 2 * float(TOLERANCE)
"""What the bracketing solver's own answer may be off by, relative to the rate (absolute below
1): twice the tolerance its last step falls below."""
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


def check_solver(solver: str) -> None:
    if solver not in SOLVERS:
        raise CalculationError(f"solver: {solver!r} is not one of {', '.join(SOLVERS)}")


class Solution(NamedTuple):
    """A rate, the solver that found it and, when the bracketing solver had to answer, why."""

    rate: Decimal
    solver: Solver
    fallback: str = ""


class _Column(NamedTuple):
    """The flows' times counted in one unit: 1 for the rate's own period, 12 for months of a
    yearly rate, 365 or 366 for days."""

    unit: int
    counts: Sequence[int]

    def times(self) -> list[float]:
        if self.unit == 1:
            return list(map(float, self.counts))
        return list(map(truediv, self.counts, repeat(float(self.unit))))


def _power(powers: dict[int, Decimal], base: Decimal, exponent: int) -> Decimal:
    """``base ** exponent``, kept in *powers*: from ``base ** (exponent - 1)`` by one
    multiplication when that is known, as the gaps of a schedule (28 to 31 days, or one
    period) mostly are."""
    below = powers.get(exponent - 1)
    power = powers[exponent] = base**exponent if below is None else below * base
    return power


def _table(base: Decimal, counts: Iterable[int]) -> dict[int, Decimal]:
    """``{count: base ** count}`` for the distinct *counts* (whole, not negative), in ascending
    order each from the one before by the power of the gap between them, each distinct gap
    computed once."""
    gaps = {0: _ONE}
    table = {}
    power, reached = _ONE, 0
    for count in sorted(set(counts)):
        gap = count - reached
        power *= gaps.get(gap) or _power(gaps, base, gap)
        table[count], reached = power, count
    return table


def _split_horner(
    amounts: Sequence[Decimal], first: _Column, second: _Column, bases: dict[int, Decimal]
) -> Decimal:
    """The sum when no flow counts units of both columns (a year of 365 days or of 366): the
    flows of each column summed by their own :func:`_horner`, those at time 0 with the
    first."""
    in_first = list(map(not_, second.counts))
    return _horner(
        list(compress(amounts, in_first)),
        list(compress(first.counts, in_first)),
        bases[first.unit],
    ) + _horner(
        list(compress(amounts, second.counts)),
        list(compress(second.counts, second.counts)),
        bases[second.unit],
    )


def _horner(amounts: Sequence[Decimal], counts: Sequence[int], base: Decimal) -> Decimal:
    """``sum(amount * base ** count)`` by Horner's rule, from the last flow back: one
    multiplication by the power of the gap to the next flow, and one addition, per flow."""
    if not counts:
        return _ZERO
    powers = {0: _ONE}
    total = _ZERO
    later = counts[-1]
    for amount, count in zip(reversed(amounts), reversed(counts), strict=True):
        gap = later - count
        total = total * (powers.get(gap) or _power(powers, base, gap)) + amount
        later = count
    return total * (powers.get(later) or _power(powers, base, later))


class SeededSum:
    """``sum(amount * (1 + x) ** -time / (1 + fraction * x))``, solved for the rate *x*.

    Each flow's time is a sum of whole units: *columns* pairs a unit (1 for the rate's own
    period, 12 for months of a yearly rate, 365 or 366 for days) with the count of those units
    in every flow's time. *fractions*, for Regulation Z, are the odd fractions of a unit-period
    discounted by simple interest. Amounts lent are negative, amounts repaid positive.
    *columns* may be a function that makes them: the float solver needs only *times*, when
    the caller has them (each flow's time in float, the sum of its counts over their units,
    each division and addition correctly rounded), and the columns are then made only for a
    ``Decimal`` polish.
    """

    def __init__(
        self,
        amounts: Sequence[Decimal],
        columns: Columns | Callable[[], Columns],
        fractions: Sequence[Decimal] | None = None,
        *,
        times: list[float] | None = None,
    ) -> None:
        self._amounts = amounts
        self._columns_of = columns
        self._fractions = fractions
        self._floats = floats = list(map(float, amounts))
        later = min(islice(floats, 1, None), default=0.0)
        self._lent_first = bool(floats) and floats[0] < 0 <= later
        """True for the usual loan: the first flow lent, none of the others."""
        highest = max(floats, default=0.0)
        lowest = floats[0] if self._lent_first else min(later, floats[0] if floats else 0.0)
        self.changes_sign = lowest < 0 < highest
        """True when amounts of both signs are sure to be there; False may also mean amounts
        too small for a float, which only the ``Decimal`` amounts can tell."""
        self._finite = isfinite(lowest) and isfinite(highest)
        if times is None:
            columns = self._columns
            times = columns[0].times() if columns else [0.0] * len(amounts)
            for column in columns[1:]:
                times = list(map(add, times, column.times()))
            # A division for each unit but 1, an addition for each column after the first.
            rounded = len(columns) - 1 + any(column.unit != 1 for column in columns)
            self._time_error = rounded * _U
        else:
            self._time_error = _U
        self._times = times

    @cached_property
    def _columns(self) -> list[_Column]:
        columns = self._columns_of
        return [
            _Column(unit, counts) for unit, counts in (columns() if callable(columns) else columns)
        ]

    @property
    def simultaneous(self) -> bool:
        """True when every flow falls at the same time, so that any rate, or none, fits."""
        return all(
            column.counts.count(column.counts[0]) == len(column.counts) for column in self._columns
        )

    def solve(
        self, guess: Decimal | None, bracket: Callable[[], Decimal], *, scale: Scale = 1.0
    ) -> Solution:
        """The rate from floats, or from *bracket* (the bracketing solver on the same flows,
        with the same guess) whenever the float answer is not proven to be within
        :data:`AGREEMENT` of the exact rate. *scale* bounds how much the rate the caller
        reports moves per unit of this rate (see :data:`Scale`)."""
        reason, flows = self._float_flows(guess)
        if flows is not None:
            start = flows.rough_log_rate() if guess is None else log1p(float(guess))
            reason, rate = self._seeded(flows, start, _allowance(scale))
            if rate is not None:
                return Solution(rate, "float_seed")
        return Solution(bracket(), "bracket", reason)

    def _float_flows(self, guess: Decimal | None) -> tuple[str, _FloatFlows | None]:
        """The flows in float, or why floats cannot serve them."""
        if guess is not None and not _GUESS_RANGE[0] < guess <= _GUESS_RANGE[1]:
            return "the guess is outside the range the solvers search", None
        floats, times = self._floats, self._times
        if not (self.changes_sign and self._finite):
            return "the amounts are beyond the float range", None
        fractions = None if self._fractions is None else list(map(float, self._fractions))
        order = times if fractions is None else list(map(add, times, fractions))
        if self._lent_first:
            lent, lent_last = [0], order[0]
        else:
            lent = _lent(floats)
            lent_last = max(order[index] for index in lent)
        # Times are never negative: all lent at time 0 means lent first, repaid after.
        if lent_last and lent_last > min(order):
            lent_times = [order[index] for index in lent]
            repaid = list(compress(order, map((0.0).__lt__, floats)))
            if lent_last > min(repaid) and max(repaid) > min(lent_times):
                return (
                    "the amounts change sign more than once, so several rates may balance them",
                    None,
                )
        lent_at_zero = lent_last == 0
        if fractions is not None:
            return "", _SimpleInterestFlows(
                floats, times, self._time_error, lent, lent_at_zero, fractions
            )
        return "", _PlainFlows(floats, times, self._time_error, lent, lent_at_zero)

    def _seeded(
        self, flows: _FloatFlows, start: float, allowed: Callable[[float], float]
    ) -> tuple[str, Decimal | None]:
        try:
            found = flows.root(start, allowed)
        except (ArithmeticError, ValueError):  # float overflow, or inf - inf in fsum
            return "the float iteration overflowed", None
        if found is None:
            return "the float iteration did not settle", None
        if not _LOWEST_LOG_RATE < found.log_rate < _HIGHEST_LOG_RATE:
            return "the rate is outside the range the float seed serves", None
        if found.rate_error <= allowed(found.rate):
            return "", Decimal(repr(found.rate))
        rate = self._polish(found, allowed)
        if rate is None:
            return "neither the float rate nor its Decimal polish is proven close enough", None
        return "", rate

    def _polish(self, seed: _FloatRoot, allowed: Callable[[float], float]) -> Decimal | None:
        """The float rate moved by one Newton step in ``Decimal`` with the float slope, when the
        error left after that step is proven within *allowed*; None otherwise, before any
        ``Decimal`` work.

        From ``r0``, ``|r0 - r| <= e`` from the root *r*, the step to ``r1 = r0 - F(r0) / s``
        leaves ``r1 - r = (r0 - r) * (1 - F'(x) / s) - error(F) / s`` for some *x* between
        ``r0`` and *r*: at most ``e * |s - F'| / |s| + error(F) / |s|``, plus the step's own
        rounding, where the float slope *s* is within a proven distance of ``F'`` all along.
        """
        slopes = seed.in_rate()
        if slopes is None:
            return None
        slope, slope_error, absolute = slopes
        start = abs(seed.rate)
        evaluation = self._decimal_error() * absolute
        moved = ((seed.rate_error + 1e-33 * (1 + start)) * slope_error + evaluation) / abs(
            slope
        ) + 4e-33 * (1 + start)
        if not moved <= allowed(seed.rate):
            return None
        with working_precision():
            rate, bases = self._exactly_near(seed)
            return rate - self._value(rate, bases) / Decimal(slope)

    def _decimal_error(self) -> float:
        """A bound on the error of :meth:`_value` relative to ``sum(|amount| * discount)``."""
        longest = sum(max(column.counts) for column in self._columns)
        return (len(self._amounts) + longest + 10) * _DECIMAL_OPERATION

    def _exactly_near(self, seed: _FloatRoot) -> tuple[Decimal, dict[int, Decimal]]:
        """The float rate in ``Decimal`` and the discount factor of each unit of time there,
        each a root of the growth factor polished by one Newton step from a float seed.

        The seed is ``1 - u``, *u* the float ``1 - exp(-ln(1 + rate) / unit)``: good to float
        precision relative to *u*, so to about ``1e-16 * ln(1 + rate) / unit`` relative to the
        root. The step squares that error (times about ``unit / 2``), far below 1e-30.
        """
        growth = 1 + Decimal(seed.rate)
        bases = {}
        for column in self._columns:
            unit = column.unit
            if unit == 1:
                bases[unit] = 1 / growth
            else:
                near = 1 - Decimal(-expm1(-seed.log_rate / unit))
                bases[unit] = _reciprocal_root(growth, unit, near)
        return growth - 1, bases

    def _value(self, rate: Decimal, bases: dict[int, Decimal]) -> Decimal:
        """The sum at *rate* in ``Decimal``, by Horner's rule along the first column; the
        factors of any other column are folded into the amounts first, unless no flow counts
        units of both of two columns, when each is summed by its own Horner pass."""
        amounts = self._amounts
        if self._fractions is not None:
            simple = {fraction: 1 / (1 + fraction * rate) for fraction in set(self._fractions)}
            amounts = list(map(mul, amounts, map(simple.__getitem__, self._fractions)))
        first, *others = self._columns
        if len(others) == 1 and not any(map(mul, first.counts, others[0].counts)):
            return _split_horner(amounts, first, others[0], bases)
        for unit, counts in others:
            powers = _table(bases[unit], counts)
            amounts = [
                amount * powers[count] if count else amount
                for amount, count in zip(amounts, counts, strict=True)
            ]
        return _horner(amounts, first.counts, bases[first.unit])


def _allowance(scale: Scale) -> Callable[[float], float]:
    """How far from the exact rate a float rate may be, as a function of the rate, for the
    reported rate to stay within :data:`AGREEMENT` of the bracketing solver's: what is left of
    it once the bracketing solver's own error is set aside, divided by *scale*."""

    def allowed(rate: float) -> float:
        factor = scale(rate) if callable(scale) else scale
        return AGREEMENT / factor - _BRACKET_ERROR * max(1.0, abs(rate))

    return allowed


def _lent(amounts: list[float]) -> list[int]:
    """Where the negative amounts are."""
    return list(compress(range(len(amounts)), map((0.0).__gt__, amounts)))


class _Evaluation(NamedTuple):
    """The sum and its first three derivatives in float, with what bounds their errors.

    The sum is evaluated at a point within ``2**-52 * |log_rate|`` of *log_rate*: that of the
    float discount factor, whose logarithm *log_rate* is. *errors* bound each computed value's
    distance from the exact one there; *absolute* bounds ``sum(|amount| * discount)``. Within
    a distance *h* of the point, ``|f''| <= second * exp(pace * h)`` and ``|f''''| <= fourth *
    exp(pace * h)``.
    """

    log_rate: float
    values: tuple[float, float, float, float]
    errors: tuple[float, float, float, float]
    absolute: float
    second: float
    fourth: float
    pace: float


class _FloatRoot(NamedTuple):
    """The float stage's answer: the rate, its logarithm, a proven bound on the rate's
    distance from the exact one and whether another float step could still shrink it; and,
    for a ``Decimal`` polish, the evaluation and step it came from, the slope in ``d`` at the
    rate with a proven bound on its error there, and the bound on the logarithm's error."""

    rate: float
    log_rate: float
    rate_error: float
    settled: bool
    evaluation: _Evaluation
    step: float
    slope: float
    slope_error: float
    log_error: float

    def in_rate(self) -> tuple[float, float, float] | None:
        """The slope of the sum in the rate, a proven bound on its distance from the exact
        slope anywhere between the rate (in ``Decimal``) and the exact one, and a bound on
        ``sum(|amount| * discount)`` there; None when that reaches beyond the bounds.

        Between them ``ln(1 + rate)`` is within *far* of the point the rate came from, where
        ``|f''|`` bounds how far the slope in ``d`` moves; the slope in the rate is that over
        ``1 + rate``, whose own error the bound on the logarithm's covers.
        """
        evaluation, log_error = self.evaluation, self.log_error
        growth = 1.0 + self.rate
        length, pace = abs(self.step), evaluation.pace
        far = 2 * log_error + _LIBM * _SLACK * abs(self.rate) / growth
        if (length + far) * pace > 1.0:
            return None
        near = exp((length + far) * pace)
        slope_near = self.slope_error + evaluation.second * near * far
        widen = exp(far + log_error)
        error = slope_near * widen + abs(self.slope) * ((far + log_error) * widen + 4 * _U)
        return self.slope / growth, error / growth * _SLACK, evaluation.absolute * near * _SLACK


class _FloatFlows(abc.ABC):
    """The flows in float, and Newton's method on their sum in ``d = ln(1 + rate)``."""

    def __init__(
        self,
        amounts: list[float],
        times: list[float],
        time_error: float,
        lent: list[int],
        lent_at_zero: bool,
    ) -> None:
        self.amounts = amounts
        self.times = times
        self.time_error = time_error
        """How far each time may be from its exact value, relative."""
        self.lent = lent
        self.lent_at_zero = lent_at_zero
        self.count = len(amounts)
        self.longest = max(times)
        self.lent_total = -sum(map(amounts.__getitem__, lent))
        self.weighted = list(map(mul, amounts, times))
        self.squared = list(map(mul, self.weighted, times))

    def rough_log_rate(self) -> float:
        """Where ``ln`` of the amounts repaid, discounted, equals ``ln`` of those lent, each
        expanded to its second cumulant: ``ln R(d) = ln R - d * mean + d**2 * variance / 2``.

        A loan's repayments are spread evenly enough that the third cumulant is small, and the
        root lands within about 1e-4 of the rate; kept within -50 % and 1000 % per unit.
        """
        amounts, weighted, squared, lent = self.amounts, self.weighted, self.squared, self.lent
        lent_total = self.lent_total
        if self.lent_at_zero:  # the usual loan: paid out at the start
            repaid_total = sum(amounts) + lent_total
            mean = sum(weighted) / repaid_total
            spread = (sum(squared) / repaid_total - mean * mean) / 2
            return _balance(log(repaid_total / lent_total), mean, spread)
        lent_mean, lent_variance = _mean_and_variance(
            lent_total,
            -sum(map(weighted.__getitem__, lent)),
            -sum(map(squared.__getitem__, lent)),
        )
        repaid_total = sum(amounts) + lent_total
        repaid_mean, repaid_variance = _mean_and_variance(
            repaid_total,
            sum(weighted) + lent_mean * lent_total,
            sum(squared) + (lent_variance + lent_mean * lent_mean) * lent_total,
        )
        return _balance(
            log(repaid_total / lent_total),
            repaid_mean - lent_mean,
            (repaid_variance - lent_variance) / 2,
        )

    def root(self, log_rate: float, allowed: Callable[[float], float]) -> _FloatRoot | None:
        """Cubic Taylor steps from *log_rate* until the rate is proven within *allowed* (a
        function of the rate) or further steps can no longer shrink the proven error; None
        when they do not get there."""
        for _ in range(_FLOAT_STEPS):
            evaluation = self.evaluate(log_rate)
            f0, f1, f2, f3 = evaluation.values
            if not (isfinite(f0) and isfinite(f1) and isfinite(f2) and isfinite(f3) and f1):
                return None
            step = max(_cubic_step(f0, f1, f2, f3), _HALFWAY_DOWN)
            found = self.certify(evaluation, step)
            if found is not None and (found.settled or found.rate_error <= allowed(found.rate)):
                return found
            log_rate = evaluation.log_rate + step
        return None

    @abc.abstractmethod
    def evaluate(self, log_rate: float) -> _Evaluation:
        """The sum and its first three derivatives near *log_rate*, with their error bounds."""

    def certify(self, evaluation: _Evaluation, step: float) -> _FloatRoot | None:
        """The rate at ``d + step``, *d* the point evaluated, with proven error bounds; None
        when the step reaches too far for the bounds to hold.

        At ``p = d + step`` the sum is the cubic expansion, which the step makes nearly zero,
        plus the errors of the four values times the powers of the step, plus a fourth-order
        remainder: a bound *F* on ``|f(p)|``. The slope there is the expansion's, within a
        bound made the same way, and stays above some *m* within ``2 F / m`` of *p*, where
        ``|f''|`` is bounded too. So ``f`` changes sign within ``F / m`` of *p*, at the one root.
        Float rounding of ``p`` itself, of the point evaluated and of ``expm1`` add to that.
        """
        f0, f1, f2, f3 = evaluation.values
        e0, e1, e2, e3 = evaluation.errors
        pace, length = evaluation.pace, abs(step)
        if length * pace > 1.0:
            return None
        # exp(x) <= 1 + (e - 1) * x for 0 <= x <= 1, the chord above a convex curve.
        fourth = evaluation.fourth * (1.0 + _E_CHORD * length * pace)
        half, sixth = f2 / 2, f3 / 6
        left = (
            abs(f0 + step * (f1 + step * (half + step * sixth)))
            + 8 * _U * (abs(f0) + length * (abs(f1) + length * (abs(half) + length * abs(sixth))))
            + length * (e1 + length * (e2 / 2 + length * (e3 / 6 + length * fourth / 24)))
        )
        value = (e0 + left) * _SLACK
        slope = f1 + step * (f2 + step * f3 / 2)
        slope_error = (
            e1
            + length * (e2 + length * (e3 / 2 + length * fourth / 6))
            + 6 * _U * (abs(f1) + length * (abs(f2) + length * abs(f3) / 2))
        ) * _SLACK
        lower = abs(slope) - slope_error
        if not lower > 0:
            return None
        reach = 2 * value / lower
        if (length + reach) * pace > 1.0:
            return None
        bend = evaluation.second * (1.0 + _E_CHORD * (length + reach) * pace) * reach
        if not bend <= lower / 2:
            return None
        # |f'| >= lower - bend >= lower / 2 within reach of p: the root is within
        # value / (lower - bend) <= reach of it.
        log_rate = evaluation.log_rate + step
        log_error = (
            value / (lower - bend) + _LIBM * abs(evaluation.log_rate) + _U * abs(log_rate)
        ) * _SLACK
        rate = expm1(log_rate)
        rate_error = (exp(log_rate + log_error) * log_error + (_LIBM + _U) * abs(rate)) * _SLACK
        return _FloatRoot(
            rate, log_rate, rate_error, left <= e0, evaluation, step, slope, slope_error, log_error
        )


class _PlainFlows(_FloatFlows):
    """Flows discounted by ``D = exp(-d * t)``: the k-th derivative of ``sum(a * D)`` is
    ``(-1)**k * sum(a * t**k * D)``, the products ``a * t**k`` made once.

    When all the money lent is lent at time 0 (a loan paid out at the start), every flow at a
    later time is repaid: each ``sum(|a * t**k| * D)`` is then ``|f^(k)|``, and
    ``sum(|a| * D)`` is the sum plus twice what was lent. Otherwise they are summed as well.

    Error bounds: each amount is rounded once to float (2**-53, relative), each time by up to
    *time_error*; ``pow`` and products round each term, and the sums of the derivatives add
    up to ``n`` roundings (``fsum`` rounds the sum itself once). A time's error moves its
    exponent by ``d * t * time_error``. Flows at time 0 have a discount of exactly 1.
    """

    def __init__(
        self,
        amounts: list[float],
        times: list[float],
        time_error: float,
        lent: list[int],
        lent_at_zero: bool,
    ) -> None:
        super().__init__(amounts, times, time_error, lent, lent_at_zero)
        self.cubed = list(map(mul, self.squared, times))
        self.magnitudes = (
            None
            if lent_at_zero
            else [list(map(abs, row)) for row in (amounts, self.weighted, self.squared, self.cubed)]
        )

    def evaluate(self, log_rate: float) -> _Evaluation:
        base = exp(-log_rate)
        discounts = list(map(pow, repeat(base), self.times))
        f0 = fsum(map(mul, self.amounts, discounts))
        f1 = -sum(map(mul, self.weighted, discounts))
        f2 = sum(map(mul, self.squared, discounts))
        f3 = -sum(map(mul, self.cubed, discounts))
        if self.magnitudes is None:
            absolute = max(f0 + 2 * self.lent_total, 0.0)
            later = max(f0 + self.lent_total, 0.0)
            first, second, third = abs(f1), abs(f2), abs(f3)
        else:
            absolute, first, second, third = (
                sum(map(mul, row, discounts)) for row in self.magnitudes
            )
            later = absolute
        point = -log(base)
        exponent = self.time_error * abs(point)
        # Each a * t**k carries the amount's rounding and k times the time's and a product's.
        rounded, per_power = (self.count + 1) * _U + _LIBM, self.time_error + _U
        fourth = self.longest * third
        return _Evaluation(
            point,
            (f0, f1, f2, f3),
            (
                (_U * absolute + (_LIBM + _U) * later + exponent * first + _U * abs(f0)) * _SLACK,
                ((rounded + per_power) * first + exponent * second) * _SLACK,
                ((rounded + 2 * per_power) * second + exponent * third) * _SLACK,
                ((rounded + 3 * per_power) * third + exponent * fourth) * _SLACK,
            ),
            absolute * _SLACK,
            second * _SLACK,
            fourth * _SLACK,
            self.longest,
        )


class _SimpleInterestFlows(_FloatFlows):
    """Flows discounted also by simple interest over an odd fraction *f* of a unit-period:
    ``D = exp(-d * t) * s``, ``s = 1 / (1 + f * (exp(d) - 1))``.

    With ``q = f * exp(d) * s`` each factor's logarithm falls at the pace ``t + q``, and ``q``
    itself rises at ``q * (1 - q)``; the derivatives follow. The guess counts the fraction as
    time. As ``0 <= q < 1`` and the derivatives of ``q`` are below 1/2, the k-th derivative
    of a factor is at most ``(t + 2) ** k`` times the factor, which bounds them all.

    Error bounds: the simple factor of the growth ``g`` is good to ``(2 + 3 * psi)`` roundings,
    ``psi = |g - 1| / min(1, g)``, and each term to ``4 + 3 * psi`` more than its amount's and
    ``pow``'s.
    The derivatives are bounded generously by ``n + 40 + 20 * psi`` roundings of
    ``(t_max + 2) ** k`` times ``sum(|amount| * D)``. A time's error moves its exponent by
    ``d * t * time_error``, as for plain flows.
    """

    def __init__(
        self,
        amounts: list[float],
        times: list[float],
        time_error: float,
        lent: list[int],
        lent_at_zero: bool,
        fractions: list[float],
    ) -> None:
        super().__init__(amounts, list(map(add, times, fractions)), time_error, lent, lent_at_zero)
        self.whole_times = times
        self.fractions = fractions

    def evaluate(self, log_rate: float) -> _Evaluation:
        growth = exp(log_rate)
        simple = {f: 1.0 / (1.0 + f * (growth - 1.0)) for f in set(self.fractions)}
        terms = []
        first = second = third = 0.0
        for amount, time, fraction in zip(
            self.amounts, self.whole_times, self.fractions, strict=True
        ):
            share = fraction * growth * simple[fraction]
            spread = share * (1.0 - share)
            pace = time + share
            term = amount * growth**-time * simple[fraction]
            terms.append(term)
            first -= term * pace
            second += term * (pace * pace - spread)
            third -= term * (pace**3 - 3.0 * pace * spread + spread * (1.0 - 2.0 * share))
        f0 = fsum(terms)
        absolute = sum(map(abs, terms))
        later = max(absolute - self.lent_total, 0.0) if self.lent_at_zero else absolute
        psi = abs(growth - 1.0) / min(1.0, growth)
        span = self.longest + 2.0
        point = log(growth)
        exponent = self.time_error * abs(point) * span
        derivative = ((self.count + 40 + 20 * psi) * _U + exponent) * absolute
        return _Evaluation(
            point,
            (f0, first, second, third),
            (
                (_U * absolute + ((4 + 3 * psi) * _U + _LIBM + exponent) * later + _U * abs(f0))
                * _SLACK,
                derivative * span * _SLACK,
                derivative * span**2 * _SLACK,
                derivative * span**3 * _SLACK,
            ),
            absolute * _SLACK,
            absolute * span**2 * _SLACK,
            absolute * span**4 * _SLACK,
            self.longest + 1.0,
        )


def _mean_and_variance(total: float, first: float, second: float) -> tuple[float, float]:
    mean = first / total
    return mean, second / total - mean * mean


def _balance(level: float, elapsed: float, spread: float) -> float:
    """The root nearest ``level / elapsed`` of ``level - elapsed * d + spread * d**2``, within
    the guess range; 10 % when no time passes between lending and repayment."""
    if not elapsed:
        return _DEFAULT_GUESS
    discriminant = elapsed * elapsed - 4.0 * level * spread
    if discriminant >= 0:
        guess = 2.0 * level / (elapsed + copysign(sqrt(discriminant), elapsed))
    else:
        guess = level / elapsed
    return min(max(guess, _LOWEST_GUESS), _HIGHEST_GUESS)


def _cubic_step(f0: float, f1: float, f2: float, f3: float) -> float:
    """The root nearest zero of ``f0 + f1 s + f2 s**2 / 2 + f3 s**3 / 6``, by two Newton steps
    from the Newton step of the sum itself; that step alone when it is too long for the
    cubic to describe the sum."""
    step = -f0 / f1
    if abs(f2 * step) > 0.5 * abs(f1):
        return step
    for _ in range(2):
        slope = f1 + step * (f2 + step * f3 / 2)
        step -= (f0 + step * (f1 + step * (f2 / 2 + step * f3 / 6))) / slope
    return step


def _reciprocal_root(growth: Decimal, n: int, seed: Decimal) -> Decimal:
    """``growth ** (-1 / n)`` by one Newton step on ``v ** n * growth = 1`` from *seed*:
    integer powers instead of a logarithm and an exponential."""
    excess = seed**n * growth
    return seed - seed * (excess - 1) / (n * excess)
