"""Accounting: every business event that moves money becomes a balanced voucher.

An in-process handler (``accounting.book``) receives each event of
:data:`~leasekit.domain.voucher_templates.EVENT_TYPES` after its command commits. It reads
what the event does not say from the contract the event names (business type, product,
partner), has the templates in force (:func:`accounting_of`) book it, and stores the voucher
with the template that booked it and each line's dimensions. It is idempotent by the event's
key: a replay finds the voucher (or the queued event) and does nothing, and the unique source
key of vouchers is the last guard.

An event that no template meets, or that its template cannot book (a closed account, an
amount the event lacks), is never lost: it waits in the **unmapped queue** with the reason.
Once the cause is fixed (a template added, the account opened again), an accountant
:func:`replays <replay_unmapped>` it with the templates then in force; it is resolved when it
books, and the replay is refused with the reason while it still cannot.

Every voucher posted is announced by a ``vouchers_posted`` event in the same transaction,
which the ledger's own subscriber takes (:mod:`leasekit.services.ledger_sync`). Vouchers are
never changed: :func:`reverse_voucher` corrects one by its mirror. The finance director closes
the books month by month (:func:`close_books`); a voucher of a closed month is posted on the
first open day, naming the month it corrects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

from leasekit.domain.accounting_periods import Books, first_day_after, period_of, valid_period
from leasekit.domain.bookings import Accounting, UnmappedEvent, UnmappedState
from leasekit.domain.events import DomainEvent, PayloadValue
from leasekit.domain.identity import Actor, Role
from leasekit.domain.voucher_templates import EVENT_TYPES, BookingError, EventFacts, Unmapped
from leasekit.errors import DomainError, NotFoundError, PermissionDeniedError
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext
from leasekit.services.events import handles
from leasekit.services.reads import lister
from leasekit.services.storage import (
    ContractFacts,
    UnitOfWork,
    UnmappedQuery,
    VoucherQuery,
    VoucherView,
)
from leasekit.services.templates_in_force import book_with_plugins, in_force, plugin_event_names

__all__ = [
    "ACCOUNTANTS",
    "CLOSERS",
    "VOUCHERS_POSTED",
    "Correction",
    "ReverseVoucher",
    "accounting_of",
    "announce_unmapped",
    "book_event",
    "close_books",
    "contract_named",
    "ensure_accountant",
    "facts_of",
    "facts_with",
    "get_books",
    "get_voucher",
    "list_unmapped",
    "list_vouchers",
    "posted",
    "replay_unmapped",
    "reverse_voucher",
]

ACCOUNTANTS: Final = frozenset({Role.FINANCE, Role.FINANCE_DIRECTOR, Role.SYSTEM})
"""Who reads the books, works the unmapped queue and corrects a voucher."""
CLOSERS: Final = frozenset({Role.FINANCE_DIRECTOR})
"""Who closes the books for a month."""
VOUCHERS_POSTED: Final = "vouchers_posted"
"""Recorded with every voucher posted: what the ledger subscriber synchronises."""
_SUBJECT: Final = "unmapped_event"


def accounting_of(ctx: ServiceContext, uow: UnitOfWork) -> Accounting:
    """How the company books now: the chart and the templates in force, the configured
    defaults with every version saved since (:mod:`leasekit.services.templates_in_force`)."""
    return in_force(ctx.accounting, uow)


def facts_of(uow: UnitOfWork, event: DomainEvent) -> EventFacts:
    """The event with what its contract adds (see :func:`facts_with`), read as the bulk
    path reads a chunk's."""
    contract_id = contract_named(event)
    if contract_id is None:
        return facts_with(event, None)
    found = uow.contracts.booking_facts({contract_id})
    if contract_id not in found:
        raise NotFoundError("contract", contract_id)
    return facts_with(event, found[contract_id])


def _booked(work: Work, event: DomainEvent) -> str | None:
    """Book *event*: the voucher's id (None when every line came to zero). Unmapped or
    refused, a :class:`BookingError` or :class:`Unmapped` says why."""
    accounting = accounting_of(work.ctx, work.uow)
    facts = facts_of(work.uow, event)
    booked = book_with_plugins(
        accounting, work.ctx.adapters, event, facts, actor=work.actor, at=work.at
    )
    if isinstance(booked, Unmapped):
        raise _NotBooked(booked.reason)
    if booked is None:
        return None
    placed = attrs.evolve(booked, voucher=work.uow.books.for_posting().placed(booked.voucher))
    work.uow.vouchers.add_booking(placed, event.name)
    posted(work, [placed.voucher.id])
    return placed.voucher.id


