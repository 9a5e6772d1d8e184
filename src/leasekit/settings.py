"""Settings: everything an operator chooses, read from ``LEASEKIT_*`` environment variables.

This is the only module that imports pydantic. Settings are built once, at the composition
root (the CLI, the server factory, a test), by :func:`load_settings`; nothing reads them at
import time, so importing leasekit never depends on the environment.

Nested sections use ``__``: ``LEASEKIT_SERVER__PORT=9000`` sets ``settings.server.port``.
No ``.env`` file is read: a file that silently changes the database a process talks to is a
surprise nobody wants in production; use the shell or the service manager to set variables.
An empty variable counts as unset, so ``LEASEKIT_CURRENCY= leasekit serve`` uses the default.
Every field and its variable are listed in ``docs/settings.md``.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

import attrs
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from leasekit.calc.apr import APR_CONVENTIONS
from leasekit.calc.rounding import CONVENTIONS
from leasekit.domain.accounting import AccountKind, ChartOfAccounts, default_chart
from leasekit.domain.approvals import DEFAULT_AUTHORITY, ApprovalRules, Tier
from leasekit.domain.bookings import Accounting
from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import Contracting, NumberPattern
from leasekit.domain.credit_limits import DEFAULT_LIMIT_BANDS, LimitPolicy
from leasekit.domain.debit_runs import CollectionRules, RetryPolicy, creditor_accounts
from leasekit.domain.disbursements import DEFAULT_PAYOUT_DOCUMENTS, PayoutRules
from leasekit.domain.documents import DocumentKind
from leasekit.domain.end_of_day import CloseRules, InterestAccrual
from leasekit.domain.face_photos import MAX_REUSE_DISTANCE, FacePolicy
from leasekit.domain.funds import ReceivablePart, Waterfall, WaterfallOrder
from leasekit.domain.mandates import DebitScheme
from leasekit.domain.partner_monitoring import DEFAULT_RULES, MonitoredFigure, MonitoringRule
from leasekit.domain.partner_onboarding import DEFAULT_REQUIRED_DOCUMENTS
from leasekit.domain.partner_ratings import (
    DEFAULT_FACTORS,
    DEFAULT_THRESHOLDS,
    FactorRule,
    RatingFactor,
    Scorecard,
)
from leasekit.domain.partners import PartnerKind, PartnerRating
from leasekit.domain.plans import PlanConvention
from leasekit.domain.reconciliation import DEFAULT_RULES as DEFAULT_MATCHING
from leasekit.domain.reconciliation import MatchingRules
from leasekit.domain.settlement_quotes import QuoteTerms
from leasekit.errors import ConfigurationError, ValidationError
from leasekit.money import CURRENCIES
from leasekit.ports import AdapterKind
from leasekit.ports.kinds import KINDS

__all__ = [
    "ADAPTER_KINDS",
    "ENV_NESTED_DELIMITER",
    "ENV_PREFIX",
    "AccountSettings",
    "AccountingSettings",
    "AdapterIds",
    "ApprovalSettings",
    "OutboxSettings",
    "PartnerSettings",
    "PreApprovalSettings",
    "PricingSettings",
    "ServerSettings",
    "Settings",
    "WorkbenchSettings",
    "env_var_name",
    "load_settings",
]

ENV_PREFIX: Final = "LEASEKIT_"
ENV_NESTED_DELIMITER: Final = "__"

_DATABASE_SCHEMES: Final = re.compile(r"^(sqlite|postgresql)(\+\w+)?://")
_MIB: Final = 1024 * 1024


def _comma_list(value: Any) -> Any:
    """``a, b`` (as an environment variable gives a list) as ``["a", "b"]``; a list as is."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    return value


_Item = TypeVar("_Item")
CommaSeparated = Annotated[list[_Item], NoDecode, BeforeValidator(_comma_list)]
"""A list a variable gives as comma-separated text (``LEASEKIT_DISABLED_PLUGINS=a, b``)."""


def _section(title: str) -> ConfigDict:
    """A nested section: immutable, and an unknown key (a misspelt variable) is an error."""
    return ConfigDict(title=title, extra="forbid", frozen=True)


class AccountSettings(BaseModel):
    """An account the company adds to the default chart."""

    model_config = _section("account")

    name: str = Field(min_length=1, max_length=200, description="What the account is called.")
    kind: AccountKind = Field(description="`asset`, `liability`, `equity`, `income` or `expense`.")


