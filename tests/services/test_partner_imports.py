"""Importing changes to partners from a file, on SQLite and PostgreSQL: every row checked
before any change, every fault named by row and column, the whole file or nothing, the same
file twice changing nothing, and the changes made exactly as the single-object commands make
them (their events, audit entries and history)."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import attrs
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.demo import credit_code
from leasekit.domain.identity import Actor
from leasekit.domain.partner_imports import (
    ImportApplyError,
    ImportOutcome,
    ImportRefusedError,
    PartnerImport,
)
from leasekit.domain.partners import Partner
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.services import credit_limits, partner_imports, partner_ratings, partners
from leasekit.services.context import ServiceContext
from leasekit.services.credit_limits import LimitRequestQuery
from leasekit.services.sheets import SheetLimits

SUNRISE = credit_code("91440300MA5F0A1B2")
HARBOUR = credit_code("91310000MA1K3C4D5")


def csv_bytes(*rows: list[str]) -> bytes:
    """A CSV file of *rows*, the header first, as Excel's "CSV UTF-8" writes it."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return "\ufeff".join(["", text.getvalue()]).encode()


def xlsx_bytes(*rows: list[object]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def run(ctx: ServiceContext, actor: Actor, data: bytes, **options: object) -> PartnerImport:
    return partner_imports.import_partners(ctx, actor, [data], **options)  # type: ignore[arg-type]


def faults(error: pytest.ExceptionInfo[ImportRefusedError]) -> list[tuple[int | None, str]]:
    return [(fault.row, fault.column) for fault in error.value.faults]


def counts(engine: Engine) -> dict[str, int]:
    tables = ("partner_revisions", "limit_requests", "outbox", "audit_log", "partner_imports")
    with engine.connect() as connection:
        return {
            table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) for table in tables
        }


def waiting_requests(
    ctx: ServiceContext, actor: Actor, partner: Partner
) -> list[dict[str, object]]:
    query = LimitRequestQuery(partner_id=partner.id, state="requested")  # type: ignore[arg-type]
    return credit_limits.list_limit_requests(ctx, actor, query).items


CHANGES = csv_bytes(
    ["registration_number", "status", "reason", "contact_role", "contact_name", "contact_phone",
     "bank_scheme", "bank_holder", "bank_name", "bank_account", "credit_limit"],
    [SUNRISE, "watch", "overdue above 3%", "finance", "Gao Yan", "+86 21 5555 0188",
     "cn_bank_card", "Sunrise Motors", "ICBC Shenzhen", "6222 0210 0000 0000 009", ""],
    [HARBOUR, "", "", "", "", "", "", "", "", "", "800000.00"],
)  # fmt: skip
"""Sunrise goes on watch and gets a finance contact and a settlement account; Harbour's limit
is cut (a cut needs no capability, and on watch Sunrise could not be given more)."""


@pytest.fixture
def sunrise(partner: Partner) -> Partner:
    return partner


@pytest.fixture
def harbour(other_partner: Partner) -> Partner:
    return other_partner


