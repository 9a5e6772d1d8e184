"""Pre-approval reads an application's bank statements, on SQLite and PostgreSQL: income facts
from a clean one; a doctored one (a broken balance chain in camt.053, a PDF saved again after
the bank produced it) raises a fact the rules refer or decline on, each sign kept as a finding;
an unreadable one is a fact, never a failed assessment."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import attrs
import pytest

from leasekit.builtin.statements import Camt053Parser
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.domain.rules import RuleAction
from leasekit.domain.statements import BankStatement, StatementLine
from leasekit.money import Money
from leasekit.plugins import Adapters
from leasekit.ports import AdapterKind
from leasekit.ports.kinds import KINDS
from leasekit.services import applications, documents, rules
from leasekit.services.calls import CallPolicy
from leasekit.services.context import ServiceContext
from leasekit.testing import Fakes
from leasekit.testing.fakes import FakeStatementParser

from .conftest import register_customer, register_vehicle
from .test_applications import draft_command
from .test_pre_approval import assess
from .test_pre_approval_parties import with_adapter
from .test_statement_pdfs import bank_pdf, edited

CAMT = Path(__file__).parents[1] / "plugins" / "statements" / "camt053.xml"
RULES = (
    rules.RuleInput("contradicts_itself", "statement_tampering_high > 0", RuleAction.DECLINE,
                    "a bank statement contradicts itself"),
    rules.RuleInput("looks_edited", "statement_tampering_signals > 0", RuleAction.REFER,
                    "a bank statement shows signs of editing"),
    rules.RuleInput("unreadable", "statement_unreadable > 0", RuleAction.REFER,
                    "a bank statement could not be read"),
)  # fmt: skip


@pytest.fixture
def ctx(ctx: ServiceContext) -> ServiceContext:
    """Two attempts per party, no pause between them."""
    return attrs.evolve(ctx, party_calls=CallPolicy(timeout_seconds=5, retries=1,
                                                    retry_backoff_seconds=0))  # fmt: skip


@pytest.fixture(autouse=True)
def published(ctx: ServiceContext, manager: Actor, director: Actor) -> None:
    saved = rules.save_rule_set(ctx, manager, rules.SaveRuleSet("pre_approval", RULES))
    rules.transition_rule_set_version(ctx, director, saved.id, "publish")


def cny(amount: str) -> Money:
    return Money(amount, "CNY")


def salaried() -> BankStatement:
    """Three months of a salary, rent paid, every balance printed and consistent."""
    balance, lines = cny("1000.00"), []
    for month in (1, 2, 3):
        for number, (day, amount, name) in enumerate(
            [(10, "12000.00", "Employer Ltd"), (12, "-4000.00", "Landlord")], start=month * 10
        ):
            balance = balance + cny(amount)
            booked = date(2024, month, day)
            lines.append(
                StatementLine(f"tx-{number}", booked, cny(amount), name, name, balance=balance)
            )
    return BankStatement(
        "acct", date(2024, 1, 1), date(2024, 3, 31), cny("1000.00"), balance, lines
    )


def with_statements(ctx: ServiceContext, dealer: Actor, partner: Partner, *files: bytes) -> str:
    """A submitted application with *files* as its bank statements, the first the customer's
    own (kept for each of its applications), the others the application's."""
    customer, vehicle = register_customer(ctx, dealer), register_vehicle(ctx, dealer)
    draft = applications.create_draft(ctx, dealer, draft_command(partner, customer, vehicle))
    owners = [(OwnerKind.CUSTOMER, customer)] + [(OwnerKind.APPLICATION, draft.id)] * len(files)
    for content, (owner_kind, owner_id) in zip(files, owners, strict=False):
        upload = documents.UploadDocument(owner_kind, owner_id, DocumentKind.BANK_STATEMENT, "s")
        documents.upload_document(ctx, dealer, upload, [content])
    applications.transition_application(ctx, dealer, draft.id, "submit")
    return draft.id


