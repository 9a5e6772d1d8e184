"""The journal: vouchers and their lines, append-only.

A posted voucher is never updated or deleted; correcting one means adding its
:meth:`~leasekit.domain.vouchers.Voucher.reversal`. ``source_key`` is unique so that replaying
the event that produced a voucher cannot post it twice; ``reverses`` is unique so that a
voucher cannot be reversed twice.

A voucher generated from a business event also names the event type and the template
(name and version) that booked it, and each of its lines the dimensions the template gave it
(contract, partner, product, branch); a contract's lines are indexed by contract, for its
sub-ledger. Events that no template booked wait in ``unmapped_events``, one row per event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.domain.bookings import UnmappedEvent
from leasekit.domain.voucher_templates import Booking
from leasekit.domain.vouchers import JournalLine, Voucher
from leasekit.errors import NotFoundError
from leasekit.money import Money
from leasekit.services.storage import (
    LedgerSyncState,
    Page,
    SyncStatus,
    VoucherLineView,
    VoucherQuery,
    VoucherView,
)
from leasekit.store.accounting_books import BooksRepository, VoucherSyncRepository, VoucherSyncRow
from leasekit.store.mapping import Record
from leasekit.store.repository import (
    Rule,
    SqlRepository,
    Stored,
    in_lists,
    repository,
    translate_integrity_error,
    write,
)
from leasekit.store.schema import ID_LENGTH, Base, EntityRow, currency_column, id_column

__all__ = [
    "UnmappedEventRepository",
    "UnmappedEventRow",
    "VoucherLineRow",
    "VoucherRepository",
    "VoucherRow",
]

_DIMENSION_COLUMNS: Final = {
    "contract": "contract_id",
    "partner": "partner_id",
    "product": "product",
    "branch": "branch",
}
"""Each dimension a template line may give, and the line column that keeps it."""


class VoucherRow(Base):
    """A posted voucher. No version: vouchers are never updated, only reversed."""

    __tablename__ = "vouchers"

    id: Mapped[str] = id_column()
    business_date: Mapped[dt.date] = mapped_column(index=True)
    description: Mapped[str]
    created_by: Mapped[str]
    created_at: Mapped[dt.datetime]
    source_key: Mapped[str | None] = mapped_column(unique=True)
    reverses: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("vouchers.id"), unique=True
    )
    event_type: Mapped[str | None] = mapped_column(String(64))
    """The event that produced the voucher; None for one posted by hand."""
    template: Mapped[str | None] = mapped_column(String(64))
    template_version: Mapped[int | None]
    corrects_period: Mapped[str | None] = mapped_column(String(7))
    """The closed month whose event it books late, in the open period."""

    __table_args__ = (sa.Index(None, "event_type", "id"),)


class VoucherLineRow(Base):
    """One journal line; ``line_no`` keeps the order the voucher was written in."""

    __tablename__ = "voucher_lines"

    voucher_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("vouchers.id"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(index=True)
    side: Mapped[str]
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    memo: Mapped[str]
    contract_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    partner_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    product: Mapped[str | None] = mapped_column(String(100))
    branch: Mapped[str | None] = mapped_column(String(100))


_RULES = (
    Rule("uq_vouchers_source_key", ("source_key",), "source_key", "was posted already"),
    Rule("uq_vouchers_reverses", ("reverses",), "reverses", "was reversed already"),
    Rule("fk_vouchers_reverses_vouchers", ("reverses",), "reverses", "no such voucher"),
)


def _voucher_columns(
    voucher: Voucher, booking: Booking | None = None, event_type: str | None = None
) -> dict[str, object]:
    return {
        "event_type": event_type,
        "template": None if booking is None else booking.template,
        "template_version": None if booking is None else booking.version,
        "id": voucher.id,
        "business_date": voucher.business_date,
        "description": voucher.description,
        "created_by": voucher.created_by,
        "created_at": voucher.created_at,
        "source_key": voucher.source_key,
        "reverses": voucher.reverses,
        "corrects_period": voucher.corrects_period,
    }


def _line_columns(
    voucher_id: str, line_no: int, line: JournalLine, dimensions: Mapping[str, str]
) -> dict[str, object]:
    return {
        **{column: dimensions.get(dimension) for dimension, column in _DIMENSION_COLUMNS.items()},
        "voucher_id": voucher_id,
        "line_no": line_no,
        "account": line.account,
        "side": str(line.side),
        "currency": line.amount.currency.code,
        "amount": line.amount.amount,
        "memo": line.memo,
    }


_HEADER_FIELDS: Final = (
    "id", "business_date", "description", "created_by", "created_at", "source_key", "reverses",
    "event_type", "template", "template_version", "corrects_period",
)  # fmt: skip
"""The voucher columns :func:`_booking_rows` fills, in its order."""
_LINE_FIELDS: Final = (
    "voucher_id", "line_no", "account", "side", "currency", "amount", "memo",
    "contract_id", "partner_id", "product", "branch",
)  # fmt: skip
"""The line columns :func:`_booking_rows` fills, in its order (the dimensions last)."""


def _booking_rows(
    bookings: Sequence[tuple[Booking, str]],
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The voucher and line rows of *bookings*, as tuples in the order of
    :data:`_HEADER_FIELDS` and :data:`_LINE_FIELDS`: the bulk path's rows, read off each
    voucher once and each line once. Amounts stay decimals: exact, whichever way they are
    written."""
    headers: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []
    header, line_row = headers.append, lines.append
    for booking, event_type in bookings:
        voucher = booking.voucher
        voucher_id = voucher.id
        header((
            voucher_id, voucher.business_date, voucher.description, voucher.created_by,
            voucher.created_at, voucher.source_key, voucher.reverses, event_type,
            booking.template, booking.version, voucher.corrects_period,
        ))  # fmt: skip
        numbered = enumerate(zip(voucher.lines, booking.dimensions, strict=True), start=1)
        for number, (line, dims) in numbered:
            money = line.amount
            line_row((
                voucher_id, number, line.account, line.side.value, money.currency.code,
                money.amount, line.memo, dims.get("contract"), dims.get("partner"),
                dims.get("product"), dims.get("branch"),
            ))  # fmt: skip
    return headers, lines


