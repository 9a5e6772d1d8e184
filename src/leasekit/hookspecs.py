"""The hooks leasekit calls, and the markers plugins use: ``from leasekit import hookimpl``.

Three families, named the way pytest, datasette and tox name theirs:

- registration, ``leasekit_register_<kinds>(register)``: offer adapters for one kind of external
  party under ids that settings choose from (``LEASEKIT_ADAPTERS__BANK=acme``);
- decision, ``leasekit_evaluate_application(case)``: every plugin may vote, and the approval
  service combines the votes, so no plugin silently overrides another;
  ``leasekit_partner_rating_model(scorecard)`` lets one plugin replace the rating model;
  ``leasekit_end_of_day_steps()`` adds steps to the close of business;
- notification, past tense: ``leasekit_event_published(event)`` for every domain event and
  ``leasekit_<event name>(event)`` for the main lifecycle events. The outbox relay delivers them
  after the transaction commits, at least once; receivers drop repeats by
  ``event.idempotency_key``.

Hooks are synchronous: pluggy would hand back an ``async def`` implementation's coroutine
unawaited. Call them only through :class:`leasekit.plugins.Hooks`, which passes keyword
arguments and checks what comes back. Every hook is documented in ``docs/plugins.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

if TYPE_CHECKING:
    # Types only: ``from leasekit import hookimpl`` in a plugin then loads pluggy and nothing else.
    from leasekit import ports
    from leasekit.domain.events import DomainEvent
    from leasekit.domain.partner_ratings import RatingModel, Scorecard
    from leasekit.services.end_of_day import EndOfDayStep

__all__ = ["NAMED_EVENT_HOOKS", "PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "leasekit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

_F = TypeVar("_F", bound=Callable[..., Any])


# --- registration -------------------------------------------------------------------------


@hookspec
def leasekit_register_credit_bureaus(register: ports.Register[ports.CreditBureau]) -> None:
    """Register credit bureau adapters: ``register("acme", AcmeBureau)``."""


@hookspec
def leasekit_register_fraud_sources(register: ports.Register[ports.FraudSource]) -> None:
    """Register anti-fraud data sources (blacklists, device and phone risk)."""


@hookspec
def leasekit_register_face_verifiers(register: ports.Register[ports.FaceVerifier]) -> None:
    """Register face verification services (live photo against ID card photo)."""


@hookspec
def leasekit_register_statement_parsers(register: ports.Register[ports.StatementParser]) -> None:
    """Register parsers for the bank statements customers upload as proof of income."""


@hookspec
def leasekit_register_banks(register: ports.Register[ports.Bank]) -> None:
    """Register banks: debit files, return files, account statements and payments."""


@hookspec
def leasekit_register_signature_providers(
    register: ports.Register[ports.SignatureProvider],
) -> None:
    """Register electronic signature providers."""


@hookspec
def leasekit_register_ledgers(register: ports.Register[ports.Ledger]) -> None:
    """Register general ledgers that vouchers are posted to."""


@hookspec
def leasekit_register_document_stores(register: ports.Register[ports.DocumentStore]) -> None:
    """Register stores for uploaded documents (the built-in one is ``filesystem``)."""


@hookspec
def leasekit_register_approval_policies(register: ports.Register[ports.ApprovalPolicy]) -> None:
    """Register approval policies: which tier approves a case, and the policy's vote."""


@hookspec
def leasekit_register_rule_sets(register: ports.Register[ports.RuleSet]) -> None:
    """Register rule sets run over an application's facts before it reaches a person."""


@hookspec
def leasekit_register_voucher_templates(register: ports.Register[ports.VoucherTemplate]) -> None:
    """Register voucher templates; all are used, each for the event it names."""


@hookspec
def leasekit_register_notifiers(register: ports.Register[ports.Notifier]) -> None:
    """Register notifiers that tell people about events and send one person a message
    (SMS, email, chat)."""


# --- decision -----------------------------------------------------------------------------


@hookspec
def leasekit_evaluate_application(case: ports.ApprovalCase) -> ports.PolicyVote | None:
    """Vote on an application, or return None to abstain.

    Every implementation is called; pre-approval adds the votes to the chosen approval
    policy's and to its rules' action, and the most severe verdict wins, so a plugin can refer
    or decline but never approve over another's objection. A plugin that raises, or does not
    answer within pre-approval's timeout, refers the case.
    """


@hookspec
def leasekit_partner_rating_model(scorecard: Scorecard) -> RatingModel | None:
    """Return the model that rates partners A to D in place of *scorecard*, the one settings
    configure (``LEASEKIT_PARTNERS__RATING_*``), which a model may use for part of its work;
    or None to leave it.

    Called once when leasekit starts. At most one plugin may replace the model: two are an
    error naming both. The model's ``version`` is kept with every grade it gives.
    """


@hookspec
def leasekit_end_of_day_steps() -> Sequence[EndOfDayStep] | None:
    """Return steps the close of business runs after its own, in order
    (:class:`leasekit.services.end_of_day.EndOfDayStep`). A step must be safe to run again:
    a close that stopped resumes by running the step's unfinished partitions. Two steps with
    one name are an error when the close starts.
    """


# --- notification -------------------------------------------------------------------------

_named_events: list[str] = []


def _event_hook(spec: _F) -> _F:
    """A hookspec for one event name, listed in :data:`NAMED_EVENT_HOOKS`."""
    _named_events.append(spec.__name__.removeprefix(f"{PROJECT_NAME}_"))
    return hookspec(spec)


@hookspec
def leasekit_event_published(event: DomainEvent) -> None:
    """Any domain event, after its transaction committed; delivered at least once."""


@_event_hook
def leasekit_application_submitted(event: DomainEvent) -> None:
    """A dealer or an officer submitted an application for review."""


@_event_hook
def leasekit_application_declined(event: DomainEvent) -> None:
    """The rules declined an application before anyone reviewed it; the payload's
    ``reason`` says why."""


@_event_hook
def leasekit_application_approved(event: DomainEvent) -> None:
    """A reviewer at the required tier approved an application."""


@_event_hook
def leasekit_application_rejected(event: DomainEvent) -> None:
    """A reviewer rejected an application; the payload's ``reason`` says why."""


@_event_hook
def leasekit_contract_signed(event: DomainEvent) -> None:
    """Every party signed the contract; the signed document is stored."""


@_event_hook
def leasekit_contract_disbursed(event: DomainEvent) -> None:
    """The financed amount was paid out to the dealer; repayments start."""


@_event_hook
def leasekit_contract_settled(event: DomainEvent) -> None:
    """The contract was paid off, on schedule or early."""


@_event_hook
def leasekit_contract_terminated(event: DomainEvent) -> None:
    """The contract ended before being paid off (default, repossession)."""


@_event_hook
def leasekit_partner_approved(event: DomainEvent) -> None:
    """A partner (dealer) passed its review and may originate applications."""


@_event_hook
def leasekit_partner_blacklisted(event: DomainEvent) -> None:
    """A partner was blacklisted; its open applications need attention."""


@_event_hook
def leasekit_payment_reversed(event: DomainEvent) -> None:
    """A received payment was reversed (a bounced debit, a booking error)."""


@_event_hook
def leasekit_payment_refunded(event: DomainEvent) -> None:
    """A received payment was paid back to the customer."""


NAMED_EVENT_HOOKS: frozenset[str] = frozenset(_named_events)
"""Event names with a hook of their own, ``leasekit_<event name>``."""
