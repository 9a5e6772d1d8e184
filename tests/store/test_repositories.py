"""Every aggregate survives the trip through its table, and updates are compare-and-set."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.domain.applications import Application
from leasekit.domain.customers import Customer
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.partners import Partner, PartnerState
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from leasekit.services.applications import ApplicationQuery
from leasekit.services.customers import CustomerQuery
from leasekit.services.documents import DocumentQuery
from leasekit.services.partners import PartnerQuery
from leasekit.services.storage import ApiToken, ExceptionRequestQuery, Record, hash_secret
from leasekit.services.vehicles import VehicleQuery
from leasekit.store import repository as repository_module
from leasekit.store.database import create_engine, upgrade
from leasekit.store.ledger import VoucherRepository
from leasekit.store.uow import SqlUnitOfWork, unit_of_work_factory

if TYPE_CHECKING:
    from tests.store.conftest import Build

NOW_LATER = timedelta(minutes=5)
UowFactory = Callable[[], SqlUnitOfWork]
Deal = tuple[Partner, Customer, Vehicle, Application]


def test_each_entity_comes_back_equal(uow_factory: UowFactory, build: Build, deal: Deal) -> None:
    partner, customer, vehicle, application = deal
    user = build.user(partner_id=partner.id)
    document = build.document(application.id, partner.id)
    task = build.approval_task(application)
    contract = build.contract(application)
    payment = build.payment(contract.id)
    request = build.exception_request(payment)
    with uow_factory() as uow:
        uow.users.add(user)
        uow.documents.add(document)
        uow.approval_tasks.add(task)
        uow.contracts.add(contract)
        uow.payments.add(payment)
        uow.exception_requests.add(request)
        uow.commit()
    with uow_factory() as uow:
        assert uow.partners.get(partner.id) == partner
        assert uow.customers.get(customer.id) == customer
        assert uow.vehicles.get(vehicle.id) == vehicle
        assert uow.applications.get(application.id) == application
        assert uow.users.get(user.id) == user
        assert uow.documents.get(document.id) == document
        assert uow.approval_tasks.get(task.id) == task
        assert uow.contracts.get(contract.id) == contract
        assert uow.payments.get(payment.id) == payment
        assert uow.exception_requests.get(request.id) == request


@pytest.mark.parametrize(
    ("repository", "kind"),
    [
        ("users", "user"),
        ("customers", "customer"),
        ("vehicles", "vehicle"),
        ("partners", "partner"),
        ("applications", "application"),
        ("documents", "document"),
        ("approval_tasks", "approval task"),
        ("contracts", "contract"),
        ("receivables", "receivable"),
        ("payments", "payment"),
        ("exception_requests", "exception request"),
        ("vouchers", "voucher"),
    ],
)
def test_getting_a_missing_id_names_kind_and_id(
    uow_factory: UowFactory, repository: str, kind: str
) -> None:
    with uow_factory() as uow, pytest.raises(NotFoundError) as caught:
        getattr(uow, repository).get("no-such-id")
    assert (caught.value.kind, caught.value.key) == (kind, "no-such-id")


def test_update_stores_the_change_and_bumps_the_version(
    uow_factory: UowFactory, deal: Deal
) -> None:
    application = deal[3]
    with uow_factory() as uow:
        loaded = uow.applications.get(application.id)
        loaded.state = "submitted"  # type: ignore[assignment]
        uow.applications.update(loaded)
        assert loaded.version == 1
        assert uow.applications.get(application.id).state == "submitted"
        uow.commit()
    with uow_factory() as uow:
        stored = uow.applications.get(application.id)
    assert (stored.state, stored.version) == ("submitted", 1)


def test_an_update_matches_the_id_without_setting_it(
    engine: Engine, uow_factory: UowFactory, deal: Deal
) -> None:
    """SQLite checks the tables pointing at every column an UPDATE sets, scanning those with
    no index on it: a row's id, which never changes, is left out of the SET."""
    with statements_run(engine) as statements, uow_factory() as uow:
        uow.customers.update(uow.customers.get(deal[1].id))
    [update] = [statement for statement in statements if statement.startswith("UPDATE")]
    assert " id=" not in update.partition(" WHERE ")[0].replace(", ", " ")


