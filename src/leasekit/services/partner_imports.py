"""Importing changes to many partners from one file (CSV or XLSX): checked whole, applied whole.

A file has a header (row 1) and one row per partner, named by ``partner_id`` or by
``registration_number`` (with ``country``, ``CN`` when empty, as at onboarding). An empty
cell leaves its field as it is. The columns that change something are
:data:`COLUMN_HANDLERS`, made in this order, so that what a row asks later is checked
against the state it sets first:

* ``status``: the state the partner should be in, reached by the single lifecycle move that
  leads there from its state now (``active`` → ``suspended`` is ``suspend``); a row whose
  state no single move reaches, or whose move the importer's role may not make, is refused.
* ``contact_role``, ``contact_name``, ``contact_phone``, ``contact_email``: the contact with
  that role (any case) gets the cells given, or is added when the partner has none with it;
* ``bank_scheme``, ``bank_holder``, ``bank_name``, ``bank_account``, ``bank_code``: a whole
  settlement account (``bank_account`` is the IBAN, card or account number, ``bank_code``
  the BIC or ABA routing number) that becomes the primary one, replacing the listed account
  with the same number, or joining the others. Contacts and accounts change in one profile
  revision, as ``PUT /partners/{id}`` makes it.
* ``credit_limit``: a new standing total. Limits change only by a request another person
  approves, so the import files the request (as ``POST /limit-requests`` does); it does not
  set the limit.

``reason`` says why, for the row's move, revision and limit request; a row without one takes
the import's reason, and a change that needs a reason is refused without either.

Every row is checked before anything changes (:func:`_plan`): each change is **rehearsed** on
a copy of its partner with the same domain checks and role checks its single-object command
makes (:meth:`~leasekit.services.commands.TransitionCommand.rehearse`), and every fault of
every row is collected. Then, in one unit of work, each change is made by the single-object
command itself (:meth:`~leasekit.services.commands.Command.within`), so the events, the audit
entries and the history are exactly theirs; a change refused now (the partner changed since
it was read) undoes the whole import.

A row that would change nothing is reported unchanged: a partner already in the state, a
profile already so, a limit already that total or already requested. So applying a file
twice changes nothing the second time. Applied imports are kept by the SHA-256 of their
bytes (unique in the database), and posting a file applied before returns **that import's
report** with the outcome ``imported_before``, without checking or changing anything again;
two uploads of one file at once end the same way, the second waiting on the first's row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Final

import attrs

from leasekit.domain.credit_limits import LimitRequest, LimitRequestKind, LimitRequestState
from leasekit.domain.customers import CustomerKind, validate_id_number
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import MAX_REASON
from leasekit.domain.partner_imports import (
    ColumnChange,
    ImportApplyError,
    ImportOutcome,
    ImportRefusedError,
    PartnerImport,
    RowFault,
    RowResult,
)
from leasekit.domain.partner_profiles import (
    PROFILE_FIELDS,
    BankAccount,
    BankScheme,
    Contact,
    PartnerProfile,
    checked_profile,
    profile_changes,
)
from leasekit.domain.partner_ratings import RatingOverride, RatingOverrideState
from leasekit.domain.partners import (
    PARTNER_LIFECYCLE,
    Partner,
    PartnerCapability,
    PartnerState,
)
from leasekit.domain.validation import Checks, choice, country_code, money_amount, text, text_fault
from leasekit.errors import LeasekitError, ValidationError
from leasekit.money import Money
from leasekit.services.commands import TransitionRequest, Work, command
from leasekit.services.context import MAX_PAGE_SIZE, ServiceContext
from leasekit.services.credit_limits import (
    LimitRequestQuery,
    RequestLimitChange,
    request_limit_change,
)
from leasekit.services.partner_ratings import (
    RatingOverrideQuery,
    RequestRatingOverride,
    request_rating_override,
)
from leasekit.services.partners import (
    ProfileChange,
    ProfileRevision,
    load_partner_reference,
    revise_partner,
    transition_partner,
)
from leasekit.services.progress import Progress, quiet
from leasekit.services.reads import reader
from leasekit.services.sheets import Sheet, SheetRow, read_sheet, read_upload
from leasekit.services.storage import UnitOfWork

__all__ = [
    "COLUMNS",
    "COLUMN_HANDLERS",
    "IMPORTERS",
    "ColumnHandler",
    "Progress",
    "apply_partner_import",
    "get_partner_import",
    "import_partners",
]

IMPORTERS: Final = frozenset({Role.OFFICER, Role.MANAGER, Role.DIRECTOR, Role.POST_LOAN_SUPERVISOR})
"""The back-office roles that act on partners; what each row may do is then the importer's
role's, as the single-object commands decide it."""

