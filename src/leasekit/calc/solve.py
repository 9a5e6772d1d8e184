"""Exact root finding for interest rates.

Every rate the calculator reports (IRR, XIRR, APR, APRC) is the root of a discounted sum that
is monotone near the answer but can be wild far from it: near -100 % the discount factors
explode, and flows whose signs change more than once can have several roots. Plain Newton
iteration converges fast when it starts close, and can run off or oscillate when it does not.

:func:`find_root` therefore works in two steps:

1. **Bracket.** Starting at a guess, it steps outwards in both directions with doubling
   steps (downwards never more than halfway to the lower limit) until the function changes
   sign. The bracket nearest the guess wins, so with several roots the one closest to the
   guess is reported. No sign change anywhere means no rate exists: :class:`NoRateError`.
2. **Refine.** Newton steps (with the caller's analytic derivative, or secant steps) are taken
   while they stay inside the bracket and at least halve the step before last; otherwise the
   bracket is bisected. The bracket shrinks every iteration, so convergence is guaranteed, and
   near the root the iteration is quadratic.

All arithmetic runs under :func:`working_precision` (34 significant digits, the IEEE 754
decimal128 precision); the caller's decimal context is never changed.
"""

from __future__ import annotations

import abc
import decimal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Final

from leasekit.errors import CalculationError, NoRateError

__all__ = ["PRECISION", "TOLERANCE", "RateEquation", "find_root", "working_precision"]

PRECISION: Final = 34
"""Significant digits used for every rate calculation."""

TOLERANCE: Final = Decimal("1e-24")
"""Default convergence tolerance, relative to the size of the root (absolute below 1)."""

_BRACKET_STEPS: Final = 80
_FIRST_STEP: Final = Decimal("0.05")
_HIGHEST_RATE: Final = Decimal("1e18")
"""Where the upward search stops: 10**20 %, past any rate a loan can carry, even per year for
a sum that doubles in a week (2**52, about 4.5e15)."""
_CLOSEST_TO_LOWER: Final = Decimal("1e-15")

Function = Callable[[Decimal], Decimal]


_CONTEXT: Final = decimal.Context(
    prec=PRECISION,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=decimal.MIN_EMIN,
    Emax=decimal.MAX_EMAX,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def working_precision() -> AbstractContextManager[decimal.Context]:
    """A local decimal context for rate work: 34 digits, wide exponents, no silent NaNs.

    The exponent range is the widest decimal allows, so discount factors such as
    ``1.000001 ** -400000`` or ``0.001 ** -360`` neither overflow nor flush to zero. Each call
    works on a fresh copy of one context built at import: a book asks for thousands.
    """
    return decimal.localcontext(_CONTEXT)


class RateEquation(abc.ABC):
    """A discounted sum whose value and slope in the rate are computed together, once.

    Newton's step asks for both at the same rate and bisection revisits the ends of its
    bracket, so the last few evaluations are kept.
    """

    _REMEMBERED_RATES: Final = 4

    def __init__(self) -> None:
        self._recent: dict[Decimal, tuple[Decimal, Decimal]] = {}

    def value(self, rate: Decimal) -> Decimal:
        return self._evaluate(rate)[0]

    def slope(self, rate: Decimal) -> Decimal:
        return self._evaluate(rate)[1]

    def _evaluate(self, rate: Decimal) -> tuple[Decimal, Decimal]:
        if rate not in self._recent:
            if len(self._recent) >= self._REMEMBERED_RATES:
                self._recent.clear()
            self._recent[rate] = self._compute(rate)
        return self._recent[rate]

    @abc.abstractmethod
    def _compute(self, rate: Decimal) -> tuple[Decimal, Decimal]:
        """The sum and its derivative at *rate*."""


def find_root(
    func: Function,
    *,
    derivative: Function | None = None,
    guess: Decimal = Decimal("0.1"),
    lower: Decimal = Decimal(-1),
    upper: Decimal = _HIGHEST_RATE,
    tolerance: Decimal = TOLERANCE,
) -> Decimal:
    """Return *x* in ``(lower, upper]`` with ``func(x) == 0``, searching outwards from *guess*.

    *lower* is excluded because rates are searched from just above -100 %, where discount
    factors are infinite. *derivative*, when given, must be the exact derivative of *func*;
    without it secant steps are used. Raises :class:`NoRateError` when *func* has no sign
    change in the range, which for a discounted sum means no rate balances the flows.
    """
    if not lower < guess <= upper:
        raise CalculationError(f"guess: {guess} is not inside ({lower}, {upper}]")
    if not tolerance > 0:
        raise CalculationError(f"tolerance: {tolerance} must be positive")
    with working_precision():
        value = func(guess)
        if value.is_zero():
            return +guess
        near, far = _bracket(func, guess, value, lower, upper)
        if far[1].is_zero():
            return far[0]
        return _refine(func, derivative, near, far, tolerance)


def _bracket(
    func: Function, guess: Decimal, value: Decimal, lower: Decimal, upper: Decimal
) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]:
    """The sign change found nearest to *guess*, as (point nearer the guess, point beyond).

    Each point is an ``(x, func(x))`` pair; the point beyond may be an exact root.
    """
    sides: list[Iterator[Decimal] | None] = [_upwards(guess, upper), _downwards(guess, lower)]
    previous = [(guess, value), (guess, value)]
    while sides[0] is not None or sides[1] is not None:
        for side, points in enumerate(sides):
            if points is None:
                continue
            x = next(points, None)
            if x is None:
                sides[side] = None
                continue
            fx = func(x)
            if fx.is_zero() or (fx < 0) != (previous[side][1] < 0):
                return previous[side], (x, fx)
            previous[side] = (x, fx)
    raise NoRateError(
        f"no rate between {lower} (excluded) and {upper} balances the cash flows: their "
        "discounted sum never changes sign"
    )


