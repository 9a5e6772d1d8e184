"""Voucher templates as data: how a business event becomes one balanced voucher.

A :class:`TemplateVersion` books one event type under some conditions (business type,
product, payment source; an absent condition matches anything). Each of its lines names an
account, a side and an **amount expression** over the event's amount fields, compiled by
`rule-engine` as the rules engine's conditions are: its own small language, ``Decimal``
arithmetic, no Python ``eval`` and no attribute access into the host. Each line also says
which event fields give its dimensions (contract, partner, product, branch).

Templates are saved as numbered versions and checked when saved, so a template that cannot
balance never books anything: expressions that are sums of fields times constants are
checked symbolically (debits minus credits must cancel for every payload), and every template
is also evaluated on a sample payload of its event type, whose amount fields (and their signs)
:data:`EVENT_TYPES` declares. Among the templates whose conditions an event meets, the most
specific wins; an event none meets is :class:`Unmapped`, a result for the accountant's queue,
never an exception that would lose the event.

Amounts are exact until one documented point, :func:`_line_amount`, which rounds each line to
the currency's minor unit; lines that come to zero are dropped, and a line that comes out
negative is an error naming it (a template's side, not a sign, gives the direction).
"""

from __future__ import annotations

import decimal
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Final

import attrs
import rule_engine

from leasekit.domain.accounting import ChartOfAccounts
from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import PaymentSource
from leasekit.domain.events import DomainEvent, PayloadValue
from leasekit.domain.identity import Actor
from leasekit.domain.validation import Checks, choice, text
from leasekit.domain.vouchers import JournalLine, Side, Voucher
from leasekit.errors import AmountError, DomainError, FieldError, ValidationError
from leasekit.money import DECIMAL_CONTEXT, HALF_UP, Currency, Money, Rounding, currency, to_decimal

__all__ = [
    "DEFAULT_TEMPLATES",
    "DIMENSIONS",
    "EVENT_TYPES",
    "RECEIVABLE_ACCOUNTS",
    "Booking",
    "BookingError",
    "Conditions",
    "EventFacts",
    "EventType",
    "Sign",
    "TemplateLine",
    "TemplateSet",
    "TemplateVersion",
    "Unmapped",
    "book",
    "choice_key",
    "default_templates",
    "receivable_of",
]

_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_EXPRESSION: Final = 500
MAX_LINES: Final = 20


# --- what events carry -------------------------------------------------------------------------


class Sign(StrEnum):
    """Which way an amount field of an event may go."""

    POSITIVE = "positive"
    """Zero or more: what was paid, charged or lent."""
    NEGATIVE = "negative"
    """Zero or less: what a reversal gives back, as the payment events carry it."""


def _signs(amounts: Mapping[str, Sign]) -> Mapping[str, Sign]:
    return MappingProxyType(dict(amounts))


def _fields(fields: Mapping[str, PayloadValue]) -> Mapping[str, PayloadValue]:
    return MappingProxyType(dict(fields))


def _names(names: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(names))


@attrs.frozen
class EventType:
    """An event the books know: its amount fields (exact decimals in the payload) and the
    sign each may take, so a template can be tried on a sample payload before it is saved."""

    name: str
    amounts: Mapping[str, Sign] = attrs.field(converter=_signs)

    def sample(self, seed: int) -> dict[str, Decimal]:
        """Distinct, signed amounts for every field: a template that balances only by
        accident on one payload is unlikely to balance on two different ones."""
        return {
            field: Decimal(f"{1000 + 97 * (seed + 1) * (i + 1)}.{(37 * (seed + i)) % 100:02d}")
            * (-1 if sign is Sign.NEGATIVE else 1)
            for i, (field, sign) in enumerate(self.amounts.items())
        }


def _signed(*positive: str, negative: Iterable[str] = ()) -> dict[str, Sign]:
    return {**dict.fromkeys(positive, Sign.POSITIVE), **dict.fromkeys(negative, Sign.NEGATIVE)}


_PARTS: Final = ("penalty", "fee", "interest", "principal")

# fmt: off
EVENT_TYPES: Final[Mapping[str, EventType]] = MappingProxyType({
    event.name: event for event in (
        EventType("contract_disbursed", _signed(
            "payout_amount", "principal", "financed_fees", "vehicle_price", "down_payment",
            "upfront_fees")),
        EventType("payment_received", _signed("amount")),
        EventType("payment_allocated", _signed("amount", *_PARTS, "credit")),
        EventType("credit_applied", _signed(*_PARTS, "credit")),
        EventType("payment_reversed", _signed("amount", "credit", negative=_PARTS)),
        EventType("allocation_undone", _signed("credit", negative=_PARTS)),
        EventType("return_fee_charged", _signed("amount")),
        EventType("settlement_fee_charged", _signed("amount")),
        EventType("receivables_written_off", _signed(*_PARTS)),
        EventType("contract_taken_over", _signed(*_PARTS)),
        EventType("receivable_waived", _signed("fee", "penalty")),
        EventType("credit_refunded", _signed("amount")),
        EventType("refund_failed", _signed("amount")),
        EventType("refund_clawed_back", _signed("amount")),
        EventType("interest_accrued", _signed("accrued", "released")),
    )
})
# fmt: on
"""The events that move money today, from the contract, funds and debit-run services. In
``payment_allocated`` and ``credit_applied`` the parts are what was paid of each and
``credit`` what is left as the customer's credit; in ``payment_reversed`` the parts are what
was given back (negative) and ``credit`` the credit that went with the payment; in
``allocation_undone`` (a later payment's allocation undone to be replayed after a reversal)
the parts are what went back to the payment's credit (negative) and ``credit`` what it then
holds; in ``receivables_written_off`` the parts are what a written-off contract still owed
of each; in ``contract_taken_over`` what a contract taken over from an earlier system owed of
each when it came; in ``receivable_waived`` (an executed exception request) what a line no
longer owes of its fee and its penalty. ``credit_refunded`` is credit taken to be paid back
to the customer, ``refund_failed`` the same amount given back to the credit when the bank
refused or returned the refund. ``refund_clawed_back`` is what refunds paid out of a
reversed payment's credit, owed again as a new line's fee: the reversal's ``credit`` counts
it (the bank takes back the whole payment). ``interest_accrued`` (the close of business)
trues up what a contract has earned of interest and not yet been paid: ``accrued`` more,
``released`` less (paid since, which its payment booked as income)."""

