"""The product catalogue: what the company sells, on which terms, and through whom.

A :class:`Product` is a code (``NCL-36``) of one :class:`~leasekit.domain.applications.
BusinessType` with a history of :class:`ProductVersion` s. Each version holds the whole of the
product's :class:`ProductTerms`: the range of the annual rate, the terms in months, the least
down payment and the most that may be financed, the schedule methods of the calculator
(:data:`leasekit.calc.schedule.METHODS`), the fees, the residual value rule, the documents an
application must bring and which partners may sell it.

Terms are never edited: changing a product writes a new **draft** version; publishing it (a
manager or director other than its author: four eyes) makes it the product's current
version and retires the one before; retiring the current version takes the product off sale.
A version's terms are fixed from the moment it is written, so an application priced with a
version can always be checked again against what it was priced with.

:meth:`ProductVersion.check` names each requested field outside the product with what the
product allows; :meth:`ProductVersion.sellable_by` says whether a partner may sell it, and
why not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final, Protocol, TypeVar

import attrs

from leasekit.calc.schedule import METHODS
from leasekit.domain.access import CREATE_ROLES, ensure_may_create
from leasekit.domain.business import BusinessType
from leasekit.domain.clock import require_utc
from leasekit.domain.documents import DocumentKind
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.lifecycle import (
    Effect,
    Guard,
    Move,
    Stateful,
    StateMachine,
    not_by,
    row,
)
from leasekit.domain.partners import Partner, PartnerCapability, PartnerKind, PartnerRating
from leasekit.domain.validation import Checks, choice, is_whole_number, text
from leasekit.errors import AmountError, FieldError, ValidationError
from leasekit.money import Currency, Money, amount_in, currency

__all__ = [
    "MAX_TERM_MONTHS",
    "PRODUCT_AUTHORS",
    "PRODUCT_VERSION_LIFECYCLE",
    "PricedTerms",
    "Product",
    "ProductFee",
    "ProductState",
    "ProductTerms",
    "ProductVersion",
    "ProductVersionAction",
    "ProductVersionState",
    "ResidualRule",
    "Sellability",
    "product_terms_errors",
    "term_months_between",
]

T = TypeVar("T")

MAX_TERM_MONTHS: Final = 120
"""The longest term a product may offer: ten years."""
MAX_CODE: Final = 40
_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)

PRODUCT_AUTHORS: Final = CREATE_ROLES["product"]
"""Who writes products and publishes them (never their own draft)."""


class ProductState(StrEnum):
    """Where a product stands, by its versions."""

    DRAFT = "draft"
    """No version was ever published."""
    PUBLISHED = "published"
    """A published version is current: the product is on sale."""
    RETIRED = "retired"
    """Its last published version was retired and none replaced it: off sale."""


class ProductVersionState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class ProductVersionAction(StrEnum):
    PUBLISH = "publish"
    RETIRE = "retire"


class ResidualRule(StrEnum):
    """What a product says of a residual value (a balloon) at the end of the term."""

    NONE = "none"
    """The term amortises fully: no residual value."""
    ALLOWED = "allowed"
    """A residual value may be asked for, up to ``residual_max_ratio`` of the price."""
    REQUIRED = "required"
    """A residual value must be asked for, from ``residual_min_ratio`` to
    ``residual_max_ratio`` of the price (an operating lease's)."""


_V = ProductVersionState
_A = ProductVersionAction

PRODUCT_VERSION_LIFECYCLE: Final = StateMachine(
    "product_version",
    _V.DRAFT,
    (
        # Another manager or director than the author puts a product's terms on sale; the
        # version it replaces is retired in the same transaction.
        row(_A.PUBLISH, [_V.DRAFT], _V.PUBLISHED, PRODUCT_AUTHORS, "product_version_published"),
        # Taking a product off sale, or dropping a draft, says why.
        row(_A.RETIRE, [_V.DRAFT, _V.PUBLISHED], _V.RETIRED, PRODUCT_AUTHORS,
            "product_version_retired", True),
    ),
    final=frozenset({_V.RETIRED}),
    actions_enum=ProductVersionAction,
)  # fmt: skip


# --- the terms ------------------------------------------------------------------------------


def _decimal_or_none(value: object) -> object:
    return value if value is None or not isinstance(value, int | str) else Decimal(value)


@attrs.frozen
class ProductFee:
    """A fee the product charges: a fixed ``amount`` in the product's currency, or a
    ``rate`` (a fraction) of the amount financed before fees; ``financed`` (added to the
    principal) or paid up front; ``in_apr`` when it is a cost of credit the APR includes."""

    name: str = attrs.field(metadata={"max_length": 100})
    amount: Decimal | None = attrs.field(default=None, converter=_decimal_or_none)
    rate: Decimal | None = attrs.field(default=None, converter=_decimal_or_none)
    financed: bool = False
    in_apr: bool = True

    def charge(self, base: Money) -> Money:
        """What the fee comes to on a deal financing *base* (before fees), rounded half-up to
        the currency's minor unit when it is a rate."""
        if self.amount is not None:
            return Money(self.amount, base.currency)
        assert self.rate is not None  # a checked fee has one or the other
        quantum = base.currency.quantum
        return Money((base.amount * self.rate).quantize(quantum, "ROUND_HALF_UP"), base.currency)


def _ints(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _documents(values: Iterable[DocumentKind | str]) -> tuple[DocumentKind, ...]:
    return tuple(DocumentKind(value) for value in values)


def _kinds(values: Iterable[PartnerKind | str]) -> tuple[PartnerKind, ...]:
    return tuple(PartnerKind(value) for value in values)


def _fees(values: Iterable[ProductFee | Mapping[str, object]]) -> tuple[ProductFee, ...]:
    return tuple(fee if isinstance(fee, ProductFee) else ProductFee(**fee) for fee in values)  # type: ignore[arg-type]


def term_months_between(shortest: int, longest: int, step: int = 12) -> tuple[int, ...]:
    """The terms from *shortest* to *longest* months every *step* (12 to 60 by 12)."""
    return tuple(range(shortest, longest + 1, step))


@attrs.frozen
class ProductTerms:
    """Everything one version of a product allows, as written by its author.

    Rates and ratios are fractions (``0.0599`` is 5.99 %, ``0.2`` is 20 %). An empty
    ``partner_kinds`` admits partners of every kind; no ``min_partner_rating`` admits
    unrated partners too.
    """

    name: str
    currency: str
    annual_rate_min: Decimal
    annual_rate_max: Decimal
    term_months: tuple[int, ...] = attrs.field(
        converter=_ints,
        metadata={"description": "The terms offered, in months (12, 24, 36 ...)."},
    )
    min_down_payment_ratio: Decimal
    max_financed_ratio: Decimal
    schedule_methods: tuple[str, ...] = attrs.field(
        converter=_texts,
        metadata={"description": f"Among the calculator's: {', '.join(METHODS)}."},
    )
    fees: tuple[ProductFee, ...] = attrs.field(default=(), converter=_fees)
    residual: ResidualRule = attrs.field(default=ResidualRule.NONE, converter=ResidualRule)
    residual_min_ratio: Decimal | None = None
    residual_max_ratio: Decimal | None = None
    documents: tuple[DocumentKind, ...] = attrs.field(
        default=(),
        converter=_documents,
        metadata={"description": "The documents every application of the product brings."},
    )
    min_partner_rating: PartnerRating | None = attrs.field(
        default=None, converter=attrs.converters.optional(PartnerRating)
    )
    partner_kinds: tuple[PartnerKind, ...] = attrs.field(
        default=(),
        converter=_kinds,
        metadata={"description": "The kinds of partner that may sell it; empty for any."},
    )
    return_fee: Decimal | None = attrs.field(
        default=None,
        converter=_decimal_or_none,
        metadata={
            "description": "What a returned direct debit costs the customer, in the product's "
            "currency; the company's fee for the currency applies when left out."
        },
    )

    def checked(self) -> ProductTerms:
        """These terms, cleaned, if every rule holds; else one error naming each field."""
        checks = Checks()
        name = checks.run(lambda: text(self.name, "name"))
        cur = checks.run(lambda: _currency(self.currency))
        _check_rates(checks, self)
        _check_terms(checks, self.term_months)
        _check_ratio(checks, "min_down_payment_ratio", self.min_down_payment_ratio)
        _check_ratio(checks, "max_financed_ratio", self.max_financed_ratio, positive=True)
        methods = _check_methods(checks, self.schedule_methods)
        fees = self.fees if cur is None else _check_fees(checks, self.fees, cur)
        return_fee = (
            None if cur is None else _check_fee_amount(checks, "return_fee", self.return_fee, cur)
        )
        _check_residual(checks, self)
        _check_unique(checks, "documents", self.documents)
        _check_unique(checks, "partner_kinds", self.partner_kinds)
        if name is None or cur is None or checks.errors:
            raise checks.error()
        return attrs.evolve(
            self,
            name=name,
            currency=cur.code,
            term_months=tuple(sorted(self.term_months)),
            schedule_methods=methods,
            fees=fees,
            return_fee=return_fee,
        )


def _currency(code: str) -> Currency:
    try:
        return currency(code)
    except AmountError as exc:
        raise ValidationError.single("currency", str(exc)) from None


def _is_fraction(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _check_ratio(checks: Checks, field: str, value: object, *, positive: bool = False) -> None:
    if not _is_fraction(value):
        checks.add(field, "must be a decimal fraction such as 0.2")
        return
    assert isinstance(value, Decimal)
    low = "above 0" if positive else "from 0"
    if value > _ONE or value < _ZERO or (positive and value == _ZERO):
        checks.add(field, f"{value} is not a fraction {low} to 1")


def _check_rates(checks: Checks, terms: ProductTerms) -> None:
    lowest, highest = terms.annual_rate_min, terms.annual_rate_max
    for field, value in (("annual_rate_min", lowest), ("annual_rate_max", highest)):
        _check_ratio(checks, field, value)
    if _is_fraction(lowest) and _is_fraction(highest) and lowest > highest:
        checks.add("annual_rate_max", f"{highest} is below annual_rate_min {lowest}")


def _check_terms(checks: Checks, months: Sequence[object]) -> None:
    if not months:
        checks.add("term_months", "at least one term is needed")
    for month in months:
        if not is_whole_number(month) or not 1 <= month <= MAX_TERM_MONTHS:
            checks.add("term_months", f"{month!r} is not a term from 1 to {MAX_TERM_MONTHS}")
    if len(set(months)) != len(months):
        checks.add("term_months", "a term is listed twice")


def _check_methods(checks: Checks, methods: Sequence[str]) -> tuple[str, ...]:
    if not methods:
        checks.add("schedule_methods", "at least one method is needed")
    for method in methods:
        if method not in METHODS:
            checks.add("schedule_methods", f"{method!r} is not one of {', '.join(METHODS)}")
    _check_unique(checks, "schedule_methods", methods)
    return tuple(method for method in METHODS if method in methods)


def _check_unique(checks: Checks, field: str, values: Sequence[object]) -> None:
    if len(set(values)) != len(values):
        checks.add(field, "a value is listed twice")


def _check_fee_amount(
    checks: Checks, field: str, amount: Decimal | None, cur: Currency
) -> Decimal | None:
    """*amount* written to the currency's decimals, if it is one that is not negative."""
    if amount is None:
        return None
    try:
        written = amount_in(amount, cur, "amount")
    except AmountError as exc:
        checks.add(field, str(exc).removeprefix("amount: "))
        return amount
    if written < 0:
        checks.add(field, "must not be negative")
    return written


def _check_fees(
    checks: Checks, fees: Sequence[ProductFee], cur: Currency
) -> tuple[ProductFee, ...]:
    """The fees, their names cleaned and amounts written to the currency's decimals."""
    names = [fee.name for fee in fees]
    if len(set(names)) != len(names):
        checks.add("fees", "two fees have the same name")
    cleaned = []
    for index, fee in enumerate(fees):
        where = f"fees[{index}]"
        name = checks.run(lambda fee=fee, where=where: text(fee.name, f"{where}.name", 100))  # type: ignore[misc]
        if (fee.amount is None) == (fee.rate is None):
            checks.add(where, "give an amount or a rate: one of them")
        amount = _check_fee_amount(checks, f"{where}.amount", fee.amount, cur)
        if fee.rate is not None:
            _check_ratio(checks, f"{where}.rate", fee.rate)
        cleaned.append(attrs.evolve(fee, name=name or fee.name, amount=amount))
    return tuple(cleaned)


def _check_residual(checks: Checks, terms: ProductTerms) -> None:
    lowest, highest = terms.residual_min_ratio, terms.residual_max_ratio
    if terms.residual is ResidualRule.NONE:
        for field, value in (("residual_min_ratio", lowest), ("residual_max_ratio", highest)):
            if value is not None:
                checks.add(field, "a product without a residual value has no ratio for it")
        return
    if highest is None:
        checks.add("residual_max_ratio", f"required when the residual value is {terms.residual}")
    else:
        _check_ratio(checks, "residual_max_ratio", highest, positive=True)
    if terms.residual is ResidualRule.ALLOWED:
        if lowest is not None:
            checks.add("residual_min_ratio", "only a required residual value has a minimum")
        return
    if lowest is None:
        checks.add("residual_min_ratio", "required when the residual value is required")
        return
    _check_ratio(checks, "residual_min_ratio", lowest, positive=True)
    if _is_fraction(highest) and _is_fraction(lowest) and lowest > highest:  # type: ignore[operator]
        checks.add("residual_max_ratio", f"{highest} is below residual_min_ratio {lowest}")


# --- checking a request against the terms --------------------------------------------------


class PricedTerms(Protocol):
    """What a deal asks for, as a product checks it (an application's ``RequestedTerms``)."""

    @property
    def vehicle_price(self) -> Money: ...

    @property
    def down_payment(self) -> Money: ...

    @property
    def term_months(self) -> int: ...

    @property
    def annual_rate(self) -> Decimal: ...

    @property
    def residual_value(self) -> Money | None: ...


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f}%"


def _listed(values: Iterable[object]) -> str:
    return ", ".join(str(value) for value in values)


def product_terms_errors(
    terms: ProductTerms, requested: PricedTerms, schedule_method: str | None = None
) -> list[FieldError]:
    """Each field of *requested* outside *terms*, named with what the product allows
    (``term_months: 72 is not one of 12, 24, 36, 48, 60``); empty when the deal fits."""
    errors: list[FieldError] = []

    def fault(field: str, message: str) -> None:
        errors.append(FieldError(field, message))

    price, down = requested.vehicle_price, requested.down_payment
    if price.currency.code != terms.currency:
        fault("vehicle_price", f"the product is sold in {terms.currency}, not {price.currency}")
        return errors
    if requested.term_months not in terms.term_months:
        fault("term_months", f"{requested.term_months} is not one of {_listed(terms.term_months)}")
    rate = requested.annual_rate
    if not terms.annual_rate_min <= rate <= terms.annual_rate_max:
        fault(
            "annual_rate",
            f"{rate} is outside {terms.annual_rate_min} to {terms.annual_rate_max}",
        )
    if schedule_method is not None and schedule_method not in terms.schedule_methods:
        fault(
            "schedule_method",
            f"{schedule_method!r} is not one of {_listed(terms.schedule_methods)}",
        )
    if price.amount <= 0:
        return errors
    least_down = terms.min_down_payment_ratio * price.amount
    if down.amount < least_down:
        fault(
            "down_payment",
            f"{down.amount} is below the product's minimum of "
            f"{_percent(terms.min_down_payment_ratio)} of the price ({_money(least_down, price)})",
        )
    base = price - down
    financed = base + sum(
        (fee.charge(base) for fee in terms.fees if fee.financed), Money.zero(price.currency)
    )
    most = terms.max_financed_ratio * price.amount
    if financed.amount > most:
        fault(
            "amount_financed",
            f"{financed.amount} is above the product's maximum of "
            f"{_percent(terms.max_financed_ratio)} of the price ({_money(most, price)})",
        )
    _residual_errors(terms, requested.residual_value, price, fault)
    return errors


def _money(amount: Decimal, like: Money) -> str:
    return f"{amount.quantize(like.currency.quantum, 'ROUND_HALF_UP')} {like.currency.code}"


def _residual_errors(
    terms: ProductTerms, residual: Money | None, price: Money, fault: _Fault
) -> None:
    given = residual is not None and residual.amount > 0
    if terms.residual is ResidualRule.NONE:
        if given:
            fault("residual_value", "the product takes no residual value")
        return
    if not given:
        if terms.residual is ResidualRule.REQUIRED:
            fault("residual_value", f"required: {_residual_range(terms)} of the price")
        return
    assert residual is not None
    assert terms.residual_max_ratio is not None
    ratio = residual.amount / price.amount
    lowest = terms.residual_min_ratio or _ZERO
    if not lowest <= ratio <= terms.residual_max_ratio:
        fault(
            "residual_value",
            f"{residual.amount} is {_percent(ratio.quantize(Decimal('0.0001')))} of the price, "
            f"outside the product's {_residual_range(terms)}",
        )


def _residual_range(terms: ProductTerms) -> str:
    assert terms.residual_max_ratio is not None
    highest = _percent(terms.residual_max_ratio)
    if terms.residual_min_ratio is None:
        return f"up to {highest}"
    return f"{_percent(terms.residual_min_ratio)} to {highest}"


class _Fault(Protocol):
    def __call__(self, field: str, message: str, /) -> None: ...


# --- who may sell it ------------------------------------------------------------------------


@attrs.frozen
class Sellability:
    """Whether a partner may sell a version, and why not; true as a bool when it may."""

    allowed: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


_GRADES: Final = tuple(PartnerRating)
"""Best first: A is the best grade."""


def _sellable(terms: ProductTerms, partner: Partner) -> Sellability:
    if not partner.may(PartnerCapability.SUBMIT_APPLICATIONS):
        return Sellability(False, f"partner {partner.name} is {partner.state}: it may not sell")
    if terms.partner_kinds and partner.kind not in terms.partner_kinds:
        return Sellability(
            False,
            f"a {partner.kind} may not sell it; only {_listed(terms.partner_kinds)}",
        )
    wanted = terms.min_partner_rating
    if wanted is not None:
        grade = partner.rating
        if grade is None or _GRADES.index(grade) > _GRADES.index(wanted):
            has = f"rated {grade}" if grade is not None else "not rated"
            why = f"partner {partner.name} is {has}; it needs {wanted} or better"
            return Sellability(False, why)
    return Sellability(True)


# --- the aggregates -------------------------------------------------------------------------


@attrs.define
class Product:
    """A product's identity and where it stands: its code (unique, never changed), its
    business type, the name of its latest version, its current (published) version and its
    open draft, if any. ``latest`` numbers its versions."""

    id: str
    code: str
    business_type: BusinessType = attrs.field(converter=BusinessType)
    name: str
    state: ProductState = attrs.field(converter=ProductState)
    current_version_id: str | None
    draft_version_id: str | None
    latest: int
    created_by: str
    created_at: datetime
    version: int = 0

    @classmethod
    def create(
        cls,
        *,
        code: str,
        business_type: BusinessType | str,
        terms: ProductTerms,
        actor: Actor,
        at: datetime,
    ) -> tuple[Product, ProductVersion]:
        """A new product of *business_type* with its first draft version, every field
        checked (the terms' faults named by their fields)."""
        ensure_may_create(actor, "product")
        checks = Checks()
        valid_code = checks.run(lambda: _code(code))
        valid_type = checks.run(lambda: choice(BusinessType, business_type, "business_type"))
        valid_terms = checks.run(lambda: _within("terms", terms.checked))
        if valid_code is None or valid_type is None or valid_terms is None or checks.errors:
            raise checks.error()
        created_at = require_utc(at)
        product = cls(
            id=new_id(),
            code=valid_code,
            business_type=valid_type,
            name=valid_terms.name,
            state=ProductState.DRAFT,
            current_version_id=None,
            draft_version_id=None,
            latest=0,
            created_by=actor.user_id,
            created_at=created_at,
        )
        return product, product.draft(valid_terms, actor=actor, at=created_at)

    def revise(self, terms: ProductTerms, *, actor: Actor, at: datetime) -> ProductVersion:
        """A new draft version with *terms* (the product's code and type stay). The caller
        retires the draft it replaces, if there was one (:attr:`draft_version_id`)."""
        ensure_may_create(actor, "product")
        return self.draft(terms.checked(), actor=actor, at=require_utc(at))

    def draft(self, terms: ProductTerms, *, actor: Actor, at: datetime) -> ProductVersion:
        self.latest += 1
        made = ProductVersion(
            id=new_id(),
            product_id=self.id,
            number=self.latest,
            business_type=self.business_type,
            terms=terms,
            state=ProductVersionState.DRAFT,
            created_by=actor.user_id,
            created_at=at,
            published_by=None,
            published_at=None,
        )
        self.name = terms.name
        self.draft_version_id = made.id
        return made

    def published(self, version: ProductVersion) -> None:
        """*version* was published: it is current now."""
        self.current_version_id = version.id
        if self.draft_version_id == version.id:
            self.draft_version_id = None
        self.state = ProductState.PUBLISHED

    def retired(self, version: ProductVersion) -> None:
        """*version* was retired: off sale if it was current, no draft if it was the draft."""
        if self.current_version_id == version.id:
            self.current_version_id = None
            self.state = ProductState.RETIRED
        if self.draft_version_id == version.id:
            self.draft_version_id = None


def _within(prefix: str, check: Callable[[], T]) -> T:
    """*check*'s result; its field errors named inside *prefix* (``terms.term_months``)."""
    try:
        return check()
    except ValidationError as exc:
        raise ValidationError(
            [FieldError(f"{prefix}.{error.field}", error.message) for error in exc.errors]
        ) from None


def _code(value: str) -> str:
    code = text(value, "code", MAX_CODE).upper()
    if not all(char.isascii() and (char.isalnum() or char in "-_.") for char in code):
        raise ValidationError.single("code", f"{value!r}: letters, digits, '-', '_' and '.' only")
    return code


def _records_publisher(version: ProductVersion, step: Move) -> None:
    version.published_by = step.actor.user_id
    version.published_at = step.at


_NOT_THE_AUTHOR: Final = not_by(
    "created_by", "the author of a version may not publish it; another manager or director must"
)


@attrs.define
class ProductVersion(Stateful):
    """One version of a product's terms: written once, never changed (storage writes its
    terms on insert only); its state moves draft → published → retired."""

    id: str
    product_id: str
    number: int
    business_type: BusinessType = attrs.field(converter=BusinessType)
    terms: ProductTerms
    state: ProductVersionState = attrs.field(converter=ProductVersionState)
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    version: int = 0

    lifecycle: ClassVar[StateMachine[ProductVersionState]] = PRODUCT_VERSION_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("product_id", "number")
    guards: ClassVar[Mapping[str, Guard]] = {_A.PUBLISH: _NOT_THE_AUTHOR}
    effects: ClassVar[Mapping[str, Effect]] = {_A.PUBLISH: _records_publisher}

    def check(self, requested: PricedTerms, schedule_method: str | None = None) -> list[FieldError]:
        """Each field of *requested* outside this version's terms (:func:`product_terms_errors`)."""
        return product_terms_errors(self.terms, requested, schedule_method)

    def sellable_by(self, partner: Partner) -> Sellability:
        """Whether *partner* may sell this version now: it is published, the partner's state
        lets it submit applications, and its kind and grade are among those admitted (an
        unrated partner meets no minimum grade)."""
        if self.state is not ProductVersionState.PUBLISHED:
            return Sellability(False, f"version {self.number} is {self.state}, not on sale")
        return _sellable(self.terms, partner)
