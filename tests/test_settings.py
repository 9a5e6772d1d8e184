"""Settings: environment parsing, nesting, defaults, and errors that name the variable."""

from __future__ import annotations

import json
import os
import types
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from leasekit.domain.partner_monitoring import MonitoredFigure
from leasekit.domain.partner_onboarding import RequiredDocuments
from leasekit.domain.partner_ratings import DEFAULT_FACTORS, RatingFactor
from leasekit.domain.partners import PartnerKind, PartnerRating
from leasekit.domain.plans import PlanConvention
from leasekit.errors import ConfigurationError
from leasekit.ports import AdapterKind
from leasekit.runtime import party_calls
from leasekit.settings import ADAPTER_KINDS, Settings, env_var_name, load_settings

DOCS = Path(__file__).parents[1] / "docs" / "settings.md"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("LEASEKIT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_env(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_env


def error_lines(**overrides: Any) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**overrides)
    head, *lines = str(caught.value).splitlines()
    assert head == "invalid settings:"
    return [line.removeprefix("- ") for line in lines]


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url.get_secret_value() == "sqlite:///leasekit.db"
    assert settings.data_dir == Path("leasekit-data")
    assert settings.adapters.document_store == "filesystem"
    assert settings.adapters.bank is None
    assert settings.adapters.credit_bureau is None
    assert settings.adapter_options == {}
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.server.max_upload_bytes == 10 * 1024 * 1024
    assert settings.server.worker_threads == 8
    assert settings.business_date is None
    assert (settings.timezone, settings.currency) == ("UTC", "CNY")
    assert settings.disable_plugin_autoload is False
    assert settings.disabled_plugins == []


def test_the_environment_is_read_with_prefix_and_nesting(env: Any) -> None:
    env(
        LEASEKIT_DATABASE_URL="postgresql+psycopg://leasekit:pw@db/leasekit",
        LEASEKIT_DATA_DIR="/var/lib/leasekit",
        LEASEKIT_ADAPTERS__BANK="acme",
        LEASEKIT_ADAPTERS__DOCUMENT_STORE="s3",
        LEASEKIT_ADAPTER_OPTIONS__BANK__HOST="sftp.acme.example",
        LEASEKIT_ADAPTER_OPTIONS__BANK__USER="lk",
        LEASEKIT_ADAPTER_OPTIONS__DOCUMENT_STORE__ROOT="/srv/docs",
        LEASEKIT_SERVER__HOST="0.0.0.0",
        LEASEKIT_SERVER__PORT="9000",
        LEASEKIT_SERVER__MAX_UPLOAD_BYTES="2048",
        LEASEKIT_SERVER__WORKER_THREADS="2",
        LEASEKIT_BUSINESS_DATE="2024-06-30",
        LEASEKIT_TIMEZONE="Asia/Shanghai",
        LEASEKIT_CURRENCY="usd",
        LEASEKIT_DISABLE_PLUGIN_AUTOLOAD="1",
        LEASEKIT_DISABLED_PLUGINS=" acme , leasekit-extra,,",
    )
    settings = load_settings()
    assert settings.database_url.get_secret_value().startswith("postgresql+psycopg://")
    assert settings.data_dir == Path("/var/lib/leasekit")
    assert (settings.adapters.bank, settings.adapters.document_store) == ("acme", "s3")
    assert settings.adapter_options == {
        "bank": {"host": "sftp.acme.example", "user": "lk"},
        "document_store": {"root": "/srv/docs"},
    }
    assert settings.server.model_dump() == {
        "host": "0.0.0.0",
        "port": 9000,
        "max_upload_bytes": 2048,
        "worker_threads": 2,
        "max_queued": 64,
    }
    assert settings.business_date == date(2024, 6, 30)
    assert (settings.timezone, settings.currency) == ("Asia/Shanghai", "USD")
    assert settings.disable_plugin_autoload is True
    assert settings.disabled_plugins == ["acme", "leasekit-extra"]


