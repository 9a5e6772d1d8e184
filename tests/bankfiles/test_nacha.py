"""NACHA debit and return files, checked against the record layouts of the NACHA Operating Rules.

The debit file is read back by a reader written here from the rules' positions, not from the
module's layout tables, so that a wrong position in the module cannot be confirmed by itself.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from stdnum.us import rtn

from leasekit.bankfiles import nacha
from leasekit.bankfiles.nacha import (
    RETURN_CODES,
    read_returns,
    return_code,
    return_file,
)
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports.bank import (
    AccountType,
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    DebitScheme,
    ReturnAction,
)

ODFI = "091000019"
CREATED = datetime(2026, 12, 5, 21, 15)
COLLECTION = date(2026, 12, 7)


def routing(prefix: str) -> str:
    """A routing number with its ABA check digit."""
    return prefix + rtn.calc_check_digit(prefix)


def item(seq: int, **changes: object) -> DebitItem:
    values: dict[str, object] = {
        "item_id": f"{ODFI[:8]}{seq:07d}",
        "debtor_name": f"Debtor {seq}",
        "debtor_account": f"ACCT-{seq}",
        "amount": Money("123.45", "USD"),
        "mandate_reference": f"MANDATE-{seq}",
        "debtor_agent": "011000015" if seq % 2 else "021000021",
    }
    values.update(changes)
    return DebitItem(**values)  # type: ignore[arg-type]


def batch(*items: DebitItem, **changes: object) -> DebitBatch:
    values: dict[str, object] = {
        "batch_id": "B-1",
        "creditor_name": "Acme Leasing Corporation",
        "creditor_account": "000111222",
        "collection_date": COLLECTION,
        "items": items or (item(1), item(2), item(3)),
        "scheme": DebitScheme.NACHA,
        "creditor_id": "1234567890",
        "creditor_agent": ODFI,
    }
    values.update(changes)
    return DebitBatch(**values)  # type: ignore[arg-type]


def debit_file(batch: DebitBatch, **options: Any) -> bytes:
    """The whole debit file, its chunks joined."""
    return b"".join(nacha.debit_file(batch, **options))


def fields_of(error: ValidationError) -> list[str]:
    return [e.field for e in error.errors]


# -- An independent reader of debit files ------------------------------------------------------


def cut(record: str, start: int, end: int) -> str:
    """Positions *start* to *end* of a record, 1-based and inclusive as the rules number them."""
    return record[start - 1 : end]


Entry = dict[str, object]


def read_debit_file(content: bytes) -> tuple[dict[str, str], list[Entry]]:
    """The header fields and the entries of a one-batch PPD debit file, each cut at its
    position in the rules, after checking the blocking, the padding and every control total."""
    text = content.decode("ascii")
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    assert all(len(line) == 94 for line in lines)
    assert len(lines) % 10 == 0
    control_at = next(i for i, line in enumerate(lines) if line.startswith("9"))
    assert all(line == "9" * 94 for line in lines[control_at + 1 :])
    assert len(lines) - control_at - 1 < 10, "no more padding than the last block needs"
    header, batch_header, *entries, batch_control, file_control = lines[: control_at + 1]
    assert [header[0], batch_header[0], batch_control[0]] == ["1", "5", "8"]
    assert all(entry[0] == "6" for entry in entries)

    routing_sum = sum(int(cut(e, 4, 11)) for e in entries) % 10**10
    debit_sum = sum(int(cut(e, 30, 39)) for e in entries)
    assert cut(batch_control, 2, 4) == cut(batch_header, 2, 4) == "225"
    assert int(cut(batch_control, 5, 10)) == len(entries)
    assert int(cut(batch_control, 11, 20)) == routing_sum
    assert int(cut(batch_control, 21, 32)) == debit_sum
    assert int(cut(batch_control, 33, 44)) == 0
    assert cut(batch_control, 45, 54) == cut(batch_header, 41, 50)
    assert cut(batch_control, 80, 87) == cut(batch_header, 80, 87)
    assert cut(batch_control, 88, 94) == cut(batch_header, 88, 94) == "0000001"
    assert int(cut(file_control, 2, 7)) == 1
    assert int(cut(file_control, 8, 13)) == len(lines) // 10
    assert int(cut(file_control, 14, 21)) == len(entries)
    assert int(cut(file_control, 22, 31)) == routing_sum
    assert int(cut(file_control, 32, 43)) == debit_sum
    assert int(cut(file_control, 44, 55)) == 0
    assert cut(file_control, 56, 94) == " " * 39
    fields = {
        "priority": cut(header, 2, 3),
        "destination": cut(header, 4, 13),
        "origin": cut(header, 14, 23),
        "created": cut(header, 24, 29) + cut(header, 30, 33),
        "modifier": cut(header, 34, 34),
        "size, blocking, format": cut(header, 35, 40),
        "destination name": cut(header, 41, 63),
        "origin name": cut(header, 64, 86),
        "company name": cut(batch_header, 5, 20),
        "company id": cut(batch_header, 41, 50),
        "sec": cut(batch_header, 51, 53),
        "description": cut(batch_header, 54, 63),
        "effective": cut(batch_header, 70, 75),
        "odfi": cut(batch_header, 80, 87),
    }
    return fields, [
        {
            "code": cut(e, 2, 3),
            "rdfi": cut(e, 4, 12),
            "account": cut(e, 13, 29),
            "cents": int(cut(e, 30, 39)),
            "individual id": cut(e, 40, 54),
            "name": cut(e, 55, 76),
            "addenda": cut(e, 79, 79),
            "trace": cut(e, 80, 94),
        }
        for e in entries
    ]


def batch_traces(content: bytes) -> list[list[str]]:
    """The trace numbers of each batch of a debit file, after checking every control record
    (each batch's and the file's counts, hashes and totals) against the entries."""
    records = content.decode("ascii").splitlines()
    batches: list[list[str]] = []
    entries: list[str] = []
    for record in records:
        if record.startswith("5"):
            assert int(cut(record, 88, 94)) == len(batches) + 1
            entries = []
        elif record.startswith("6"):
            entries.append(record)
        elif record.startswith("8"):
            assert int(cut(record, 5, 10)) == len(entries)
            assert int(cut(record, 11, 20)) == sum(int(cut(e, 4, 11)) for e in entries) % 10**10
            assert int(cut(record, 21, 32)) == sum(int(cut(e, 30, 39)) for e in entries)
            batches.append([cut(e, 80, 94) for e in entries])
    control = next(r for r in records if r.startswith("9") and not r.startswith("99"))
    assert int(cut(control, 2, 7)) == len(batches)
    assert int(cut(control, 8, 13)) == len(records) // 10
    assert int(cut(control, 14, 21)) == sum(len(traces) for traces in batches)
    return batches


def expected_entry(debit: DebitItem) -> Entry:
    codes = {AccountType.CHECKING: "27", AccountType.SAVINGS: "37"}
    return {
        "code": codes[debit.account_type],
        "rdfi": debit.debtor_agent,
        "account": debit.debtor_account.ljust(17),
        "cents": int(debit.amount.amount * 100),
        "individual id": debit.mandate_reference.ljust(15),
        "name": " ".join(debit.debtor_name.split()).upper()[:22].ljust(22),
        "addenda": "0",
        "trace": debit.item_id,
    }


# -- Strategies --------------------------------------------------------------------------------

routings = st.from_regex(r"[0-9]{8}", fullmatch=True).map(routing)
names = st.text(string.ascii_letters + " .'-", min_size=1, max_size=30).filter(str.strip)
cents = st.integers(1, 9_999_999_999)


@st.composite
def batches(draw: st.DrawFn) -> DebitBatch:
    sequences = sorted(
        draw(st.lists(st.integers(1, 9_999_999), min_size=1, max_size=60, unique=True))
    )
    items = [
        DebitItem(
            item_id=f"{ODFI[:8]}{seq:07d}",
            debtor_name=draw(names),
            debtor_account=draw(st.from_regex(r"[A-Za-z0-9-]{1,17}", fullmatch=True)),
            amount=Money(Decimal(draw(cents)).scaleb(-2), "USD"),
            mandate_reference=draw(st.text(string.ascii_letters + string.digits, max_size=15)),
            debtor_agent=draw(routings),
            account_type=draw(st.sampled_from(AccountType)),
        )
        for seq in sequences
    ]
    return batch(*items)


return_codes = st.sampled_from(sorted(RETURN_CODES)) | st.from_regex(r"R[0-9]{2}", fullmatch=True)


# -- The debit file ----------------------------------------------------------------------------


class TestDebitFile:
    def test_every_field_is_at_its_position(self) -> None:
        debits = (item(1), item(2), item(3, account_type=AccountType.SAVINGS))
        content = debit_file(batch(*debits), created_at=CREATED, destination_name="Fed Bank")
        fields, entries = read_debit_file(content)
        assert fields == {
            "priority": "01",
            "destination": " 091000019",
            "origin": "1234567890",
            "created": "2612052115",
            "modifier": "A",
            "size, blocking, format": "094101",
            "destination name": "FED BANK".ljust(23),
            "origin name": "ACME LEASING CORPORATIO",
            "company name": "ACME LEASING COR",
            "company id": "1234567890",
            "sec": "PPD",
            "description": "LEASE PMT ",
            "effective": "261207",
            "odfi": "09100001",
        }
        assert entries == [expected_entry(d) for d in debits]

    def test_a_trace_number_below_the_last_starts_a_batch(self) -> None:
        """The rules want trace numbers ascending within a batch; a streamed run's wrap."""
        content = debit_file(batch(item(9), item(2), item(5)), created_at=CREATED)
        assert batch_traces(content) == [[f"{ODFI[:8]}0000009"],
                                         [f"{ODFI[:8]}0000002", f"{ODFI[:8]}0000005"]]  # fmt: skip

    def test_a_full_batch_starts_another(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(nacha, "MAX_ENTRIES", 2)
        content = debit_file(batch(*(item(n) for n in range(1, 6))), created_at=CREATED)
        assert [len(traces) for traces in batch_traces(content)] == [2, 2, 1]

    def test_the_items_are_read_once_and_written_in_chunks(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(nacha, "CHUNK_RECORDS", 3)
        debits = [item(n) for n in range(1, 9)]
        chunks = list(nacha.debit_file(batch(*debits, items=iter(debits)), created_at=CREATED))
        assert len(chunks) > 2
        assert b"".join(chunks) == debit_file(batch(*debits), created_at=CREATED)

    @given(batches())
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_any_batch_reads_back_field_by_field(self, debits: DebitBatch) -> None:
        _, entries = read_debit_file(debit_file(debits, created_at=CREATED))
        assert entries == [expected_entry(d) for d in debits.items]

    def test_the_entry_hash_keeps_its_last_ten_digits(self) -> None:
        big = routing("99999999")
        debits = [item(n, debtor_agent=big) for n in range(1, 121)]
        content = debit_file(batch(*debits), created_at=CREATED)
        read_debit_file(content)
        control = content.decode().splitlines()[122]
        assert cut(control, 11, 20) == str(120 * 99999999)[-10:] == "1999999880"

    def test_the_same_batch_gives_the_same_bytes(self) -> None:
        assert debit_file(batch(), created_at=CREATED) == debit_file(batch(), created_at=CREATED)

    def test_ten_records_fill_a_block_without_padding(self) -> None:
        # header, batch header, 6 entries, batch control, file control
        content = debit_file(batch(*(item(n) for n in range(1, 7))), created_at=CREATED)
        lines = content.decode().splitlines()
        assert len(lines) == 10
        assert lines[-1].startswith("9000001000001")

    def test_names_lose_their_accents_and_are_cut_to_their_field(self) -> None:
        debits = (
            item(1, debtor_name="  José  Müller-Straße de la Peña y Gómez "),
            item(2, debtor_name="Siobhán O\u2019Brien"),
        )
        _, entries = read_debit_file(debit_file(batch(*debits), created_at=CREATED))
        assert [e["name"] for e in entries] == [
            "JOSE MULLER-STRASSE DE",
            "SIOBHAN O'BRIEN       ",
        ]

    def test_the_entry_description_is_upper_case(self) -> None:
        content = debit_file(batch(), created_at=CREATED, entry_description="rent")
        assert read_debit_file(content)[0]["description"] == "RENT      "


def refused(make: Callable[[], object]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        make()
    return fields_of(caught.value)


class TestDebitFileRefuses:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"debtor_agent": "011000016"}, "items.0.debtor_agent"),
            ({"debtor_agent": "01100001"}, "items.0.debtor_agent"),
            ({"debtor_agent": ""}, "items.0.debtor_agent"),
            ({"debtor_account": "123456789012345678"}, "items.0.debtor_account"),
            ({"debtor_account": "12 34"}, "items.0.debtor_account"),
            ({"amount": Money("10.00", "EUR")}, "items.0.amount"),
            ({"amount": Money("10.005", "USD")}, "items.0.amount"),
            ({"amount": Money("100000000.00", "USD")}, "items.0.amount"),
            ({"mandate_reference": "M" * 16}, "items.0.mandate_reference"),
            ({"mandate_reference": "MANDAT\u00c9"}, "items.0.mandate_reference"),
            ({"debtor_name": "李小龍"}, "items.0.debtor_name"),
            ({"debtor_name": "   "}, "items.0.debtor_name"),
            ({"debtor_name": "Nul\x00Byte"}, "items.0.debtor_name"),
            ({"item_id": "021000020000001"}, "items.0.item_id"),
            ({"item_id": "09100001000001"}, "items.0.item_id"),
            ({"item_id": "09100001000000A"}, "items.0.item_id"),
        ],
    )
    def test_an_item_the_file_cannot_carry(self, changes: dict[str, object], field: str) -> None:
        bad = batch(item(1, **changes))
        assert refused(lambda: debit_file(bad, created_at=CREATED)) == [field]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"creditor_agent": "091000018"}, "creditor_agent"),
            ({"creditor_id": "12345678901"}, "creditor_id"),
            ({"creditor_id": ""}, "creditor_id"),
            ({"creditor_id": " 1234567890"}, "creditor_id"),
            ({"creditor_name": "株式会社"}, "creditor_name"),
            ({"scheme": DebitScheme.SEPA}, "scheme"),
        ],
    )
    def test_a_batch_the_file_cannot_carry(self, changes: dict[str, object], field: str) -> None:
        bad = batch(item(1), **changes)
        # A wrong bank also makes the trace numbers wrong, which is not reported twice.
        assert refused(lambda: debit_file(bad, created_at=CREATED))[0] == field

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"file_id_modifier": "a"}, "file_id_modifier"),
            ({"file_id_modifier": "AB"}, "file_id_modifier"),
            ({"entry_description": "MONTHLY LEASE"}, "entry_description"),
            ({"entry_description": ""}, "entry_description"),
            ({"destination_name": "銀行"}, "destination_name"),
            ({"origin_name": "\x07"}, "origin_name"),
        ],
    )
    def test_an_option_the_file_cannot_carry(self, options: dict[str, str], field: str) -> None:
        assert refused(lambda: debit_file(batch(), created_at=CREATED, **options)) == [field]

    def test_a_total_beyond_the_control_records(self) -> None:
        debits = [item(n, amount=Money("99999999.99", "USD")) for n in range(1, 102)]
        assert refused(lambda: debit_file(batch(*debits), created_at=CREATED)) == ["items"]

    def test_an_item_is_refused_with_all_its_problems(self) -> None:
        bad = batch(
            item(1),
            item(2, amount=Money("1.001", "USD"), debtor_name="王"),
            item(3, debtor_agent="123"),
        )
        # The items are read as the file is written: the first that cannot be carried stops it.
        assert refused(lambda: debit_file(bad, created_at=CREATED)) == [
            "items.1.amount",
            "items.1.debtor_name",
        ]


