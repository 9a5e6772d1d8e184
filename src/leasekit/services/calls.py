"""Calls to external parties with a deadline and retries, for work that must not hang.

:func:`call_party` runs one call in a worker thread and waits at most the party's timeout for
it. A call still running at its deadline is abandoned, not stopped: Python cannot stop a
thread, so the thread (a daemon, which never holds up the process's exit) runs on until the
vendor answers or its own connection times out, and its answer is thrown away. Adapters
should therefore keep their own network timeouts near the one set here. A failed or
abandoned call is retried as the :class:`CallPolicy` says, after a pause that doubles each
time; the last failure raises :class:`PartyUnavailable`. :func:`ask` notes such a party as not
answering instead, logging the kind of its error only: a vendor's message may quote the id
number it was sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

import attrs

__all__ = ["CallPolicy", "PartyUnavailable", "ask", "call_party"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def _read_only(timeouts: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(timeouts))


@attrs.frozen
class CallPolicy:
    """How long to wait for each party, and how often to ask again (settings
    ``LEASEKIT_PRE_APPROVAL__*``)."""

    timeout_seconds: float = 10
    timeouts: Mapping[str, float] = attrs.field(factory=dict, converter=_read_only)
    """A party's own timeout, by party, in place of :attr:`timeout_seconds`."""
    retries: int = 1
    retry_backoff_seconds: float = 0.5

    def timeout_for(self, party: str) -> float:
        return self.timeouts.get(party, self.timeout_seconds)


class PartyUnavailable(Exception):
    """A party failed or timed out on every attempt; *cause* is the kind of the last error
    (never its message, which may quote what the party was sent)."""

    def __init__(self, party: str, cause: str) -> None:
        super().__init__(f"{party} did not answer ({cause})")
        self.party = party
        self.cause = cause


@attrs.define
class _Outcome(Generic[_T]):
    """What the worker thread leaves for the caller: an answer or an error."""

    answer: _T | None = None
    error: BaseException | None = None


def _attempt(call: Callable[[], _T], timeout: float) -> _T:
    """*call*'s answer within *timeout* seconds; TimeoutError if it takes longer."""
    outcome: _Outcome[_T] = _Outcome()

    def run() -> None:
        try:
            outcome.answer = call()
        except BaseException as exc:  # handed to the caller, who decides
            outcome.error = exc

    worker = threading.Thread(target=run, name="leasekit-party-call", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout} seconds")
    if outcome.error is not None:
        raise outcome.error
    return outcome.answer  # type: ignore[return-value]


def call_party(
    party: str,
    call: Callable[[], _T],
    policy: CallPolicy,
    *,
    answers: tuple[type[Exception], ...] = (),
    timeout_of: str | None = None,
) -> _T:
    """*call*'s answer, asked of *party* as *policy* says (see the module); raises
    :class:`PartyUnavailable` when every attempt failed or timed out. An error of a type in
    *answers* is the party's answer (a parser refusing a file), raised at once, not retried.
    *timeout_of* names the party whose timeout applies, when it is not *party* itself (every
    plugin takes the ``plugins`` one)."""
    timeout = policy.timeout_for(timeout_of or party)
    pause = policy.retry_backoff_seconds
    for attempt in range(policy.retries + 1):
        if attempt:
            time.sleep(pause)
            pause *= 2
        try:
            return _attempt(call, timeout)
        except answers:
            raise
        except Exception as exc:
            cause = type(exc).__name__
    raise PartyUnavailable(party, cause)


def ask(
    party: str,
    call: Callable[[], _T],
    policy: CallPolicy,
    unavailable: list[str],
    *,
    timeout_of: str | None = None,
) -> _T | None:
    """*call*'s answer (see :func:`call_party`), or None with *party* added to *unavailable*:
    a party that does not answer leaves its facts unknown, never the work undone."""
    try:
        return call_party(party, call, policy, timeout_of=timeout_of)
    except PartyUnavailable as exc:
        logger.warning("%s did not answer (%s)", party, exc.cause)
        unavailable.append(party)
        return None