def test_a_stale_copy_cannot_overwrite_a_newer_one(uow_factory: UowFactory, deal: Deal) -> None:
    """Two reviewers load the same partner; the second to save must reload, not overwrite."""
    partner = deal[0]
    with uow_factory() as first, uow_factory() as second:
        mine, theirs = first.partners.get(partner.id), second.partners.get(partner.id)
        mine.rating, theirs.rating = "B", "D"  # type: ignore[assignment]
        first.partners.update(mine)
        first.commit()
        with pytest.raises(StaleVersionError, match="changed by someone else"):
            second.partners.update(theirs)
    with uow_factory() as uow:
        stored = uow.partners.get(partner.id)
    assert (stored.rating, stored.version) == ("B", 1)


def test_updating_a_row_that_does_not_exist_is_not_found(
    uow_factory: UowFactory, build: Build
) -> None:
    with uow_factory() as uow, pytest.raises(NotFoundError):
        uow.partners.update(build.partner())


def test_reads_in_one_unit_of_work_see_its_own_updates(uow_factory: UowFactory, deal: Deal) -> None:
    """The identity map must not serve the row as it was before an UPDATE statement."""
    customer = deal[1]
    with uow_factory() as uow:
        first = uow.customers.get(customer.id)
        first.name = "Zhang Sanfeng"
        uow.customers.update(first)
        again = uow.customers.get(customer.id)
        assert (again.name, again.version) == ("Zhang Sanfeng", 1)
        assert uow.customers.page().items[0]["name"] == "Zhang Sanfeng"


def test_a_taken_username_names_the_field(uow_factory: UowFactory, build: Build) -> None:
    with uow_factory() as uow:
        uow.users.add(build.user("wang.fang"))
        uow.commit()
    with uow_factory() as uow, pytest.raises(ValidationError) as caught:
        uow.users.add(build.user("wang.fang"))
    assert [e.field for e in caught.value.errors] == ["username"]


def test_a_reference_to_nothing_names_the_field(uow_factory: UowFactory, build: Build) -> None:
    """SQLite enforces foreign keys only when asked to; the engine asks on every connection."""
    with uow_factory() as uow, pytest.raises(ValidationError) as caught:
        uow.customers.add(build.customer(partner_id=new_id()))
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("partner_id", "no such partner")
    ]


def test_a_broken_rule_never_quotes_the_database(uow_factory: UowFactory, build: Build) -> None:
    """A rule the repository does not name a field for is a generic conflict."""
    contract_less = build.payment(new_id())
    with uow_factory() as uow, pytest.raises(ConflictError) as caught:
        uow.payments.add(contract_less)
    message = str(caught.value).lower()
    assert "constraint" not in message
    assert "foreign" not in message
    assert "payments" not in message


def test_users_by_username_and_in_order(uow_factory: UowFactory, build: Build) -> None:
    first, second = build.user("a.first"), build.user("b.second")
    with uow_factory() as uow:
        uow.users.add(first)
        uow.users.add(second)
        uow.commit()
    with uow_factory() as uow:
        assert uow.users.find_by_username("b.second") == second
        assert uow.users.find_by_username("nobody") is None
        listed = [u["username"] for u in uow.users.page().items]
        assert listed == ["a.first", "b.second", "system"], "in id order; the schema's own last"