# -- Return codes ------------------------------------------------------------------------------


class TestReturnCodes:
    @pytest.mark.parametrize(
        ("code", "action"),
        [
            ("R01", ReturnAction.RETRY),
            ("R09", ReturnAction.RETRY),
            *((c, ReturnAction.STOP_MANDATE) for c in ["R02", "R03", "R04", "R05", "R07"]),
            *((c, ReturnAction.STOP_MANDATE) for c in ["R08", "R10", "R12", "R14", "R15"]),
            *((c, ReturnAction.STOP_MANDATE) for c in ["R16", "R20", "R29"]),
            ("R06", ReturnAction.NOTIFY),
            ("R11", ReturnAction.NOTIFY),
        ],
    )
    def test_each_code_calls_for_its_action(self, code: str, action: ReturnAction) -> None:
        assert RETURN_CODES[code].action is action
        assert RETURN_CODES[code].code == code

    def test_an_unknown_code_asks_a_person(self) -> None:
        assert return_code("R99").action is ReturnAction.NOTIFY
        assert "R99" in return_code("R99").title

    def test_the_table_cannot_be_changed(self) -> None:
        with pytest.raises(TypeError):
            RETURN_CODES["R01"] = RETURN_CODES["R02"]  # type: ignore[index]


# -- Return files ------------------------------------------------------------------------------


