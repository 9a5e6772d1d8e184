"""Shared input checks that gather every field error before raising.

A dealer filling in a form wants to hear about all its mistakes at once, not one per submit,
so named constructors run their checks through :class:`Checks` and raise a single
``ValidationError`` listing each field at fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Final, TypeGuard, TypeVar

from leasekit.errors import AmountError, FieldError, ValidationError
from leasekit.money import Currency, Money, amount_in, currency

__all__ = [
    "MAX_TEXT",
    "Checks",
    "bank_text",
    "choice",
    "country_code",
    "is_whole_number",
    "money_amount",
    "non_negative",
    "normalize_phone",
    "text",
    "text_fault",
]

_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)

MAX_TEXT: Final = 200

_PHONE: Final = re.compile(r"\+?[0-9]{5,15}")
"""E.164 allows at most 15 digits; fewer than 5 is no subscriber number anywhere."""
_PHONE_SEPARATORS: Final = re.compile(r"[\s().-]")
MAX_EMAIL: Final = 254
_EMAIL: Final = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
"""What people write between digits; dropped, so every way of writing a number matches."""

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK: Final = re.compile("[\t\n\r]")
_BIDI: Final = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Embeddings, overrides and isolates: they make text display in another order than it is
stored, the trick behind names that read as someone else's in a list or a log."""
_INVISIBLE: Final = re.compile(
    "[\\s\u00ad\u061c\u180e\u200b-\u200f\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb]+"
)
"""Blanks and the invisible format characters: text made only of them shows nothing, so two
such names cannot be told apart (joiners inside visible text are kept: scripts need them)."""


def text_fault(value: str, *, multiline: bool = False) -> str | None:
    """What makes *value* unfit as text, or None: a lone surrogate (not Unicode at all, and
    no database stores it), NUL and other control characters (tabs and line breaks only
    where *multiline*), a bidirectional override, or nothing visible at all."""
    for pattern, fault in (
        (_SURROGATE, "a lone surrogate, which is not text"),
        (_CONTROL, "a control character"),
        (_BIDI, "a bidirectional control character"),
    ):
        found = pattern.search(value)
        if found is not None:
            return f"contains {fault} (U+{ord(found.group()):04X})"
    if not multiline and _LINE_BREAK.search(value) is not None:
        return "must be one line"
    if _INVISIBLE.fullmatch(value) is not None and not value.isspace():
        return "has no visible character"  # blank text is the field's own check: "required"
    return None


def bank_text(value: str, limit: int) -> str:
    """Text a bank's file says (a payer's name, a reason) as it may be kept and shown: what
    :func:`text_fault` finds unfit becomes a blank, blanks collapse, and at most *limit*
    characters remain. A file is not refused for the text a bank put in it."""
    for pattern in (_SURROGATE, _CONTROL, _BIDI, _LINE_BREAK):
        value = pattern.sub(" ", value)
    return " ".join(value.split())[:limit]


class Checks:
    """Runs independent checks, keeps their results, and collects their errors."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def run(self, check: Callable[[], _T]) -> _T | None:
        """The check's result, or None after recording its errors.

        A None therefore always comes with at least one error, so callers test their results
        for None and raise :meth:`error`.
        """
        try:
            return check()
        except ValidationError as exc:
            self.errors.extend(exc.errors)
            return None

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def error(self) -> ValidationError:
        """The collected errors as one exception; call only after a check failed."""
        return ValidationError(self.errors)


def text(value: str, field: str, max_length: int = MAX_TEXT) -> str:
    """*value* with runs of blanks collapsed; blank, overlong or unprintable text (see
    :func:`text_fault`) is refused."""
    fault = text_fault(value, multiline=True)
    if fault is not None:
        raise ValidationError.single(field, fault)
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ValidationError.single(field, "must not be blank")
    if len(cleaned) > max_length:
        raise ValidationError.single(field, f"at most {max_length} characters")
    return cleaned


def country_code(country: str, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code in upper case."""
    code = country.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValidationError.single(field, f"{country!r} is not a two-letter country code")
    return code


def choice(enum: type[_E], value: str, field: str) -> _E:
    """*value* as a member of *enum*; the error lists the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(enum)
        raise ValidationError.single(field, f"{value!r} is not one of {allowed}") from None


def money_amount(value: Money, field: str, cur: Currency | str | None = None) -> Money:
    """*value* checked to be expressible in its currency (or *cur*), written to its decimals.

    Amount problems (a fraction of a cent, another currency) become field errors, so the
    caller can point at the input box at fault.
    """
    target = value.currency if cur is None else currency(cur)
    try:
        return Money(amount_in(value, target, field), target)
    except AmountError as exc:
        raise ValidationError.single(field, str(exc).removeprefix(f"{field}: ")) from None


def is_whole_number(value: object) -> TypeGuard[int]:
    """True for an ``int``; a ``bool`` is no count of anything, and a ``float`` (even
    ``12.0``) is refused as everywhere in leasekit."""
    return isinstance(value, int) and not isinstance(value, bool)


def non_negative(value: Money, field: str) -> None:
    if value.amount < Decimal(0):
        raise ValidationError.single(field, "must not be negative")


def normalize_phone(value: str, field: str = "phone") -> str:
    """*value* as digits with an optional leading ``+``, separators dropped; anything else
    (a letter, an extension) is refused on *field*."""
    compact = _PHONE_SEPARATORS.sub("", value)
    if not _PHONE.fullmatch(compact) or not compact.isascii():
        raise ValidationError.single(
            field, "must be 5 to 15 digits, optionally after a leading +, and nothing else"
        )
    return compact


def telephone(value: str, field: str) -> str:
    """A telephone number as ``+`` and digits (or digits alone, when typed without a country
    code): 7 to 15 digits, the most E.164 allows."""
    digits = _PHONE_SEPARATORS.sub("", text(value, field, 30))
    international = digits.startswith("+")
    digits = digits.removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValidationError.single(
            field, "a telephone number of 7 to 15 digits, optionally after a + and country code"
        )
    return f"+{digits}" if international else digits


def email_address(value: str, field: str) -> str:
    """An address mail can be sent to: a local part, ``@`` and a domain with a top level (an
    international domain in its ``xn--`` form); the domain in lower case."""
    address = text(value, field, MAX_EMAIL)
    if not _EMAIL.fullmatch(address) or ".." in address or address.startswith("."):
        raise ValidationError.single(field, f"{value!r} is not an e-mail address")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"