ID_COLUMNS: Final = ("partner_id", "registration_number", "country")
REASON: Final = "reason"
DEFAULT_COUNTRY: Final = "CN"
MAX_CELL: Final = MAX_REASON
"""The longest cell read; the longest field a row fills is a reason."""


@attrs.frozen
class Step:
    """One change a row makes: what the report says of it, and the single-object command
    that makes it in the import's unit of work."""

    change: str
    make: Callable[[Work], object]


@attrs.define
class Rehearsal:
    """A row being checked: the import's work, the partner as the row's earlier changes
    leave it (a copy; nothing stored is touched), and the reason that applies to the row."""

    work: Work
    partner: Partner
    reason: str | None

    @property
    def why(self) -> str:
        """The reason, blank when none was given (refused where one is needed)."""
        return self.reason or ""


@attrs.frozen
class ColumnHandler:
    """Columns that make one change, which the report calls *name*. *plan* checks a row's
    cells (at least one of *columns* given) against the rehearsed partner, moves the
    rehearsal on, and returns the change to make, or None when the partner is already as
    the row says; *column_of* names the column of a field a domain check refused
    (``contacts[2].phone``: ``contact_phone``)."""

    name: str
    columns: tuple[str, ...]
    plan: Callable[[Rehearsal, Mapping[str, str]], Step | None]
    column_of: Callable[[str], str]


# --- status ----------------------------------------------------------------------------------


def _plan_status(rehearsal: Rehearsal, cells: Mapping[str, str]) -> Step | None:
    partner = rehearsal.partner
    before, target = partner.state, choice(PartnerState, cells["status"], "status")
    if target is before:
        return None
    actions = PARTNER_LIFECYCLE.leading_to(before, target)
    if len(actions) != 1:
        moves = ", ".join(
            f"{move.target} ({move.action})"
            for move in PARTNER_LIFECYCLE.transitions
            if str(before) in move.sources
        )
        raise ValidationError.single(
            "status", f"no single move leads from {before} to {target}; from {before}: {moves}"
        )
    request = TransitionRequest(partner.id, actions[0], rehearsal.reason, {}, partner.version)
    transition_partner.rehearse(rehearsal.work, partner, actions[0], rehearsal.reason)
    partner.version += 1
    return Step(
        f"{before} → {target} ({actions[0]})",
        lambda work: transition_partner.within(work, request),
    )


# --- contacts and bank accounts: one profile revision ----------------------------------------

CONTACT_COLUMNS: Final = ("contact_role", "contact_name", "contact_phone", "contact_email")
BANK_COLUMNS: Final = ("bank_scheme", "bank_holder", "bank_name", "bank_account", "bank_code")
_ACCOUNT_FIELDS: Final[Mapping[BankScheme, tuple[str, str | None]]] = {
    BankScheme.IBAN: ("iban", "bic"),
    BankScheme.CN_BANK_CARD: ("card_number", None),
    BankScheme.US_ABA: ("account_number", "routing_number"),
}
"""The account's number and bank code fields of each scheme (``bank_account``,
``bank_code``)."""
_PROFILE_COLUMNS: Final = {
    "contacts": {"name": "contact_name", "role": "contact_role", "phone": "contact_phone",
                 "email": "contact_email", "": "contact_role"},
    "bank_accounts": {"holder": "bank_holder", "bank_name": "bank_name", "bic": "bank_code",
                      "routing_number": "bank_code", "": "bank_account"},
}  # fmt: skip


def _profile_column(field: str) -> str:
    """The column of a profile field the checks refused (``bank_accounts[1].bic``)."""
    path, _, leaf = field.partition(".")
    group = path.partition("[")[0]
    if group not in _PROFILE_COLUMNS:
        return field
    if group == "contacts" and path.endswith("]") and not leaf:
        return "contact_phone"  # "give a phone number or an e-mail address"
    return _PROFILE_COLUMNS[group].get(leaf, "bank_account")


