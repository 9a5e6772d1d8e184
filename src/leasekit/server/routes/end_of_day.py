"""``/end-of-day``: the business date, how far the close of business has come, and an
administrator's start of the close, which this server process then runs in the background
(:mod:`leasekit.server.closer`). ``leasekit eod run`` and ``leasekit eod status`` do the same
on the command line."""

from __future__ import annotations

from datetime import date
from typing import Final

from aiohttp import web

from leasekit.domain.end_of_day import CloseState
from leasekit.errors import ConflictError, ValidationError
from leasekit.server.keys import CLOSER_KEY, RUNTIME_KEY
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import end_of_day
from leasekit.services.end_of_day import BusinessDay, CloseView, StartClose

__all__ = ["api"]

api = ApiRoutes("end of day", "The business date and the close of business that moves it on.")

_DATE: Final = "{date:[0-9A-Za-z_.-]{1,64}}"


def _business_date(request: web.Request) -> date:
    """The date in the path; anything but ``YYYY-MM-DD`` is a 422 naming it."""
    text = request.match_info["date"]
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValidationError.single("date", "a date as YYYY-MM-DD")


def _close_address(business_date: date) -> str:
    return f"/end-of-day/closes/{business_date.isoformat()}"


@api.get(
    "/end-of-day",
    summary="The business date and the newest close",
    responses={200: Reply("The business date and the newest close.", BusinessDay)},
)
async def get_business_day(request: web.Request) -> web.Response:
    """The company's business date, which moves one day when a close has finished every
    step; and the newest close: the current date's while it runs (its steps' partitions
    done of all), else the one that moved the date here, with its summary. Back office."""
    day = await run_sync(request, end_of_day.get_business_day, services(request), actor(request))
    return json_response(request, day)


@api.get(
    f"/end-of-day/closes/{_DATE}",
    summary="The close of a business date",
    responses={200: Reply("The close's progress, and its summary once closed.", CloseView)},
)
async def get_close(request: web.Request) -> web.Response:
    """How far the close of the date has come: per step, partitions done of all; the
    summary of what each step did once it is ``closed``. A date never closed is a 404, a
    path that is no date a 422. Back office."""
    on = _business_date(request)
    view = await run_sync(request, end_of_day.get_close, services(request), actor(request), on)
    return json_response(request, view)


@api.post(
    "/end-of-day/close",
    summary="Close the business date",
    body=StartClose,
    retryable=True,
    responses={
        202: Reply("The close has started (or was running): its progress; ``Location`` "
                   "names it.", CloseView),
    },
)  # fmt: skip
async def start_close(request: web.Request) -> web.Response:
    """Administrators only. Starts closing the current business date in the background of
    this server and answers at once with the close's progress; ``GET`` the ``Location`` to
    follow it. The start is recorded with who made it. While this server's close runs,
    another request starts nothing and answers the same; a close that stopped (a step that
    failed) resumes where it stopped. Naming a ``business_date`` that is no longer the
    current one is a 409, so a request sent again after the close never closes the next
    day."""
    who = actor(request)
    end_of_day.start_close.authorize(who)
    asked = await read_json(request, StartClose)
    closer, ctx = request.app[CLOSER_KEY], services(request)
    async with closer.lock:
        if closer.running:
            on = closer.business_date
            if asked.business_date not in (None, on):
                raise ConflictError(f"the business date being closed is {on}, "
                                    f"not {asked.business_date}")  # fmt: skip
        else:
            began = await run_sync(
                request, end_of_day.start_close, ctx, who, asked,
                idempotency_key=idempotency_key(request),
            )  # fmt: skip
            on = began.business_date
            if began.state is CloseState.RUNNING:  # a retried key may find it closed
                closer.start(request.app[RUNTIME_KEY], on)
    view = await run_sync(request, end_of_day.get_close, ctx, who, on)
    return json_response(request, view, status=202, location=_close_address(on))
