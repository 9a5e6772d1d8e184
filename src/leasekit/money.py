"""Exact money: ``Decimal`` amounts tied to an ISO 4217 currency.

Floats are refused everywhere an amount or a rate enters, because a binary float cannot hold
most decimal fractions (``0.1 + 0.2 != 0.3``) and a lender's books must agree to the cent.
Amounts keep full precision through arithmetic; they are brought to the currency's minor unit
only by :meth:`Money.quantize` with a named :class:`Rounding`, so every rounding in a
calculation is a visible, documented step.
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Final, ParamSpec, TypeAlias, TypeVar

import attrs

from leasekit.errors import AmountError, CurrencyMismatchError

__all__ = [
    "CEILING_TO_UNIT",
    "CURRENCIES",
    "DECIMAL_CONTEXT",
    "HALF_EVEN",
    "HALF_UP",
    "ROUNDINGS",
    "Currency",
    "CurrencyMismatchError",
    "DecimalLike",
    "Money",
    "Rounding",
    "amount_in",
    "currency",
    "exact",
    "to_decimal",
]

DECIMAL_CONTEXT: Final = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
"""The arithmetic every money calculation runs in: 34 significant digits (IEEE decimal128),
whatever context the caller has set, and an error rather than a silent NaN or infinity.
Amounts up to 10**31 keep every cent; results are exact until a named rounding is applied."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def exact(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run *func* in :data:`DECIMAL_CONTEXT`, so its result cannot depend on the caller's.

    Every public calculation and every computed total is decorated: a caller that has set
    ``getcontext().prec = 6`` for its own work still gets every cent.
    """

    @functools.wraps(func)
    def in_decimal_context(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with decimal.localcontext(DECIMAL_CONTEXT):
            return func(*args, **kwargs)

    return in_decimal_context


DecimalLike: TypeAlias = "Decimal | int | str"
"""What the library accepts as an exact number. ``float`` is deliberately absent."""


def to_decimal(value: object, name: str = "value") -> Decimal:
    """Return *value* as a finite ``Decimal``, naming *name* in the error if it cannot be exact.

    ``int`` and ``str`` are exact and accepted; ``float`` is rejected even when it looks
    harmless, because by the time it arrives the damage (``0.049`` stored as
    ``0.04899999999999999``) is already done.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError(f"{name}: expected a Decimal, int or str amount, got bool {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        raise TypeError(
            f"{name}: float {value!r} is not exact; pass Decimal({str(value)!r}) or the "
            f"string {str(value)!r} instead"
        )
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise AmountError(f"{name}: {value!r} is not a decimal number") from None
    else:
        raise TypeError(
            f"{name}: expected a Decimal, int or str amount, got {type(value).__name__}"
        )
    if not result.is_finite():
        raise AmountError(f"{name}: {value!r} is not a finite number")
    return result


@attrs.frozen
class Currency:
    """An ISO 4217 currency and the number of digits after its decimal point."""

    code: str
    minor_unit: int
    quantum: Decimal = attrs.field(init=False, eq=False, repr=False)
    """The smallest amount the currency can express, e.g. ``Decimal('0.01')``; computed
    once, as every rounding of every schedule row uses it."""
    zero: Decimal = attrs.field(init=False, eq=False, repr=False)
    """Zero written with the currency's decimals, e.g. ``Decimal('0.00')``."""

    @quantum.default
    def _quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.minor_unit)

    @zero.default
    def _zero(self) -> Decimal:
        return Decimal(0).scaleb(-self.minor_unit)

    def __str__(self) -> str:
        return self.code


# Minor units from the ISO 4217 list maintained by SIX (table A.1, "Minor unit" column).
_MINOR_UNITS: Final = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "INR": 2, "ISK": 0, "JOD": 3,
    "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2,
    "PLN": 2, "RON": 2, "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
    "TWD": 2, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip

CURRENCIES: Final[dict[str, Currency]] = {
    code: Currency(code, minor) for code, minor in _MINOR_UNITS.items()
}


def currency(code: str | Currency) -> Currency:
    """Look up a currency by its ISO code; the error lists what is known."""
    if isinstance(code, Currency):
        return code
    try:
        return CURRENCIES[code.upper()]
    except KeyError:
        known = ", ".join(sorted(CURRENCIES))
        raise AmountError(f"unknown currency {code!r}; known currencies: {known}") from None


def amount_in(value: object, cur: Currency, name: str) -> Decimal:
    """*value* as an exact amount of *cur*, written with the currency's decimals.

    Only the exponent changes (``30000`` becomes ``30000.00``). An amount finer than the
    currency's minor unit (``100.001`` dollars) is refused, never rounded: a price or a fee
    that cannot be paid is an input error. ``Money`` values must already be in *cur*.
    """
    if isinstance(value, Money):
        if value.currency != cur:
            raise CurrencyMismatchError(f"{name}: {value.currency.code} given, {cur.code} expected")
        value = value.amount
    amount = to_decimal(value, name)
    try:
        exact = amount.quantize(cur.quantum, decimal.ROUND_DOWN, DECIMAL_CONTEXT)
    except decimal.InvalidOperation:
        raise AmountError(f"{name}: {amount} is too large to express in {cur.code}") from None
    if exact != amount:
        raise AmountError(f"{name}: {amount} has more decimal places than {cur.code} allows")
    return exact.copy_abs() if exact.is_zero() else exact