def test_a_file_changes_each_partner_as_its_single_commands_would(
    ctx: ServiceContext, manager: Actor, officer: Actor, sunrise: Partner, harbour: Partner,
    engine: Engine,
) -> None:  # fmt: skip
    before = counts(engine)
    report = run(ctx, manager, CHANGES, reason="quarterly review")
    assert (report.outcome, report.rows, report.changed) == (ImportOutcome.APPLIED, 2, 2)
    assert (report.reason, report.actor_id) == ("quarterly review", manager.user_id)
    first, second = report.results
    assert (first.row, first.partner_id, second.row, second.partner_id) == (
        2, sunrise.id, 3, harbour.id)  # fmt: skip
    assert [change.column for change in first.changes] == ["status", "profile"]
    assert first.changes[0].change == "active → watch (watch)"
    assert first.changes[1].change == "contacts and bank_accounts revised"
    assert second.changes[0].change == (
        "1,000,000.00 → 800,000.00 CNY requested, for another person to approve"
    )

    now = partners.get_partner(ctx, officer, sunrise.id)
    assert (str(now.state), now.version) == ("watch", sunrise.version + 2)
    assert [(c.role, c.name, c.phone) for c in now.contacts] == [
        ("finance", "Gao Yan", "+862155550188")
    ]
    assert [(a.card_number, a.primary) for a in now.bank_accounts] == [
        ("6222021000000000009", True)
    ]
    last = partners.partner_history(ctx, officer, sunrise.id).items[-1]
    assert (last["reason"], last["actor_id"]) == ("overdue above 3%", manager.user_id)
    (cut,) = waiting_requests(ctx, officer, harbour)
    assert (cut["amount"]["amount"], cut["requested_by"], cut["reason"]) == (
        Decimal("800000.00"), manager.user_id, "quarterly review")  # fmt: skip
    # One audit entry and one outbox row per event: the move, the revision, the request, and
    # the import itself.
    after = counts(engine)
    assert {table: after[table] - before[table] for table in after} == {
        "partner_revisions": 1, "limit_requests": 1, "outbox": 4, "audit_log": 4,
        "partner_imports": 1}  # fmt: skip
    assert partner_imports.get_partner_import(ctx, officer, str(report.id)) == report


def test_the_same_file_twice_changes_nothing_the_second_time(
    ctx: ServiceContext, manager: Actor, sunrise: Partner, harbour: Partner, engine: Engine
) -> None:
    first = run(ctx, manager, CHANGES, reason="quarterly review")
    before = counts(engine)
    again = run(ctx, manager, CHANGES, reason="another reason, the same file")
    assert again.outcome is ImportOutcome.IMPORTED_BEFORE
    assert again == attrs.evolve(first, outcome=ImportOutcome.IMPORTED_BEFORE)
    assert counts(engine) == before


def test_the_same_changes_in_another_file_are_all_unchanged(
    ctx: ServiceContext, manager: Actor, sunrise: Partner, harbour: Partner, engine: Engine
) -> None:
    run(ctx, manager, CHANGES, reason="quarterly review")
    header, *rows = list(csv.reader(io.StringIO(CHANGES.decode("utf-8-sig"))))
    as_xlsx = xlsx_bytes(header, *rows)
    before = counts(engine)
    report = run(ctx, manager, as_xlsx, reason="quarterly review")
    assert (report.outcome, report.rows, report.changed) == (ImportOutcome.APPLIED, 2, 0)
    assert [result.changes for result in report.results] == [(), ()]
    after = counts(engine)
    assert {table: after[table] - before[table] for table in after} == {
        "partner_revisions": 0, "limit_requests": 0, "outbox": 1, "audit_log": 1,
        "partner_imports": 1}  # fmt: skip


def test_a_dry_run_reports_the_changes_and_makes_none(
    ctx: ServiceContext, manager: Actor, sunrise: Partner, harbour: Partner, engine: Engine
) -> None:
    before = counts(engine)
    checked = run(ctx, manager, CHANGES, reason="quarterly review", dry_run=True)
    assert (checked.id, checked.outcome, checked.changed) == (None, ImportOutcome.DRY_RUN, 2)
    assert counts(engine) == before
    applied = run(ctx, manager, CHANGES, reason="quarterly review")
    assert applied.results == checked.results
    again = run(ctx, manager, CHANGES, dry_run=True)
    assert (again.id, again.outcome) == (applied.id, ImportOutcome.IMPORTED_BEFORE)


def test_one_bad_row_changes_nothing(
    ctx: ServiceContext, manager: Actor, officer: Actor, sunrise: Partner, harbour: Partner,
    engine: Engine,
) -> None:  # fmt: skip
    file = csv_bytes(
        ["partner_id", "status", "reason", "credit_limit"],
        [sunrise.id, "suspended", "late papers", ""],
        [harbour.id, "", "", "80000O.00"],
    )
    before = counts(engine)
    with pytest.raises(ImportRefusedError) as refused:
        run(ctx, manager, file)
    assert faults(refused) == [(3, "credit_limit")]
    assert "'80000O.00' is not an amount" in refused.value.faults[0].message
    assert counts(engine) == before
    assert partners.get_partner(ctx, officer, sunrise.id).state == sunrise.state


