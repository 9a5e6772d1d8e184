"""The one error tree: every error leasekit raises on purpose is a ``LeasekitError``.

The edges translate these, never vendor or library exceptions: the server maps each branch to
one HTTP status (``ValidationError`` 422, ``NotFoundError`` 404, ``DomainError`` 409 ...) and
the CLI prints the message. Adapters translate their vendor's exceptions into ``AdapterError``
with ``raise ... from exc`` so that the cause stays visible in logs.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "AdapterError",
    "AmountError",
    "AuthenticationError",
    "BatchError",
    "CalculationError",
    "ConfigurationError",
    "ConflictError",
    "CurrencyMismatchError",
    "DomainError",
    "DuplicateAdapterError",
    "FieldError",
    "IllegalTransitionError",
    "LeasekitError",
    "NoRateError",
    "NotFoundError",
    "PartnerBarredError",
    "PartnerRestrictedError",
    "PermissionDeniedError",
    "PluginError",
    "PluginLoadError",
    "StaleVersionError",
    "UnknownAdapterError",
    "ValidationError",
]


class LeasekitError(Exception):
    """Base of all leasekit errors."""


class AmountError(LeasekitError, ValueError):
    """A number that cannot be an exact amount: not a number, not finite, finer than the
    currency's minor unit, too large, or in an unknown currency."""


class CurrencyMismatchError(AmountError):
    """Amounts in different currencies met in one operation; leasekit never converts."""


class CalculationError(LeasekitError, ValueError):
    """Inputs that describe no valid financial calculation."""


class NoRateError(CalculationError):
    """No interest rate makes the cash flows balance (for example, payments below the advance)."""


class BatchError(CalculationError):
    """An item of a batch (:mod:`leasekit.calc.batch`) failed; *index* is its position in the
    input, *error* what it raised, which is also the ``__cause__``."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(f"item {index}: {type(error).__name__}: {error}")
        self.index = index
        self.error = error


@attrs.frozen
class FieldError:
    """One field at fault: a dotted path into the input (``customer.id_number``, ``line 7``)
    and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(LeasekitError, ValueError):
    """Input that breaks a rule, with every field at fault named.

    Raised before anything is changed, so a caller may correct the input and retry.
    """

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        if not self.errors:
            raise ValueError("a ValidationError needs at least one FieldError")
        super().__init__("; ".join(map(str, self.errors)))

    @classmethod
    def single(cls, field: str, message: str) -> ValidationError:
        return cls([FieldError(field, message)])

    def prefixed(self, prefix: str) -> ValidationError:
        """The same errors with their fields nested under *prefix* (``vehicle`` + ``vin``)."""
        return ValidationError(FieldError(f"{prefix}.{e.field}", e.message) for e in self.errors)


class DomainError(LeasekitError):
    """A business rule refused an action on objects that exist and were well formed."""


def _a(noun: str) -> str:
    """*noun* with its indefinite article, for messages that name a kind of object."""
    vowel = noun[:1].lower() in "aeiou" and not noun.lower().startswith(("us", "uni"))
    return f"{'an' if vowel else 'a'} {noun}"


class IllegalTransitionError(DomainError):
    """An action that the object's lifecycle does not allow from its current state."""

    def __init__(self, machine: str, state: str, action: str, allowed: Iterable[str]) -> None:
        self.machine = machine
        self.state = state
        self.action = action
        self.allowed = tuple(sorted(allowed))
        hint = ", ".join(self.allowed) or "none, the state is final"
        super().__init__(
            f"cannot {action} {_a(machine)} in state {state!r} (allowed from there: {hint})"
        )


class PermissionDeniedError(DomainError):
    """The actor's role may not perform this action."""

    def __init__(self, machine: str, action: str, role: str) -> None:
        self.machine = machine
        self.action = action
        self.role = role
        super().__init__(f"role {role!r} may not {action} {_a(machine)}")


class PartnerRestrictedError(DomainError):
    """The partner's state does not allow the work asked for (a suspended dealer submitting,
    a frozen one uploading); it may once the partner's state changes."""

    def __init__(self, partner: str, state: str, capability: str) -> None:
        self.partner = partner
        self.state = state
        self.capability = capability
        super().__init__(f"partner {partner!r} is {state} and may not {capability}")


class PartnerBarredError(DomainError):
    """A valid credential of a user whose partner bars its users from every request (a
    blacklisted dealer): not an authentication failure, the user is known and refused."""

    def __init__(self, state: str) -> None:
        self.state = state
        super().__init__(f"your partner is {state}: its users may make no request")


class NotFoundError(LeasekitError, LookupError):
    """No such object, or one the actor may not see (the two are indistinguishable on purpose)."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class ConflictError(LeasekitError):
    """The object changed since it was read, or an idempotency key was reused for a
    different request; re-read and retry."""


class StaleVersionError(ConflictError):
    """The object changed since the caller read it: its version is no longer the one the
    caller acted on (an HTTP ``If-Match`` that no longer matches)."""

    def __init__(self, kind: str, key: object, expected: int, current: int) -> None:
        self.kind = kind
        self.key = key
        self.expected = expected
        self.current = current
        super().__init__(
            f"{kind} {key!r} was changed by someone else (now version {current}, read at "
            f"version {expected}); reload it and try again"
        )


class AuthenticationError(LeasekitError):
    """No credentials, or credentials that match no active user."""


class ConfigurationError(LeasekitError):
    """Settings that cannot work: an unknown adapter id, a bad URL, a missing option."""


class PluginError(LeasekitError):
    """A plugin that cannot be loaded or registers something it may not."""


class PluginLoadError(PluginError):
    """An entry point that failed to import or register; names the distribution at fault."""

    def __init__(self, distribution: str, entry_point: str, cause: BaseException) -> None:
        self.distribution = distribution
        self.entry_point = entry_point
        super().__init__(
            f"plugin {entry_point!r} from distribution {distribution!r} failed to load: "
            f"{type(cause).__name__}: {cause}"
        )


class DuplicateAdapterError(PluginError):
    """Two plugins registered the same adapter id for one kind."""


class UnknownAdapterError(ConfigurationError):
    """Settings chose an adapter id that no plugin registered; lists the ids available."""

    def __init__(self, kind: str, adapter_id: str, available: Iterable[str]) -> None:
        self.kind = kind
        self.adapter_id = adapter_id
        self.available = tuple(sorted(available))
        choices = ", ".join(self.available) or "none are registered"
        super().__init__(f"no {kind} adapter {adapter_id!r} (available: {choices})")


class AdapterError(LeasekitError):
    """An external party failed or answered nonsense; the adapter's vendor error is the cause."""
