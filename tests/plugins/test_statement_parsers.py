"""The built-in statement parsers on realistic files: exact money, errors that name the line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.builtin.statements import Camt053Parser, CsvStatementParser, Mt940Parser
from leasekit.builtin.statements.delimited import CsvLayout
from leasekit.domain.clock import FixedClock
from leasekit.domain.statement_signals import statement_signals
from leasekit.errors import ConfigurationError, ValidationError
from leasekit.money import Money
from leasekit.plugins import PluginManager, resolve_adapters
from leasekit.ports import StatementTotals

SAMPLES = Path(__file__).parent / "statements"
GERMAN_EXPORT = {
    "currency": "EUR",
    "date_column": "Buchungstag",
    "debit_column": "Soll",
    "credit_column": "Haben",
    "balance_column": "Saldo",
    "counterparty_column": "Empfänger/Auftraggeber",
    "counterparty_account_column": "IBAN",
    "reference_column": "Verwendungszweck",
    "description_column": "Buchungstext",
    "date_format": "%d.%m.%Y",
    "decimal_separator": ",",
    "thousands_separator": ".",
    "delimiter": ";",
}


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def german_csv() -> CsvStatementParser:
    return CsvStatementParser(CsvLayout.from_options(GERMAN_EXPORT))


def plain_csv(**options: str) -> CsvStatementParser:
    return CsvStatementParser(
        CsvLayout.from_options({"currency": "CNY", "balance_column": "balance", **options})
    )


def fields(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [fault.field for fault in error.value.errors]


# --- registration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adapter_id", "options", "parser"),
    [
        ("csv", {"currency": "CNY"}, CsvStatementParser),
        ("camt053", {}, Camt053Parser),
        ("mt940", {}, Mt940Parser),
    ],
)
def test_each_parser_is_chosen_by_settings(
    make_pm: Callable[..., PluginManager],
    tmp_path: Path,
    clock: FixedClock,
    adapter_id: str,
    options: dict[str, str],
    parser: type,
) -> None:
    adapters = resolve_adapters(
        make_pm(),
        {"statement_parser": adapter_id},
        {"statement_parser": options},
        tmp_path,
        clock,
    )
    assert isinstance(adapters.statement_parser, parser)


def test_the_csv_parser_needs_a_currency_and_names_the_variable(
    make_pm: Callable[..., PluginManager], tmp_path: Path, clock: FixedClock
) -> None:
    with pytest.raises(ConfigurationError, match="STATEMENT_PARSER__CURRENCY"):
        resolve_adapters(make_pm(), {"statement_parser": "csv"}, {}, tmp_path, clock)


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"debit_column": "out"}, "DEBIT_COLUMN"),
        ({"decimal_separator": ";"}, "DECIMAL_SEPARATOR"),
        ({"decimal_separator": ",", "thousands_separator": ","}, "THOUSANDS_SEPARATOR"),
        ({"delimiter": ";;"}, "DELIMITER"),
        ({"opening_balance": "lots"}, "OPENING_BALANCE"),
        ({"currency": "XXX"}, "CURRENCY"),
    ],
)
def test_bad_csv_options_name_their_variable(options: dict[str, str], option: str) -> None:
    with pytest.raises(ConfigurationError, match=option):
        CsvLayout.from_options({"currency": "CNY", **options})


# --- CSV ------------------------------------------------------------------------------------


def test_a_german_export_with_bom_debit_credit_and_balance_columns() -> None:
    statement = german_csv().parse((SAMPLES / "bank-export.csv").read_bytes())
    assert statement.opening_balance == eur("1230.15")
    assert statement.closing_balance == eur("6428.28")
    assert (statement.period_start, statement.period_end) == (date(2024, 4, 2), date(2024, 4, 30))
    amounts = [line.amount for line in statement.lines]
    assert amounts == [
        eur("3250.00"),
        eur("-89.50"),
        eur("-62.37"),
        eur("-1150.00"),
        eur("3250.00"),
    ]
    assert all(isinstance(line.amount.amount, Decimal) for line in statement.lines)
    first = statement.lines[0]
    assert first.counterparty_name == "ACME GmbH"
    assert first.counterparty_account == "DE89370400440532013000"
    assert first.reference == "Gehalt März"
    assert first.balance == eur("4480.15")
    assert statement.balances
    assert statement_signals(statement) == ()


def test_csv_line_ids_are_stable_and_unique_for_identical_rows() -> None:
    content = b"date,amount,balance\n2024-01-02,-5.00,95.00\n2024-01-02,-5.00,90.00\n"
    first, again = plain_csv().parse(content), plain_csv().parse(content)
    ids = [line.line_id for line in first.lines]
    assert len(set(ids)) == 2
    assert ids == [line.line_id for line in again.lines]


def test_csv_with_a_signed_amount_column_and_without_balances() -> None:
    parser = CsvStatementParser(
        CsvLayout.from_options({"currency": "CNY", "opening_balance": "100.00", "id_column": "id"})
    )
    statement = parser.parse(b"id,date,amount\nA1,2024-01-02,1000.10\nA2,2024-01-03,-0.10\n")
    assert statement.opening_balance == Money("100.00", "CNY")
    assert statement.closing_balance == Money("1100.00", "CNY")
    assert [line.line_id for line in statement.lines] == ["A1", "A2"]
    assert all(line.balance is None for line in statement.lines)


def test_csv_listed_newest_first_is_put_in_date_order() -> None:
    content = b"date,amount,balance\n2024-01-03,-10.00,90.00\n2024-01-02,50.00,100.00\n"
    statement = plain_csv().parse(content)
    assert [line.booked_on.day for line in statement.lines] == [2, 3]
    assert statement.opening_balance == Money("50.00", "CNY")
    assert statement.balances


def test_csv_tab_delimited_with_trailing_minus() -> None:
    statement = plain_csv(delimiter="tab").parse(
        b"date\tamount\tbalance\n2024-01-02\t12.50-\t87.50\n"
    )
    assert statement.lines[0].amount == Money("-12.50", "CNY")


def test_csv_errors_name_each_line_and_column() -> None:
    content = (
        b"date,amount,balance\n"
        b"2024-01-02,10.00,110.00\n"
        b"02/01/2024,10.00,120.00\n"
        b"2024-01-04,ten,130.00\n"
        b"2024-01-05,0.1e,\n"
    )
    with pytest.raises(ValidationError) as error:
        plain_csv().parse(content)
    assert fields(error) == ["line 3", "line 4", "line 5", "line 5"]
    assert "'date'" in str(error.value)
    assert "'ten' is not an amount" in str(error.value)
    assert "column 'balance': is empty" in str(error.value)


def test_csv_missing_columns_are_named_with_the_header() -> None:
    with pytest.raises(ValidationError, match=r"line 1: no column 'balance'.*'date', 'amount'"):
        plain_csv().parse(b"date,amount\n2024-01-02,1.00\n")


def test_csv_bytes_in_another_encoding_name_their_line() -> None:
    with pytest.raises(ValidationError) as error:
        plain_csv().parse("date,amount,balance\n2024-01-02,1.00,1.00 \u00e9\n".encode("latin-1"))
    assert fields(error) == ["line 2"]


def test_csv_reads_a_configured_encoding() -> None:
    parser = plain_csv(encoding="gbk", counterparty_column="counterparty")
    statement = parser.parse(
        "date,amount,balance,counterparty\n2024-01-02,1.00,1.00,工资\n".encode("gbk")
    )
    assert statement.lines[0].counterparty_name == "工资"


def test_csv_with_a_row_longer_than_its_header() -> None:
    with pytest.raises(ValidationError, match="line 2: has more fields"):
        plain_csv().parse(b"date,amount,balance\n2024-01-02,1.00,1.00,extra\n")
    with pytest.raises(ValidationError, match="line 2: has more fields"):
        plain_csv().parse(b"date,amount,balance\n,,,extra\n")


def test_an_empty_csv_is_refused() -> None:
    with pytest.raises(ValidationError, match="no bookings"):
        plain_csv().parse(b"date,amount,balance\n")


# --- camt.053 -------------------------------------------------------------------------------


def test_a_camt053_statement() -> None:
    statement = Camt053Parser().parse((SAMPLES / "camt053.xml").read_bytes())
    assert statement.account == "DE89370400440532013000"
    assert (statement.period_start, statement.period_end) == (date(2024, 1, 1), date(2024, 1, 31))
    assert statement.opening_balance == eur("1230.15")
    assert statement.closing_balance == eur("3240.65")
    assert [line.amount for line in statement.lines] == [
        eur("3250.00"),
        eur("-89.50"),
        eur("-1150.00"),
    ]  # the pending entry is not booked
    salary, power, rent = statement.lines
    assert (salary.line_id, salary.counterparty_name) == ("2024010200001", "ACME GmbH")
    assert salary.counterparty_account == "DE02120300000000202051"
    assert salary.reference == "PAYROLL-2024-01"
    assert power.counterparty_name == "Stadtwerke München"
    assert power.reference == "Abschlag Strom Kd-Nr 4711"  # EndToEndId NOTPROVIDED
    assert (rent.counterparty_name, rent.reference) == ("Hausverwaltung Meier", "RF18539007547034")
    assert statement.stated_totals == StatementTotals(3, eur("3250.00"), eur("1239.50"), 1, 2)
    assert statement_signals(statement) == ()


def _camt(replace: str, by: str) -> bytes:
    text = (SAMPLES / "camt053.xml").read_text(encoding="utf-8")
    assert replace in text
    return text.replace(replace, by, 1).encode("utf-8")


def test_camt053_errors_name_the_element() -> None:
    with pytest.raises(ValidationError) as error:
        Camt053Parser().parse(_camt('<Amt Ccy="EUR">89.50</Amt>', '<Amt Ccy="EUR">89,50</Amt>'))
    assert fields(error) == ["Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt"]
    with pytest.raises(ValidationError) as error:
        Camt053Parser().parse(_camt("<Cd>CLBD</Cd>", "<Cd>ITBD</Cd>"))
    assert fields(error) == ["Document/BkToCstmrStmt/Stmt/Bal"]
    with pytest.raises(ValidationError) as error:
        Camt053Parser().parse(_camt("<BookgDt><Dt>2024-01-03</Dt></BookgDt>", ""))
    assert fields(error) == ["Document/BkToCstmrStmt/Stmt/Ntry[2]/BookgDt"]


def test_malformed_camt053_names_the_line() -> None:
    with pytest.raises(ValidationError) as error:
        Camt053Parser().parse(_camt("</NtryRef>", "</NtryReff>"))
    assert fields(error) == ["line 38"]


def test_camt053_refuses_a_dtd_so_entities_cannot_expand() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol2;</Document>'
    )
    with pytest.raises(ValidationError, match="DTD"):
        Camt053Parser().parse(bomb)


def test_camt053_refuses_other_documents_and_many_statements() -> None:
    with pytest.raises(ValidationError, match=r"not a camt\.053 document"):
        Camt053Parser().parse(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>')
    text = (SAMPLES / "camt053.xml").read_text(encoding="utf-8")
    start, end = text.index("<Stmt>"), text.index("</Stmt>") + len("</Stmt>")
    doubled = text[:end] + text[start:end] + text[end:]
    with pytest.raises(ValidationError, match="holds 2 statements"):
        Camt053Parser().parse(doubled.encode("utf-8"))


def test_camt053_edited_totals_are_read_for_the_checks() -> None:
    statement = Camt053Parser().parse(_camt("<Sum>3250.00</Sum>", "<Sum>5250.00</Sum>"))
    assert [signal.name for signal in statement_signals(statement)] == ["stated_totals"]


# --- MT940 ----------------------------------------------------------------------------------


def test_an_mt940_file_of_two_daily_statements() -> None:
    statement = Mt940Parser().parse((SAMPLES / "mt940.sta").read_bytes())
    assert statement.account == "DE89370400440532013000"
    assert statement.opening_balance == eur("1230.15")
    assert statement.closing_balance == eur("3178.28")
    assert (statement.period_start, statement.period_end) == (date(2024, 2, 28), date(2024, 3, 1))
    assert [line.amount for line in statement.lines] == [
        eur("3250.00"),
        eur("-89.50"),
        eur("-1150.00"),
        eur("-62.37"),
    ]
    salary, power, rent, shop = statement.lines
    assert (salary.line_id, salary.counterparty_name) == ("B2402290001", "ACME GmbH")
    assert salary.counterparty_account == "DE02120300000000202051"
    assert salary.description == "Gehalt Februar 2024"
    assert (power.reference, power.balance) == ("KD4711", eur("4390.65"))
    assert (rent.counterparty_name, rent.description) == ("Hausverwaltung Meier", "Miete Maerz")
    assert rent.counterparty_account == "DE44500105175407324931"
    assert (shop.description, shop.balance) == ("Kartenzahlung REWE Markt", eur("3178.28"))
    assert statement_signals(statement) == ()


def _mt940(replace: str, by: str) -> bytes:
    text = (SAMPLES / "mt940.sta").read_text(encoding="utf-8")
    assert replace in text
    return text.replace(replace, by, 1).encode("utf-8")


def test_an_unreadable_mt940_field_names_its_line() -> None:
    with pytest.raises(ValidationError) as error:
        Mt940Parser().parse(_mt940(":60F:C240229EUR4390,65", ":60F:C24022XEUR4390,65"))
    assert fields(error) == ["line 15"]


def test_an_mt940_file_without_statements_is_refused() -> None:
    with pytest.raises(ValidationError, match="no MT940 statement"):
        Mt940Parser().parse(b"Kontoauszug\nnothing to see\n")


def test_mt940_without_a_closing_balance_is_refused() -> None:
    with pytest.raises(ValidationError, match=":62F:"):
        Mt940Parser().parse(_mt940(":62F:C240301EUR3178,28", ""))


def test_mt940_of_two_accounts_is_refused() -> None:
    with pytest.raises(ValidationError, match="2 accounts"):
        Mt940Parser().parse(_mt940(":25:DE89370400440532013000\n:28C:00013", ":25:X\n:28C:00013"))


def test_a_gap_between_mt940_days_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        Mt940Parser().parse(_mt940(":60F:C240229EUR4390,65", ":60F:C240229EUR4490,65"))
    assert fields(error) == ["statement 2 :60F:"]


def test_an_edited_mt940_booking_shows_in_the_checks() -> None:
    statement = Mt940Parser().parse(_mt940("D89,50NDDT", "D39,50NDDT"))
    names = [signal.name for signal in statement_signals(statement)]
    assert names == ["running_balance", "closing_balance"]


# --- anything else is a ValidationError -------------------------------------------------------

PARSERS = {
    "csv": (german_csv, "bank-export.csv"),
    "camt053": (Camt053Parser, "camt053.xml"),
    "mt940": (Mt940Parser, "mt940.sta"),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damaged_files_are_read_or_refused_with_a_validation_error(
    name: str, data: st.DataObject
) -> None:
    """A file with bytes cut, changed or inserted parses, or is a ValidationError: never
    another exception, never a float."""
    make, sample = PARSERS[name]
    content = bytearray((SAMPLES / sample).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(content) - 1))
        action = data.draw(st.sampled_from(["cut", "change", "insert"]))
        if action == "cut":
            del content[at : at + data.draw(st.integers(1, 40))]
        elif action == "change":
            content[at] = data.draw(st.integers(0, 255))
        else:
            content[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        if not content:
            content = bytearray(b"x")
    try:
        statement = make().parse(bytes(content))
    except ValidationError:
        return
    assert all(isinstance(line.amount.amount, Decimal) for line in statement.lines)
