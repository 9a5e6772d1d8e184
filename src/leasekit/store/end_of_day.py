"""The close of business: a row per business date closed or being closed, a row per step
partition (the unit a worker takes and finishes in one transaction), and each contract's
aging as the last close left it.

The business date lives here, not in any process: it is the day after the newest closed
date (:class:`ClosedDateClock`), so every server and worker on the database
agrees on it and it moves only when a close has finished every step.

The receivables step reads and writes with Core statements a partition at a time: a close
touches every overdue line of the book, and building aggregates for each would cost far
more than the arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from decimal import Decimal
from typing import Any, Final, cast

import attrs
import sqlalchemy as sa
from sqlalchemy import PrimaryKeyConstraint, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.domain.clock import Clock
from leasekit.domain.end_of_day import (
    AgingBucket,
    CloseState,
    PartitionState,
    PenaltyState,
    next_business_date,
)
from leasekit.services.storage import (
    AgingRow,
    CloseRecord,
    InterestLine,
    InterestUpdate,
    OverdueLine,
    PartitionRecord,
    PenaltyUpdate,
)
from leasekit.store.contracts import ContractRow, PaymentRow, ReceivableRow, holds_credit
from leasekit.store.database import begin_writing
from leasekit.store.repository import repository
from leasekit.store.schema import ID_LENGTH, Base
from leasekit.store.types import as_number

__all__ = ["ClosedDateClock", "EndOfDayRepository"]

_STREAMED_ROWS: Final = 5000


class CloseRow(Base):
    """One business date's close."""

    __tablename__ = "eod_closes"

    business_date: Mapped[dt.date] = mapped_column(primary_key=True)
    state: Mapped[str]
    started_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    summary: Mapped[dict[str, Any]]


class PartitionRow(Base):
    """One step's share of the book on a business date: contracts with ids from ``low``
    (included) to ``high`` (excluded; none for the last)."""

    __tablename__ = "eod_partitions"

    business_date: Mapped[dt.date]
    step: Mapped[str]
    low: Mapped[str]
    high: Mapped[str | None]
    state: Mapped[str]
    result: Mapped[dict[str, Any]]
    done_at: Mapped[dt.datetime | None]

    __table_args__ = (PrimaryKeyConstraint("business_date", "step", "low"),)


class ContractAgingRow(Base):
    """A contract with something overdue, as of the last close; a contract without a row is
    current."""

    __tablename__ = "contract_aging"

    contract_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), sa.ForeignKey("contracts.id"), primary_key=True
    )
    as_of: Mapped[dt.date]
    days_past_due: Mapped[int]
    bucket: Mapped[str] = mapped_column(index=True)
    overdue: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))


_CLOSES: Final = cast(sa.Table, CloseRow.__table__)
_PARTITIONS: Final = cast(sa.Table, PartitionRow.__table__)
_AGING: Final = cast(sa.Table, ContractAgingRow.__table__)
_LINES: Final = cast(sa.Table, ReceivableRow.__table__)
_PAYMENTS: Final = cast(sa.Table, PaymentRow.__table__)
_CONTRACTS: Final = cast(sa.Table, ContractRow.__table__)


@attrs.define
class ClosedDateClock:
    """A :class:`~leasekit.domain.clock.Clock` whose business date, once a day has been
    closed, is the day after the newest close, read from the database on each call (every
    process sharing the database agrees, and none keeps it in memory); before the first
    close it is *base*'s."""

    base: Clock
    engine: Engine

    def now(self) -> dt.datetime:
        return self.base.now()

    def business_date(self) -> dt.date:
        statement = sa.select(sa.func.max(_CLOSES.c.business_date)).where(
            _CLOSES.c.state == CloseState.CLOSED.value
        )
        with self.engine.connect() as connection:
            closed = connection.execute(statement).scalar_one_or_none()
        return self.base.business_date() if closed is None else next_business_date(closed)


def _close(row: sa.RowMapping) -> CloseRecord:
    return CloseRecord(
        row["business_date"], CloseState(row["state"]), row["started_at"], row["closed_at"],
        dict(row["summary"]),
    )  # fmt: skip


def _partition(row: sa.RowMapping) -> PartitionRecord:
    return PartitionRecord(
        row["step"], row["low"], row["high"], PartitionState(row["state"]), dict(row["result"]),
        row["done_at"],
    )  # fmt: skip


def _in_range(column: sa.ColumnElement[str], low: str, high: str | None) -> sa.ColumnElement[bool]:
    if high is None:
        return column >= low
    return sa.and_(column >= low, column < high)


