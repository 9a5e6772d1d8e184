"""Exception requests: undoing or giving back booked money, only after a chain of approvals.

Undoing money that has been booked is the classic route for mistakes and fraud, so it never
happens on one person's say-so. A request is one of three kinds:

- ``reversal`` of a payment (booked to the wrong contract, bounced, duplicated, entered with
  the wrong amount); a payment booked to the wrong contract may name the contract it belongs
  to (``reapply_to_contract_id``);
- ``refund`` of an overpayment: money from the contract's credit balance back to a bank
  account (an IBAN, checked, and its holder), at most the credit;
- ``waiver`` of a fee or penalty still owed on one receivable line, at most what is owed.

Its requester edits it as a draft and submits it; the approval policy then fixes the chain of
roles that must approve it, level by level (by default the post-loan supervisor, then the
finance director). Four eyes: the requester approves nothing of their own, and one person
never approves two levels. Any level may reject it (final) or return it to the requester, who
may edit and submit it again; the approvals then start over. Once every level has approved,
the request is ``approved`` and finance (or the system) executes it, once. A request not
executed within the approval window from its submission can no longer be approved or
executed: it is moved to ``expired`` by whoever finds it so (:attr:`ExceptionRequest.expires_at`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Final

import attrs
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from leasekit.domain.access import ObjectPermissionError, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.contracts import Payment, PaymentState, Receivable
from leasekit.domain.events import PayloadValue
from leasekit.domain.identity import BOOKKEEPERS, Actor, Role, new_id
from leasekit.domain.lifecycle import (
    Effect,
    Guard,
    Move,
    Stateful,
    StateMachine,
    not_by,
    only_by,
    row,
)
from leasekit.domain.validation import Checks, money_amount, text
from leasekit.errors import DomainError, ValidationError
from leasekit.money import Currency, Money, to_decimal

__all__ = [
    "APPROVERS",
    "DEFAULT_CHAIN",
    "EXCEPTION_REQUEST_LIFECYCLE",
    "REASON_CODES",
    "REQUESTERS",
    "Approval",
    "ExceptionKind",
    "ExceptionRequest",
    "ExceptionRequestAction",
    "ExceptionRequestState",
    "Facts",
    "Figures",
    "Impact",
    "Proposal",
    "RefundAccount",
    "WaivedPart",
]


class ExceptionRequestState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    """Waiting for the next level of its chain."""
    RETURNED = "returned"
    """Sent back to the requester for changes; submitted again, its approvals start over."""
    APPROVED = "approved"
    """Every level approved: finance may execute it."""
    EXECUTED = "executed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ExceptionRequestAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    CONCLUDE = "conclude"
    REJECT = "reject"
    RETURN = "return"
    EXECUTE = "execute"
    CANCEL = "cancel"
    EXPIRE = "expire"


class ExceptionKind(StrEnum):
    REVERSAL = "reversal"
    """Undo a payment entirely (it bounced, was duplicated or booked to the wrong contract)."""
    REFUND = "refund"
    """Pay the customer's credit balance (an overpayment) back to a bank account."""
    WAIVER = "waiver"
    """Give up a fee or penalty a receivable line still owes."""


class WaivedPart(StrEnum):
    FEE = "fee"
    PENALTY = "penalty"


REASON_CODES: Final[Mapping[ExceptionKind, tuple[str, ...]]] = {
    ExceptionKind.REVERSAL: ("wrong_contract", "bounced", "duplicate", "wrong_amount"),
    ExceptionKind.REFUND: ("overpayment", "contract_ended"),
    ExceptionKind.WAIVER: ("charged_in_error", "goodwill", "hardship"),
}
"""Why a request of each kind is made; the free-text reason says the rest."""

_X = ExceptionRequestState
_A = ExceptionRequestAction
REQUESTERS: Final = frozenset({Role.OFFICER, Role.FINANCE})
"""Who raises, edits, submits and cancels a request (their own only)."""
APPROVERS: Final = frozenset({Role.POST_LOAN_SUPERVISOR, Role.FINANCE_DIRECTOR, Role.DIRECTOR})
"""The roles an approval chain may name."""
DEFAULT_CHAIN: Final = (Role.POST_LOAN_SUPERVISOR, Role.FINANCE_DIRECTOR)
_WATCHERS: Final = (*REQUESTERS, *APPROVERS, *BOOKKEEPERS)

