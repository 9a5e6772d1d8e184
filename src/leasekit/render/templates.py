"""Contract templates: the wording of a contract, per business type and language, as data.

A template is a JSON file named ``<business_type>.<language>.json``. The packaged ones live in
``leasekit/render/templates/``; a deployer's directory holding a file of the same name replaces
it, so a company's lawyers can change the clauses without a release of leasekit.

A template is checked completely when it is LOADED, not when a contract is rendered: every
section and key must be present and no other (a misspelt key would otherwise be ignored), and
the title and clauses may use only the placeholders of :data:`PLACEHOLDERS`, plain
(``{apr}``, never ``{apr:.2f}``, since the figures arrive already formatted). A fault is a
:class:`~leasekit.errors.ConfigurationError` that names the file, so it shows at start-up or in
a test of the deployer's directory, not as a failed contract at signing.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

import attrs

from leasekit.domain.business import BusinessType
from leasekit.domain.contract_documents import APR_CONVENTIONS, PARTY_ROLES, ContractDocument
from leasekit.errors import ConfigurationError
from leasekit.render.formatting import amount_text, date_text, percent_text

__all__ = [
    "DISCLOSURE_ITEMS",
    "LABEL_KEYS",
    "PLACEHOLDERS",
    "SCHEDULE_COLUMNS",
    "ContractTemplate",
    "DisclosureBox",
    "DisclosureItem",
    "fill",
    "load_template",
]

LABEL_KEYS: Final = (
    "number", "issued_on", "company", "dealer", "page",
    "parties", "name", "id_number",
    "vehicle", "make", "model", "year", "vin",
    "terms", "vehicle_price", "down_payment", "principal", "annual_rate", "term_months",
    "residual_value", "installment",
    "fees", "fee", "amount", "financed", "paid_at_signing",
    "schedule", "clauses",
    "signatures", "signature", "date",
)  # fmt: skip
"""Every label a template translates; sections of the contract and the names of fields."""
SCHEDULE_COLUMNS: Final = (
    "number",
    "due_date",
    "payment",
    "principal",
    "interest",
    "fee",
    "balance",
)
DISCLOSURE_ITEMS: Final[Mapping[str, tuple[str, ...]]] = {
    # The federal box of Regulation Z §1026.18(b), (d), (e) and (h), in its usual order.
    "us_actuarial": ("apr", "finance_charge", "amount_financed", "total_of_payments"),
    # The Standard European Consumer Credit Information (Directive 2008/48/EC, Annex II).
    "eu": ("amount_financed", "borrowing_rate", "apr", "total_of_payments"),
}
"""The figures of each disclosure box, in the order they are printed."""
_SECTIONS: Final = ("title", "clauses", "labels", "roles", "schedule_columns", "disclosures")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


PLACEHOLDERS: Final[Mapping[str, Callable[[ContractDocument], str]]] = {
    "number": lambda d: d.number,
    "company": lambda d: d.company,
    "dealer": lambda d: d.dealer,
    "currency": lambda d: d.currency,
    "issued_on": lambda d: date_text(d.issued_on),
    "customer": lambda d: d.parties[0].name if d.parties else "",
    "vehicle": lambda d: f"{d.vehicle.year} {d.vehicle.make} {d.vehicle.model}",
    "vin": lambda d: d.vehicle.vin,
    "vehicle_price": lambda d: amount_text(d.terms.vehicle_price, d.currency),
    "down_payment": lambda d: amount_text(d.terms.down_payment, d.currency),
    "principal": lambda d: amount_text(d.terms.principal, d.currency),
    "residual_value": lambda d: amount_text(d.terms.residual_value, d.currency),
    "installment": lambda d: amount_text(d.terms.installment, d.currency),
    "annual_rate": lambda d: percent_text(d.terms.annual_rate),
    "term_months": lambda d: str(d.terms.term_months),
    "first_due_date": lambda d: date_text(d.schedule[0].due_date),
    "last_due_date": lambda d: date_text(d.schedule[-1].due_date),
    "apr": lambda d: percent_text(d.disclosures.apr),
    "finance_charge": lambda d: amount_text(d.disclosures.finance_charge, d.currency),
    "amount_financed": lambda d: amount_text(d.disclosures.amount_financed, d.currency),
    "total_of_payments": lambda d: amount_text(d.disclosures.total_of_payments, d.currency),
    "total_interest": lambda d: amount_text(d.disclosures.total_interest, d.currency),
    "due_at_signing": lambda d: amount_text(d.disclosures.due_at_signing, d.currency),
}
"""What a title or clause may say in braces, and how each is written from the document."""


@attrs.frozen
class DisclosureItem:
    """One figure of a disclosure box: its label and the short description the rules require."""

    key: str
    label: str
    description: str


@attrs.frozen
class DisclosureBox:
    """The heading and figures of one APR convention's disclosure box."""

    heading: str
    items: tuple[DisclosureItem, ...]


@attrs.frozen
class ContractTemplate:
    """The wording of one business type's contract in one language.

    ``title`` and ``clauses`` hold placeholders (see :func:`fill`); the labels are printed as
    they are. ``source`` names the file it was read from, for messages.
    """

    business_type: BusinessType
    language: str
    source: str
    title: str
    clauses: tuple[str, ...]
    labels: Mapping[str, str]
    roles: Mapping[str, str]
    schedule_columns: Mapping[str, str]
    disclosures: Mapping[str, DisclosureBox]


