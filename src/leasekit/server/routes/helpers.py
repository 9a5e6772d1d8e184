"""What a route handler needs: the actor, the services, JSON in and out, versions and pages,
the bounded thread pool, and streaming of documents in both directions.

Most routes are declared through :mod:`leasekit.server.resources`, which builds create, get,
list and transition handlers from a command or a query; the helpers here are what those and
the few hand-written handlers share.

The core is synchronous, so every service call goes through :func:`run_sync`; a handler never
calls a service directly on the event loop, where one slow query would stall every request.
Calls wait for a thread in a bounded queue: when it is full the server answers 503 with
``Retry-After`` at once, rather than letting waits (and memory) grow without end.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar
from urllib.parse import quote, urlencode

import attrs
from aiohttp import hdrs, web

from leasekit.domain.identity import Actor
from leasekit.errors import FieldError, ValidationError
from leasekit.server.keys import (
    ACTOR_KEY,
    ADMISSION_KEY,
    CONVERTER_KEY,
    EXECUTOR_KEY,
    RUNTIME_KEY,
    SETTINGS_KEY,
)
from leasekit.server.openapi import IDEMPOTENCY_KEY_HEADER, JSON, query_parameter
from leasekit.server.payloads import structure
from leasekit.server.problems import Problem, ProblemError, StreamAbortedError

if TYPE_CHECKING:
    from leasekit.services.context import ServiceContext
    from leasekit.services.storage import Page

__all__ = [
    "Admission",
    "actor",
    "etag",
    "expected_version",
    "idempotency_key",
    "json_response",
    "page_response",
    "read_json",
    "read_paging",
    "read_query",
    "receive_upload",
    "run_sync",
    "send_download",
    "services",
]

logger = logging.getLogger("leasekit.server")

UPLOAD_CHUNK_BYTES: Final = 64 * 1024
UPLOAD_READ_TIMEOUT: Final = 60.0
"""Seconds a worker thread waits for the next piece of an upload before giving up, so that a
stalled client cannot hold a thread for ever."""
_IF_MATCH: Final = re.compile(r'(?:W/)?"(\d{1,18})"')

_P = ParamSpec("_P")
_T = TypeVar("_T")


def actor(request: web.Request) -> Actor:
    """Who sent the request (set by the authentication middleware)."""
    return request[ACTOR_KEY]


def idempotency_key(request: web.Request) -> str | None:
    """The key a client sent to make a command safe to retry (``Idempotency-Key``)."""
    return request.headers.get(IDEMPOTENCY_KEY_HEADER)


def services(request: web.Request) -> ServiceContext:
    """The context that every service function takes first."""
    return request.app[RUNTIME_KEY].services


class Admission:
    """Calls waiting for or holding a worker thread, at most *limit* at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a place, or refuse at once with 503 and ``Retry-After`` when none is left."""
        if self.active >= self.limit:
            raise ProblemError(
                Problem(
                    503,
                    "Service Unavailable",
                    detail="the server is busy; retry in a moment",
                    headers={hdrs.RETRY_AFTER: "1"},
                )
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


async def run_sync(
    request: web.Request, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """``fn(*args, **kwargs)`` in the app's bounded thread pool, with the caller's context
    variables (as ``asyncio.to_thread`` does, but in our pool, not the loop's default one)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    with request.app[ADMISSION_KEY].admit():
        return await asyncio.get_running_loop().run_in_executor(request.app[EXECUTOR_KEY], call)


def _wire(value: object) -> str:
    """Plain values of a record as the codecs write them (:mod:`leasekit.server.payloads`)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps(data: object) -> str:
    # NaN and infinity are not JSON; a float that slipped through must fail loudly here.
    return json.dumps(data, ensure_ascii=False, allow_nan=False, default=_wire)


def etag(obj: object) -> str | None:
    """The entity tag of a versioned object: its version, quoted (RFC 9110 §8.8.3)."""
    version = getattr(obj, "version", None)
    return None if not isinstance(version, int) else f'"{version}"'


def json_response(
    request: web.Request, obj: object, status: int = 200, *, location: str | None = None
) -> web.Response:
    """*obj* (attrs instances, lists of them, ...) as JSON, through the app's converter, with
    its ``ETag`` if it has a version, and ``Location`` for a 201."""
    data = request.app[CONVERTER_KEY].unstructure(obj)
    response = web.json_response(data, status=status, dumps=_dumps)
    tag = etag(obj)
    if tag is not None:
        response.headers[hdrs.ETAG] = tag
    if location is not None:
        response.headers[hdrs.LOCATION] = location
    return response


def expected_version(request: web.Request) -> int | None:
    """The version ``If-Match`` names: a change must say which version it was decided on, so
    that nobody overwrites what they have not seen (428 without the header; 412, later, when
    it no longer matches). ``If-Match: *`` accepts whatever version is current."""
    header = request.headers.get(hdrs.IF_MATCH)
    if header is None:
        raise ProblemError(
            Problem(
                428,
                "Precondition Required",
                detail='send If-Match with the ETag you last read, e.g. If-Match: "3"',
            )
        )
    if header.strip() == "*":
        return None
    match = _IF_MATCH.fullmatch(header.strip())
    if match is None:
        raise ProblemError(
            Problem(412, "Precondition Failed", detail=f"If-Match {header!r} matches no version")
        )
    return int(match.group(1))


def read_paging(request: web.Request) -> tuple[str | None, int | None]:
    """``after`` (the cursor a page's ``next`` link carries) and ``limit`` from the query."""
    query = request.query
    limit: int | None = None
    raw = query.get("limit")
    if raw is not None:
        if not re.fullmatch("[0-9]{1,4}", raw):  # not isdigit(): "³" is a digit to it
            raise ValidationError.single("limit", "a whole number of records, from 1 to 200")
        limit = int(raw)
    after = query.get("after")
    if after is not None and not re.fullmatch(r"[0-9A-Za-z_.-]{1,64}", after):
        raise ValidationError.single("after", "not a cursor this server gave")
    return after, limit


def page_response(
    request: web.Request, page: Page[Any], transform: Callable[[Any], object] | None = None
) -> web.Response:
    """A page as ``{"items": [...], "next": url or null}``, with a ``Link: rel="next"``
    header; the next URL repeats the request's own query with the new cursor. Records go out
    as they are; *transform* turns each item into what the route publishes instead."""
    items: list[Any] = page.items
    if transform is not None:
        items = [transform(item) for item in items]
    if items and not isinstance(items[0], dict):
        items = request.app[CONVERTER_KEY].unstructure(items)
    link = None
    if page.next_after is not None:
        query = {k: v for k, v in request.query.items() if k != "after"}
        link = f"{request.path}?{urlencode({**query, 'after': page.next_after})}"
    response = web.json_response({"items": items, "next": link}, dumps=_dumps)
    if link is not None:
        response.headers[hdrs.LINK] = f'<{link}>; rel="next"'
    return response


def _is_json(content_type: str) -> bool:
    return content_type == JSON or content_type.endswith("+json")


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


async def read_json(request: web.Request, cls: type[_T]) -> _T:
    """The JSON body as a *cls*; 415 if it is not JSON, 400 if it does not parse, 422 naming
    each field at fault if it does not fit *cls*. Bodies over 1 MiB are refused with 413."""
    if not _is_json(request.content_type):
        raise ProblemError(
            Problem(
                415,
                "Unsupported Media Type",
                detail=f"send a JSON body with Content-Type: {JSON}",
            )
        )
    body = await request.read()
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ProblemError(
            Problem(400, "Malformed JSON", detail=f"the body is not valid JSON: {exc}")
        ) from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise ProblemError(
            Problem(400, "Malformed JSON", detail="the body nests too deeply")
        ) from None
    return structure(request.app[CONVERTER_KEY], data, cls)


def read_query(request: web.Request, cls: type[_T], *, besides: frozenset[str] = frozenset()) -> _T:
    """The query string as a *cls*; errors name the parameters at fault, including one given
    twice (``?state=draft&state=submitted`` is refused, not read as either).

    Query values are strings, so *cls* should have string-like fields only (str, StrEnum,
    Decimal, date); an int field would reject every value. Parameters named in *besides*
    are read by someone else (:data:`PAGING`). A field named with a trailing underscore, so
    that a Python keyword can be one, reads the parameter without it (``from_``, ``?from=``).
    """
    query = request.query
    repeated = sorted({name for name in query if len(query.getall(name)) > 1})
    if repeated:
        raise ValidationError(FieldError(name, "given more than once") for name in repeated)
    names = {query_parameter(f): f.name for f in attrs.fields(cls)} if attrs.has(cls) else {}
    hidden = sorted((set(names.values()) - set(names)) & set(query))
    if hidden:
        raise ValidationError(FieldError(name, "unknown field") for name in hidden)
    fields = {names.get(k, k): v for k, v in query.items() if k not in besides}
    try:
        return structure(request.app[CONVERTER_KEY], fields, cls)
    except ValidationError as exc:
        parameters = {name: parameter for parameter, name in names.items()}
        raise ValidationError(
            FieldError(parameters.get(error.field, error.field), error.message)
            for error in exc.errors
        ) from exc


PAGING: Final = frozenset({"after", "limit"})
"""The query parameters of a page, read by :func:`read_paging`, not by a query class."""


def _too_large(field: str, limit: int) -> ValidationError:
    return ValidationError.single(field, f"larger than the limit of {limit} bytes")


def _blocking_chunks(
    read: Callable[[], Coroutine[Any, Any, bytes]],
    loop: asyncio.AbstractEventLoop,
    limit: int,
    field: str,
) -> Iterator[bytes]:
    """The body as a plain iterator for a worker thread, read from the event loop piece by
    piece; reading stops, and ValidationError is raised, as soon as *limit* is passed."""
    received = 0
    while True:
        future = asyncio.run_coroutine_threadsafe(read(), loop)
        try:
            chunk = future.result(UPLOAD_READ_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise web.HTTPRequestTimeout() from None
        if not chunk:
            return
        received += len(chunk)
        if received > limit:
            raise _too_large(field, limit)
        yield chunk


async def receive_upload(
    request: web.Request, consume: Callable[[Iterable[bytes]], _T], *, field: str = "file"
) -> _T:
    """Run *consume* in the thread pool on the raw request body, streamed in chunks.

    *consume* is the synchronous service call (``functools.partial(upload_document, ctx,
    actor, command)``); it receives an iterator of chunks, so a document goes to the store
    without being held in memory. A body larger than ``settings.server.max_upload_bytes`` is
    refused with a ValidationError on *field*: at once when its Content-Length says so,
    otherwise when the limit is passed, without reading the rest.
    """
    limit = request.app[SETTINGS_KEY].server.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(field, limit)
    content = request.content
    chunks = _blocking_chunks(
        lambda: content.read(UPLOAD_CHUNK_BYTES), asyncio.get_running_loop(), limit, field
    )
    return await run_sync(request, consume, chunks)


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


def _close(chunks: Iterator[bytes]) -> None:
    """Close a generator, releasing the file it reads, even when the download stopped early."""
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


def _disposition(filename: str, how: str = "attachment") -> str:
    """A Content-Disposition that survives any file name (RFC 6266 with RFC 8187)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"{how}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def send_download(
    request: web.Request,
    chunks: Iterator[bytes],
    *,
    content_type: str,
    filename: str,
    size: int | None = None,
    inline: bool = False,
) -> web.StreamResponse:
    """Stream *chunks* (a blocking iterator, as a DocumentStore's ``open`` returns) to the
    client, each chunk read in the thread pool; *inline* to show it in the page (a PDF the
    workbench previews) rather than save it.

    The first chunk is read before any header goes out, so a failure there is still a proper
    problem response; a failure later can only cut the body short (StreamAbortedError).
    """
    try:
        chunk = await run_sync(request, _next_chunk, chunks)
        response = web.StreamResponse(
            headers={
                hdrs.CONTENT_TYPE: content_type,
                hdrs.CONTENT_DISPOSITION: _disposition(
                    filename, "inline" if inline else "attachment"
                ),
                # Browsers must not guess that an uploaded file is HTML and run it.
                "X-Content-Type-Options": "nosniff",
            }
        )
        if size is not None:
            response.content_length = size
        try:
            await response.prepare(request)
            while chunk is not None:
                await response.write(chunk)
                chunk = await run_sync(request, _next_chunk, chunks)
            await response.write_eof()
        except ConnectionError as exc:
            raise StreamAbortedError("the client went away") from exc
        except Exception as exc:
            logger.exception("download of %r failed after it started", filename)
            raise StreamAbortedError(f"download of {filename!r} failed") from exc
    finally:
        await run_sync(request, _close, chunks)
    return response