def _upwards(start: Decimal, upper: Decimal) -> Iterator[Decimal]:
    step = _FIRST_STEP * max(Decimal(1), abs(start))
    x = start
    for _ in range(_BRACKET_STEPS):
        if x >= upper:
            return
        x = min(x + step, upper)
        step *= 2
        yield x


def _downwards(start: Decimal, lower: Decimal) -> Iterator[Decimal]:
    """Steps that double like the upward ones but never go more than halfway to *lower*."""
    step = _FIRST_STEP * max(Decimal(1), abs(start))
    x = start
    for _ in range(_BRACKET_STEPS):
        x = max(x - step, lower + (x - lower) / 2)
        if x - lower < _CLOSEST_TO_LOWER:
            return
        step *= 2
        yield x


def _refine(
    func: Function,
    derivative: Function | None,
    start: tuple[Decimal, Decimal],
    other: tuple[Decimal, Decimal],
    tolerance: Decimal,
) -> Decimal:
    """Safeguarded Newton (or secant) iteration inside the bracket *start*, *other*.

    A Newton step is taken only when it lands inside the bracket and is at most half the step
    before last; otherwise the bracket is bisected. Step lengths therefore shrink
    geometrically whichever branch runs, and the loop ends once a step falls below
    *tolerance* or can no longer move the estimate.
    """
    x, fx = start
    previous = other
    # Orient the bracket so that func(negative_side) < 0 < func(positive_side).
    negative_side, positive_side = (x, other[0]) if fx < 0 else (other[0], x)
    step_before_last = step = abs(other[0] - x)
    while True:
        slope = derivative(x) if derivative else _secant(x, fx, previous)
        newton = x - fx / slope if slope else None
        if (
            newton is not None
            and min(negative_side, positive_side) < newton < max(negative_side, positive_side)
            and abs(2 * fx) <= abs(step_before_last * slope)
        ):
            candidate = newton
        else:
            candidate = (negative_side + positive_side) / 2
        step_before_last, step = step, abs(candidate - x)
        if step <= tolerance * max(Decimal(1), abs(candidate)) or candidate == x:
            return candidate
        previous = (x, fx)
        x, fx = candidate, func(candidate)
        if fx.is_zero():
            return x
        if fx < 0:
            negative_side = x
        else:
            positive_side = x


def _secant(x: Decimal, fx: Decimal, previous: tuple[Decimal, Decimal]) -> Decimal:
    run = x - previous[0]
    return (fx - previous[1]) / run if run else Decimal(0)