def _both_in_range(
    line: sa.ColumnElement[str], contract: sa.ColumnElement[str], low: str, high: str | None
) -> tuple[sa.ColumnElement[bool], ...]:
    """The range on both sides of the lines-to-contracts join: PostgreSQL does not carry it
    across the join, and would read every contract for each partition."""
    return _in_range(line, low, high), _in_range(contract, low, high)


@repository("end_of_day")
class EndOfDayRepository:
    """Closes, their partitions, the aging they leave, and the receivables pass."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _execute(self, statement: sa.Executable, *args: Any) -> sa.CursorResult[Any]:
        return self._session.execute(statement, *args)  # type: ignore[return-value]

    def close_of(self, business_date: dt.date) -> CloseRecord | None:
        row = (
            self._execute(sa.select(_CLOSES).where(_CLOSES.c.business_date == business_date))
            .mappings()
            .first()
        )
        return None if row is None else _close(row)

    def newest_close(self) -> CloseRecord | None:
        """The close of the latest business date begun: the current date's while it runs,
        else the one that moved the date here."""
        row = (
            self._execute(sa.select(_CLOSES).order_by(_CLOSES.c.business_date.desc()).limit(1))
            .mappings()
            .first()
        )
        return None if row is None else _close(row)

    def closed_span(self, since: dt.datetime) -> tuple[dt.date, dt.date] | None:
        """The first business date closed after *since* and the last closed; None if no close
        finished after *since*. Every date between them was closed: the business date moves
        only by a close."""
        closed = _CLOSES.c.state == CloseState.CLOSED.value
        dates = _CLOSES.c.business_date
        first, last = self._session.execute(
            sa.select(
                sa.func.min(dates).filter(_CLOSES.c.closed_at > since), sa.func.max(dates)
            ).where(closed)
        ).one()
        return None if first is None else (first, last)

    def penalty_states(self, line_ids: Collection[str]) -> dict[str, PenaltyState]:
        """Where the accrual of each line stands."""
        r = _LINES.c
        rows = self._session.execute(
            sa.select(r.id, r.penalty_exact, r.penalty_through).where(r.id.in_(sorted(line_ids)))
        )
        return {line_id: PenaltyState(exact or Decimal(0), through)
                for line_id, exact, through in rows}  # fmt: skip

    def set_penalty_states(self, states: dict[str, PenaltyState]) -> None:
        """Keep each line's accrual as a replay left it (its penalty is the line's own)."""
        if not states:
            return
        statement = (
            sa.update(_LINES)
            .where(_LINES.c.id == sa.bindparam("line_id"))
            .values(penalty_exact=sa.bindparam("exact"), penalty_through=sa.bindparam("through"))
        )
        self._session.connection().execute(
            statement,
            [{"line_id": line_id, "exact": state.exact, "through": state.through}
             for line_id, state in states.items()],
        )  # fmt: skip

    def open_close(self, business_date: dt.date, at: dt.datetime) -> CloseRecord:
        """The close of *business_date*, begun now unless it was begun before (a rerun
        resumes it); two closes begun at once find one row (the key is the date)."""
        values = {"business_date": business_date, "state": CloseState.RUNNING.value,
                  "started_at": at, "closed_at": None, "summary": {}}  # fmt: skip
        self._execute(self._insert_ignoring(_CLOSES, values, ["business_date"]))
        found = self.close_of(business_date)
        assert found is not None
        return found

    def finish_close(
        self, business_date: dt.date, at: dt.datetime, summary: dict[str, Any]
    ) -> bool:
        """Mark the close done (moving the business date on); False if it was already."""
        statement = (
            sa.update(_CLOSES)
            .where(_CLOSES.c.business_date == business_date,
                   _CLOSES.c.state == CloseState.RUNNING.value)
            .values(state=CloseState.CLOSED.value, closed_at=at, summary=summary)
        )  # fmt: skip
        return bool(self._execute(statement).rowcount)

    def partitions(self, business_date: dt.date, step: str) -> list[PartitionRecord]:
        statement = (
            sa.select(_PARTITIONS)
            .where(_PARTITIONS.c.business_date == business_date, _PARTITIONS.c.step == step)
            .order_by(_PARTITIONS.c.low)
        )
        return [_partition(row) for row in self._execute(statement).mappings()]

    def add_partitions(
        self, business_date: dt.date, step: str, ranges: Sequence[tuple[str, str | None]]
    ) -> None:
        """Record the step's partitions; ranges recorded before are kept as they are."""
        for low, high in ranges:
            values = {
                "business_date": business_date, "step": step, "low": low, "high": high,
                "state": PartitionState.PENDING.value, "result": {}, "done_at": None,
            }  # fmt: skip
            self._execute(
                self._insert_ignoring(_PARTITIONS, values, ["business_date", "step", "low"])
            )

    def take_partition(self, business_date: dt.date, step: str, low: str) -> PartitionRecord | None:
        """The partition, locked until this transaction ends (on PostgreSQL; SQLite's
        transactions already hold the write lock), so that two workers given the same one
        do it once: the second finds it done."""
        statement = (
            sa.select(_PARTITIONS)
            .where(_PARTITIONS.c.business_date == business_date, _PARTITIONS.c.step == step,
                   _PARTITIONS.c.low == low)
            .with_for_update()
        )  # fmt: skip
        begin_writing(self._session.connection())
        row = self._execute(statement).mappings().first()
        return None if row is None else _partition(row)

    def finish_partition(
        self, business_date: dt.date, step: str, low: str, result: dict[str, Any],
        at: dt.datetime,
    ) -> None:  # fmt: skip
        self._execute(
            sa.update(_PARTITIONS)
            .where(_PARTITIONS.c.business_date == business_date, _PARTITIONS.c.step == step,
                   _PARTITIONS.c.low == low)
            .values(state=PartitionState.DONE.value, result=result, done_at=at)
        )  # fmt: skip

    def contract_ids(self, states: Collection[str], *, every: int = 1) -> list[str]:
        """Ids of the contracts in *states*, sorted; with *every*, only the first of each
        run of that many (where partitions start), counted in the database so a book of
        millions is not read to cut it."""
        numbered = (
            sa.select(
                _CONTRACTS.c.id,
                sa.func.row_number().over(order_by=_CONTRACTS.c.id).label("position"),
            )
            .where(_CONTRACTS.c.state.in_(sorted(states)))
            .subquery()
        )
        statement = (
            sa.select(numbered.c.id)
            .where((numbered.c.position - 1) % every == 0)
            .order_by(numbered.c.id)
        )
        return list(self._execute(statement).scalars())

    def overdue_lines(
        self, low: str, high: str | None, before: dt.date, states: Collection[str]
    ) -> Iterator[OverdueLine]:
        """Lines of contracts in *states* with ids in the range, due before *before*, still
        owed and not written off, by contract and schedule order; locked on PostgreSQL (a
        payment allocating one waits for the close, not the other way round)."""
        r, c = _LINES.c, _CONTRACTS.c
        owed = (r.paid_principal + r.paid_interest + r.paid_fee + r.paid_penalty
                < r.principal + r.interest + r.fee + r.penalty)  # fmt: skip
        statement = (
            sa.select(
                r.id,
                r.contract_id,
                r.due_date,
                r.currency,
                r.principal,
                r.interest,
                r.fee,
                r.paid_principal,
                r.paid_interest,
                r.paid_fee,
                r.penalty,
                r.paid_penalty,
                r.penalty_exact,
                r.penalty_through,
            )
            .join(_CONTRACTS, c.id == r.contract_id)
            .where(
                *_both_in_range(r.contract_id, c.id, low, high),
                r.due_date < before,
                r.written_off_on.is_(None),
                owed,
                c.state.in_(sorted(states)),
            )
            .order_by(r.contract_id, r.sequence)
            .with_for_update(of=_LINES)
            .execution_options(yield_per=_STREAMED_ROWS)
        )
        for row in self._execute(statement).mappings():
            owed_parts = sum(
                (row[part] - row[f"paid_{part}"] for part in ("principal", "interest", "fee")),
                Decimal(0),
            )
            if owed_parts + row["penalty"] - row["paid_penalty"] <= 0:
                continue  # SQLite adds the text amounts as floats: the filter is coarse
            yield OverdueLine(
                row["id"], row["contract_id"], row["due_date"], row["currency"], owed_parts,
                row["penalty"], row["penalty_exact"] or Decimal(0), row["penalty_through"],
            )  # fmt: skip

    def holding_credit(self, low: str, high: str | None, states: Collection[str]) -> list[str]:
        """Contracts of the range in *states* whose payments hold credit."""
        p, c = _PAYMENTS.c, _CONTRACTS.c
        statement = (
            sa.select(p.contract_id)
            .distinct()
            .join(_CONTRACTS, c.id == p.contract_id)
            .where(
                *_both_in_range(p.contract_id, c.id, low, high),
                holds_credit(_PAYMENTS),
                c.state.in_(sorted(states)),
            )
            .order_by(p.contract_id)
        )
        return list(self._execute(statement).scalars())

    def accrue_penalties(self, updates: Sequence[PenaltyUpdate]) -> None:
        """Add each update's penalty to its line and keep its exact accrual and date; the
        line's version moves, so a command that read it before fails its compare-and-set."""
        if not updates:
            return
        statement = (
            sa.update(_LINES)
            .where(_LINES.c.id == sa.bindparam("line_id"))
            .values(
                penalty=sa.bindparam("penalty", type_=_LINES.c.penalty.type),
                penalty_exact=sa.bindparam("exact"),
                penalty_through=sa.bindparam("through"),
                version=_LINES.c.version + 1,
            )
        )
        self._session.connection().execute(
            statement,
            [{"line_id": u.line_id, "penalty": u.penalty, "exact": u.exact, "through": u.through}
             for u in updates],
        )  # fmt: skip

    def interest_lines(
        self, low: str, high: str | None, until: dt.date, states: Collection[str]
    ) -> Iterator[InterestLine]:
        """Lines of the range whose interest is unpaid and falls due by *until*, of contracts
        in *states*, and every line the close has booked interest of; by contract and
        schedule order."""
        r, c = _LINES.c, _CONTRACTS.c
        serviced = sa.and_(
            c.state.in_(sorted(states)), c.business_type != "operating_lease",
            r.written_off_on.is_(None),
        )  # fmt: skip
        unpaid = sa.and_(serviced, as_number(r.paid_interest) < as_number(r.interest),
                         r.due_date <= until)  # fmt: skip
        statement = (
            sa.select(r.id, r.contract_id, r.due_date, r.currency, r.interest, r.paid_interest,
                      r.interest_accrued, serviced.label("earning"))
            .join(_CONTRACTS, c.id == r.contract_id)
            .where(*_both_in_range(r.contract_id, c.id, low, high),
                   sa.or_(unpaid, sa.func.coalesce(as_number(r.interest_accrued), 0) > 0))
            .order_by(r.contract_id, r.sequence)
            .execution_options(yield_per=_STREAMED_ROWS)
        )  # fmt: skip
        rows = self._session.execute(statement)
        for line_id, contract_id, due_date, code, interest, paid, accrued, earning in rows:
            yield InterestLine(line_id, contract_id, due_date, code, interest, paid,
                               accrued or Decimal(0), bool(earning))  # fmt: skip

    def book_interest(self, updates: Sequence[InterestUpdate]) -> None:
        """Keep what each line has earned and not been paid, as the close booked it."""
        if not updates:
            return
        statement = (
            sa.update(_LINES)
            .where(_LINES.c.id == sa.bindparam("line_id"))
            .values(interest_accrued=sa.bindparam("accrued"))
        )
        self._session.connection().execute(
            statement, [{"line_id": u.line_id, "accrued": u.accrued} for u in updates]
        )

    def replace_aging(self, low: str, high: str | None, rows: Sequence[AgingRow]) -> None:
        """The range's aging as *rows*: contracts not among them are current."""
        self._execute(sa.delete(_AGING).where(_in_range(_AGING.c.contract_id, low, high)))
        if rows:
            self._session.connection().execute(
                sa.insert(_AGING),
                [{"contract_id": row.contract_id, "as_of": row.as_of,
                  "days_past_due": row.days_past_due, "bucket": row.bucket.value,
                  "overdue": row.overdue, "currency": row.currency} for row in rows],
            )  # fmt: skip

    def buckets_on(self, as_of: dt.date) -> dict[str, AgingBucket]:
        """The bucket of each contract the close of *as_of* found overdue."""
        statement = sa.select(_AGING.c.contract_id, _AGING.c.bucket).where(_AGING.c.as_of == as_of)
        rows = self._execute(statement).mappings()
        return {row["contract_id"]: AgingBucket(row["bucket"]) for row in rows}

    def aging_of(self, contract_id: str) -> AgingRow | None:
        row = (
            self._execute(sa.select(_AGING).where(_AGING.c.contract_id == contract_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return AgingRow(
            row["contract_id"], row["as_of"], row["days_past_due"], AgingBucket(row["bucket"]),
            row["overdue"], row["currency"],
        )  # fmt: skip

    def _insert_ignoring(
        self, table: sa.Table, values: dict[str, Any], keys: list[str]
    ) -> sa.Executable:
        """An insert that leaves an existing row with the same *keys* as it is."""
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        return insert(table).values(values).on_conflict_do_nothing(index_elements=keys)
