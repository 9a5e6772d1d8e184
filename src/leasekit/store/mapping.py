"""Row ↔ entity mapping, derived from the entity's attrs fields and a small codec table.

Every aggregate is stored the same way, so the mapping is not written by hand per aggregate:
:class:`Mapper` reads the attrs fields of an entity class once and plans each one by its type:

========================  =====================================================================
field type                columns
========================  =====================================================================
``Money`` (or ``None``)   an amount column of the field's name, plus the row's ``currency``
a nested attrs class      its fields, flattened into the same row (an application's terms)
``Vin``, ``StrEnum``      a string column (the entity's converter parses it back)
``tuple[str, ...]``       a JSON list column
an attrs class or None    a JSON object column (null for None): a value that may be missing
                          as a whole, such as an address, which columns could not tell apart
                          from one with every part missing; also an attrs class whose field
                          says ``metadata={"whole": True}``: a value read and written only
                          as a whole (a contract's frozen plan totals)
``tuple[attrs class...]`` a JSON list of objects: values read and replaced with their owner,
                          never queried alone (a partner's contacts)
anything else             one column of the field's name, as is
========================  =====================================================================

It gives three conversions: :meth:`Mapper.columns` (entity → column values, for ``INSERT`` and
``UPDATE``), :meth:`Mapper.load` (row → entity, through the entity's own constructor and
converters) and :meth:`Mapper.record` (row → the entity's shape as plain values, without
building the entity: what a list page returns, so that reading fifty rows costs fifty
dictionaries rather than fifty validated aggregates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar, Union, cast, get_args, get_origin

import attrs

from leasekit.domain.vehicles import Vin
from leasekit.money import Money

__all__ = ["CURRENCY", "Mapper", "Record"]

E = TypeVar("E")
Record = dict[str, Any]
"""An entity's fields as plain values: Money as ``{"amount": Decimal, "currency": code}``."""

CURRENCY: Final = "currency"
"""The column holding the currency of every amount in a row."""


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, type(int | None)):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _to_text(value: object) -> object:
    """Enums and VINs go to their string form; None stays None."""
    return None if value is None else str(value)


def _to_list(value: object) -> object:
    return None if value is None else list(value)  # type: ignore[call-overload]


_CODECS: Final[Mapping[type, Callable[[object], object]]] = {Vin: _to_text}
"""Value types stored as something else, by how they are written; read back they are parsed
by the entity's own converter."""


@attrs.frozen
class _Plain:
    name: str
    to_column: Callable[[object], object] | None

    def write(self, value: object, row: dict[str, object]) -> None:
        row[self.name] = value if self.to_column is None else self.to_column(value)

    def read(self, row: Mapping[Any, Any]) -> object:
        return row[self.name]

    def columns(self) -> tuple[str, ...]:
        return (self.name,)


@attrs.frozen
class _Money:
    name: str

    def write(self, value: object, row: dict[str, object]) -> None:
        if isinstance(value, Money):
            row[self.name], row[CURRENCY] = value.amount, value.currency.code
        else:
            row[self.name] = None

    def read(self, row: Mapping[Any, Any]) -> object:
        amount = row[self.name]
        return None if amount is None else Money(amount, row[CURRENCY])

    def record(self, row: Mapping[Any, Any]) -> object:
        amount = row[self.name]
        return None if amount is None else {"amount": amount, "currency": row[CURRENCY]}

    def columns(self) -> tuple[str, ...]:
        return (self.name, CURRENCY)


@attrs.frozen
class _Nested:
    name: str
    plan: _Plan

    def write(self, value: object, row: dict[str, object]) -> None:
        row.update(self.plan.columns(value))

    def read(self, row: Mapping[Any, Any]) -> object:
        return self.plan.load(row)

    def record(self, row: Mapping[Any, Any]) -> object:
        return self.plan.record(row)

    def columns(self) -> tuple[str, ...]:
        return self.plan.column_names


