"""The command runner: the one place that owns authorization of the caller's role, idempotency,
the unit of work, the moment, event and audit recording, and the commit.

A command is a function of a :class:`Work` (the open unit of work, the actor, the moment) and
its input, declared with :func:`command`::

    @command("register_customer", subject="customer", creates="customer",
             reload=lambda uow, id: uow.customers.get(id))
    def register_customer(work: Work, request: RegisterCustomer) -> Customer:
        customer = Customer.register(..., actor=work.actor, at=work.at)
        work.uow.customers.add(customer)
        work.event("customer_registered", "customer", customer.id, {...})
        return customer

and called as ``register_customer(ctx, actor, request, idempotency_key=...)``. The runner checks
the caller's role before anything is read (a dealer posting a partner gets 403, not a list of
the body's faults), returns the first result when a retry brings the same idempotency key
(also when the first attempt won a race with this one), refuses a key reused for another
request, and commits once. A command that records no event is a bug the runner refuses to
commit: every change leaves an audit entry and an outbox row.

Every command lands in :data:`COMMANDS`, which the HTTP server, the CLI, batch jobs and the
invariant tests enumerate; so a command missing from the invariant tests cannot exist.
:func:`transition_command` derives the move command of any aggregate from its lifecycle.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final, Generic, Protocol, TypeVar

import attrs

from leasekit.domain.access import CREATE_ROLES
from leasekit.domain.events import DomainEvent, Payload, StateChanged
from leasekit.domain.identity import Actor, Role
from leasekit.domain.lifecycle import CapabilityHolder, Stateful, StateMachine
from leasekit.errors import (
    LeasekitError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.idempotency import Retry
from leasekit.services.storage import Repository, UnitOfWork

__all__ = [
    "COMMANDS",
    "Command",
    "TransitionCommand",
    "TransitionRequest",
    "Work",
    "at_version",
    "command",
    "execute",
    "transition_command",
]

In = TypeVar("In")
R = TypeVar("R")
E = TypeVar("E", bound=Stateful)


@attrs.define
class Work:
    """What a command body gets: the open unit of work, who acts, and one moment for all."""

    ctx: ServiceContext
    uow: UnitOfWork
    actor: Actor
    at: datetime
    business_date: date
    recorded: int = 0

    def record(self, event: DomainEvent) -> None:
        """Have *event* written to the outbox and the audit log with this command's commit."""
        self.uow.record(event)
        self.recorded += 1

    def event(self, name: str, subject: str, subject_id: str, payload: Payload) -> DomainEvent:
        """Record a non-transition event (a registration, an upload) stamped with this moment."""
        event = DomainEvent.new(
            name,
            subject,
            subject_id,
            payload,
            occurred_at=self.at,
            business_date=self.business_date,
            actor_id=self.actor.user_id,
        )
        self.record(event)
        return event


@attrs.frozen
class Command(Generic[In, R]):
    """A registered command; calling it runs it through :func:`execute`."""

    name: str
    subject: str
    """The kind of object it makes or changes (``"customer"``), as idempotency keys record."""
    body: Callable[[Work, In], R]
    reload: Callable[[UnitOfWork, str], R] | None = None
    """The result of an earlier attempt, from the id of what it made or changed; None for a
    command whose result cannot be given twice (a new token's text), which takes no key."""
    identify: Callable[[R], str] = lambda result: str(result.id)  # type: ignore[attr-defined]
    roles: frozenset[Role] | None = None
    """The roles that may run it at all, checked before its input is read; None: any role,
    the domain deciding."""
    quiet: bool = False
    """May finish without recording an event (an event handler with nothing to do)."""
    fingerprint: Callable[[In], object] = lambda request: request
    """What of the input identifies the request for idempotency (by default all of it)."""

    @property
    def doc(self) -> str:
        """What the command does, as its body's docstring says (the HTTP API shows it)."""
        return inspect.getdoc(self.body) or ""

    def authorize(self, actor: Actor) -> None:
        if self.roles is not None and actor.role not in self.roles:
            raise PermissionDeniedError(self.subject, self.name, actor.role.value)

    def __call__(
        self, ctx: ServiceContext, actor: Actor, request: In, *, idempotency_key: str | None = None
    ) -> R:
        return execute(ctx, actor, self, request, idempotency_key=idempotency_key)

    def within(self, work: Work, request: In) -> R:
        """Run as part of *work*, another command's unit of work (a batch that makes many
        changes at once): the role is checked as :func:`execute` checks it, and the changes
        and events join *work*'s, committed or rolled back with them."""
        self.authorize(work.actor)
        return self.body(work, request)


