"""Route declarations that describe themselves, and the OpenAPI 3.1 document built from them.

Each resource module owns one :class:`ApiRoutes`: an aiohttp ``RouteTableDef`` whose
decorators also record the operation (summary, request body, query, responses). The document
at ``/openapi.json`` is built from those records and from the same attrs classes and
:data:`~leasekit.server.payloads.CODECS` that the converter uses, so it cannot drift from what
the handlers accept and return. A type the document cannot describe is an error when the app
is built, not a silent ``{}``.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Final, TypeVar, Union, get_args, get_origin

import attrs
from aiohttp import web

from leasekit.server.payloads import ARRAY_ORIGINS, CODECS, MAPPING_ORIGINS, Codec, max_length
from leasekit.server.problems import PROBLEM_JSON

__all__ = [
    "BEARER_SCHEME",
    "JSON",
    "ApiRoutes",
    "Operation",
    "Reply",
    "Schemas",
    "build_document",
]

JSON: Final = "application/json"
BEARER_SCHEME: Final = "bearerToken"
OPENAPI_VERSION: Final = "3.1.0"

_Handler = TypeVar("_Handler", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])
_PATH_PARAMETER: Final = re.compile(r"\{(\w+)(?::(?:[^{}]|\{[^{}]*\})*)?\}")
"""A path template's parameter, with its pattern (which may hold a ``{m,n}`` count)."""


@attrs.frozen
class Reply:
    """One response an operation gives: *body* is a type (``Customer``, ``list[Customer]``),
    ``bytes`` for a file, or None for no body."""

    description: str
    body: Any = None
    media_type: str = JSON
    alternatives: Mapping[str, Any] = attrs.field(factory=dict)
    """The same answer in other media types, each with its body (``{"text/csv": bytes}``),
    for a client that asks for one (``Accept``, or a ``format`` in the query)."""


@attrs.frozen
class Operation:
    """One method on one path, as declared by its route module."""

    method: str
    path: str
    """As given to aiohttp, possibly with patterns: ``/documents/{id:[0-9a-f]{32}}``."""
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    tag: str
    summary: str
    responses: Mapping[int, Reply]
    body: Any = None
    body_media_type: str | tuple[str, ...] = JSON
    """The body's media type, or the types it may have (a spreadsheet as CSV or XLSX)."""
    query: type | None = None
    public: bool = False
    retryable: bool = False
    """Takes an ``Idempotency-Key`` header, so a client may safely retry it."""
    paged: bool = False
    """Answers one page at a time (``after`` and ``limit`` in the query)."""
    conditional: bool = False
    """Changes an object only at the version ``If-Match`` names."""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def openapi_path(self) -> str:
        """The path without aiohttp's patterns, as OpenAPI writes templates."""
        return _PATH_PARAMETER.sub(r"{\1}", self.path)

    @property
    def path_parameters(self) -> list[str]:
        return _PATH_PARAMETER.findall(self.path)


class ApiRoutes:
    """The routes of one resource module, and their description for the OpenAPI document."""

    def __init__(self, tag: str, description: str) -> None:
        self.tag = tag
        self.description = description
        self.table = web.RouteTableDef()
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        responses: Mapping[int, Reply],
        body: Any = None,
        body_media_type: str | tuple[str, ...] = JSON,
        query: type | None = None,
        public: bool = False,
        retryable: bool = False,
        paged: bool = False,
        conditional: bool = False,
    ) -> Callable[[_Handler], _Handler]:
        """Register the decorated handler for *method* on *path* and record its operation.

        The handler's name becomes the operationId and its docstring the description, so
        write both for the API's users. *public* routes answer without a token; *retryable*
        ones take an ``Idempotency-Key`` header (the handler passes it to the service).
        """

        def register(handler: _Handler) -> _Handler:
            self.operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    tag=self.tag,
                    summary=summary,
                    responses=responses,
                    body=body,
                    body_media_type=body_media_type,
                    query=query,
                    public=public,
                    retryable=retryable,
                    paged=paged,
                    conditional=conditional,
                )
            )
            self.table.route(method, path)(handler)
            return handler

        return register

    def get(self, path: str, **declaration: Any) -> Callable[[_Handler], _Handler]:
        return self.route("GET", path, **declaration)

    def post(self, path: str, **declaration: Any) -> Callable[[_Handler], _Handler]:
        return self.route("POST", path, **declaration)

    def put(self, path: str, **declaration: Any) -> Callable[[_Handler], _Handler]:
        return self.route("PUT", path, **declaration)

    def patch(self, path: str, **declaration: Any) -> Callable[[_Handler], _Handler]:
        return self.route("PATCH", path, **declaration)

    def delete(self, path: str, **declaration: Any) -> Callable[[_Handler], _Handler]:
        return self.route("DELETE", path, **declaration)