EXCEPTION_REQUEST_LIFECYCLE: Final = StateMachine(
    "exception_request",
    _X.DRAFT,
    (
        row(_A.EDIT, [_X.DRAFT], _X.DRAFT, REQUESTERS, "exception_request_edited"),
        row(_A.EDIT, [_X.RETURNED], _X.RETURNED, REQUESTERS, "exception_request_edited"),
        # The service fixes the chain from the approval policy as the request is submitted.
        row(_A.SUBMIT, [_X.DRAFT, _X.RETURNED], _X.SUBMITTED, REQUESTERS,
            "exception_request_submitted"),
        # One level of the chain; the actor's role must be that level's.
        row(_A.APPROVE, [_X.SUBMITTED], _X.SUBMITTED, APPROVERS, "exception_request_approved"),
        # The last level approved: the system concludes it in the same transaction.
        row(_A.CONCLUDE, [_X.SUBMITTED], _X.APPROVED, [Role.SYSTEM],
            "exception_request_fully_approved"),
        row(_A.REJECT, [_X.SUBMITTED], _X.REJECTED, APPROVERS, "exception_request_rejected",
            True),
        row(_A.RETURN, [_X.SUBMITTED], _X.RETURNED, APPROVERS, "exception_request_returned",
            True),
        row(_A.EXECUTE, [_X.APPROVED], _X.EXECUTED, BOOKKEEPERS, "exception_request_executed"),
        row(_A.CANCEL, [_X.DRAFT, _X.RETURNED, _X.SUBMITTED], _X.CANCELLED, REQUESTERS,
            "exception_request_cancelled"),
        # Past its approval window; whoever finds it so (or end of day) moves it.
        row(_A.EXPIRE, [_X.SUBMITTED, _X.APPROVED], _X.EXPIRED, _WATCHERS,
            "exception_request_expired"),
    ),
    final=frozenset({_X.EXECUTED, _X.REJECTED, _X.CANCELLED, _X.EXPIRED}),
    actions_enum=ExceptionRequestAction,
)  # fmt: skip
_MACHINE: Final = EXCEPTION_REQUEST_LIFECYCLE.name


def _roles(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(value) for value in values)


def _to_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@attrs.frozen
class Approval:
    """One level's approval: which level (from 1), the role it needed, who, when."""

    level: int
    role: Role = attrs.field(converter=Role)
    user_id: str
    at: datetime = attrs.field(converter=_to_datetime)


def _amount(value: object) -> Decimal:
    return to_decimal(value, "amount")


@attrs.frozen
class Figures:
    """What a contract owes of each part, and its credit balance, at one moment."""

    principal: Decimal = attrs.field(converter=_amount)
    interest: Decimal = attrs.field(converter=_amount)
    fee: Decimal = attrs.field(converter=_amount)
    penalty: Decimal = attrs.field(converter=_amount)
    credit: Decimal = attrs.field(converter=_amount)

    @classmethod
    def of(cls, lines: Iterable[Receivable], credit: Money) -> Figures:
        """The figures of a contract's receivable *lines* (written-off ones owe nothing)."""
        zero = credit.currency.zero
        owing = [line for line in lines if line.written_off_on is None]
        owed = {part: sum((line.owed(part).amount for line in owing), zero)
                for part in ("principal", "interest", "fee", "penalty")}  # fmt: skip
        return cls(**owed, credit=credit.amount + zero)


def _figures(value: Figures | Mapping[str, Any]) -> Figures:
    return value if isinstance(value, Figures) else Figures(**value)


@attrs.frozen
class Impact:
    """What executing a request changed (or would change) on one contract."""

    contract_id: str
    before: Figures = attrs.field(converter=_figures)
    after: Figures = attrs.field(converter=_figures)


def _iban(value: str) -> str:
    try:
        return str(stdnum_iban.validate(value))
    except StdnumError as exc:
        raise ValidationError.single("account.iban", f"not a valid IBAN: {exc}") from None


@attrs.frozen
class RefundAccount:
    """The bank account a refund is paid into: an IBAN (checked) and its holder's name."""

    iban: str
    holder: str = attrs.field(metadata={"max_length": 140})