DIMENSIONS: Final = ("contract", "partner", "product", "branch")
"""What a line can be analysed by; each is read from an event field the line names."""


@attrs.frozen
class EventFacts:
    """What a template reads of one event: its payload, with what the generation service
    adds from the contract (``business_type``, ``product``, ``branch``, ``partner_id``)
    where the event does not say it."""

    event_type: str
    key: str
    """The event's idempotency key: the voucher's source key, so a replay books once."""
    business_date: date
    fields: Mapping[str, PayloadValue] = attrs.field(converter=_fields)

    @classmethod
    def of(cls, event: DomainEvent, context: Mapping[str, PayloadValue]) -> EventFacts:
        """The facts of *event*, its ``subject_id`` among them (a contract's events name
        the contract only so); the payload wins over *context* where both say a field."""
        fields = {**context, "subject_id": event.subject_id, **event.payload}
        return cls(event.name, event.idempotency_key, event.business_date, fields)

    def field_text(self, field: str) -> str | None:
        """*field* as conditions and dimensions compare it, None when the event lacks it."""
        value = self.fields.get(field)
        return None if value is None else str(value)


# --- templates ---------------------------------------------------------------------------------


_CONDITION_FIELDS: Final = {
    "business_type": "business_type",
    "product": "product",
    "payment_source": "source",
}
"""Each condition and the event field it compares."""


@attrs.frozen
class Conditions:
    """When a template applies; None means any."""

    business_type: str | None = None
    product: str | None = None
    payment_source: str | None = None

    def _given(self) -> dict[str, str]:
        return {name: value for name, value in attrs.asdict(self).items() if value is not None}

    @property
    def specificity(self) -> int:
        """How many conditions are set: the template that sets more wins."""
        return len(self._given())

    def matches(self, facts: EventFacts) -> bool:
        return all(
            facts.field_text(_CONDITION_FIELDS[name]) == value
            for name, value in self._given().items()
        )

    def overlaps(self, other: Conditions) -> bool:
        """Whether some event could meet both: no condition set in both differs."""
        mine, theirs = self._given(), other._given()
        return all(mine[name] == theirs[name] for name in mine.keys() & theirs.keys())

    def merged(self, other: Conditions) -> Conditions:
        """The conditions of both: what a template that settles an overlap of the two sets."""
        return Conditions(**{**other._given(), **self._given()})

    def __str__(self) -> str:
        given = self._given()
        return ", ".join(f"{k}={v}" for k, v in given.items()) if given else "any"


@attrs.frozen
class TemplateLine:
    """One line of a template: *amount* is an expression over the event's amount fields;
    *dimensions* maps a dimension (``contract``) to the event field giving it."""

    account: str
    side: Side = attrs.field(converter=Side)
    amount: str
    dimensions: Mapping[str, str] = attrs.field(converter=_names, factory=dict)
    memo: str = ""


