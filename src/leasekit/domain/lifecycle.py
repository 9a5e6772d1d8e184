"""The lifecycle engine: state machines as tables, and the one path every move takes.

Each aggregate with a lifecycle declares its machine beside itself (the application's in
:mod:`leasekit.domain.applications`, the partner's in :mod:`leasekit.domain.partners` ...): a
table of actions, the states they leave and enter, the roles allowed, the past-tense event,
whether a reason is required, the partner capability the move needs and the parameters it
takes. This module holds what they share:

* :class:`StateMachine`, which checks its table when it is built (every state reachable, only
  final states are dead ends, one row per action and source state);
* :func:`move`, the single transition path. It checks, in this order, and changes nothing
  until every check has passed:

  1. the actor may **see** the object (a dealer acts only on its own partner's objects);
  2. the action is **known** to the machine (else a ``ValidationError`` on ``action``);
  3. the action is **legal** from the object's state (``IllegalTransitionError``);
  4. the actor's **role** may perform it (``PermissionDeniedError``);
  5. the object's partner has the **capability** the row requires (a suspended dealer cannot
     submit);
  6. the **parameters** the row names are given, the object's own **guards** pass (the holder
     of a lock, four eyes), and a required **reason** is not blank;

  then it applies the aggregate's **effects** (a claimed task records its holder), moves the
  state and returns the :class:`~leasekit.domain.events.StateChanged` event;
* :class:`Stateful`, the mixin that gives an attrs entity ``apply(action, actor, ...)``.

Documentation is generated from the same tables by :mod:`leasekit.domain.lifecycle_docs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

import attrs

from leasekit.domain.access import ObjectPermissionError, ensure_may_act
from leasekit.domain.events import PayloadValue, StateChanged
from leasekit.domain.identity import Actor, Role
from leasekit.errors import (
    FieldError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Money

__all__ = [
    "MAX_REASON",
    "CapabilityHolder",
    "Effect",
    "Guard",
    "Move",
    "RequestAction",
    "RequestState",
    "StateMachine",
    "Stateful",
    "Transition",
    "change_state",
    "move",
    "not_by",
    "only_by",
    "records_actor",
    "request_lifecycle",
    "row",
]

MAX_REASON: Final = 1000
"""The longest reason kept: enough for a paragraph, not for a pasted document."""

S = TypeVar("S", bound=StrEnum)


@attrs.frozen
class Transition:
    """One row of a lifecycle table."""

    action: str
    sources: frozenset[str]
    target: str
    roles: frozenset[Role]
    event: str
    """The past-tense event name recorded when the transition happens."""
    reason_required: bool = False
    """Refusals, cancellations and sanctions must say why: the audit log is read later by
    people who were not there."""
    requires: str | None = None
    """A capability the object's partner must hold (``submit_applications``)."""
    params: frozenset[str] = frozenset()
    """Data the move needs besides a reason (a task's ``decision``, its new ``assignee``)."""
    optional: frozenset[str] = frozenset()
    """Data the move may take (the conditions of an approval)."""


