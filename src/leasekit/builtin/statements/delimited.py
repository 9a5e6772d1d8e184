"""The ``csv`` statement parser: a bank's CSV export, read through a column mapping.

Banks export CSV each in their own way, so the mapping comes from the adapter options
(``LEASEKIT_ADAPTER_OPTIONS__STATEMENT_PARSER__<NAME>``); every name is a column header:

======================  ==========  ==========================================================
option                  default     meaning
======================  ==========  ==========================================================
``currency``            (required)  ISO code of every amount
``date_column``         ``date``    booking date
``amount_column``       ``amount``  signed amount (negative: money out)
``debit_column``                    money out, instead of ``amount_column`` (with ``credit``)
``credit_column``                   money in, instead of ``amount_column`` (with ``debit``)
``balance_column``                  balance after the booking
``counterparty_column``             counterparty's name
``counterparty_account_column``     counterparty's account
``reference_column``                payment reference
``description_column``              booking text
``id_column``                       the bank's id of the booking
``account_column``                  the account the statement is for
``account``                         the account, when no column names it
``opening_balance``     ``0``       used only without a balance column
``date_format``         ``%Y-%m-%d``  a ``strptime`` format
``decimal_separator``   ``.``       ``.`` or ``,``
``thousands_separator``             e.g. ``,``, ``.``, ``'`` or a space; empty for none
``delimiter``           ``,``       one character; ``tab`` for a tab
``encoding``            ``utf-8``   a byte-order mark is dropped whatever the encoding
======================  ==========  ==========================================================

With a balance column the opening balance is the first line's balance less its amount, and
the closing balance the last line's; without one, the balances are unknown and the statement
starts from ``opening_balance``. Lines listed newest first (first date later than the last)
are put in date order. Without an id column a line's id is made from its content, so the same
booking exported twice gets the same id.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from leasekit.builtin.statements._common import decode
from leasekit.errors import AmountError, ConfigurationError, FieldError, ValidationError
from leasekit.money import Currency, Money, currency
from leasekit.ports import AdapterContext, BankStatement, StatementLine

__all__ = ["CsvLayout", "CsvStatementParser"]

MAX_ERRORS: Final = 20
"""A file wrong throughout is reported by its first errors, not by thousands."""

_COLUMNS: Final = (
    "date",
    "amount",
    "debit",
    "credit",
    "balance",
    "counterparty",
    "counterparty_account",
    "reference",
    "description",
    "id",
    "account",
)


def _option_error(name: str, message: str) -> ConfigurationError:
    return ConfigurationError(
        f"LEASEKIT_ADAPTER_OPTIONS__STATEMENT_PARSER__{name.upper()}: {message}"
    )


@attrs.frozen
class CsvLayout:
    """How one bank lays out its CSV export."""

    currency: Currency
    columns: Mapping[str, str]
    """Role (``date``, ``amount``, ...) to column header, for the roles the file has."""
    date_format: str = "%Y-%m-%d"
    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ","
    encoding: str = "utf-8"
    account: str = ""
    opening_balance: Decimal = Decimal(0)

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> CsvLayout:
        """The layout the adapter options describe; a ConfigurationError names the option."""
        if "currency" not in options:
            raise _option_error("currency", "is required (the ISO code of the amounts)")
        try:
            cur = currency(options["currency"])
        except AmountError as exc:
            raise _option_error("currency", str(exc)) from None
        columns = {
            role: options.get(f"{role}_column", role if role in ("date", "amount") else "")
            for role in _COLUMNS
        }
        if columns["debit"] or columns["credit"]:
            if not (columns["debit"] and columns["credit"]):
                raise _option_error("debit_column", "debit and credit columns go together")
            columns["amount"] = ""
        columns = {role: header.strip() for role, header in columns.items() if header.strip()}
        decimal_separator = options.get("decimal_separator", ".")
        thousands = options.get("thousands_separator", "")
        if decimal_separator not in (".", ","):
            raise _option_error("decimal_separator", f"{decimal_separator!r} is not . or ,")
        if thousands == decimal_separator:
            raise _option_error("thousands_separator", "is the decimal separator")
        delimiter = options.get("delimiter", ",")
        delimiter = "\t" if delimiter.lower() == "tab" else delimiter
        if len(delimiter) != 1:
            raise _option_error("delimiter", f"{delimiter!r} is not one character")
        try:
            opening = Decimal(options.get("opening_balance", "0"))
        except InvalidOperation:
            raise _option_error("opening_balance", "is not a number") from None
        return cls(
            currency=cur,
            columns=columns,
            date_format=options.get("date_format", "%Y-%m-%d"),
            decimal_separator=decimal_separator,
            thousands_separator=thousands,
            delimiter=delimiter,
            encoding=options.get("encoding", "utf-8"),
            account=options.get("account", ""),
            opening_balance=opening,
        )

    def amount(self, text: str) -> Decimal:
        """*text* as an exact number; ``ValueError`` when it is not one."""
        cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
        if self.thousands_separator:
            cleaned = cleaned.replace(self.thousands_separator, "")
        if self.decimal_separator == ",":
            cleaned = cleaned.replace(",", ".")
        if cleaned.endswith("-"):  # 12.50- as some banks write a debit
            cleaned = "-" + cleaned[:-1]
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not an amount") from None
        if not value.is_finite():
            raise ValueError(f"{text!r} is not an amount")
        return value


class _Row:
    """One data row, read field by field; errors are collected with the row's line number."""

    def __init__(self, layout: CsvLayout, record: Mapping[str, str | None], line: int) -> None:
        self.layout = layout
        self.record = record
        self.line = line
        self.errors: list[FieldError] = []

    def text(self, role: str) -> str:
        header = self.layout.columns.get(role)
        return (self.record.get(header) or "").strip() if header else ""

    def fault(self, role: str, message: str) -> None:
        column = self.layout.columns.get(role, role)
        self.errors.append(FieldError(f"line {self.line}", f"column {column!r}: {message}"))

    def day(self) -> date | None:
        text = self.text("date")
        try:
            return datetime.strptime(text, self.layout.date_format).date()
        except ValueError:
            self.fault("date", f"{text!r} is not a date as {self.layout.date_format}")
            return None

    def money(self, role: str, *, required: bool) -> Money | None:
        text = self.text(role)
        if not text:
            if required:
                self.fault(role, "is empty")
            return None
        try:
            return Money(self.layout.amount(text), self.layout.currency)
        except (ValueError, AmountError) as exc:
            self.fault(role, str(exc))
            return None

    def signed_amount(self) -> Money | None:
        if "amount" in self.layout.columns:
            return self.money("amount", required=True)
        debit = self.money("debit", required=False)
        credit = self.money("credit", required=False)
        if debit is None and credit is None:
            if not self.errors:
                self.fault("debit", "and the credit column are both empty")
            return None
        zero = Money.zero(self.layout.currency)
        out = debit or zero
        return (credit or zero) - Money(abs(out.amount), out.currency)


