"""SEPA Direct Debit core: pain.008 debit files out; pain.002 and camt.054 results in.

**Debit files** (:func:`debit_file`) are pain.008.001.02, written by ``sepaxml`` and validated
against the official XSD it bundles before they are returned. sepaxml groups the debits of a
file into one payment information block per sequence type (``FRST`` for the first collection
under a mandate, ``RCUR`` after that), and would name messages and blocks with random ids and
stamp them with the wall clock; here the file is deterministic instead:

- the message id (``GrpHdr/MsgId``) is the batch id,
- each block's ``PmtInfId`` is ``{batch_id}-FRST`` or ``{batch_id}-RCUR``,
- ``CreDtTm`` is *created_at* in UTC,
- each debit's ``EndToEndId`` is its ``item_id``, the key results are matched by.

A batch id therefore has at most 30 characters, an item id or mandate reference at most 35, all
from the SEPA character set (Latin letters, digits and ``/ - ? : ( ) . , ' +`` and space, not
starting or ending with ``/`` and without ``//``). Names and remittance text are transliterated
to that set by sepaxml (``Müller`` becomes ``Muller``); what does not fit after that is refused,
never cut; an item without remittance text is described as ``Mandate {mandate_reference}``
(sepaxml always writes one, and the schema wants it non-empty). Only EUR; the debtor's BIC may
be left empty (IBAN-only, written ``NOTPROVIDED``), the creditor's may not.

**Results** come back as a pain.002.001.03 payment status report (:func:`read_status_report`)
or a camt.054.001.02 debit/credit notification (:func:`read_notification`); both are written
too (:func:`status_report`, :func:`notification`), as a bank would, for the fake bank and tests.

- pain.002: a transaction's ``TxSts`` (else its block's ``PmtInfSts``, else ``GrpSts``) decides.
  ``ACSC`` (settlement completed) is collected and ``RJCT`` returned. ``ACTC``, ``ACCP``,
  ``ACSP``, ``ACWC`` and ``PDNG`` are not final (a debit accepted for processing can still be
  rejected or returned) and are skipped: the reader returns final results only. Any other code
  refuses the file. The batch id is ``OrgnlGrpInfAndSts/OrgnlMsgId`` (the message id of the
  debit file, which is the batch id); ``OrgnlPmtInfId`` names the block (``{batch_id}-RCUR``).
  A group or block rejected as a whole without naming its transactions is refused rather than
  read as "nothing happened".
- camt.054: booked (``BOOK``) entries only; entries whose bank transaction code names a family
  other than ``RDDT`` (direct debits) are someone else's business and skipped. A credit is a
  collected debit, a debit entry a returned one (its ``RtrInf/Rsn`` gives the reason). The batch
  id is ``TxDtls/Refs/MsgId``, else ``Refs/PmtInfId``, else empty: results are matched by
  ``EndToEndId`` in any case.

Return reasons are the ISO 20022 codes of SEPA R-transactions (:data:`RETURN_REASONS`); each
says what the company does next. An unknown code is read, with the action ``NOTIFY``.

Malformed content is refused whole with a :class:`~leasekit.errors.ValidationError` whose
``field`` is the element's path (``/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts[2]
/OrgnlEndToEndId``; repeatable elements always carry their index) or, for XML that does not
parse, ``line L, column C``. DTDs and entities are refused (defusedxml); the bytes must be UTF-8,
as the EPC rules require, and a declaration naming another encoding is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import at_02

from leasekit.errors import AmountError, FieldError, ValidationError
from leasekit.money import Money, currency
from leasekit.ports.bank import (
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    ReturnAction,
    whole,
)

__all__ = [
    "CAMT054_NAMESPACE",
    "PAIN002_NAMESPACE",
    "PAIN008_NAMESPACE",
    "RETURN_REASONS",
    "debit_file",
    "notification",
    "payment_information_id",
    "read_notification",
    "read_status_report",
    "reason_action",
    "status_report",
]

PAIN008_NAMESPACE: Final = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
PAIN002_NAMESPACE: Final = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
CAMT054_NAMESPACE: Final = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"

_RETRY, _STOP, _NOTIFY = ReturnAction.RETRY, ReturnAction.STOP_MANDATE, ReturnAction.NOTIFY

RETURN_REASONS: Final[Mapping[str, tuple[str, ReturnAction]]] = {
    "AC01": ("Account identifier incorrect (invalid IBAN)", _STOP),
    "AC04": ("Account closed", _STOP),
    "AC06": ("Account blocked", _STOP),
    "AG01": ("Transaction forbidden: direct debits not allowed on this account", _STOP),
    "AG02": ("Invalid bank operation code", _NOTIFY),
    "AM04": ("Insufficient funds", _RETRY),
    "AM05": ("Duplicate collection", _NOTIFY),
    "BE05": ("Creditor identifier incorrect", _NOTIFY),
    "FF01": ("Invalid file format", _NOTIFY),
    "MD01": ("No valid mandate", _STOP),
    "MD02": ("Mandate data missing or incorrect", _NOTIFY),
    "MD06": ("Refund requested by the debtor", _NOTIFY),
    "MD07": ("Debtor deceased", _STOP),
    "MS02": ("Refused by the debtor, reason not given", _NOTIFY),
    "MS03": ("Reason not given by the debtor's bank", _NOTIFY),
    "RC01": ("Bank identifier (BIC) incorrect", _NOTIFY),
    "RR01": ("Regulatory reason: debtor account or identification missing", _NOTIFY),
    "RR02": ("Regulatory reason: debtor name or address missing", _NOTIFY),
    "RR03": ("Regulatory reason: creditor name or address missing", _NOTIFY),
    "RR04": ("Regulatory reason", _NOTIFY),
    "SL01": ("Refused by a service of the debtor's bank (creditor blocked)", _STOP),
}
"""ISO 20022 reason code of a SEPA R-transaction → (what it means, what the company does).

