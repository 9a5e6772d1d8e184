"""Voucher templates saved through the services, on SQLite and PostgreSQL: a version is
checked when saved (refusals name the body's field), books from the next event on, in this
process and in another; two saves of one version at once store one; plugins' templates book
the events no data template meets, and events no data template knows reach the handler."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import pytest

from leasekit import hookimpl
from leasekit.demo import DEMO_ADAPTERS
from leasekit.domain.accounting import default_chart
from leasekit.domain.bookings import Accounting
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.voucher_templates import TemplateSet, TemplateVersion
from leasekit.domain.vouchers import Side
from leasekit.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from leasekit.money import Money
from leasekit.plugins import create_plugin_manager
from leasekit.ports import LedgerLine
from leasekit.runtime import build_runtime
from leasekit.services import accounting, users, voucher_templates
from leasekit.services.catalog import handlers
from leasekit.services.context import ServiceContext
from leasekit.services.events import HandlerSubscriber
from leasekit.services.storage import SavedTemplate
from leasekit.services.voucher_templates import (
    TemplateConditions,
    TemplateData,
    TemplateLineData,
    TemplateScope,
    VoucherTemplateQuery,
)
from leasekit.settings import load_settings
from leasekit.testing.book import BookContract
from leasekit.testing.fakes.vouchers import FakeVoucherTemplate

from .test_accounting import book, deliver_all, finance, record, usd, vouchers

__all__ = ["book", "fee_template", "finance", "usd"]  # fixtures used here


def fee_template(**changes: object) -> TemplateData:
    """``payment_received`` again, its money held in suspense with a memo of its own."""
    template = TemplateData(
        name="payment_received",
        event_type="payment_received",
        description="Payment received (v2)",
        lines=(
            TemplateLineData("1100", Side.DEBIT, "amount", memo="received v2"),
            TemplateLineData("2900", Side.CREDIT, "amount", memo="to allocate"),
        ),
        dimensions={"contract": "contract_id", "partner": "partner_id"},
    )
    return attrs.evolve(template, **changes)


def _refusal(call: Callable[[], object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {e.field: e.message for e in caught.value.errors}


def in_force(ctx: ServiceContext) -> dict[str, TemplateVersion]:
    with ctx.uow_factory() as uow:
        return accounting.accounting_of(ctx, uow).templates.in_force()


# --- saving ------------------------------------------------------------------------------------


def test_a_saved_version_books_the_next_event(
    usd: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    saved = voucher_templates.save_voucher_template(usd, finance, fee_template())
    assert (saved.template.name, saved.template.version) == ("payment_received", 2)
    assert saved.created_by == finance.user_id
    assert in_force(usd)["payment_received"] == saved.template

    contract = book().contract
    record(usd, finance, contract, "10.00", "T-1")
    deliver_all(usd)
    (received,) = [
        v for v in vouchers(usd, finance, contract_id=contract.id)
        if v.event_type == "payment_received"
    ]  # fmt: skip
    assert (received.template, received.template_version) == ("payment_received", 2)
    assert [line.memo for line in received.lines] == ["received v2", "to allocate"]
    assert all(line.contract_id == contract.id for line in received.lines)


def test_the_version_is_the_next_one_and_one_taken_is_a_conflict(
    ctx: ServiceContext, finance: Actor
) -> None:
    assert _refusal(
        lambda: voucher_templates.save_voucher_template(ctx, finance, fee_template(version=3))
    ) == {"version": "must be 2, the next version"}
    voucher_templates.save_voucher_template(ctx, finance, fee_template(version=2))
    with pytest.raises(ConflictError, match="'payment_received' is at version 2 already"):
        voucher_templates.save_voucher_template(ctx, finance, fee_template(version=2))
    third = voucher_templates.save_voucher_template(ctx, finance, fee_template())
    assert third.template.version == 3


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"lines": (TemplateLineData("1100", Side.DEBIT, "amount"),
                    TemplateLineData("2900", Side.CREDIT, "amount / 2"))},
         "lines", "debits minus credits come to 1/2 * amount; they must cancel"),
        ({"lines": (TemplateLineData("1100", Side.DEBIT, "amount"),
                    TemplateLineData("2900", Side.CREDIT, "amount + fee"))},
         "lines[1].amount", "unknown field 'fee'"),
        ({"lines": (TemplateLineData("9999", Side.DEBIT, "amount"),
                    TemplateLineData("2900", Side.CREDIT, "amount"))},
         "lines[0].account", "9999"),
        ({"name": "Payment"}, "name", "lower-case"),
        ({"event_type": "contract_signed"}, "event_type", "'contract_signed' is not one of"),
        # Loans' receipts, as specific as direct debits' and nothing for both.
        ({"name": "loan_payment_received", "conditions": TemplateConditions(business_type="loan")},
         "conditions", "as specific as template payment_received_direct_debit"),
    ],
)  # fmt: skip
def test_a_template_that_cannot_book_is_refused_naming_the_field(
    ctx: ServiceContext, finance: Actor, changes: dict[str, object], field: str, message: str
) -> None:
    found = _refusal(
        lambda: voucher_templates.save_voucher_template(ctx, finance, fee_template(**changes))
    )
    assert list(found) == [field]
    assert message in found[field]
    assert in_force(ctx)["payment_received"].version == 1


def test_an_account_closed_in_the_chart_is_refused(ctx: ServiceContext, finance: Actor) -> None:
    closed = attrs.evolve(ctx, accounting=Accounting.of(ctx.accounting.chart, ["2900"]))
    found = _refusal(
        lambda: voucher_templates.save_voucher_template(closed, finance, fee_template())
    )
    assert list(found) == ["lines[1].account"]
    assert "closed" in found["lines[1].account"]


@pytest.mark.parametrize("role", [Role.DEALER_USER, Role.OFFICER, Role.DIRECTOR, Role.ADMIN])
def test_only_finance_saves_templates(
    ctx: ServiceContext, admin: Actor, dealer: Actor, role: Role
) -> None:
    who = dealer if role is Role.DEALER_USER else Actor("someone", role)
    with pytest.raises(PermissionDeniedError):
        voucher_templates.save_voucher_template(ctx, who, fee_template())
    with pytest.raises(PermissionDeniedError):
        voucher_templates.list_voucher_templates(ctx, who)
    director = users.create_user(
        ctx, admin, users.CreateUser("fd", "Finance Director", Role.FINANCE_DIRECTOR)
    ).actor()
    assert voucher_templates.save_voucher_template(ctx, director, fee_template()).template.version


def test_two_saves_of_one_version_at_once_store_one(ctx: ServiceContext, finance: Actor) -> None:
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def save() -> None:
        start.wait()
        try:
            outcomes.append(
                voucher_templates.save_voucher_template(ctx, finance, fee_template(version=2))
            )
        except ConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["ConflictError", "SavedTemplate"]
    assert in_force(ctx)["payment_received"].version == 2


def test_the_database_refuses_a_version_saved_twice(ctx: ServiceContext, finance: Actor) -> None:
    template = TemplateVersion.from_mapping(fee_template().as_mapping(2))
    with ctx.uow_factory() as uow:
        uow.voucher_templates.add(SavedTemplate(new_id(), template, "a", ctx.clock.now()))
        uow.commit()
    with ctx.uow_factory() as uow, pytest.raises(ConflictError, match="version 2 was saved"):
        uow.voucher_templates.add(SavedTemplate(new_id(), template, "b", ctx.clock.now()))


# --- in force, cheaply -------------------------------------------------------------------------


def test_the_templates_in_force_are_built_once_and_see_another_process_s_save(
    ctx: ServiceContext, finance: Actor
) -> None:
    with ctx.uow_factory() as uow:
        assert accounting.accounting_of(ctx, uow) is ctx.accounting, "nothing saved: the defaults"
    voucher_templates.save_voucher_template(ctx, finance, fee_template())
    with ctx.uow_factory() as uow:
        first = accounting.accounting_of(ctx, uow)
        assert accounting.accounting_of(ctx, uow) is first
    # Another process stores version 3: the next booking sees it.
    template = TemplateVersion.from_mapping(fee_template().as_mapping(3))
    with ctx.uow_factory() as uow:
        uow.voucher_templates.add(SavedTemplate(new_id(), template, "elsewhere", ctx.clock.now()))
        uow.commit()
    with ctx.uow_factory() as uow:
        again = accounting.accounting_of(ctx, uow)
    assert again is not first
    assert again.templates.in_force()["payment_received"] == template
    assert again.templates_in("USD").in_force()["payment_received"] == template
    assert again.templates_in("USD").chart.currency.code == "USD"


# --- reading -----------------------------------------------------------------------------------


def test_templates_are_listed_in_force_or_every_version_and_paged(
    ctx: ServiceContext, finance: Actor
) -> None:
    voucher_templates.save_voucher_template(ctx, finance, fee_template())
    listed = voucher_templates.list_voucher_templates(
        ctx, finance, VoucherTemplateQuery(event_type="payment_received")
    )
    assert [(t.name, t.version, t.in_force, t.saved) for t in listed.items] == [
        ("payment_received", 2, True, True),
        ("payment_received_direct_debit", 1, True, False),
    ]
    every = VoucherTemplateQuery(name="payment_received", versions=TemplateScope.ALL)
    first = voucher_templates.list_voucher_templates(ctx, finance, every, limit=1)
    assert [(t.version, t.in_force) for t in first.items] == [(1, False)]
    assert first.next_after == "payment_received.1"
    rest = voucher_templates.list_voucher_templates(ctx, finance, every, after=first.next_after)
    assert [(t.version, t.in_force) for t in rest.items] == [(2, True)]
    assert rest.next_after is None
    with pytest.raises(ValidationError, match="after"):
        voucher_templates.list_voucher_templates(ctx, finance, after="payment_received")

    everything = voucher_templates.list_voucher_templates(ctx, finance, limit=200)
    assert len(everything.items) == len(in_force(ctx))


def test_a_template_shows_every_version_and_who_saved_it(
    ctx: ServiceContext, finance: Actor
) -> None:
    voucher_templates.save_voucher_template(ctx, finance, fee_template())
    view = voucher_templates.get_voucher_template(ctx, finance, "payment_received")
    assert (view.name, view.event_type, view.in_force) == (
        "payment_received",
        "payment_received",
        2,
    )
    default, saved = view.versions
    assert (default.template.version, default.in_force, default.created_by) == (1, False, None)
    assert (saved.template.version, saved.in_force, saved.created_by) == (2, True, finance.user_id)
    assert saved.created_at == ctx.clock.now()
    with pytest.raises(NotFoundError, match="no_such"):
        voucher_templates.get_voucher_template(ctx, finance, "no_such")


def test_a_stored_version_reads_back_equal() -> None:
    template = TemplateVersion.from_mapping(
        fee_template(conditions=TemplateConditions(payment_source="direct_debit")).as_mapping(4)
    )
    assert TemplateVersion.from_mapping(template.as_mapping()) == template


# --- plugins' templates ------------------------------------------------------------------------


@attrs.frozen
class PluginTemplate:
    """A plugin's template: what *lines* gives, or raises."""

    event_name: str
    given: Callable[[DomainEvent], Sequence[LedgerLine]]

    def lines(self, event: DomainEvent) -> Sequence[LedgerLine]:
        return self.given(event)


