"""Debit mandates: taken for a contract, checked by the scheme's rules, stopped by the bank's
returns or revoked by people; a contract has one active mandate at a time (the database says
so), and debit runs only use active ones."""

from __future__ import annotations

from datetime import date
from typing import Final

import attrs

from leasekit.domain.contracts import ContractState
from leasekit.domain.events import Payload
from leasekit.domain.identity import Actor
from leasekit.domain.mandates import (
    MANDATE_LIFECYCLE,
    AccountType,
    DebitScheme,
    Mandate,
    MandateState,
)
from leasekit.domain.partner_profiles import mask_number
from leasekit.errors import ValidationError
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import back_office_only, visible_or_not_found
from leasekit.services.reads import Lister, lister, reader
from leasekit.services.storage import Record

__all__ = [
    "MandateQuery",
    "TakeMandate",
    "get_mandate",
    "list_mandates",
    "take_mandate",
    "transition_mandate",
]

_SUBJECT: Final = "mandate"
_OPEN_CONTRACT: Final = frozenset(
    {ContractState.SIGNED, ContractState.DISBURSEMENT_REQUESTED, ContractState.DISBURSED,
     ContractState.ACTIVE, ContractState.TERMINATED}
)  # fmt: skip
"""A mandate is signed with the contract or later, while anything may still be owed."""


@attrs.frozen
class TakeMandate:
    """A customer's signed authorization to debit an account for a contract."""

    contract_id: str
    reference: str = attrs.field(
        metadata={"max_length": 35, "description": "The mandate id; unique."}
    )
    scheme: DebitScheme = attrs.field(
        metadata={"description": "`sepa` (IBAN and BIC), `nacha` (US account and routing "
                  "number) or `csv` (a bank card, for Chinese banks' batch files)."}
    )  # fmt: skip
    debtor_name: str = attrs.field(metadata={"max_length": 140})
    account: str = attrs.field(metadata={"max_length": 40})
    signed_on: date
    agent: str = attrs.field(
        default="",
        metadata={"max_length": 140, "description": "The debtor's bank: its BIC (SEPA), "
                  "routing number (NACHA) or name (card)."},
    )  # fmt: skip
    account_type: AccountType = attrs.field(
        default=AccountType.CHECKING,
        metadata={"description": "A US account's kind: `checking` or `savings`."},
    )


def _payload(mandate: Mandate) -> Payload:
    """What events say of a mandate: never the whole account number."""
    return {"contract_id": mandate.contract_id, "reference": mandate.reference,
            "scheme": str(mandate.scheme), "account": mask_number(mandate.account)}  # fmt: skip


@command(
    "take_mandate",
    subject=_SUBJECT,
    creates="mandate",
    reload=lambda uow, mandate_id: uow.mandates.get(mandate_id),
)
def take_mandate(work: Work, request: TakeMandate) -> Mandate:
    """Record a debit mandate for a contract.

    The account is checked by the scheme's rules: an IBAN and a BIC for ``sepa``, an account
    number and ABA routing number for ``nacha``, a bank card number (Luhn) for ``csv``. A
    contract has one active mandate: revoke the old one first (422 on ``contract_id``
    otherwise); a mandate reference is used once. From signing until the contract ends.
    Officers, finance and post-loan supervisors."""
    contract = visible_or_not_found(
        work.actor, work.uow.contracts.get(request.contract_id), "contract", request.contract_id
    )
    if contract.state not in _OPEN_CONTRACT:
        raise ValidationError.single(
            "contract_id", f"contract {contract.number} is {contract.state}; no mandate now"
        )
    mandate = Mandate.take(
        contract_id=contract.id,
        reference=request.reference,
        scheme=request.scheme,
        debtor_name=request.debtor_name,
        account=request.account,
        agent=request.agent,
        account_type=request.account_type,
        signed_on=request.signed_on,
        business_date=work.business_date,
        actor=work.actor,
        at=work.at,
    )
    work.uow.mandates.add(mandate)
    work.event("mandate_taken", _SUBJECT, mandate.id, _payload(mandate))
    return mandate


transition_mandate = transition_command(
    _SUBJECT, MANDATE_LIFECYCLE, lambda uow: uow.mandates,
    roles=frozenset(role for row in MANDATE_LIFECYCLE.transitions for role in row.roles),
)  # fmt: skip
"""``revoke`` with a reason (the customer withdrew it, a new one replaces it); ``stop`` is
what a return file does when the bank says the mandate cannot be used."""


get_mandate = reader(
    "get_mandate",
    _SUBJECT,
    lambda uow: uow.mandates,
    """Get a mandate.

    Its scheme, the account (whole, for the back office), its reference, when it was signed
    and whether runs may use it (``active``).""",
)


@attrs.frozen
class MandateQuery:
    contract_id: str | None = None
    state: MandateState | None = None
    scheme: DebitScheme | None = None


def _back_office(actor: Actor, query: MandateQuery) -> MandateQuery:
    back_office_only(actor, _SUBJECT)
    return query


list_mandates: Lister[MandateQuery, Record] = lister(
    "list_mandates",
    MandateQuery,
    lambda uow: uow.mandates,
    _back_office,
    """List debit mandates.

    ``?contract_id=`` gives one contract's, newest last; ``state`` and ``scheme`` filter.
    Back office only.""",
)
