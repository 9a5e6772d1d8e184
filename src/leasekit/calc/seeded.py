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
2. **Float.** Newton steps in binary floating point from the guess, a few microseconds each,
   give the rate to about 15 digits.
3. **Decimal.** Newton steps in 34-digit ``Decimal`` from the float rate, with the float
   slope, polish it; each costs one evaluation of the sum and no logarithm (fractional powers
   of the growth factor are themselves polished from float seeds). The rate is accepted when
   a step falls below the bracketing solver's own tolerance.

Whenever a step is not conclusive (several sign changes, an overflow, no convergence, a rate
outside -99 % to 10**6 per unit of time), the bracketing solver answers instead, so errors and
the choice among several rates stay its own. Both solvers work to the same tolerance and agree
to about 1e-30, but not digit for digit: the last two or three of a rate's 34 digits depend on
the path an iteration took.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from itertools import accumulate, compress, islice, repeat
from math import fsum, isfinite
from operator import add, lt, mul, sub, truediv
from typing import Final, Literal, NamedTuple, TypeAlias

from leasekit.calc.solve import TOLERANCE, working_precision
from leasekit.errors import CalculationError

__all__ = ["SOLVERS", "SeededSum", "Solution", "Solver", "check_solver"]

Solver: TypeAlias = Literal["bracket", "float_seed"]
SOLVERS: Final = ("bracket", "float_seed")
"""``"bracket"``: the bracketing search of :mod:`leasekit.calc.solve`, digit for digit as in
every earlier release. ``"float_seed"``: this module, several times faster."""

_FLOAT_STEPS: Final = 60
_FLOAT_TOLERANCE: Final = 1e-11
"""A float step this small leaves the rate good to float precision and the slope it was taken
with good to about 1e-9, so that two ``Decimal`` steps reach the tolerance."""
_FLOAT_SLOPE_ERROR: Final = 1e-13
_ONE_STEP: Final = float(TOLERANCE)
_ROOT_STEPS: Final = 2
"""Newton steps for a fractional power from a float seed: 16 digits, then 32, then 34."""
_LOWEST_RATE: Final = -0.99
_HIGHEST_RATE: Final = 1e6
"""Per unit of time. Beyond these, discount factors over long terms leave the float range; the
bracketing solver, whose range is wider, answers instead."""
_LOWEST_GUESS: Final = -0.5
_HIGHEST_GUESS: Final = 10.0
_DEFAULT_GUESS: Final = 0.1
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


