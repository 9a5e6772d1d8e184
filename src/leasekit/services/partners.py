"""Onboarding partners (dealers), keeping their profiles up to date, moving them through their
lifecycle, and finding them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

from leasekit.domain.credit_limits import CreditLimit, opening_limit
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partner_profiles import (
    BankAccount,
    Contact,
    PartnerProfile,
    PostalAddress,
)
from leasekit.domain.partners import (
    PARTNER_LIFECYCLE,
    Partner,
    PartnerAction,
    PartnerCapability,
    PartnerKind,
    PartnerRating,
    PartnerState,
)
from leasekit.domain.validation import Checks
from leasekit.errors import NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.services.commands import Work, at_version, command, transition_command
from leasekit.services.context import ServiceContext, page_size, visible_or_not_found
from leasekit.services.partner_exit import exit_only_when_clear
from leasekit.services.partner_onboarding import approve_only_when_documented
from leasekit.services.reads import lister, number_cursor, reader
from leasekit.services.storage import Page, Record, UnitOfWork

__all__ = [
    "OnboardPartner",
    "PartnerQuery",
    "ProfileChange",
    "ProfileRevision",
    "get_partner",
    "list_partners",
    "load_partner_reference",
    "onboard_partner",
    "partner_history",
    "revise_partner",
    "settlement_change",
    "transition_partner",
]


@attrs.frozen
class OnboardPartner:
    """A partner to onboard; its profile beyond the name may follow later (``PUT``)."""

    name: str
    registration_number: str
    credit_limit: Decimal
    kind: PartnerKind = attrs.field(
        default=PartnerKind.NEW_CAR_DEALER,
        metadata={"description": "It decides the documents onboarding needs."},
    )
    country: str = "CN"
    rating: PartnerRating | None = None
    legal_representative: str | None = None
    contacts: tuple[Contact, ...] = ()
    registered_address: PostalAddress | None = None
    business_address: PostalAddress | None = None
    brands: tuple[str, ...] = ()
    bank_accounts: tuple[BankAccount, ...] = ()
    branch: str | None = attrs.field(default=None, metadata={"max_length": 32})

    @property
    def profile(self) -> PartnerProfile:
        return PartnerProfile(
            name=self.name,
            legal_representative=self.legal_representative,
            contacts=self.contacts,
            registered_address=self.registered_address,
            business_address=self.business_address,
            brands=self.brands,
            bank_accounts=self.bank_accounts,
            branch=self.branch,
        )


@attrs.frozen(kw_only=True)
class ProfileChange(PartnerProfile):
    """A partner's whole new profile, as entered, and why it changes."""

    reason: str = attrs.field(metadata={"max_length": 1000, "multiline": True})

    @property
    def profile(self) -> PartnerProfile:
        return PartnerProfile(**{
            field.name: getattr(self, field.name) for field in attrs.fields(PartnerProfile)
        })  # fmt: skip


@attrs.frozen
class ProfileRevision:
    """A new profile for the partner at the version the caller last saw (``If-Match``)."""

    id: str
    change: ProfileChange
    expected_version: int | None = None


@attrs.frozen
class PartnerQuery:
    """Which partners to list; every field left out matches all."""

    state: PartnerState | None = None
    rating: PartnerRating | None = None
    q: str | None = attrs.field(
        default=None, metadata={"description": "The start of the name, in any case."}
    )
    kind: PartnerKind | None = None
    created_from: date | None = None
    created_to: date | None = None
    id: str | None = None


@command(
    "onboard_partner",
    subject="partner",
    creates="partner",
    reload=lambda uow, partner_id: uow.partners.get(partner_id),
)
def onboard_partner(work: Work, request: OnboardPartner) -> Partner:
    """Onboard a partner.

    Back-office staff only (refused before the body is read). The company code is checked
    like a customer's id number (a unified social credit code in China), one partner per
    code. The credit limit, in the book currency, opens the partner's limit account
    (``/partners/{id}/credit-limit``), which changes afterwards only by approved requests.
    Its kind (a ``new_car_dealer`` unless given) decides the documents it must supply
    before it is approved (``/partners/{id}/onboarding-documents``). The partner starts as a
    ``prospect``. Its profile (representative, contacts, addresses, brands, settlement bank
    accounts) may be given now or later; what it is onboarded with is revision 0 of its
    history (``/partners/{id}/history``).
    """
    checks = Checks()
    partner = checks.run(
        lambda: Partner.onboard(
            name=request.name,
            registration_number=request.registration_number,
            country=request.country,
            kind=request.kind,
            rating=request.rating,
            profile=request.profile,
            actor=work.actor,
            at=work.at,
        )
    )
    limit = checks.run(lambda: opening_limit(Money(request.credit_limit, work.ctx.currency)))
    if partner is None or limit is None:
        raise checks.error()
    existing = work.uow.partners.find_by_registration_number(
        partner.country, partner.registration_number
    )
    if existing is not None:
        raise ValidationError.single(
            "registration_number", f"already onboarded as partner {existing.id}"
        )
    work.uow.partners.add(partner)
    work.uow.partner_revisions.add(partner.onboarding_revision(work.actor))
    work.uow.credit_limits.add(CreditLimit.open(partner.id, limit, work.at))
    work.event("partner_onboarded", "partner", partner.id, {"kind": str(partner.kind)})
    return partner