def test_variable_names_are_case_insensitive_and_json_works_for_sections(env: Any) -> None:
    env(leasekit_server='{"port": 8443}', LEASEKIT_ADAPTER_OPTIONS='{"ledger": {"book": "A"}}')
    settings = load_settings()
    assert settings.server.port == 8443
    assert settings.adapter_options == {"ledger": {"book": "A"}}


def test_empty_variables_count_as_unset(env: Any) -> None:
    env(LEASEKIT_CURRENCY="", LEASEKIT_SERVER__PORT="")
    settings = load_settings()
    assert (settings.currency, settings.server.port) == ("CNY", 8080)


def test_overrides_win_over_the_environment_and_merge_into_sections(env: Any) -> None:
    env(LEASEKIT_SERVER__PORT="70000", LEASEKIT_SERVER__HOST="0.0.0.0")
    settings = load_settings(server={"port": 9001}, disabled_plugins=["a"])
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9001)
    assert settings.disabled_plugins == ["a"]


def test_no_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LEASEKIT_CURRENCY=EUR\nLEASEKIT_SERVER__PORT=1\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert (settings.currency, settings.server.port) == ("CNY", 8080)


def test_settings_are_immutable() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.currency = "EUR"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        settings.server.port = 1  # type: ignore[misc]


def test_the_database_password_stays_out_of_reprs(env: Any) -> None:
    env(LEASEKIT_DATABASE_URL="postgresql://leasekit:hunter2@db/leasekit")
    assert "hunter2" not in repr(load_settings())


def test_adapter_options_stay_out_of_reprs(env: Any) -> None:
    env(LEASEKIT_ADAPTER_OPTIONS__BANK__PASSWORD="hunter2")
    settings = load_settings()
    assert settings.adapter_options == {"bank": {"password": "hunter2"}}
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        (
            {"LEASEKIT_SERVER__PORT": "70000"},
            "LEASEKIT_SERVER__PORT: Input should be less than or equal to 65535",
        ),
        (
            {"LEASEKIT_SERVER__PORT": "0"},
            "LEASEKIT_SERVER__PORT: Input should be greater than or equal to 1",
        ),
        (
            {"LEASEKIT_SERVER__PORT": "http"},
            "LEASEKIT_SERVER__PORT: "
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            {"LEASEKIT_SERVER__MAX_UPLOAD_BYTES": "0"},
            "LEASEKIT_SERVER__MAX_UPLOAD_BYTES: Input should be greater than 0",
        ),
        (
            {"LEASEKIT_SERVER__WORKER_THREADS": "-1"},
            "LEASEKIT_SERVER__WORKER_THREADS: Input should be greater than 0",
        ),
        (
            {"LEASEKIT_SERVER__PROT": "9000"},
            "LEASEKIT_SERVER__PROT: Extra inputs are not permitted",
        ),
        (
            {"LEASEKIT_ADAPTERS__BNAK": "acme"},
            "LEASEKIT_ADAPTERS__BNAK: Extra inputs are not permitted",
        ),
        (
            {"LEASEKIT_ADAPTER_OPTIONS__BNAK__HOST": "x"},
            "LEASEKIT_ADAPTER_OPTIONS: unknown adapter kind bnak (kinds: approval_policy, bank, "
            "credit_bureau, document_store, face_verifier, fraud_source, ledger, notifier, "
            "rule_set, signature_provider, statement_parser, voucher_template)",
        ),
        (
            {"LEASEKIT_BUSINESS_DATE": "30/06/2024"},
            "LEASEKIT_BUSINESS_DATE: "
            "Input should be a valid date or datetime, invalid character in year",
        ),
        (
            {"LEASEKIT_TIMEZONE": "Mars/Olympus"},
            "LEASEKIT_TIMEZONE: "
            "unknown time zone 'Mars/Olympus'; use an IANA name such as Asia/Shanghai",
        ),
        (
            {"LEASEKIT_TIMEZONE": "../etc/passwd"},
            "LEASEKIT_TIMEZONE: "
            "unknown time zone '../etc/passwd'; use an IANA name such as Asia/Shanghai",
        ),
        (
            {"LEASEKIT_DISABLE_PLUGIN_AUTOLOAD": "maybe"},
            "LEASEKIT_DISABLE_PLUGIN_AUTOLOAD: "
            "Input should be a valid boolean, unable to interpret input",
        ),
        (
            {"LEASEKIT_DATABASE_URL": "mysql://root:hunter2@db/x"},
            "LEASEKIT_DATABASE_URL: expected a sqlite:// or postgresql:// URL, e.g. "
            "sqlite:///leasekit.db or postgresql+psycopg://leasekit@localhost/leasekit",
        ),
    ],
)
def test_each_bad_setting_is_named_by_its_variable(
    env: Any, variables: dict[str, str], line: str
) -> None:
    env(**variables)
    assert error_lines() == [line]


