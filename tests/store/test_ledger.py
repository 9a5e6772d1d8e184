"""Generated vouchers and the unmapped queue on SQLite and PostgreSQL: amounts, dimensions and
payloads read back exactly as written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leasekit.domain.bookings import UnmappedEvent, UnmappedState
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.voucher_templates import Booking
from leasekit.domain.vouchers import JournalLine, Side, Voucher
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.services.storage import UnitOfWork, UnmappedQuery, VoucherQuery

UowFactory = Callable[[], UnitOfWork]
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TODAY = date(2026, 3, 2)
BIG = Decimal("98765432109876.54")


def booking(key: str, contract_id: str = "c-1") -> Booking:
    voucher = Voucher.post(
        business_date=TODAY,
        description="Disbursement",
        lines=[
            JournalLine("1210", "debit", Money(BIG + Decimal("0.01"), "CNY"), "lent"),
            JournalLine("1100", "credit", Money(BIG, "CNY"), "paid out"),
            JournalLine("2300", "credit", Money("0.01", "CNY"), "fees financed"),
        ],
        actor=Actor.system(),
        at=NOW,
        source_key=key,
    )
    dims = {"contract": contract_id, "partner": "p-1", "product": "FL-STD"}
    return Booking("finance_lease_disbursed", 3, voucher, (dims, dims, {"branch": "SZ"}))


def test_a_generated_voucher_keeps_its_origin_amounts_and_dimensions(
    uow_factory: UowFactory,
) -> None:
    made = booking("contract_disbursed:c-1:k1")
    with uow_factory() as uow:
        uow.vouchers.add_booking(made, "contract_disbursed")
        uow.vouchers.add_booking(booking("contract_disbursed:c-2:k2", "c-2"), "contract_disbursed")
        uow.commit()
    with uow_factory() as uow:
        view = uow.vouchers.view(made.voucher.id)
        assert uow.vouchers.get(made.voucher.id) == made.voucher
        page = uow.vouchers.page(VoucherQuery(contract_id="c-1"), after=None, limit=10)
        balance = uow.vouchers.trial_balance("CNY")
    assert (view.event_type, view.template, view.template_version) == (
        "contract_disbursed", "finance_lease_disbursed", 3,
    )  # fmt: skip
    assert [(line.account, line.side, line.amount) for line in view.lines] == [
        ("1210", Side.DEBIT, Money(BIG + Decimal("0.01"), "CNY")),
        ("1100", Side.CREDIT, Money(BIG, "CNY")),
        ("2300", Side.CREDIT, Money("0.01", "CNY")),
    ]
    first = view.lines[0]
    assert (first.contract_id, first.partner_id, first.product, first.branch) == (
        "c-1", "p-1", "FL-STD", None,
    )  # fmt: skip
    assert (view.lines[2].contract_id, view.lines[2].branch) == (None, "SZ")
    assert [record["id"] for record in page.items] == [made.voucher.id]
    assert balance == {"1210": 2 * (BIG + Decimal("0.01")), "1100": -2 * BIG,
                       "2300": Decimal("-0.02")}  # fmt: skip


def test_an_event_is_queued_once_and_reads_back_as_it_was(uow_factory: UowFactory) -> None:
    unmapped = UnmappedEvent(
        id=new_id(), event_key="payment_received:p-1:k", event_type="payment_received",
        subject="payment", subject_id="p-1", business_date=TODAY, reason="account 2900 closed",
        payload={"amount": "12345678901234.56", "currency": "CNY", "count": 3, "flag": None},
        state=UnmappedState.OPEN, created_at=NOW,
    )  # fmt: skip
    with uow_factory() as uow:
        uow.unmapped_events.add(unmapped)
        uow.commit()
    with uow_factory() as uow:
        assert uow.unmapped_events.get(unmapped.id) == unmapped
        assert uow.unmapped_events.find_by_event_key(unmapped.event_key) == unmapped
        (record,) = uow.unmapped_events.page(UnmappedQuery(UnmappedState.OPEN)).items
        assert record["payload"] == unmapped.payload
        assert uow.unmapped_events.page(UnmappedQuery(UnmappedState.RESOLVED)).items == []
        unmapped.resolve(Actor("fin-1", Role.FINANCE), NOW, "v-1")
        uow.unmapped_events.update(unmapped)
        uow.commit()
    with uow_factory() as uow:
        assert uow.unmapped_events.get(unmapped.id) == unmapped
        again = UnmappedEvent(
            id=new_id(), event_key=unmapped.event_key, event_type="payment_received",
            subject="payment", subject_id="p-1", business_date=TODAY, reason="x", payload={},
            state=UnmappedState.OPEN, created_at=NOW,
        )  # fmt: skip
        with pytest.raises(ValidationError, match="event_key"):
            uow.unmapped_events.add(again)


def test_vouchers_added_in_bulk_read_back_as_one_added_alone(uow_factory: UowFactory) -> None:
    alone, bulk = booking("contract_disbursed:c-1:k1"), booking("contract_disbursed:c-2:k2", "c-2")
    with uow_factory() as uow:
        uow.vouchers.add_booking(alone, "contract_disbursed")
        uow.vouchers.add_bookings([(bulk, "contract_disbursed")])
        uow.commit()
    with uow_factory() as uow:
        views = [uow.vouchers.view(made.voucher.id) for made in (alone, bulk)]
        assert uow.vouchers.get(bulk.voucher.id) == bulk.voucher
        known = uow.vouchers.known_keys({"contract_disbursed:c-2:k2", "unknown"})
    assert known == {"contract_disbursed:c-2:k2"}
    mine, theirs = (
        [(line.account, line.side, line.amount, line.memo, line.partner_id, line.branch)
         for line in view.lines]
        for view in views
    )  # fmt: skip
    assert mine == theirs
    assert [line.contract_id for line in views[1].lines] == ["c-2", "c-2", None]
    assert (views[1].event_type, views[1].template, views[1].template_version) == (
        "contract_disbursed", "finance_lease_disbursed", 3,
    )  # fmt: skip


def test_a_bulk_add_of_a_posted_source_key_is_refused_on_the_source_key(
    uow_factory: UowFactory,
) -> None:
    with uow_factory() as uow:
        uow.vouchers.add_bookings([(booking("contract_disbursed:c-1:k1"), "contract_disbursed")])
        uow.commit()
    with uow_factory() as uow, pytest.raises(ValidationError) as raised:
        uow.vouchers.add_bookings([
            (booking("contract_disbursed:c-3:k3", "c-3"), "contract_disbursed"),
            (booking("contract_disbursed:c-1:k1"), "contract_disbursed"),
        ])  # fmt: skip
    assert [error.field for error in raised.value.errors] == ["source_key"]
    with uow_factory() as uow:
        assert uow.vouchers.known_keys({"contract_disbursed:c-3:k3"}) == set()