def test_a_clean_statement_gives_the_income_facts(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    content = FakeStatementParser.render(salaried())
    (assessment,) = assess(ctx, with_statements(ctx, dealer, partner, content))
    facts = assessment["facts"]
    assert (assessment["outcome"], assessment["findings"]) == ("pass", [])
    assert facts["statement_count"] == "1"
    assert facts["statement_monthly_income"] == "12000.00"
    assert facts["statement_income_regularity"] == "1.00"
    assert facts["statement_months_covered"] == "3"
    assert facts["statement_balance_trend"] == "7747.72"
    assert (facts["statement_tampering_signals"], facts["statement_unreadable"]) == ("0", "0")


def test_no_statement_leaves_the_income_unknown(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    (assessment,) = assess(ctx, with_statements(ctx, dealer, partner))
    facts = assessment["facts"]
    assert (facts["statement_count"], facts["statement_monthly_income"]) == ("0", None)
    assert assessment["outcome"] == "pass"


def test_a_broken_balance_chain_in_a_camt053_statement_declines(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    ctx = with_adapter(ctx, fakes, AdapterKind.STATEMENT_PARSER, Camt053Parser())
    original = CAMT.read_bytes()
    doctored = original.replace(b'<Amt Ccy="EUR">3250.00</Amt>', b'<Amt Ccy="EUR">5250.00</Amt>')
    assert doctored != original
    (assessment,) = assess(ctx, with_statements(ctx, dealer, partner, original, doctored))
    assert assessment["outcome"] == "decline"
    assert assessment["reasons"][0] == "contradicts_itself: a bank statement contradicts itself"
    assert assessment["facts"]["statement_count"] == "2"
    assert int(assessment["facts"]["statement_tampering_high"]) >= 1
    assert any("closing_balance (high)" in finding for finding in assessment["findings"])


def test_a_pdf_saved_again_after_production_is_referred(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    doctored = edited(bank_pdf(), {"/Title": "Statement"})
    (assessment,) = assess(ctx, with_statements(ctx, dealer, partner, doctored))
    assert assessment["outcome"] == "refer"
    assert assessment["reasons"] == ["looks_edited: a bank statement shows signs of editing"]
    (finding,) = assessment["findings"]
    assert "pdf_incremental_update (medium)" in finding
    assert assessment["facts"]["statement_monthly_income"] is None, "no parser reads PDFs"


def test_the_banks_own_pdf_passes(ctx: ServiceContext, dealer: Actor, partner: Partner) -> None:
    (assessment,) = assess(ctx, with_statements(ctx, dealer, partner, bank_pdf()))
    assert (assessment["outcome"], assessment["facts"]["statement_tampering_signals"]) == (
        "pass", "0"
    )  # fmt: skip


class PdfParser:
    """A parser that reads PDFs: it finds the salaried statement in any file."""

    reads_pdf = True

    def parse(self, content: bytes) -> BankStatement:
        assert content.startswith(b"%PDF-")
        return salaried()


def test_a_pdf_is_parsed_when_the_parser_reads_pdfs(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    ctx = with_adapter(ctx, fakes, AdapterKind.STATEMENT_PARSER, PdfParser())
    (assessment,) = assess(ctx, with_statements(ctx, dealer, partner, bank_pdf()))
    assert assessment["facts"]["statement_monthly_income"] == "12000.00"


def test_an_unreadable_statement_is_a_fact_not_a_failure(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    (assessment,) = assess(ctx, with_statements(ctx, dealer, partner, b"not, a, statement\n"))
    assert assessment["outcome"] == "refer"
    assert assessment["facts"]["statement_unreadable"] == "1"
    assert assessment["reasons"] == ["unreadable: a bank statement could not be read"]
    (finding,) = assessment["findings"]
    assert finding.endswith(": could not be read")
    assert assessment["unavailable"] == []


def test_a_parser_that_does_not_answer_refers_by_name(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    application_id = with_statements(ctx, dealer, partner, FakeStatementParser.render(salaried()))
    fakes.statement_parser.fail_next(times=2)
    (assessment,) = assess(ctx, application_id)
    assert (assessment["outcome"], assessment["unavailable"]) == ("refer", ["statement_parser"])
    assert assessment["facts"]["statement_monthly_income"] is None


def test_without_a_parser_a_text_statement_refers_the_case(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    application_id = with_statements(ctx, dealer, partner, FakeStatementParser.render(salaried()))
    kinds = {kind: getattr(fakes, kind.value) for kind, spec in KINDS.items() if spec.fake}
    del kinds[AdapterKind.STATEMENT_PARSER]
    ctx = attrs.evolve(ctx, adapters=Adapters.from_instances(kinds, adapter_id="fake"))
    (assessment,) = assess(ctx, application_id)
    assert (assessment["outcome"], assessment["unavailable"]) == ("refer", ["statement_parser"])
