"""Contracts on SQLite and PostgreSQL: an approved application is drawn up with the next
number of the year, its approved plan frozen as receivables and its document rendered and
stored; a draft takes data entry, audited; signing goes through the signature provider, and
only a signed envelope signs the contract and its application."""

from __future__ import annotations

import hashlib
import io
import threading
from decimal import Decimal

import pypdf
import pytest

from leasekit.domain.applications import ApplicationState
from leasekit.domain.contracts import (
    Contract,
    ContractState,
    DraftChanges,
    SignerContact,
)
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.domain.products import Product
from leasekit.errors import (
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from leasekit.services import applications, contracts, funds
from leasekit.services.context import ServiceContext
from leasekit.services.contracts import ContractQuery, ContractRevision, EnvelopeCheck
from leasekit.testing import Fakes

from .conftest import decide, deliver, open_review, register_customer, register_vehicle
from .test_applications import draft_command

SYSTEM = Actor.system()


def approved(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, n: int = 0
) -> str:
    """Application *n* (its own customer and car), priced with the finance lease, approved."""
    customer = register_customer(ctx, dealer, f"11010519850712{n:03d}")
    vehicle = register_vehicle(ctx, dealer, f"LSVAU2180N21{n:05d}")
    command = draft_command(partner, customer, vehicle, product_code="FL-STD")
    draft = applications.create_draft(ctx, dealer, command)
    applications.transition_application(ctx, dealer, draft.id, "submit")
    open_review(ctx, draft.id)
    decide(ctx, officer, draft.id, "approve")
    return draft.id


def drawn_up(ctx: ServiceContext, application_id: str) -> Contract:
    """Let the workflow draw up the approved application's contract and render its
    document."""
    deliver(ctx, "contracts.draw_up", "application_approved", "application", application_id)
    (record,) = contracts.list_contracts(
        ctx, SYSTEM, ContractQuery(application_id=application_id)
    ).items
    deliver(ctx, "contracts.render", "contract_drawn_up", "contract", record["id"])
    return contracts.get_contract(ctx, SYSTEM, record["id"])


@pytest.fixture
def contract(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, lease: Product
) -> Contract:
    return drawn_up(ctx, approved(ctx, dealer, partner, officer))


def _stored(ctx: ServiceContext, key: str) -> bytes:
    return b"".join(ctx.adapters.document_store.open(key))


def test_an_approved_application_becomes_a_draft_contract_on_its_approved_plan(
    ctx: ServiceContext, contract: Contract
) -> None:
    application = applications.get_application(ctx, SYSTEM, contract.application_id)
    assert application.state is ApplicationState.CONTRACTED
    assert contract.state is ContractState.DRAFT
    assert contract.number == f"LK-{ctx.clock.business_date().year}-000001"
    assert application.plan is not None
    assert contract.plan == application.plan
    assert contract.product_version_id == application.product_version_id
    assert (contract.vehicle_price.amount, contract.down_payment.amount) == (
        Decimal("238000.00"), Decimal("47600.00"),
    )  # fmt: skip
    assert contract.principal.amount == application.plan.principal
    assert [signer.role for signer in contract.signers] == ["customer"]


def test_the_schedule_is_frozen_as_one_receivable_per_installment(
    ctx: ServiceContext, contract: Contract
) -> None:
    first = funds.list_receivables(ctx, SYSTEM, contract.id, limit=30)
    rest = funds.list_receivables(ctx, SYSTEM, contract.id, after=first.next_after, limit=30)
    assert (first.next_after, rest.next_after) == ("30", None)
    lines = first.items + rest.items
    rows = applications.get_application_plan(ctx, SYSTEM, contract.application_id).rows
    assert [line.sequence for line in lines] == list(range(1, 37))
    assert [line.due_date for line in lines] == [row.due_date for row in rows]
    assert [line.interest.amount for line in lines] == [row.interest for row in rows]
    # A finance lease ends with its residual, owed with the last installment.
    principal = [line.principal.amount for line in lines]
    assert sum(principal) == contract.principal.amount
    assert principal[-1] == rows[-1].principal + contract.plan.residual_value
    assert all(line.paid_principal.amount == 0 for line in lines)
    assert {line.status for line in lines} == {"not_due"}


def test_the_document_is_rendered_stored_and_names_its_figures(
    ctx: ServiceContext, contract: Contract
) -> None:
    assert contract.document is not None
    content = _stored(ctx, contract.document.key)
    assert hashlib.sha256(content).hexdigest() == contract.document.sha256
    assert len(content) == contract.document.size
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert contract.number in text
    assert "Zhang Wei" in text
    assert f"{contract.plan.apr}" in text


def test_numbers_follow_each_other_in_the_year(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, lease: Product
) -> None:
    numbers = [drawn_up(ctx, approved(ctx, dealer, partner, officer, n)).number for n in range(3)]
    year = ctx.clock.business_date().year
    assert numbers == [f"LK-{year}-00000{n}" for n in (1, 2, 3)]


def test_a_drawing_up_that_fails_gives_its_number_back(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, lease: Product,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    first = approved(ctx, dealer, partner, officer, 0)
    second = approved(ctx, dealer, partner, officer, 1)

    def broken(*args: object) -> list[object]:
        raise RuntimeError("the schedule could not be written")

    with monkeypatch.context() as patched:
        patched.setattr(contracts, "receivables", broken)
        with pytest.raises(RuntimeError):
            drawn_up(ctx, first)
    assert applications.get_application(ctx, SYSTEM, first).state is ApplicationState.APPROVED
    year = ctx.clock.business_date().year
    assert drawn_up(ctx, second).number == f"LK-{year}-000001"
    assert drawn_up(ctx, first).number == f"LK-{year}-000002"


def test_a_document_entered_before_rendering_is_not_rendered_twice(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, lease: Product
) -> None:
    application_id = approved(ctx, dealer, partner, officer)
    deliver(ctx, "contracts.draw_up", "application_approved", "application", application_id)
    query = ContractQuery(application_id=application_id)
    (record,) = contracts.list_contracts(ctx, SYSTEM, query).items
    assert record["document"] is None, "rendered after the drawing up commits"
    with pytest.raises(ValidationError, match="not rendered yet"):
        contracts.transition_contract(ctx, officer, record["id"], "send_for_signature")
    entered = contracts.revise_contract(
        ctx, officer, ContractRevision(record["id"], DraftChanges("zh"))
    )
    assert entered.document is not None
    deliver(ctx, "contracts.render", "contract_drawn_up", "contract", record["id"])
    assert contracts.get_contract(ctx, SYSTEM, record["id"]) == entered


def test_an_application_is_drawn_up_once(ctx: ServiceContext, contract: Contract) -> None:
    deliver(ctx, "contracts.draw_up", "application_approved", "application",
            contract.application_id)  # fmt: skip
    page = contracts.list_contracts(
        ctx, SYSTEM, ContractQuery(application_id=contract.application_id)
    )
    assert len(page.items) == 1


def test_the_application_cannot_be_contracted_or_signed_by_hand(
    ctx: ServiceContext, officer: Actor, contract: Contract
) -> None:
    with pytest.raises(PermissionDeniedError):
        applications.transition_application(ctx, officer, contract.application_id, "sign")


def test_data_entry_on_a_draft_is_checked_audited_and_renders_again(
    ctx: ServiceContext, officer: Actor, contract: Contract
) -> None:
    customer_id = contract.signers[0].customer_id
    changes = DraftChanges("zh", (SignerContact(customer_id, email="Zhang.Wei@Example.COM"),))
    revised = contracts.revise_contract(
        ctx, officer, ContractRevision(contract.id, changes, contract.version)
    )
    assert revised.language == "zh"
    assert revised.signers[0].email == "Zhang.Wei@example.com"
    assert revised.document is not None
    assert revised.document != contract.document
    text = pypdf.PdfReader(io.BytesIO(_stored(ctx, revised.document.key))).pages[0].extract_text()
    assert "融资租赁" in text
    with pytest.raises(StaleVersionError):
        contracts.revise_contract(
            ctx, officer, ContractRevision(contract.id, DraftChanges("en"), contract.version)
        )


def test_bad_data_entry_names_each_field_and_changes_nothing(
    ctx: ServiceContext, officer: Actor, contract: Contract
) -> None:
    changes = DraftChanges(
        "fr", (SignerContact("nobody", email="x"), SignerContact(contract.signers[0].customer_id,
                                                                  email="not an address")),
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        contracts.revise_contract(ctx, officer, ContractRevision(contract.id, changes))
    assert {error.field for error in refused.value.errors} == {
        "language", "contacts.0.customer_id", "contacts.1.email",
    }  # fmt: skip
    assert contracts.get_contract(ctx, SYSTEM, contract.id) == contract


def test_only_a_sale_leaseback_takes_a_sellers_account(
    ctx: ServiceContext, officer: Actor, contract: Contract
) -> None:
    from leasekit.domain.partner_profiles import BankAccount

    account = BankAccount(scheme="cn_bank_card", holder="Zhang Wei", bank_name="ICBC",
                          card_number="6222020200112233446")  # fmt: skip
    with pytest.raises(ValidationError, match="only a sale-leaseback"):
        contracts.revise_contract(
            ctx, officer, ContractRevision(contract.id, DraftChanges(seller_account=account))
        )


def _with_email(ctx: ServiceContext, officer: Actor, contract: Contract) -> Contract:
    contact = SignerContact(contract.signers[0].customer_id, email="zhang.wei@example.com")
    return contracts.revise_contract(
        ctx, officer, ContractRevision(contract.id, DraftChanges(contacts=(contact,)))
    )


def test_a_contract_goes_for_signature_only_with_every_signer_reachable(
    ctx: ServiceContext, officer: Actor, contract: Contract
) -> None:
    with pytest.raises(ValidationError) as refused:
        contracts.transition_contract(ctx, officer, contract.id, "send_for_signature")
    assert [error.field for error in refused.value.errors] == ["signers.0"]


def test_signed_by_every_signer_the_contract_and_its_application_are_signed(
    ctx: ServiceContext, officer: Actor, contract: Contract, fakes: Fakes
) -> None:
    _with_email(ctx, officer, contract)
    sent = contracts.transition_contract(ctx, officer, contract.id, "send_for_signature")
    assert sent.state is ContractState.SENT_FOR_SIGNATURE
    assert sent.envelope_id
    pending = contracts.check_signature(ctx, officer, EnvelopeCheck(contract.id))
    assert pending.state is ContractState.SENT_FOR_SIGNATURE
    fakes.signature_provider.sign(sent.envelope_id)
    signed = contracts.check_signature(ctx, officer, EnvelopeCheck(contract.id))
    assert signed.state is ContractState.SIGNED
    assert signed.signed_document is not None
    content = _stored(ctx, signed.signed_document.key)
    assert hashlib.sha256(content).hexdigest() == signed.signed_document.sha256
    assert content.endswith(b"(fake)\n")
    application = applications.get_application(ctx, SYSTEM, contract.application_id)
    assert application.state is ApplicationState.SIGNED


@pytest.mark.parametrize("outcome", ["decline", "expire"])
def test_a_declined_or_expired_envelope_sends_the_contract_back_to_draft(
    ctx: ServiceContext, officer: Actor, contract: Contract, fakes: Fakes, outcome: str
) -> None:
    _with_email(ctx, officer, contract)
    sent = contracts.transition_contract(ctx, officer, contract.id, "send_for_signature")
    getattr(fakes.signature_provider, outcome)(sent.envelope_id)
    back = contracts.check_signature(ctx, officer, EnvelopeCheck(contract.id))
    assert (back.state, back.envelope_id) == (ContractState.DRAFT, None)
    again = contracts.transition_contract(ctx, officer, contract.id, "send_for_signature")
    assert again.envelope_id != sent.envelope_id


def test_a_signed_contract_takes_no_data_entry(
    ctx: ServiceContext, officer: Actor, contract: Contract, fakes: Fakes
) -> None:
    _with_email(ctx, officer, contract)
    sent = contracts.transition_contract(ctx, officer, contract.id, "send_for_signature")
    with pytest.raises(DomainError, match="only a draft"):
        contracts.revise_contract(ctx, officer, ContractRevision(contract.id, DraftChanges("zh")))
    assert sent.envelope_id


def test_a_dealer_sees_its_own_contracts_only(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor, contract: Contract
) -> None:
    assert contracts.get_contract(ctx, dealer, contract.id).id == contract.id
    assert contracts.list_contracts(ctx, other_dealer).items == []
    with pytest.raises(NotFoundError):
        contracts.get_contract(ctx, other_dealer, contract.id)


def test_numbers_have_no_gap_when_drawn_up_at_once(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, lease: Product
) -> None:
    """Eight approvals drawn up by eight threads at once: every number once, none skipped,
    on PostgreSQL where they really run side by side."""
    ids = [approved(ctx, dealer, partner, officer, n) for n in range(8)]
    barrier, failures = threading.Barrier(len(ids)), []

    def draw(application_id: str) -> None:
        barrier.wait()
        try:
            deliver(ctx, "contracts.draw_up", "application_approved", "application",
                    application_id)  # fmt: skip
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=draw, args=(one,)) for one in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    year = ctx.clock.business_date().year
    numbers = sorted(r["number"] for r in contracts.list_contracts(ctx, SYSTEM).items)
    assert numbers == [f"LK-{year}-{n:06d}" for n in range(1, 9)]
