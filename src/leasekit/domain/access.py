"""Object-level access: which objects an actor may see, create and act on.

Roles say what kind of work someone does (:mod:`leasekit.domain.lifecycle`); this module says
on which objects. The company's own staff see everything. A dealer user sees only objects that
belong to its partner: applications and contracts it originated, and the customers, vehicles
and documents its users entered, which is why those carry a ``partner_id`` too (``None`` when
the back office entered them, so no dealer sees them). Objects with no partner at all
(vouchers, approval tasks, payments, exception requests) are back-office only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol, runtime_checkable

from leasekit.domain.identity import BACK_OFFICE, REVIEWERS, Actor, Role
from leasekit.errors import PermissionDeniedError, ValidationError

__all__ = [
    "CREATE_ROLES",
    "ObjectPermissionError",
    "PartnerScoped",
    "ensure_may_act",
    "ensure_may_create",
    "owner_partner_id",
    "visible_to",
]


@runtime_checkable
class PartnerScoped(Protocol):
    """An object that belongs to one partner, or to none (``None``)."""

    @property
    def partner_id(self) -> str | None: ...


class ObjectPermissionError(PermissionDeniedError):
    """The role may perform the action in general, but not this actor on this object."""

    def __init__(self, machine: str, action: str, role: str, why: str) -> None:
        super().__init__(machine, action, role)
        self.why = why
        self.args = (f"{role} {action} on this {machine} refused: {why}",)


def visible_to(actor: Actor, obj: object) -> bool:
    """True when *actor* may see *obj*. Services answer "not found" otherwise."""
    if actor.role in BACK_OFFICE:
        return True
    return (
        isinstance(obj, PartnerScoped)
        and obj.partner_id is not None
        and obj.partner_id == actor.partner_id
    )


def ensure_may_act(actor: Actor, obj: object, kind: str, action: str) -> None:
    """Refuse an action on an object the actor may not even see."""
    if not visible_to(actor, obj):
        raise ObjectPermissionError(kind, action, actor.role.value, "it belongs to another partner")


CREATE_ROLES: Final[Mapping[str, frozenset[Role]]] = {
    "user": frozenset({Role.ADMIN}),
    "customer": frozenset({Role.DEALER_USER, Role.OFFICER, Role.MANAGER}),
    "vehicle": frozenset({Role.DEALER_USER, Role.OFFICER, Role.MANAGER}),
    "partner": frozenset({Role.OFFICER, Role.MANAGER, Role.DIRECTOR}),
    "application": frozenset({Role.DEALER_USER, Role.OFFICER}),
    "document": BACK_OFFICE - {Role.ADMIN} | {Role.DEALER_USER},
    "approval_task": frozenset({Role.SYSTEM, Role.MANAGER, Role.DIRECTOR}),
    "contract": frozenset({Role.OFFICER, Role.SYSTEM}),
    "payment": frozenset({Role.FINANCE, Role.SYSTEM}),
    # Mandates are taken by whoever deals with the customer after the contract: the
    # officer at signing, finance or post-loan staff later.
    "mandate": frozenset({Role.OFFICER, Role.FINANCE, Role.POST_LOAN_SUPERVISOR}),
    "settlement_quote": frozenset(
        {Role.OFFICER, Role.FINANCE, Role.POST_LOAN_SUPERVISOR, Role.DEALER_USER}
    ),
    # Debit runs and the bank's result files are finance's (or the scheduler's).
    "debit_run": frozenset({Role.FINANCE, Role.SYSTEM}),
    "voucher": frozenset({Role.FINANCE, Role.SYSTEM}),
    "exception_request": frozenset({Role.OFFICER, Role.FINANCE}),
    # Disbursement and settlement move a partner's limit as the system or finance; a
    # manual adjustment is a manager's or director's.
    "limit_movement": frozenset({Role.MANAGER, Role.DIRECTOR, Role.FINANCE, Role.SYSTEM}),
    # A signed contract enters the payout queue by itself.
    "disbursement": frozenset({Role.SYSTEM}),
    "limit_request": frozenset(
        {Role.OFFICER, Role.MANAGER, Role.DIRECTOR, Role.POST_LOAN_SUPERVISOR}
    ),
    # Collections, credit management and risk all meet fraud; the system lists a partner
    # when its lifecycle blacklists it.
    "blacklist_entry": frozenset(
        {Role.POST_LOAN_SUPERVISOR, Role.MANAGER, Role.DIRECTOR, Role.SYSTEM}
    ),
    # A grade set by hand is asked for by those who know the dealer, and approved above them
    # (:mod:`leasekit.domain.partner_ratings`); a director has nobody above.
    "rating_override": frozenset({Role.OFFICER, Role.MANAGER, Role.POST_LOAN_SUPERVISOR}),
    # Credit rules are the managers' and directors' to write (and another of them publishes).
    "rule_set_version": frozenset({Role.MANAGER, Role.DIRECTOR}),
    # The system flags applications for review when something about them changes.
    "review_flag": frozenset({Role.SYSTEM}),
    # Whoever reviews documents may find them wanting.
    "document_defect": REVIEWERS,
    # Products are the company's pricing: written and published by managers and directors,
    # never published by the one who wrote the version (:mod:`leasekit.domain.products`).
    "product": frozenset({Role.MANAGER, Role.DIRECTOR}),
}
"""Who may create each kind of object. Admins manage users and make no business records."""


def ensure_may_create(actor: Actor, kind: str) -> None:
    if actor.role not in CREATE_ROLES[kind]:
        raise PermissionDeniedError(kind, "create", actor.role.value)


def owner_partner_id(actor: Actor, requested: str | None = None) -> str | None:
    """The partner a new object belongs to: a dealer user's own, else what was *requested*.

    A dealer user naming another partner is an input error, not a silent correction.
    """
    if not actor.is_dealer:
        return requested
    if requested not in (None, actor.partner_id):
        raise ValidationError.single(
            "partner_id", "a dealer user creates objects for its own partner only"
        )
    return actor.partner_id
