"""How long work (a file import, a debit run) tells a caller how far it has come."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "quiet"]

Progress = Callable[[str, int, int], None]
"""Told ``(phase, done, in all)`` as the work goes: what a progress bar shows."""


def quiet(phase: str, done: int, total: int) -> None:
    """Progress nobody watches."""
