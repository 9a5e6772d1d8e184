"""What a route handler needs: the actor, the services, JSON in and out, the thread pool, and
streaming of documents in both directions.

A resource module reads like this::

    api = ApiRoutes("customers", "People and companies that borrow or lease.")

    @api.post("/customers", summary="Register a customer", body=RegisterCustomer,
              responses={201: Reply("The new customer", Customer)})
    async def register_customer(request: web.Request) -> web.Response:
        command = await read_json(request, RegisterCustomer)
        customer = await run_sync(
            request, customers.register_customer, services(request), actor(request), command
        )
        return json_response(request, customer, status=201)

The core is synchronous, so every service call goes through :func:`run_sync`; a handler never
calls a service directly on the event loop, where one slow query would stall every request.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar
from urllib.parse import quote

from aiohttp import hdrs, web

from leasekit.domain.identity import Actor
from leasekit.errors import FieldError, ValidationError
from leasekit.server.keys import ACTOR_KEY, CONVERTER_KEY, EXECUTOR_KEY, RUNTIME_KEY, SETTINGS_KEY
from leasekit.server.openapi import IDEMPOTENCY_KEY_HEADER, JSON
from leasekit.server.payloads import structure
from leasekit.server.problems import Problem, ProblemError, StreamAbortedError

if TYPE_CHECKING:
    from leasekit.services.context import ServiceContext

__all__ = [
    "actor",
    "idempotency_key",
    "json_response",
    "read_json",
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


async def run_sync(
    request: web.Request, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """``fn(*args, **kwargs)`` in the app's bounded thread pool, with the caller's context
    variables (as ``asyncio.to_thread`` does, but in our pool, not the loop's default one)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(request.app[EXECUTOR_KEY], call)


def _dumps(data: object) -> str:
    # NaN and infinity are not JSON; a float that slipped through must fail loudly here.
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


def json_response(request: web.Request, obj: object, status: int = 200) -> web.Response:
    """*obj* (attrs instances, lists of them, ...) as JSON, through the app's converter."""
    data = request.app[CONVERTER_KEY].unstructure(obj)
    return web.json_response(data, status=status, dumps=_dumps)


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
    return structure(request.app[CONVERTER_KEY], data, cls)


def read_query(request: web.Request, cls: type[_T]) -> _T:
    """The query string as a *cls*; errors name the parameters at fault, including one given
    twice (``?state=draft&state=submitted`` is refused, not read as either).

    Query values are strings, so *cls* should have string-like fields only (str, StrEnum,
    Decimal, date); an int field would reject every value.
    """
    query = request.query
    repeated = sorted({name for name in query if len(query.getall(name)) > 1})
    if repeated:
        raise ValidationError(FieldError(name, "given more than once") for name in repeated)
    return structure(request.app[CONVERTER_KEY], dict(query), cls)


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


def _attachment(filename: str) -> str:
    """A Content-Disposition that survives any file name (RFC 6266 with RFC 8187)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def send_download(
    request: web.Request,
    chunks: Iterator[bytes],
    *,
    content_type: str,
    filename: str,
    size: int | None = None,
) -> web.StreamResponse:
    """Stream *chunks* (a blocking iterator, as a DocumentStore's ``open`` returns) to the
    client, each chunk read in the thread pool.

    The first chunk is read before any header goes out, so a failure there is still a proper
    problem response; a failure later can only cut the body short (StreamAbortedError).
    """
    try:
        chunk = await run_sync(request, _next_chunk, chunks)
        response = web.StreamResponse(
            headers={
                hdrs.CONTENT_TYPE: content_type,
                hdrs.CONTENT_DISPOSITION: _attachment(filename),
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
