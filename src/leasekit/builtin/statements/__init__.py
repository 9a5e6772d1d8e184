"""Bank-statement parsers (port ``StatementParser``), each under its own adapter id.

- ``csv``: a bank's CSV export, read through a column mapping from the adapter options
  (:mod:`.delimited`);
- ``camt053``: ISO 20022 camt.053 XML, read with the standard library's ElementTree behind
  defusedxml (:mod:`.camt053`);
- ``mt940``: SWIFT MT940, read with the ``mt-940`` library (:mod:`.swift`).

``LEASEKIT_ADAPTERS__STATEMENT_PARSER`` chooses one. The parsers import their libraries when
they parse, so registering them costs nothing at start-up.
"""

from __future__ import annotations

from leasekit.builtin.statements.camt053 import Camt053Parser
from leasekit.builtin.statements.delimited import CsvStatementParser
from leasekit.builtin.statements.swift import Mt940Parser
from leasekit.hookspecs import hookimpl
from leasekit.ports import Register, StatementParser

__all__ = ["Camt053Parser", "CsvStatementParser", "Mt940Parser"]


@hookimpl(trylast=True)
def leasekit_register_statement_parsers(register: Register[StatementParser]) -> None:
    register("csv", CsvStatementParser.from_context)
    register("camt053", Camt053Parser.from_context)
    register("mt940", Mt940Parser.from_context)
