"""The exposure by grade (what the workbench's partner list draws) over every partner, on
SQLite and PostgreSQL; the profile that sets a partner's settlement account; and partners
listed by kind."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import attrs
import pytest

from leasekit.demo import credit_code
from leasekit.domain.clock import FixedClock
from leasekit.domain.credit_limits import LimitRequestKind
from leasekit.domain.identity import Actor
from leasekit.domain.partner_profiles import BankAccount, BankScheme
from leasekit.domain.partners import Partner, PartnerKind, PartnerRating
from leasekit.errors import PermissionDeniedError
from leasekit.services import credit_limits, partners
from leasekit.services.context import ServiceContext
from leasekit.services.credit_limits import AdjustCreditLimit, RequestLimitChange

IBAN = "DE89370400440532013000"


def adjust(ctx: ServiceContext, actor: Actor, partner: Partner, kind: str, amount: str) -> None:
    request = AdjustCreditLimit(partner.id, kind, f"c:{kind}", Decimal(amount), "test")  # type: ignore[arg-type]
    credit_limits.adjust_credit_limit(ctx, actor, request)


def by_grade(ctx: ServiceContext, actor: Actor) -> dict[str | None, tuple[int, str, str, str]]:
    return {
        None if row.grade is None else row.grade.value: (
            row.partners, str(row.limit.amount), str(row.used.amount), str(row.frozen.amount)
        )
        for row in credit_limits.exposure_by_grade(ctx, actor)
    }  # fmt: skip


def test_the_exposure_adds_up_every_partner_by_grade(
    ctx: ServiceContext,
    officer: Actor,
    manager: Actor,
    partner: Partner,
    other_partner: Partner,
) -> None:
    adjust(ctx, manager, partner, "take", "1000.10")
    adjust(ctx, manager, other_partner, "freeze", "20.02")
    prospect = partners.OnboardPartner("Lakeside", credit_code("91110000MA00AB1C2"), Decimal(7))
    partners.onboard_partner(ctx, officer, prospect)
    today = ctx.clock.business_date()
    temporary = RequestLimitChange(
        partner.id, LimitRequestKind.TEMPORARY, Decimal("500.00"), "season", today
    )
    change = credit_limits.request_limit_change(ctx, officer, temporary)
    credit_limits.transition_limit_request(ctx, manager, change.id, "approve")

    assert by_grade(ctx, officer) == {
        "A": (0, "0.00", "0.00", "0.00"),
        "B": (2, "2000500.00", "1000.10", "20.02"),
        "C": (0, "0.00", "0.00", "0.00"),
        "D": (0, "0.00", "0.00", "0.00"),
        None: (1, "7.00", "0.00", "0.00"),
    }
    tomorrow = today + timedelta(days=1)
    later = attrs.evolve(ctx, clock=FixedClock(datetime.combine(tomorrow, time(9), UTC), tomorrow))
    assert by_grade(later, officer)["B"][1] == "2000000.00", "the temporary addition has ended"


def test_a_dealer_is_refused_the_exposure(ctx: ServiceContext, dealer: Actor) -> None:
    with pytest.raises(PermissionDeniedError):
        credit_limits.exposure_by_grade(ctx, dealer)


def test_the_grades_come_in_order_with_the_ungraded_last(
    ctx: ServiceContext, officer: Actor
) -> None:
    grades = [row.grade for row in credit_limits.exposure_by_grade(ctx, officer)]
    assert grades == [*PartnerRating, None]


def account(number: str, *, primary: bool = False) -> BankAccount:
    return BankAccount(scheme=BankScheme.IBAN, holder="Sunrise", bank_name="Bank",
                       iban=number, primary=primary)  # fmt: skip


def test_a_settlement_account_becomes_the_primary_and_the_others_stay(
    ctx: ServiceContext, officer: Actor, partner: Partner
) -> None:
    old = "GB82WEST12345698765432"
    with_old = partners.settlement_change(partner, account(old), "first account")
    partner = partners.revise_partner(
        ctx, officer, partners.ProfileRevision(partner.id, with_old, partner.version)
    )
    change = partners.settlement_change(partner, account(IBAN), "new account")
    assert [(a.iban, a.primary) for a in change.bank_accounts] == [(IBAN, True), (old, False)]
    assert change.reason == "new account"
    again = partners.settlement_change(partner, account(" gb82 west 1234 5698 7654 32"), "same")
    assert [(a.iban, a.primary) for a in again.bank_accounts] == [
        (" gb82 west 1234 5698 7654 32", True)
    ], "the same number, spaced and cased otherwise, replaces the one held"


def test_partners_are_listed_by_kind(ctx: ServiceContext, officer: Actor, partner: Partner) -> None:
    broker = partners.OnboardPartner(
        "Lakeside", credit_code("91110000MA00AB1C2"), Decimal(7), PartnerKind.BROKER
    )
    lakeside = partners.onboard_partner(ctx, officer, broker)
    found = partners.list_partners(ctx, officer, partners.PartnerQuery(kind=PartnerKind.BROKER))
    assert [record["id"] for record in found.items] == [lakeside.id]
