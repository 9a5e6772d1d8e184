"""Routes built from commands and queries: the create, get, list and transition handlers that
every resource has, written once here instead of once per resource.

A resource module declares what it offers::

    api = ApiRoutes("customers", "People and companies that borrow or lease.")
    create_route(api, "/customers", customers.register_customer, body=RegisterCustomer,
                 reply=Customer)
    list_route(api, "/customers", customers.list_customers, query=CustomerQuery, item=Customer)
    get_route(api, f"/customers/{ID}", customers.get_customer, reply=Customer)

and gets, for each, a handler with the right order of checks (the caller's role before the
body is read; the body; the ``If-Match`` version for changes), the idempotency key for
creates and moves, ``Location`` and ``ETag`` headers, pages with ``next`` links, and the
OpenAPI operation (:mod:`leasekit.server.openapi`), named and described by the use case
itself: its name is the operationId, the first paragraph of its docstring the summary and
the rest the description. :func:`transition_route` derives the whole
``POST /<things>/{id}/transitions`` route, payload and description included, from the
aggregate's lifecycle.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, Final, cast

import attrs
from aiohttp import web

from leasekit.domain.identity import Role
from leasekit.domain.lifecycle import MAX_REASON, StateMachine
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import (
    PAGING,
    actor,
    expected_version,
    idempotency_key,
    json_response,
    page_response,
    read_json,
    read_paging,
    read_query,
    run_sync,
    services,
)
from leasekit.services.commands import Command, TransitionCommand

__all__ = [
    "ID",
    "create_route",
    "get_route",
    "list_route",
    "page_of",
    "revise_route",
    "transition_payload",
    "transition_route",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ID: Final = "{id:[0-9A-Za-z_.-]{1,64}}"
"""An id in a path: anything else (a NUL, a slash, a megabyte) is a plain 404."""


def _annotation(value: object) -> type:
    """A type expression as ``attrs.field(type=...)`` takes it (a union or a generic alias
    is not a ``type`` to a type checker, but is what the schema and the converter read)."""
    return cast(type, value)


_OPTIONAL_TEXT: Final = _annotation(str | None)


def _named(handler: Handler, name: str, doc: str) -> Handler:
    """The handler's name is the operationId and its docstring the description."""
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = doc
    return handler


def _texts(doc: str | None) -> tuple[str, str]:
    """(summary, description) of an operation from its use case's docstring: the first
    paragraph, without its full stop, and the rest (the summary again when there is none)."""
    paragraphs = [" ".join(part.split()) for part in inspect.cleandoc(doc or "").split("\n\n")]
    summary = paragraphs[0].removesuffix(".")
    return summary, "\n\n".join(paragraphs[1:]) or summary


def _same(value: Any) -> Any:
    return value


def create_route(
    api: ApiRoutes,
    path: str,
    command: Command[Any, Any],
    *,
    body: type,
    reply: type,
    location: str | None = None,
    to_reply: Callable[[Any], object] = _same,
    name: str | None = None,
) -> Handler:
    """``POST path``: run *command* on the body; 201 with ``Location`` (*location* with the
    new id, by default ``path/{id}``)."""
    where = location or f"{path}/{{id}}"
    summary, doc = _texts(command.doc)

    async def handler(request: web.Request) -> web.Response:
        who = actor(request)
        command.authorize(who)
        payload: Any = await read_json(request, body)
        made = await run_sync(
            request, command, services(request), who, payload,
            idempotency_key=idempotency_key(request),
        )  # fmt: skip
        return json_response(request, to_reply(made), status=201, location=where.format(id=made.id))

    api.post(
        path,
        retryable=True,
        summary=summary,
        body=body,
        responses={201: Reply(f"{summary}: done; ``Location`` names it.", reply)},
    )(_named(handler, name or command.name, doc))
    return handler


def get_route(
    api: ApiRoutes,
    path: str,
    getter: Callable[..., Any],
    *,
    reply: type,
    to_reply: Callable[[Any], object] = _same,
) -> Handler:
    """``GET path``: the object with its ``ETag``; another partner's is a 404."""
    summary, doc = _texts(getter.__doc__)

    async def handler(request: web.Request) -> web.Response:
        found = await run_sync(
            request, getter, services(request), actor(request), request.match_info["id"]
        )
        return json_response(request, to_reply(found))

    api.get(path, summary=summary, responses={200: Reply(summary, reply)})(
        _named(handler, getter.__name__, doc)
    )
    return handler


_PAGES: dict[type, type] = {}


def page_of(item: type) -> type:
    """The published shape of a page of *item* (``CustomerPage``): the items and the link to
    the next page."""
    if item not in _PAGES:
        _PAGES[item] = attrs.make_class(
            f"{item.__name__}Page",
            {
                "items": attrs.field(type=_annotation(list[item])),  # type: ignore[valid-type]
                "next": attrs.field(
                    type=_OPTIONAL_TEXT,
                    metadata={"description": "The next page's address; null on the last."},
                ),
            },
            frozen=True,
        )
        _PAGES[item].__doc__ = f"A page of {item.__name__} records, oldest first."
    return _PAGES[item]