class AccountingSettings(BaseModel):
    """The chart of accounts vouchers are booked to."""

    model_config = _section("accounting")

    company: str | None = Field(
        default=None,
        min_length=1,
        description="The company the chart belongs to; unset, the contracts' company name.",
    )
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="The chart's own currency; unset, the company's (`LEASEKIT_CURRENCY`). "
        "An event in another currency books to the same accounts in that currency's ledger.",
    )
    accounts: dict[str, AccountSettings] = Field(
        default_factory=dict,
        description="Accounts added to the default chart, by code, as a JSON object "
        '(`{"1300": {"name": "Insurance receivable", "kind": "asset"}}`). A default code '
        "given another name or kind is refused: accounts are never renamed.",
    )
    closed: CommaSeparated[str] = Field(
        default_factory=list,
        description="Comma-separated codes of accounts closed to new postings; an event that "
        "would book to one waits in the unmapped queue.",
    )

    @model_validator(mode="after")
    def _chart_holds(self) -> AccountingSettings:
        self.chart("company", "USD")
        return self

    def chart(self, company: str, currency_code: str) -> ChartOfAccounts:
        """The default chart of *company* in *currency_code* (unless set here), with the
        accounts added; closing happens in :meth:`accounting`."""
        chart = default_chart(self.company or company, self.currency or currency_code)
        try:
            for code, account in self.accounts.items():
                chart = chart.add(code, account.name, account.kind)
            for code in self.closed:
                chart.account(code)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None
        return chart

    def accounting(self, company: str, currency_code: str) -> Accounting:
        return Accounting.of(self.chart(company, currency_code), self.closed)


class _AdapterIdsSection(BaseModel):
    """Which registered adapter serves each kind of external party, by adapter id.

    An unset kind is fine until a service needs it; then the error names the variable.
    """

    model_config = _section("adapters")


def _adapter_ids_model() -> type[_AdapterIdsSection]:
    """The ``adapters`` section: a field per kind chosen by id, from the table of kinds, so a
    new kind gets its variable, default and documented description without an edit here."""
    fields: dict[str, Any] = {
        kind.value: (str | None, Field(default=spec.default_id, description=spec.setting_help))
        for kind, spec in KINDS.items()
        if spec.chosen
    }
    return create_model(
        "AdapterIds",
        __base__=_AdapterIdsSection,
        __doc__=_AdapterIdsSection.__doc__,
        __module__=__name__,
        **fields,
    )


if TYPE_CHECKING:
    # Type checkers cannot see fields made at run time; code reads them with model_dump().
    AdapterIds = _AdapterIdsSection
else:
    AdapterIds = _adapter_ids_model()


ADAPTER_KINDS: Final = frozenset(AdapterIds.model_fields)
"""The kinds of external party whose adapter settings choose by id."""
_OPTION_KINDS: Final = frozenset(kind.value for kind in AdapterKind)
"""Kinds that may take options: those chosen by id, and voucher templates (all of which are
used, so none is chosen)."""


class ServerSettings(BaseModel):
    """The reference HTTP server."""

    model_config = _section("server")

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port to listen on.")
    max_upload_bytes: int = Field(
        default=10 * _MIB, gt=0, description="Largest document upload accepted, in bytes."
    )
    worker_threads: int = Field(
        default=8, gt=0, description="Threads that run the synchronous service calls."
    )
    max_queued: int = Field(
        default=64,
        gt=0,
        description="Requests that may wait for a thread; beyond them the server answers "
        "503 with Retry-After at once instead of letting waits grow without bound.",
    )


class WorkbenchSettings(BaseModel):
    """The back-office web pages under ``/workbench``."""

    model_config = _section("workbench")

    idle_minutes: float = Field(
        default=30,
        gt=0,
        description="A workbench session unused this long ends; the next page asks the person "
        "to sign in again.",
    )
    secure_cookie: bool = Field(
        default=False,
        description="Send the session cookie over HTTPS only. Set it wherever the server is "
        "reached through TLS (a reverse proxy); the demo on plain http://127.0.0.1 leaves it "
        "off.",
    )


class PricingSettings(BaseModel):
    """How applications' financing plans are computed."""

    model_config = _section("pricing")

    apr_convention: str = Field(
        default="us_actuarial",
        description="The APR of every plan: `us_actuarial` (Regulation Z Appendix J, "
        "disclosed to 1/100 of a point) or `eu` (the APRC of Directive 2008/48/EC, disclosed "
        "to one decimal).",
    )
    rounding: str = Field(
        default="standard",
        description="The schedule's rounding convention: `standard`, "
        "`installment_up_to_unit` or `level_total` (docs/calculator.md).",
    )

    @field_validator("apr_convention")
    @classmethod
    def _known_apr_convention(cls, name: str) -> str:
        return _one_of(name, APR_CONVENTIONS)

    @field_validator("rounding")
    @classmethod
    def _known_rounding(cls, name: str) -> str:
        return _one_of(name, tuple(CONVENTIONS))

    def convention(self) -> PlanConvention:
        return PlanConvention(self.apr_convention, self.rounding)