def _premium(event: DomainEvent) -> list[LedgerLine]:
    amount = Money(str(event.payload["premium"]), "USD")
    return [
        LedgerLine("1100", Side.DEBIT, amount, "premium"),
        LedgerLine("4200", Side.CREDIT, amount),
    ]


def _with_plugin(ctx: ServiceContext, template: PluginTemplate) -> ServiceContext:
    adapters = attrs.evolve(ctx.adapters, voucher_templates={template.event_name: template})
    return attrs.evolve(ctx, adapters=adapters)


def _event(ctx: ServiceContext, name: str, **payload: str) -> DomainEvent:
    return DomainEvent.new(
        name, "policy", "P-1", payload, occurred_at=ctx.clock.now(),
        business_date=ctx.clock.business_date(), actor_id="system",
    )  # fmt: skip


def test_an_event_only_a_plugin_names_reaches_the_handler_and_books_from_its_lines(
    usd: ServiceContext, finance: Actor
) -> None:
    plugged = _with_plugin(usd, PluginTemplate("vehicle_insured", _premium))
    handler = HandlerSubscriber(handlers()["accounting.book"], plugged)
    assert handler.wants("vehicle_insured")
    assert not HandlerSubscriber(handlers()["accounting.book"], usd).wants("vehicle_insured")

    handler.deliver(_event(plugged, "vehicle_insured", premium="12.50", currency="USD"))
    (view,) = vouchers(usd, finance, event_type="vehicle_insured")
    assert (view.template, view.template_version) == ("plugin:vehicle_insured", 0)
    assert [(line.account, line.side, line.amount) for line in view.lines] == [
        ("1100", Side.DEBIT, Money("12.50", "USD")), ("4200", Side.CREDIT, Money("12.50", "USD")),
    ]  # fmt: skip
    assert accounting.list_unmapped(usd, finance).items == []


