"""JSON payloads ↔ attrs classes, through one cattrs converter built by :func:`make_converter`.

cattrs on its own would accept ``"5"`` for an int, ``"false"`` for ``True``, ``"abc"`` for a
list of three letters and ``12.3`` for a ``Decimal`` (by way of a binary float). A lender's API
must not guess, so each value type that crosses the wire has a :class:`Codec` here: a strict
inbound check, its JSON form outbound, and the JSON Schema that the OpenAPI document publishes
for it. The converter and the document are both built from :data:`CODECS`, so what the
document promises is what the server accepts.

Every string is text a person could have typed: no lone surrogates (not Unicode, and no
database stores them), no NUL or other control characters, no bidirectional overrides, one
line unless a field says ``multiline`` in its metadata, and at most :data:`MAX_STRING`
characters unless it says ``max_length``; the OpenAPI document publishes each limit.

Inbound payloads may not carry unknown keys (a misspelt optional field would otherwise be
dropped without a word), and every structure failure becomes one
:class:`~leasekit.errors.ValidationError` naming each field at fault by its path in the body
(``customer.id_number``, ``lines[2].amount``; ``$`` is the body itself).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from leasekit.domain.contracts import Contract
from leasekit.domain.disbursements import Payee
from leasekit.domain.partner_profiles import BankAccount, mask_number, masked
from leasekit.domain.validation import text_fault
from leasekit.domain.vehicles import Vin
from leasekit.errors import FieldError, LeasekitError, ValidationError
from leasekit.money import CURRENCIES, Currency, Money, to_decimal

__all__ = [
    "ARRAY_ORIGINS",
    "CODECS",
    "MAPPING_ORIGINS",
    "MAX_STRING",
    "ROOT",
    "Codec",
    "InvalidValue",
    "make_converter",
    "max_length",
    "structure",
]

T = TypeVar("T")

MAX_STRING: Final = 255
"""The longest string a field takes unless its metadata says ``max_length``."""

ROOT: Final = "$"
"""The field named by errors about the body as a whole (an array sent for an object, say)."""

_ARRAY_BUILDERS: Final[Mapping[Any, Callable[[list[Any]], object]]] = {
    list: list,
    tuple: tuple,
    Sequence: tuple,
    set: set,
    frozenset: frozenset,
    AbstractSet: frozenset,
}
ARRAY_ORIGINS: Final = frozenset(_ARRAY_BUILDERS)
"""Collection types written as JSON arrays (tuples only as ``tuple[T, ...]``)."""
MAPPING_ORIGINS: Final = frozenset({dict, Mapping})
"""Mapping types written as JSON objects with string keys."""


class InvalidValue(ValueError):
    """Raised by a codec; the message is written for the API client and is shown as is."""


@attrs.frozen
class Codec(Generic[T]):
    """How values of one type cross the wire.

    *schema* is the JSON Schema of the JSON form. A codec with a *name* is published once
    under ``components/schemas`` and referenced from there; the others are written inline.
    """

    cls: type[T]
    schema: Mapping[str, Any]
    structure: Callable[[object], T]
    unstructure: Callable[[T], object]
    name: str | None = None


def _json_type(value: object) -> str:
    """How a JSON reader names *value*'s type; the client wrote JSON, not Python."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text(value: object, limit: int = MAX_STRING, *, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"expected a string, got {_json_type(value)}")
    fault = text_fault(value, multiline=multiline)
    if fault is not None:
        raise InvalidValue(fault)
    if len(value) > limit:
        raise InvalidValue(f"at most {limit} characters")
    return value


def _structure_str(value: object) -> str:
    return _text(value)


def max_length(field: attrs.Attribute[Any]) -> int:
    """The longest string *field* takes (``max_length`` in its metadata)."""
    return int(field.metadata.get("max_length", MAX_STRING))


def _text_hook(field: attrs.Attribute[Any]) -> Callable[[object, Any], str | None]:
    """The checks of one string field, with its own limit and line rule."""
    limit, multiline = max_length(field), bool(field.metadata.get("multiline", False))
    optional = get_origin(field.type) in (Union, types.UnionType)

    def structure_text(value: object, _: Any) -> str | None:
        if value is None and optional:
            return None
        return _text(value, limit, multiline=multiline)

    return structure_text