def _contacts(profile: PartnerProfile, cells: Mapping[str, str]) -> tuple[Contact, ...]:
    """The contacts with the row's contact changed, or added when none has its role;
    checked."""
    contacts = _with_contact(profile, cells)
    return checked_profile(attrs.evolve(profile, contacts=contacts)).contacts


def _with_contact(profile: PartnerProfile, cells: Mapping[str, str]) -> tuple[Contact, ...]:
    role = cells.get("contact_role")
    if role is None:
        raise ValidationError.single(
            "contact_role", "say which contact the row changes (owner, finance ...)"
        )
    given = {field: cells[f"contact_{field}"] for field in ("name", "phone", "email")
             if f"contact_{field}" in cells}  # fmt: skip
    for index, contact in enumerate(profile.contacts):
        if contact.role.casefold() == " ".join(role.split()).casefold():
            changed = attrs.evolve(contact, **given)
            return (*profile.contacts[:index], changed, *profile.contacts[index + 1 :])
    new = Contact(role=role, name=given.get("name", ""), phone=given.get("phone"),
                  email=given.get("email"))  # fmt: skip
    return (*profile.contacts, new)


def _account_key(account: BankAccount) -> tuple[str | None, ...]:
    """What identifies an account: its scheme and number (not the bank code)."""
    return (account.scheme, account.iban, account.card_number, account.routing_number,
            account.account_number)  # fmt: skip


def _accounts(profile: PartnerProfile, cells: Mapping[str, str]) -> tuple[BankAccount, ...]:
    """The accounts with the row's account, checked, as the primary one."""
    if "bank_scheme" not in cells:
        raise ValidationError.single(
            "bank_scheme", f"required with the other bank columns: one of {', '.join(BankScheme)}"
        )
    scheme = choice(BankScheme, cells["bank_scheme"], "bank_scheme")
    number, code = _ACCOUNT_FIELDS[scheme]
    if code is None and "bank_code" in cells:
        raise ValidationError.single("bank_code", f"a {scheme} account has no bank code")
    numbers = {number: cells.get("bank_account", "")}
    if code is not None and "bank_code" in cells:
        numbers[code] = cells["bank_code"]
    given = BankAccount(scheme=scheme, holder=cells.get("bank_holder", ""),
                        bank_name=cells.get("bank_name", ""), primary=True, **numbers)  # fmt: skip
    account = checked_profile(PartnerProfile(name=profile.name, bank_accounts=(given,)))
    primary = account.bank_accounts[0]
    key = _account_key(primary)
    accounts = [primary if _account_key(old) == key else attrs.evolve(old, primary=False)
                for old in profile.bank_accounts]  # fmt: skip
    if primary not in accounts:
        accounts.append(primary)
    return tuple(accounts)


def _plan_profile(rehearsal: Rehearsal, cells: Mapping[str, str]) -> Step | None:
    partner = rehearsal.partner
    before = partner.profile
    checks = Checks()
    contacts = checks.run(lambda: _contacts(before, cells)) if any(
        column in cells for column in CONTACT_COLUMNS) else before.contacts  # fmt: skip
    accounts = checks.run(lambda: _accounts(before, cells)) if any(
        column in cells for column in BANK_COLUMNS) else before.bank_accounts  # fmt: skip
    if contacts is None or accounts is None:
        raise checks.error()
    after = checked_profile(attrs.evolve(before, contacts=contacts, bank_accounts=accounts))
    changes = profile_changes(before, after)
    if not changes:
        return None
    revise_partner.authorize(rehearsal.work.actor)
    fields = {field: getattr(after, field) for field in PROFILE_FIELDS}
    request = ProfileRevision(
        partner.id, ProfileChange(**fields, reason=rehearsal.why), partner.version
    )
    partner.revise(after, reason=rehearsal.why, actor=rehearsal.work.actor, at=rehearsal.work.at)
    partner.version += 1
    named = " and ".join(change.field for change in changes)
    return Step(f"{named} revised", lambda work: revise_partner.within(work, request))


# --- credit limit: a request for another person to approve -----------------------------------

