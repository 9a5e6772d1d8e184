"""Synchronising vouchers with the general ledger, exactly once, and checking that they agree.

Every posted voucher is announced by a ``vouchers_posted`` event in the transaction that
posts it. :class:`LedgerSubscriber` is the outbox subscriber (``ledger``) that takes those
events on its own: a ledger that is down holds back nothing else, and its deliveries are
retried with backoff and, after the relay's last attempt, parked where an administrator sees
and retries them (``/events/deliveries``).

Exactly once, in effect: each voucher goes to the ledger under one idempotency key (the key
of the event that produced it, or its id), so a voucher posted again after a lost
acknowledgement or a crash before its status was stored is answered with the first receipt,
and a voucher marked synced is not sent again. Each voucher's status (pending, synced with
the ledger's reference, failed with the attempts and the last error) is kept apart from the
voucher, which never changes.

:func:`reconcile_ledger` compares the ledger's balances per account and per contract with
what leasekit synchronised, and names every difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.errors import AdapterError, LeasekitError
from leasekit.money import Currency, Money, currency
from leasekit.ports import LedgerLine, LedgerVoucher
from leasekit.services.accounting import VOUCHERS_POSTED, ensure_accountant
from leasekit.services.context import ServiceContext
from leasekit.services.storage import LedgerSyncState, SyncStatus, VoucherView

__all__ = [
    "AccountBalance",
    "BalanceDifference",
    "LedgerReconciliation",
    "LedgerSubscriber",
    "ledger_key",
    "ledger_voucher",
    "reconcile_ledger",
    "sync_vouchers",
]


def ledger_key(voucher: VoucherView) -> str:
    """The voucher's idempotency key at the ledger: stable across every retry."""
    return voucher.source_key or f"voucher:{voucher.id}"


def ledger_voucher(voucher: VoucherView) -> LedgerVoucher:
    """The voucher as the ledger port takes it, each line with its dimensions."""
    return LedgerVoucher(
        voucher_id=voucher.id,
        business_date=voucher.business_date,
        description=voucher.description,
        lines=tuple(
            LedgerLine(line.account, line.side, line.amount, line.memo, line.dimensions)
            for line in voucher.lines
        ),
    )


def _post(ctx: ServiceContext, voucher: VoucherView) -> LedgerSyncState:
    """Post one voucher; a refusal or an outage is its failed state, not an exception, so
    the others of the batch still go."""
    try:
        receipt = ctx.adapters.ledger.post(ledger_voucher(voucher), ledger_key(voucher))
    except LeasekitError as exc:  # an outage (AdapterError), a refusal, a key conflict
        return LedgerSyncState(voucher.id, SyncStatus.FAILED, last_error=str(exc))
    return LedgerSyncState(
        voucher.id,
        SyncStatus.SYNCED,
        ledger_reference=receipt.ledger_reference,
        synced_at=receipt.posted_at,
    )


def sync_vouchers(ctx: ServiceContext, voucher_ids: Iterable[str]) -> list[LedgerSyncState]:
    """Post to the ledger those of *voucher_ids* not synced yet, store each outcome, and
    raise :class:`AdapterError` naming the failures (so the delivery is tried again)."""
    wanted = list(dict.fromkeys(voucher_ids))
    with ctx.uow_factory() as uow:
        states = uow.voucher_syncs.states(wanted)
        todo = uow.vouchers.views(
            [
                voucher_id
                for voucher_id in wanted
                if voucher_id not in states or states[voucher_id].status is not SyncStatus.SYNCED
            ]
        )
    outcomes = [_post(ctx, voucher) for voucher in todo]
    if outcomes:
        with ctx.uow_factory() as uow:
            uow.voucher_syncs.record(outcomes, ctx.clock.now())
            uow.commit()
    failed = [outcome for outcome in outcomes if outcome.status is SyncStatus.FAILED]
    if failed:
        first = failed[0]
        raise AdapterError(
            f"{len(failed)} of {len(wanted)} voucher(s) not synced with the ledger; "
            f"voucher {first.voucher_id}: {first.last_error}"
        )
    return outcomes