_PROBLEM_SCHEMA: Final = {
    "type": "object",
    "description": "An error, as RFC 9457 describes (application/problem+json).",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {
            "type": "string",
            "description": "The id the error was logged under (server-side errors only).",
        },
        "state": {
            "type": "string",
            "description": "The object's current state (illegal transitions only).",
        },
        "action": {
            "type": "string",
            "description": "The action refused (illegal transitions only).",
        },
        "allowed": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The actions the state allows (illegal transitions only).",
        },
        "partner_state": {
            "type": "string",
            "description": "The state of the user's or the object's partner (partner "
            "restrictions and barred partners only).",
        },
        "capability": {
            "type": "string",
            "description": "What the partner's state refused (partner restrictions only).",
        },
        "errors": {
            "type": "array",
            "description": "Each field at fault (validation problems only).",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "description": "Dotted path; $ is the body."},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


class Schemas:
    """JSON Schemas for Python types; named ones are collected for ``components/schemas``."""

    def __init__(self, codecs: Iterable[Codec[Any]] = CODECS) -> None:
        self._codecs = {codec.cls: codec for codec in codecs}
        self._owners: dict[str, object] = {}
        self.components: dict[str, Any] = {}

    def of(self, cls: Any) -> dict[str, Any]:
        """The schema of *cls*, or a ``$ref`` to it; TypeError for a type the API cannot carry."""
        origin = get_origin(cls)
        if cls is Any:
            return {}
        if origin in (Union, types.UnionType):
            return self._union(get_args(cls))
        if origin in ARRAY_ORIGINS:
            return self._array(cls, origin)
        if origin in MAPPING_ORIGINS:
            key, value = get_args(cls)
            if key is not str:
                raise TypeError(f"{cls}: JSON object keys are strings")
            return {"type": "object", "additionalProperties": self.of(value)}
        if cls in self._codecs:
            codec = self._codecs[cls]
            if codec.name is None:
                return dict(codec.schema)
            return self._named(codec.name, cls, lambda: dict(codec.schema))
        if isinstance(cls, type) and issubclass(cls, StrEnum):
            values = [member.value for member in cls]
            return self._named(cls.__name__, cls, lambda: {"type": "string", "enum": values})
        if isinstance(cls, type) and attrs.has(cls):
            return self._named(cls.__name__, cls, lambda: self._object(cls))
        raise TypeError(f"{cls!r} cannot appear in the API: add a Codec for it in payloads.py")

    def _union(self, members: tuple[Any, ...]) -> dict[str, Any]:
        others = [member for member in members if member is not type(None)]
        if len(others) != 1:
            raise TypeError(f"only 'T | None' unions can appear in the API, not {members}")
        return {"anyOf": [self.of(others[0]), {"type": "null"}]}

    def _array(self, cls: Any, origin: Any) -> dict[str, Any]:
        item, *rest = get_args(cls)
        if rest not in ([], [Ellipsis]):
            raise TypeError(f"{cls}: only tuple[T, ...] tuples can appear in the API")
        schema: dict[str, Any] = {"type": "array", "items": self.of(item)}
        if origin not in (list, tuple, Sequence):
            schema["uniqueItems"] = True
        return schema

    def _named(
        self, name: str, owner: object, build: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Publish *owner*'s schema once under *name* and refer to it; two types may not
        share a name, or one would silently describe the other."""
        known = self._owners.setdefault(name, owner)
        if known is not owner:
            raise TypeError(f"two types are named {name} in the API: {known!r} and {owner!r}")
        if name not in self.components:
            self.components[name] = {}  # placeholder first, so that recursive types end
            self.components[name] = build()
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, cls: type) -> dict[str, Any]:
        attrs.resolve_types(cls)
        fields = attrs.fields(cls)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {field.name: self._property(field) for field in fields},
            "additionalProperties": False,
        }
        required = [field.name for field in fields if field.default is attrs.NOTHING]
        if required:
            schema["required"] = required
        if cls.__doc__:
            schema["description"] = inspect.cleandoc(cls.__doc__)
        return schema

    def _property(self, field: attrs.Attribute[Any]) -> dict[str, Any]:
        schema = _with_max_length(self.of(field.type), field)
        description = field.metadata.get("description")
        if description is None:
            return schema
        # Siblings of $ref are allowed from OpenAPI 3.1 (JSON Schema 2020-12) on.
        return schema | {"description": description}


def _free_text(schema: Mapping[str, Any]) -> bool:
    """A string schema with no other rule on its form (not an enum, a pattern, a date)."""
    return schema.get("type") == "string" and not {"enum", "pattern", "format"} & set(schema)


def _with_max_length(schema: dict[str, Any], field: attrs.Attribute[Any]) -> dict[str, Any]:
    """A string field's schema with the longest value the server accepts for it."""
    limit = max_length(field)
    if _free_text(schema):
        return schema | {"maxLength": limit}
    strings = [member | {"maxLength": limit} for member in schema.get("anyOf", [])
               if _free_text(member)]  # fmt: skip
    if strings and len(strings) == len(schema["anyOf"]) - 1:
        return {"anyOf": [*strings, {"type": "null"}]}
    return schema


IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_KEY_PARAMETER: Final[dict[str, Any]] = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": "A key of your choice (1-255 printable ASCII characters) that makes the "
    "request safe to retry: a retry with the same key returns what the first attempt made. "
    "Reusing a key for a different request is a 409; a malformed key is a 422 on "
    "idempotency_key.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


_PATH_ID_SCHEMA: Final = {"type": "string", "pattern": "^[0-9A-Za-z_.-]{1,64}$"}
_PAGING_PARAMETERS: Final[list[dict[str, Any]]] = [
    {
        "name": "after",
        "in": "query",
        "required": False,
        "description": "The cursor of the page to read, from the previous page's `next`.",
        "schema": {"type": "string", "pattern": "^[0-9A-Za-z_.-]{1,64}$"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Records per page (50 unless given).",
        "schema": {"type": "string", "pattern": "^[0-9]{1,3}$"},
    },
]
IF_MATCH_PARAMETER: Final[dict[str, Any]] = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": 'The ETag of the version the change was decided on, e.g. `"3"` (or `*`): '
    "428 without it, 412 when the object has changed since (or for any other value: RFC 9110 "
    "§13.1.1 makes a tag that matches nothing a failed precondition, not a malformed request).",
    "schema": {"type": "string"},
}


def _present(cls: Any) -> Any:
    """A query parameter is left out, never null: ``T | None`` is ``T`` there."""
    if get_origin(cls) in (Union, types.UnionType):
        others = [member for member in get_args(cls) if member is not type(None)]
        if len(others) == 1:
            return others[0]
    return cls


def query_parameter(field: attrs.Attribute[Any]) -> str:
    """The query parameter a field of a query class reads: its name, less the trailing
    underscore that lets a Python keyword be one (``from_`` reads ``?from=``)."""
    return field.name.removesuffix("_")


def _parameters(operation: Operation, schemas: Schemas) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": dict(_PATH_ID_SCHEMA)}
        for name in operation.path_parameters
    ]
    if operation.query is not None:
        attrs.resolve_types(operation.query)
        parameters.extend(
            {
                "name": query_parameter(field),
                "in": "query",
                "required": field.default is attrs.NOTHING,
                "schema": _with_max_length(schemas.of(_present(field.type)), field),
            }
            for field in attrs.fields(operation.query)
        )
    if operation.paged:
        parameters.extend(_PAGING_PARAMETERS)
    if operation.conditional:
        parameters.append(IF_MATCH_PARAMETER)
    if operation.retryable:
        parameters.append(IDEMPOTENCY_KEY_PARAMETER)
    return parameters


