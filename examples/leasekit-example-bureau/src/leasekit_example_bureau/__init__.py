"""An example credit bureau for leasekit, registered under adapter id ``example``.

It scores a subject from a hash of the id number, so the same person always gets the same
report and no network is needed. A real adapter calls the bureau's API in ``fetch_report``,
translates the vendor's errors with ``raise AdapterError(...) from exc``, and imports the
vendor SDK inside the method rather than at module level, so that ``leasekit --help`` stays
fast.

Select it with ``LEASEKIT_ADAPTERS__CREDIT_BUREAU=example``; the option ``no_file_prefix``
(``LEASEKIT_ADAPTER_OPTIONS__CREDIT_BUREAU__NO_FILE_PREFIX``) names id numbers the bureau
has no file on.
"""

from __future__ import annotations

import hashlib

from leasekit import hookimpl
from leasekit.domain.clock import Clock
from leasekit.ports import AdapterContext, CreditBureau, CreditReport, CreditSubject, Register

__all__ = ["ExampleBureau", "leasekit_register_credit_bureaus"]

_GRADES = ((750, "A"), (700, "B"), (650, "C"), (600, "D"))


class ExampleBureau:
    """Scores between 300 and 850, graded A to E."""

    def __init__(self, clock: Clock, *, no_file_prefix: str | None = None) -> None:
        self.clock = clock
        self.no_file_prefix = no_file_prefix

    @classmethod
    def from_context(cls, context: AdapterContext) -> ExampleBureau:
        return cls(context.clock, no_file_prefix=context.option("no_file_prefix"))

    def fetch_report(self, subject: CreditSubject) -> CreditReport:
        digest = hashlib.sha256(subject.id_number.encode("utf-8")).digest()
        reference = f"example-{digest.hex()[:12]}"
        if self.no_file_prefix and subject.id_number.startswith(self.no_file_prefix):
            return CreditReport(reference, subject.id_number, None, None, self.clock.now())
        score = 300 + int.from_bytes(digest[:2], "big") % 551
        return CreditReport(reference, subject.id_number, score, _grade(score), self.clock.now())


def _grade(score: int) -> str:
    return next((grade for floor, grade in _GRADES if score >= floor), "E")


@hookimpl
def leasekit_register_credit_bureaus(register: Register[CreditBureau]) -> None:
    register("example", ExampleBureau.from_context)