_AMOUNT: Final = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")


def _requested(uow: UnitOfWork, partner_id: str, amount: Money) -> bool:
    """Whether a standing limit of *amount* waits for approval already."""
    waiting = LimitRequestQuery(partner_id, LimitRequestState.REQUESTED, LimitRequestKind.STANDING)
    page = uow.limit_requests.page(waiting, limit=MAX_PAGE_SIZE)
    return any(record["amount"]["amount"] == amount.amount for record in page.items)


def _plan_credit_limit(rehearsal: Rehearsal, cells: Mapping[str, str]) -> Step | None:
    cell = cells["credit_limit"]
    if not _AMOUNT.fullmatch(cell):
        raise ValidationError.single(
            "credit_limit",
            f"{cell!r} is not an amount: write digits and a decimal point, without separators "
            "or a currency (2500000.00)",
        )
    work, partner = rehearsal.work, rehearsal.partner
    account = work.uow.credit_limits.get(partner.id)
    amount = money_amount(Money(Decimal(cell), account.total.currency), "credit_limit")
    if amount == account.total or _requested(work.uow, partner.id, amount):
        return None
    change = LimitRequest.new(
        account=account,
        kind=LimitRequestKind.STANDING,
        amount=amount,
        reason=rehearsal.why,
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
    )
    if change.increase.amount > 0:
        partner.require(PartnerCapability.GET_NEW_LIMIT)
    request = RequestLimitChange(
        partner.id, LimitRequestKind.STANDING, amount.amount, rehearsal.why
    )
    return Step(
        f"{account.total.amount:,} → {amount.amount:,} {amount.currency.code} requested, for "
        "another person to approve",
        lambda work: request_limit_change.within(work, request),
    )


# --- rating override: a request for a more senior person to approve ---------------------------

_OVERRIDE_COLUMNS: Final = {"grade": "rating_override", "until": "rating_override_until"}


def _override_until(cells: Mapping[str, str]) -> date:
    cell = cells.get("rating_override_until")
    if cell is None:
        raise ValidationError.single(
            "until", "the last date the grade holds (2027-06-30) is required with it"
        )
    try:
        return date.fromisoformat(cell)
    except ValueError:
        raise ValidationError.single("until", f"{cell!r} is not a date (2027-06-30)") from None


def _override_waits(uow: UnitOfWork, override: RatingOverride, on: date) -> bool:
    """Whether the partner has this grade through this date already, approved and in force
    or waiting for approval."""
    same = (override.grade, override.until)
    in_force = uow.rating_overrides.in_force(override.partner_id, on)
    if in_force is not None and (in_force.grade, in_force.until) == same:
        return True
    waiting = RatingOverrideQuery(override.partner_id, RatingOverrideState.REQUESTED)
    page = uow.rating_overrides.page(waiting, limit=MAX_PAGE_SIZE)
    return any((record["grade"], record["until"]) == same for record in page.items)


def _plan_rating_override(rehearsal: Rehearsal, cells: Mapping[str, str]) -> Step | None:
    if "rating_override" not in cells:
        raise ValidationError.single("grade", "the grade (A to D) the date is for is missing")
    work, partner = rehearsal.work, rehearsal.partner
    override = RatingOverride.new(
        partner_id=partner.id,
        grade=cells["rating_override"],
        until=_override_until(cells),
        reason=rehearsal.why,
        computed_grade=None,
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
    )
    if _override_waits(work.uow, override, work.business_date):
        return None
    request = RequestRatingOverride(partner.id, override.grade, override.until, rehearsal.why)
    return Step(
        f"grade {override.grade} through {override.until} requested, for a more senior "
        "person to approve",
        lambda work: request_rating_override.within(work, request),
    )


COLUMN_HANDLERS: Final[tuple[ColumnHandler, ...]] = (
    ColumnHandler("status", ("status",), _plan_status, lambda field: "status"),
    ColumnHandler("profile", CONTACT_COLUMNS + BANK_COLUMNS, _plan_profile, _profile_column),
    ColumnHandler("credit_limit", ("credit_limit",), _plan_credit_limit, lambda f: "credit_limit"),
    ColumnHandler(
        "rating_override",
        tuple(_OVERRIDE_COLUMNS.values()),
        _plan_rating_override,
        lambda field: _OVERRIDE_COLUMNS.get(field, field),
    ),
)
"""What a row may change, in the order it changes it; a new column is one entry here."""