def row(
    action: StrEnum,
    sources: Iterable[StrEnum],
    target: StrEnum,
    roles: Iterable[Role],
    event: str,
    reason_required: bool = False,
    *,
    requires: StrEnum | None = None,
    params: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> Transition:
    """A table row written compactly; enum members are kept as the strings they are."""
    return Transition(
        str(action),
        frozenset(str(s) for s in sources),
        str(target),
        frozenset(roles),
        event,
        reason_required,
        None if requires is None else str(requires),
        frozenset(params),
        frozenset(optional),
    )


@attrs.frozen
class StateMachine(Generic[S]):
    """A lifecycle: its states, its actions, the transitions between them and the states that
    end it; *grants* says in which states an object holds each capability, if it grants any.

    The table is checked when the machine is built, so a broken table fails at import time.
    """

    name: str
    initial: S
    transitions: tuple[Transition, ...]
    final: frozenset[str]
    actions_enum: type[StrEnum] | None = attrs.field(default=None, kw_only=True)
    """The enum naming every action, so that code names actions as members, not strings."""
    grants: Mapping[str, frozenset[str]] = attrs.field(factory=dict, kw_only=True)
    _index: Mapping[tuple[str, str], Transition] = attrs.field(init=False, repr=False, eq=False)

    @_index.default
    def _build_index(self) -> Mapping[tuple[str, str], Transition]:
        index: dict[tuple[str, str], Transition] = {}
        for transition in self.transitions:
            for source in transition.sources:
                key = (transition.action, source)
                if key in index:
                    raise ValueError(f"{self.name}: two rows for {transition.action} from {source}")
                index[key] = transition
        return index

    def __attrs_post_init__(self) -> None:
        known = set(self.states)
        used = {t.target for t in self.transitions} | {
            s for t in self.transitions for s in t.sources
        }
        if not used | self.final <= known:
            raise ValueError(f"{self.name}: unknown states {sorted(used | self.final - known)}")
        declared = {str(action) for action in self.actions_enum or self.actions}
        if declared != set(self.actions):
            raise ValueError(
                f"{self.name}: actions {sorted(declared ^ set(self.actions))} are in the enum "
                "or the table but not both"
            )
        dead_ends = {s for s in self.states if not self.actions_from(s)}
        if dead_ends != self.final:
            raise ValueError(f"{self.name}: dead ends {sorted(dead_ends)} != final states")
        unreachable = known - self._reachable()
        if unreachable:
            raise ValueError(f"{self.name}: unreachable states {sorted(unreachable)}")

    def _reachable(self) -> set[str]:
        seen, frontier = {str(self.initial)}, [str(self.initial)]
        while frontier:
            state = frontier.pop()
            for transition in self.transitions:
                if state in transition.sources and transition.target not in seen:
                    seen.add(transition.target)
                    frontier.append(transition.target)
        return seen

    @property
    def states(self) -> tuple[str, ...]:
        """Every state, in the order the state enum declares them."""
        return tuple(str(member) for member in type(self.initial))

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(sorted({t.action for t in self.transitions}))

    def state(self, value: str) -> S:
        """*value* as a member of the state enum."""
        return type(self.initial)(value)

    def parse_action(self, value: object) -> str:
        """*value* if it names an action of this machine; a ValidationError on ``action``
        (listing them) otherwise, because an unknown action is a malformed request, not a
        move the state forbids."""
        if isinstance(value, str) and value in self.actions:
            return value
        raise ValidationError.single(
            "action",
            f"{value!r} is not an action of a {self.name}; one of {', '.join(self.actions)}",
        )

    def transition(self, state: str, action: str) -> Transition | None:
        """The row for *action* from *state*, or None when the table has none."""
        return self._index.get((str(action), str(state)))

    def actions_from(self, state: str, role: Role | None = None) -> tuple[str, ...]:
        """The actions possible from *state*; only those *role* may perform, if given."""
        return tuple(
            sorted(
                {
                    t.action
                    for t in self.transitions
                    if str(state) in t.sources and (role is None or role in t.roles)
                }
            )
        )

    def leading_to(self, state: str, target: str) -> tuple[str, ...]:
        """The actions that move an object from *state* straight into *target*."""
        return tuple(
            sorted(t.action for t in self.transitions if str(state) in t.sources
                   and t.target == str(target))
        )  # fmt: skip

    def fire(self, state: str, action: str, actor: Actor) -> Transition:
        """The transition *actor* may perform; raises if the table or the role forbids it.

        Legality is checked before the role so that a caller learns the action is impossible
        at all before learning that someone else could do it.
        """
        transition = self.transition(state, action)
        if transition is None:
            raise IllegalTransitionError(
                self.name, str(state), str(action), self.actions_from(state)
            )
        if actor.role not in transition.roles:
            raise PermissionDeniedError(self.name, str(action), str(actor.role))
        return transition

    def grants_in(self, capability: str, state: str) -> bool:
        """Whether an object in *state* holds *capability* (see :attr:`grants`)."""
        return str(state) in self.grants.get(str(capability), frozenset())


def _reason(text: str | None) -> str | None:
    """A reason worth recording: blanks count as none."""
    if text is None or not text.strip():
        return None
    return text.strip()


def _check_reason(machine: StateMachine[Any], transition: Transition, why: str | None) -> None:
    if transition.reason_required and why is None:
        raise ValidationError.single(
            "reason", f"a reason is required to {transition.action} this {machine.name}"
        )
    if why is not None and len(why) > MAX_REASON:
        raise ValidationError.single("reason", f"at most {MAX_REASON} characters")


def change_state(
    machine: StateMachine[Any],
    subject_id: str,
    state: str,
    action: str,
    actor: Actor,
    *,
    at: datetime,
    business_date: date,
    reason: str | None = None,
    details: Mapping[str, PayloadValue] | None = None,
) -> tuple[str, StateChanged]:
    """Check one move against the table alone and describe it: the target state and the
    :class:`StateChanged` event. :func:`move` adds everything that needs the object."""
    transition = machine.fire(state, action, actor)
    why = _reason(reason)
    _check_reason(machine, transition, why)
    return transition.target, _event(
        machine, transition, subject_id, state, actor, at, business_date, why, details
    )


def _event(
    machine: StateMachine[Any],
    transition: Transition,
    subject_id: str,
    state: str,
    actor: Actor,
    at: datetime,
    business_date: date,
    reason: str | None,
    details: Mapping[str, PayloadValue] | None,
) -> StateChanged:
    payload: dict[str, PayloadValue] = {
        **(details or {}),
        "from": str(state),
        "to": transition.target,
        "action": transition.action,
        "reason": reason,
    }
    return StateChanged.new(
        transition.event,
        machine.name,
        subject_id,
        payload,
        occurred_at=at,
        business_date=business_date,
        actor_id=actor.user_id,
    )


# --- moving an object -----------------------------------------------------------------------


class CapabilityHolder(Protocol):
    """What a row's ``requires`` is checked against: the object's partner."""

    def require(self, capability: str) -> None:
        """Raise a DomainError if *capability* is not held now."""
        ...


@attrs.frozen
class Move:
    """One move being made, as guards and effects see it."""

    transition: Transition
    actor: Actor
    at: datetime
    business_date: date
    reason: str | None
    params: Mapping[str, str]


Guard = Callable[[Any, Move], None]
"""An object's own check on a move (``task._check_holder``); raises to refuse it."""
Effect = Callable[[Any, Move], Mapping[str, PayloadValue] | None]
"""What a move changes besides the state (a claim sets the lock); may add event details."""


def not_by(attribute: str, why: str) -> Guard:
    """A guard refusing the move to the person the object names in *attribute* (four eyes:
    whoever asked for something does not also decide it)."""

    def guard(subject: Any, move: Move) -> None:
        if move.actor.user_id == getattr(subject, attribute):
            raise ObjectPermissionError(
                subject.lifecycle.name, move.transition.action, move.actor.role.value, why
            )

    return guard


def only_by(attribute: str, why: str) -> Guard:
    """A guard admitting the move to the person the object names in *attribute* alone (a
    request is cancelled by whoever made it)."""

    def guard(subject: Any, move: Move) -> None:
        if move.actor.user_id != getattr(subject, attribute):
            raise ObjectPermissionError(
                subject.lifecycle.name, move.transition.action, move.actor.role.value, why
            )

    return guard


def records_actor(attribute: str) -> Effect:
    """An effect noting in *attribute* who made the move (``decided_by``)."""

    def effect(subject: Any, move: Move) -> None:
        setattr(subject, attribute, move.actor.user_id)

    return effect


class RequestState(StrEnum):
    """Where a request that another person decides stands (:func:`request_lifecycle`)."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class RequestAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"


def request_lifecycle(
    name: str, requesters: Iterable[Role], deciders: Iterable[Role]
) -> StateMachine[RequestState]:
    """The machine of a request one person makes and another decides (a limit change, a
    rating override): a decider approves it, or rejects it with a reason; a requester may
    cancel it; every outcome is final. Its events are ``<name>_approved``, ``_rejected`` and
    ``_cancelled``; the aggregate adds its own guards (four eyes, seniority)."""
    state, action = RequestState, RequestAction
    return StateMachine(
        name,
        state.REQUESTED,
        (
            row(action.APPROVE, [state.REQUESTED], state.APPROVED, deciders, f"{name}_approved"),
            row(action.REJECT, [state.REQUESTED], state.REJECTED, deciders, f"{name}_rejected",
                True),
            row(action.CANCEL, [state.REQUESTED], state.CANCELLED, requesters,
                f"{name}_cancelled"),
        ),
        final=frozenset({state.APPROVED, state.REJECTED, state.CANCELLED}),
        actions_enum=RequestAction,
    )  # fmt: skip


class _Subject(Protocol):
    id: str
    state: Any


def _check_params(transition: Transition, params: Mapping[str, str]) -> None:
    """Every parameter the row requires, and none it does not take."""
    missing = [name for name in sorted(transition.params) if not params.get(name, "").strip()]
    unknown = sorted(set(params) - transition.params - transition.optional)
    errors = [FieldError(name, "required for this action") for name in missing]
    errors += [FieldError(name, "not taken by this action") for name in unknown]
    if errors:
        raise ValidationError(errors)


def move(
    machine: StateMachine[Any],
    subject: _Subject,
    action: object,
    actor: Actor,
    *,
    at: datetime,
    business_date: date,
    reason: str | None = None,
    params: Mapping[str, str] | None = None,
    partner: CapabilityHolder | None = None,
    details: Mapping[str, PayloadValue] | None = None,
    guards: Mapping[str, Guard] | None = None,
    effects: Mapping[str, Effect] | None = None,
) -> StateChanged:
    """Move *subject* along *machine* by *action*, in the order the module describes.

    *partner* must be given when the row requires a capability (the service loads it);
    *details* go into the event payload, before what the effects add.
    """
    ensure_may_act(actor, subject, machine.name, str(action))
    name = machine.parse_action(action)
    transition = machine.fire(subject.state, name, actor)
    if transition.requires is not None:
        if partner is None:
            raise TypeError(f"{machine.name} {name} needs the partner to check its capability")
        partner.require(transition.requires)
    given = dict(params or {})
    _check_params(transition, given)
    why = _reason(reason)
    step = Move(transition, actor, at, business_date, why, given)
    guard = (guards or {}).get(name)
    if guard is not None:
        guard(subject, step)
    _check_reason(machine, transition, why)
    state = subject.state
    effect = (effects or {}).get(name)
    added = effect(subject, step) if effect is not None else None
    subject.state = machine.state(transition.target)
    payload = {**(details or {}), **given, **(added or {})}
    return _event(machine, transition, subject.id, state, actor, at, business_date, why, payload)


class Stateful:
    """Mixin for an attrs entity with a lifecycle: declare the machine and, where the
    aggregate has them, the fields copied into every event, guards and effects by action."""

    lifecycle: ClassVar[StateMachine[Any]]
    event_fields: ClassVar[tuple[str, ...]] = ()
    """Attributes every event of this object carries, so receivers need not load it."""
    guards: ClassVar[Mapping[str, Guard]] = {}
    effects: ClassVar[Mapping[str, Effect]] = {}

    def apply(
        self,
        action: object,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
        partner: CapabilityHolder | None = None,
        **params: str,
    ) -> StateChanged:
        """Move this object along its lifecycle (see :func:`move`)."""
        return move(
            self.lifecycle,
            self,  # type: ignore[arg-type]
            action,
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
            params=params,
            partner=partner,
            details=event_details(self, self.event_fields),
            guards=self.guards,
            effects=self.effects,
        )


def event_details(subject: object, names: Iterable[str]) -> dict[str, PayloadValue]:
    """*subject*'s attributes *names* as payload values: a Money as its amount plus
    ``currency``, a number, flag or None as is, anything else (an enum, a VIN) as its text, so
    every event payload stays exact JSON."""
    details: dict[str, PayloadValue] = {}
    for name in names:
        value = getattr(subject, name)
        if isinstance(value, Money):
            details[name], details["currency"] = str(value.amount), value.currency.code
        elif value is None or isinstance(value, bool | int):
            details[name] = value
        else:
            details[name] = str(value)
    return details
