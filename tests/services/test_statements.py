"""Bank statements and dealers' settlement files, reconciled to contracts: matched once,
queued where the rules cannot tell, placed or parked by hand; on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from leasekit.domain.contracts import PaymentSource
from leasekit.domain.identity import Actor, Role
from leasekit.domain.statement_entries import EntryState
from leasekit.errors import IllegalTransitionError, StaleVersionError, ValidationError
from leasekit.money import Money
from leasekit.ports import BankStatement, StatementLine
from leasekit.services import reconciliation, users
from leasekit.services.context import ServiceContext
from leasekit.services.reconciliation import EntryPart, MatchEntry, ParkEntry
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import FakeBank

from .conftest import taken_over

SYSTEM = Actor.system()


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("fin", "Finance", Role.FINANCE)).actor()


@pytest.fixture
def book(ctx: ServiceContext) -> Callable[..., BookContract]:
    serial = iter(range(1, 10_000))
    return lambda currency="USD", mandate=True: taken_over(
        ctx, next(serial), currency, mandate=mandate
    )


def statement(day: date, *lines: tuple[str, str, str, str, str]) -> bytes:
    """A statement of the company's USD account: (id, amount, payer, account, reference)."""
    booked = [
        StatementLine(line_id, day, Money(amount, "USD"), payer, account, reference)
        for line_id, amount, payer, account, reference in lines
    ]
    moved = sum((line.amount for line in booked), Money(0, "USD"))
    opening = Money("1000.00", "USD")
    return FakeBank.statement_file(
        BankStatement("US-4400", day, day, opening, opening + moved, booked)
    )


def owed(made: BookContract, lines: int = 2) -> Money:
    return sum((line.amount_due for line in made.lines[:lines]), Money(0, "USD"))


def entries(ctx: ServiceContext, state: EntryState) -> list[dict[str, object]]:
    query = reconciliation.EntryQuery(state=state)
    return list(reconciliation.list_statement_entries(ctx, SYSTEM, query).items)


