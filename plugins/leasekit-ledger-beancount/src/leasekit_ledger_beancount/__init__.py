"""A general ledger for leasekit kept as a Beancount file, adapter id ``beancount``.

Each voucher becomes one transaction appended to the file: dated on its business date, its
description as narration, its idempotency key and voucher id as metadata, and each line's
dimensions (``contract``, ``partner`` ...) and memo as the posting's metadata. The file is
only ever appended to, and stays a valid Beancount ledger that ``bean-check``, ``bean-query``
or Fava read as they read any other.

Account names. Beancount's must start with ``Assets``, ``Liabilities``, ``Equity``,
``Income`` or ``Expenses``. A leasekit account code is named by the ``accounts`` option if it
lists the code, else by the code's first digit (``roots``: by default 1 Assets, 2 Liabilities,
3 Equity, 4 Income, 5-9 Expenses) with the code itself as the rest of the name, its runs of
characters other than letters and digits made hyphens: ``1221 finance lease receivables`` is
``Assets:1221-finance-lease-receivables``. Each account is opened (dated 1970-01-01) in the
same write as the first transaction that uses it, with its leasekit code as metadata, and
keeps the name it was opened with: the file, not the options, maps names back to codes.

Options (``LEASEKIT_ADAPTER_OPTIONS__LEDGER__<NAME>``):

======================  ======================================================  ================
``path``                the ledger file (relative: to the data folder)          ``ledger.beancount``
``operating_currency``  written in the file's header when it is created         first voucher's
``accounts``            ``code=Beancount:Name`` pairs separated by commas       none
``roots``               ``digit=Root`` pairs that replace the default roots     see above
======================  ======================================================  ================

Exactly once. The idempotency keys in the file are indexed (read with Beancount's parser,
incrementally) under an exclusive ``fcntl`` lock on the file, which each post holds from
that read to the end of its own append, so two processes never post one key twice nor
interleave their lines. A repeated key returns the first receipt; the same key with another
voucher is a :class:`~leasekit.errors.ConflictError`.

Crashes. A transaction, with the opens it needs, is written with one ``write``, then
flushed to disk (``fsync``) before the receipt is returned. Entries contain no blank line
and each ends with one, so a write cut short by a crash leaves a file that does not end
with a blank line. The adapter then refuses every call with a :class:`LedgerFileError` that
names the line where the incomplete entry starts, rather than append after it or cut it
itself: the entry was never acknowledged, so once a person deletes it from that line on,
leasekit posts the voucher again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from leasekit import hookimpl, money
from leasekit.domain.clock import Clock
from leasekit.errors import (
    AdapterError,
    AmountError,
    ConfigurationError,
    ConflictError,
    ValidationError,
)
from leasekit.money import Money
from leasekit.ports import (
    DIMENSIONS,
    AdapterContext,
    Ledger,
    LedgerBalance,
    LedgerReceipt,
    LedgerVoucher,
    Register,
)

if TYPE_CHECKING:
    from beancount.core.data import Directives

__all__ = [
    "DEFAULT_ROOTS",
    "BeancountLedger",
    "LedgerFileError",
    "beancount_name",
    "leasekit_register_ledgers",
]

ADAPTER_ID: Final = "beancount"
ROOTS: Final = ("Assets", "Liabilities", "Equity", "Income", "Expenses")
DEFAULT_ROOTS: Final = MappingProxyType(
    {"1": "Assets", "2": "Liabilities", "3": "Equity", "4": "Income"}
    | dict.fromkeys("56789", "Expenses")
)
"""The root of an account by the first digit of its leasekit code."""
OPENED_ON: Final = "1970-01-01"
"""Every account is opened on this date, so that it is open before any voucher uses it."""
ENTRY_END: Final = b"\n\n"
_NOT_A_NAME_CHARACTER: Final = re.compile(r"[^\w]|_", re.UNICODE)


class LedgerFileError(AdapterError):
    """The ledger file cannot be read or written, or holds what Beancount cannot parse."""


@attrs.frozen
class _Posted:
    """What the file says of one idempotency key."""

    digest: str
    receipt: LedgerReceipt


def beancount_name(code: str, roots: Mapping[str, str] = DEFAULT_ROOTS) -> str | None:
    """The Beancount account named after leasekit account *code* by its first digit, or None
    when *roots* gives no root for it."""
    root = roots.get(code.strip()[:1])
    leaf = "-".join(part for part in _NOT_A_NAME_CHARACTER.split(code) if part)
    return None if root is None or not leaf else f"{root}:{leaf}"


def _valid_name(name: str, where: str) -> str:
    from beancount.core import account

    if not account.is_valid(name) or name.split(":")[0] not in ROOTS:
        raise ConfigurationError(
            f"{where}: {name!r} is not a Beancount account name (Root:Component, the root one "
            f"of {', '.join(ROOTS)}, each component starting with a capital letter or digit)"
        )
    return name


def _currency_option(code: str) -> str:
    try:
        return money.currency(code).code
    except AmountError as exc:
        raise ConfigurationError(f"ledger operating_currency: {exc}") from None


def _pairs(raw: str | None, option: str) -> dict[str, str]:
    """``key=value`` pairs separated by commas, as an option gives them."""
    pairs: dict[str, str] = {}
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigurationError(f"adapter option {option}: {item.strip()!r} is not key=value")
        pairs[key.strip()] = value.strip()
    return pairs


def _quoted(text: str) -> str:
    """*text* as a Beancount string; newlines escaped, so an entry holds no blank line."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _plain(amount: Decimal) -> str:
    return format(amount, "f")