def test_every_bad_row_and_field_is_named(
    ctx: ServiceContext, manager: Actor, sunrise: Partner, harbour: Partner
) -> None:
    file = csv_bytes(
        ["partner_id", "registration_number", "status", "reason", "contact_role",
         "contact_phone", "bank_scheme", "bank_account", "credit_limit"],
        [sunrise.id, "", "exited", "", "", "", "", "", ""],
        ["", "", "", "", "", "", "", "", "100.00"],
        ["", credit_code("91110000MA00AB1C2"), "", "", "", "", "", "", ""],
        [harbour.id, "", "", "", "finance", "12345", "cn_bank_card", "6222021000000000001",
         "1000000.001"],
        ["", HARBOUR, "suspended", "x\x00y", "", "", "", "", ""],
        [harbour.id, "", "suspended", "", "", "", "", "", "", "an extra cell"],
    )  # fmt: skip
    with pytest.raises(ImportRefusedError) as refused:
        run(ctx, manager, file)
    assert faults(refused) == [
        (2, "status"),
        (3, "partner_id"),
        (4, "registration_number"),
        (5, "contact_name"),
        (5, "contact_phone"),
        (5, "bank_holder"),
        (5, "bank_name"),
        (5, "bank_account"),
        (5, "credit_limit"),
        (6, "reason"),
        (6, "registration_number"),
        (7, "column J"),
        (7, "partner_id"),
    ]
    messages = {(f.row, f.column): f.message for f in refused.value.faults}
    assert messages[2, "status"].startswith("no single move leads from active to exited")
    assert "exit_review (start_exit)" in messages[2, "status"]
    assert messages[3, "partner_id"] == "name the partner: its id or its number"
    assert "no partner has the registration number" in messages[4, "registration_number"]
    assert "telephone number" in messages[5, "contact_phone"]
    assert "not a valid bank card number" in messages[5, "bank_account"]
    assert "more decimal places than CNY allows" in messages[5, "credit_limit"]
    assert messages[6, "reason"] == "contains a control character (U+0000)"
    assert messages[6, "registration_number"] == (
        f"partner {harbour.id} is on row 5 already; one row per partner"
    )
    assert messages[7, "column J"] == "a value beyond the last column the header names"
    fields = [error.field for error in refused.value.errors]
    assert fields[:2] == ["row 2.status", "row 3.partner_id"]


def test_the_importers_role_decides_each_change(
    ctx: ServiceContext, officer: Actor, director: Actor, sunrise: Partner
) -> None:
    """The row's changes are checked as the single commands check them: an officer may not
    put a partner on watch, and a director does not revise profiles."""
    file = csv_bytes(
        ["partner_id", "status", "reason", "contact_role", "contact_name", "contact_email"],
        [sunrise.id, "watch", "overdue", "finance", "Gao Yan", "finance@sunrise.example"],
    )
    with pytest.raises(ImportRefusedError) as by_officer:
        run(ctx, officer, file)
    assert [(f.column, f.message) for f in by_officer.value.faults] == [
        ("status", "role 'officer' may not watch a partner")
    ]
    with pytest.raises(ImportRefusedError) as by_director:
        run(ctx, director, file)
    assert faults(by_director) == [(2, "contact_role")]


def test_a_move_that_needs_a_reason_says_where_to_give_it(
    ctx: ServiceContext, manager: Actor, officer: Actor, sunrise: Partner
) -> None:
    file = csv_bytes(["partner_id", "status"], [sunrise.id, "suspended"])
    with pytest.raises(ImportRefusedError) as refused:
        run(ctx, manager, file)
    assert [(f.column, f.message) for f in refused.value.faults] == [
        ("reason", "a reason is required to suspend this partner (give one in the reason "
         "column, or for the whole import)")
    ]  # fmt: skip
    run(ctx, manager, file, reason="late papers")
    assert str(partners.get_partner(ctx, officer, sunrise.id).state) == "suspended"


