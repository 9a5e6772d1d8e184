"""Customers, vehicles and partners: who borrows, what is financed, and who brings the deal.

Uniqueness is the database's, so two requests racing past the services' own checks cannot
both win: a customer's official number once per owner (each partner, and the back office,
may register the same person once), a VIN once among the vehicles still registered (a car
financed again later is registered again after the first record was released), a company
code once per country.

A partner's profile lives in its own row: the representative as a column, the addresses,
contacts, brands and bank accounts as JSON (:mod:`leasekit.store.mapping`). The profile is
read, replaced and versioned whole, by the compare-and-set on the partner's ``version``, so
one row holds one consistent version of it and a revision never has child rows to reconcile.
Its history, ``partner_revisions``, has one row per change, numbered by the version the
change gave the partner, unique per partner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.customers import Customer
from leasekit.domain.partner_profiles import PartnerRevision
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.domain.vehicles import Vehicle, VehicleState
from leasekit.money import Money
from leasekit.services.storage import GradeExposure, Page
from leasekit.store.credit_limits import CreditLimitRow
from leasekit.store.mapping import Record
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import (
    Base,
    EntityRow,
    id_column,
    reference,
    search_key,
    search_key_column,
    unique_where,
)

__all__ = [
    "CustomerRepository",
    "CustomerRow",
    "PartnerRepository",
    "PartnerRevisionRepository",
    "PartnerRevisionRow",
    "PartnerRow",
    "VehicleRepository",
    "VehicleRow",
]


def _no_partner(table: str) -> Rule:
    return Rule(f"fk_{table}_partner_id_partners", ("partner_id",), "partner_id", "no such partner")


class CustomerRow(EntityRow):
    __tablename__ = "customers"

    kind: Mapped[str]
    name: Mapped[str]
    name_key: Mapped[str] = search_key_column()
    country: Mapped[str] = mapped_column(String(2))
    id_number: Mapped[str]
    partner_id: Mapped[str | None] = reference("partners", index=False)
    created_at: Mapped[dt.datetime]
    phone: Mapped[str | None] = mapped_column(index=True)

    __table_args__ = (
        unique_where(
            "uq_customers_country_id_number_partner_id",
            *("country", "id_number", "partner_id"),
            where="partner_id IS NOT NULL",
        ),
        unique_where(
            "uq_customers_country_id_number", "country", "id_number", where="partner_id IS NULL"
        ),
        Index(None, "partner_id", "id"),
        Index(None, "name_key"),
        # Other applications by the same id number, at any partner (pre-approval): neither
        # partial index above serves a lookup that names no partner.
        Index(None, "country", "id_number"),
    )


_REGISTERED_ONCE = "already registered as a customer"


@repository("customers")
class CustomerRepository(SqlRepository[Customer]):
    stored = Stored.of(
        "customer",
        CustomerRow,
        Customer,
        rules=[
            Rule(
                "uq_customers_country_id_number_partner_id",
                ("country", "id_number", "partner_id"),
                "id_number",
                _REGISTERED_ONCE,
            ),
            Rule("uq_customers_country_id_number", ("country", "id_number"), "id_number",
                 _REGISTERED_ONCE),
            _no_partner("customers"),
        ],
        computed={"name_key": lambda customer: search_key(customer.name)},
    )  # fmt: skip

    def find_registered(self, customer: Customer) -> Customer | None:
        """Read through the owner's unique index: the conditions name the owner as its
        ``WHERE`` does, so neither database scans the table."""
        table = self.stored.table
        owner = (
            table.c.partner_id.is_(None)
            if customer.partner_id is None
            else table.c.partner_id == customer.partner_id
        )
        found = self._find(
            table.c.country == customer.country, table.c.id_number == customer.id_number, owner
        )
        return found[0] if found else None


class VehicleRow(EntityRow):
    __tablename__ = "vehicles"

    vin: Mapped[str] = mapped_column(String(17), index=True)
    make: Mapped[str]
    model: Mapped[str]
    year: Mapped[int]
    condition: Mapped[str]
    state: Mapped[str]
    partner_id: Mapped[str | None] = reference("partners", index=False)
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        unique_where(
            "uq_vehicles_vin_registered", "vin", where=f"state = '{VehicleState.REGISTERED}'"
        ),
        Index(None, "partner_id", "id"),
    )


@repository("vehicles")
class VehicleRepository(SqlRepository[Vehicle]):
    stored = Stored.of(
        "vehicle",
        VehicleRow,
        Vehicle,
        rules=[
            Rule(
                "uq_vehicles_vin_registered",
                ("vin",),
                "vin",
                "is already registered; the earlier record must be released first",
            ),
            _no_partner("vehicles"),
        ],
    )

    def find_registered(self, vin: str) -> Vehicle | None:
        """The vehicle record that holds *vin* now, if any (there is one at most)."""
        table = self.stored.table
        found = self._find(table.c.vin == vin, table.c.state == str(VehicleState.REGISTERED))
        return found[0] if found else None


class PartnerRow(EntityRow):
    """One partner per company code in a country."""

    __tablename__ = "partners"

    name: Mapped[str]
    name_key: Mapped[str] = search_key_column()
    country: Mapped[str] = mapped_column(String(2))
    registration_number: Mapped[str]
    kind: Mapped[str]
    rating: Mapped[str | None] = mapped_column(String(1))
    state: Mapped[str] = mapped_column(index=True)
    created_at: Mapped[dt.datetime]
    legal_representative: Mapped[str | None]
    contacts: Mapped[list[Any]]
    registered_address: Mapped[dict[str, Any] | None]
    business_address: Mapped[dict[str, Any] | None]
    brands: Mapped[list[Any]]
    bank_accounts: Mapped[list[Any]]
    branch: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("country", "registration_number"), Index(None, "name_key"))


@repository("partners")
class PartnerRepository(SqlRepository[Partner]):
    stored = Stored.of(
        "partner",
        PartnerRow,
        Partner,
        rules=[
            Rule(
                "uq_partners_country_registration_number",
                ("country", "registration_number"),
                "registration_number",
                "already onboarded as a partner",
            )
        ],
        computed={"name_key": lambda partner: search_key(partner.name)},
    )

    def find_by_registration_number(self, country: str, number: str) -> Partner | None:
        """The partner onboarded with this company code, if any (there is one at most)."""
        table = self.stored.table
        found = self._find(table.c.country == country, table.c.registration_number == number)
        return found[0] if found else None

    def get_for_update(self, partner_id: str) -> Partner:
        """The partner, locked until the transaction ends: work that regrades or moves it
        (a rating, monitoring) queues here rather than failing its compare-and-set."""
        return self._get(partner_id, for_update=True)

    def exposure_by_grade(self, on: dt.date) -> list[GradeExposure]:
        """Every partner's limit, used and frozen amounts added up by grade and currency:
        one narrow row per partner (partners are thousands), added up here because SQLite
        keeps amounts as text and would add them as binary floats."""
        partners, limits = self._table, CreditLimitRow.__table__
        statement = sa.select(
            partners.c.rating, limits.c.currency, limits.c.total, limits.c.temporary,
            limits.c.temporary_until, limits.c.used, limits.c.frozen,
        ).join(limits, limits.c.id == partners.c.id)  # fmt: skip
        found: dict[tuple[str | None, str], GradeExposure] = {}
        for row in self._session.connection().execute(statement):
            rating, currency, total, temporary, until, used, frozen = row
            limit = total + temporary if until is not None and on <= until else total
            grade = None if rating is None else PartnerRating(rating)
            one = GradeExposure(
                grade, 1, Money(limit, currency), Money(used, currency), Money(frozen, currency)
            )
            before = found.get((rating, currency))
            found[rating, currency] = one if before is None else before.plus(one)
        return list(found.values())

    def ids_in_states(self, states: Iterable[str]) -> list[str]:
        """The ids of every partner in one of *states*, in id order (partners are thousands,
        not millions)."""
        table = self._table
        statement = (
            sa.select(table.c.id)
            .where(table.c.state.in_(sorted(map(str, states))))
            .order_by(table.c.id)
        )
        return list(self._session.connection().scalars(statement))


class PartnerRevisionRow(Base):
    """One change of a partner's profile, never updated; read by partner in revision order."""

    __tablename__ = "partner_revisions"

    id: Mapped[str] = id_column()
    partner_id: Mapped[str] = reference("partners", index=False)
    revision: Mapped[int]
    reason: Mapped[str]
    changes: Mapped[list[Any]]
    actor_id: Mapped[str]
    created_at: Mapped[dt.datetime]

    __table_args__ = (UniqueConstraint("partner_id", "revision"),)


@repository("partner_revisions")
class PartnerRevisionRepository(SqlRepository[PartnerRevision]):
    stored = Stored.of(
        "partner revision",
        PartnerRevisionRow,
        PartnerRevision,
        rules=[
            Rule(
                "uq_partner_revisions_partner_id_revision",
                ("partner_id", "revision"),
                "revision",
                "the partner changed at the same time; read it again",
            ),
            _no_partner("partner_revisions"),
        ],
    )

    def history(
        self, partner_id: str, *, after: int | None = None, limit: int = 50
    ) -> Page[Record]:
        """Up to *limit* revisions of one partner after revision *after*, oldest first, read
        through the unique index on (partner, revision)."""
        table = self.stored.table
        return self._keyset_page([table.c.partner_id == partner_id], table.c.revision, after, limit)