Insufficient funds is tried again; an account that is wrong, closed, blocked or forbids debits,
a missing mandate, a deceased debtor or a creditor the debtor blocked end the mandate; refunds,
refusals and technical or regulatory rejections go to a person."""

_SEPA_TEXT: Final = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]*")
_REASON_CODE: Final = re.compile(r"[A-Z0-9]{4}")
_AMOUNT: Final = re.compile(r"[0-9]{1,18}(\.[0-9]{1,5})?")
_MAX_AMOUNT: Final = Decimal("999999999.99")
_TX_STATUSES: Final = frozenset({"ACTC", "ACCP", "ACSC", "ACSP", "ACWC", "PDNG", "RJCT"})
_GROUP_STATUSES: Final = _TX_STATUSES | {"RCVD", "PART"}
_ENTRY_STATUSES: Final = frozenset({"BOOK", "PDNG", "INFO"})
_REPEATABLE: Final = frozenset(
    {"OrgnlPmtInfAndSts", "TxInfAndSts", "StsRsnInf", "AddtlInf", "Ntfctn", "Ntry", "NtryDtls",
     "TxDtls"}
)  # fmt: skip


def reason_action(code: str) -> tuple[str | None, ReturnAction]:
    """The title and action of a SEPA reason *code*; an unknown code: no title, ``NOTIFY``."""
    known = RETURN_REASONS.get(code)
    return (known[0], known[1]) if known else (None, ReturnAction.NOTIFY)


def payment_information_id(batch: DebitBatch, item: DebitItem) -> str:
    """The ``PmtInfId`` of the block *item* is written in: ``{batch_id}-FRST`` or ``-RCUR``."""
    return f"{batch.batch_id}-{_sequence_type(item)}"


def _sequence_type(item: DebitItem) -> str:
    return "FRST" if item.first_collection else "RCUR"


# --- checking a batch -----------------------------------------------------------------------


def _identifier_problem(value: str, limit: int) -> str | None:
    if not value:
        return "is empty"
    if len(value) > limit:
        return f"has {len(value)} characters; at most {limit} are allowed"
    if not _SEPA_TEXT.fullmatch(value):
        bad = next(char for char in value if not _SEPA_TEXT.fullmatch(char))
        return f"{bad!r} is not in the SEPA character set"
    if value.startswith("/") or value.endswith("/") or "//" in value:
        return "may not start or end with '/' or hold '//'"
    if value != value.strip():
        return "may not start or end with a space"
    return None


def _text_problem(value: str, limit: int, *, required: bool) -> str | None:
    from text_unidecode import unidecode  # type: ignore[import-untyped]

    written: str = unidecode(value)
    if required and not written.strip():
        return "is empty"
    if len(written) > limit:
        return f"has {len(written)} characters when transliterated; at most {limit} are allowed"
    return None


def _cents(amount: Money) -> int | str:
    """The amount in whole cents, or what is wrong with it."""
    if amount.currency.code != "EUR":
        return f"SEPA debits are in EUR, not {amount.currency.code}"
    if not amount.is_quantized:
        return f"{amount.amount} has more decimal places than EUR allows"
    if amount.amount > _MAX_AMOUNT:
        return f"{amount.amount} is more than a SEPA debit can carry ({_MAX_AMOUNT})"
    return int(amount.amount.scaleb(2))


def _batch_errors(batch: DebitBatch) -> list[FieldError]:
    errors: list[FieldError] = []

    def check(field: str, problem: str | None) -> None:
        if problem:
            errors.append(FieldError(field, problem))

    check("batch_id", _identifier_problem(batch.batch_id, 30))
    check("creditor_name", _text_problem(batch.creditor_name, 70, required=True))
    if not stdnum_iban.is_valid(batch.creditor_account):
        errors.append(FieldError("creditor_account", f"{batch.creditor_account!r} is not an IBAN"))
    if not stdnum_bic.is_valid(batch.creditor_agent):
        errors.append(FieldError("creditor_agent", f"{batch.creditor_agent!r} is not a BIC"))
    if not at_02.is_valid(batch.creditor_id):
        errors.append(
            FieldError("creditor_id", f"{batch.creditor_id!r} is not a SEPA creditor identifier")
        )
    for index, item in enumerate(batch.items):
        where = f"items.{index}"
        check(f"{where}.item_id", _identifier_problem(item.item_id, 35))
        check(f"{where}.debtor_name", _text_problem(item.debtor_name, 70, required=True))
        if not stdnum_iban.is_valid(item.debtor_account):
            errors.append(
                FieldError(f"{where}.debtor_account", f"{item.debtor_account!r} is not an IBAN")
            )
        if item.debtor_agent and not stdnum_bic.is_valid(item.debtor_agent):
            errors.append(
                FieldError(f"{where}.debtor_agent", f"{item.debtor_agent!r} is not a BIC")
            )
        cents = _cents(item.amount)
        if isinstance(cents, str):
            errors.append(FieldError(f"{where}.amount", cents))
        check(f"{where}.mandate_reference", _identifier_problem(item.mandate_reference, 35))
        if item.mandate_signed_on is None:
            errors.append(FieldError(f"{where}.mandate_signed_on", "a SEPA debit needs it"))
        elif item.mandate_signed_on > batch.collection_date:
            errors.append(
                FieldError(
                    f"{where}.mandate_signed_on",
                    f"{item.mandate_signed_on} is after the collection date "
                    f"{batch.collection_date}",
                )
            )
        check(f"{where}.remittance", _text_problem(item.remittance, 140, required=False))
    return errors


def _timestamp(created_at: datetime) -> str:
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise ValidationError.single("created_at", f"{created_at!r} has no time zone")
    return created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the debit file ---------------------------------------------------------------------------


def _writer(batch: DebitBatch, created: str) -> Any:
    from sepaxml import SepaDD  # type: ignore[import-untyped]

    class DeterministicSepaDD(SepaDD):  # type: ignore[misc]
        """sepaxml's writer with the batch's ids and the given time instead of random ids and
        the wall clock."""

        def __init__(self, config: dict[str, object]) -> None:
            super().__init__(config)
            header = self._xml.find("CstmrDrctDbtInitn/GrpHdr")
            header.find("MsgId").text = self.msg_id = batch.batch_id
            header.find("CreDtTm").text = created

        def _finalize_batch(self) -> None:
            super()._finalize_batch()
            for block in self._xml.iter("PmtInf"):
                sequence = block.find("PmtTpInf/SeqTp").text
                block.find("PmtInfId").text = f"{batch.batch_id}-{sequence}"

    return DeterministicSepaDD(
        {
            "name": batch.creditor_name,
            "IBAN": stdnum_iban.compact(batch.creditor_account),
            "BIC": stdnum_bic.compact(batch.creditor_agent),
            "batch": True,
            "creditor_id": at_02.compact(batch.creditor_id),
            "currency": "EUR",
        }
    )


def debit_file(batch: DebitBatch, *, created_at: datetime) -> bytes:
    """*batch* as a SEPA core direct debit file (pain.008.001.02), checked against its XSD.

    Inputs SEPA cannot carry are refused with every problem named by its field
    (``items.3.debtor_account``); nothing is shortened or rounded. sepaxml builds the document
    whole, so the items are read into memory first.
    """
    created = _timestamp(created_at)
    batch = whole(batch)
    errors = _batch_errors(batch)
    if errors:
        raise ValidationError(errors)
    writer = _writer(batch, created)
    for item in batch.items:
        assert item.mandate_signed_on is not None  # checked above
        payment: dict[str, object] = {
            "name": item.debtor_name,
            "IBAN": stdnum_iban.compact(item.debtor_account),
            "amount": int(item.amount.amount.scaleb(2)),
            "type": _sequence_type(item),
            "collection_date": batch.collection_date,
            "mandate_id": item.mandate_reference,
            "mandate_date": item.mandate_signed_on,
            "description": item.remittance or f"Mandate {item.mandate_reference}",
            "endtoend_id": item.item_id,
        }
        if item.debtor_agent:
            payment["BIC"] = stdnum_bic.compact(item.debtor_agent)
        writer.add_payment(payment)
    from sepaxml.validation import ValidationError as SchemaError  # type: ignore[import-untyped]

    try:
        content: bytes = writer.export(validate=True)
    except SchemaError as exc:  # inputs the checks above let through; never expected
        cause = exc.__cause__
        reason = getattr(cause, "reason", None) or str(exc)
        at = getattr(cause, "path", None) or "the file"
        raise ValidationError.single("batch", f"pain.008 invalid at {at}: {reason}") from exc
    return content


# --- writing results ------------------------------------------------------------------------


def _returned_errors(batch: DebitBatch, returned: Mapping[str, str]) -> None:
    ids = {item.item_id for item in batch.items}
    errors = [
        FieldError(f"items.{index}.amount", f"{item.amount} is finer than its currency allows")
        for index, item in enumerate(batch.items)
        if not item.amount.is_quantized
    ]
    for item_id, code in returned.items():
        if item_id not in ids:
            errors.append(FieldError(f"returned.{item_id}", "is not an item of the batch"))
        elif not _REASON_CODE.fullmatch(code):
            errors.append(FieldError(f"returned.{item_id}", f"{code!r} is not a reason code"))
    if errors:
        raise ValidationError(errors)


def _add(parent: Element, tag: str, text: str | None = None, **attributes: str) -> Element:
    element = SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _document(namespace: str) -> Element:
    return Element("Document", {"xmlns": namespace})


def _serialize(root: Element) -> bytes:
    declaration = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return (declaration + tostring(root, encoding="unicode")).encode("utf-8")


def _blocks(batch: DebitBatch) -> dict[str, list[DebitItem]]:
    blocks: dict[str, list[DebitItem]] = {}
    for item in batch.items:
        blocks.setdefault(payment_information_id(batch, item), []).append(item)
    return blocks


def _text(amount: Money) -> str:
    """*amount* written with its currency's decimals (``100.00``)."""
    return str(amount.amount.quantize(amount.currency.quantum))