def _is_text(annotation: Any) -> bool:
    return annotation is str or (
        get_origin(annotation) in (Union, types.UnionType)
        and set(get_args(annotation)) == {str, type(None)}
    )


def _structure_int(value: object) -> int:
    # bool is a subclass of int, and true is not a count of anything.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidValue(f"expected an integer, got {_json_type(value)}")
    return value


def _structure_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(f"expected true or false, got {_json_type(value)}")
    return value


_DECIMAL_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?$"
# fullmatch, not match: Python's $ also matches before a final newline, JSON Schema's does not,
# and Decimal() would then quietly strip it.
_DECIMAL: Final = re.compile(_DECIMAL_PATTERN)


def _structure_decimal(value: object) -> Decimal:
    """A decimal written as a string (``"12.34"``), never as a JSON number.

    A JSON number reaches Python as a binary float, so ``0.1`` would already be
    ``0.1000000000000000055511151231257827`` before leasekit saw it.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise InvalidValue(f'write the number as a string, e.g. "{value}", so that it stays exact')
    if not isinstance(value, str):
        raise InvalidValue(f"expected a decimal number as a string, got {_json_type(value)}")
    if not _DECIMAL.fullmatch(value):
        raise InvalidValue(f'expected a decimal number such as "12.34", got {value!r}')
    return to_decimal(value)


def _unstructure_decimal(value: Decimal) -> str:
    # Fixed-point: Decimal("1E+3") is written "1000", which any client can parse.
    return format(value, "f")


_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _structure_date(value: object) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidValue(f"expected a date as YYYY-MM-DD, got {_shown(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidValue(f"{value!r} is not a date: {exc}") from None


def _structure_datetime(value: object) -> datetime:
    """An ISO 8601 time with its UTC offset, returned in UTC; a time without one is a guess."""
    if not isinstance(value, str):
        raise InvalidValue(f"expected a date and time in ISO 8601, got {_json_type(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"expected a date and time in ISO 8601, got {value!r}") from None
    if parsed.tzinfo is None:
        raise InvalidValue(f"{value!r} has no UTC offset; add one, e.g. Z or +08:00")
    return parsed.astimezone(UTC)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else _json_type(value)


def _structure_currency(value: object) -> Currency:
    if not isinstance(value, str) or value not in CURRENCIES:
        raise InvalidValue(
            f"expected an ISO 4217 currency code ({', '.join(sorted(CURRENCIES))}), "
            f"got {_shown(value)}"
        )
    return CURRENCIES[value]


def _structure_money(value: object) -> Money:
    """``{"amount": "12.34", "currency": "CNY"}``; each bad part is named."""
    if not isinstance(value, dict):
        raise InvalidValue(f"expected an object with amount and currency, got {_json_type(value)}")
    errors = [FieldError(key, "unknown field") for key in sorted(value.keys() - _MONEY_PARTS)]
    parts: dict[str, Any] = {}
    for key, parse in _MONEY_PARTS.items():
        try:
            parts[key] = parse(value[key])
        except KeyError:
            errors.append(FieldError(key, "this field is required"))
        except InvalidValue as exc:
            errors.append(FieldError(key, str(exc)))
    if errors:
        raise ValidationError(errors)
    return Money(parts["amount"], parts["currency"])


_MONEY_PARTS: Final[Mapping[str, Callable[[object], object]]] = {
    "amount": _structure_decimal,
    "currency": _structure_currency,
}


def _unstructure_money(value: Money) -> dict[str, str]:
    return {"amount": _unstructure_decimal(value.amount), "currency": value.currency.code}


def _structure_vin(value: object) -> Vin:
    """A VIN exactly as the schema says (no blanks, capitals), check digit verified."""
    try:
        return Vin(_structure_str(value))
    except ValidationError as exc:
        # Vin names its own field "vin"; the path in the body is the field here.
        raise InvalidValue(exc.errors[0].message) from None


_DECIMAL_SCHEMA: Final = {
    "type": "string",
    "pattern": _DECIMAL_PATTERN,
    "description": "An exact decimal number, written as a string.",
    "examples": ["12.34"],
}
_CURRENCY_SCHEMA: Final = {
    "type": "string",
    "enum": sorted(CURRENCIES),
    "description": "ISO 4217 currency code.",
}

CODECS: Final[tuple[Codec[Any], ...]] = (
    Codec(str, {"type": "string"}, _structure_str, str),
    Codec(int, {"type": "integer"}, _structure_int, int),
    Codec(bool, {"type": "boolean"}, _structure_bool, bool),
    Codec(Decimal, _DECIMAL_SCHEMA, _structure_decimal, _unstructure_decimal),
    Codec(date, {"type": "string", "format": "date"}, _structure_date, date.isoformat),
    Codec(
        datetime,
        {"type": "string", "format": "date-time"},
        _structure_datetime,
        datetime.isoformat,
    ),
    Codec(Currency, _CURRENCY_SCHEMA, _structure_currency, lambda value: value.code),
    Codec(
        Money,
        {
            "type": "object",
            "description": "An exact amount of money in one currency.",
            "required": ["amount", "currency"],
            "additionalProperties": False,
            "properties": {"amount": _DECIMAL_SCHEMA, "currency": _CURRENCY_SCHEMA},
        },
        _structure_money,
        _unstructure_money,
        name="Money",
    ),
    Codec(
        Vin,
        {
            "type": "string",
            "pattern": "^[0-9A-HJ-NPR-Z]{17}$",
            "description": (
                "Vehicle identification number (ISO 3779): 17 digits and capital letters "
                "other than I, O and Q; check digit verified for North America and China."
            ),
            "examples": ["LSVAU218XN2183294"],
        },
        _structure_vin,
        str,
        name="Vin",
    ),
)
"""The value types the API speaks besides attrs classes, string enums and collections.

