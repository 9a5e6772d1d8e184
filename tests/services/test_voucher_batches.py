"""Booking events in bulk, on SQLite and PostgreSQL: the event log of a book made with real
commands (a payout, a debit collected and returned with its fee, payments beyond what is due
and the credit they leave) replayed into a database without vouchers books the vouchers and
the unmapped rows the per-event handler booked, line for line; once per event however often
it runs, and when another run posts some of a chunk's events first."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.domain.accounting import default_chart
from leasekit.domain.accounting_periods import period_of
from leasekit.domain.bookings import Accounting
from leasekit.domain.clock import FixedClock
from leasekit.domain.end_of_day import CloseRules, InterestAccrual
from leasekit.domain.events import BatchSubscriber
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.domain.products import Product
from leasekit.domain.voucher_templates import EVENT_TYPES, TemplateSet
from leasekit.services import accounting, debit_runs, disbursements, partners, refunds, users
from leasekit.services.accounting import VOUCHERS_POSTED
from leasekit.services.context import ServiceContext
from leasekit.services.debit_runs import SettleRun, StartDebitRun
from leasekit.services.end_of_day import close_business_day
from leasekit.services.events import handler_subscribers
from leasekit.services.voucher_batches import BatchReport, replay_log
from leasekit.store.accounting_books import VoucherSyncRow
from leasekit.store.end_of_day import ClosedDateClock
from leasekit.store.ledger import UnmappedEventRow, VoucherLineRow, VoucherRepository, VoucherRow
from leasekit.store.outbox import OutboxRow
from leasekit.testing.fakes import Fakes

from .conftest import taken_over
from .test_accounting import SYSTEM, deliver_all, money_events, record
from .test_disbursements import ACCOUNT, pay, payout
from .test_refunds import refund, relay


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("fin", "Finance", Role.FINANCE)).actor()


@pytest.fixture
def book(
    ctx: ServiceContext, dealer: Actor, officer: Actor, finance: Actor, fakes: Fakes,
    partner: Partner, lease: Product, engine: Engine, fixed_clock: FixedClock,
) -> ServiceContext:  # fmt: skip
    """A book made with real commands: a lease paid out (in yuan), and a loan taken over
    (in dollars, its opening balance booked) whose direct debit came back with a fee and that
    was then paid by hand beyond what was due, the credit paying the next installment a month
    later; some of the credit left was refunded twice, one refund paid and one returned by the
    payee's bank; and a day closed, booking the interest earned and not yet paid."""
    change = partners.ProfileChange(
        name=partner.name, bank_accounts=(ACCOUNT,), branch="EAST", reason="payouts"
    )
    settled = partners.revise_partner(ctx, officer, partners.ProfileRevision(partner.id, change))
    item = payout(ctx, dealer, officer, fakes, settled, 0)
    pay(ctx, disbursements.transition_disbursement(ctx, finance, item.id, "approve"))
    (instruction,) = fakes.bank.paid(ACCOUNT.card_number)
    fakes.bank.settle(instruction.instruction_id)
    disbursements.track_payout(ctx, finance, item.id)

    made = taken_over(ctx, 1, "USD", opening=True)
    run = debit_runs.start_debit_run(ctx, finance, StartDebitRun("us"))
    debit_runs.settle_debit_run(ctx, finance, SettleRun(run.id))
    batch = debit_runs.debit_batch(ctx, SYSTEM, run.id)
    (debit,) = batch.items
    debit_runs.import_debit_results(
        ctx, finance, [fakes.bank.return_file(batch, {debit.item_id: "R01"})]
    )
    record(ctx, finance, made.contract, str(made.lines[0].amount_due.amount * 3), "T-1")
    ctx.clock.advance(31)  # type: ignore[attr-defined]
    record(ctx, finance, made.contract, "1.00", "T-2")
    record(ctx, finance, made.contract, "500.00", "T-3")
    for n, answer in enumerate((fakes.bank.settle, fakes.bank.fail_settlement)):
        done = refund(ctx, finance, made.contract, "10.00", request_id=f"ER-{n}")
        relay(ctx, done)
        answer(done.id)
        refunds.track_refund(ctx, finance, done.id)
    daily = CloseRules(interest_accrual=InterestAccrual.DAILY)
    close_business_day(attrs.evolve(ctx, clock=ClosedDateClock(fixed_clock, engine),
                                    close_rules=daily))  # fmt: skip
    return ctx