@attrs.frozen
class Proposal:
    """What the requester asks for: the whole content of a draft, replaced as a whole by an
    edit. Which fields a kind needs: a reversal its ``payment_id`` (and may name
    ``reapply_to_contract_id``), a refund its ``account``, a waiver its ``receivable_id``
    and ``part``; ``amount`` is the money moved (a reversal's, the whole payment, if left
    out)."""

    kind: ExceptionKind = attrs.field(
        converter=ExceptionKind,
        metadata={"description": "`reversal` of a payment, `refund` of the credit balance "
                  "or `waiver` of a fee or penalty."},
    )  # fmt: skip
    reason_code: str = attrs.field(
        metadata={"description": "reversal: wrong_contract, bounced, duplicate, wrong_amount; "
                  "refund: overpayment, contract_ended; waiver: charged_in_error, goodwill, "
                  "hardship."}
    )  # fmt: skip
    reason: str = attrs.field(metadata={"max_length": 1000})
    amount: Money | None = None
    payment_id: str | None = attrs.field(default=None, metadata={"max_length": 64})
    reapply_to_contract_id: str | None = attrs.field(
        default=None,
        metadata={"max_length": 64, "description": "For a reversal of a payment booked to the "
                  "wrong contract: the contract it belongs to."},
    )  # fmt: skip
    receivable_id: str | None = attrs.field(default=None, metadata={"max_length": 64})
    part: WaivedPart | None = attrs.field(
        default=None, converter=attrs.converters.optional(WaivedPart)
    )
    account: RefundAccount | None = None


@attrs.frozen
class Facts:
    """What a proposal is checked against, as the service found it: the contract's currency
    and, by kind, the payment, the credit balance or the receivable line."""

    contract_id: str
    currency: Currency
    payment: Payment | None = None
    credit: Money | None = None
    line: Receivable | None = None


@attrs.frozen
class _Checked:
    """A proposal's fields as the request stores them."""

    amount: Money
    payment_id: str | None
    reapply_to_contract_id: str | None
    receivable_id: str | None
    part: WaivedPart | None
    account: RefundAccount | None


def _forbid(checks: Checks, proposal: Proposal, names: Sequence[str]) -> None:
    for name in names:
        if getattr(proposal, name) is not None:
            checks.add(name, f"not taken by a {proposal.kind}")


def _reversal(checks: Checks, proposal: Proposal, facts: Facts, faulty: bool) -> Money | None:
    payment = facts.payment
    _forbid(checks, proposal, ("receivable_id", "part", "account"))
    if proposal.reapply_to_contract_id is not None:
        if proposal.reason_code != "wrong_contract":
            checks.add("reapply_to_contract_id", "only for a payment on the wrong contract")
        elif proposal.reapply_to_contract_id == facts.contract_id:
            checks.add("reapply_to_contract_id", "is the contract the payment is on")
    if payment is None:
        checks.add("payment_id", "required for a reversal")
        return None
    if payment.state is PaymentState.REVERSED:
        checks.add("payment_id", f"payment {payment.id} is reversed already")
    amount = proposal.amount or payment.amount
    if not faulty and amount != payment.amount:
        checks.add("amount", f"a reversal undoes the whole payment of {payment.amount}")
    return amount


def _refund(checks: Checks, proposal: Proposal, facts: Facts, faulty: bool) -> Money | None:
    _forbid(checks, proposal, ("payment_id", "reapply_to_contract_id", "receivable_id", "part"))
    if proposal.account is None:
        checks.add("account", "required for a refund: the IBAN and its holder")
    else:
        checks.run(lambda: _iban(proposal.account.iban))  # type: ignore[union-attr]
        checks.run(lambda: text(proposal.account.holder, "account.holder", 140))  # type: ignore[union-attr]
    credit = facts.credit or Money.zero(facts.currency)
    if proposal.amount is None:
        if not faulty:
            checks.add("amount", "required for a refund")
    elif proposal.amount > credit:
        checks.add("amount", f"at most the contract's credit balance of {credit}")
    return proposal.amount


def _waiver(checks: Checks, proposal: Proposal, facts: Facts, faulty: bool) -> Money | None:
    _forbid(checks, proposal, ("payment_id", "reapply_to_contract_id", "account"))
    if proposal.part is None:
        checks.add("part", "required for a waiver: fee or penalty")
    if facts.line is None:
        checks.add("receivable_id", "required for a waiver: a line of the contract")
    if proposal.amount is None:
        if not faulty:
            checks.add("amount", "required for a waiver")
    elif facts.line is not None and proposal.part is not None:
        owed = facts.line.owed(str(proposal.part))
        if proposal.amount > owed:
            checks.add("amount", f"at most the {proposal.part} owed on the line, {owed}")
    return proposal.amount