A new value type on the wire (a VIN, say) is one more entry here; the converter and the
OpenAPI document pick it up together.
"""


def _structure_enum(value: object, cls: type[StrEnum]) -> StrEnum:
    allowed = ", ".join(member.value for member in cls)
    if not isinstance(value, str):
        raise InvalidValue(f"expected one of {allowed}, got {_json_type(value)}")
    try:
        return cls(value)
    except ValueError:
        raise InvalidValue(f"expected one of {allowed}, got {value!r}") from None


def _unstructure_enum(value: StrEnum) -> str:
    return value.value


def _codec_hook(codec: Codec[T]) -> Callable[[object, type[T]], T]:
    """A codec's parser with cattrs' ``(value, type)`` hook signature."""
    parse = codec.structure
    return lambda value, _: parse(value)


def _is_array(cls: Any) -> bool:
    return get_origin(cls) in ARRAY_ORIGINS


def _is_mapping(cls: Any) -> bool:
    return get_origin(cls) in MAPPING_ORIGINS


def _array_hook(cls: Any, converter: cattrs.Converter) -> Callable[[object, Any], object]:
    """Only a JSON array makes a collection; cattrs would split a string into its letters."""
    item, *rest = get_args(cls)
    if rest not in ([], [Ellipsis]):
        raise TypeError(f"{cls}: only tuple[T, ...] tuples can be payloads")
    items = list_structure_factory(list[item], converter)  # type: ignore[valid-type]
    build = _ARRAY_BUILDERS[get_origin(cls)]

    def structure_array(value: object, _: Any) -> object:
        if not isinstance(value, list):
            raise InvalidValue(f"expected an array, got {_json_type(value)}")
        return build(items(value, list[item]))  # type: ignore[valid-type]

    return structure_array


def _object_only(inner: Callable[[Any, Any], object]) -> Callable[[object, Any], object]:
    """Only a JSON object makes an attrs instance or a mapping (not a string, not null)."""

    def structure_object(value: object, cls: Any) -> object:
        if not isinstance(value, dict):
            raise InvalidValue(f"expected an object, got {_json_type(value)}")
        return inner(value, cls)

    return structure_object


def make_converter() -> cattrs.Converter:
    """The converter for request and response bodies; each app builds its own."""
    converter = cattrs.Converter(
        forbid_extra_keys=True,
        detailed_validation=True,
        unstruct_collection_overrides={AbstractSet: list},
    )
    for codec in CODECS:
        converter.register_structure_hook(codec.cls, _codec_hook(codec))
        converter.register_unstructure_hook(codec.cls, codec.unstructure)
    # By class, like the codecs: each StrEnum subclass finds these before str's hooks.
    converter.register_structure_hook(StrEnum, _structure_enum)
    converter.register_unstructure_hook(StrEnum, _unstructure_enum)
    converter.register_structure_hook_factory(_is_array, _array_hook)
    converter.register_structure_hook_factory(
        _is_mapping,
        lambda cls, conv: _object_only(mapping_structure_factory(cls, conv)),
    )
    converter.register_structure_hook_factory(
        attrs.has, lambda cls: _object_only(_attrs_hook(cls, converter))
    )
    _mask_accounts(converter)
    return converter


def _mask_accounts(converter: cattrs.Converter) -> None:
    """The accounts a payout pays into leave the server cut to their last four characters: a
    payout's payee, a sale-leaseback seller's account on its contract. (A partner's own
    settlement accounts come back whole to the staff who keep its profile, which is replaced
    whole.)"""
    account = make_dict_unstructure_fn(BankAccount, converter)

    def seller_account(value: BankAccount | None) -> object:
        return None if value is None else account(masked(value))

    payee = make_dict_unstructure_fn(Payee, converter)
    contract = make_dict_unstructure_fn(
        Contract, converter, seller_account=override(unstruct_hook=seller_account)
    )
    converter.register_unstructure_hook(Contract, contract)
    converter.register_unstructure_hook(
        Payee, lambda value: payee(attrs.evolve(value, account=mask_number(value.account)))
    )


def _attrs_hook(cls: type, converter: cattrs.Converter) -> Callable[[Any, Any], object]:
    """cattrs' own structuring of an attrs class, with each string field's text checks."""
    attrs.resolve_types(cls)
    options: dict[str, Any] = {
        "_cattrs_forbid_extra_keys": True,
        "_cattrs_detailed_validation": True,
    }
    for field in attrs.fields(cls):
        if _is_text(field.type):
            options[field.name] = override(struct_hook=_text_hook(field))
    hook: Callable[[Any, Any], object] = make_dict_structure_fn(cls, converter, **options)
    return hook


def structure(converter: cattrs.Converter, data: object, cls: type[T]) -> T:
    """*data* as a *cls*, or one ValidationError naming every field at fault.

    Errors raised while building the objects count too: a leasekit ValidationError from a
    class's own checks keeps its field names, nested under the path of the object.
    """
    try:
        return converter.structure(data, cls)
    except (ClassValidationError, IterableValidationError, LeasekitError, InvalidValue) as exc:
        raise ValidationError(_field_errors(exc, ROOT)) from exc


def _shown_key(key: str) -> str:
    """An unknown key as an error may name it: any character that is not text escaped,
    and cut short, so that the error itself is always valid, bounded JSON."""
    shown = key.encode("utf-8", "backslashreplace").decode("utf-8")
    shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in shown)
    return shown if len(shown) <= 64 else shown[:64] + "..."


def _attribute(path: str, name: str) -> str:
    return name if path == ROOT else f"{path}.{name}"


def _item(path: str, index: int | str) -> str:
    return f"{path}[{index}]" if isinstance(index, int) else _attribute(path, index)


def _field_errors(exc: BaseException, path: str) -> Iterator[FieldError]:
    """Walk cattrs' exception groups with :func:`cattrs.transform_error`'s path rules.

    ``transform_error`` flattens each failure into one ``"message @ $.path"`` string; the
    API needs field and message apart, and one entry per unknown key, so the walk is done
    here: ``.name`` for attributes, ``[i]`` for array items, ``.key`` for mapping keys.
    """
    if isinstance(exc, ClassValidationError):
        attributes, others = exc.group_exceptions()
        for sub, attribute in attributes:
            yield from _field_errors(sub, _attribute(path, attribute.name))
    elif isinstance(exc, IterableValidationError):
        items, others = exc.group_exceptions()
        for sub, item in items:
            yield from _field_errors(sub, _item(path, item.index))
    else:
        yield from _leaf_errors(exc, path)
        return
    for sub in others:
        yield from _field_errors(sub, path)


def _leaf_errors(exc: BaseException, path: str) -> Iterator[FieldError]:
    if isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            yield FieldError(_attribute(path, _shown_key(key)), "unknown field")
    elif isinstance(exc, ValidationError):
        for error in exc.errors:
            yield FieldError(_attribute(path, error.field), error.message)
    elif isinstance(exc, KeyError):
        yield FieldError(path, "this field is required")
    elif isinstance(exc, InvalidValue | LeasekitError | ValueError) and str(exc):
        # Codec messages, and the classes' own checks ("'term' must be > 0: 0").
        yield FieldError(path, str(exc))
    else:
        yield FieldError(path, format_exception(exc, None))