def books(engine: Engine) -> dict[str, Any]:
    """Every voucher with its lines, and every unmapped row, as comparable values: all but
    ids and moments, by event key."""
    with engine.connect() as connection:
        headers = connection.execute(
            sa.select(
                VoucherRow.id, VoucherRow.source_key, VoucherRow.business_date,
                VoucherRow.description, VoucherRow.created_by, VoucherRow.reverses,
                VoucherRow.event_type, VoucherRow.template, VoucherRow.template_version,
                VoucherRow.corrects_period,
            )
        ).all()  # fmt: skip
        lines = connection.execute(
            sa.select(VoucherLineRow.__table__).order_by(VoucherLineRow.line_no)
        ).mappings()
        unmapped = connection.execute(
            sa.select(UnmappedEventRow.__table__).where(UnmappedEventRow.state == "open")
        ).mappings()
        by_voucher: dict[str, list[tuple[object, ...]]] = {row.id: [] for row in headers}
        for line in lines:
            by_voucher[line["voucher_id"]].append(
                tuple(v for k, v in line.items() if k != "voucher_id")
            )
        queued = {
            row["event_key"]: {k: v for k, v in row.items() if k not in {"id", "created_at"}}
            for row in unmapped
        }
    vouchers = {row.source_key: (tuple(row[1:]), tuple(by_voucher[row.id])) for row in headers}
    return {"vouchers": vouchers, "unmapped": queued}


def cleared(engine: Engine) -> None:
    """The database as restored from a backup without its books: no vouchers, no queue."""
    with engine.begin() as connection:
        for table in (VoucherSyncRow, VoucherLineRow, VoucherRow, UnmappedEventRow):
            connection.execute(sa.delete(table))


