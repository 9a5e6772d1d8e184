"""A partner's credit limit: how much business it may have outstanding, and what uses it.

Each partner has one :class:`CreditLimit` account. Its **limit** on a business date is the
standing ``total`` plus a ``temporary`` addition while that is in force (through
``temporary_until``). Against it stand the amounts **used** (financed business outstanding:
disbursement takes, settlement releases) and **frozen** (reserved for business on its way, an
approved application awaiting payout). What is left is **available**::

    used + frozen + available = limit        (on every business date, always)

Every change of use is a :class:`LimitMovement` under a caller's **reference** (``contract:…``,
``application:…``, a manual adjustment's own): a take, release, freeze or unfreeze, with the
signed changes it made to ``used`` and ``frozen``. A reference's outstanding use is the sum of
its movements, so a release can never give back more than its reference took, and a take for a
reference that froze an amount first consumes the reservation.

A take or freeze beyond the available amount is refused with the numbers
(:class:`LimitExceededError`). ``available`` is negative only when the limit itself fell below
what is in use (a temporary limit expired, a standing limit was cut): the partner is then over
its limit by that much and nothing new can be taken until releases bring it back.

The limit itself changes only through a :class:`LimitRequest` that someone other than the
requester approves; a larger increase than the company's threshold needs a director
(:class:`LimitPolicy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import CREATE_ROLES, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import (
    MAX_REASON,
    Effect,
    Guard,
    RequestAction,
    RequestState,
    Stateful,
    StateMachine,
    not_by,
    only_by,
    records_actor,
    request_lifecycle,
)
from leasekit.domain.partners import PartnerRating
from leasekit.domain.validation import Checks, choice, money_amount, text
from leasekit.errors import DomainError, ValidationError
from leasekit.money import HALF_UP, Money

__all__ = [
    "DEFAULT_LIMIT_BANDS",
    "LIMIT_REQUEST_LIFECYCLE",
    "CreditLimit",
    "LimitExceededError",
    "LimitMovement",
    "LimitMovementKind",
    "LimitPolicy",
    "LimitPosition",
    "LimitRequest",
    "LimitRequestAction",
    "LimitRequestKind",
    "LimitRequestState",
    "Outstanding",
    "increase_of",
    "opening_limit",
    "zero_in",
]

MAX_REFERENCE: Final = 100
"""A reference names one piece of business (``contract:<id>``): short, never a document."""


class LimitExceededError(DomainError):
    """A take or freeze larger than what the partner has available; says every figure."""


class LimitMovementKind(StrEnum):
    TAKE = "take"
    """Business financed: used grows (by consuming the reference's frozen amount first)."""
    RELEASE = "release"
    """Business repaid or settled: used shrinks, at most by what the reference took."""
    FREEZE = "freeze"
    """Business on its way reserves part of the limit: frozen grows."""
    UNFREEZE = "unfreeze"
    """A reservation no longer needed: frozen shrinks, at most by the reference's."""

    @property
    def uses_availability(self) -> bool:
        """Whether the movement consumes what is available, and so is checked against it."""
        return self in (LimitMovementKind.TAKE, LimitMovementKind.FREEZE)


@attrs.frozen
class Outstanding:
    """What one reference holds of a limit now: the sum of its movements' changes."""

    used: Money
    frozen: Money

    @classmethod
    def of(cls, movements: Iterable[LimitMovement], zero: Money) -> Outstanding:
        used, frozen = zero, zero
        for movement in movements:
            used += movement.used_change
            frozen += movement.frozen_change
        return cls(used, frozen)


@attrs.frozen
class LimitPosition:
    """A limit account's figures on one business date, as users read them."""

    partner_id: str
    as_of: date
    limit: Money
    """The standing total plus the temporary addition in force on ``as_of``."""
    total: Money
    temporary: Money
    temporary_until: date | None
    used: Money
    frozen: Money
    available: Money
    """``limit - used - frozen``; negative only when the limit fell below what is in use."""
    version: int

    @property
    def id(self) -> str:
        return self.partner_id

    def describe(self) -> str:
        """Every figure, for messages that must say why."""
        return (
            f"limit {_figure(self.limit)} (total {_figure(self.total)} + temporary "
            f"{_figure(self.temporary_in_force)}), used {_figure(self.used)}, frozen "
            f"{_figure(self.frozen)}, available {_figure(self.available)} "
            f"{self.limit.currency.code}"
        )

    @property
    def temporary_in_force(self) -> Money:
        return self.limit - self.total


def _figure(money: Money) -> str:
    return f"{money.amount:,}"


@attrs.define
class CreditLimit:
    """A partner's limit account (its id is the partner's: one account per partner).

    Storage updates it by compare-and-set on ``version``, so two takes racing for the last
    available amount cannot both succeed: the loser re-reads and is checked again.
    """

    id: str
    total: Money
    temporary: Money
    temporary_until: date | None
    used: Money
    frozen: Money
    updated_at: datetime
    version: int = 0

    @classmethod
    def open(cls, partner_id: str, total: Money, at: datetime) -> CreditLimit:
        """The account of a partner being onboarded, nothing used yet."""
        valid = opening_limit(total)
        zero = zero_in(valid)
        return cls(partner_id, valid, zero, None, zero, zero, require_utc(at))

    @property
    def partner_id(self) -> str:
        return self.id

    def limit(self, on: date) -> Money:
        """The standing total, plus the temporary addition while it is in force."""
        if self.temporary_until is not None and on <= self.temporary_until:
            return self.total + self.temporary
        return self.total

    def position(self, on: date) -> LimitPosition:
        limit = self.limit(on)
        available = limit - self.used - self.frozen
        return LimitPosition(
            self.id, on, limit, self.total, self.temporary, self.temporary_until,
            self.used, self.frozen, available, self.version,
        )  # fmt: skip

    def move(
        self,
        kind: LimitMovementKind,
        reference: str,
        amount: Money,
        outstanding: Outstanding,
        *,
        actor: Actor,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> LimitMovement:
        """Apply one movement under *reference* (whose holdings are *outstanding*) and
        return its record; refuses, changing nothing, what the figures do not allow."""
        ensure_may_create(actor, "limit_movement")
        checked = _movement_input(kind, reference, amount, reason, self.total)
        used_change, frozen_change = _changes(checked.kind, checked.amount, outstanding)
        if checked.kind.uses_availability:
            self._require_available(checked, used_change + frozen_change, business_date)
        self.used += used_change
        self.frozen += frozen_change
        self.updated_at = require_utc(at)
        return LimitMovement(
            id=new_id(),
            partner_id=self.id,
            kind=checked.kind,
            reference=checked.reference,
            amount=checked.amount,
            used_change=used_change,
            frozen_change=frozen_change,
            used_after=self.used,
            frozen_after=self.frozen,
            reason=checked.reason,
            actor_id=actor.user_id,
            created_at=self.updated_at,
            business_date=business_date,
        )

    def _require_available(self, movement: _MovementInput, growth: Money, on: date) -> None:
        position = self.position(on)
        if growth > position.available:
            raise LimitExceededError(
                f"{movement.kind} of {_figure(movement.amount)} "
                f"{movement.amount.currency.code} for {movement.reference!r} refused: it needs "
                f"{_figure(growth)} and the partner has {position.describe()}"
            )

    def set_total(self, total: Money, at: datetime) -> None:
        self.total = total
        self.updated_at = require_utc(at)

    def set_temporary(self, amount: Money, until: date, at: datetime) -> None:
        """A temporary addition in force through *until* (it replaces any earlier one)."""
        self.temporary = amount
        self.temporary_until = until
        self.updated_at = require_utc(at)

    def end_temporary(self, on: date, at: datetime) -> Money | None:
        """Take off a temporary addition no longer in force on *on*, so that the account
        shows the limit that stands; the addition it was, or None if none had ended."""
        if self.temporary_until is None or on <= self.temporary_until:
            return None
        ended = self.temporary
        self.temporary, self.temporary_until = zero_in(ended), None
        self.updated_at = require_utc(at)
        return ended


def opening_limit(total: Money) -> Money:
    """*total* checked as the limit a partner is onboarded with (its ``credit_limit``)."""
    valid = money_amount(total, "credit_limit")
    if valid.amount < 0:
        raise ValidationError.single("credit_limit", "must not be negative")
    return valid


@attrs.frozen
class _MovementInput:
    kind: LimitMovementKind
    reference: str
    amount: Money
    reason: str | None


def _movement_input(
    kind: LimitMovementKind | str,
    reference: str,
    amount: Money,
    reason: str | None,
    total: Money,
) -> _MovementInput:
    """The movement's fields checked together, every fault named by its field."""
    checks = Checks()
    valid_kind = checks.run(lambda: choice(LimitMovementKind, kind, "kind"))
    valid_reference = checks.run(lambda: text(reference, "reference", MAX_REFERENCE))
    valid_amount = checks.run(lambda: money_amount(amount, "amount", total.currency))
    if valid_amount is not None and valid_amount.amount <= 0:
        checks.add("amount", "must be positive")
    valid_reason = None
    if reason is not None:
        valid_reason = checks.run(lambda: text(reason, "reason", MAX_REASON))
    if valid_kind is None or valid_reference is None or valid_amount is None or checks.errors:
        raise checks.error()
    return _MovementInput(valid_kind, valid_reference, valid_amount, valid_reason)


def zero_in(amount: Money) -> Money:
    """Nothing, in *amount*'s currency and written to its decimals (``0.00``)."""
    return Money.zero(amount.currency).quantize(HALF_UP)


def _changes(
    kind: LimitMovementKind, amount: Money, outstanding: Outstanding
) -> tuple[Money, Money]:
    """(change of used, change of frozen) for one movement under a reference."""
    zero = zero_in(amount)
    if kind is LimitMovementKind.TAKE:
        consumed = min(amount, outstanding.frozen, key=lambda money: money.amount)
        return amount, -consumed if consumed.amount else zero
    if kind is LimitMovementKind.FREEZE:
        return zero, amount
    held = outstanding.used if kind is LimitMovementKind.RELEASE else outstanding.frozen
    if amount > held:
        what = "used" if kind is LimitMovementKind.RELEASE else "frozen"
        raise ValidationError.single(
            "amount",
            f"{kind} of {_figure(amount)} is more than the {_figure(held)} this reference has "
            f"{what}",
        )
    return (-amount, zero) if kind is LimitMovementKind.RELEASE else (zero, -amount)


@attrs.frozen
class LimitMovement:
    """One change of a partner's use of its limit, as it happened (never changed after)."""

    id: str
    partner_id: str
    kind: LimitMovementKind = attrs.field(converter=LimitMovementKind)
    reference: str
    amount: Money
    used_change: Money
    frozen_change: Money
    used_after: Money
    frozen_after: Money
    reason: str | None
    actor_id: str
    created_at: datetime
    business_date: date


# --- changing the limit itself ---------------------------------------------------------------


DEFAULT_LIMIT_BANDS: Final[Mapping[PartnerRating, Decimal]] = {
    PartnerRating.A: Decimal(20_000_000),
    PartnerRating.B: Decimal(10_000_000),
    PartnerRating.C: Decimal(5_000_000),
    PartnerRating.D: Decimal(1_000_000),
}
"""The limit bands leasekit ships with, in the company's currency; settings replace them."""


@attrs.frozen
class LimitPolicy:
    """Who may approve which change of a limit. An increase larger than
    ``director_threshold`` (standing or temporary) needs a director, and so does one that
    takes the limit above the **band** of the partner's grade (an unrated partner has D's):
    the rating sets how far a manager may go. Any other change is a manager's or a
    director's. Nobody approves their own request."""

    director_threshold: Decimal = Decimal(1_000_000)
    bands: Mapping[PartnerRating, Decimal] = DEFAULT_LIMIT_BANDS

    def band(self, grade: PartnerRating | None) -> Decimal:
        """The highest limit a manager may approve for a partner of *grade*."""
        return self.bands[grade or PartnerRating.D]

    def approver_roles(
        self, increase: Money, limit_after: Money, grade: PartnerRating | None
    ) -> frozenset[Role]:
        if increase.amount > self.director_threshold or (
            increase.amount > 0 and limit_after.amount > self.band(grade)
        ):
            return frozenset({Role.DIRECTOR})
        return frozenset({Role.MANAGER, Role.DIRECTOR})


class LimitRequestKind(StrEnum):
    STANDING = "standing"
    """A new standing total."""
    TEMPORARY = "temporary"
    """An addition to the total, in force through a date (a season, a promotion)."""


LimitRequestState = RequestState
LimitRequestAction = RequestAction
"""A limit change is a request another person decides (:func:`request_lifecycle`)."""

_A = LimitRequestAction
_REQUESTERS: Final = CREATE_ROLES["limit_request"]
_DECIDERS: Final = (Role.MANAGER, Role.DIRECTOR)

LIMIT_REQUEST_LIFECYCLE: Final = request_lifecycle("limit_request", _REQUESTERS, _DECIDERS)


_NOT_THE_REQUESTER: Final = not_by(
    "requested_by", "requesters may not decide their own request; another person must"
)
"""A decision is somebody else's than the requester's (who may only cancel)."""


@attrs.define
class LimitRequest(Stateful):
    """A requested change of a partner's limit, and who decided it.

    ``increase`` is how much the change would add to the partner's limit as it stood when
    requested (zero for a cut); approval weighs it again against the limit of that day.
    """

    id: str
    partner_id: str
    kind: LimitRequestKind = attrs.field(converter=LimitRequestKind)
    amount: Money
    """The new standing total, or the temporary addition."""
    until: date | None
    """Through when a temporary addition is in force."""
    increase: Money
    reason: str
    requested_by: str
    decided_by: str | None
    state: LimitRequestState = attrs.field(converter=RequestState)
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[LimitRequestState]] = LIMIT_REQUEST_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("partner_id", "kind", "amount", "until")
    guards: ClassVar[Mapping[str, Guard]] = {
        _A.APPROVE: _NOT_THE_REQUESTER,
        _A.REJECT: _NOT_THE_REQUESTER,
        _A.CANCEL: only_by("requested_by", "only the requester may cancel"),
    }
    effects: ClassVar[Mapping[str, Effect]] = {
        _A.APPROVE: records_actor("decided_by"),
        _A.REJECT: records_actor("decided_by"),
    }

    @classmethod
    def new(
        cls,
        *,
        account: CreditLimit,
        kind: LimitRequestKind | str,
        amount: Money,
        reason: str,
        actor: Actor,
        at: datetime,
        business_date: date,
        until: date | None = None,
    ) -> LimitRequest:
        """A request to change *account*'s limit, checked field by field."""
        ensure_may_create(actor, "limit_request")
        checks = Checks()
        valid_kind = checks.run(lambda: choice(LimitRequestKind, kind, "kind"))
        valid_amount = checks.run(lambda: money_amount(amount, "amount", account.total.currency))
        valid_reason = checks.run(lambda: text(reason, "reason", MAX_REASON))
        if valid_amount is not None and valid_amount.amount < 0:
            checks.add("amount", "must not be negative")
        if valid_kind is LimitRequestKind.TEMPORARY:
            _check_temporary(checks, valid_amount, until, business_date)
        elif valid_kind is LimitRequestKind.STANDING and until is not None:
            checks.add("until", "only a temporary limit has an end date")
        if valid_kind is None or valid_amount is None or valid_reason is None or checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            partner_id=account.id,
            kind=valid_kind,
            amount=valid_amount,
            until=until,
            increase=increase_of(account, valid_kind, valid_amount, business_date),
            reason=valid_reason,
            requested_by=actor.user_id,
            decided_by=None,
            state=LimitRequestState.REQUESTED,
            created_at=require_utc(at),
        )

    def apply_to(self, account: CreditLimit, at: datetime) -> None:
        """Put the approved change into effect on *account*."""
        if self.kind is LimitRequestKind.STANDING:
            account.set_total(self.amount, at)
        else:
            assert self.until is not None  # a temporary request always has one
            account.set_temporary(self.amount, self.until, at)


def _check_temporary(
    checks: Checks, amount: Money | None, until: date | None, business_date: date
) -> None:
    if amount is not None and amount.amount == 0:
        checks.add("amount", "a temporary addition must be positive")
    if until is None:
        checks.add("until", "a temporary limit needs the last date it is in force")
    elif until < business_date:
        checks.add("until", f"{until} is before the business date {business_date}")


def increase_of(account: CreditLimit, kind: LimitRequestKind, amount: Money, on: date) -> Money:
    """How much a change would raise *account*'s limit in force on *on* (zero for a cut): a
    new standing total keeps the temporary addition in force, a temporary one replaces it."""
    before = account.limit(on)
    in_force = before - account.total
    after = amount + in_force if kind is LimitRequestKind.STANDING else account.total + amount
    return max(after - before, zero_in(amount), key=lambda money: money.amount)
