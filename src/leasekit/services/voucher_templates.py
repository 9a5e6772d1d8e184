"""Voucher templates edited through the API: saved as numbered versions, never changed.

A template is saved as plain data, the shape
:meth:`~leasekit.domain.voucher_templates.TemplateVersion.from_mapping` reads, and checked
against the templates in force before it is stored: the next version of its name (left
out, the next is taken), every amount an expression over the event's amount fields, every
account known and open, lines that balance (symbolically, and on sample payloads), and no
event left to chance between two templates as specific as each other. A refusal names the
field of the body at fault (``lines[1].amount``, ``lines``, ``conditions``). Once stored,
the version books the events it meets from the next booking on, in every process
(:mod:`leasekit.services.templates_in_force`).

Finance staff (``finance`` and ``finance_director``) read and save templates: the checks
above keep a template that cannot balance out of the books, every version is audited with
who saved it, and a change is a new version, so saving needs no second person. Two saves of
the same version at once: one is stored, the other is a 409 naming the version.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import attrs

from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import PaymentSource
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.voucher_templates import (
    EVENT_TYPES,
    MAX_EXPRESSION,
    Conditions,
    TemplateSet,
    TemplateVersion,
)
from leasekit.domain.vouchers import Side
from leasekit.errors import ConflictError, FieldError, NotFoundError, ValidationError
from leasekit.services.accounting import ensure_accountant
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext, page_size
from leasekit.services.storage import Page, SavedTemplate, UnitOfWork
from leasekit.services.templates_in_force import in_force

__all__ = [
    "TEMPLATE_EDITORS",
    "TemplateConditions",
    "TemplateData",
    "TemplateLineData",
    "TemplateScope",
    "TemplateSummary",
    "VersionView",
    "VoucherTemplateQuery",
    "VoucherTemplateView",
    "get_voucher_template",
    "list_voucher_templates",
    "save_voucher_template",
    "saved_view",
]

TEMPLATE_EDITORS: Final = frozenset({Role.FINANCE, Role.FINANCE_DIRECTOR})
"""Who saves voucher templates (see the module)."""
_SUBJECT: Final = "voucher_template"


def _templates(ctx: ServiceContext, uow: UnitOfWork) -> TemplateSet:
    return in_force(ctx.accounting, uow).templates


# --- saving ------------------------------------------------------------------------------------


@attrs.frozen
class TemplateConditions:
    """When a template applies; a condition left out (null) matches any event."""

    business_type: str | None = attrs.field(
        default=None, metadata={"description": f"One of {', '.join(BusinessType)}."}
    )
    product: str | None = attrs.field(default=None, metadata={"description": "A product code."})
    payment_source: str | None = attrs.field(
        default=None, metadata={"description": f"One of {', '.join(PaymentSource)}."}
    )

    @classmethod
    def of(cls, conditions: Conditions) -> TemplateConditions:
        return cls(conditions.business_type, conditions.product, conditions.payment_source)


@attrs.frozen
class TemplateLineData:
    """One line: an account, a side, the amount as an expression over the event's amount
    fields (``payout_amount + financed_fees``), and the event fields that give its
    dimensions (the template's ``dimensions`` when left out)."""

    account: str = attrs.field(metadata={"max_length": 32})
    side: Side
    amount: str = attrs.field(metadata={"max_length": MAX_EXPRESSION})
    dimensions: Mapping[str, str] | None = None
    memo: str = ""

    def as_mapping(self) -> dict[str, Any]:
        """The line as :meth:`TemplateVersion.from_mapping` reads it."""
        line: dict[str, Any] = {"account": self.account, "side": str(self.side),
                                "amount": self.amount, "memo": self.memo}  # fmt: skip
        if self.dimensions is not None:
            line["dimensions"] = dict(self.dimensions)
        return line


@attrs.frozen
class TemplateData:
    """A version of a voucher template as data: the body that saves one, and how one is
    shown, so that a version read can be changed and saved as the next."""

    name: str = attrs.field(
        metadata={"max_length": 64, "description": "Lower-case letters, digits and _."}
    )
    event_type: str = attrs.field(
        metadata={"max_length": 64, "description": f"One of {', '.join(EVENT_TYPES)}."}
    )
    description: str
    lines: tuple[TemplateLineData, ...]
    version: int | None = attrs.field(
        default=None,
        metadata={"description": "The next version of the name; left out, the next is taken."},
    )
    conditions: TemplateConditions = attrs.field(
        factory=TemplateConditions,
        metadata={"description": "When the template applies; a condition left out: any."},
    )
    dimensions: Mapping[str, str] | None = attrs.field(
        default=None,
        metadata={"description": "Dimension → event field, for each line that gives none."},
    )

    @classmethod
    def of(cls, template: TemplateVersion) -> TemplateData:
        return cls(
            template.name,
            template.event_type,
            template.description,
            tuple(
                TemplateLineData(line.account, line.side, line.amount, line.dimensions, line.memo)
                for line in template.lines
            ),
            template.version,
            TemplateConditions.of(template.conditions),
        )

    def as_mapping(self, version: int) -> dict[str, Any]:
        """The body as :meth:`TemplateVersion.from_mapping` reads it, as *version*."""
        data: dict[str, Any] = {
            "name": self.name,
            "version": version,
            "event_type": self.event_type,
            "description": self.description,
            "conditions": {k: v for k, v in attrs.asdict(self.conditions).items() if v is not None},
            "lines": [line.as_mapping() for line in self.lines],
        }
        if self.dimensions is not None:
            data["dimensions"] = dict(self.dimensions)
        return data


def _relative(exc: ValidationError, name: str) -> ValidationError:
    """The set's errors (``loan_disbursed.lines[1].amount``) as fields of the body."""
    return ValidationError(
        FieldError(e.field.removeprefix(f"{name}."), e.message) for e in exc.errors
    )


@command(
    "save_voucher_template",
    subject=_SUBJECT,
    roles=TEMPLATE_EDITORS,
    reload=lambda uow, saved_id: uow.voucher_templates.get(saved_id),
)
def save_voucher_template(work: Work, request: TemplateData) -> SavedTemplate:
    """Save a new version of a voucher template.

    Checked before it is stored: the next version of its name (left out, the next is
    taken; one taken already is a 409), expressions over the event's amount fields, known
    and open accounts, lines that balance, and no overlap with a template as specific
    that no third settles; a refusal is a 422 naming the field. In force from the next
    booking on. Finance.
    """
    work.uow.voucher_templates.begin_saving()
    templates = _templates(work.ctx, work.uow)
    current = templates.in_force().get(request.name)
    latest = 0 if current is None else current.version
    version = latest + 1 if request.version is None else request.version
    template = TemplateVersion.from_mapping(request.as_mapping(version))
    if template.version <= latest:
        raise ConflictError(
            f"voucher template {template.name!r} is at version {latest} already; read it "
            f"again and save version {latest + 1}"
        )
    try:
        templates.save(template)
    except ValidationError as exc:
        raise _relative(exc, template.name) from None
    saved = SavedTemplate(new_id(), template, work.actor.user_id, work.at)
    work.uow.voucher_templates.add(saved)
    work.event(
        "voucher_template_saved",
        _SUBJECT,
        saved.id,
        {"name": template.name, "version": template.version, "event_type": template.event_type},
    )
    return saved


# --- reading -----------------------------------------------------------------------------------


class TemplateScope(StrEnum):
    IN_FORCE = "in_force"
    """The version of each template that books."""
    ALL = "all"
    """Every version of every template."""


@attrs.frozen
class VoucherTemplateQuery:
    """Which templates to list; every field left out matches all."""

    event_type: str | None = None
    name: str | None = None
    versions: TemplateScope = TemplateScope.IN_FORCE


@attrs.frozen
class TemplateSummary:
    """A version of a voucher template, as lists show it."""

    name: str
    version: int
    event_type: str
    description: str
    conditions: TemplateConditions
    in_force: bool
    saved: bool
    """Saved through the API; False for a default of the code."""


@attrs.frozen
class VersionView:
    """A version, who saved it and when (null for a default that comes with leasekit)."""

    template: TemplateData
    in_force: bool
    id: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None

    @classmethod
    def of(
        cls, template: TemplateVersion, in_force: bool, saved: SavedTemplate | None
    ) -> VersionView:
        data = TemplateData.of(template)
        if saved is None:
            return cls(data, in_force)
        return cls(data, in_force, saved.id, saved.created_by, saved.created_at)


@attrs.frozen
class VoucherTemplateView:
    """A voucher template: the version in force and every version, oldest first."""

    name: str
    event_type: str
    in_force: int
    versions: tuple[VersionView, ...]


def _matches(template: TemplateVersion, query: VoucherTemplateQuery) -> bool:
    return query.event_type in (None, template.event_type) and query.name in (None, template.name)


def _cursor(after: str | None) -> tuple[str, int] | None:
    """The (name, version) a page starts after; ``<name>.<version>`` in its ``next``."""
    if after is None:
        return None
    name, _, version = after.rpartition(".")
    if not name or not version.isascii() or not version.isdigit():
        raise ValidationError.single("after", "not a cursor this server gave")
    return name, int(version)


def list_voucher_templates(
    ctx: ServiceContext,
    actor: Actor,
    query: VoucherTemplateQuery | None = None,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[TemplateSummary]:
    """List voucher templates.

    By name, then version: the version of each in force, or every version with
    ``?versions=all``; ``?event_type=`` those of one event, ``?name=`` one template's.
    Finance."""
    ensure_accountant(actor, _SUBJECT)
    query = query or VoucherTemplateQuery()
    size, start = page_size(limit), _cursor(after)
    with ctx.uow_factory() as uow:
        templates = _templates(ctx, uow)
    current = templates.in_force()
    listed = current.values() if query.versions is TemplateScope.IN_FORCE else templates.versions
    defaults = {(t.name, t.version) for t in ctx.accounting.templates.versions}
    found = sorted(
        (
            t
            for t in listed
            if _matches(t, query) and (start is None or (t.name, t.version) > start)
        ),
        key=lambda t: (t.name, t.version),
    )
    items = [
        TemplateSummary(
            t.name, t.version, t.event_type, t.description, TemplateConditions.of(t.conditions),
            current[t.name] is t, (t.name, t.version) not in defaults,
        )
        for t in found[:size]
    ]  # fmt: skip
    more = len(found) > size
    return Page(items, f"{items[-1].name}.{items[-1].version}" if more else None)


def get_voucher_template(ctx: ServiceContext, actor: Actor, name: str, /) -> VoucherTemplateView:
    """Show a voucher template.

    The version in force and every version, each with who saved it and when (null for the
    defaults that come with leasekit). Finance."""
    ensure_accountant(actor, _SUBJECT)
    with ctx.uow_factory() as uow:
        templates = _templates(ctx, uow)
        saved = {s.template.version: s for s in uow.voucher_templates.of_name(name)}
    current = templates.in_force().get(name)
    if current is None:
        raise NotFoundError(_SUBJECT, name)
    versions = sorted((t for t in templates.versions if t.name == name), key=lambda t: t.version)
    return VoucherTemplateView(
        name,
        current.event_type,
        current.version,
        tuple(VersionView.of(t, t is current, saved.get(t.version)) for t in versions),
    )


def saved_view(saved: SavedTemplate) -> VersionView:
    """A version just saved, as the API shows it (in force as it was saved)."""
    return VersionView.of(saved.template, True, saved)