def test_replaying_the_log_books_what_the_handler_booked(
    book: ServiceContext, engine: Engine
) -> None:
    deliver_all(book)
    booked = books(engine)
    kinds = {event.name for event in money_events(book)}
    # A replay's allocation_undone is booked again from the log in test_reverse_and_replay;
    # a waiver books as any fee does, a claw-back in test_clawback.
    assert kinds == set(EVENT_TYPES) - {
        "settlement_fee_charged", "receivables_written_off", "allocation_undone",
        "receivable_waived", "refund_clawed_back",
    }  # fmt: skip
    assert len(booked["vouchers"]) == len(money_events(book))
    assert booked["unmapped"] == {}
    # The paid-out lease's vouchers are analysed by its partner's branch.
    with engine.connect() as connection:
        branches = connection.scalars(sa.select(VoucherLineRow.branch).distinct()).all()
    assert set(branches) == {"EAST", None}

    cleared(engine)
    report = replay_log(book, chunk=3)
    assert books(engine) == booked
    assert report.booked == len(booked["vouchers"])
    assert report.chunks == -(-len(booked["vouchers"]) // 3)
    assert (report.skipped, report.unmapped, report.retried) == (0, 0, 0)


def test_the_relay_hands_the_handlers_deliveries_to_one_booking_as_the_handler_books_them(
    book: ServiceContext, engine: Engine
) -> None:
    deliver_all(book)
    booked = books(engine)
    cleared(engine)
    (subscriber,) = [s for s in handler_subscribers(book) if s.name == "handler:accounting.book"]
    assert isinstance(subscriber, BatchSubscriber)
    posted_before = announced(engine)
    subscriber.deliver_many(money_events(book))
    assert books(engine) == booked
    assert announced(engine) == posted_before + 1, "one vouchers_posted event for the batch"
    subscriber.deliver_many(money_events(book))
    assert books(engine) == booked
    assert announced(engine) == posted_before + 1


def announced(engine: Engine) -> int:
    """How many ``vouchers_posted`` events the log holds."""
    with engine.connect() as connection:
        return connection.scalar(
            sa.select(sa.func.count()).where(OutboxRow.name == VOUCHERS_POSTED)
        )  # type: ignore[no-any-return]


def test_events_the_templates_cannot_book_are_queued_with_the_handlers_reasons(
    book: ServiceContext, engine: Engine
) -> None:
    closed = attrs.evolve(book, accounting=Accounting.of(book.accounting.chart, ["2900"]))
    deliver_all(closed)
    queued = books(engine)
    assert queued["unmapped"], "the payments wait for account 2900"
    assert all("2900" in row["reason"] for row in queued["unmapped"].values())

    cleared(engine)
    report = replay_log(closed)
    assert books(engine) == queued
    assert report.unmapped == len(queued["unmapped"])
    with book.uow_factory() as uow:
        announced = uow.event_log.after(["unmapped_event"], 0, 1000)
    assert len(announced) == 2 * report.unmapped, "each queuing is announced, as by the handler"


def test_events_no_template_meets_are_queued_with_the_handlers_reasons(
    book: ServiceContext, engine: Engine
) -> None:
    bare = attrs.evolve(book, accounting=Accounting(TemplateSet(default_chart("X", "USD"))))
    deliver_all(bare)
    queued = books(engine)
    assert len(queued["unmapped"]) == len(money_events(book))
    assert all(row["reason"].startswith("no template meets") for row in queued["unmapped"].values())

    cleared(engine)
    replay_log(bare, chunk=4)
    assert books(engine) == queued


def test_events_of_a_closed_month_are_placed_as_the_handler_places_them(
    book: ServiceContext, engine: Engine, admin: Actor
) -> None:
    request = users.CreateUser("fd", "Finance director", Role.FINANCE_DIRECTOR)
    director = users.create_user(book, admin, request).actor()
    last = max(event.business_date for event in money_events(book))
    book.clock.set_business_date(last + timedelta(days=62))  # type: ignore[attr-defined]
    accounting.close_books(book, director, period_of(last))
    deliver_all(book)
    placed = books(engine)
    assert None not in {header[-1] for header, _ in placed["vouchers"].values()}, "all late"

    cleared(engine)
    replay_log(book)
    assert books(engine) == placed


def test_a_replay_run_twice_or_after_the_handler_books_nothing_more(
    book: ServiceContext, engine: Engine
) -> None:
    first = replay_log(book)
    booked = books(engine)
    again = replay_log(book)
    assert again == BatchReport(skipped=first.booked, chunks=1)
    deliver_all(book)
    assert books(engine) == booked


def test_a_chunk_another_run_posted_some_of_is_done_again_without_them(
    book: ServiceContext, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = money_events(book)
    deliver_all(book)
    booked = books(engine)
    # Half of the vouchers are gone; the other run's are found only after the first try.
    with engine.begin() as connection:
        gone = sorted(booked["vouchers"])[::2]
        ids = sa.select(VoucherRow.id).where(VoucherRow.source_key.in_(gone))
        connection.execute(sa.delete(VoucherLineRow).where(VoucherLineRow.voucher_id.in_(ids)))
        connection.execute(sa.delete(VoucherRow).where(VoucherRow.source_key.in_(gone)))
    real = VoucherRepository.known_keys
    blind = iter([True])

    def racing(self: VoucherRepository, keys: Any) -> set[str]:
        return set() if next(blind, False) else real(self, keys)

    monkeypatch.setattr(VoucherRepository, "known_keys", racing)
    report = replay_log(book, chunk=len(events))
    assert (report.retried, report.booked, report.skipped) == (
        1,
        len(gone),
        len(events) - len(gone),
    )
    assert books(engine) == booked


def test_the_replay_reads_the_money_events_whatever_they_are_about(
    book: ServiceContext, engine: Engine
) -> None:
    """What the log names an event's subject does not decide whether it is replayed: its
    name does (a money event a new feature records about a subject of its own is booked)."""
    deliver_all(book)
    booked = books(engine)
    with engine.begin() as connection:
        moved = connection.execute(
            sa.update(OutboxRow)
            .where(OutboxRow.name == "payment_received")
            .values(subject="statement_line")
        ).rowcount
    assert moved > 0
    cleared(engine)
    replay_log(book)
    assert books(engine) == booked


def test_the_benchmark_books_a_small_stream_as_the_floor_writes_it(tmp_path: Path) -> None:
    """A smoke run of benchmarks/bench_vouchers.py: it exits 1 on an unbalanced voucher or
    a book that differs from the bare insert's; its timings are not judged."""
    script = Path(__file__).parents[2] / "benchmarks" / "bench_vouchers.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick"],
        capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2,000 events booked as vouchers" in done.stdout