def expected_return(debit: DebitItem, code: str) -> DebitReturn:
    return DebitReturn(
        batch_id="",
        item_id=debit.item_id,
        outcome=DebitOutcome.RETURNED,
        amount=debit.amount,
        reason_code=code,
        reason=return_code(code).title,
        action=return_code(code).action,
    )


class TestReturnFile:
    @given(st.data(), batches())
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_any_returns_read_back(self, data: st.DataObject, debits: DebitBatch) -> None:
        chosen = data.draw(st.lists(st.sampled_from(debits.items), unique=True))
        returned = {d.item_id: data.draw(return_codes) for d in chosen}
        read = read_returns(return_file(debits, returned, created_at=CREATED))
        assert sorted(read, key=lambda r: r.item_id) == sorted(
            (expected_return(d, returned[d.item_id]) for d in chosen), key=lambda r: r.item_id
        )

    def test_a_return_entry_and_its_addenda(self) -> None:
        content = return_file(batch(), {f"{ODFI[:8]}0000002": "R02"}, created_at=CREATED)
        lines = content.decode().splitlines()
        entry, addenda = lines[2], lines[3]
        assert (cut(entry, 1, 3), cut(entry, 4, 12), cut(entry, 79, 79)) == ("626", ODFI, "1")
        assert cut(entry, 30, 39) == "0000012345"
        assert cut(addenda, 1, 6) == "799R02"
        assert cut(addenda, 7, 21) == f"{ODFI[:8]}0000002"
        assert cut(addenda, 28, 35) == "02100002"
        assert cut(addenda, 80, 94) == cut(entry, 80, 94) == "021000020000001"

    def test_one_batch_per_returning_bank(self) -> None:
        returned = {f"{ODFI[:8]}000000{n}": "R01" for n in (1, 2, 3)}
        lines = return_file(batch(), returned, created_at=CREATED).decode().splitlines()
        headers = [line for line in lines if line.startswith("5")]
        assert [cut(h, 80, 87) for h in headers] == ["01100001", "02100002"]
        assert [cut(h, 88, 94) for h in headers] == ["0000001", "0000002"]

    def test_nothing_returned_is_an_empty_file(self) -> None:
        assert read_returns(return_file(batch(), {}, created_at=CREATED)) == []

    def test_refuses_an_item_not_in_the_batch(self) -> None:
        returned = {"091000010009999": "R01"}
        assert refused(lambda: return_file(batch(), returned, created_at=CREATED)) == [
            "returned.091000010009999"
        ]

    def test_refuses_a_code_that_is_no_return_reason(self) -> None:
        returned = {f"{ODFI[:8]}0000001": "01"}
        assert refused(lambda: return_file(batch(), returned, created_at=CREATED)) == [
            f"returned.{ODFI[:8]}0000001"
        ]

    def test_windows_line_ends_are_read(self) -> None:
        content = return_file(batch(), {f"{ODFI[:8]}0000001": "R01"}, created_at=CREATED)
        assert len(read_returns(content.replace(b"\n", b"\r\n"))) == 1


