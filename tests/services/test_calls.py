"""Calls to external parties: a deadline per party, retries with a doubling pause, and a
party's own refusal passed through at once."""

from __future__ import annotations

import threading
import time

import pytest

from leasekit.errors import AdapterError, ValidationError
from leasekit.services.calls import CallPolicy, PartyUnavailable, ask, call_party

QUICK = CallPolicy(timeout_seconds=1, retries=2, retry_backoff_seconds=0)


class Flaky:
    """Fails *failures* times, then answers; counts the calls."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.calls = failures, 0
        self.error = error or AdapterError("down")

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "answer"


def test_a_failure_is_retried_until_the_party_answers() -> None:
    flaky = Flaky(failures=2)
    assert call_party("credit_bureau", flaky, QUICK) == "answer"
    assert flaky.calls == 3


def test_a_party_that_fails_every_attempt_is_unavailable_by_the_kind_of_its_error() -> None:
    flaky = Flaky(failures=3)
    with pytest.raises(PartyUnavailable) as caught:
        call_party("credit_bureau", flaky, QUICK)
    assert (caught.value.party, caught.value.cause, flaky.calls) == (
        "credit_bureau", "AdapterError", 3
    )  # fmt: skip


class Stalled:
    """Answers only once released; notes that it has answered, so a test can tell that its
    caller gave up first without timing anything."""

    def __init__(self) -> None:
        self.released, self.answered = threading.Event(), threading.Event()

    def __call__(self) -> str:
        self.released.wait(60)
        self.answered.set()
        return "late answer"


def test_a_slow_call_is_abandoned_at_the_partys_own_deadline() -> None:
    stalled = Stalled()
    policy = CallPolicy(timeout_seconds=60, timeouts={"fraud_source": 0.05}, retries=0)
    try:
        with pytest.raises(PartyUnavailable, match=r"fraud_source did not answer \(TimeoutError\)"):
            call_party("fraud_source", stalled, policy)
        assert not stalled.answered.is_set()
    finally:
        stalled.released.set()
    assert policy.timeout_for("credit_bureau") == 60


def test_the_pause_doubles_between_attempts() -> None:
    policy = CallPolicy(timeout_seconds=1, retries=2, retry_backoff_seconds=0.05)
    started = time.monotonic()
    with pytest.raises(PartyUnavailable):
        call_party("credit_bureau", Flaky(failures=3), policy)
    assert time.monotonic() - started >= 0.15


def test_a_refusal_the_caller_expects_is_the_partys_answer_not_an_outage() -> None:
    flaky = Flaky(failures=1, error=ValidationError.single("content", "not a statement"))
    with pytest.raises(ValidationError):
        call_party("statement_parser", flaky, QUICK, answers=(ValidationError,))
    assert flaky.calls == 1


def test_ask_notes_the_party_and_answers_none() -> None:
    unavailable: list[str] = []
    assert ask("plugin acme", Flaky(failures=3), QUICK, unavailable, timeout_of="plugins") is None
    assert ask("fraud_source", Flaky(failures=0), QUICK, unavailable) == "answer"
    assert unavailable == ["plugin acme"]