def _one_of(name: str, names: tuple[str, ...]) -> str:
    if name not in names:
        raise ValueError(f"{name!r} is not one of {', '.join(names)}")
    return name


class OutboxSettings(BaseModel):
    """Delivery of committed events to plugins, the notifier and in-process handlers."""

    model_config = _section("outbox")

    retry_seconds: float = Field(
        default=30,
        gt=0,
        description="Longest pause between delivery passes when nothing wakes the worker "
        "(each command wakes it as soon as it commits).",
    )
    lease_seconds: float = Field(
        default=60,
        gt=0,
        description="How long a claimed delivery stays claimed; another process takes it over "
        "afterwards. Longer than any delivery should take.",
    )
    batch: int = Field(
        default=500,
        gt=0,
        le=10_000,
        description="Deliveries a pass claims at once; the voucher engine books its share of "
        "them in one transaction (a month end's 100,000 events went out in 75 s with 500, "
        "214 s with 100). The slowest subscriber's share of a pass must fit in the lease.",
    )
    max_attempts: int = Field(
        default=10,
        gt=0,
        description="Failed attempts after which a delivery is parked for an administrator "
        "(`leasekit events`).",
    )
    first_backoff_seconds: float = Field(
        default=1, gt=0, description="Wait before the second attempt; it doubles each time."
    )
    max_backoff_seconds: float = Field(
        default=300, gt=0, description="Longest wait between two attempts."
    )
    worker_id: str | None = Field(
        default=None,
        description="Names this process's claims, so that it takes them back when it restarts "
        "after a crash; defaults to the host name and user id. Give each process on one host "
        "its own.",
    )


def _off_is_none(levels: object) -> object:
    """``off`` (any case) as a level turns it off."""
    if isinstance(levels, dict):
        return {k: None if str(v).strip().lower() == "off" else v for k, v in levels.items()}
    return levels


def _grades_in_capitals(by_grade: object) -> object:
    """Grades are capitals (``A``); variable names arrive lower-cased (``..._BANDS__b``)."""
    if isinstance(by_grade, dict):
        return {str(grade).upper(): value for grade, value in by_grade.items()}
    return by_grade


