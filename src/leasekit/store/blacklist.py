"""The blacklist's entries, and the one query the anti-fraud checks run against them.

Each identifier has a column of its own and a partial unique index over the entries still on
the list, so the database refuses a second listing of the same id number, phone, VIN or
partner however two requests race, and names the field in the refusal. The same indexes
answer :meth:`BlacklistRepository.hits`: every condition it asks is one index's search,
under the very ``WHERE`` the indexes are declared with (a literal, not a parameter, so that
both databases see the partial indexes apply).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.blacklist import BlacklistEntry, BlacklistState
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import EntityRow, reference, unique_where

__all__ = ["ON_LIST_SQL", "BlacklistEntryRow", "BlacklistRepository"]

ON_LIST_SQL: Final = f"state <> '{BlacklistState.REMOVED}'"
"""The entries that block their identifier, as the partial indexes and the queries say it."""

_LISTED = "is on the blacklist already"


class BlacklistEntryRow(EntityRow):
    """One identifier column is set, the one ``kind`` names (``country`` with an id number)."""

    __tablename__ = "blacklist_entries"

    kind: Mapped[str]
    country: Mapped[str | None] = mapped_column(String(2))
    id_number: Mapped[str | None]
    phone: Mapped[str | None]
    vin: Mapped[str | None] = mapped_column(String(17))
    partner_id: Mapped[str | None] = reference("partners", index=False)
    reason: Mapped[str]
    evidence: Mapped[list[Any]]
    added_by: Mapped[str]
    added_at: Mapped[dt.datetime]
    removal_requested_by: Mapped[str | None]
    removal_decided_by: Mapped[str | None]
    state: Mapped[str]

    __table_args__ = (
        unique_where(
            "uq_blacklist_entries_country_id_number", "country", "id_number", where=ON_LIST_SQL
        ),
        unique_where("uq_blacklist_entries_phone", "phone", where=ON_LIST_SQL),
        unique_where("uq_blacklist_entries_vin", "vin", where=ON_LIST_SQL),
        unique_where("uq_blacklist_entries_partner_id", "partner_id", where=ON_LIST_SQL),
        Index(None, "state", "id"),
        Index(None, "kind", "id"),
    )


@repository("blacklist")
class BlacklistRepository(SqlRepository[BlacklistEntry]):
    stored = Stored.of(
        "blacklist entry",
        BlacklistEntryRow,
        BlacklistEntry,
        rules=[
            Rule("uq_blacklist_entries_country_id_number", ("country", "id_number"),
                 "id_number", _LISTED),
            Rule("uq_blacklist_entries_phone", ("phone",), "phone", _LISTED),
            Rule("uq_blacklist_entries_vin", ("vin",), "vin", _LISTED),
            Rule("uq_blacklist_entries_partner_id", ("partner_id",), "partner_id", _LISTED),
            Rule("fk_blacklist_entries_partner_id_partners", ("partner_id",), "partner_id",
                 "no such partner"),
        ],
    )  # fmt: skip

    def hits(
        self,
        *,
        id_numbers: Iterable[tuple[str, str]] = (),
        phones: Iterable[str] = (),
        vins: Iterable[str] = (),
        partner_ids: Iterable[str] = (),
    ) -> list[BlacklistEntry]:
        """The entries on the list for any of the identifiers (id numbers as
        ``(country, number)``), in id order, from one query: each identifier's condition
        carries the indexes' own ``WHERE``, so each is a search of its index (SQLite uses a
        partial index for an ``OR`` branch only when the branch itself implies it)."""
        table = self.stored.table
        on_list = table.c.state != sa.literal_column(f"'{BlacklistState.REMOVED}'")
        numbers, others = list(id_numbers), {
            table.c.phone: list(phones), table.c.vin: list(vins),
            table.c.partner_id: list(partner_ids),
        }  # fmt: skip
        branches = [
            sa.and_(on_list, table.c.country == country, table.c.id_number == number)
            for country, number in numbers
        ]
        branches += [sa.and_(on_list, column.in_(values)) for column, values in others.items()
                     if values]  # fmt: skip
        return self._find(sa.or_(*branches)) if branches else []
