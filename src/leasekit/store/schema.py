"""What every table shares: the metadata and its naming convention, the column type map, and
the helpers that declare ids, references, currencies and search keys the same way everywhere.

Row classes are storage shapes, not the domain model: the domain's attrs classes cannot be
ORM-mapped, so each feature module (``identity``, ``parties``, ``origination`` ...) declares its
tables here and converts with a :class:`~leasekit.store.mapping.Mapper`. Amounts use
:class:`~leasekit.store.types.ExactDecimal`; money is an amount column plus the row's
``currency`` column (the domain keeps all the amounts of one object in one currency). Instants
use :class:`~leasekit.store.types.UtcDateTime`.

Constraint names come from the naming convention, so migrations can refer to them and a
broken rule can be traced to the field it protects (:mod:`leasekit.store.repository`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from leasekit.store.types import CanonicalJson, ExactDecimal, UtcDateTime

__all__ = [
    "COUNTER",
    "ID_LENGTH",
    "NAMING_CONVENTION",
    "SEARCH_KEY",
    "Base",
    "EntityRow",
    "currency_column",
    "id_column",
    "metadata",
    "reference",
    "search_key",
    "search_key_column",
    "unique_where",
]

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH: Final = 32
"""Entity ids are 32 hex digits (:func:`leasekit.domain.identity.new_id`)."""

COUNTER = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit counter; SQLite only auto-increments a column declared exactly ``INTEGER``."""

SEARCH_KEY = String().with_variant(String(collation="C"), "postgresql")
"""A search key compared byte by byte on both databases, so a prefix is an index range."""


class Base(DeclarativeBase):
    """Shared metadata and the Python-type → column-type map every table uses."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - read once by SQLAlchemy at class creation
        Decimal: ExactDecimal(),
        dt.datetime: UtcDateTime(),
        dt.date: Date(),
        dict[str, Any]: CanonicalJson(),
        list[Any]: CanonicalJson(),
    }


metadata: Final = Base.metadata


def id_column() -> Mapped[str]:
    return mapped_column(String(ID_LENGTH), primary_key=True, sort_order=-1)


def reference(target: str, *, index: bool = True) -> Mapped[Any]:
    """A foreign key to ``<target>.id``, indexed because every reference is also looked up."""
    return mapped_column(String(ID_LENGTH), ForeignKey(f"{target}.id"), index=index)


def currency_column() -> Mapped[str]:
    return mapped_column(String(3))


def search_key_column() -> Mapped[str]:
    return mapped_column(SEARCH_KEY)


def unique_where(name: str, *columns: str, where: str) -> Index:
    """A unique index over the rows *where* holds: a rule that depends on a row's state (one
    registered record per VIN), which both databases enforce as a partial index."""
    condition = sa.text(where)
    return Index(name, *columns, unique=True, sqlite_where=condition, postgresql_where=condition)


def search_key(text: str) -> str:
    """The form names are searched in: case folded and blanks collapsed, so "wang  XIU"
    finds "Wang Xiu" by any prefix."""
    return " ".join(text.split()).casefold()


class EntityRow(Base):
    """Columns every entity table has: the id and the compare-and-set ``version``."""

    __abstract__ = True

    id: Mapped[str] = id_column()
    version: Mapped[int]