def test_a_credential_carries_the_partners_state_in_one_statement(
    uow_factory: UowFactory, engine: Engine, build: Build
) -> None:
    """Every request pays for this read, and a sanction must reach the partner's users on
    their next request: the partner's state comes with the token, in the same statement."""
    partner = build.partner()
    dealer, staff = build.user("dealer", partner.id), build.user("staff")
    with uow_factory() as uow:
        uow.partners.add(partner)
        for user, text in ((dealer, "dealer-token"), (staff, "staff-token")):
            uow.users.add(user)
            uow.tokens.add(ApiToken(new_id(), user.id, None, user.created_at), hash_secret(text))
        uow.commit()
    with statements_run(engine) as statements, uow_factory() as uow:
        found = uow.tokens.credential(hash_secret("dealer-token"))
    assert len(statements) == 1
    assert found is not None
    assert (found.partner_id, found.partner_state) == (partner.id, "active")
    with uow_factory() as uow:
        stored = uow.partners.get(partner.id)
        stored.state = PartnerState.BLACKLISTED
        uow.partners.update(stored)
        uow.commit()
    with uow_factory() as uow:
        found = uow.tokens.credential(hash_secret("dealer-token"))
        assert found is not None
        assert found.partner_state == "blacklisted"
        backoffice = uow.tokens.credential(hash_secret("staff-token"))
        assert backoffice is not None
        assert (backoffice.partner_id, backoffice.partner_state) == (None, None)


def test_tokens_are_found_by_hash_and_revoked_once(uow_factory: UowFactory, build: Build) -> None:
    user = build.user()
    token = ApiToken(new_id(), user.id, "laptop", user.created_at)
    with uow_factory() as uow:
        uow.users.add(user)
        uow.tokens.add(token, hash_secret("s3cret-token"))
        uow.commit()
    revoked_at = user.created_at + NOW_LATER
    with uow_factory() as uow:
        found = uow.tokens.credential(hash_secret("s3cret-token"))
        assert found is not None
        assert (found.token_id, found.user_id, found.role) == (token.id, user.id, "officer")
        assert uow.tokens.credential(hash_secret("other")) is None
        assert uow.tokens.revoke(token.id, revoked_at)
        assert not uow.tokens.revoke(token.id, revoked_at + NOW_LATER)
        assert uow.tokens.credential(hash_secret("s3cret-token")) is None
        uow.commit()
    with uow_factory() as uow:
        [stored] = uow.tokens.list_for_user(user.id)
        assert stored.revoked_at == revoked_at
        assert not stored.active
        with pytest.raises(NotFoundError):
            uow.tokens.get("no-such-token")