def _total(items: list[DebitItem]) -> str:
    first, *rest = (item.amount for item in items)
    return _text(sum(rest, first))


def _status(count: int, rejected: int) -> str:
    return "ACSC" if not rejected else "RJCT" if rejected == count else "PART"


def status_report(batch: DebitBatch, returned: Mapping[str, str], *, created_at: datetime) -> bytes:
    """The pain.002.001.03 report a creditor's bank sends for *batch*: the items in *returned*
    (item id → ISO 20022 reason code) rejected (``RJCT``), the others settled (``ACSC``)."""
    created = _timestamp(created_at)
    batch = whole(batch)
    count = len(tuple(batch.items))
    _returned_errors(batch, returned)
    root = _document(PAIN002_NAMESPACE)
    report = _add(root, "CstmrPmtStsRpt")
    header = _add(report, "GrpHdr")
    _add(header, "MsgId", f"STS-{batch.batch_id}")
    _add(header, "CreDtTm", created)
    group = _add(report, "OrgnlGrpInfAndSts")
    _add(group, "OrgnlMsgId", batch.batch_id)
    _add(group, "OrgnlMsgNmId", "pain.008.001.02")
    _add(group, "OrgnlNbOfTxs", str(count))
    _add(group, "OrgnlCtrlSum", _total(list(batch.items)))
    _add(group, "GrpSts", _status(count, len(returned)))
    for block_id, items in _blocks(batch).items():
        block = _add(report, "OrgnlPmtInfAndSts")
        _add(block, "OrgnlPmtInfId", block_id)
        _add(block, "OrgnlNbOfTxs", str(len(items)))
        _add(block, "OrgnlCtrlSum", _total(items))
        rejected = sum(1 for item in items if item.item_id in returned)
        _add(block, "PmtInfSts", _status(len(items), rejected))
        for index, item in enumerate(items, start=1):
            transaction = _add(block, "TxInfAndSts")
            _add(transaction, "StsId", f"{index}")
            _add(transaction, "OrgnlEndToEndId", item.item_id)
            code = returned.get(item.item_id)
            _add(transaction, "TxSts", "ACSC" if code is None else "RJCT")
            if code is not None:
                reason = _add(transaction, "StsRsnInf")
                _add(_add(reason, "Rsn"), "Cd", code)
                title = reason_action(code)[0]
                if title:
                    _add(reason, "AddtlInf", title[:105])
            reference = _add(transaction, "OrgnlTxRef")
            _add(
                _add(reference, "Amt"),
                "InstdAmt",
                _text(item.amount),
                Ccy=item.amount.currency.code,
            )
            _add(reference, "ReqdColltnDt", batch.collection_date.isoformat())
            mandate = _add(reference, "MndtRltdInf")
            _add(mandate, "MndtId", item.mandate_reference)
    return _serialize(root)


