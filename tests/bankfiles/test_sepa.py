"""SEPA direct debits: pain.008 files that pass the official schema, pain.002 and camt.054
results read back to what was written, and malformed results refused whole with their path."""

from __future__ import annotations

import contextlib
import functools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import sepaxml  # type: ignore[import-untyped]
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban

from leasekit.bankfiles import sepa
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports.bank import DebitBatch, DebitItem, DebitOutcome, DebitReturn, ReturnAction

CREATED = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)
PAIN008 = "{urn:iso:std:iso:20022:tech:xsd:pain.008.001.02}"


@functools.cache
def schema() -> Any:
    return xmlschema.XMLSchema(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd")


def de_iban(digits: str) -> str:
    return "DE" + stdnum_iban.calc_check_digits("DE00" + digits) + digits


def item(item_id: str = "E2E-1", **changes: Any) -> DebitItem:
    values: dict[str, Any] = {
        "item_id": item_id,
        "debtor_name": "Jürgen Müller",
        "debtor_account": "DE89 3704 0044 0532 0130 00",
        "amount": Money("12.34", "EUR"),
        "mandate_reference": "M-" + item_id,
        "remittance": "Lease 42, December",
        "debtor_agent": "COBADEFFXXX",
        "mandate_signed_on": date(2024, 1, 15),
    }
    values.update(changes)
    return DebitItem(**values)


def batch(*items: DebitItem, **changes: Any) -> DebitBatch:
    values: dict[str, Any] = {
        "batch_id": "B-2026-12-10",
        "creditor_name": "Acme Leasing GmbH",
        "creditor_account": "DE02120300000000202051",
        "collection_date": date(2026, 12, 10),
        "items": items or (item(),),
        "creditor_id": "DE98ZZZ09999999999",
        "creditor_agent": "BYLADEM1001",
    }
    values.update(changes)
    return DebitBatch(**values)


def three() -> DebitBatch:
    return batch(
        item("E2E-1"),
        item("E2E-2", amount=Money("100", "EUR"), first_collection=True),
        item("E2E-3", amount=Money("7.05", "EUR"), debtor_agent="", remittance=""),
    )


def refused(read: Any, content: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        read(content)
    return [(error.field, error.message) for error in caught.value.errors]


def where(read: Any, content: bytes) -> list[str]:
    return [field for field, _ in refused(read, content)]


# --- strategies ---------------------------------------------------------------------------

SEPA_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-?:().,'+ "
identifiers = st.text(SEPA_CHARS, min_size=1, max_size=35).filter(lambda s: s.strip() == s)
names = st.text("ABCDEFGHabcdefgh äöüßéÅ-", min_size=1, max_size=60).filter(str.strip)


@st.composite
def batches(draw: st.DrawFn) -> DebitBatch:
    collection = draw(st.dates(date(2025, 1, 1), date(2030, 12, 31)))
    ids = draw(st.lists(identifiers, min_size=1, max_size=6, unique=True))
    items = [
        DebitItem(
            item_id=item_id,
            debtor_name=draw(names),
            debtor_account=de_iban(draw(st.text("0123456789", min_size=18, max_size=18))),
            amount=Money(Decimal(draw(st.integers(1, 99_999_999_999))).scaleb(-2), "EUR"),
            mandate_reference=draw(identifiers),
            remittance=draw(st.text(SEPA_CHARS, max_size=140)),
            debtor_agent=draw(st.sampled_from(["COBADEFFXXX", "DEUTDEFF", "GENODEF1M04", ""])),
            mandate_signed_on=collection - timedelta(days=draw(st.integers(0, 4000))),
            first_collection=draw(st.booleans()),
        )
        for item_id in ids
    ]
    batch_id = draw(st.text(SEPA_CHARS, min_size=1, max_size=30).filter(lambda s: s.strip() == s))
    return batch(*items, batch_id=batch_id, collection_date=collection)


@st.composite
def batches_with_returns(draw: st.DrawFn) -> tuple[DebitBatch, dict[str, str]]:
    debits = draw(batches())
    codes = st.sampled_from([*sepa.RETURN_REASONS, "XT99"])
    returned = {debit.item_id: draw(codes) for debit in debits.items if draw(st.booleans())}
    return debits, returned


def expected(debits: DebitBatch, returned: dict[str, str]) -> dict[str, DebitReturn]:
    results = {}
    for debit in debits.items:
        code = returned.get(debit.item_id)
        if code is None:
            result = DebitReturn(debits.batch_id, debit.item_id, "collected", debit.amount)
        else:
            title, action = sepa.RETURN_REASONS.get(code, (None, ReturnAction.NOTIFY))
            result = DebitReturn(
                debits.batch_id, debit.item_id, "returned", debit.amount, code, title, action
            )
        results[debit.item_id] = result
    return results


# --- debit files ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_debit_files_pass_the_official_schema_and_carry_every_debit(debits: DebitBatch) -> None:
    content = sepa.debit_file(debits, created_at=CREATED)
    schema().validate(content.decode())
    root = ElementTree.fromstring(content)
    assert root.findtext(f".//{PAIN008}GrpHdr/{PAIN008}MsgId") == debits.batch_id
    written = {
        tx.findtext(f"{PAIN008}PmtId/{PAIN008}EndToEndId"): (
            Decimal(tx.findtext(f"{PAIN008}InstdAmt") or ""),
            block.findtext(f"{PAIN008}PmtInfId"),
            block.findtext(f"{PAIN008}PmtTpInf/{PAIN008}SeqTp"),
        )
        for block in root.iter(f"{PAIN008}PmtInf")
        for tx in block.iter(f"{PAIN008}DrctDbtTxInf")
    }
    assert written == {
        debit.item_id: (
            debit.amount.amount,
            sepa.payment_information_id(debits, debit),
            "FRST" if debit.first_collection else "RCUR",
        )
        for debit in debits.items
    }
    total = root.findtext(f".//{PAIN008}GrpHdr/{PAIN008}CtrlSum")
    assert Decimal(total or "") == sum(debit.amount.amount for debit in debits.items)


def test_a_debit_file_is_the_same_bytes_for_the_same_batch() -> None:
    first = sepa.debit_file(three(), created_at=CREATED)
    assert first == sepa.debit_file(three(), created_at=CREATED.astimezone(UTC))
    assert b"<CreDtTm>2026-12-05T21:00:00Z</CreDtTm>" in first
    assert b"<PmtInfId>B-2026-12-10-RCUR</PmtInfId>" in first
    assert b"<PmtInfId>B-2026-12-10-FRST</PmtInfId>" in first
    assert b"<Nm>Jurgen Muller</Nm>" in first
    assert b"<Othr><Id>NOTPROVIDED</Id></Othr>" in first  # the IBAN-only debit
    assert b"<Ustrd>Mandate M-E2E-3</Ustrd>" in first
    assert b'<InstdAmt Ccy="EUR">100.00</InstdAmt>' in first


def test_a_debit_file_refuses_what_sepa_cannot_carry_naming_each_field() -> None:
    bad = batch(
        item("E2E-1", debtor_account="DE89370400440532013001", debtor_agent="NOTABIC"),
        item("E2E/2/", amount=Money("5.0001", "EUR"), mandate_signed_on=None),
        item("E2E-3", amount=Money("5.001", "EUR"), mandate_reference="M" * 36),
        item("E2E-4", mandate_signed_on=date(2027, 1, 1), remittance="x" * 141),
        item("E2E-5", debtor_name="   ", amount=Money("1000000000", "EUR")),
        batch_id="B" * 31,
        creditor_id="DE00ZZZ09999999999",
        creditor_agent="",
        creditor_account="DE00120300000000202051",
    )
    fields = [field for field, _ in refused(lambda b: sepa.debit_file(b, created_at=CREATED), bad)]
    assert fields == [
        "batch_id",
        "creditor_account",
        "creditor_agent",
        "creditor_id",
        "items.0.debtor_account",
        "items.0.debtor_agent",
        "items.1.item_id",
        "items.1.amount",
        "items.1.mandate_reference",
        "items.1.mandate_signed_on",
        "items.2.amount",
        "items.2.mandate_reference",
        "items.3.mandate_signed_on",
        "items.3.remittance",
        "items.4.debtor_name",
        "items.4.amount",
    ]


def test_an_item_id_outside_the_sepa_character_set_is_named() -> None:
    debits = batch(item("E2E_1", mandate_reference="M1"))
    errors = refused(lambda b: sepa.debit_file(b, created_at=CREATED), debits)
    assert errors == [("items.0.item_id", "'_' is not in the SEPA character set")]


def test_identifiers_with_blanks_around_them_are_refused() -> None:
    debits = batch(item(" E2E-1", mandate_reference="M-1 "))
    errors = refused(lambda b: sepa.debit_file(b, created_at=CREATED), debits)
    assert errors == [
        ("items.0.item_id", "may not start or end with a space"),
        ("items.0.mandate_reference", "may not start or end with a space"),
    ]


def test_only_euro_can_be_collected() -> None:
    errors = refused(
        lambda b: sepa.debit_file(b, created_at=CREATED), batch(item(amount=Money("5", "USD")))
    )
    assert errors == [("items.0.amount", "SEPA debits are in EUR, not USD")]


def test_a_naive_creation_time_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        sepa.debit_file(three(), created_at=datetime(2026, 12, 5, 21, 0))
    assert caught.value.errors[0].field == "created_at"


# --- round trips ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(batches_with_returns())
def test_a_status_report_reads_back_to_the_results_written(
    case: tuple[DebitBatch, dict[str, str]],
) -> None:
    debits, returned = case
    content = sepa.status_report(debits, returned, created_at=CREATED)
    results = sepa.read_status_report(content)
    assert {result.item_id: result for result in results} == expected(debits, returned)
    assert len(results) == len(debits.items)


@settings(max_examples=40, deadline=None)
@given(batches_with_returns())
def test_a_notification_reads_back_to_the_results_written(
    case: tuple[DebitBatch, dict[str, str]],
) -> None:
    debits, returned = case
    content = sepa.notification(debits, returned, created_at=CREATED)
    assert sepa.read_notification(content) == list(expected(debits, returned).values())


def test_reason_codes_say_what_to_do() -> None:
    actions = {code: action for code, (_, action) in sepa.RETURN_REASONS.items()}
    assert actions["AM04"] is ReturnAction.RETRY
    for code in ("AC04", "MD01", "AC01", "MD07", "AC06"):
        assert actions[code] is ReturnAction.STOP_MANDATE
    for code in ("MD06", "MS02", "MS03"):
        assert actions[code] is ReturnAction.NOTIFY
    assert sepa.reason_action("ZZ01") == (None, ReturnAction.NOTIFY)


def test_results_for_items_not_in_the_batch_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        sepa.status_report(three(), {"E2E-9": "AM04", "E2E-1": "am04"}, created_at=CREATED)
    assert [e.field for e in caught.value.errors] == ["returned.E2E-9", "returned.E2E-1"]


# --- reading what banks send ----------------------------------------------------------------

NS002 = 'xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"'


def pain002(*blocks: str, group: str = "<GrpSts>PART</GrpSts>") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Document {NS002}><CstmrPmtStsRpt>\n"
        "<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-12-11T08:00:00</CreDtTm></GrpHdr>\n"
        "<OrgnlGrpInfAndSts><OrgnlMsgId>B-1</OrgnlMsgId>"
        f"<OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>{group}</OrgnlGrpInfAndSts>\n"
        + "".join(f"<OrgnlPmtInfAndSts>{block}</OrgnlPmtInfAndSts>\n" for block in blocks)
        + "</CstmrPmtStsRpt></Document>\n"
    ).encode()


def tx(end_to_end: str, status: str = "ACSC", amount: str = "10.00", reason: str = "") -> str:
    reason_xml = f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>" if reason else ""
    status_xml = f"<TxSts>{status}</TxSts>" if status else ""
    return (
        f"<TxInfAndSts><OrgnlEndToEndId>{end_to_end}</OrgnlEndToEndId>{status_xml}{reason_xml}"
        f'<OrgnlTxRef><Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt></OrgnlTxRef>'
        "</TxInfAndSts>"
    )


def block(*transactions: str, status: str = "") -> str:
    status_xml = f"<PmtInfSts>{status}</PmtInfSts>" if status else ""
    return f"<OrgnlPmtInfId>B-1-RCUR</OrgnlPmtInfId>{status_xml}" + "".join(transactions)


TX = "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts"


def test_statuses_that_are_not_final_are_skipped() -> None:
    content = pain002(
        block(tx("A", "ACCP"), tx("B", "PDNG"), tx("C", "ACTC"), tx("D", "ACSC")),
        block(tx("G", "ACSP"), tx("H", "ACWC"), tx("E", "RJCT", reason="AM04")),
    )
    results = sepa.read_status_report(content)
    assert [(r.item_id, r.outcome, r.reason_code, r.action) for r in results] == [
        ("D", DebitOutcome.COLLECTED, None, None),
        ("E", DebitOutcome.RETURNED, "AM04", ReturnAction.RETRY),
    ]


def test_a_rejected_block_passes_its_status_and_reason_to_its_transactions() -> None:
    rejected = (
        "<OrgnlPmtInfId>B-1-FRST</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>"
        "<StsRsnInf><Rsn><Cd>MD01</Cd></Rsn><AddtlInf>No mandate on file</AddtlInf></StsRsnInf>"
        + tx("E", "")
        + tx("F", "", reason="AC04")
    )
    results = sepa.read_status_report(pain002(block(tx("D", "ACCP")), rejected))
    assert results == [
        DebitReturn(
            "B-1", "E", "returned", Money("10.00", "EUR"), "MD01", "No mandate on file",
            "stop_mandate",
        ),
        DebitReturn(
            "B-1", "F", "returned", Money("10.00", "EUR"), "AC04", "Account closed",
            "stop_mandate",
        ),
    ]  # fmt: skip


PAIN002_MALFORMED = [
    pytest.param(b"", [("line 1, column 1", "the file is empty")], id="empty"),
    pytest.param(b"  \n ", [("line 1, column 1", "the file is empty")], id="blank"),
    pytest.param(
        b"item_id,status\nA,collected\n",
        [("line 1, column 1", "not well-formed XML: syntax error")],
        id="not-xml",
    ),
    pytest.param(
        pain002(block(tx("A")))[:-40],
        [("line 5, column 213", "not well-formed XML: unclosed token")],
        id="truncated",
    ),
    pytest.param(
        pain002(block(tx("A"))).replace(b"</OrgnlEndToEndId>", b"</OrgnlEndToEnd>"),
        [("line 5, column 92", "not well-formed XML: mismatched tag")],
        id="mismatched-tag",
    ),
    pytest.param(
        pain002(block(tx("A"))).replace(b"pain.002.001.03", b"pain.002.001.10"),
        [
            (
                "/Document",
                "namespace 'urn:iso:std:iso:20022:tech:xsd:pain.002.001.10' is not "
                "'urn:iso:std:iso:20022:tech:xsd:pain.002.001.03'",
            )
        ],
        id="wrong-namespace",
    ),
    pytest.param(
        f"<Report {NS002}><CstmrPmtStsRpt/></Report>".encode(),
        [("/Report", "not a pain.002.001.03 document: no Document root")],
        id="wrong-root",
    ),
    pytest.param(
        pain002(block(tx("A"))).replace(b"CstmrPmtStsRpt>", b"CstmrPmtStsRpx>"),
        [("/Document/CstmrPmtStsRpt", "is missing")],
        id="no-report",
    ),
    pytest.param(
        pain002(block(tx("A"))).replace(b"<OrgnlMsgId>B-1</OrgnlMsgId>", b""),
        [("/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/OrgnlMsgId", "is missing")],
        id="no-original-message-id",
    ),
    pytest.param(
        pain002(block(tx("A"), tx("B", amount="12,34"))),
        [(f"{TX}[2]/OrgnlTxRef/Amt/InstdAmt", "'12,34' is not an amount")],
        id="bad-amount",
    ),
    pytest.param(
        pain002(block(tx("A", amount="12.345"))),
        [(f"{TX}[1]/OrgnlTxRef/Amt/InstdAmt", "12.345 has more decimal places than EUR allows")],
        id="sub-cent-amount",
    ),
    pytest.param(
        pain002(block(tx("A"))).replace(b'Ccy="EUR"', b'Ccy="XEU"'),
        [(f"{TX}[1]/OrgnlTxRef/Amt/InstdAmt/@Ccy", "'XEU' is not a known currency")],
        id="unknown-currency",
    ),
    pytest.param(
        pain002(block(tx("A"), tx("B", "DONE"))),
        [(f"{TX}[2]/TxSts", "'DONE' is not a status code of pain.002.001.03")],
        id="unknown-status",
    ),
    pytest.param(
        pain002(block(tx("A"), tx("B")), block(tx("A", "RJCT", reason="AM04"))),
        [
            (
                "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[2]/TxInfAndSts[1]/OrgnlEndToEndId",
                "'A' repeats",
            )
        ],
        id="duplicate-end-to-end-id",
    ),
    pytest.param(
        pain002(block(tx("A", "RJCT"))),
        [(f"{TX}[1]/StsRsnInf[1]/Rsn/Cd", "a rejected debit needs it")],
        id="rejected-without-reason",
    ),
    pytest.param(
        pain002(block(tx("A"), tx(""))),
        [(f"{TX}[2]/OrgnlEndToEndId", "is empty")],
        id="empty-end-to-end-id",
    ),
    pytest.param(
        pain002(block(tx("A", ""))),
        [(f"{TX}[1]/TxSts", "is missing")],
        id="no-status-anywhere",
    ),
    pytest.param(
        pain002(block(tx("A"))).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'),
        [("line 1, column 1", "declares encoding 'ISO-8859-1'; SEPA files are UTF-8")],
        id="declared-latin-1",
    ),
    pytest.param(
        pain002(block(tx("A"))).replace(b"<MsgId>STS-1", b"<MsgId>STS-\xfc"),
        [("line 3, column 20", "byte 0xfc is not UTF-8")],
        id="latin-1-bytes",
    ),
    pytest.param(
        b'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY x "xx">]>\n'
        + f"<Document {NS002}>&x;</Document>".encode(),
        [("line 2, column 1", "document type declarations and entities are refused")],
        id="doctype-entity",
    ),
    pytest.param(
        pain002(group="<GrpSts>RJCT</GrpSts>"),
        [
            (
                "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/GrpSts",
                "rejects the whole file without naming its debits",
            )
        ],
        id="whole-file-rejected",
    ),
    pytest.param(
        pain002(block(tx("A", amount="1e3"), tx("B", "NOPE"), tx("C", amount="-5.00"))),
        [
            (f"{TX}[1]/OrgnlTxRef/Amt/InstdAmt", "'1e3' is not an amount"),
            (f"{TX}[2]/TxSts", "'NOPE' is not a status code of pain.002.001.03"),
            (f"{TX}[3]/OrgnlTxRef/Amt/InstdAmt", "'-5.00' is not an amount"),
        ],
        id="every-problem-reported",
    ),
]


@pytest.mark.parametrize(("content", "errors"), PAIN002_MALFORMED)
def test_a_malformed_status_report_is_refused_whole_with_its_position(
    content: bytes, errors: list[tuple[str, str]]
) -> None:
    assert refused(sepa.read_status_report, content) == errors


def test_a_byte_order_mark_is_accepted() -> None:
    content = b"\xef\xbb\xbf" + sepa.status_report(three(), {}, created_at=CREATED)
    assert len(sepa.read_status_report(content)) == 3


NTRY = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry"


def camt054() -> bytes:
    return sepa.notification(three(), {"E2E-2": "AM04"}, created_at=CREATED)


CAMT054_MALFORMED = [
    pytest.param(
        camt054().replace(b"<RtrInf><Rsn><Cd>AM04</Cd></Rsn>", b"<RtrInf><Rsn></Rsn>"),
        [(f"{NTRY}[2]/NtryDtls[1]/TxDtls[1]/RtrInf/Rsn/Cd", "a returned debit needs it")],
        id="returned-without-reason",
    ),
    pytest.param(
        camt054().replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>CR</CdtDbtInd>", 1),
        [(f"{NTRY}[1]/CdtDbtInd", "'CR' is not CRDT or DBIT")],
        id="bad-indicator",
    ),
    pytest.param(
        camt054().replace(b"<EndToEndId>E2E-3</EndToEndId>", b""),
        [(f"{NTRY}[3]/NtryDtls[1]/TxDtls[1]/Refs/EndToEndId", "is missing")],
        id="no-end-to-end-id",
    ),
    pytest.param(
        camt054().replace(b"<EndToEndId>E2E-3</EndToEndId>", b"<EndToEndId>E2E-1</EndToEndId>"),
        [(f"{NTRY}[3]/NtryDtls[1]/TxDtls[1]/Refs/EndToEndId", "'E2E-1' repeats")],
        id="duplicate-end-to-end-id",
    ),
    pytest.param(
        camt054().replace(b"<Sts>BOOK</Sts>", b"<Sts>DONE</Sts>", 1),
        [(f"{NTRY}[1]/Sts", "'DONE' is not an entry status")],
        id="unknown-entry-status",
    ),
    pytest.param(
        camt054().replace(b'<Amt Ccy="EUR">7.05</Amt>', b'<Amt Ccy="EUR">7.05.1</Amt>'),
        [
            (f"{NTRY}[3]/Amt", "'7.05.1' is not an amount"),
        ],
        id="bad-entry-amount",
    ),
    pytest.param(
        camt054().replace(b"camt.054.001.02", b"camt.053.001.02"),
        [
            (
                "/Document",
                "namespace 'urn:iso:std:iso:20022:tech:xsd:camt.053.001.02' is not "
                "'urn:iso:std:iso:20022:tech:xsd:camt.054.001.02'",
            )
        ],
        id="a-statement",
    ),
    pytest.param(
        camt054().replace(b"<NtryDtls>", b"<Details>").replace(b"</NtryDtls>", b"</Details>"),
        [(f"{NTRY}[{n}]/NtryDtls[1]/TxDtls[1]", "is missing") for n in (1, 2, 3)],
        id="no-details",
    ),
]


@pytest.mark.parametrize(("content", "errors"), CAMT054_MALFORMED)
def test_a_malformed_notification_is_refused_whole_with_its_position(
    content: bytes, errors: list[tuple[str, str]]
) -> None:
    assert refused(sepa.read_notification, content) == errors


def test_a_notification_skips_pending_entries_and_other_kinds_of_payment() -> None:
    content = (
        camt054()
        .replace(b"<Sts>BOOK</Sts>", b"<Sts>PDNG</Sts>", 1)
        .replace(b"<Cd>RDDT</Cd><SubFmlyCd>UPDD", b"<Cd>ICDT</Cd><SubFmlyCd>ESCT")
    )
    assert [result.item_id for result in sepa.read_notification(content)] == ["E2E-3"]


def test_a_status_report_is_not_a_notification() -> None:
    content = sepa.status_report(three(), {}, created_at=CREATED)
    assert where(sepa.read_notification, content) == ["/Document"]


def mutations() -> st.SearchStrategy[bytes]:
    valid = [
        sepa.status_report(three(), {"E2E-2": "AM04"}, created_at=CREATED),
        sepa.notification(three(), {"E2E-2": "AM04"}, created_at=CREATED),
    ]

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        content = bytearray(draw(st.sampled_from(valid)))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(content) - 1))
            cut = draw(st.integers(0, 8))
            content[at : at + cut] = draw(st.binary(max_size=6))
        return bytes(content)

    return st.one_of(mutate(), st.binary(max_size=200))


@settings(max_examples=300, deadline=None)
@given(mutations())
def test_readers_raise_nothing_but_validation_errors(content: bytes) -> None:
    for read in (sepa.read_status_report, sepa.read_notification):
        with contextlib.suppress(ValidationError):  # the only error a reader may raise
            read(content)


def test_a_status_report_names_the_blocks_of_the_debit_file() -> None:
    def ids(content: bytes, tag: str) -> list[str]:
        return [e.text or "" for e in ElementTree.fromstring(content).iter() if e.tag.endswith(tag)]

    debit = sepa.debit_file(three(), created_at=CREATED)
    report = sepa.status_report(three(), {"E2E-3": "MD06"}, created_at=CREATED)
    assert ids(report, "}OrgnlPmtInfId") == ids(debit, "}PmtInfId")
    assert ids(report, "}OrgnlMsgId") == ids(debit, "}MsgId") == ["B-2026-12-10"]
    [md06] = [r for r in sepa.read_status_report(report) if r.outcome is DebitOutcome.RETURNED]
    assert (md06.item_id, md06.reason, md06.action) == (
        "E2E-3",
        "Refund requested by the debtor",
        ReturnAction.NOTIFY,
    )
