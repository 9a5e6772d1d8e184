"""Bank files: debit orders out, results in.

Each scheme's files have a module of their own: :mod:`.nacha` (US ACH), :mod:`.sepa` (SEPA
Direct Debit: pain.008 out, pain.002 and camt.054 in) and :mod:`.delimited` (a bank's CSV).
Bank adapters call the functions here, which choose by the batch's scheme going out and by the
content coming back, so an adapter needs no format code of its own. Every reader refuses a
malformed file whole, with its position, and returns nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Final

from leasekit.bankfiles import delimited, nacha, sepa
from leasekit.domain.mandates import DebitScheme
from leasekit.errors import ValidationError
from leasekit.ports.bank import DebitBatch, DebitReturn

__all__ = ["debit_file", "read_results", "result_file"]

_BOM: Final = b"\xef\xbb\xbf"
_NACHA_RECORD: Final = 94


def _scheme(batch: DebitBatch) -> DebitScheme:
    if batch.scheme is None:
        raise ValidationError.single("scheme", "the batch names no scheme to write it in")
    return batch.scheme


def debit_file(batch: DebitBatch, *, created_at: datetime) -> Iterator[bytes]:
    """The file that asks the bank to collect *batch*, in the batch's scheme, in chunks.

    NACHA and CSV files are written as the items are read, so a run of a million debits is
    never held whole; a SEPA file is built whole by sepaxml."""
    scheme = _scheme(batch)
    if scheme is DebitScheme.NACHA:
        return nacha.debit_file(batch, created_at=created_at)
    if scheme is DebitScheme.SEPA:
        return iter([sepa.debit_file(batch, created_at=created_at)])
    return delimited.debit_file(batch)


def result_file(batch: DebitBatch, returned: Mapping[str, str], *, created_at: datetime) -> bytes:
    """The results a bank sends back for *batch*: the items in *returned* (trace id to the
    bank's reason code) came back, the others were collected. NACHA return files list only
    what came back; SEPA answers with a pain.002 status report. For fakes and tests."""
    scheme = _scheme(batch)
    if scheme is DebitScheme.NACHA:
        return nacha.return_file(batch, returned, created_at=created_at)
    if scheme is DebitScheme.SEPA:
        return sepa.status_report(batch, returned, created_at=created_at)
    return delimited.result_file(batch, returned)


def _reader(content: bytes) -> Callable[[bytes], list[DebitReturn]]:
    """The reader of the format *content* is in, told by its first bytes."""
    head = content.removeprefix(_BOM)[:4096].lstrip()
    if head.startswith(b"<"):
        if b"pain.002" in head:
            return sepa.read_status_report
        if b"camt.054" in head:
            return sepa.read_notification
        raise ValidationError.single(
            "file", "an XML file that is neither a pain.002 status report nor a camt.054"
        )
    first = content.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"1") and len(first) == _NACHA_RECORD:
        return nacha.read_returns
    return delimited.read_results


def read_results(content: bytes) -> list[DebitReturn]:
    """The bank's results in *content*, whichever of the formats it is in."""
    if not content.strip():
        raise ValidationError.single("file", "is empty")
    return _reader(content)(content)
