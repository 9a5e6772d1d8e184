"""Applications, the other parties on them and the rows of their plans, their documents and
their approval tasks.

An application's co-applicants and guarantors are rows of ``application_parties``, one per
customer (the primary key makes a customer appear once); they are written with the
application (replaced on every update) and read with it. The rows of its plan are written
when a change prices it (``uow.plan_rows.replace``) and read on their own: loading an
application never reads its schedule.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final, cast

import attrs
import sqlalchemy as sa
from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.domain.applications import Application
from leasekit.domain.approvals import ApprovalTask, ApprovalTaskState
from leasekit.domain.documents import Document, DocumentKind, OwnerKind
from leasekit.domain.plans import Party, PlanRow
from leasekit.services.storage import ApprovalTaskQuery, Page
from leasekit.store.mapping import Record
from leasekit.store.repository import (
    ClaimableRepository,
    Rule,
    SqlRepository,
    Stored,
    query_criteria,
    repository,
    write,
)
from leasekit.store.schema import ID_LENGTH, Base, EntityRow, currency_column, reference

__all__ = [
    "ApplicationPartyRow",
    "ApplicationRepository",
    "ApplicationRow",
    "ApprovalTaskRepository",
    "ApprovalTaskRow",
    "DocumentRepository",
    "DocumentRow",
    "PlanRowRepository",
    "PlanRowRow",
]


def _missing(table: str, column: str, target: str) -> Rule:
    kind = target.removesuffix("s")
    return Rule(f"fk_{table}_{column}_{target}", (column,), column, f"no such {kind}")


class ApplicationRow(EntityRow):
    """The requested terms are one currency (the domain checks it), held once in ``currency``."""

    __tablename__ = "applications"

    partner_id: Mapped[str] = reference("partners", index=False)
    customer_id: Mapped[str] = reference("customers")
    vehicle_id: Mapped[str] = reference("vehicles")
    business_type: Mapped[str]
    currency: Mapped[str] = currency_column()
    vehicle_price: Mapped[Decimal]
    down_payment: Mapped[Decimal]
    residual_value: Mapped[Decimal | None]
    term_months: Mapped[int]
    annual_rate: Mapped[Decimal]
    state: Mapped[str]
    created_by: Mapped[str]
    """A user id, or a system actor's name, so not a foreign key."""
    created_at: Mapped[dt.datetime]
    product_version_id: Mapped[str | None] = reference("product_versions")
    schedule_method: Mapped[str | None]
    plan: Mapped[dict[str, Any] | None]
    """The plan's totals, decimals as their exact text; null for an unpriced application."""
    conditions: Mapped[dict[str, Any] | None]

    __table_args__ = (Index(None, "partner_id", "id"), Index(None, "state", "id"))


class ApplicationPartyRow(Base):
    """A co-applicant or guarantor: a customer appears once on an application."""

    __tablename__ = "application_parties"

    application_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("applications.id"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("customers.id"), primary_key=True, index=True
    )
    role: Mapped[str]
    position: Mapped[int]
    """Where the party stands in the list the application was given."""


