"""Accounting reports, for finance: the trial balance of a period, an account's general-ledger
detail, and a contract's sub-ledger checked against what the contract still owes.

Balances are debits less credits, in one currency's ledger (the company's unless asked: each
currency is booked in a ledger of its own, to the same codes). A contract's sub-ledger is
every line carrying its dimension; its receivable account (the default templates' one for its
business type, :func:`~leasekit.domain.voucher_templates.receivable_of`) should hold exactly
the parts of the schedule still unpaid that the templates book there, and the report says
whether it does. Every report is also a CSV file (:func:`csv_chunks`), the general ledger's
streamed line by line.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

import attrs

from leasekit.domain.accounting import AccountKind, ChartOfAccounts
from leasekit.domain.contracts import Contract, Receivable
from leasekit.domain.identity import Actor
from leasekit.domain.voucher_templates import receivable_of
from leasekit.domain.vouchers import Side
from leasekit.errors import AmountError, ValidationError
from leasekit.services.accounting import ensure_accountant
from leasekit.services.context import ServiceContext, page_size
from leasekit.services.storage import AccountMovement, LedgerKey, LedgerLine

__all__ = [
    "AccountLedger",
    "ContractSubLedger",
    "LedgerEntry",
    "Period",
    "SubLedgerAccount",
    "TrialBalance",
    "TrialBalanceRow",
    "account_ledger",
    "cell_text",
    "contract_sub_ledger",
    "csv_chunks",
    "ledger_csv_rows",
    "sub_ledger_csv_rows",
    "trial_balance",
    "trial_balance_csv_rows",
]

_ZERO: Final = Decimal(0)
_NOT_IN_CHART: Final = "(not in the chart)"


# --- the period and the ledger ------------------------------------------------------------------


@attrs.frozen
class Period:
    """Business dates from *start* to *end*, both included."""

    start: date
    end: date

    def __attrs_post_init__(self) -> None:
        if self.start > self.end:
            raise ValidationError.single(
                "from", f"{self.start.isoformat()} is after to ({self.end.isoformat()})"
            )

    @property
    def opening_key(self) -> LedgerKey:
        """The place before every line of the period."""
        return LedgerKey(self.start, "", 0)

    @property
    def closing_key(self) -> LedgerKey:
        """The place after every line of the period."""
        return LedgerKey(self.end + timedelta(days=1), "", 0)


def _chart(ctx: ServiceContext, currency_code: str | None) -> ChartOfAccounts:
    """The company's chart in *currency_code*'s ledger (its own currency's when None)."""
    chart = ctx.accounting.chart
    if currency_code is None:
        return chart
    try:
        return chart.in_currency(currency_code)
    except AmountError as exc:
        raise ValidationError.single("currency", str(exc)) from None


def _described(chart: ChartOfAccounts, code: str) -> tuple[str, AccountKind | None]:
    """The account's name and kind; an account the chart no longer names still reports."""
    account = chart.accounts.get(code)
    return (_NOT_IN_CHART, None) if account is None else (account.name, account.kind)


def _signed(side: str, amount: Decimal) -> Decimal:
    return amount if side == Side.DEBIT else -amount


# --- the trial balance --------------------------------------------------------------------------


@attrs.frozen
class TrialBalanceRow:
    """One account in the period: balance before it, debits and credits in it, balance after.
    Balances are debits less credits."""

    account: str
    name: str
    kind: AccountKind | None
    opening: Decimal
    debits: Decimal
    credits: Decimal
    closing: Decimal


@attrs.frozen
class TrialBalance:
    """Every account's movements in a period, and their totals: the books balance when the
    debits equal the credits and the balances (before and after) come to zero."""

    currency: str
    from_date: date
    to_date: date
    accounts: tuple[TrialBalanceRow, ...]
    opening: Decimal
    debits: Decimal
    credits: Decimal
    closing: Decimal
    balanced: bool


def _row(chart: ChartOfAccounts, moved: AccountMovement) -> TrialBalanceRow:
    name, kind = _described(chart, moved.account)
    closing = moved.opening + moved.debits - moved.credits
    return TrialBalanceRow(
        moved.account, name, kind, moved.opening, moved.debits, moved.credits, closing
    )


def _quiet(row: TrialBalanceRow) -> bool:
    return row.opening == row.debits == row.credits == row.closing == 0


def trial_balance(
    ctx: ServiceContext,
    actor: Actor,
    period: Period,
    currency_code: str | None = None,
    *,
    every_account: bool = False,
) -> TrialBalance:
    """The trial balance of *period* in one currency's ledger, by account code. Accounts
    that neither moved nor hold a balance are left out unless *every_account*. Finance."""
    ensure_accountant(actor, "trial balance")
    chart = _chart(ctx, currency_code)
    with ctx.uow_factory() as uow:
        moved = uow.ledger_reports.movements(chart.currency.code, period.start, period.end)
    found = {movement.account: movement for movement in moved}
    if every_account:
        for code in chart.accounts:
            found.setdefault(code, AccountMovement(code, _ZERO, _ZERO, _ZERO))
    rows = [_row(chart, found[code]) for code in sorted(found)]
    rows = [row for row in rows if every_account or not _quiet(row)]
    opening = sum((row.opening for row in rows), _ZERO)
    debits = sum((row.debits for row in rows), _ZERO)
    credits = sum((row.credits for row in rows), _ZERO)
    closing = sum((row.closing for row in rows), _ZERO)
    return TrialBalance(
        chart.currency.code, period.start, period.end, tuple(rows), opening, debits, credits,
        closing, balanced=debits == credits and opening == closing == 0,
    )  # fmt: skip


# --- an account's ledger ------------------------------------------------------------------------


@attrs.frozen
class LedgerEntry:
    """A journal line in a ledger, with the balance after it."""

    business_date: date
    voucher_id: str
    line_no: int
    event_type: str | None
    description: str
    memo: str
    side: Side = attrs.field(converter=Side)
    amount: Decimal
    contract_id: str | None
    balance: Decimal


@attrs.frozen
class AccountLedger:
    """One page of an account's lines in a period, with the balance before the period, the
    balance after it, and the cursor of the next page (None on the last)."""

    account: str
    name: str
    kind: AccountKind | None
    currency: str
    from_date: date
    to_date: date
    opening: Decimal
    lines: tuple[LedgerEntry, ...]
    closing: Decimal
    next_after: str | None


def _entries(lines: Iterable[LedgerLine], balance: Decimal) -> Iterator[LedgerEntry]:
    """*lines* with the running balance, from *balance*."""
    for line in lines:
        balance += _signed(line.side, line.amount)
        yield LedgerEntry(
            line.business_date, line.voucher_id, line.line_no, line.event_type,
            line.description, line.memo, line.side, line.amount, line.contract_id, balance,
        )  # fmt: skip


def _cursor(key: LedgerKey) -> str:
    return f"{key.business_date.isoformat()}.{key.voucher_id}.{key.line_no}"


def _key(after: str) -> LedgerKey:
    """The place an ``after`` cursor names; anything but a cursor this server gave is an
    input error, not an empty page."""
    day, voucher_id, line_no = ([*after.split("."), "", ""])[:3]
    try:
        business_date = date.fromisoformat(day)
    except ValueError:
        business_date = None
    if business_date is None or not voucher_id.isalnum() or not line_no.isdecimal():
        raise ValidationError.single("after", "not a cursor this server gave")
    return LedgerKey(business_date, voucher_id, int(line_no[:9]))


def account_ledger(
    ctx: ServiceContext,
    actor: Actor,
    account: str,
    period: Period,
    currency_code: str | None = None,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> AccountLedger:
    """An account's general-ledger detail in *period*, one page at a time: every line (date,
    voucher, event, description, memo, side, amount, contract) with the running balance.
    An account not in the chart is refused. Finance."""
    ensure_accountant(actor, "ledger")
    size = page_size(limit)
    chart = _chart(ctx, currency_code)
    known = chart.account(account)
    code = chart.currency.code
    start = None if after is None else _key(after)
    places = [period.opening_key, period.closing_key]
    if start is not None:
        following = start._replace(line_no=start.line_no + 1)
        places.append(max(following, period.opening_key))
    with ctx.uow_factory() as uow:
        reports = uow.ledger_reports
        opening, closing, *at_cursor = reports.balances_before(account, code, places)
        found = list(reports.lines(account, code, period.start, period.end, after=start,
                                   limit=size + 1))  # fmt: skip
    balance = at_cursor[0] if at_cursor else opening
    page = list(_entries(found[:size], balance))
    more = len(found) > size
    return AccountLedger(
        account, known.name, known.kind, code, period.start, period.end, opening, tuple(page),
        closing, _cursor(found[size - 1].key) if more else None,
    )  # fmt: skip


# --- a contract's sub-ledger --------------------------------------------------------------------


@attrs.frozen
class SubLedgerAccount:
    """A contract's lines on one account in one currency, with their running balance."""

    account: str
    name: str
    kind: AccountKind | None
    currency: str
    debits: Decimal
    credits: Decimal
    balance: Decimal
    lines: tuple[LedgerEntry, ...]


@attrs.frozen
class ContractSubLedger:
    """Every line carrying a contract's dimension, by account; and whether its receivable
    account holds what its schedule still owes of the parts booked there (``difference`` is
    the account's balance less that)."""

    contract_id: str
    contract_number: str
    business_type: str
    currency: str
    accounts: tuple[SubLedgerAccount, ...]
    receivable_account: str
    receivable_parts: tuple[str, ...]
    receivable_balance: Decimal
    outstanding: Decimal
    difference: Decimal
    matches: bool


def _by_account(chart: ChartOfAccounts, lines: Iterable[LedgerLine]) -> Iterator[SubLedgerAccount]:
    """*lines*, in currency and account order, as one :class:`SubLedgerAccount` each."""
    for _, held in itertools.groupby(lines, key=lambda line: (line.currency, line.account)):
        yield _sub_account(chart, list(held))


def _sub_account(chart: ChartOfAccounts, lines: Sequence[LedgerLine]) -> SubLedgerAccount:
    first = lines[0]
    name, kind = _described(chart, first.account)
    entries = tuple(_entries(lines, _ZERO))
    debits = sum((line.amount for line in lines if line.side == Side.DEBIT), _ZERO)
    credits = sum((line.amount for line in lines if line.side == Side.CREDIT), _ZERO)
    return SubLedgerAccount(
        first.account, name, kind, first.currency, debits, credits, debits - credits, entries
    )


def _owed(lines: Iterable[Receivable], parts: Sequence[str]) -> Decimal:
    """What the schedule still owes of *parts*; a written-off line owes nothing any more."""
    return sum(
        (line.owed(part).amount for line in lines if line.written_off_on is None
         for part in parts),
        _ZERO,
    )  # fmt: skip


def contract_sub_ledger(ctx: ServiceContext, actor: Actor, contract_id: str) -> ContractSubLedger:
    """A contract's sub-ledger: every voucher line carrying its dimension, by account, with
    balances; and whether its receivable account equals the receivables it still has
    outstanding (``matches``, and the ``difference``). Finance; 404 for an unknown
    contract."""
    ensure_accountant(actor, "sub-ledger")
    with ctx.uow_factory() as uow:
        contract: Contract = uow.contracts.get(contract_id)
        lines = list(uow.ledger_reports.for_contract(contract_id))
        schedule = uow.receivables.list_for_contract(contract_id)
    code = contract.principal.currency.code
    chart = _chart(ctx, code)
    accounts = tuple(_by_account(chart, lines))
    receivable, parts = receivable_of(str(contract.business_type))
    balance = sum(
        (held.balance for held in accounts
         if held.account == receivable and held.currency == code),
        _ZERO,
    )  # fmt: skip
    outstanding = _owed(schedule, parts)
    return ContractSubLedger(
        contract.id, contract.number, str(contract.business_type), code, accounts, receivable,
        parts, balance, outstanding, balance - outstanding, matches=balance == outstanding,
    )  # fmt: skip


# --- CSV ----------------------------------------------------------------------------------------

Cells = Sequence[object]
CSV_CHUNK: Final = 64 * 1024


def cell_text(value: object) -> str:
    """A cell as CSV and tables write it: decimals exact, dates ISO 8601, None empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_chunks(rows: Iterable[Cells]) -> Iterator[bytes]:
    """*rows* as CSV in UTF-8, in chunks of about :data:`CSV_CHUNK` bytes, so a long report
    streams; decimals are written exactly, dates as ISO 8601, None as an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell_text(cell) for cell in row])
        if buffer.tell() >= CSV_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


