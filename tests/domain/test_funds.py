"""Receivable statuses and the allocation waterfall: examples, and a stateful property over
payments, returns and time in which money is always accounted for."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from leasekit.domain.contracts import Receivable
from leasekit.domain.funds import (
    DEFAULT_WATERFALL,
    Allocation,
    Arrival,
    CreditRun,
    Placed,
    ReceivablePart,
    ReceivableStatus,
    Waterfall,
    WaterfallOrder,
    allocate,
    play,
    status_of,
)
from leasekit.errors import ValidationError
from leasekit.money import Money

START = date(2026, 1, 15)


def usd(amount: str | Decimal) -> Money:
    return Money(amount, "USD")


def schedule(count: int = 4, *, fee: str = "0.00", penalty: str = "0.00") -> list[Receivable]:
    lines = []
    for n in range(1, count + 1):
        line = Receivable.line(
            contract_id="c1", sequence=n, due_date=START + timedelta(days=30 * n),
            principal=usd("800.00"), interest=usd("30.00"), fee=usd(fee),
        )  # fmt: skip
        line.penalty = usd(penalty)
        lines.append(line)
    return lines


def test_a_line_is_not_due_due_partly_paid_overdue_paid_or_written_off() -> None:
    line = schedule(1)[0]
    due = line.due_date
    assert status_of(line, due - timedelta(days=1), 3) is ReceivableStatus.NOT_DUE
    assert status_of(line, due, 3) is ReceivableStatus.DUE
    assert status_of(line, due + timedelta(days=3), 3) is ReceivableStatus.DUE
    assert status_of(line, due + timedelta(days=4), 3) is ReceivableStatus.OVERDUE
    line.pay("interest", usd("30.00"))
    assert status_of(line, due, 3) is ReceivableStatus.PARTLY_PAID
    assert status_of(line, due + timedelta(days=4), 3) is ReceivableStatus.OVERDUE
    line.pay("principal", usd("800.00"))
    assert status_of(line, due + timedelta(days=40), 3) is ReceivableStatus.PAID
    other = schedule(1)[0]
    other.written_off_on = due + timedelta(days=90)
    assert status_of(other, due + timedelta(days=90), 3) is ReceivableStatus.WRITTEN_OFF


def test_the_default_waterfall_pays_the_oldest_installment_penalty_first() -> None:
    lines = schedule(2, fee="5.00", penalty="2.00")
    allocations, left = allocate(lines, usd("840.00"), DEFAULT_WATERFALL, START + timedelta(60))
    assert [(a.sequence, str(a.part), a.amount.amount) for a in allocations] == [
        (1, "penalty", Decimal("2.00")), (1, "fee", Decimal("5.00")),
        (1, "interest", Decimal("30.00")), (1, "principal", Decimal("800.00")),
        (2, "penalty", Decimal("2.00")), (2, "fee", Decimal("1.00")),
    ]  # fmt: skip
    assert left == usd("0.00")


def test_by_part_pays_each_part_of_every_installment_first() -> None:
    lines = schedule(2)
    waterfall = Waterfall(["interest", "principal", "fee", "penalty"], WaterfallOrder.BY_PART)
    allocations, _ = allocate(lines, usd("100.00"), waterfall, START + timedelta(60))
    assert [(a.sequence, str(a.part)) for a in allocations] == [
        (1, "interest"),
        (2, "interest"),
        (1, "principal"),
    ]


def test_nothing_not_yet_due_is_paid_and_the_rest_is_credit() -> None:
    lines = schedule(3)
    allocations, left = allocate(lines, usd("1000.00"), DEFAULT_WATERFALL, START + timedelta(30))
    assert {a.sequence for a in allocations} == {1}
    assert left == usd("170.00")


def test_a_waterfall_names_every_part_once() -> None:
    with pytest.raises(ValidationError, match="parts"):
        Waterfall(["interest", "principal", "fee"])
    with pytest.raises(ValidationError, match="parts"):
        Waterfall(["interest", "interest", "fee", "penalty"])


def test_play_pays_as_payments_arriving_one_by_one_would() -> None:
    """Older credit first when a payment arrives, the payment next; a credit run pays what
    has fallen due since; a payoff (through) pays what is not yet due."""
    lines = schedule(3)
    day = START + timedelta(days=30)
    steps = [
        Arrival("p1", usd("1000.00"), day, day),
        CreditRun(day + timedelta(days=30)),
        Arrival("p2", usd("100.00"), day + timedelta(days=31), day + timedelta(days=31)),
        Arrival("p3", usd("1390.00"), day + timedelta(days=32), START + timedelta(days=90)),
    ]
    placed, credit = play(lines, steps, DEFAULT_WATERFALL)
    one, run, two, three = (step.on for step in steps)
    assert [(p.payment_id, p.allocation.sequence, str(p.allocation.part), p.allocation.amount,
             p.on) for p in placed] == [
        ("p1", 1, "interest", usd("30.00"), one), ("p1", 1, "principal", usd("800.00"), one),
        ("p1", 2, "interest", usd("30.00"), run), ("p1", 2, "principal", usd("140.00"), run),
        ("p2", 2, "principal", usd("100.00"), two),
        ("p3", 2, "principal", usd("560.00"), three), ("p3", 3, "interest", usd("30.00"), three),
        ("p3", 3, "principal", usd("800.00"), three),
    ]  # fmt: skip
    assert credit == {"p1": usd("0.00"), "p2": usd("0.00"), "p3": usd("0.00")}
    assert all(line.settled for line in lines)


_STEPS = st.lists(
    st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(1, 200_000))),
    min_size=1, max_size=8,
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(moves=_STEPS, cut=st.integers(0, 8))
def test_play_in_two_parts_is_play_in_one(moves: list[tuple[int, int | None]], cut: int) -> None:
    """What a replay relies on: the steps before a day played once, the rest played from
    the credit they left, come out as all of them played at once; and every payment is
    allocated or credit to the cent."""
    steps: list[Arrival | CreditRun] = []
    day = START
    for n, (days, cents) in enumerate(moves):
        day += timedelta(days=days)
        amount = None if cents is None else usd(Decimal(cents).scaleb(-2))
        steps.append(CreditRun(day) if amount is None else Arrival(f"p{n:02d}", amount, day, day))
    whole, whole_credit = play(schedule(6, fee="4.50", penalty="1.25"), steps, DEFAULT_WATERFALL)
    lines = schedule(6, fee="4.50", penalty="1.25")
    first, held = play(lines, steps[:cut], DEFAULT_WATERFALL)
    rest, credit = play(lines, steps[cut:], DEFAULT_WATERFALL, held)

    def shape(placed: list[Placed]) -> list[tuple[str, int, str, Money, date]]:
        return [(p.payment_id, p.allocation.sequence, str(p.allocation.part), p.allocation.amount,
                 p.on) for p in placed]  # fmt: skip

    assert shape(first + rest) == shape(whole)
    assert credit == whole_credit
    for step in steps:
        if isinstance(step, Arrival):
            paid = sum((p.allocation.amount for p in whole if p.payment_id == step.payment_id),
                       usd(0))  # fmt: skip
            assert paid + whole_credit[step.payment_id] == step.amount


class Book(RuleBasedStateMachine):
    """One contract's schedule under payments, returned payments and the passing of days.
    What is paid of each line is always what the payments still standing allocated to it,
    and every payment is allocated or credit to the cent."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = schedule(6, fee="4.50")
        self.today = START
        self.payments: dict[int, tuple[Money, list[Allocation], Money]] = {}
        self.reversed: set[int] = set()
        self.serial = 0

    @rule(cents=st.integers(min_value=1, max_value=250_000))
    def pay(self, cents: int) -> None:
        self._use_credit()
        amount = usd(Decimal(cents).scaleb(-2))
        allocations, left = allocate(self.lines, amount, DEFAULT_WATERFALL, self.today)
        self.serial += 1
        self.payments[self.serial] = (amount, allocations, left)

    @precondition(lambda self: bool(set(self.payments) - self.reversed))
    @rule(data=st.data())
    def return_one(self, data: st.DataObject) -> None:
        """The bank takes a payment back: what it paid is owed again, its credit gone."""
        standing = sorted(set(self.payments) - self.reversed)
        serial = data.draw(st.sampled_from(standing))
        amount, allocations, _ = self.payments[serial]
        by_id = {line.id: line for line in self.lines}
        for allocation in allocations:
            by_id[allocation.receivable_id].pay(str(allocation.part), -allocation.amount)
        self.payments[serial] = (amount, [], usd("0.00"))
        self.reversed.add(serial)

    @rule(days=st.integers(min_value=1, max_value=45))
    def time_passes(self, days: int) -> None:
        self.today += timedelta(days=days)
        self._use_credit()

    def _use_credit(self) -> None:
        """Standing credit pays what has fallen due, oldest payment first."""
        for serial in sorted(set(self.payments) - self.reversed):
            amount, allocations, credit = self.payments[serial]
            if credit.amount <= 0:
                continue
            more, left = allocate(self.lines, credit, DEFAULT_WATERFALL, self.today)
            self.payments[serial] = (amount, allocations + more, left)

    @invariant()
    def money_is_accounted_for(self) -> None:
        for amount, allocations, credit in self.payments.values():
            if allocations or credit.amount:
                assert sum((a.amount for a in allocations), usd(0)) + credit == amount

    @invariant()
    def each_line_is_paid_what_its_allocations_say(self) -> None:
        for line in self.lines:
            for part in ReceivablePart:
                allocated = sum(
                    (a.amount for serial, (_, allocations, _) in self.payments.items()
                     if serial not in self.reversed for a in allocations
                     if a.receivable_id == line.id and a.part is part),
                    usd(0),
                )  # fmt: skip
                assert getattr(line, f"paid_{part}") == allocated
                assert usd(0) <= allocated <= getattr(line, str(part))

    @invariant()
    def nothing_is_paid_before_it_falls_due(self) -> None:
        assert all(line.paid.amount == 0 for line in self.lines if line.due_date > self.today)


TestBook = Book.TestCase
TestBook.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