def test_a_plugin_books_an_event_no_data_template_meets(
    usd: ServiceContext, finance: Actor
) -> None:
    bare = attrs.evolve(usd, accounting=Accounting(TemplateSet(default_chart("X", "USD"))))
    plugged = _with_plugin(bare, PluginTemplate("return_fee_charged", _premium))
    HandlerSubscriber(handlers()["accounting.book"], plugged).deliver(
        _event(plugged, "return_fee_charged", premium="25.00", amount="25.00", currency="USD")
    )
    (view,) = vouchers(usd, finance)
    assert view.template == "plugin:return_fee_charged"


def _raises(event: DomainEvent) -> list[LedgerLine]:
    raise RuntimeError("vendor down")


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (lambda e: [LedgerLine("1100", Side.DEBIT, Money("1.00", "USD")),
                    LedgerLine("4200", Side.CREDIT, Money("2.00", "USD"))],
         "plugin:vehicle_insured, lines: USD debits 1.00 do not equal credits 2.00"),
        (lambda e: [LedgerLine("1100", Side.DEBIT, Money("1.00", "EUR")),
                    LedgerLine("4200", Side.CREDIT, Money("1.00", "EUR"))],
         "plugin:vehicle_insured, lines[0].amount: EUR line, USD chart"),
        (lambda e: [LedgerLine("1100", Side.DEBIT, Money("1.00", "USD")),
                    LedgerLine("9999", Side.CREDIT, Money("1.00", "USD"))],
         "plugin:vehicle_insured, lines[1].account: "),
        (_raises, "plugin:vehicle_insured failed: RuntimeError: vendor down"),
    ],
)  # fmt: skip
def test_a_plugin_s_lines_that_cannot_be_booked_wait_in_the_unmapped_queue(
    usd: ServiceContext, finance: Actor, given: Callable[[DomainEvent], Sequence[LedgerLine]],
    reason: str,
) -> None:  # fmt: skip
    plugged = _with_plugin(usd, PluginTemplate("vehicle_insured", given))
    HandlerSubscriber(handlers()["accounting.book"], plugged).deliver(
        _event(plugged, "vehicle_insured", premium="1.00", currency="USD")
    )
    assert vouchers(usd, finance) == []
    (waiting,) = accounting.list_unmapped(usd, finance).items
    assert waiting["event_type"] == "vehicle_insured"
    assert waiting["reason"].startswith(reason)


