"""Closing the books, correcting vouchers, and synchronising vouchers with the ledger, on
SQLite and PostgreSQL: a closed month refuses postings and its late events land in the open
period naming it; a voucher is corrected by one reversal; every voucher reaches the ledger
exactly once through the outbox however the ledger fails, with a status per voucher; the
reconciliation names every difference between the two books."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest
from sqlalchemy.engine import Engine

from leasekit.domain.accounting_periods import Books, period_of
from leasekit.domain.bookings import Accounting, default_accounting
from leasekit.domain.identity import Actor, Role
from leasekit.domain.vouchers import JournalLine, Voucher
from leasekit.errors import ConflictError, DomainError, PermissionDeniedError, ValidationError
from leasekit.money import Money
from leasekit.ports import EntrySide, LedgerLine, LedgerVoucher
from leasekit.services import accounting, ledger_sync, users
from leasekit.services.accounting import Correction, ReverseVoucher
from leasekit.services.context import ServiceContext
from leasekit.services.ledger_sync import LedgerSubscriber
from leasekit.services.storage import SyncStatus, VoucherQuery
from leasekit.store.outbox import OutboxRelay, RelayPolicy
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import Fakes

from .conftest import taken_over
from .test_accounting import deliver_all, record, trial_balance, vouchers

SYSTEM = Actor.system()


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("fin", "Finance", Role.FINANCE)).actor()


@pytest.fixture
def director(ctx: ServiceContext, admin: Actor) -> Actor:
    request = users.CreateUser("fd", "Finance director", Role.FINANCE_DIRECTOR)
    return users.create_user(ctx, admin, request).actor()


@pytest.fixture
def usd(ctx: ServiceContext) -> ServiceContext:
    return attrs.evolve(ctx, accounting=default_accounting("Leasekit US", "USD"))


@pytest.fixture
def contract(ctx: ServiceContext) -> BookContract:
    return taken_over(ctx, 1, "USD")


@pytest.fixture
def booked(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, contract: BookContract
) -> list[str]:
    """A payment of the contract received and allocated, booked: its two vouchers' ids."""
    record(ctx, finance, contract.contract, "10.00", "T-1")
    deliver_all(usd)
    return posted_ids(usd, finance)


def posted_ids(ctx: ServiceContext, finance: Actor) -> list[str]:
    return [v.id for v in vouchers(ctx, finance)]


# --- closing the books --------------------------------------------------------------------------


def test_the_books_close_month_by_month_and_only_a_month_that_has_ended(
    ctx: ServiceContext, director: Actor, finance: Actor
) -> None:
    today = ctx.clock.business_date()  # 2024-01-15
    assert accounting.get_books(ctx, finance) == Books()
    with pytest.raises(DomainError, match="only a month that has ended"):
        accounting.close_books(ctx, director, period_of(today))
    with pytest.raises(PermissionDeniedError):
        accounting.close_books(ctx, finance, "2023-11")
    with pytest.raises(ValidationError, match="YYYY-MM"):
        accounting.close_books(ctx, director, "2023-13")

    books = accounting.close_books(ctx, director, "2023-11")
    assert (books.closed_through, books.closed_by, books.open_from) == (
        "2023-11", director.user_id, date(2023, 12, 1),
    )  # fmt: skip
    with pytest.raises(DomainError, match="closed through 2023-11 already"):
        accounting.close_books(ctx, director, "2023-10")
    assert accounting.close_books(ctx, director, "2023-12").closed_through == "2023-12"