class _Column:
    """The flows' times counted in one unit, raised to powers with few multiplications.

    Sorted and distinct, the counts are reached one gap after another, each gap's power
    computed once: a monthly schedule's days need four integer powers (28 to 31 days) and
    then one multiplication per flow.
    """

    __slots__ = ("_aligned", "_exponents", "_gap_set", "_gaps", "counts", "unit")

    def __init__(self, unit: int, counts: Sequence[int]) -> None:
        self.unit = unit
        self.counts = counts
        self._aligned = all(map(lt, counts, islice(counts, 1, None)))
        self._exponents = list(counts) if self._aligned else sorted(set(counts))
        self._gaps = list(map(sub, self._exponents, [0, *self._exponents[:-1]]))
        self._gap_set = sorted(set(self._gaps))

    def times(self) -> list[float]:
        return list(map(truediv, self.counts, repeat(float(self.unit))))

    def powers(self, base: Decimal) -> Iterator[Decimal]:
        """``base ** count`` for each flow, in the flows' order."""
        by_gap = {}
        power, reached = _ONE, 0
        for gap in self._gap_set:
            power *= base ** (gap - reached)
            by_gap[gap], reached = power, gap
        running = accumulate(map(by_gap.__getitem__, self._gaps), mul)
        if self._aligned:
            return running
        return map(dict(zip(self._exponents, running, strict=True)).__getitem__, self.counts)


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
        if not columns:
            raise CalculationError("every flow falls at the same time, so no rate describes them")
        self._amounts = amounts
        self._columns = [_Column(unit, counts) for unit, counts in columns]
        self._fractions = fractions
        self._float_amounts = list(map(float, amounts))
        times = self._columns[0].times()
        for column in self._columns[1:]:
            times = list(map(add, times, column.times()))
        self._times = times
        self._time_amounts = list(map(mul, times, self._float_amounts))
        if fractions is None:
            self._float_fractions: list[float] | None = None
            self._order = times
        else:
            self._float_fractions = list(map(float, fractions))
            self._fraction_amounts = list(map(mul, self._float_fractions, self._float_amounts))
            self._order = list(map(add, times, self._float_fractions))

    def solve(self, guess: Decimal | None, bracket: Callable[[], Decimal]) -> Solution:
        """The rate from a float seed, or from *bracket* (the bracketing solver on the same
        flows, with the same guess) whenever the float seed is not conclusive."""
        reason = self._unsuitable(guess)
        if not reason:
            reason, rate = self._seeded(self._rough_rate() if guess is None else float(guess))
            if rate is not None:
                return Solution(rate, "float_seed")
        return Solution(bracket(), "bracket", reason)

    def _unsuitable(self, guess: Decimal | None) -> str:
        if guess is not None and not _GUESS_RANGE[0] < guess <= _GUESS_RANGE[1]:
            return "the guess is outside the range the solvers search"
        order = self._order
        self._lent = list(map((0.0).__gt__, self._float_amounts))
        lent = list(compress(order, self._lent))
        repaid = list(compress(order, map((0.0).__lt__, self._float_amounts)))
        if not (lent and repaid):
            return "the amounts are beyond the float range"
        if max(lent) <= min(repaid) or max(repaid) <= min(lent):
            return ""
        return "the amounts change sign more than once, so several rates may balance them"

    def _seeded(self, start: float) -> tuple[str, Decimal | None]:
        try:
            found = self._float_root(start)
        except OverflowError:
            return "the float iteration overflowed", None
        if found is None:
            return "the float iteration did not settle", None
        if not _LOWEST_RATE < found.rate < _HIGHEST_RATE:
            return "the rate is outside the range the float seed serves", None
        rate = self._polish(found)
        if rate is None:
            return "the Decimal polish did not converge", None
        return "", rate

    def _rough_rate(self) -> float:
        """:func:`~leasekit.calc.rates.rough_rate` in float: simple interest between the
        average times of lending and repayment, kept within -50 % and 1000 %."""
        amounts, lent_mask = self._float_amounts, self._lent
        weighted = list(map(mul, amounts, self._order))
        lent: float = -sum(compress(amounts, lent_mask))
        lent_time: float = -sum(compress(weighted, lent_mask))
        repaid: float = sum(amounts) + lent
        repaid_time: float = sum(weighted) + lent_time
        if not (lent and repaid):
            return _DEFAULT_GUESS
        elapsed = repaid_time / repaid - lent_time / lent
        if elapsed <= 0:
            return _DEFAULT_GUESS
        return min(max((repaid / lent - 1) / elapsed, _LOWEST_GUESS), _HIGHEST_GUESS)

    def _float_root(self, x: float) -> _FloatRoot | None:
        """Newton steps in float from *x*, never more than halfway towards -100 %, or None
        when they do not settle. The slope is carried to the root with the curvature."""
        for _ in range(_FLOAT_STEPS):
            discounts = self._discounts(x)
            value, slope = self._float_value_and_slope(x, discounts)
            if not (isfinite(value) and isfinite(slope)) or slope == 0:
                return None
            following = max(x - value / slope, (x - 1.0) / 2)
            step = following - x
            if abs(step) <= _FLOAT_TOLERANCE * max(1.0, abs(following)):
                curvature = self._float_curvature(x, discounts)
                return _FloatRoot(following, slope + curvature * step, curvature, step)
            x = following
        return None

    def _discounts(self, x: float) -> list[float]:
        discounts = list(map(pow, repeat(1.0 / (1.0 + x)), self._times))
        if self._float_fractions is None:
            return discounts
        return [d / (1.0 + f * x) for d, f in zip(discounts, self._float_fractions, strict=True)]

    def _float_value_and_slope(self, x: float, discounts: list[float]) -> tuple[float, float]:
        """The sum and its derivative: ``d/dx`` of each discount factor is the factor times
        ``-(time / (1 + x) + fraction / (1 + fraction * x))``."""
        value = fsum(map(mul, self._float_amounts, discounts))
        compound = sum(map(mul, self._time_amounts, discounts)) / (1.0 + x)
        if self._float_fractions is None:
            return value, -compound
        odd = sum(map(mul, self._fraction_amounts, map(mul, discounts, self._simple(x))))
        return value, -(compound + odd)

    def _float_curvature(self, x: float, discounts: list[float]) -> float:
        """The second derivative: each factor times ``u ** 2 + time / (1 + x) ** 2 +
        (fraction / (1 + fraction * x)) ** 2``, ``u`` being the bracket of the slope."""
        growth = 1.0 + x
        if self._float_fractions is None:
            later = map(add, self._times, repeat(1.0))
            compound: float = sum(map(mul, map(mul, self._time_amounts, discounts), later))
            return compound / growth**2
        return fsum(
            amount * discount * ((time / growth + odd) ** 2 + time / growth**2 + odd**2)
            for amount, discount, time, odd in zip(
                self._float_amounts,
                discounts,
                self._times,
                map(mul, self._float_fractions, self._simple(x)),
                strict=True,
            )
        )

    def _simple(self, x: float) -> list[float]:
        assert self._float_fractions is not None
        return [1.0 / (1.0 + fraction * x) for fraction in self._float_fractions]

    def _polish(self, seed: _FloatRoot) -> Decimal | None:
        """The float root polished by Newton steps in ``Decimal`` with the float slope.

        The step from the float root measures its error *e* (about 1e-16); what is left after
        it is about ``e * s + c * e ** 2``, *s* the slope's relative error and *c* half the
        curvature over the slope. When that, with a hundredfold margin, is below the
        tolerance, one step suffices; otherwise a second step must itself fall below it.
        """
        with working_precision():
            rate, bases = self._exactly_near(seed.rate)
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

    def _exactly_near(self, root: float) -> tuple[Decimal, dict[int, Decimal]]:
        """A ``Decimal`` rate at *root* and the discount factor of each unit of time there.

        The first unit's factor is the float one, taken exactly, and the rate is derived from
        it, so that a sum of days needs no root of the growth factor; the other units' factors
        are roots of the rate's growth factor, polished from float seeds.
        """
        first = self._columns[0].unit
        base = Decimal((1.0 + root) ** (-1.0 / first))
        growth = 1 / base if first == 1 else 1 / base**first
        bases = {first: base}
        for column in self._columns[1:]:
            seed = Decimal((1.0 + root) ** (-1.0 / column.unit))
            bases[column.unit] = _reciprocal_root(growth, column.unit, seed, _ROOT_STEPS)
        return growth - 1, bases

    def _value(self, rate: Decimal, bases: dict[int, Decimal], *, refine: bool = False) -> Decimal:
        """The sum at *rate* in ``Decimal``: integer powers of one base per unit of time.

        With *refine*, *bases* (the factors at a nearby rate) are first moved to *rate* by one
        Newton step each, in place.
        """
        if refine:
            growth = 1 + rate
            for unit, near in bases.items():
                bases[unit] = 1 / growth if unit == 1 else _reciprocal_root(growth, unit, near, 1)
        first, *others = self._columns
        factors = first.powers(bases[first.unit])
        for column in others:
            factors = map(mul, factors, column.powers(bases[column.unit]))
        if self._fractions is not None:
            simple = {fraction: 1 / (1 + fraction * rate) for fraction in set(self._fractions)}
            factors = map(mul, factors, map(simple.__getitem__, self._fractions))
        return sum(map(mul, self._amounts, factors), _ZERO)


class _FloatRoot(NamedTuple):
    """The float stage's answer: the rate, the slope and curvature there, the last step."""

    rate: float
    slope: float
    curvature: float
    last_step: float

    def error_factor(self, step: float) -> float:
        """A hundred times ``s + c * |step|`` (see :meth:`SeededSum._polish`): the slope is
        good to about 1e-13 in float, and its carry to the root by the curvature leaves about
        ``(c * last step) ** 2``; *c* is half the curvature over the slope."""
        half_curvature = abs(self.curvature / (2.0 * self.slope))
        slope_error = _FLOAT_SLOPE_ERROR + (half_curvature * self.last_step) ** 2
        return 100.0 * (slope_error + half_curvature * abs(step))


def _reciprocal_root(growth: Decimal, n: int, seed: Decimal, steps: int) -> Decimal:
    """``growth ** (-1 / n)`` by Newton's method on ``v ** n * growth = 1`` from *seed*:
    integer powers instead of a logarithm and an exponential."""
    root = seed
    for _ in range(steps):
        excess = root**n * growth
        root -= root * (excess - 1) / (n * excess)
    return root