# -- Malformed return files --------------------------------------------------------------------

# Three returns from two banks: the base file's records are
#  1 file header   2 batch header   3 entry  4 addenda  5 entry  6 addenda  7 batch control
#  8 batch header  9 entry  10 addenda  11 batch control  12 file control  13-20 padding
BASE = return_file(
    batch(),
    {f"{ODFI[:8]}0000001": "R01", f"{ODFI[:8]}0000002": "R03", f"{ODFI[:8]}0000003": "R10"},
    created_at=CREATED,
)


def lines() -> list[bytes]:
    return BASE.split(b"\n")[:-1]


def joined(records: list[bytes]) -> bytes:
    return b"".join(record + b"\n" for record in records)


def overwrite(number: int, start: int, text: str | bytes) -> bytes:
    """The base file with record *number* overwritten from position *start* on."""
    records = lines()
    raw = text.encode("ascii") if isinstance(text, str) else text
    record = records[number - 1]
    records[number - 1] = record[: start - 1] + raw + record[start - 1 + len(raw) :]
    return joined(records)


def without(*numbers: int) -> bytes:
    return joined([r for n, r in enumerate(lines(), 1) if n not in numbers])


def inserted(number: int, record: bytes) -> bytes:
    records = lines()
    records.insert(number - 1, record)
    return joined(records)


