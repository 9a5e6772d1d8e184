"""The generic repository: one class serves every aggregate, configured by a :class:`Stored`.

Repositories take a session and never commit; the unit of work owns the transaction. They
read and write with Core statements on the session's connection (no ORM identity map, so a
row changed earlier in the transaction is never served stale, and nothing is flushed behind
the caller's back) and convert through the aggregate's :class:`~leasekit.store.mapping.Mapper`.

``update`` is compare-and-set: ``UPDATE ... SET version = version + 1 WHERE id = :id AND
version = :read_version``. A row count of zero means the row changed or vanished since it was
read: :class:`~leasekit.errors.StaleVersionError` or ``NotFoundError``. This works the same on
SQLite, which has no row locks, and on PostgreSQL.

A write that breaks a database rule is translated, never quoted: a unique index or a foreign
key that :class:`Stored` knows becomes a ``ValidationError`` on the field it protects (the
database is the backstop for two requests racing past the service's own check); any other
becomes a ``ConflictError`` with a generic message. On PostgreSQL the transaction is then
unusable, so the caller abandons the unit of work.

Lists are pages in id order (ids grow with time, :func:`~leasekit.domain.identity.new_id`),
read as records, not aggregates: ``WHERE id > :after ORDER BY id LIMIT :n + 1``, whose cost
does not grow with the table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Generic, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from leasekit.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from leasekit.services.storage import Page
from leasekit.store.database import begin_writing
from leasekit.store.mapping import Mapper, Record
from leasekit.store.schema import search_key

__all__ = [
    "REPOSITORIES",
    "ClaimableRepository",
    "Rule",
    "SqlRepository",
    "Stored",
    "day_start",
    "query_criteria",
    "repository",
    "translate_integrity_error",
    "write",
]

E = TypeVar("E")
R = TypeVar("R")

REPOSITORIES: Final[dict[str, Callable[[Session], object]]] = {}
"""Every repository, by the name a unit of work gives it (``uow.vehicles``)."""


def repository(name: str) -> Callable[[type[R]], type[R]]:
    """Make the decorated class ``uow.<name>`` of every unit of work, built on its session;
    so that a new feature's repository is reached without editing the unit of work."""

    def register(cls: type[R]) -> type[R]:
        if name in REPOSITORIES:
            raise ValueError(f"two repositories are named {name!r}")
        REPOSITORIES[name] = cls
        return cls

    return register


_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})
"""PostgreSQL's serialization failure and deadlock: the transaction lost a race, and like a
failed compare-and-set, the answer is to re-read and retry."""
_PREFIX_END: Final = "\U0010ffff"
IN_LIST: Final = 5_000
"""Values per ``IN (...)`` list. One statement's parameters are capped (SQLite's default
build at 32,766, PostgreSQL's protocol at 65,535), and a book's worth of ids is more."""


def in_lists(values: Collection[str]) -> Iterator[list[str]]:
    """*values*, sorted, in lists of at most :data:`IN_LIST`, one statement each."""
    ordered = sorted(values)
    for at in range(0, len(ordered), IN_LIST):
        yield ordered[at : at + IN_LIST]


"""Sorts after every character, so ``key <= x < key + _PREFIX_END`` is "x starts with key"."""


@attrs.frozen
class Rule:
    """A unique index or foreign key, and the input field a violation is reported on."""

    constraint: str
    """Its name, as the naming convention gives it (PostgreSQL reports it)."""
    columns: tuple[str, ...]
    """The columns SQLite names in its message instead."""
    field: str
    message: str


