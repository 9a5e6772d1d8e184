"""Revision 0002 on a database that lived at 0001: what was there is kept and converted (the
audit chain still verifies, undelivered events go out, users keep their standing), a database
it cannot convert is refused whole, and the downgrade gives 0001's data back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from leasekit.store.audit import GENESIS_HASH, entry_hash, verify
from leasekit.store.database import create_engine, current_revision, downgrade, upgrade

AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
AUDIT = [
    ("u-admin", "user_created", "user", "u-officer", {"username": "officer"}),
    ("u-officer", "partner_onboarded", "partner", "p-1", {"name": "Sunrise Motors"}),
]


@pytest.fixture
def at_0001(database_url: str) -> Iterator[Engine]:
    """A database at revision 0001 holding a little of everything 0002 converts."""
    engine = create_engine(database_url)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        _fill(connection)
    yield engine
    engine.dispose()


def _insert(connection: sa.Connection, table: str, *rows: dict[str, object]) -> None:
    columns = list(rows[0])
    connection.execute(
        sa.text(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})"
        ),
        list(rows),
    )


def _customer(customer_id: str, name: str) -> dict[str, object]:
    """Sunrise's customer with one and the same id number, whatever her name."""
    return {"id": customer_id, "kind": "individual", "name": name, "country": "CN",
            "id_number": "11010519900307451X", "partner_id": "p-1", "created_at": AT,
            "version": 0}  # fmt: skip