def posted(work: Work, voucher_ids: Sequence[str]) -> None:
    """Tell the ledger subscriber that *voucher_ids* were posted in this unit of work: one
    event for all (their ids comma-separated), named after the first, so a batch is
    synchronised by one delivery."""
    work.event(VOUCHERS_POSTED, "voucher", voucher_ids[0], {"voucher_ids": ",".join(voucher_ids)})


class _NotBooked(DomainError):
    """No template met the event."""


@handles(*EVENT_TYPES, name="accounting.book", also=plugin_event_names)
def book_event(work: Work, event: DomainEvent) -> None:
    """Book *event* as a voucher, or queue it as unmapped with the reason (see the module)."""
    key = event.idempotency_key
    if work.uow.vouchers.find_by_source_key(key) is not None:
        return
    if work.uow.unmapped_events.find_by_event_key(key) is not None:
        return
    try:
        _booked(work, event)
    except (_NotBooked, BookingError) as exc:
        _queue(work, event, str(exc))


def _queue(work: Work, event: DomainEvent, reason: str) -> None:
    unmapped = UnmappedEvent.of(event, reason, work.at)
    work.uow.unmapped_events.add(unmapped)
    announce_unmapped(work, unmapped)


def announce_unmapped(work: Work, unmapped: UnmappedEvent) -> None:
    """Record that *unmapped* waits in the queue, for whoever watches it."""
    work.event(
        "event_unmapped",
        _SUBJECT,
        unmapped.id,
        {"event_key": unmapped.event_key, "event_type": unmapped.event_type,
         "reason": unmapped.reason},
    )  # fmt: skip


def _event_of(unmapped: UnmappedEvent) -> DomainEvent:
    """The event as it was delivered, from what the queue kept of it."""
    return DomainEvent.new(
        unmapped.event_type,
        unmapped.subject,
        unmapped.subject_id,
        unmapped.payload,
        occurred_at=unmapped.created_at,
        business_date=unmapped.business_date,
        actor_id=None,
        idempotency_key=unmapped.event_key,
    )


@command(
    "replay_unmapped",
    subject=_SUBJECT,
    roles=ACCOUNTANTS,
    reload=lambda uow, unmapped_id: uow.unmapped_events.get(unmapped_id),
)
def replay_unmapped(work: Work, unmapped_id: str) -> UnmappedEvent:
    """Book an unmapped event again with the templates now in force.

    Booked, it is resolved and names its voucher; one that still cannot be booked is a 409
    with the reason, and stays in the queue; one resolved already is a 409. Finance."""
    unmapped = work.uow.unmapped_events.get(unmapped_id)
    if unmapped.state is not UnmappedState.OPEN:
        raise DomainError(f"unmapped event {unmapped.id} is {unmapped.state} already")
    event = _event_of(unmapped)
    if work.uow.vouchers.find_by_source_key(event.idempotency_key) is not None:
        raise DomainError(f"event {event.idempotency_key} has a voucher already")
    try:
        voucher_id = _booked(work, event)
    except _NotBooked as exc:
        raise DomainError(f"still unmapped: {exc}") from None
    except BookingError as exc:
        raise DomainError(f"still not booked: {exc}") from None
    unmapped.resolve(work.actor, work.at, voucher_id)
    work.uow.unmapped_events.update(unmapped)
    work.event(
        "unmapped_event_resolved",
        _SUBJECT,
        unmapped.id,
        {"event_key": unmapped.event_key, "event_type": unmapped.event_type,
         "voucher_id": voucher_id},
    )  # fmt: skip
    return unmapped


# --- periods and corrections ---------------------------------------------------------------


@command("close_books", subject="books", roles=CLOSERS, reload=lambda uow, _: uow.books.get(),
         identify=lambda books: "books")  # fmt: skip
def close_books(work: Work, period: str) -> Books:
    """Close the books through a month (``YYYY-MM``).

    That month and every one before it refuse postings from then on; an event of theirs that
    comes later is booked on the first open day, naming the month it corrects. Only a month
    that has ended, after the last one closed, and with no event of it left in the unmapped
    queue. Finance director."""
    books = work.uow.books.for_posting()
    closed = books.close(
        valid_period(period), actor=work.actor, at=work.at, business_date=work.business_date
    )
    waiting = work.uow.unmapped_events.open_through(first_day_after(period))
    if waiting:
        raise DomainError(
            f"{waiting} event(s) of {period} or before wait in the unmapped queue; book them "
            "before closing the month"
        )
    work.uow.books.close(closed, books.version)
    work.event("books_closed", "books", "books", {"closed_through": period})
    return work.uow.books.get()