@attrs.frozen
class LedgerSubscriber:
    """The ledger adapter as an outbox subscriber of its own (see the module)."""

    ctx: ServiceContext

    @property
    def name(self) -> str:
        return "ledger"

    def wants(self, event_name: str) -> bool:
        return event_name == VOUCHERS_POSTED

    def deliver(self, event: DomainEvent) -> None:
        ids = event.payload.get("voucher_ids")
        if not isinstance(ids, str) or not ids:
            raise AdapterError(f"event {event.idempotency_key} names no voucher_ids")
        sync_vouchers(self.ctx, ids.split(","))


# --- reconciliation --------------------------------------------------------------------------


@attrs.frozen
class BalanceDifference:
    """An account, or an account's balance on one contract, that the two books disagree on.
    Balances are debits minus credits."""

    account: str
    contract_id: str | None
    """None for the account's total."""
    leasekit: Money
    ledger: Money
    difference: Money
    """leasekit's balance less the ledger's."""


@attrs.frozen
class AccountBalance:
    account: str
    leasekit: Money
    ledger: Money


@attrs.frozen
class LedgerReconciliation:
    """leasekit's synchronised vouchers against the ledger, in one currency."""

    currency: Currency
    accounts: tuple[AccountBalance, ...]
    """Every account either side holds, with both balances."""
    differences: tuple[BalanceDifference, ...]
    """Every account total and every (account, contract) balance that differs."""
    vouchers_pending: int
    """Vouchers not synchronised yet, left out of leasekit's side."""
    vouchers_failed: int
    agrees: bool
    """No difference at all."""


Key = tuple[str, str | None]


def _by_account(balances: Mapping[Key, Decimal]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for (account, _), amount in balances.items():
        totals[account] = totals.get(account, Decimal(0)) + amount
    return totals


def _differences(
    ours: Mapping[Key, Decimal], theirs: Mapping[Key, Decimal], cur: Currency
) -> list[BalanceDifference]:
    found = []
    for key in sorted(ours.keys() | theirs.keys(), key=lambda k: (k[0], k[1] or "")):
        mine, other = ours.get(key, Decimal(0)), theirs.get(key, Decimal(0))
        if mine != other:
            found.append(
                BalanceDifference(
                    key[0], key[1], Money(mine, cur), Money(other, cur), Money(mine - other, cur)
                )
            )
    return found


def reconcile_ledger(
    ctx: ServiceContext, actor: Actor, currency_code: str | None = None
) -> LedgerReconciliation:
    """Compare the ledger with leasekit.

    Balances per account and per contract of the vouchers synchronised, against the ledger
    adapter's; every account total and every contract balance that differs is named, with
    both figures. Vouchers still pending are counted, not compared. Finance."""
    ensure_accountant(actor, "ledger reconciliation")
    cur = currency(currency_code or ctx.accounting.chart.currency)
    with ctx.uow_factory() as uow:
        ours = uow.voucher_syncs.synced_balances(cur.code)
        counts = uow.voucher_syncs.counts()
    theirs: dict[Key, Decimal] = {}
    for balance in ctx.adapters.ledger.balances(cur.code):
        key = (balance.account, balance.contract_id)
        theirs[key] = theirs.get(key, Decimal(0)) + balance.amount.amount
    our_accounts, their_accounts = _by_account(ours), _by_account(theirs)
    accounts = tuple(
        AccountBalance(
            account,
            Money(our_accounts.get(account, Decimal(0)), cur),
            Money(their_accounts.get(account, Decimal(0)), cur),
        )
        for account in sorted(our_accounts.keys() | their_accounts.keys())
    )
    differences = _differences(
        {(a, None): v for a, v in our_accounts.items()},
        {(a, None): v for a, v in their_accounts.items()},
        cur,
    ) + _differences(
        {k: v for k, v in ours.items() if k[1] is not None},
        {k: v for k, v in theirs.items() if k[1] is not None},
        cur,
    )
    return LedgerReconciliation(
        cur,
        accounts,
        tuple(differences),
        counts.get(SyncStatus.PENDING, 0),
        counts.get(SyncStatus.FAILED, 0),
        not differences,
    )
