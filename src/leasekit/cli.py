"""The ``leasekit`` command line.

Commands import the server, the store and the plugins inside their bodies, so that
``leasekit --help`` and ``leasekit quote`` start without loading a web framework or a
database driver.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

import click

from leasekit import __version__, calc
from leasekit.calc.dates import DAY_COUNTS, FREQUENCIES
from leasekit.calc.plan import Fee, FinancingPlan
from leasekit.errors import LeasekitError
from leasekit.money import to_decimal

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from leasekit.demo import DemoCompany
    from leasekit.domain.partner_imports import PartnerImport
    from leasekit.runtime import Runtime
    from leasekit.services.context import ServiceContext
    from leasekit.settings import Settings

_T = TypeVar("_T")


@click.group()
@click.version_option(__version__, prog_name="leasekit")
def cli() -> None:
    """leasekit: vehicle financing and leasing."""


def _rate(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    """Rates are typed the way people say them: ``6.5%`` or ``0.065``. A bare number of 1 or
    more is refused rather than read as a fraction (``6.5`` would be 650 %), as the API does."""
    try:
        text = value.strip()
        if text.endswith("%"):
            return to_decimal(text[:-1], param.name or "rate") / 100
        rate = to_decimal(text, param.name or "rate")
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from None
    if rate >= 1:
        raise click.BadParameter(
            f"{text} would be {rate * 100}% a year; write {text}% for a percentage, or a "
            "fraction below 1 (0.065 for 6.5%)"
        )
    return rate


def _amount(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        return to_decimal(value, param.name or "amount")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _share_or_amount(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An amount or a percentage of the price, checked here and resolved by the plan."""
    text = value.strip()
    _amount(ctx, param, text.removesuffix("%"))
    return text


