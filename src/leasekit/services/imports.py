"""Files imported once: a file's SHA-256 is unique among its kind's imports, so sending the
same file again, one after the other or at the same moment, answers the first import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from leasekit.errors import LeasekitError

__all__ = ["ImportedBefore", "import_once"]

R = TypeVar("R")


class ImportedBefore(LeasekitError, Generic[R]):
    """Raised inside an import's command when the file was imported before: the command
    changes nothing, and the caller answers with the earlier report."""

    def __init__(self, report: R) -> None:
        super().__init__("imported before")
        self.report = report


def import_once(apply: Callable[[], R], earlier: Callable[[], R | None]) -> tuple[R, bool]:
    """The report of *apply*, and True; or, if the file was imported before (by an earlier
    call, or by one that won a race with this one and so made this one fail), that import's
    report, and False."""
    try:
        return apply(), True
    except ImportedBefore as exc:
        report: R = exc.report
        return report, False
    except LeasekitError:
        found = earlier()
        if found is None:
            raise
        return found, False