@attrs.frozen
class Rounding:
    """A named rule for bringing an amount to a currency's precision.

    *mode* is one of the ``decimal.ROUND_*`` constants; *unit* says whether the result lands
    on the currency's minor unit (cents) or on whole units (dollars).
    """

    name: str
    mode: str
    unit: str = attrs.field(default="minor", validator=attrs.validators.in_(("minor", "major")))

    def quantum(self, cur: Currency) -> Decimal:
        return cur.quantum if self.unit == "minor" else Decimal(1)

    def apply(self, amount: Decimal, cur: Currency) -> Decimal:
        """Round *amount* for *cur*; the single place where money loses precision.

        A zero result is always positive: ``-0.004`` rounds to ``0.00``, not to ``-0.00``,
        which would print on a schedule or a statement as if something were owed.
        """
        try:
            return self.quantizer(cur)(amount)
        except decimal.InvalidOperation:
            raise AmountError(f"amount: {amount} is too large to express in {cur.code}") from None

    def quantizer(self, cur: Currency) -> Callable[[Decimal], Decimal]:
        """:meth:`apply` bound to one currency, for loops that round hundreds of rows."""
        quantum, mode, decimals = self.quantum(cur), self.mode, cur.quantum
        whole_units = self.unit == "major"

        def round_amount(amount: Decimal) -> Decimal:
            rounded = amount.quantize(quantum, mode, DECIMAL_CONTEXT)
            if whole_units:
                # Whole units, still written with the currency's decimals: 1696.00, not 1696.
                rounded = rounded.quantize(decimals, context=DECIMAL_CONTEXT)
            return rounded if rounded else rounded.copy_abs()

        return round_amount


HALF_UP: Final = Rounding("half_up", decimal.ROUND_HALF_UP)
"""Commercial rounding: 0.005 becomes 0.01. The default everywhere."""
HALF_EVEN: Final = Rounding("half_even", decimal.ROUND_HALF_EVEN)
"""Banker's rounding: ties go to the even cent, so ties do not drift upwards in sums."""
CEILING_TO_UNIT: Final = Rounding("ceiling_to_unit", decimal.ROUND_CEILING, unit="major")
"""Up to the next whole unit, as lenders who quote installments without cents do.

Towards positive infinity, like ``decimal.ROUND_CEILING``: 10.01 becomes 11 but -10.50 becomes
-10, so a negative amount (a credit to the customer) shrinks rather than grows. Round the
absolute value and restore the sign where the size of a negative amount must go up instead.
"""

ROUNDINGS: Final[dict[str, Rounding]] = {r.name: r for r in (HALF_UP, HALF_EVEN, CEILING_TO_UNIT)}


def _amount(value: object) -> Decimal:
    return to_decimal(value, "amount")


@attrs.frozen(order=False)
class Money:
    """An exact amount in one currency.

    >>> Money("10.005", "USD").quantize(HALF_UP)
    Money(amount=Decimal('10.01'), currency=Currency(code='USD', minor_unit=2))
    """

    amount: Decimal = attrs.field(converter=_amount)
    currency: Currency = attrs.field(converter=currency)

    @classmethod
    def zero(cls, cur: str | Currency) -> Money:
        return cls(Decimal(0), cur)

    def quantize(self, rounding: Rounding) -> Money:
        return Money(rounding.apply(self.amount, self.currency), self.currency)

    @property
    def is_quantized(self) -> bool:
        """True when the amount has no digits below the currency's minor unit."""
        exact = self.amount.quantize(self.currency.quantum, decimal.ROUND_DOWN, DECIMAL_CONTEXT)
        return self.amount == exact

    def _check(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot {op} {self.currency.code} and {other.currency.code}"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(
            DECIMAL_CONTEXT.add(self.amount, self._check(other, "add").amount), self.currency
        )

    def __sub__(self, other: Money) -> Money:
        return Money(
            DECIMAL_CONTEXT.subtract(self.amount, self._check(other, "subtract").amount),
            self.currency,
        )

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(
            DECIMAL_CONTEXT.multiply(self.amount, to_decimal(factor, "factor")), self.currency
        )

    __rmul__ = __mul__

    def __truediv__(self, divisor: Decimal | int) -> Money:
        return Money(
            DECIMAL_CONTEXT.divide(self.amount, to_decimal(divisor, "divisor")), self.currency
        )

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._check(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._check(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._check(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._check(other, "compare").amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency.code}"