@command(
    "revise_partner",
    subject="partner",
    roles=frozenset({Role.OFFICER, Role.MANAGER}),
    reload=lambda uow, partner_id: uow.partners.get(partner_id),
)
def revise_partner(work: Work, request: ProfileRevision) -> Partner:
    """Revise a partner's profile.

    Replaces the whole profile (name, legal representative, contacts, addresses, brands,
    settlement bank accounts) with the one given, checked as at onboarding, and records why in
    the partner's history with each field's before and after (account numbers masked). The
    company code, country, state and rating do not change here. Credit officers and managers
    only; a dealer does not edit its own record. A revision that changes nothing is refused.
    """
    partner = at_version(
        "partner", request.id, work.uow.partners.get(request.id), request.expected_version
    )
    revision = partner.revise(
        request.change.profile, reason=request.change.reason, actor=work.actor, at=work.at
    )
    work.uow.partners.update(partner)
    work.uow.partner_revisions.add(revision)
    work.event(
        "partner_revised",
        "partner",
        partner.id,
        {"fields": ",".join(change.field for change in revision.changes)},
    )
    return partner


def settlement_change(partner: Partner, account: BankAccount, reason: str) -> ProfileChange:
    """*partner*'s profile with *account* as the one its payouts go into (a contract's payout
    needs it): the accounts it had stay, no longer primary, but one with the same number is
    replaced. Checked, as every profile is, when :func:`revise_partner` stores it."""
    kept = tuple(
        attrs.evolve(held, primary=False)
        for held in partner.bank_accounts
        if _number_key(held) != _number_key(account)
    )
    profile = attrs.evolve(
        partner.profile, bank_accounts=(attrs.evolve(account, primary=True), *kept)
    )
    return ProfileChange(**attrs.asdict(profile, recurse=False), reason=reason)


def _number_key(account: BankAccount) -> tuple[str, ...]:
    """What tells one account from another, however its numbers were spaced or cased."""
    numbers = (account.iban, account.card_number, account.routing_number, account.account_number)
    return (str(account.scheme), *("".join((n or "").split()).upper() for n in numbers))


transition_partner = transition_command(
    "partner",
    PARTNER_LIFECYCLE,
    lambda uow: uow.partners,
    after={
        PartnerAction.APPROVE: approve_only_when_documented,
        PartnerAction.EXIT: exit_only_when_clear,
    },
)
"""Apply a lifecycle action (``apply``, ``approve``, ``suspend``, ``blacklist`` ...);
``approve`` only once the onboarding checklist is complete, ``exit`` once the exit review is
clear."""


def _own_partner(actor: Actor, query: PartnerQuery) -> PartnerQuery | None:
    """A dealer user's query confined to its own partner (None when it asks for another)."""
    if not actor.is_dealer:
        return query
    if query.id not in (None, actor.partner_id):
        return None
    return attrs.evolve(query, id=actor.partner_id)


get_partner = reader(
    "get_partner",
    "partner",
    lambda uow: uow.partners,
    """Get a partner.

    Another partner reads as missing to a dealer user, like a missing one.""",
)
list_partners = lister(
    "list_partners",
    PartnerQuery,
    lambda uow: uow.partners,
    _own_partner,
    """List partners.

    Back-office staff see all; a dealer user sees only its own partner.""",
)


def partner_history(
    ctx: ServiceContext,
    actor: Actor,
    partner_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List the revisions of a partner's profile.

    Oldest first, from revision 0 (the profile it was onboarded with): each with who changed
    it, when, why, and every field changed with its value before and after; bank account
    numbers show their last four characters only. A revision's number is the version it gave
    the partner (lifecycle moves take versions too, so numbers may skip). A dealer user reads
    its own partner's history.
    """
    since = number_cursor(after)
    with ctx.uow_factory() as uow:
        visible_or_not_found(actor, uow.partners.get(partner_id), "partner", partner_id)
        return uow.partner_revisions.history(partner_id, after=since, limit=page_size(limit))


def load_partner_reference(
    uow: UnitOfWork,
    actor: Actor,
    partner_id: str,
    capability: PartnerCapability | None = None,
) -> Partner:
    """The partner a command names, as a field error if it does not exist for the actor; with
    *capability*, refused unless the partner's state grants it (a blacklisted dealer's staff
    register nothing)."""
    try:
        partner = visible_or_not_found(actor, uow.partners.get(partner_id), "partner", partner_id)
    except NotFoundError:
        raise ValidationError.single("partner_id", f"no partner {partner_id!r}") from None
    if capability is not None:
        partner.require(capability)
    return partner