def test_the_base_file_is_read() -> None:
    assert [r.reason_code for r in read_returns(BASE)] == ["R01", "R10", "R03"]
    assert len(lines()) == 20


MALFORMED = {
    "empty file": (b"", ["file"]),
    "only blank lines": (b"\n\n", ["file"]),
    "a record one short": (
        joined([*lines()[:4], lines()[4][:93], *lines()[5:]]),
        ["record 5 (entry detail)"],
    ),
    "a record one long": (overwrite(7, 94, "  "), ["record 7 (batch control)"]),
    "an unknown record type": (overwrite(3, 1, "4"), ["record 3, record type code (position 1)"]),
    "a byte that is not ASCII": (
        overwrite(3, 60, b"\xe9"),
        ["record 3 (entry detail), position 60"],
    ),
    "a control character": (overwrite(9, 70, b"\t"), ["record 9 (entry detail), position 70"]),
    "a letter in the amount": (
        overwrite(3, 37, "A"),
        ["record 3 (entry detail), amount (positions 30-39)"],
    ),
    "a record size that is not 094": (
        overwrite(1, 35, "095"),
        ["record 1 (file header), record size (positions 35-37)"],
    ),
    "a forward debit, not a return": (
        overwrite(5, 2, "27"),
        ["record 5 (entry detail), transaction code (positions 2-3)"],
    ),
    "a wrong check digit": (
        overwrite(3, 12, "0"),
        ["record 3 (entry detail), check digit (position 12)"],
    ),
    "an entry that says it has no addenda": (
        overwrite(9, 79, "0"),
        ["record 9 (entry detail), addenda record indicator (position 79)"],
    ),
    "a notification of change addenda": (
        overwrite(4, 2, "98"),
        ["record 4 (addenda), addenda type code (positions 2-3)"],
    ),
    "a reason code that is none": (
        overwrite(6, 4, "X03"),
        ["record 6 (addenda), return reason code (positions 4-6)"],
    ),
    "a batch of credits": (
        overwrite(8, 2, "220"),
        ["record 8 (batch header), service class code (positions 2-4)"],
    ),
    "a batch header inside a batch": (
        inserted(3, lines()[1]),
        ["record 3 (batch header)"],
    ),
    "a file that starts with a batch": (
        without(1),
        ["record 1 (batch header)"],
    ),
    "an entry without its addenda": (without(4), ["record 3 (entry detail)"]),
    "a truncated file": (joined(lines()[:9]), ["file"]),
    "a record after the file control": (
        overwrite(13, 1, lines()[2]),
        ["record 13 (padding)"],
    ),
    "padding that is not all nines": (overwrite(20, 94, "8"), ["record 20 (padding)"]),
    "no padding": (joined(lines()[:12]), ["file"]),
    "a wrong batch entry/addenda count": (
        overwrite(7, 5, "000005"),
        ["record 7 (batch control), entry/addenda count (positions 5-10)"],
    ),
    "a wrong batch entry hash": (
        overwrite(7, 11, "0000000001"),
        ["record 7 (batch control), entry hash (positions 11-20)"],
    ),
    "a wrong batch debit total": (
        overwrite(11, 21, "000000000001"),
        ["record 11 (batch control), total debit entry dollar amount (positions 21-32)"],
    ),
    "a credit total in a batch of debits": (
        overwrite(11, 33, "000000000001"),
        ["record 11 (batch control), total credit entry dollar amount (positions 33-44)"],
    ),
    "a batch control for another batch": (
        overwrite(11, 88, "0000009"),
        ["record 11 (batch control), batch number (positions 88-94)"],
    ),
    "an amount that the controls do not add up to": (
        overwrite(3, 30, "0000099999"),
        [
            "record 7 (batch control), total debit entry dollar amount (positions 21-32)",
            "record 12 (file control), total debit entry dollar amount (positions 32-43)",
        ],
    ),
    "a wrong batch count": (
        overwrite(12, 2, "000003"),
        ["record 12 (file control), batch count (positions 2-7)"],
    ),
    "a wrong block count": (
        overwrite(12, 8, "000001"),
        ["record 12 (file control), block count (positions 8-13)"],
    ),
    "a wrong file entry/addenda count": (
        overwrite(12, 14, "00000007"),
        ["record 12 (file control), entry/addenda count (positions 14-21)"],
    ),
    "a wrong file entry hash": (
        overwrite(12, 22, "0000000000"),
        ["record 12 (file control), entry hash (positions 22-31)"],
    ),
    "an addenda for another entry": (
        overwrite(4, 80, "011000010000009"),
        ["record 4 (addenda), trace number (positions 80-94)"],
    ),
    "a debit returned twice": (
        overwrite(10, 7, f"{ODFI[:8]}0000001"),
        ["record 10 (addenda), original entry trace number (positions 7-21)"],
    ),
}