@attrs.frozen
class TemplateVersion:
    """Version *version* of the template *name*; a change is a new version, never an edit."""

    name: str
    version: int
    event_type: str
    description: str
    conditions: Conditions
    lines: tuple[TemplateLine, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TemplateVersion:
        """A template from plain data (settings, an API body, :data:`DEFAULT_TEMPLATES`);
        every fault is named by its place (``lines[1].side``). ``dimensions`` at the top
        apply to each line that gives none of its own."""
        checks = Checks()
        for key in sorted(set(data) - _TEMPLATE_KEYS):
            checks.add(key, "not a field of a voucher template")
        name = checks.run(lambda: _name(data.get("name"), "name"))
        version = data.get("version")
        if type(version) is not int or version < 1:
            checks.add("version", "a whole number from 1")
            version = None
        event_type = checks.run(lambda: _event_type(data.get("event_type")))
        description = checks.run(lambda: text(_str(data.get("description")), "description"))
        conditions = checks.run(lambda: _conditions(data.get("conditions") or {}))
        dimensions = data.get("dimensions") or {}
        lines = checks.run(lambda: _lines(data.get("lines"), dimensions))
        if (
            name is None
            or version is None
            or event_type is None
            or description is None
            or conditions is None
            or lines is None
            or checks.errors
        ):
            raise checks.error()
        return cls(name, version, event_type, description, conditions, lines)

    def as_mapping(self) -> dict[str, Any]:
        """The template as plain JSON data, in the shape :meth:`from_mapping` reads back to
        an equal template: how a saved version is stored and shown."""
        return {
            "name": self.name,
            "version": self.version,
            "event_type": self.event_type,
            "description": self.description,
            "conditions": self.conditions._given(),
            "lines": [
                {
                    "account": line.account,
                    "side": str(line.side),
                    "amount": line.amount,
                    "dimensions": dict(line.dimensions),
                    "memo": line.memo,
                }
                for line in self.lines
            ],
        }

    def check(self, chart: ChartOfAccounts) -> None:
        """Refuse a template that cannot be saved: an expression that does not compile, an
        account the chart lacks or has closed, lines that cannot balance, or a line that is
        negative on a sample payload. Errors are named ``<template>.lines[i]...``."""
        errors = self._line_errors(chart)
        if not errors:
            errors = self._balance_errors(chart.currency)
        if errors:
            raise ValidationError(FieldError(f"{self.name}.{e.field}", e.message) for e in errors)

    def _line_errors(self, chart: ChartOfAccounts) -> list[FieldError]:
        errors = []
        for index, line in enumerate(self.lines):
            at = f"lines[{index}]"
            try:
                chart.postable(line.account)
            except (ValidationError, DomainError) as exc:
                errors.append(FieldError(f"{at}.account", _message(exc)))
            try:
                _compiled(line.amount, self.event_type)
            except ValidationError as exc:
                errors.extend(FieldError(f"{at}.{e.field}", e.message) for e in exc.errors)
        return errors

    def _balance_errors(self, cur: Currency) -> list[FieldError]:
        forms = [
            _linear(_compiled(line.amount, self.event_type).statement.expression)
            for line in self.lines
        ]
        if all(form is not None for form in forms):
            difference = _net(
                (form, line.side) for form, line in zip(forms, self.lines, strict=True) if form
            )
            if difference:
                return [
                    FieldError(
                        "lines",
                        f"debits minus credits come to {_show(difference)}; they must cancel",
                    )
                ]
        event = EVENT_TYPES[self.event_type]
        for seed in (0, 1):
            try:
                _rounded_amounts(self, event.sample(seed), cur, HALF_UP)
            except BookingError as exc:
                return [
                    FieldError(
                        exc.field,
                        f"{exc.message} on a sample payload {_show_sample(event.sample(seed))}",
                    )
                ]
        return []


_TEMPLATE_KEYS: Final = frozenset(
    {"name", "version", "event_type", "description", "conditions", "dimensions", "lines"}
)
_LINE_KEYS: Final = frozenset({"account", "side", "amount", "dimensions", "memo"})


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _message(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(e.message for e in exc.errors)
    return str(exc)


def _event_type(value: object) -> str:
    if value not in EVENT_TYPES:
        raise ValidationError.single(
            "event_type", f"{value!r} is not one of {', '.join(EVENT_TYPES)}"
        )
    return str(value)


def _name(value: object, field: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValidationError.single(field, "lower-case letters, digits and _, from a letter")
    return value


def _conditions(data: object) -> Conditions:
    if not isinstance(data, Mapping):
        raise ValidationError.single("conditions", "must be a mapping")
    checks = Checks()
    for key in sorted(set(data) - set(_CONDITION_FIELDS)):
        checks.add(f"conditions.{key}", f"not a condition; use {', '.join(_CONDITION_FIELDS)}")
    business_type, source, product = (
        data.get("business_type"),
        data.get("payment_source"),
        data.get("product"),
    )
    if business_type is not None:
        checks.run(lambda: choice(BusinessType, _str(business_type), "conditions.business_type"))
    if source is not None:
        checks.run(lambda: choice(PaymentSource, _str(source), "conditions.payment_source"))
    if product is not None:
        checks.run(lambda: text(_str(product), "conditions.product", 100))
    if checks.errors:
        raise checks.error()
    return Conditions(
        None if business_type is None else str(business_type),
        None if product is None else str(product),
        None if source is None else str(source),
    )


def _lines(data: object, dimensions: object) -> tuple[TemplateLine, ...]:
    if not isinstance(data, list) or not 2 <= len(data) <= MAX_LINES:
        raise ValidationError.single("lines", f"must be a list of 2 to {MAX_LINES} lines")
    checks = Checks()
    lines = [
        checks.run(functools.partial(_line, row, f"lines[{i}]", dimensions))
        for i, row in enumerate(data)
    ]
    if checks.errors:
        raise checks.error()
    return tuple(line for line in lines if line is not None)


def _line(data: object, at: str, default_dimensions: object) -> TemplateLine:
    if not isinstance(data, Mapping):
        raise ValidationError.single(at, "must be a mapping with account, side and amount")
    checks = Checks()
    for key in sorted(set(data) - _LINE_KEYS):
        checks.add(f"{at}.{key}", "not a field of a template line")
    account = checks.run(lambda: text(_str(data.get("account")), f"{at}.account", 32))
    side = checks.run(lambda: choice(Side, _str(data.get("side")), f"{at}.side"))
    amount = checks.run(lambda: text(_str(data.get("amount")), f"{at}.amount", MAX_EXPRESSION))
    dims = checks.run(lambda: _dimensions(data.get("dimensions", default_dimensions), at))
    memo = data.get("memo", "")
    if not isinstance(memo, str):
        checks.add(f"{at}.memo", "must be text")
    if account is None or side is None or amount is None or dims is None or checks.errors:
        raise checks.error()
    return TemplateLine(account, side, amount, dims, str(memo))


def _dimensions(data: object, at: str) -> dict[str, str]:
    if not isinstance(data, Mapping):
        raise ValidationError.single(f"{at}.dimensions", "must map dimensions to event fields")
    checks = Checks()
    for dimension, field in data.items():
        if dimension not in DIMENSIONS:
            checks.add(f"{at}.dimensions.{dimension}", f"not one of {', '.join(DIMENSIONS)}")
        elif not isinstance(field, str) or not _NAME.fullmatch(field):
            checks.add(f"{at}.dimensions.{dimension}", "must name an event field")
    if checks.errors:
        raise checks.error()
    return dict(data)


# --- compiling ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _context(event_type: str) -> rule_engine.Context:
    """Expressions of *event_type* may read its amount fields, as exact decimals, only."""
    return rule_engine.Context(
        type_resolver=rule_engine.type_resolver_from_dict(
            dict.fromkeys(EVENT_TYPES[event_type].amounts, rule_engine.DataType.FLOAT)
        ),
        decimal_context=DECIMAL_CONTEXT,
    )


@functools.lru_cache(maxsize=4096)
def _compiled(expression: str, event_type: str) -> rule_engine.Rule:
    """*expression* parsed once per process, refused unless it is an amount over the
    event's amount fields; a compiled expression holds no state between evaluations."""
    try:
        rule = rule_engine.Rule(expression, context=_context(event_type))
    except rule_engine.errors.SymbolResolutionError as exc:
        known = ", ".join(EVENT_TYPES[event_type].amounts)
        raise ValidationError.single(
            "amount", f"unknown field {exc.symbol_name!r}; {event_type} has {known}"
        ) from None
    except rule_engine.errors.EngineError as exc:
        raise ValidationError.single("amount", f"not a valid expression: {exc.message}") from None
    if rule.statement.expression.result_type is not rule_engine.DataType.FLOAT:
        raise ValidationError.single("amount", "must be an amount (a number), not a condition")
    return rule


LinearForm = dict[str, Fraction]
"""An amount as coefficients of fields; the key ``""`` holds the constant. Coefficients are
exact fractions, so ``amount / 3`` taken three times cancels ``amount`` exactly."""


def _linear(node: Any) -> LinearForm | None:
    """*node* as a sum of fields times constants, or None when it is not one (a product of
    two fields, a conditional, a function): then only the sample payloads can judge it."""
    ast = rule_engine.ast
    if isinstance(node, ast.SymbolExpression):
        return {node.name: Fraction(1)}
    if isinstance(node, ast.FloatExpression):
        return {"": Fraction(node.value)}
    if isinstance(node, ast.UnaryExpression) and node.type == "uminus":
        right = _linear(node.right)
        return None if right is None else _scaled(right, Fraction(-1))
    if isinstance(node, ast.AddExpression | ast.SubtractExpression):
        left, right = _linear(node.left), _linear(node.right)
        if left is None or right is None:
            return None
        sign = Fraction(1 if isinstance(node, ast.AddExpression) else -1)
        return _sum(left, _scaled(right, sign))
    if isinstance(node, ast.ArithmeticExpression):
        return _product(node.type, _linear(node.left), _linear(node.right))
    return None


def _product(kind: str, left: LinearForm | None, right: LinearForm | None) -> LinearForm | None:
    """A product or quotient that stays linear: by a constant, or a division by one."""
    if left is None or right is None:
        return None
    factor = _constant(right)
    if kind == "mul" and factor is None:
        left, right, factor = right, left, _constant(left)
    if factor is None:
        return None
    if kind == "mul":
        return _scaled(left, factor)
    if kind == "tdiv" and factor:
        return _scaled(left, 1 / factor)
    return None


def _constant(form: LinearForm) -> Fraction | None:
    return form.get("", Fraction(0)) if set(form) <= {""} else None


def _scaled(form: LinearForm, factor: Fraction) -> LinearForm:
    return {key: value * factor for key, value in form.items()}


def _sum(*forms: LinearForm) -> LinearForm:
    total: LinearForm = {}
    for form in forms:
        for key, value in form.items():
            total[key] = total.get(key, Fraction(0)) + value
    return {key: value for key, value in total.items() if value}


def _net(lines: Iterable[tuple[LinearForm, Side]]) -> LinearForm:
    """Debits minus credits, as a linear form; empty when they cancel for every payload."""
    return _sum(
        *(form if side is Side.DEBIT else _scaled(form, Fraction(-1)) for form, side in lines)
    )


_EXACT: Final = decimal.Context(
    prec=DECIMAL_CONTEXT.prec,
    rounding=DECIMAL_CONTEXT.rounding,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
""":data:`~leasekit.money.DECIMAL_CONTEXT`, refusing to round: a sum that its digits cannot
hold exactly is left to rule-engine."""


@attrs.frozen
class LinearAmount:
    """An amount expression that is a sum of fields times constants, as exact decimal
    coefficients: a few multiplications and additions instead of rule-engine's walk over the
    expression's tree, which is most of the cost of booking an event."""

    constant: Decimal
    terms: tuple[tuple[str, Decimal], ...]

    def evaluate(self, values: Mapping[str, Decimal]) -> Decimal | None:
        """The exact amount on *values*; None when it needs more digits than the context has
        (rule-engine then rounds it as it always did)."""
        try:
            total = self.constant
            for field, coefficient in self.terms:
                total = _EXACT.fma(coefficient, values[field], total)
        except (decimal.Inexact, decimal.Overflow):
            return None
        return total


@functools.lru_cache(maxsize=4096)
def _linear_amount(expression: str, event_type: str) -> LinearAmount | None:
    """*expression* as a :class:`LinearAmount` when evaluating it from its coefficients gives
    what rule-engine gives: it is linear, each coefficient is a terminating decimal, and it
    divides only by constants whose quotients terminate, so that rule-engine too computes it
    exactly. None otherwise: a product of fields, a condition, ``amount / 3``."""
    node = _compiled(expression, event_type).statement.expression
    form = _linear(node)
    if form is None or not _divides_exactly(node):
        return None
    coefficients = {key: _terminating(value) for key, value in form.items()}
    if any(value is None for value in coefficients.values()):
        return None
    constant = coefficients.pop("", None) or Decimal(0)
    terms = tuple((key, value) for key, value in coefficients.items() if value is not None)
    return LinearAmount(constant, terms)


def _terminating(value: Fraction) -> Decimal | None:
    """*value* as an exact Decimal, or None when its decimal expansion does not end (or
    is longer than the context's digits)."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return None
    try:
        return _EXACT.divide(Decimal(value.numerator), Decimal(value.denominator))
    except decimal.Inexact:
        return None


def _divides_exactly(node: Any) -> bool:
    """Whether every division in *node* (linear, see :func:`_linear`) is by a constant
    whose quotients terminate, so that rule-engine never rounds on the way."""
    ast = rule_engine.ast
    if isinstance(node, ast.ArithmeticExpression) and node.type == "tdiv":
        divisor = _linear(node.right)
        factor = None if divisor is None else _constant(divisor)
        if not factor or _terminating(1 / factor) is None:
            return False
    children = (getattr(node, side, None) for side in ("left", "right"))
    return all(
        _divides_exactly(child) for child in children if isinstance(child, ast.ExpressionBase)
    )


def _show(form: LinearForm) -> str:
    """*form* as an expression: ``-1 + amount - 1/2 * fee``."""
    terms = []
    for key, value in sorted(form.items()):
        if key == "":
            terms.append(str(value))
        elif abs(value) == 1:
            terms.append(key if value > 0 else f"-{key}")
        else:
            terms.append(f"{value} * {key}")
    return " + ".join(terms).replace("+ -", "- ")


def _show_sample(values: Mapping[str, Decimal]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}"


# --- booking -----------------------------------------------------------------------------------


class BookingError(DomainError):
    """A template could not book an event: it names the template and the line at fault."""

    def __init__(self, template: TemplateVersion, field: str, message: str) -> None:
        super().__init__(f"template {template.name} v{template.version}, {field}: {message}")
        self.field = field
        self.message = message


def _line_amount(
    template: TemplateVersion,
    index: int,
    values: Mapping[str, Decimal],
    cur: Currency,
    round_amount: Callable[[Decimal], Decimal],
) -> Decimal:
    """Line *index*'s amount on *values*, rounded to *cur*'s minor unit by *round_amount*
    (a :meth:`~leasekit.money.Rounding.quantizer`).

    This is the one place where a voucher amount loses precision: expressions compute
    exactly (fields times rates, shares), and each line is rounded once, here."""
    line = template.lines[index]
    linear = _linear_amount(line.amount, template.event_type)
    raw = None if linear is None else linear.evaluate(values)
    if raw is None:
        at = f"lines[{index}].amount"
        try:
            raw = to_decimal(_compiled(line.amount, template.event_type).evaluate(values), at)
        except rule_engine.errors.EngineError as exc:
            raise BookingError(template, at, f"cannot be evaluated: {exc.message}") from None
    try:
        amount = round_amount(raw)
    except decimal.InvalidOperation:
        raise AmountError(f"amount: {raw} is too large to express in {cur.code}") from None
    if amount < 0:
        raise BookingError(
            template, f"lines[{index}].amount", f"{line.amount} is {amount}, which is negative"
        )
    return amount


def _rounded_amounts(
    template: TemplateVersion, values: Mapping[str, Decimal], cur: Currency, rounding: Rounding
) -> list[Decimal]:
    """Each line's amount on *values*, rounded; refused unless they balance, which rounding
    can upset when expressions take shares (``amount / 3`` three times)."""
    round_amount = rounding.quantizer(cur)
    add = DECIMAL_CONTEXT.add
    amounts = []
    debits = credits = Decimal(0)
    for index, line in enumerate(template.lines):
        amount = _line_amount(template, index, values, cur, round_amount)
        amounts.append(amount)
        if line.side is Side.DEBIT:
            debits = add(debits, amount)
        else:
            credits = add(credits, amount)
    if debits != credits:
        raise BookingError(template, "lines", f"debits {debits} do not equal credits {credits}")
    return amounts


def _values(template: TemplateVersion, facts: EventFacts) -> dict[str, Decimal]:
    """The event's amount fields as exact decimals; a missing or inexact one is named."""
    values = {}
    for field in EVENT_TYPES[template.event_type].amounts:
        raw = facts.fields.get(field)
        if raw is None or isinstance(raw, bool):
            raise BookingError(template, field, f"the {facts.event_type} event has no amount")
        try:
            values[field] = to_decimal(raw, field)
        except AmountError as exc:
            raise BookingError(template, field, str(exc).removeprefix(f"{field}: ")) from None
    return values


def _currency_of(template: TemplateVersion, facts: EventFacts, chart: ChartOfAccounts) -> Currency:
    try:
        cur = currency(facts.field_text("currency") or "")
    except AmountError as exc:
        raise BookingError(template, "currency", str(exc)) from None
    if cur != chart.currency:
        raise BookingError(template, "currency", f"{cur} event, {chart.currency} chart")
    return cur


def choice_key(facts: EventFacts) -> tuple[str | None, ...]:
    """What :meth:`TemplateSet.choose` reads of *facts*: its type and the fields the
    conditions compare. Events alike in these meet the same template, so a batch asks once."""
    return (facts.event_type, *(facts.field_text(field) for field in _CONDITION_FIELDS.values()))


@attrs.frozen
class Booking:
    """The voucher a template made of an event, and each line's dimensions, in line order."""

    template: str
    version: int
    voucher: Voucher
    dimensions: tuple[Mapping[str, str], ...]


def book(
    template: TemplateVersion,
    facts: EventFacts,
    chart: ChartOfAccounts,
    *,
    actor: Actor,
    at: datetime,
    rounding: Rounding = HALF_UP,
) -> Booking | None:
    """The voucher *template* makes of *facts*, or None when every line comes to zero.

    Refused with a :class:`BookingError` naming the line: a missing amount field, a negative
    line, lines that do not balance after rounding, a closed account."""
    if template.event_type != facts.event_type:
        raise BookingError(
            template, "event_type", f"books {template.event_type}, not {facts.event_type}"
        )
    cur = _currency_of(template, facts, chart)
    amounts = _rounded_amounts(template, _values(template, facts), cur, rounding)
    lines: list[TemplateLine] = []
    journal: list[JournalLine] = []
    for index, (line, amount) in enumerate(zip(template.lines, amounts, strict=True)):
        if not amount:
            continue
        try:
            chart.postable(line.account)
        except (ValidationError, DomainError) as exc:
            raise BookingError(template, f"lines[{index}].account", _message(exc)) from None
        lines.append(line)
        journal.append(JournalLine(line.account, line.side, Money(amount, cur), line.memo))
    if not lines:
        return None
    voucher = Voucher.post(
        business_date=facts.business_date,
        description=f"{template.description} ({facts.key})",
        lines=journal,
        actor=actor,
        at=at,
        source_key=facts.key,
    )
    return Booking(template.name, template.version, voucher, _dimension_values(lines, facts))


def _dimension_values(
    lines: Iterable[TemplateLine], facts: EventFacts
) -> tuple[Mapping[str, str], ...]:
    """Each line's dimensions the event gives a value for; a line that names the same fields
    as the line before it (most of a template's) shares its mapping."""
    found: list[Mapping[str, str]] = []
    names: Mapping[str, str] | None = None
    values: Mapping[str, str] = MappingProxyType({})
    for line in lines:
        if names is None or line.dimensions != names:
            names = line.dimensions
            given = {dim: facts.field_text(field) for dim, field in names.items()}
            values = MappingProxyType({d: v for d, v in given.items() if v is not None})
        found.append(values)
    return tuple(found)


# --- choosing ----------------------------------------------------------------------------------


@attrs.frozen
class Unmapped:
    """No template meets an event: it waits in the accountant's queue to be mapped and
    replayed, with what it was that nothing met."""

    event_type: str
    key: str
    reason: str


@attrs.frozen
class TemplateSet:
    """Every saved version of every template, checked against one chart of accounts; the
    highest version of each name is in force."""

    chart: ChartOfAccounts
    versions: tuple[TemplateVersion, ...] = ()

    def in_force(self) -> dict[str, TemplateVersion]:
        latest: dict[str, TemplateVersion] = {}
        for template in self.versions:
            if template.name not in latest or template.version > latest[template.name].version:
                latest[template.name] = template
        return latest

    def save(self, template: TemplateVersion) -> TemplateSet:
        """The set with *template* as its name's newest version: the next number, checked
        (:meth:`TemplateVersion.check`), and leaving no event to chance: two templates of
        an event that are as specific as each other and that one event could meet need a
        template setting both their conditions, which that event then meets."""
        current = self.in_force().get(template.name)
        expected = 1 if current is None else current.version + 1
        if template.version != expected:
            raise ValidationError.single(
                f"{template.name}.version", f"must be {expected}, the next version"
            )
        template.check(self.chart)
        saved = attrs.evolve(self, versions=(*self.versions, template))
        in_force = saved.in_force()
        for other in in_force.values():
            if other.name != template.name and _unsettled(template, other, in_force.values()):
                raise ValidationError.single(
                    f"{template.name}.conditions",
                    f"{template.conditions} is as specific as template {other.name} "
                    f"({other.conditions}) and an event could meet both; add a template "
                    f"for {template.conditions.merged(other.conditions)} first",
                )
        return saved

    def restored(self, saved: Iterable[TemplateVersion]) -> TemplateSet:
        """The set with versions *saved* earlier (by :meth:`save`) added in the order they
        were saved. They are not checked again: each was checked against the chart of its
        day, and an account closed since makes the events it books wait in the unmapped
        queue, as it does for the defaults, rather than stopping every booking."""
        return attrs.evolve(self, versions=(*self.versions, *saved))

    def choose(self, facts: EventFacts) -> TemplateVersion | Unmapped:
        """The in-force template for *facts* whose conditions it meets and that sets the
        most of them; :class:`Unmapped` when none does."""
        matching = [
            t
            for t in self.in_force().values()
            if t.event_type == facts.event_type and t.conditions.matches(facts)
        ]
        if not matching:
            said = ", ".join(f"{c}={facts.field_text(f)}" for c, f in _CONDITION_FIELDS.items())
            return Unmapped(facts.event_type, facts.key, f"no template meets {said}")
        return max(matching, key=lambda t: t.conditions.specificity)

    def book(
        self, facts: EventFacts, *, actor: Actor, at: datetime, rounding: Rounding = HALF_UP
    ) -> Booking | Unmapped | None:
        """*facts* booked by the template :meth:`choose` finds (see :func:`book`), or
        :class:`Unmapped` for the accountant's queue."""
        chosen = self.choose(facts)
        if isinstance(chosen, Unmapped):
            return chosen
        return book(chosen, facts, self.chart, actor=actor, at=at, rounding=rounding)


def _unsettled(
    one: TemplateVersion, other: TemplateVersion, templates: Iterable[TemplateVersion]
) -> bool:
    """Whether an event could meet *one* and *other* with nothing more specific to choose."""
    if one.event_type != other.event_type:
        return False
    mine, theirs = one.conditions, other.conditions
    if mine.specificity != theirs.specificity or not mine.overlaps(theirs):
        return False
    both = mine.merged(theirs)
    return both == mine or not any(
        t.event_type == one.event_type and t.conditions == both for t in templates
    )


def default_templates(chart: ChartOfAccounts) -> TemplateSet:
    """:data:`DEFAULT_TEMPLATES` saved against *chart* (the default chart's codes), the
    most specific first, as an accountant has to: they settle the overlaps of the rest."""
    templates = TemplateSet(chart)
    loaded = [TemplateVersion.from_mapping(data) for data in DEFAULT_TEMPLATES]
    for template in sorted(loaded, key=lambda t: -t.conditions.specificity):
        templates = templates.save(template)
    return templates


# --- defaults ----------------------------------------------------------------------------------

# fmt: off
_BY_CONTRACT: Final = {"contract": "contract_id", "partner": "partner_id", "product": "product",
                       "branch": "branch"}
_OF_CONTRACT: Final = {**_BY_CONTRACT, "contract": "subject_id"}
"""A contract's own events name it by their subject."""
_ALL_PARTS: Final = "penalty + fee + interest + principal"
RECEIVABLE_ACCOUNTS: Final[Mapping[str, str]] = MappingProxyType(
    {"loan": "1200", "finance_lease": "1210", "operating_lease": "1220"})
"""Where the default templates keep what a contract owes, by business type (a sale-leaseback
books as a loan)."""
_BANK: Final = {None: "1100", "direct_debit": "1110"}
"""Where money comes in: the creditor account that collects direct debits, or the operating
account for everything else."""


def _entry(account: str, side: str, amount: str, memo: str) -> dict[str, str]:
    return {"account": account, "side": side, "amount": amount, "memo": memo}


def _paid_parts(receivable: str, *, rent: bool) -> list[dict[str, str]]:
    """What paying the parts credits: a charged fee leaves the receivable it was booked to;
    penalty and interest are income when paid (the close books interest earned before it is
    paid, and releases it once paid: ``interest_accrued``); an operating lease's interest and
    principal are its rent."""
    earned = (
        [_entry("4400", "credit", "interest + principal", "rent")] if rent else
        [_entry("4100", "credit", "interest", "interest"),
         _entry(receivable, "credit", "principal", "principal")]
    )
    return [_entry("4300", "credit", "penalty", "penalty"),
            _entry(receivable, "credit", "fee", "fee"), *earned]


def _unpaid_parts(receivable: str, *, rent: bool) -> list[dict[str, str]]:
    """Undoing an allocation debits back what it credited (the event's parts are negative)."""
    return [{**line, "side": "debit", "amount": f"-({line['amount']})"}
            for line in _paid_parts(receivable, rent=rent)]


def _given_back(receivable: str, bank: str, *, rent: bool) -> list[dict[str, str]]:
    """A reversal debits back what the allocation credited and the credit the payment held,
    and takes the money out of the bank it came into."""
    return [*_unpaid_parts(receivable, rent=rent),
            _entry("2200", "debit", "credit", "credit held"),
            _entry(bank, "credit", f"credit - ({_ALL_PARTS})", "returned")]


def receivable_of(business_type: str) -> tuple[str, tuple[str, ...]]:
    """The account the default templates keep a contract of *business_type* receivable in,
    and the parts of its schedule that account carries: what was lent (less an operating
    lease's rent, which is income when paid) and the fees charged; interest and penalties
    are income only when paid, so the account never holds them."""
    kind = business_type if business_type in RECEIVABLE_ACCOUNTS else "loan"
    parts = ("fee",) if kind == "operating_lease" else ("principal", "fee")
    return RECEIVABLE_ACCOUNTS[kind], parts


def _template(name: str, event_type: str, description: str, conditions: Mapping[str, str],
              lines: list[dict[str, str]], dimensions: Mapping[str, str] = _BY_CONTRACT,
              ) -> Mapping[str, Any]:
    return {"name": name, "version": 1, "event_type": event_type, "description": description,
            "conditions": conditions, "dimensions": dimensions, "lines": lines}


def _of(kind: str, source: str | None = None) -> dict[str, str]:
    """Conditions: loans are the templates without a business type (a sale-leaseback is a
    financing for the lessor, so it books as a loan); leases set theirs."""
    return {**({} if kind == "loan" else {"business_type": kind}),
            **({"payment_source": source} if source else {})}


def _suffix(source: str | None) -> str:
    return f"_{source}" if source else ""


DEFAULT_TEMPLATES: Final[tuple[Mapping[str, Any], ...]] = (
    # Lent: the receivable is what was lent; the bank paid the dealer (or the seller); fees
    # financed are unearned until the contract earns them.
    *(_template(f"{kind}_disbursed", "contract_disbursed", "Disbursement", _of(kind), [
        _entry(RECEIVABLE_ACCOUNTS[kind], "debit", "payout_amount + financed_fees", "lent"),
        _entry("1100", "credit", "payout_amount", "paid out"),
        _entry("2300", "credit", "financed_fees", "fees financed"),
    ], _OF_CONTRACT) for kind in ("loan", "finance_lease")),
    _template("operating_lease_disbursed", "contract_disbursed", "Vehicle bought for lease",
              _of("operating_lease"), [
        _entry("1500", "debit", "payout_amount", "vehicle"),
        _entry("1100", "credit", "payout_amount", "paid out"),
    ], _OF_CONTRACT),
    # Money in: held in suspense until the same command allocates it.
    *(_template(f"payment_received{_suffix(source)}", "payment_received", "Payment received",
                _of("loan", source), [
        _entry(bank, "debit", "amount", "received"),
        _entry("2900", "credit", "amount", "to allocate"),
    ]) for source, bank in _BANK.items()),
    *(_template(f"{kind}_payment_allocated", "payment_allocated", "Payment allocated", _of(kind), [
        _entry("2900", "debit", f"{_ALL_PARTS} + credit", "allocated"),
        *_paid_parts(receivable, rent=kind == "operating_lease"),
        _entry("2200", "credit", "credit", "credit left"),
    ]) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    *(_template(f"{kind}_credit_applied", "credit_applied", "Customer credit applied", _of(kind), [
        _entry("2200", "debit", _ALL_PARTS, "credit used"),
        *_paid_parts(receivable, rent=kind == "operating_lease"),
    ]) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    *(_template(f"{kind}_payment_reversed{_suffix(source)}", "payment_reversed",
                "Payment reversed", _of(kind, source),
                _given_back(receivable, bank, rent=kind == "operating_lease"))
      for kind, receivable in RECEIVABLE_ACCOUNTS.items() for source, bank in _BANK.items()),
    # Replayed after a reversal: a later payment's allocation goes back to its credit, which
    # credit_applied then spends again.
    *(_template(f"{kind}_allocation_undone", "allocation_undone", "Allocation undone for replay",
                _of(kind), [
        *_unpaid_parts(receivable, rent=kind == "operating_lease"),
        _entry("2200", "credit", f"-({_ALL_PARTS})", "back to credit"),
    ]) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    *(_template(f"{kind}_return_fee_charged", "return_fee_charged", "Returned debit fee charged",
                _of(kind), [
        _entry(receivable, "debit", "amount", "fee due"),
        _entry("4200", "credit", "amount", "fee"),
    ]) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    *(_template(f"{kind}_settlement_fee_charged", "settlement_fee_charged",
                "Early settlement fee charged", _of(kind), [
        _entry(receivable, "debit", "amount", "fee due"),
        _entry("4200", "credit", "amount", "fee"),
    ]) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    # Given up: what the receivable account holds of the contract becomes an expense;
    # interest and penalties still owed were never booked, so nothing of them is reversed.
    *(_template(f"{kind}_receivables_written_off", "receivables_written_off", "Written off",
                _of(kind), [
        _entry("6100", "debit", " + ".join(receivable_of(kind)[1]), "written off"),
        _entry(receivable, "credit", " + ".join(receivable_of(kind)[1]), "written off"),
    ], _OF_CONTRACT) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    # Taken over: the receivable account opens with what the contract owed of the parts it
    # holds, against the opening balances (an operating lease's vehicle is not a receivable).
    *(_template(f"{kind}_taken_over", "contract_taken_over", "Taken over", _of(kind), [
        _entry(receivable, "debit", " + ".join(receivable_of(kind)[1]), "owed when taken over"),
        _entry("3900", "credit", " + ".join(receivable_of(kind)[1]), "opening balance"),
    ], _OF_CONTRACT) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    # Waived: a charged fee leaves the receivable it was booked to as an expense; accrued
    # penalty was never booked (it is income when paid), so waiving it books nothing.
    *(_template(f"{kind}_receivable_waived", "receivable_waived", "Fee waived", _of(kind), [
        _entry("6200", "debit", "fee", "fee waived"),
        _entry(receivable, "credit", "fee", "fee waived"),
    ]) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
    # Credit paid back: out of the customer's credit balance through the operating account;
    # a refund the bank fails puts it back.
    *(_template(f"{kind}_credit_refunded", "credit_refunded", "Customer credit refunded",
                _of(kind), [
        _entry("2200", "debit", "amount", "credit refunded"),
        _entry("1100", "credit", "amount", "paid out"),
    ]) for kind in RECEIVABLE_ACCOUNTS),
    # Earned, not yet paid: interest is income as it is earned; what a payment has since
    # booked as income is released again. (An operating lease's rent is income when paid.)
    *(_template(f"{kind}_interest_accrued", "interest_accrued", "Interest earned, not yet paid",
                _of(kind), [
        _entry("1250", "debit", "accrued", "earned"),
        _entry("4100", "credit", "accrued", "earned"),
        _entry("4100", "debit", "released", "paid since"),
        _entry("1250", "credit", "released", "paid since"),
    ]) for kind in ("loan", "finance_lease")),
    *(_template(f"{kind}_refund_failed", "refund_failed", "Customer credit refund failed",
                _of(kind), [
        _entry("1100", "debit", "amount", "returned"),
        _entry("2200", "credit", "amount", "credit given back"),
    ]) for kind in RECEIVABLE_ACCOUNTS),
    # Refunded out of a payment the bank then took back: the reversal took the whole
    # payment out of the bank and out of the credit balances, the refunded part included,
    # which the customer now owes.
    *(_template(f"{kind}_refund_clawed_back", "refund_clawed_back",
                "Refunded credit of a reversed payment owed", _of(kind), [
        _entry(receivable, "debit", "amount", "refunded credit owed"),
        _entry("2200", "credit", "amount", "refunded credit clawed back"),
    ]) for kind, receivable in RECEIVABLE_ACCOUNTS.items()),
)
"""The default templates, as plain data in the shape :meth:`TemplateVersion.from_mapping`
reads, for the default chart (:data:`~leasekit.domain.accounting.DEFAULT_ACCOUNTS`): loans,
finance leases (lessor) and operating leases, each template balancing."""
# fmt: on
