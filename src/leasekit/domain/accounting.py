"""The chart of accounts: the accounts a company books to, per company and currency.

A chart is configuration, read from a plain mapping (as settings give it) and checked field by
field. It only grows: an account is added or closed, never renamed, because a code that
silently changes its meaning makes every earlier balance on it lie. A closed account stays in
the chart (its history still reads) but refuses new postings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import attrs

from leasekit.domain.validation import Checks, choice, text
from leasekit.errors import AmountError, DomainError, ValidationError
from leasekit.money import Currency, currency

__all__ = [
    "DEFAULT_ACCOUNTS",
    "Account",
    "AccountKind",
    "ChartOfAccounts",
    "default_chart",
]

_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
MAX_NAME: Final = 200


class AccountKind(StrEnum):
    """Where an account's balance belongs in the statements, which decides its normal side."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


@attrs.frozen
class Account:
    """One account of a chart: a stable *code*, what it is called, and what kind it is."""

    code: str
    name: str
    kind: AccountKind = attrs.field(converter=AccountKind)
    currency: Currency = attrs.field(converter=currency)
    closed: bool = False


def _code(value: object, field: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ValidationError.single(
            field, "1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def _account(data: object, at: str, cur: Currency) -> Account:
    """The account *data* describes; every fault is named under *at*."""
    if not isinstance(data, Mapping):
        raise ValidationError.single(at, "must be a mapping with code, name and kind")
    checks = Checks()
    unknown = sorted(set(data) - {"code", "name", "kind", "closed"})
    for key in unknown:
        checks.add(f"{at}.{key}", "not a field of an account")
    code = checks.run(lambda: _code(data.get("code"), f"{at}.code"))
    name = checks.run(lambda: text(_str(data.get("name")), f"{at}.name", MAX_NAME))
    kind = checks.run(lambda: choice(AccountKind, _str(data.get("kind")), f"{at}.kind"))
    closed = data.get("closed", False)
    if not isinstance(closed, bool):
        checks.add(f"{at}.closed", "must be true or false")
    if code is None or name is None or kind is None or checks.errors:
        raise checks.error()
    return Account(code, name, kind, cur, closed)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _read_only(accounts: Mapping[str, Account]) -> Mapping[str, Account]:
    return MappingProxyType(dict(accounts))


@attrs.frozen
class ChartOfAccounts:
    """The accounts of one company in one currency, by code."""

    company: str
    currency: Currency = attrs.field(converter=currency)
    accounts: Mapping[str, Account] = attrs.field(converter=_read_only, factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> ChartOfAccounts:
        """A chart from ``{"company": ..., "currency": ..., "accounts": [{code, name, kind,
        closed?}, ...]}``; every fault is named by its place (``accounts[3].kind``)."""
        checks = Checks()
        company = checks.run(lambda: text(_str(data.get("company")), "company", MAX_NAME))
        cur = checks.run(lambda: _currency(data.get("currency")))
        rows = data.get("accounts")
        if not isinstance(rows, list) or not rows:
            checks.add("accounts", "must be a non-empty list of accounts")
            rows = []
        accounts: dict[str, Account] = {}
        for index, row in enumerate(rows):
            at = f"accounts[{index}]"
            account = checks.run(functools.partial(_account, row, at, cur or _ANY))
            if account is not None and account.code in accounts:
                checks.add(f"{at}.code", f"{account.code!r} is used twice")
            elif account is not None:
                accounts[account.code] = account
        if company is None or cur is None or checks.errors:
            raise checks.error()
        return cls(company, cur, accounts)

    def add(self, code: str, name: str, kind: AccountKind | str) -> ChartOfAccounts:
        """The chart with a new account. Adding an account again as it is changes nothing;
        giving an existing code another name or kind is refused: that would be a rename."""
        account = Account(
            _code(code, "code"),
            text(name, "name", MAX_NAME),
            choice(AccountKind, str(kind), "kind"),
            self.currency,
        )
        existing = self.accounts.get(account.code)
        if existing is not None:
            if (existing.name, existing.kind) != (account.name, account.kind):
                raise ValidationError.single(
                    "code",
                    f"account {code} exists as {existing.name!r} ({existing.kind}); accounts "
                    "are never renamed: close it and add a new code",
                )
            return self
        return attrs.evolve(self, accounts={**self.accounts, account.code: account})

    def close(self, code: str) -> ChartOfAccounts:
        """The chart with *code* closed to new postings; its history stays."""
        account = self.account(code)
        closed = attrs.evolve(account, closed=True)
        return attrs.evolve(self, accounts={**self.accounts, code: closed})

    def account(self, code: str) -> Account:
        """The account *code*; an unknown code is an error naming the chart."""
        try:
            return self.accounts[code]
        except KeyError:
            raise ValidationError.single(
                "account", f"{code!r} is not in the chart of {self.company} ({self.currency})"
            ) from None

    def in_currency(self, currency_code: str | Currency) -> ChartOfAccounts:
        """The same accounts (codes, names, kinds, closed or open) in another currency: a
        company keeps one set of codes and books each currency in a ledger of its own."""
        cur = currency(currency_code)
        if cur == self.currency:
            return self
        return attrs.evolve(
            self,
            currency=cur,
            accounts={code: attrs.evolve(a, currency=cur) for code, a in self.accounts.items()},
        )

    def postable(self, code: str) -> Account:
        """The account *code* if it may take a posting now: known and open."""
        account = self.account(code)
        if account.closed:
            raise DomainError(f"account {code} ({account.name}) is closed to postings")
        return account


_ANY: Final = currency("USD")
"""Stands in for a chart's currency that was itself at fault, so its accounts are still checked."""


def _currency(value: object) -> Currency:
    try:
        return currency(_str(value))
    except AmountError as exc:  # an unknown code: the message lists the known ones
        raise ValidationError.single("currency", str(exc)) from None


DEFAULT_ACCOUNTS: Final[tuple[tuple[str, str, AccountKind], ...]] = (
    ("1100", "Bank clearing: operating account", AccountKind.ASSET),
    ("1110", "Bank clearing: direct debit creditor account", AccountKind.ASSET),
    ("1200", "Loans receivable", AccountKind.ASSET),
    ("1210", "Net investment in finance leases", AccountKind.ASSET),
    ("1220", "Operating lease receivables", AccountKind.ASSET),
    ("1250", "Interest earned, not yet paid", AccountKind.ASSET),
    ("1500", "Operating-lease assets", AccountKind.ASSET),
    ("1510", "Accumulated depreciation on operating-lease assets", AccountKind.ASSET),
    ("2100", "Dealer payable", AccountKind.LIABILITY),
    ("2200", "Customer credit balances", AccountKind.LIABILITY),
    ("2300", "Unearned finance income", AccountKind.LIABILITY),
    ("2900", "Suspense: receipts not yet allocated", AccountKind.LIABILITY),
    ("3900", "Opening balances: books taken over", AccountKind.EQUITY),
    ("4100", "Interest income", AccountKind.INCOME),
    ("4200", "Fee income", AccountKind.INCOME),
    ("4300", "Penalty income", AccountKind.INCOME),
    ("4400", "Rental income", AccountKind.INCOME),
    ("6100", "Write-off expense", AccountKind.EXPENSE),
    ("6200", "Waived fees expense", AccountKind.EXPENSE),
)
"""A vehicle finance company's accounts: code, name, kind. Accumulated depreciation is an
asset account with a credit balance (a contra-asset); unearned finance income holds financed
fees until they are earned over the contract; opening balances hold the other side of what
contracts taken over from an earlier system owed when they came."""


def default_chart(company: str, currency_code: str | Currency) -> ChartOfAccounts:
    """The default chart for *company* in one currency, read as settings would give it."""
    cur = currency(currency_code)
    return ChartOfAccounts.from_mapping(
        {
            "company": company,
            "currency": cur.code,
            "accounts": [
                {"code": code, "name": name, "kind": str(kind)}
                for code, name, kind in DEFAULT_ACCOUNTS
            ],
        }
    )
