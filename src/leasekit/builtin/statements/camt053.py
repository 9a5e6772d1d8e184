"""The ``camt053`` statement parser: ISO 20022 Bank-to-Customer Statement XML.

No maintained Python library reads camt.053 as a whole (the packages on PyPI are young,
single-author projects), and the part a proof of income needs is small, so this parser reads
the XML itself with :mod:`xml.etree.ElementTree`. Uploads are untrusted, so the document goes
through defusedxml, which refuses DTDs and with them entity expansion ("billion laughs") and
external entities. Elements are found by local name, so every version of the message
(``camt.053.001.02`` to ``.13``) is read the same way. Errors name the element at fault by its
path (``Stmt/Ntry[3]/Amt``); malformed XML by its line.

One statement (``Stmt``) per file. Only booked entries (status ``BOOK``) are read; pending
ones do not move the balance. The opening balance is ``OPBD`` (else ``PRCD``), the closing
``CLBD``; ``TxsSummry`` becomes the statement's stated totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final
from xml.etree.ElementTree import Element, ParseError

from leasekit.errors import AmountError, ValidationError
from leasekit.money import Money
from leasekit.ports import AdapterContext, BankStatement, StatementLine, StatementTotals

__all__ = ["Camt053Parser"]

NAMESPACE_PREFIX: Final = "urn:iso:std:iso:20022:tech:xsd:camt.053."


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _Node:
    """An element with the path that leads to it, for errors that name it."""

    def __init__(self, element: Element, path: str) -> None:
        self.element = element
        self.path = path

    def all(self, name: str) -> Iterator[_Node]:
        matches = [child for child in self.element if _local(child.tag) == name]
        for index, child in enumerate(matches, start=1):
            suffix = f"[{index}]" if len(matches) > 1 else ""
            yield _Node(child, f"{self.path}/{name}{suffix}")

    def find(self, *names: str) -> _Node | None:
        node: _Node | None = self
        for name in names:
            node = next(node.all(name), None) if node is not None else None
        return node

    def need(self, *names: str) -> _Node:
        node = self.find(*names)
        if node is None:
            raise ValidationError.single(f"{self.path}/{'/'.join(names)}", "is missing")
        return node

    def text(self, *names: str) -> str:
        node = self.find(*names)
        return (node.element.text or "").strip() if node is not None else ""

    def fail(self, message: str) -> ValidationError:
        return ValidationError.single(self.path, message)

    def money(self, *names: str) -> Money:
        node = self.need(*names)
        code = node.element.get("Ccy", "")
        try:
            return Money(Decimal((node.element.text or "").strip()), code)
        except (InvalidOperation, AmountError) as exc:
            raise node.fail(f"{node.element.text!r} in {code!r} is not an amount: {exc}") from None

    def signed(self) -> Money:
        """The element's ``Amt``, negative when its ``CdtDbtInd`` is ``DBIT``."""
        amount = self.money("Amt")
        indicator = self.text("CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise self.need("CdtDbtInd").fail(f"{indicator!r} is not CRDT or DBIT")
        return -amount if indicator == "DBIT" else amount

    def day(self, *names: str) -> date:
        """A ``Dt`` or ``DtTm`` under the element *names* lead to, or an ISO date in it."""
        node = self.need(*names)
        text = node.text("Dt") or node.text("DtTm") or (node.element.text or "").strip()
        try:
            return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
        except ValueError:
            raise node.fail(f"{text!r} is not a date") from None

    def count(self, *names: str) -> int | None:
        node = self.find(*names)
        if node is None:
            return None
        text = (node.element.text or "").strip()
        if not text.isdigit():
            raise node.fail(f"{text!r} is not a count")
        return int(text)


def _read(content: bytes) -> Element:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root: Element = fromstring(content, forbid_dtd=True)
    except ParseError as exc:
        line, column = exc.position
        raise ValidationError.single(
            f"line {line}", f"not well-formed XML at column {column + 1}"
        ) from None
    except DefusedXmlException as exc:
        raise ValidationError.single("line 1", f"refused: {exc}") from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise ValidationError.single("line 1", f"not readable XML: {exc}") from None
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if _local(root.tag) != "Document" or not namespace.startswith(NAMESPACE_PREFIX):
        raise ValidationError.single(
            _local(root.tag), f"not a camt.053 document (namespace {namespace or 'none'!r})"
        )
    return root


def _balance(statement: _Node, *codes: str) -> Money:
    for code in codes:
        for balance in statement.all("Bal"):
            if balance.text("Tp", "CdOrPrtry", "Cd") == code:
                return balance.signed()
    raise ValidationError.single(
        f"{statement.path}/Bal", f"no balance of type {' or '.join(codes)}"
    )


def _booked(entry: _Node) -> bool:
    status = entry.text("Sts") or entry.text("Sts", "Cd")
    return status in ("", "BOOK")


def _party(details: _Node | None, role: str) -> tuple[str, str]:
    """The name and account of the debtor or creditor (*role*) of a transaction."""
    if details is None:
        return "", ""
    parties = details.find("RltdPties")
    if parties is None:
        return "", ""
    name = parties.text(role, "Nm") or parties.text(role, "Pty", "Nm")
    account = parties.find(f"{role}Acct", "Id")
    number = ""
    if account is not None:
        number = account.text("IBAN") or account.text("Othr", "Id")
    return name, number


def _line(entry: _Node, index: int) -> StatementLine:
    amount = entry.signed()
    details = entry.find("NtryDtls", "TxDtls")
    # Money in came from the debtor; money out went to the creditor.
    name, account = _party(details, "Dbtr" if amount.amount > 0 else "Cdtr")
    reference = ""
    if details is not None:
        reference = details.text("RmtInf", "Strd", "CdtrRefInf", "Ref") or details.text(
            "Refs", "EndToEndId"
        )
        if reference == "NOTPROVIDED":
            reference = ""
    unstructured = details.text("RmtInf", "Ustrd") if details is not None else ""
    line_id = (
        entry.text("AcctSvcrRef")
        or entry.text("NtryRef")
        or (details.text("Refs", "AcctSvcrRef") if details is not None else "")
        or f"Ntry{index}"
    )
    description = " ".join(part for part in (entry.text("AddtlNtryInf"), unstructured) if part)
    return StatementLine(
        line_id=line_id,
        booked_on=entry.day("BookgDt"),
        amount=amount,
        counterparty_name=name,
        counterparty_account=account,
        reference=reference or unstructured,
        description=description,
    )


def _totals(statement: _Node) -> StatementTotals | None:
    summary = statement.find("TxsSummry")
    if summary is None:
        return None

    def total(name: str) -> Money | None:
        node = summary.find(name, "Sum")
        if node is None:
            return None
        try:
            return Money(Decimal((node.element.text or "").strip()), currency)
        except (InvalidOperation, AmountError):
            raise node.fail(f"{node.element.text!r} is not an amount") from None

    currency = _balance(statement, "OPBD", "PRCD").currency
    return StatementTotals(
        entries=summary.count("TtlNtries", "NbOfNtries"),
        credits=total("TtlCdtNtries"),
        debits=total("TtlDbtNtries"),
        credit_entries=summary.count("TtlCdtNtries", "NbOfNtries"),
        debit_entries=summary.count("TtlDbtNtries", "NbOfNtries"),
    )


class Camt053Parser:
    """Reads one camt.053 statement."""

    @classmethod
    def from_context(cls, context: AdapterContext) -> Camt053Parser:
        return cls()

    def parse(self, content: bytes) -> BankStatement:
        root = _Node(_read(content), "Document")
        report = root.need("BkToCstmrStmt")
        statements = list(report.all("Stmt"))
        if len(statements) != 1:
            raise report.fail(f"holds {len(statements)} statements; upload one per file")
        statement = statements[0]
        opening = _balance(statement, "OPBD", "PRCD")
        closing = _balance(statement, "CLBD")
        entries = [entry for entry in statement.all("Ntry") if _booked(entry)]
        lines = [_line(entry, index) for index, entry in enumerate(entries, start=1)]
        account = statement.text("Acct", "Id", "IBAN") or statement.text("Acct", "Id", "Othr", "Id")
        if statement.find("FrToDt") is not None:
            start, end = statement.day("FrToDt", "FrDtTm"), statement.day("FrToDt", "ToDtTm")
        else:
            days = [line.booked_on for line in lines]
            start = min(days, default=_balance_day(statement, "OPBD", "PRCD"))
            end = max(days, default=_balance_day(statement, "CLBD"))
        try:
            return BankStatement(
                account, start, end, opening, closing, lines, stated_totals=_totals(statement)
            )
        except ValidationError as exc:
            raise exc.prefixed(statement.path) from None


def _balance_day(statement: _Node, *codes: str) -> date:
    for code in codes:
        for balance in statement.all("Bal"):
            if balance.text("Tp", "CdOrPrtry", "Cd") == code:
                return balance.day("Dt")
    raise ValidationError.single(f"{statement.path}/Bal", f"no {' or '.join(codes)} balance")