TRIAL_BALANCE_COLUMNS: Final = (
    "account", "name", "kind", "opening", "debits", "credits", "closing",
)  # fmt: skip
LEDGER_COLUMNS: Final = (
    "business_date", "voucher_id", "line_no", "event_type", "description", "memo", "side",
    "amount", "contract_id", "balance",
)  # fmt: skip


def trial_balance_csv_rows(report: TrialBalance) -> Iterator[Cells]:
    """The header, an account a row, and the totals (account ``total``)."""
    yield TRIAL_BALANCE_COLUMNS
    for row in report.accounts:
        yield (row.account, row.name, row.kind, row.opening, row.debits, row.credits,
               row.closing)  # fmt: skip
    yield ("total", "", "", report.opening, report.debits, report.credits, report.closing)


def _entry_cells(entry: LedgerEntry) -> Cells:
    return (
        entry.business_date, entry.voucher_id, entry.line_no, entry.event_type,
        entry.description, entry.memo, entry.side, entry.amount, entry.contract_id,
        entry.balance,
    )  # fmt: skip


def ledger_csv_rows(
    ctx: ServiceContext,
    actor: Actor,
    account: str,
    period: Period,
    currency_code: str | None = None,
) -> Iterator[Cells]:
    """An account's whole ledger in *period* as CSV rows: the header, the opening balance
    (``opening`` in the description), every line with the running balance, streamed from one
    transaction, and the closing balance. The checks happen before the first row. Finance."""
    ensure_accountant(actor, "ledger")
    chart = _chart(ctx, currency_code)
    chart.account(account)
    return _ledger_rows(ctx, account, period, chart.currency.code)


def _ledger_rows(
    ctx: ServiceContext, account: str, period: Period, currency_code: str
) -> Iterator[Cells]:
    yield LEDGER_COLUMNS
    with ctx.uow_factory() as uow:
        reports = uow.ledger_reports
        (balance,) = reports.balances_before(account, currency_code, [period.opening_key])
        yield (period.start, "", "", "", "opening", "", "", "", "", balance)
        lines = reports.lines(account, currency_code, period.start, period.end)
        for entry in _entries(lines, balance):
            balance = entry.balance
            yield _entry_cells(entry)
    yield (period.end, "", "", "", "closing", "", "", "", "", balance)


def sub_ledger_csv_rows(report: ContractSubLedger) -> Iterator[Cells]:
    """The header, then each account's lines with its running balance (``account`` and
    ``currency`` in front of the ledger's columns)."""
    yield ("account", "currency", *LEDGER_COLUMNS)
    for held in report.accounts:
        for entry in held.lines:
            yield (held.account, held.currency, *_entry_cells(entry))
