"""The blacklist: people and things the company will not do business with, and why.

An entry lists one identifier: an individual's official **id number** (with its country,
checked as a customer's is), a **phone** number, a vehicle's **VIN**, or a **partner**. The
back office adds the first three by hand, with a reason and the documents that prove it; a
partner's entry mirrors its lifecycle, made when the partner is blacklisted and removed when
the blacklist is lifted, so the list and the partner's state never disagree.

An entry stays on the list (:data:`ON_LIST`) until it is removed, and removal takes two
people: one requests it with a reason, another approves it (:data:`BLACKLIST_LIFECYCLE`).
One identifier has one entry on the list at a time; the database enforces it.

Id numbers are personal data: events and logs carry them masked (:func:`mask`), never whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import CREATE_ROLES, ObjectPermissionError, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.customers import CustomerKind, validate_id_number
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import (
    MAX_REASON,
    Effect,
    Guard,
    Move,
    Stateful,
    StateMachine,
    not_by,
    records_actor,
    row,
)
from leasekit.domain.validation import Checks, country_code, normalize_phone, text
from leasekit.domain.vehicles import Vin
from leasekit.errors import FieldError, ValidationError

__all__ = [
    "BLACKLIST_LIFECYCLE",
    "IDENTIFIER_FIELDS",
    "MAX_EVIDENCE",
    "ON_LIST",
    "BlacklistAction",
    "BlacklistEntry",
    "BlacklistKind",
    "BlacklistState",
    "Identifier",
    "mask",
    "normalize_phone",
]

MAX_EVIDENCE: Final = 20
"""Documents one entry cites; proof, not an archive."""


class BlacklistKind(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    VIN = "vin"
    PARTNER = "partner"


IDENTIFIER_FIELDS: Final = ("id_number", "phone", "vin")
"""The identifiers the back office lists by hand, by the field that carries each."""


class BlacklistState(StrEnum):
    LISTED = "listed"
    REMOVAL_REQUESTED = "removal_requested"
    """Still on the list: a request is only a request until another person approves it."""
    REMOVED = "removed"


class BlacklistAction(StrEnum):
    REQUEST_REMOVAL = "request_removal"
    APPROVE_REMOVAL = "approve_removal"
    REJECT_REMOVAL = "reject_removal"
    LIFT = "lift"


ON_LIST: Final = frozenset({BlacklistState.LISTED, BlacklistState.REMOVAL_REQUESTED})
"""The states in which an entry blocks its identifier."""

_S = BlacklistState
_A = BlacklistAction
_LISTERS: Final = CREATE_ROLES["blacklist_entry"] - {Role.SYSTEM}
"""Who lists and asks for removal: collections, credit management and risk all meet fraud."""
# Taking someone off the list is the riskier direction: it is for the roles that sanction
# partners, and never for the person who asked.
_REMOVERS: Final = (Role.DIRECTOR, Role.POST_LOAN_SUPERVISOR)

BLACKLIST_LIFECYCLE: Final = StateMachine(
    "blacklist_entry",
    _S.LISTED,
    (
        row(_A.REQUEST_REMOVAL, [_S.LISTED], _S.REMOVAL_REQUESTED, _LISTERS,
            "blacklist_removal_requested", True),
        row(_A.APPROVE_REMOVAL, [_S.REMOVAL_REQUESTED], _S.REMOVED, _REMOVERS,
            "blacklist_entry_removed"),
        row(_A.REJECT_REMOVAL, [_S.REMOVAL_REQUESTED], _S.LISTED, _REMOVERS,
            "blacklist_removal_rejected", True),
        # A partner's entry follows the partner: lifting its blacklist removes it.
        row(_A.LIFT, [_S.LISTED, _S.REMOVAL_REQUESTED], _S.REMOVED, [Role.SYSTEM],
            "blacklist_entry_lifted", True),
    ),
    final=frozenset({_S.REMOVED}),
    actions_enum=BlacklistAction,
)  # fmt: skip


def mask(id_number: str) -> str:
    """An id number as events and logs may show it: its last four characters only."""
    return "*" * max(len(id_number) - 4, 0) + id_number[-4:]


@attrs.frozen
class Identifier:
    """What one entry lists, checked and in the form entries are matched in."""

    kind: BlacklistKind
    country: str | None = None
    id_number: str | None = attrs.field(default=None, repr=False)
    phone: str | None = None
    vin: Vin | None = None
    partner_id: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        id_number: str | None = None,
        country: str | None = None,
        phone: str | None = None,
        vin: str | None = None,
    ) -> Identifier:
        """Exactly one of *id_number* (an individual's, of *country*, ``CN`` unless said),
        *phone* or *vin*, checked; every fault named by its field."""
        given = {"id_number": id_number, "phone": phone, "vin": vin}
        named = [field for field, value in given.items() if value is not None]
        if len(named) != 1:
            raise ValidationError(_one_identifier_errors(named))
        if country is not None and id_number is None:
            raise ValidationError.single("country", "only an id number has a country")
        if phone is not None:
            return cls(BlacklistKind.PHONE, phone=normalize_phone(phone))
        if vin is not None:
            return cls(BlacklistKind.VIN, vin=Vin.parse(vin))
        assert id_number is not None  # exactly one was given
        checks = Checks()
        valid_country = checks.run(lambda: country_code(country or "CN"))
        number = None
        if valid_country is not None:
            number = checks.run(
                lambda: validate_id_number(valid_country, CustomerKind.INDIVIDUAL, id_number)
            )
        if number is None:
            raise checks.error()
        return cls(BlacklistKind.ID_NUMBER, country=valid_country, id_number=number)

    @property
    def shown(self) -> str:
        """The identifier as events may carry it (an id number masked)."""
        if self.id_number is not None:
            return f"{self.country} {mask(self.id_number)}"
        return str(self.phone or self.vin or self.partner_id)


def _one_identifier_errors(named: Sequence[str]) -> list[FieldError]:
    if not named:
        message = "give one of id_number, phone or vin"
        return [FieldError(field, message) for field in IDENTIFIER_FIELDS]
    return [FieldError(field, "one identifier per entry; list each apart") for field in named]


def _evidence(document_ids: Sequence[str]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(document_ids))
    if len(unique) > MAX_EVIDENCE:
        raise ValidationError.single("evidence", f"at most {MAX_EVIDENCE} documents")
    return unique


def _document_ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _vin(value: Vin | str | None) -> Vin | None:
    return value if value is None or isinstance(value, Vin) else Vin.parse(value)


def _check_not_partner(entry: BlacklistEntry, move: Move) -> None:
    if entry.kind is BlacklistKind.PARTNER:
        raise ObjectPermissionError(
            "blacklist_entry",
            move.transition.action,
            move.actor.role.value,
            "a partner leaves the list when a director lifts its blacklist "
            "(POST /partners/{id}/transitions lift_blacklist)",
        )


def _check_partner(entry: BlacklistEntry, move: Move) -> None:
    if entry.kind is not BlacklistKind.PARTNER:
        raise ObjectPermissionError(
            "blacklist_entry", "lift", move.actor.role.value, "only a partner's entry is lifted"
        )


_NOT_THE_ASKER: Final = not_by(
    "removal_requested_by",
    "the person who asked for the removal may not decide it; another person must",
)
"""A removal is decided by somebody other than the person who asked for it."""


def _record_request(entry: BlacklistEntry, move: Move) -> None:
    entry.removal_requested_by = move.actor.user_id
    entry.removal_decided_by = None


@attrs.define
class BlacklistEntry(Stateful):
    """One identifier on the list: why, the documents that prove it, and who listed it.

    ``partner_id`` names the partner a ``partner`` entry lists; the entry is about that
    partner, not its, and no dealer user ever reads the blacklist.
    """

    id: str
    kind: BlacklistKind = attrs.field(converter=BlacklistKind)
    country: str | None
    id_number: str | None = attrs.field(repr=False)
    phone: str | None
    vin: Vin | None = attrs.field(converter=_vin)
    partner_id: str | None
    reason: str
    evidence: tuple[str, ...] = attrs.field(converter=_document_ids)
    """Ids of the documents that prove the reason."""
    added_by: str
    added_at: datetime
    removal_requested_by: str | None
    removal_decided_by: str | None
    state: BlacklistState = attrs.field(converter=BlacklistState)
    version: int = 0

    lifecycle: ClassVar[StateMachine[BlacklistState]] = BLACKLIST_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("kind", "shown")
    guards: ClassVar[Mapping[str, Guard]] = {
        _A.REQUEST_REMOVAL: _check_not_partner,
        _A.APPROVE_REMOVAL: _NOT_THE_ASKER,
        _A.REJECT_REMOVAL: _NOT_THE_ASKER,
        _A.LIFT: _check_partner,
    }
    effects: ClassVar[Mapping[str, Effect]] = {
        _A.REQUEST_REMOVAL: _record_request,
        _A.APPROVE_REMOVAL: records_actor("removal_decided_by"),
        _A.REJECT_REMOVAL: records_actor("removal_decided_by"),
    }

    @classmethod
    def add(
        cls,
        identifier: Identifier,
        *,
        reason: str,
        evidence: Sequence[str],
        actor: Actor,
        at: datetime,
        added_by: str | None = None,
    ) -> BlacklistEntry:
        """A new entry on the list; *added_by* is the person behind it when *actor* is the
        system acting on their decision (a partner blacklisted through its lifecycle)."""
        ensure_may_create(actor, "blacklist_entry")
        checks = Checks()
        valid_reason = checks.run(lambda: text(reason, "reason", MAX_REASON))
        documents = checks.run(lambda: _evidence(evidence))
        if valid_reason is None or documents is None:
            raise checks.error()
        return cls(
            id=new_id(),
            kind=identifier.kind,
            country=identifier.country,
            id_number=identifier.id_number,
            phone=identifier.phone,
            vin=identifier.vin,
            partner_id=identifier.partner_id,
            reason=valid_reason,
            evidence=documents,
            added_by=added_by or actor.user_id,
            added_at=require_utc(at),
            removal_requested_by=None,
            removal_decided_by=None,
            state=BlacklistState.LISTED,
        )

    @property
    def identifier(self) -> Identifier:
        return Identifier(
            self.kind, self.country, self.id_number, self.phone, self.vin, self.partner_id
        )

    @property
    def shown(self) -> str:
        """The identifier as events may carry it (an id number masked)."""
        return self.identifier.shown

    @property
    def on_list(self) -> bool:
        return self.state in ON_LIST
