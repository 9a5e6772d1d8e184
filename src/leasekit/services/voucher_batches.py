"""Booking events in bulk, and rebuilding the books from the event log.

:func:`book_events` books a stream of events as the ``accounting.book`` handler books each
one, chunk by chunk, one transaction per chunk: the same templates (:func:`accounting_of`),
the same facts (:func:`facts_with`), the same vouchers, lines, dimensions and source keys, and
the same unmapped rows with the same reasons, a plugin's template booking what no data
template meets, and a voucher of a closed month landing in the open period. What differs is
the cost: a chunk's keys are checked in one query, its contracts read with their products'
codes in one, its vouchers and lines written with COPY on PostgreSQL and two executemany
INSERTs on SQLite, and one ``vouchers_posted`` event hands them all to the ledger's
subscriber.

Each event key is booked once, however often a stream is booked or by how many runs at once.
A chunk passes over the keys that have a voucher or wait in the unmapped queue; a run that
posts one of the others between that read and its own INSERT makes the INSERT break the unique
source key (or event key). The chunk is then rolled back whole and done again, which reads
the keys afresh and passes over what the other run posted; only a chunk that keeps losing
:data:`ATTEMPTS` times is an error.

:func:`replay_log` streams the committed events of the outbox, oldest first, into
:func:`book_events`: on a database restored without its vouchers, it books them again.

The relay hands the ``accounting.book`` handler's deliveries to :func:`book_delivered`, so
that a close's hundred thousand events are booked a claim at a time, not one transaction each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from itertools import islice
from typing import Final

import attrs

from leasekit.domain.accounting_periods import Books
from leasekit.domain.bookings import UnmappedEvent
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.domain.voucher_templates import (
    EVENT_TYPES,
    Booking,
    BookingError,
    TemplateVersion,
    Unmapped,
    book,
    choice_key,
)
from leasekit.errors import ConflictError, NotFoundError, ValidationError
from leasekit.services.accounting import (
    accounting_of,
    announce_unmapped,
    contract_named,
    facts_with,
    posted,
)
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext
from leasekit.services.events import in_batches
from leasekit.services.storage import ContractFacts, UnitOfWork
from leasekit.services.templates_in_force import book_with_plugins, plugin_event_names

__all__ = ["ATTEMPTS", "BatchReport", "book_delivered", "book_events", "replay_log"]

ATTEMPTS: Final = 5
"""How often a chunk is done again after another run posted some of its events meanwhile."""
CACHED_CONTRACTS: Final = 100_000
"""How many contracts' facts a run keeps between chunks (a few MB)."""
_DUPLICATE_FIELDS: Final = frozenset({"source_key", "event_key"})
"""The fields whose unique index says another run booked or queued the event first."""


@attrs.frozen
class BatchReport:
    """What a bulk run did with the events it was given."""

    booked: int = 0
    """Vouchers posted."""
    zero: int = 0
    """Events booked to nothing: every line of their template came to zero."""
    unmapped: int = 0
    """Events queued for the accountant, with the reason."""
    skipped: int = 0
    """Events that had a voucher or waited in the queue already, or came twice."""
    ignored: int = 0
    """Events that move no money (not of :data:`EVENT_TYPES`)."""
    chunks: int = 0
    retried: int = 0
    """Chunks done again because another run posted some of their events meanwhile."""

    def __add__(self, other: BatchReport) -> BatchReport:
        mine, theirs = attrs.astuple(self), attrs.astuple(other)
        return BatchReport(*(a + b for a, b in zip(mine, theirs, strict=True)))


def book_events(
    ctx: ServiceContext,
    events: Iterable[DomainEvent],
    *,
    chunk: int = 2000,
    actor: Actor | None = None,
) -> BatchReport:
    """Book *events* in chunks of *chunk*, one transaction each, as the ``accounting.book``
    handler books each (see the module); as *actor* (the system by default).

    On a database server a chunk is booked while the one before it is written: the writing
    waits mostly on the server, so a thread of its own lets the booking go on meanwhile
    (measured by ``benchmarks/bench_vouchers.py``; on SQLite the two would only take turns,
    and each chunk is written as soon as it is booked)."""
    if chunk < 1:
        raise ValidationError.single("chunk", "must be at least 1")
    booker = actor or Actor.system()
    report = BatchReport()
    contracts = _ContractCache()
    stream = iter(events)
    with ThreadPoolExecutor(1, thread_name_prefix="voucher-writer") as writer:
        pending: tuple[Sequence[DomainEvent], Future[BatchReport]] | None = None
        while batch := list(islice(stream, chunk)):
            prepared = _prepare(ctx, booker, batch, contracts)
            if pending is not None:
                report += _written(ctx, booker, *pending)
            pending = (batch, writer.submit(_write, ctx, booker, prepared))
            if not prepared.overlap:
                report += _written(ctx, booker, *pending)
                pending = None
        if pending is not None:
            report += _written(ctx, booker, *pending)
    return report


