"""Voucher template versions saved through the API: one row per version, the template as the
JSON :meth:`~leasekit.domain.voucher_templates.TemplateVersion.from_mapping` reads, never
updated. A name's version numbers are unique by the database, which settles two saves of
the same version at once: the second is a conflict."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import String, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.domain.voucher_templates import TemplateVersion
from leasekit.errors import ConflictError, NotFoundError
from leasekit.services.storage import SavedTemplate, TemplatesFingerprint
from leasekit.store.database import begin_writing
from leasekit.store.repository import repository
from leasekit.store.schema import Base, id_column

__all__ = ["VoucherTemplateRepository", "VoucherTemplateVersionRow"]


class VoucherTemplateVersionRow(Base):
    """A saved version. No compare-and-set version column: a change is a new row."""

    __tablename__ = "voucher_template_versions"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    event_type: Mapped[str] = mapped_column(String(64))
    template: Mapped[dict[str, Any]]
    created_by: Mapped[str]
    created_at: Mapped[dt.datetime]

    __table_args__ = (UniqueConstraint("name", "version"),)


@repository("voucher_templates")
class VoucherTemplateRepository:
    """:class:`leasekit.services.storage.VoucherTemplateRepository` on SQLAlchemy."""

    _table: sa.Table = VoucherTemplateVersionRow.__table__  # type: ignore[assignment]

    def __init__(self, session: Session) -> None:
        self._session = session

    def begin_saving(self) -> None:
        begin_writing(self._session.connection())

    def add(self, saved: SavedTemplate) -> None:
        template = saved.template
        row = {
            "id": saved.id,
            "name": template.name,
            "version": template.version,
            "event_type": template.event_type,
            "template": template.as_mapping(),
            "created_by": saved.created_by,
            "created_at": saved.created_at,
        }
        try:
            self._session.connection().execute(sa.insert(self._table), [row])
        except IntegrityError as exc:  # the only rule a new row can break
            raise ConflictError(
                f"voucher template {template.name!r} version {template.version} was saved by "
                f"someone else at the same moment; read it again and save the next version"
            ) from exc

    def get(self, saved_id: str) -> SavedTemplate:
        found = self._saved(self._table.c.id == saved_id)
        if not found:
            raise NotFoundError("voucher template version", saved_id)
        return found[0]

    def fingerprint(self) -> TemplatesFingerprint:
        table = self._table
        statement = sa.select(sa.func.count(), sa.func.max(table.c.id))
        count, last_id = self._session.connection().execute(statement).one()
        return TemplatesFingerprint(int(count), last_id)

    def in_order(self) -> list[TemplateVersion]:
        statement = sa.select(self._table.c.template).order_by(self._table.c.id)
        rows = self._session.connection().execute(statement).scalars()
        return [TemplateVersion.from_mapping(data) for data in rows]

    def of_name(self, name: str) -> list[SavedTemplate]:
        return self._saved(self._table.c.name == name)

    def _saved(self, *criteria: sa.ColumnElement[bool]) -> list[SavedTemplate]:
        table = self._table
        statement = (
            sa.select(table.c.id, table.c.template, table.c.created_by, table.c.created_at)
            .where(*criteria)
            .order_by(table.c.id)
        )
        return [
            SavedTemplate(
                row.id, TemplateVersion.from_mapping(row.template), row.created_by, row.created_at
            )
            for row in self._session.connection().execute(statement)
        ]
