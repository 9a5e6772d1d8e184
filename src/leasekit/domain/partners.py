"""Partners: the dealers and brokers that bring business, and what their state allows.

A partner's lifecycle (:data:`~leasekit.domain.lifecycle.PARTNER_LIFECYCLE`) decides what it
may do; :meth:`Partner.may` answers from the capability table in the same module, so that
"a blacklisted partner cannot submit applications" is a table row, not a scattered ``if``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import attrs

from leasekit.domain.access import ensure_may_act, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.customers import CustomerKind, validate_id_number
from leasekit.domain.events import StateChanged
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.lifecycle import (
    PARTNER_CAPABILITIES,
    PARTNER_LIFECYCLE,
    PartnerCapability,
    PartnerState,
    change_state,
)
from leasekit.domain.validation import (
    Checks,
    choice,
    country_code,
    money_amount,
    non_negative,
    text,
)
from leasekit.errors import DomainError
from leasekit.money import Money

__all__ = ["Partner", "PartnerCapability", "PartnerRating", "PartnerState"]


class PartnerRating(StrEnum):
    """The company's internal grade of a partner, A best; it sets limits and pricing."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


def _rating(value: PartnerRating | str | None) -> PartnerRating | None:
    return None if value is None else PartnerRating(value)


@attrs.define
class Partner:
    """A dealer or broker. ``registration_number`` is its company code (a USCC in China)."""

    id: str
    name: str
    country: str
    registration_number: str
    credit_limit: Money
    """The most the partner may have outstanding in guaranteed or pending business."""
    rating: PartnerRating | None = attrs.field(converter=_rating)
    state: PartnerState = attrs.field(converter=PartnerState)
    created_at: datetime
    version: int = 0

    @classmethod
    def onboard(
        cls,
        *,
        name: str,
        registration_number: str,
        credit_limit: Money,
        actor: Actor,
        at: datetime,
        country: str = "CN",
        rating: PartnerRating | str | None = None,
    ) -> Partner:
        """A new partner in state ``prospect``, its company code checked like a customer's."""
        ensure_may_create(actor, "partner")
        checks = Checks()
        valid_name = checks.run(lambda: text(name, "name"))
        valid_country = checks.run(lambda: country_code(country))
        number = None
        if valid_country is not None:
            number = checks.run(
                lambda: validate_id_number(
                    valid_country, CustomerKind.COMPANY, registration_number, "registration_number"
                )
            )
        limit = checks.run(lambda: money_amount(credit_limit, "credit_limit"))
        if limit is not None:
            checks.run(lambda: non_negative(limit, "credit_limit"))
        valid_rating = None
        if rating is not None:
            valid_rating = checks.run(lambda: choice(PartnerRating, rating, "rating"))
        if (
            valid_name is None
            or valid_country is None
            or number is None
            or limit is None
            or checks.errors
        ):
            raise checks.error()
        return cls(
            id=new_id(),
            name=valid_name,
            country=valid_country,
            registration_number=number,
            credit_limit=limit,
            rating=valid_rating,
            state=PartnerState.PROSPECT,
            created_at=require_utc(at),
        )

    @property
    def partner_id(self) -> str:
        """A partner belongs to itself: its dealer users see it and nothing of other partners."""
        return self.id

    @property
    def blacklisted(self) -> bool:
        return self.state is PartnerState.BLACKLISTED

    def may(self, capability: PartnerCapability | str) -> bool:
        """Whether the partner's current state grants *capability*."""
        return self.state in PARTNER_CAPABILITIES[PartnerCapability(capability)]

    def require(self, capability: PartnerCapability | str) -> None:
        """Refuse work the partner's state does not allow (a suspended dealer submitting)."""
        if not self.may(capability):
            raise DomainError(f"partner {self.name!r} is {self.state} and may not {capability}")

    def apply(
        self,
        action: str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        """Move the partner along its lifecycle; dealer users act only on their own partner."""
        ensure_may_act(actor, self, PARTNER_LIFECYCLE.name, action)
        target, event = change_state(
            PARTNER_LIFECYCLE,
            self.id,
            self.state,
            action,
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
        )
        self.state = PartnerState(target)
        return event
