"""The reads every feature offers, made from its repository rather than written again: one
object the actor may see (:func:`reader`), one page of a list confined to what the actor may
see (:func:`lister`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from leasekit.domain.identity import Actor
from leasekit.errors import ValidationError
from leasekit.services.context import ServiceContext, page_size, visible_or_not_found
from leasekit.services.storage import Page, UnitOfWork

__all__ = ["Lister", "Reader", "lister", "number_cursor", "reader"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Q = TypeVar("Q")
Q_contra = TypeVar("Q_contra", contravariant=True)


class Reader(Protocol[T_co]):
    def __call__(self, ctx: ServiceContext, actor: Actor, object_id: str, /) -> T_co: ...


class Lister(Protocol[Q_contra, T]):
    def __call__(
        self,
        ctx: ServiceContext,
        actor: Actor,
        query: Q_contra | None = None,
        /,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> Page[T]: ...


class _Gets(Protocol[T_co]):
    def get(self, object_id: str, /) -> T_co: ...


class _Pages(Protocol[Q_contra, T]):
    def page(self, query: Q_contra, /, *, after: str | None, limit: int) -> Page[T]: ...


def reader(
    name: str, subject: str, repository: Callable[[UnitOfWork], _Gets[T]], doc: str
) -> Reader[T]:
    """*name* ``(ctx, actor, id)``: the object, or ``NotFoundError`` when it is missing or the
    actor may not see it (the same error, so ids at other partners stay hidden)."""

    def read(ctx: ServiceContext, actor: Actor, object_id: str, /) -> T:
        with ctx.uow_factory() as uow:
            found = repository(uow).get(object_id)
        return visible_or_not_found(actor, found, subject, object_id)

    return _named(read, name, doc)


def lister(
    name: str,
    query_type: Callable[[], Q],
    repository: Callable[[UnitOfWork], _Pages[Q, T]],
    confine: Callable[[Actor, Q], Q | None],
    doc: str,
) -> Lister[Q, T]:
    """*name* ``(ctx, actor, query, after=, limit=)``: a page of the records *query*
    matches once *confine* has limited it to what the actor may see (raising when the actor
    may list nothing; None for a query that can match nothing the actor may see)."""

    def list_(
        ctx: ServiceContext,
        actor: Actor,
        query: Q | None = None,
        /,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> Page[T]:
        size = page_size(limit)
        confined = confine(actor, query if query is not None else query_type())
        if confined is None:
            return Page([], None)
        with ctx.uow_factory() as uow:
            return repository(uow).page(confined, after=after, limit=size)

    return _named(list_, name, doc)


F = TypeVar("F", bound=Callable[..., object])


def number_cursor(after: str | None) -> int | None:
    """The ``after`` cursor of a list kept in numbered order (revisions, schedule lines) as
    the number it is; anything else is an input error, not an empty page."""
    if after is None:
        return None
    if not after.isascii() or not after.isdecimal() or len(after) > 18:
        raise ValidationError.single("after", "not a cursor this server gave")
    return int(after)


def _named(function: F, name: str, doc: str) -> F:
    """*function* under *name* with *doc*: tracebacks, logs and the HTTP API show them."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function
