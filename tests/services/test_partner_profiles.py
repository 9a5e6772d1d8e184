"""Revising a partner's profile on SQLite and PostgreSQL: at the version the caller read, by
the back office only, each change explained in a history the partner's dealers read too."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leasekit.demo import credit_code
from leasekit.domain.identity import Actor
from leasekit.domain.partner_profiles import (
    PROFILE_FIELDS,
    BankAccount,
    Contact,
    FieldChange,
    PartnerProfile,
    PostalAddress,
    profile_view,
    rebuilt_view,
)
from leasekit.domain.partners import Partner
from leasekit.errors import (
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from leasekit.services import partners
from leasekit.services.context import ServiceContext

ACCOUNT = BankAccount(scheme="iban", holder="Sunrise Motors", bank_name="Deutsche Bank",  # type: ignore[arg-type]
                      iban="DE89370400440532013000", primary=True)  # fmt: skip
CARD = BankAccount(scheme="cn_bank_card", holder="Sunrise Motors", bank_name="ICBC",  # type: ignore[arg-type]
                   card_number="6222021000000000009", primary=True)  # fmt: skip


def revise(
    ctx: ServiceContext,
    actor: Actor,
    partner: Partner,
    version: int | None = None,
    reason: str = "as the dealer wrote",
    **fields: object,
) -> Partner:
    """*partner*'s profile with *fields* changed, at *version*."""
    body = partners.ProfileChange(**(_profile(partner) | fields), reason=reason)  # type: ignore[arg-type]
    return partners.revise_partner(ctx, actor, partners.ProfileRevision(partner.id, body, version))


def history(ctx: ServiceContext, actor: Actor, partner_id: str) -> list[dict[str, object]]:
    page = partners.partner_history(ctx, actor, partner_id, limit=200)
    assert page.next_after is None
    return page.items


def test_a_revision_is_versioned_and_explained(
    ctx: ServiceContext, officer: Actor, partner: Partner
) -> None:
    revised = revise(
        ctx,
        officer,
        partner,
        partner.version,
        bank_accounts=(ACCOUNT,),
        legal_representative="Zhou Min",
        reason="first settlement account",
    )
    assert revised.version == partner.version + 1
    assert partners.get_partner(ctx, officer, partner.id) == revised
    first, last = history(ctx, officer, partner.id)
    assert (first["revision"], first["reason"]) == (0, "onboarded")
    assert first["changes"] == [{"field": "name", "before": None, "after": "Sunrise Motors"}]
    assert (last["revision"], last["reason"], last["actor_id"]) == (
        revised.version,
        "first settlement account",
        officer.user_id,
    )
    assert [c["field"] for c in last["changes"]] == ["legal_representative", "bank_accounts"]
    assert last["changes"][1]["after"][0]["iban"] == "****3000"
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("partner", partner.id)
    assert trail[-1].action == "partner_revised"
    assert trail[-1].details["payload"] == {"fields": "legal_representative,bank_accounts"}
    assert "0532013000" not in repr([entry.details for entry in trail])


def test_a_stale_version_changes_nothing(
    ctx: ServiceContext, officer: Actor, partner: Partner
) -> None:
    revise(ctx, officer, partner, partner.version, brands=("Buick",))
    with pytest.raises(StaleVersionError):
        revise(ctx, officer, partner, partner.version, brands=("Audi",))
    assert partners.get_partner(ctx, officer, partner.id).brands == ("Buick",)
    assert len(history(ctx, officer, partner.id)) == 2


def test_a_revision_is_refused_whole(ctx: ServiceContext, officer: Actor, partner: Partner) -> None:
    bad = BankAccount(scheme="us_aba", holder="S", bank_name="B", routing_number="011000016",  # type: ignore[arg-type]
                      account_number="1234", primary=False)  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        revise(ctx, officer, partner, bank_accounts=(ACCOUNT, bad), reason=" ")
    assert [e.field for e in caught.value.errors] == ["bank_accounts[1].routing_number", "reason"]
    with pytest.raises(DomainError, match="changes nothing"):
        revise(ctx, officer, partner)
    assert partners.get_partner(ctx, officer, partner.id) == partner


def test_dealers_do_not_edit_but_read_their_own_history(
    ctx: ServiceContext,
    officer: Actor,
    dealer: Actor,
    other_dealer: Actor,
    partner: Partner,
) -> None:
    with pytest.raises(PermissionDeniedError):
        revise(ctx, dealer, partner, brands=("Buick",))
    assert [r["revision"] for r in history(ctx, dealer, partner.id)] == [0]
    with pytest.raises(NotFoundError):
        partners.partner_history(ctx, other_dealer, partner.id)


def test_onboarding_takes_the_profile_as_revision_0(ctx: ServiceContext, officer: Actor) -> None:
    address = PostalAddress(line="1 Jiefang Ave", city="Wuhan", region="Hubei",
                            postal_code="430000", country="cn")  # fmt: skip
    command = partners.OnboardPartner(
        "Riverside Autos", credit_code("91420100MA4K5E6F7"), Decimal(0),
        contacts=(Contact(name="Zhou Min", role="owner", email="zhou@riverside.example"),),
        registered_address=address, bank_accounts=(CARD,),
    )  # fmt: skip
    partner = partners.onboard_partner(ctx, officer, command)
    assert partner.registered_address is not None
    assert partner.registered_address.country == "CN"
    [first] = history(ctx, officer, partner.id)
    assert [c["field"] for c in first["changes"]] == [
        "name", "contacts", "registered_address", "bank_accounts",
    ]  # fmt: skip
    assert first["changes"][3]["after"][0]["card_number"] == "****0009"


PROFILES = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Sunrise Motors", "Sunrise Motors Ltd"]),
        "legal_representative": st.sampled_from([None, "Zhou Min", "Li Ping"]),
        "brands": st.lists(st.sampled_from(["Buick", "Audi", "BYD"]), unique=True).map(tuple),
        "bank_accounts": st.sampled_from([(), (ACCOUNT,), (CARD,)]),
        "registered_address": st.sampled_from(
            [None, PostalAddress(line="8 Harbour Road", city="Shanghai", country="CN")]
        ),
    }
)
_codes = count(1)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(PROFILES, max_size=5))
def test_the_history_ends_at_the_partners_version_and_rebuilds_its_profile(
    ctx: ServiceContext, officer: Actor, steps: list[dict[str, object]]
) -> None:
    """Any sequence of revisions (those that change nothing are refused and leave no trace):
    the last revision is the partner's version, and applying every revision's changes to the
    empty profile gives the profile as the history shows it (account numbers masked)."""
    code = credit_code(f"91420100MA4K{next(_codes):05d}")
    partner = partners.onboard_partner(
        ctx, officer, partners.OnboardPartner("Sunrise Motors", code, Decimal(0))
    )
    for fields in steps:
        try:
            partner = revise(ctx, officer, partner, partner.version, **fields)
        except DomainError:
            assert partner.profile == PartnerProfile(**{**_profile(partner), **fields})  # type: ignore[arg-type]
    revisions = history(ctx, officer, partner.id)
    assert revisions[-1]["revision"] == partner.version
    changes = [tuple(FieldChange(**c) for c in r["changes"]) for r in revisions]  # type: ignore[attr-defined]
    assert rebuilt_view(changes) == profile_view(partner.profile)


def _profile(partner: Partner) -> dict[str, object]:
    return {field: getattr(partner, field) for field in PROFILE_FIELDS}