def _line_id(fields: tuple[str, ...], seen: Counter[tuple[str, ...]]) -> str:
    seen[fields] += 1
    digest = hashlib.sha256("\x1f".join((*fields, str(seen[fields]))).encode()).hexdigest()
    return f"csv-{digest[:16]}"


class CsvStatementParser:
    """Reads a CSV export through a :class:`CsvLayout`."""

    def __init__(self, layout: CsvLayout) -> None:
        self.layout = layout

    @classmethod
    def from_context(cls, context: AdapterContext) -> CsvStatementParser:
        return cls(CsvLayout.from_options(context.options))

    def parse(self, content: bytes) -> BankStatement:
        text = decode(content, self.layout.encoding)
        reader = csv.DictReader(text.splitlines(keepends=True), delimiter=self.layout.delimiter)
        try:
            headers = [header.strip() for header in reader.fieldnames or ()]
        except csv.Error as exc:
            raise ValidationError.single("line 1", f"not CSV: {exc}") from None
        reader.fieldnames = headers
        missing = [header for header in self.layout.columns.values() if header not in headers]
        if missing:
            raise ValidationError.single(
                "line 1",
                f"no column {', '.join(map(repr, missing))} in the header "
                f"(columns: {', '.join(map(repr, headers)) or 'none'})",
            )
        lines, errors, account = self._lines(reader)
        if errors:
            raise ValidationError(errors[:MAX_ERRORS])
        if not lines:
            raise ValidationError.single("line 2", "the file has no bookings")
        return self._statement(lines, account)

    def _lines(
        self, reader: csv.DictReader[str]
    ) -> tuple[list[StatementLine], list[FieldError], str]:
        lines: list[StatementLine] = []
        errors: list[FieldError] = []
        seen: Counter[tuple[str, ...]] = Counter()
        account = self.layout.account
        try:
            for record in reader:
                row = _Row(self.layout, record, reader.line_num)
                blank = not any(isinstance(v, str) and v.strip() for v in record.values())
                if blank and None not in record:
                    continue
                if None in record:
                    row.errors.append(
                        FieldError(f"line {reader.line_num}", "has more fields than the header")
                    )
                day, amount = row.day(), row.signed_amount()
                balance = row.money("balance", required="balance" in self.layout.columns)
                account = row.text("account") or account
                if row.errors or day is None or amount is None:
                    errors.extend(row.errors)
                    if len(errors) >= MAX_ERRORS:
                        break
                    continue
                fields = (
                    day.isoformat(),
                    str(amount.amount),
                    row.text("counterparty"),
                    row.text("counterparty_account"),
                    row.text("reference"),
                    row.text("description"),
                )
                line_id = row.text("id") or _line_id(fields, seen)
                lines.append(
                    StatementLine(
                        line_id=line_id,
                        booked_on=day,
                        amount=amount,
                        counterparty_name=row.text("counterparty"),
                        counterparty_account=row.text("counterparty_account"),
                        reference=row.text("reference"),
                        description=row.text("description"),
                        balance=balance,
                    )
                )
        except csv.Error as exc:
            errors.append(FieldError(f"line {reader.line_num}", f"not CSV: {exc}"))
        return lines, errors, account

    def _statement(self, lines: list[StatementLine], account: str) -> BankStatement:
        if lines[0].booked_on > lines[-1].booked_on:
            lines.reverse()
        first, last = lines[0], lines[-1]
        if first.balance is not None and last.balance is not None:
            opening, closing = first.balance - first.amount, last.balance
        else:
            opening = Money(self.layout.opening_balance, self.layout.currency)
            closing = sum((line.amount for line in lines), opening)
        days = [line.booked_on for line in lines]
        return BankStatement(account, min(days), max(days), opening, closing, lines)