def test_a_closed_month_refuses_a_posting(
    ctx: ServiceContext, director: Actor, finance: Actor
) -> None:
    accounting.close_books(ctx, director, "2023-12")
    amount = Money("10.00", "CNY")
    late = Voucher.post(
        business_date=date(2023, 12, 31),
        description="posted into a closed month",
        lines=[JournalLine("1100", "debit", amount), JournalLine("2900", "credit", amount)],
        actor=SYSTEM,
        at=ctx.clock.now(),
    )
    with ctx.uow_factory() as uow, pytest.raises(DomainError, match="2023-12 is closed"):
        uow.vouchers.add(late)
    with ctx.uow_factory() as uow:
        uow.vouchers.add(attrs.evolve(late, business_date=date(2024, 1, 2)))
        uow.commit()
    assert len(posted_ids(ctx, finance)) == 1


def test_an_event_of_a_closed_month_lands_in_the_open_period_naming_it(
    ctx: ServiceContext, usd: ServiceContext, director: Actor, finance: Actor,
    contract: BookContract,
) -> None:  # fmt: skip
    record(ctx, finance, contract.contract, "10.00", "T-1")  # on 2024-01-15
    ctx.clock.set_business_date(date(2024, 2, 10))  # type: ignore[attr-defined]
    accounting.close_books(ctx, director, "2024-01")
    deliver_all(usd)  # booked after the close

    found = vouchers(usd, finance)
    assert [(v.business_date, v.corrects_period) for v in found] == [
        (date(2024, 2, 1), "2024-01"), (date(2024, 2, 1), "2024-01"),
    ]  # fmt: skip
    assert sum(trial_balance(usd).values(), Decimal(0)) == 0


def test_the_books_do_not_close_over_unmapped_events(
    ctx: ServiceContext, usd: ServiceContext, director: Actor, finance: Actor,
    contract: BookContract,
) -> None:  # fmt: skip
    record(ctx, finance, contract.contract, "10.00", "T-1")
    closed = attrs.evolve(usd, accounting=Accounting.of(usd.accounting.chart, ["2900"]))
    deliver_all(closed)  # suspense closed: both events wait
    ctx.clock.set_business_date(date(2024, 2, 10))  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="2 event"):
        accounting.close_books(ctx, director, "2024-01")
    for waiting in accounting.list_unmapped(usd, finance).items:
        accounting.replay_unmapped(usd, finance, waiting["id"])
    assert accounting.close_books(ctx, director, "2024-01").closed_through == "2024-01"


# --- corrections --------------------------------------------------------------------------------


def test_a_voucher_is_corrected_by_one_reversal_linked_to_it(
    ctx: ServiceContext, usd: ServiceContext, director: Actor, finance: Actor,
    contract: BookContract,
) -> None:  # fmt: skip
    record(ctx, finance, contract.contract, "10.00", "T-1")
    deliver_all(usd)
    original = vouchers(usd, finance, event_type="payment_received")[0]
    ctx.clock.set_business_date(date(2024, 2, 10))  # type: ignore[attr-defined]
    accounting.close_books(ctx, director, "2024-01")

    request = ReverseVoucher(original.id, Correction("received on the wrong account"))
    reversal = accounting.reverse_voucher(usd, finance, request, idempotency_key="fix-1")
    assert accounting.reverse_voucher(usd, finance, request, idempotency_key="fix-1") == reversal
    assert reversal.reverses == original.id
    assert (reversal.business_date, reversal.corrects_period) == (date(2024, 2, 10), "2024-01")
    assert [(line.account, line.side, line.dimensions) for line in reversal.lines] == [
        (line.account, line.side.opposite, line.dimensions) for line in original.lines
    ]
    assert all(line.contract_id == contract.contract.id for line in reversal.lines)
    with pytest.raises(ValidationError, match="reversed already"):
        accounting.reverse_voucher(usd, finance, request)
    with pytest.raises(PermissionDeniedError):
        accounting.reverse_voucher(usd, SYSTEM, request)
    assert sum(trial_balance(usd).values(), Decimal(0)) == 0


# --- the ledger ---------------------------------------------------------------------------------


