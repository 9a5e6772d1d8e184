from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from leasekit.demo import resident_id
from leasekit.domain.applications import ApplicationState
from leasekit.domain.customers import CustomerKind
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.errors import ConflictError, ValidationError
from leasekit.services import applications, customers, documents
from leasekit.services.context import ServiceContext

from .conftest import register_customer, register_vehicle
from .test_applications import draft_command
from .test_documents import PNG, chunks


def command(name: str = "Zhang Wei") -> customers.RegisterCustomer:
    return customers.RegisterCustomer(
        CustomerKind.INDIVIDUAL, name, resident_id("11010519850712003")
    )


def test_a_retry_with_the_same_key_returns_the_first_result(
    ctx: ServiceContext, dealer: Actor
) -> None:
    first = customers.register_customer(ctx, dealer, command(), idempotency_key="k-1")
    again = customers.register_customer(ctx, dealer, command(), idempotency_key="k-1")
    assert again == first
    assert [c["id"] for c in customers.list_customers(ctx, dealer).items] == [first.id]
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("customer", first.id)
    assert [entry.action for entry in trail] == ["customer_registered"]


def test_a_key_reused_for_another_request_is_refused(ctx: ServiceContext, dealer: Actor) -> None:
    customers.register_customer(ctx, dealer, command(), idempotency_key="k-1")
    with pytest.raises(ConflictError, match="different request"):
        customers.register_customer(ctx, dealer, command("Li Na"), idempotency_key="k-1")
    assert len(customers.list_customers(ctx, dealer).items) == 1


def test_keys_belong_to_their_user(ctx: ServiceContext, dealer: Actor, other_dealer: Actor) -> None:
    mine = customers.register_customer(ctx, dealer, command(), idempotency_key="same")
    theirs = customers.register_customer(ctx, other_dealer, command(), idempotency_key="same")
    assert mine.id != theirs.id


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "line\nbreak"])
def test_malformed_keys_are_refused(ctx: ServiceContext, dealer: Actor, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        customers.register_customer(ctx, dealer, command(), idempotency_key=key)
    assert [e.field for e in caught.value.errors] == ["idempotency_key"]


def test_a_retried_transition_does_not_act_twice(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    draft = applications.create_draft(
        ctx,
        dealer,
        draft_command(partner, register_customer(ctx, dealer), register_vehicle(ctx, dealer)),
    )
    first = applications.transition_application(
        ctx, dealer, draft.id, "submit", idempotency_key="submit-1"
    )
    again = applications.transition_application(
        ctx, dealer, draft.id, "submit", idempotency_key="submit-1"
    )
    assert first.state is again.state is ApplicationState.SUBMITTED
    with ctx.uow_factory() as uow:
        actions = [entry.action for entry in uow.audit.for_subject("application", draft.id)]
    assert actions.count("application_submitted") == 1


def test_a_retried_upload_reads_no_bytes(ctx: ServiceContext, dealer: Actor) -> None:
    customer = register_customer(ctx, dealer)
    upload = documents.UploadDocument(
        OwnerKind.CUSTOMER, customer, DocumentKind.ID_CARD_FRONT, "id.png"
    )
    first = documents.upload_document(ctx, dealer, upload, chunks(PNG), idempotency_key="u")

    def untouchable() -> Iterator[bytes]:
        raise AssertionError("a replayed upload must not read the body")
        yield b""

    again = documents.upload_document(ctx, dealer, upload, untouchable(), idempotency_key="u")
    assert again == first


def test_concurrent_attempts_with_one_key_make_one_object(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    command = draft_command(partner, register_customer(ctx, dealer), register_vehicle(ctx, dealer))
    results: list[object] = []
    start = threading.Barrier(4)

    def attempt() -> None:
        start.wait()
        try:
            results.append(
                applications.create_draft(ctx, dealer, command, idempotency_key="race").id
            )
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = {result for result in results if isinstance(result, str)}
    assert len(made) == 1
    assert [a["id"] for a in applications.list_applications(ctx, dealer).items] == list(made)
    retry = applications.create_draft(ctx, dealer, command, idempotency_key="race")
    assert {retry.id} == made
