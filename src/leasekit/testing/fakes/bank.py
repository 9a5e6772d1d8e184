"""A bank whose files are JSON and whose return files say what a test asked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from leasekit.domain.clock import Clock
from leasekit.errors import ConflictError, ValidationError
from leasekit.ports import (
    AdapterContext,
    BankStatement,
    DebitBatch,
    DebitOutcome,
    DebitReturn,
    PaymentInstruction,
    PaymentReceipt,
    PaymentStatus,
)
from leasekit.testing.fakes._common import Outages, sequence
from leasekit.testing.fakes._files import dump_json, money, money_json, read_json
from leasekit.testing.fakes.statements import FakeStatementParser, parse_statement

__all__ = ["RETURN_REASONS", "FakeBank"]

RETURN_REASONS: Final = {
    "AC04": "account closed",
    "AM04": "insufficient funds",
    "MD01": "no valid mandate",
    "MS02": "refused by the debtor",
}
"""Reason codes the fake bank knows (ISO 20022 codes, as SEPA return files use them)."""


def _return_json(item: DebitReturn) -> dict[str, object]:
    return {
        "batch_id": item.batch_id,
        "item_id": item.item_id,
        "outcome": item.outcome.value,
        "amount": money_json(item.amount),
        "reason_code": item.reason_code,
        "reason": item.reason,
    }


def _returns(data: Mapping[str, Any]) -> list[DebitReturn]:
    return [
        DebitReturn(
            batch_id=row["batch_id"],
            item_id=row["item_id"],
            outcome=row["outcome"],
            amount=money(row["amount"]),
            reason_code=row["reason_code"],
            reason=row["reason"],
        )
        for row in data["returns"]
    ]


class FakeBank(Outages):
    """A bank whose files are JSON: it writes the return file you ask for
    (:meth:`return_file`), and pays every instruction unless told to reject a payee."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.batches: dict[str, DebitBatch] = {}
        self.payments: dict[str, PaymentInstruction] = {}
        self._receipts: dict[str, PaymentReceipt] = {}
        self._rejected_payees: dict[str, str] = {}
        self._reference = sequence("fake-bank")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeBank:
        return cls(context.clock)

    def render_debit_file(self, batch: DebitBatch) -> bytes:
        self._call("render_debit_file")
        self.batches[batch.batch_id] = batch
        return dump_json(
            {
                "batch_id": batch.batch_id,
                "creditor": {"name": batch.creditor_name, "account": batch.creditor_account},
                "collection_date": batch.collection_date.isoformat(),
                "items": [
                    {
                        "item_id": item.item_id,
                        "debtor": {"name": item.debtor_name, "account": item.debtor_account},
                        "amount": money_json(item.amount),
                        "mandate": item.mandate_reference,
                        "remittance": item.remittance,
                    }
                    for item in batch.items
                ],
            }
        )

    def return_file(self, batch: DebitBatch, returned: Mapping[str, str] | None = None) -> bytes:
        """The return file for *batch*: items in *returned* (item id to reason code, e.g.
        ``{"item-2": "AM04"}``) come back returned, the rest collected."""
        returned = dict(returned or {})
        unknown = sorted(set(returned) - {item.item_id for item in batch.items})
        if unknown:
            raise ValidationError.single("returned", f"items not in the batch: {unknown}")
        rows = []
        for item in batch.items:
            code = returned.get(item.item_id)
            outcome = DebitOutcome.COLLECTED if code is None else DebitOutcome.RETURNED
            reason = None if code is None else RETURN_REASONS.get(code, code)
            rows.append(
                DebitReturn(batch.batch_id, item.item_id, outcome, item.amount, code, reason)
            )
        return dump_json({"returns": [_return_json(row) for row in rows]})

    def parse_return_file(self, content: bytes) -> list[DebitReturn]:
        self._call("parse_return_file")
        returns: list[DebitReturn] = read_json(content, "return", _returns)
        return returns

    @staticmethod
    def statement_file(statement: BankStatement) -> bytes:
        """A statement in the format :meth:`parse_statement` reads (the statement parser's)."""
        return FakeStatementParser.render(statement)

    def parse_statement(self, content: bytes) -> BankStatement:
        self._call("parse_statement")
        return parse_statement(content)

    def reject_payments_to(self, account: str, reason: str = "account blocked") -> None:
        self._rejected_payees[account] = reason

    def send_payment(self, instruction: PaymentInstruction) -> PaymentReceipt:
        """Idempotent on the instruction id; a reused id with other terms is a conflict."""
        self._call("send_payment")
        known = self.payments.get(instruction.instruction_id)
        if known is not None:
            if known != instruction:
                raise ConflictError(
                    f"payment instruction {instruction.instruction_id!r} was sent with other terms"
                )
            return self._receipts[instruction.instruction_id]
        reason = self._rejected_payees.get(instruction.payee_account)
        status = PaymentStatus.ACCEPTED if reason is None else PaymentStatus.REJECTED
        receipt = PaymentReceipt(
            instruction.instruction_id, self._reference(), status, self.clock.now(), reason
        )
        self.payments[instruction.instruction_id] = instruction
        self._receipts[instruction.instruction_id] = receipt
        return receipt
