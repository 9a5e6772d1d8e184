"""The background worker: delivers events and chains the audit log, off the commands' path.

One thread per runtime. Each command wakes it after committing; then it fans out and
delivers what is pending, batch after batch, and links newly written audit entries to the
hash chain. Without a wake-up it still makes a pass when the earliest retry falls due, and at
the latest every *retry_every* seconds, so an event whose receiver was down goes out once it
is back. Delivery then never adds to a command's latency, and a burst of commands is
delivered in batches: a wake-up lets *gather* seconds pass before the pass, so that the
commits of that moment share one pass (its dozen statements) instead of one each.

:meth:`drain` waits until everything pending when it was called has been attempted;
:meth:`stop` makes a last pass, gives up the relay's claims and ends the thread, so a process
that closes its runtime leaves nothing undelivered that could have gone out.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy.engine import Engine

from leasekit.store.audit import chain_pending
from leasekit.store.outbox import OutboxRelay

__all__ = ["BackgroundWorker"]

logger = logging.getLogger(__name__)


class BackgroundWorker:
    """Runs :class:`OutboxRelay` passes and :func:`chain_pending` on a thread of its own."""

    def __init__(
        self,
        relay: OutboxRelay,
        engine: Engine,
        *,
        batch: int = 100,
        retry_every: float = 30.0,
        gather: float = 0.01,
    ) -> None:
        self._relay = relay
        self._engine = engine
        self._batch = batch
        self._retry_every = retry_every
        self._gather = gather
        self._changed = threading.Condition()
        self._requested = 0
        """Passes asked for (each wake-up, drain or stop asks for one)."""
        self._completed = 0
        """The highest request a finished pass covered."""
        self._stopping = False
        self._reclaim()
        self._thread = threading.Thread(target=self._run, name="leasekit-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a pass soon; returns at once."""
        self._request()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until a pass that started after this call has finished; False on timeout."""
        wanted = self._request()
        with self._changed:
            return self._changed.wait_for(lambda: self._completed >= wanted, timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Deliver what is pending, give up this relay's claims, then end the thread."""
        with self._changed:
            self._stopping = True
        self._request()
        self._thread.join(timeout)
        self._reclaim()

    def _reclaim(self) -> None:
        """Claims held under this worker id belong to nobody alive: on start they are left
        by a process that died, on stop by this one."""
        try:
            released = self._relay.release_claims()
        except Exception:
            logger.exception("could not release the relay's claims")
            return
        if released:
            logger.info("released %d claimed deliveries", released)

    def _request(self) -> int:
        with self._changed:
            self._requested += 1
            self._changed.notify_all()
            return self._requested

    def _run(self) -> None:
        while True:
            with self._changed:
                woken = self._changed.wait_for(
                    lambda: self._requested > self._completed, self._seconds_to_next()
                )
                if woken and not self._stopping:
                    self._changed.wait_for(lambda: self._stopping, self._gather)
                covered, stopping = self._requested, self._stopping
            self._work()
            with self._changed:
                self._completed = covered
                self._changed.notify_all()
            if stopping:
                return

    def _seconds_to_next(self) -> float:
        """Until the earliest retry falls due, at most *retry_every*."""
        try:
            due = self._relay.next_due()
        except Exception:
            logger.exception("could not read when the next delivery is due")
            return self._retry_every
        if due is None:
            return self._retry_every
        wait = (due - dt.datetime.now(dt.UTC)).total_seconds()
        return min(max(wait, 0.05), self._retry_every)

    def _work(self) -> None:
        """Deliver until a pass delivers nothing (a subject's next event is claimable only once
        the one before it went out, so a busy subject takes several passes), then chain the
        audit log; a failure is logged and the next pass tries again."""
        try:
            while self._relay.run_pass(self._batch):
                pass
        except Exception:
            logger.exception("event delivery failed; events stay pending")
        try:
            while chain_pending(self._engine):
                pass
        except Exception:
            logger.exception("chaining the audit log failed; entries stay queued")
