"""Imports of changes to many partners at once, from a spreadsheet: what a row may carry, the
report of what each row changes, and the faults that refuse a file.

A file is checked whole and applied whole (:mod:`leasekit.services.partner_imports` does
both): either every row is good and every change is made, or the report names each bad row
and column and nothing changes. Rows are numbered as a spreadsheet program shows them: the
header is row 1, the first partner row 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from leasekit.errors import DomainError, FieldError, ValidationError

__all__ = [
    "ColumnChange",
    "ImportApplyError",
    "ImportOutcome",
    "ImportRefusedError",
    "PartnerImport",
    "RowFault",
    "RowResult",
]


class ImportOutcome(StrEnum):
    DRY_RUN = "dry_run"
    """Checked only: the report says what applying the file would change; nothing changed."""
    APPLIED = "applied"
    """Every change of the file was made, by this request."""
    IMPORTED_BEFORE = "imported_before"
    """The same file (byte for byte) was applied before: the report is that import's, and
    nothing was changed now."""


@attrs.frozen
class ColumnChange:
    """One change a row makes, named by the column (or group of columns) it comes from."""

    column: str
    change: str


def _changes(items: Iterable[ColumnChange | Mapping[str, Any]]) -> tuple[ColumnChange, ...]:
    """The changes as given, or as stored (JSON objects)."""
    return tuple(item if isinstance(item, ColumnChange) else ColumnChange(**item) for item in items)


@attrs.frozen
class RowResult:
    """What one row changes; no change means the partner is already as the row says."""

    row: int = attrs.field(metadata={"description": "As a spreadsheet numbers it: header = 1."})
    partner_id: str
    changes: tuple[ColumnChange, ...] = attrs.field(converter=_changes)


@attrs.frozen
class PartnerImport:
    """A file of changes to partners and what it changed (or, in a dry run, would change),
    row by row. Applied imports are kept, one per file: ``sha256`` is the file's digest."""

    id: str | None = attrs.field(metadata={"description": "Null for a dry run, kept nowhere."})
    outcome: ImportOutcome = attrs.field(converter=ImportOutcome)
    sha256: str = attrs.field(metadata={"description": "SHA-256 of the file's bytes, hex."})
    reason: str | None = attrs.field(
        metadata={"description": "The reason given for the whole import, if any."}
    )
    actor_id: str = attrs.field(metadata={"description": "Who imported (or checked) the file."})
    created_at: datetime
    rows: int = attrs.field(metadata={"description": "Rows of partners (blank rows aside)."})
    changed: int = attrs.field(metadata={"description": "Rows that change their partner."})
    results: tuple[RowResult, ...]


@attrs.frozen
class RowFault:
    """One thing wrong with a file: the row (None for the file as a whole), the column, and
    what is wrong."""

    row: int | None
    column: str
    message: str

    @property
    def field(self) -> str:
        """How a ``FieldError`` names it: ``row 3.status``, or ``file``."""
        return self.column if self.row is None else f"row {self.row}.{self.column}"


class ImportRefusedError(ValidationError):
    """A file with faults; every fault found is named, and nothing was changed."""

    def __init__(self, faults: Iterable[RowFault]) -> None:
        self.faults = tuple(faults)
        super().__init__(FieldError(fault.field, fault.message) for fault in self.faults)


class ImportApplyError(DomainError):
    """A change that passed the checks was refused when made (the partner changed meanwhile,
    an exit review that is not clear): the whole import was undone."""

    def __init__(self, row: int, column: str, cause: Exception) -> None:
        self.row = row
        self.column = column
        super().__init__(f"row {row}, {column}: {cause}; nothing in the file was applied")