def _content(body: Any, media_type: str | tuple[str, ...], schemas: Schemas) -> dict[str, Any]:
    media_types = (media_type,) if isinstance(media_type, str) else media_type
    if body is bytes:
        return {media: {} for media in media_types}
    return {media: {"schema": schemas.of(body)} for media in media_types}


_HEADERS: Final[dict[str, dict[str, Any]]] = {
    "ETag": {"description": "The object's version, for If-Match.", "schema": {"type": "string"}},
    "Location": {
        "description": "The address of what was made (201), or of the work begun (202).",
        "schema": {"type": "string"},
    },
    "Link": {"description": 'The next page, rel="next".', "schema": {"type": "string"}},
}


def _headers(operation: Operation, status: int) -> dict[str, Any]:
    names = ["Link"] if operation.paged else ["ETag"]
    if status in (201, 202):
        names.append("Location")
    return {name: _HEADERS[name] for name in names}


def _responses(operation: Operation, schemas: Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, reply in sorted(operation.responses.items()):
        response: dict[str, Any] = {"description": reply.description}
        if reply.body is not None:
            response["content"] = _content(reply.body, reply.media_type, schemas)
            for media_type, body in reply.alternatives.items():
                response["content"].update(_content(body, media_type, schemas))
            if reply.media_type == JSON and status < 300:
                response["headers"] = _headers(operation, status)
        responses[str(status)] = response
    responses["default"] = {
        "description": "An error, described as application/problem+json.",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    return responses


def _operation(operation: Operation, schemas: Schemas) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    description = inspect.getdoc(operation.handler)
    if description:
        document["description"] = description
    parameters = _parameters(operation, schemas)
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": _content(operation.body, operation.body_media_type, schemas),
        }
    document["responses"] = _responses(operation, schemas)
    if operation.public:
        document["security"] = []
    return document


def build_document(
    routes: Iterable[ApiRoutes], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for *routes*. Raises ValueError for two operations with one
    operationId (their handlers share a name) or one method declared twice on a path."""
    routes = list(routes)
    schemas = Schemas()
    schemas.components["Problem"] = _PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    for operation in (operation for group in routes for operation in group.operations):
        if operation.operation_id in seen_ids:
            raise ValueError(f"two operations have the operationId {operation.operation_id!r}")
        seen_ids.add(operation.operation_id)
        methods = paths.setdefault(operation.openapi_path, {})
        if operation.method.lower() in methods:
            raise ValueError(f"{operation.method} {operation.openapi_path} is declared twice")
        methods[operation.method.lower()] = _operation(operation, schemas)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version, "description": description},
        "tags": [{"name": group.tag, "description": group.description} for group in routes],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                BEARER_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token: Authorization: Bearer <token>.",
                }
            },
        },
        "security": [{BEARER_SCHEME: []}],
    }