COMMANDS: Final[dict[str, Command[Any, Any]]] = {}
"""Every command by name, in the order they were declared."""


def _register(new: Command[In, R]) -> Command[In, R]:
    if new.name in COMMANDS:
        raise ValueError(f"two commands are named {new.name!r}")
    COMMANDS[new.name] = new
    return new


class _Declare(Protocol):
    def __call__(self, body: Callable[[Work, In], R], /) -> Command[In, R]: ...


def command(
    name: str,
    *,
    subject: str,
    reload: Callable[[UnitOfWork, str], Any] | None = None,
    creates: str | None = None,
    roles: frozenset[Role] | None = None,
    identify: Callable[[Any], str] | None = None,
    quiet: bool = False,
    fingerprint: Callable[[Any], object] | None = None,
) -> _Declare:
    """Declare and register a command. *creates* names the kind of object in
    :data:`~leasekit.domain.access.CREATE_ROLES` whose roles may run it; *reload* gives the
    first result again to a retry with the same idempotency key (without it, the command
    takes no key); *identify* names what the result made (its ``id`` by default)."""
    allowed = CREATE_ROLES[creates] if creates is not None else roles
    options: dict[str, Any] = {"reload": reload, "roles": allowed, "quiet": quiet}
    if identify is not None:
        options["identify"] = identify
    if fingerprint is not None:
        options["fingerprint"] = fingerprint

    def declare(body: Callable[[Work, In], R]) -> Command[In, R]:
        return _register(Command(name, subject, body, **options))

    return declare


def execute(
    ctx: ServiceContext,
    actor: Actor,
    cmd: Command[In, R],
    request: In,
    *,
    idempotency_key: str | None = None,
) -> R:
    """Run *cmd* on *request* for *actor* in one transaction (see the module docstring)."""
    cmd.authorize(actor)
    if cmd.reload is None and idempotency_key is not None:
        raise ValidationError.single("idempotency_key", f"{cmd.name} cannot be replayed")
    retry = Retry.of(idempotency_key, cmd.name, cmd.fingerprint(request))
    try:
        return _run(ctx, actor, cmd, request, retry)
    except LeasekitError:
        # A concurrent attempt with the same key may have committed while this one ran into
        # the rows it made: its result is this request's answer too.
        earlier = _earlier(ctx, actor, cmd, retry)
        if earlier is None:
            raise
        return earlier[0]


def _earlier(
    ctx: ServiceContext, actor: Actor, cmd: Command[In, R], retry: Retry
) -> tuple[R] | None:
    if retry.key is None or cmd.reload is None:
        return None
    with ctx.uow_factory() as uow:
        subject_id = retry.earlier(uow, actor)
        return None if subject_id is None else (cmd.reload(uow, subject_id),)


def _run(ctx: ServiceContext, actor: Actor, cmd: Command[In, R], request: In, retry: Retry) -> R:
    with ctx.unit_of_work() as uow:
        uow.token_id = actor.token_id
        earlier = retry.earlier(uow, actor)
        if earlier is not None and cmd.reload is not None:
            return cmd.reload(uow, earlier)
        at, business_date = ctx.moment()
        work = Work(ctx, uow, actor, at, business_date)
        result = cmd.body(work, request)
        if not work.recorded and not cmd.quiet:
            raise RuntimeError(f"command {cmd.name} changed state without recording an event")
        if retry.key is not None:
            retry.remember(uow, actor, cmd.subject, cmd.identify(result), at)
        uow.commit()
    return result


# --- moving an aggregate along its lifecycle ------------------------------------------------


@attrs.frozen
class TransitionRequest:
    """One move: which object, which action, why, the action's parameters, and the version the
    caller last saw (``If-Match``), so that a decision is never made on a stale picture."""

    id: str
    action: str
    reason: str | None = None
    params: Mapping[str, str] = attrs.field(factory=dict)
    expected_version: int | None = None


V = TypeVar("V")