_BY_KIND: Final = {
    ExceptionKind.REVERSAL: _reversal,
    ExceptionKind.REFUND: _refund,
    ExceptionKind.WAIVER: _waiver,
}


def _check(proposal: Proposal, facts: Facts) -> tuple[str, _Checked]:
    """The reason and the fields of *proposal*, each fault named by its field."""
    checks = Checks()
    reason = checks.run(lambda: text(proposal.reason, "reason", max_length=1000))
    if proposal.reason_code not in REASON_CODES[proposal.kind]:
        allowed = ", ".join(REASON_CODES[proposal.kind])
        checks.add("reason_code", f"{proposal.reason_code!r} is not one of {allowed}")
    given, valid = proposal.amount, None
    if given is not None:
        valid = checks.run(lambda: money_amount(given, "amount", facts.currency))
        if valid is not None and valid.amount <= 0:
            checks.add("amount", "must be positive")
            valid = None
    faulty = given is not None and valid is None
    amount = _BY_KIND[proposal.kind](checks, attrs.evolve(proposal, amount=valid), facts, faulty)
    if reason is None or amount is None or checks.errors:
        raise checks.error()
    account = proposal.account
    if account is not None:
        account = RefundAccount(_iban(account.iban), text(account.holder, "account.holder"))
    return reason, _Checked(
        amount, proposal.payment_id, proposal.reapply_to_contract_id,
        None if facts.line is None else facts.line.id, proposal.part, account,
    )  # fmt: skip


def _current_level(request: ExceptionRequest, move: Move) -> None:
    """Only the role of the level the request waits for decides it, and the requester never
    does."""
    if move.actor.role is Role.SYSTEM:
        return
    wanted = request.waiting_for
    if wanted is None or move.actor.role is not wanted:
        why = f"it waits for a {wanted} at level {len(request.approvals) + 1}"
        raise ObjectPermissionError(_MACHINE, move.transition.action, move.actor.role.value, why)
    if move.actor.user_id == request.requested_by:
        why = "requesters may not decide their own request"
        raise ObjectPermissionError(_MACHINE, move.transition.action, move.actor.role.value, why)


def _not_expired(request: ExceptionRequest, move: Move) -> None:
    if request.expired_at(move.at):
        raise DomainError(
            f"exception request {request.id} expired at {request.expires_at}; expire it"
        )


def _check_approval(request: ExceptionRequest, move: Move) -> None:
    """Four eyes: the level's role, not the requester, nobody who approved a level before."""
    _current_level(request, move)
    _not_expired(request, move)
    if any(done.user_id == move.actor.user_id for done in request.approvals):
        why = "one person approves one level of a request"
        raise ObjectPermissionError(_MACHINE, "approve", move.actor.role.value, why)


def _check_concluded(request: ExceptionRequest, move: Move) -> None:
    if request.waiting_for is not None:
        raise DomainError(f"exception request {request.id} waits for a {request.waiting_for}")


def _check_execution(request: ExceptionRequest, move: Move) -> None:
    not_by("requested_by", "requesters may not execute their own request")(request, move)
    _not_expired(request, move)


def _check_expiry(request: ExceptionRequest, move: Move) -> None:
    if not request.expired_at(move.at):
        raise DomainError(f"exception request {request.id} is open until {request.expires_at}")


def _record_approval(request: ExceptionRequest, move: Move) -> Mapping[str, PayloadValue]:
    level = len(request.approvals) + 1
    request.approvals = (
        *request.approvals,
        Approval(level, move.actor.role, move.actor.user_id, move.at),
    )
    return {"level": level, "levels": len(request.chain), "role": str(move.actor.role)}


def _record_submission(request: ExceptionRequest, move: Move) -> Mapping[str, PayloadValue]:
    return {"chain": ",".join(request.chain), "expires_at": str(request.expires_at)}


def _start_over(request: ExceptionRequest, move: Move) -> None:
    request.approvals = ()