def list_route(
    api: ApiRoutes,
    path: str,
    lister: Callable[..., Any],
    *,
    item: type,
    query: type | None = None,
    transform: Callable[[Any], object] | None = None,
    path_args: Callable[[web.Request], tuple[object, ...]] = lambda _: (),
) -> Handler:
    """``GET path``: one page of what *lister* finds for the query string's filters."""
    summary, doc = _texts(lister.__doc__)

    async def handler(request: web.Request) -> web.Response:
        after, limit = read_paging(request)
        filters = () if query is None else (read_query(request, query, besides=PAGING),)
        page = await run_sync(
            request, lister, services(request), actor(request), *path_args(request), *filters,
            after=after, limit=limit,
        )  # fmt: skip
        return page_response(request, page, transform)

    named = _named(handler, lister.__name__, doc)
    api.get(path, summary=summary, query=query, paged=True,
            responses={200: Reply(summary, page_of(item))})(named)  # fmt: skip
    return handler


def revise_route(
    api: ApiRoutes,
    path: str,
    command: Command[Any, Any],
    *,
    body: type,
    reply: type,
    revision: Callable[[str, Any, int | None], object],
    summary: str,
    answer: str,
    description: str,
) -> Handler:
    """``PUT path``: replace what the body describes at the version ``If-Match`` names (428
    without it, 412 when it changed since); the role is checked before the body is read.
    *revision* makes the command's input from the id, the body and that version."""

    async def handler(request: web.Request) -> web.Response:
        who = actor(request)
        command.authorize(who)
        version = expected_version(request)
        payload: Any = await read_json(request, body)
        made = revision(request.match_info["id"], payload, version)
        revised = await run_sync(request, command, services(request), who, made)
        return json_response(request, revised)

    api.put(
        path, conditional=True, summary=summary, body=body,
        responses={200: Reply(answer, reply)},
    )(_named(handler, command.name, inspect.cleandoc(description)))  # fmt: skip
    return handler


def _params(machine: StateMachine[Any]) -> list[str]:
    """Every parameter some move of *machine* takes, required or optional."""
    return sorted({p for t in machine.transitions for p in t.params | t.optional})


def transition_payload(command: TransitionCommand[Any]) -> type:
    """The body of a move, derived from the lifecycle: the action (one of the machine's),
    the reason, and every parameter some action takes."""
    machine = command.machine
    title = "".join(part.capitalize() for part in machine.name.split("_"))
    actions = machine.actions_enum or StrEnum(f"{title}Action", {a: a for a in machine.actions})
    required = sorted({t.action for t in machine.transitions if t.reason_required})
    fields: dict[str, Any] = {
        "action": attrs.field(type=_annotation(actions)),
        "reason": attrs.field(
            type=_OPTIONAL_TEXT,
            default=None,
            metadata={
                "description": f"Why; required for: {', '.join(required) or 'none'}.",
                "max_length": MAX_REASON,
                "multiline": True,
            },
        ),
    }
    for param in _params(machine):
        takers = sorted(t.action for t in machine.transitions if param in t.params)
        optional = sorted(t.action for t in machine.transitions if param in t.optional)
        said = [f"Required for: {', '.join(takers)}."] if takers else []
        said += [f"Optional for: {', '.join(optional)}."] if optional else []
        fields[param] = attrs.field(
            type=_OPTIONAL_TEXT, default=None, metadata={"description": " ".join(said)}
        )
    payload: type = attrs.make_class(f"{title}Transition", fields, frozen=True)
    payload.__doc__ = f"A move along the {machine.name.replace('_', ' ')} lifecycle, and why."
    return payload


def transition_route(
    api: ApiRoutes,
    path: str,
    command: TransitionCommand[Any],
    *,
    reply: type,
    to_reply: Callable[[Any], object] = _same,
) -> Handler:
    """``POST path``: one move of the object, checked against the version ``If-Match`` names:
    409 for a move the state does not allow, 403 for a role that may not make it, 412 when
    the object changed since the caller read it. The description lists the moves."""
    payload = transition_payload(command)
    kind = command.machine.name.replace("_", " ")
    params = _params(command.machine)

    async def handler(request: web.Request) -> web.Response:
        who = actor(request)
        command.authorize(who)
        version = expected_version(request)
        move: Any = await read_json(request, payload)
        given = {name: value for name in params if (value := getattr(move, name)) is not None}
        moved = await run_sync(
            request, command, services(request), who, request.match_info["id"],
            str(move.action), move.reason, expected_version=version,
            idempotency_key=idempotency_key(request), **given,
        )  # fmt: skip
        return json_response(request, to_reply(moved))

    api.post(
        path,
        retryable=True,
        conditional=True,
        summary=f"Move a {kind} along its lifecycle",
        body=payload,
        responses={200: Reply(f"The {kind} in its new state.", reply)},
    )(_named(handler, command.name, _moves(command.machine)))
    return handler


def _moves(machine: StateMachine[Any]) -> str:
    """The lifecycle's moves, as the operation describes them: each action, the states it
    leaves and enters, who may make it and whether it needs a reason."""
    lines = []
    for move in machine.transitions:
        sources = ", ".join(state for state in machine.states if state in move.sources)
        roles = ", ".join(role.value for role in Role if role in move.roles)
        reason = "; a reason is required" if move.reason_required else ""
        lines.append(f"- ``{move.action}``: {sources} → {move.target}, by {roles}{reason}.")
    return "\n".join(["Moves (the full table is in docs/lifecycles.md):", "", *lines])