def at_version(kind: str, subject_id: str, subject: V, expected: int | None) -> V:
    """*subject* if it is still at the version the caller read (``If-Match``; None: not
    said), else a StaleVersionError: no change is made on a stale picture."""
    version: int = subject.version  # type: ignore[attr-defined]
    if expected not in (None, version):
        raise StaleVersionError(kind, subject_id, expected or 0, version)
    return subject


After = Callable[[Work, Any], None]
"""What a service does beyond the domain after one action (disabling a user revokes its
tokens), in the move's transaction: raising refuses the move."""


@attrs.frozen
class TransitionCommand(Command[TransitionRequest, E]):
    """A registered move command; callable with the move's parts as arguments."""

    machine: StateMachine[Any] = attrs.field(kw_only=True)
    after: Mapping[str, After] = attrs.field(factory=dict, kw_only=True)
    """What the service does after each action, by action."""

    def rehearse(
        self, work: Work, subject: E, action: str, reason: str | None = None, **params: str
    ) -> None:
        """Make the move on *subject*, a copy the caller keeps to itself, with every check
        the command makes (its after-hook included) but storing and recording nothing: a
        batch checks all its moves this way before it makes any."""
        self.authorize(work.actor)
        request = TransitionRequest(subject.id, action, reason, params)  # type: ignore[attr-defined]
        _move(work, self.machine, subject, request)
        hook = self.after.get(action)
        if hook is not None:
            hook(work, subject)

    def __call__(  # type: ignore[override]
        self,
        ctx: ServiceContext,
        actor: Actor,
        subject_id: str,
        action: str,
        reason: str | None = None,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        **params: str,
    ) -> E:
        request = TransitionRequest(subject_id, action, reason, params, expected_version)
        return execute(ctx, actor, self, request, idempotency_key=idempotency_key)


def _partner_for(uow: UnitOfWork, subject: Any) -> CapabilityHolder | None:
    """The partner whose capabilities a move of *subject* needs: itself, for a partner."""
    if hasattr(subject, "require"):
        return subject  # type: ignore[no-any-return]
    partner_id = getattr(subject, "partner_id", None)
    return None if partner_id is None else uow.partners.get(partner_id)


def _move(
    work: Work, machine: StateMachine[Any], subject: Any, request: TransitionRequest
) -> StateChanged:
    """Move *subject* along *machine* as *request* asks, loading its partner when the move
    needs a capability."""
    row = machine.transition(subject.state, request.action)
    needs_partner = row is not None and row.requires is not None
    event: StateChanged = subject.apply(
        request.action,
        work.actor,
        at=work.at,
        business_date=work.business_date,
        reason=request.reason,
        partner=_partner_for(work.uow, subject) if needs_partner else None,
        **request.params,
    )
    return event


def transition_command(
    kind: str,
    machine: StateMachine[Any],
    repository: Callable[[UnitOfWork], Repository[E]],
    *,
    before: Mapping[str, After] | None = None,
    after: Mapping[str, After] | None = None,
    roles: frozenset[Role] | None = None,
) -> TransitionCommand[E]:
    """The registered ``transition_<kind>`` command: load the object the actor may see, check
    the version the caller expects, load its partner if the move needs a capability, move it
    (:func:`~leasekit.domain.lifecycle.move`), store it, record the event and run what
    *after* names for the action, as guards and effects are named. What *before* names runs
    once the move is allowed and before it is stored (to step another object aside first: a
    publication retires the version in force). *roles*, if given, may run it at all: others
    are refused before anything is read, so they cannot learn which ids exist."""
    hooks, preparations = dict(after or {}), dict(before or {})

    def load(uow: UnitOfWork, subject_id: str) -> E:
        return repository(uow).get(subject_id)

    def body(work: Work, request: TransitionRequest) -> E:
        subject = visible_or_not_found(work.actor, load(work.uow, request.id), kind, request.id)
        at_version(kind, request.id, subject, request.expected_version)
        event = _move(work, machine, subject, request)
        first = preparations.get(request.action)
        if first is not None:
            first(work, subject)
        repository(work.uow).update(subject)
        work.record(event)
        hook = hooks.get(request.action)
        if hook is not None:
            hook(work, subject)
        return subject

    name = f"transition_{kind.replace(' ', '_')}"
    made = TransitionCommand(name, kind, body, load, roles=roles, machine=machine, after=hooks)
    _register(made)
    return made
