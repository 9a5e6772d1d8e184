"""The close of business run in the background of a server process, as ``POST
/end-of-day/close`` starts it: one at a time per process, in a thread of its own, so that a
long close holds none of the threads that answer requests.

The work is :func:`leasekit.services.end_of_day.close_business_day`, which keeps everything
in the database: another process closing the same date (a second server, ``leasekit eod
run``) shares the partitions with this one, each done once, and a close that stops here (a
step failing, the server stopping) is resumed by the next start, made anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from aiohttp import web

from leasekit.server.keys import CLOSER_KEY
from leasekit.server.runtime import Runtime
from leasekit.services.end_of_day import close_business_day

__all__ = ["Closer", "background_close"]

logger = logging.getLogger("leasekit.server")


class CloseStopped(Exception):
    """The server is stopping: the close leaves off after the partition in hand."""


class Closer:
    """This process's background close: the date it is closing, and whether it still runs."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        """Held while a close is being started, so that two requests at once start one."""
        self.business_date: date | None = None
        self._running: asyncio.Future[None] | None = None
        self._stopping = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leasekit-close")

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def start(self, runtime: Runtime, business_date: date) -> None:
        """Close *business_date* (begun by ``start_close``) in the background."""
        self.business_date = business_date
        self._running = asyncio.get_running_loop().run_in_executor(
            self._executor, self._close, runtime, business_date
        )

    def _close(self, runtime: Runtime, business_date: date) -> None:
        """The close, logged: in a background thread nobody waits for its outcome, which the
        progress (``GET /end-of-day``) shows instead."""
        try:
            closed = close_business_day(
                runtime.services, runner=runtime.partition_runner(), advanced=self._advanced,
                business_date=business_date,
            )  # fmt: skip
        except CloseStopped:
            logger.info("the close of %s stopped with the server; starting it again resumes it",
                        business_date)  # fmt: skip
        except Exception:
            logger.exception("the close of %s stopped; the business date has not moved, and "
                             "starting the close again resumes it", business_date)  # fmt: skip
        else:
            logger.info("business date %s closed", closed.business_date)

    def _advanced(self, done: int) -> None:
        if self._stopping.is_set():
            raise CloseStopped("the server is stopping")

    async def stop(self) -> None:
        """Have the close leave off after its partition in hand, and wait for that."""
        self._stopping.set()
        await asyncio.to_thread(self._executor.shutdown, wait=True)


async def background_close(app: web.Application) -> AsyncIterator[None]:
    """The app's :class:`Closer`, stopped (between two partitions) when the app stops."""
    closer = Closer()
    app[CLOSER_KEY] = closer
    yield
    await closer.stop()