COLUMNS: Final = (
    *ID_COLUMNS,
    REASON,
    *(column for handler in COLUMN_HANDLERS for column in handler.columns),
)
"""Every column a file may have."""


# --- reading the rows ------------------------------------------------------------------------


@attrs.frozen
class _Row:
    """A row's cells that are not empty and passed the text checks, by column, and the
    columns whose cells were refused (reported already)."""

    number: int
    cells: Mapping[str, str]
    refused: frozenset[str]


def _letter(index: int) -> str:
    """The spreadsheet name of the column at *index* (0: ``A``, 26: ``AA``)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return f"column {name}"


def _header(sheet: Sheet) -> tuple[str, ...]:
    """The columns row 1 names, each once, every one known, a partner's id among them."""
    if not sheet.rows or sheet.rows[0].number != 1:
        raise ImportRefusedError([RowFault(None, "file", "row 1 must name the columns")])
    header = sheet.rows[0]
    names = [cell.strip().lower() for cell in header.cells]
    while names and not names[-1]:
        names.pop()
    faults = [RowFault(1, _letter(index), why) for index, why in header.refused]
    for index, name in enumerate(names):
        fault = text_fault(name) or ("" if name else "has no name")
        if not fault and name not in COLUMNS:
            fault = f"{name!r} is not a column; one of {', '.join(COLUMNS)}"
        if not fault and name in names[:index]:
            fault = f"{name} is there already"
        if fault:
            faults.append(RowFault(1, _letter(index), fault))
    if not {"partner_id", "registration_number"} & set(names):
        why = "name the partners by partner_id or by registration_number"
        faults.append(RowFault(1, "partner_id", why))
    if faults:
        raise ImportRefusedError(faults)
    return tuple(names)


def _row(row: SheetRow, columns: tuple[str, ...]) -> tuple[_Row, list[RowFault]]:
    """The row's cells by column; a cell that is not plain text, or lies beyond the header,
    is a fault."""
    faults = []
    refused = {columns[index] if index < len(columns) else _letter(index): why
               for index, why in row.refused}  # fmt: skip
    cells = {}
    for index, cell in enumerate(row.cells):
        if not cell:
            continue
        if index >= len(columns):
            refused[_letter(index)] = "a value beyond the last column the header names"
            continue
        column = columns[index]
        fault = text_fault(cell, multiline=column == REASON)
        if fault is None and len(cell) > MAX_CELL:
            fault = f"at most {MAX_CELL} characters"
        if fault is not None:
            refused[column] = fault
        else:
            cells[column] = cell
    faults = [RowFault(row.number, column, why) for column, why in refused.items()]
    return _Row(row.number, cells, frozenset(refused)), faults


# --- checking every row ----------------------------------------------------------------------


def _by_registration_number(work: Work, cells: Mapping[str, str]) -> Partner:
    country = country_code(cells.get("country", DEFAULT_COUNTRY))
    number = validate_id_number(
        country, CustomerKind.COMPANY, cells["registration_number"], "registration_number"
    )
    found = work.uow.partners.find_by_registration_number(country, number)
    if found is None:
        raise ValidationError.single(
            "registration_number", f"no partner has the registration number {number} in {country}"
        )
    return found


def _partner(work: Work, cells: Mapping[str, str]) -> Partner:
    """The partner a row names, by id or registration number (both must agree)."""
    checks = Checks()
    by_id = by_number = None
    if "partner_id" in cells:
        named = cells["partner_id"]
        by_id = checks.run(lambda: load_partner_reference(work.uow, work.actor, named))
    if "registration_number" in cells:
        by_number = checks.run(lambda: _by_registration_number(work, cells))
    if checks.errors:
        raise checks.error()
    if by_id is not None and by_number is not None and by_id.id != by_number.id:
        raise ValidationError.single(
            "registration_number", f"is partner {by_number.id}'s, not partner {by_id.id}'s"
        )
    partner = by_id or by_number
    if partner is None:
        raise ValidationError.single("partner_id", "name the partner: its id or its number")
    return partner