def notification(batch: DebitBatch, returned: Mapping[str, str], *, created_at: datetime) -> bytes:
    """The camt.054.001.02 notification a creditor's bank sends for *batch*: a credit entry for
    each collected debit, a debit entry with its return reason for each item in *returned*."""
    created = _timestamp(created_at)
    _returned_errors(batch, returned)
    root = _document(CAMT054_NAMESPACE)
    message = _add(root, "BkToCstmrDbtCdtNtfctn")
    header = _add(message, "GrpHdr")
    _add(header, "MsgId", f"NTF-{batch.batch_id}")
    _add(header, "CreDtTm", created)
    notice = _add(message, "Ntfctn")
    _add(notice, "Id", f"NTF-{batch.batch_id}")
    _add(notice, "CreDtTm", created)
    _add(_add(_add(notice, "Acct"), "Id"), "IBAN", stdnum_iban.compact(batch.creditor_account))
    day = batch.collection_date.isoformat()
    for item in batch.items:
        code = returned.get(item.item_id)
        amount = _text(item.amount)
        ccy = item.amount.currency.code
        entry = _add(notice, "Ntry")
        _add(entry, "Amt", amount, Ccy=ccy)
        _add(entry, "CdtDbtInd", "CRDT" if code is None else "DBIT")
        _add(entry, "Sts", "BOOK")
        _add(_add(entry, "BookgDt"), "Dt", day)
        _add(_add(entry, "ValDt"), "Dt", day)
        domain = _add(_add(entry, "BkTxCd"), "Domn")
        _add(domain, "Cd", "PMNT")
        family = _add(domain, "Fmly")
        _add(family, "Cd", "RDDT")
        _add(family, "SubFmlyCd", "ESDD" if code is None else "UPDD")
        details = _add(_add(entry, "NtryDtls"), "TxDtls")
        references = _add(details, "Refs")
        _add(references, "MsgId", batch.batch_id)
        _add(references, "PmtInfId", payment_information_id(batch, item))
        _add(references, "EndToEndId", item.item_id)
        _add(references, "MndtId", item.mandate_reference)
        _add(_add(_add(details, "AmtDtls"), "InstdAmt"), "Amt", amount, Ccy=ccy)
        parties = _add(details, "RltdPties")
        _add(_add(parties, "Dbtr"), "Nm", item.debtor_name)
        _add(
            _add(_add(parties, "DbtrAcct"), "Id"), "IBAN", stdnum_iban.compact(item.debtor_account)
        )
        if item.remittance:
            _add(_add(details, "RmtInf"), "Ustrd", item.remittance)
        if code is not None:
            information = _add(details, "RtrInf")
            _add(_add(information, "Rsn"), "Cd", code)
            title = reason_action(code)[0]
            if title:
                _add(information, "AddtlInf", title[:105])
    return _serialize(root)