def test_a_token_is_stored_only_as_its_hash(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    user = build.user()
    with uow_factory() as uow:
        uow.users.add(user)
        uow.tokens.add(ApiToken(new_id(), user.id, None, user.created_at), hash_secret("abc"))
        uow.commit()
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert stored == [hash_secret("abc")]


def ids(records: list[Record]) -> list[str]:
    return [record["id"] for record in records]


def test_partner_scoped_pages(uow_factory: UowFactory, build: Build, deal: Deal) -> None:
    partner, customer, vehicle, application = deal
    back_office_customer = build.customer()
    with uow_factory() as uow:
        uow.customers.add(back_office_customer)
        uow.commit()
    with uow_factory() as uow:
        assert ids(uow.customers.page(CustomerQuery(partner_id=partner.id)).items) == [customer.id]
        assert len(uow.customers.page().items) == 2
        assert uow.customers.find_registered(customer) == customer
        assert uow.customers.find_registered(back_office_customer) == back_office_customer
        assert ids(uow.vehicles.page(VehicleQuery(partner_id=partner.id)).items) == [vehicle.id]
        assert uow.vehicles.find_registered(vehicle.vin.value) == vehicle
        assert ids(uow.applications.page(ApplicationQuery(partner_id=partner.id)).items) == [
            application.id
        ]
        assert uow.applications.page(ApplicationQuery(partner_id=new_id())).items == []
        assert ids(uow.applications.page(ApplicationQuery(state="draft")).items) == [  # type: ignore[arg-type]
            application.id
        ]
        assert uow.applications.page(ApplicationQuery(state="submitted")).items == []  # type: ignore[arg-type]
        assert ids(uow.partners.page(PartnerQuery(state="active")).items) == [partner.id]  # type: ignore[arg-type]


def test_partners_by_company_code_which_is_taken_once_per_country(
    uow_factory: UowFactory, build: Build
) -> None:
    partner, foreign = build.partner(), build.partner()
    foreign.country = "HK"
    foreign.registration_number = partner.registration_number
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.partners.add(foreign)
        uow.partners.add(build.partner())
        uow.commit()
    with uow_factory() as uow:
        number = partner.registration_number
        assert uow.partners.find_by_registration_number("CN", number) == partner
        assert uow.partners.find_by_registration_number("HK", number) == foreign
        assert uow.partners.find_by_registration_number("CN", number + "0") is None
        with pytest.raises(ValidationError, match="registration_number"):
            uow.partners.add(build.partner(registration_number=number))


def test_documents_are_listed_by_owner(uow_factory: UowFactory, build: Build, deal: Deal) -> None:
    application = deal[3]
    mine = [build.document(application.id), build.document(application.id)]
    other = build.document(new_id())
    with uow_factory() as uow:
        for document in (mine[1], other, mine[0]):
            uow.documents.add(document)
        uow.commit()
    with uow_factory() as uow:
        listed = uow.documents.page(DocumentQuery("application", application.id)).items  # type: ignore[arg-type]
        assert ids(listed) == [document.id for document in mine]


def test_approval_tasks_by_application_state_and_tier(
    uow_factory: UowFactory, build: Build, deal: Deal
) -> None:
    task = build.approval_task(deal[3])
    with uow_factory() as uow:
        uow.approval_tasks.add(task)
        uow.commit()
    with uow_factory() as uow:
        assert uow.approval_tasks.list_for_application(deal[3].id) == [task]


def test_a_schedule_is_stored_in_one_go_and_read_in_order(
    uow_factory: UowFactory, build: Build, deal: Deal
) -> None:
    contract = build.contract(deal[3])
    schedule = build.schedule(contract.id, lines=12)
    with uow_factory() as uow:
        uow.contracts.add(contract)
        uow.receivables.add_many(reversed(schedule))
        uow.receivables.add_many([])
        uow.commit()
    with uow_factory() as uow:
        assert uow.receivables.list_for_contract(contract.id) == schedule
        assert uow.receivables.list_due(schedule[2].due_date) == schedule[:3]
        line = uow.receivables.get(schedule[0].id)
        line.paid_interest = line.interest
        uow.receivables.update(line)
        uow.commit()
    with uow_factory() as uow:
        assert uow.receivables.get(schedule[0].id).paid_interest == schedule[0].interest
        assert uow.contracts.list_for_application(deal[3].id) == [contract]


def test_a_schedule_line_number_is_taken_once(
    uow_factory: UowFactory, build: Build, deal: Deal
) -> None:
    contract = build.contract(deal[3])
    with uow_factory() as uow:
        uow.contracts.add(contract)
        uow.receivables.add_many(build.schedule(contract.id, lines=2))
        with pytest.raises(ConflictError):
            uow.receivables.add_many(build.schedule(contract.id, lines=1))


def test_payments_and_exception_requests_queries(
    uow_factory: UowFactory, build: Build, deal: Deal
) -> None:
    contract = build.contract(deal[3])
    payment = build.payment(contract.id)
    request = build.exception_request(payment)
    with uow_factory() as uow:
        uow.contracts.add(contract)
        uow.payments.add(payment)
        uow.exception_requests.add(request)
        uow.commit()
    with uow_factory() as uow:
        assert uow.payments.list_for_contract(contract.id) == [payment]
        assert uow.payments.find_by_reference("BANK-REF-1") == [payment]
        page = uow.exception_requests.page(ExceptionRequestQuery(payment_id=payment.id))
        assert [item["id"] for item in page.items] == [request.id]
        assert page.items[0]["approvals"][1]["user_id"] == "fd-1"
        by_contract = ExceptionRequestQuery(contract_id=contract.id, state=request.state)
        assert uow.exception_requests.page(by_contract).items == page.items


def test_reads_of_many_ids_are_split_into_lists_the_database_takes(
    uow_factory: UowFactory, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A book's worth of ids exceeds the parameters one statement may carry (PostgreSQL's
    65,535): such reads go in lists of IN_LIST, and answer as one read would."""
    partners = [build.partner() for _ in range(7)]
    with uow_factory() as uow:
        uow.partners.add_many(partners)
        uow.commit()
    monkeypatch.setattr(repository_module, "IN_LIST", 2)
    wanted = {partner.id for partner in partners[1:]} | {"no-such-id"}
    with uow_factory() as uow:
        assert uow.partners.get_many(wanted) == {p.id: p for p in partners[1:]}


def test_a_read_of_more_ids_than_one_statement_may_carry(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        assert uow.partners.get_many({new_id() for _ in range(70_000)}) == {}


def test_vouchers_keep_their_lines_in_order(uow_factory: UowFactory, build: Build) -> None:
    voucher = build.voucher(source_key="payment_received:p1:abc")
    with uow_factory() as uow:
        uow.vouchers.add(voucher)
        uow.commit()
    with uow_factory() as uow:
        assert uow.vouchers.get(voucher.id) == voucher
        assert uow.vouchers.find_by_source_key("payment_received:p1:abc") == voucher
        assert uow.vouchers.find_by_source_key("other") is None
        assert uow.vouchers.list_for_date(voucher.business_date) == [voucher]


def test_a_voucher_is_reversed_at_most_once(uow_factory: UowFactory, build: Build) -> None:
    original = build.voucher()
    reversal = original.reversal(
        actor=_finance(), at=original.created_at, business_date=original.business_date, reason="x"
    )
    with uow_factory() as uow:
        uow.vouchers.add(original)
        uow.vouchers.add(reversal)
        uow.commit()
    with uow_factory() as uow:
        assert uow.vouchers.find_reversal(original.id) == reversal
        again = original.reversal(
            actor=_finance(),
            at=original.created_at,
            business_date=original.business_date,
            reason="y",
        )
        with pytest.raises(ValidationError, match="reverses"):
            uow.vouchers.add(again)


def test_a_source_key_posts_once(uow_factory: UowFactory, build: Build) -> None:
    with uow_factory() as uow:
        uow.vouchers.add(build.voucher(source_key="k"))
        with pytest.raises(ValidationError, match="source_key"):
            uow.vouchers.add(build.voucher(source_key="k"))


def test_the_journal_has_no_way_to_change_or_delete_a_voucher() -> None:
    public = {name for name in dir(VoucherRepository) if not name.startswith("_")}
    assert public == {
        "add", "add_booking", "add_bookings", "bulk_writes_wait",  # appends
        "get", "find_by_source_key", "find_reversal", "known_keys", "list_for_date", "page",
        "view", "views", "trial_balance",  # reads
    }  # fmt: skip


def _finance() -> Actor:
    return Actor("finance-1", Role.FINANCE)


@pytest.fixture
def postgres_engine(postgres_schema_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_schema_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_a_deadlock_is_reported_as_a_conflict(postgres_engine: Engine, build: Build) -> None:
    """Two commands changing the same two rows in opposite orders: PostgreSQL aborts one,
    which the caller sees as the same retryable ConflictError as a lost compare-and-set."""
    factory = unit_of_work_factory(postgres_engine)
    first, second = build.partner(), build.partner()
    with factory() as uow:
        uow.partners.add(first)
        uow.partners.add(second)
        uow.commit()
    both_hold_one = threading.Barrier(2, timeout=30)
    outcomes: dict[str, str] = {}

    def change(name: str, one: Partner, other: Partner) -> None:
        try:
            with factory() as uow:
                mine, theirs = uow.partners.get(one.id), uow.partners.get(other.id)
                uow.partners.update(mine)
                both_hold_one.wait()
                uow.partners.update(theirs)
                uow.commit()
            outcomes[name] = "committed"
        except ConflictError:
            outcomes[name] = "conflict"

    threads = [
        threading.Thread(target=change, args=("a-then-b", first, second)),
        threading.Thread(target=change, args=("b-then-a", second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["committed", "conflict"]


@contextlib.contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements *engine* runs inside the block, in order."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