def _fees(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[Fee]:
    """``NAME=AMOUNT[:financed][:no-charge]``, e.g. ``gps=300:financed:no-charge``."""
    fees = []
    for spec in values:
        name, sep, rest = spec.partition("=")
        amount, *flags = rest.split(":")
        unknown = set(flags) - {"financed", "no-charge"}
        if not sep or not name or unknown:
            raise click.BadParameter(f"{spec!r}: expected NAME=AMOUNT[:financed][:no-charge]")
        try:
            fees.append(
                Fee(
                    name,
                    amount,
                    financed="financed" in flags,
                    finance_charge="no-charge" not in flags,
                )
            )
        except (TypeError, ValueError) as exc:
            raise click.BadParameter(f"{spec!r}: {exc}") from None
    return fees


@cli.command()
@click.option("--price", required=True, callback=_amount, help="Vehicle price.")
@click.option("--rate", required=True, callback=_rate, help="Annual rate: 6.5% or 0.065.")
@click.option("--term", required=True, type=click.IntRange(min=1), help="Number of payments.")
@click.option("--down", default="0", callback=_share_or_amount, help="Amount or % of price.")
@click.option("--residual", default="0", callback=_share_or_amount, help="Balloon/residual.")
@click.option("--deposit", default="0", callback=_share_or_amount, help="Security deposit.")
@click.option(
    "--fee",
    "fees",
    multiple=True,
    callback=_fees,
    help="NAME=AMOUNT[:financed][:no-charge]; repeatable.",
)
@click.option("--method", type=click.Choice(calc.METHODS), default="annuity", show_default=True)
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="monthly", show_default=True)
@click.option("--day-count", type=click.Choice(DAY_COUNTS), default="30/360", show_default=True)
@click.option("--in-advance/--in-arrears", default=False, help="Payments at period start.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="Contract date [today].")
@click.option("--first-due", type=click.DateTime(["%Y-%m-%d"]), help="Broken first period.")
@click.option("--due-day", type=click.IntRange(1, 31), help="Day of month payments fall due.")
@click.option(
    "--broken-period",
    type=click.Choice(["amortize", "add_to_first"]),
    default="amortize",
    show_default=True,
    help="Spread a broken first period's interest, or charge it with the first payment.",
)
@click.option("--grace", "grace_periods", type=click.IntRange(min=0), default=0)
@click.option(
    "--grace-type",
    type=click.Choice(["interest_only", "capitalized"]),
    default="interest_only",
    show_default=True,
)
@click.option(
    "--rounding", type=click.Choice(list(calc.CONVENTIONS)), default="standard", show_default=True
)
@click.option("--currency", default="USD", show_default=True)
@click.option("--apr-convention", type=click.Choice(["us_actuarial", "eu"]), default="us_actuarial")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def quote(**options: Any) -> None:
    """Price a vehicle deal and print its repayment plan."""
    start = options["start"].date() if options["start"] else date.today()
    first_due = options["first_due"].date() if options["first_due"] else None
    try:
        plan = calc.financing_plan(
            vehicle_price=options["price"],
            annual_rate=options["rate"],
            periods=options["term"],
            start_date=start,
            down_payment=options["down"],
            fees=options["fees"],
            security_deposit=options["deposit"],
            residual=options["residual"],
            method=options["method"],
            in_advance=options["in_advance"],
            frequency=options["frequency"],
            day_count=options["day_count"],
            first_due_date=first_due,
            due_day=options["due_day"],
            broken_period=options["broken_period"],
            grace_periods=options["grace_periods"],
            grace=options["grace_type"],
            rounding=options["rounding"],
            currency_code=options["currency"],
            apr_convention=options["apr_convention"],
        )
    except (LeasekitError, ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from None
    if options["as_json"]:
        click.echo(json.dumps(plan_document(plan), indent=2))
    else:
        print_plan(plan)


def plan_document(plan: FinancingPlan) -> dict[str, Any]:
    """The plan as JSON-ready data; amounts are strings so no float ever touches them."""
    s = plan.schedule
    return {
        "currency": plan.currency.code,
        "method": s.terms.method,
        "vehicle_price": str(plan.vehicle_price),
        "down_payment": str(plan.down_payment),
        "fees": [
            {
                "name": f.name,
                "amount": str(f.amount),
                "financed": f.financed,
                "finance_charge": f.finance_charge,
            }
            for f in plan.fees
        ],
        "security_deposit": str(plan.security_deposit),
        "principal": str(plan.principal),
        "residual_value": str(plan.residual_value),
        "payment": str(s.payment),
        "amount_financed": str(plan.amount_financed),
        "finance_charge": str(plan.finance_charge),
        "total_of_payments": str(plan.total_of_payments),
        "total_interest": str(s.total_interest),
        "due_at_signing": str(plan.due_at_signing),
        "final_payment": str(plan.final_payment),
        "apr": str(plan.apr),
        "rows": [
            {
                "number": row.number,
                "due_date": row.due_date.isoformat(),
                "payment": str(row.payment),
                "principal": str(row.principal),
                "interest": str(row.interest),
                "balance": str(row.balance),
            }
            for row in s.rows
        ],
    }


def print_plan(plan: FinancingPlan) -> None:
    # rich is imported here so that `leasekit --help` stays fast.
    from rich.console import Console
    from rich.table import Table

    s = plan.schedule
    cur = plan.currency.code
    summary = Table(title=f"Financing plan ({cur}, {s.terms.method})", show_header=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    for label, value in (
        ("Vehicle price", plan.vehicle_price),
        ("Down payment", plan.down_payment),
        ("Principal", plan.principal),
        ("Residual value", plan.residual_value),
        ("Installment", s.payment),
        ("Amount financed", plan.amount_financed),
        ("Finance charge", plan.finance_charge),
        ("Total of payments", plan.total_of_payments),
        ("Due at signing", plan.due_at_signing),
        ("Final payment (after deposit)", plan.final_payment),
    ):
        summary.add_row(label, f"{value:,}")
    summary.add_row("APR", f"{plan.apr.quantize(Decimal('0.01'))} %")
    rows = Table(title="Repayment schedule")
    for heading in ("#", "Due", "Payment", "Principal", "Interest", "Balance"):
        rows.add_column(heading, justify="right")
    for row in s.rows:
        rows.add_row(
            str(row.number),
            row.due_date.isoformat(),
            f"{row.payment:,}",
            f"{row.principal:,}",
            f"{row.interest:,}",
            f"{row.balance:,}",
        )
    console = Console()
    console.print(summary)
    console.print(rows)


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment; bad ones stop the command with every problem listed."""
    from leasekit.settings import load_settings

    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None


def _runtime(settings: Settings) -> Runtime:
    """The wired services for a command that runs them itself, migrating the database first."""
    from leasekit.runtime import build_runtime

    try:
        return build_runtime(settings)
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None


def _base_url(settings: Settings) -> str:
    """Where the server listens, as a URL (an IPv6 address in brackets)."""
    host = settings.server.host
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.server.port}"


def _serve(settings: Settings) -> None:
    """Serve the API until Ctrl+C.

    The app builds its runtime (plugins, adapters, migrations) at startup, before it listens,
    so it is built once; settings it cannot work with, or a port it cannot listen on, stop
    the command with their message, the way a bad setting does, and no traceback.
    """
    from aiohttp import web

    from leasekit.server import create_app
    from leasekit.server.access import AccessLogger

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        web.run_app(
            create_app(settings),
            host=settings.server.host,
            port=settings.server.port,
            access_log_class=AccessLogger,
            print=lambda _: click.echo(
                f"leasekit serving on {_base_url(settings)} (Ctrl+C to stop)"
            ),
        )
    except (LeasekitError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


_host = click.option("--host", help="Address to listen on [LEASEKIT_SERVER__HOST].")
_port = click.option(
    "--port", type=click.IntRange(1, 65535), help="Port to listen on [LEASEKIT_SERVER__PORT]."
)


def _server_overrides(settings: Settings, host: str | None, port: int | None) -> Settings:
    changes = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    return settings.model_copy(update={"server": settings.server.model_copy(update=changes)})


@cli.command()
@_host
@_port
def serve(host: str | None, port: int | None) -> None:
    """Run the HTTP API on the configured database, applying migrations first."""
    _serve(_server_overrides(_settings(), host, port))


DEMO_MARKER = ".leasekit-demo"


def _demo_settings(directory: Path) -> Settings:
    """The demo's settings: its folder's database and files, its fakes and its accounts."""
    from leasekit.demo import DEMO_ADAPTER_OPTIONS, DEMO_FUNDS, demo_adapters

    return _settings(
        database_url=f"sqlite:///{directory / 'leasekit.db'}",
        data_dir=directory,
        adapters=demo_adapters(),
        adapter_options=DEMO_ADAPTER_OPTIONS,
        funds=DEMO_FUNDS,
    )


def _fresh_demo_dir(directory: Path) -> None:
    """Empty *directory* for a new demo, refusing any folder a demo did not create."""
    import shutil

    if directory.exists():
        if not (directory / DEMO_MARKER).is_file():
            raise click.ClickException(
                f"{directory} exists and is not a leasekit demo folder; choose another --dir"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / DEMO_MARKER).write_text("Created by 'leasekit demo'; replaced on each run.\n")


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("leasekit-demo"),
    show_default=True,
    help="Folder for the demo database and documents; recreated on each run.",
)
@_host
@_port
@click.option("--no-serve", is_flag=True, help="Seed the demo company, print tokens and stop.")
@click.option(
    "--tokens-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='Also write the tokens to this file as JSON ({"user": "token"}), for scripts.',
)
def demo(
    directory: Path,
    host: str | None,
    port: int | None,
    no_serve: bool,
    tokens_file: Path | None,
) -> None:
    """Seed a demo company on fake adapters, print a token per role, and serve it."""
    from leasekit.demo import seed_demo

    # Settings first: a typo in a variable must not cost the previous demo's folder.
    settings = _server_overrides(_demo_settings(directory), host, port)
    _fresh_demo_dir(directory)
    # Seeding has its own runtime, closed before serving: the server then starts exactly as
    # `leasekit serve` does on these settings, and --no-serve needs no server at all.
    runtime = _runtime(settings)
    try:
        company = seed_demo(runtime.services)
        today = runtime.services.clock.business_date()
    finally:
        runtime.close()
    _copy_samples(directory, today)
    _print_demo(company, None if no_serve else _base_url(settings))
    if tokens_file is not None:
        _write_tokens(tokens_file, company)
        click.echo(f"The tokens are also in {tokens_file}, readable by you only.")
    if no_serve:
        click.echo(f"Not serving (--no-serve); the demo company is in {directory}.")
    else:
        _serve(settings)


SAMPLE_SUFFIXES: Final = (".png", ".jpg", ".csv", ".xml", ".pdf")
"""The samples the demo hands out: an ID card photo, a face photo, files of changes to
partners, bank statements, a dealer's vehicle invoice."""


def _copy_samples(directory: Path, today: date) -> None:
    """Files to try the API with (an ID card photo and a face photo to upload, bank
    statements, changes to import), into ``<dir>/samples``; the face photo says it was taken
    now, as one taken at signing would, and the company's own statement is today's."""
    import shutil
    from importlib import resources

    from leasekit.demo import (
        DEMO_US_ACCOUNT,
        SAMPLE_FACE_PHOTO,
        company_statement,
        demo_face_photo,
    )

    samples = directory / "samples"
    samples.mkdir()
    for sample in resources.files("leasekit.samples").iterdir():
        if sample.name.endswith(SAMPLE_SUFFIXES):
            with resources.as_file(sample) as source:
                shutil.copyfile(source, samples / sample.name)
    (samples / SAMPLE_FACE_PHOTO).write_bytes(demo_face_photo(datetime.now(UTC)))
    (samples / "company-statement.xml").write_bytes(company_statement(DEMO_US_ACCOUNT, today))


def _write_tokens(path: Path, company: DemoCompany) -> None:
    """The tokens as ``{"username": "token"}``, readable by the owner only: they are logins."""
    import os

    tokens = {username: token for username, (_, token) in company.tokens.items()}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "w", encoding="utf-8") as handle:
        # The mode above applies to a new file only; one left by an earlier run keeps its own.
        os.chmod(path, 0o600)
        json.dump(tokens, handle, indent=2)
        handle.write("\n")


def _print_demo(company: DemoCompany, base_url: str | None) -> None:
    """The users and their tokens; with *base_url* (when serving), how to try the API."""
    from rich.console import Console
    from rich.table import Table

    from leasekit.demo import demo_ledger

    table = Table(title="Demo users (tokens are shown once)")
    for heading in ("user", "role", "partner", "token"):
        table.add_column(heading)
    names = {partner.id: partner.name for partner in company.partners}
    for username, (user, token) in company.tokens.items():
        table.add_row(username, user.role.value, names.get(user.partner_id or "", ""), token)
    console = Console(width=200)
    console.print(table)
    if base_url is None:
        return
    officer_token = company.tokens["officer"][1]
    console.print(
        f"Try: curl -H 'Authorization: Bearer {officer_token}' {base_url}/applications",
        soft_wrap=True,
    )
    console.print(f"API description: {base_url}/openapi.json; walkthrough: docs/walkthrough.md")
    console.print(
        f"Workbench: {base_url}/workbench (sign in as officer with its token above; "
        "docs/workbench.md)",
        soft_wrap=True,
    )
    console.print(f"Ledger: {demo_ledger()}; docs/accounting.md", soft_wrap=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def plugins(as_json: bool) -> None:
    """List loaded plugins, the adapter ids they register and the one active per kind."""
    from leasekit.plugins import create_plugin_manager, describe, report_tables

    settings = _settings()
    try:
        pm = create_plugin_manager(
            load_entrypoints=not settings.disable_plugin_autoload,
            blocked=settings.disabled_plugins,
        )
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None
    report = describe(pm, settings.adapters.model_dump())
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    from rich.console import Console

    console = Console(width=200)
    for table in report_tables(report):
        console.print(table)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to LEASEKIT_DATABASE_URL."""
    from leasekit.store.database import create_engine, current_revision, upgrade

    engine = create_engine(_settings().database_url.get_secret_value())
    try:
        upgrade(engine)
        click.echo(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@cli.group()
def audit() -> None:
    """The hash-chained audit log."""


EXIT_BROKEN: Final = 1
"""``audit verify``: the chain is broken (or a checkpoint is no longer met)."""
EXIT_NO_DATABASE: Final = 2
"""``audit verify``: there is no leasekit database to check at all."""


def _existing_database(settings: Settings) -> Engine:
    """An engine on the configured database, refused (exit code 2) when there is none: a
    check must never create the database it was asked to check, nor pass on an empty one."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from leasekit.store.database import create_engine

    url = settings.database_url.get_secret_value()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        _stop(f"no database at {parsed.database}; set LEASEKIT_DATABASE_URL", EXIT_NO_DATABASE)
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    except Exception as exc:
        engine.dispose()
        _stop(f"cannot open the database: {type(exc).__name__}", EXIT_NO_DATABASE)
    if not {"audit_log", "audit_chain", "audit_chain_head"} <= tables:
        engine.dispose()
        _stop("not a leasekit database (no audit log); run leasekit db upgrade", EXIT_NO_DATABASE)
    return engine


def _stop(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(code)


@cli.group()
def signatures() -> None:
    """The built-in ``local`` signature provider: sign as a signer, check signed PDFs."""


def _local_provider(data_dir: Path | None) -> Any:
    """The local provider on the envelopes under *data_dir* (the settings' if not given),
    with the provider's options from the settings."""
    from leasekit.builtin.signatures import FOLDER, LocalSignatureProvider
    from leasekit.domain.clock import SystemClock
    from leasekit.ports import AdapterContext, AdapterKind

    settings = _settings()
    folder = data_dir or settings.data_dir
    if not (folder / FOLDER).is_dir():
        raise click.ClickException(f"no envelopes under {folder / FOLDER}: is --data-dir right?")
    kind = AdapterKind.SIGNATURE_PROVIDER
    options = settings.adapter_options.get(kind.value, {})
    return LocalSignatureProvider.from_context(AdapterContext(options, folder, SystemClock(), kind))


_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The data folder the server keeps its envelopes in (LEASEKIT_DATA_DIR by default; "
    "the demo's is leasekit-demo).",
)


@signatures.command("sign")
@click.argument("envelope_id")
@click.argument("signer")
@_DATA_DIR
def signatures_sign(envelope_id: str, signer: str, data_dir: Path | None) -> None:
    """SIGNER (an e-mail address, or the name of a signer without one) signs ENVELOPE_ID,
    in the order the envelope lists its signers, with a certificate of the local authority;
    prints the envelope's progress as JSON."""
    provider = _local_provider(data_dir)
    try:
        provider.sign(envelope_id, signer)
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None
    progress = {
        "envelope_id": envelope_id,
        "status": str(provider.status(envelope_id)),
        "signed_by": list(provider.signed_by(envelope_id)),
    }
    click.echo(json.dumps(progress, ensure_ascii=False, indent=2))


@signatures.command("verify")
@click.argument("pdf", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_DATA_DIR
def signatures_verify(pdf: Path, data_dir: Path | None) -> None:
    """Check every signature in PDF against the local authority's root: intact, valid,
    trusted, nothing but permitted changes after it. Exit 1 if any check fails or there is
    no signature."""
    from leasekit.builtin.signatures import verify_signed_pdf

    root = _local_provider(data_dir).root_certificate_pem()
    try:
        found = verify_signed_pdf(pdf.read_bytes(), [root])
    except LeasekitError as exc:
        _stop(f"{pdf}: {exc}", EXIT_BROKEN)
    for check in found:
        verdict = "ok" if check.ok else "FAILED"
        click.echo(
            f"{check.signer}: {verdict} (intact {_yes(check.intact)}, valid "
            f"{_yes(check.valid)}, trusted {_yes(check.trusted)}, unchanged since "
            f"{_yes(check.later_changes_allowed)})"
        )
    if not found or not all(check.ok for check in found):
        _stop(f"{pdf}: {'no signature' if not found else 'a signature does not hold'}",
              EXIT_BROKEN)  # fmt: skip


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Also prove the chain still holds this checkpoint (catches removed newest entries).",
)
def audit_verify(checkpoint_file: Path | None) -> None:
    """Recompute the audit chain; exit 1 naming the first entry that was changed, exit 2 when
    there is no leasekit database to check."""
    from leasekit.store.audit import Checkpoint, verify, verify_checkpoint

    settings = _settings()
    engine = _existing_database(settings)
    try:
        if checkpoint_file is None:
            report = verify(engine)
        else:
            try:
                mark = Checkpoint.parse(checkpoint_file.read_text(encoding="utf-8"))
            except ValueError as exc:
                _stop(f"{checkpoint_file}: {exc}", EXIT_BROKEN)
            report = verify_checkpoint(engine, mark, _secret_key(settings))
    finally:
        engine.dispose()
    if not report.ok:
        where = f" at entry {report.first_broken}" if report.first_broken else ""
        _stop(
            f"audit chain broken{where}: {report.reason} ({report.checked} entries checked)",
            EXIT_BROKEN,
        )
    pending = f"; {report.unchained} more written, to be chained" if report.unchained else ""
    held = f", and it holds checkpoint {checkpoint_file}" if checkpoint_file else ""
    click.echo(f"audit chain intact: {report.checked} entries{pending}{held}")


@audit.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the checkpoint to this file.",
)
def audit_checkpoint(out: Path | None) -> None:
    """Print the chain's newest entry, signed with the installation's secret key. Keep it
    outside the database; `audit verify --checkpoint` later proves nothing was cut off."""
    from leasekit.store.audit import checkpoint

    settings = _settings()
    engine = _existing_database(settings)
    try:
        mark = checkpoint(engine, _secret_key(settings))
    finally:
        engine.dispose()
    if out is not None:
        out.write_text(f"{mark}\n", encoding="utf-8")
    click.echo(str(mark))


def _secret_key(settings: Settings) -> bytes:
    from leasekit.runtime import secret_key

    return secret_key(settings)


@cli.group()
def users() -> None:
    """Accounts that only the server machine makes: administrators, system accounts, and the
    enrolment of users without e-mail."""


def _on_server(work: Callable[[ServiceContext], _T], settings: Settings | None = None) -> _T:
    """Run *work* on a runtime of its own (on *settings*, the environment's by default); a
    refusal is the command's message, not a trace."""
    runtime = _runtime(settings or _settings())
    try:
        return work(runtime.services)
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        runtime.close()


@users.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", default="Administrator", show_default=True)
def users_create_admin(username: str, display_name: str) -> None:
    """Create the first administrator of an empty installation and print its token."""
    from leasekit.services.users import bootstrap_admin

    _, token = _on_server(lambda ctx: bootstrap_admin(ctx, username, display_name))
    click.echo(token)


@users.command("create-system")
@click.argument("username")
@click.option("--name", "display_name", default="Automated work", show_default=True)
def users_create_system(username: str, display_name: str) -> None:
    """Create an account for automated work (a bank's callback, a scheduler) and print its
    token; the API makes none."""
    from leasekit.services.users import create_system_account

    _, token = _on_server(lambda ctx: create_system_account(ctx, username, display_name))
    click.echo(token)


@users.command("enrol")
@click.argument("username")
def users_enrol(username: str) -> None:
    """Print a one-time enrolment secret for USERNAME (a user without e-mail), to hand over;
    the user exchanges it at POST /enrolments. An earlier secret stops working."""
    from leasekit.services.users import enrol_locally

    click.echo(_on_server(lambda ctx: enrol_locally(ctx, username)))


@cli.group()
def partners() -> None:
    """Dealers and other partners: changes imported from a spreadsheet, and the refresh
    of their ratings and monitoring."""


@partners.command("refresh")
def partners_refresh() -> None:
    """Rate every partner with business on the books and apply the monitoring rules: the
    scheduled job, for cron or the close of business. Each partner is rated once per
    business date, so a rerun (after a crash, say) does only what is left. Exits 1 if a
    partner could not be rated, naming it."""
    import sys

    from rich.console import Console
    from rich.progress import Progress

    from leasekit.services.partner_monitoring import refresh_partners

    console = Console(stderr=True)
    with Progress(console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("rating partners", total=None)
        report = _on_server(
            lambda ctx: refresh_partners(
                ctx,
                started=lambda total: progress.update(task, total=total),
                advanced=lambda: progress.advance(task),
            )
        )
    click.echo(
        f"partners rated: {report.rated}; rated earlier on this business date: "
        f"{report.already}; not rated: {len(report.failed)}"
    )
    for partner_id, why in report.failed:
        click.echo(f"  {partner_id}: {why}", err=True)
    if report.failed:
        sys.exit(1)


@partners.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what it would change.")
@click.option("--reason", help="Why, for each row without a reason of its own.")
@click.option(
    "--token",
    envvar="LEASEKIT_TOKEN",
    prompt="Your API token",
    hide_input=True,
    help="Your API token [LEASEKIT_TOKEN; asked for when unset]: the import acts as you.",
)
def partners_import(file: Path, dry_run: bool, reason: str | None, token: str) -> None:
    """Import changes to partners from FILE (CSV or XLSX): every row is checked first, then
    every change is made, or none (the columns are in docs/partners.md, "Batch updates").

    It runs on the configured database as the owner of the token, as the HTTP API would:
    with that user's role, each change recorded in the audit log under the token.
    """
    from leasekit.services.partner_imports import import_partners
    from leasekit.services.users import authenticate

    def run(ctx: ServiceContext) -> PartnerImport:
        actor = authenticate(ctx, token)
        with _progress() as progress, file.open("rb") as handle:
            chunks = iter(functools.partial(handle.read, 64 * 1024), b"")
            return import_partners(
                ctx, actor, chunks, reason=reason, dry_run=dry_run, progress=progress
            )

    _print_import(_on_server(_refusals_printed(run)))


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr for a long file, told (phase, rows done, rows in all)."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("reading", total=None)

        def advance(phase: str, done: int, total: int) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        yield advance


def _refusals_printed(work: Callable[[ServiceContext], _T]) -> Callable[[ServiceContext], _T]:
    """*work*, with a refused file's faults printed as a table and the command failed."""
    from leasekit.domain.partner_imports import ImportRefusedError

    def run(ctx: ServiceContext) -> _T:
        try:
            return work(ctx)
        except ImportRefusedError as refused:
            from rich.console import Console
            from rich.table import Table

            table = Table("row", "column", "problem", title="The file was refused")
            for fault in refused.faults:
                table.add_row(str(fault.row or ""), fault.column, fault.message)
            Console(width=200).print(table)
            count = len(refused.faults)
            raise click.ClickException(f"{count} faults in the file; nothing was changed") from None

    return run


def _print_import(report: PartnerImport) -> None:
    from rich.console import Console
    from rich.table import Table

    from leasekit.domain.partner_imports import ImportOutcome

    counts = f"{report.rows} row{'s' * (report.rows != 1)}, {report.changed} with changes"
    click.echo(
        {
            ImportOutcome.DRY_RUN: f"Dry run, nothing was changed: {counts} if applied.",
            ImportOutcome.APPLIED: f"Applied as import {report.id}: {counts}.",
            ImportOutcome.IMPORTED_BEFORE: f"This file was imported before, as import "
            f"{report.id} by {report.actor_id} at {report.created_at:%Y-%m-%d %H:%M} UTC: "
            f"{counts}. Nothing was changed now.",
        }[report.outcome]
    )
    changed = [result for result in report.results if result.changes]
    if not changed:
        return
    table = Table("row", "partner", "changes")
    for result in changed:
        lines = "\n".join(f"{change.column}: {change.change}" for change in result.changes)
        table.add_row(str(result.row), result.partner_id, lines)
    Console(width=200).print(table)


@cli.group(invoke_without_command=True)
@click.pass_context
def events(ctx: click.Context) -> None:
    """Deliveries of events to plugins, the notifier and handlers: how many, and the parked."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from leasekit.domain.identity import Actor
    from leasekit.services.events import list_deliveries
    from leasekit.services.storage import DeliveryQuery, DeliveryStatus

    def read(services: ServiceContext) -> tuple[dict[str, int], list[Any]]:
        with services.uow_factory() as uow:
            counts = uow.deliveries.counts()
        parked = DeliveryQuery(status=DeliveryStatus.PARKED)
        return counts, list_deliveries(services, Actor.system(), parked, limit=200).items

    counts, parked = _on_server(read)
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    click.echo(f"deliveries: {summary or 'none'}")
    if not parked:
        return
    table = Table("id", "subscriber", "event", "subject", "attempts", "last error",
                  title="Parked deliveries (leasekit events retry ID | discard ID)")  # fmt: skip
    for item in parked:
        table.add_row(item.id, item.subscriber, item.event_name,
                      f"{item.subject} {item.subject_id}", str(item.attempts),
                      (item.last_error or "")[:60])  # fmt: skip
    Console(width=200).print(table)


def _settle_delivery(name: str, delivery_id: str) -> None:
    from leasekit.domain.identity import Actor
    from leasekit.services import events as delivery_events

    settle = getattr(delivery_events, name)
    delivery = _on_server(lambda ctx: settle(ctx, Actor.system(), delivery_id))
    click.echo(f"delivery {delivery.id} to {delivery.subscriber}: {delivery.status}")


@events.command("retry")
@click.argument("delivery_id")
def events_retry(delivery_id: str) -> None:
    """Send a parked delivery again, due at once."""
    _settle_delivery("retry_delivery", delivery_id)


@events.command("discard")
@click.argument("delivery_id")
def events_discard(delivery_id: str) -> None:
    """Give a parked delivery up for good."""
    _settle_delivery("discard_delivery", delivery_id)


# --- collections ------------------------------------------------------------------------------

_TOKEN_OPTION = click.option(
    "--token",
    envvar="LEASEKIT_TOKEN",
    prompt="Your API token",
    hide_input=True,
    help="Your API token [LEASEKIT_TOKEN; asked for when unset]: the command acts as you.",
)


_DEMO_DIR_OPTION = click.option(
    "--demo-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The folder of a `leasekit demo`: use its settings rather than the environment's.",
)  # fmt: skip


def _funds_settings(demo_dir: Path | None) -> Settings | None:
    return None if demo_dir is None else _demo_settings(demo_dir)


@cli.group()
def funds() -> None:
    """Collections: debit runs and their bank files, the bank's results, statements."""


@funds.command("debit-run")
@click.argument("account_id")
@click.option(
    "--date",
    "business_date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The business date to collect for (today's business date if left out).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the bank file (its own name in this folder by default).",
)
@_DEMO_DIR_OPTION
@_TOKEN_OPTION
def funds_debit_run(
    account_id: str,
    business_date: datetime | None,
    out: Path | None,
    demo_dir: Path | None,
    token: str,
) -> None:
    """Collect what is due into creditor account ACCOUNT_ID and write the bank file: one run
    per account and business date, so running it again writes the same run's file."""
    from rich.console import Console
    from rich.table import Table

    from leasekit.services.debit_runs import StartDebitRun, debit_run_file, start_debit_run
    from leasekit.services.users import authenticate

    asked = StartDebitRun(account_id, None if business_date is None else business_date.date())

    def run(ctx: ServiceContext) -> tuple[Any, bytes | None]:
        actor = authenticate(ctx, token)
        with Console(stderr=True).status("building the run"):
            made = start_debit_run(ctx, actor, asked)
            content = (None if made.file is None
                       else b"".join(debit_run_file(ctx, actor, made.id)[2]))  # fmt: skip
        return made, content

    made, content = _on_server(run, _funds_settings(demo_dir))
    table = Table("run", "scheme", "business date", "collects on", "debits", "total",
                  title=f"Debit run into {account_id}")  # fmt: skip
    table.add_row(made.id, str(made.scheme), str(made.business_date), str(made.collection_date),
                  str(made.item_count), str(made.total))  # fmt: skip
    Console(width=200).print(table)
    if made.excluded:
        left = Table("contract", "why", title="Left out")
        for exclusion in made.excluded:
            left.add_row(exclusion.contract_number, exclusion.reason)
        Console(width=200).print(left)
    if content is not None:
        target = out or Path(made.file.key.rsplit("/", 1)[-1])
        target.write_bytes(content)
        click.echo(f"The bank file is {target} ({len(content)} bytes).")


@funds.command("import-results")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DEMO_DIR_OPTION
@_TOKEN_OPTION
def funds_import_results(file: Path, demo_dir: Path | None, token: str) -> None:
    """Import the bank's results for debits from FILE (a NACHA return file, a SEPA pain.002
    or camt.054, or the bank's CSV): checked whole first, then applied at once, or refused
    with the position at fault. The same file again changes nothing."""
    from rich.console import Console
    from rich.table import Table

    from leasekit.domain.debit_runs import ResultOutcome
    from leasekit.services.debit_runs import import_debit_results
    from leasekit.services.users import authenticate

    def run(ctx: ServiceContext) -> tuple[Any, bool]:
        actor = authenticate(ctx, token)
        with _progress() as progress:
            return import_debit_results(
                ctx, actor, [file.read_bytes()], filename=file.name, progress=progress
            )

    report, applied = _on_server(run, _funds_settings(demo_dir))
    before = f"This file was imported before, as {report.id}; nothing was changed now."
    click.echo(f"Imported as {report.id}." if applied else before)
    counts = Table(*map(str, ResultOutcome), title="What the lines did")
    counts.add_row(*(str(report.count(outcome)) for outcome in ResultOutcome))
    Console(width=200).print(counts)
    odd = [line for line in report.lines if line.outcome is not ResultOutcome.COLLECTED]
    if odd:
        table = Table("trace", "outcome", "code", "action", "note")
        for line in odd:
            table.add_row(line.trace, str(line.outcome), line.reason_code or "",
                          line.action or "", line.note)  # fmt: skip
        Console(width=200).print(table)


@funds.command("bank-results")
@click.argument("run_id")
@click.option(
    "--return",
    "returned",
    multiple=True,
    metavar="CONTRACT=CODE",
    help="A debit the bank returns, by contract number (or trace id), with its "
    "reason code (R01, AM04 ...); repeatable. The others were collected.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--demo-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The folder of a running `leasekit demo`: use its settings.",
)
@_TOKEN_OPTION
def funds_bank_results(
    run_id: str, returned: tuple[str, ...], out: Path, demo_dir: Path | None, token: str
) -> None:
    """Write the results file a bank would send for run RUN_ID, in the run's scheme (a NACHA
    return file, a SEPA pain.002, a CSV): for demos and tests against the fake bank."""
    from leasekit import bankfiles
    from leasekit.services.debit_runs import debit_batch
    from leasekit.services.users import authenticate

    def run(ctx: ServiceContext) -> bytes:
        batch = debit_batch(ctx, authenticate(ctx, token), run_id)
        traces = {item.remittance.split()[0]: item.item_id for item in batch.items}
        codes = {}
        for pair in returned:
            key, _, code = pair.partition("=")
            if not code or traces.get(key, key) not in traces.values():
                raise click.BadParameter(f"{pair!r}: not CONTRACT=CODE of a debit in the run")
            codes[traces.get(key, key)] = code
        return bankfiles.result_file(batch, codes, created_at=ctx.clock.now())

    content = _on_server(run, _funds_settings(demo_dir))
    out.write_bytes(content)
    click.echo(f"Wrote {out} ({len(content)} bytes).", err=True)


@funds.command("import-statement")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DEMO_DIR_OPTION
@_TOKEN_OPTION
def funds_import_statement(file: Path, demo_dir: Path | None, token: str) -> None:
    """Import the company's bank statement FILE (camt.053, MT940 or the bank's CSV): each
    credit line a previous import did not bring is matched to a contract and paid, or left on
    the reconciliation queue. The same file again changes nothing."""
    from rich.console import Console
    from rich.table import Table

    from leasekit.services.reconciliation import import_statement
    from leasekit.services.users import authenticate

    def run(ctx: ServiceContext) -> tuple[Any, bool]:
        actor = authenticate(ctx, token)
        with Console(stderr=True).status("reconciling"):
            return import_statement(ctx, actor, [file.read_bytes()], filename=file.name)

    report, applied = _on_server(run, _funds_settings(demo_dir))
    before = f"This file was imported before, as {report.id}; nothing was changed now."
    click.echo(f"Imported as {report.id}." if applied else before)
    table = Table("credits", "matched", "queued", "imported before",
                  title=f"Statement of {report.account}")  # fmt: skip
    table.add_row(*map(str, (report.credits, report.matched, report.queued, report.known)))
    Console(width=200).print(table)


# --- accounting reports -----------------------------------------------------------------------

_PERIOD_OPTIONS = (
    click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True,
                 help="The first business date of the period."),
    click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True,
                 help="The last business date of the period."),
    click.option("--currency", help="The currency's ledger (the company's currency if left out)."),
)  # fmt: skip
_CSV_OPTION = click.option("--csv", "as_csv", is_flag=True, help="Write CSV to stdout.")


def _period_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_PERIOD_OPTIONS):
        command = option(command)
    return command


@cli.group()
def accounting() -> None:
    """Accounting reports, for finance: the trial balance, an account's ledger, a contract's
    sub-ledger; as tables, or CSV with --csv."""


def _write_csv(rows: Iterable[Any]) -> None:
    import sys

    from leasekit.services.accounting_reports import csv_chunks

    out = sys.stdout.buffer
    for chunk in csv_chunks(rows):
        out.write(chunk)
    out.flush()


def _report_table(title: str, header: Any, rows: Iterable[Any], caption: str = "") -> None:
    from rich.console import Console
    from rich.table import Table

    from leasekit.services.accounting_reports import cell_text

    table = Table(*header, title=title, caption=caption or None)
    for row in rows:
        table.add_row(*map(cell_text, row))
    Console(width=200).print(table)


@accounting.command("trial-balance")
@_period_options
@click.option("--all", "every_account", is_flag=True,
              help="Also the accounts that neither moved nor hold a balance.")  # fmt: skip
@_CSV_OPTION
@_DEMO_DIR_OPTION
@_TOKEN_OPTION
def accounting_trial_balance(
    start: datetime, end: datetime, currency: str | None, every_account: bool, as_csv: bool,
    demo_dir: Path | None, token: str,
) -> None:  # fmt: skip
    """Each account's balance before the period, its debits and credits in it, its balance
    after; the totals, and whether the books balance."""
    from leasekit.services.accounting_reports import (
        Period,
        trial_balance,
        trial_balance_csv_rows,
    )
    from leasekit.services.users import authenticate

    def run(ctx: ServiceContext) -> Any:
        period = Period(start.date(), end.date())
        return trial_balance(ctx, authenticate(ctx, token), period, currency,
                             every_account=every_account)  # fmt: skip

    report = _on_server(run, _funds_settings(demo_dir))
    rows = trial_balance_csv_rows(report)
    if as_csv:
        _write_csv(rows)
        return
    balanced = "balanced" if report.balanced else "NOT BALANCED"
    _report_table(f"Trial balance {report.from_date} to {report.to_date}, {report.currency}",
                  next(rows), rows, balanced)  # fmt: skip


@accounting.command("ledger")
@click.argument("account")
@_period_options
@_CSV_OPTION
@_DEMO_DIR_OPTION
@_TOKEN_OPTION
def accounting_ledger(
    account: str, start: datetime, end: datetime, currency: str | None, as_csv: bool,
    demo_dir: Path | None, token: str,
) -> None:  # fmt: skip
    """Every line of ACCOUNT in the period with the running balance, between the balance
    before the period and the balance after it."""
    from leasekit.services.accounting_reports import Period, ledger_csv_rows
    from leasekit.services.users import authenticate

    def run(ctx: ServiceContext) -> None:
        period = Period(start.date(), end.date())
        rows = ledger_csv_rows(ctx, authenticate(ctx, token), account, period, currency)
        if as_csv:
            _write_csv(rows)
        else:
            _report_table(f"Ledger of {account}, {period.start} to {period.end}", next(rows),
                          rows)  # fmt: skip

    _on_server(run, _funds_settings(demo_dir))


@accounting.command("sub-ledger")
@click.argument("contract_id")
@_CSV_OPTION
@_DEMO_DIR_OPTION
@_TOKEN_OPTION
def accounting_sub_ledger(
    contract_id: str, as_csv: bool, demo_dir: Path | None, token: str
) -> None:
    """Every line carrying contract CONTRACT_ID, by account, with balances; and whether its
    receivable account equals what it still owes."""
    from leasekit.services.accounting_reports import contract_sub_ledger, sub_ledger_csv_rows
    from leasekit.services.users import authenticate

    report = _on_server(
        lambda ctx: contract_sub_ledger(ctx, authenticate(ctx, token), contract_id),
        _funds_settings(demo_dir),
    )
    rows = sub_ledger_csv_rows(report)
    if as_csv:
        _write_csv(rows)
        return
    _report_table(f"Sub-ledger of {report.contract_number} ({report.currency})", next(rows), rows)
    verdict = "matches" if report.matches else f"differs by {report.difference}"
    click.echo(
        f"Receivable account {report.receivable_account} ({', '.join(report.receivable_parts)})"
        f": {report.receivable_balance}; outstanding {report.outstanding}; {verdict}."
    )


@cli.group()
def eod() -> None:
    """The close of business: the day's steps over the whole book, then the next business
    date."""


@eod.command("run")
@click.option(
    "--distribute/--in-process",
    default=None,
    help="Give the partitions to `leasekit worker` processes (PostgreSQL), or run them here "
    "[LEASEKIT_EOD__DISTRIBUTE; in this process by default].",
)
@_DEMO_DIR_OPTION
def eod_run(distribute: bool | None, demo_dir: Path | None) -> None:
    """Close the current business date: every step, each partition once; the business date
    moves to the next day only when all are done. A close that stopped (a crash, a failing
    step) resumes where it stopped when run again. Exits 1, naming the step, if a step
    fails."""
    from leasekit.services.end_of_day import CloseFailed, close_business_day

    settings = _funds_settings(demo_dir) or _settings()
    runtime = _runtime(settings)
    try:
        runner = runtime.partition_runner(distribute)
        with _step_progress() as (started, advanced):
            closed = close_business_day(
                runtime.services, runner=runner, started=started, advanced=advanced
            )
    except CloseFailed as exc:
        click.echo(f"the close did not finish: {exc}", err=True)
        click.echo("the business date has not moved; run `leasekit eod run` again", err=True)
        raise SystemExit(1) from None
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        runtime.close()
    _print_close(closed.business_date, closed.summary)


@contextlib.contextmanager
def _step_progress() -> Iterator[tuple[Callable[[str, int], None], Callable[[int], None]]]:
    """A progress bar per step on stderr: told each step's partitions, then each one done."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, disable=not console.is_terminal) as bar:
        current: list[Any] = []

        def started(step: str, total: int) -> None:
            current[:] = [bar.add_task(step, total=total)]

        def advanced(done: int) -> None:
            bar.advance(current[0], done)

        yield started, advanced


def _print_close(business_date: date, summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("step", "figure", "value", title=f"Business date {business_date} closed")
    for step, figures in summary.items():
        for name, value in figures.items():
            table.add_row(step, name, str(value))
    Console(width=120).print(table)


@eod.command("status")
@click.option(
    "--date", "business_date", type=click.DateTime(["%Y-%m-%d"]),
    help="The business date whose close to show (the current one's if left out).",
)  # fmt: skip
@_DEMO_DIR_OPTION
def eod_status(business_date: datetime | None, demo_dir: Path | None) -> None:
    """The business date, and how far the close of a date has come, step by step."""
    from leasekit.services.end_of_day import close_progress

    def read(ctx: ServiceContext) -> tuple[date, Any]:
        today = ctx.clock.business_date()
        asked = business_date.date() if business_date is not None else today
        return today, close_progress(ctx, asked)

    today, progress = _on_server(read, _funds_settings(demo_dir))
    click.echo(f"business date: {today}")
    if progress is None:
        click.echo("no close of that date has begun")
        return
    click.echo(f"close of {progress.business_date}: {progress.state}")
    for step in progress.steps:
        click.echo(f"  {step.name}: {step.done}/{step.total} partitions done")


@cli.command()
def worker() -> None:
    """Work the close of business's partitions as `leasekit eod run --distribute` queues
    them, until stopped (Ctrl+C or SIGTERM end the partition in hand first). Any number of
    workers, on any machines that reach the PostgreSQL database, share the work."""
    from leasekit.jobs import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = _settings()
    runtime = _runtime(settings)
    try:
        run_worker(
            runtime, settings.database_url.get_secret_value(),
            heartbeat_seconds=settings.eod.worker_heartbeat_seconds,
        )  # fmt: skip
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        runtime.close()


# --- the portfolio simulator ------------------------------------------------------------------

SIMULATION_DATABASE: Final = "simulation.db"
"""The SQLite file a simulation writes its book to in its output folder."""
SIMULATION_FILES: Final = "files"
"""The folder under the output folder for the run's documents (the debit files)."""


def _behaviour(ctx: click.Context, param: click.Parameter, value: str) -> Any:
    from leasekit.simulation.behaviour import parse_behaviour

    try:
        return parse_behaviour(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _start(ctx: click.Context, param: click.Parameter, value: datetime | None) -> date:
    start = date.today().replace(day=1) if value is None else value.date()
    if start.day > 28:
        raise click.BadParameter(f"{start}: start on the 28th of a month or earlier")
    return start


def _simulation_folder(out: Path, force: bool) -> Path:
    """*out*, made if need be, without a simulation's database (removed with *force*)."""
    import shutil

    database = out / SIMULATION_DATABASE
    if database.exists() and not force:
        raise click.ClickException(
            f"{out} holds a simulation already ({database}); choose another --out or --force"
        )
    for suffix in ("", "-wal", "-shm"):
        (out / f"{SIMULATION_DATABASE}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(out / SIMULATION_FILES, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


@cli.command()
@click.option("--contracts", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
              help="How many loans the synthetic book holds.")  # fmt: skip
@click.option("--months", type=click.IntRange(1, 120), default=12, show_default=True,
              help="How many calendar months to move the business date through.")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the charts, their CSVs and (without --database) the "
                   "database.")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True,
              help="The same seed gives the same book, payers and figures.")  # fmt: skip
@click.option("--database", help="An empty database to simulate on (a PostgreSQL URL); a new "
              f"SQLite file {SIMULATION_DATABASE} in --out if left out.")  # fmt: skip
@click.option("--behaviour", default="on_time=0.85,late=0.08,default=0.04,early=0.03",
              show_default=True, callback=_behaviour,
              help="The share of each kind of payer: on_time, late, default, early; they sum "
                   "to 1.")  # fmt: skip
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), callback=_start,
              help="The first business date (the 28th of a month at the latest) [the first "
                   "of this month].")  # fmt: skip