class PlanRowRow(Base):
    """One installment of an application's plan, in the currency of its totals."""

    __tablename__ = "application_plan_rows"

    application_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("applications.id"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    due_date: Mapped[dt.date]
    payment: Mapped[Decimal]
    principal: Mapped[Decimal]
    interest: Mapped[Decimal]
    balance: Mapped[Decimal]


_PARTY_RULES: Final = (
    Rule("pk_application_parties", ("application_id", "customer_id"), "parties",
         "a customer is listed twice"),
    Rule("fk_application_parties_customer_id_customers", ("customer_id",), "parties",
         "no such customer"),
)  # fmt: skip
_PARTIES: Final = cast(sa.Table, ApplicationPartyRow.__table__)
_PLAN_ROWS: Final = cast(sa.Table, PlanRowRow.__table__)


@repository("applications")
class ApplicationRepository(SqlRepository[Application]):
    stored = Stored.of(
        "application",
        ApplicationRow,
        Application,
        rules=[
            _missing("applications", "partner_id", "partners"),
            _missing("applications", "customer_id", "customers"),
            _missing("applications", "vehicle_id", "vehicles"),
            _missing("applications", "product_version_id", "product_versions"),
        ],
        besides=["parties"],
    )

    def add_many(self, entities: Iterable[Application]) -> None:
        added = list(entities)
        super().add_many(added)
        self._write_parties(added)

    def update(self, entity: Application) -> None:
        """Store *entity* (compare-and-set) and replace its parties with those it lists."""
        super().update(entity)
        self._session.connection().execute(
            sa.delete(_PARTIES).where(_PARTIES.c.application_id == entity.id)
        )
        self._write_parties([entity])

    def _write_parties(self, applications: Iterable[Application]) -> None:
        rows = [
            {"application_id": application.id, "customer_id": party.customer_id,
             "role": str(party.role), "position": position}
            for application in applications
            for position, party in enumerate(application.parties)
        ]  # fmt: skip
        if rows:
            write(self._session, "application", sa.insert(_PARTIES), rows, _PARTY_RULES)

    def _parties(self, application_ids: Iterable[str]) -> dict[str, list[Party]]:
        """The parties of each application, in the order they were listed: one query."""
        found: dict[str, list[Party]] = {key: [] for key in application_ids}
        if not found:
            return found
        statement = (
            sa.select(_PARTIES.c.application_id, _PARTIES.c.customer_id, _PARTIES.c.role)
            .where(_PARTIES.c.application_id.in_(list(found)))
            .order_by(_PARTIES.c.application_id, _PARTIES.c.position)
        )
        for row in self._rows(statement):
            found[row["application_id"]].append(Party(row["customer_id"], row["role"]))
        return found

    def _loaded(self, entities: list[Application]) -> list[Application]:
        parties = self._parties(entity.id for entity in entities)
        for entity in entities:
            entity.parties = tuple(parties[entity.id])
        return entities

    def page(
        self, query: object | None = None, *, after: str | None = None, limit: int = 50
    ) -> Page[Record]:
        """A page of records, each with its parties as the application shows them."""
        found = super().page(query, after=after, limit=limit)
        parties = self._parties(record["id"] for record in found.items)
        for record in found.items:
            record["parties"] = [
                {"customer_id": party.customer_id, "role": str(party.role)}
                for party in parties[record["id"]]
            ]
        return found

    def list_for_partner(self, partner_id: str, states: Iterable[str]) -> list[Application]:
        """A partner's applications in any of *states*, oldest first."""
        table = self.stored.table
        return self._find(table.c.partner_id == partner_id, table.c.state.in_(list(states)))

    def count_for_phone(self, phone: str, besides: str) -> int:
        """Applications other than *besides*, at any partner, whose customer gave this phone
        number (drafts aside): several people, or one under several names, on one phone."""
        customers = sa.table("customers", sa.column("id"), sa.column("phone"))
        return self._count_others(besides, customers, "customer_id", customers.c.phone == phone)

    def count_for_identity(
        self, country: str, id_number: str, besides: str, *, other_than: str | None = None
    ) -> int:
        """Applications other than *besides*, at any partner (or at partners *other_than*
        this one), whose customer has this id number: the same person applying twice, or
        under several dealers (drafts aside)."""
        customers = sa.table("customers", sa.column("id"), sa.column("country"),
                             sa.column("id_number"))  # fmt: skip
        elsewhere = () if other_than is None else (self.stored.table.c.partner_id != other_than,)
        return self._count_others(
            besides, customers, "customer_id",
            customers.c.country == country, customers.c.id_number == id_number, *elsewhere,
        )  # fmt: skip

    def count_for_vin(self, vin: str, besides: str) -> int:
        """Applications other than *besides*, at any partner, for a vehicle with this VIN
        (each dealer registers its own vehicle record): one car financed twice (drafts
        aside)."""
        vehicles = sa.table("vehicles", sa.column("id"), sa.column("vin"))
        return self._count_others(besides, vehicles, "vehicle_id", vehicles.c.vin == vin)

    def _count_others(
        self,
        besides: str,
        joined: sa.TableClause,
        through: str,
        *criteria: sa.ColumnElement[bool],
    ) -> int:
        """How many applications other than *besides*, drafts aside, have a row of *joined*
        (reached through their column *through*) meeting *criteria*, counted by the
        database."""
        table = self.stored.table
        statement = (
            sa.select(sa.func.count())
            .select_from(table.join(joined, joined.c.id == table.c[through]))
            .where(table.c.id != besides, table.c.state != "draft", *criteria)
        )
        return int(self._session.connection().scalar(statement) or 0)


class DocumentRow(EntityRow):
    """``owner_id`` points into the table ``owner_kind`` names, so it has no foreign key."""

    __tablename__ = "documents"

    owner_kind: Mapped[str]
    owner_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str]
    filename: Mapped[str]
    content_type: Mapped[str]
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(unique=True)
    partner_id: Mapped[str | None] = reference("partners")
    uploaded_by: Mapped[str]
    uploaded_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "owner_kind", "owner_id", "id"),)