def get_books(ctx: ServiceContext, actor: Actor) -> Books:
    """How far the books are closed. Finance."""
    ensure_accountant(actor, "books")
    with ctx.uow_factory() as uow:
        return uow.books.get()


@attrs.frozen
class Correction:
    """Why a voucher is reversed."""

    reason: str = attrs.field(metadata={"description": "Why the voucher is wrong; kept on it."})


@attrs.frozen
class ReverseVoucher:
    voucher_id: str
    correction: Correction


@command(
    "reverse_voucher",
    subject="voucher",
    roles=ACCOUNTANTS - {Role.SYSTEM},
    reload=lambda uow, voucher_id: uow.vouchers.view(voucher_id),
)
def reverse_voucher(work: Work, request: ReverseVoucher) -> VoucherView:
    """Correct a voucher by reversing it.

    Vouchers are never changed: the reversal mirrors every line, links back to the original
    and is dated today, each line with its original's dimensions (so a contract's sub-ledger
    sees both); one of a closed month also names that month. A voucher is reversed once (409
    the second time). Finance."""
    original = work.uow.vouchers.get(request.voucher_id)
    dimensions = [line.dimensions for line in work.uow.vouchers.view(original.id).lines]
    reversal = original.reversal(
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
        reason=request.correction.reason,
    )
    books = work.uow.books.for_posting()
    if books.is_closed(original.business_date):
        reversal = attrs.evolve(reversal, corrects_period=period_of(original.business_date))
    work.uow.vouchers.add(reversal, dimensions)
    posted(work, [reversal.id])
    return work.uow.vouchers.view(reversal.id)


# --- reading ---------------------------------------------------------------------------------


def ensure_accountant(actor: Actor, what: str) -> None:
    """Refuse (403) a read of the books to anyone but finance staff."""
    if actor.role not in ACCOUNTANTS:
        raise PermissionDeniedError(what, "read", actor.role.value)


def _confine_vouchers(actor: Actor, query: VoucherQuery) -> VoucherQuery:
    ensure_accountant(actor, "voucher")
    return query


def _confine_unmapped(actor: Actor, query: UnmappedQuery) -> UnmappedQuery:
    ensure_accountant(actor, _SUBJECT)
    return query


list_vouchers = lister(
    "list_vouchers",
    VoucherQuery,
    lambda uow: uow.vouchers,
    _confine_vouchers,
    """List vouchers.

    Oldest first; ``?contract_id=`` those with a line of the contract, ``?event_type=``
    those a kind of event produced, ``?business_date=`` those of one day. Finance.""",
)

list_unmapped = lister(
    "list_unmapped",
    UnmappedQuery,
    lambda uow: uow.unmapped_events,
    _confine_unmapped,
    """List events no template booked.

    Oldest first, with the reason each was not booked; ``?state=open`` those waiting for
    the accountant. Finance.""",
)


def get_voucher(ctx: ServiceContext, actor: Actor, voucher_id: str) -> VoucherView:
    """Show a voucher.

    Its lines with their dimensions (contract, partner, product, branch), and the event type
    and template (name and version) that produced it. Finance."""
    ensure_accountant(actor, "voucher")
    with ctx.uow_factory() as uow:
        return uow.vouchers.view(voucher_id)


# --- an event's facts, without I/O --------------------------------------------------------------


def contract_named(event: DomainEvent) -> str | None:
    """The contract *event* is about: a contract's own events name it by their subject, the
    others by ``contract_id``."""
    named = event.payload.get("contract_id")
    if isinstance(named, str):
        return named
    return event.subject_id if event.subject == "contract" else None


def facts_with(event: DomainEvent, contract: ContractFacts | None) -> EventFacts:
    """*event* with what the templates read of its *contract*: shared by :func:`facts_of`
    and the bulk path, which reads a whole chunk's contracts at once."""
    if contract is None:
        return EventFacts.of(event, {})
    context: dict[str, PayloadValue] = {
        "contract_id": contract.id,
        "business_type": contract.business_type,
        "partner_id": contract.partner_id,
    }
    if contract.product is not None:
        context["product"] = contract.product
    if contract.branch is not None:
        context["branch"] = contract.branch
    return EventFacts.of(event, context)