def _bound(
    row: tuple[object, ...], processors: Sequence[tuple[int, Callable[[Any], Any]]]
) -> tuple[object, ...]:
    """*row* with the values at the *processors*' places as their columns bind them."""
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return tuple(values)


def _line_view(row: sa.RowMapping) -> VoucherLineView:
    return VoucherLineView(
        line_no=row["line_no"],
        account=row["account"],
        side=row["side"],
        amount=Money(row["amount"], row["currency"]),
        memo=row["memo"],
        contract_id=row["contract_id"],
        partner_id=row["partner_id"],
        product=row["product"],
        branch=row["branch"],
    )


def _journal_line(line: sa.RowMapping) -> JournalLine:
    return JournalLine(
        account=line["account"],
        side=line["side"],
        amount=Money(line["amount"], line["currency"]),
        memo=line["memo"],
    )


def _voucher(row: sa.RowMapping, lines: Iterable[JournalLine]) -> Voucher:
    """The voucher as posted; the domain checks again that it balances."""
    return Voucher(
        id=row["id"],
        business_date=row["business_date"],
        description=row["description"],
        lines=tuple(lines),
        created_by=row["created_by"],
        created_at=row["created_at"],
        source_key=row["source_key"],
        reverses=row["reverses"],
        corrects_period=row["corrects_period"],
    )


def _view(
    header: sa.RowMapping, lines: Sequence[VoucherLineView], state: LedgerSyncState | None
) -> VoucherView:
    """A voucher as read back; the domain checks again that it balances."""
    voucher = _voucher(
        header, [JournalLine(line.account, line.side, line.amount, line.memo) for line in lines]
    )
    ledger = state or LedgerSyncState(voucher.id, SyncStatus.PENDING)
    return VoucherView(
        voucher.id, voucher.business_date, voucher.description, voucher.created_by,
        voucher.created_at, voucher.source_key, voucher.reverses, header["event_type"],
        header["template"], header["template_version"], voucher.corrects_period,
        ledger.status, tuple(lines), ledger,
    )  # fmt: skip


