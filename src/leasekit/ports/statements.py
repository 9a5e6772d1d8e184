"""Bank statements: the statements customers upload as proof of income, and their parsers.

The values (:class:`BankStatement`, :class:`StatementLine`, :class:`StatementTotals`) are
defined in :mod:`leasekit.domain.statements`, so that the pure analysis of a statement can read
them, and re-exported here beside the port.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from leasekit.domain.statements import BankStatement, StatementLine, StatementTotals

__all__ = ["BankStatement", "StatementLine", "StatementParser", "StatementTotals"]


@runtime_checkable
class StatementParser(Protocol):
    """Reads the statement files customers upload. A parser that reads PDF statements says so
    with a class attribute ``reads_pdf = True``; pre-approval hands it a PDF only then (it
    checks every PDF for changes after production either way)."""

    def parse(self, content: bytes) -> BankStatement:
        """Read a statement file (as customers upload them); unreadable content raises
        :class:`~leasekit.errors.ValidationError` naming the line at fault."""
        ...