def _digest(voucher: LedgerVoucher) -> str:
    """A fingerprint of everything a voucher says, equal for equal vouchers (``100`` and
    ``100.00`` alike), to tell a repeat from another voucher under a reused key."""
    canonical = {
        "voucher_id": voucher.voucher_id,
        "date": voucher.business_date.isoformat(),
        "description": voucher.description,
        "lines": [
            [
                line.account,
                line.side.value,
                _plain(line.amount.amount.normalize()),
                line.amount.currency.code,
                line.memo,
                sorted(line.dimensions.items()),
            ]
            for line in voucher.lines
        ],
    }
    encoded = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def _sums(entries: Directives, code: str) -> dict[tuple[str, str | None], Decimal]:
    """The postings in currency *code* summed by leasekit account and contract; an account
    opened without a leasekit code keeps its Beancount name."""
    from beancount.core.data import Open, Transaction

    codes = {
        entry.account: str(entry.meta.get("leasekit-account", entry.account))
        for entry in entries
        if isinstance(entry, Open)
    }
    totals: dict[tuple[str, str | None], Decimal] = {}
    for entry in entries:
        if not isinstance(entry, Transaction):
            continue
        for posting in entry.postings:
            units = posting.units
            if units is None or units.number is None or units.currency != code:
                continue
            contract = (posting.meta or {}).get("contract")
            pair = (codes[posting.account], None if contract is None else str(contract))
            totals[pair] = totals.get(pair, Decimal(0)) + units.number
    return totals


