"""Partner figures, the scorecard, overrides and monitoring: grades that can be explained from
their inputs, zero-safe rates, overrides decided above the requester, and rules that move a
partner only the way they should."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partner_figures import BookCounts, PartnerFigures, months_between, rate
from leasekit.domain.partner_monitoring import (
    DEFAULT_RULES,
    Level,
    MonitoredFigure,
    MonitoringRule,
    assess,
)
from leasekit.domain.partner_ratings import (
    DEFAULT_FACTORS,
    FactorRule,
    RatingFactor,
    RatingOverride,
    RatingOverrideState,
    RatingRecord,
    RatingTrigger,
    Scorecard,
    effective_grade,
)
from leasekit.domain.partners import PartnerAction, PartnerRating, PartnerState
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.money import Money

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TODAY = date(2026, 12, 4)
ZERO = Money("0.00", "CNY")


def counts(**changes: Any) -> BookCounts:
    nothing = {
        "applications": 0,
        "decided": 0,
        "approved": 0,
        "volume": ZERO,
        "contracts": 0,
        "overdue_contracts": 0,
        "fraud_hits": 0,
        "documents": 0,
        "document_defects": 0,
    }
    return BookCounts(**(nothing | changes))  # fmt: skip


def figures(
    onboarded: date = date(2023, 12, 4),
    limit: str = "1000000.00",
    exposure: str = "0.00",
    **changes: Any,
) -> PartnerFigures:
    return PartnerFigures.of(
        "partner-1",
        counts(**changes),
        onboarded_at=datetime.combine(onboarded, datetime.min.time(), UTC),
        limit=Money(limit, "CNY"),
        exposure=Money(exposure, "CNY"),
        as_of=TODAY,
        since=date(2025, 12, 4),
    )


# --- figures ---------------------------------------------------------------------------------


def test_rates_without_a_basis_are_none_not_zero() -> None:
    new = figures(limit="0.00")
    assert (new.approval_rate, new.overdue_rate, new.defect_rate, new.utilisation) == (
        None, None, None, None,
    )  # fmt: skip
    assert rate(1, 3) == Decimal("0.3333")


def test_months_in_business_count_whole_months() -> None:
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 0
    assert months_between(date(2026, 1, 31), date(2026, 3, 1)) == 1
    assert months_between(date(2026, 12, 5), date(2026, 12, 4)) == 0
    assert figures(onboarded=date(2023, 12, 4)).months_in_business == 36


# --- the scorecard --------------------------------------------------------------------------


def test_a_factor_scores_between_worst_and_best_either_way_round() -> None:
    rising = FactorRule(Decimal(1), Decimal(0), Decimal(120))
    falling = FactorRule(Decimal(1), Decimal("0.10"), Decimal(0))
    assert [rising.score(Decimal(v)) for v in ("-5", "60", "500")] == [
        Decimal("0.00"), Decimal("50.00"), Decimal("100.00"),
    ]  # fmt: skip
    assert falling.score(Decimal("0.05")) == Decimal("50.00")
    assert falling.score(Decimal("0.20")) == Decimal("0.00")


def test_a_strong_dealer_is_an_a_and_a_new_one_a_c() -> None:
    card = Scorecard()
    strong = figures(applications=150, decided=140, approved=130, contracts=100, documents=300)
    assert card.rate(strong).grade is PartnerRating.A
    new = figures(onboarded=TODAY)
    result = card.rate(new)
    assert (result.grade, result.score) == (PartnerRating.C, Decimal("52.50"))


def test_fraud_and_overdue_pull_a_grade_down() -> None:
    card = Scorecard()
    clean = figures(applications=150, decided=140, approved=130, contracts=100, documents=300)
    dirty = attrs.evolve(clean, fraud_hits=3, overdue_contracts=12, overdue_rate=Decimal("0.12"))
    assert card.rate(dirty).grade is PartnerRating.D


@given(
    applications=st.integers(0, 500),
    approved_share=st.integers(0, 100),
    contracts=st.integers(0, 300),
    overdue_share=st.integers(0, 100),
    fraud_hits=st.integers(0, 10),
    months=st.integers(0, 120),
)
def test_the_points_add_up_to_the_score_and_the_grade_follows_it(
    applications: int,
    approved_share: int,
    contracts: int,
    overdue_share: int,
    fraud_hits: int,
    months: int,
) -> None:
    decided = applications
    these = figures(
        onboarded=TODAY - timedelta(days=31 * months),
        applications=applications,
        decided=decided,
        approved=decided * approved_share // 100,
        contracts=contracts,
        overdue_contracts=contracts * overdue_share // 100,
        fraud_hits=fraud_hits,
    )
    card = Scorecard()
    result = card.rate(these)
    assert sum(f.points for f in result.factors) == result.score
    assert Decimal(0) <= result.score <= Decimal(100)
    assert result.grade is card.grade_of(result.score)
    assert card.rate(these) == result, "the same figures give the same grade"


def test_the_version_names_the_configuration() -> None:
    default = Scorecard()
    assert default.version == Scorecard().version
    heavier = {**DEFAULT_FACTORS, RatingFactor.VOLUME: FactorRule(Decimal(30), Decimal(0),
                                                                 Decimal(120))}  # fmt: skip
    assert Scorecard(heavier).version != default.version


@pytest.mark.parametrize(
    "thresholds",
    [
        {PartnerRating.A: Decimal(80), PartnerRating.B: Decimal(65)},
        {PartnerRating.A: Decimal(60), PartnerRating.B: Decimal(65), PartnerRating.C: Decimal(45)},
    ],
)
def test_a_scorecard_needs_falling_thresholds_for_a_b_and_c(
    thresholds: dict[PartnerRating, Decimal],
) -> None:
    with pytest.raises(ValueError, match="threshold"):
        Scorecard(thresholds=thresholds)


def test_a_record_explains_itself_from_what_it_stored() -> None:
    these = figures(applications=12, decided=10, approved=8)
    result = Scorecard().rate(these)
    record = RatingRecord.of(
        result, these, trigger=RatingTrigger.ON_DEMAND, actor=Actor("u", Role.OFFICER), at=AT
    )
    approval = next(f for f in record.factors if f.factor is RatingFactor.APPROVAL_RATE)
    assert approval.value == Decimal("0.8000") == record.inputs.approval_rate
    assert "0.8000 scored 83.33" in approval.explanation
    assert (record.partner_id, record.business_date) == ("partner-1", TODAY)


# --- overrides ------------------------------------------------------------------------------


def override(role: Role = Role.OFFICER, **changes: Any) -> RatingOverride:
    fields = {"partner_id": "partner-1", "grade": "B", "until": TODAY + timedelta(days=30),
              "reason": "new franchise", "computed_grade": PartnerRating.C,
              "actor": Actor(f"{role}-1", role), "at": AT, "business_date": TODAY}  # fmt: skip
    return RatingOverride.new(**(fields | changes))


@pytest.mark.parametrize(
    ("requester", "approver", "allowed"),
    [
        (Role.OFFICER, Role.MANAGER, True),
        (Role.OFFICER, Role.DIRECTOR, True),
        (Role.MANAGER, Role.MANAGER, False),
        (Role.MANAGER, Role.DIRECTOR, True),
        (Role.POST_LOAN_SUPERVISOR, Role.MANAGER, False),
        (Role.POST_LOAN_SUPERVISOR, Role.DIRECTOR, True),
    ],
)
def test_an_override_is_decided_by_a_more_senior_role(
    requester: Role, approver: Role, allowed: bool
) -> None:
    request = override(requester)
    decider = Actor(f"{approver}-2", approver)
    if allowed:
        request.apply("approve", decider, at=AT, business_date=TODAY)
        assert (request.state, request.decided_by) == (
            RatingOverrideState.APPROVED,
            decider.user_id,
        )
    else:
        with pytest.raises(ObjectPermissionError, match="more senior"):
            request.apply("approve", decider, at=AT, business_date=TODAY)


def test_only_the_requester_cancels_and_a_director_requests_none() -> None:
    request = override()
    with pytest.raises(ObjectPermissionError, match="only the requester"):
        request.apply("cancel", Actor("officer-2", Role.OFFICER), at=AT, business_date=TODAY)
    request.apply("cancel", Actor("officer-1", Role.OFFICER), at=AT, business_date=TODAY)
    with pytest.raises(PermissionDeniedError, match="director"):
        override(Role.DIRECTOR)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"grade": "E"}, "grade"),
        ({"reason": "  "}, "reason"),
        ({"until": TODAY - timedelta(days=1)}, "until"),
        ({"until": TODAY + timedelta(days=367)}, "until"),
    ],
)
def test_a_bad_override_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        override(**changes)
    assert [error.field for error in caught.value.errors] == [field]


def test_an_approved_override_holds_through_its_last_day() -> None:
    request = override()
    assert effective_grade(PartnerRating.C, request, TODAY) is PartnerRating.C
    request.apply("approve", Actor("manager-1", Role.MANAGER), at=AT, business_date=TODAY)
    assert effective_grade(PartnerRating.C, request, request.until) is PartnerRating.B
    later = request.until + timedelta(days=1)
    assert effective_grade(PartnerRating.C, request, later) is PartnerRating.C


# --- monitoring -----------------------------------------------------------------------------


def test_a_partner_within_every_rule_is_left_alone() -> None:
    assessment = assess(figures(exposure="900000.00"), PartnerState.ACTIVE)
    assert (assessment.breaches, assessment.action) == ((), None)


def test_nearly_all_of_its_limit_used_puts_an_active_partner_on_watch() -> None:
    assessment = assess(figures(exposure="950000.00"), PartnerState.ACTIVE)
    assert assessment.action is PartnerAction.WATCH
    assert assessment.reason == ("monitoring: utilisation 0.9500 at or above the watch level 0.95")


def test_suspend_levels_suspend_active_and_watched_partners_only() -> None:
    hits = figures(fraud_hits=3)
    assert assess(hits, PartnerState.ACTIVE).action is PartnerAction.SUSPEND
    assert assess(hits, PartnerState.WATCH).action is PartnerAction.SUSPEND
    assert assess(hits, PartnerState.SUSPENDED).action is None
    assert assess(hits, PartnerState.EXIT_REVIEW).action is None
    assert [b.level for b in assess(hits, PartnerState.ACTIVE).breaches] == [Level.SUSPEND]


def test_a_watched_partner_crossing_a_watch_level_again_is_not_moved() -> None:
    assert assess(figures(fraud_hits=1), PartnerState.WATCH).action is None


def test_a_rate_is_judged_only_on_a_large_enough_basis() -> None:
    few = figures(contracts=2, overdue_contracts=1)
    many = figures(contracts=20, overdue_contracts=4)
    assert assess(few, PartnerState.ACTIVE).action is None
    assert assess(many, PartnerState.ACTIVE).action is PartnerAction.SUSPEND


def test_a_low_approval_rate_alerts_at_or_below_its_level() -> None:
    refused = figures(applications=30, decided=30, approved=6)
    assessment = assess(refused, PartnerState.ACTIVE)
    assert assessment.action is PartnerAction.WATCH
    assert "approval_rate 0.2000 at or below the watch level 0.20" in assessment.reason


def test_a_rule_turned_off_alerts_on_nothing() -> None:
    rules = {**DEFAULT_RULES, MonitoredFigure.FRAUD_HITS: MonitoringRule()}
    assert assess(figures(fraud_hits=9), PartnerState.ACTIVE, rules).action is None
