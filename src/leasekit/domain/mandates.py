"""Debit mandates: a customer's authorization to collect a contract's installments from an
account, and the schemes (file formats) debits are collected in.

The account is checked by the scheme's own rules (python-stdnum) when the mandate is taken,
so a debit run never writes a number its bank would bounce: an IBAN and BIC for SEPA, an
account number and ABA routing number for a US ACH (NACHA) debit, a bank card (Luhn) for the
delimited files of Chinese banks' batch collection. A mandate the bank reports unusable
(a closed account, a revoked authorization) is stopped, and its contract is left out of
runs, with the reason, until a new mandate is taken.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs
import stdnum.bic
import stdnum.iban
import stdnum.luhn
import stdnum.us.rtn
from stdnum.exceptions import ValidationError as NumberError

from leasekit.domain.access import ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import BOOKKEEPERS, Actor, Role, new_id
from leasekit.domain.lifecycle import Stateful, StateMachine, row
from leasekit.domain.partner_profiles import mask_number
from leasekit.domain.validation import Checks, text
from leasekit.errors import ValidationError

__all__ = [
    "MANDATE_LIFECYCLE",
    "AccountType",
    "DebitScheme",
    "Mandate",
    "MandateAction",
    "MandateState",
    "checked_debtor_account",
]


class DebitScheme(StrEnum):
    """The file format a debit is collected in; each creditor account uses one."""

    NACHA = "nacha"
    """US ACH: PPD debits in a NACHA file; returns as NACHA return entries."""
    SEPA = "sepa"
    """SEPA Direct Debit core: pain.008.001.02; results as pain.002 or camt.054."""
    CSV = "csv"
    """A bank's delimited format, one debit per line (Chinese banks' batch collection, by
    bank card); results the same way."""


class AccountType(StrEnum):
    """The kind of a debtor's US account: an ACH debit's transaction code depends on it."""

    CHECKING = "checking"
    SAVINGS = "savings"


class MandateState(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"
    """The bank said it cannot be used (account closed, authorization revoked ...)."""
    REVOKED = "revoked"
    """The customer withdrew it, or the company replaced it."""


class MandateAction(StrEnum):
    STOP = "stop"
    REVOKE = "revoke"


_M = MandateState
_MA = MandateAction

MANDATE_LIFECYCLE: Final = StateMachine(
    "mandate",
    _M.ACTIVE,
    (
        row(_MA.STOP, [_M.ACTIVE], _M.STOPPED, BOOKKEEPERS, "mandate_stopped", True),
        row(_MA.REVOKE, [_M.ACTIVE, _M.STOPPED], _M.REVOKED,
            [*BOOKKEEPERS, Role.POST_LOAN_SUPERVISOR], "mandate_revoked", True),
    ),
    final=frozenset({_M.REVOKED}),
    actions_enum=MandateAction,
)  # fmt: skip

_DIGITS_US_ACCOUNT: Final = range(4, 18)
_DIGITS_CARD: Final = range(16, 20)


def _checked(field: str, what: str, validate: Callable[[str], str], value: str) -> str:
    try:
        return validate(value)
    except NumberError:
        raise ValidationError.single(field, f"is not a valid {what}") from None


def _digits(value: str, field: str, lengths: range, what: str) -> str:
    number = value.replace(" ", "").replace("-", "")
    if not number.isascii() or not number.isdigit() or len(number) not in lengths:
        raise ValidationError.single(field, f"{what} has {lengths[0]} to {lengths[-1]} digits")
    return number


def _card(value: str) -> str:
    number = _digits(value, "account", _DIGITS_CARD, "a bank card number")
    if not stdnum.luhn.is_valid(number):
        raise ValidationError.single("account", "is not a valid bank card number (check digit)")
    return number


def _bank_name(value: str) -> str:
    return text(value, "agent", max_length=140) if value else ""


_CHECKS: Final[dict[DebitScheme, tuple[Callable[[str], str], Callable[[str], str]]]] = {
    DebitScheme.SEPA: (
        functools.partial(_checked, "account", "IBAN", stdnum.iban.validate),
        functools.partial(_checked, "agent", "BIC", stdnum.bic.validate),
    ),
    DebitScheme.NACHA: (
        functools.partial(_digits, field="account", lengths=_DIGITS_US_ACCOUNT,
                          what="a US account number"),
        functools.partial(_checked, "agent", "ABA routing number", stdnum.us.rtn.validate),
    ),
    DebitScheme.CSV: (_card, _bank_name),
}  # fmt: skip
"""How each scheme checks an account and its bank, and writes them."""


def checked_debtor_account(scheme: DebitScheme, account: str, agent: str) -> tuple[str, str]:
    """The account and its bank (*agent*) in the form the scheme's files hold them, or a
    ValidationError naming ``account``, ``agent`` or both."""
    check_account, check_agent = _CHECKS[scheme]
    checks = Checks()
    number = checks.run(lambda: check_account(account))
    bank = checks.run(lambda: check_agent(agent))
    if number is None or bank is None or checks.errors:
        raise checks.error()
    return number, bank


@attrs.define
class Mandate(Stateful):
    """A customer's authorization to debit one account for one contract's installments."""

    id: str
    contract_id: str
    reference: str
    """The mandate id the bank and the customer know it by; unique."""
    scheme: DebitScheme = attrs.field(converter=DebitScheme)
    debtor_name: str
    account: str = attrs.field(repr=mask_number)
    agent: str
    """The debtor's bank: BIC (SEPA), routing number (NACHA), bank name (card)."""
    account_type: AccountType = attrs.field(converter=AccountType)
    signed_on: date
    state: MandateState = attrs.field(converter=MandateState)
    created_at: datetime
    created_by: str
    version: int = 0

    lifecycle: ClassVar[StateMachine[MandateState]] = MANDATE_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("contract_id", "reference", "scheme")

    @classmethod
    def take(
        cls,
        *,
        contract_id: str,
        reference: str,
        scheme: DebitScheme,
        debtor_name: str,
        account: str,
        agent: str,
        account_type: AccountType = AccountType.CHECKING,
        signed_on: date,
        business_date: date,
        actor: Actor,
        at: datetime,
    ) -> Mandate:
        """A mandate as the customer signed it; a signature dated after the business date is
        refused (it cannot have been given yet)."""
        ensure_may_create(actor, "mandate")
        checks = Checks()
        valid_reference = checks.run(lambda: text(reference, "reference", max_length=35))
        valid_name = checks.run(lambda: text(debtor_name, "debtor_name", max_length=140))
        numbers = checks.run(lambda: checked_debtor_account(scheme, account, agent))
        if signed_on > business_date:
            checks.add("signed_on", f"is after the business date {business_date}")
        if valid_reference is None or valid_name is None or numbers is None or checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            contract_id=contract_id,
            reference=valid_reference,
            scheme=scheme,
            debtor_name=valid_name,
            account=numbers[0],
            agent=numbers[1],
            account_type=account_type,
            signed_on=signed_on,
            state=MandateState.ACTIVE,
            created_at=require_utc(at),
            created_by=actor.user_id,
        )

    @property
    def usable(self) -> bool:
        return self.state is MandateState.ACTIVE
