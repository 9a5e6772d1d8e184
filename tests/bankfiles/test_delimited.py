"""Delimited bank files: debit files laid out as the bank asks, result files read back to what
was written, and malformed result files refused whole with their line and column."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.bankfiles import delimited, sepa
from leasekit.bankfiles.delimited import Columns
from leasekit.errors import ValidationError
from leasekit.money import CURRENCIES, Money
from leasekit.ports.bank import DebitBatch, DebitItem, DebitOutcome, DebitReturn, ReturnAction


def item(item_id: str = "T-1", **changes: Any) -> DebitItem:
    values: dict[str, Any] = {
        "item_id": item_id,
        "debtor_name": "Ana Díaz",
        "debtor_account": "000123456789",
        "amount": Money("12.30", "USD"),
        "mandate_reference": "M-" + item_id,
        "remittance": "Lease 42",
        "debtor_agent": "021000021",
    }
    values.update(changes)
    return DebitItem(**values)


def batch(*items: DebitItem, **changes: Any) -> DebitBatch:
    values: dict[str, Any] = {
        "batch_id": "B-7",
        "creditor_name": "Acme Leasing",
        "creditor_account": "99887766",
        "collection_date": date(2026, 12, 10),
        "items": items or (item(),),
    }
    values.update(changes)
    return DebitBatch(**values)


def rows(content: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline=""), delimiter=delimiter))


def refused(content: bytes) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        delimited.read_results(content)
    return [(error.field, error.message) for error in caught.value.errors]


# --- debit files ----------------------------------------------------------------------------


def debit_file(debits: DebitBatch, **options: Any) -> bytes:
    """The whole file, its chunks joined."""
    return b"".join(delimited.debit_file(debits, **options))


def test_a_debit_file_has_a_header_and_one_line_per_debit() -> None:
    content = debit_file(batch(item(), item("T-2", amount=Money("5", "USD"))))
    assert (
        content
        == (
            "item_id,collection_date,debtor_name,debtor_account,debtor_agent,amount,currency,"
            "mandate_reference,remittance\r\n"
            "T-1,2026-12-10,Ana Díaz,000123456789,021000021,12.30,USD,M-T-1,Lease 42\r\n"
            "T-2,2026-12-10,Ana Díaz,000123456789,021000021,5.00,USD,M-T-2,Lease 42\r\n"
        ).encode()
    )


def test_a_debit_file_follows_the_banks_columns() -> None:
    columns = Columns(
        fields=("amount", "item_id", "debtor_account", "remittance"),
        headers={"amount": "Betrag", "item_id": "Referenz"},
        delimiter=";",
        decimal_separator=",",
    )
    debits = batch(item(amount=Money("1234.5", "EUR"), remittance='Rate; "Dezember"'))
    assert rows(debit_file(debits, columns=columns), ";") == [
        ["Betrag", "Referenz", "debtor_account", "remittance"],
        ["1234,50", "T-1", "000123456789", 'Rate; "Dezember"'],
    ]


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({"fields": ("item_id", "amount")}, ["fields"]),
        ({"fields": ("item_id", "amount", "debtor_account", "iban")}, ["fields"]),
        ({"fields": ("item_id", "amount", "debtor_account", "amount")}, ["fields"]),
        ({"headers": {"amount": "item_id"}}, ["headers"]),
        ({"headers": {"amount": " "}}, ["headers.amount"]),
        ({"headers": {"iban": "IBAN"}}, ["headers.iban"]),
        ({"delimiter": ";;"}, ["delimiter"]),
        ({"delimiter": '"'}, ["delimiter"]),
        ({"decimal_separator": "'"}, ["decimal_separator"]),
        ({"decimal_separator": ","}, ["decimal_separator"]),
    ],
)
def test_columns_that_cannot_make_a_file_are_refused(
    options: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Columns(**options)
    assert [error.field for error in caught.value.errors] == fields


def test_an_amount_finer_than_its_currency_is_refused_not_rounded() -> None:
    debits = batch(item(), item("T-2", amount=Money("1.005", "USD")))
    with pytest.raises(ValidationError) as caught:
        debit_file(debits)
    assert [error.field for error in caught.value.errors] == ["items.1.amount"]


awkward_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(remittance=awkward_text, name=awkward_text)
def test_any_text_survives_the_quoting(remittance: str, name: str) -> None:
    debits = batch(item(remittance=remittance, debtor_name=name))
    for columns in (delimited.DEFAULT_COLUMNS, Columns(delimiter=";", decimal_separator=",")):
        content = debit_file(debits, columns=columns)
        header, line = rows(content, columns.delimiter)
        assert dict(zip(header, line, strict=True))["remittance"] == remittance
        assert dict(zip(header, line, strict=True))["debtor_name"] == name


# --- result files ---------------------------------------------------------------------------

CODES = [*sepa.RETURN_REASONS, *delimited.NACHA_RETURN_REASONS, "R99", "XT01"]


@st.composite
def batches_with_returns(draw: st.DrawFn) -> tuple[DebitBatch, dict[str, str]]:
    code = draw(st.sampled_from(["USD", "EUR", "JPY", "BHD", "CHF"]))
    unit = CURRENCIES[code]
    ids = draw(
        st.lists(st.text(min_size=1, max_size=20).filter(str.strip), min_size=1, unique=True)
    )
    ids = [value.strip() for value in ids]
    if len(set(ids)) != len(ids):
        ids = [f"{n}-{value}" for n, value in enumerate(ids)]
    items = [
        item(
            item_id,
            amount=Money(Decimal(draw(st.integers(1, 10**12))).scaleb(-unit.minor_unit), unit),
        )
        for item_id in ids
    ]
    debits = batch(*items, batch_id=draw(st.text(min_size=1, max_size=20).filter(str.strip)))
    returned = {i.item_id: draw(st.sampled_from(CODES)) for i in items if draw(st.booleans())}
    return debits, returned


@settings(max_examples=80, deadline=None)
@given(batches_with_returns())
def test_a_result_file_reads_back_to_the_results_written(
    case: tuple[DebitBatch, dict[str, str]],
) -> None:
    debits, returned = case
    results = delimited.read_results(delimited.result_file(debits, returned))
    wanted = []
    for debit in debits.items:
        code = returned.get(debit.item_id)
        if code is None:
            wanted.append(
                DebitReturn(debits.batch_id.strip(), debit.item_id, "collected", debit.amount)
            )
        else:
            title, action = delimited.reason_action(code)
            wanted.append(
                DebitReturn(
                    debits.batch_id.strip(), debit.item_id, "returned", debit.amount, code,
                    title, action,
                )
            )  # fmt: skip
    assert results == wanted


def test_sepa_and_nacha_codes_both_say_what_to_do() -> None:
    assert delimited.reason_action("R01")[1] is ReturnAction.RETRY
    assert delimited.reason_action("R09")[1] is ReturnAction.RETRY
    for code in ("R02", "R03", "R04", "R07", "R10", "R16", "R29", "AC04", "MD01"):
        assert delimited.reason_action(code)[1] is ReturnAction.STOP_MANDATE, code
    assert delimited.reason_action("AM04") == ("Insufficient funds", ReturnAction.RETRY)
    assert delimited.reason_action("R11")[1] is ReturnAction.NOTIFY
    assert delimited.reason_action("ZZ")[1] is ReturnAction.NOTIFY


HEADER = "item_id,batch_id,status,amount,currency,reason_code,reason\n"


def results(*lines: str, header: str = HEADER) -> bytes:
    return (header + "".join(f"{line}\n" for line in lines)).encode()


def test_a_bank_may_order_columns_its_own_way_and_add_more() -> None:
    content = (
        "\ufeffstatus;reason_code;item_id;amount;currency;batch_id;reason;bank_ref\n"
        "RETURNED;R01;T-1;12.30;usd;B-7;;x1\n"
        "collected;;T-2;5;USD;B-7;;x2\n"
    ).replace(";", ",")
    assert delimited.read_results(content.encode()) == [
        DebitReturn(
            "B-7", "T-1", DebitOutcome.RETURNED, Money("12.30", "USD"), "R01",
            "Insufficient funds", ReturnAction.RETRY,
        ),
        DebitReturn("B-7", "T-2", DebitOutcome.COLLECTED, Money("5", "USD")),
    ]  # fmt: skip


def test_a_quoted_line_break_does_not_shift_the_line_numbers() -> None:
    content = results('T-1,B-7,returned,1.00,USD,AM04,"two\nlines"', "T-2,B-7,paid,1.00,USD,,")
    assert refused(content) == [("line 4, column status", "'paid' is not collected or returned")]


OK = "T-1,B-7,collected,12.30,USD,,"

MALFORMED = [
    pytest.param(b"", [("line 1", "the file is empty")], id="empty"),
    pytest.param(b"\xef\xbb\xbf\r\n  \r\n", [("line 1", "the file is empty")], id="bom-blank"),
    pytest.param(
        results(OK, header="item_id,batch_id,status,amount,currency,reason\n"),
        [("line 1, column reason_code", "is missing")],
        id="missing-column",
    ),
    pytest.param(
        results(OK, header="\n\nitem_id,batch_id,status,amount,currency,reason,reason\n"),
        [
            ("line 3, column reason", "repeats in the header"),
            ("line 3, column reason_code", "is missing"),
        ],
        id="header-after-blank-lines",
    ),
    pytest.param(
        results(OK, 'T-2,B-7,collected,"12,3x",USD,,'),
        [("line 3, column amount", "'12,3x' is not a decimal amount")],
        id="bad-amount",
    ),
    pytest.param(
        results("T-2,B-7,collected,1e3,USD,,"),
        [("line 2, column amount", "'1e3' is not a decimal amount")],
        id="float-like-amount",
    ),
    pytest.param(
        results("T-2,B-7,collected,-5.00,USD,,"),
        [("line 2, column amount", "'-5.00' is negative")],
        id="negative-amount",
    ),
    pytest.param(
        results("T-2,B-7,collected,5.001,USD,,", "T-3,B-7,collected,5.5,JPY,,"),
        [
            ("line 2, column amount", "5.001 has more decimal places than USD allows"),
            ("line 3, column amount", "5.5 has more decimal places than JPY allows"),
        ],
        id="too-many-decimals",
    ),
    pytest.param(
        results("T-2,B-7,collected," + "9" * 40 + ".5,USD,,"),
        [("line 2, column amount", "'" + "9" * 40 + ".5' is too large")],
        id="huge-amount",
    ),
    pytest.param(
        results("T-2,B-7,collected,0.00,USD,,"),
        [("line 2, column amount", "is zero")],
        id="zero-amount",
    ),
    pytest.param(
        results("T-2,B-7,collected,5.00,XYZ,,"),
        [("line 2, column currency", "'XYZ' is not a known currency")],
        id="unknown-currency",
    ),
    pytest.param(
        results("T-2,B-7,bounced,5.00,USD,R01,"),
        [("line 2, column status", "'bounced' is not collected or returned")],
        id="unknown-status",
    ),
    pytest.param(
        results(OK, "T-2,B-7,returned,5.00,USD,,insufficient funds"),
        [("line 3, column reason_code", "a returned debit needs a reason code")],
        id="returned-without-code",
    ),
    pytest.param(
        results(OK, "T-2,B-7,collected,5.00,USD,,", OK),
        [("line 4, column item_id", "'T-1' repeats (first on line 2)")],
        id="duplicate-item",
    ),
    pytest.param(
        results(OK, "T-2,B-7,collected,5.00,USD"),
        [("line 3", "has 5 fields; the header has 7")],
        id="too-few-fields",
    ),
    pytest.param(
        results(OK, OK.replace("T-1", "T-2") + ",extra"),
        [("line 3", "has 8 fields; the header has 7")],
        id="too-many-fields",
    ),
    pytest.param(
        results(OK, "T-2,B-7,collected,5.00,USD,,", "T-3,B-7,returned,5.00,USD,R01,").replace(
            b"T-3", b"T-\xe9"
        ),
        [("line 4", "byte 0xe9 is not UTF-8 text")],
        id="not-utf-8",
    ),
    pytest.param(
        results(OK, 'T-2,B-7,"collected,5.00,USD,,'),
        [("line 3", "not CSV: unexpected end of data")],
        id="unterminated-quote",
    ),
    pytest.param(
        results(",B-7,collected,5.00,USD,,", "T-3,,collected,5.00,USD,,"),
        [("line 2, column item_id", "is empty"), ("line 3, column batch_id", "is empty")],
        id="empty-ids",
    ),
    pytest.param(
        results("T-2,B-7,returned,1e3,XYZ,,", "", "T-3,B-7,unknown,5,USD,,"),
        [
            ("line 2, column currency", "'XYZ' is not a known currency"),
            ("line 2, column amount", "'1e3' is not a decimal amount"),
            ("line 2, column reason_code", "a returned debit needs a reason code"),
            ("line 4, column status", "'unknown' is not collected or returned"),
        ],
        id="every-problem-reported",
    ),
]


@pytest.mark.parametrize(("content", "errors"), MALFORMED)
def test_a_malformed_result_file_is_refused_whole_with_its_position(
    content: bytes, errors: list[tuple[str, str]]
) -> None:
    assert refused(content) == errors


def test_a_byte_order_mark_is_accepted() -> None:
    content = b"\xef\xbb\xbf" + delimited.result_file(batch(), {"T-1": "R02"})
    [result] = delimited.read_results(content)
    assert (result.item_id, result.action) == ("T-1", ReturnAction.STOP_MANDATE)


def test_results_for_items_not_in_the_batch_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        delimited.result_file(batch(), {"T-9": "R01", "T-1": " "})
    assert [error.field for error in caught.value.errors] == ["returned.T-9", "returned.T-1"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    content = bytearray(
        delimited.result_file(batch(item(), item("T-2"), item("T-3")), {"T-2": "R01"})
    )
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(content) - 1))
        content[at : at + draw(st.integers(0, 6))] = draw(st.binary(max_size=6))
    return bytes(content)


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated(), st.binary(max_size=200)))
def test_read_results_raises_nothing_but_validation_errors(content: bytes) -> None:
    with contextlib.suppress(ValidationError):  # the only error a reader may raise
        delimited.read_results(content)
