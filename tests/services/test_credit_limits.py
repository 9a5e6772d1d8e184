"""Partners' credit limits through the services, on SQLite and PostgreSQL: onboarding opens
the account, takes are refused beyond the available amount, concurrent takes never exceed
the limit, and a change of the limit needs another person with the authority for it."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from time import time as seconds_since_epoch

import attrs
import pytest

from leasekit.domain.clock import FixedClock
from leasekit.domain.credit_limits import LimitExceededError, LimitPolicy, LimitRequestKind
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.errors import DomainError, NotFoundError, PermissionDeniedError, ValidationError
from leasekit.services import credit_limits, partners, users
from leasekit.services.context import ServiceContext
from leasekit.services.credit_limits import AdjustCreditLimit, RequestLimitChange

LIMIT = Decimal("1000000.00")


def staff(ctx: ServiceContext, admin: Actor, role: Role, name: str) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser(name, name, role)).actor()


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return staff(ctx, admin, Role.FINANCE, "finance")


@pytest.fixture
def director(ctx: ServiceContext, admin: Actor) -> Actor:
    return staff(ctx, admin, Role.DIRECTOR, "director")


def take(ctx: ServiceContext, actor: Actor, partner: Partner, amount: str, ref: str = "c:1"):  # type: ignore[no-untyped-def]
    request = AdjustCreditLimit(partner.id, "take", ref, Decimal(amount), "manual")  # type: ignore[arg-type]
    return credit_limits.adjust_credit_limit(ctx, actor, request)


def position(ctx: ServiceContext, actor: Actor, partner: Partner):  # type: ignore[no-untyped-def]
    return credit_limits.get_credit_limit(ctx, actor, partner.id)


def test_onboarding_opens_the_account_with_the_limit_asked_for(
    ctx: ServiceContext, officer: Actor, partner: Partner
) -> None:
    figures = position(ctx, officer, partner)
    assert (figures.limit.amount, figures.used.amount, figures.available.amount) == (
        LIMIT, 0, LIMIT,
    )  # fmt: skip


def test_a_take_to_the_edge_then_one_cent_more(
    ctx: ServiceContext, finance: Actor, partner: Partner
) -> None:
    take(ctx, finance, partner, "999999.99", "c:1")
    take(ctx, finance, partner, "0.01", "c:2")
    with pytest.raises(LimitExceededError, match=r"available 0\.00"):
        take(ctx, finance, partner, "0.01", "c:3")
    figures = position(ctx, finance, partner)
    assert (figures.used.amount, figures.available.amount) == (LIMIT, 0)
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("credit_limit", partner.id)
    assert [entry.action for entry in trail] == ["credit_limit_taken"] * 2


def test_a_release_gives_the_limit_back(
    ctx: ServiceContext, finance: Actor, partner: Partner
) -> None:
    take(ctx, finance, partner, "300000.00", "c:1")
    request = AdjustCreditLimit(partner.id, "release", "c:1", Decimal("300000.00"), "settled")  # type: ignore[arg-type]
    credit_limits.adjust_credit_limit(ctx, finance, request)
    assert position(ctx, finance, partner).available.amount == LIMIT
    with pytest.raises(ValidationError):
        credit_limits.adjust_credit_limit(ctx, finance, request)


def test_a_retried_adjustment_moves_the_limit_once(
    ctx: ServiceContext, finance: Actor, partner: Partner
) -> None:
    request = AdjustCreditLimit(partner.id, "take", "c:1", Decimal("10.00"), "manual")  # type: ignore[arg-type]
    first = credit_limits.adjust_credit_limit(ctx, finance, request, idempotency_key="adj-1")
    again = credit_limits.adjust_credit_limit(ctx, finance, request, idempotency_key="adj-1")
    assert again == first
    assert position(ctx, finance, partner).used.amount == Decimal("10.00")


def test_dealers_and_officers_do_not_move_limits(
    ctx: ServiceContext, dealer: Actor, officer: Actor, partner: Partner
) -> None:
    for actor in (dealer, officer):
        with pytest.raises(PermissionDeniedError):
            take(ctx, actor, partner, "1.00")


def test_a_dealer_sees_its_own_limit_only(
    ctx: ServiceContext, dealer: Actor, partner: Partner, other_partner: Partner
) -> None:
    assert position(ctx, dealer, partner).partner_id == partner.id
    with pytest.raises(NotFoundError):
        position(ctx, dealer, other_partner)


def test_a_blacklisted_partner_takes_nothing_but_releases(
    ctx: ServiceContext, finance: Actor, director: Actor, partner: Partner
) -> None:
    take(ctx, finance, partner, "100.00", "c:1")
    partners.transition_partner(ctx, director, partner.id, "blacklist", "forged invoices")
    with pytest.raises(DomainError, match="blacklisted"):
        take(ctx, finance, partner, "1.00", "c:2")
    request = AdjustCreditLimit(partner.id, "release", "c:1", Decimal("100.00"), "settled")  # type: ignore[arg-type]
    credit_limits.adjust_credit_limit(ctx, finance, request)


def test_concurrent_takes_never_exceed_the_limit(
    ctx: ServiceContext, finance: Actor, partner: Partner
) -> None:
    """Twelve threads race for 100,000.00 each from a limit of 1,000,000.00 with 450,000.00
    used: exactly five win, whatever the interleaving, and nothing is lost."""
    take(ctx, finance, partner, "450000.00", "c:0")
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        start.wait()
        try:
            take(ctx, finance, partner, "100000.00", f"c:{n + 1}")
            outcomes.append("taken")
        except LimitExceededError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["taken"] * 5
    figures = position(ctx, finance, partner)
    assert (figures.used.amount, figures.available.amount) == (Decimal("950000.00"), 50000)
    page = credit_limits.list_limit_movements(
        ctx, finance, credit_limits.LimitMovementQuery(partner_id=partner.id), limit=50
    )
    assert sum(Decimal(item["amount"]["amount"]) for item in page.items) == Decimal("950000.00")


# --- changing the limit --------------------------------------------------------------------


def ask(ctx: ServiceContext, actor: Actor, partner: Partner, kind: str, amount: str,
        until: date | None = None):  # type: ignore[no-untyped-def]  # fmt: skip
    request = RequestLimitChange(partner.id, LimitRequestKind(kind), Decimal(amount), "volume",
                                 until)  # fmt: skip
    return credit_limits.request_limit_change(ctx, actor, request)


def test_a_manager_approves_an_increase_within_the_threshold(
    ctx: ServiceContext, officer: Actor, manager: Actor, partner: Partner
) -> None:
    request = ask(ctx, officer, partner, "standing", "1500000.00")
    approved = credit_limits.transition_limit_request(ctx, manager, request.id, "approve")
    assert approved.decided_by == manager.user_id
    assert position(ctx, officer, partner).limit.amount == Decimal("1500000.00")
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("credit_limit", partner.id)
    assert [entry.action for entry in trail] == ["credit_limit_changed"]


def test_a_larger_increase_needs_a_director(
    ctx: ServiceContext, officer: Actor, manager: Actor, director: Actor, partner: Partner
) -> None:
    request = ask(ctx, officer, partner, "standing", "2000000.01")
    with pytest.raises(PermissionDeniedError, match="a director must"):
        credit_limits.transition_limit_request(ctx, manager, request.id, "approve")
    assert position(ctx, officer, partner).limit.amount == LIMIT
    credit_limits.transition_limit_request(ctx, director, request.id, "approve")
    assert position(ctx, officer, partner).limit.amount == Decimal("2000000.01")


def test_the_threshold_is_the_company_policy(
    ctx: ServiceContext, officer: Actor, manager: Actor, partner: Partner
) -> None:
    strict = attrs.evolve(ctx, limit_policy=LimitPolicy(Decimal("100")))
    request = ask(strict, officer, partner, "standing", "1000100.01")
    with pytest.raises(PermissionDeniedError):
        credit_limits.transition_limit_request(strict, manager, request.id, "approve")


def test_an_increase_is_weighed_against_the_limit_of_the_day_it_is_approved(
    ctx: ServiceContext, officer: Actor, manager: Actor, director: Actor, partner: Partner
) -> None:
    """A new total of 1,900,000.00 asked when the limit was 1,000,000.00 is within a
    manager's authority; after a cut to 800,000.00 it would add 1,100,000.00, a director's."""
    raise_it = ask(ctx, officer, partner, "standing", "1900000.00")
    assert raise_it.increase.amount == Decimal("900000.00")
    cut = ask(ctx, officer, partner, "standing", "800000.00")
    credit_limits.transition_limit_request(ctx, manager, cut.id, "approve")
    with pytest.raises(PermissionDeniedError, match=r"1,100,000\.00"):
        credit_limits.transition_limit_request(ctx, manager, raise_it.id, "approve")
    credit_limits.transition_limit_request(ctx, director, raise_it.id, "approve")
    assert position(ctx, officer, partner).limit.amount == Decimal("1900000.00")


def test_nobody_approves_their_own_request(
    ctx: ServiceContext, manager: Actor, partner: Partner
) -> None:
    request = ask(ctx, manager, partner, "standing", "1100000.00")
    with pytest.raises(PermissionDeniedError, match="another person"):
        credit_limits.transition_limit_request(ctx, manager, request.id, "approve")


def test_a_temporary_limit_ends_after_its_date(
    ctx: ServiceContext, officer: Actor, manager: Actor, partner: Partner
) -> None:
    today = ctx.clock.business_date()
    request = ask(ctx, officer, partner, "temporary", "500000.00", today + timedelta(days=30))
    credit_limits.transition_limit_request(ctx, manager, request.id, "approve")
    assert position(ctx, officer, partner).limit.amount == Decimal("1500000.00")
    later = attrs.evolve(ctx, clock=_day(today + timedelta(days=31)))
    assert position(later, officer, partner).limit.amount == LIMIT


def _day(day: date) -> FixedClock:
    return FixedClock(datetime.combine(day, time(9), UTC), day)


def test_a_partner_on_watch_gets_no_new_limit_but_may_be_cut(
    ctx: ServiceContext, officer: Actor, manager: Actor, partner: Partner
) -> None:
    partners.transition_partner(ctx, manager, partner.id, "watch", "overdue rate rising")
    with pytest.raises(DomainError, match="watch"):
        ask(ctx, officer, partner, "standing", "1100000.00")
    cut = ask(ctx, officer, partner, "standing", "500000.00")
    credit_limits.transition_limit_request(ctx, manager, cut.id, "approve")
    assert position(ctx, officer, partner).limit.amount == Decimal("500000.00")


def test_requests_are_listed_by_state(
    ctx: ServiceContext, officer: Actor, manager: Actor, partner: Partner
) -> None:
    waiting = ask(ctx, officer, partner, "standing", "1100000.00")
    decided = ask(ctx, officer, partner, "standing", "900000.00")
    credit_limits.transition_limit_request(ctx, manager, decided.id, "reject", "not now")
    query = credit_limits.LimitRequestQuery(state="requested")  # type: ignore[arg-type]
    page = credit_limits.list_limit_requests(ctx, manager, query)
    assert [item["id"] for item in page.items] == [waiting.id]


TAKER = """
import sys, time
from decimal import Decimal
from leasekit.domain.clock import SystemClock
from leasekit.domain.credit_limits import LimitExceededError
from leasekit.domain.identity import Actor, Role
from leasekit.money import currency
from leasekit.services import catalog, credit_limits
from leasekit.services.context import ServiceContext
from leasekit.store.database import create_engine
from leasekit.store.uow import unit_of_work_factory
from leasekit.testing.fakes import Fakes