@click.option("--deliver-events", is_flag=True,
              help="Deliver the run's events as it goes (the voucher engine books every "
                   "payment, as on a server); slower. Without it they wait in the outbox for "
                   "the first server on the database.")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace the simulation already in --out.")
@click.pass_context
def simulate(
    click_ctx: click.Context, contracts: int, months: int, out: Path, seed: int,
    database: str | None, behaviour: Any, start: date, deliver_events: bool, force: bool,
) -> None:  # fmt: skip
    """Simulate a book of loans through months of debit runs, returns, late payments,
    defaults and early settlements, on the real services and a fresh database, and chart
    delinquency, roll rates, collections and exposure by partner grade (docs/simulation.md)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        click.echo("leasekit simulate draws its charts with matplotlib: "
                   "pip install 'leasekit[simulate]'", err=True)  # fmt: skip
        click_ctx.exit(2)
    from leasekit.simulation.run import Simulation

    folder = _simulation_folder(out, force)
    url = database or f"sqlite:///{folder / SIMULATION_DATABASE}"
    asked = Simulation(contracts, months, start, seed, behaviour)
    result, seconds = _simulated(asked, folder, url, deliver_events)
    _simulation_report(asked, result, seconds, folder, url)


def _simulated(asked: Any, folder: Path, url: str, deliver: bool) -> tuple[Any, float]:
    """Run *asked* with a progress bar for the book and one per month, then wait for the
    events still to be delivered if it *deliver*s them; (result, seconds)."""
    import time

    from rich.console import Console
    from rich.progress import Progress

    from leasekit.simulation.figures import month_of
    from leasekit.simulation.run import simulate as run_simulation
    from leasekit.simulation.run import simulation_runtime

    started = time.perf_counter()
    try:
        runtime = simulation_runtime(folder / SIMULATION_FILES, url, asked.start, deliver=deliver)
    except LeasekitError as exc:
        raise click.ClickException(str(exc)) from None
    console = Console(stderr=True)
    try:
        with Progress(console=console) as bar:
            booking = bar.add_task("writing the book", total=asked.contracts)
            months: dict[str, Any] = {}

            def day_done(day: date) -> None:
                month = month_of(day)
                if month not in months:
                    months[month] = bar.add_task(month, total=_days_in(day, asked.start, asked.end))
                bar.advance(months[month])

            result = run_simulation(
                runtime.services, asked,
                booked=lambda done: bar.update(booking, completed=done), day_done=day_done,
            )  # fmt: skip
        with console.status("delivering the events still queued (the voucher engine books them)"):
            runtime.close()
    except LeasekitError as exc:
        runtime.close()
        raise click.ClickException(str(exc)) from None
    return result, time.perf_counter() - started


def _days_in(day: date, start: date, end: date) -> int:
    """Simulated days in *day*'s month (the first and the last may be short)."""
    from datetime import timedelta

    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    first, last = max(day.replace(day=1), start), min(following - timedelta(days=1), end)
    return (last - first).days + 1