def test_an_unknown_currency_lists_the_known_ones(env: Any) -> None:
    env(LEASEKIT_CURRENCY="XBT")
    (line,) = error_lines()
    assert line.startswith("LEASEKIT_CURRENCY: unknown currency 'XBT'; known currencies: AED, AUD")
    assert "CNY" in line
    assert "USD" in line


def test_all_bad_settings_are_reported_together_without_their_values(env: Any) -> None:
    env(
        LEASEKIT_DATABASE_URL="mysql://root:hunter2@db/x",
        LEASEKIT_SERVER__PORT="99999",
        LEASEKIT_TIMEZONE="Nowhere",
    )
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert [line.split(":")[0] for line in message.splitlines()[1:]] == [
        "- LEASEKIT_DATABASE_URL",
        "- LEASEKIT_SERVER__PORT",
        "- LEASEKIT_TIMEZONE",
    ]
    assert "hunter2" not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_misspelt_override_is_an_error() -> None:
    assert error_lines(curency="EUR") == ["LEASEKIT_CURENCY: Extra inputs are not permitted"]


def test_env_var_names() -> None:
    assert env_var_name(("server", "port")) == "LEASEKIT_SERVER__PORT"
    assert (
        env_var_name(("adapter_options", "bank", "host")) == "LEASEKIT_ADAPTER_OPTIONS__BANK__HOST"
    )
    assert env_var_name(()) == "LEASEKIT_SETTINGS"
    assert env_var_name(("disabled_plugins", 2)) == "LEASEKIT_DISABLED_PLUGINS"
    assert env_var_name(("partners", "required_documents", "brokr", "[key]")) == (
        "LEASEKIT_PARTNERS__REQUIRED_DOCUMENTS__BROKR"
    )


def test_each_kind_of_partners_documents_may_be_chosen(env: Any) -> None:
    env(
        LEASEKIT_PARTNERS__REQUIRED_DOCUMENTS='{"broker": ["business_license"]}',
        LEASEKIT_PARTNERS__REQUIRED_DOCUMENTS__FLEET_DEALER="[]",
    )
    chosen = load_settings().partners.required_documents
    assert chosen == {"broker": ("business_license",), "fleet_dealer": ()}
    required = RequiredDocuments(chosen)
    assert required.of(PartnerKind.FLEET_DEALER) == ()
    assert len(required.of(PartnerKind.NEW_CAR_DEALER)) == 4, "a kind left out keeps its own"


def test_an_unknown_kind_of_partner_or_document_is_named_by_its_variable(env: Any) -> None:
    env(LEASEKIT_PARTNERS__REQUIRED_DOCUMENTS='{"brokr": ["business_licence"]}')
    lines = error_lines()
    assert [line.split(":")[0] for line in lines] == [
        "LEASEKIT_PARTNERS__REQUIRED_DOCUMENTS__BROKR"
    ] * 2
    assert "'broker'" in lines[0]
    assert "'business_license'" in lines[1]


