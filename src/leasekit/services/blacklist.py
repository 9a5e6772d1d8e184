"""The blacklist: listing people and vehicles, removing them with four eyes, mirroring the
partners the lifecycle blacklists, and :func:`blacklist_hits`, the lookup the anti-fraud
checks of origination call.

Only the back office reads the list; a dealer's user is refused every blacklist request.
Id numbers are shown whole in the back office's reads and nowhere else: events carry them
masked, and nothing here logs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, TypeVar

import attrs

from leasekit.domain.blacklist import (
    BLACKLIST_LIFECYCLE,
    BlacklistAction,
    BlacklistEntry,
    BlacklistKind,
    BlacklistState,
    Identifier,
    normalize_phone,
)
from leasekit.domain.events import DomainEvent, Payload
from leasekit.domain.identity import Actor
from leasekit.domain.vehicles import Vin
from leasekit.errors import FieldError, NotFoundError, ValidationError
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext, back_office_only, visible_or_not_found
from leasekit.services.events import handles
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record, UnitOfWork

__all__ = [
    "AddToBlacklist",
    "BlacklistQuery",
    "add_to_blacklist",
    "blacklist_hits",
    "get_blacklist_entry",
    "list_blacklist",
    "mirror_partner",
    "transition_blacklist_entry",
]

T = TypeVar("T")

_MOVERS: Final = frozenset(role for row in BLACKLIST_LIFECYCLE.transitions for role in row.roles)


@attrs.frozen
class AddToBlacklist:
    """One identifier (exactly one of ``id_number``, ``phone`` and ``vin``), why, and the
    documents that prove it, uploaded beforehand to their owner (``/customers/{id}/documents``
    ...)."""

    reason: str = attrs.field(metadata={"max_length": 1000, "multiline": True})
    id_number: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={"description": "An individual's official id number, of ``country``."},
    )
    country: str | None = attrs.field(
        default=None,
        metadata={"description": "The id number's country (ISO 3166), ``CN`` unless given."},
    )
    phone: str | None = attrs.field(
        default=None,
        metadata={"description": "Digits with an optional leading ``+``; blanks, dots, "
                  "dashes and brackets between them are dropped."},
    )  # fmt: skip
    vin: str | None = None
    evidence: tuple[str, ...] = attrs.field(
        default=(), metadata={"description": "Ids of documents that prove the reason."}
    )


def _payload(entry: BlacklistEntry) -> Payload:
    """What events say of an entry: never a whole id number."""
    return {"kind": str(entry.kind), "shown": entry.shown, "evidence": len(entry.evidence)}


def _check_evidence(uow: UnitOfWork, actor: Actor, document_ids: Iterable[str]) -> None:
    """Every cited document exists and the actor may see it."""
    errors: list[FieldError] = []
    for document_id in document_ids:
        try:
            visible_or_not_found(actor, uow.documents.get(document_id), "document", document_id)
        except NotFoundError:
            errors.append(FieldError("evidence", f"no such document: {document_id}"))
    if errors:
        raise ValidationError(errors)


def _refuse_listed(uow: UnitOfWork, identifier: Identifier, field: str) -> None:
    """A clear refusal of an identifier already on the list (the unique indexes settle
    races with the same message)."""
    if _lookup(uow, [identifier]):
        raise ValidationError.single(field, "is on the blacklist already")


@command(
    "add_to_blacklist",
    subject="blacklist_entry",
    creates="blacklist_entry",
    reload=lambda uow, entry_id: uow.blacklist.get(entry_id),
)
def add_to_blacklist(work: Work, request: AddToBlacklist) -> BlacklistEntry:
    """Put a person or a vehicle on the blacklist.

    By an individual's id number (with its country; ``CN`` unless given), a phone number or
    a VIN, each checked and kept in one form, so every way of writing it matches. The
    reason is required; ``evidence`` cites documents uploaded beforehand. One identifier is
    on the list once: listing it again is a 422 on its field. Post-loan supervisors,
    managers and directors. Partners are listed by blacklisting them
    (``POST /partners/{id}/transitions``).
    """
    identifier = Identifier.parse(
        id_number=request.id_number, country=request.country, phone=request.phone, vin=request.vin
    )
    entry = BlacklistEntry.add(
        identifier,
        reason=request.reason,
        evidence=request.evidence,
        actor=work.actor,
        at=work.at,
    )
    _check_evidence(work.uow, work.actor, entry.evidence)
    _refuse_listed(work.uow, identifier, str(identifier.kind))
    work.uow.blacklist.add(entry)
    work.event("blacklist_entry_added", "blacklist_entry", entry.id, _payload(entry))
    return entry


transition_blacklist_entry = transition_command(
    "blacklist_entry", BLACKLIST_LIFECYCLE, lambda uow: uow.blacklist, roles=_MOVERS
)
"""``request_removal`` with a reason; ``approve_removal`` or ``reject_removal`` by another
person; ``lift`` is the system's, when a partner's blacklist is lifted."""


@handles("partner_blacklisted", "partner_blacklist_lifted", name="blacklist.mirror_partner")
def mirror_partner(work: Work, event: DomainEvent) -> None:
    """Keep the partner's entry in step with its lifecycle: listed with the reason and the
    person who blacklisted it, lifted when a director lifts the blacklist. One handler for
    both, so the two are applied in the order they happened."""
    identifier = Identifier(BlacklistKind.PARTNER, partner_id=event.subject_id)
    listed = _lookup(work.uow, [identifier])
    if event.name == "partner_blacklisted" and not listed:
        entry = BlacklistEntry.add(
            identifier,
            reason=str(event.payload["reason"]),
            evidence=(),
            actor=work.actor,
            at=work.at,
            added_by=event.actor_id,
        )
        work.uow.blacklist.add(entry)
        work.event("blacklist_entry_added", "blacklist_entry", entry.id, _payload(entry))
    elif event.name == "partner_blacklist_lifted":
        for entry in listed:
            moved = entry.apply(
                BlacklistAction.LIFT,
                work.actor,
                at=work.at,
                business_date=work.business_date,
                reason=str(event.payload["reason"]),
            )
            work.uow.blacklist.update(entry)
            work.record(moved)


# --- reading the list -----------------------------------------------------------------------


@attrs.frozen
class BlacklistQuery:
    """Which entries to list; every field left out matches all."""

    kind: BlacklistKind | None = None
    state: BlacklistState | None = None
    phone: str | None = None
    vin: str | None = None
    partner_id: str | None = None


def _prepared(actor: Actor, query: BlacklistQuery) -> BlacklistQuery:
    """The back office's query, with a phone or VIN in the form entries keep them."""
    back_office_only(actor, "blacklist_entry")
    phone = None if query.phone is None else normalize_phone(query.phone)
    vin = None if query.vin is None else str(Vin.parse(query.vin))
    return attrs.evolve(query, phone=phone, vin=vin)