def relay_for(engine: Engine, ctx: ServiceContext) -> OutboxRelay:
    policy = RelayPolicy(first_backoff=_NO_WAIT, max_backoff=_NO_WAIT, max_attempts=25)
    return OutboxRelay(engine, [LedgerSubscriber(ctx)], policy=policy)


_NO_WAIT = timedelta(0)


def drain(relay: OutboxRelay, passes: int = 100) -> None:
    """Deliver until nothing is pending (the relay's backoff is zero here)."""
    for _ in range(passes):
        relay.run_pass()
        if relay.next_due() is None:
            return
    raise AssertionError(f"deliveries still pending after {passes} passes")


def statuses(ctx: ServiceContext, finance: Actor) -> dict[str, SyncStatus]:
    page = accounting.list_vouchers(ctx, finance, VoucherQuery(), limit=200)
    return {record["id"]: SyncStatus(record["sync"]) for record in page.items}


def test_every_voucher_reaches_the_ledger_once_through_its_own_subscriber(
    engine: Engine, usd: ServiceContext, finance: Actor, fakes: Fakes, booked: list[str]
) -> None:
    assert statuses(usd, finance) == dict.fromkeys(booked, SyncStatus.PENDING)

    fakes.ledger.fail_next(2)
    drain(relay_for(engine, usd))
    ids = posted_ids(usd, finance)
    assert statuses(usd, finance) == dict.fromkeys(ids, SyncStatus.SYNCED)
    assert sorted(v.voucher_id for v in fakes.ledger.posted) == sorted(ids)
    view = accounting.get_voucher(usd, finance, ids[0])
    assert view.ledger.status is SyncStatus.SYNCED
    assert view.ledger.ledger_reference
    assert view.ledger.attempts >= 1

    # Sent again (a redelivery, an operator's retry): nothing new reaches the ledger.
    ledger_sync.sync_vouchers(usd, ids)
    assert len(fakes.ledger.posted) == len(ids)


def test_a_flaky_ledger_ends_with_every_voucher_synced_exactly_once(
    engine: Engine, ctx: ServiceContext, usd: ServiceContext, finance: Actor, fakes: Fakes,
) -> None:  # fmt: skip
    for n in range(1, 5):
        made = taken_over(ctx, n, "USD").contract
        for k in range(3):
            record(ctx, finance, made, f"{n}{k}.25", f"T-{n}-{k}")
    deliver_all(usd)
    ledger = fakes.ledger
    ledger.failure_rate = Decimal("0.3")  # outages and lost answers, half each
    ledger.deliver_twice(5)
    ledger.lose_next_answer(2)
    drain(relay_for(engine, usd))

    ids = posted_ids(usd, finance)
    assert len(ids) == 24
    assert statuses(usd, finance) == dict.fromkeys(ids, SyncStatus.SYNCED)
    assert sorted(v.voucher_id for v in ledger.posted) == sorted(ids), "each exactly once"
    assert ledger.deliveries > len(ids), "the ledger was asked again and again"
    report = ledger_sync.reconcile_ledger(usd, finance)
    assert report.agrees
    assert sum((b.ledger.amount for b in report.accounts), Decimal(0)) == 0


def test_a_lost_acknowledgement_is_answered_with_the_first_receipt(
    usd: ServiceContext, finance: Actor, fakes: Fakes, booked: list[str]
) -> None:
    ids = booked
    # The ledger posted the first, but its answer never came back: leasekit still has it
    # pending, and sends it again under the same key.
    view = accounting.get_voucher(usd, finance, ids[0])
    fakes.ledger.post(ledger_sync.ledger_voucher(view), ledger_sync.ledger_key(view))
    ledger_sync.sync_vouchers(usd, ids)
    assert len(fakes.ledger.posted) == len(ids)
    assert set(statuses(usd, finance).values()) == {SyncStatus.SYNCED}