class PartnerSettings(BaseModel):
    """Rules for dealers and other partners."""

    model_config = _section("partners")

    limit_director_threshold: Decimal = Field(
        default=Decimal(1_000_000),
        ge=0,
        description="An increase of a partner's credit limit (standing or temporary) larger "
        "than this, in the company's currency, needs a director's approval; smaller changes "
        "a manager's.",
    )
    import_max_bytes: int = Field(
        default=5 * _MIB,
        gt=0,
        description="Largest file of changes to partners (CSV or XLSX) imported at once, in bytes.",
    )
    import_max_rows: int = Field(
        default=10_000,
        gt=0,
        description="Most rows after the header (blank ones included) in a file of changes "
        "to partners.",
    )
    required_documents: dict[PartnerKind, tuple[DocumentKind, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_REQUIRED_DOCUMENTS),
        description="The document kinds each kind of partner must upload, free of open "
        "defects, before it may be approved, as a JSON object of lists; a kind of partner "
        "left out keeps its default, one given `[]` needs none.",
    )
    limit_bands: dict[PartnerRating, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=dict,
        description="The highest credit limit a manager may approve for a partner of each "
        "grade, by grade: `LEASEKIT_PARTNERS__LIMIT_BANDS__B=8000000`; above it a director "
        "must. Unset grades keep "
        + ", ".join(f"{g} {v:,}" for g, v in DEFAULT_LIMIT_BANDS.items())
        + "; an unrated partner has D's.",
    )
    figures_window_months: int = Field(
        default=12,
        ge=1,
        le=120,
        description="The months of business a partner's figures (volume, approval rate, "
        "fraud hits, document defects) cover, ending on the business date.",
    )
    rating_weights: dict[RatingFactor, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Weight of each scorecard factor, by factor: "
        "`LEASEKIT_PARTNERS__RATING_WEIGHTS__OVERDUE_RATE=30`. Unset factors keep "
        + ", ".join(f"{f} {r.weight}" for f, r in DEFAULT_FACTORS.items())
        + "; weight 0 leaves a factor out.",
    )
    rating_worst: dict[RatingFactor, Decimal] = Field(
        default_factory=dict,
        description="The value of each factor that scores 0, by factor. Unset factors keep "
        + ", ".join(f"{f} {r.worst}" for f, r in DEFAULT_FACTORS.items())
        + ".",
    )
    rating_best: dict[RatingFactor, Decimal] = Field(
        default_factory=dict,
        description="The value of each factor that scores 100, by factor. Unset factors keep "
        + ", ".join(f"{f} {r.best}" for f, r in DEFAULT_FACTORS.items())
        + ".",
    )
    rating_thresholds: dict[PartnerRating, Decimal] = Field(
        default_factory=dict,
        description="The lowest score (0 to 100) of grades A, B and C, by grade; below C's "
        "is D. Unset grades keep "
        + ", ".join(f"{g} {v}" for g, v in DEFAULT_THRESHOLDS.items())
        + ".",
    )
    rating_neutral: Decimal = Field(
        default=Decimal(50),
        ge=0,
        le=100,
        description="What a scorecard factor without data yet (no decided applications, no "
        "contracts) scores.",
    )
    monitoring_watch: dict[MonitoredFigure, Decimal | None] = Field(
        default_factory=dict,
        description="The level of each monitored figure that puts an active partner on "
        "watch, by figure (`off` turns one off). Unset figures keep "
        + ", ".join(f"{f} {r.watch}" for f, r in DEFAULT_RULES.items() if r.watch is not None)
        + "; approval_rate alerts at or below its level, the others at or above.",
    )
    monitoring_suspend: dict[MonitoredFigure, Decimal | None] = Field(
        default_factory=dict,
        description="The level of each monitored figure that suspends an active or watched "
        "partner, by figure (`off` turns one off). Unset figures keep "
        + ", ".join(f"{f} {r.suspend}" for f, r in DEFAULT_RULES.items() if r.suspend is not None)
        + ".",
    )
    refresh_every_hours: float = Field(
        default=0,
        ge=0,
        description="How often the server rates every partner and applies the monitoring "
        "rules (once per partner and business date however often it runs); 0 leaves it to "
        "`leasekit partners refresh` run by cron or the close of business.",
    )

    _off = field_validator("monitoring_watch", "monitoring_suspend", mode="before")(_off_is_none)
    _grades = field_validator("limit_bands", "rating_thresholds", mode="before")(
        _grades_in_capitals
    )

    @model_validator(mode="after")
    def _usable_scorecard(self) -> PartnerSettings:
        try:
            self.scorecard()
        except ValueError as exc:
            raise ValueError(f"the partner rating scorecard is unusable: {exc}") from None
        return self

    def scorecard(self) -> Scorecard:
        """The scorecard these settings describe, defaults filled in."""
        factors = {
            factor: FactorRule(
                self.rating_weights.get(factor, rule.weight),
                self.rating_worst.get(factor, rule.worst),
                self.rating_best.get(factor, rule.best),
            )
            for factor, rule in DEFAULT_FACTORS.items()
        }
        thresholds = {**DEFAULT_THRESHOLDS, **self.rating_thresholds}
        return Scorecard(factors, thresholds, self.rating_neutral)

    def monitoring_rules(self) -> dict[MonitoredFigure, MonitoringRule]:
        return {
            figure: attrs.evolve(
                rule,
                watch=self.monitoring_watch.get(figure, rule.watch),
                suspend=self.monitoring_suspend.get(figure, rule.suspend),
            )
            for figure, rule in DEFAULT_RULES.items()
        }

    def limit_policy(self) -> LimitPolicy:
        return LimitPolicy(
            self.limit_director_threshold, {**DEFAULT_LIMIT_BANDS, **self.limit_bands}
        )


class ApprovalSettings(BaseModel):
    """Who may decide which applications, and how approval tasks are worked."""

    model_config = _section("approvals")

    claim_minutes: float = Field(
        default=30,
        gt=0,
        description="How long a reviewer's claim on an approval task lasts; afterwards anyone "
        "of the tier may claim it and the late holder's decision is refused. Claiming again "
        "renews it.",
    )
    authority: dict[Tier, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=dict,
        description="The largest amount financed, in the company's currency, each tier may "
        "approve, by tier: `LEASEKIT_APPROVALS__AUTHORITY__OFFICER=300000`; a larger case "
        "climbs to a higher tier whatever the approval policy says. Unset tiers keep "
        + ", ".join(f"{t} {v:,}" for t, v in DEFAULT_AUTHORITY.items())
        + "; a director's is unlimited unless set.",
    )
    auto_approve_up_to: Decimal | None = Field(
        default=None,
        ge=0,
        description="Approve without people an application that pre-approval passed, whose "
        "amount financed is at most this and that the approval policy lets an officer "
        "decide; unset, every application goes to people.",
    )
    exception_window_hours: float = Field(
        default=72,
        gt=0,
        description="How long an exception request (a reversal, refund or waiver) may take "
        "from its submission to its execution; afterwards it can be neither approved nor "
        "executed, only expired, and must be raised again.",
    )

    def rules(self) -> ApprovalRules:
        return ApprovalRules(
            timedelta(minutes=self.claim_minutes),
            {**DEFAULT_AUTHORITY, **self.authority},
            self.auto_approve_up_to,
            timedelta(hours=self.exception_window_hours),
        )


