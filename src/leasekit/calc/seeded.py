"""Rates solved from a binary-float seed, then polished and verified in ``Decimal``.

The bracketing solver (:func:`~leasekit.calc.solve.find_root`) evaluates a discounted sum some
ten times in 34-digit ``Decimal``, each time with fractional powers of the growth factor (a
logarithm and an exponential apiece). Books of a million contracts need rates much faster;
:meth:`SeededSum.solve` takes three steps:

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
   expansion: one evaluation usually gives the rate to float precision, and the slope there
   to about 1e-11, as a bound on the terms the expansion leaves out shows (with simple
   interest, which has no such bound at hand, the steps go on until one is tiny).
3. **Decimal.** One Newton step in 34-digit ``Decimal`` from the float rate, with the float
   slope, polishes it. It costs one evaluation of the sum: the discount factor of each unit
   of time is a root of the growth factor, polished from a float seed, and the sum is taken
   by Horner's rule from the last flow back, the power of each distinct gap between flows
   computed once. The rate is accepted when the error left after the step, estimated from
   the step and the slope's error with a hundredfold margin, is below the bracketing
   solver's tolerance; otherwise a second step must itself fall below it.

Whenever a step is not conclusive (several sign changes, an overflow, no convergence, a rate
outside -99 % to 10**6 per unit of time), the bracketing solver answers instead, so errors and
the choice among several rates stay its own. Both solvers work to the same tolerance and agree
to about 1e-27, but not digit for digit: the last few of a rate's 34 digits depend on the path
an iteration took.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from itertools import compress, islice, repeat
from math import copysign, exp, expm1, fsum, inf, isfinite, log, log1p, sqrt
from operator import add, mul, not_, truediv
from typing import Final, Literal, NamedTuple, TypeAlias

from leasekit.calc.solve import TOLERANCE, working_precision
from leasekit.errors import CalculationError

__all__ = ["SOLVERS", "SeededSum", "Solution", "Solver", "check_solver"]

Solver: TypeAlias = Literal["bracket", "float_seed"]
SOLVERS: Final = ("bracket", "float_seed")
"""``"bracket"``: the bracketing search of :mod:`leasekit.calc.solve`, digit for digit as in
every earlier release. ``"float_seed"``: this module, many times faster."""

_FLOAT_STEPS: Final = 60
_SLOPE_ERROR: Final = 1e-11
"""The float root is accepted when the slope carried to it is good to this, relative: one
``Decimal`` step then leaves an error near ``1e-16 * 1e-11``, far below the tolerance."""
_ROOT_ERROR: Final = 1e-15
"""And when the cubic step leaves the root good to this, about float precision."""
_ROUNDING: Final = 1e-13
"""The relative error of a float slope from rounding alone, over a few hundred flows."""
_TINY_STEP: Final = 1e-9
"""Where no bound on the carry is at hand, a step this small ends the float iteration."""
_ONE_STEP: Final = float(TOLERANCE)
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
    """

    def __init__(
        self,
        amounts: Sequence[Decimal],
        columns: Sequence[tuple[int, Sequence[int]]],
        fractions: Sequence[Decimal] | None = None,
    ) -> None:
        self._amounts = amounts
        self._columns = [_Column(unit, counts) for unit, counts in columns]
        self._fractions = fractions
        self._floats = floats = list(map(float, amounts))
        self.changes_sign = bool(floats) and min(floats) < 0 < max(floats)
        """True when amounts of both signs are sure to be there; False may also mean amounts
        too small for a float, which only the ``Decimal`` amounts can tell."""
        times = self._columns[0].times() if self._columns else [0.0] * len(amounts)
        for column in self._columns[1:]:
            times = list(map(add, times, column.times()))
        self._times = times

    @property
    def simultaneous(self) -> bool:
        """True when every flow falls at the same time, so that any rate, or none, fits."""
        return all(
            column.counts.count(column.counts[0]) == len(column.counts) for column in self._columns
        )

    def solve(self, guess: Decimal | None, bracket: Callable[[], Decimal]) -> Solution:
        """The rate from a float seed, or from *bracket* (the bracketing solver on the same
        flows, with the same guess) whenever the float seed is not conclusive."""
        reason, flows = self._float_flows(guess)
        if flows is not None:
            start = flows.rough_log_rate() if guess is None else log1p(float(guess))
            reason, rate = self._seeded(flows, start)
            if rate is not None:
                return Solution(rate, "float_seed")
        return Solution(bracket(), "bracket", reason)

    def _float_flows(self, guess: Decimal | None) -> tuple[str, _FloatFlows | None]:
        """The flows in float, or why the float seed cannot serve them."""
        if guess is not None and not _GUESS_RANGE[0] < guess <= _GUESS_RANGE[1]:
            return "the guess is outside the range the solvers search", None
        floats, times = self._floats, self._times
        if not (self.changes_sign and isfinite(sum(floats))):
            return "the amounts are beyond the float range", None
        fractions = None if self._fractions is None else list(map(float, self._fractions))
        order = times if fractions is None else list(map(add, times, fractions))
        lent = _lent(floats)
        lent_times = [order[index] for index in lent]
        lent_last = max(lent_times)
        if lent_last <= min(order):  # all lent at the start, all repaid at or after it
            repaid_last = None
        else:
            repaid = list(compress(order, map((0.0).__lt__, floats)))
            if lent_last > min(repaid) and max(repaid) > min(lent_times):
                return (
                    "the amounts change sign more than once, so several rates may balance them",
                    None,
                )
            repaid_last = max(repaid)
        lent_at_zero = lent_last == 0
        if fractions is not None:
            return "", _SimpleInterestFlows(floats, times, lent, lent_at_zero, fractions)
        one_side_first = lent_at_zero or repaid_last == 0
        return "", _PlainFlows(floats, times, lent, lent_at_zero, one_side_first)

    def _seeded(self, flows: _FloatFlows, start: float) -> tuple[str, Decimal | None]:
        try:
            found = flows.root(start)
        except (ArithmeticError, ValueError):  # float overflow, or inf - inf in fsum
            return "the float iteration overflowed", None
        if found is None:
            return "the float iteration did not settle", None
        if not _LOWEST_LOG_RATE < found.log_rate < _HIGHEST_LOG_RATE:
            return "the rate is outside the range the float seed serves", None
        rate = self._polish(found)
        if rate is None:
            return "the Decimal polish did not converge", None
        return "", rate

    def _polish(self, seed: _FloatRoot) -> Decimal | None:
        """The float root polished by Newton steps in ``Decimal`` with the float slope.

        The step from the float root measures its error *e* (about 1e-16); what is left after
        it is about ``e * s + c * e ** 2``, *s* the slope's relative error and *c* half the
        curvature over the slope. When that, with a hundredfold margin, is below the
        tolerance, one step suffices; otherwise a second step must itself fall below it.
        """
        with working_precision():
            rate, bases = self._exactly_near(seed)
            slope = Decimal(seed.slope)
            step = self._value(rate, bases) / slope
            rate -= step
            moved = abs(float(step))
            if moved * seed.error_factor(moved) <= _ONE_STEP * max(1.0, abs(seed.rate)):
                return rate
            step = self._value(rate, bases, refine=True) / slope
            rate -= step
            if abs(step) <= TOLERANCE * max(_ONE, abs(rate)):
                return rate
        return None

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

    def _value(self, rate: Decimal, bases: dict[int, Decimal], *, refine: bool = False) -> Decimal:
        """The sum at *rate* in ``Decimal``, by Horner's rule along the first column; the
        factors of any other column are folded into the amounts first, unless no flow counts
        units of both of two columns, when each is summed by its own Horner pass.

        With *refine*, *bases* (the factors at a nearby rate) are first moved to *rate* by one
        Newton step each, in place.
        """
        if refine:
            growth = 1 + rate
            for unit, near in bases.items():
                bases[unit] = 1 / growth if unit == 1 else _reciprocal_root(growth, unit, near)
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