@in_batches("accounting.book")
def book_delivered(ctx: ServiceContext, events: Sequence[DomainEvent]) -> None:
    """Book what the relay claimed for the voucher engine in one chunk: one transaction,
    one ``vouchers_posted`` event for the ledger."""
    book_events(ctx, events, chunk=len(events))


def replay_log(ctx: ServiceContext, *, after: int = 0, chunk: int = 2000) -> BatchReport:
    """Book every money event of the event log past position *after*, oldest first, through
    :func:`book_events`; events booked or queued already are passed over."""
    return book_events(ctx, _logged(ctx, after, chunk), chunk=chunk)


def _logged(ctx: ServiceContext, after: int, page: int) -> Iterator[DomainEvent]:
    """The log's events that are booked (:func:`_books`) past *after*, read *page* at a
    time, each page in a short transaction of its own: the log is streamed, never held
    whole."""
    names = {*EVENT_TYPES, *plugin_event_names(ctx)}
    position = after
    while True:
        with ctx.uow_factory() as uow:
            found = uow.event_log.named_after(names, position, page)
        if not found:
            return
        position = found[-1][0]
        yield from (event for _, event in found)


def _written(
    ctx: ServiceContext, actor: Actor, events: Sequence[DomainEvent], write: Future[BatchReport]
) -> BatchReport:
    """What writing *events* did; if another run posted some of them since they were booked,
    the chunk is done again from the start, alone (:func:`_book_chunk`)."""
    try:
        return write.result()
    except ValidationError as exc:
        if not _lost_to_another_run(exc):
            raise
    return _book_chunk(ctx, actor, events, retried=1)


def _book_chunk(
    ctx: ServiceContext, actor: Actor, events: Sequence[DomainEvent], *, retried: int
) -> BatchReport:
    """Book one chunk, again from the start while another run keeps posting its events."""
    for attempt in range(retried, ATTEMPTS):
        try:
            report = _write(ctx, actor, _prepare(ctx, actor, events, _ContractCache()))
        except ValidationError as exc:
            if not _lost_to_another_run(exc):
                raise
            continue
        return attrs.evolve(report, retried=attempt)
    raise ConflictError(
        f"the chunk of {len(events)} events from {events[0].idempotency_key} lost to other "
        f"runs booking the same events {ATTEMPTS} times; run it again"
    )


def _lost_to_another_run(error: ValidationError) -> bool:
    return {fault.field for fault in error.errors} <= _DUPLICATE_FIELDS


@attrs.frozen
class _Prepared:
    """A chunk booked and not yet written: what :func:`_write` stores in one transaction."""

    at: datetime
    business_date: date
    bookings: list[tuple[Booking, str]]
    unmapped: list[UnmappedEvent]
    report: BatchReport
    overlap: bool
    """Whether the next chunk is booked while this one is written
    (:attr:`~leasekit.services.storage.VoucherRepository.bulk_writes_wait`)."""


def _prepare(
    ctx: ServiceContext, actor: Actor, events: Sequence[DomainEvent], contracts: _ContractCache
) -> _Prepared:
    """Book *events* in a transaction that only reads: which keys are new, the templates,
    the contracts. Nothing it reads can go stale before :func:`_write` but the keys, which
    the database's unique indexes guard."""
    money = [event for event in events if _books(ctx, event.name)]
    at, business_date = ctx.moment()
    with ctx.uow_factory() as uow:
        fresh = _fresh(uow, money)
        work = Work(ctx, uow, actor, at, business_date)
        bookings, unmapped, zero = _bookings(work, fresh, contracts)
        overlap = uow.vouchers.bulk_writes_wait
    report = BatchReport(
        booked=len(bookings),
        zero=zero,
        unmapped=len(unmapped),
        skipped=len(money) - len(fresh),
        ignored=len(events) - len(money),
        chunks=1,
    )
    return _Prepared(at, business_date, bookings, unmapped, report, overlap)