@repository("vouchers")
class VoucherRepository:
    """Vouchers are added and read, never updated or deleted."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, voucher: Voucher, dimensions: Sequence[Mapping[str, str]] = ()) -> None:
        """Post *voucher*, each line with its *dimensions* (none if not given); a
        ValidationError if its source key or reversal target is taken."""
        self._add(voucher, _voucher_columns(voucher), dimensions or [{} for _ in voucher.lines])

    def add_booking(self, booking: Booking, event_type: str) -> None:
        """Post the voucher a template booked of an *event_type* event, with the template
        and each line's dimensions."""
        voucher = booking.voucher
        self._add(voucher, _voucher_columns(voucher, booking, event_type), booking.dimensions)

    def _add(
        self, voucher: Voucher, header: dict[str, object], dimensions: Sequence[Mapping[str, str]]
    ) -> None:
        BooksRepository(self._session).for_posting().ensure_open(voucher.business_date)
        write(self._session, "voucher", sa.insert(VoucherRow).values(header), rules=_RULES)
        lines = [
            _line_columns(voucher.id, number, line, dims)
            for number, (line, dims) in enumerate(
                zip(voucher.lines, dimensions, strict=True), start=1
            )
        ]
        write(self._session, "voucher", sa.insert(VoucherLineRow), lines)

    def page(self, query: VoucherQuery, *, after: str | None, limit: int) -> Page[Record]:
        """Voucher headers matching *query*, in id order (ids grow with time), after *after*;
        a contract's are those with a line of the contract."""
        table: sa.Table = VoucherRow.__table__  # type: ignore[assignment]
        syncs: sa.Table = VoucherSyncRow.__table__  # type: ignore[assignment]
        sync = sa.func.coalesce(syncs.c.status, str(SyncStatus.PENDING))
        criteria: list[sa.ColumnElement[bool]] = []
        if query.contract_id is not None:
            lines = sa.select(VoucherLineRow.voucher_id).where(
                VoucherLineRow.contract_id == query.contract_id
            )
            criteria.append(table.c.id.in_(lines))
        if query.event_type is not None:
            criteria.append(table.c.event_type == query.event_type)
        if query.business_date is not None:
            criteria.append(table.c.business_date == query.business_date)
        if query.sync is not None:
            criteria.append(sync == str(query.sync))
        if after is not None:
            criteria.append(table.c.id > after)
        statement = (
            sa.select(table, sync.label("sync"))
            .outerjoin(syncs, syncs.c.voucher_id == table.c.id)
            .where(*criteria)
            .order_by(table.c.id)
            .limit(limit + 1)
        )
        rows = self._session.connection().execute(statement).mappings().all()
        records: list[Record] = [dict(row) for row in rows[:limit]]
        return Page(records, records[-1]["id"] if len(rows) > limit else None)

    def view(self, voucher_id: str) -> VoucherView:
        """The voucher with its origin and each line's dimensions."""
        found = self.views([voucher_id])
        if not found:
            raise NotFoundError("voucher", voucher_id)
        return found[0]

    def views(self, voucher_ids: Sequence[str]) -> list[VoucherView]:
        """Those of *voucher_ids* that exist, as :meth:`view` shows each, in the order given:
        three queries per :data:`~leasekit.store.repository.IN_LIST` ids, however many."""
        connection = self._session.connection()
        headers: dict[str, sa.RowMapping] = {}
        lines: dict[str, list[VoucherLineView]] = {}
        for chunk in in_lists(set(voucher_ids)):
            found = connection.execute(
                sa.select(VoucherRow.__table__).where(VoucherRow.id.in_(chunk))
            ).mappings()
            headers.update((row["id"], row) for row in found)
            rows = connection.execute(
                sa.select(VoucherLineRow.__table__)
                .where(VoucherLineRow.voucher_id.in_(chunk))
                .order_by(VoucherLineRow.voucher_id, VoucherLineRow.line_no)
            ).mappings()
            for row in rows:
                lines.setdefault(row["voucher_id"], []).append(_line_view(row))
        states = VoucherSyncRepository(self._session).states(headers)
        return [
            _view(headers[voucher_id], lines[voucher_id], states.get(voucher_id))
            for voucher_id in voucher_ids
            if voucher_id in headers
        ]

    def trial_balance(self, currency_code: str) -> dict[str, Decimal]:
        """Debits less credits of every account in *currency_code*, over every voucher,
        summed exactly in Python (SQLite keeps amounts as text)."""
        rows = self._session.connection().execute(
            sa.select(VoucherLineRow.account, VoucherLineRow.side, VoucherLineRow.amount).where(
                VoucherLineRow.currency == currency_code
            )
        )
        totals: dict[str, Decimal] = {}
        for account, side, amount in rows:
            change = amount if side == "debit" else -amount
            totals[account] = totals.get(account, Decimal(0)) + change
        return totals

    def get(self, voucher_id: str) -> Voucher:
        found = self._load(VoucherRow.id == voucher_id)
        if not found:
            raise NotFoundError("voucher", voucher_id)
        return found[0]

    def find_by_source_key(self, source_key: str) -> Voucher | None:
        """The voucher an event already produced, so a replay can skip posting."""
        found = self._load(VoucherRow.source_key == source_key)
        return found[0] if found else None

    def find_reversal(self, voucher_id: str) -> Voucher | None:
        found = self._load(VoucherRow.reverses == voucher_id)
        return found[0] if found else None

    def list_for_date(self, business_date: dt.date) -> list[Voucher]:
        return self._load(VoucherRow.business_date == business_date)

    def _load(self, criterion: sa.ColumnElement[bool]) -> list[Voucher]:
        """Vouchers matching *criterion* with their lines: two queries, however many match."""
        connection = self._session.connection()
        vouchers: Sequence[sa.RowMapping] = (
            connection.execute(
                sa.select(VoucherRow.__table__)
                .where(criterion)
                .order_by(VoucherRow.created_at, VoucherRow.id)
            )
            .mappings()
            .all()
        )
        if not vouchers:
            return []
        lines: dict[str, list[JournalLine]] = {row["id"]: [] for row in vouchers}
        for chunk in in_lists(lines):
            line_rows = connection.execute(
                sa.select(VoucherLineRow.__table__)
                .where(VoucherLineRow.voucher_id.in_(chunk))
                .order_by(VoucherLineRow.voucher_id, VoucherLineRow.line_no)
            ).mappings()
            for line in line_rows:
                lines[line["voucher_id"]].append(_journal_line(line))
        return [_voucher(row, lines[row["id"]]) for row in vouchers]

    def add_bookings(self, bookings: Sequence[tuple[Booking, str]]) -> None:
        """Post many vouchers templates booked, each with its event type, as
        :meth:`add_booking` posts one: with COPY on PostgreSQL, two executemany INSERTs
        elsewhere, however many there are. A source key posted already is a ValidationError
        on ``source_key`` and nothing is posted (the transaction is the caller's to abandon)."""
        if not bookings:
            return
        books = BooksRepository(self._session).for_posting()
        for day in dict.fromkeys(booking.voucher.business_date for booking, _ in bookings):
            books.ensure_open(day)
        headers, lines = _booking_rows(bookings)
        if self._session.connection().dialect.name == "postgresql":
            self._copy("vouchers", _HEADER_FIELDS, headers)
            self._copy("voucher_lines", _LINE_FIELDS, lines)
            return
        self._insert(VoucherRow.__table__, _HEADER_FIELDS, headers)  # type: ignore[arg-type]
        self._insert(VoucherLineRow.__table__, _LINE_FIELDS, lines)  # type: ignore[arg-type]

    @property
    def bulk_writes_wait(self) -> bool:
        """Whether :meth:`add_bookings` waits on a database server (PostgreSQL), not on work
        done in this process (SQLite)."""
        return self._session.connection().dialect.name != "sqlite"

    def _insert(
        self, table: sa.Table, columns: Sequence[str], rows: list[tuple[object, ...]]
    ) -> None:
        """*rows* into *table* with one executemany of SQLite's own INSERT (``?`` for each
        value), each value bound as the column's type binds it: what Core's executemany does,
        without building and reading a mapping per row. A broken rule is the error
        :func:`write` makes of it."""
        connection = self._session.connection()
        dialect = connection.dialect
        processors = [
            (index, processor)
            for index, name in enumerate(columns)
            if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        ]
        if processors:
            rows = [_bound(row, processors) for row in rows]
        quote = dialect.identifier_preparer.quote
        statement = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        try:
            connection.exec_driver_sql(statement, rows)
        except IntegrityError as exc:
            raise translate_integrity_error(exc, "voucher", _RULES) from exc

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """*rows* into *table* through psycopg's COPY, in the session's transaction; a broken
        rule is the error :func:`write` makes of it."""
        import psycopg  # an optional dependency: imported where PostgreSQL is in use

        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        driver = self._session.connection().connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.IntegrityError as exc:
            error = sa.exc.IntegrityError(statement, None, exc)
            raise translate_integrity_error(error, "voucher", _RULES) from exc

    def known_keys(self, keys: Collection[str]) -> set[str]:
        """Those of the event *keys* that have a voucher or wait in the unmapped queue: what a
        bulk run passes over, read on PostgreSQL in one query with the keys as one array
        (an IN list of thousands costs more to render and parse than to run), elsewhere in
        one query per :data:`~leasekit.store.repository.IN_LIST` keys."""
        connection = self._session.connection()
        if connection.dialect.name == "postgresql":
            chunks: Iterable[list[str]] = [sorted(keys)] if keys else []
        else:
            chunks = in_lists(keys)
        found: set[str] = set()
        for chunk in chunks:
            found.update(connection.execute(_known(connection.dialect.name, chunk)).scalars())
        return found