class ContractSettings(BaseModel):
    """How contracts are drawn up and their documents rendered."""

    model_config = _section("contracts")

    company_name: str = Field(
        default="Leasekit Demo Leasing Co.",
        min_length=1,
        description="The company's name as contracts show it.",
    )
    company_code: str = Field(
        default="LK",
        pattern=r"^[A-Za-z0-9]{1,16}$",
        description="The company's short code in contract numbers; numbers are counted per "
        "code and year.",
    )
    number_pattern: str = Field(
        default="{company}-{year}-{sequence:06d}",
        description="How contract numbers read, as a Python format string over `company`, "
        "`year` and `sequence` (from 1 each year, without gaps).",
    )
    language: str = Field(
        default="en",
        pattern=r"^(en|zh)$",
        description="The language of a new contract's document: `en` or `zh`.",
    )
    template_dir: Path | None = Field(
        default=None,
        description="A folder of contract templates (`<business_type>.<language>.json`) "
        "that replace the packaged ones of the same name.",
    )
    cjk_font: str = Field(
        default="STSong-Light",
        description="The font of Chinese text in contract documents: a CID font every PDF "
        "reader has (`STSong-Light`), or the path of a TrueType font to embed.",
    )

    @model_validator(mode="after")
    def _numbers_read(self) -> ContractSettings:
        self.contracting()
        return self

    def contracting(self) -> Contracting:
        try:
            numbering = NumberPattern(self.number_pattern, self.company_code)
        except ValidationError as exc:
            raise ValueError(f"number_pattern: {exc}") from None
        return Contracting(self.company_name, numbering, self.language)


class PayoutSettings(BaseModel):
    """How the payout queue is worked."""

    model_config = _section("payouts")

    claim_minutes: float = Field(
        default=30,
        gt=0,
        description="How long a reviewer's claim on a payout lasts; afterwards anyone may "
        "claim it. Claiming again renews it.",
    )
    required_documents: dict[BusinessType, tuple[DocumentKind, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_PAYOUT_DOCUMENTS),
        description="The document kinds a payout needs on file (attached to the contract or "
        "its application), by business type, as a JSON object of lists; a business type "
        "left out keeps its default ("
        + "; ".join(
            f"{kind}: {', '.join(map(str, kinds))}"
            for kind, kinds in DEFAULT_PAYOUT_DOCUMENTS.items()
        )
        + "), one given `[]` needs none.",
    )

    def rules(self) -> PayoutRules:
        documents = {**DEFAULT_PAYOUT_DOCUMENTS, **self.required_documents}
        return PayoutRules(timedelta(minutes=self.claim_minutes), documents)


class EndOfDaySettings(BaseModel):
    """The close of business (`leasekit eod run`)."""

    model_config = _section("end of day")

    partition_size: int = Field(
        default=5000, ge=1, le=1_000_000, description="Contracts per partition: what one "
        "worker does in one transaction.",
    )  # fmt: skip
    penalty_daily_rate: Decimal = Field(
        default=Decimal("0.0005"), ge=0, lt=1, description="Penalty interest per day on what "
        'an overdue installment still owes (`"0.0005"` is 0.05 % a day).',
    )  # fmt: skip
    prepare_debit_runs: bool = Field(
        default=False, description="Whether the close prepares the next business date's "
        "debit run of every creditor account.",
    )  # fmt: skip
    interest_accrual: InterestAccrual = Field(
        default=InterestAccrual.MONTH_END, description="When the close books interest earned "
        "and not yet paid: `daily`, `month_end` or `off` (income when paid).",
    )  # fmt: skip
    distribute: bool = Field(
        default=False, description="Run the close's partitions as jobs for `leasekit worker` "
        "processes (PostgreSQL only); otherwise the close runs them itself.",
    )  # fmt: skip
    worker_heartbeat_seconds: float = Field(
        default=10, gt=0, le=600, description="How often a worker says it is alive; a job "
        "whose worker has been silent three times as long is given to another worker.",
    )  # fmt: skip

    def rules(self) -> CloseRules:
        return CloseRules(
            self.partition_size, self.penalty_daily_rate, self.prepare_debit_runs,
            self.interest_accrual,
        )  # fmt: skip