def test_finance_imports_nothing(ctx: ServiceContext, sunrise: Partner) -> None:
    finance = Actor("finance-user", "finance")
    with pytest.raises(PermissionDeniedError):
        partner_imports.import_partners(ctx, finance, iter(()))


def test_a_row_checked_against_what_its_earlier_columns_do(
    ctx: ServiceContext, manager: Actor, director: Actor, sunrise: Partner
) -> None:
    """Status first: a partner put on watch is refused a larger limit in the same row, and
    one brought back from watch may be given one."""
    raise_limit = ["partner_id", "status", "reason", "credit_limit"]
    with pytest.raises(ImportRefusedError) as refused:
        run(ctx, manager, csv_bytes(raise_limit, [sunrise.id, "watch", "overdue", "1200000"]))
    assert [(f.column, f.message) for f in refused.value.faults] == [
        ("credit_limit", "partner 'Sunrise Motors' is watch and may not get_new_limit")
    ]
    partners.transition_partner(ctx, manager, sunrise.id, "watch", "overdue")
    report = run(ctx, manager, csv_bytes(raise_limit, [sunrise.id, "active", "paid up", "1200000"]))
    assert [c.column for c in report.results[0].changes] == ["status", "credit_limit"]


def test_a_change_refused_when_made_undoes_the_whole_import(
    ctx: ServiceContext, manager: Actor, officer: Actor, sunrise: Partner, harbour: Partner,
    engine: Engine,
) -> None:  # fmt: skip
    """Someone moves a partner after the file was checked: the import stops and nothing of it
    stays, the earlier rows' changes included."""

    def meanwhile(phase: str, done: int, total: int) -> None:
        if (phase, done) == ("checking", total):
            partners.transition_partner(ctx, manager, harbour.id, "watch", "overdue")

    file = csv_bytes(
        ["partner_id", "status", "reason"],
        [sunrise.id, "suspended", "late papers"],
        [harbour.id, "suspended", "late papers"],
    )
    before = counts(engine)
    with pytest.raises(ImportApplyError, match=r"^row 3, status: partner .* was changed"):
        run(ctx, manager, file, progress=meanwhile)
    assert str(partners.get_partner(ctx, officer, sunrise.id).state) == "active"
    after = counts(engine)
    assert after["partner_imports"] == before["partner_imports"]
    assert after["audit_log"] == before["audit_log"] + 1, "the watch, made meanwhile"


def test_the_file_is_refused_whole_when_it_is_not_a_sheet_of_partners(
    ctx: ServiceContext, manager: Actor, sunrise: Partner
) -> None:
    for data, message in (
        (csv_bytes(["name", "status"], ["x", "active"]), "'name' is not a column"),
        (csv_bytes(["status", "status"], ["active", "active"]), "status is there already"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "is application/pdf content"),
    ):
        with pytest.raises(ValidationError, match=message):
            run(ctx, manager, data)


def test_size_and_row_limits(ctx: ServiceContext, manager: Actor, sunrise: Partner) -> None:
    small = attrs.evolve(ctx, import_limits=SheetLimits(max_bytes=200, max_rows=2))
    rows = [["", "active"]] * 3
    with pytest.raises(ValidationError, match="more than 2 rows after the header"):
        run(small, manager, csv_bytes(["partner_id", "status"], *rows))
    with pytest.raises(ValidationError, match="larger than 200 bytes"):
        run(small, manager, csv_bytes(["partner_id", "status"], [sunrise.id, "a" * 200]))


