"""The values that cross ports refuse what no party could mean: floats, unbalanced vouchers,
mixed currencies, unsafe document keys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from leasekit.domain.clock import FixedClock
from leasekit.errors import ConfigurationError, ValidationError
from leasekit.money import Money
from leasekit.ports import (
    AdapterContext,
    AdapterKind,
    ApprovalCase,
    BankStatement,
    CreditReport,
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    EntrySide,
    FaceMatch,
    LedgerLine,
    LedgerVoucher,
    Message,
    RuleHit,
    RuleOutcome,
    Signer,
    StatementLine,
    Verdict,
    check_document_key,
    debit_items,
)

NOW = datetime(2024, 1, 15, 9, 30, tzinfo=UTC)


def _item(item_id: str, amount: str, currency: str = "CNY") -> DebitItem:
    return DebitItem(item_id, "Debtor", "6222", Money(amount, currency), "M-1")


def test_a_similarity_must_be_exact_and_between_zero_and_one() -> None:
    assert FaceMatch("0.93", matched=True).similarity == Decimal("0.93")
    with pytest.raises(TypeError, match="float"):
        FaceMatch(0.93, matched=True)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="similarity"):
        FaceMatch(Decimal("1.01"), matched=True)


@pytest.mark.parametrize("score", [-1, 1001])
def test_a_credit_score_is_on_the_0_to_1000_scale(score: int) -> None:
    with pytest.raises(ValidationError, match="score"):
        CreditReport("ref-1", "id", score, "A", NOW)


@pytest.mark.parametrize(
    ("field", "value"),
    [("score", 700.0), ("score", True), ("open_accounts", 1.5), ("delinquent_accounts", -1)],
)
def test_report_counts_are_whole_numbers(field: str, value: object) -> None:
    report = CreditReport("ref-1", "id", 700, "B", NOW)
    with pytest.raises(ValidationError, match=f"{field}: .*whole number"):
        attrs.evolve(report, **{field: value})


@pytest.mark.parametrize(("field", "value"), [("term_months", 36.0), ("credit_score", 720.5)])
def test_an_approval_case_counts_in_whole_numbers(field: str, value: object) -> None:
    case = ApprovalCase("app-1", "p-1", "loan", Money("1000", "CNY"), 36, "0.2")
    with pytest.raises(ValidationError, match=f"{field}: must be a whole number"):
        attrs.evolve(case, **{field: value})


def test_a_report_without_a_score_is_a_thin_file_not_an_error() -> None:
    assert not CreditReport("ref-1", "id", None, None, NOW).has_file


@pytest.mark.parametrize(("score", "grade"), [(None, "A"), (700, None)])
def test_a_report_has_both_a_score_and_a_grade_or_neither(
    score: int | None, grade: str | None
) -> None:
    with pytest.raises(ValidationError, match="both a score and a grade") as caught:
        CreditReport("ref-1", "id", score, grade, NOW)
    assert [error.field for error in caught.value.errors] == ["grade"]


def test_report_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match="time zone"):
        CreditReport("ref-1", "id", 700, "B", datetime(2024, 1, 15, 9, 30))


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([_item("i-1", "10.00"), _item("i-1", "20.00")], "items.1.item_id"),
        ([_item("i-1", "10.00"), _item("i-2", "20.00"), _item("i-3", "5.00", "USD")],
         "items.2.amount"),
        ([], "items"),
    ],
)  # fmt: skip
def test_a_debit_batch_is_refused_at_its_first_bad_item(items: list[DebitItem], field: str) -> None:
    """A batch streamed from a run is checked as it is read, item by item."""
    read = debit_items(DebitBatch("b-1", "L", "6222", date(2024, 1, 20), iter(items)))
    for good in items[:-1]:
        assert next(read)[1] is good
    with pytest.raises(ValidationError) as caught:
        next(read)
    assert [error.field for error in caught.value.errors] == [field]


def test_debit_amounts_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="amount: must be positive"):
        _item("a", "0")


def test_a_returned_debit_needs_a_reason_code() -> None:
    with pytest.raises(ValidationError, match="reason_code"):
        DebitReturn("b-1", "a", DebitOutcome.RETURNED, Money("1", "CNY"))
    DebitReturn("b-1", "a", "collected", Money("1", "CNY"))


def test_a_voucher_must_balance_per_currency() -> None:
    debit = LedgerLine("1221", EntrySide.DEBIT, Money("100.00", "CNY"))
    with pytest.raises(ValidationError, match="differ in CNY"):
        LedgerVoucher(
            "v-1",
            date(2024, 1, 15),
            "x",
            [debit, LedgerLine("1002", "credit", Money("99.99", "CNY"))],
        )
    with pytest.raises(ValidationError, match="CNY, USD"):
        LedgerVoucher(
            "v-1",
            date(2024, 1, 15),
            "x",
            [debit, LedgerLine("1002", "credit", Money("100", "USD"))],
        )
    with pytest.raises(ValidationError, match="two lines"):
        LedgerVoucher("v-1", date(2024, 1, 15), "x", [debit])
    voucher = LedgerVoucher(
        "v-1", date(2024, 1, 15), "x", [debit, LedgerLine("1002", "credit", Money("100", "CNY"))]
    )
    assert isinstance(voucher.lines, tuple)


def test_a_ledger_lines_dimensions_are_known_read_only_and_give_its_contract() -> None:
    line = LedgerLine(
        "1221", "debit", Money("1.00", "CNY"), dimensions={"contract": "C-1", "branch": "SH"}
    )
    assert line.contract_id == "C-1"
    assert line == attrs.evolve(line, dimensions={"branch": "SH", "contract": "C-1"})
    assert hash(line) == hash(attrs.evolve(line))
    with pytest.raises(TypeError):
        line.dimensions["contract"] = "C-2"  # type: ignore[index]
    assert LedgerLine("1002", "credit", Money("1.00", "CNY")).contract_id is None


@pytest.mark.parametrize(
    ("dimensions", "field"),
    [({"cost_centre": "A"}, "dimensions.cost_centre"), ({"contract": " "}, "dimensions.contract")],
)
def test_an_unknown_or_blank_dimension_is_named(dimensions: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        LedgerLine("1221", "debit", Money("1.00", "CNY"), dimensions=dimensions)
    assert [error.field for error in caught.value.errors] == [field]


def test_a_ledger_line_counts_debits_plus_and_credits_minus() -> None:
    assert LedgerLine("1221", "debit", Money("1.50", "CNY")).signed_amount == Money("1.50", "CNY")
    assert LedgerLine("1221", "credit", Money("1.50", "CNY")).signed_amount == Money("-1.50", "CNY")


def test_a_statement_is_in_one_currency_and_knows_if_it_balances() -> None:
    line = StatementLine("t-1", date(2024, 1, 2), Money("5.00", "CNY"), "X", "1")
    statement = BankStatement(
        "acc", date(2024, 1, 1), date(2024, 1, 31), Money("1", "CNY"), Money("6", "CNY"), [line]
    )
    assert statement.balances
    short = BankStatement(
        "acc", date(2024, 1, 1), date(2024, 1, 31), Money("1", "CNY"), Money("7", "CNY"), [line]
    )
    assert not short.balances
    with pytest.raises(ValidationError, match="closing_balance"):
        BankStatement(
            "acc", date(2024, 1, 1), date(2024, 1, 31), Money("1", "CNY"), Money("6", "USD"), [line]
        )
    with pytest.raises(ValidationError, match="period_end"):
        BankStatement(
            "acc", date(2024, 2, 1), date(2024, 1, 31), Money("1", "CNY"), Money("6", "CNY"), [line]
        )


def test_a_signer_must_be_reachable() -> None:
    with pytest.raises(ValidationError, match="email"):
        Signer("Zhang Wei")
    assert Signer("Zhang Wei", phone="13800000000").phone


def test_the_worst_verdict_wins_and_no_verdict_approves() -> None:
    assert Verdict.worst([]) is Verdict.APPROVE
    assert Verdict.worst([Verdict.REFER, Verdict.APPROVE]) is Verdict.REFER
    assert Verdict.worst([Verdict.REFER, Verdict.DECLINE, Verdict.APPROVE]) is Verdict.DECLINE


def test_a_rule_outcome_is_as_severe_as_its_worst_hit() -> None:
    assert RuleOutcome("house").verdict is Verdict.APPROVE
    hits = [RuleHit("r1", "refer", "look"), RuleHit("r2", "decline", "no")]
    assert RuleOutcome("house", hits).verdict is Verdict.DECLINE


@pytest.mark.parametrize("key", ["a", "applications/42/id-card.pdf", "A_b-c.d/e_1"])
def test_safe_document_keys_pass(key: str) -> None:
    assert check_document_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "..", "../x", "a/../b", "/abs", "a//b", ".env", "a/", "c:/x", "a b"]
)
def test_unsafe_document_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="key"):
        check_document_key(key)


def test_a_missing_option_names_its_environment_variable(tmp_path: Path) -> None:
    clock = FixedClock(now=NOW, business_date=date(2024, 1, 15))
    context = AdapterContext({"url": "https://bank.example"}, tmp_path, clock, AdapterKind.BANK)
    assert context.require("url") == "https://bank.example"
    assert context.option("timeout", "30") == "30"
    with pytest.raises(ConfigurationError, match="LEASEKIT_ADAPTER_OPTIONS__BANK__API_KEY"):
        context.require("api_key")


def test_adapter_options_cannot_be_changed_by_the_adapter(tmp_path: Path) -> None:
    options = {"url": "a"}
    context = AdapterContext(
        options, tmp_path, FixedClock(now=NOW, business_date=date(2024, 1, 15))
    )
    options["url"] = "b"
    assert context.options["url"] == "a"
    with pytest.raises(TypeError):
        context.options["url"] = "c"  # type: ignore[index]


def test_each_kind_is_chosen_by_its_own_variable() -> None:
    assert AdapterKind.SIGNATURE_PROVIDER.setting == "LEASEKIT_ADAPTERS__SIGNATURE_PROVIDER"


def _message(**changes: str) -> Message:
    message = Message("zhang.wei@example.com", "Your code", "Your code is 314159.", "enrol:u-1")
    return attrs.evolve(message, **changes)


@pytest.mark.parametrize("field", ["recipient", "subject", "body", "idempotency_key"])
def test_a_message_has_no_blank_field(field: str) -> None:
    with pytest.raises(ValidationError, match=f"{field}: must not be blank"):
        _message(**{field: " "})


@pytest.mark.parametrize("field", ["recipient", "subject"])
@pytest.mark.parametrize("line_break", ["\n", "\r"])
def test_a_message_recipient_or_subject_cannot_smuggle_in_a_header(
    field: str, line_break: str
) -> None:
    with pytest.raises(ValidationError, match=f"{field}: must be one line"):
        _message(**{field: f"Your code{line_break}Bcc: someone@example.com"})


def test_a_message_body_may_have_lines_but_stays_out_of_the_repr() -> None:
    message = _message(body="Your code is 314159.\nIt expires in 15 minutes.")
    assert "314159" not in repr(message)