def _document(value: object) -> object:
    """An attrs value as a JSON object: its fields by name, nested values likewise, decimals
    as their exact text and days and instants in ISO 8601 (the value class's converters read
    them back)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_document(item) for item in value]
    if attrs.has(type(value)):
        fields = attrs.asdict(value, recurse=False)  # type: ignore[arg-type]
        return {name: _document(item) for name, item in fields.items()}
    return value


@attrs.frozen
class _Document:
    """A value class (or a tuple of them) stored as JSON and built again by its constructor."""

    name: str
    cls: type
    many: bool

    def write(self, value: object, row: dict[str, object]) -> None:
        row[self.name] = None if value is None else _document(value)

    def read(self, row: Mapping[Any, Any]) -> object:
        stored = row[self.name]
        if stored is None:
            return None
        if self.many:
            return tuple(self.cls(**item) for item in stored)
        return self.cls(**stored)

    def record(self, row: Mapping[Any, Any]) -> object:
        return row[self.name]

    def columns(self) -> tuple[str, ...]:
        return (self.name,)


_Field = _Plain | _Money | _Nested | _Document


def _plan_field(field: attrs.Attribute[Any]) -> _Field:
    name, annotation = field.name, cast(Any, field.type)
    kind = _strip_optional(annotation)
    if kind is Money:
        return _Money(name)
    if kind in _CODECS:
        return _Plain(name, _CODECS[kind])
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return _Plain(name, _to_text)
    if get_origin(kind) is tuple and attrs.has(get_args(kind)[0]):
        return _Document(name, get_args(kind)[0], many=True)
    if get_origin(kind) is tuple:
        return _Plain(name, _to_list)
    if isinstance(kind, type) and attrs.has(kind):
        if kind is not annotation or field.metadata.get("whole"):
            return _Document(name, kind, many=False)
        return _Nested(name, _Plan(kind))
    return _Plain(name, None)


class _Plan:
    """How one attrs class's fields become columns and back; the fields named in *besides*
    are stored elsewhere (in tables of their own, by the repository)."""

    def __init__(self, cls: type, besides: frozenset[str] = frozenset()) -> None:
        self.cls = cls
        attrs.resolve_types(cls)
        self.fields = tuple(
            _plan_field(field)
            for field in attrs.fields(cls)
            if field.init and field.name not in besides
        )
        names: dict[str, None] = {}
        for field in self.fields:
            names.update(dict.fromkeys(field.columns()))
        self.column_names = tuple(names)

    def columns(self, entity: object) -> dict[str, object]:
        row: dict[str, object] = {}
        for field in self.fields:
            field.write(getattr(entity, field.name), row)
        return row

    def load(self, row: Mapping[Any, Any]) -> Any:
        return self.cls(**{field.name: field.read(row) for field in self.fields})

    def record(self, row: Mapping[Any, Any]) -> Record:
        return {
            field.name: field.read(row) if isinstance(field, _Plain) else field.record(row)
            for field in self.fields
        }


class Mapper(Generic[E]):
    """The row ↔ entity conversions of one entity class (see the module docstring).

    *computed* adds columns derived from the entity that it does not hold as fields (a search
    key of its name, say); they are written, never read back. *besides* names fields the
    repository stores in tables of their own: the entity is built without them (their
    defaults) and the repository fills them in.
    """

    def __init__(
        self,
        entity: type[E],
        *,
        computed: Mapping[str, Callable[[E], object]] | None = None,
        besides: frozenset[str] = frozenset(),
    ) -> None:
        self.entity = entity
        self._plan = _Plan(entity, besides)
        self._computed = dict(computed or {})
        self.column_names: tuple[str, ...] = self._plan.column_names
        """The columns :meth:`load` and :meth:`record` read."""

    def columns(self, entity: E) -> dict[str, object]:
        """Every column of *entity*'s row, the computed ones included."""
        row = self._plan.columns(entity)
        for name, compute in self._computed.items():
            row[name] = compute(entity)
        return row

    def load(self, row: Mapping[Any, Any]) -> E:
        """The entity, built by its own constructor (so its converters and checks run)."""
        entity: E = self._plan.load(row)
        return entity

    def record(self, row: Mapping[Any, Any]) -> Record:
        """The entity's fields as plain values, without building the entity."""
        return self._plan.record(row)