def _lent(amounts: list[float]) -> list[int]:
    """Where the negative amounts are: usually the first flow alone, a loan paid out."""
    if amounts[0] < 0 <= min(islice(amounts, 1, None), default=0.0):
        return [0]
    return list(compress(range(len(amounts)), map((0.0).__gt__, amounts)))


class _FloatRoot(NamedTuple):
    """The float stage's answer: the rate and its logarithm, the slope and curvature of the
    sum in the rate there, and the relative error of that slope."""

    rate: float
    log_rate: float
    slope: float
    curvature: float
    slope_error: float

    def error_factor(self, step: float) -> float:
        """A hundred times ``s + c * |step|`` (see :meth:`SeededSum._polish`), *c* being half
        the curvature over the slope."""
        half_curvature = abs(self.curvature / (2.0 * self.slope))
        return 100.0 * (self.slope_error + half_curvature * step)


class _FloatFlows(abc.ABC):
    """The flows in float, and Newton's method on their sum in ``d = ln(1 + rate)``."""

    def __init__(
        self, amounts: list[float], times: list[float], lent: list[int], lent_at_zero: bool
    ) -> None:
        self.amounts = amounts
        self.times = times
        self.lent = lent
        self.lent_at_zero = lent_at_zero
        self.longest = max(times)
        self.weighted = list(map(mul, amounts, times))
        self.squared = list(map(mul, self.weighted, times))

    def rough_log_rate(self) -> float:
        """Where ``ln`` of the amounts repaid, discounted, equals ``ln`` of those lent, each
        expanded to its second cumulant: ``ln R(d) = ln R - d * mean + d**2 * variance / 2``.

        A loan's repayments are spread evenly enough that the third cumulant is small, and the
        root lands within about 1e-4 of the rate; kept within -50 % and 1000 % per unit.
        """
        amounts, weighted, squared, lent = self.amounts, self.weighted, self.squared, self.lent
        lent_total = -sum(map(amounts.__getitem__, lent))
        if self.lent_at_zero:  # the usual loan: paid out at the start
            lent_mean = lent_variance = 0.0
        else:
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

    def root(self, log_rate: float) -> _FloatRoot | None:
        """Cubic Taylor steps from *log_rate* until the bound on what they leave out says the
        root is good to float precision and the slope to :data:`_SLOPE_ERROR`; None when they
        do not settle."""
        for _ in range(_FLOAT_STEPS):
            f0, f1, f2, f3, size = self.derivatives(log_rate)
            if not (isfinite(f0) and isfinite(f1) and isfinite(f2) and isfinite(f3) and f1):
                return None
            step = max(_cubic_step(f0, f1, f2, f3), _HALFWAY_DOWN)
            slope = f1 + step * (f2 + step * f3 / 2)
            carry = self._carry(size, f3, step)
            slope_settled = carry <= _SLOPE_ERROR * abs(slope)
            root_settled = carry * abs(step) <= _ROOT_ERROR * abs(slope) * max(1.0, abs(log_rate))
            if slope_settled and root_settled:
                return _in_rate(log_rate + step, slope, f2 + step * f3, carry / abs(slope))
            log_rate += step
        return None

    @abc.abstractmethod
    def derivatives(self, log_rate: float) -> tuple[float, float, float, float, float | None]:
        """The sum and its first three derivatives at *log_rate*, and *size*: a bound on
        ``|f''''|`` there per unit of the longest time, or None when none is at hand."""

    def _carry(self, size: float | None, third: float, step: float) -> float:
        """A bound on what the cubic step leaves out of the slope, ``|f''''| * |step|**3 / 6``,
        ``exp(|step| * t_max)`` covering the growth of ``|f''''|`` along the step. Without a
        bound, the last term kept stands in for it, and only tiny steps are accepted."""
        length = abs(step)
        if size is None:
            return abs(third) * length * length if length <= _TINY_STEP else inf
        spread = length * self.longest
        if spread > 1.0:
            return inf
        return self.longest * size * exp(spread) * length**3 / 6.0