def _constraint_of(exc: IntegrityError) -> tuple[str | None, str]:
    """The violated constraint's name (PostgreSQL) and the driver's message (SQLite names the
    columns or the index there)."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None), str(exc.orig)


def _matches(rule: Rule, name: str | None, message: str) -> bool:
    if name is not None:
        return name == rule.constraint
    if f"index '{rule.constraint}'" in message:
        return True
    failed = message.partition("failed: ")[2].split(",")
    return [part.strip().rpartition(".")[2] for part in failed] == list(rule.columns)


def _rule_for(rules: Sequence[Rule], name: str | None, message: str) -> Rule | None:
    """The rule a violation broke. SQLite names no foreign key in its message, so a foreign
    key violation there is attributed only when the table has a single one."""
    for rule in rules:
        if _matches(rule, name, message):
            return rule
    foreign = [rule for rule in rules if rule.constraint.startswith("fk_")]
    if name is None and "FOREIGN KEY constraint failed" in message and len(foreign) == 1:
        return foreign[0]
    return None


def translate_integrity_error(exc: IntegrityError, kind: str, rules: Iterable[Rule]) -> Exception:
    """The error a caller can act on for a broken database rule; the database's own text is
    logged by nobody and shown to nobody."""
    name, message = _constraint_of(exc)
    rule = _rule_for(tuple(rules), name, message)
    if rule is not None:
        return ValidationError.single(rule.field, rule.message)
    return ConflictError(f"the {kind} conflicts with another record; read it again and retry")


def write(
    session: Session,
    kind: str,
    statement: sa.Executable,
    rows: Sequence[Mapping[str, object]] | None = None,
    rules: Iterable[Rule] = (),
) -> int:
    """Execute an INSERT or UPDATE (executemany with *rows*); return the row count."""
    try:
        return session.connection().execute(statement, rows).rowcount
    except IntegrityError as exc:
        raise translate_integrity_error(exc, kind, rules) from exc
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
            raise ConflictError(
                f"the {kind} is being changed by a concurrent transaction; try again"
            ) from exc
        raise


def day_start(day: date) -> datetime:
    """The first instant of *day*, in UTC: instants are stored in UTC and days bound them."""
    return datetime.combine(day, time(), UTC)


def query_criteria(query: object, table: sa.Table) -> list[sa.ColumnElement[bool]]:
    """The conditions an attrs *query* asks for, by the names of its fields (None = any):

    ``<column>`` equals; ``<column minus _at>_from`` / ``_to`` bound an instant column by UTC
    days, both included; ``q`` is a prefix of the table's ``name_key``.
    """
    criteria: list[sa.ColumnElement[bool]] = []
    for name, value in attrs.asdict(query, recurse=False).items():  # type: ignore[arg-type]
        if value is None:
            continue
        if name == "q":
            key = search_key(value)
            criteria += [table.c.name_key >= key, table.c.name_key < key + _PREFIX_END]
        elif name.endswith("_from"):
            criteria.append(table.c[name.removesuffix("_from") + "_at"] >= day_start(value))
        elif name.endswith("_to"):
            end = day_start(value + timedelta(days=1))
            criteria.append(table.c[name.removesuffix("_to") + "_at"] < end)
        else:
            criteria.append(table.c[name] == str(value))
    return criteria


@attrs.frozen
class Stored(Generic[E]):
    """How one aggregate is stored: its table, its mapper, and the rules whose violations
    name a field. *kind* names it in errors (``"customer"``)."""

    kind: str
    table: sa.Table
    mapper: Mapper[E]
    rules: tuple[Rule, ...] = ()

    @classmethod
    def of(
        cls,
        kind: str,
        row_class: type,
        entity: type[E],
        *,
        rules: Iterable[Rule] = (),
        computed: Mapping[str, Callable[[E], object]] | None = None,
        besides: Iterable[str] = (),
    ) -> Stored[E]:
        table: sa.Table = row_class.__table__  # type: ignore[attr-defined]
        mapper = Mapper(entity, computed=computed, besides=frozenset(besides))
        return cls(kind, table, mapper, tuple(rules))

    @property
    def read_columns(self) -> list[sa.Column[Any]]:
        return [self.table.c[name] for name in self.mapper.column_names]


class SqlRepository(Generic[E]):
    """Get, add, compare-and-set update and paged listing of one aggregate.

    Subclasses set :attr:`stored` and add their own queries with :meth:`_find`.
    """

    stored: Stored[E]

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _table(self) -> sa.Table:
        return self.stored.table

    def _rows(self, statement: sa.Select[Any]) -> Sequence[sa.RowMapping]:
        return self._session.connection().execute(statement).mappings().all()

    def get(self, entity_id: str) -> E:
        return self._get(entity_id)

    def _get(self, entity_id: str, *, for_update: bool = False) -> E:
        """The entity; with *for_update*, its row locked until the transaction ends
        (``FOR UPDATE`` on PostgreSQL, the write lock taken first on SQLite)."""
        statement = sa.select(*self.stored.read_columns).where(self._table.c.id == entity_id)
        if for_update:
            begin_writing(self._session.connection())
            statement = statement.with_for_update()
        rows = self._rows(statement)
        if not rows:
            raise NotFoundError(self.stored.kind, entity_id)
        return self._loaded([self.stored.mapper.load(rows[0])])[0]

    def get_many(self, entity_ids: Collection[str]) -> dict[str, E]:
        """The entities of *entity_ids* that exist, by id, read in one query per
        :data:`IN_LIST` ids."""
        found = self._find_in(self._table.c.id, entity_ids)
        return {entity.id: entity for entity in found}  # type: ignore[attr-defined]

    def _loaded(self, entities: list[E]) -> list[E]:
        """*entities* as read from their rows, completed with what is stored elsewhere (the
        fields :class:`Stored` keeps *besides* its table); as read, by default."""
        return entities

    def add(self, entity: E) -> None:
        self.add_many([entity])

    def add_many(self, entities: Iterable[E]) -> None:
        """Insert new entities (each ``version`` as given, normally 0) in one statement."""
        rows = [self.stored.mapper.columns(entity) for entity in entities]
        if rows:
            write(self._session, self.stored.kind, sa.insert(self._table), rows, self.stored.rules)

    def update(self, entity: E) -> None:
        """Store *entity* if its ``version`` is still current, then increment the version.

        The id is matched, never set: SQLite checks every table whose foreign key points at
        a column an ``UPDATE`` sets, scanning the ones without an index on it (the debits
        that collected a payment), so setting the id again made each update slower as the
        book grew."""
        read_version: int = entity.version  # type: ignore[attr-defined]
        table = self._table
        columns = self.stored.mapper.columns(entity)
        del columns["id"]
        statement = (
            sa.update(table)
            .where(table.c.id == entity.id, table.c.version == read_version)  # type: ignore[attr-defined]
            .values({**columns, "version": read_version + 1})
        )
        if write(self._session, self.stored.kind, statement, rules=self.stored.rules) != 1:
            raise self._lost_update(entity.id, read_version)  # type: ignore[attr-defined]
        entity.version = read_version + 1  # type: ignore[attr-defined]

    def _lost_update(self, entity_id: str, read_version: int) -> Exception:
        """Why a compare-and-set matched no row: gone, or changed since it was read."""
        current = self._session.connection().scalar(
            sa.select(self._table.c.version).where(self._table.c.id == entity_id)
        )
        if current is None:
            return NotFoundError(self.stored.kind, entity_id)
        return StaleVersionError(self.stored.kind, entity_id, read_version, current)

    def count_in_states(self, partner_id: str, states: Iterable[str]) -> int:
        """How many of *partner_id*'s records are in one of *states* (for aggregates that
        belong to a partner and have a lifecycle), counted by the database."""
        table = self._table
        statement = (
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.partner_id == partner_id, table.c.state.in_(sorted(map(str, states))))
        )
        return int(self._session.connection().scalar(statement) or 0)

    def _find(self, *criteria: sa.ColumnElement[bool]) -> list[E]:
        """Entities matching *criteria*, in id order."""
        statement = sa.select(*self.stored.read_columns).where(*criteria).order_by(self._table.c.id)
        return self._loaded([self.stored.mapper.load(row) for row in self._rows(statement)])

    def _find_in(
        self,
        column: sa.ColumnElement[Any],
        values: Collection[str],
        *criteria: sa.ColumnElement[bool],
    ) -> list[E]:
        """Entities whose *column* is one of *values* and that match *criteria*, in id order:
        one query per :data:`IN_LIST` values."""
        found = [
            entity
            for chunk in in_lists(values)
            for entity in self._find(column.in_(chunk), *criteria)
        ]
        if len(values) > IN_LIST:
            found.sort(key=lambda entity: entity.id)  # type: ignore[attr-defined]
        return found

    def _latest(self, *criteria: sa.ColumnElement[bool]) -> E | None:
        """The newest entity matching *criteria* (ids grow with time), read alone."""
        statement = (
            sa.select(*self.stored.read_columns)
            .where(*criteria)
            .order_by(self._table.c.id.desc())
            .limit(1)
        )
        rows = self._rows(statement)
        return self._loaded([self.stored.mapper.load(rows[0])])[0] if rows else None

    def page(
        self, query: object | None = None, *, after: str | None = None, limit: int = 50
    ) -> Page[Record]:
        """Up to *limit* records matching *query* (see :func:`query_criteria`) with ids after
        *after*, and the cursor of the next page."""
        table = self._table
        criteria = query_criteria(query, table) if query is not None else []
        return self._keyset_page(criteria, table.c.id, after, limit)

    def _keyset_page(
        self,
        criteria: list[sa.ColumnElement[bool]],
        key: sa.Column[Any],
        after: object | None,
        limit: int,
    ) -> Page[Record]:
        """Up to *limit* records matching *criteria* in *key* order after *after*, and the
        next page's cursor (the last record's key, as text)."""
        if after is not None:
            criteria = [*criteria, key > after]
        statement = (
            sa.select(*self.stored.read_columns).where(*criteria).order_by(key).limit(limit + 1)
        )
        rows = self._rows(statement)
        records = [self.stored.mapper.record(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(records, str(records[-1][key.name]) if more else None)


class ClaimableRepository(SqlRepository[E]):
    """A repository of work a reviewer claims for a lease (approval tasks, payouts)."""

    def claims_run_out(self, at: datetime) -> list[str]:
        """The claimed items whose lease ran out by *at*: anyone may claim them again, and
        the close of business releases them so that queues show them free."""
        table = self._table
        statement = (
            sa.select(table.c.id)
            .where(table.c.state == "claimed", table.c.lock_expires_at <= at)
            .order_by(table.c.id)
        )
        return list(self._session.execute(statement).scalars())
