"""Partners' figures counted from the book, ratings that regrade the partner, monitoring on
events and by the scheduled refresh, and the refresh run twice or by two workers at once (on
SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import attrs
import pytest

from leasekit.demo import resident_id
from leasekit.domain.credit_limits import LimitMovementKind, LimitPolicy, LimitRequestKind
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.domain.partner_ratings import RatingTrigger
from leasekit.domain.partners import Partner, PartnerRating, PartnerState
from leasekit.errors import PermissionDeniedError
from leasekit.services import (
    applications,
    blacklist,
    catalog,
    credit_limits,
    events,
    partner_monitoring,
    partner_ratings,
    partners,
)
from leasekit.services.context import ServiceContext

from .conftest import decide, open_review, register_customer, register_vehicle
from .test_applications import draft_command

SYSTEM = Actor.system()


def application(
    ctx: ServiceContext, dealer: Actor, officer: Actor, partner: Partner, outcome: str, n: int
) -> None:
    """Application *n* of *partner*, on a customer and car of its own, taken as far as
    *outcome* (draft, submitted, approve, reject or decline)."""
    customer = register_customer(ctx, dealer, f"110105198507121{n:02d}")
    vehicle = register_vehicle(ctx, dealer, f"LSVAU2180N21832{n:02d}")
    draft = applications.create_draft(ctx, dealer, draft_command(partner, customer, vehicle))
    moves = {
        "draft": [],
        "submitted": [(dealer, "submit")],
        "decline": [(dealer, "submit"), (SYSTEM, "decline")],
        "approve": [(dealer, "submit")],
        "reject": [(dealer, "submit")],
    }[outcome]  # fmt: skip
    for actor, action in moves:
        reason = "no" if action == "decline" else None
        applications.transition_application(ctx, actor, draft.id, action, reason)
    if outcome in ("approve", "reject"):
        open_review(ctx, draft.id)
        decide(ctx, officer, draft.id, outcome, "no" if outcome == "reject" else None)


def test_the_figures_count_the_partners_own_book(
    ctx: ServiceContext, dealer: Actor, officer: Actor, partner: Partner, other_partner: Partner
) -> None:
    outcomes = ("draft", "submitted", "approve", "approve", "reject", "decline")
    for n, outcome in enumerate(outcomes):
        application(ctx, dealer, officer, partner, outcome, n)
    counted = partner_ratings.get_partner_figures(ctx, officer, partner.id)
    assert (counted.applications, counted.decided, counted.approved) == (5, 4, 2)
    assert counted.approval_rate == Decimal("0.5000")
    assert counted.volume.amount == Decimal("380800.00")  # twice 238,000.00 less 47,600.00
    assert counted.utilisation == Decimal("0.0000")
    assert counted.overdue_rate is None, "no contracts yet: no overdue rate, not 0 %"
    theirs = partner_ratings.get_partner_figures(ctx, officer, other_partner.id)
    assert (theirs.applications, theirs.volume.amount) == (0, Decimal("0.00"))


def test_a_dealer_may_not_read_figures(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    with pytest.raises(PermissionDeniedError, match="may not read"):
        partner_ratings.get_partner_figures(ctx, dealer, partner.id)


def test_a_rating_regrades_the_partner_only_when_the_grade_changes(
    ctx: ServiceContext, officer: Actor, partner: Partner
) -> None:
    first = partner_ratings.rate_partner(ctx, officer, partner_ratings.RatePartner(partner.id))
    assert first.grade is PartnerRating.C  # a B by hand, a new dealer by its book
    regraded = partners.get_partner(ctx, officer, partner.id)
    assert (regraded.rating, regraded.version) == (PartnerRating.C, partner.version + 1)
    partner_ratings.rate_partner(ctx, officer, partner_ratings.RatePartner(partner.id))
    assert partners.get_partner(ctx, officer, partner.id).version == regraded.version
    history = partner_ratings.list_ratings(
        ctx, officer, partner_ratings.RatingQuery(partner_id=partner.id)
    )
    assert len(history.items) == 2


def test_an_override_in_force_survives_ratings_and_ends_on_its_day(
    ctx: ServiceContext, fixed_clock, officer: Actor, manager: Actor, partner: Partner
) -> None:
    request = partner_ratings.RequestRatingOverride(
        partner.id, PartnerRating.A, ctx.clock.business_date(), "flagship franchise"
    )
    made = partner_ratings.request_rating_override(ctx, officer, request)
    partner_ratings.transition_rating_override(ctx, manager, made.id, "approve")
    assert partners.get_partner(ctx, officer, partner.id).rating is PartnerRating.A
    partner_monitoring.refresh_partner(ctx, SYSTEM, partner_monitoring.RefreshPartner(partner.id))
    assert partners.get_partner(ctx, officer, partner.id).rating is PartnerRating.A
    fixed_clock.advance()
    partner_monitoring.refresh_partner(ctx, SYSTEM, partner_monitoring.RefreshPartner(partner.id))
    assert partners.get_partner(ctx, officer, partner.id).rating is PartnerRating.C


def test_a_limit_approval_above_the_grades_band_needs_a_director(
    ctx: ServiceContext, officer: Actor, manager: Actor, director: Actor, partner: Partner
) -> None:
    ctx = attrs.evolve(ctx, limit_policy=LimitPolicy(Decimal(100_000_000)))  # bands alone
    partner_ratings.rate_partner(ctx, officer, partner_ratings.RatePartner(partner.id))  # a C

    def standing(amount: str) -> str:
        request = credit_limits.RequestLimitChange(
            partner.id, LimitRequestKind.STANDING, Decimal(amount), "more stock"
        )
        return credit_limits.request_limit_change(ctx, officer, request).id

    credit_limits.transition_limit_request(ctx, manager, standing("5000000.00"), "approve")
    beyond = standing("5000000.01")
    with pytest.raises(PermissionDeniedError, match=r"above the 5,000,000 band of a partner "
                       r"rated C; a director must"):  # fmt: skip
        credit_limits.transition_limit_request(ctx, manager, beyond, "approve")
    credit_limits.transition_limit_request(ctx, director, beyond, "approve")


def _deliver(ctx: ServiceContext, name: str, subject: str, subject_id: str) -> None:
    event = DomainEvent.new(
        name, subject, subject_id, {}, occurred_at=ctx.clock.now(),
        business_date=ctx.clock.business_date(), actor_id="someone",
    )  # fmt: skip
    handler = catalog.handlers()["partners.monitor"]
    for _ in range(2):  # a repeated delivery changes nothing more
        events.HandlerSubscriber(handler, ctx).deliver(event)


def test_a_take_to_the_edge_puts_the_partner_on_watch_with_the_reason(
    ctx: ServiceContext, manager: Actor, officer: Actor, partner: Partner
) -> None:
    take = credit_limits.AdjustCreditLimit(
        partner.id, LimitMovementKind.TAKE, "contract:1", Decimal("960000.00"), "fleet"
    )
    credit_limits.adjust_credit_limit(ctx, manager, take)
    _deliver(ctx, "credit_limit_taken", "credit_limit", partner.id)
    watched = partners.get_partner(ctx, officer, partner.id)
    assert watched.state is PartnerState.WATCH
    with ctx.uow_factory() as uow:
        entries = uow.audit.for_subject("partner", partner.id)
    moved = [entry for entry in entries if entry.action == "partner_put_on_watch"]
    assert [entry.actor_id for entry in moved] == ["system"]
    assert moved[0].details["payload"]["reason"] == (
        "monitoring: utilisation 0.9600 at or above the watch level 0.95"
    )


def _blacklist_customers(ctx: ServiceContext, dealer: Actor, supervisor: Actor, count: int) -> None:
    """*count* of the partner's customers found on the blacklist: fraud hits."""
    for index in range(count):
        body = f"110105198507120{index:02d}"
        register_customer(ctx, dealer, body)
        request = blacklist.AddToBlacklist("identity fraud", id_number=resident_id(body))
        blacklist.add_to_blacklist(ctx, supervisor, request)