class BeancountLedger:
    """Posts vouchers to the Beancount file at *path* (see the module)."""

    def __init__(
        self,
        path: Path,
        clock: Clock,
        *,
        operating_currency: str | None = None,
        accounts: Mapping[str, str] | None = None,
        roots: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.clock = clock
        self.operating_currency = (
            None if operating_currency is None else _currency_option(operating_currency)
        )
        self.accounts = {
            code: _valid_name(name, f"ledger account {code!r}")
            for code, name in (accounts or {}).items()
        }
        self.roots = {**DEFAULT_ROOTS, **(roots or {})}
        for digit, root in self.roots.items():
            if len(digit) != 1 or root not in ROOTS:
                raise ConfigurationError(
                    f"ledger root {digit}={root}: give one first character and one of "
                    f"{', '.join(ROOTS)}"
                )
        self._mutex = threading.Lock()
        self._reset(inode=None)

    def __repr__(self) -> str:
        return f"BeancountLedger({str(self.path)!r})"

    @classmethod
    def from_context(cls, context: AdapterContext) -> BeancountLedger:
        path = Path(context.option("path") or "ledger.beancount")
        return cls(
            path if path.is_absolute() else context.data_dir / path,
            context.clock,
            operating_currency=context.option("operating_currency"),
            accounts=_pairs(context.option("accounts"), "accounts"),
            roots=_pairs(context.option("roots"), "roots"),
        )

    def post(self, voucher: LedgerVoucher, idempotency_key: str) -> LedgerReceipt:
        digest = _digest(voucher)
        with self._locked(fcntl.LOCK_EX) as fd:
            posted = self._posted.get(idempotency_key)
            if posted is not None:
                if posted.digest != digest:
                    raise ConflictError(
                        f"idempotency key {idempotency_key!r} was posted as another voucher, "
                        f"at {posted.receipt.ledger_reference}"
                    )
                return posted.receipt
            return self._append(fd, voucher, idempotency_key, digest)

    def balances(self, currency: str) -> list[LedgerBalance]:
        """Every (account, contract) pair with postings in *currency*, summed from the file as
        Beancount's loader reads it (with its checks: an error in the file is refused)."""
        from beancount import loader

        code = money.currency(currency).code
        with self._locked(fcntl.LOCK_SH):
            entries, errors, _ = loader.load_file(self.path)
        if errors:
            first = errors[0]
            raise LedgerFileError(
                f"{self.path} line {(first.source or {}).get('lineno')}: {first.message} "
                f"({len(errors)} error(s) in all)"
            )
        totals = _sums(entries, code)
        return [
            LedgerBalance(account, contract_id, Money(amount, code))
            for (account, contract_id), amount in sorted(
                totals.items(), key=lambda item: (item[0][0], item[0][1] or "")
            )
        ]

    # --- the file -------------------------------------------------------------------------

    @contextmanager
    def _locked(self, mode: int) -> Iterator[int]:
        """The file open and locked in *mode*, its index brought up to date."""
        with self._mutex:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            except OSError as exc:
                raise LedgerFileError(f"{self.path}: cannot open: {exc}") from exc
            try:
                fcntl.flock(fd, mode)
                self._refresh(fd)
                yield fd
            finally:
                os.close(fd)  # closing releases the lock

    def _reset(self, inode: int | None) -> None:
        self._inode = inode
        self._offset = 0
        self._lines = 0
        self._posted: dict[str, _Posted] = {}
        self._names: dict[str, str] = {}
        """leasekit account code to the Beancount name it was opened with."""
        self._codes: dict[str, str] = {}

    def _refresh(self, fd: int) -> None:
        """Read what was appended since the last call (by any process) into the index."""
        status = os.fstat(fd)
        if status.st_ino != self._inode or status.st_size < self._offset:
            self._reset(status.st_ino)
        if status.st_size == self._offset:
            return
        chunk = os.pread(fd, status.st_size - self._offset, self._offset)
        if not chunk.endswith(ENTRY_END):
            end = chunk.rfind(ENTRY_END)
            torn = self._lines + (chunk[: end + 2].count(b"\n") if end >= 0 else 0) + 1
            raise LedgerFileError(
                f"{self.path} line {torn}: the last entry is incomplete (a write was cut "
                f"short and never acknowledged); delete the file from line {torn} on and "
                "leasekit will post it again"
            )
        self._index(self._parse(chunk))
        self._offset = status.st_size
        self._lines += chunk.count(b"\n")

    def _parse(self, chunk: bytes) -> Directives:
        from beancount.parser import parser

        entries, errors, _ = parser.parse_string(
            chunk, report_filename=str(self.path), report_firstline=self._lines + 1
        )
        if errors:
            first = errors[0]
            raise LedgerFileError(
                f"{self.path} line {(first.source or {}).get('lineno')}: {first.message}"
            )
        return entries

    def _index(self, entries: Directives) -> None:
        from beancount.core.data import Open, Transaction

        for entry in entries:
            if isinstance(entry, Open) and "leasekit-account" in entry.meta:
                code = str(entry.meta["leasekit-account"])
                self._names[code] = entry.account
                self._codes[entry.account] = code
            elif isinstance(entry, Transaction) and "idempotency-key" in entry.meta:
                self._posted[str(entry.meta["idempotency-key"])] = self._read_posted(entry.meta)

    def _read_posted(self, meta: Mapping[str, Any]) -> _Posted:
        key = str(meta["idempotency-key"])
        receipt = LedgerReceipt(
            key,
            self._reference(int(meta["lineno"])),
            datetime.fromisoformat(str(meta["posted-at"])),
        )
        return _Posted(str(meta["voucher-digest"]), receipt)

    def _reference(self, line: int) -> str:
        return f"{self.path.name}:{line}"

    def _append(
        self, fd: int, voucher: LedgerVoucher, idempotency_key: str, digest: str
    ) -> LedgerReceipt:
        opens, names = self._accounts_of(voucher)
        header = self._header(voucher) if self._offset == 0 else ""
        transaction = self._transaction(voucher, names, idempotency_key, digest)
        text = header + opens + transaction
        data = text.encode()
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError as exc:
            raise LedgerFileError(f"{self.path}: cannot append: {exc}") from exc
        self._refresh(fd)
        return self._posted[idempotency_key].receipt

    def _header(self, voucher: LedgerVoucher) -> str:
        operating = self.operating_currency or voucher.lines[0].amount.currency.code
        return (
            "; leasekit's general ledger: one transaction per voucher, appended, never "
            "rewritten.\n"
            'option "title" "leasekit general ledger"\n'
            f"option {_quoted('operating_currency')} {_quoted(operating)}\n\n"
        )

    def _accounts_of(self, voucher: LedgerVoucher) -> tuple[str, list[str]]:
        """The open directives the voucher's new accounts need, and each line's name."""
        opens: list[str] = []
        names: list[str] = []
        opened = dict(self._names)
        taken = dict(self._codes)
        for index, line in enumerate(voucher.lines):
            name = opened.get(line.account) or self._new_name(line.account, index, taken)
            if line.account not in opened:
                opened[line.account] = name
                taken[name] = line.account
                opens.append(
                    f"{OPENED_ON} open {name}\n  leasekit-account: {_quoted(line.account)}\n"
                )
            names.append(name)
        return "".join(opens), names

    def _new_name(self, code: str, index: int, taken: Mapping[str, str]) -> str:
        name = self.accounts.get(code) or beancount_name(code, self.roots)
        at = f"lines[{index}].account"
        if name is None:
            raise ValidationError.single(
                at,
                f"{code!r} has no Beancount account: its first character has no root; "
                "name it with the ledger's accounts option",
            )
        from beancount.core import account

        if not account.is_valid(name):
            raise ValidationError.single(at, f"{code!r} makes {name!r}, not a Beancount name")
        owner = taken.get(name)
        if owner is not None and owner != code:
            raise ValidationError.single(
                at, f"{code!r} would be {name!r}, which is already account {owner!r}"
            )
        return name

    def _transaction(
        self, voucher: LedgerVoucher, names: Sequence[str], idempotency_key: str, digest: str
    ) -> str:
        lines = [
            f"{voucher.business_date.isoformat()} * {_quoted(voucher.description)}",
            f"  idempotency-key: {_quoted(idempotency_key)}",
            f"  voucher-id: {_quoted(voucher.voucher_id)}",
            f"  voucher-digest: {_quoted(digest)}",
            f"  posted-at: {_quoted(self.clock.now().isoformat())}",
        ]
        for name, line in zip(names, voucher.lines, strict=True):
            amount = line.signed_amount
            lines.append(f"  {name}  {_plain(amount.amount)} {amount.currency.code}")
            lines.extend(
                f"    {key}: {_quoted(line.dimensions[key])}"
                for key in DIMENSIONS
                if key in line.dimensions
            )
            if line.memo:
                lines.append(f"    memo: {_quoted(line.memo)}")
        return "\n".join(lines) + "\n\n"


@hookimpl
def leasekit_register_ledgers(register: Register[Ledger]) -> None:
    register(ADAPTER_ID, BeancountLedger.from_context)
