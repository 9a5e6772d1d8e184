"""The statement parser suite."""

from __future__ import annotations

import pytest

from leasekit.errors import ValidationError
from leasekit.ports import BankStatement, StatementParser
from leasekit.testing.suites._base import Suite, provide

__all__ = ["StatementParserSuite", "assert_statement_balances"]


def assert_statement_balances(statement: BankStatement) -> None:
    assert statement.balances, (
        f"opening {statement.opening_balance} plus {len(statement.lines)} lines does not give "
        f"closing {statement.closing_balance}: a line was dropped, doubled or mis-signed"
    )
    ids = [line.line_id for line in statement.lines]
    assert len(ids) == len(set(ids)), f"line ids repeat: {ids}"


class StatementParserSuite(Suite):
    port = StatementParser

    @pytest.fixture
    def statement_content(self) -> bytes:
        provide("statement_content", "a statement file in the format the parser reads")

    @pytest.fixture
    def unreadable_content(self) -> bytes:
        return b"\x00\x01 this is not a bank statement \xff"

    def test_a_statement_balances_and_has_unique_line_ids(
        self, adapter: StatementParser, statement_content: bytes
    ) -> None:
        statement = adapter.parse(statement_content)
        assert isinstance(statement, BankStatement)
        assert statement.lines, "the 'statement_content' fixture should have bookings"
        assert_statement_balances(statement)

    def test_unreadable_content_is_a_validation_error(
        self, adapter: StatementParser, unreadable_content: bytes
    ) -> None:
        with pytest.raises(ValidationError):
            adapter.parse(unreadable_content)