class _PlainFlows(_FloatFlows):
    """Flows discounted by ``D = exp(-d * t)``: the k-th derivative of ``sum(a * D)`` is
    ``(-1)**k * sum(a * t**k * D)``, the products ``a * t**k`` made once.

    When all the money on one side moves at time 0 (a loan paid out at the start) the other
    side alone makes every derivative, all of one sign, so that ``|f''''| <= t_max * |f'''|``:
    the bound that lets one evaluation suffice. Otherwise ``sum(|a * t**3| * D)`` stands in
    for ``|f'''|``.
    """

    def __init__(
        self,
        amounts: list[float],
        times: list[float],
        lent: list[int],
        lent_at_zero: bool,
        one_side_first: bool,
    ) -> None:
        super().__init__(amounts, times, lent, lent_at_zero)
        self.cubed = list(map(mul, self.squared, times))
        self.absolute = None if one_side_first else list(map(abs, self.cubed))

    def derivatives(self, log_rate: float) -> tuple[float, float, float, float, float | None]:
        discounts = list(map(pow, repeat(exp(-log_rate)), self.times))
        third = sum(map(mul, self.cubed, discounts))
        size = abs(third) if self.absolute is None else sum(map(mul, self.absolute, discounts))
        return (
            fsum(map(mul, self.amounts, discounts)),
            -sum(map(mul, self.weighted, discounts)),
            sum(map(mul, self.squared, discounts)),
            -third,
            size,
        )


class _SimpleInterestFlows(_FloatFlows):
    """Flows discounted also by simple interest over an odd fraction *f* of a unit-period:
    ``D = exp(-d * t) * s``, ``s = 1 / (1 + f * (exp(d) - 1))``.

    With ``q = f * exp(d) * s`` each factor's logarithm falls at the pace ``t + q``, and ``q``
    itself rises at ``q * (1 - q)``; the derivatives follow. The guess counts the fraction as
    time. No bound on the fourth derivative is at hand, so only a tiny step ends the iteration.
    """

    def __init__(
        self,
        amounts: list[float],
        times: list[float],
        lent: list[int],
        lent_at_zero: bool,
        fractions: list[float],
    ) -> None:
        super().__init__(amounts, list(map(add, times, fractions)), lent, lent_at_zero)
        self.whole_times = times
        self.fractions = fractions

    def derivatives(self, log_rate: float) -> tuple[float, float, float, float, float | None]:
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
        return fsum(terms), first, second, third, None


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


def _in_rate(log_rate: float, slope: float, curvature: float, slope_error: float) -> _FloatRoot:
    """The root in ``d = ln(1 + rate)`` as a :class:`_FloatRoot` in the rate: ``df/drate =
    f' / (1 + rate)`` and ``d2f/drate2 = (f'' - f') / (1 + rate) ** 2``."""
    growth = exp(log_rate)
    return _FloatRoot(
        expm1(log_rate),
        log_rate,
        slope / growth,
        (curvature - slope) / (growth * growth),
        _ROUNDING + slope_error,
    )


def _reciprocal_root(growth: Decimal, n: int, seed: Decimal) -> Decimal:
    """``growth ** (-1 / n)`` by one Newton step on ``v ** n * growth = 1`` from *seed*:
    integer powers instead of a logarithm and an exponential."""
    excess = seed**n * growth
    return seed - seed * (excess - 1) / (n * excess)
