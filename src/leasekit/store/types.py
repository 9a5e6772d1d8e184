"""Column types that keep amounts, instants and JSON identical on SQLite and PostgreSQL.

Decisions recorded here because every table relies on them:

* ``ExactDecimal`` stores a ``Decimal`` as PostgreSQL ``NUMERIC`` (unconstrained, so it keeps
  the scale it is given) and as canonical ``TEXT`` on SQLite, whose own ``NUMERIC`` affinity
  would turn ``0.10`` into the float ``0.1``. Scale is preserved, not normalised: ``0.10``
  comes back as ``Decimal('0.10')`` on both databases, because an amount written with its
  currency's decimals must read back the same way. The canonical form is the value written
  in fixed point (``1E+2`` is stored as ``100``, as PostgreSQL would) with negative zero stored
  as zero (PostgreSQL has no ``-0``), so both databases return the very same ``Decimal``.
  Floats, NaN and infinities are refused before they reach the driver. Amounts on SQLite are
  text, so compare and sum them in Python (or on PostgreSQL), never with SQL operators.
* ``UtcDateTime`` takes only aware datetimes and always returns them in UTC; SQLite has no
  time zone type, so it stores the UTC wall time.
* ``CanonicalJson`` stores JSON as text with sorted keys and no spaces, so that a hash over
  the stored text (the audit chain) is reproducible and both databases hold the same bytes.
  A bulk write that stores one value in several rows (an event's payload, in the outbox and
  in the audit log) serialises it once and passes the text as ``CanonicalText``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, DateTime, Dialect, Numeric, Text, cast
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "CanonicalJson",
    "CanonicalText",
    "ExactDecimal",
    "JsonValue",
    "UtcDateTime",
    "as_number",
    "canonical_decimal",
    "canonical_json",
]

JsonValue: TypeAlias = "str | int | bool | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
"""What may be stored as JSON: no floats, since their text form is not exact."""


def canonical_decimal(value: object) -> Decimal:
    """*value* in the one form both databases store and return.

    Refuses anything but ``Decimal`` and ``int`` (a ``float`` has already lost the amount) and
    non-finite values (neither database can hold NaN in a money column meaningfully).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(
            f"an exact amount must be a Decimal or an int, not {type(value).__name__} {value!r}"
        )
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"cannot store the non-finite amount {number}")
    if number.is_zero():
        number = number.copy_abs()
    return Decimal(format(number, "f"))


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal column: PostgreSQL ``NUMERIC``, SQLite canonical ``TEXT``."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: object, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        number = canonical_decimal(value)
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, str | Decimal):
            return Decimal(value)
        raise TypeError(f"an exact decimal column returned {type(value).__name__} {value!r}")


def as_number(amount: ColumnElement[Decimal]) -> ColumnElement[Decimal]:
    """An amount column compared as a number in a filter: SQLite keeps it as text and would
    compare the text ('5.00' above '12.00'). The comparison is in floats there, so it only
    narrows; what must be exact is checked in Python."""
    return cast(amount, Numeric())


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An instant: aware datetimes in, UTC datetimes out, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a naive datetime {value!r} names no instant; pass an aware one")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _check_json(value: object, path: str) -> None:
    """Refuse what JSON cannot carry exactly, naming where it is."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: JSON object keys must be strings, not {key!r}")
            _check_json(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    raise TypeError(f"{path}: {type(value).__name__} {value!r} cannot be stored as exact JSON")


def _exact(value: object) -> bool:
    """Whether JSON carries *value* exactly: the quick check of every value written, which
    :func:`_check_json` repeats, naming the fault, only when it fails."""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and _exact(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(map(_exact, value))
    return False


def canonical_json(value: object) -> str:
    """*value* as JSON text with sorted keys and no insignificant spaces."""
    if not _exact(value):
        _check_json(value, "$")
    return _ENCODER.encode(value)


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""What ``json.dumps`` with these arguments would build anew on every call."""


class CanonicalText(str):
    """JSON text already canonical, which a :class:`CanonicalJson` column stores as it is."""

    __slots__ = ()

    @classmethod
    def of_flat(cls, value: Mapping[str, str | int | bool | None]) -> CanonicalText:
        """A mapping of JSON scalars, its values already checked (a domain event's payload
        is, when the event is made), so only serialised: half the cost of
        :func:`canonical_json`."""
        return cls(_ENCODER.encode(dict(value)))


class CanonicalJson(TypeDecorator[Any]):
    """JSON stored as canonical text on every database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: object, dialect: Dialect) -> str | None:
        if isinstance(value, CanonicalText):
            return str(value)
        return None if value is None else canonical_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