# --- reading results ------------------------------------------------------------------------


class _Node:
    """An element and its path from the root, for errors that name it."""

    def __init__(self, element: Element, path: str, namespace: str) -> None:
        self.element = element
        self.path = path
        self.namespace = namespace

    def all(self, name: str) -> Iterator[_Node]:
        tag = f"{{{self.namespace}}}{name}"
        matches = [child for child in self.element if child.tag == tag]
        for index, child in enumerate(matches, start=1):
            step = f"{name}[{index}]" if name in _REPEATABLE else name
            yield _Node(child, f"{self.path}/{step}", self.namespace)

    def find(self, *names: str) -> _Node | None:
        node: _Node | None = self
        for name in names:
            node = next(node.all(name), None) if node is not None else None
        return node

    def step(self, *names: str) -> str:
        """The path to *names* under this element (first of each repeatable)."""
        steps = [f"{name}[1]" if name in _REPEATABLE else name for name in names]
        return "/".join([self.path, *steps])

    def need(self, *names: str) -> _Node:
        node = self.find(*names)
        if node is None:
            raise ValidationError.single(self.step(*names), "is missing")
        return node

    @property
    def value(self) -> str:
        return (self.element.text or "").strip()

    def text(self, *names: str) -> str:
        node = self.find(*names)
        return node.value if node is not None else ""

    def required(self, *names: str) -> str:
        node = self.need(*names)
        if not node.value:
            raise node.fail("is empty")
        return node.value

    def fail(self, message: str) -> ValidationError:
        return ValidationError.single(self.path, message)

    def money(self) -> Money:
        text = self.value
        code = self.element.get("Ccy")
        if code is None:
            raise ValidationError.single(f"{self.path}/@Ccy", "is missing")
        try:
            unit = currency(code)
        except AmountError:
            raise ValidationError.single(
                f"{self.path}/@Ccy", f"{code!r} is not a known currency"
            ) from None
        if not _AMOUNT.fullmatch(text):
            raise self.fail(f"{text!r} is not an amount")
        amount = Money(Decimal(text), unit)
        if not amount.is_quantized:
            raise self.fail(f"{text} has more decimal places than {unit.code} allows")
        if not amount.amount:
            raise self.fail("is zero")
        return amount


