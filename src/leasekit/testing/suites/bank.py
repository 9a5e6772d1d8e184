"""The bank suite."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

import attrs
import pytest

from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports import (
    Bank,
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    PaymentInstruction,
    PaymentReceipt,
    PaymentStatus,
)
from leasekit.testing.suites._base import Suite, provide
from leasekit.testing.suites.statements import assert_statement_balances

__all__ = ["BankSuite"]


def _assert_carried_out(status: PaymentReceipt | None, receipt: PaymentReceipt) -> None:
    """*status* is the bank's word on the payment *receipt* answered, accepted or settled."""
    assert status is not None, "a payment the bank received has a status"
    assert (status.instruction_id, status.bank_reference) == (
        receipt.instruction_id,
        receipt.bank_reference,
    ), f"{status} is not the status of {receipt}"
    assert status.status in {PaymentStatus.ACCEPTED, PaymentStatus.SETTLED}


class BankSuite(Suite):
    port = Bank

    @pytest.fixture
    def batch(self, currency: str) -> DebitBatch:
        items = [
            DebitItem(
                f"item-{n}", f"Debtor {n}", f"62220000000000{n}", Money(amount, currency), f"M-{n}"
            )
            for n, amount in ((1, "3120.55"), (2, "2890.00"))
        ]
        return DebitBatch(
            "batch-1", "Leasekit Finance", "6222000000000099", date(2024, 1, 20), items
        )

    @pytest.fixture
    def return_file_content(self, adapter: Bank, batch: DebitBatch) -> bytes:
        provide(
            "return_file_content",
            "the bank's return file for the 'batch' fixture, with at least one item returned",
        )

    @pytest.fixture
    def statement_content(self) -> bytes:
        provide("statement_content", "an account statement in the bank's format")

    @pytest.fixture
    def settle_payment(self, adapter: Bank) -> Callable[[str], None]:
        provide(
            "settle_payment",
            "a function that returns once the bank has settled the payment sent with an "
            "instruction id (settling it, or waiting until it has)",
        )

    @pytest.fixture
    def payment(self, currency: str) -> PaymentInstruction:
        return PaymentInstruction(
            instruction_id=f"pay-{uuid.uuid4().hex}",
            payee_name="Shanghai Motors",
            payee_account="6222000000000123",
            amount=Money("150000.00", currency),
            requested_date=date(2024, 1, 15),
            remittance="disbursement contract C-1",
        )

    def test_renders_a_debit_file(self, adapter: Bank, batch: DebitBatch) -> None:
        chunks = list(adapter.render_debit_file(batch))
        assert all(isinstance(chunk, bytes) for chunk in chunks)
        assert b"".join(chunks)

    def test_reads_the_items_once_as_a_stream(self, adapter: Bank, batch: DebitBatch) -> None:
        """A run streams its debits from the database: an adapter that reads the items twice
        (or counts them first) would write a file without them."""
        whole_file = b"".join(adapter.render_debit_file(batch))
        streamed = attrs.evolve(batch, items=iter(tuple(batch.items)))
        assert len(b"".join(adapter.render_debit_file(streamed))) == len(whole_file)

    def test_return_file_results_are_items_of_the_batch(
        self, adapter: Bank, batch: DebitBatch, return_file_content: bytes
    ) -> None:
        results = adapter.parse_return_file(return_file_content)
        assert results, "the 'return_file_content' fixture should report on some items"
        amounts = {item.item_id: item.amount for item in batch.items}
        for result in results:
            assert isinstance(result, DebitReturn)
            assert result.batch_id == batch.batch_id
            assert amounts.get(result.item_id) == result.amount, f"{result} is not in the batch"
        reported = [result.item_id for result in results]
        assert len(reported) == len(set(reported)), f"an item is reported twice: {reported}"

    def test_a_returned_debit_is_read_as_returned(
        self, adapter: Bank, return_file_content: bytes
    ) -> None:
        """A parser that reads every item as collected would book bounced debits as paid."""
        results = adapter.parse_return_file(return_file_content)
        assert any(result.outcome is DebitOutcome.RETURNED for result in results), (
            "no item came back returned; the 'return_file_content' fixture must return one"
        )

    def test_a_statement_balances(self, adapter: Bank, statement_content: bytes) -> None:
        assert_statement_balances(adapter.parse_statement(statement_content))

    def test_an_unreadable_return_file_is_a_validation_error(self, adapter: Bank) -> None:
        with pytest.raises(ValidationError):
            adapter.parse_return_file(b"\x00\x01 not a return file \xff")

    def test_an_unreadable_statement_is_a_validation_error(self, adapter: Bank) -> None:
        with pytest.raises(ValidationError):
            adapter.parse_statement(b"\x00\x01 not a statement \xff")

    def test_a_payment_gets_a_receipt(self, adapter: Bank, payment: PaymentInstruction) -> None:
        receipt = adapter.send_payment(payment)
        assert isinstance(receipt, PaymentReceipt)
        assert receipt.instruction_id == payment.instruction_id
        assert receipt.bank_reference

    def test_a_repeated_payment_is_not_paid_twice(
        self, adapter: Bank, payment: PaymentInstruction
    ) -> None:
        first = adapter.send_payment(payment)
        assert adapter.send_payment(payment) == first

    def test_an_instruction_never_sent_has_no_status(self, adapter: Bank) -> None:
        """None tells a caller whose send failed that sending again pays only once."""
        assert adapter.payment_status(f"pay-{uuid.uuid4().hex}") is None

    def test_a_sent_payment_has_a_status(self, adapter: Bank, payment: PaymentInstruction) -> None:
        """A bank that forgot a payment it took would have a caller after a timeout pay again."""
        receipt = adapter.send_payment(payment)
        _assert_carried_out(adapter.payment_status(payment.instruction_id), receipt)

    def test_a_repeated_payment_keeps_its_first_receipt_and_status(
        self, adapter: Bank, payment: PaymentInstruction
    ) -> None:
        first = adapter.send_payment(payment)
        assert adapter.send_payment(payment) == first
        _assert_carried_out(adapter.payment_status(payment.instruction_id), first)

    def test_a_settled_payment_stays_settled(
        self,
        adapter: Bank,
        payment: PaymentInstruction,
        settle_payment: Callable[[str], None],
    ) -> None:
        first = adapter.send_payment(payment)
        settle_payment(payment.instruction_id)
        settled = adapter.payment_status(payment.instruction_id)
        assert settled is not None
        assert settled.status is PaymentStatus.SETTLED
        assert settled.bank_reference == first.bank_reference
        assert adapter.send_payment(payment) == first
        assert adapter.payment_status(payment.instruction_id) == settled