def test_the_pricing_conventions_are_the_calculators(env: Any) -> None:
    env(LEASEKIT_PRICING__APR_CONVENTION="eu", LEASEKIT_PRICING__ROUNDING="level_total")
    assert load_settings().pricing.convention() == PlanConvention("eu", "level_total")
    env(LEASEKIT_PRICING__APR_CONVENTION="uk", LEASEKIT_PRICING__ROUNDING="up")
    assert error_lines() == [
        "LEASEKIT_PRICING__APR_CONVENTION: 'uk' is not one of us_actuarial, eu",
        "LEASEKIT_PRICING__ROUNDING: 'up' is not one of standard, installment_up_to_unit, "
        "level_total",
    ]


def test_adapter_kinds_match_the_ports() -> None:
    assert ADAPTER_KINDS | {"voucher_template"} == {kind.value for kind in AdapterKind}


def test_importing_leasekit_settings_reads_nothing() -> None:
    import leasekit.settings as module

    assert not [value for value in vars(module).values() if isinstance(value, Settings)]


# --- the reference table in docs/settings.md --------------------------------------------------


def _type_name(annotation: Any, info: FieldInfo) -> str:
    """The type of a setting in words an operator writing a shell variable understands."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return f"{_type_name(inner, info)}, optional"
    if origin is list:
        return "comma-separated list"
    if origin is dict:
        return "JSON object"
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return f"one of {', '.join(annotation)}"
    names = {str: "string", SecretStr: "string, secret", Path: "path", bool: "boolean",
             date: "date (YYYY-MM-DD)", int: "integer", float: "number",
             Decimal: "decimal amount"}  # fmt: skip
    name = names[annotation]
    bounds = [
        f"{symbol} {getattr(constraint, attribute)}"
        for constraint in info.metadata
        for attribute, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))
        if isinstance(constraint, annotated_types.BaseMetadata) and hasattr(constraint, attribute)
    ]
    return ", ".join([name, *bounds])


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return "unset"
    if value in ([], {}):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return f"`{json.dumps(value)}`"  # as the variable is written
    if isinstance(value, list):
        return f"`{','.join(map(str, value))}`"
    return f"`{value}`"


def _rows(model: type[BaseModel], location: tuple[str, ...] = ()) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, (*location, name)))
            continue
        cells = [f"`{env_var_name((*location, name))}`", _type_name(annotation, info),
                 _default(info), info.description or ""]  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def settings_table() -> str:
    header = ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    return "\n".join(header + _rows(Settings)) + "\n"


def test_every_setting_is_described() -> None:
    def undescribed(model: type[BaseModel]) -> list[str]:
        return [name for name, info in model.model_fields.items() if not info.description]

    from leasekit.settings import AdapterIds, ServerSettings

    assert undescribed(Settings) + undescribed(AdapterIds) + undescribed(ServerSettings) == []


def test_the_limit_threshold_is_read_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEASEKIT_PARTNERS__LIMIT_DIRECTOR_THRESHOLD", "250000.10")
    assert load_settings().partners.limit_director_threshold == Decimal("250000.10")
    monkeypatch.setenv("LEASEKIT_PARTNERS__LIMIT_DIRECTOR_THRESHOLD", "-1")
    with pytest.raises(ConfigurationError, match="LEASEKIT_PARTNERS__LIMIT_DIRECTOR_THRESHOLD"):
        load_settings()


def test_partner_rules_are_read_per_key_over_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEASEKIT_PARTNERS__RATING_WEIGHTS__VOLUME", "0")
    monkeypatch.setenv("LEASEKIT_PARTNERS__MONITORING_WATCH__FRAUD_HITS", "off")
    monkeypatch.setenv("LEASEKIT_PARTNERS__LIMIT_BANDS__B", "8000000")
    partners = load_settings().partners
    card = partners.scorecard()
    assert card.factors[RatingFactor.VOLUME].weight == Decimal(0)
    assert card.factors[RatingFactor.OVERDUE_RATE] == DEFAULT_FACTORS[RatingFactor.OVERDUE_RATE]
    rules = partners.monitoring_rules()
    assert rules[MonitoredFigure.FRAUD_HITS].watch is None
    assert rules[MonitoredFigure.FRAUD_HITS].suspend == Decimal(3)
    assert partners.limit_policy().band(PartnerRating.B) == Decimal(8_000_000)
    assert partners.limit_policy().band(PartnerRating.A) == Decimal(20_000_000)


def test_an_unusable_scorecard_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEASEKIT_PARTNERS__RATING_THRESHOLDS__C", "90")
    with pytest.raises(ConfigurationError, match="thresholds must fall from A to C"):
        load_settings()


def test_the_docs_list_every_setting() -> None:
    table = settings_table()
    assert "LEASEKIT_SERVER__MAX_UPLOAD_BYTES" in table
    assert "LEASEKIT_ADAPTERS__BANK" in table
    assert table in DOCS.read_text(encoding="utf-8"), (
        f"docs/settings.md is out of date; replace its table with:\n\n{table}"
    )


def test_pre_approval_reads_a_timeout_per_party_over_the_default(env: Any) -> None:
    env(
        LEASEKIT_PRE_APPROVAL__TIMEOUTS__CREDIT_BUREAU="20",
        LEASEKIT_PRE_APPROVAL__RETRIES="0",
    )
    policy = party_calls(load_settings().pre_approval)
    assert (policy.timeout_for("credit_bureau"), policy.timeout_for("fraud_source")) == (20, 10)
    assert (policy.retries, policy.retry_backoff_seconds) == (0, 0.5)


def test_a_misspelt_party_or_a_timeout_of_nothing_is_refused(env: Any) -> None:
    assert error_lines(pre_approval={"timeout_seconds": 0}) == [
        "LEASEKIT_PRE_APPROVAL__TIMEOUT_SECONDS: Input should be greater than 0"
    ]
    env(LEASEKIT_PRE_APPROVAL__TIMEOUTS__CREDIT_BUREU="20")
    (line,) = error_lines()
    assert line.startswith("LEASEKIT_PRE_APPROVAL__TIMEOUTS: unknown party credit_bureu (parties:")


def test_the_chart_of_accounts_is_the_default_with_accounts_added_and_closed(env: Any) -> None:
    env(
        LEASEKIT_CURRENCY="USD",
        LEASEKIT_ACCOUNTING__ACCOUNTS='{"1300": {"name": "Insurance receivable", "kind": "asset"}}',
        LEASEKIT_ACCOUNTING__CLOSED="4300, 1300",
    )
    settings = load_settings()
    accounting = settings.accounting.accounting(settings.contracts.company_name, settings.currency)
    chart = accounting.chart
    assert (chart.company, chart.currency.code) == ("Leasekit Demo Leasing Co.", "USD")
    assert chart.accounts["1300"].name == "Insurance receivable"
    assert sorted(code for code, account in chart.accounts.items() if account.closed) == [
        "1300",
        "4300",
    ]
    assert not chart.accounts["1200"].closed
    # The templates were saved before the closing: they book, and refuse the closed account.
    assert len(accounting.templates.in_force()) > 10


def test_a_renamed_or_unknown_account_is_named_by_its_variable(env: Any) -> None:
    env(LEASEKIT_ACCOUNTING__ACCOUNTS='{"1200": {"name": "Cars", "kind": "asset"}}')
    (line,) = error_lines()
    assert line.startswith("LEASEKIT_ACCOUNTING: ")
    assert "account 1200 exists as 'Loans receivable'" in line
    env(LEASEKIT_ACCOUNTING__ACCOUNTS="{}", LEASEKIT_ACCOUNTING__CLOSED="9999")
    (line,) = error_lines()
    assert "'9999' is not in the chart" in line