class CreditorAccountSettings(BaseModel):
    """One account of the company's that debits are collected into."""

    model_config = _section("creditor account")

    name: str = Field(min_length=1, description="The company's name on debtors' statements.")
    scheme: DebitScheme = Field(description="The file format: `nacha`, `sepa` or `csv`.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="The account's currency.")
    account: str = Field(min_length=1, description="IBAN, or account number.")
    agent: str = Field(
        default="", description="The company's bank: BIC (SEPA) or routing number (NACHA)."
    )
    creditor_id: str = Field(
        default="",
        description="The SEPA creditor identifier, or the NACHA company identification.",
    )


class WaterfallSettings(BaseModel):
    """The order a payment pays what is due in."""

    model_config = _section("waterfall")

    parts: CommaSeparated[ReceivablePart] = Field(
        default_factory=lambda: list(ReceivablePart),
        description="Each of `penalty`, `fee`, `interest`, `principal` once, in paying order.",
    )
    order: WaterfallOrder = Field(
        default=WaterfallOrder.BY_INSTALLMENT,
        description="`by_installment`: the oldest installment in full first; `by_part`: the "
        "first part of every installment first.",
    )

    def waterfall(self) -> Waterfall:
        try:
            return Waterfall(self.parts, self.order)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None


class FundsSettings(BaseModel):
    """How installments are collected and payments allocated."""

    model_config = _section("funds")

    creditor_accounts: dict[str, CreditorAccountSettings] = Field(
        default_factory=dict,
        description="The accounts debits are collected into, by id, as a JSON object "
        '(`{"us": {"name": "...", "scheme": "nacha", "currency": "USD", "account": "...", '
        '"agent": "<routing number>", "creditor_id": "<company id>"}}`).',
    )
    grace_days: int = Field(
        default=3, ge=0, le=90, description="Days after its due date before an unpaid "
        "installment is overdue.",
    )  # fmt: skip
    lead_days: int = Field(
        default=0, ge=0, le=30, description="Days from a debit run's business date to the "
        "collection date it asks the bank for.",
    )  # fmt: skip
    retry_overdue: bool = Field(
        default=True, description="Whether debit runs collect overdue installments again."
    )
    max_attempts: int = Field(
        default=3, ge=1, le=20, description="Returned debits of a contract's arrears after "
        "which runs leave it to collections.",
    )  # fmt: skip
    waterfall: WaterfallSettings = Field(
        default_factory=WaterfallSettings, description="The default payment waterfall."
    )
    waterfalls: dict[BusinessType, WaterfallSettings] = Field(
        default_factory=dict,
        description="Waterfalls of business types that differ from the default.",
    )
    return_fees: dict[str, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=dict,
        description='The fee a returned debit costs the customer, by currency (`{"USD": '
        '"25.00"}`), where the contract\'s product sets none (its `return_fee`); none where '
        "not listed.",
    )

    quote_valid_days: int = Field(
        default=10, ge=1, le=90, description="Days a settlement quote can be paid in after "
        "the business date it was made on.",
    )  # fmt: skip
    settlement_fee_rate: Decimal = Field(
        default=Decimal(0), ge=0, lt=1, description="The early-settlement fee as a share of "
        'the outstanding principal (`"0.02"` for 2 %); none if not set.',
    )  # fmt: skip
    settlement_fees: dict[str, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=dict,
        description='A fixed early-settlement fee, by currency (`{"USD": "150.00"}`), '
        "added to the share; none where not listed.",
    )
    matching: dict[str, Any] = Field(
        default_factory=DEFAULT_MATCHING.to_dict,
        description="How incoming money is matched to contracts, as a JSON object: `rules`, "
        "tried in order (`reference`, `amount_and_payer`, `amount_within_tolerance`), and "
        'a `tolerance` (`{"amount": "2.00", "currency": "USD", "percent": "0.5"}`) for the '
        "last.",
    )

    @model_validator(mode="after")
    def _rules_hold(self) -> FundsSettings:
        self.rules()
        return self

    def rules(self) -> CollectionRules:
        try:
            accounts = creditor_accounts(
                {key: value.model_dump() for key, value in self.creditor_accounts.items()}
            )
        except ValidationError as exc:
            raise ValueError(f"creditor_accounts: {exc}") from None
        retry = RetryPolicy(self.retry_overdue, self.max_attempts, self.grace_days, self.lead_days)
        waterfalls = {kind: value.waterfall() for kind, value in self.waterfalls.items()}
        try:
            matching = MatchingRules.from_dict(self.matching)
        except ValidationError as exc:
            raise ValueError(f"matching: {exc}") from None
        quotes = QuoteTerms(self.quote_valid_days, self.settlement_fee_rate,
                            dict(self.settlement_fees))  # fmt: skip
        return CollectionRules(
            accounts, retry, self.waterfall.waterfall(), waterfalls, dict(self.return_fees),
            matching, quotes,
        )  # fmt: skip


_CALLED_PARTIES: Final = frozenset(
    {
        AdapterKind.CREDIT_BUREAU.value,
        AdapterKind.FRAUD_SOURCE.value,
        AdapterKind.FACE_VERIFIER.value,
        AdapterKind.DOCUMENT_STORE.value,
        AdapterKind.STATEMENT_PARSER.value,
        AdapterKind.APPROVAL_POLICY.value,
        "plugins",
    }
)
"""The parties pre-approval asks, as per-party timeouts name them."""


class PreApprovalSettings(BaseModel):
    """How pre-approval asks the external parties: a deadline for each call, and retries."""

    model_config = _section("pre_approval")

    timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="Longest wait for one call to an external party (the credit bureau, the "
        "anti-fraud source, the document store, the statement parser, the approval policy, a "
        "plugin's vote); a party that takes longer counts as not answering and the case is "
        "referred.",
    )
    timeouts: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="A party's own timeout in place of `timeout_seconds`, by party: "
        "`LEASEKIT_PRE_APPROVAL__TIMEOUTS__CREDIT_BUREAU=20`. Parties: "
        + ", ".join(sorted(_CALLED_PARTIES))
        + " (every plugin voting on applications).",
    )
    retries: int = Field(
        default=1,
        ge=0,
        le=5,
        description="Further attempts after a call that failed or timed out, before the "
        "party counts as not answering.",
    )
    retry_backoff_seconds: float = Field(
        default=0.5,
        ge=0,
        description="Wait before the first retry; it doubles before each further one.",
    )

    @field_validator("timeouts")
    @classmethod
    def _known_parties(cls, timeouts: dict[str, float]) -> dict[str, float]:
        """A misspelt party would otherwise keep the default timeout, silently."""
        unknown = sorted(set(timeouts) - _CALLED_PARTIES)
        if unknown:
            parties = ", ".join(sorted(_CALLED_PARTIES))
            raise ValueError(f"unknown party {', '.join(unknown)} (parties: {parties})")
        return timeouts