def _faults(
    row: _Row, exc: LeasekitError, column_of: Callable[[str], str], column: str, reason: bool
) -> list[RowFault]:
    """*exc* as faults of *row*: a field error on the column it concerns, anything else on
    *column*. A missing reason says where to give one."""
    if not isinstance(exc, ValidationError):
        return [RowFault(row.number, column, str(exc))]
    faults = []
    for error in exc.errors:
        if error.field == REASON:
            hint = "" if reason else " (give one in the reason column, or for the whole import)"
            faults.append(RowFault(row.number, REASON, error.message + hint))
        else:
            faults.append(RowFault(row.number, column_of(error.field), error.message))
    return faults


Make = Callable[[Work], object]


@attrs.frozen
class _Planned:
    """A row's outcome: what it changes and the calls that change it, or its faults."""

    result: RowResult | None
    makes: tuple[tuple[str, Make], ...] = ()
    faults: tuple[RowFault, ...] = ()


def _plan_row(work: Work, row: _Row, reason: str | None, seen: dict[str, int]) -> _Planned:
    named_by = next((c for c in ID_COLUMNS if c in row.cells), "partner_id")
    if row.refused & set(ID_COLUMNS):
        return _Planned(None)
    try:
        partner = _partner(work, row.cells)
    except LeasekitError as exc:
        return _Planned(None, faults=tuple(_faults(row, exc, str, named_by, True)))
    if partner.id in seen:
        why = f"partner {partner.id} is on row {seen[partner.id]} already; one row per partner"
        return _Planned(None, faults=(RowFault(row.number, named_by, why),))
    seen[partner.id] = row.number
    given = row.cells.get(REASON, reason)
    rehearsal = Rehearsal(work, attrs.evolve(partner), given)
    steps: list[tuple[str, Step]] = []
    faults: list[RowFault] = []
    for handler in COLUMN_HANDLERS:
        present = [column for column in handler.columns if column in row.cells]
        if not present or row.refused & {*handler.columns, REASON}:
            continue
        try:
            step = handler.plan(rehearsal, row.cells)
        except LeasekitError as exc:
            faults += _faults(row, exc, handler.column_of, present[0], given is not None)
            continue
        if step is not None:
            steps.append((handler.name, step))
    if faults:
        # One fault per column: a missing reason is missing once, however many changes need it.
        first = {fault.column: fault for fault in reversed(faults)}
        return _Planned(None, faults=tuple(f for f in faults if first[f.column] is f))
    changes = tuple(ColumnChange(name, step.change) for name, step in steps)
    return _Planned(
        RowResult(row.number, partner.id, changes), tuple((name, s.make) for name, s in steps)
    )


@attrs.frozen
class _Plan:
    """Every row's result, and the steps to take, row by row."""

    results: tuple[RowResult, ...]
    makes: tuple[tuple[int, str, Make], ...]
    """Each change's row, the column (or group) it comes from, and the call that makes it."""

    def report(self, import_id: str | None, outcome: ImportOutcome, upload: _Upload,
               work: Work) -> PartnerImport:  # fmt: skip
        return PartnerImport(
            id=import_id,
            outcome=outcome,
            sha256=upload.sha256,
            reason=upload.reason,
            actor_id=work.actor.user_id,
            created_at=work.at,
            rows=len(self.results),
            changed=sum(1 for result in self.results if result.changes),
            results=self.results,
        )


def _plan(work: Work, upload: _Upload) -> _Plan:
    """Check every row against the partners as they stand, changing nothing: the plan, or
    an ImportRefusedError naming every fault of every row."""
    columns = _header(upload.sheet)
    rows = upload.sheet.rows[1:]
    if not rows:
        raise ImportRefusedError([RowFault(None, "file", "has no rows of partners")])
    results, makes, faults = [], [], []
    seen: dict[str, int] = {}
    for done, sheet_row in enumerate(rows, start=1):
        row, refused = _row(sheet_row, columns)
        planned = _plan_row(work, row, upload.reason, seen)
        faults += [*refused, *planned.faults]
        if planned.result is not None:
            results.append(planned.result)
            makes += [(row.number, column, make) for column, make in planned.makes]
        upload.progress("checking", done, len(rows))
    if faults:
        raise ImportRefusedError(faults)
    return _Plan(tuple(results), tuple(makes))