def _record_execution(request: ExceptionRequest, move: Move) -> None:
    request.executed_by = move.actor.user_id
    request.executed_at = move.at


@attrs.define
class ExceptionRequest(Stateful):
    """A request to reverse a payment, refund credit or waive a charge, with who asked, the
    chain of roles that must approve it, who approved each level, and what execution changed."""

    id: str
    kind: ExceptionKind = attrs.field(converter=ExceptionKind)
    contract_id: str
    reason_code: str
    reason: str
    amount: Money
    payment_id: str | None
    reapply_to_contract_id: str | None
    receivable_id: str | None
    part: WaivedPart | None = attrs.field(converter=attrs.converters.optional(WaivedPart))
    account: RefundAccount | None
    requested_by: str
    state: ExceptionRequestState = attrs.field(converter=ExceptionRequestState)
    created_at: datetime
    chain: tuple[str, ...] = attrs.field(default=(), converter=_roles)
    """The roles that approve it, level by level, fixed when it was last submitted."""
    approvals: tuple[Approval, ...] = ()
    submitted_at: datetime | None = None
    expires_at: datetime | None = None
    """When its approval window ends: it can no longer be approved or executed after."""
    executed_by: str | None = None
    executed_at: datetime | None = None
    impacts: tuple[Impact, ...] = ()
    """Each contract's figures before and after execution."""
    version: int = 0

    lifecycle: ClassVar[StateMachine[ExceptionRequestState]] = EXCEPTION_REQUEST_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = (
        "kind", "contract_id", "payment_id", "amount", "reason_code", "requested_by",
    )  # fmt: skip
    guards: ClassVar[Mapping[str, Guard]] = {
        _A.EDIT: only_by("requested_by", "only the requester edits a request"),
        _A.SUBMIT: only_by("requested_by", "only the requester submits a request"),
        _A.CANCEL: only_by("requested_by", "only the requester cancels a request"),
        _A.APPROVE: _check_approval,
        _A.CONCLUDE: _check_concluded,
        _A.REJECT: _current_level,
        _A.RETURN: _current_level,
        _A.EXECUTE: _check_execution,
        _A.EXPIRE: _check_expiry,
    }
    effects: ClassVar[Mapping[str, Effect]] = {
        _A.SUBMIT: _record_submission,
        _A.APPROVE: _record_approval,
        _A.RETURN: _start_over,
        _A.EXECUTE: _record_execution,
    }

    @classmethod
    def draft(
        cls, proposal: Proposal, facts: Facts, *, actor: Actor, at: datetime
    ) -> ExceptionRequest:
        """A draft of *proposal*, checked against *facts* (every fault by its field)."""
        ensure_may_create(actor, "exception_request")
        reason, checked = _check(proposal, facts)
        return cls(
            id=new_id(), kind=proposal.kind, contract_id=facts.contract_id,
            reason_code=proposal.reason_code, reason=reason, **attrs.asdict(checked, recurse=False),
            requested_by=actor.user_id, state=ExceptionRequestState.DRAFT,
            created_at=require_utc(at),
        )  # fmt: skip

    def revise(self, proposal: Proposal, facts: Facts) -> None:
        """Replace the content with *proposal* (the kind stays); the caller moves it by
        ``edit``, which checks who and when."""
        if proposal.kind is not self.kind:
            raise ValidationError.single("kind", f"a {self.kind} request stays one")
        self.reason, checked = _check(proposal, facts)
        self.reason_code = proposal.reason_code
        for name, value in attrs.asdict(checked, recurse=False).items():
            setattr(self, name, value)

    def prepare_submission(self, chain: Sequence[Role], window: timedelta, at: datetime) -> None:
        """Fix the approval chain and the window before ``submit``; approvals start over."""
        if not chain or not set(chain) <= APPROVERS:
            raise DomainError(f"an approval chain names approvers only, got {list(chain)}")
        self.chain = tuple(str(role) for role in chain)
        self.approvals = ()
        self.submitted_at = require_utc(at)
        self.expires_at = self.submitted_at + window

    @property
    def waiting_for(self) -> Role | None:
        """The role the next level needs; None once every level approved."""
        if len(self.approvals) >= len(self.chain):
            return None
        return Role(self.chain[len(self.approvals)])

    def expired_at(self, at: datetime) -> bool:
        return self.expires_at is not None and at > self.expires_at
