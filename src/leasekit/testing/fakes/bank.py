"""A bank whose files are JSON and whose return files say what a test asked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Final

import attrs

from leasekit import bankfiles
from leasekit.builtin.statements.camt053 import Camt053Parser
from leasekit.builtin.statements.delimited import CsvLayout, CsvStatementParser
from leasekit.builtin.statements.swift import Mt940Parser
from leasekit.domain.clock import Clock
from leasekit.errors import ConflictError, DomainError, NotFoundError, ValidationError
from leasekit.ports import (
    AdapterContext,
    BankStatement,
    DebitBatch,
    DebitOutcome,
    DebitReturn,
    PaymentInstruction,
    PaymentReceipt,
    PaymentStatus,
    whole,
)
from leasekit.testing.fakes._common import Outages, seconds_option, sequence
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
    (:meth:`return_file`), and pays every instruction unless told to reject a payee.

    A payment is accepted when sent and settles when a test calls :meth:`settle`, or by
    itself *settle_after* its acceptance by the fake's clock (``timedelta(0)``: at once).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        settle_after: timedelta | None = None,
        statement_csv: CsvLayout | None = None,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.settle_after = settle_after
        self.statement_csv = statement_csv
        """How the company's statements read when the bank exports them as CSV; None: it
        does not."""
        self.payments: dict[str, PaymentInstruction] = {}
        self._receipts: dict[str, PaymentReceipt] = {}
        self._later_receipts: dict[str, PaymentReceipt] = {}
        self._rejected_payees: dict[str, str] = {}
        self._answers_to_lose = 0
        self._reference = sequence("fake-bank")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeBank:
        """Option ``settle_after_seconds``: payments settle that long after acceptance (``0``:
        at once); without it they stay accepted until :meth:`settle`. Options named
        ``statement_<option>`` describe the CSV export of the company's statements, as the
        ``csv`` statement parser's ``<option>`` would (``statement_currency``,
        ``statement_reference_column`` ...)."""
        csv_options = {
            name.removeprefix("statement_"): value
            for name, value in context.options.items()
            if name.startswith("statement_")
        }
        return cls(
            context.clock,
            settle_after=seconds_option(context, "settle_after_seconds"),
            statement_csv=CsvLayout.from_options(csv_options) if csv_options else None,
        )

    def render_debit_file(self, batch: DebitBatch) -> Iterable[bytes]:
        """A batch that names its scheme in that scheme's real format (NACHA, SEPA pain.008,
        CSV: :mod:`leasekit.bankfiles`), streamed as a real bank adapter would; one that
        does not as the fake's JSON."""
        self._call("render_debit_file")
        if batch.scheme is not None:
            return bankfiles.debit_file(batch, created_at=self.clock.now())
        batch = whole(batch)
        return [
            dump_json(
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
        ]

    def return_file(self, batch: DebitBatch, returned: Mapping[str, str] | None = None) -> bytes:
        """The return file for *batch*: items in *returned* (item id to reason code, e.g.
        ``{"item-2": "AM04"}``) come back returned, the rest collected. In the batch's
        scheme's format if it names one (a NACHA return file lists only the returned)."""
        returned = dict(returned or {})
        batch = whole(batch)
        unknown = sorted(set(returned) - {item.item_id for item in batch.items})
        if unknown:
            raise ValidationError.single("returned", f"items not in the batch: {unknown}")
        if batch.scheme is not None:
            return bankfiles.result_file(batch, returned, created_at=self.clock.now())
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
        """The fake's JSON, or any format :func:`leasekit.bankfiles.read_results` reads."""
        self._call("parse_return_file")
        if content.lstrip()[:1] not in (b"{", b"["):
            return bankfiles.read_results(content)
        returns: list[DebitReturn] = read_json(content, "return", _returns)
        return returns

    @staticmethod
    def statement_file(statement: BankStatement) -> bytes:
        """A statement in the format :meth:`parse_statement` reads (the statement parser's)."""
        return FakeStatementParser.render(statement)

    def parse_statement(self, content: bytes) -> BankStatement:
        """The fake's JSON, or a statement as banks export them: camt.053 (XML), MT940, or
        CSV where the fake is told how its CSV reads (:attr:`statement_csv`)."""
        self._call("parse_statement")
        head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:5]
        if head.startswith(b"<"):
            return Camt053Parser().parse(content)
        if head.startswith((b":20:", b"{1:", b":")):
            return Mt940Parser().parse(content)
        if self.statement_csv is not None and not head.startswith(b"{"):
            return CsvStatementParser(self.statement_csv).parse(content)
        return parse_statement(content)

    def reject_payments_to(self, account: str, reason: str = "account blocked") -> None:
        self._rejected_payees[account] = reason

    def lose_next_answer(self, times: int = 1) -> None:
        """The next *times* calls of :meth:`send_payment` do their work and then fail as an
        outage does, so the caller cannot tell whether the payment was made."""
        self._answers_to_lose += times

    def send_payment(self, instruction: PaymentInstruction) -> PaymentReceipt:
        """Idempotent on the instruction id; a reused id with other terms is a conflict."""
        self._call("send_payment")
        known = self.payments.get(instruction.instruction_id)
        if known is None:
            receipt = self._receive(instruction)
        elif known == instruction:
            receipt = self._receipts[instruction.instruction_id]
        else:
            raise ConflictError(
                f"payment instruction {instruction.instruction_id!r} was sent with other terms"
            )
        if self._answers_to_lose:
            self._answers_to_lose -= 1
            raise self._outage("send_payment", "no answer came back")
        return receipt

    def payment_status(self, instruction_id: str) -> PaymentReceipt | None:
        self._call("payment_status")
        return self._current(instruction_id)

    def settle(self, instruction_id: str) -> None:
        """Settle the accepted payment *instruction_id* now, as the bank's clearing would."""
        self._later_receipts[instruction_id] = self._moved(instruction_id, PaymentStatus.SETTLED)

    def fail_settlement(
        self, instruction_id: str, reason: str = "returned by the payee's bank"
    ) -> None:
        """Reject the accepted payment *instruction_id* now, as a payee's bank returning it
        would."""
        self._later_receipts[instruction_id] = self._moved(
            instruction_id, PaymentStatus.REJECTED, reason
        )

    def paid(self, account: str | None = None) -> list[PaymentInstruction]:
        """The distinct instructions carried out (accepted or settled), in the order first sent,
        only those to *account* if given: a payout sent under two instruction ids shows twice."""
        return [
            instruction
            for instruction_id, instruction in self.payments.items()
            if self._known(instruction_id).status is not PaymentStatus.REJECTED
            and account in (None, instruction.payee_account)
        ]

    def _receive(self, instruction: PaymentInstruction) -> PaymentReceipt:
        reason = self._rejected_payees.get(instruction.payee_account)
        status = PaymentStatus.ACCEPTED if reason is None else PaymentStatus.REJECTED
        receipt = PaymentReceipt(
            instruction.instruction_id, self._reference(), status, self.clock.now(), reason
        )
        self.payments[instruction.instruction_id] = instruction
        self._receipts[instruction.instruction_id] = self._settled_if_due(receipt)
        return self._receipts[instruction.instruction_id]

    def _current(self, instruction_id: str) -> PaymentReceipt | None:
        later = self._later_receipts.get(instruction_id)
        if later is not None:
            return later
        first = self._receipts.get(instruction_id)
        return None if first is None else self._settled_if_due(first)

    def _known(self, instruction_id: str) -> PaymentReceipt:
        receipt = self._current(instruction_id)
        if receipt is None:
            raise NotFoundError("payment instruction", instruction_id)
        return receipt

    def _settled_if_due(self, receipt: PaymentReceipt) -> PaymentReceipt:
        """*receipt* settled at the moment *settle_after* ran out, if it has by the clock."""
        if receipt.status is not PaymentStatus.ACCEPTED or self.settle_after is None:
            return receipt
        due = receipt.received_at + self.settle_after
        if self.clock.now() < due:
            return receipt
        return attrs.evolve(receipt, status=PaymentStatus.SETTLED, received_at=due)

    def _moved(
        self, instruction_id: str, status: PaymentStatus, reason: str | None = None
    ) -> PaymentReceipt:
        """The receipt of an accepted payment moved to *status* now; a settled or rejected
        payment moves no more."""
        receipt = self._known(instruction_id)
        if receipt.status is not PaymentStatus.ACCEPTED:
            raise DomainError(f"payment {instruction_id!r} is already {receipt.status}")
        return attrs.evolve(receipt, status=status, received_at=self.clock.now(), reason=reason)
