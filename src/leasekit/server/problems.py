"""Errors as ``application/problem+json`` (RFC 9457), from one middleware.

Handlers raise; they never build error responses. The middleware maps each branch of the
leasekit error tree to one status, and says what was wrong in a form a client can act on:

========================  ======  ===========================================================
error                     status  why
========================  ======  ===========================================================
ValidationError           422     ``errors`` lists each ``{field, message}``
NotFoundError             404     also for objects the actor may not see, on purpose
AuthenticationError       401     with ``WWW-Authenticate: Bearer``
PermissionDeniedError     403     the object is visible but the role may not act on it
PartnerBarredError        403     the user's partner bars its users (blacklisted): every route
IllegalTransitionError    409     names ``state``, ``action`` and the ``allowed`` actions
PartnerRestrictedError    409     names the ``partner_state`` and the ``capability`` it lacks
StaleVersionError         412     the object changed since the version ``If-Match`` named
ConflictError             409     changed since read, or an idempotency key reused: retry
DomainError               409     another business rule refused a well-formed request
AmountError, CalcError    422     an amount or a calculation input that cannot be exact
AdapterError              502     an external party failed; details are logged, not sent
anything else             500     logged with an ``instance`` id that the response carries
========================  ======  ===========================================================

Routing errors (404, 405), malformed JSON (400) and the like take the same shape with
``type`` ``about:blank``. The ``type`` of leasekit's own problems is a URN
(``urn:leasekit:problem:validation``): a stable identifier to switch on, not a link.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, Final

import attrs
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from leasekit.errors import (
    AdapterError,
    AmountError,
    AuthenticationError,
    CalculationError,
    ConflictError,
    DomainError,
    IllegalTransitionError,
    LeasekitError,
    NotFoundError,
    PartnerBarredError,
    PartnerRestrictedError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPE_PREFIX",
    "Problem",
    "ProblemError",
    "StreamAbortedError",
    "problem_for",
    "problem_middleware",
]

logger = logging.getLogger("leasekit.server")

PROBLEM_JSON: Final = "application/problem+json"
PROBLEM_TYPE_PREFIX: Final = "urn:leasekit:problem:"


@attrs.frozen
class Problem:
    """One problem report; :meth:`response` renders it."""

    status: int
    title: str
    detail: str | None = None
    type: str = "about:blank"
    extensions: Mapping[str, Any] = attrs.field(factory=dict)
    """Members beyond the standard ones, such as ``errors``."""
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        encodable: dict[str, Any] = _encodable(body | dict(self.extensions))
        return encodable

    def response(self) -> web.Response:
        return web.json_response(
            self.body(), status=self.status, headers=self.headers, content_type=PROBLEM_JSON
        )


def _encodable(value: Any) -> Any:
    """*value* with every string made encodable: a message that quotes what a client sent
    may hold a lone surrogate, which would make the error response itself fail."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    return value


class ProblemError(Exception):
    """Raised by request helpers for problems of HTTP itself (malformed JSON, wrong media
    type), which have no place in the leasekit error tree."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.detail or problem.title)


class StreamAbortedError(Exception):
    """A streamed response failed after its headers went out; no problem can follow them, so
    the middleware lets this through and aiohttp drops the connection, which tells the
    client that the body is incomplete. The cause was logged where it was caught."""


@attrs.frozen
class _Kind:
    status: int
    slug: str
    title: str


# Most specific first: the first class that matches decides.
_KINDS: Final[tuple[tuple[type[LeasekitError], _Kind], ...]] = (
    (ValidationError, _Kind(422, "validation", "The input is not valid")),
    (NotFoundError, _Kind(404, "not-found", "Not found")),
    (AuthenticationError, _Kind(401, "authentication", "Authentication required")),
    (PermissionDeniedError, _Kind(403, "permission-denied", "Not permitted for this role")),
    (PartnerBarredError, _Kind(403, "partner-barred", "The partner's users are barred")),
    (IllegalTransitionError, _Kind(409, "illegal-transition", "Not allowed in this state")),
    (PartnerRestrictedError, _Kind(409, "partner-restricted", "Not allowed for the partner now")),
    (StaleVersionError, _Kind(412, "stale", "Changed since the version named")),
    (ConflictError, _Kind(409, "conflict", "Conflict; read again and retry")),
    (DomainError, _Kind(409, "business-rule", "Refused by a business rule")),
    (AmountError, _Kind(422, "amount", "The amount cannot be used")),
    (CalculationError, _Kind(422, "calculation", "The figures describe no valid calculation")),
    (AdapterError, _Kind(502, "external-party", "An external party failed")),
)


def _extensions(exc: LeasekitError) -> dict[str, Any]:
    """What a client needs beyond the message to correct the request or to explain it."""
    if isinstance(exc, ValidationError):
        return {"errors": [{"field": e.field, "message": e.message} for e in exc.errors]}
    if isinstance(exc, IllegalTransitionError):
        return {"state": exc.state, "action": exc.action, "allowed": list(exc.allowed)}
    if isinstance(exc, PartnerRestrictedError):
        return {"partner_state": exc.state, "capability": exc.capability}
    if isinstance(exc, PartnerBarredError):
        return {"partner_state": exc.state}
    return {}


def _headers(exc: LeasekitError, request: web.Request) -> dict[str, str]:
    if not isinstance(exc, AuthenticationError):
        return {}
    # RFC 6750 §3.1: a rejected token is "invalid_token"; a missing one gets no error code.
    challenge = 'Bearer realm="leasekit"'
    if hdrs.AUTHORIZATION in request.headers:
        challenge += ', error="invalid_token"'
    return {hdrs.WWW_AUTHENTICATE: challenge}


def _unexpected(exc: BaseException, request: web.Request, status: int, title: str) -> Problem:
    """Log the whole error under an id; send only the id, never a trace or a message that
    could hold a password, a path or a vendor's internals."""
    instance = f"urn:uuid:{uuid.uuid4()}"
    logger.error("%s %s failed (%s)", request.method, request.path, instance, exc_info=exc)
    return Problem(
        status,
        title,
        detail="The error was logged under the id in 'instance'.",
        extensions={"instance": instance},
    )


def problem_for(exc: Exception, request: web.Request) -> Problem:
    """The problem report for an exception raised while handling *request*."""
    if isinstance(exc, ProblemError):
        return exc.problem
    if isinstance(exc, web.HTTPException):
        return _http_problem(exc)
    for cls, kind in _KINDS:
        if isinstance(exc, cls):
            if kind.status >= 500:
                return _unexpected(exc, request, kind.status, kind.title)
            return Problem(
                kind.status,
                kind.title,
                detail=str(exc),
                type=PROBLEM_TYPE_PREFIX + kind.slug,
                extensions=_extensions(exc),
                headers=_headers(exc, request),
            )
    return _unexpected(exc, request, 500, "Internal Server Error")


def _http_problem(exc: web.HTTPException) -> Problem:
    """aiohttp's own errors (no route, wrong method, body too large) in the same shape."""
    default_text = f"{exc.status}: {exc.reason}"
    detail = exc.text if exc.text and exc.text != default_text else None
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        detail = f"{exc.method} is not allowed here; allowed: {allowed}"
    headers = {name: value for name, value in exc.headers.items() if name != hdrs.CONTENT_TYPE}
    return Problem(exc.status, exc.reason, detail=detail, headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn whatever a handler raises into a problem response."""
    try:
        return await handler(request)
    except StreamAbortedError:
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_problem(exc).response()
    except Exception as exc:
        return problem_for(exc, request).response()