def _write(ctx: ServiceContext, actor: Actor, prepared: _Prepared) -> BatchReport:
    """Store a booked chunk in one transaction: its vouchers placed in the open period (read
    under the lock that a close of the books waits for), their lines, the unmapped events and
    the events that announce them."""
    with ctx.unit_of_work() as uow:
        work = Work(ctx, uow, actor, prepared.at, prepared.business_date)
        books = uow.books.for_posting()
        bookings = [(_placed(books, booking), kind) for booking, kind in prepared.bookings]
        uow.vouchers.add_bookings(bookings)
        if bookings:
            posted(work, [booking.voucher.id for booking, _ in bookings])
        uow.unmapped_events.add_many(prepared.unmapped)
        for queued in prepared.unmapped:
            announce_unmapped(work, queued)
        uow.commit()
    return prepared.report


def _placed(books: Books, booking: Booking) -> Booking:
    """*booking* with its voucher placed in the open period (:meth:`Books.placed`); as it
    is, without a copy, when it is dated there already (nearly every one)."""
    voucher = books.placed(booking.voucher)
    return booking if voucher is booking.voucher else attrs.evolve(booking, voucher=voucher)


def _books(ctx: ServiceContext, event_name: str) -> bool:
    """Whether events named so are booked: money events, and those a plugin's template names."""
    return event_name in EVENT_TYPES or ctx.adapters.voucher_template(event_name) is not None


def _fresh(uow: UnitOfWork, events: Sequence[DomainEvent]) -> list[DomainEvent]:
    """*events* that have no voucher and are not queued, each key once (the first)."""
    seen = uow.vouchers.known_keys({event.idempotency_key for event in events})
    fresh = []
    for event in events:
        if event.idempotency_key not in seen:
            seen.add(event.idempotency_key)
            fresh.append(event)
    return fresh


def _bookings(
    work: Work, events: Sequence[DomainEvent], contracts: _ContractCache
) -> tuple[list[tuple[Booking, str]], list[UnmappedEvent], int]:
    """What the templates in force make of *events*, as :meth:`TemplateSet.book` makes of
    each, choosing once per kind of event (:func:`choice_key`): the bookings with their event
    types, the events to queue, and how many came to nothing."""
    accounting = accounting_of(work.ctx, work.uow)
    chosen: dict[tuple[str | None, ...], TemplateVersion | Unmapped] = {}
    bookings: list[tuple[Booking, str]] = []
    unmapped: list[UnmappedEvent] = []
    zero = 0
    for event, contract in zip(events, contracts.of(work.uow, events), strict=True):
        facts = facts_with(event, contract)
        currency = facts.field_text("currency")
        templates = accounting.templates_in(currency)
        key = (currency, *choice_key(facts))
        if key not in chosen:
            chosen[key] = templates.choose(facts)
        template = chosen[key]
        try:
            booked = (
                book_with_plugins(
                    accounting, work.ctx.adapters, event, facts, actor=work.actor, at=work.at
                )
                if isinstance(template, Unmapped)  # a plugin's template may book it
                else book(
                    template, facts, templates.chart, actor=work.actor, at=work.at,
                    rounding=accounting.rounding,
                )
            )  # fmt: skip
        except BookingError as exc:
            unmapped.append(UnmappedEvent.of(event, str(exc), work.at))
            continue
        if isinstance(booked, Unmapped):
            unmapped.append(UnmappedEvent.of(event, booked.reason, work.at))
        elif booked is None:
            zero += 1
        else:
            bookings.append((booked, event.name))
    return bookings, unmapped, zero


class _ContractCache:
    """What the templates read of each contract, kept for a run: a chunk reads only the
    contracts no earlier chunk read (what it reads of one does not change once it books
    money), up to :data:`CACHED_CONTRACTS` at once."""

    def __init__(self) -> None:
        self._facts: dict[str, ContractFacts] = {}

    def of(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> list[ContractFacts | None]:
        """The contract each of *events* names, or None; a contract that is missing is a
        NotFoundError, as it is to the handler."""
        named = [contract_named(event) for event in events]
        unread = {cid for cid in named if cid is not None and cid not in self._facts}
        if len(self._facts) + len(unread) > CACHED_CONTRACTS:
            self._facts.clear()
        self._facts.update(uow.contracts.booking_facts(unread))
        facts: list[ContractFacts | None] = []
        for contract_id in named:
            if contract_id is not None and contract_id not in self._facts:
                raise NotFoundError("contract", contract_id)
            facts.append(None if contract_id is None else self._facts[contract_id])
        return facts