class FaceSettings(BaseModel):
    """Checks of the face-to-face photo taken at signing."""

    model_config = _section("faces")

    max_distance_km: Decimal = Field(
        default=Decimal(5),
        gt=0,
        description="How far from the dealer's business address (its coordinates) a photo "
        "may have been taken, by its GPS position, in kilometres.",
    )
    capture_window_hours: int = Field(
        default=72,
        gt=0,
        description="How many hours before the application was made a photo may have been "
        "taken; one taken after its upload is never plausible.",
    )
    reuse_distance: int = Field(
        default=6,
        ge=0,
        le=MAX_REUSE_DISTANCE,
        description="How many of the 64 bits of their perceptual hashes two photos may differ "
        "in and still count as one photo (0: identical hashes only).",
    )
    max_pixels: int = Field(
        default=40_000_000,
        gt=0,
        description="Largest photo, in pixels, that is decoded; a larger one is refused unread.",
    )

    def policy(self, timezone: str) -> FacePolicy:
        """The checks' policy; a capture time without an offset is read in *timezone*."""
        return FacePolicy(
            max_distance_km=self.max_distance_km,
            capture_window_hours=self.capture_window_hours,
            reuse_distance=self.reuse_distance,
            max_pixels=self.max_pixels,
            local_zone=zoneinfo.ZoneInfo(timezone),
        )