url, partner_id, user_id, process, start = sys.argv[1:]
engine = create_engine(url)
ctx = ServiceContext(unit_of_work_factory(engine), Fakes.create(SystemClock()).adapters(),
                     SystemClock(), currency("CNY"), 1024)
finance = Actor(user_id, Role.FINANCE)
time.sleep(max(0.0, float(start) - time.time()))
for n in range(5):
    body = credit_limits.AdjustCreditLimit(partner_id, "take", f"p{process}:{n}",
                                           Decimal("60000.00"), "burst")
    try:
        credit_limits.adjust_credit_limit(ctx, finance, body)
        print("taken", flush=True)
    except LimitExceededError:
        print("refused", flush=True)
engine.dispose()
"""


def test_processes_taking_at_once_never_exceed_the_limit(
    ctx: ServiceContext, database_url: str, finance: Actor, partner: Partner
) -> None:
    """Six processes take 60,000.00 five times each, all at once, from a limit of
    1,000,000.00: exactly sixteen takes win (960,000.00), whatever the interleaving; on
    PostgreSQL through the account's row lock, on SQLite through its write lock."""
    start = str(seconds_since_epoch() + 3)
    takers = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, database_url, partner.id, finance.user_id, str(n), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    outcomes = []
    for taker in takers:
        out, err = taker.communicate(timeout=120)
        assert taker.returncode == 0, err
        outcomes += out.split()
    assert sorted(outcomes) == ["refused"] * 14 + ["taken"] * 16
    figures = position(ctx, finance, partner)
    assert (figures.used.amount, figures.available.amount) == (Decimal("960000.00"), 40000)