def fill(text: str, document: ContractDocument) -> str:
    """*text* with its placeholders replaced by the document's figures.

    Loading checked the placeholders, so every one is known; ``{{`` prints a brace.
    """
    values = {name: write(document) for name, write in PLACEHOLDERS.items()}
    return text.format_map(values)


def load_template(
    business_type: BusinessType | str, language: str, override_dir: Path | None = None
) -> ContractTemplate:
    """The template for *business_type* in *language*: the deployer's, else the packaged one.

    Raises ``ConfigurationError`` naming the places looked when there is none, or naming the
    file and its fault when it is malformed.
    """
    kind = _business_type(business_type)
    if not _LANGUAGE.fullmatch(language):
        raise ConfigurationError(f"contract template language {language!r} is not a language tag")
    name = f"{kind.value}.{language}.json"
    candidates = _candidates(name, override_dir)
    for place in candidates:
        if place.is_file():
            return _parse(kind, language, str(place), place.read_text(encoding="utf-8"))
    looked = ", ".join(str(place) for place in candidates)
    raise ConfigurationError(
        f"no contract template for business type {kind.value!r} in language {language!r} "
        f"(looked for {looked})"
    )


def _business_type(value: BusinessType | str) -> BusinessType:
    try:
        return BusinessType(value)
    except ValueError:
        known = ", ".join(kind.value for kind in BusinessType)
        raise ConfigurationError(
            f"no contract templates for business type {value!r} (known: {known})"
        ) from None


def _candidates(name: str, override_dir: Path | None) -> list[Path | Traversable]:
    packaged = resources.files("leasekit.render").joinpath("templates", name)
    return [override_dir / name, packaged] if override_dir is not None else [packaged]


def _parse(kind: BusinessType, language: str, source: str, text: str) -> ContractTemplate:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"contract template {source}: not valid JSON: {exc}") from None
    reader = _Reader(source)
    top = reader.section(data, "template", _SECTIONS)
    title = reader.text(top["title"], "title")
    clauses = reader.texts(top["clauses"], "clauses")
    for where, value in [("title", title), *((f"clauses[{i}]", c) for i, c in enumerate(clauses))]:
        reader.placeholders(value, where)
    return ContractTemplate(
        business_type=kind,
        language=language,
        source=source,
        title=title,
        clauses=clauses,
        labels=reader.labels(top["labels"], "labels", LABEL_KEYS),
        roles=reader.labels(top["roles"], "roles", PARTY_ROLES),
        schedule_columns=reader.labels(
            top["schedule_columns"], "schedule_columns", SCHEDULE_COLUMNS
        ),
        disclosures=reader.disclosures(top["disclosures"]),
    )


@attrs.frozen
class _Reader:
    """Checks one template file's parts, naming the file and the part in every fault."""

    source: str

    def fault(self, where: str, problem: str) -> ConfigurationError:
        return ConfigurationError(f"contract template {self.source}: {where}: {problem}")

    def section(self, value: object, where: str, keys: tuple[str, ...]) -> dict[str, object]:
        """An object with exactly *keys*: a missing key or a stray (misspelt) one is a fault."""
        if not isinstance(value, dict):
            raise self.fault(where, "must be an object")
        missing = [key for key in keys if key not in value]
        if missing:
            raise self.fault(where, f"missing key(s) {', '.join(missing)}")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise self.fault(where, f"unknown key(s) {', '.join(unknown)}")
        return value

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fault(where, "must be a non-empty string")
        return value

    def texts(self, value: object, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fault(where, "must be a non-empty list of strings")
        return tuple(self.text(item, f"{where}[{i}]") for i, item in enumerate(value))

    def labels(self, value: object, where: str, keys: tuple[str, ...]) -> Mapping[str, str]:
        section = self.section(value, where, keys)
        return {key: self.text(section[key], f"{where}.{key}") for key in keys}

    def placeholders(self, text: str, where: str) -> None:
        """Every ``{name}`` in *text* is a plain, known placeholder."""
        try:
            fields = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise self.fault(where, f"bad braces: {exc}") from None
        for _literal, name, spec, conversion in fields:
            if name is None:
                continue
            if name not in PLACEHOLDERS:
                known = ", ".join(sorted(PLACEHOLDERS))
                raise self.fault(where, f"unknown placeholder {{{name}}} (known: {known})")
            if spec or conversion:
                raise self.fault(where, f"placeholder {{{name}}} takes no format or conversion")

    def disclosures(self, value: object) -> Mapping[str, DisclosureBox]:
        boxes = self.section(value, "disclosures", APR_CONVENTIONS)
        return {
            convention: self.box(boxes[convention], f"disclosures.{convention}", convention)
            for convention in APR_CONVENTIONS
        }

    def box(self, value: object, where: str, convention: str) -> DisclosureBox:
        section = self.section(value, where, ("heading", "items"))
        keys = DISCLOSURE_ITEMS[convention]
        items = self.section(section["items"], f"{where}.items", keys)
        return DisclosureBox(
            heading=self.text(section["heading"], f"{where}.heading"),
            items=tuple(self.item(items[key], f"{where}.items.{key}", key) for key in keys),
        )

    def item(self, value: object, where: str, key: str) -> DisclosureItem:
        section = self.section(value, where, ("label", "description"))
        return DisclosureItem(
            key=key,
            label=self.text(section["label"], f"{where}.label"),
            description=self.text(section["description"], f"{where}.description"),
        )