list_blacklist: Lister[BlacklistQuery, Record] = lister(
    "list_blacklist",
    BlacklistQuery,
    lambda uow: uow.blacklist,
    _prepared,
    """List the blacklist.

    Back-office staff only, id numbers shown whole. ``?state=listed`` and
    ``?state=removal_requested`` are the entries that block their identifier; ``?phone=`` and
    ``?vin=`` find one however it is written.""",
)


def get_blacklist_entry(ctx: ServiceContext, actor: Actor, entry_id: str, /) -> BlacklistEntry:
    """Get a blacklist entry.

    Back-office staff only."""
    back_office_only(actor, "blacklist_entry")
    with ctx.uow_factory() as uow:
        return uow.blacklist.get(entry_id)


# --- the anti-fraud lookup ------------------------------------------------------------------


def blacklist_hits(
    source: UnitOfWork | ServiceContext,
    *,
    id_numbers: Iterable[tuple[str, str]] = (),
    phones: Iterable[str] = (),
    vins: Iterable[str] = (),
    partner_ids: Iterable[str] = (),
) -> list[BlacklistEntry]:
    """The entries on the list (listed, or with a removal requested) that match any of the
    identifiers, from one indexed query: in the caller's unit of work (inside a command) or a
    new one from a context.

    Id numbers are ``(country, number)`` pairs of individuals. Each identifier is brought to
    the form entries keep (compact id number, phone digits, VIN in capitals); one that is not
    valid cannot be on the list and matches nothing.
    """
    wanted = [
        *_valid(lambda pair: Identifier.parse(id_number=pair[1], country=pair[0]), id_numbers),
        *_valid(lambda phone: Identifier.parse(phone=phone), phones),
        *_valid(lambda vin: Identifier.parse(vin=vin), vins),
        *(Identifier(BlacklistKind.PARTNER, partner_id=p) for p in partner_ids),
    ]
    if isinstance(source, ServiceContext):
        with source.uow_factory() as uow:
            return _lookup(uow, wanted)
    return _lookup(source, wanted)


def _valid(parse: Callable[[T], Identifier], values: Iterable[T]) -> list[Identifier]:
    found = []
    for value in values:
        try:
            found.append(parse(value))
        except ValidationError:
            continue
    return found


def _lookup(uow: UnitOfWork, identifiers: Iterable[Identifier]) -> list[BlacklistEntry]:
    wanted = list(identifiers)
    if not wanted:
        return []
    return uow.blacklist.hits(
        id_numbers=[(i.country, i.id_number) for i in wanted if i.country and i.id_number],
        phones=[i.phone for i in wanted if i.phone],
        vins=[str(i.vin) for i in wanted if i.vin],
        partner_ids=[i.partner_id for i in wanted if i.partner_id],
    )