def test_a_plugin_that_gives_no_lines_books_nothing(usd: ServiceContext, finance: Actor) -> None:
    plugged = _with_plugin(usd, PluginTemplate("vehicle_insured", lambda e: []))
    HandlerSubscriber(handlers()["accounting.book"], plugged).deliver(
        _event(plugged, "vehicle_insured", premium="0", currency="USD")
    )
    assert vouchers(usd, finance) == []
    assert accounting.list_unmapped(usd, finance).items == []


class InsurancePlugin:
    """Books ``vehicle_insured`` events, which no data template knows, through the hook."""

    @hookimpl
    def leasekit_register_voucher_templates(
        self, register: Callable[[str, Callable[[object], FakeVoucherTemplate]], None]
    ) -> None:
        register(
            "insurance", lambda context: FakeVoucherTemplate("vehicle_insured", "1100", "4200")
        )


def test_the_relay_hands_a_plugin_s_event_to_the_booking_handler(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path, adapters=DEMO_ADAPTERS)
    pm = create_plugin_manager(
        load_entrypoints=False, blocked=(), extra_plugins=[InsurancePlugin()]
    )
    runtime = build_runtime(settings, pm)
    try:
        ctx = runtime.services
        event = _event(ctx, "vehicle_insured", amount="88.00", currency=settings.currency)
        with ctx.uow_factory() as uow:
            uow.record(event)
            uow.commit()
        runtime.deliver_outbox()
        assert runtime.wait_for_delivery()
        with ctx.uow_factory() as uow:
            voucher = uow.vouchers.find_by_source_key(event.idempotency_key)
        assert voucher is not None
        assert [(line.account, line.side) for line in voucher.lines] == [
            ("1100", Side.DEBIT), ("4200", Side.CREDIT),
        ]  # fmt: skip
    finally:
        runtime.close()
