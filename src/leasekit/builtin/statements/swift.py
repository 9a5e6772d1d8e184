"""The ``mt940`` statement parser: SWIFT MT940 customer statements, read with ``mt-940``.

``mt-940`` (WoLpH/mt940 on PyPI) is maintained and reads amounts as ``Decimal``. It is told
to apply every fix its next major release makes the default (``mt940.Options.all()``: a
reversal of a credit is money out, a byte-order mark is dropped, long ``:86:`` details are
kept). The counterparty comes from a structured ``:86:`` (the German ``?32``/``?31`` fields, as
the library reads them, or ``/NAME/`` and ``/IBAN/`` as Dutch banks write them); otherwise the
``:86:`` text is the description.

A file often holds a statement per day: consecutive statements of one account become one
:class:`~leasekit.ports.BankStatement`, opening with the first one's ``:60F:`` and closing with
the last one's ``:62F:``. Each day's closing balance is kept as the balance of that day's last
line, so an edited booking shows in the tampering checks; a day that does not open where the
one before closed is refused (a statement is missing, or a balance was edited).

The library logs the text it cannot read at ERROR level; that text is a customer's bank
statement, which must not reach the logs, so the parser silences the ``mt940`` logger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from leasekit.builtin.statements._common import decode, line_of
from leasekit.errors import AmountError, ValidationError
from leasekit.money import Money
from leasekit.ports import AdapterContext, BankStatement, StatementLine

__all__ = ["Mt940Parser"]

_SUBFIELD: Final = re.compile(r"/(NAME|IBAN|REMI|EREF|BIC)/([^/]*)")


def _structured(details: str) -> dict[str, str]:
    """``/NAME/ACME BV/IBAN/NL..../REMI/SALARY`` as a mapping."""
    flat = details.replace("\n", "")
    return {key: value.strip() for key, value in _SUBFIELD.findall(flat)}


def _money(value: Any, field: str) -> Money:
    try:
        return Money(value.amount, value.currency)
    except (AttributeError, AmountError) as exc:
        raise ValidationError.single(field, f"is not an amount in a currency: {exc}") from None


def _balance(data: Mapping[str, Any], tag: str, slug: str) -> tuple[Money, date]:
    balance = data.get(slug)
    if balance is None:
        raise ValidationError.single(f":{tag}:", "the statement has no such balance")
    return _money(balance.amount, f":{tag}:"), date(
        balance.date.year, balance.date.month, balance.date.day
    )


class Mt940Parser:
    """Reads the statements of one account from an MT940 file."""

    def __init__(self, encoding: str = "utf-8") -> None:
        self.encoding = encoding
        logging.getLogger("mt940").setLevel(logging.CRITICAL)

    @classmethod
    def from_context(cls, context: AdapterContext) -> Mt940Parser:
        """Option ``encoding`` (default UTF-8; many banks write Latin-1)."""
        return cls(context.option("encoding") or "utf-8")

    def parse(self, content: bytes) -> BankStatement:
        import mt940

        text = decode(content, self.encoding).replace("\r\n", "\n")
        try:
            blocks = mt940.parse_statements(text, options=mt940.Options.all())
        except (RuntimeError, ValueError, ArithmeticError) as exc:
            raise self._error(text, exc) from None
        blocks = [block for block in blocks if block.data]
        if not blocks:
            raise ValidationError.single("line 1", "no MT940 statement (:20: ... :62F:) found")
        return self._statement(blocks)

    @staticmethod
    def _error(text: str, exc: Exception) -> ValidationError:
        """The library's error, naming the line that holds the value it could not read."""
        value = exc.args[2] if len(exc.args) > 2 and isinstance(exc.args[2], str) else ""
        offset = text.find(value) if value else -1
        where = f"line {line_of(text, offset)}" if offset >= 0 else "line 1"
        return ValidationError.single(where, f"not readable as MT940: {value or exc!s}"[:200])

    def _statement(self, blocks: list[Any]) -> BankStatement:
        accounts = {block.data.get("account_identification", "") for block in blocks}
        if len(accounts) > 1:
            raise ValidationError.single(
                ":25:", f"the file holds statements of {len(accounts)} accounts; upload one"
            )
        opening, start = _balance(blocks[0].data, "60F", "final_opening_balance")
        closing, end = _balance(blocks[-1].data, "62F", "final_closing_balance")
        lines: list[StatementLine] = []
        used: set[str] = set()
        previous_closing: Money | None = None
        for number, block in enumerate(blocks, start=1):
            day_opening, _ = _balance(block.data, "60F", "final_opening_balance")
            day_closing, _ = _balance(block.data, "62F", "final_closing_balance")
            if previous_closing is not None and day_opening != previous_closing:
                raise ValidationError.single(
                    f"statement {number} :60F:",
                    f"opens at {day_opening}, but statement {number - 1} closed at "
                    f"{previous_closing}: statements are missing or edited",
                )
            previous_closing = day_closing
            block_lines = [
                self._line(transaction.data, f"statement {number} :61: {index}", used)
                for index, transaction in enumerate(block, start=1)
                if transaction.data.get("amount") is not None
            ]
            if block_lines and len(blocks) > 1:
                last = block_lines[-1]
                block_lines[-1] = StatementLine(
                    last.line_id,
                    last.booked_on,
                    last.amount,
                    last.counterparty_name,
                    last.counterparty_account,
                    last.reference,
                    last.description,
                    balance=day_closing,
                )
            lines.extend(block_lines)
        days = [line.booked_on for line in lines]
        return BankStatement(
            account=accounts.pop(),
            period_start=min([start, *days]),
            period_end=max([end, *days]),
            opening_balance=opening,
            closing_balance=closing,
            lines=lines,
        )

    @staticmethod
    def _line(data: Mapping[str, Any], where: str, used: set[str]) -> StatementLine:
        amount = _money(data["amount"], where)
        booked = data.get("entry_date") or data.get("date")
        if booked is None:
            raise ValidationError.single(where, "has no date")
        details = str(data.get("transaction_details") or "")
        structured = _structured(details)
        name = str(data.get("applicant_name") or structured.get("NAME", ""))
        account = str(data.get("applicant_iban") or structured.get("IBAN", ""))
        purpose = str(data.get("purpose") or structured.get("REMI", ""))
        customer = str(data.get("customer_reference") or "")
        reference = structured.get("EREF") or ("" if customer == "NONREF" else customer)
        bank = str(data.get("bank_reference") or "")
        transaction = str(data.get("transaction_reference") or "")
        line_id = bank or f"{transaction}/{len(used) + 1}"
        if line_id in used:
            line_id = f"{line_id}/{len(used) + 1}"
        used.add(line_id)
        return StatementLine(
            line_id=line_id,
            booked_on=date(booked.year, booked.month, booked.day),
            amount=amount,
            counterparty_name=name,
            counterparty_account=account,
            reference=reference,
            description=purpose or details.replace("\n", " ").strip(),
        )