def test_concurrent_uploads_of_one_file_apply_it_once(
    ctx: ServiceContext, manager: Actor, sunrise: Partner, harbour: Partner, engine: Engine
) -> None:
    before = counts(engine)
    start = threading.Barrier(4)
    reports: list[PartnerImport] = []

    def upload() -> None:
        start.wait()
        reports.append(run(ctx, manager, CHANGES, reason="quarterly review"))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({report.id for report in reports}) == 1
    assert sorted(report.outcome for report in reports) == [
        "applied", "imported_before", "imported_before", "imported_before"]  # fmt: skip
    after = counts(engine)
    assert {table: after[table] - before[table] for table in after} == {
        "partner_revisions": 1, "limit_requests": 1, "outbox": 4, "audit_log": 4,
        "partner_imports": 1}  # fmt: skip


def _rows(report: PartnerImport) -> Iterator[tuple[int, list[str]]]:
    for result in report.results:
        yield result.row, [change.column for change in result.changes]


def test_an_xlsx_sheet_is_read_as_its_values(
    ctx: ServiceContext, manager: Actor, officer: Actor, sunrise: Partner, harbour: Partner
) -> None:
    """Numbers arrive as numbers (a limit, a phone), a formula is refused, never evaluated."""
    file = xlsx_bytes(
        [
            "registration_number",
            "contact_role",
            "contact_name",
            "contact_phone",
            "credit_limit",
            "reason",
        ],
        [SUNRISE, "sales", "Li Lei", 13800138000, 900000.5, "more volume"],
        [HARBOUR, "sales", "Han Meimei", "=A2", None, None],
    )
    with pytest.raises(ImportRefusedError) as refused:
        run(ctx, manager, file)
    assert faults(refused) == [(3, "contact_phone")]
    assert refused.value.faults[0].message.startswith("is a formula")
    report = run(ctx, manager, xlsx_bytes(
        ["registration_number", "contact_role", "contact_name", "contact_phone", "credit_limit",
         "reason"],
        [SUNRISE, "sales", "Li Lei", 13800138000, 900000.5, "more volume"],
    ))  # fmt: skip
    assert list(_rows(report)) == [(2, ["profile", "credit_limit"])]
    assert partners.get_partner(ctx, officer, sunrise.id).contacts[0].phone == "13800138000"
    (cut,) = waiting_requests(ctx, officer, sunrise)
    assert cut["amount"]["amount"] == Decimal("900000.50")


def test_a_rating_override_is_requested_once_for_a_more_senior_person(
    ctx: ServiceContext, officer: Actor, manager: Actor, sunrise: Partner
) -> None:
    until = (ctx.clock.business_date() + timedelta(days=60)).isoformat()
    header = ["registration_number", "rating_override", "rating_override_until", "reason"]
    data = csv_bytes(header, [SUNRISE, "A", until, "flagship franchise"])
    report = run(ctx, officer, data)
    assert [row.changes[0].column for row in report.results] == ["rating_override"]
    waiting = partner_ratings.list_rating_overrides(
        ctx, manager, partner_ratings.RatingOverrideQuery(sunrise.id)
    ).items
    assert [(item["grade"], item["state"]) for item in waiting] == [("A", "requested")]
    again = csv_bytes(header, [SUNRISE, "A", until, "flagship franchise, again"])
    assert run(ctx, officer, again).results[0].changes == ()
    partner_ratings.transition_rating_override(ctx, manager, waiting[0]["id"], "approve")
    assert partners.get_partner(ctx, officer, sunrise.id).rating == "A"
    assert run(ctx, officer, again).results[0].changes == ()


def test_a_bad_rating_override_names_its_column(
    ctx: ServiceContext, officer: Actor, sunrise: Partner, harbour: Partner
) -> None:
    header = ["registration_number", "rating_override", "rating_override_until", "reason"]
    soon = (ctx.clock.business_date() + timedelta(days=30)).isoformat()
    rows = ([SUNRISE, "E", soon, "why not"], [HARBOUR, "A", "", "no date"])
    with pytest.raises(ImportRefusedError) as refused:
        run(ctx, officer, csv_bytes(header, *rows))
    assert faults(refused) == [(2, "rating_override"), (3, "rating_override_until")]