@repository("plan_rows")
class PlanRowRepository:
    """The rows of applications' plans: replaced as a whole when a change prices an
    application again, read in order."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def replace(self, application_id: str, rows: Sequence[PlanRow]) -> None:
        connection = self._session.connection()
        connection.execute(
            sa.delete(_PLAN_ROWS).where(_PLAN_ROWS.c.application_id == application_id)
        )
        values = [{"application_id": application_id, **attrs.asdict(row)} for row in rows]
        if values:
            write(self._session, "plan", sa.insert(_PLAN_ROWS), values)

    def for_application(self, application_id: str) -> list[PlanRow]:
        statement = (
            sa.select(*(_PLAN_ROWS.c[name] for name in _ROW_FIELDS))
            .where(_PLAN_ROWS.c.application_id == application_id)
            .order_by(_PLAN_ROWS.c.number)
        )
        rows = self._session.connection().execute(statement).mappings()
        return [PlanRow(**row) for row in rows]


_ROW_FIELDS: Final = tuple(field.name for field in attrs.fields(PlanRow))


@repository("documents")
class DocumentRepository(SqlRepository[Document]):
    """Document records are added, never edited: the bytes they describe cannot change."""

    stored = Stored.of("document", DocumentRow, Document)

    def of_owners(
        self, owners: Iterable[tuple[OwnerKind, str]], kind: DocumentKind | None, limit: int
    ) -> list[Document]:
        """The newest *limit* documents of *kind* (None: of any kind) attached to any of
        *owners*."""
        table = self.stored.table
        attached = sa.or_(
            *(
                sa.and_(table.c.owner_kind == str(owner_kind), table.c.owner_id == owner_id)
                for owner_kind, owner_id in owners
            )
        )
        statement = (
            sa.select(*self.stored.read_columns)
            .where(attached, *([] if kind is None else [table.c.kind == str(kind)]))
            .order_by(table.c.id.desc())
            .limit(limit)
        )
        return [self.stored.mapper.load(row) for row in self._rows(statement)]

    def latest_of(self, owner_kind: str, owner_id: str, kind: str) -> Document | None:
        """The owner's newest document of *kind*, read through the owner's index."""
        table = self._table
        return self._latest(
            table.c.owner_kind == owner_kind, table.c.owner_id == owner_id, table.c.kind == kind
        )


class ApprovalTaskRow(EntityRow):
    __tablename__ = "approval_tasks"

    application_id: Mapped[str] = reference("applications")
    partner_id: Mapped[str] = reference("partners", index=False)
    product_code: Mapped[str | None]
    tier: Mapped[str]
    required_tier: Mapped[str]
    state: Mapped[str]
    assignee: Mapped[str | None]
    locked_by: Mapped[str | None]
    locked_at: Mapped[dt.datetime | None]
    lock_expires_at: Mapped[dt.datetime | None]
    decision: Mapped[str | None]
    decided_by: Mapped[str | None]
    conditions: Mapped[dict[str, Any]]
    reason: Mapped[str | None]
    tags: Mapped[list[Any]]
    tag_key: Mapped[str]
    """The tags as ``|a|b|``, so that a queue filters by one tag the same way on every database."""
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        Index(None, "state", "tier", "id"),
        Index(None, "partner_id", "id"),
        Index(None, "product_code", "id"),
    )


def _tag_key(tags: Iterable[str]) -> str:
    return "|" + "".join(f"{tag}|" for tag in tags)


@repository("approval_tasks")
class ApprovalTaskRepository(ClaimableRepository[ApprovalTask]):
    stored = Stored.of(
        "approval task",
        ApprovalTaskRow,
        ApprovalTask,
        rules=[_missing("approval_tasks", "application_id", "applications")],
        computed={"tag_key": lambda task: _tag_key(task.tags)},
    )

    def list_for_application(self, application_id: str) -> list[ApprovalTask]:
        return self._find(self.stored.table.c.application_id == application_id)

    def page(  # type: ignore[override]
        self, query: ApprovalTaskQuery | None = None, *, after: str | None = None, limit: int = 50
    ) -> Page[Record]:
        """A queue: *query*'s ``tag`` matches one of a task's tags; the other fields as
        :func:`~leasekit.store.repository.query_criteria` says."""
        table = self.stored.table
        criteria = self._criteria(query or ApprovalTaskQuery())
        return self._keyset_page(criteria, table.c.id, after, limit)

    def count_by_age(self, query: ApprovalTaskQuery, bounds: Sequence[dt.datetime]) -> list[int]:
        """How many open or claimed tasks *query* matches were opened in each span *bounds*
        (instants, newest first) cut time into: after the first, between each two, before
        the last; counted by the database in one statement."""
        table = self.stored.table
        created = table.c.created_at
        edges: list[dt.datetime | None] = [None, *bounds, None]
        spans = [
            sa.and_(
                sa.true() if newer is None else created <= newer,
                sa.true() if older is None else created > older,
            )
            for newer, older in itertools.pairwise(edges)
        ]
        waiting = table.c.state.in_([ApprovalTaskState.OPEN, ApprovalTaskState.CLAIMED])
        statement = sa.select(*(sa.func.count().filter(span) for span in spans)).where(
            waiting, *self._criteria(query)
        )
        row = self._session.connection().execute(statement).one()
        return [int(count or 0) for count in row]

    def _criteria(self, query: ApprovalTaskQuery) -> list[sa.ColumnElement[bool]]:
        table = self.stored.table
        criteria = query_criteria(attrs.evolve(query, tag=None), table)
        if query.tag is not None:
            criteria.append(table.c.tag_key.contains(_tag_key([query.tag]), autoescape=True))
        return criteria