def test_a_statement_is_matched_by_reference_and_by_amount_and_payer(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    first, second, third = book(), book(), book()
    day = ctx.clock.business_date()
    content = statement(
        day,
        ("L1", str(owed(first).amount), "Dealer 1", "999", f"settlement {first.contract.number}"),
        ("L2", str(owed(second).amount), "Customer 2", "000123456789", "installments"),
        ("L3", "55.00", "Somebody", "123", "what is this"),
        ("L4", "-12.00", "Bank", "", "charges"),
    )
    report, applied = reconciliation.import_statement(ctx, finance, [content], filename="s.json")
    assert applied
    assert (report.credits, report.matched, report.queued, report.known) == (3, 1, 2, 0)
    with ctx.uow_factory() as uow:
        (paid,) = uow.payments.list_for_contract(first.contract.id)
        assert not uow.payments.list_for_contract(third.contract.id)
    # The dealer's name makes it a dealer settlement; the reference found the contract.
    assert (paid.source, paid.amount) == (PaymentSource.DEALER_SETTLEMENT, owed(first))
    queued = entries(ctx, EntryState.QUEUED)
    # The three contracts share the fakes' debtor account, and the first was taken by its
    # reference: a second payment for it, perhaps; a person decides.
    assert {entry["line_id"] for entry in queued} == {"L2", "L3"}
    ambiguous = next(entry for entry in queued if entry["line_id"] == "L2")
    assert ambiguous["why"] == "already matched"
    contracts = {first.contract.id, second.contract.id, third.contract.id}
    assert set(ambiguous["candidates"]) == contracts


def test_a_statement_imported_again_or_overlapping_changes_nothing(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    day = ctx.clock.business_date()
    line = ("L1", str(owed(made).amount), "X", "1", made.contract.number)
    first, _ = reconciliation.import_statement(ctx, finance, [statement(day, line)])
    again, applied = reconciliation.import_statement(ctx, finance, [statement(day, line)])
    assert (again.id, applied) == (first.id, False)
    # A statement of the next day that repeats the line brings only what is new.
    later = statement(day + timedelta(days=1), line, ("L2", "10.00", "Y", "2", "?"))
    overlapping, applied = reconciliation.import_statement(ctx, finance, [later])
    assert applied
    assert (overlapping.credits, overlapping.known, overlapping.queued) == (2, 1, 1)
    with ctx.uow_factory() as uow:
        assert len(uow.payments.list_for_contract(made.contract.id)) == 1


def test_a_queued_entry_is_split_over_contracts_or_parked_by_hand(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    one, two = book(), book()
    day = ctx.clock.business_date()
    total = owed(one) + Money("100.00", "USD")
    content = statement(day, ("L1", str(total.amount), "Fleet Co", "5", "March"),
                        ("L2", "9.99", "?", "6", "?"))  # fmt: skip
    reconciliation.import_statement(ctx, finance, [content])
    waiting = {entry["line_id"]: str(entry["id"]) for entry in entries(ctx, EntryState.QUEUED)}
    parts = (EntryPart(one.contract.id, owed(one)),
             EntryPart(two.contract.id, Money("100.00", "USD")))  # fmt: skip
    with pytest.raises(ValidationError, match="add up"):
        reconciliation.match_statement_entry(ctx, finance, MatchEntry(waiting["L1"], parts[:1], 0))
    with pytest.raises(StaleVersionError):
        reconciliation.match_statement_entry(ctx, finance, MatchEntry(waiting["L1"], parts, 3))
    matched = reconciliation.match_statement_entry(
        ctx, finance, MatchEntry(waiting["L1"], parts, 0)
    )
    assert (matched.state, matched.rule, len(matched.payments)) == (EntryState.MATCHED, "manual", 2)
    parked = reconciliation.park_statement_entry(
        ctx, finance, ParkEntry(waiting["L2"], "unknown sender", 0)
    )
    assert (parked.state, parked.why) == (EntryState.SUSPENSE, "unknown sender")
    with ctx.uow_factory() as uow:
        (paid_two,) = uow.payments.list_for_contract(two.contract.id)
    assert paid_two.amount == Money("100.00", "USD")
    # Matched once: matching again is an illegal move, whatever the version.
    with pytest.raises(IllegalTransitionError, match="matched"):
        reconciliation.match_statement_entry(ctx, finance, MatchEntry(waiting["L1"], parts))


def test_a_dealers_settlement_file_pays_each_row_by_its_contract_number(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    one, two = book(), book()
    rows = "contract_number,amount,currency,paid_on,reference\n" + "".join(
        f"{made.contract.number},{owed(made).amount},USD,{ctx.clock.business_date()},buy-back\n"
        for made in (one, two)
    )
    with ctx.uow_factory() as uow:
        partner_id = uow.contracts.get(one.contract.id).partner_id
    report, _ = reconciliation.import_settlement_file(
        ctx, finance, [rows.encode()], partner_id=partner_id, filename="sunrise.csv"
    )
    assert (report.credits, report.matched) == (2, 2)
    with ctx.uow_factory() as uow:
        sources = {p.source for m in (one, two)
                   for p in uow.payments.list_for_contract(m.contract.id)}  # fmt: skip
    assert sources == {PaymentSource.DEALER_SETTLEMENT}
    bad = "contract_number,amount,currency,paid_on\nBK-000001,12.x,USD,2024-01-15\n"
    with pytest.raises(ValidationError, match="row 2"):
        reconciliation.import_settlement_file(ctx, finance, [bad.encode()], partner_id=partner_id)


def test_one_statement_imported_at_once_by_several_pays_once(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    content = statement(ctx.clock.business_date(),
                        ("L1", str(owed(made).amount), "X", "1", made.contract.number))  # fmt: skip
    results: list[object] = []

    def one() -> None:
        results.append(reconciliation.import_statement(ctx, finance, [content]))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(applied for _, applied in results) == [False, False, False, True]  # type: ignore[misc]
    with ctx.uow_factory() as uow:
        assert len(uow.payments.list_for_contract(made.contract.id)) == 1


def test_what_a_statement_says_is_kept_as_text_whatever_it_is(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    book()
    odd = "Fleet\x00 Co\u202e\ud800"
    content = statement(ctx.clock.business_date(), ("L\x07-1", "10.00", odd, "1\x00", odd))
    report, _ = reconciliation.import_statement(ctx, finance, [content])
    assert report.queued == 1
    (entry,) = entries(ctx, EntryState.QUEUED)
    assert (entry["line_id"], entry["payer_name"], entry["payer_account"]) == (
        "L -1",
        "Fleet Co",
        "1",
    )