def _known(dialect: str, keys: list[str]) -> sa.Executable:
    """The query for those of *keys* that have a voucher or wait in the unmapped queue."""
    source: sa.ColumnElement[bool]
    queued: sa.ColumnElement[bool]
    if dialect == "postgresql":
        array = sa.bindparam("keys", keys, type_=ARRAY(sa.String))
        source = VoucherRow.source_key == sa.any_(array)
        queued = UnmappedEventRow.event_key == sa.any_(array)
    else:
        source = VoucherRow.source_key.in_(keys)
        queued = UnmappedEventRow.event_key.in_(keys)
    return sa.union_all(
        sa.select(VoucherRow.source_key).where(source),
        sa.select(UnmappedEventRow.event_key).where(queued),
    )


class UnmappedEventRow(EntityRow):
    """An event no template booked, once per event; resolved when a replay books it."""

    __tablename__ = "unmapped_events"

    event_key: Mapped[str] = mapped_column(unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    business_date: Mapped[dt.date]
    reason: Mapped[str]
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    resolved_by: Mapped[str | None]
    resolved_at: Mapped[dt.datetime | None]
    voucher_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))

    __table_args__ = (sa.Index(None, "state", "id"),)


@repository("unmapped_events")
class UnmappedEventRepository(SqlRepository[UnmappedEvent]):
    stored = Stored.of(
        "unmapped event",
        UnmappedEventRow,
        UnmappedEvent,
        rules=[Rule("uq_unmapped_events_event_key", ("event_key",), "event_key",
                    "is in the queue already")],
    )  # fmt: skip

    def find_by_event_key(self, event_key: str) -> UnmappedEvent | None:
        found = self._find(self.stored.table.c.event_key == event_key)
        return found[0] if found else None

    def open_through(self, before: dt.date) -> int:
        """How many events dated before *before* wait in the queue."""
        table = self.stored.table
        count = sa.select(sa.func.count()).where(
            table.c.state == "open", table.c.business_date < before
        )
        return int(self._session.connection().execute(count).scalar_one())