def test_the_refresh_rates_every_trading_partner_once_a_day_and_suspends_on_fraud(
    ctx: ServiceContext,
    dealer: Actor,
    supervisor: Actor,
    officer: Actor,
    partner: Partner,
    other_partner: Partner,
) -> None:
    _blacklist_customers(ctx, dealer, supervisor, 3)
    report = partner_monitoring.refresh_partners(ctx)
    assert (report.rated, report.already, report.failed) == (2, 0, ())
    suspended = partners.get_partner(ctx, officer, partner.id)
    assert (suspended.state, suspended.rating) == (PartnerState.SUSPENDED, PartnerRating.D)
    assert partners.get_partner(ctx, officer, other_partner.id).state is PartnerState.ACTIVE
    again = partner_monitoring.refresh_partners(ctx)
    assert (again.rated, again.already) == (0, 2)
    ratings = partner_ratings.list_ratings(
        ctx, officer, partner_ratings.RatingQuery(trigger=RatingTrigger.SCHEDULED)
    )
    assert len(ratings.items) == 2


def test_two_refreshes_at_once_rate_each_partner_once(
    ctx: ServiceContext, officer: Actor, make_partner, partner: Partner
) -> None:
    for index in range(4):
        make_partner(f"Dealer {index}", f"9144031{index}MA5F0A1B2")
    reports: list[partner_monitoring.RefreshReport] = []
    barrier = threading.Barrier(2)

    def refresh() -> None:
        barrier.wait()
        reports.append(partner_monitoring.refresh_partners(ctx))

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.rated for report in reports) == 5
    assert all(report.failed == () for report in reports)
    ratings = partner_ratings.list_ratings(
        ctx, officer, partner_ratings.RatingQuery(trigger=RatingTrigger.SCHEDULED)
    )
    assert len(ratings.items) == 5


def test_a_partner_rated_yesterday_is_rated_again_today(
    ctx: ServiceContext, fixed_clock, partner: Partner
) -> None:
    assert partner_monitoring.refresh_partners(ctx).rated == 1
    fixed_clock.advance()
    assert partner_monitoring.refresh_partners(ctx).rated == 1