class Settings(BaseSettings):
    """All of leasekit's settings; see ``docs/settings.md`` for the variables."""

    model_config = SettingsConfigDict(
        title="settings",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        env_ignore_empty=True,
        env_file=None,
        extra="forbid",
        frozen=True,
    )

    database_url: SecretStr = Field(
        default=SecretStr("sqlite:///leasekit.db"),
        description=(
            "SQLAlchemy URL of the database: `sqlite:///FILE` (relative to the working "
            "directory) or `postgresql+psycopg://USER:PASSWORD@HOST/DB`. Hidden in logs and "
            "reprs."
        ),
    )
    data_dir: Path = Field(
        default=Path("leasekit-data"),
        description="Directory for files leasekit keeps (documents), relative to the working "
        "directory unless absolute.",
    )
    adapters: AdapterIds = Field(
        default_factory=AdapterIds, description="Which adapter serves each kind of external party."
    )
    adapter_options: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Options handed to each kind's adapter, as "
        "`LEASEKIT_ADAPTER_OPTIONS__<KIND>__<OPTION>=value` or one JSON object "
        '`{"<kind>": {"<option>": "value"}}`. Kinds and option names are lower-cased. '
        "Hidden in reprs, as options may hold credentials.",
        # An SFTP password or an API key lives here; reprs end up in logs and tracebacks.
        repr=False,
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="The reference HTTP server."
    )
    outbox: OutboxSettings = Field(
        default_factory=OutboxSettings, description="Delivery of committed events."
    )
    pricing: PricingSettings = Field(
        default_factory=PricingSettings, description="Applications' financing plans."
    )
    partners: PartnerSettings = Field(
        default_factory=PartnerSettings, description="Rules for dealers and other partners."
    )
    approvals: ApprovalSettings = Field(
        default_factory=ApprovalSettings,
        description="Who may decide which applications, and how approval tasks are worked.",
    )
    pre_approval: PreApprovalSettings = Field(
        default_factory=PreApprovalSettings,
        description="How pre-approval asks the external parties.",
    )
    faces: FaceSettings = Field(
        default_factory=FaceSettings, description="Checks of the face-to-face photo."
    )
    contracts: ContractSettings = Field(
        default_factory=ContractSettings,
        description="How contracts are drawn up and their documents rendered.",
    )
    payouts: PayoutSettings = Field(
        default_factory=PayoutSettings, description="How the payout queue is worked."
    )
    funds: FundsSettings = Field(
        default_factory=FundsSettings,
        description="Collections: creditor accounts, debit retries, the payment waterfall.",
    )
    eod: EndOfDaySettings = Field(
        default_factory=EndOfDaySettings,
        description="The close of business: partitions, penalty interest, workers.",
    )
    accounting: AccountingSettings = Field(
        default_factory=AccountingSettings,
        description="The chart of accounts vouchers are booked to.",
    )
    workbench: WorkbenchSettings = Field(
        default_factory=WorkbenchSettings, description="The back-office web pages."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="The installation's secret: derives users' enrolment secrets and signs "
        "audit checkpoints. Unset, one is made in `secret.key` under the data dir; servers "
        "sharing a database must share it. Hidden in logs and reprs.",
    )
    business_date: date | None = Field(
        default=None,
        description="Fixed accounting day (YYYY-MM-DD) for tests and demos; unset means "
        "today in `timezone`.",
    )
    timezone: str = Field(
        default="UTC", description="IANA time zone that decides which calendar day is today."
    )
    currency: str = Field(default="CNY", description="ISO 4217 code of the company's currency.")
    disable_plugin_autoload: bool = Field(
        default=False,
        description="Load no plugins from entry points; only the built-in ones.",
    )
    disabled_plugins: CommaSeparated[str] = Field(
        default_factory=list,
        description="Comma-separated plugins not to load: entry-point names, built-in module "
        "names or distribution names.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: SecretStr) -> SecretStr:
        if not _DATABASE_SCHEMES.match(url.get_secret_value()):
            raise ValueError(
                "expected a sqlite:// or postgresql:// URL, e.g. sqlite:///leasekit.db or "
                "postgresql+psycopg://leasekit@localhost/leasekit"
            )
        return url

    @field_validator("adapter_options")
    @classmethod
    def _known_kinds(cls, options: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """A misspelt kind would otherwise leave its adapter without options, silently."""
        unknown = sorted(set(options) - _OPTION_KINDS)
        if unknown:
            raise ValueError(
                f"unknown adapter kind {', '.join(unknown)} "
                f"(kinds: {', '.join(sorted(_OPTION_KINDS))})"
            )
        return options

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        return name

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        code = code.strip().upper()
        if code not in CURRENCIES:
            raise ValueError(
                f"unknown currency {code!r}; known currencies: {', '.join(sorted(CURRENCIES))}"
            )
        return code


def env_var_name(location: tuple[int | str, ...]) -> str:
    """The environment variable that sets the field at *location* (``("server", "port")``);
    a list item's index and pydantic's ``[key]`` mark for a bad mapping key name no variable,
    so they are left out."""
    parts = [
        str(part).upper() for part in location if isinstance(part, str) and part != "[key]"
    ] or ["SETTINGS"]
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(parts)


def _message(error: ErrorDetails) -> str:
    """Pydantic's message, without the ``Value error,`` prefix it puts on our own messages."""
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return error["msg"]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with *overrides* (by field name) taking precedence.

    Raises ConfigurationError naming each bad setting by its variable, for example
    ``LEASEKIT_SERVER__PORT: Input should be less than or equal to 65535``; values are never
    echoed, as some (the database URL) hold passwords.
    """
    try:
        return Settings(**overrides)
    except PydanticValidationError as exc:
        lines = [f"- {env_var_name(error['loc'])}: {_message(error)}" for error in exc.errors()]
        raise ConfigurationError("invalid settings:\n" + "\n".join(lines)) from None