# --- applying --------------------------------------------------------------------------------


@attrs.frozen
class _Upload:
    """A file to import, read: its rows, its digest, the import's reason."""

    sheet: Sheet
    sha256: str
    reason: str | None
    progress: Progress = attrs.field(default=quiet, eq=False)


class _ImportedBefore(LeasekitError):
    """The file was applied before: *report* is that import's (never leaves this module)."""

    def __init__(self, report: PartnerImport) -> None:
        super().__init__(f"imported before as {report.id}")
        self.report = attrs.evolve(report, outcome=ImportOutcome.IMPORTED_BEFORE)


def _reload(uow: UnitOfWork, import_id: str) -> PartnerImport:
    return uow.partner_imports.get(import_id)


@command(
    "import_partners",
    subject="partner_import",
    roles=IMPORTERS,
    reload=_reload,
    fingerprint=lambda upload: (upload.sha256, upload.reason),
)
def apply_partner_import(work: Work, upload: _Upload) -> PartnerImport:
    """Check every row, keep the file's digest, then make every change (see the module)."""
    earlier = work.uow.partner_imports.find_by_sha256(upload.sha256)
    if earlier is not None:
        raise _ImportedBefore(earlier)
    plan = _plan(work, upload)
    report = plan.report(new_id(), ImportOutcome.APPLIED, upload, work)
    # First the file's row: a concurrent upload of the same file waits on it, then fails.
    work.uow.partner_imports.add(report)
    for done, (row, column, make) in enumerate(plan.makes, start=1):
        try:
            make(work)
        except LeasekitError as exc:
            raise ImportApplyError(row, column, exc) from exc
        upload.progress("applying", done, len(plan.makes))
    work.event(
        "partners_imported",
        "partner_import",
        str(report.id),
        {"sha256": report.sha256, "rows": report.rows, "changed": report.changed},
    )
    return report


def _imported_before(ctx: ServiceContext, sha256: str) -> PartnerImport | None:
    with ctx.uow_factory() as uow:
        found = uow.partner_imports.find_by_sha256(sha256)
    return None if found is None else _ImportedBefore(found).report


def _dry_run(ctx: ServiceContext, actor: Actor, upload: _Upload) -> PartnerImport:
    """The checks of an import, in a unit of work that is never committed."""
    with ctx.uow_factory() as uow:
        earlier = uow.partner_imports.find_by_sha256(upload.sha256)
        if earlier is not None:
            return _ImportedBefore(earlier).report
        work = Work(ctx, uow, actor, *ctx.moment())
        return _plan(work, upload).report(None, ImportOutcome.DRY_RUN, upload, work)


def import_partners(
    ctx: ServiceContext,
    actor: Actor,
    chunks: Iterable[bytes],
    *,
    reason: str | None = None,
    dry_run: bool = False,
    idempotency_key: str | None = None,
    progress: Progress = quiet,
) -> PartnerImport:
    """Import changes to partners from a CSV or XLSX file, all or nothing (see the module).

    The role is checked before a byte is read. A dry run checks the file the same way and
    reports what it would change, changing nothing. An ``ImportRefusedError`` names every
    fault of every row; an ``ImportApplyError`` the change refused while the import was
    being made, which undid it whole.
    """
    apply_partner_import.authorize(actor)
    why = None if reason is None else text(reason, REASON, MAX_REASON)
    data = read_upload(chunks, ctx.import_limits)
    sheet = read_sheet(data, ctx.import_limits)
    upload = _Upload(sheet, hashlib.sha256(data).hexdigest(), why, progress)
    if dry_run:
        return _dry_run(ctx, actor, upload)
    try:
        return apply_partner_import(ctx, actor, upload, idempotency_key=idempotency_key)
    except _ImportedBefore as exc:
        return exc.report
    except LeasekitError:
        # A concurrent upload of the same file may have won; its report is this one's too.
        earlier = _imported_before(ctx, upload.sha256)
        if earlier is None:
            raise
        return earlier


get_partner_import = reader(
    "get_partner_import",
    "partner import",
    lambda uow: uow.partner_imports,
    """Get the report of an applied import of changes to partners.

    Row by row, what the file changed. Back-office staff only.""",
)