def _simulation_report(asked: Any, result: Any, seconds: float, folder: Path, url: str) -> None:
    """Write the CSVs and charts; print the summary and the paths."""
    from rich.console import Console
    from rich.table import Table

    from leasekit.simulation.behaviour import Payer
    from leasekit.simulation.charts import draw_charts, tables, write_tables
    from leasekit.simulation.figures import DELINQUENT

    made = tables(result)
    written = write_tables(folder, made) + draw_charts(folder, made)
    last = result.month_ends[-1]
    collected = sum((Decimal(row[-1]) for row in made["collections"][1:]), Decimal(0))
    payers = {payer: sum(1 for one in result.conduct.values() if one.payer is payer)
              for payer in Payer}  # fmt: skip
    delinquent = {str(bucket): sum(1 for b in last.buckets.values() if b is bucket)
                  for bucket in DELINQUENT}  # fmt: skip
    tally = result.tally
    summary = Table("", "", title=f"Simulated {asked.start} to {asked.end}", show_header=False)
    for label, value in (
        ("contracts", f"{len(result.book):,} ({', '.join(f'{p} {n}' for p, n in payers.items())})"),
        ("debit runs", f"{tally.debit_runs:,}"),
        ("debits", f"{tally.debits:,}, {tally.returned:,} returned"),
        ("late transfers", f"{tally.transfers:,}"),
        ("paid off early", f"{tally.settled:,}"),
        ("collected", f"{collected:,} USD"),
        (f"delinquent on {last.on}", ", ".join(f"{k}: {v}" for k, v in delinquent.items())),
        ("principal outstanding", f"{sum(last.exposure.values(), Decimal(0)):,} USD"),
        ("took", f"{seconds:,.0f} s"),
    ):
        summary.add_row(label, value)
    Console(width=200).print(summary)
    where = folder / SIMULATION_DATABASE if url.startswith("sqlite") else "the one --database names"
    click.echo(f"The database: {where}")
    for path in written:
        click.echo(f"Wrote {path}")