@pytest.mark.parametrize(("content", "where"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_file_is_refused_whole(content: bytes, where: list[str]) -> None:
    assert refused(lambda: read_returns(content)) == where


@given(st.integers(0, len(BASE) - 1), st.binary(min_size=0, max_size=3), st.integers(0, 3))
@settings(max_examples=300)
def test_any_damage_is_refused_or_read_never_crashes(at: int, text: bytes, cut_out: int) -> None:
    damaged = BASE[:at] + text + BASE[at + cut_out :]
    with contextlib.suppress(ValidationError):
        assert all(r.outcome is DebitOutcome.RETURNED for r in read_returns(damaged))


def test_a_debit_file_is_no_return_file() -> None:
    content = debit_file(batch(), created_at=CREATED)
    assert refused(lambda: read_returns(content)) == [
        f"record {n} (entry detail), {field}"
        for n in (3, 4, 5)
        for field in ("transaction code (positions 2-3)", "addenda record indicator (position 79)")
    ]


def test_every_problem_in_the_records_is_reported() -> None:
    content = overwrite(3, 30, "00000000A0")
    content = joined(
        [*content.split(b"\n")[:5], b"6" * 20, *content.split(b"\n")[6:-1]]  # record 6 short
    )
    assert refused(lambda: read_returns(content)) == [
        "record 3 (entry detail), amount (positions 30-39)",
        "record 6 (entry detail)",
    ]


def test_a_message_says_what_is_wrong() -> None:
    with pytest.raises(ValidationError) as caught:
        read_returns(overwrite(7, 21, "000000000001"))
    assert str(caught.value) == (
        "record 7 (batch control), total debit entry dollar amount (positions 21-32): "
        "says 1; the records add up to 24690"
    )