def test_a_refused_voucher_is_failed_with_the_reason_and_retried(
    usd: ServiceContext, finance: Actor, fakes: Fakes, booked: list[str]
) -> None:
    ids = booked
    fakes.ledger.fail_next(1, "ledger closed for maintenance")
    with pytest.raises(Exception, match="1 of 2 voucher"):
        ledger_sync.sync_vouchers(usd, ids)
    failed = accounting.list_vouchers(usd, finance, VoucherQuery(sync=SyncStatus.FAILED)).items
    assert [record["id"] for record in failed] == [ids[0]]
    view = accounting.get_voucher(usd, finance, ids[0])
    assert view.ledger.attempts == 1
    assert "maintenance" in (view.ledger.last_error or "")

    ledger_sync.sync_vouchers(usd, ids)
    view = accounting.get_voucher(usd, finance, ids[0])
    assert (view.ledger.status, view.ledger.attempts, view.ledger.last_error) == (
        SyncStatus.SYNCED, 2, None,
    )  # fmt: skip


def test_the_reconciliation_names_every_difference(
    engine: Engine, ctx: ServiceContext, usd: ServiceContext, finance: Actor, fakes: Fakes,
    officer: Actor, contract: BookContract,
) -> None:  # fmt: skip
    record(ctx, finance, contract.contract, "10.00", "T-1")
    deliver_all(usd)
    drain(relay_for(engine, usd))
    report = ledger_sync.reconcile_ledger(usd, finance)
    assert report.agrees, report.differences
    assert (report.vouchers_pending, report.vouchers_failed) == (0, 0)
    assert {balance.account for balance in report.accounts} >= {"1100", "2900"}

    # Someone posts straight into the ledger, on the contract.
    amount = Money("3.00", "USD")
    on_contract = {"contract": contract.contract.id}
    stray = LedgerVoucher(
        "stray-1", date(2024, 1, 15), "typed in by hand",
        (LedgerLine("1220", EntrySide.CREDIT, amount, dimensions=on_contract),
         LedgerLine("4200", EntrySide.DEBIT, amount)),
    )  # fmt: skip
    fakes.ledger.post(stray, "stray-1")
    report = ledger_sync.reconcile_ledger(usd, finance)
    assert not report.agrees
    named = {(d.account, d.contract_id): d.difference.amount for d in report.differences}
    assert named == {
        ("1220", None): Decimal("3.00"),
        ("4200", None): Decimal("-3.00"),
        ("1220", contract.contract.id): Decimal("3.00"),
    }
    with pytest.raises(PermissionDeniedError):
        ledger_sync.reconcile_ledger(usd, officer)


# --- races --------------------------------------------------------------------------------------


def test_a_close_waits_for_a_posting_in_flight(ctx: ServiceContext, director: Actor) -> None:
    """A posting holds the books; the close waits for it, so no voucher lands in a month
    as it closes."""
    amount = Money("10.00", "CNY")
    voucher = Voucher.post(
        business_date=date(2023, 12, 31), description="in flight",
        lines=[JournalLine("1100", "debit", amount), JournalLine("2900", "credit", amount)],
        actor=SYSTEM, at=ctx.clock.now(),
    )  # fmt: skip
    posting_started, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def post() -> None:
        with ctx.uow_factory() as uow:
            uow.vouchers.add(voucher)
            posting_started.set()
            release.wait(10)
            uow.commit()

    def close() -> None:
        try:
            outcome.append(accounting.close_books(ctx, director, "2023-12"))
        except (ConflictError, DomainError) as exc:
            outcome.append(exc)

    poster = threading.Thread(target=post)
    poster.start()
    posting_started.wait(10)
    closer = threading.Thread(target=close)
    closer.start()
    closer.join(0.5)
    assert closer.is_alive(), "the close must wait for the posting"
    release.set()
    poster.join(10)
    closer.join(10)
    assert isinstance(outcome[0], Books)
    with ctx.uow_factory() as uow:
        assert uow.vouchers.get(voucher.id).business_date == date(2023, 12, 31)
