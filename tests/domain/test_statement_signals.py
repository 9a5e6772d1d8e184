"""Each tampering check catches a doctored statement and stays silent on a clean one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st

from leasekit.domain.statement_signals import (
    PdfFacts,
    Severity,
    TamperingSignal,
    count_pdf_revisions,
    date_signals,
    duplicate_line_signals,
    pdf_signals,
    running_balance_signals,
    stated_totals_signals,
    statement_signals,
)
from leasekit.domain.statements import BankStatement, StatementLine, StatementTotals
from leasekit.money import Money


def cny(amount: str | Decimal) -> Money:
    return Money(amount, "CNY")


def line(
    number: int, day: int, amount: str, balance: str | None = None, **fields: str
) -> StatementLine:
    return StatementLine(
        line_id=fields.pop("line_id", f"tx-{number}"),
        booked_on=date(2024, 1, day),
        amount=cny(amount),
        counterparty_name=fields.pop("counterparty_name", f"Party {number}"),
        counterparty_account=fields.pop("counterparty_account", ""),
        balance=cny(balance) if balance is not None else None,
        **fields,
    )


CLEAN = BankStatement(
    "6222000000000001",
    date(2024, 1, 1),
    date(2024, 1, 31),
    cny("1000.00"),
    cny("5879.45"),
    [
        line(1, 5, "8000.00", "9000.00", counterparty_name="Employer Ltd", reference="SAL-01"),
        line(2, 9, "-3120.55", "5879.45", counterparty_name="Leasekit", reference="INV-7"),
    ],
    stated_totals=StatementTotals(2, cny("8000.00"), cny("3120.55"), 1, 1),
)


def doctored(**changes: object) -> BankStatement:
    return attrs.evolve(CLEAN, **changes)


def names(signals: tuple[TamperingSignal, ...]) -> list[str]:
    return [signal.name for signal in signals]


def test_a_clean_statement_raises_no_signal() -> None:
    assert statement_signals(CLEAN) == ()


def test_an_edited_amount_breaks_the_running_balance_once() -> None:
    salary = attrs.evolve(CLEAN.lines[0], amount=cny("18000.00"))
    statement = doctored(lines=[salary, CLEAN.lines[1]], closing_balance=cny("15879.45"))
    signals = running_balance_signals(statement)
    assert names(signals) == ["running_balance", "running_balance"]
    assert "line 1 (tx-1, 2024-01-05) shows balance 9000.00 CNY" in signals[0].detail
    assert "19000.00 CNY" in signals[0].detail
    assert "closing balance 15879.45 CNY" in signals[1].detail
    assert {signal.severity for signal in signals} == {Severity.HIGH}


def test_an_edited_printed_balance_is_caught() -> None:
    rent = attrs.evolve(CLEAN.lines[1], balance=cny("9879.45"))
    statement = doctored(lines=[CLEAN.lines[0], rent])
    assert names(running_balance_signals(statement)) == ["running_balance", "running_balance"]


def test_an_edited_closing_balance_is_caught() -> None:
    statement = doctored(closing_balance=cny("15879.45"))
    assert names(running_balance_signals(statement)) == ["running_balance", "closing_balance"]


def test_lines_without_balances_still_check_the_closing_balance() -> None:
    bare = [attrs.evolve(entry, balance=None) for entry in CLEAN.lines]
    assert running_balance_signals(doctored(lines=bare)) == ()
    signals = running_balance_signals(doctored(lines=bare, closing_balance=cny("6879.45")))
    assert names(signals) == ["running_balance", "closing_balance"]


def test_duplicate_lines() -> None:
    copy = attrs.evolve(CLEAN.lines[0], line_id="tx-3", balance=None)
    statement = doctored(lines=[*CLEAN.lines, copy])
    signals = duplicate_line_signals(statement)
    assert names(signals) == ["duplicate_lines"]
    assert signals[0].severity is Severity.MEDIUM
    assert "lines 1, 3" in signals[0].detail


def test_duplicates_without_a_reference_weigh_little() -> None:
    coffee = line(3, 10, "-25.00", reference="", counterparty_name="Cafe")
    again = attrs.evolve(coffee, line_id="tx-4", counterparty_name="  CAFE ")
    signals = duplicate_line_signals(doctored(lines=[coffee, again]))
    assert [(s.name, s.severity) for s in signals] == [("duplicate_lines", Severity.LOW)]


def test_a_repeated_bank_id_weighs_most() -> None:
    other = attrs.evolve(CLEAN.lines[1], line_id="tx-1")
    signals = duplicate_line_signals(doctored(lines=[CLEAN.lines[0], other]))
    assert [(s.name, s.severity) for s in signals] == [("duplicate_line_ids", Severity.HIGH)]


def test_edited_totals() -> None:
    totals = StatementTotals(3, cny("9000.00"), cny("3120.55"), 1, None)
    signals = stated_totals_signals(doctored(stated_totals=totals))
    assert names(signals) == ["stated_totals", "stated_totals"]
    assert "entries of 3, but its lines give 2" in signals[0].detail
    assert "credits of 9000.00 CNY, but its lines give 8000.00 CNY" in signals[1].detail
    assert stated_totals_signals(doctored(stated_totals=None)) == ()


def test_dates_out_of_order_and_outside_the_period() -> None:
    late = attrs.evolve(CLEAN.lines[1], booked_on=date(2024, 2, 3))
    early = attrs.evolve(CLEAN.lines[0], booked_on=date(2024, 1, 20))
    signals = date_signals(doctored(lines=[early, late]))
    assert names(signals) == ["date_outside_period"]
    assert "line 2 (tx-2, 2024-02-03)" in signals[0].detail
    signals = date_signals(doctored(lines=[early, CLEAN.lines[1]]))
    assert names(signals) == ["dates_out_of_order"]
    assert signals[0].severity is Severity.MEDIUM


@st.composite
def consistent_statements(draw: st.DrawFn) -> BankStatement:
    """A statement as a bank would produce it: dates in order inside the period, every
    printed balance the previous one plus the booking."""
    start = draw(st.dates(date(2020, 1, 1), date(2026, 1, 1)))
    length = draw(st.integers(0, 120))
    amounts = draw(
        st.lists(
            st.decimals(-100_000, 100_000, places=2, allow_nan=False, allow_infinity=False),
            max_size=40,
        )
    )
    offsets = sorted(
        draw(st.lists(st.integers(0, length), min_size=len(amounts), max_size=len(amounts)))
    )
    printed = draw(st.lists(st.booleans(), min_size=len(amounts), max_size=len(amounts)))
    balance = cny(draw(st.decimals(-10_000, 1_000_000, places=2)))
    opening, lines = balance, []
    for number, (amount, offset, shown) in enumerate(zip(amounts, offsets, printed, strict=True)):
        balance = balance + cny(amount)
        lines.append(
            StatementLine(
                f"tx-{number}",
                start + timedelta(days=offset),
                cny(amount),
                f"Party {number}",
                "",
                reference=f"REF-{number}",
                balance=balance if shown else None,
            )
        )
    credits = [entry.amount for entry in lines if entry.amount.amount > 0]
    debits = [-entry.amount for entry in lines if entry.amount.amount < 0]
    totals = StatementTotals(
        len(lines), sum(credits, cny("0")), sum(debits, cny("0")), len(credits), len(debits)
    )
    return BankStatement(
        "acct", start, start + timedelta(days=length), opening, balance, lines, totals
    )


@given(consistent_statements())
def test_a_consistent_statement_is_never_flagged(statement: BankStatement) -> None:
    assert statement_signals(statement) == ()


@given(consistent_statements(), st.data())
def test_any_edited_printed_balance_is_flagged(
    statement: BankStatement, data: st.DataObject
) -> None:
    printed = [index for index, entry in enumerate(statement.lines) if entry.balance is not None]
    if not printed:
        return
    index = data.draw(st.sampled_from(printed))
    bump = data.draw(st.decimals("0.01", "1000", places=2))
    lines = list(statement.lines)
    old = lines[index].balance
    assert old is not None
    lines[index] = attrs.evolve(lines[index], balance=old + cny(bump))
    assert "running_balance" in names(running_balance_signals(attrs.evolve(statement, lines=lines)))


# --- PDF facts ------------------------------------------------------------------------------

MADE = datetime(2024, 2, 1, 6, 0, tzinfo=UTC)
BANK_PDF = PdfFacts(1, 1, False, "Bank Core Reporting 5.2", "Statement Service", MADE, MADE)


def test_a_pdf_as_the_bank_made_it_raises_no_signal() -> None:
    assert pdf_signals(BANK_PDF) == ()
    linearized = attrs.evolve(BANK_PDF, eof_markers=2, xref_sections=2, linearized=True)
    assert pdf_signals(linearized) == ()


def test_a_pdf_saved_again_is_an_incremental_update() -> None:
    signals = pdf_signals(attrs.evolve(BANK_PDF, eof_markers=2, xref_sections=2))
    assert names(signals) == ["pdf_incremental_update"]
    assert "1 more time(s)" in signals[0].detail


def test_an_editor_as_producer_or_creator() -> None:
    edited = attrs.evolve(BANK_PDF, producer="Wondershare PDFelement 9", creator="ilovepdf.com")
    signals = pdf_signals(edited)
    assert names(signals) == ["pdf_editor", "pdf_editor"]
    assert "PDFelement" in signals[0].detail
    assert pdf_signals(edited, editors=["Photoshop"]) == ()


def test_modified_after_creation() -> None:
    later = attrs.evolve(BANK_PDF, modified=MADE + timedelta(days=3))
    assert names(pdf_signals(later)) == ["pdf_modified_after_creation"]
    east = timezone(timedelta(hours=8))
    same_moment = attrs.evolve(BANK_PDF, modified=MADE.astimezone(east))
    assert pdf_signals(same_moment) == ()
    naive = attrs.evolve(BANK_PDF, created=MADE.replace(tzinfo=None), modified=MADE)
    assert pdf_signals(naive) == ()
    slow_generator = attrs.evolve(BANK_PDF, modified=MADE + timedelta(seconds=20))
    assert pdf_signals(slow_generator) == ()
    assert names(pdf_signals(slow_generator, grace=timedelta(0))) == ["pdf_modified_after_creation"]


def test_revisions_are_counted_in_the_raw_bytes() -> None:
    content = b"%PDF-1.7\n...\nstartxref\n123\n%%EOF\n...\nstartxref\n456\n%%EOF\n"
    assert count_pdf_revisions(content) == (2, 2, False)
    assert count_pdf_revisions(b"%PDF-1.4\n1 0 obj <</Linearized 1>>")[2]
