"""The journal: vouchers and their lines, append-only.

A posted voucher is never updated or deleted; correcting one means adding its
:meth:`~leasekit.domain.vouchers.Voucher.reversal`. ``source_key`` is unique so that replaying
the event that produced a voucher cannot post it twice; ``reverses`` is unique so that a
voucher cannot be reversed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.domain.vouchers import JournalLine, Voucher
from leasekit.errors import NotFoundError
from leasekit.money import Money
from leasekit.store.repository import Rule, repository, write
from leasekit.store.schema import ID_LENGTH, Base, currency_column, id_column

__all__ = ["VoucherLineRow", "VoucherRepository", "VoucherRow"]


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


_RULES = (
    Rule("uq_vouchers_source_key", ("source_key",), "source_key", "was posted already"),
    Rule("uq_vouchers_reverses", ("reverses",), "reverses", "was reversed already"),
    Rule("fk_vouchers_reverses_vouchers", ("reverses",), "reverses", "no such voucher"),
)


def _voucher_columns(voucher: Voucher) -> dict[str, object]:
    return {
        "id": voucher.id,
        "business_date": voucher.business_date,
        "description": voucher.description,
        "created_by": voucher.created_by,
        "created_at": voucher.created_at,
        "source_key": voucher.source_key,
        "reverses": voucher.reverses,
    }


def _line_columns(voucher_id: str, line_no: int, line: JournalLine) -> dict[str, object]:
    return {
        "voucher_id": voucher_id,
        "line_no": line_no,
        "account": line.account,
        "side": str(line.side),
        "currency": line.amount.currency.code,
        "amount": line.amount.amount,
        "memo": line.memo,
    }


def _voucher(row: sa.RowMapping, lines: Iterable[sa.RowMapping]) -> Voucher:
    """The voucher as posted; the domain checks again that it balances."""
    return Voucher(
        id=row["id"],
        business_date=row["business_date"],
        description=row["description"],
        lines=tuple(
            JournalLine(
                account=line["account"],
                side=line["side"],
                amount=Money(line["amount"], line["currency"]),
                memo=line["memo"],
            )
            for line in lines
        ),
        created_by=row["created_by"],
        created_at=row["created_at"],
        source_key=row["source_key"],
        reverses=row["reverses"],
    )


@repository("vouchers")
class VoucherRepository:
    """Vouchers are added and read, never updated or deleted."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, voucher: Voucher) -> None:
        """Post *voucher*; a ValidationError if its source key or reversal target is taken."""
        header = sa.insert(VoucherRow).values(_voucher_columns(voucher))
        write(self._session, "voucher", header, rules=_RULES)
        lines = [
            _line_columns(voucher.id, number, line)
            for number, line in enumerate(voucher.lines, start=1)
        ]
        write(self._session, "voucher", sa.insert(VoucherLineRow), lines)

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
        lines: dict[str, list[sa.RowMapping]] = {row["id"]: [] for row in vouchers}
        line_rows = connection.execute(
            sa.select(VoucherLineRow.__table__)
            .where(VoucherLineRow.voucher_id.in_(lines))
            .order_by(VoucherLineRow.voucher_id, VoucherLineRow.line_no)
        ).mappings()
        for line in line_rows:
            lines[line["voucher_id"]].append(line)
        return [_voucher(row, lines[row["id"]]) for row in vouchers]