def _line_column(content: bytes, offset: int) -> str:
    line = content.count(b"\n", 0, offset) + 1
    column = offset - (content.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


_DECLARATION: Final = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _root(content: bytes, namespace: str, message: str) -> _Node:
    """The ``Document`` of *content*, checked to be a *message* in *namespace*."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if not content.strip():
        raise ValidationError.single("line 1, column 1", "the file is empty")
    body = content.removeprefix(b"\xef\xbb\xbf")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError.single(
            _line_column(body, exc.start), f"byte 0x{body[exc.start]:02x} is not UTF-8"
        ) from None
    declared = _DECLARATION.match(body.lstrip())
    if declared and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ValidationError.single(
            "line 1, column 1",
            f"declares encoding {declared.group(1).decode()!r}; SEPA files are UTF-8",
        )
    try:
        element: Element = fromstring(body, forbid_dtd=True)
    except ParseError as exc:
        line, column = exc.position
        raise ValidationError.single(
            f"line {line}, column {column + 1}", f"not well-formed XML: {str(exc).split(':')[0]}"
        ) from None
    except DefusedXmlException:
        found = [at for at in (body.find(b"<!DOCTYPE"), body.find(b"<!ENTITY")) if at >= 0]
        offset = min(found, default=0)
        raise ValidationError.single(
            _line_column(body, offset), "document type declarations and entities are refused"
        ) from None
    tag_namespace, _, local = element.tag[1:].rpartition("}")
    if not element.tag.startswith("{"):
        tag_namespace, local = "", element.tag
    if local != "Document":
        raise ValidationError.single(f"/{local}", f"not a {message} document: no Document root")
    if tag_namespace != namespace:
        raise ValidationError.single(
            "/Document", f"namespace {tag_namespace or 'none'!r} is not {namespace!r}"
        )
    return _Node(element, "/Document", namespace)


def _reason(node: _Node, *, inherited: tuple[str, str] | None) -> tuple[str, str] | None:
    """The (code, text) of the first ``StsRsnInf`` or ``RtrInf`` under *node*."""
    code_node = node.find("Rsn", "Cd") or node.find("Rsn", "Prtry")
    if code_node is None or not code_node.value:
        return inherited
    text = " ".join(part.value for part in node.all("AddtlInf") if part.value)
    return code_node.value, text


def _result(
    batch_id: str, item_id: str, collected: bool, amount: Money, reason: tuple[str, str] | None
) -> DebitReturn:
    if collected:
        return DebitReturn(batch_id, item_id, DebitOutcome.COLLECTED, amount)
    assert reason is not None
    code, text = reason
    title, action = reason_action(code)
    return DebitReturn(
        batch_id, item_id, DebitOutcome.RETURNED, amount, code, text or title, action
    )


def _collect(
    errors: list[FieldError], attempt: Callable[[], DebitReturn | None]
) -> DebitReturn | None:
    try:
        return attempt()
    except ValidationError as exc:
        errors.extend(exc.errors)
        return None


def _finish(errors: list[FieldError], results: list[DebitReturn | None]) -> list[DebitReturn]:
    if errors:
        raise ValidationError(errors)
    return [result for result in results if result is not None]


def _status_code(node: _Node, name: str, known: frozenset[str]) -> str | None:
    found = node.find(name)
    if found is None:
        return None
    if found.value not in known:
        raise found.fail(f"{found.value!r} is not a status code of pain.002.001.03")
    return found.value


def _transaction(
    transaction: _Node,
    batch_id: str,
    block_status: str | None,
    block_reason: tuple[str, str] | None,
    seen: set[str],
) -> DebitReturn | None:
    item_id = transaction.required("OrgnlEndToEndId")
    if item_id in seen:
        raise transaction.need("OrgnlEndToEndId").fail(f"{item_id!r} repeats")
    seen.add(item_id)
    # A group's or block's PART or RCVD says nothing about one transaction.
    inherited = block_status if block_status in _TX_STATUSES else None
    status = _status_code(transaction, "TxSts", _TX_STATUSES) or inherited
    if status is None:
        raise ValidationError.single(transaction.step("TxSts"), "is missing")
    if status not in ("ACSC", "RJCT"):
        return None  # not final
    amount = transaction.need("OrgnlTxRef", "Amt", "InstdAmt").money()
    reason = None
    if status == "RJCT":
        found = transaction.find("StsRsnInf")
        reason = _reason(found, inherited=block_reason) if found else block_reason
        if reason is None:
            raise ValidationError.single(
                transaction.step("StsRsnInf", "Rsn", "Cd"), "a rejected debit needs it"
            )
    return _result(batch_id, item_id, status == "ACSC", amount, reason)


def read_status_report(content: bytes) -> list[DebitReturn]:
    """The final results in a pain.002.001.03 payment status report: ``ACSC`` collected,
    ``RJCT`` returned; statuses that are not final are skipped (see the module's notes)."""
    report = _root(content, PAIN002_NAMESPACE, "pain.002.001.03").need("CstmrPmtStsRpt")
    report.need("GrpHdr").required("MsgId")
    group = report.need("OrgnlGrpInfAndSts")
    batch_id = group.required("OrgnlMsgId")
    group_status = _status_code(group, "GrpSts", _GROUP_STATUSES)
    found = group.find("StsRsnInf")
    group_reason = _reason(found, inherited=None) if found else None
    blocks = list(report.all("OrgnlPmtInfAndSts"))
    if group_status == "RJCT" and not blocks:
        raise group.need("GrpSts").fail("rejects the whole file without naming its debits")
    errors: list[FieldError] = []
    results: list[DebitReturn | None] = []
    seen: set[str] = set()
    for block in blocks:
        try:
            block.required("OrgnlPmtInfId")
            block_status = _status_code(block, "PmtInfSts", _GROUP_STATUSES) or group_status
            found = block.find("StsRsnInf")
            block_reason = _reason(found, inherited=group_reason) if found else group_reason
        except ValidationError as exc:
            errors.extend(exc.errors)
            continue
        transactions = list(block.all("TxInfAndSts"))
        if block_status == "RJCT" and not transactions:
            errors.append(FieldError(f"{block.path}/PmtInfSts", "rejects the block without "
                                     "naming its debits"))  # fmt: skip

        for transaction in transactions:
            results.append(
                _collect(
                    errors,
                    partial(_transaction, transaction, batch_id, block_status, block_reason, seen),
                )
            )
    return _finish(errors, results)


def read_notification(content: bytes) -> list[DebitReturn]:
    """The direct debit results in a camt.054.001.02 notification: booked credits collected,
    booked debits returned (see the module's notes for what is skipped)."""
    message = _root(content, CAMT054_NAMESPACE, "camt.054.001.02").need("BkToCstmrDbtCdtNtfctn")
    message.need("GrpHdr").required("MsgId")
    notices = list(message.all("Ntfctn"))
    if not notices:
        raise ValidationError.single(message.step("Ntfctn"), "is missing")
    errors: list[FieldError] = []
    results: list[DebitReturn | None] = []
    seen: set[str] = set()

    def read(entry: _Node, details: _Node, single: bool) -> DebitReturn | None:
        references = details.need("Refs")
        item_id = references.required("EndToEndId")
        if item_id in seen:
            raise references.need("EndToEndId").fail(f"{item_id!r} repeats")
        seen.add(item_id)
        amount_node = details.find("AmtDtls", "InstdAmt", "Amt") or details.find(
            "AmtDtls", "TxAmt", "Amt"
        )
        if amount_node is None:
            if not single:
                raise ValidationError.single(details.step("AmtDtls", "InstdAmt", "Amt"),
                                             "is missing")  # fmt: skip
            amount_node = entry.need("Amt")
        amount = amount_node.money()
        batch_id = references.text("MsgId") or references.text("PmtInfId")
        collected = entry.text("CdtDbtInd") == "CRDT"
        reason = None
        if not collected:
            information = details.find("RtrInf")
            reason = _reason(information, inherited=None) if information else None
            if reason is None:
                raise ValidationError.single(
                    details.step("RtrInf", "Rsn", "Cd"), "a returned debit needs it"
                )
        return _result(batch_id, item_id, collected, amount, reason)

    for notice in notices:
        for entry in notice.all("Ntry"):
            try:
                status = entry.required("Sts")
                if status not in _ENTRY_STATUSES:
                    raise entry.need("Sts").fail(f"{status!r} is not an entry status")
                indicator = entry.required("CdtDbtInd")
                if indicator not in ("CRDT", "DBIT"):
                    raise entry.need("CdtDbtInd").fail(f"{indicator!r} is not CRDT or DBIT")
                entry.need("Amt").money()
            except ValidationError as exc:
                errors.extend(exc.errors)
                continue
            family = entry.text("BkTxCd", "Domn", "Fmly", "Cd")
            if status != "BOOK" or (family and family != "RDDT"):
                continue
            transactions = [d for block in entry.all("NtryDtls") for d in block.all("TxDtls")]
            if not transactions:
                errors.append(FieldError(entry.step("NtryDtls", "TxDtls"), "is missing"))
            for details in transactions:
                single = len(transactions) == 1
                results.append(_collect(errors, partial(read, entry, details, single)))
    return _finish(errors, results)