def _fill(connection: sa.Connection) -> None:
    user = {"role": "officer", "partner_id": None, "created_at": AT, "version": 0}
    _insert(
        connection,
        "users",
        user | {"id": "u-admin", "username": "admin", "display_name": "A", "active": True},
        user | {"id": "u-officer", "username": "officer", "display_name": "O", "active": True},
        user | {"id": "u-gone", "username": "gone", "display_name": "G", "active": False},
    )
    _insert(
        connection,
        "api_tokens",
        {"id": "t-1", "user_id": "u-officer", "token_hash": "a" * 64, "created_at": AT,
         "revoked_at": None},
    )  # fmt: skip
    _insert(
        connection,
        "partners",
        {"id": "p-1", "name": "  Sunrise   MOTORS ", "country": "CN",
         "registration_number": "91440300MA5F0A1B2X", "currency": "CNY",
         "credit_limit": "1000000.00", "rating": "A", "state": "active", "created_at": AT,
         "version": 3},
    )  # fmt: skip
    vehicle = {"make": "Buick", "model": "GL8", "year": 2025, "condition": "new",
               "partner_id": "p-1", "version": 0, "vin": "LSGKB54H1NA123456"}  # fmt: skip
    _insert(
        connection,
        "vehicles",
        vehicle | {"id": "v-old", "created_at": AT},
        vehicle | {"id": "v-new", "created_at": AT + dt.timedelta(days=1)},
    )
    _insert(connection, "customers", _customer("c-1", "Wang Xiu"))
    event = {"event_type": "domain", "subject": "partner", "subject_id": "p-1",
             "payload": "{}", "occurred_at": AT, "business_date": AT.date(),
             "actor_id": "u-officer", "attempts": 0, "last_error": None, "claim_token": None,
             "claimed_until": None}  # fmt: skip
    _insert(
        connection,
        "outbox",
        event | {"id": 1, "idempotency_key": "e-sent", "name": "partner_onboarded",
                 "delivered_at": AT},
        event | {"id": 2, "idempotency_key": "e-due", "name": "partner_activated",
                 "delivered_at": None},
    )  # fmt: skip
    prev = GENESIS_HASH
    for seq, (actor, action, subject, subject_id, details) in enumerate(AUDIT, start=1):
        link = entry_hash(prev, seq=seq, at=AT, actor_id=actor, action=action, subject=subject,
                          subject_id=subject_id, details=details)  # fmt: skip
        _insert(
            connection,
            "audit_log",
            {"seq": seq, "at": AT, "actor_id": actor, "action": action, "subject": subject,
             "subject_id": subject_id, "details": json.dumps(details, sort_keys=True,
             separators=(",", ":")), "prev_hash": prev, "hash": link},
        )  # fmt: skip
        prev = link
    connection.execute(
        sa.text("UPDATE audit_chain_head SET seq = :seq, hash = :hash"),
        {"seq": len(AUDIT), "hash": prev},
    )


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def _records(engine: Engine, table: str) -> list[dict[str, object]]:
    """Every row of *table* by column name (a downgrade may put columns in another order)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT * FROM {table}")).mappings()
        return sorted((dict(row) for row in rows), key=lambda row: sorted(row.items()))


def test_0002_keeps_and_converts_what_0001_held(at_0001: Engine) -> None:
    upgrade(at_0001)
    assert _rows(at_0001, "SELECT id, state FROM users ORDER BY id") == [
        ("system", "active"),
        ("u-admin", "active"),
        ("u-gone", "disabled"),
        ("u-officer", "active"),
    ]
    assert _rows(at_0001, "SELECT id, label FROM api_tokens") == [("t-1", None)]
    assert _rows(at_0001, "SELECT id, state FROM vehicles ORDER BY id") == [
        ("v-new", "registered"),
        ("v-old", "released"),
    ], "of two records of one VIN, the newer is the one in use"
    assert _rows(at_0001, "SELECT name_key FROM partners") == [("sunrise motors",)]
    assert _rows(at_0001, "SELECT name_key FROM customers") == [("wang xiu",)]
    assert _rows(at_0001, "SELECT event_id FROM outbox_pending") == [(2,)], "only the undelivered"
    report = verify(at_0001)
    assert report.ok, report
    assert report.checked == len(AUDIT)


def test_new_rows_continue_after_the_copied_ids(at_0001: Engine) -> None:
    upgrade(at_0001)
    with at_0001.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO audit_log (at, actor_id, action, subject, subject_id, details) "
                "VALUES (:at, 'system', 'x', 'y', 'z', '{}')"
            ),
            {"at": AT},
        )
    assert _rows(at_0001, "SELECT max(id) FROM audit_log") == [(len(AUDIT) + 1,)]


def test_duplicate_customers_stop_the_upgrade_before_it_changes_anything(
    at_0001: Engine,
) -> None:
    with at_0001.begin() as connection:
        _insert(connection, "customers", _customer("c-2", "Wang X."))
    tables = set(sa.inspect(at_0001).get_table_names())
    with pytest.raises(RuntimeError, match="1 customer id numbers are registered more than once"):
        upgrade(at_0001)
    assert current_revision(at_0001) == "0001"
    assert set(sa.inspect(at_0001).get_table_names()) == tables
    assert _rows(at_0001, "SELECT count(*) FROM users WHERE active") == [(2,)]


def test_the_downgrade_gives_back_0001s_data(at_0001: Engine) -> None:
    tables = ("users", "audit_log", "partners", "customers", "vehicles", "api_tokens")
    before = {table: _records(at_0001, table) for table in tables}
    upgrade(at_0001)
    downgrade(at_0001, "0001")
    assert current_revision(at_0001) == "0001"
    for table, rows in before.items():
        assert _records(at_0001, table) == rows, table
    assert _rows(at_0001, "SELECT id, delivered_at IS NULL FROM outbox ORDER BY id") == [
        (1, False),
        (2, True),
    ], "what was not delivered is still due"


def test_0003_opens_each_partners_limit_account_from_its_limit(at_0001: Engine) -> None:
    upgrade(at_0001, "0002")
    upgrade(at_0001)
    rows = _rows(at_0001, "SELECT id, currency, total, used, frozen FROM credit_limits")
    assert [(*row[:2], *(Decimal(str(amount)) for amount in row[2:])) for row in rows] == [
        ("p-1", "CNY", Decimal("1000000.00"), Decimal(0), Decimal(0)),
    ]
    partner_columns = {column["name"] for column in sa.inspect(at_0001).get_columns("partners")}
    assert not partner_columns & {"credit_limit", "currency"}


def test_0003_is_not_undone_while_limits_are_in_use(at_0001: Engine) -> None:
    upgrade(at_0001, "0003")
    with at_0001.begin() as connection:
        _insert(
            connection,
            "limit_movements",
            {"id": "m-1", "partner_id": "p-1", "kind": "take", "reference": "c:1",
             "currency": "CNY", "amount": "5.00", "used_change": "5.00", "frozen_change": "0",
             "used_after": "5.00", "frozen_after": "0", "reason": None, "actor_id": "u-officer",
             "created_at": AT, "business_date": AT.date()},
        )  # fmt: skip
    head = current_revision(at_0001)
    with pytest.raises(RuntimeError, match="movements or requests"):
        downgrade(at_0001, "0002")
    assert current_revision(at_0001) == head


def test_0004_gives_each_partner_an_empty_profile_and_revision_0(at_0001: Engine) -> None:
    upgrade(at_0001, "0003")
    upgrade(at_0001)
    assert _rows(
        at_0001,
        "SELECT legal_representative, contacts, registered_address, brands, bank_accounts "
        "FROM partners",
    ) == [(None, "[]", None, "[]", "[]")]
    [(partner_id, revision, actor, changes)] = _rows(
        at_0001, "SELECT partner_id, revision, actor_id, changes FROM partner_revisions"
    )
    assert (partner_id, revision, actor) == ("p-1", 0, "system")
    assert json.loads(str(changes)) == [
        {"field": "name", "before": None, "after": "  Sunrise   MOTORS "}
    ]
    downgrade(at_0001, "0003")
    assert "partner_revisions" not in sa.inspect(at_0001).get_table_names()
    assert "contacts" not in {c["name"] for c in sa.inspect(at_0001).get_columns("partners")}


def test_0004_is_not_undone_while_a_partner_has_a_profile(at_0001: Engine) -> None:
    upgrade(at_0001, "0004")
    with at_0001.begin() as connection:
        connection.execute(sa.text("UPDATE partners SET brands = '[\"Buick\"]'"))
    with pytest.raises(RuntimeError, match="profiles"):
        downgrade(at_0001, "0003")
    assert current_revision(at_0001) == "0004"


def test_0005_lists_the_partners_already_blacklisted(at_0001: Engine) -> None:
    with at_0001.begin() as connection:
        connection.execute(sa.text("UPDATE partners SET state = 'blacklisted'"))
    upgrade(at_0001)
    assert _rows(at_0001, "SELECT kind, partner_id FROM blacklist_entries") == [("partner", "p-1")]
    downgrade(at_0001, "0004")
    assert "blacklist_entries" not in sa.inspect(at_0001).get_table_names()


def test_0007_makes_every_partner_a_new_car_dealer(at_0001: Engine) -> None:
    upgrade(at_0001, "0006")
    upgrade(at_0001)
    assert _rows(at_0001, "SELECT id, kind FROM partners") == [("p-1", "new_car_dealer")]
    downgrade(at_0001, "0006")
    assert "document_defects" not in sa.inspect(at_0001).get_table_names()
    assert "kind" not in {c["name"] for c in sa.inspect(at_0001).get_columns("partners")}


def test_0007_is_not_undone_while_a_partner_is_of_another_kind(at_0001: Engine) -> None:
    upgrade(at_0001, "0007")
    with at_0001.begin() as connection:
        connection.execute(sa.text("UPDATE partners SET kind = 'broker'"))
    with pytest.raises(RuntimeError, match="another kind"):
        downgrade(at_0001, "0006")
    assert current_revision(at_0001) == "0007"


def test_0011_adds_the_catalogue_and_is_not_undone_while_a_product_is_held(
    at_0001: Engine,
) -> None:
    upgrade(at_0001, "0011")
    downgrade(at_0001, "0010")
    assert "products" not in sa.inspect(at_0001).get_table_names()
    upgrade(at_0001, "0011")
    with at_0001.begin() as connection:
        _insert(
            connection,
            "products",
            {"id": "pr-1", "code": "NCL", "business_type": "loan", "name": "Loan",
             "state": "draft", "current_version_id": None, "draft_version_id": None,
             "latest": 0, "created_by": "u-officer", "created_at": AT, "version": 0},
        )  # fmt: skip
    with pytest.raises(RuntimeError, match="products are held"):
        downgrade(at_0001, "0010")
    assert current_revision(at_0001) == "0011"


def test_0012_gives_earlier_tasks_their_partner_and_tag_key(at_0001: Engine) -> None:
    upgrade(at_0001, "0011")
    with at_0001.begin() as connection:
        _application(connection)
        _insert(
            connection,
            "approval_tasks",
            {"id": "t-1", "application_id": "a-1", "tier": "manager", "state": "open",
             "assignee": None, "locked_by": None, "locked_at": None, "decision": None,
             "tags": '["high_amount", "used_vehicle"]', "created_at": AT, "version": 0},
        )  # fmt: skip
    upgrade(at_0001, "0012")
    assert _rows(
        at_0001, "SELECT partner_id, required_tier, conditions, tag_key FROM approval_tasks"
    ) == [("p-1", "manager", "{}", "|high_amount|used_vehicle|")]
    downgrade(at_0001, "0011")
    columns = {c["name"] for c in sa.inspect(at_0001).get_columns("approval_tasks")}
    assert {"partner_id", "product_code", "required_tier", "tag_key"}.isdisjoint(columns)
    assert _rows(at_0001, "SELECT id, tier FROM approval_tasks") == [("t-1", "manager")]


def test_0013_gives_earlier_assessments_no_findings_and_no_report(at_0001: Engine) -> None:
    upgrade(at_0001, "0012")
    with at_0001.begin() as connection:
        _application(connection)
        _insert(
            connection,
            "pre_approvals",
            {"id": "pa-1", "application_id": "a-1", "partner_id": "p-1", "outcome": "pass",
             "score": 0, "reasons": "[]", "facts": "{}", "unavailable": "[]",
             "rule_set_version_id": None, "assessed_at": AT},
        )  # fmt: skip
    upgrade(at_0001, "0013")
    assert _rows(at_0001, "SELECT id, findings, bureau_report FROM pre_approvals") == [
        ("pa-1", "[]", None)
    ]
    downgrade(at_0001, "0012")
    columns = {c["name"] for c in sa.inspect(at_0001).get_columns("pre_approvals")}
    assert {"findings", "bureau_report"}.isdisjoint(columns)
    assert _rows(at_0001, "SELECT id, outcome FROM pre_approvals") == [("pa-1", "pass")]


def _application(connection: sa.Connection) -> None:
    """An application drafted before the catalogue priced applications."""
    _insert(
        connection,
        "applications",
        {"id": "a-1", "partner_id": "p-1", "customer_id": "c-1", "vehicle_id": "v-new",
         "business_type": "loan", "currency": "CNY", "vehicle_price": "189000.00",
         "down_payment": "37800.00", "residual_value": None, "term_months": 24,
         "annual_rate": "0.0488", "state": "submitted", "created_by": "u-officer",
         "created_at": AT, "version": 1},
    )  # fmt: skip


def test_0014_keeps_applications_unpriced_and_is_not_undone_while_one_lists_a_guarantor(
    at_0001: Engine,
) -> None:
    upgrade(at_0001, "0013")
    with at_0001.begin() as connection:
        _application(connection)
    upgrade(at_0001, "0014")
    assert _rows(
        at_0001, "SELECT id, product_version_id, schedule_method, plan, conditions "
        "FROM applications"
    ) == [("a-1", None, None, None, None)]  # fmt: skip
    with at_0001.begin() as connection:
        _insert(
            connection,
            "customers",
            _customer("c-2", "Wang Fang")
            | {"name_key": "wang fang", "id_number": "110105198811230029"},
        )
        _insert(
            connection,
            "application_parties",
            {"application_id": "a-1", "customer_id": "c-2", "role": "guarantor", "position": 0},
        )
    with pytest.raises(RuntimeError, match="co-applicants or guarantors"):
        downgrade(at_0001, "0013")
    assert current_revision(at_0001) == "0014"
    with at_0001.begin() as connection:
        connection.execute(sa.text("DELETE FROM application_parties"))
    downgrade(at_0001, "0013")
    assert "application_plan_rows" not in sa.inspect(at_0001).get_table_names()
    assert _rows(at_0001, "SELECT id, state FROM applications") == [("a-1", "submitted")]


def test_0015_adds_the_face_photo_hashes_and_takes_them_away(at_0001: Engine) -> None:
    upgrade(at_0001, "0015")
    assert "face_photo_hashes" in sa.inspect(at_0001).get_table_names()
    indexed = {i["name"] for i in sa.inspect(at_0001).get_indexes("face_photo_hashes")}
    assert {f"ix_face_photo_hashes_band{n}" for n in range(4)} <= indexed
    downgrade(at_0001, "0014")
    assert "face_photo_hashes" not in sa.inspect(at_0001).get_table_names()


def test_0016_gives_earlier_customers_no_phone(at_0001: Engine) -> None:
    upgrade(at_0001, "0015")
    with at_0001.begin() as connection:
        _insert(connection, "customers", _customer("c-2", "Wang Fang")
                | {"name_key": "wang fang", "id_number": "110105198811230029"})  # fmt: skip
    upgrade(at_0001, "0016")
    assert _rows(at_0001, "SELECT id, phone FROM customers WHERE id = 'c-2'") == [("c-2", None)]
    downgrade(at_0001, "0015")
    columns = {c["name"] for c in sa.inspect(at_0001).get_columns("customers")}
    assert "phone" not in columns


def test_0021_keeps_earlier_vouchers_and_is_not_undone_while_one_was_generated(
    at_0001: Engine,
) -> None:
    upgrade(at_0001, "0020")
    voucher = {"id": "v-1", "business_date": "2026-01-05", "description": "By hand",
               "created_by": "u-1", "created_at": "2026-01-05 09:00:00+00:00",
               "source_key": None, "reverses": None}  # fmt: skip
    line = {"voucher_id": "v-1", "line_no": 1, "account": "1100", "side": "debit",
            "currency": "CNY", "amount": "10.00", "memo": ""}  # fmt: skip
    with at_0001.begin() as connection:
        _insert(connection, "vouchers", voucher)
        _insert(connection, "voucher_lines", line, line | {"line_no": 2, "side": "credit"})
    upgrade(at_0001, "0021")
    assert _rows(at_0001, "SELECT id, event_type, template FROM vouchers") == [("v-1", None, None)]
    assert _rows(at_0001, "SELECT contract_id FROM voucher_lines") == [(None,), (None,)]
    downgrade(at_0001, "0020")  # nothing generated yet: undone
    upgrade(at_0001, "0021")
    with at_0001.begin() as connection:
        _insert(connection, "vouchers", voucher | {"id": "v-2", "event_type": "payment_received"})
    with pytest.raises(RuntimeError, match="1 generated vouchers"):
        downgrade(at_0001, "0020")
    assert "unmapped_events" in sa.inspect(at_0001).get_table_names()
